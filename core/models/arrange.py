"""编排 and what follows it (001 §30–37, §46–51): rooms, sessions (批次), generated files, the candidates'
pre-generated tickets and their downloads, 机考模拟考试报告 and 机考系统异常文件.

A registration's place (session, seat) and 准考证号 live on `registration` (core.models.ncre)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.models.base import Base, TimestampMixin


class ExamRoom(TimestampMixin, Base):
    """考场 of a site in a 考次 (§30). `code` is the room number (e.g. "07")."""

    __tablename__ = "exam_room"
    __table_args__ = (UniqueConstraint("term_id", "site_id", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    term_id: Mapped[int] = mapped_column(ForeignKey("exam_term.id", ondelete="CASCADE"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("org.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(10))
    address: Mapped[str | None] = mapped_column(String(200))
    remark: Mapped[str | None] = mapped_column(String(200))
    sessions: Mapped[list[ExamSession]] = relationship(back_populates="room", order_by="ExamSession.seq",
                                                       passive_deletes=True)


class ExamSession(TimestampMixin, Base):
    """批次 of a room (§30): number `<room code>#<seq>` (e.g. 07#1), capacity, start and end."""

    __tablename__ = "exam_session"
    __table_args__ = (UniqueConstraint("room_id", "seq"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    term_id: Mapped[int] = mapped_column(ForeignKey("exam_term.id", ondelete="CASCADE"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("org.id", ondelete="CASCADE"), index=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("exam_room.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    capacity: Mapped[int] = mapped_column(Integer)
    start_at: Mapped[datetime] = mapped_column(DateTime)
    end_at: Mapped[datetime] = mapped_column(DateTime)
    room: Mapped[ExamRoom] = relationship(back_populates="sessions")

    @property
    def number(self) -> str:
        return f"{self.room.code}#{self.seq}"


class GeneratedFile(Base):
    """The last generated file of one kind for a site (generate-then-download, §33–36, §46–47, §50–51).
    `data_version` is the fingerprint of the site's 报名/编排 data when it was generated: a different
    fingerprint now means the data changed after generation."""

    __tablename__ = "generated_file"
    __table_args__ = (UniqueConstraint("term_id", "site_id", "kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    term_id: Mapped[int] = mapped_column(ForeignKey("exam_term.id", ondelete="CASCADE"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("org.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    filename: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    rows: Mapped[int] = mapped_column(Integer, default=0)
    options: Mapped[dict | None] = mapped_column(JSON)
    data_version: Mapped[str | None] = mapped_column(String(64))
    generated_by: Mapped[str | None] = mapped_column(String(100))
    generated_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())


class CandidateTicket(Base):
    """考生准考证预生成 (§36): one candidate's ticket PDF (all subjects) for the candidate to download."""

    __tablename__ = "candidate_ticket"
    __table_args__ = (UniqueConstraint("term_id", "enrollment_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    term_id: Mapped[int] = mapped_column(ForeignKey("exam_term.id", ondelete="CASCADE"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("org.id", ondelete="CASCADE"), index=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollment.id", ondelete="CASCADE"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    data_version: Mapped[str | None] = mapped_column(String(64))  # the candidate's own data fingerprint
    generated_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())


class TicketDownload(Base):
    """A candidate's download of the pre-generated ticket (§37 counts them)."""

    __tablename__ = "ticket_download"
    id: Mapped[int] = mapped_column(primary_key=True)
    term_id: Mapped[int] = mapped_column(ForeignKey("exam_term.id", ondelete="CASCADE"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("org.id", ondelete="CASCADE"), index=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollment.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())


class SimReport(Base):
    """机考模拟考试报告 (§48): an uploaded simulation data file and the report made from it.
    status: generating 生成报告中 / done 已生成 / failed 生成失败."""

    __tablename__ = "sim_report"
    id: Mapped[int] = mapped_column(primary_key=True)
    term_id: Mapped[int] = mapped_column(ForeignKey("exam_term.id", ondelete="CASCADE"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("org.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="generating")
    report_sha256: Mapped[str | None] = mapped_column(String(64))
    summary: Mapped[str | None] = mapped_column(Text)
    uploaded_by: Mapped[str | None] = mapped_column(String(100))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)


class AnomalyFile(Base):
    """机考系统异常文件 (§49): a ZIP the site uploads; status pending 未开始处理 / processing 正在处理 /
    done 处理完成, changed by the level above."""

    __tablename__ = "anomaly_file"
    id: Mapped[int] = mapped_column(primary_key=True)
    term_id: Mapped[int] = mapped_column(ForeignKey("exam_term.id", ondelete="CASCADE"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("org.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    remark: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    uploaded_by: Mapped[str | None] = mapped_column(String(100))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())
    status_by: Mapped[str | None] = mapped_column(String(100))
    status_at: Mapped[datetime | None] = mapped_column(DateTime)
