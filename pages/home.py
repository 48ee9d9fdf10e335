"""首页: 欢迎信息 (001 §6)."""
import streamlit as st

from core.services.home import welcome_info
from core.ui.session import require_actor
from core.ui.widgets import query

actor = require_actor()
st.session_state.pop("kaowu_pw_changed", None)  # the 修改密码 page shows its message until here
st.title("欢迎")
st.caption("欢迎登录 Kaowu 考务管理系统")
info = query(welcome_info, actor) or {}
st.subheader("基本信息")
st.table({"项目": list(info), "内容": list(info.values())})
