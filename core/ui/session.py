"""Login gate, server-side session, cookie (via streamlit-authenticator's cookie layer), term switch.

streamlit-authenticator's own login widget keeps every credential in memory and its cookie carries
only the username (a replayed cookie stays valid after logout). We keep its cookie manager and JWT
cookie, but the token carries only a random server-side session id that logout, password change
and disabling the user revoke; credentials, bcrypt and lockout live in the database (core.auth).
"""
from __future__ import annotations

from datetime import datetime, timedelta

import streamlit as st
from sqlalchemy.engine import Engine

from core import auth, config
from core.db import get_engine, session_scope
from core.services.setup import init_db

SID = "kaowu_sid"
TERM = "kaowu_term"


@st.cache_resource(show_spinner=False)
def _engine(url: str) -> Engine:
    eng = get_engine(url)
    init_db(eng)  # creates the schema and, on an empty database, the first administrator
    return eng


def engine() -> Engine:
    return _engine(config.database_url())


def checked_cookie_key() -> str:
    """Stop the app with a clear message when the cookie key is missing, default or short."""
    try:
        return config.cookie_key()
    except config.ConfigError as e:
        st.error(str(e))
        st.stop()


def _cookie_manager():
    # streamlit-authenticator's cookie model (extra-streamlit-components CookieManager underneath)
    from streamlit_authenticator.models.cookie_model import CookieModel

    if "kaowu_cookie_model" not in st.session_state:
        if "logout" not in st.session_state:
            st.session_state["logout"] = None
        st.session_state["kaowu_cookie_model"] = CookieModel(auth.COOKIE_NAME, checked_cookie_key(), 0.5)
    return st.session_state["kaowu_cookie_model"].cookie_manager


def _sid_from_cookie() -> str | None:
    try:
        token = st.context.cookies.get(auth.COOKIE_NAME)
    except Exception:  # no browser context (AppTest)
        token = None
    return auth.decode_token(token, checked_cookie_key())


def current_actor() -> auth.Actor | None:
    """The logged-in actor, or None. A revoked/expired session id is dropped."""
    sid = st.session_state.get(SID) or _sid_from_cookie()
    if not sid:
        return None
    with session_scope(engine()) as s:
        user = auth.session_user(s, sid)
        if user is None:
            st.session_state.pop(SID, None)
            return None
        st.session_state[SID] = sid
        st.session_state["kaowu_must_change"] = user.must_change_password
        return auth.actor_for(s, user, st.session_state.get(TERM))


def require_actor() -> auth.Actor:
    """Pages call this first; it stops the page when nobody is logged in."""
    actor = current_actor()
    if actor is None:
        st.warning("请先登录。")
        st.stop()
    return actor


def login(username: str, password: str) -> str | None:
    """Check credentials, create the server-side session, set the cookie. Returns an error message or None."""
    from core.errors import AuthError

    try:
        with session_scope(engine()) as s:
            try:
                user = auth.authenticate(s, username, password)
            except AuthError:
                s.commit()  # keep the failure counter / lockout
                raise
            rec = auth.create_session(s, user)
            sid, expires = rec.id, rec.expires_at
    except AuthError as e:
        return e.message
    st.session_state[SID] = sid
    st.session_state.pop(TERM, None)
    try:
        _cookie_manager().set(auth.COOKIE_NAME, auth.encode_token(sid, checked_cookie_key(), expires),
                              expires_at=expires, key="kaowu_set_cookie")
    except Exception:  # cookie component unavailable (tests); the session state still holds the login
        pass
    return None


def logout() -> None:
    sid = st.session_state.pop(SID, None)
    if sid:
        with session_scope(engine()) as s:
            auth.revoke_session(s, sid)
            from core.models import AuditLog
            s.add(AuditLog(action="logout", entity="用户", summary="退出登录"))
    try:
        _cookie_manager().delete(auth.COOKIE_NAME, key="kaowu_del_cookie")
    except Exception:
        pass
    for k in list(st.session_state.keys()):
        if k.startswith("kaowu_") and k != "kaowu_cookie_model":
            del st.session_state[k]


def cookie_expiry() -> datetime:
    return datetime.now() + timedelta(hours=config.LIMITS.session_hours)
