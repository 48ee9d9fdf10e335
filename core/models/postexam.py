"""NCRE after the exam (001 §38–45, §52): 违规, 成绩, 证书直邮, 分账账户.

Every row hangs off one 报考 (`registration`) of a site in a 考次, so the org scope is the site and
`registration_id` is unique: one violation, one score, one mailing address per 报考.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, TimestampMixin

# 违纪类型 (§38): the four categories NCRE counts (成绩统计 §44 columns) ...
VIOLATION_KINDS: tuple[str, ...] = ("缺考", "违纪", "作弊", "其他违规")
# ... and the finer codes: code -> (name, category). The general code of a category has the category's name.
VIOLATION_CODES: dict[str, tuple[str, str]] = {
    "01": ("缺考", "缺考"),
    "11": ("违纪", "违纪"),
    "12": ("破坏考场秩序", "违纪"),
    "21": ("作弊", "作弊"),
    "22": ("夹带", "作弊"),
    "23": ("抄袭", "作弊"),
    "24": ("传抄", "作弊"),
    "25": ("替考", "作弊"),
    "26": ("换卷", "作弊"),
    "27": ("雷同", "作弊"),
    "99": ("其他", "其他违规"),
}
# 成绩等级 (§44): (label, lowest score, highest score) — a score is an integer 0..100.
SCORE_BANDS: tuple[tuple[str, int, int], ...] = (
    ("优秀", 90, 100), ("良好", 80, 89), ("及格", 60, 79), ("不及格", 0, 59))
PASS_SCORE = 60


class Violation(TimestampMixin, Base):
    """违规信息 (§38): one per 报考. `code` is a VIOLATION_CODES key, `kind` its category (kept for counting)."""

    __tablename__ = "violation"
    id: Mapped[int] = mapped_column(primary_key=True)
    term_id: Mapped[int] = mapped_column(ForeignKey("exam_term.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("org.id"), index=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.id", ondelete="CASCADE"), unique=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"))
    ticket_no: Mapped[str] = mapped_column(String(30))
    kind: Mapped[str] = mapped_column(String(10))
    code: Mapped[str] = mapped_column(String(4))
    remark: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(10), default="manual")  # manual / import / score (§40 check off)
    created_by: Mapped[int | None] = mapped_column(Integer)


class Score(TimestampMixin, Base):
    """成绩 (§40/§42): one per 报考, from the score CSV. `score` is None for 缺考 and for rows without a
    score; `flag` is the score file's 违规标记 (a VIOLATION_KINDS value or '')."""

    __tablename__ = "score"
    id: Mapped[int] = mapped_column(primary_key=True)
    term_id: Mapped[int] = mapped_column(ForeignKey("exam_term.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("org.id"), index=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.id", ondelete="CASCADE"), unique=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"))
    ticket_no: Mapped[str] = mapped_column(String(30))
    score: Mapped[int | None] = mapped_column(Integer)
    flag: Mapped[str] = mapped_column(String(10), default="", server_default="")
    cert_no: Mapped[str | None] = mapped_column(String(30))  # 证书编号 (passed only)
    imported_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())


class CertMailing(TimestampMixin, Base):
    """证书直邮信息 (§41): where the certificate of a 报考 is posted."""

    __tablename__ = "cert_mailing"
    id: Mapped[int] = mapped_column(primary_key=True)
    term_id: Mapped[int] = mapped_column(ForeignKey("exam_term.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("org.id"), index=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.id", ondelete="CASCADE"), unique=True)
    ticket_no: Mapped[str] = mapped_column(String(30))
    recipient: Mapped[str] = mapped_column(String(50))
    phone: Mapped[str] = mapped_column(String(30))
    address: Mapped[str] = mapped_column(String(200))
    postcode: Mapped[str | None] = mapped_column(String(10))


class SettlementAccount(TimestampMixin, Base):
    """分账账户 (§45): the site's bank account for passing on the exam fees, per 考次."""

    __tablename__ = "settlement_account"
    id: Mapped[int] = mapped_column(primary_key=True)
    term_id: Mapped[int] = mapped_column(ForeignKey("exam_term.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("org.id"), index=True)
    bank_name: Mapped[str] = mapped_column(String(100))  # 开户行
    bank_code: Mapped[str] = mapped_column(String(20))  # 银行行号 (12 digits)
    account_name: Mapped[str] = mapped_column(String(100))  # 账户名称
    account_no: Mapped[str] = mapped_column(String(40))  # 账号
    account_type: Mapped[str] = mapped_column(String(30))  # 账号类型
    remark: Mapped[str | None] = mapped_column(String(200))
