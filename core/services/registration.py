"""报名 core (001 §22–26): who may write, capacity that can never be oversold, the review flow, and the
bulk writers the group import, the demo and the candidate front share.

Capacity: the truth is the number of `registration` rows. Every path that adds 报考 first takes
`lock_capacity` (PostgreSQL: SELECT … FOR UPDATE on the site's setting row and subject rows, in id
order; SQLite: the write transaction is already `BEGIN IMMEDIATE`, see core.db), then counts, then
inserts — all in one transaction. So two registrations for the last seat serialise.
"""
from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from core.auth import Actor, get_scoped_org
from core.errors import DomainError, NotFound, PermissionDenied
from core.models import (
    Candidate, CandidateAccount, CandidatePhoto, Enrollment, Org, Registration, SiteFee, SiteSetting, SiteSubject,
    Subject,
)
from core.services.base import require_window
from core.services.ncre_setup import CAPACITY_MAX, org_label
from core.workflow import Transition, WorkflowSpec

CHUNK = 900  # IN-list size that stays under every driver's parameter limit
SITE_ROLES = ("site_admin",)

REVIEW_STATES = {"pending": "待审核", "approved": "已通过", "rejected": "不通过"}
REJECT_TYPES = {"info": "基本信息有问题", "photo": "照片不合格", "other": "其他"}
REVIEW_SPEC = WorkflowSpec(
    kind="ncre_enroll_review", title="报名信息审核", states=REVIEW_STATES, initial="pending",
    transitions=(Transition("approve", ("pending",), "approved", SITE_ROLES, label="设置审核通过"),
                 Transition("reject", ("pending", "approved"), "rejected", SITE_ROLES, needs_reason=True,
                            label="设置审核不通过")),
    reopen_states=("rejected", "approved"))
PAY_STATES = {"all": "全部支付", "part": "部分支付", "none": "全未支付"}


def review_key(term_id: int, id_number: str) -> str:
    return f"{term_id}:{id_number}"


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


# ---------------------------------------------------------------- who may write
def site_for_write(s: Session, actor: Actor, site_id: int, what: str = "报名管理",
                   window: str = "registration") -> Org:
    """The site, when the actor is its own 考点管理员, in the current 考次, inside the window."""
    site = get_scoped_org(s, actor, site_id)
    if site.kind != "site":
        raise NotFound("请选择考点。")
    if actor.role not in SITE_ROLES or actor.org_id != site.id:
        raise PermissionDenied(f"{what}由考点管理员在本考点操作，上级机构只能查询查看。")
    require_window(s, actor, window)
    return site


def site_setting(s: Session, site_id: int, term_id: int) -> SiteSetting | None:
    return s.scalar(select(SiteSetting).where(SiteSetting.site_id == site_id, SiteSetting.term_id == term_id))


# ---------------------------------------------------------------- capacity
@dataclass
class SubjectSeat:
    subject_id: int
    code: str
    name: str
    capacity: int | None
    registered: int

    @property
    def label(self) -> str:
        return f"({self.code}){self.name}"

    @property
    def unlimited(self) -> bool:
        return self.capacity is not None and self.capacity >= CAPACITY_MAX

    @property
    def remaining(self) -> int | None:
        if self.capacity is None or self.unlimited:
            return None
        return max(self.capacity - self.registered, 0)


@dataclass
class Seats:
    """A site's capacity in a 考次, read after `lock_capacity` (then it cannot change under us)."""

    total_capacity: int | None
    total_registered: int
    subjects: dict[int, SubjectSeat]

    @property
    def total_unlimited(self) -> bool:
        return self.total_capacity is not None and self.total_capacity >= CAPACITY_MAX

    def shortfalls(self, delta: Mapping[int, int]) -> list[str]:
        """Why `delta` (subject_id -> change in 报考 count) does not fit; [] when it does."""
        out = []
        add = sum(delta.values())
        if add > 0 and not self.total_unlimited:
            cap = self.total_capacity or 0
            if self.total_registered + add > cap:
                out.append(f"考点总科次容量不足：总容量 {cap}，已报 {self.total_registered}，"
                           f"剩余 {max(cap - self.total_registered, 0)}，本次需要 {add}")
        for sid, n in sorted(delta.items()):
            seat = self.subjects.get(sid)
            if n <= 0 or seat is None or seat.unlimited:
                continue
            cap = seat.capacity or 0
            if seat.registered + n > cap:
                out.append(f"科目{seat.label}容量不足：总容量 {cap}，已报 {seat.registered}，"
                           f"剩余 {max(cap - seat.registered, 0)}，本次需要 {n}")
        return out


