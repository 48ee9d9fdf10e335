"""OCES 学习中心平台 (manual 000): 统考英语重考申请 and its review by the 院校.

Who sees what (ONE rule, `oces_visible`): a student row carries its 学习中心 and its 院校; an actor sees it
when either org is in the actor's org scope. So a 学习中心 sees only its own students (of every 院校 it
serves), a 院校审核员 only its own 院校's students (from every 学习中心), the 考试中心 everything. The
applications use the one workflow (`core.workflow`): org_id = the 学习中心, reviewer_org_id = the 院校,
which is the same rule expressed on the application.

Writes: only the student's own 学习中心 (its 学习中心管理员, or a 学习中心教师 the admin gave the
permission to) applies, changes and cancels, inside the 申请批次's open period; only the student's
院校审核员 reviews. One application per (申请批次, 统考成绩), ever: a repeated or concurrent 提交 returns
the existing application (unique key + the workflow's SAVEPOINT retry), never a second one.

States: 未申请 (no application, or 已取消) → 待审核 → 审核通过 | 审核未通过; 修改 and 取消申请 while
待审核 or 审核未通过 (修改 puts it back to 待审核).
"""
from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime
from hashlib import sha256
from typing import Any

from sqlalchemy import String, cast, exists, func, literal, or_, select, update
from sqlalchemy.orm import Session, aliased

from core.auth import Actor, generate_password, hash_password, in_scope, role_label
from core.errors import DomainError, NotFound, PermissionDenied, ValidationError
from core.exports.tabular import write_xlsx
from core.masking import mask_id, mask_phone
from core.models import Application, Attachment, Org, User
from core.models.oces import OcesBatch, OcesExamResult, OcesGrant, OcesStudent
from core.services.base import audit
from core.workflow import (
    StaleVersion, Transition, WorkflowSpec, get_application, history, store_file, submit, transition,
    transition_many,
)

KIND = "oces_reexam"
TITLE = "统考英语重考申请"
CENTRE_ROLES = ("centre_admin", "centre_teacher")
REVIEW_ROLES = ("institution_reviewer",)
VIEW_ROLES = ("center_admin",)  # the 考试中心 looks on, read-only
STATES = {"pending": "待审核", "approved": "审核通过", "rejected": "审核未通过", "cancelled": "已取消"}
EDITABLE = ("pending", "rejected")  # 修改 / 取消申请 allowed (the manual: 待审核、审核未通过)
SPEC = WorkflowSpec(
    kind=KIND, title=TITLE, states=STATES, initial="pending",
    transitions=(
        Transition("modify", EDITABLE, "pending", CENTRE_ROLES, label="修改"),
        Transition("cancel", EDITABLE, "cancelled", CENTRE_ROLES, label="取消申请"),
        Transition("approve", ("pending",), "approved", REVIEW_ROLES, label="审核通过"),
        Transition("reject", ("pending",), "rejected", REVIEW_ROLES, needs_reason=True, label="审核未通过"),
    ),
    submit_roles=CENTRE_ROLES, reopen_states=("cancelled",))

RESULT_STATUS = {"passed": "合格", "exempt": "免考", "failed": "不合格"}
CONDITIONS = {"passed": "统考英语合格", "exempt": "统考英语免考"}  # 申请条件 = the 合格状态 it rests on
ENGLISH_SUBJECTS = ("大学英语A", "大学英语B", "大学英语C")
LEVELS = ("专升本", "高起专", "高起本")
APPLY_STATES = {"applied": "已申请", "none": "未申请"}
REVIEW_STATES = {k: STATES[k] for k in ("pending", "approved", "rejected")}
PROOF_MAX_BYTES = 1024 * 1024  # “上传支持 1M”
PROOF_TYPES = ("image/jpeg",)  # “图片类型要求：.jpg”, checked by content
DATA_LABELS = {"batch": "申请批次", "centre": "学习中心", "institution": "院校", "student_no": "学号",
               "name": "姓名", "subject": "统考科目", "condition_label": "申请条件", "pass_batch": "合格批次",
               "proof": "证明材料"}
EXPORT_LIMIT = 100_000


# ---------------------------------------------------------------- THE visibility rule
def oces_visible(actor: Actor, centre_col=OcesStudent.centre_id, institution_col=OcesStudent.institution_id):
    """A student (or anything carrying its 学习中心 and 院校) is visible when its 学习中心 or its 院校 is in
    the actor's org scope: 学习中心 → its own students; 院校 → its own students from all centres."""
    return or_(in_scope(actor, centre_col), in_scope(actor, institution_col))


def _app_key(batch_id: int, result_id: int) -> str:
    return f"{batch_id}:{result_id}"


