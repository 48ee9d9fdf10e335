"""成绩信息导入 (001 §40): the site imports the score CSV of the current 考次 with three checks
(违规不一致, 无准考证号信息数据, 姓名和证件号); rules in core.imports.specs_scores."""
import streamlit as st

from core.imports import specs_scores as sp
from core.services import scores
from core.ui.import_panel import import_panel
from core.ui.session import engine, require_actor
from core.ui.widgets import org_picker, query

actor = require_actor()
st.title("成绩信息导入")
site_id = org_picker(actor)
if site_id is None:
    st.stop()
info = query(scores.site_scores_info, actor, site_id)
if info is None:
    st.stop()
own = actor.role == "site_admin" and actor.org_id == site_id
if info["count"]:
    st.caption(f"{info['label']}：本考次已导入成绩 {info['count']} 条，最近导入时间 {info['imported_at']:%Y-%m-%d %H:%M:%S}。")
else:
    st.caption(f"{info['label']}：本考次尚未导入成绩。")
if not own:
    st.info("成绩信息由考点管理员在本考点导入；上级机构可以下载模板、查看说明，并在《成绩信息管理》《成绩统计》中查看。")
elif not actor.term_is_current:
    st.info("当前查看的是历史考次：只能查询、查看和导出，不能导入。")
editable = own and actor.term_is_current

with st.expander("导入说明（成绩文件格式）", expanded=False, icon=":material/info:"):
    st.markdown("\n".join(f"{i}. {n}" for i, n in enumerate(sp.SCORE_SPEC.notes, start=1)))
    st.dataframe([{"列名": c.label, "必填": "是" if c.required else "", "说明": c.hint} for c in sp.SCORE_COLUMNS],
                 hide_index=True)
    st.download_button("下载 CSV 模板", scores.score_csv_template(), file_name="成绩信息模板.csv", mime="text/csv",
                       icon=":material/download:", key="a40_csv_template")


def options(prefix: str) -> dict:
    cols = st.columns(3)
    check_violation = cols[0].checkbox(
        sp.CHECK_VIOLATION_LABEL, value=True, key=f"{prefix}check_violation", disabled=not editable,
        help="勾选：违规标记与《违规管理》中的违规信息不一致的行报错。不勾选：不校验，以成绩文件为准更新违规信息。")
    check_unknown = cols[1].checkbox(
        sp.CHECK_UNKNOWN_LABEL, value=True, key=f"{prefix}check_unknown", disabled=not editable,
        help="勾选：本考点本考次不存在的准考证号报错。不勾选：跳过这些行（导入结果中列出）。")
    check_identity = cols[2].checkbox(
        sp.CHECK_IDENTITY_LABEL, value=True, key=f"{prefix}check_identity", disabled=not editable,
        help="默认勾选：姓名或证件号码与系统报名信息不一致的行报错。不勾选：以成绩文件为准更新系统中的姓名和证件号码。")
    return {"site_id": site_id, "check_violation": check_violation, "check_unknown": check_unknown,
            "check_identity": check_identity}


result = import_panel(sp.SCORE_SPEC, actor, engine(), options_widgets=options, disabled=not editable)
mismatches = sp.identity_mismatches(result)
if mismatches and not result.committed:
    st.warning(f"检测到 {mismatches} 条姓名/证件号不一致；确认以成绩文件为准后，取消勾选“{sp.CHECK_IDENTITY_LABEL}”"
               f"再次导入。", icon=":material/warning:")
