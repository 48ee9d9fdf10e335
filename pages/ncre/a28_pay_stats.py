"""支付统计 (001 §28): per site 报考/已支付/未支付科次 and 金额, 集体/个人缴费科次, 合计; by subject too."""
import pandas as pd
import plotly.express as px
import streamlit as st

from core.services import reg_stats as rs
from core.ui.session import require_actor
from core.ui.widgets import query, run_service

EXPORT = "kaowu_stats_pay__export"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

actor = require_actor()
st.title("支付统计")
st.caption(rs.NOTE)

bar = st.container(horizontal=True)
if bar.button("刷新", icon=":material/refresh:", key="stats_refresh"):
    st.session_state.pop(EXPORT, None)
which = {"pay": "导出 Excel（按考点）", "pay_subject": "导出 Excel（按科目）"}
for kind, label in which.items():
    if bar.button(label, icon=":material/download:", key=f"stats_export_{kind}"):
        res = run_service(rs.export_stats, actor, kind)
        if res:
            st.session_state[EXPORT] = {"data": res[0], "name": res[1], "who": (actor.user_id, actor.term_id)}
ex = st.session_state.get(EXPORT)
if ex and ex["who"] == (actor.user_id, actor.term_id):
    bar.download_button("下载 Excel", ex["data"], file_name=ex["name"], mime=XLSX, type="primary", on_click="ignore",
                        icon=":material/file_download:", key="stats_download")

table = query(rs.stats, actor, "pay")
if table is None:
    st.stop()
st.caption(f"考次：{table.term_name}　统计时间：{table.generated_at:%Y-%m-%d %H:%M:%S}　考点数：{len(table.body)}")

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
