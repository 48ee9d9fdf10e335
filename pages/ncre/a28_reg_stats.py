"""报考统计 (001 §28): per site 报名人数 and 报考人次 (total and per subject), 合计; 刷新, Excel, chart."""
import pandas as pd
import plotly.express as px
import streamlit as st

from core.services import reg_stats as rs
from core.ui.stats import stats_head

actor, table = stats_head("报考统计", "reg")

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