def _key_expr(batch_id: int):
    """SQL for the application key of each 统考成绩 row in this batch (joins the workflow's unique key)."""
    return literal(f"{batch_id}:", String) + cast(OcesExamResult.id, String)


# ---------------------------------------------------------------- who may write
def has_permission(s: Session, actor: Actor) -> bool:
    """学习中心管理员 always; a 学习中心教师 only with the permission its admin gave."""
    if actor.org_kind != "learning_center" or actor.role not in CENTRE_ROLES:
        return False
    if actor.role == "centre_admin":
        return True
    return bool(s.scalar(select(OcesGrant.id).where(OcesGrant.user_id == actor.user_id)))


def _require_applicant(s: Session, actor: Actor) -> None:
    if actor.role not in CENTRE_ROLES or actor.org_kind != "learning_center":
        raise PermissionDenied("统考英语重考申请由学生所在学习中心的管理员（或获得授权的教师）办理，您只能查看。")
    if not has_permission(s, actor):
        raise PermissionDenied("您的教师账号尚未获得“统考英语重考申请”权限，请联系本学习中心管理员分配。")


def _open_batch(s: Session, batch_id: int, now: datetime | None = None) -> OcesBatch:
    batch = s.get(OcesBatch, batch_id)
    if batch is None:
        raise NotFound("申请批次不存在。")
    now = now or datetime.now()
    if not (batch.open_from <= now <= batch.open_to):
        raise DomainError(f"申请批次“{batch.code} {batch.name}”的申请时间为 {batch.open_from:%Y-%m-%d %H:%M} 至 "
                          f"{batch.open_to:%Y-%m-%d %H:%M}，当前不在申请时间内，不能申请、修改或取消。")
    return batch


# ---------------------------------------------------------------- 申请批次
@dataclass
class BatchInfo:
    id: int
    code: str
    name: str
    open_from: datetime
    open_to: datetime
    is_open: bool

    @property
    def label(self) -> str:
        return f"{self.code} {self.name}" + ("（申请中）" if self.is_open else "")

    @property
    def period(self) -> str:
        return f"{self.open_from:%Y-%m-%d %H:%M} 至 {self.open_to:%Y-%m-%d %H:%M}"


def list_batches(s: Session, actor: Actor, now: datetime | None = None) -> list[BatchInfo]:
    """申请批次, newest first (the same for everyone: batches are set by the 考试中心)."""
    now = now or datetime.now()
    return [BatchInfo(b.id, b.code, b.name, b.open_from, b.open_to, b.open_from <= now <= b.open_to)
            for b in s.scalars(select(OcesBatch).order_by(OcesBatch.open_from.desc(), OcesBatch.id.desc()))]


def save_batch(s: Session, actor: Actor, code: str, name: str, open_from: datetime, open_to: datetime,
               batch_id: int | None = None) -> int:
    """新增/修改申请批次 (考试中心管理员)."""
    if actor.role != "center_admin":
        raise PermissionDenied("申请批次由考试中心管理员设置。")
    code = unicodedata.normalize("NFKC", code or "").strip()
    name = (name or "").strip()
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,20}", code):
        raise ValidationError("批次代码须为 1–20 位字母、数字、下划线或减号。", "批次代码")
    if not name or len(name) > 100:
        raise ValidationError("批次名称不能为空，且不超过 100 个字符。", "批次名称")
    if not open_from or not open_to or open_to <= open_from:
        raise ValidationError("申请结束时间必须晚于开始时间。", "申请时间")
    clash = s.scalar(select(OcesBatch.id).where(OcesBatch.code == code, OcesBatch.id != (batch_id or -1)))
    if clash:
        raise ValidationError(f"批次代码“{code}”已存在。", "批次代码")
    if batch_id:
        b = s.get(OcesBatch, batch_id)
        if b is None:
            raise NotFound("申请批次不存在。")
        before = {"code": b.code, "name": b.name, "open_from": str(b.open_from), "open_to": str(b.open_to)}
        b.code, b.name, b.open_from, b.open_to = code, name, open_from, open_to
        action = "update"
    else:
        b = OcesBatch(code=code, name=name, open_from=open_from, open_to=open_to)
        s.add(b)
        before, action = None, "create"
    s.flush()
    audit(s, actor, action, "申请批次", b.id, before=before,
          after={"code": code, "name": name, "open_from": str(open_from), "open_to": str(open_to)},
          summary=f"{'修改' if batch_id else '新增'}申请批次：{code} {name}（{open_from:%Y-%m-%d %H:%M} 至 "
                  f"{open_to:%Y-%m-%d %H:%M}）")
    return b.id


