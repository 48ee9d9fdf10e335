"""分账账户管理 (001 §45): the site's bank accounts for passing on the exam fees in this 考次 (开户行, 银行行号,
账户名称, 账号, 账号类型, 备注); 新增 (with 获取上个考次数据), 修改, 删除 by the site's own admin. Account numbers
are masked in the list; upper levels pick a site and view."""
import pandas as pd
import streamlit as st

from core.services import accounts as acc
from core.ui.ncre import registration_head
from core.ui.widgets import flash, query, run_service

FLASH = "ncre_a45_flash"
GEN = "ncre_a45_gen"  # bumped after a save: the 新增 form starts empty again
PREV = "ncre_a45_prev"  # the fetched 上个考次 accounts (or "none")
LABELS = {k: label for k, (label, _req, _len) in acc.FIELDS.items()}

actor, site_id, flags = registration_head("分账账户管理", FLASH)
editable = acc.can_edit(actor, site_id)
with st.expander("说明", expanded=False, icon=":material/info:"):
    st.markdown("1. 考点用户可以在本页面查看本考点分账账户信息，新增、修改、删除分账账户信息。\n"
                f"2. {acc.NOTE}\n"
                "3. 考点管理员新增时可以点击“获取上个考次数据”，将本考点上个考次登记的账户填入表单，不用再次填写。\n"
                f"4. 银行行号为 {acc.BANK_CODE_LEN} 位数字；账号为 {acc.ACCOUNT_MIN}–{acc.ACCOUNT_MAX} 位数字"
                "（可含空格，保存时去掉）；为保护账户信息，列表中的账号只显示后 4 位。")
if not flags["own"]:
    st.info(acc.UPPER_NOTE)
elif not actor.term_is_current:
    st.info("当前查看的是历史考次：只能查询、查看，不能修改。")

rows = query(acc.list_accounts, actor, site_id)
if rows is None:
    st.stop()
st.caption(f"{flags['label']}：本考次 {len(rows)} 个分账账户。")
if rows:
    st.dataframe(pd.DataFrame([{"序号": i, "开户行": r.bank_name, "银行行号": r.bank_code, "账户名称": r.account_name,
                                "账号": r.account_no, "账号类型": r.account_type, "备注": r.remark}
                               for i, r in enumerate(rows, 1)]), hide_index=True, width="stretch")
else:
    st.info("本考点在本考次还没有分账账户。" + ("请在下方“新增”。" if editable else ""))

if not editable:
    st.stop()


def _fields(prefix: str, values: dict | None = None) -> dict:
    """The six inputs (keys `<prefix><field>`); `values` are the defaults of the 修改 form (the 新增 form has
    none: 获取上个考次数据 fills it through st.session_state)."""
    def dv(k: str) -> dict:
        return {"value": values.get(k) or ""} if values else {}

    c1, c2 = st.columns(2)
    out = {"bank_name": c1.text_input("开户行 *", key=prefix + "bank_name", max_chars=100,
                                      placeholder="如 中国工商银行北京海淀支行", **dv("bank_name")),
           "bank_code": c2.text_input("银行行号 *", key=prefix + "bank_code", max_chars=20,
                                      placeholder=f"{acc.BANK_CODE_LEN} 位数字", **dv("bank_code"))}
    c1, c2 = st.columns(2)
    out["account_name"] = c1.text_input("账户名称 *", key=prefix + "account_name", max_chars=100,
                                        **dv("account_name"))
    out["account_no"] = c2.text_input("账号 *", key=prefix + "account_no", max_chars=40,
                                      placeholder=f"{acc.ACCOUNT_MIN}–{acc.ACCOUNT_MAX} 位数字，可含空格",
                                      **dv("account_no"))
    c1, c2 = st.columns(2)
    if values:
        kind = values.get("account_type")
        index = {"index": acc.ACCOUNT_TYPES.index(kind) if kind in acc.ACCOUNT_TYPES else None}
    else:  # empty until chosen, unless 获取上个考次数据 filled it
        index = {} if prefix + "account_type" in st.session_state else {"index": None}
    out["account_type"] = c1.selectbox("账号类型 *", acc.ACCOUNT_TYPES, key=prefix + "account_type",
                                       placeholder="请选择账号类型", **index)
    out["remark"] = c2.text_input("备注", key=prefix + "remark", max_chars=200, **dv("remark"))
    return out


