"""学籍数据导入 (001 §20): the site imports its 学籍 in its 报名资格管理时间; upper levels download the template."""
import streamlit as st

from core.imports import template_bytes
from core.imports.specs_registry import OVERWRITE_LABEL, REGISTRY_SPEC
from core.services import registry
from core.ui.import_panel import import_panel
from core.ui.session import engine, require_actor
from core.ui.widgets import query, window_banner

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

actor = require_actor()
st.title("学籍数据导入")
st.caption("学籍数据和考次无关，跨考次一直保留。考点用户在本考点报名资格管理时间内时，可以进行学籍数据的导入。")

if actor.org_kind != "site":
    st.info("学籍数据由考点管理员在本考点报名资格管理时间内导入，上级机构可以下载学籍模板，"
            "并在《学籍库信息管理》中查询查看和导出本辖区的学籍。")
    st.download_button("下载学籍模板", data=template_bytes(None, REGISTRY_SPEC), file_name="学籍模板.xlsx",
                       mime=XLSX, icon=":material/download:")
    st.stop()

site = query(registry.site_info, actor)
if site is None:
    st.stop()
if not site["registry_enabled"]:
    st.info("本考点未启用学籍库（见《学籍报考设置》）。如考点不启用学籍库，此功能不使用。")
writable = window_banner(actor, registry.WINDOW)


def options(prefix: str) -> dict:
    st.text_input("机构", value=site["label"], disabled=True, key=prefix + "org", help="机构默认为当前考点。")
    overwrite = st.checkbox(OVERWRITE_LABEL, key=prefix + "overwrite", disabled=not writable,
                            help="不勾选时，证件号码在本考点已有学籍则报错，所有数据导入失败；勾选则覆盖修改同证件号的学籍。")
    return {"site_id": actor.org_id, "overwrite": overwrite}


with st.expander("导入说明", expanded=False, icon=":material/info:"):
    st.markdown("\n".join(f"{i}. {n}" for i, n in enumerate(
        [f"导入数据只能写到“{REGISTRY_SPEC.sheet_name}”工作表中，其他是样例和码表，导入时不会读取；"
         "请参照模板的“样例”工作表制作，注意列名上的提示信息。", *REGISTRY_SPEC.notes], start=1)))

import_panel(REGISTRY_SPEC, actor, engine(), options_widgets=options, disabled=not writable)
