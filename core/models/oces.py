"""OCES 学习中心平台 (manual 000): 统考英语重考申请.

The orgs are on the one tree (院校 = Org.kind "institution", 学习中心 = "learning_center"): a learning
centre serves students of several institutions, so a student row carries both. The application itself
is a `core.models.workflow.Application` (kind "oces_reexam"); these tables hold what it is about.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, TimestampMixin


class OcesBatch(TimestampMixin, Base):
    """申请批次 (批次代码): applications are made, changed and cancelled only inside [open_from, open_to]."""

    __tablename__ = "oces_batch"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    open_from: Mapped[datetime] = mapped_column(DateTime)
    open_to: Mapped[datetime] = mapped_column(DateTime)
    remark: Mapped[str | None] = mapped_column(String(200))


class OcesStudent(TimestampMixin, Base):
    """A student of an institution (院校), served by a learning centre (学习中心). 学号 is unique per 院校."""

    __tablename__ = "oces_student"
    __table_args__ = (UniqueConstraint("institution_id", "student_no"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    centre_id: Mapped[int] = mapped_column(ForeignKey("org.id"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("org.id"), index=True)
    student_no: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(50), index=True)
    gender: Mapped[str | None] = mapped_column(String(4))
    ethnicity: Mapped[str | None] = mapped_column(String(20))
    birth: Mapped[str | None] = mapped_column(String(10))  # 出生年月, e.g. 1985-12
    id_number: Mapped[str | None] = mapped_column(String(40), index=True)
    enrol_batch: Mapped[str] = mapped_column(String(10))  # 入学批次, e.g. 1609 (yymm)
    status_batch: Mapped[str | None] = mapped_column(String(60))  # 学籍批次
    level: Mapped[str] = mapped_column(String(20))  # 层次: 专升本 / 高起专 / 高起本
    major: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(30))  # 联系电话
    mobile: Mapped[str | None] = mapped_column(String(20))  # 手机


class OcesExamResult(TimestampMixin, Base):
    """统考成绩 of one subject (大学英语B …): status passed 合格 / exempt 免考 / failed 不合格."""

    __tablename__ = "oces_exam_result"
    __table_args__ = (UniqueConstraint("student_id", "subject"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("oces_student.id", ondelete="CASCADE"), index=True)
    subject: Mapped[str] = mapped_column(String(40))
    score: Mapped[str | None] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10), index=True)
    pass_batch: Mapped[str | None] = mapped_column(String(6))  # 合格批次 yyyymm, when known


class OcesGrant(Base):
    """A teacher account of a learning centre holding the 统考英语重考申请 permission (given by its admin)."""

    __tablename__ = "oces_grant"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), unique=True)
    granted_by: Mapped[int | None] = mapped_column(Integer)
    granted_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())