# ---------------------------------------------------------------- the query form
@dataclass
class ReexamQuery:
    """The manual's query form. batch_id is required (the list is per 申请批次)."""

    batch_id: int
    institution_id: int | None = None
    centre_id: int | None = None
    enrol_batch: str = ""
    level: str = ""
    major: str = ""
    subject: str = ""
    name: str = ""
    student_no: str = ""
    id_number: str = ""
    condition: str = ""  # passed / exempt
    apply_state: str = ""  # applied / none
    review_state: str = ""  # pending / approved / rejected


def filter_options(s: Session, actor: Actor) -> dict[str, Any]:
    """Choices of the query form, from the actor's visible students only."""
    Inst, Centre = aliased(Org), aliased(Org)
    base = select(OcesStudent).where(oces_visible(actor)).subquery()
    insts = s.execute(select(Inst.id, Inst.code, Inst.name).where(Inst.id.in_(select(base.c.institution_id)))
                      .order_by(Inst.code)).all()
    centres = s.execute(select(Centre.id, Centre.code, Centre.name).where(Centre.id.in_(select(base.c.centre_id)))
                        .order_by(Centre.code)).all()

    def distinct(col) -> list[str]:
        return [v for v in s.scalars(select(col).distinct().order_by(col)) if v]

    return {"institutions": {r.id: r.name for r in insts}, "centres": {r.id: r.name for r in centres},
            "enrol_batches": distinct(base.c.enrol_batch), "levels": distinct(base.c.level),
            "majors": distinct(base.c.major), "subjects": list(ENGLISH_SUBJECTS)}


def _norm(text: str | None) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or ""))


def _base_query(actor: Actor, q: ReexamQuery, cols):
    Centre, Inst = aliased(Org), aliased(Org)
    key = _key_expr(q.batch_id)
    proof = exists().where(Attachment.application_id == Application.id)
    stmt = (select(*cols(Centre, Inst, proof)).select_from(OcesExamResult)
            .join(OcesStudent, OcesStudent.id == OcesExamResult.student_id)
            .join(Centre, Centre.id == OcesStudent.centre_id)
            .join(Inst, Inst.id == OcesStudent.institution_id)
            .outerjoin(Application, (Application.kind == KIND) & (Application.subject_key == key))
            .where(oces_visible(actor), OcesExamResult.status.in_(tuple(CONDITIONS)),
                   OcesExamResult.subject.in_(ENGLISH_SUBJECTS)))
    live = Application.id.is_not(None) & (Application.state != "cancelled")
    if q.institution_id:
        stmt = stmt.where(OcesStudent.institution_id == q.institution_id)
    if q.centre_id:
        stmt = stmt.where(OcesStudent.centre_id == q.centre_id)
    for value, col in ((q.enrol_batch, OcesStudent.enrol_batch), (q.level, OcesStudent.level),
                       (q.major, OcesStudent.major), (q.subject, OcesExamResult.subject)):
        if value:
            stmt = stmt.where(col == value)
    if _norm(q.name):
        stmt = stmt.where(OcesStudent.name.contains(_norm(q.name), autoescape=True))
    if _norm(q.student_no):
        stmt = stmt.where(OcesStudent.student_no == _norm(q.student_no))
    if _norm(q.id_number):
        stmt = stmt.where(OcesStudent.id_number == _norm(q.id_number).upper())
    if q.condition:
        stmt = stmt.where(OcesExamResult.status == q.condition)
    if q.apply_state == "applied":
        stmt = stmt.where(live)
    elif q.apply_state == "none":
        stmt = stmt.where(~live)
    if q.review_state:
        stmt = stmt.where(live, Application.state == q.review_state)
    return stmt, proof


def _columns(Centre, Inst, proof):
    return (OcesExamResult.id.label("result_id"), OcesExamResult.subject, OcesExamResult.score,
            OcesExamResult.status, OcesStudent.id.label("student_id"), OcesStudent.name, OcesStudent.student_no,
            OcesStudent.id_number, OcesStudent.enrol_batch, OcesStudent.level, OcesStudent.major,
            Centre.name.label("centre"), Inst.name.label("institution"),
            Application.id.label("app_id"), Application.state, Application.version, Application.data,
            Application.updated_at, proof.label("has_proof"))


def _operations(state: str | None) -> str:
    if state in (None, "cancelled"):
        return "申请"
    if state == "pending":
        return "修改 取消申请"
    if state == "rejected":
        return "修改 取消申请 审核信息"
    return "审核信息"


def _row(r) -> dict[str, Any]:
    live = r.app_id is not None and r.state != "cancelled"
    data = r.data or {}
    return {"result_id": r.result_id, "app_id": r.app_id if live else None, "version": r.version,
            "state": r.state if live else None,
            "学习中心": r.centre, "院校": r.institution, "入学批次": r.enrol_batch, "层次": r.level,
            "专业": r.major, "科目": r.subject, "姓名": r.name, "学号": r.student_no, "统考成绩": r.score or "",
            "合格状态": RESULT_STATUS.get(r.status, r.status),
            "申请条件": data.get("condition_label") if live and data.get("condition_label")
            else CONDITIONS.get(r.status, ""),
            "合格批次": data.get("pass_batch", "") if live else "",
            "证明材料": "已上传" if live and r.has_proof else "未上传",
            "申请状态": "已申请" if live else "未申请",
            "审核状态": STATES[r.state] if live else "",
            "操作": _operations(r.state)}


