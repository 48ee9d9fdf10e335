"""考点报名通告设置 (001 §17): 当前通告 (read-only) and 新通告, which replaces it on 保存."""
import streamlit as st

from core.services import ncre_setup as ns
from core.ui.ncre import site_setting_head
from core.ui.widgets import flash, query, run_service

FLASH = "ncre_a17_flash"

actor, site_id, ctx, editable = site_setting_head("考点报名通告设置", FLASH)

current = query(ns.get_site_notice, actor, site_id)
st.text_area("当前通告", value=current or "", placeholder="未设置", height=150, disabled=True)

if ctx.can_edit:
    with st.form("site_notice", clear_on_submit=False):
        new = st.text_area("新通告", value="", height=150, max_chars=ns.NOTICE_MAX_CHARS, disabled=not editable,
                           help="录入最新通告，点击“保存”后将更新到“当前通告”；可以为空（保存空通告即清除当前通告）。",
                           key="a17_new")
        save = st.form_submit_button("保存", type="primary", disabled=not editable)
    if save:
        if run_service(ns.save_site_notice, actor, site_id, new) is not None:
            st.session_state.pop("a17_new", None)  # the 新通告 box starts empty again
            flash(FLASH, "考点报名通告已保存。" if new.strip() else "考点报名通告已清空。")
st.caption("考点通告的目的是告知本考点的考生在报名时需要注意的事项；已设置的考点通告将在所有报考本考点考生的"
           "报名报考信息采集页面和报名信息详细页面展示。")
