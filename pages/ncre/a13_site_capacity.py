"""考点容量设置 (001 §13): 总科次 and per-subject capacity, by the site within its 报名前设置时间."""
import pandas as pd
import streamlit as st

from core.services import ncre_setup as ns
from core.ui.ncre import site_setting_head
from core.ui.widgets import flash, query, run_service

FLASH = "ncre_a13_flash"

actor, site_id, ctx, editable = site_setting_head("考点容量设置", FLASH)

cap = query(ns.get_capacity, actor, site_id)
if cap is None:
    st.stop()
if not cap["is_open"]:
    st.warning("本考点已在《考点报名综合设置》中设置为不开考，设置的容量无效。")

m1, m2, m3, m4 = st.columns(4)
m1.metric("总科次", cap["total_capacity"] if cap["total_capacity"] is not None else "未设置")
m2.metric("已报考科次", cap["registered"])
m3.metric("开考科目数", sum(1 for r in cap["subjects"] if r["capacity"] != 0))
m4.metric("科目容量合计", cap["subject_capacity_sum"])

if cap["subjects"]:
    st.dataframe(pd.DataFrame([{"科目代码": r["code"], "科目名称": r["name"], "科目容量": ns.capacity_text(r["capacity"]),
                                "已报考": r["registered"]} for r in cap["subjects"]]),
                 hide_index=True, width="stretch")
else:
    st.info("本考点还没有开考科目，请先在《考点开考科目设置》中添加。")

st.subheader("修改人数")
with st.form("capacity"):
    total = st.number_input("总科次", min_value=0, value=cap["total_capacity"], step=1, disabled=not editable)
    st.caption(f"总科次即考点总容量：不能为空或 0，不能小于 {ns.TOTAL_CAPACITY_MIN}，最大值 {ns.CAPACITY_MAX}（即：不限）。")
    subject_caps = {}
    if cap["subjects"]:
        st.caption("科目考试人数：设置为 0 等同设置该科目不开考，最大值 99999（即：不限）。")
        cols = st.columns(3)
        for i, r in enumerate(cap["subjects"]):
            subject_caps[r["subject_id"]] = cols[i % 3].number_input(
                f"({r['code']}){r['name']}", min_value=0, value=r["capacity"], step=1, disabled=not editable,
                help=f"已报考 {r['registered']} 人")
    save = st.form_submit_button("保存", type="primary", disabled=not editable)
if save:
    if run_service(ns.save_capacity, actor, site_id, total, subject_caps) is not None:
        flash(FLASH, f"考点容量已保存：总科次 {total}。")

with st.expander("说明"):
    st.markdown(
        "1. 考点用户可以查看本考点的容量设置信息，在本考点报名前设置时间内时，可以修改。\n"
        "2. 如果在设置完考点容量后，在《考点报名综合设置》中将考点设置为不开考，则设置的容量无效。\n"
        "3. 总科次不能为空或 0；科目考试人数设置为 0 等同设置该科目不开考；两者最大值都为 99999（即：不限），"
        "请根据考点承载能力、往次报名规模以及科目可承载最大考生数量保守设置，尽量不要设置成不限。\n"
        "4. 已设置容量的科目不能在《考点开考科目设置》中删除，如需删除，需要先设置容量为 0 或者不开考。\n"
        "5. 调整的总科次和各科目容量数值不能小于调整时对应已报考的人数。\n"
        "6. 考点总容量（总科次）设置值不能小于 100。")
