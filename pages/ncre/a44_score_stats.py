"""成绩统计 (001 §44): per site (or per subject) 人次, 优秀/良好/及格/不及格 and 缺考/违纪/作弊/其他违规, 合计;
刷新, Excel export (audited), chart. Not limited by operation windows."""
import pandas as pd
import plotly.express as px
import streamlit as st

from core.services import scores
from core.ui.session import require_actor
from core.ui.widgets import query, run_service

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORT_KEY = "kaowu_score_stats__export"

actor = require_actor()
st.title("成绩统计")
st.caption(scores.STAT_NOTE)
by = st.radio("统计方式", ["site", "subject"], format_func={"site": "按考点", "subject": "按科目"}.get,
              horizontal=True, key="a44_by")
bar = st.container(horizontal=True)
if bar.button("刷新", icon=":material/refresh:", key="a44_refresh"):
    st.session_state.pop(EXPORT_KEY, None)
if bar.button("导出 Excel", icon=":material/download:", key="a44_export"):
    res = run_service(scores.export_score_stats, actor, by)
    if res:
        st.session_state[EXPORT_KEY] = {"data": res[0], "name": res[1], "who": (actor.user_id, actor.term_id, by)}
ex = st.session_state.get(EXPORT_KEY)
if ex and ex["who"] == (actor.user_id, actor.term_id, by):
    bar.download_button("下载 Excel", ex["data"], file_name=ex["name"], mime=XLSX, type="primary", on_click="ignore",
                        icon=":material/file_download:", key="a44_download")
table = query(scores.score_stats, actor, by)
if table is None:
    st.stop()
st.caption(f"考次：{table.term_name}　统计时间：{table.generated_at:%Y-%m-%d %H:%M:%S}　"
           f"{'考点' if by == 'site' else '科目'}数：{len(table.body)}")

total = table.total
m = st.columns(4)
m[0].metric("人次", total["人次"])
passed = total["优秀"] + total["良好"] + total["及格"]
m[1].metric("及格人次", passed)
m[2].metric("及格率", f"{passed / total['人次']:.1%}" if total["人次"] else "—")
m[3].metric("违规人次", sum(total[k] for k in ("缺考", "违纪", "作弊", "其他违规")))

first = table.columns[0]
st.dataframe(pd.DataFrame(table.rows, columns=table.columns), hide_index=True, width="stretch",
             column_config={first: st.column_config.TextColumn(first, pinned=True)})

st.subheader("成绩等级分布")
if table.chart and any(p["value"] for p in table.chart):
    fig = px.bar(pd.DataFrame(table.chart), x="x", y="value", color="series", barmode="stack",
                 category_orders={"series": list(scores.LEVELS)},
                 labels={"x": table.chart_x, "value": table.chart_y, "series": "等级"})
    st.plotly_chart(fig, width="stretch")
else:
    st.info("本考次暂无成绩数据。")
