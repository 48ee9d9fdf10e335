"""考生管理 (001 §25) and 报名信息批量审核 (§26): the scoped query over 报名信息, the detail view, and the
actions on selected candidates or on all query results.

Every query goes through `_base(actor, q)` (in_scope on Enrollment.site_id + the 考次 being viewed).
ID numbers and phones leave this module masked unless a caller asks for a single record's detail.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, delete, func, or_, select, update
from sqlalchemy.orm import Session

from core.auth import Actor, in_scope
from core.codes import CHANNELS
from core.config import LIMITS
from core.errors import DomainError, NotFound, PermissionDenied, ValidationError
from core.exports.tabular import write_xlsx
from core.masking import id_last4, mask_email, mask_id, mask_phone
from core.models import (
    Application, CancelledRegistration, CandidateAccount, Enrollment, Org, PaymentOrder, Registration, SiteSetting,
    Subject,
)
from core.services import registration as reg
from core.services.base import audit, require_writable_term
from core.services.ncre_setup import org_label
from core.workflow import transition_many

NONKEY_MAX = 3000  # §25.8
NONKEY_FIELDS = {"department": "院系", "major": "专业", "class_name": "班级", "student_no": "学号", "postcode": "邮编",
                 "address": "地址", "email": "电子邮箱", "extra": "额外信息", "remark": "备注"}
REASON_MAX = 500


@dataclass
class CandidateQuery:
    """The 考生管理 query (basic + the expandable 更多查询条件)."""

    site_id: int | None = None
    id_number: str = ""
    name: str = ""
    channel: str = ""  # group / individual
    pay: str = ""  # all / part / none (PAY_STATES)
    locked: bool | None = None
    review: str = ""  # pending / approved / rejected / none
    photo: bool | None = None
    subject_id: int | None = None
    kind: str = ""  # registry 学籍考生 / social 社会考生 (§25.4)
    class_name: str = ""
    intent_date: date | None = None
    created_from: date | None = None
    created_to: date | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, "")}


def _has_registration(paid: bool | None = None, subject_id: int | None = None):
    """EXISTS a 报考 of this enrollment (paid / of a subject): one index probe per candidate, never a GROUP BY
    over the whole 考次 (ix_registration_enrollment_id; with (enrollment_id, subject_id) for the subject)."""
    q = select(Registration.id).where(Registration.enrollment_id == Enrollment.id)
    if paid is not None:
        q = q.where(Registration.paid.is_(paid))
    if subject_id is not None:
        q = q.where(Registration.subject_id == subject_id)
    return q.exists()


def _filtered(actor: Actor, q: CandidateQuery, cols):
    stmt = (select(*cols).select_from(Enrollment)
            .where(Enrollment.term_id == actor.term_id, in_scope(actor, Enrollment.site_id)))
    if q.site_id:
        stmt = stmt.where(Enrollment.site_id == q.site_id)
    if q.id_number.strip():
        stmt = stmt.where(Enrollment.id_number == q.id_number.strip().upper())
    if q.name.strip():
        stmt = stmt.where(Enrollment.name.contains(q.name.strip(), autoescape=True))
    if q.channel:
        stmt = stmt.where(Enrollment.channel == q.channel)
    if q.pay == "all":
        stmt = stmt.where(_has_registration(), ~_has_registration(paid=False))
    elif q.pay == "part":
        stmt = stmt.where(_has_registration(paid=True), _has_registration(paid=False))
    elif q.pay == "none":
        stmt = stmt.where(~_has_registration(paid=True))
    if q.locked is not None:
        stmt = stmt.where(Enrollment.locked.is_(q.locked))
    if q.review == "none":
        stmt = stmt.where(Enrollment.review_app_id.is_(None))
    elif q.review:
        stmt = stmt.where(Enrollment.review_app_id.in_(select(Application.id).where(Application.state == q.review)))
    if q.photo is not None:
        stmt = stmt.where(Enrollment.photo_sha256.isnot(None) if q.photo else Enrollment.photo_sha256.is_(None))
    if q.subject_id:
        stmt = stmt.where(_has_registration(subject_id=q.subject_id))
    if q.kind == "registry":
        stmt = stmt.where(Enrollment.is_registry.is_(True))
    elif q.kind == "social":
        stmt = stmt.where(Enrollment.is_registry.is_(False))
    if q.class_name.strip():
        stmt = stmt.where(Enrollment.class_name.contains(q.class_name.strip(), autoescape=True))
    if q.intent_date:
        stmt = stmt.where(Enrollment.intent_date == q.intent_date)
    if q.created_from:
        stmt = stmt.where(Enrollment.created_at >= datetime.combine(q.created_from, datetime.min.time()))
    if q.created_to:
        stmt = stmt.where(Enrollment.created_at < datetime.combine(q.created_to, datetime.max.time()))
    return stmt


def reg_counts(s: Session, enrollment_ids: list[int]) -> dict[int, tuple[int, int]]:
    """{enrollment id: (报考科目数, 已支付数)} for these enrollments only (one page)."""
    out: dict[int, tuple[int, int]] = {}
    for part in reg.chunks(enrollment_ids):
        for eid, n, p in s.execute(select(Registration.enrollment_id, func.count(),
                                          func.sum(case((Registration.paid.is_(True), 1), else_=0)))
                                   .where(Registration.enrollment_id.in_(part)).group_by(Registration.enrollment_id)):
            out[eid] = (int(n), int(p or 0))
    return out


def _pay_state(n: int, p: int) -> str:
    if n == 0:
        return "无报考"
    return reg.PAY_STATES["all" if p == n else "part" if p else "none"]


def subject_codes_of(s: Session, enrollment_ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for part in reg.chunks(enrollment_ids):
        for eid, code in s.execute(select(Registration.enrollment_id, Subject.code).join(
                Subject, Subject.id == Registration.subject_id).where(Registration.enrollment_id.in_(part))
                .order_by(Registration.enrollment_id, Subject.code)):
            out.setdefault(eid, []).append(code)
    return out


def list_candidates(s: Session, actor: Actor, q: CandidateQuery, page: int = 1,
                    page_size: int | None = None) -> tuple[list[dict[str, Any]], int]:
    """One page of the query (masked), and the total count."""
    page_size = page_size or LIMITS.page_size
    total = int(s.scalar(select(func.count()).select_from(_filtered(actor, q, (Enrollment.id,)).subquery())) or 0)
    page_ids = _filtered(actor, q, (Enrollment.id,)).order_by(Enrollment.id.desc()).limit(page_size) \
        .offset(max(page - 1, 0) * page_size).subquery()
    rows = s.execute(select(Enrollment.id, Enrollment.channel, Enrollment.locked, Enrollment.name, Enrollment.gender,
                            Enrollment.birth_date, Enrollment.id_type, Enrollment.id_number, Enrollment.photo_sha256,
                            Enrollment.site_id, Enrollment.intent_date, Enrollment.ethnicity, Enrollment.class_name,
                            Enrollment.is_registry, Enrollment.review_app_id, Application.state)
                     .join(page_ids, page_ids.c.id == Enrollment.id)
                     .outerjoin(Application, Application.id == Enrollment.review_app_id)
                     .order_by(Enrollment.id.desc())).all()
    counts = reg_counts(s, [r[0] for r in rows])
    codes = subject_codes_of(s, [r[0] for r in rows])
    sites = {o.id: org_label(o) for o in s.scalars(select(Org).where(Org.id.in_({r[9] for r in rows})))} if rows else {}
    out = []
    for (eid, channel, locked, name, gender, birth, id_type, idn, photo, site_id, intent, eth, cls, is_reg, app_id,
         state) in rows:
        n, p = counts.get(eid, (0, 0))
        out.append({"id": eid, "报名方式": CHANNELS.get(channel, channel), "支付状态": _pay_state(n, p),
                    "报名信息锁定": "已锁定" if locked else "未锁定",
                    "报名信息审核": reg.REVIEW_STATES.get(state, "-") if app_id else "-",
                    "姓名": name, "性别": gender or "", "出生日期": birth, "证件类型": id_type,
                    "证件号码": mask_id(idn), "照片": "有" if photo else "无", "考点": sites.get(site_id, ""),
                    "报考科目数": n, "报考科目": ".".join(codes.get(eid, [])), "意向考试日期": intent,
                    "民族": eth or "", "班级": cls or "", "考生类别": "学籍考生" if is_reg else "社会考生"})
    return out, total


def query_ids(s: Session, actor: Actor, q: CandidateQuery) -> list[int]:
    """Enrollment ids of ALL query results (for 对所有查询结果操作)."""
    return list(s.scalars(_filtered(actor, q, (Enrollment.id,)).order_by(Enrollment.id)))


def _scoped(s: Session, actor: Actor, ids: list[int]) -> list[Enrollment]:
    out: list[Enrollment] = []
    for part in reg.chunks(list(dict.fromkeys(ids))):
        out += list(s.scalars(select(Enrollment).where(Enrollment.id.in_(part), Enrollment.term_id == actor.term_id,
                                                       in_scope(actor, Enrollment.site_id))))
    if len(out) != len(set(ids)):
        raise NotFound("部分考生不存在或不在您的管理范围内，请刷新后重试。")
    return out


def _writer(s: Session, actor: Actor, enrollments: list[Enrollment], what: str) -> int:
    """All selected enrollments belong to the actor's own site; window 报名管理时间 is open."""
    if not enrollments:
        raise ValidationError("请先选择考生。")
    sites = {e.site_id for e in enrollments}
    if len(sites) != 1:
        raise ValidationError("一次只能操作同一考点的考生。")
    reg.site_for_write(s, actor, sites.pop(), what)
    return enrollments[0].site_id


