"""The one review widget: an application's data, attachments, history and the actions the user may take."""
from __future__ import annotations

from collections.abc import Mapping

import streamlit as st
from sqlalchemy.engine import Engine

from core.auth import Actor
from core.db import session_scope
from core.errors import DomainError
from core.models import Application
from core.workflow import (
    WorkflowSpec, attachments, available_actions, get_application, history, read_attachment, transition,
)

_BUILTIN_ACTIONS = {"submit": "提交", "resubmit": "重新提交"}


def _act(spec: WorkflowSpec, actor: Actor, engine: Engine, app_id: int, action: str, version: int,
         reason_key: str, msg_key: str) -> None:
    """Button callback: runs with the version the user was looking at, so a concurrent review is caught."""
    t = spec.transition_for(action)
    try:
        with session_scope(engine) as s:
            transition(s, actor, spec, app_id, action, reason=st.session_state.get(reason_key),
                       expected_version=version)
    except DomainError as e:
        st.session_state[msg_key] = ("error", e.message)
        return
    st.session_state[msg_key] = ("success", f"已{t.title}。")
    st.session_state[reason_key] = ""


def review_panel(spec: WorkflowSpec, actor: Actor, engine: Engine, app_id: int,
                 labels: Mapping[str, str] | None = None, show_actions: bool = True) -> Application | None:
    """Render one application for review. `labels` maps data keys to Chinese labels (and orders them)."""
    prefix = f"rev_{spec.kind}_{app_id}_"
    msg_key, reason_key = f"{prefix}msg", f"{prefix}reason"
    try:
        with session_scope(engine) as s:
            app = get_application(s, actor, app_id, spec)
            events = history(s, actor, app_id)
            files = [read_attachment(s, actor, a.id) for a in attachments(s, actor, app_id)]
            actions = available_actions(actor, spec, app)
            s.expunge_all()
    except DomainError as e:
        st.error(e.message)
        return None

    msg = st.session_state.pop(msg_key, None)
    if msg:
        (st.success if msg[0] == "success" else st.error)(msg[1])

    st.markdown(f"**{spec.title}**　状态：**{spec.state_label(app.state)}**")
    data = app.data or {}
    keys = list(labels) if labels else list(data)
    rows = [{"项目": (labels or {}).get(k, k), "内容": "" if data.get(k) is None else str(data.get(k))}
            for k in keys if k in data]
    if rows:
        st.dataframe(rows, hide_index=True)

    if files:
        st.markdown("**附件**")
        for att, content in files:
            if att.mime.startswith("image/"):
                st.image(content, caption=att.filename, width=240)
            else:
                st.download_button(f"下载 {att.filename}", data=content, file_name=att.filename, mime=att.mime,
                                   key=f"{prefix}att_{att.id}")

    st.markdown("**处理记录**")
    names = {t.action: t.title for t in spec.transitions} | _BUILTIN_ACTIONS
    st.dataframe([{"时间": e.at.strftime("%Y-%m-%d %H:%M:%S") if e.at else "", "操作": names.get(e.action, e.action),
                   "原状态": spec.state_label(e.from_state), "新状态": spec.state_label(e.to_state),
                   "操作人": e.actor_name or "", "原因": e.reason or ""} for e in events], hide_index=True)

    if not show_actions or not actions:
        return app
    if any(t.needs_reason for t in actions):
        st.text_area("原因（驳回等操作必填）", key=reason_key, max_chars=500)
    cols = st.columns(len(actions))
    for col, t in zip(cols, actions):
        col.button(t.title, key=f"{prefix}{t.action}", type="primary" if not t.needs_reason else "secondary",
                   on_click=_act, args=(spec, actor, engine, app_id, t.action, app.version, reason_key, msg_key))
    return app