def list_students(s: Session, actor: Actor, q: ReexamQuery, page: int = 1, page_size: int = 10
                  ) -> tuple[list[dict[str, Any]], int]:
    """The 统考英语重考申请 list: only students who passed the unified English exam or were exempted
    (数据范围说明), with their application in the chosen 申请批次. Paged in SQL."""
    if not q.batch_id:
        raise ValidationError("请选择申请批次代码。", "批次代码")
    page_size = max(1, min(int(page_size), 500))
    stmt, _ = _base_query(actor, q, _columns)
    total = int(s.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = s.execute(stmt.order_by(OcesStudent.enrol_batch, OcesStudent.student_no, OcesExamResult.subject)
                     .offset((max(1, page) - 1) * page_size).limit(page_size)).all()
    return [_row(r) for r in rows], total


# ---------------------------------------------------------------- 申请: the student's 基本信息 and the form
def _result_in_scope(s: Session, actor: Actor, result_id: int) -> tuple[OcesExamResult, OcesStudent]:
    got = s.execute(select(OcesExamResult, OcesStudent).join(OcesStudent, OcesStudent.id == OcesExamResult.student_id)
                    .where(OcesExamResult.id == result_id, oces_visible(actor))).first()
    if got is None:
        raise NotFound("学生统考成绩不存在或不在您的管理范围内。")
    return got[0], got[1]


def _unmasked(actor: Actor) -> bool:
    """The 院校 owns its students' records; a 学习中心 and onlookers see ID and phone numbers masked."""
    return actor.role in REVIEW_ROLES


def student_detail(s: Session, actor: Actor, batch_id: int, result_id: int) -> dict[str, Any]:
    """申请 / 修改 dialog: 基本信息 (masked as the role requires) and 申请信息 (current values)."""
    res, st = _result_in_scope(s, actor, result_id)
    centre, inst = s.get(Org, st.centre_id), s.get(Org, st.institution_id)
    show_id = (lambda v: v) if _unmasked(actor) else mask_id
    show_phone = (lambda v: v) if _unmasked(actor) else mask_phone
    basic = {"姓名": st.name, "性别": st.gender or "", "民族": st.ethnicity or "", "出生年月": st.birth or "",
             "身份证号": show_id(st.id_number) or "", "学号": st.student_no, "院校": inst.name,
             "学习中心": centre.name, "入学批次": st.enrol_batch, "学籍批次": st.status_batch or "",
             "层次": st.level, "专业": st.major, "联系电话": show_phone(st.phone) or "",
             "手机": show_phone(st.mobile) or ""}
    app = s.scalar(select(Application).where(Application.kind == KIND,
                                             Application.subject_key == _app_key(batch_id, result_id)))
    live = app is not None and app.state != "cancelled"
    data = (app.data or {}) if live else {}
    return {"basic": basic, "subject": res.subject, "status": res.status,
            "condition": data.get("condition") or (res.status if res.status in CONDITIONS else ""),
            "pass_batch": data.get("pass_batch") or res.pass_batch or "",
            "app_id": app.id if live else None, "state": app.state if live else None,
            "version": app.version if live else None, "has_proof": bool(live and data.get("proof_id"))}


def check_pass_batch(text: str | None, known: str | None = None, now: datetime | None = None) -> str:
    """合格批次: six digits yyyymm (e.g. 201704), a real month, not in the future; when the 统考成绩 record
    carries the batch it passed in, the typed one must be the same."""
    t = _norm(text)
    if not t:
        raise ValidationError("请输入合格批次（成绩合格或免考通过的统考批次，如 201704）。", "合格批次")
    if not re.fullmatch(r"\d{6}", t):
        raise ValidationError(f"合格批次“{text}”格式不正确，应为 6 位年月，如 201704。", "合格批次")
    year, month = int(t[:4]), int(t[4:])
    now = now or datetime.now()
    if not 1 <= month <= 12:
        raise ValidationError(f"合格批次“{t}”的月份不正确（应为 01–12）。", "合格批次")
    if year < 2000 or (year, month) > (now.year, now.month):
        raise ValidationError(f"合格批次“{t}”不在有效范围内（2000 年 1 月至本月）。", "合格批次")
    if known and known != t:
        raise ValidationError(f"合格批次“{t}”与统考成绩记录中的合格批次（{known}）不一致，请核对。", "合格批次")
    return t


def _check_form(res: OcesExamResult, condition: str, pass_batch: str | None, now: datetime | None) -> dict[str, Any]:
    if res.status not in CONDITIONS or res.subject not in ENGLISH_SUBJECTS:
        raise DomainError("只有统考大学英语成绩合格或办理统考免考通过的学生才能申请重考。")
    if condition not in CONDITIONS:
        raise ValidationError("请选择申请条件（统考英语合格 / 统考英语免考）。", "申请条件")
    if condition != res.status:
        raise ValidationError(f"申请条件“{CONDITIONS[condition]}”与该生的合格状态（{RESULT_STATUS[res.status]}）"
                              f"不符，应选择“{CONDITIONS[res.status]}”。", "申请条件")
    return {"condition": condition, "condition_label": CONDITIONS[condition],
            "pass_batch": check_pass_batch(pass_batch, res.pass_batch, now)}


def _store_proof(s: Session, actor: Actor, proof: bytes | None, filename: str | None) -> Attachment | None:
    if not proof:
        return None
    return store_file(s, actor, proof, filename or "证明材料.jpg", allowed=PROOF_TYPES, max_bytes=PROOF_MAX_BYTES)


@dataclass
class ApplyResult:
    app_id: int
    created: bool  # False: the application already existed (a repeated 提交): nothing was written
    state: str
    message: str


def reexam_apply(s: Session, actor: Actor, batch_id: int, result_id: int, condition: str, pass_batch: str | None,
                 proof: bytes | None = None, filename: str | None = None, now: datetime | None = None) -> ApplyResult:
    """申请 → 提交: one application per (申请批次, 统考成绩). A repeated or concurrent 提交 returns the
    existing application and writes nothing; after 取消申请 it is reopened with the new data."""
    _require_applicant(s, actor)
    batch = _open_batch(s, batch_id, now)
    res, st = _result_in_scope(s, actor, result_id)
    if st.centre_id != actor.org_id:
        raise PermissionDenied("只能为本学习中心的学生申请。")
    key = _app_key(batch.id, res.id)
    existing = s.scalar(select(Application).where(Application.kind == KIND, Application.subject_key == key))
    if existing is not None and existing.state != "cancelled":
        return ApplyResult(existing.id, False, existing.state,
                           f"该学生已申请（{STATES[existing.state]}），请勿重复提交。")
    values = _check_form(res, condition, pass_batch, now)
    att = _store_proof(s, actor, proof, filename)
    token = uuid.uuid4().hex
    centre, inst = s.get(Org, st.centre_id), s.get(Org, st.institution_id)
    data = {"batch": f"{batch.code} {batch.name}", "batch_id": batch.id, "result_id": res.id, "student_id": st.id,
            "centre": centre.name, "institution": inst.name, "student_no": st.student_no, "name": st.name,
            "subject": res.subject, **values, "proof": att.filename if att else "未上传",
            "proof_id": att.id if att else None, "token": token}
    try:
        app = submit(s, actor, SPEC, key, st.centre_id, st.institution_id, data, [att] if att else ())
    except StaleVersion:  # a concurrent 提交 reopened it first
        app = s.scalar(select(Application).where(Application.kind == KIND, Application.subject_key == key)
                       .execution_options(populate_existing=True))
        if att is not None:
            s.delete(att)
        return ApplyResult(app.id, False, app.state, f"该学生已申请（{STATES[app.state]}），请勿重复提交。")
    if (app.data or {}).get("token") != token:  # someone else's concurrent 提交 won: ours is not used
        if att is not None and att.application_id != app.id:
            s.delete(att)
        return ApplyResult(app.id, False, app.state, f"该学生已申请（{STATES[app.state]}），请勿重复提交。")
    return ApplyResult(app.id, True, app.state, "申请成功")


def _own_app(s: Session, actor: Actor, app_id: int) -> Application:
    app = get_application(s, actor, app_id, SPEC)
    if app.org_id != actor.org_id:
        raise PermissionDenied("只能处理本学习中心的申请。")
    return app


def reexam_modify(s: Session, actor: Actor, app_id: int, condition: str, pass_batch: str | None,
                  proof: bytes | None = None, filename: str | None = None, expected_version: int | None = None,
                  now: datetime | None = None) -> ApplyResult:
    """修改 (待审核 / 审核未通过 only): new 申请信息 and optionally a new 证明材料; back to 待审核.
    Submitting the same values again changes nothing (a repeated click)."""
    _require_applicant(s, actor)
    app = _own_app(s, actor, app_id)
    data = dict(app.data or {})
    _open_batch(s, int(data["batch_id"]), now)
    if app.state not in EDITABLE:
        raise DomainError(f"申请当前状态为“{STATES[app.state]}”，只有待审核、审核未通过的申请可以修改。")
    res = s.get(OcesExamResult, int(data["result_id"]))
    values = _check_form(res, condition, pass_batch, now)
    old_proof = s.get(Attachment, data["proof_id"]) if data.get("proof_id") else None
    same_proof = not proof or (old_proof is not None and old_proof.sha256 == sha256(proof).hexdigest())
    if app.state == "pending" and same_proof and all(data.get(k) == v for k, v in values.items()):
        return ApplyResult(app.id, False, app.state, "申请信息没有变化。")
    before = {k: data.get(k) for k in ("condition", "pass_batch", "proof")}
    app = transition(s, actor, SPEC, app.id, "modify", expected_version=expected_version)
    data.update(values)
    if not same_proof:
        att = _store_proof(s, actor, proof, filename)
        s.execute(update(Attachment).where(Attachment.application_id == app.id).values(application_id=None)
                  .execution_options(synchronize_session=False))  # the replaced proof is no longer shown
        att.application_id = app.id
        data.update(proof=att.filename, proof_id=att.id)
    app.data = data
    s.flush()
    audit(s, actor, "update", TITLE, app.id, org_id=app.org_id, before=before,
          after={k: data.get(k) for k in ("condition", "pass_batch", "proof")},
          summary=f"修改统考英语重考申请：{data.get('student_no')} {data.get('name')}（合格批次 {data['pass_batch']}）")
    return ApplyResult(app.id, True, app.state, "修改成功")


def reexam_cancel(s: Session, actor: Actor, app_id: int, expected_version: int | None = None,
                  now: datetime | None = None) -> ApplyResult:
    """取消申请 (待审核 / 审核未通过 only). Cancelling a cancelled application again changes nothing."""
    _require_applicant(s, actor)
    app = _own_app(s, actor, app_id)
    _open_batch(s, int((app.data or {})["batch_id"]), now)
    if app.state == "cancelled":
        return ApplyResult(app.id, False, app.state, "该申请已取消。")
    if app.state not in EDITABLE:
        raise DomainError(f"申请当前状态为“{STATES[app.state]}”，只有待审核、审核未通过的申请可以取消。")
    app = transition(s, actor, SPEC, app.id, "cancel", expected_version=expected_version)
    return ApplyResult(app.id, True, app.state, "已取消申请")


# ---------------------------------------------------------------- 审核 (the 院校)
@dataclass
class ReviewQuery:
    batch_id: int
    centre_id: int | None = None
    state: str = "pending"
    name: str = ""
    student_no: str = ""


def _review_stmt(actor: Actor, q: ReviewQuery):
    if not q.batch_id:
        raise ValidationError("请选择申请批次代码。", "批次代码")
    Centre, Inst = aliased(Org), aliased(Org)
    stmt = (select(Application.id, Application.state, Application.version, Application.data,
                   Application.updated_at, Centre.name.label("centre"), Inst.name.label("institution"),
                   OcesStudent.name, OcesStudent.student_no, OcesStudent.enrol_batch, OcesStudent.level,
                   OcesStudent.major, OcesExamResult.subject, OcesExamResult.score,
                   exists().where(Attachment.application_id == Application.id).label("has_proof"))
            .select_from(Application)
            .join(OcesExamResult, Application.subject_key == _key_expr(q.batch_id))
            .join(OcesStudent, OcesStudent.id == OcesExamResult.student_id)
            .join(Centre, Centre.id == Application.org_id)
            .join(Inst, Inst.id == Application.reviewer_org_id)
            .where(Application.kind == KIND, Application.state != "cancelled",
                   oces_visible(actor, Application.org_id, Application.reviewer_org_id)))
    if q.state:
        stmt = stmt.where(Application.state == q.state)
    if q.centre_id:
        stmt = stmt.where(Application.org_id == q.centre_id)
    if _norm(q.name):
        stmt = stmt.where(OcesStudent.name.contains(_norm(q.name), autoescape=True))
    if _norm(q.student_no):
        stmt = stmt.where(OcesStudent.student_no == _norm(q.student_no))
    return stmt


def review_centres(s: Session, actor: Actor) -> dict[int, str]:
    """The 学习中心 whose applications the actor may see (the review page's filter)."""
    ids = select(Application.org_id).where(Application.kind == KIND,
                                           oces_visible(actor, Application.org_id, Application.reviewer_org_id))
    return {i: n for i, n in s.execute(select(Org.id, Org.name).where(Org.id.in_(ids)).order_by(Org.code))}


def list_reviews(s: Session, actor: Actor, q: ReviewQuery, page: int = 1, page_size: int = 20
                 ) -> tuple[list[dict[str, Any]], int]:
    """重考申请审核 list: the applications of the actor's 院校 (from every 学习中心), 待审核 by default."""
    stmt = _review_stmt(actor, q)
    total = int(s.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    page_size = max(1, min(int(page_size), 500))
    rows = s.execute(stmt.order_by(Application.updated_at, Application.id)
                     .offset((max(1, page) - 1) * page_size).limit(page_size)).all()
    out = []
    for r in rows:
        d = r.data or {}
        out.append({"app_id": r.id, "version": r.version, "学习中心": r.centre, "院校": r.institution,
                    "入学批次": r.enrol_batch, "层次": r.level, "专业": r.major, "学号": r.student_no,
                    "姓名": r.name, "统考科目": r.subject, "统考成绩": r.score or "",
                    "申请条件": d.get("condition_label", ""), "合格批次": d.get("pass_batch", ""),
                    "证明材料": "已上传" if r.has_proof else "未上传", "审核状态": STATES.get(r.state, r.state),
                    "申请时间": r.updated_at.strftime("%Y-%m-%d %H:%M") if r.updated_at else ""})
    return out, total


def review_counts(s: Session, actor: Actor, batch_id: int) -> dict[str, int]:
    """待审核 / 审核通过 / 审核未通过 counts of the batch in the actor's view."""
    sub = _review_stmt(actor, ReviewQuery(batch_id=batch_id, state="")).subquery()
    got = dict(s.execute(select(sub.c.state, func.count()).group_by(sub.c.state)).all())
    return {label: int(got.get(k, 0)) for k, label in REVIEW_STATES.items()}


def reexam_review(s: Session, actor: Actor, app_ids: list[int], action: str, reason: str | None = None,
                  expected_version: int | None = None) -> int:
    """审核通过 / 审核未通过 (with a reason), one or many. Only 待审核 applications of the reviewer's own
    院校 move; the others are skipped. Returns how many moved."""
    if actor.role not in REVIEW_ROLES:
        raise PermissionDenied("重考申请由学生所在院校的院校审核员审核。")
    if action not in ("approve", "reject"):
        raise ValidationError("未知的审核操作。")
    ids = list(dict.fromkeys(int(i) for i in app_ids))
    if not ids:
        raise ValidationError("请先选择要审核的申请。")
    if len(ids) == 1 and expected_version is not None:
        app = get_application(s, actor, ids[0], SPEC)
        if app.state != "pending":
            raise DomainError(f"该申请当前状态为“{STATES[app.state]}”，不能再审核。")
        transition(s, actor, SPEC, ids[0], action, reason=reason, expected_version=expected_version)
        return 1
    return len(transition_many(s, actor, SPEC, ids, action, reason))


def review_history(s: Session, actor: Actor, app_id: int) -> list[dict[str, str]]:
    """审核信息: the application's history, oldest first."""
    names = {t.action: t.title for t in SPEC.transitions} | {"submit": "提交申请", "resubmit": "重新申请"}
    return [{"时间": e.at.strftime("%Y-%m-%d %H:%M:%S") if e.at else "", "操作": names.get(e.action, e.action),
             "状态": STATES.get(e.to_state, e.to_state), "操作人": e.actor_name or "", "意见": e.reason or ""}
            for e in history(s, actor, app_id)]


def proof_image(s: Session, actor: Actor, app_id: int) -> tuple[str, bytes] | None:
    """The current 证明材料 of an application the actor may see, or None."""
    from core.workflow import read_attachment

    app = get_application(s, actor, app_id, SPEC)
    att_id = (app.data or {}).get("proof_id")
    if not att_id:
        return None
    att, data = read_attachment(s, actor, int(att_id))
    return att.filename, data


# ---------------------------------------------------------------- 导出申请数据
EXPORT_HEADER = ["学习中心", "院校", "入学批次", "层次", "专业", "科目", "姓名", "学号", "证件号码", "统考成绩", "合格状态",
                 "申请条件", "合格批次", "证明材料", "申请状态", "审核状态", "审核意见", "申请时间"]


def export_applications(s: Session, actor: Actor, q: ReexamQuery) -> tuple[bytes, int]:
    """导出申请数据: the query's rows (the actor's scope only) as .xlsx; ID numbers masked; formula-safe."""
    if not q.batch_id:
        raise ValidationError("请选择申请批次代码。", "批次代码")
    stmt, _ = _base_query(actor, q, _columns)
    rows = s.execute(stmt.order_by(OcesStudent.enrol_batch, OcesStudent.student_no, OcesExamResult.subject)
                     .limit(EXPORT_LIMIT + 1)).all()
    if len(rows) > EXPORT_LIMIT:
        raise DomainError(f"导出数据超过 {EXPORT_LIMIT} 条，请增加查询条件后分批导出。")
    app_ids = [r.app_id for r in rows if r.app_id is not None]
    reasons: dict[int, str] = {}
    if app_ids:
        from core.models import ApplicationEvent

        for i in range(0, len(app_ids), 900):
            for aid, reason in s.execute(select(ApplicationEvent.application_id, ApplicationEvent.reason)
                                         .where(ApplicationEvent.application_id.in_(app_ids[i:i + 900]),
                                                ApplicationEvent.reason.is_not(None))
                                         .order_by(ApplicationEvent.id)):
                reasons[aid] = reason
    show_id = (lambda v: v) if _unmasked(actor) else mask_id

    def out():
        for r in rows:
            d = _row(r)
            yield [d["学习中心"], d["院校"], d["入学批次"], d["层次"], d["专业"], d["科目"], d["姓名"], d["学号"],
                   show_id(r.id_number) or "", d["统考成绩"], d["合格状态"], d["申请条件"], d["合格批次"],
                   d["证明材料"], d["申请状态"], d["审核状态"], reasons.get(d["app_id"], "") if d["app_id"] else "",
                   r.updated_at.strftime("%Y-%m-%d %H:%M") if d["app_id"] and r.updated_at else ""]

    data = write_xlsx(EXPORT_HEADER, out(), sheet_name="统考英语重考申请")
    batch = s.get(OcesBatch, q.batch_id)
    audit(s, actor, "export", TITLE, None, after={"rows": len(rows), "batch": batch.code if batch else None},
          summary=f"导出统考英语重考申请数据：{len(rows)} 条（批次 {batch.code if batch else q.batch_id}）")
    return data, len(rows)


# ---------------------------------------------------------------- teachers' permission (学习中心管理员)
def _require_centre_admin(actor: Actor) -> None:
    if actor.role != "centre_admin" or actor.org_kind != "learning_center":
        raise PermissionDenied("教师权限由本学习中心管理员分配。")


def teacher_list(s: Session, actor: Actor) -> list[dict[str, Any]]:
    """The centre's teacher accounts and whether each holds the 统考英语重考申请 permission."""
    _require_centre_admin(actor)
    rows = s.execute(select(User.id, User.username, User.name, User.enabled, OcesGrant.id.label("grant"))
                     .outerjoin(OcesGrant, OcesGrant.user_id == User.id)
                     .where(User.org_id == actor.org_id, User.role == "centre_teacher").order_by(User.username)).all()
    return [{"user_id": r.id, "用户名": r.username, "姓名": r.name, "状态": "启用" if r.enabled else "停用",
             "重考申请权限": bool(r.grant)} for r in rows]


def grant_permission(s: Session, actor: Actor, user_id: int, granted: bool) -> bool:
    """分配 / 收回 a teacher's 统考英语重考申请 permission (idempotent). Returns the new state."""
    _require_centre_admin(actor)
    user = s.get(User, user_id)
    if user is None or user.org_id != actor.org_id or user.role != "centre_teacher":
        raise NotFound("教师账号不存在或不属于本学习中心。")
    have = s.scalar(select(OcesGrant).where(OcesGrant.user_id == user_id))
    if bool(have) == bool(granted):
        return bool(granted)
    if granted:
        s.add(OcesGrant(user_id=user_id, granted_by=actor.user_id))
    else:
        s.delete(have)
    s.flush()
    audit(s, actor, "update", "教师权限", user_id, after={"reexam": bool(granted)},
          summary=f"{'分配' if granted else '收回'}教师 {user.username}（{user.name}）的统考英语重考申请权限")
    return bool(granted)


def create_teacher(s: Session, actor: Actor, username: str, name: str, grant: bool = False) -> str:
    """新增本学习中心的教师账号; returns its one-time password (must be changed at first login)."""
    _require_centre_admin(actor)
    username = unicodedata.normalize("NFKC", username or "").strip()
    name = (name or "").strip()
    if not re.fullmatch(r"[A-Za-z0-9_.@-]{3,100}", username):
        raise ValidationError("用户名须为 3–100 位字母、数字或 _ . @ -。", "用户名")
    if not name or len(name) > 50:
        raise ValidationError("姓名不能为空，且不超过 50 个字符。", "姓名")
    if s.scalar(select(User.id).where(or_(User.username == username, User.passport_id == username))):
        raise ValidationError(f"用户名“{username}”已被使用。", "用户名")
    password = generate_password()
    user = User(username=username, passport_id=username, name=name, org_id=actor.org_id, role="centre_teacher",
                password_hash=hash_password(password), must_change_password=True)
    s.add(user)
    s.flush()
    if grant:
        s.add(OcesGrant(user_id=user.id, granted_by=actor.user_id))
    audit(s, actor, "create", "用户", user.id, after={"username": username, "role": "centre_teacher",
                                                     "reexam": bool(grant)},
          summary=f"新增{role_label('centre_teacher')}账号 {username}（{name}）"
                  + ("，并分配统考英语重考申请权限" if grant else ""))
    return password
