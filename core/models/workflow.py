"""The one application/review workflow: applications, their history, attachments."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base


class Application(Base):
    __tablename__ = "application"
    __table_args__ = (UniqueConstraint("kind", "subject_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)  # which flow (WorkflowSpec.kind)
    subject_key: Mapped[str] = mapped_column(String(120))  # what it is about; one open application per key
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id"), index=True)  # applicant's org (scope)
    reviewer_org_id: Mapped[int | None] = mapped_column(ForeignKey("org.id"), index=True)
    term_id: Mapped[int | None] = mapped_column(ForeignKey("exam_term.id"))
    state: Mapped[str] = mapped_column(String(30), index=True)
    data: Mapped[dict | None] = mapped_column(JSON)
    applicant_id: Mapped[int | None] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now(), onupdate=func.now())


class ApplicationEvent(Base):
    __tablename__ = "application_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(30))
    from_state: Mapped[str | None] = mapped_column(String(30))
    to_state: Mapped[str] = mapped_column(String(30))
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_name: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())


class Attachment(Base):
    """A stored upload (content-hash keyed in the file store)."""

    __tablename__ = "attachment"
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("application.id", ondelete="CASCADE"), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    mime: Mapped[str] = mapped_column(String(60))
    size: Mapped[int] = mapped_column(Integer)
    uploaded_by: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())
