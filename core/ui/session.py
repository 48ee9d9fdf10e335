"""Login gate, server-side session, cookie (via streamlit-authenticator's cookie layer), term switch.

streamlit-authenticator's own login widget keeps every credential in memory and its cookie carries
only the username (a replayed cookie stays valid after logout). We keep its cookie manager and JWT
cookie, but the token carries only a random server-side session id that logout, password change
and disabling the user revoke; credentials, bcrypt and lockout live in the database (core.auth).
"""
from __future__ import annotations

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
    """streamlit-authenticator's cookie model (extra-streamlit-components CookieManager underneath).
    Built once per run where a cookie must be written: the component renders in that run."""
    from streamlit_authenticator.models.cookie_model import CookieModel

    st.session_state.setdefault("logout", None)
    return CookieModel(auth.COOKIE_NAME, checked_cookie_key(), 0.5).cookie_manager


def sync_cookie() -> None:
    """Write or delete the login cookie decided in an earlier run. Home.py calls this in a run that
    is not followed by st.rerun(), so the cookie component's frontend gets to execute."""
    token = st.session_state.pop("kaowu_cookie_set", None)
    drop = st.session_state.pop("kaowu_cookie_drop", None)
    if not token and not drop:
        return
    cm = _cookie_manager()
    if token:
        cm.set(auth.COOKIE_NAME, token[0], expires_at=token[1], key="kaowu_set_cookie", same_site="strict")
    elif drop:
        cm.delete(auth.COOKIE_NAME, key="kaowu_del_cookie")


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
    with session_scope(engine(), readonly=True) as s:
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
    st.session_state["kaowu_cookie_set"] = (auth.encode_token(sid, checked_cookie_key(), expires), expires)
    return None


def logout() -> None:
    """Revoke the server-side session (so the cookie is dead even if replayed) and forget the login."""
    sid = st.session_state.pop(SID, None)
    if sid:
        with session_scope(engine()) as s:
            user = auth.session_user(s, sid)
            auth.revoke_session(s, sid)
            if user:
                auth.audit_event(s, user, "logout", "退出登录")
    for k in list(st.session_state.keys()):
        if k.startswith("kaowu_"):
            del st.session_state[k]
    st.session_state["kaowu_cookie_drop"] = True


