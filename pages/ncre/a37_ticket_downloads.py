"""考生下载准考证统计 (001 §37): per subject, how many arranged candidates downloaded their pre-generated ticket;
刷新, 导出 Excel, a chart. Not restricted by operation windows."""
import pandas as pd
import plotly.express as px
import streamlit as st

from core.services import ticket_files as tf
from core.ui.ncre import registration_head
from core.ui.widgets import query, run_service

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

actor, site_id, flags = registration_head("考生下载准考证统计")
bar = st.container(horizontal=True)
if bar.button("刷新", icon=":material/refresh:", key="tdl_refresh"):
    st.session_state.pop("tdl_export", None)
stats = query(tf.download_stats, actor, site_id)
if stats is None:
    st.stop()
if not stats.self_print:
    st.info("本考点在《考点报名综合设置》中不允许考生个人打印准考证，不需要使用本页面功能。")
    st.stop()
if bar.button("导出 Excel", icon=":material/download:", key="tdl_export_btn"):
    got = run_service(tf.export_download_stats, actor, site_id)
    if got:
        st.session_state["tdl_export"] = {"data": got[0], "name": got[1], "site": site_id}
ex = st.session_state.get("tdl_export")
if ex and ex["site"] == site_id:
    bar.download_button("下载 Excel", ex["data"], file_name=ex["name"], mime=XLSX, type="primary",
                        on_click="ignore", icon=":material/file_download:", key="tdl_download")
start = f"{stats.print_start:%Y-%m-%d %H:%M}" if stats.print_start else "未设置"
if stats.started:
    st.caption(f"{stats.site_label}　准考证打印开始时间：{start}　（数据为实时统计，点“刷新”更新）")
else:
    st.warning(f"{stats.site_label} 的准考证打印开始时间（{start}）尚未到，考生还不能下载准考证。")

df = pd.DataFrame(stats.rows, columns=stats.header)
st.dataframe(df, hide_index=True, width="stretch", key="tdl_table",
             column_config={"下载率": st.column_config.NumberColumn("下载率", format="percent")})
st.caption("应下载人数：该科目已编排的考生人数；已下载人数：下载过准考证的考生人数（同一考生多次下载计 1 人）。"
           "合计按人计算，报考多个科目的考生只计 1 次。")
if len(stats.rows) > 1:
    fig = px.bar(pd.DataFrame(stats.chart), x="科目", y="人数", color="状态", barmode="stack",
                 color_discrete_map={"已下载": "#1565c0", "未下载": "#ffcc80"})
    st.plotly_chart(fig, width="stretch")
else:
    st.info("本考点还没有已编排的考生。")
