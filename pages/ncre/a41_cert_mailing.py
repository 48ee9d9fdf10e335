"""证书直邮信息导入 (001 §41): the site imports where each certificate is posted (CSV); rules in
core.imports.specs_scores."""
import streamlit as st

from core.imports import specs_scores as sp
from core.ui.import_panel import import_panel
from core.ui.session import engine, require_actor
from core.ui.widgets import org_picker

actor = require_actor()
st.title("证书直邮信息导入")
site_id = org_picker(actor)
if site_id is None:
    st.stop()
own = actor.role == "site_admin" and actor.org_id == site_id
if not own:
    st.info("证书直邮信息由考点管理员在本考点导入；上级机构可以下载模板、查看说明。")
elif not actor.term_is_current:
    st.info("当前查看的是历史考次：只能查询、查看和导出，不能导入。")
editable = own and actor.term_is_current

with st.expander("导入说明（文件格式）", expanded=False, icon=":material/info:"):
    st.markdown("\n".join(f"{i}. {n}" for i, n in enumerate(sp.MAILING_SPEC.notes, start=1)))
    st.dataframe([{"列名": c.label, "必填": "是" if c.required else "", "说明": c.hint} for c in sp.MAILING_COLUMNS],
                 hide_index=True)

import_panel(sp.MAILING_SPEC, actor, engine(), options_widgets=lambda _p: {"site_id": site_id},
             disabled=not editable)
