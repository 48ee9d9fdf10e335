"""报考统计 (001 §28): per site 报名人数 and 报考人次 (total and per subject), 合计; 刷新, Excel, chart."""
import pandas as pd
import plotly.express as px
import streamlit as st

from core.services import reg_stats as rs
from core.ui.session import require_actor
from core.ui.widgets import query, run_service

KIND = "reg"
EXPORT = f"kaowu_stats_{KIND}__export"

actor = require_actor()
st.title("报考统计")
st.caption(rs.NOTE)

bar = st.container(horizontal=True)
if bar.button("刷新", icon=":material/refresh:", key="stats_refresh"):
    st.session_state.pop(EXPORT, None)
if bar.button("导出 Excel", icon=":material/download:", key="stats_export"):
    res = run_service(rs.export_stats, actor, KIND)
    if res:
        st.session_state[EXPORT] = {"data": res[0], "name": res[1], "who": (actor.user_id, actor.term_id)}
ex = st.session_state.get(EXPORT)
if ex and ex["who"] == (actor.user_id, actor.term_id):
    bar.download_button("下载 Excel", ex["data"], file_name=ex["name"], type="primary", on_click="ignore",
                        icon=":material/file_download:", key="stats_download",
                        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

table = query(rs.stats, actor, KIND)
if table is None:
    st.stop()
st.caption(f"考次：{table.term_name}　统计时间：{table.generated_at:%Y-%m-%d %H:%M:%S}　"
           f"考点数：{len(table.body)}")

total = table.total
m1, m2, m3 = st.columns(3)
m1.metric("报名人数", total["报名人数"])
m2.metric("报考人次", total["报考人次合计"])
m3.metric("报考科目数", sum(1 for c in table.columns[3:] if total[c]))

st.dataframe(pd.DataFrame(table.rows, columns=table.columns), hide_index=True, width="stretch",
             column_config={rs.SITE_COL: st.column_config.TextColumn(rs.SITE_COL, pinned=True)})

st.subheader("各科目报考人次")
if table.chart and any(p["value"] for p in table.chart):
    fig = px.bar(pd.DataFrame(table.chart), x="x", y="value", color="series", barmode="stack",
                 labels={"x": table.chart_x, "value": table.chart_y, "series": rs.SITE_COL})
    st.plotly_chart(fig, width="stretch")
else:
    st.info("本考次暂无报考数据。")