def _errors_ok(data: dict) -> bool:
    """Check the form on the page first, to show every field's message at once (the service checks again)."""
    _values, errors = acc.check_account(data)
    for key, msg in errors.items():
        st.error(f"{LABELS[key]}：{msg}")
    return not errors


tab_add, tab_edit, tab_del = st.tabs(["新增", "修改", "删除"])

with tab_add:
    gen = st.session_state.get(GEN, 0)
    prefix = f"acc_add_{gen}_"

    def _fill(view: acc.AccountView) -> None:
        for k, v in view.form_values().items():
            if k == "account_type" and v not in acc.ACCOUNT_TYPES:
                v = None
            st.session_state[prefix + k] = v

    def _fetch() -> None:
        prev = query(acc.previous_accounts, actor, site_id)
        st.session_state[PREV] = prev or "none"
        if prev:
            st.session_state["acc_prev_pick"] = 0
            _fill(prev.accounts[0])

    def _pick() -> None:
        prev = st.session_state.get(PREV)
        if prev and prev != "none":
            _fill(prev.accounts[st.session_state["acc_prev_pick"]])

    st.button("获取上个考次数据", key="acc_prev", on_click=_fetch, icon=":material/history:")
    prev = st.session_state.get(PREV)
    if prev == "none":
        st.warning(acc.NO_PREVIOUS)
    elif prev:
        st.info(f"已将上个考次（{prev.term_name}）登记的分账账户填入下方表单，请核对后点击“保存”。"
                + (f"上个考次共有 {len(prev.accounts)} 个账户，可在下面选择要填入的账户，"
                   "或点击“全部添加到本考次”。" if len(prev.accounts) > 1 else ""))
        if len(prev.accounts) > 1:
            st.selectbox("上个考次的账户", range(len(prev.accounts)), key="acc_prev_pick", on_change=_pick,
                         format_func=lambda i: prev.accounts[i].label)
            if st.button("全部添加到本考次", key="acc_prev_all"):
                res = run_service(acc.copy_previous, actor, site_id)
                if res:
                    st.session_state.pop(PREV, None)
                    st.session_state[GEN] = gen + 1
                    flash(FLASH, f"已从上个考次（{res.term_name}）添加 {res.added} 个分账账户"
                          + (f"；{len(res.skipped)} 个账号在本考次已存在，未重复添加（{'、'.join(res.skipped)}）。"
                             if res.skipped else "。"))
    with st.form("acc_add_form"):
        st.markdown("**新增账号信息**")
        data = _fields(prefix)
        if st.form_submit_button("保存", type="primary", key="acc_add_save") and _errors_ok(data):
            if run_service(acc.add_account, actor, site_id, data):
                st.session_state.pop(PREV, None)
                st.session_state[GEN] = gen + 1
                flash(FLASH, f"已新增分账账户：{data['bank_name'].strip()} {data['account_name'].strip()}。")

opts = {r.id: r.label for r in rows}
with tab_edit:
    if not rows:
        st.info("还没有分账账户。")
    else:
        aid = st.selectbox("选择要修改的账户", list(opts), format_func=opts.get, key="acc_edit_pick")
        cur = query(acc.get_account, actor, aid)
        if cur is not None:
            with st.form(f"acc_edit_form_{aid}"):
                st.markdown("**修改账号信息**")
                data = _fields(f"acc_edit_{aid}_", cur.form_values())
                if st.form_submit_button("保存", type="primary", key="acc_edit_save") and _errors_ok(data):
                    if run_service(acc.edit_account, actor, aid, data):
                        flash(FLASH, f"已修改分账账户：{data['bank_name'].strip()} {data['account_name'].strip()}。")

with tab_del:
    if not rows:
        st.info("还没有分账账户。")
    else:
        did = st.selectbox("选择要删除的账户", list(opts), format_func=opts.get, key="acc_del_pick")
        sure = st.checkbox(f"确认删除分账账户 {opts[did]}", key=f"acc_del_sure_{did}")
        if st.button("删除", disabled=not sure, key="acc_del", icon=":material/delete:"):
            if run_service(acc.delete_account, actor, did):
                flash(FLASH, f"已删除分账账户 {opts[did]}。")
