"""支付统计 (001 §28): per site 报考/已支付/未支付科次 and 金额, 集体/个人缴费科次, 合计; by subject too."""
import pandas as pd
import plotly.express as px
import streamlit as st

from core.services import reg_stats as rs
from core.ui.stats import stats_head
from core.ui.widgets import query

actor, table = stats_head("支付统计", "pay", {"pay": "导出 Excel（按考点）", "pay_subject": "导出 Excel（按科目）"})

total = table.total
m1, m2, m3, m4 = st.columns(4)
m1.metric("报考科次", total["报考科次"])
m2.metric("已支付科次", total["已支付科次"])
m3.metric("已支付金额（元）", f"{total['已支付金额（元）']:.2f}")
m4.metric("未支付金额（元）", f"{total['未支付金额（元）']:.2f}")

money = {c: st.column_config.NumberColumn(c, format="%.2f") for c in ("已支付金额（元）", "未支付金额（元）")}
st.dataframe(pd.DataFrame(table.rows, columns=table.columns), hide_index=True, width="stretch",
             column_config={rs.SITE_COL: st.column_config.TextColumn(rs.SITE_COL, pinned=True), **money})

by_subject = query(rs.stats, actor, "pay_subject")
if by_subject is not None:
    st.subheader("按科目统计")
    st.dataframe(pd.DataFrame(by_subject.rows, columns=by_subject.columns), hide_index=True, width="stretch",
                 column_config={rs.SUBJECT_COL: st.column_config.TextColumn(rs.SUBJECT_COL, pinned=True), **money})

st.subheader("已支付 / 未支付科次")
if table.chart and any(p["value"] for p in table.chart):
    fig = px.bar(pd.DataFrame(table.chart), x="x", y="value", color="series", barmode="stack",
                 labels={"x": table.chart_x, "value": table.chart_y, "series": "支付状态"},
                 color_discrete_map={"已支付科次": "#2e7d32", "未支付科次": "#ef6c00"})
    st.plotly_chart(fig, width="stretch")
else:
    st.info("本考次暂无报考数据。")
