"""集体报名信息导入 (001 §22): the site's Excel of candidates, packed in a ZIP, checked then imported."""
import streamlit as st

from core.imports.specs_group import GROUP_SPEC
from core.ui.import_panel import import_panel
from core.ui.ncre import registration_head
from core.ui.session import engine
from core.ui.widgets import window_banner

actor, site_id, flags = registration_head("集体报名信息导入")
own = flags["own"]
if not flags["group_registration"]:
    st.warning("本考点未在《考点报名综合设置》中启用集体报名，此功能不使用。")
if not own:
    st.info("集体报名信息由考点管理员在本考点的报名管理时间内导入；上级机构可以下载模板、查看说明。")
editable = window_banner(actor, "registration") if own else False

with st.expander("导入说明", expanded=False):
    st.markdown(
        "1. 下载模板，只在“集体报名信息”工作表中填写；其他工作表是样例和码表，导入时不读取；“序号”列不导入。\n"
        "2. 证件号码是考生的唯一标识。已报名的考生须勾选“覆盖”才会覆盖修改；已锁定的须先在《考生管理》解锁。\n"
        "3. 报名信息只有未锁定的才可以覆盖修改；报考科目只有未支付的才可以覆盖修改，已支付的不会改变。\n"
        "4. 集体报名不能覆盖个人网报考生的报名信息，也不能为其增报科目。\n"
        "5. “电子邮件”必填：首次使用的邮箱会注册通行证（初始密码为证件号码后 6 位，首次登录须修改），"
        "已注册的邮箱沿用原密码；考生凭通行证登录前台查看报名信息、缴费、打印准考证。\n"
        "6. 将填写好的 Excel 打成 **.ZIP** 压缩包（不能打成 .RAR）后导入。先“校验”，无错误后再“确认导入”；"
        "有错误时整个文件都不导入，可下载错误报告修改后重新导入。")


def options(prefix: str) -> dict:
    overwrite = st.checkbox("覆盖", key=f"{prefix}overwrite", disabled=not editable,
                            help="勾选后，系统中已存在且未锁定的本考点集体报名考生将被覆盖修改。")
    return {"site_id": site_id, "overwrite": overwrite}


import_panel(GROUP_SPEC, actor, engine(), options_widgets=options, disabled=not editable)
