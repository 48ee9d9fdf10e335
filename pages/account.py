"""修改密码 (first login forces this page)."""
import streamlit as st

from core import auth
from core.ui import session
from core.ui.widgets import run_service

actor = session.require_actor()
st.title("修改密码")
if st.session_state.get("kaowu_pw_changed"):  # kept until the home page: a cookie rerun must not hide it
    st.success("密码已修改，其他设备上的登录已失效。")
    st.page_link("pages/home.py", label="进入首页", icon=":material/home:")
if st.session_state.get("kaowu_must_change"):
    st.warning("首次登录（或密码已被重置），请先修改密码后再使用系统。")
    if st.button("退出登录", icon=":material/logout:"):
        session.logout()
        st.rerun()
st.caption(auth.PASSWORD_RULE)
with st.form("change_pw", clear_on_submit=False):
    old = st.text_input("原密码", type="password", max_chars=200)
    new = st.text_input("新密码", type="password", max_chars=200)
    confirm = st.text_input("确认新密码", type="password", max_chars=200)
    ok = st.form_submit_button("保存", type="primary")
if ok:
    done = run_service(auth.change_password, actor.user_id, old, new, confirm, st.session_state.get(session.SID))
    if done:
        st.session_state["kaowu_must_change"] = False
        st.session_state["kaowu_pw_changed"] = True
        st.rerun()