# ---------------------------------------------------------------- detail (§25.5)
def candidate_detail(s: Session, actor: Actor, enrollment_id: int) -> dict[str, Any]:
    """Everything the 查看 page shows. The full ID number is shown only in this single-record view."""
    e = _scoped(s, actor, [enrollment_id])[0]
    site = s.get(Org, e.site_id)
    setting = reg.site_setting(s, e.site_id, e.term_id)
    regs = s.execute(select(Registration, Subject, PaymentOrder).join(Subject, Subject.id == Registration.subject_id)
                     .outerjoin(PaymentOrder, PaymentOrder.id == Registration.order_id)
                     .where(Registration.enrollment_id == e.id).order_by(Subject.code)).all()
    app = s.get(Application, e.review_app_id) if e.review_app_id else None
    from core.models import ApplicationEvent
    last_reject = None
    if app is not None:
        last_reject = s.scalar(select(ApplicationEvent.reason).where(
            ApplicationEvent.application_id == app.id, ApplicationEvent.action == "reject")
            .order_by(ApplicationEvent.id.desc()).limit(1))
    n, p = len(regs), sum(1 for r, _, _ in regs if r.paid)
    account = s.get(CandidateAccount, e.account_id) if e.account_id else None
    state = app.state if app else None
    flow = _flow_text(e, setting, state, n, p)
    return {
        "id": e.id, "site": org_label(site), "site_id": e.site_id, "channel": CHANNELS.get(e.channel, e.channel),
        "channel_code": e.channel, "locked": e.locked, "review_state": state,
        "review_label": reg.REVIEW_STATES.get(state, "无需审核") if state else "无需审核",
        "last_reject": last_reject, "pay_label": _pay_state(n, p), "flow": flow,
        "max_subjects": setting.max_subjects if setting else None, "photo_sha256": e.photo_sha256,
        "photo_rejected": e.photo_rejected, "review_app_id": e.review_app_id, "is_registry": e.is_registry,
        "person": {"姓名": e.name, "证件类型": e.id_type, "证件号码": mask_id(e.id_number), "性别": e.gender,
                   "出生日期": e.birth_date, "民族": e.ethnicity, "文化程度": e.education, "职业": e.occupation,
                   "手机号码": mask_phone(e.phone), "电子邮件": mask_email(e.email), "院系": e.department,
                   "专业": e.major, "班级": e.class_name, "学号": e.student_no, "邮编": e.postcode,
                   "联系地址": e.address, "额外信息": e.extra, "备注": e.remark, "意向考试日期": e.intent_date,
                   "考生类别": "学籍考生" if e.is_registry else "社会考生"},
        "subjects": [{"reg_id": r.id, "科目": f"({sub.code}){sub.name}", "费用(元)": Decimal(str(r.fee)),
                      "支付状态": "已支付" if r.paid else "未支付", "支付时间": r.paid_at,
                      "订单": (f"{'集体缴费批次' if o.kind == 'group' else '个人订单'} {o.id}"
                               f"（{PAYMENT_STATE_LABELS.get(o.state, o.state)}）") if o else ""}
                     for r, sub, o in regs],
        "account": {"通行证ID": account.passport_id, "通行证邮箱": mask_email(account.email)} if account else None,
    }


