"""考次管理 (001 §4, §7.5, §8.4; 考试中心 only): list the 考次, create a new one copying the orgs and the
per-org settings of an earlier one, choose the current 考次. Rules live in core.services.orgs."""
from datetime import date, datetime, time, timedelta

import pandas as pd
import streamlit as st

from core.services import orgs
from core.ui import session
from core.ui.session import require_actor
from core.ui.widgets import flash, query, run_service, show_flash

P = "sys_terms_"
FLASH = P + "flash"

actor = require_actor()
st.title("考次管理")
if actor.role != "center_admin":
    st.error("此页面仅限考试中心管理员。")
    st.stop()
st.caption("考次内机构和各项设置按考次保存；管理员用户绑定到机构，不分考次。只能修改当前考次的数据，"
           "历史考次只能查询、查看和导出。")
show_flash(FLASH)


def fmt(d: datetime | None) -> str:
    return d.strftime("%Y-%m-%d %H:%M") if d else ""


terms = query(orgs.list_terms) or []
if terms:
    st.dataframe(pd.DataFrame([{
        "考次代码": t.code, "考次名称": t.name, "考试开始时间": fmt(t.exam_start), "考试结束时间": fmt(t.exam_end),
        "状态": "当前考次" if t.is_current else "", "机构数": t.orgs, "启用机构数": t.enabled_orgs} for t in terms]),
        hide_index=True, width="stretch")
else:
    st.info("系统还没有考次，请先创建第一个考次（系统中已有的机构都会加入并启用）。")
labels = {t.id: f"（{t.code}）{t.name}" + ("（当前）" if t.is_current else "") for t in terms}
current = next((t for t in terms if t.is_current), None)

st.subheader("创建考次")
st.caption("新考次创建时，所选考次的机构及其“是否启用”状态、考点报名综合设置、考点开考科目、考点费用、省开考科目和"
           "省报名通告会复制到新考次，其中的日期随考试日期顺延；操作时间和意向考试日期名额不复制，需要重新设置。")
with st.form(P + "create", clear_on_submit=False):
    c1, c2 = st.columns([1, 3])
    code = c1.text_input("考次代码 *", max_chars=10, placeholder="例如 71", help="数字，用于准考证号")
    name = c2.text_input("考次名称 *", max_chars=100, placeholder="例如 2026年9月全国计算机等级考试")
    base = (current.exam_start.date() + timedelta(days=182)) if current and current.exam_start else date.today()
    c1, c2, c3, c4 = st.columns(4)
    sd = c1.date_input("考试开始日期 *", value=base, format="YYYY-MM-DD")
    stt = c2.time_input("开始时间", value=time(8, 0), step=timedelta(minutes=30))
    ed = c3.date_input("考试结束日期 *", value=base + timedelta(days=2), format="YYYY-MM-DD")
    ett = c4.time_input("结束时间", value=time(18, 0), step=timedelta(minutes=30))
    src = None
    if terms:
        ids = list(labels)
        src = st.selectbox("复制机构和设置自", ids, format_func=labels.get,
                           index=ids.index(current.id) if current else 0)
    make_current = st.checkbox("创建后设为当前考次", value=True,
                               help="设为当前考次后，其他考次成为历史考次，只能查看不能修改。")
    create = st.form_submit_button("创建考次", type="primary")
if create:
    res = run_service(orgs.create_term, actor, code, name,
                      datetime.combine(sd, stt) if sd else None, datetime.combine(ed, ett) if ed else None,
                      copy_from_term_id=src, make_current=make_current)
    if res:
        if res["is_current"]:
            st.session_state.pop(session.TERM, None)  # look at the new current 考次
        c = res["copied"]
        flash(FLASH, f"考次已创建{'并设为当前考次' if res['is_current'] else ''}：复制机构 {c.get('org_term', 0)} 个、"
              f"考点报名综合设置 {c.get('site_setting', 0)} 条、考点开考科目 {c.get('site_subject', 0)} 条、"
              f"考点费用 {c.get('site_fee', 0)} 条、省开考科目 {c.get('province_subject', 0)} 条、"
              f"省报名通告 {c.get('province_notice', 0)} 条。")

if terms:
    st.subheader("设为当前考次")
    others = {k: v for k, v in labels.items() if not current or k != current.id}
    if others:
        c1, c2 = st.columns([3, 1])
        target = c1.selectbox("考次", list(others), format_func=others.get, key=P + "target",
                              label_visibility="collapsed")
        sure = st.checkbox("我已确认：切换后其他考次成为历史考次，只能查看不能修改", key=P + "sure")
        if c2.button("设为当前考次", key=P + "set_current", disabled=not sure):
            if run_service(orgs.set_current_term, actor, target):
                st.session_state.pop(session.TERM, None)
                flash(FLASH, f"当前考次已切换为{others[target]}。")
    else:
        st.caption("只有一个考次。")

    st.subheader("修改考次")
    editable = [t for t in terms if t.is_current or (current and t.id > current.id)]
    if editable:
        e_labels = {t.id: labels[t.id] for t in editable}
        tid = st.selectbox("要修改的考次", list(e_labels), format_func=e_labels.get, key=P + "edit_pick")
        t = next(x for x in editable if x.id == tid)
        with st.form(f"{P}edit_{tid}"):
            c1, c2 = st.columns([1, 3])
            e_code = c1.text_input("考次代码 *", t.code, max_chars=10)
            e_name = c2.text_input("考次名称 *", t.name, max_chars=100)
            c1, c2, c3, c4 = st.columns(4)
            e_sd = c1.date_input("考试开始日期 *", value=t.exam_start.date() if t.exam_start else None,
                                 format="YYYY-MM-DD")
            e_st = c2.time_input("开始时间", value=t.exam_start.time() if t.exam_start else time(8, 0),
                                 step=timedelta(minutes=30))
            e_ed = c3.date_input("考试结束日期 *", value=t.exam_end.date() if t.exam_end else None, format="YYYY-MM-DD")
            e_et = c4.time_input("结束时间", value=t.exam_end.time() if t.exam_end else time(18, 0),
                                 step=timedelta(minutes=30))
            save = st.form_submit_button("保存考次", type="primary")
        if save:
            if run_service(orgs.update_term, actor, tid, e_code, e_name,
                           datetime.combine(e_sd, e_st) if e_sd else None,
                           datetime.combine(e_ed, e_et) if e_ed else None):
                flash(FLASH, "考次已保存。")
    st.caption("历史考次不能修改。")
