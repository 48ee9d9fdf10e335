"""考点班级选项设置 (001 §18): options separated by ';' or '；'; empty = not set."""
import pandas as pd
import streamlit as st

from core.services import ncre_setup as ns
from core.ui.ncre import site_setting_head
from core.ui.widgets import flash, query, run_service

FLASH = "ncre_a18_flash"

actor, site_id, ctx, editable = site_setting_head("考点班级选项设置", FLASH)

info = query(ns.get_class_options, actor, site_id)
if info is None:
    st.stop()
if not info["is_open"]:
    st.warning("本考点已在《考点报名综合设置》中设置为不开考，设置的考点班级选项无效。")
st.dataframe(pd.DataFrame([{"考点代码": info["code"], "考点名称": info["name"],
                            "班级选项": "; ".join(info["options"]) if info["options"] else "未设置",
                            "选项数": len(info["options"]), "班级必需": "是" if info["class_required"] else "否"}]),
             hide_index=True, width="stretch")

if ctx.can_edit:
    st.subheader("修改考点班级选项设置")
    with st.form("class_options"):
        text = st.text_area("班级选项", value="; ".join(info["options"]), height=120, disabled=not editable,
                            placeholder="例如：会计一班; 会计二班; 管理一班; 管理二班")
        st.caption("说明：① 各个选项之间用中文（“；”）或英文分号（“;”）分隔。② 为空为不设置。"
                   "③ 设置了选项，本考点报名的班级信息只能从选项中选取。")
        save = st.form_submit_button("保存", type="primary", disabled=not editable)
    if save:
        items = run_service(ns.save_class_options, actor, site_id, text)
        if items is not None:
            flash(FLASH, f"班级选项已保存（{len(items)} 个）。" if items else "班级选项已清空（不设置）。")
st.caption("不建议在报名期间清除或修改已有的班级选项设置。")
