"""用户与机构管理 (001 §7 机构管理, §8 用户管理): left the 考试机构 list of the actor's scope; the selected
org's 机构信息 and its users on the right. Every rule lives in core.services.orgs."""
import pandas as pd
import streamlit as st

from core.imports.specs_users import USERS_SPEC
from core.services import orgs
from core.ui.import_panel import import_panel
from core.ui.session import engine, require_actor
from core.ui.widgets import flash, query, run_service, show_flash

P = "ncre_a07_"
FLASH, SECRET, CONFIRM, ORG, NONCE = P + "flash", P + "secret", P + "confirm", P + "org", P + "nonce"
PAGE_SIZE = 50
KIND_CHOICES = {"center": ["province", "city", "site"], "province": ["city", "site"], "city": ["site"]}

actor = require_actor()
st.title("用户与机构管理")
st.caption("用户与机构管理不受操作时间限制，任何时间都可以进行。机构信息和用户信息只有本机构和上级机构的用户能够看到。")

show_flash(FLASH)
if secret := st.session_state.pop(SECRET, None):
    st.success(f"{secret['what']}：{secret['name']}（登录用户名 {secret['username']}）。一次性密码如下，只显示这一次：")
    st.code(secret["password"], language=None)
    st.warning("请通过安全途径（当面或电话）把一次性密码交给本人，不要用群聊或邮件群发；本人首次登录后必须修改密码。")
if not actor.term_is_current:
    st.info("当前查看的是历史考次：机构的“是否启用”只能查看；机构信息和用户不分考次，仍可修改。")


def ask(kind: str, target: int) -> None:
    st.session_state[CONFIRM] = (kind, target)
    st.rerun()


