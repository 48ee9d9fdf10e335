"""考生管理 (001 §25): query 报名信息, view one candidate, and act on the selection or on all query results."""
from datetime import date

import pandas as pd
import streamlit as st

from core.codes import CHANNELS
from core.services import candidates as cs
from core.services import payment as pay
from core.services import registration as reg
from core.ui.ncre import registration_head
from core.ui.widgets import flash, query, run_service, window_banner

FLASH = "ncre_a25_flash"
PAGE_SIZE = 50

actor, site_id, flags = registration_head("考生管理", FLASH)
editable = window_banner(actor, "registration") if flags["own"] else False
if not flags["own"]:
    st.info("报名数据由考点管理员在本考点报名管理时间内管理；上级机构可以查询、查看和导出。")

# ---------------------------------------------------------------- query
subjects = query(cs.subject_options, actor) or []
sub_label = dict(subjects)
with st.form("cand_query"):
    c1, c2, c3, c4 = st.columns(4)
    idn = c1.text_input("证件号码", key="q_idn")
    name = c2.text_input("姓名", key="q_name")
    channel = c3.selectbox("报名方式", ["", *CHANNELS], format_func=lambda v: CHANNELS.get(v, "全部"), key="q_channel")
    pay_state = c4.selectbox("支付状态", ["", *reg.PAY_STATES], format_func=lambda v: reg.PAY_STATES.get(v, "全部"),
                             key="q_pay")
    with st.expander("更多查询条件"):
        d1, d2, d3, d4 = st.columns(4)
        locked = d1.selectbox("报名信息锁定", ["", "yes", "no"], key="q_locked",
                              format_func={"": "全部", "yes": "已锁定", "no": "未锁定"}.get)
        review = d2.selectbox("报名信息审核", ["", *reg.REVIEW_STATES, "none"], key="q_review",
                              format_func=lambda v: {"": "全部", "none": "无需审核"}.get(v) or reg.REVIEW_STATES[v])
        photo = d3.selectbox("照片", ["", "yes", "no"], format_func={"": "全部", "yes": "有照片", "no": "无照片"}.get,
                             key="q_photo")
        kind = d4.selectbox("考生类别", ["", "registry", "social"], key="q_kind",
                            format_func={"": "全部", "registry": "学籍考生", "social": "社会考生"}.get)
        e1, e2, e3 = st.columns(3)
        subject_id = e1.selectbox("报考科目", [None, *sub_label], format_func=lambda v: sub_label.get(v, "全部"),
                                  key="q_subject")
        class_name = e2.text_input("班级", key="q_class")
        intent_on = e3.checkbox("按意向考试日期查询", key="q_intent_on")
        intent = e3.date_input("意向考试日期", value=date.today(), key="q_intent", disabled=False)
    st.form_submit_button("查询", type="primary")

q = cs.CandidateQuery(site_id=site_id, id_number=idn, name=name, channel=channel, pay=pay_state,
                      locked={"yes": True, "no": False}.get(locked), review=review,
                      photo={"yes": True, "no": False}.get(photo), subject_id=subject_id, kind=kind,
                      class_name=class_name, intent_date=intent if intent_on else None)
page_no = st.session_state.get("cand_page", 1)
got = query(cs.list_candidates, actor, q, page_no, PAGE_SIZE)
if got is None:
    st.stop()
rows, total = got
pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
if page_no > pages:
    st.session_state["cand_page"] = 1
    st.rerun()
st.caption(f"共 {total} 名考生，第 {page_no}/{pages} 页（每页 {PAGE_SIZE} 名）")
df = pd.DataFrame(rows)
event = st.dataframe(df.drop(columns=["id"]) if not df.empty else df, hide_index=True, width="stretch",
                     on_select="rerun", selection_mode="multi-row", key="cand_table")
selected = [rows[i]["id"] for i in (event.selection.rows if event and event.selection else [])]
p1, p2, _ = st.columns([1, 1, 4])
if p1.button("上一页", disabled=page_no <= 1):
    st.session_state["cand_page"] = page_no - 1
    st.rerun()
if p2.button("下一页", disabled=page_no >= pages):
    st.session_state["cand_page"] = page_no + 1
    st.rerun()

