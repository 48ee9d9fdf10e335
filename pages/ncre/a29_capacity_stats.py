"""科目容量统计 (001 §29): per site 总科次数 and every 开考科目: 总容量 / 剩余容量, coloured by what is left."""
import pandas as pd
import plotly.express as px
import streamlit as st

from core.services import reg_stats as rs
from core.ui.stats import stats_head

actor, table = stats_head("科目容量统计", "capacity")

# legend: the colour of each state of the remaining capacity (§29.4)
legend = st.container(horizontal=True)
legend.markdown("剩余容量颜色：")
for level in (rs.OK, rs.LOW, rs.FULL, rs.UNLIMITED, rs.UNSET, rs.CLOSED):
    legend.badge(rs.LEVELS[level][0], color={rs.OK: "green", rs.LOW: "orange", rs.FULL: "red",
                                             rs.UNLIMITED: "blue"}.get(level, "gray"))

# every cell as text (numbers, 不限, 未设置, 不开考 or blank), coloured from the service's levels
df = pd.DataFrame([["" if v is None else str(v) for v in row] for row in table.rows], columns=table.columns)
styles = pd.DataFrame([[rs.level_style(lv) for lv in row] for row in table.levels], columns=table.columns)
st.dataframe(df.style.apply(lambda _d: styles, axis=None), hide_index=True, width="stretch",
             column_config={rs.SITE_COL: st.column_config.TextColumn(rs.SITE_COL, pinned=True)})
st.caption("剩余容量 = 总容量 − 本考次在该考点（该科目）的报考人数。考点在《考点报名综合设置》中设置为不开考时，"
           "容量无效（显示为不开考）。如需调整容量，请在《考点容量设置》中修改。")

st.subheader("各科目容量使用情况（合计）")
if table.chart:
    fig = px.bar(pd.DataFrame(table.chart), x="x", y="value", color="series", barmode="stack",
                 labels={"x": table.chart_x, "value": table.chart_y, "series": ""},
                 color_discrete_map={"已报考": "#1565c0", rs.LEFT: "#a5d6a7"})
    st.plotly_chart(fig, width="stretch")
else:
    st.info("没有设置了具体容量的开考科目（不限、未设置或不开考的科目不在图中）。")