def lock_capacity(s: Session, site_id: int, term_id: int, lock: bool = True) -> Seats:
    """Lock the site's capacity rows for this transaction (lock=False: just read) and count what is registered."""
    q1 = select(SiteSetting.total_capacity).where(SiteSetting.site_id == site_id, SiteSetting.term_id == term_id)
    q2 = (select(SiteSubject.id, SiteSubject.subject_id, SiteSubject.capacity, Subject.code, Subject.name)
          .join(Subject, Subject.id == SiteSubject.subject_id)
          .where(SiteSubject.site_id == site_id, SiteSubject.term_id == term_id).order_by(SiteSubject.id))
    if lock:
        q1, q2 = q1.with_for_update(), q2.with_for_update(of=SiteSubject)
    total = s.execute(q1).first()
    subs = s.execute(q2).all()
    counts = dict(s.execute(select(Registration.subject_id, func.count()).where(
        Registration.site_id == site_id, Registration.term_id == term_id).group_by(Registration.subject_id)).all())
    seats = {sid: SubjectSeat(sid, code, name, cap, int(counts.get(sid, 0))) for _, sid, cap, code, name in subs}
    return Seats(total[0] if total else None, int(sum(counts.values())), seats)


def require_seats(s: Session, site_id: int, term_id: int, delta: Mapping[int, int]) -> Seats:
    """Lock, count and refuse (DomainError) when `delta` would oversell."""
    seats = lock_capacity(s, site_id, term_id)
    problems = seats.shortfalls(delta)
    if problems:
        raise DomainError("；".join(problems) + "。本次未写入任何数据。")
    return seats


# ---------------------------------------------------------------- bulk writers
def new_passport_id() -> str:
    return secrets.token_hex(8).upper()


