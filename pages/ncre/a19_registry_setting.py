"""学籍报考设置 (001 §19): set by the province; sites view."""
import pandas as pd
import streamlit as st

from core.services import ncre_setup as ns
from core.ui.ncre import site_setting_head
from core.ui.widgets import flash, query, run_service

FLASH = "ncre_a19_flash"

actor, site_id, ctx, editable = site_setting_head(
    "学籍报考设置", FLASH,
    upper_note="考点学籍报考的设置权限在省里，考点只能查看；如不正确，请向省里申请修改本考点学籍报考设置信息。")

info = query(ns.get_registry_setting, actor, site_id)
if info is None:
    st.stop()


def yn(v):
    return "启用" if v else "不启用"


st.dataframe(pd.DataFrame([{"考点代码": info["code"], "考点名称": info["name"], "启用学籍库": yn(info["registry_enabled"]),
                            "仅接受本省学籍库考生报考": yn(info["only_province_registry"]),
                            "仅接受本考点学籍库考生报考": yn(info["only_site_registry"]),
                            "可报考考点": info["allowed_sites_text"]}]),
             hide_index=True, width="stretch")
if not info["registry_enabled"]:
    st.caption("本考点不启用学籍库：在本校学籍库的考生等同于不在学籍库，可以自由报名；两个“仅接受”选项不生效。")

if ctx.can_edit_upper:
    st.subheader("修改")
    choices = dict(query(ns.province_sites, actor, site_id) or [])
    with st.form("registry"):
        enabled = st.checkbox("启用学籍库", value=info["registry_enabled"], disabled=not editable)
        only_prov = st.checkbox("仅接受本省学籍库考生报考", value=info["only_province_registry"], disabled=not editable)
        only_site = st.checkbox("仅接受本考点学籍库考生报考", value=info["only_site_registry"], disabled=not editable)
        allowed = st.multiselect("可报考考点", list(choices), default=[c for c in info["allowed_sites"] if c in choices],
                                 format_func=choices.get, disabled=not editable, placeholder="不限",
                                 help="本考点学籍考生可以报考的考点，只可以在本省内选择；默认为本考点，为空即为不限制。")
        save = st.form_submit_button("保存", type="primary", disabled=not editable)
    if save:
        ok = run_service(ns.save_registry_setting, actor, site_id, registry_enabled=enabled,
                         only_province_registry=only_prov, only_site_registry=only_site, allowed_sites=allowed)
        if ok is not None:
            flash(FLASH, "学籍报考设置已保存。")

with st.expander("学籍报考规则（启用学籍库前提下）"):
    st.markdown(
        "1. “仅接受本省学籍库考生报考”启用、“仅接受本考点学籍库考生报考”不启用：社会考生无法报考本考点，"
        "“可报考考点”设置为不限的或包含本考点的学籍考生可以报考本考点。\n"
        "2. 两项都启用：只有本考点学籍库考生可报考本考点，社会考生和其他考点学籍考生都不可以报考本考点。\n"
        "3. 两项都不启用：社会考生可以报考本考点，“可报考考点”设置为不限的或包含本考点的学籍考生可以报考本考点。\n"
        "4. “仅接受本省学籍库考生报考”不启用、“仅接受本考点学籍库考生报考”启用：只有本考点学籍库考生可报考本考点。\n\n"
        "学籍库考生在省内报考受本考点学籍报考设置限制；在外省可以在遵守通用规则的前提下自由报考，"
        "不受本考点学籍报考设置限制。")