# ---------------------------------------------------------------- export (no time limit, §25.7)
if st.button("导出查询结果报考数据", disabled=total == 0):
    out = run_service(cs.export_registrations, actor, q)
    if out:
        st.download_button(f"下载（{out[1]} 名考生，证件号码仅后 4 位）", data=out[0], file_name="考生报考信息.xlsx",
                           mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

# ---------------------------------------------------------------- actions on the selection / all results
st.subheader("对选中项操作")
target = st.radio("操作对象", ["selected", "all"], horizontal=True, key="cand_target",
                  format_func={"selected": f"选中的考生（{len(selected)} 名）", "all": f"所有查询结果（{total} 名）"}.get)


def target_ids() -> list[int]:
    return selected if target == "selected" else (query(cs.query_ids, actor, q) or [])


action = st.selectbox("操作", ["", "nonkey", "cancel", "delete", "unlock", "lock", "batch"], key="cand_action",
                      format_func={"": "请选择", "nonkey": "更新非关键信息", "cancel": "取消考试",
                                   "delete": "删除报名报考信息", "unlock": "解锁报名信息", "lock": "锁定报名信息",
                                   "batch": "集体缴费（锁定批次）"}.get)
if action == "nonkey":
    with st.form("nonkey"):
        st.caption(f"不填为不更改；一次不能超过 {cs.NONKEY_MAX} 名考生。")
        cols = st.columns(3)
        values = {k: cols[i % 3].text_input(label, key=f"nk_{k}") for i, (k, label) in enumerate(cs.NONKEY_FIELDS.items())}
        go = st.form_submit_button("更新", type="primary", disabled=not editable)
    if go:
        n = run_service(cs.update_nonkey, actor, target_ids(), values)
        if n:
            flash(FLASH, f"已更新 {n} 名考生的非关键信息。")
elif action == "cancel":
    with st.form("cancel"):
        subject = st.selectbox("取消的科目", [None, *sub_label], format_func=lambda v: sub_label.get(v, "全部报考科目"))
        reason = st.text_area("取消原因（必填）", max_chars=cs.REASON_MAX)
        st.caption("取消后的原报名数据可在《取消考试信息查看》中查询，但不能恢复；集体报名缴费的考生无法取消考试。")
        go = st.form_submit_button("确认取消考试", type="primary", disabled=not editable)
    if go:
        n = run_service(cs.cancel_exam, actor, target_ids(), reason, subject)
        if n:
            flash(FLASH, f"已取消 {n} 科次。")
elif action == "delete":
    with st.form("delete"):
        subject = st.selectbox("只删除该科目", [None, *sub_label], format_func=lambda v: sub_label.get(v, "全部报考科目"))
        st.caption("只能删除集体报名考生；先删除报考科目，没有剩余报考科目的考生再删除报名信息。")
        go = st.form_submit_button("确认删除", type="primary", disabled=not editable)
    if go:
        out = run_service(cs.delete_group_registrations, actor, target_ids(), subject)
        if out:
            flash(FLASH, f"已删除报考 {out['registrations']} 科次、报名信息 {out['enrollments']} 人。")
elif action in ("unlock", "lock"):
    if st.button("确认" + ("解锁" if action == "unlock" else "锁定"), type="primary", disabled=not editable):
        n = run_service(cs.set_locked, actor, target_ids(), action == "lock")
        if n is not None:
            flash(FLASH, f"已{'锁定' if action == 'lock' else '解锁'} {n} 名考生的报名信息。")
elif action == "batch":
    if not flags["group_payment"]:
        st.info("本考点未开通集体缴费。")
    elif st.button("锁定集体缴费批次", type="primary", disabled=not editable):
        order = run_service(pay.create_group_batch, actor, site_id, target_ids())
        if order:
            flash(FLASH, "已锁定集体缴费批次，请在下方“集体缴费批次管理”中支付。")

# ---------------------------------------------------------------- 集体缴费批次管理 (§25.6)
if flags["group_payment"]:
    with st.expander("集体缴费批次管理", expanded=False):
        b1, b2 = st.columns(2)
        inc_paid = b1.checkbox("包含已支付批次", value=True)
        inc_deleted = b2.checkbox("包含已删除批次")
        batches = query(pay.list_batches, actor, site_id, inc_paid, inc_deleted) or []
        st.dataframe(pd.DataFrame(batches), hide_index=True, width="stretch")
        open_ids = [b["id"] for b in batches if b["状态"] == "未支付"]
        if open_ids:
            bid = st.selectbox("批次", open_ids, format_func=lambda i: f"批次 {i}")
            voucher = st.text_input("缴费凭证号（线下缴费）", key="voucher")
            x1, x2, x3 = st.columns(3)
            if x1.button("支付", disabled=not editable):
                n = run_service(pay.pay_batch, actor, bid, voucher)
                if n is not None:
                    flash(FLASH, f"批次 {bid} 已支付，{n} 科次更新为已支付。")
            if x2.button("更新", disabled=not editable):
                msg = run_service(pay.refresh_batch, actor, bid)
                if msg:
                    flash(FLASH, msg)
            why = st.text_input("删除原因", key="batch_reason")
            if x3.button("删除", disabled=not editable):
                if run_service(pay.delete_batch, actor, bid, why):
                    flash(FLASH, f"批次 {bid} 已删除。")
        st.caption("考点每次只能锁定一个集体缴费批次；锁定批次完成支付或被删除前，不能再次创建。删除批次前系统会先自动更新。")

# ---------------------------------------------------------------- 查看 (§25.5)
st.subheader("查看考生报名信息")
if rows:
    labels = {r["id"]: f"{r['姓名']}（{r['证件号码']}）" for r in rows}
    pick = st.selectbox("考生", [None, *labels], format_func=lambda v: labels.get(v, "请选择本页中的考生"), key="cand_view")
    if pick:
        d = query(cs.candidate_detail, actor, pick)
        if d:
            st.markdown(f"**报名方式：** {d['channel']}　**信息锁定：** {'已锁定' if d['locked'] else '未锁定'}　"
                        f"**审核状态：** {d['review_label']}　**支付状态：** {d['pay_label']}")
            if d["last_reject"]:
                st.caption(f"上次不过原因：{d['last_reject']}")
            st.info(d["flow"])
            left, right = st.columns([3, 1])
            left.dataframe(pd.DataFrame([{"项目": k, "内容": "" if v is None else str(v)} for k, v in d["person"].items()]),
                           hide_index=True, width="stretch")
            img = query(cs.photo_bytes, actor, pick)
            if img:
                right.image(img, caption="考生照片", width=144)
            else:
                right.caption("无照片")
            st.dataframe(pd.DataFrame(d["subjects"]).drop(columns=["reg_id"]) if d["subjects"] else pd.DataFrame(),
                         hide_index=True, width="stretch")
            if d["account"]:
                st.caption(f"通行证ID：{d['account']['通行证ID']}　邮箱：{d['account']['通行证邮箱']}")
            r1, r2, r3 = st.columns(3)
            if flags["review_required"]:
                if d["review_state"] == "pending" and r1.button("设置审核通过", disabled=not editable):
                    if run_service(cs.review, actor, [pick], "approve"):
                        flash(FLASH, "已设置审核通过。")
                if d["review_state"] in (None, "rejected") and r1.button("替考生提交信息审核", disabled=not editable):
                    if run_service(cs.submit_review, actor, [pick]):
                        flash(FLASH, "已提交信息审核（报名信息已锁定）。")
                if d["review_state"] in ("pending", "approved"):
                    with r2.popover("设置审核不通过", disabled=not editable):
                        rtype = st.selectbox("不通过类型", list(reg.REJECT_TYPES), format_func=reg.REJECT_TYPES.get)
                        why = st.text_input("不通过原因")
                        if st.button("确认不通过"):
                            if run_service(cs.review, actor, [pick], "reject", rtype, why):
                                flash(FLASH, "已设置审核不通过。")
            if r3.button("更新支付状态", disabled=not editable):
                msg = run_service(pay.refresh_candidate, actor, pick)
                if msg:
                    flash(FLASH, msg)
            st.caption("打印准考证：准考证号生成（《准考证号生成》）后可在此打印。")

# ---------------------------------------------------------------- 通行证账号管理 (§25.13)
with st.expander("通行证账号管理"):
    how = st.radio("查找方式", ["passport", "email", "phone"], horizontal=True,
                   format_func={"passport": "由 ID 查找", "email": "由邮箱查找", "phone": "由手机查找"}.get)
    value = st.text_input("查找内容", key="pp_value")
    if st.button("查找"):
        found = query(cs.passport_lookup, actor, **{{"passport": "passport_id"}.get(how, how): value})
        if found:
            st.dataframe(pd.DataFrame(found), hide_index=True, width="stretch")
        elif found is not None:
            st.info("未找到通行证。")
