"""考场管理 (001 §30): rooms and their sessions (批次); add/edit/delete, 新增批次(批量), export to Excel."""
from datetime import datetime, time

import pandas as pd
import streamlit as st

from core.services import arrangement as ar
from core.ui.ncre import registration_head
from core.ui.widgets import flash, query, run_service, window_banner

FLASH = "ncre_a30_flash"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

actor, site_id, flags = registration_head("考场管理", FLASH)
editable = window_banner(actor, "arrangement") if flags["own"] else False
if not flags["own"]:
    st.info("考场和批次由考点管理员在本考点编排时间内管理；上级机构只能查询查看和导出。")
st.caption("批次时间严格限制为考试日 08:00~20:00 之间，同一考场的批次不能重叠。已经编排的考场、批次不可以删除，"
           "删除前需要通过《考场编排管理》清除掉考场、批次的编排信息。")

rooms = query(ar.list_rooms, actor, site_id)
if rooms is None:
    st.stop()
days = query(ar.exam_days, actor) or []
n_sessions = sum(len(r.sessions) for r in rooms)
st.caption(f"{flags['label']}：{len(rooms)} 个考场，{n_sessions} 个批次，总容量 {sum(r.capacity for r in rooms)}，"
           f"已编排 {sum(r.seated for r in rooms)}。")

# ---------------------------------------------------------------- the list: a room, then its sessions
rows = []
for r in rooms:
    rows.append({"考场或批次号": r.code, "考场地址": r.address or "", "备注": r.remark or "", "总容量": r.capacity,
                 "已编排": r.seated, "剩余容量": r.capacity - r.seated, "开始时间": None, "结束时间": None})
    for x in r.sessions:
        rows.append({"考场或批次号": f"　{x.number}", "考场地址": "", "备注": "", "总容量": x.capacity,
                     "已编排": x.seated, "剩余容量": x.free, "开始时间": x.start, "结束时间": x.end})
