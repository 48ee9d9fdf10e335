"""The login page and the sidebar (who, which 考次, logout)."""
from __future__ import annotations

import streamlit as st
from sqlalchemy import select

from core.auth import Actor
from core.db import session_scope
from core.models import ExamTerm
from core.services.demo import DEMO_PASSWORD, demo_loaded
from core.ui import session


def login_page() -> None:
    st.title("Kaowu 考务管理系统")
    st.caption("全国计算机等级考试（NCRE）考务管理 · 统考英语重考申请 · 考生服务 · 1+X 证书")
    with st.form("login"):
        username = st.text_input("用户名（通行证ID）", max_chars=100)
        password = st.text_input("密码", type="password", max_chars=200)
        ok = st.form_submit_button("登录", type="primary")
    if ok:
        err = session.login(username, password)
        if err:
            st.error(err)
        else:
            st.rerun()
    with session_scope(session.engine(), readonly=True) as s:
        demo = demo_loaded(s)
    if demo:
        st.info(f"演示数据已载入。演示账号：center（考试中心）、prov11 / prov44（省）、city4401（地市）、"
                f"site110001 / site440101（考点）等；统考英语重考申请：centre01（学习中心）、inst01（院校审核员）；"
                f"密码均为 {DEMO_PASSWORD}。")


def sidebar(actor: Actor) -> None:
    with st.sidebar:
        st.markdown(f"**{actor.name}** · {actor.role_label}")
        st.caption(actor.org_name)
        with session_scope(session.engine(), readonly=True) as s:
            terms = s.execute(select(ExamTerm.id, ExamTerm.name, ExamTerm.is_current)
                              .order_by(ExamTerm.is_current.desc(), ExamTerm.id.desc())).all()
        if terms:
            opts = {t.id: t.name + ("（当前）" if t.is_current else "（历史）") for t in terms}
            ids = list(opts)
            cur = st.session_state.get(session.TERM, actor.term_id)
            chosen = st.selectbox("考次切换", ids, index=ids.index(cur) if cur in ids else 0,
                                  format_func=opts.get, key="kaowu_term_pick")
            if chosen != actor.term_id:
                st.session_state[session.TERM] = chosen
                st.rerun()
        if st.button("退出登录", icon=":material/logout:"):
            session.logout()
            st.rerun()
