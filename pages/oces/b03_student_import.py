"""学生与统考成绩导入 (000): a 学习中心 loads its students and their 统考英语 results (the import engine)."""
import streamlit as st

from core.imports.specs_oces import OCES_STUDENT_SPEC
from core.ui.import_panel import import_panel
from core.ui.session import engine, require_actor
from core.ui.widgets import org_picker

actor = require_actor()
st.title("学生与统考成绩导入")
st.caption("学习中心导入本中心服务的学生及其统考英语成绩；统考英语重考申请据此列出合格或免考的学生。")

centre_id = actor.org_id
if actor.role == "center_admin":
    centre_id = org_picker(actor, kind="learning_center", label="选择学习中心", key="oces_import_centre")
    if centre_id is None:
        st.stop()

with st.expander("导入说明", expanded=False, icon=":material/info:"):
    st.markdown("\n".join(f"{i}. {n}" for i, n in enumerate(
        [f"导入数据只能写到“{OCES_STUDENT_SPEC.sheet_name}”工作表中，其他是样例和码表，导入时不会读取。",
         *OCES_STUDENT_SPEC.notes], start=1)))

import_panel(OCES_STUDENT_SPEC, actor, engine(), options_widgets=lambda prefix: {"centre_id": centre_id})
