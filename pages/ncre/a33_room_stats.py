"""考场统计 (001 §33): generate the site's room/session statistics as Excel, download it; the same figures
computed live below. Not restricted by operation windows; needs the site fully arranged."""
import pandas as pd
import streamlit as st

from core.services import ticket_files as tf
from core.ui.generated import generated_panel
from core.ui.ncre import registration_head
from core.ui.widgets import query

actor, site_id, flags = registration_head("考场统计")
st.caption("考场统计不受考点操作时间限制。统计文件需要先生成后下载；如果无法确定生成之后数据是否有变动，"
           "下载前请先重新生成。")
generated_panel(actor, site_id, "room_stats", tf.build_room_stats, numbers=False)

stats = query(tf.room_stats, actor, site_id)
if stats is None:
    st.stop()
st.subheader("当前统计（实时）")
if not stats.sessions:
    st.info(f"{stats.site_label} 还没有设置考场批次：请先在《考场管理》中新增考场和批次。")
    st.stop()
st.caption(f"{stats.site_label}：{stats.rooms} 个考场，{stats.sessions} 个批次。")
tab1, tab2, tab3 = st.tabs(["考场批次", "科目", "考试日"])
tab1.dataframe(pd.DataFrame(stats.session_rows, columns=stats.session_header), hide_index=True, width="stretch",
               key="rs_sessions")
tab2.dataframe(pd.DataFrame(stats.subject_rows, columns=stats.subject_header), hide_index=True, width="stretch",
               key="rs_subjects")
tab3.dataframe(pd.DataFrame(stats.day_rows, columns=stats.day_header), hide_index=True, width="stretch",
               key="rs_days")
