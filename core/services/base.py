"""What every service uses: the audit log, the 考次 rule (§4) and operation windows (§9)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from core.auth import Actor
from core.errors import ReadOnlyTerm, WindowClosed
from core.models import AuditLog, ExamTerm, OpWindow
from core.models.ncre import START_ONLY_WINDOWS, WINDOW_KINDS, WINDOW_MODULES


def jsonable(v: Any) -> Any:
    if isinstance(v, (datetime, date)):
        return v.isoformat(sep=" ") if isinstance(v, datetime) else v.isoformat()
    if isinstance(v, Decimal):
        return float(v)
    return v


def row_dict(obj: Any, exclude: tuple[str, ...] = ("password_hash",)) -> dict:
    """Column values of an ORM object, JSON-ready (for audit before/after)."""
    return {c.key: jsonable(getattr(obj, c.key)) for c in inspect(obj).mapper.column_attrs if c.key not in exclude}


def audit(s: Session, actor: Actor | None, action: str, entity: str, entity_id: Any = None, *,
          org_id: int | None = None, before: dict | None = None, after: dict | None = None,
          summary: str | None = None) -> None:
    """Append one audit row in the caller's transaction (so it commits or rolls back with the change)."""
    s.info["audit_rows"] = audit_rows(s) + 1
    s.add(AuditLog(user_id=actor.user_id if actor else None, username=actor.username if actor else "system",
                   org_id=org_id if org_id is not None else (actor.org_id if actor else None),
                   term_id=actor.term_id if actor else None, action=action, entity=entity,
                   entity_id=None if entity_id is None else str(entity_id), summary=summary,
                   before=before, after=after))


def audit_rows(s: Session) -> int:
    """How many audit rows this unit of work has written so far (see `audit`)."""
    return s.info.get("audit_rows", 0)


def ensure_audited(s: Session, actor: Actor, since: int, action: str, entity: str, ids: Any = None,
                   summary: str | None = None, after: dict | None = None) -> None:
    """Write a generic audit row unless the work since `since` (an `audit_rows` count) wrote one:
    generic machinery (the list kit) calls it after a spec's callback, so no write goes unaudited."""
    if audit_rows(s) == since:
        audit(s, actor, action, entity, ids, summary=summary, after=after)


def current_term(s: Session) -> ExamTerm | None:
    return s.scalar(select(ExamTerm).where(ExamTerm.is_current.is_(True)))


def require_writable_term(actor: Actor) -> None:
    """§4: a past 考次 can be viewed and exported, never changed."""
    if actor.term_id is None:
        raise ReadOnlyTerm("系统尚未设置当前考次，请考试中心管理员先创建考次。")
    if not actor.term_is_current:
        raise ReadOnlyTerm("当前查看的是历史考次，只能查询、查看和导出，不能修改。")


@dataclass(frozen=True)
class WindowState:
    kind: str
    label: str
    start: datetime | None
    end: datetime | None
    is_open: bool
    applies: bool  # False: the actor is not restricted by windows (考试中心)

    @property
    def text(self) -> str:
        fmt = "%Y-%m-%d %H:%M"
        if self.start is None:
            span = "未设置"
        elif self.kind in START_ONLY_WINDOWS:
            span = f"{self.start:{fmt}} 开始"
        else:
            span = f"{self.start:{fmt}} 至 {self.end:{fmt}}" if self.end else f"{self.start:{fmt}} 起"
        return f"{self.label}：{span}"

    @property
    def message(self) -> str:
        if not self.applies:
            return f"{self.label}：考试中心不受操作时间限制。"
        span = self.text.split("：", 1)[1]
        if self.is_open:
            return f"当前在{self.label}（{span}）内，可以操作。"
        return (f"不在{self.label}（{span}）内，{WINDOW_MODULES[self.kind]}只能查询查看，"
                f"不能增删改。如需操作，请向上级管理员申请延长。")


def window_state(s: Session, actor: Actor, kind: str, now: datetime | None = None) -> WindowState:
    """The state of the actor's own org's window of this kind in the 考次 being viewed."""
    label = WINDOW_KINDS[kind]
    if actor.org_kind == "center":
        return WindowState(kind, label, None, None, True, False)
    now = now or datetime.now()
    w = s.scalar(select(OpWindow).where(OpWindow.org_id == actor.org_id, OpWindow.term_id == actor.term_id,
                                        OpWindow.kind == kind))
    start, end = (w.start_at, w.end_at) if w else (None, None)
    is_open = bool(start and start <= now and (kind in START_ONLY_WINDOWS or (end and now <= end)))
    return WindowState(kind, label, start, end, is_open, True)


def require_window(s: Session, actor: Actor, kind: str, now: datetime | None = None) -> None:
    """Refuse a change outside the actor's operation window (and in a past 考次)."""
    require_writable_term(actor)
    st = window_state(s, actor, kind, now)
    if not st.is_open:
        raise WindowClosed(st.message)