PAYMENT_STATE_LABELS = {"unpaid": "未支付", "paid": "已支付", "deleted": "已删除"}


def _flow_text(e: Enrollment, setting: SiteSetting | None, state: str | None, n: int, p: int) -> str:
    """The 报名流程 sentence of §25.5."""
    parts = ["报名信息已锁定，如需修改，请考点老师在《考生管理》页面解锁。" if e.locked else "报名信息未锁定。"]
    if setting is not None and setting.review_required:
        parts.append({"pending": "报名信息审核中。", "approved": "报名信息审核已通过。", "rejected": "报名信息审核不通过。"}
                     .get(state or "", "报名信息尚未提交审核。"))
    parts.append(f"已报考{n}科。")
    parts.append("全部支付。" if n and p == n else ("部分支付。" if p else "全未支付。"))
    if setting is not None and setting.review_required and state != "approved" and p < n:
        parts.append("审核通过后才可以支付。")
    return "".join(parts)


# ---------------------------------------------------------------- actions (§25.8–12)
def update_nonkey(s: Session, actor: Actor, ids: list[int], values: dict[str, Any]) -> int:
    """更新非关键信息: empty fields are left unchanged; at most 3000 candidates per action."""
    vals = {k: str(v).strip() for k, v in values.items() if k in NONKEY_FIELDS and v is not None and str(v).strip()}
    if not vals:
        raise ValidationError("请至少填写一项要更新的信息（不填为不更改）。")
    if len(set(ids)) > NONKEY_MAX:
        raise ValidationError(f"批量更新非关键信息一次不能超过 {NONKEY_MAX} 名考生（现为 {len(set(ids))} 名），"
                              f"请缩小查询范围。")
    if "email" in vals:
        from core.imports.engine import parse_email
        try:
            vals["email"] = parse_email(vals["email"])
        except ValueError as ex:
            raise ValidationError(str(ex), "电子邮箱") from None
    if "postcode" in vals and not (vals["postcode"].isdigit() and len(vals["postcode"]) == 6):
        raise ValidationError("邮编应为 6 位数字。", "邮编")
    enrollments = _scoped(s, actor, ids)
    site_id = _writer(s, actor, enrollments, "更新非关键信息")
    if "class_name" in vals:
        from core.services.ncre_setup import validate_class
        validate_class(reg.site_setting(s, site_id, actor.term_id), vals["class_name"])
    for part in reg.chunks([e.id for e in enrollments]):
        s.execute(update(Enrollment).where(Enrollment.id.in_(part)).values(**vals, updated_at=func.now())
                  .execution_options(synchronize_session=False))
    audit(s, actor, "update", "考生报名信息", None, org_id=site_id, after={"fields": vals, "count": len(enrollments)},
          summary=f"更新非关键信息：{len(enrollments)} 名考生（{'、'.join(NONKEY_FIELDS[k] for k in vals)}）")
    return len(enrollments)