def upsert_candidates(s: Session, people: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """{id_number: candidate id}; new people are inserted (a known identity is kept as it is)."""
    ids: dict[str, int] = {}
    numbers = [p["id_number"] for p in people]
    for part in chunks(numbers):
        ids.update({n: i for i, n in s.execute(select(Candidate.id, Candidate.id_number)
                                                 .where(Candidate.id_number.in_(part)))})
    fresh = [p for p in people if p["id_number"] not in ids]
    if fresh:
        # Core insert RETURNING the key: batched (sort_by_parameter_order costs one INSERT per row on SQLite)
        t = Candidate.__table__
        rows = s.execute(insert(t).returning(t.c.id, t.c.id_number),
                         [dict(id_type=p["id_type"], id_number=p["id_number"], name=p["name"],
                               gender=p.get("gender"), birth_date=p.get("birth_date"), phone=p.get("phone"),
                               email=p.get("email")) for p in fresh]).all()
        ids.update({n: i for i, n in rows})
    return ids


def bind_accounts(s: Session, people: Sequence[Mapping[str, Any]]) -> tuple[dict[str, int], int]:
    """{email: account id}: an existing 通行证 with that e-mail is reused (its password unchanged);
    otherwise a new one is created with the initial password rule (must change at first login).
    Returns the map and how many accounts were created."""
    emails = list(dict.fromkeys(p["email"] for p in people if p.get("email")))
    out: dict[str, int] = {}
    for part in chunks(emails):
        out.update({e: i for i, e in s.execute(select(CandidateAccount.id, CandidateAccount.email)
                                                 .where(CandidateAccount.email.in_(part)))})
    first = {}
    for p in people:
        if p.get("email") and p["email"] not in out:
            first.setdefault(p["email"], p)
    if first:
        t = CandidateAccount.__table__
        rows = s.execute(insert(t).returning(t.c.id, t.c.email),
                         [dict(passport_id=new_passport_id(), email=e, phone=p.get("phone"), name=p["name"],
                               id_number=p["id_number"], password_hash=None, must_change_password=True)
                          for e, p in first.items()]).all()
        out.update({e: i for i, e in rows})
    return out, len(first)


def site_fees(s: Session, site_id: int, term_id: int) -> dict[int, Decimal]:
    return {sid: Decimal(str(fee)) for sid, fee in s.execute(
        select(SiteFee.subject_id, SiteFee.fee).where(SiteFee.site_id == site_id, SiteFee.term_id == term_id))}


def directory_photos(s: Session, site_id: int, term_id: int, id_numbers: Sequence[str]) -> dict[str, str]:
    """{id_number: sha256} from the site's photo directory (§23) for these people."""
    out: dict[str, str] = {}
    for part in chunks(list(id_numbers)):
        out.update(dict(s.execute(select(CandidatePhoto.id_number, CandidatePhoto.sha256).where(
            CandidatePhoto.term_id == term_id, CandidatePhoto.site_id == site_id,
            CandidatePhoto.id_number.in_(part))).all()))
    return out


PERSON_FIELDS = ("id_type", "id_number", "name", "gender", "birth_date", "ethnicity", "education", "occupation",
                 "phone", "email", "department", "major", "class_name", "student_no", "postcode", "address", "extra",
                 "remark", "intent_date")


def write_people(s: Session, site_id: int, term_id: int, people: Sequence[Mapping[str, Any]], *,
                 channel: str, overwrite_ids: Mapping[str, int] | None = None, locked: bool = False,
                 paid: bool = False) -> dict[str, Any]:
    """Write 报名信息 + 报考信息 for `people` (dicts with PERSON_FIELDS, 'subject_ids', optional 'is_registry').

    `overwrite_ids`: {id_number: enrollment id} of existing enrollments at this site to overwrite: their
    personal data is replaced and their UNPAID 报考 replaced by the new list (paid ones stay).
    The caller has validated everything and holds `lock_capacity`. Returns counts and enrollment ids."""
    overwrite_ids = dict(overwrite_ids or {})
    now = datetime.now()
    cand = upsert_candidates(s, people)
    accounts, new_accounts = bind_accounts(s, people)
    photos = directory_photos(s, site_id, term_id, [p["id_number"] for p in people if p["id_number"]
                                                     not in overwrite_ids])
    fees = site_fees(s, site_id, term_id)

    def values(p: Mapping[str, Any]) -> dict[str, Any]:
        v = {k: p.get(k) for k in PERSON_FIELDS}
        v.update(site_id=site_id, account_id=accounts.get(p.get("email") or ""), is_registry=bool(p.get("is_registry")))
        return v

    fresh = [p for p in people if p["id_number"] not in overwrite_ids]
    enroll: dict[str, int] = dict(overwrite_ids)
    if fresh:
        t = Enrollment.__table__
        rows = s.execute(insert(t).returning(t.c.id, t.c.id_number),
                         [dict(values(p), term_id=term_id, candidate_id=cand[p["id_number"]], channel=channel,
                               locked=locked, photo_sha256=photos.get(p["id_number"]), photo_rejected=False)
                          for p in fresh]).all()
        enroll.update({n: i for i, n in rows})
    redo = [p for p in people if p["id_number"] in overwrite_ids]
    removed = 0
    kept_paid: dict[int, set[int]] = {}
    if redo:
        ids = [overwrite_ids[p["id_number"]] for p in redo]
        s.connection().execute(
            update(Enrollment.__table__).where(Enrollment.__table__.c.id == bindparam("eid")),
            [dict(values(p), updated_at=now, eid=overwrite_ids[p["id_number"]]) for p in redo])
        for part in chunks(ids):
            for eid, sid in s.execute(select(Registration.enrollment_id, Registration.subject_id).where(
                    Registration.enrollment_id.in_(part), Registration.paid.is_(True))):
                kept_paid.setdefault(eid, set()).add(sid)
            res = s.execute(Registration.__table__.delete().where(
                Registration.__table__.c.enrollment_id.in_(part), Registration.__table__.c.paid.is_(False)))
            removed += res.rowcount or 0
    regs = []
    for p in people:
        eid = enroll[p["id_number"]]
        for sid in p["subject_ids"]:
            if sid in kept_paid.get(eid, ()):
                continue
            regs.append(dict(term_id=term_id, site_id=site_id, candidate_id=cand[p["id_number"]], enrollment_id=eid,
                             subject_id=sid, channel=channel, fee=fees.get(sid, Decimal(0)), paid=paid,
                             paid_at=now if paid else None, intent_date=p.get("intent_date")))
    if regs:
        s.execute(insert(Registration.__table__), regs)
    return {"enrollments": enroll, "new_enrollments": len(fresh), "overwritten": len(redo),
            "registrations": len(regs), "removed_registrations": removed, "new_accounts": new_accounts}


def subject_delta(people: Sequence[Mapping[str, Any]], existing: Mapping[int, Sequence[tuple[int, bool]]] | None = None,
                  enrollment_of: Mapping[str, int] | None = None) -> Counter:
    """How many 报考 per subject writing `people` adds (negative: frees), given the existing 报考
    [(subject_id, paid)] of the enrollments being overwritten."""
    delta: Counter = Counter()
    existing = existing or {}
    enrollment_of = enrollment_of or {}
    for p in people:
        old = existing.get(enrollment_of.get(p["id_number"], -1), ())
        paid = {sid for sid, is_paid in old if is_paid}
        for sid, is_paid in old:
            if not is_paid:
                delta[sid] -= 1
        for sid in p["subject_ids"]:
            if sid not in paid:
                delta[sid] += 1
    return delta


def site_label(s: Session, site_id: int) -> str:
    org = s.get(Org, site_id)
    return org_label(org) if org else str(site_id)


# ---------------------------------------------------------------- the candidate's own 网上报名 (front end, §15)
def register_online(s: Session, account_id: int, site_id: int, term_id: int, person: Mapping[str, Any],
                    subject_codes: Sequence[str], now: datetime | None = None) -> int:
    """A candidate registers himself (考生注册) at a site: personal data + subjects, in one transaction.
    Used by the candidate front end; the site-side rules are the same as for the group import.
    Returns the enrollment id. Raises DomainError with the reason when refused (e.g. 容量已满)."""
    from core.services.base import audit

    now = now or datetime.now()
    st = site_setting(s, site_id, term_id)
    if st is None or not st.is_open:
        raise DomainError("该考点本考次不开考。")
    if not (st.online_reg_enabled and st.online_reg_start and st.online_reg_end
            and st.online_reg_start <= now <= st.online_reg_end):
        raise DomainError("不在该考点的考生网上报名时间内。")
    subjects = dict(s.execute(select(Subject.code, Subject.id).where(Subject.code.in_(list(subject_codes)))).all())
    unknown = [c for c in subject_codes if c not in subjects]
    if unknown or not subject_codes:
        raise DomainError(f"科目代码“{'、'.join(unknown) or '（空）'}”无效。")
    sids = [subjects[c] for c in subject_codes]
    if len(sids) > st.max_subjects:
        raise DomainError(f"最多报考 {st.max_subjects} 科。")
    # Lock first, then look and count: no seat is sold twice, nobody registers twice.
    require_seats(s, site_id, term_id, Counter(sids))
    old = s.scalar(select(Enrollment.id).where(Enrollment.term_id == term_id,
                                               Enrollment.id_number == person["id_number"]))
    if old is not None:
        raise DomainError("您本考次已报名，请在报名信息中增报科目。")
    p = dict(person, subject_ids=sids)
    out = write_people(s, site_id, term_id, [p], channel="individual")
    eid = out["enrollments"][person["id_number"]]
    s.execute(update(Enrollment).where(Enrollment.id == eid).values(account_id=account_id))
    audit(s, None, "register", "网上报名", eid, org_id=site_id,
          summary=f"考生网上报名（通行证 {account_id}）：{len(sids)} 科")
    return eid
