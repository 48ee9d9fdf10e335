"""NCRE set-up (001 §9–19) and the minimal candidate/registration core later issues extend."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.models.base import Base, TimestampMixin

# §9: the nine operation-window kinds and the modules they control.
WINDOW_KINDS: dict[str, str] = {
    "pre_reg_setting": "报名前设置时间",
    "qualification": "报名资格管理时间",
    "registration": "报名管理时间",
    "online_reg": "考生网上报名时间",
    "arrangement": "编排时间",
    "ticket_print": "准考证打印开始时间",
    "violation": "缺考违纪管理时间",
    "pre_exam_download": "考前资料下载时间",
    "post_exam_download": "考后资料下载时间",
}
WINDOW_MODULES: dict[str, str] = {
    "pre_reg_setting": "《报名前设置》",
    "qualification": "《学籍库管理》",
    "registration": "《报名管理》",
    "online_reg": "《报名前设置》中的《考生报名时间设置》",
    "arrangement": "《编排管理》",
    "ticket_print": "前台和后台下载单个考生准考证",
    "violation": "《违规管理》",
    "pre_exam_download": "《机考数据管理》、考场签到表和考场座次表下载",
    "post_exam_download": "违规、成绩下载导出和证书领取确认单下载",
}
START_ONLY_WINDOWS = {"ticket_print"}


class Subject(Base):
    """NCRE subject (national list): code like '24', name, level, duration in minutes."""

    __tablename__ = "subject"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(10), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[int] = mapped_column(Integer)  # 一级..四级
    duration_min: Mapped[int] = mapped_column(Integer, default=120)
    is_computer: Mapped[bool] = mapped_column(Boolean, default=True)


class OpWindow(Base):
    """An operation window of one org in one 考次, set by the level above (§9)."""

    __tablename__ = "op_window"
    __table_args__ = (UniqueConstraint("org_id", "term_id", "kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id", ondelete="CASCADE"), index=True)
    term_id: Mapped[int] = mapped_column(ForeignKey("exam_term.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    start_at: Mapped[datetime | None] = mapped_column(DateTime)
    end_at: Mapped[datetime | None] = mapped_column(DateTime)


class SiteSetting(TimestampMixin, Base):
    """Per site and 考次: §10 综合设置, §13 总容量, §15 网报时间, §17 通告, §18 班级, §19 学籍报考."""

    __tablename__ = "site_setting"
    __table_args__ = (UniqueConstraint("site_id", "term_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("org.id", ondelete="CASCADE"), index=True)
    term_id: Mapped[int] = mapped_column(ForeignKey("exam_term.id", ondelete="CASCADE"), index=True)
    # §10
    is_open: Mapped[bool] = mapped_column(Boolean, default=True)
    group_registration: Mapped[bool] = mapped_column(Boolean, default=False)
    group_payment: Mapped[bool] = mapped_column(Boolean, default=False)
    review_required: Mapped[bool] = mapped_column(Boolean, default=False)
    class_required: Mapped[bool] = mapped_column(Boolean, default=False)
    max_subjects: Mapped[int] = mapped_column(Integer, default=3)
    allow_self_print: Mapped[bool] = mapped_column(Boolean, default=True)
    allow_intent_date: Mapped[bool] = mapped_column(Boolean, default=False)  # set by province
    # §13
    total_capacity: Mapped[int | None] = mapped_column(Integer)
    # §15
    online_reg_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    online_reg_start: Mapped[datetime | None] = mapped_column(DateTime)
    online_reg_end: Mapped[datetime | None] = mapped_column(DateTime)
    # §17
    notice: Mapped[str | None] = mapped_column(Text)
    # §18
    class_options: Mapped[str | None] = mapped_column(Text)
    # §19 (set by the province)
    registry_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    only_province_registry: Mapped[bool] = mapped_column(Boolean, default=False)
    only_site_registry: Mapped[bool] = mapped_column(Boolean, default=False)
    registry_allowed_sites: Mapped[str | None] = mapped_column(Text)  # 可报考考点 default; codes ';'-separated


class ProvinceSubject(Base):
    """省开考科目 with its exam time range; sites choose within it (§11)."""

    __tablename__ = "province_subject"
    __table_args__ = (UniqueConstraint("province_id", "term_id", "subject_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    province_id: Mapped[int] = mapped_column(ForeignKey("org.id", ondelete="CASCADE"), index=True)
    term_id: Mapped[int] = mapped_column(ForeignKey("exam_term.id", ondelete="CASCADE"), index=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"))
    exam_start: Mapped[datetime] = mapped_column(DateTime)
    exam_end: Mapped[datetime] = mapped_column(DateTime)
    subject: Mapped[Subject] = relationship()


class SiteSubject(Base):
    """考点开考科目 (§11) with capacity (§13: None = not set, 0 = not open, max 99999)."""

    __tablename__ = "site_subject"
    __table_args__ = (UniqueConstraint("site_id", "term_id", "subject_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("org.id", ondelete="CASCADE"), index=True)
    term_id: Mapped[int] = mapped_column(ForeignKey("exam_term.id", ondelete="CASCADE"), index=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"))
    exam_start: Mapped[datetime] = mapped_column(DateTime)
    exam_end: Mapped[datetime] = mapped_column(DateTime)
    capacity: Mapped[int | None] = mapped_column(Integer)
    subject: Mapped[Subject] = relationship()


class SiteFee(Base):
    """考点费用 (§12), set by the province: per subject 人次费 (yuan)."""

    __tablename__ = "site_fee"
    __table_args__ = (UniqueConstraint("site_id", "term_id", "subject_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("org.id", ondelete="CASCADE"), index=True)
    term_id: Mapped[int] = mapped_column(ForeignKey("exam_term.id", ondelete="CASCADE"), index=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"))
    fee: Mapped[float] = mapped_column(Numeric(10, 2))
    subject: Mapped[Subject] = relationship()


class IntentQuota(Base):
    """意向考试日期 quota of one exam day (§14)."""

    __tablename__ = "intent_quota"
    __table_args__ = (UniqueConstraint("site_id", "term_id", "exam_date"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("org.id", ondelete="CASCADE"), index=True)
    term_id: Mapped[int] = mapped_column(ForeignKey("exam_term.id", ondelete="CASCADE"), index=True)
    exam_date: Mapped[date] = mapped_column(Date)
    quota: Mapped[int] = mapped_column(Integer)


class ProvinceNotice(Base):
    """省报名通告 (§16)."""

    __tablename__ = "province_notice"
    __table_args__ = (UniqueConstraint("province_id", "term_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    province_id: Mapped[int] = mapped_column(ForeignKey("org.id", ondelete="CASCADE"), index=True)
    term_id: Mapped[int] = mapped_column(ForeignKey("exam_term.id", ondelete="CASCADE"), index=True)
    content: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime)


class Candidate(TimestampMixin, Base):
    """考生 identity across 考次. The ID number (证件号码) is the key (§20.5, §22.4)."""

    __tablename__ = "candidate"
    id: Mapped[int] = mapped_column(primary_key=True)
    id_type: Mapped[str] = mapped_column(String(20), default="居民身份证")
    id_number: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(50))
    gender: Mapped[str | None] = mapped_column(String(4))
    birth_date: Mapped[date | None] = mapped_column(Date)
    phone: Mapped[str | None] = mapped_column(String(30))
    email: Mapped[str | None] = mapped_column(String(100))


class CandidateAccount(TimestampMixin, Base):
    """通行证 (the candidate's front-end login, §22.9). `password_hash` None = the initial password
    (证件号码后 6 位) still applies; the candidate must change it at first login."""

    __tablename__ = "candidate_account"
    id: Mapped[int] = mapped_column(primary_key=True)
    passport_id: Mapped[str] = mapped_column(String(32), unique=True)
    email: Mapped[str] = mapped_column(String(100), unique=True)
    phone: Mapped[str | None] = mapped_column(String(30))
    name: Mapped[str | None] = mapped_column(String(50))
    id_number: Mapped[str | None] = mapped_column(String(40), index=True)  # who it was created for
    password_hash: Mapped[str | None] = mapped_column(String(100))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=True)


class RegistryRecord(TimestampMixin, Base):
    """学籍 (§20–21): independent of 考次; one per 证件号码, owned by the site that imported it last."""

    __tablename__ = "registry_record"
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("org.id"), index=True)
    id_type: Mapped[str] = mapped_column(String(20), default="居民身份证")
    id_number: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(50))
    gender: Mapped[str | None] = mapped_column(String(4))
    birth_date: Mapped[date | None] = mapped_column(Date)
    ethnicity: Mapped[str | None] = mapped_column(String(20))
    education: Mapped[str | None] = mapped_column(String(20))
    department: Mapped[str | None] = mapped_column(String(100))
    major: Mapped[str | None] = mapped_column(String(100))
    class_name: Mapped[str | None] = mapped_column(String(50))
    student_no: Mapped[str | None] = mapped_column(String(40))
    enrol_year: Mapped[int | None] = mapped_column(Integer)
    phone: Mapped[str | None] = mapped_column(String(30))
    remark: Mapped[str | None] = mapped_column(String(200))


class Enrollment(TimestampMixin, Base):
    """报名信息: one candidate in one 考次 at one site (§22.5 报名信息 = personal data + photo).
    Its own copy of the personal data: registry changes do not touch it (§21.5)."""

    __tablename__ = "enrollment"
    __table_args__ = (UniqueConstraint("term_id", "candidate_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    term_id: Mapped[int] = mapped_column(ForeignKey("exam_term.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("org.id"), index=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidate.id"), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("candidate_account.id"), index=True)
    channel: Mapped[str] = mapped_column(String(10), default="group")  # group 集体报名 / individual 考生注册
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    is_registry: Mapped[bool] = mapped_column(Boolean, default=False)  # 学籍考生 (§25.4)
    review_app_id: Mapped[int | None] = mapped_column(ForeignKey("application.id", ondelete="SET NULL"), index=True)
    photo_sha256: Mapped[str | None] = mapped_column(String(64))
    photo_rejected: Mapped[bool] = mapped_column(Boolean, default=False)  # 照片审核不通过: must re-upload
    id_type: Mapped[str] = mapped_column(String(20), default="居民身份证")
    id_number: Mapped[str] = mapped_column(String(40), index=True)
    name: Mapped[str] = mapped_column(String(50))
    gender: Mapped[str | None] = mapped_column(String(4))
    birth_date: Mapped[date | None] = mapped_column(Date)
    ethnicity: Mapped[str | None] = mapped_column(String(20))
    education: Mapped[str | None] = mapped_column(String(20))
    occupation: Mapped[str | None] = mapped_column(String(20))
    phone: Mapped[str | None] = mapped_column(String(30))
    email: Mapped[str | None] = mapped_column(String(100))
    department: Mapped[str | None] = mapped_column(String(100))
    major: Mapped[str | None] = mapped_column(String(100))
    class_name: Mapped[str | None] = mapped_column(String(50))
    student_no: Mapped[str | None] = mapped_column(String(40))
    postcode: Mapped[str | None] = mapped_column(String(10))
    address: Mapped[str | None] = mapped_column(String(200))
    extra: Mapped[str | None] = mapped_column(String(200))
    remark: Mapped[str | None] = mapped_column(String(200))
    intent_date: Mapped[date | None] = mapped_column(Date)


class PaymentOrder(Base):
    """A payment: a site's 集体缴费批次 (kind 'group', §25.6) or a candidate's own order ('individual').
    Paid through a PaymentProvider (core.services.payment); `provider_ref` is its order number."""

    __tablename__ = "payment_order"
    id: Mapped[int] = mapped_column(primary_key=True)
    term_id: Mapped[int] = mapped_column(ForeignKey("exam_term.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("org.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10), default="group")
    state: Mapped[str] = mapped_column(String(10), default="unpaid")  # unpaid / paid / deleted
    candidate_count: Mapped[int] = mapped_column(Integer, default=0)
    item_count: Mapped[int] = mapped_column(Integer, default=0)
    subject_codes: Mapped[str | None] = mapped_column(String(200))
    amount: Mapped[float] = mapped_column(Numeric(12, 2), default=0)
    provider: Mapped[str] = mapped_column(String(20), default="offline")
    provider_ref: Mapped[str | None] = mapped_column(String(64), unique=True)
    payer_ref: Mapped[str | None] = mapped_column(String(100))  # 线下缴费凭证号
    created_by: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())
    paid_at: Mapped[datetime | None] = mapped_column(DateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime)
    delete_reason: Mapped[str | None] = mapped_column(String(500))


class Registration(TimestampMixin, Base):
    """One 报考 (candidate × subject) at a site in a 考次 (报考信息, §22.5). Capacity counts these rows."""

    __tablename__ = "registration"
    __table_args__ = (UniqueConstraint("term_id", "candidate_id", "subject_id"),
                      Index("ix_registration_enrollment_subject", "enrollment_id", "subject_id"),
                      Index("ux_registration_ticket_no", "term_id", "ticket_no", unique=True))
    id: Mapped[int] = mapped_column(primary_key=True)
    term_id: Mapped[int] = mapped_column(ForeignKey("exam_term.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("org.id"), index=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidate.id"), index=True)
    enrollment_id: Mapped[int | None] = mapped_column(ForeignKey("enrollment.id", ondelete="CASCADE"), index=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"), index=True)
    channel: Mapped[str] = mapped_column(String(10), default="group")  # group / individual
    fee: Mapped[float] = mapped_column(Numeric(10, 2), default=0, server_default="0")
    paid: Mapped[bool] = mapped_column(Boolean, default=False)
    paid_at: Mapped[datetime | None] = mapped_column(DateTime)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("payment_order.id"), index=True)
    intent_date: Mapped[date | None] = mapped_column(Date)
    # 编排 (§31) and 准考证号 (§32)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("exam_session.id"), index=True)
    seat_no: Mapped[int | None] = mapped_column(Integer)
    ticket_no: Mapped[str | None] = mapped_column(String(30))


class CancelledRegistration(Base):
    """取消考试 (§25.9): the cancelled 报考 as it was, with the reason. View only (§27), never restored."""

    __tablename__ = "cancelled_registration"
    id: Mapped[int] = mapped_column(primary_key=True)
    term_id: Mapped[int] = mapped_column(ForeignKey("exam_term.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("org.id"), index=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidate.id"), index=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"))
    id_type: Mapped[str] = mapped_column(String(20))
    id_number: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(50))
    channel: Mapped[str] = mapped_column(String(10))
    fee: Mapped[float] = mapped_column(Numeric(10, 2), default=0)
    paid: Mapped[bool] = mapped_column(Boolean, default=False)
    paid_at: Mapped[datetime | None] = mapped_column(DateTime)
    registered_at: Mapped[datetime | None] = mapped_column(DateTime)
    reason: Mapped[str] = mapped_column(String(500))
    cancelled_by: Mapped[str | None] = mapped_column(String(100))
    cancelled_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())


class CandidatePhoto(Base):
    """The site's photo directory of a 考次 (§23): one photo per 证件号码. Kept when the 报名信息 is
    deleted or overwritten; 考生照片检测 (§24) re-links it."""

    __tablename__ = "candidate_photo"
    __table_args__ = (UniqueConstraint("term_id", "site_id", "id_number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    term_id: Mapped[int] = mapped_column(ForeignKey("exam_term.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("org.id"), index=True)
    id_number: Mapped[str] = mapped_column(String(40))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    uploaded_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())