def set_locked(s: Session, actor: Actor, ids: list[int], locked: bool) -> int:
    """解锁 / 锁定报名信息 (§25.11–12). Returns how many changed."""
    enrollments = _scoped(s, actor, ids)
    site_id = _writer(s, actor, enrollments, "锁定报名信息" if locked else "解锁报名信息")
    todo = [e.id for e in enrollments if e.locked != locked]
    for part in reg.chunks(todo):
        s.execute(update(Enrollment).where(Enrollment.id.in_(part)).values(locked=locked)
                  .execution_options(synchronize_session=False))
    word = "锁定" if locked else "解锁"
    audit(s, actor, "lock" if locked else "unlock", "考生报名信息", None, org_id=site_id,
          after={"count": len(todo), "ids": todo[:1000]}, summary=f"{word}报名信息：{len(todo)} 名考生")
    return len(todo)


def cancel_exam(s: Session, actor: Actor, ids: list[int], reason: str, subject_id: int | None = None) -> int:
    """取消考试 (§25.9): the selected candidates' 报考 (all, or one subject) move to 取消考试信息 with the
    reason; the seats are freed; the candidate may register again. Not for group-paid 报考."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("取消考试必须填写取消原因。", "取消原因")
    if len(reason) > REASON_MAX:
        raise ValidationError(f"取消原因不能超过 {REASON_MAX} 个字符。", "取消原因")
    enrollments = _scoped(s, actor, ids)
    site_id = _writer(s, actor, enrollments, "取消考试")
    reg.lock_capacity(s, site_id, actor.term_id)  # serialise with registrations at this site
    by_id = {e.id: e for e in enrollments}
    q = (select(Registration, PaymentOrder.kind, PaymentOrder.state)
         .outerjoin(PaymentOrder, PaymentOrder.id == Registration.order_id)
         .where(Registration.enrollment_id.in_(list(by_id))))
    if subject_id:
        q = q.where(Registration.subject_id == subject_id)
    rows = s.execute(q).all()
    batch_locked = [r for r, _, state in rows if not r.paid and state == "unpaid"]
    if batch_locked:
        e = by_id[batch_locked[0].enrollment_id]
        raise DomainError(f"{e.name} 的报考科目已被未支付的集体缴费批次锁定，不能取消；请先支付或删除该批次。")
    group_paid = [r for r, kind, _ in rows if r.paid and kind == "group"]
    rows = [(r, kind) for r, kind, _ in rows]
    if group_paid:
        e = by_id[group_paid[0].enrollment_id]
        raise DomainError(f"集体报名缴费的考生无法取消考试（如 {e.name}，证件号后 4 位 {id_last4(e.id_number)}）；"
                          f"本次未取消任何考生。")
    if not rows:
        raise DomainError("所选考生没有可以取消的报考科目。")
    name = f"{actor.name}（{actor.org_name}）"[:100]
    s.execute(CancelledRegistration.__table__.insert(), [dict(
        term_id=r.term_id, site_id=r.site_id, candidate_id=r.candidate_id, subject_id=r.subject_id,
        id_type=by_id[r.enrollment_id].id_type, id_number=by_id[r.enrollment_id].id_number,
        name=by_id[r.enrollment_id].name, channel=r.channel, fee=r.fee, paid=r.paid, paid_at=r.paid_at,
        registered_at=r.created_at, reason=reason, cancelled_by=name, cancelled_at=datetime.now()) for r, _ in rows])
    reg_ids = [r.id for r, _ in rows]
    for part in reg.chunks(reg_ids):
        s.execute(delete(Registration).where(Registration.id.in_(part)))
    # A candidate left with no 报考 keeps no 报名信息 either: he may register again (§25.9).
    emptied = _drop_empty(s, list(by_id))
    audit(s, actor, "cancel", "报考信息", None, org_id=site_id,
          after={"registrations": len(reg_ids), "candidates": len({r.enrollment_id for r, _ in rows}),
                 "reason": reason}, summary=f"取消考试：{len(reg_ids)} 科次（{len(emptied)} 名考生无剩余报考），原因：{reason}")
    return len(reg_ids)


def _drop_empty(s: Session, enrollment_ids: list[int]) -> list[int]:
    """Delete the enrollments that have no 报考 left; returns their ids."""
    has = set()
    for part in reg.chunks(enrollment_ids):
        has.update(s.scalars(select(Registration.enrollment_id).where(Registration.enrollment_id.in_(part))))
    empty = [i for i in enrollment_ids if i not in has]
    for part in reg.chunks(empty):
        s.execute(delete(Enrollment).where(Enrollment.id.in_(part)))
    return empty


def delete_group_registrations(s: Session, actor: Actor, ids: list[int], subject_id: int | None = None) -> dict[str, int]:
    """删除报名报考信息 (§25.10): group-registered candidates only; unpaid 报考 of the selection (or of one
    subject) first, then the 报名信息 of those left with none. Paid or batch-locked 报考 are refused."""
    enrollments = _scoped(s, actor, ids)
    site_id = _writer(s, actor, enrollments, "删除报名报考信息")
    individual = [e for e in enrollments if e.channel != "group"]
    if individual:
        e = individual[0]
        raise DomainError(f"只能删除集体报名方式报名的考生；所选考生中有 {len(individual)} 名个人网报考生"
                          f"（如 {e.name}），本次未删除任何数据。")
    q = (select(Registration, PaymentOrder.state).outerjoin(PaymentOrder, PaymentOrder.id == Registration.order_id)
         .where(Registration.enrollment_id.in_([e.id for e in enrollments])))
    if subject_id:
        q = q.where(Registration.subject_id == subject_id)
    rows = s.execute(q).all()
    blocked = [r for r, st in rows if r.paid or st == "unpaid"]
    if blocked:
        raise DomainError(f"所选报考中有 {len(blocked)} 科次已支付或已被集体缴费批次锁定，不能删除；本次未删除任何数据。")
    reg.lock_capacity(s, site_id, actor.term_id)
    for part in reg.chunks([r.id for r, _ in rows]):
        s.execute(delete(Registration).where(Registration.id.in_(part)))
    emptied = _drop_empty(s, [e.id for e in enrollments])
    audit(s, actor, "delete", "报名报考信息", None, org_id=site_id,
          before={"registrations": len(rows), "enrollments": len(emptied)},
          summary=f"删除报名报考信息：报考 {len(rows)} 科次，报名信息 {len(emptied)} 人")
    return {"registrations": len(rows), "enrollments": len(emptied)}


# ---------------------------------------------------------------- review (§25.5, §26)
def review(s: Session, actor: Actor, ids: list[int], action: str, reject_type: str | None = None,
           reason: str | None = None) -> int:
    """设置审核通过 / 设置审核不通过 for the selected candidates (only 待审核 can pass; 待审核 and 已通过 can
    fail, with a type and a reason). 照片不合格 obliges a new photo before the next submission (§26.4)."""
    enrollments = _scoped(s, actor, ids)
    site_id = _writer(s, actor, enrollments, "报名信息审核")
    setting = reg.site_setting(s, site_id, actor.term_id)
    if setting is None or not setting.review_required:
        raise DomainError("本考点未启用“报名信息需审核”（《考点报名综合设置》），此功能不使用。")
    if action == "reject":
        if reject_type not in reg.REJECT_TYPES:
            raise ValidationError("请选择不通过类型。", "不通过类型")
        reason = f"{reg.REJECT_TYPES[reject_type]}：{(reason or '').strip()}" if (reason or "").strip() else ""
    app_ids = [e.review_app_id for e in enrollments if e.review_app_id]
    if not app_ids:
        raise DomainError("所选考生尚未提交审核。")
    moved = transition_many(s, actor, reg.REVIEW_SPEC, app_ids, action, reason)
    if action == "reject" and reject_type == "photo" and moved:
        for part in reg.chunks(moved):
            s.execute(update(Enrollment).where(Enrollment.review_app_id.in_(part)).values(photo_rejected=True)
                      .execution_options(synchronize_session=False))
    if action == "reject" and moved:  # a failed review unlocks the data so it can be corrected (§25.11)
        for part in reg.chunks(moved):
            s.execute(update(Enrollment).where(Enrollment.review_app_id.in_(part)).values(locked=False)
                      .execution_options(synchronize_session=False))
    return len(moved)


def submit_review(s: Session, actor: Actor, ids: list[int]) -> int:
    """替考生提交信息审核 (§25.5): submits (or resubmits) and locks. A candidate whose photo failed review
    must have a new photo first (§26.4)."""
    from core.workflow import submit_many

    enrollments = _scoped(s, actor, ids)
    site_id = _writer(s, actor, enrollments, "提交信息审核")
    setting = reg.site_setting(s, site_id, actor.term_id)
    if setting is None or not setting.review_required:
        raise DomainError("本考点未启用“报名信息需审核”，无需提交审核。")
    stale = [e for e in enrollments if e.photo_rejected]
    if stale:
        raise DomainError(f"{stale[0].name} 的照片审核不通过，必须重新上传照片后才能再次提交信息审核。")
    missing = [e for e in enrollments if not e.photo_sha256]
    if missing:
        raise DomainError(f"{missing[0].name} 还没有照片，请先在《考生照片导入》上传照片。")
    apps = submit_many(s, actor, reg.REVIEW_SPEC, {reg.review_key(actor.term_id, e.id_number): site_id
                                                    for e in enrollments})
    for e in enrollments:
        e.review_app_id = apps[reg.review_key(actor.term_id, e.id_number)]
        e.locked = True
    audit(s, actor, "lock", "考生报名信息", None, org_id=site_id, after={"count": len(enrollments)},
          summary=f"提交信息审核并锁定报名信息：{len(enrollments)} 名考生")
    return len(enrollments)


def review_counts(s: Session, actor: Actor, site_id: int | None = None) -> dict[str, int]:
    q = (select(Application.state, func.count()).select_from(Enrollment)
         .join(Application, Application.id == Enrollment.review_app_id)
         .where(Enrollment.term_id == actor.term_id, in_scope(actor, Enrollment.site_id)))
    if site_id:
        q = q.where(Enrollment.site_id == site_id)
    got = dict(s.execute(q.group_by(Application.state)).all())
    return {label: int(got.get(k, 0)) for k, label in reg.REVIEW_STATES.items()}


# ---------------------------------------------------------------- exports (§25.7) and 通行证 (§25.13)
def export_registrations(s: Session, actor: Actor, q: CandidateQuery) -> tuple[bytes, int]:
    """导出查询结果报考数据: 考生序号, 姓名, 证件号码(后4位), 考点代码, 班级, 报考科目, 报考科目总数, 报考科目序号."""
    ids = query_ids(s, actor, q)
    header = ["考生序号", "姓名", "证件号码(后4位)", "考点代码", "班级", "报考科目", "报考科目总数", "报考科目序号"]
    def rows():
        seq = 0
        for part in reg.chunks(ids):
            data = s.execute(select(Enrollment.id, Enrollment.name, Enrollment.id_number, Org.code,
                                    Enrollment.class_name, Subject.code, Subject.name)
                             .join(Org, Org.id == Enrollment.site_id)
                             .join(Registration, Registration.enrollment_id == Enrollment.id)
                             .join(Subject, Subject.id == Registration.subject_id)
                             .where(Enrollment.id.in_(part)).order_by(Enrollment.id, Subject.code)).all()
            by: dict[int, list] = {}
            for r in data:
                by.setdefault(r[0], []).append(r)
            for eid in part:
                items = by.get(eid, [])
                if not items:
                    continue
                seq += 1
                for i, (_, name, idn, code, cls, scode, sname) in enumerate(items, start=1):
                    yield [seq, name, id_last4(idn), code, cls or "", f"({scode}) {sname}", len(items), i]
    data = write_xlsx(header, rows(), sheet_name="考生报考信息")
    filters = _jsonable(q.as_dict())
    if filters.get("id_number"):
        filters["id_number"] = mask_id(filters["id_number"])
    audit(s, actor, "export", "考生报考信息", None, after={"candidates": len(ids), "filters": filters},
          summary=f"导出查询结果报考数据：{len(ids)} 名考生")
    return data, len(ids)


def _jsonable(d: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, (date, datetime)) else v) for k, v in d.items()}


def passport_lookup(s: Session, actor: Actor, *, enrollment_id: int | None = None, passport_id: str = "",
                    email: str = "", phone: str = "") -> list[dict[str, Any]]:
    """通行证账号管理 (§25.13): find 通行证 by a candidate, by ID, by e-mail or by phone — only accounts bound
    to candidates in the actor's scope; shown masked. No time limit."""
    q = (select(CandidateAccount, Enrollment.name, Enrollment.id_number).join(
        Enrollment, Enrollment.account_id == CandidateAccount.id)
        .where(Enrollment.term_id == actor.term_id, in_scope(actor, Enrollment.site_id)))
    if enrollment_id:
        q = q.where(Enrollment.id == enrollment_id)
    elif passport_id.strip():
        q = q.where(CandidateAccount.passport_id == passport_id.strip().upper())
    elif email.strip():
        q = q.where(CandidateAccount.email == email.strip())
    elif phone.strip():
        q = q.where(CandidateAccount.phone == phone.strip())
    else:
        raise ValidationError("请输入通行证ID、邮箱或手机之一进行查找。")
    rows = s.execute(q.limit(20)).all()
    return [{"姓名": name, "证件号码": mask_id(idn), "通行证ID": a.passport_id, "通行证姓名": a.name or "",
             "通行证邮箱": mask_email(a.email), "通行证手机": mask_phone(a.phone),
             "初始密码未修改": "是" if a.password_hash is None else "否"} for a, name, idn in rows]


