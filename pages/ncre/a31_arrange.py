"""考场编排管理 (001 §31): the per-subject table, 修改考点地址, 自动编排 and manual arrangement, clearing."""
import pandas as pd
import streamlit as st

from core.services import arrangement as ar
from core.services import candidates as cs
from core.ui.ncre import registration_head
from core.ui.widgets import flash, query, run_service, window_banner

FLASH = "ncre_a31_flash"
REPORT = "ncre_a31_report"
PAGE_SIZE = 50
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DT = st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm")

actor, site_id, flags = registration_head("考场编排管理", FLASH)
editable = window_banner(actor, "arrangement") if flags["own"] else False
if not flags["own"]:
    st.info("考场编排由考点管理员在本考点编排时间内操作；上级机构只能查询查看编排结果。")

# ---------------------------------------------------------------- the per-subject table
table = query(ar.subject_table, actor, site_id)
if table is None:
    st.stop()
st.dataframe(pd.DataFrame(table, columns=ar.SUBJECT_COLUMNS), hide_index=True, width="stretch")
total = table[-1]

# ---------------------------------------------------------------- 考点地址 (printed on the tickets)
addr = query(ar.site_address, actor, site_id) or {}
a1, a2 = st.columns([4, 1])
a1.markdown(f"**考点地址：** {addr.get('address') or 'null（未设置）'}")
with a2.popover("修改考点地址", disabled=not editable):
    with st.form("site_address"):
        st.text_input("机构代码 *", value=addr.get("code", ""), disabled=True)
        st.text_input("机构名称 *", value=addr.get("name", ""), disabled=True)
        new_addr = st.text_input("考点地址 *", value=addr.get("address") or "", max_chars=200, key="site_addr")
        st.caption("填写完整的考点地址（此地址将打印到准考证上，防止考生走错考点）。")
        if st.form_submit_button("保存", type="primary"):
            if run_service(ar.set_site_address, actor, site_id, new_addr):
                flash(FLASH, "考点地址已修改。")

problems = query(ar.arrange_prerequisites, actor, site_id) or []
for p in problems:
    st.warning(p)
can_arrange = editable and not problems

# ---------------------------------------------------------------- 自动编排全部
st.subheader("编排")
st.caption("注：报考多科目考生每科间隔大于15分钟；如果存在意向考生，请先“按考生意向编排”，待意向考生都编排完成后再进行"
           "“选中考生编排”。自动编排会把全部待编排考生编入全部批次的空余座位（优先满足意向考试日期）。")
if st.button("自动编排全部待编排考生", type="primary", disabled=not can_arrange or total["未编排"] == 0,
             key="auto_arrange"):
    with st.status(f"正在编排 {total['未编排']} 科次…", expanded=True) as status:
        rep = run_service(ar.arrange_auto, actor, site_id)
        if rep:
            status.update(label=rep.message, state="complete" if not rep.unplaced else "error", expanded=False)
            st.session_state[REPORT] = (rep.message, [u.__dict__ for u in rep.unplaced + rep.skipped],
                                        rep.unplaced_xlsx() if rep.unplaced or rep.skipped else None)
            st.rerun()
        else:
            status.update(label="编排未完成", state="error")


def show_report() -> None:
    got = st.session_state.get(REPORT)
    if not got:
        return
    message, rows, data = got
    (st.warning if rows else st.success)(message)
    if rows:
        df = pd.DataFrame(rows).rename(columns={"name": "姓名", "id_number": "证件号码", "subject": "科目",
                                                "reason": "原因"})[ar.UNPLACED_HEADER]
        st.dataframe(df.head(200), hide_index=True, width="stretch")
        st.download_button(f"下载未编排清单（{len(rows)} 条）", data=data, file_name="未编排清单.xlsx", mime=XLSX)
    if st.button("关闭编排报告", key="close_report"):
        st.session_state.pop(REPORT, None)
        st.rerun()


show_report()

# ---------------------------------------------------------------- manual arrangement
st.subheader(f"{flags['label']} 待编排考生")
subjects = dict(query(cs.subject_options, actor) or [])
with st.form("pending_filter"):
    c1, c2, c3, c4, c5 = st.columns(5)
    name = c1.text_input("姓名", key="f_name")
    idn = c2.text_input("证件号", key="f_idn")
    subject_id = c3.selectbox("科目", [None, *subjects], format_func=lambda v: subjects.get(v, "全部"), key="f_subject")
    intent = c4.selectbox("意向考生", list(ar.INTENT_FILTERS), format_func=ar.INTENT_FILTERS.get, key="f_intent")
    state = c5.selectbox("编排状态", list(ar.STATE_FILTERS), format_func=ar.STATE_FILTERS.get, key="f_state")
    st.form_submit_button("筛选")
