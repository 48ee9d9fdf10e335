"""通用统计 (001 §53): choose 数据列, 指标列 (the numbers after ≥ and in [x, y) editable), 筛选列 and 行转列, or
a 常用统计 preset; the result shows as a table and a chart and exports to Excel. Runs in DuckDB over the
live database, always within the user's scope (core.analytics.builder)."""
from datetime import date

import pandas as pd
import plotly.express as px
import streamlit as st

from core.analytics import builder as qb
from core.errors import ValidationError
from core.ui.session import require_actor
from core.ui.widgets import deferred_download, query

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DIM_LABELS = {d.key: d.label for d in qb.DIMENSIONS.values()}
IND_LABELS = {i.key: i.label.format(x="x", y="y") for i in qb.INDICATORS.values()}

actor = require_actor()
st.title("通用统计")
st.caption("所有数据的查询都在当前用户的访问权限范围内进行；选择数据列、指标列、筛选列后点“查询”。"
           "指标列中“≥”后面的数字和“[x,y)”中的数字可以修改（[x,y) 表示 ≥x 且 <y）。")


def _load(name: str) -> None:
    spec = qb.PRESETS[name]
    st.session_state.update({"qb_dims": list(spec.dims), "qb_inds": [i.key for i in spec.indicators],
                             "qb_pivot": list(spec.pivot), "qb_filter_dims": [], "qb_run": True})


st.session_state.setdefault("qb_inds", ["reg_count"])
bar = st.container(horizontal=True)
for name in qb.PRESETS:
    bar.button(name, on_click=_load, args=(name,), icon=":material/bolt:", key=f"qb_preset_{name}")

with st.container(border=True):
    dims = st.multiselect("数据列", list(DIM_LABELS), format_func=DIM_LABELS.get, key="qb_dims",
                          max_selections=qb.MAX_DIMS, placeholder="选择分组的数据列（按选择顺序排列）")
    inds = st.multiselect("指标列", list(IND_LABELS), format_func=IND_LABELS.get, key="qb_inds",
                          max_selections=qb.MAX_INDICATORS, placeholder="选择统计指标")
    numbers: dict[str, dict[str, int]] = {}
    params = [k for k in inds if qb.INDICATORS[k].params]
    if params:
        cols = st.columns(len(params))
        for col, k in zip(cols, params):
            ind = qb.INDICATORS[k]
            with col.container(horizontal=True):
                nums = {}
                for i, name in enumerate(("x", "y")[:ind.params]):
                    nums[name] = st.number_input(f"{IND_LABELS[k]}：{name}", min_value=qb.NUMBER_RANGE[0],
                                                 max_value=qb.NUMBER_RANGE[1], value=ind.default[i], step=1,
                                                 key=f"qb_{k}_{name}")
                numbers[k] = nums
    filter_dims = st.multiselect("筛选列", list(DIM_LABELS), format_func=DIM_LABELS.get, key="qb_filter_dims",
                                 placeholder="需要时选择要筛选的数据列")
    filters: dict[str, list[str]] = {}
    for k in filter_dims:
        options = query(qb.filter_options, actor, k) or []
        filters[k] = st.multiselect(f"筛选：{DIM_LABELS[k]}", options, key=f"qb_filter_{k}",
                                    placeholder="不选表示全部")
    pivot = st.multiselect("行转列", [d for d in dims], format_func=DIM_LABELS.get, key="qb_pivot",
                           placeholder="选择要转为列的数据列（可不选）")
    st.caption("行转列时：统计指标选择 1 个，行转列指标最多选 2 个；或者统计指标选择多个，行转列指标选择 1 个。")
    run = st.button("查询", type="primary", icon=":material/search:", key="qb_query") or st.session_state.pop("qb_run", False)

if run:
    try:
        spec = qb.make_spec(dims, [{"key": k, **numbers.get(k, {})} for k in inds], filters,
                            [p for p in pivot if p in dims])
    except ValidationError as e:
        st.error(e.message)
        st.stop()
    st.session_state["qb_spec"] = spec
spec = st.session_state.get("qb_spec")
if spec is None:
    st.info("请选择数据列和指标列后点“查询”，或点上方的常用统计。")
    st.stop()

res = query(qb.run, actor, spec)
if res is None:
    st.stop()
st.caption(f"{qb.describe(spec)}　｜　{res.sites} 个考点在统计范围内　"
           + ("（结果来自缓存，数据未变）" if res.cached else f"（用时 {res.elapsed:.2f} 秒）"))
deferred_download("导出 Excel", qb.export_xlsx, actor, spec, file_name=f"通用统计_{date.today():%Y%m%d}.xlsx",
                  mime=XLSX, key="qb_export", icon=":material/file_download:")
st.dataframe(res.table, hide_index=True, width="stretch", key="qb_table")

# the chart: the first row dimension along x, the first indicator up, coloured by the pivot (or second) column
long = res.long
ind_labels = res.indicator_labels
if spec.dims and not long.empty:
    x = qb.DIMENSIONS[(spec.row_dims or spec.dims)[0]].label
    rest = [qb.DIMENSIONS[d].label for d in spec.dims if qb.DIMENSIONS[d].label != x]
    if rest:
        rest_keys = [d for d in spec.dims if qb.DIMENSIONS[d].label != x]
        series = qb.order_rows(long[rest].drop_duplicates(), rest_keys).astype(str).agg(" · ".join, axis=1)
        data = long.assign(_series=long[rest].astype(str).agg(" · ".join, axis=1))
        fig = px.bar(data, x=x, y=ind_labels[0], color="_series", barmode="group",
                     labels={"_series": " · ".join(rest)}, category_orders={"_series": list(series)})
    else:
        data = long.melt(id_vars=[x], value_vars=ind_labels, var_name="指标", value_name="数值")
        fig = px.bar(data, x=x, y="数值", color="指标", barmode="group")
    fig.update_xaxes(categoryorder="array", categoryarray=list(dict.fromkeys(long[x])))  # the table's order
    fig.update_layout(height=420, margin=dict(t=30, b=10), legend_title_text="")
    st.plotly_chart(fig, width="stretch", key="qb_chart")
elif not spec.dims:
    st.bar_chart(pd.DataFrame({"指标": ind_labels, "数值": [long[c].iloc[0] for c in ind_labels]}), x="指标", y="数值")
