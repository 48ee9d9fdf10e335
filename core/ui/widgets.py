"""Small shared page helpers: run a service with its error shown, window banner, org picker."""
from __future__ import annotations

from typing import Any, Callable

import streamlit as st
from sqlalchemy import select

from core.auth import Actor, in_scope
from core.db import session_scope
from core.errors import DomainError
from core.models import Org
from core.services.base import window_state
from core.ui.session import engine


def run_service(fn: Callable, *args: Any, success: str | None = None, **kwargs: Any) -> Any:
    """Call `fn(session, *args, **kwargs)` in one unit of work. A DomainError is shown as-is
    (st.error) and nothing is written; returns the result, or None on error."""
    try:
        with session_scope(engine()) as s:
            result = fn(s, *args, **kwargs)
    except DomainError as e:
        st.error(e.message)
        return None
    if success:
        st.success(success)
    return result if result is not None else True


def deferred_download(label: str, fn: Callable, *args: Any, file_name: str, mime: str, key: str,
                      **kwargs: Any) -> None:
    """A download button whose bytes come from `fn(session, *args) -> (bytes, name)` only when clicked, in a
    committed unit of work (the service's audit row is kept); a DomainError becomes the file's text (the
    button cannot show an error box)."""
    def _read() -> bytes:
        try:
            with session_scope(engine()) as s:
                return fn(s, *args)[0]
        except DomainError as e:
            return f"下载失败：{e.message}".encode("utf-8")
    st.download_button(label, _read, file_name=file_name, mime=mime, on_click="ignore", key=key, **kwargs)


def query(fn: Callable, *args: Any, **kwargs: Any) -> Any:
    """Read-only service call (nothing it does is committed); DomainError shown, returns None."""
    try:
        with session_scope(engine(), readonly=True) as s:
            return fn(s, *args, **kwargs)
    except DomainError as e:
        st.error(e.message)
        return None


def flash(key: str, message: str) -> None:
    """Keep `message` for the next run and rerun: a save's confirmation survives the st.rerun()
    that refreshes the page. `show_flash(key)` shows it."""
    st.session_state[key] = message
    st.rerun()


def show_flash(key: str) -> None:
    """Show (once) the message a previous run left with `flash(key, ...)`."""
    if msg := st.session_state.pop(key, None):
        st.success(msg)


def window_banner(actor: Actor, kind: str) -> bool:
    """Show the operation-window state; returns True when changes are allowed now."""
    if not actor.term_is_current:
        st.info("当前查看的是历史考次：只能查询、查看和导出，不能修改。")
        return False
    with session_scope(engine(), readonly=True) as s:
        state = window_state(s, actor, kind)
    if not state.applies:
        st.caption(state.message)
        return True
    (st.success if state.is_open else st.warning)(state.message)
    return state.is_open


def org_picker(actor: Actor, kind: str = "site", label: str = "选择考点", key: str | None = None) -> int | None:
    """Pick an org of `kind` within the actor's scope; an actor of that kind gets its own org."""
    if actor.org_kind == kind:
        return actor.org_id
    with session_scope(engine()) as s:
        rows = s.execute(select(Org.id, Org.code, Org.name).where(Org.kind == kind, in_scope(actor, Org.id))
                         .order_by(Org.code)).all()
    if not rows:
        st.info("您的管理范围内没有此类机构。")
        return None
    opts = {r.id: f"({r.code}){r.name}" for r in rows}
    return st.selectbox(label, list(opts), format_func=opts.get, key=key or f"org_picker_{kind}")