if rows:
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                 column_config={"开始时间": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
                                "结束时间": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm")})
else:
    st.info("本考点还没有考场。" + ("请在下方“新增考场”。" if editable else ""))

if st.button("导出考场批次时间到 Excel", disabled=not rooms):
    data = run_service(ar.export_rooms, actor, site_id)
    if data:
        st.download_button("下载考场批次时间.xlsx", data=data, file_name="考场批次时间.xlsx", mime=XLSX)

if not editable:
    st.stop()

room_opts = {r.id: f"考场 {r.code}" + (f"（{r.address}）" if r.address else "") for r in rooms}
session_opts = {x.id: (r, x) for r in rooms for x in r.sessions}
tab_room, tab_edit, tab_bulk, tab_one, tab_sess = st.tabs(["新增考场", "修改/删除考场", "新增批次(批量)", "新增批次",
                                                           "编辑/删除批次"])

with tab_room:
    with st.form("room_add", clear_on_submit=True):
        c1, c2, c3 = st.columns([1, 2, 2])
        code = c1.text_input("考场号 *", max_chars=6, placeholder="如 07", key="room_code")
        address = c2.text_input("考场地址", max_chars=200, placeholder="如 教学楼A座307", key="room_address")
        remark = c3.text_input("备注", max_chars=200, key="room_remark")
        if st.form_submit_button("新增考场", type="primary"):
            if run_service(ar.add_room, actor, site_id, code, address, remark):
                flash(FLASH, f"已新增考场 {code.strip()}。")

with tab_edit:
    if not rooms:
        st.info("还没有考场。")
    else:
        rid = st.selectbox("考场", list(room_opts), format_func=room_opts.get, key="room_pick")
        room = next(r for r in rooms if r.id == rid)
        with st.form(f"room_edit_{rid}"):
            c1, c2, c3 = st.columns([1, 2, 2])
            code = c1.text_input("考场号 *", value=room.code, max_chars=6)
            address = c2.text_input("考场地址", value=room.address or "", max_chars=200)
            remark = c3.text_input("备注", value=room.remark or "", max_chars=200)
            if st.form_submit_button("保存修改", type="primary"):
                if run_service(ar.edit_room, actor, rid, code, address, remark):
                    flash(FLASH, f"已修改考场 {code.strip()}。")
        if room.seated:
            st.caption(f"考场 {room.code} 已编排 {room.seated} 名考生（科次），不能删除；修改考场号后需重新生成准考证号。")
        sure = st.checkbox(f"确认删除考场 {room.code} 及其 {len(room.sessions)} 个批次", key="room_del_sure")
        if st.button("删除考场", disabled=not sure, key="room_del"):
            if run_service(ar.delete_room, actor, rid):
                flash(FLASH, f"已删除考场 {room.code}。")

with tab_bulk:
    if not rooms:
        st.info("请先新增考场。")
    else:
        with st.form("bulk_sessions"):
            st.caption("为选中的考场，在选中的每个考试日按下面的时间段各新增一个批次（批次号接着考场已有的编号）。")
            pick = st.multiselect("考场", list(room_opts), default=list(room_opts), format_func=room_opts.get,
                                  key="bulk_rooms_" + "_".join(map(str, room_opts)))  # a new room: selected too
            if days:
                chosen = st.multiselect("考试日期", days, default=days, format_func=lambda d: f"{d:%Y-%m-%d}",
                                        key="bulk_days")
            else:
                chosen = [st.date_input("考试日期", key="bulk_day")]
            c1, c2 = st.columns([1, 2])
            cap = c1.number_input("每个批次容量", min_value=1, max_value=ar.SESSION_CAPACITY_MAX, value=30, step=1,
                                  key="bulk_capacity")
            pattern = c2.text_area("一天的批次时间（每行一个 开始-结束）", value=ar.DEFAULT_PATTERN, height=120,
                                   key="bulk_pattern")
            if st.form_submit_button("新增批次(批量)", type="primary"):
                ids = run_service(ar.add_sessions_bulk, actor, site_id, pick, chosen, pattern, int(cap))
                if ids:
                    flash(FLASH, f"已新增 {len(ids)} 个批次。")

with tab_one:
    if not rooms:
        st.info("请先新增考场。")
    else:
        with st.form("one_session"):
            c1, c2, c3, c4, c5 = st.columns(5)
            rid = c1.selectbox("考场", list(room_opts), format_func=room_opts.get, key="one_room")
            if days:
                d = c2.selectbox("考试日期", days, format_func=lambda v: f"{v:%Y-%m-%d}", key="one_day")
            else:
                d = c2.date_input("考试日期", key="one_day")
            start = c3.time_input("开始时间", value=time(8, 30), step=300, key="one_start")
            end = c4.time_input("结束时间", value=time(10, 30), step=300, key="one_end")
            cap = c5.number_input("容量", min_value=1, max_value=ar.SESSION_CAPACITY_MAX, value=30, key="one_capacity")
            if st.form_submit_button("新增批次", type="primary"):
                sid = run_service(ar.add_session, actor, rid, int(cap), datetime.combine(d, start),
                                  datetime.combine(d, end))
                if sid:
                    flash(FLASH, "已新增批次。")

with tab_sess:
    if not session_opts:
        st.info("还没有批次。")
    else:
        labels = {sid: f"{x.number}　{x.start:%Y-%m-%d %H:%M}–{x.end:%H:%M}　容量 {x.capacity}，已编排 {x.seated}"
                  for sid, (_r, x) in session_opts.items()}
        sid = st.selectbox("批次", list(labels), format_func=labels.get, key="sess_pick")
        _room, x = session_opts[sid]
        with st.form(f"sess_edit_{sid}"):
            c1, c2, c3, c4 = st.columns(4)
            if days and x.start.date() in days:
                d = c1.selectbox("考试日期", days, index=days.index(x.start.date()),
                                 format_func=lambda v: f"{v:%Y-%m-%d}")
            else:
                d = c1.date_input("考试日期", value=x.start.date())
            start = c2.time_input("开始时间", value=x.start.time(), step=300)
            end = c3.time_input("结束时间", value=x.end.time(), step=300)
            cap = c4.number_input("容量", min_value=1, max_value=ar.SESSION_CAPACITY_MAX, value=x.capacity)
            if x.seated:
                st.caption(f"已编排 {x.seated} 名考生：容量不能小于已编排人数，时间不能修改（需先清除编排）。")
            if st.form_submit_button("保存批次", type="primary"):
                if run_service(ar.edit_session, actor, sid, int(cap), datetime.combine(d, start),
                               datetime.combine(d, end)):
                    flash(FLASH, f"已保存批次 {x.number}。")
        sure = st.checkbox(f"确认删除批次 {x.number}", key="sess_del_sure")
        if st.button("删除批次", disabled=not sure, key="sess_del"):
            if run_service(ar.delete_session, actor, sid):
                flash(FLASH, f"已删除批次 {x.number}。")
