"""考生统计 (001 §28): per site 报名人数 by 报名方式, 学籍/社会考生, 照片, 锁定, 审核状态, 支付状态; 合计."""
import pandas as pd
import plotly.express as px
import streamlit as st

from core.services import reg_stats as rs
from core.ui.stats import stats_head

actor, table = stats_head("考生统计", "candidate")

total = table.total
m1, m2, m3, m4 = st.columns(4)
m1.metric("报名人数", total["报名人数"])
m2.metric("待审核", total["待审核"])
m3.metric("无照片", total["无照片"])
m4.metric("全部支付", total["全部支付"])

st.dataframe(pd.DataFrame(table.rows, columns=table.columns), hide_index=True, width="stretch",
             column_config={rs.SITE_COL: st.column_config.TextColumn(rs.SITE_COL, pinned=True)})
st.caption("审核状态：无需审核 = 考点未启用报名信息审核或考生尚未提交审核。支付状态按考生的全部报考科目统计，"
           "没有报考科目的考生计入“全未支付”。")

st.subheader("报名方式")
if table.chart and any(p["value"] for p in table.chart):
    fig = px.bar(pd.DataFrame(table.chart), x="x", y="value", color="series", barmode="stack",
                 labels={"x": table.chart_x, "value": table.chart_y, "series": "报名方式"})
    st.plotly_chart(fig, width="stretch")
else:
    st.info("本考次暂无报名数据。")
