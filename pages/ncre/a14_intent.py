"""意向考试相关设置 (001 §14): per exam day, how many candidates may choose it (when the province allows)."""
import pandas as pd
import streamlit as st

from core.services import ncre_setup as ns
from core.ui.ncre import site_setting_head
from core.ui.widgets import flash, query, run_service

FLASH = "ncre_a14_flash"

actor, site_id, ctx, editable = site_setting_head("意向考试相关设置", FLASH)

info = query(ns.get_intent, actor, site_id)
if info is None:
    st.stop()
row = {"考点代码": info["code"], "考点名称": info["name"], "允许考生选择意向考试日期": "是" if info["allow_intent_date"] else "否"}
for d in info["days"]:
    q = info["quotas"][d]
    row[f"{d:%Y-%m-%d}"] = "未设置" if q is None else str(q)
st.dataframe(pd.DataFrame([row]), hide_index=True, width="stretch")

total = info["total_capacity"]
c1, c2, c3 = st.columns(3)
c1.metric("总科次（总容量）", total if total is not None else "未设置")
c2.metric("每日最大设置人数", total // 2 if total else "—")
c3.metric("已设置人数之和", sum(v for v in info["quotas"].values() if v) if info["quotas"] else 0)

if not info["allow_intent_date"]:
    st.info("本考点未启用“允许考生选择意向考试日期”（由省管理员在《考点报名综合设置》中设置），无需设置意向考试人数。")
elif ctx.can_edit:
    if not info["days"]:
        st.warning("本考点没有考试日期，请先在《考点开考科目设置》中添加开考科目。")
    else:
        st.subheader("设置指定考试日可接收的意愿考生人数")
        with st.form("intent"):
            cols = st.columns(min(len(info["days"]), 4))
            quotas = {}
            for i, d in enumerate(info["days"]):
                quotas[d] = cols[i % len(cols)].number_input(f"{d:%Y-%m-%d}", min_value=0, value=info["quotas"][d],
                                                             step=1, disabled=not editable)
            save = st.form_submit_button("保存", type="primary", disabled=not editable)
        if save:
            if run_service(ns.save_intent_quotas, actor, site_id, quotas) is not None:
                flash(FLASH, "意向考试人数已保存。")

with st.expander("说明", expanded=bool(info["allow_intent_date"])):
    st.markdown(
        "考点管理员设置指定考试日可接收的意愿考生人数：\n"
        "1. 人数为必填项，最小值为：1。\n"
        "2. 考点每日最大设置人数为：总科次（总容量）的一半。\n"
        "3. 每天设置人数之和不能大于总科次（总容量）。\n\n"
        "注：\n"
        "1. 本功能开通后，跨考点报名的考生，在编排考场时，协调难度增大，因此系统全面取消跨考点报名功能，"
        "不允许考生跨考点报考（考生个人注册不能跨考点，集体报名不能跨考点）。\n"
        "2. 允许考生选择意向考试日期的考点，只允许个人网报考生在前台选择，不允许集体报名考生选择；考生只可以在网上报名期间"
        "选择意向考试日期；考生可以不选择意向考试日期，服从随机分配的考试时间。")