f = ar.PendingFilter(name=name, id_number=idn, subject_id=subject_id, intent=intent, state=state,
                     intent_first=intent is not False)
page_no = st.session_state.get("a31_page", 1)
got = query(ar.list_pending, actor, site_id, f, page_no, PAGE_SIZE)
if got is None:
    st.stop()
cand_rows, n_rows = got
pages = max((n_rows + PAGE_SIZE - 1) // PAGE_SIZE, 1)
if page_no > pages:
    st.session_state["a31_page"] = 1
    st.rerun()
st.caption(f"共 {n_rows} 科次，第 {page_no}/{pages} 页（意向考生排在前面，显示意向考试日期）")
cdf = pd.DataFrame(cand_rows)
cand_event = st.dataframe(cdf.drop(columns=["id"]) if not cdf.empty else cdf, hide_index=True, width="stretch",
                          on_select="rerun", selection_mode="multi-row", key="cand_table",
                          column_config={"考试时间": DT})
picked_regs = [cand_rows[i]["id"] for i in (cand_event.selection.rows if cand_event and cand_event.selection else [])
               if i < len(cand_rows)]
p1, p2, _ = st.columns([1, 1, 4])
if p1.button("上一页", disabled=page_no <= 1, key="a31_prev"):
    st.session_state["a31_page"] = page_no - 1
    st.rerun()
if p2.button("下一页", disabled=page_no >= pages, key="a31_next"):
    st.session_state["a31_page"] = page_no + 1
    st.rerun()
target = st.radio("编排/清除的考生", ["selected", "all"], horizontal=True, key="a31_target",
                  format_func={"selected": f"选中的考生（{len(picked_regs)} 科次）",
                               "all": f"所有筛选结果（{n_rows} 科次）"}.get)

st.subheader("考场信息")
with st.form("session_filter"):
    s1, s2 = st.columns(2)
    room_code = s1.text_input("考场号", key="f_room")
    room_addr = s2.text_input("考场地址", key="f_addr")
    st.form_submit_button("筛选")
sessions = query(ar.list_sessions, actor, site_id, room_code, room_addr) or []
sdf = pd.DataFrame(sessions)
sess_event = st.dataframe(sdf.drop(columns=["id"]) if not sdf.empty else sdf, hide_index=True, width="stretch",
                          on_select="rerun", selection_mode="multi-row", key="session_table",
                          column_config={"开始时间": DT, "结束时间": DT})
picked_sessions = [sessions[i]["id"] for i in (sess_event.selection.rows if sess_event and sess_event.selection
                                               else []) if i < len(sessions)]
session_ids = picked_sessions or [x["id"] for x in sessions]
st.caption(f"编排将使用{'选中的' if picked_sessions else '全部筛选出的'} {len(session_ids)} 个批次"
           "（在表格中勾选批次可只编入这些批次）。")


def reg_ids() -> list[int]:
    return picked_regs if target == "selected" else (query(ar.pending_ids, actor, site_id, f) or [])


b1, b2 = st.columns(2)
for col, intent_only, label in ((b1, True, "1.按考生意向编排（仅编排选中意向考生）"), (b2, False, "2.选中考生编排")):
    if col.button(label, disabled=not can_arrange, key=f"manual_{int(intent_only)}", width="stretch"):
        rep = run_service(ar.arrange_manual, actor, site_id, reg_ids(), session_ids, intent_only)
        if rep:
            st.session_state[REPORT] = (rep.message, [u.__dict__ for u in rep.unplaced + rep.skipped],
                                        rep.unplaced_xlsx() if rep.unplaced or rep.skipped else None)
            st.rerun()

st.markdown("**清除编排**（同时清除这些考生的准考证号）")
sure = st.checkbox("确认清除编排结果", key="a31_clear_sure", disabled=not editable)
c1, c2 = st.columns(2)
if c1.button("清除选中（选中的考生和选中的批次）", disabled=not (editable and sure), key="clear_selected",
             width="stretch"):
    regs = picked_regs if target == "selected" else (query(ar.pending_ids, actor, site_id, f) or [])
    done = run_service(ar.clear_arrangement, actor, site_id, reg_ids=regs, session_ids=picked_sessions)
    if done:
        flash(FLASH, f"已清除 {done.cleared} 科次的编排。")
if c2.button("清除所有", disabled=not (editable and sure), key="clear_all", width="stretch"):
    done = run_service(ar.clear_arrangement, actor, site_id, all=True)
    if done:
        flash(FLASH, f"已清除本考点所有编排结果（{done.cleared} 科次）。")