def subject_options(s: Session, actor: Actor) -> list[tuple[int, str]]:
    return [(i, f"({c}){n}") for i, c, n in s.execute(select(Subject.id, Subject.code, Subject.name)
                                                       .order_by(Subject.code))]


def intent_dates(s: Session, actor: Actor) -> list[date]:
    return [d for (d,) in s.execute(select(Enrollment.intent_date).where(
        Enrollment.term_id == actor.term_id, in_scope(actor, Enrollment.site_id),
        Enrollment.intent_date.isnot(None)).distinct().order_by(Enrollment.intent_date))]


def photo_bytes(s: Session, actor: Actor, enrollment_id: int) -> bytes | None:
    """The candidate's linked photo (scoped), or None."""
    from core.workflow import file_path

    e = _scoped(s, actor, [enrollment_id])[0]
    if not e.photo_sha256:
        return None
    path = file_path(e.photo_sha256)
    return path.read_bytes() if path.exists() else None


def site_flags(s: Session, actor: Actor, site_id: int) -> dict[str, Any]:
    """What the 考生管理 page needs to know about a site: its switches and whether the actor may write."""
    from core.models import Org as _Org

    site = s.scalar(select(_Org).where(_Org.id == site_id, in_scope(actor, _Org.id)))
    if site is None:
        raise NotFound("考点不存在或不在您的管理范围内。")
    st = reg.site_setting(s, site_id, actor.term_id)
    return {"own": actor.role == "site_admin" and actor.org_id == site_id,
            "group_payment": bool(st and st.group_payment), "review_required": bool(st and st.review_required),
            "group_registration": bool(st and st.group_registration), "label": org_label(site)}
