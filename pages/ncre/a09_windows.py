"""考点操作时间设置 (001 §9): the nine windows of the orgs in scope; set by the level above."""
import pandas as pd
import streamlit as st

from core.models.ncre import START_ONLY_WINDOWS, WINDOW_KINDS, WINDOW_MODULES
from core.models.org import ORG_KINDS
from core.services import ncre_setup as ns
from core.ui.session import require_actor
from core.ui.widgets import flash, query, run_service, show_flash

FLASH = "ncre_a09_flash"
PAGE_SIZE = 50

actor = require_actor()
st.title("考点操作时间设置")
st.info("提示：1、控制考点管理员操作，由上级管理员设置。 2、考生网报时间的设置在《报名前设置》→《考生报名时间设置》中，不是此页面！")
show_flash(FLASH)
if not actor.term_is_current:
    st.info("当前查看的是历史考次：只能查询、查看和导出，不能修改。")

is_site = actor.org_kind == "site"
levels = {"center": ["province", "city", "site"], "province": ["city", "site"], "city": ["site"]}.get(actor.org_kind, [])

level, search, page_no = None, None, 1
if not is_site:
    c1, c2, c3 = st.columns([1, 2, 1])
    level = c1.selectbox("机构级别", [None, *levels], format_func=lambda k: "全部" if k is None else ORG_KINDS[k])
    search = c2.text_input("机构代码或名称", max_chars=50)
    page_no = c3.number_input("页码", min_value=1, value=1, step=1)

result = query(ns.list_windows, actor, org_kind=level, search=search, offset=(page_no - 1) * PAGE_SIZE,
               limit=PAGE_SIZE)
if result is None:
    st.stop()
rows, total = result

table = []
for r in rows:
    line = {"机构": f"({r['code']}){r['name']}", "级别": r["kind_label"]}
    for kind, (start_col, end_col) in ns.WINDOW_COLUMNS.items():
        start, end = r["windows"][kind]
        line[start_col] = ns.fmt_dt(start)
        if end_col:
            line[end_col] = ns.fmt_dt(end)
    table.append(line)
st.subheader("操作时间")
if table:
    st.dataframe(pd.DataFrame(table), hide_index=True, width="stretch",
                 column_config={"机构": st.column_config.Column(pinned=True)})
    st.caption(f"共 {total} 个机构" + (f"，第 {page_no} 页（每页 {PAGE_SIZE} 个）" if total > PAGE_SIZE else ""))
else:
    st.info("没有符合条件的机构。")

with st.expander("各时间区间对应的模块", expanded=is_site):
    st.table(pd.DataFrame({"时间区间": list(WINDOW_KINDS.values()), "模块": list(WINDOW_MODULES.values())}))
    st.caption("考点操作时间是控制考点管理员操作其对应模块的，由上级机构设置；如果未设置或不在对应时间内，考点对对应模块"
               "只能查询查看，不能进行增、删、改等操作。考点操作时间只控制考点管理员操作，不控制考生操作；考生网上报名时间"
               "要在考生网上报名最早时间和考生网上报名最晚时间范围内。")

if is_site:
    st.caption("考点用户对本页面只有查看功能。")
    st.stop()

st.subheader("设置下级机构的操作时间")
st.caption("下级需要在上级操作时间已设置的前提下才可以设置，且须在直接上级机构的对应时间范围内。可同时选择多个机构批量设置。")
targets = query(ns.window_targets, actor, org_kind=level) or []
labels = dict(targets)
readonly = not actor.term_is_current
with st.form("set_window"):
    chosen = st.multiselect("设置机构", list(labels), format_func=labels.get, placeholder="选择一个或多个机构",
                            disabled=readonly)
    kind = st.selectbox("时间区间", list(WINDOW_KINDS), format_func=WINDOW_KINDS.get, disabled=readonly)
    c1, c2 = st.columns(2)
    start = c1.datetime_input("开始时间", value=None, step=60, format="YYYY-MM-DD", disabled=readonly)
    end = c2.datetime_input("结束时间", value=None, step=60, format="YYYY-MM-DD", disabled=readonly,
                            help="“准考证打印开始时间”只有开始时间，无需填写结束时间。")
    b1, b2 = st.columns([1, 5])
    save = b1.form_submit_button("保存", type="primary", disabled=readonly)
    clear = b2.form_submit_button("清除所选机构的该项时间", disabled=readonly)

if save:
    n = run_service(ns.set_windows, actor, chosen, kind, start, None if kind in START_ONLY_WINDOWS else end)
    if n is not None:
        flash(FLASH, f"已设置 {n} 个机构的{WINDOW_KINDS[kind]}。")
if clear:
    n = run_service(ns.clear_windows, actor, chosen, kind)
    if n is not None:
        flash(FLASH, f"已清除 {n} 个机构的{WINDOW_KINDS[kind]}。")
