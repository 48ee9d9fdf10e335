"""考点报名综合设置 (001 §10): the site edits within its 报名前设置时间; 允许考生选择意向考试日期 is the province's."""
import pandas as pd
import streamlit as st

from core.services import ncre_setup as ns
from core.ui.ncre import site_setting_head
from core.ui.widgets import flash, query, run_service, window_banner

FLASH = "ncre_a10_flash"

actor, site_id, ctx, editable = site_setting_head("考点报名综合设置", FLASH)

vals = query(ns.get_site_general, actor, site_id)
if vals is None:
    st.stop()


def shown(key, v):
    if key == "max_subjects":
        return str(v)
    return "是" if v else "否"


st.subheader(ctx.label)
st.dataframe(pd.DataFrame([{"设置项": label, "设置值": shown(k, vals[k]), "说明": note}
                           for k, (label, note) in ns.GENERAL_FIELDS.items()]),
             hide_index=True, width="stretch")

if ctx.can_edit:
    st.subheader("修改")
    st.caption("不建议在报名时间内更改考点报名综合设置。")
    with st.form("general"):
        c1, c2 = st.columns(2)
        is_open = c1.checkbox("考点开考", value=vals["is_open"], disabled=not editable)
        group_registration = c1.checkbox("集体报名", value=vals["group_registration"], disabled=not editable)
        group_payment = c1.checkbox("集体缴费", value=vals["group_payment"], disabled=not editable)
        review_required = c1.checkbox("报名信息需要审核", value=vals["review_required"], disabled=not editable)
        class_required = c2.checkbox("班级必需", value=vals["class_required"], disabled=not editable)
        allow_self_print = c2.checkbox("允许考生个人打印准考证", value=vals["allow_self_print"], disabled=not editable)
        c2.checkbox("允许考生选择意向考试日期", value=vals["allow_intent_date"], disabled=True,
                    help="由省管理员设置是否启用。")
        max_subjects = c2.number_input("报考最大科次数量", min_value=ns.MAX_SUBJECTS_MIN, max_value=ns.MAX_SUBJECTS_MAX,
                                       value=vals["max_subjects"], step=1, disabled=not editable,
                                       help="单个考生在本考点最多报考科目数量，可设置值范围为 1~3。")
        save = st.form_submit_button("保存", type="primary", disabled=not editable)
    if save:
        ok = run_service(ns.save_site_general, actor, site_id, is_open=is_open, group_registration=group_registration,
                         group_payment=group_payment, review_required=review_required, class_required=class_required,
                         max_subjects=max_subjects, allow_self_print=allow_self_print)
        if ok is not None:
            flash(FLASH, "考点报名综合设置已保存。")

if ctx.can_edit_upper:
    st.subheader("允许考生选择意向考试日期")
    upper_open = window_banner(actor, "pre_reg_setting")
    with st.form("intent_switch"):
        allowed = st.checkbox("允许考生选择意向考试日期", value=vals["allow_intent_date"], disabled=not upper_open,
                              help="启用后，考点需要在《意向考试相关设置》中设置每个考试日的意向考生人数；"
                                   "本功能开通后不允许考生跨考点报考。")
        save_intent = st.form_submit_button("保存", type="primary", disabled=not upper_open)
    if save_intent:
        if run_service(ns.set_allow_intent_date, actor, site_id, allowed) is not None:
            flash(FLASH, f"已{'启用' if allowed else '停用'}{ctx.label}的允许考生选择意向考试日期。")
