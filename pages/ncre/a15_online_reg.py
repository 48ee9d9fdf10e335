"""考生报名时间设置 (001 §15): 开启个人网报 and the 考生网上报名时间 within the site's 最早/最晚时间."""
import pandas as pd
import streamlit as st

from core.services import ncre_setup as ns
from core.ui.ncre import site_setting_head
from core.ui.widgets import flash, query, run_service

FLASH = "ncre_a15_flash"

actor, site_id, ctx, editable = site_setting_head("考生报名时间设置", FLASH)

info = query(ns.get_online_reg, actor, site_id)
if info is None:
    st.stop()
if not info["is_open"]:
    st.warning("本考点已在《考点报名综合设置》中设置为不开考，考生报名时间设置无效。")
span = f"{ns.fmt_dt(info['start'])} 至 {ns.fmt_dt(info['end'])}" if info["start"] else "未设置"
st.dataframe(pd.DataFrame([{"考点": ctx.label, "开启个人网报": "是" if info["enabled"] else "否", "考生网上报名时间": span,
                            "考生网上报名最早时间": ns.fmt_dt(info["earliest"]),
                            "考生网上报名最晚时间": ns.fmt_dt(info["latest"])}]),
             hide_index=True, width="stretch")
st.caption("考生网上报名最早时间和最晚时间由上级在《考点操作时间设置》中设置；考生网上报名时间需要在此范围内。")

if ctx.can_edit:
    st.subheader("修改")
    with st.form("online_reg"):
        enabled = st.checkbox("开启个人网报", value=info["enabled"], disabled=not editable,
                              help="不开启个人网报，则考生无法通过前台报名入口报考本考点；已集体报名导入的考生仍可登录查看、缴费、打印准考证。")
        c1, c2 = st.columns(2)
        start = c1.datetime_input("考生网上报名开始时间", value=info["start"], step=60, format="YYYY-MM-DD",
                                  disabled=not editable)
        end = c2.datetime_input("考生网上报名结束时间", value=info["end"], step=60, format="YYYY-MM-DD",
                                disabled=not editable)
        save = st.form_submit_button("保存", type="primary", disabled=not editable)
    if save:
        if run_service(ns.save_online_reg, actor, site_id, enabled, start, end) is not None:
            flash(FLASH, "考生报名时间设置已保存。")

with st.expander("说明"):
    st.markdown(
        "1. 考点用户可以查看本考点的考生网上报名设置信息，在本考点报名前设置时间内，可以修改。\n"
        "2. 如果在设置完考生报名时间后，在《考点报名综合设置》中将考点设置为不开考，则考生报名时间设置无效。\n"
        "3. 开启个人网报，必需要填写“考生网上报名时间”，“考生网上报名时间”是考点“考生网上报名最早时间和考生网上报名最晚时间”"
        "的子集。\n"
        "4. 不在报名前设置时间内（如报名期间），如果要更改考生报名时间设置，需要向上级申请延长本考点的“报名前设置截止时间”。")
