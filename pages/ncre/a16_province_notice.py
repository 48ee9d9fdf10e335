"""省报名通告设置 (001 §16): the province (and 考试中心) edits; cities and sites view."""
import streamlit as st

from core.services import ncre_setup as ns
from core.ui.session import require_actor
from core.ui.widgets import flash, query, run_service, show_flash, window_banner

FLASH = "ncre_a16_flash"

actor = require_actor()
st.title("省报名通告设置")
show_flash(FLASH)

provinces = dict(query(ns.notice_provinces, actor) or [])
if not provinces:
    st.info("您的管理范围内没有省级机构。")
    st.stop()
if len(provinces) > 1:
    province_id = st.selectbox("选择省份", list(provinces), format_func=provinces.get)
else:
    province_id = next(iter(provinces))

can_edit = ns.can_edit_upper_settings(actor)
editable = window_banner(actor, "pre_reg_setting") if can_edit else False
if not can_edit:
    st.info("省报名通告的设置权限在省里，您可以查看本省报名通告，不可以修改。")

notice = query(ns.get_province_notice, actor, province_id)
if notice is None:
    st.stop()
st.subheader(f"{notice['province']}报名通告")
with st.container(border=True):
    if notice["content"]:
        st.text(notice["content"])
    else:
        st.caption("未设置")
if notice["updated_at"]:
    st.caption(f"最后修改时间：{ns.fmt_dt(notice['updated_at'])}")

if can_edit:
    with st.form("province_notice"):
        content = st.text_area("省报名通告", value=notice["content"] or "", height=200, max_chars=ns.NOTICE_MAX_CHARS,
                               disabled=not editable, help="告知本省考生在报名时需要注意的事项；可以为空。")
        save = st.form_submit_button("保存", type="primary", disabled=not editable)
    if save:
        if run_service(ns.save_province_notice, actor, province_id, content) is not None:
            flash(FLASH, "省报名通告已保存。")
st.caption("已设置的省通告将在所有报考本省考生的报名报考信息采集页面和报名信息详细页面展示。")
