"""违规分类统计 (001 §39): per 报考科目 of the site (upper levels: per site of their scope, or one site's subjects)
the counts per category (缺考/违纪/作弊/其他违规) and per finer 违纪类型, 合计; 报考科目 filter, 刷新, Excel, chart.
Not limited by the operation windows."""
import pandas as pd
import plotly.express as px
import streamlit as st

from core.models.postexam import VIOLATION_KINDS
from core.services import violations as vs
from core.ui.session import require_actor
from core.ui.widgets import query, run_service

EXPORT = "ncre_a39_export"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

actor = require_actor()
st.title("违规分类统计")
st.caption(vs.STATS_NOTE)

site_id = None
c1, c2 = st.columns(2)
if actor.org_kind != "site":
    sites = dict(query(vs.stats_sites, actor) or [])
    site_id = c1.selectbox("考点", [None, *sites], format_func=lambda v: sites.get(v, "全部考点（按考点统计）"),
                           key="a39_site")
subjects = dict(query(vs.subject_options, actor, site_id if actor.org_kind != "site" else actor.org_id) or [])
subject_id = c2.selectbox("报考科目", [None, *subjects], format_func=lambda v: subjects.get(v, "全部科目"),
                          key="a39_subject")

bar = st.container(horizontal=True)
if bar.button("刷新", icon=":material/refresh:", key="a39_refresh"):
    st.session_state.pop(EXPORT, None)
who = (actor.user_id, actor.term_id, site_id, subject_id)
if bar.button("导出 Excel", icon=":material/download:", key="a39_export"):
    res = run_service(vs.export_violation_stats, actor, subject_id, site_id)
    if res:
        st.session_state[EXPORT] = {"data": res[0], "name": res[1], "who": who}
ex = st.session_state.get(EXPORT)
if ex and ex["who"] == who:
    bar.download_button("下载 Excel", ex["data"], file_name=ex["name"], mime=XLSX, type="primary", on_click="ignore",
                        icon=":material/file_download:", key="a39_download")

table = query(vs.violation_stats, actor, subject_id, site_id)
if table is None:
    st.stop()
st.caption(f"考次：{table.term_name}　统计时间：{table.generated_at:%Y-%m-%d %H:%M:%S}　"
           f"{table.columns[0]}数：{len(table.body)}")

total = table.total
cols = st.columns(len(VIOLATION_KINDS) + 1)
cols[0].metric(vs.TOTAL_COL, total[vs.TOTAL_COL])
for col, k in zip(cols[1:], VIOLATION_KINDS):
    col.metric(k, total[k])

st.dataframe(pd.DataFrame(table.rows, columns=table.columns), hide_index=True, width="stretch",
             column_config={table.columns[0]: st.column_config.TextColumn(table.columns[0], pinned=True)})

st.subheader("违规人次（按违纪类别）")
if table.chart and any(p["value"] for p in table.chart):
    fig = px.bar(pd.DataFrame(table.chart), x="x", y="value", color="series", barmode="stack",
                 labels={"x": table.chart_x, "value": table.chart_y, "series": "违纪类别"},
                 category_orders={"series": list(VIOLATION_KINDS)})
    st.plotly_chart(fig, width="stretch")
else:
    st.info("本考次暂无违规数据。")