# ------------------------------------------------------------------ 考试机构管理 | 机构信息 + 用户管理
def manage() -> None:
    left, right = st.columns([2, 3], gap="large")
    with left:
        st.subheader("考试机构管理")
        search, kind, page_no = None, None, 1
        if actor.org_kind != "site":
            c1, c2 = st.columns([3, 2])
            search = c1.text_input("机构名称或代码", max_chars=50, key=P + "search")
            levels = KIND_CHOICES.get(actor.org_kind, [])
            kind = c2.selectbox("机构级别", [None, *levels], key=P + "kind",
                                format_func=lambda k: "全部" if k is None else orgs.level_label(k))
        total = query(orgs.org_count, actor, search=search, kind=kind) or 0
        if total > PAGE_SIZE:
            page_no = st.number_input(f"页码（共 {(total - 1) // PAGE_SIZE + 1} 页）", min_value=1,
                                      max_value=(total - 1) // PAGE_SIZE + 1, value=1, step=1, key=f"{P}page_{search}_{kind}")
        rows = query(orgs.org_tree, actor, search=search, kind=kind, offset=(page_no - 1) * PAGE_SIZE,
                     limit=PAGE_SIZE) or []
        if not rows:
            st.info("没有符合条件的机构。")
            return
        st.dataframe(pd.DataFrame([{
            "机构名称": "　" * r.depth + r.name, "机构代码": r.code, "机构级别": r.level,
            "是否启用": "启用" if r.enabled else ("未启用" if r.in_term else "不在本考次")} for r in rows]),
            hide_index=True, width="stretch", height=min(38 + 35 * len(rows), 420),
            column_config={"机构代码": st.column_config.TextColumn(width="small"),
                           "机构级别": st.column_config.TextColumn(width="small"),
                           "是否启用": st.column_config.TextColumn(width="small")})
        st.caption(f"共 {total} 个机构")
        labels = {r.id: f"（{r.code}）{r.name}" for r in rows}
        if st.session_state.get(ORG) not in labels:
            st.session_state[ORG] = rows[0].id
        org_id = st.selectbox("选择机构（右侧显示其机构信息和用户）", list(labels), format_func=labels.get, key=ORG)

    detail = query(orgs.org_detail, actor, org_id)
    if detail is None:
        return

    # -------------------------------------------------------------- right: 机构信息 and 用户管理
    with right:
        st.subheader(f"{detail.name}的机构信息")
        state = ("本考次启用" if detail.enabled else "本考次未启用" if detail.in_term else "不在本考次") + \
            ("，已审核" if detail.reviewed else "，未审核")
        st.caption(f"{detail.level}机构 · {state}" + (f" · 上级机构：{detail.parent_name}" if detail.parent_name else ""))
        if detail.reviewed:
            st.warning("已审核的机构信息不能修改。如需修改，请联系上级机构取消审核。")
        elif detail.is_own and not detail.can_edit_name_code:
            st.caption("机构名称和机构代码由上级机构修改；本机构要删除或停用，请联系上级管理员。")
        ro = not detail.can_edit
        with st.form(f"{P}org_form_{detail.id}"):
            c1, c2 = st.columns(2)
            name = c1.text_input("机构名称 *", detail.name, max_chars=100,
                                 disabled=ro or not detail.can_edit_name_code)
            code = c2.text_input("机构代码 *", detail.code, max_chars=20, disabled=ro or not detail.can_edit_name_code)
            address = st.text_input("地址", detail.address or "", max_chars=200, disabled=ro,
                                    key=f"{P}o_address_{detail.id}")
            c1, c2 = st.columns(2)
            contact = c1.text_input("联系人", detail.contact or "", max_chars=50, disabled=ro)
            phone = c2.text_input("联系电话", detail.phone or "", max_chars=30, disabled=ro)
            c1, c2 = st.columns(2)
            email = c1.text_input("邮箱", detail.email or "", max_chars=100, disabled=ro)
            postcode = c2.text_input("邮编", detail.postcode or "", max_chars=10, disabled=ro)
            remark = st.text_area("备注", detail.remark or "", max_chars=500, disabled=ro, height=68)
            save_org = st.form_submit_button("保存机构信息", type="primary", disabled=ro)
        if save_org:
            values = {"address": address, "contact": contact, "phone": phone, "email": email,
                      "postcode": postcode, "remark": remark}
            if detail.can_edit_name_code:
                values |= {"name": name, "code": code}
            if run_service(orgs.update_org, actor, detail.id, values):
                flash(FLASH, f"“{name if detail.can_edit_name_code else detail.name}”的机构信息已保存。")

        if detail.is_above:  # things set by the level above
            c1, c2, c3 = st.columns(3)
            if c1.button("本考次停用" if detail.enabled else "本考次启用", key=f"{P}enable_{detail.id}",
                         disabled=not detail.term_writable,
                         help="只有当前考次启用的机构，其用户才能登录后台。历史考次不能修改。"):
                if run_service(orgs.set_org_enabled, actor, detail.id, not detail.enabled):
                    flash(FLASH, f"“{detail.name}”已在本考次{'停用' if detail.enabled else '启用'}。")
            if c2.button("取消审核" if detail.reviewed else "审核机构信息", key=f"{P}review_{detail.id}",
                         help="已审核的机构信息不能修改；审核状态不影响机构的使用。"):
                if run_service(orgs.set_org_reviewed, actor, detail.id, not detail.reviewed):
                    flash(FLASH, f"“{detail.name}”已{'取消审核' if detail.reviewed else '审核'}。")
            if c3.button("删除机构", key=f"{P}delorg_{detail.id}"):
                ask("delete_org", detail.id)

        if detail.child_kind:
            child = orgs.level_label(detail.child_kind)
            with st.expander(f"新增下级机构（{child}）"):
                n = st.session_state.setdefault(NONCE, 0)
                with st.form(f"{P}add_org_{detail.id}_{n}"):
                    c1, c2 = st.columns(2)
                    n_code = c1.text_input("机构代码 *", max_chars=20)
                    n_name = c2.text_input("机构名称 *", max_chars=100)
                    n_address = st.text_input("地址", max_chars=200)
                    c1, c2, c3 = st.columns(3)
                    n_contact = c1.text_input("联系人", max_chars=50)
                    n_phone = c2.text_input("联系电话", max_chars=30)
                    n_email = c3.text_input("邮箱", max_chars=100)
                    add_org = st.form_submit_button("新增机构", type="primary")
                if add_org:
                    new = run_service(orgs.add_org, actor, detail.id, n_code, n_name, address=n_address,
                                      contact=n_contact, phone=n_phone, email=n_email)
                    if new:
                        st.session_state[NONCE] = n + 1
                        flash(FLASH, f"已新增{child}机构“{new.name}”，已在当前考次启用。")

        # ---------------------------------------------------------- 用户管理
        st.subheader(f"{detail.name}的用户管理")
        users = query(orgs.list_users, actor, detail.id) or []
        if users:
            st.dataframe(pd.DataFrame([{
                "姓名": u.name + ("（本人）" if u.is_self else ""), "通行证ID": u.passport_id, "所属机构": u.org_name,
                "角色": u.role_label, "邮箱": u.email or "", "手机": u.phone_masked,
                "状态": "停用" if not u.enabled else ("已锁定" if u.locked else "正常"),
                "首次登录改密": "待修改" if u.must_change_password else ""} for u in users]),
                hide_index=True, width="stretch")
        else:
            st.info("该机构还没有用户。")

        pending = st.session_state.get(CONFIRM)
        if pending and pending[1] not in ({detail.id} if pending[0] == "delete_org" else {u.id for u in users}):
            st.session_state.pop(CONFIRM, None)  # the selection moved on: drop the stale question
            pending = None
        if pending:
            what, target = pending
            target_name = next((u.name for u in users if u.id == target), detail.name)
            texts = {"delete_user": f"确定删除用户“{target_name}”吗？删除后该通行证不能再登录后台。",
                     "reset": f"确定重置“{target_name}”的密码吗？原密码立即失效，已登录的会话会被注销。",
                     "delete_org": f"确定删除机构“{detail.name}”吗？该机构的各考次设置会一并删除。"}
            st.warning(texts.get(what, "确定执行此操作吗？"))
            c1, c2 = st.columns([1, 5])
            yes = c1.button("确定", type="primary", key=P + "yes")
            no = c2.button("取消", key=P + "no")
            if no:
                st.session_state.pop(CONFIRM, None)
                st.rerun()
            if yes:
                st.session_state.pop(CONFIRM, None)
                if what == "delete_user":
                    if run_service(orgs.delete_user, actor, target):
                        flash(FLASH, f"已删除用户“{target_name}”。")
                elif what == "reset":
                    res = run_service(orgs.reset_password, actor, target)
                    if res:
                        st.session_state[SECRET] = {"what": "已重置密码", "name": res.name,
                                                    "username": res.username, "password": res.password}
                        st.rerun()
                elif what == "delete_org":
                    if run_service(orgs.delete_org, actor, target):
                        flash(FLASH, f"已删除机构“{detail.name}”。")

        if users:
            ulabels = {u.id: f"{u.name}（{u.passport_id}）" + ("（本人）" if u.is_self else "") for u in users}
            uid = st.selectbox("选择用户", list(ulabels), format_func=ulabels.get, key=f"{P}user_{detail.id}")
            sel = next(u for u in users if u.id == uid)
            c1, c2, c3, c4 = st.columns(4)
            edit = c1.toggle("修改", key=f"{P}edit_{uid}")
            if c2.button("停用" if sel.enabled else "启用", key=f"{P}able_{uid}"):
                if run_service(orgs.set_user_enabled, actor, uid, not sel.enabled):
                    flash(FLASH, f"已{'停用' if sel.enabled else '启用'}用户“{sel.name}”。")
            # the service refuses these for oneself; ask for a confirmation only when it can go ahead
            if c3.button("重置密码", key=f"{P}reset_{uid}"):
                if sel.is_self:
                    run_service(orgs.reset_password, actor, uid)
                else:
                    ask("reset", uid)
            if c4.button("删除", key=f"{P}del_{uid}"):
                if sel.is_self:
                    run_service(orgs.delete_user, actor, uid)
                else:
                    ask("delete_user", uid)
            if edit:
                with st.form(f"{P}edit_form_{uid}"):
                    st.caption("一个通行证ID只能绑定一个机构。手机留空表示不修改。")
                    e_pid = st.text_input("通行证ID *", sel.passport_id, max_chars=40)
                    e_name = st.text_input("姓名 *", sel.name, max_chars=50)
                    e_email = st.text_input("邮箱", sel.email or "", max_chars=100)
                    e_phone = st.text_input("手机", "", max_chars=20,
                                            placeholder=f"当前：{sel.phone_masked}" if sel.phone_masked else "")
                    save_user = st.form_submit_button("保存用户", type="primary")
                if save_user:
                    if run_service(orgs.update_user, actor, uid, name=e_name, email=e_email,
                                   phone=e_phone.strip() or None, passport_id=e_pid):
                        flash(FLASH, f"用户“{e_name.strip()}”已保存。")

        with st.expander("新增用户", expanded=not users):
            st.info("一个通行证ID只能绑定一个机构。新用户的角色由机构级别决定"
                    f"（本机构：{orgs.level_label(detail.kind)}）；创建后显示一次性密码，首次登录须修改。")
            n = st.session_state.setdefault(NONCE, 0)  # a fresh, empty form after each success
            with st.form(f"{P}add_user_{detail.id}_{n}"):
                a_pid = st.text_input("通行证ID *", max_chars=40, placeholder="请输入通行证ID（即登录用户名）",
                                      key=f"{P}a_pid_{n}")
                a_name = st.text_input("姓名 *", max_chars=50, placeholder="请输入姓名", key=f"{P}a_name_{n}")
                c1, c2 = st.columns(2)
                a_email = c1.text_input("邮箱", max_chars=100, key=f"{P}a_email_{n}")
                a_phone = c2.text_input("手机", max_chars=20, key=f"{P}a_phone_{n}")
                add_user = st.form_submit_button("新增用户", type="primary")
            if add_user:
                res = run_service(orgs.add_user, actor, detail.id, a_pid, a_name, a_email, a_phone)
                if res:
                    st.session_state[SECRET] = {"what": "已新增用户", "name": res.name, "username": res.username,
                                                "password": res.password}
                    st.session_state[NONCE] = n + 1
                    st.rerun()

        with st.expander("查找 / 查看通行证"):
            c1, c2 = st.columns(2)
            with c1.form(P + "find"):
                f_email = st.text_input("按邮箱查找通行证ID", max_chars=100, key=P + "f_email")
                find = st.form_submit_button("查找")
            with c2.form(P + "view"):
                v_pid = st.text_input("按通行证ID查看邮箱", max_chars=40, key=P + "v_pid")
                view = st.form_submit_button("查看")
            if find:
                found = query(orgs.find_passport, actor, f_email)
                if found:
                    st.dataframe(pd.DataFrame([{"通行证ID": f.passport_id, "姓名": f.name, "所属机构": f.org_name,
                                                "角色": f.role_label} for f in found]), hide_index=True)
            if view:
                info = query(orgs.view_passport, actor, v_pid)
                if info:
                    st.write(f"通行证ID {info.passport_id}：{info.name}，{info.org_name}，{info.role_label}，"
                             f"邮箱 {info.email or '（未填写）'}，手机 {info.phone_masked or '（未填写）'}")



tab_manage, tab_import = st.tabs(["机构与用户", "批量导入用户"])
with tab_manage:
    manage()

# ------------------------------------------------------------------ 批量导入用户
with tab_import:
    st.caption("按模板填写后上传：先校验，再确认导入。导入成功后可下载一次性密码，请妥善发放，发放后删除文件。")
    import_panel(USERS_SPEC, actor, engine())
