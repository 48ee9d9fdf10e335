"""Organisations (hierarchy), exam terms (考次), users, server-side sessions, audit log."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.models.base import Base, TimestampMixin

# Org kinds. NCRE: center → province → city → site. Other manuals add kinds on the same tree.
ORG_KINDS = {
    "center": "考试中心",
    "province": "省",
    "city": "地市",
    "site": "考点",
    # later systems (000/002/003/004) hang their own kinds on the same hierarchy
    "institution": "院校",
    "learning_center": "学习中心",
    "school": "试点院校",
    "eval_org": "培训评价组织",
}


class Org(TimestampMixin, Base):
    """One node of the organisation tree. `path` is a materialised path '/1/4/9/' used by the scope predicate."""

    __tablename__ = "org"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org.id"), index=True)
    path: Mapped[str] = mapped_column(String(400), index=True, default="/")
    depth: Mapped[int] = mapped_column(Integer, default=0)
    reviewed: Mapped[bool] = mapped_column(Boolean, default=False)  # 信息审核: 已审核 → read-only
    address: Mapped[str | None] = mapped_column(String(200))
    contact: Mapped[str | None] = mapped_column(String(50))
    phone: Mapped[str | None] = mapped_column(String(30))
    email: Mapped[str | None] = mapped_column(String(100))
    postcode: Mapped[str | None] = mapped_column(String(10))
    remark: Mapped[str | None] = mapped_column(String(500))

    parent: Mapped[Org | None] = relationship(remote_side=[id])

    @property
    def kind_label(self) -> str:
        return ORG_KINDS.get(self.kind, self.kind)


class ExamTerm(TimestampMixin, Base):
    """考次. Exactly one is current; past ones are read-only (§4)."""

    __tablename__ = "exam_term"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(10), unique=True)  # e.g. 58, used in ticket numbers
    name: Mapped[str] = mapped_column(String(100))
    exam_start: Mapped[datetime | None] = mapped_column(DateTime)
    exam_end: Mapped[datetime | None] = mapped_column(DateTime)
    is_current: Mapped[bool] = mapped_column(Boolean, default=False)
    ticket_layout: Mapped[str | None] = mapped_column(String(200))  # 准考证号 layout (§32); None = NCRE's
    ticket_key: Mapped[str | None] = mapped_column(String(64))  # HMAC key of the tickets' verification codes


class OrgTerm(Base):
    """An org's presence in a 考次 (是否启用). Copied into a new 考次 with the org's settings (§7.5)."""

    __tablename__ = "org_term"
    __table_args__ = (UniqueConstraint("org_id", "term_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id", ondelete="CASCADE"), index=True)
    term_id: Mapped[int] = mapped_column(ForeignKey("exam_term.id", ondelete="CASCADE"), index=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class User(TimestampMixin, Base):
    __tablename__ = "app_user"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)  # login name (e-mail or passport ID)
    passport_id: Mapped[str] = mapped_column(String(40), unique=True)  # 通行证ID: binds one org
    name: Mapped[str] = mapped_column(String(50))
    email: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(30))
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id"), index=True)
    role: Mapped[str] = mapped_column(String(30))
    password_hash: Mapped[str] = mapped_column(String(100))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime)
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTime)

    org: Mapped[Org] = relationship()


class AuthSession(Base):
    """Server-side session record; the cookie only carries its random id. Revoked on logout,
    password change and when the user is disabled."""

    __tablename__ = "auth_session"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)


class AuditLog(Base):
    """Append-only (triggers in the migration refuse UPDATE and DELETE)."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now(), index=True)
    user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    username: Mapped[str | None] = mapped_column(String(100))
    org_id: Mapped[int | None] = mapped_column(Integer, index=True)  # the org the change concerns
    term_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(40), index=True)  # create/update/delete/export/login/...
    entity: Mapped[str] = mapped_column(String(60), index=True)
    entity_id: Mapped[str | None] = mapped_column(String(60))
    summary: Mapped[str | None] = mapped_column(Text)
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
