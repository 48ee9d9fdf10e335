"""Kaowu 考务: login, then the menu of the manuals (st.navigation), filtered by role."""
import streamlit as st

st.set_page_config(page_title="Kaowu 考务管理", page_icon=":material/school:", layout="wide")

from core import menu  # noqa: E402
from core.ui import session  # noqa: E402
from core.ui.login import login_page, sidebar  # noqa: E402

session.checked_cookie_key()  # refuses to start with a missing, default or short key
session.engine()  # schema + first administrator on an empty database

from core import admin, specs  # noqa: E402

specs.load_all()
problems = menu.check_menu() + admin.check_all()
if problems:
    st.error("菜单配置错误：" + "；".join(problems))
    st.stop()

actor = session.current_actor()
session.sync_cookie()
if actor is None:
    st.navigation([st.Page(login_page, title="登录", icon=":material/login:")], position="hidden").run()
elif st.session_state.get("kaowu_must_change"):
    st.navigation([st.Page("pages/account.py", title="修改密码", icon=":material/key:")], position="hidden").run()
else:
    sidebar(actor)
    nav = {section: [st.Page(p.file, title=p.title, icon=p.icon, url_path=p.url_path) for p in pages]
           for section, pages in menu.sections_for(actor.role).items()}
    st.navigation(nav, expanded=True).run()
