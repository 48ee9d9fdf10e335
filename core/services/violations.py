"""违规管理 (001 §38 违规信息管理, §39 违规分类统计).

Rules:
- A 违规 belongs to one 报考 (`Registration`) of a site in the 考次, found by its 准考证号; one per 报考
  (`violation.registration_id` is unique). 违纪类型 is a VIOLATION_CODES code; its category (`kind`,
  one of VIOLATION_KINDS) is stored next to it for counting.
- Viewing: every administrator, scoped (THE predicate `in_scope` on `Violation.site_id`), in the 考次
  being viewed (current or past). Lists are paged in SQL; 证件号码 leave this module masked.
- Writing (新增, 导入, 修改, 删除): only the site's own 考点管理员, in the current 考次, inside the site's
  缺考违纪管理时间 (window "violation", §9) — `registration.site_for_write(..., window="violation")`.
  Upper levels only view and export. Every write is audited.
- 导出: §38 lists 导出 among the operations of the 违规管理时间 and §9 puts 《违规管理》的下载导出 under the
  考后资料下载时间, so a site administrator may export when EITHER window ("violation" or
  "post_exam_download") is open (in the current 考次; a past 考次 is always exportable, §4). Windows
  only bind 考点管理员 (§9.3): upper levels export their scope at any time. Exports are formula-safe
  (write_xlsx) and audited.
- 违规分类统计 (§39) is not limited by the windows.

The bulk import lives in core/imports/specs_violation.py (THE import engine); it reuses the helpers
below (`type_code`, `TYPE_LABELS`, `site_for_write`). No streamlit here.
"""
from __future__ import annotations

import unicodedata
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Iterable

from sqlalchemy import Select, delete, func, select
from sqlalchemy.orm import Session

from core.auth import ADMIN_ROLES, Actor, get_scoped_org, in_scope, require_role
from core.config import LIMITS
from core.errors import DomainError, NotFound, ValidationError
from core.exports.tabular import write_xlsx
from core.masking import mask_id
from core.models import Candidate, Enrollment, Org, Registration, Subject
from core.models.postexam import VIOLATION_CODES, VIOLATION_KINDS, Violation
from core.services import registration as reg
from core.services.base import audit, window_state
from core.services.reg_stats import StatTable, scope_sites, stats_term, total_row

WINDOW = "violation"  # 缺考违纪管理时间: 新增/导入/修改/删除
EXPORT_WINDOWS = ("violation", "post_exam_download")  # either one allows a site's 导出
ENTITY = "违规信息"
REMARK_MAX = 200
SOURCES = {"manual": "手工新增", "import": "导入", "score": "成绩库"}
SITE_COL, SUBJECT_COL, TOTAL_LABEL = "考点", "报考科目", "合计"
STATS_TITLE = "违规分类统计"
STATS_NOTE = "统计功能不受考点操作时间限制；数据为点击“刷新”时的实时数据。表格较宽时可左右滚动查看更多列。"
MAX_DELETE = 5000


# ---------------------------------------------------------------- 违纪类型
def _general_codes() -> dict[str, str]:
    """The general code of each category: the first code of the category (01 缺考, 11 违纪, 21 作弊, 99 其他)."""
    out: dict[str, str] = {}
    for code, (_name, kind) in VIOLATION_CODES.items():
        out.setdefault(kind, code)
    return out


GENERAL_CODES: dict[str, str] = _general_codes()  # kind -> code


def type_label(code: str) -> str:
    """How a 违纪类型 is shown: "作弊-夹带" (category-name); a category's general code by its name ("作弊", "其他")."""
    name, kind = VIOLATION_CODES[code]
    return name if GENERAL_CODES[kind] == code else f"{kind}-{name}"


TYPE_LABELS: dict[str, str] = {code: type_label(code) for code in VIOLATION_CODES}  # the 码表: code -> label


def _aliases() -> dict[str, str]:
    out: dict[str, str] = {}
    for code, (name, kind) in VIOLATION_CODES.items():
        out[code] = code
        out[TYPE_LABELS[code]] = code
        out.setdefault(name, code)  # the fine name (夹带)
    for kind, code in GENERAL_CODES.items():
        out.setdefault(kind, code)  # the category (其他违规 -> 99)
    return out


_ALIASES = _aliases()
TYPE_HINT = "填写违纪类型名称（如“作弊-夹带”或“夹带”）或代码（如 22），可选值见码表"


def type_code(text: Any) -> str | None:
    """A 违纪类型 as typed (code "22" or "1" for "01", label "作弊-夹带", fine name "夹带", category "其他违规";
    full-width characters and spaces tolerated) -> its code, or None when it is none of these."""
    if text is None:
        return None
    t = "".join(unicodedata.normalize("NFKC", str(text)).split())
    t = t.replace("—", "-").replace("－", "-").replace("–", "-")
    if t.isdigit() and len(t) < 2:
        t = t.zfill(2)
    return _ALIASES.get(t)


def require_type(text: Any) -> tuple[str, str]:
    """(code, kind) of a 违纪类型, or ValidationError."""
    code = type_code(text)
    if code is None:
        if text is None or not str(text).strip():
            raise ValidationError("请选择违纪类型。", "违纪类型")
        raise ValidationError(f"违纪类型“{str(text).strip()}”无效（可选：{'、'.join(TYPE_LABELS.values())}）。", "违纪类型")
    return code, VIOLATION_CODES[code][1]


def type_options() -> list[tuple[str, str]]:
    """[(code, label)] for a selectbox, in code order."""
    return list(TYPE_LABELS.items())


def clean_remark(remark: Any) -> str | None:
    t = str(remark or "").strip()
    if len(t) > REMARK_MAX:
        raise ValidationError(f"备注不能超过 {REMARK_MAX} 个字符（现有 {len(t)} 个）。", "备注")
    return t or None


def clean_ticket(text: Any) -> str:
    """A 准考证号 as typed: full-width digits and every space removed."""
    return "".join(unicodedata.normalize("NFKC", str(text or "")).split())


def subject_text(code: str, name: str) -> str:
    """科目 as the manual shows it: "(14)计算机基础及WPS Office"."""
    return f"({code}){name}"


# ---------------------------------------------------------------- who may write
def site_for_write(s: Session, actor: Actor, site_id: int, what: str = "违规管理"):
    """The site, when the actor is its own 考点管理员, in the current 考次, inside its 缺考违纪管理时间."""
    return reg.site_for_write(s, actor, site_id, what, window=WINDOW)


def can_write(s: Session, actor: Actor, site_id: int) -> bool:
    """Whether `site_for_write` would pass now (for the page's disabled widgets)."""
    try:
        site_for_write(s, actor, site_id)
    except DomainError:
        return False
    return True


def require_export(s: Session, actor: Actor) -> None:
    """导出: a 考点管理员 in the current 考次 needs its 缺考违纪管理时间 OR its 考后资料下载时间 open (§38 lists
    导出 under the first, §9 under the second: either is accepted). Upper levels and past 考次: no window."""
    require_role(actor, *ADMIN_ROLES)
    if actor.org_kind != "site" or not actor.term_is_current:
        return
    states = [window_state(s, actor, k) for k in EXPORT_WINDOWS]
    if not any(st.is_open for st in states):
        raise DomainError("不在缺考违纪管理时间或考后资料下载时间内，不能导出违规信息（"
                          + "；".join(st.text for st in states) + "）。如需导出，请向上级管理员申请。")


def export_allowed(s: Session, actor: Actor) -> bool:
    try:
        require_export(s, actor)
    except DomainError:
        return False
    return True


# ---------------------------------------------------------------- the query
@dataclass
class ViolationQuery:
    """违规信息 query: 考点 (None = every site in scope), 准考证号 (prefix), 姓名 (contains), 证件号 (exact),
    科目, 违纪类型 (code) and 违纪类别 (kind)."""

    site_id: int | None = None
    ticket_no: str = ""
    name: str = ""
    id_number: str = ""
    subject_id: int | None = None
    code: str = ""
    kind: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, "")}


_NAME = func.coalesce(Enrollment.name, Candidate.name)
_IDN = func.coalesce(Enrollment.id_number, Candidate.id_number)


def _filtered(actor: Actor, q: ViolationQuery, *cols) -> Select:
    stmt = (select(*cols).select_from(Violation)
            .join(Registration, Registration.id == Violation.registration_id)
            .join(Candidate, Candidate.id == Registration.candidate_id)
            .outerjoin(Enrollment, Enrollment.id == Registration.enrollment_id)
            .where(Violation.term_id == actor.term_id, in_scope(actor, Violation.site_id)))
    if q.site_id:
        stmt = stmt.where(Violation.site_id == q.site_id)
    if q.ticket_no.strip():
        stmt = stmt.where(Violation.ticket_no.startswith(clean_ticket(q.ticket_no), autoescape=True))
    if q.name.strip():
        stmt = stmt.where(_NAME.contains(q.name.strip(), autoescape=True))
    if q.id_number.strip():
        stmt = stmt.where(_IDN == clean_ticket(q.id_number).upper())
    if q.subject_id:
        stmt = stmt.where(Violation.subject_id == q.subject_id)
    if q.code:
        stmt = stmt.where(Violation.code == q.code)
    if q.kind:
        stmt = stmt.where(Violation.kind == q.kind)
    return stmt


def count_violations(s: Session, actor: Actor, q: ViolationQuery) -> int:
    require_role(actor, *ADMIN_ROLES)
    return int(s.scalar(select(func.count()).select_from(_filtered(actor, q, Violation.id).subquery())) or 0)


def _row_cols():
    return (Violation.id, Violation.site_id, Violation.ticket_no, _NAME, _IDN, Subject.code, Subject.name,
            Violation.code, Violation.kind, Violation.remark, Violation.source, Violation.created_at)


def _as_row(r, sites: dict[int, str]) -> dict[str, Any]:
    (vid, site_id, ticket, name, idn, scode, sname, code, kind, remark, source, created) = r
    return {"id": vid, "考点": sites.get(site_id, ""), "准考证号": ticket, "姓名": name, "证件号码": mask_id(idn),
            "考试科目": subject_text(scode, sname), "违纪类型": TYPE_LABELS.get(code, code), "违纪类别": kind,
            "备注": remark or "", "录入方式": SOURCES.get(source, source), "录入时间": created}


def _site_labels(s: Session, ids: Iterable[int]) -> dict[int, str]:
    ids = set(ids)
    if not ids:
        return {}
    return {o.id: f"({o.code}){o.name}" for o in s.scalars(select(Org).where(Org.id.in_(ids)))}


def list_violations(s: Session, actor: Actor, q: ViolationQuery, page: int = 1,
                    page_size: int | None = None) -> tuple[list[dict[str, Any]], int]:
    """One page of 违规信息 (证件号码 masked), newest first, and the total count."""
    require_role(actor, *ADMIN_ROLES)
    page_size = max(1, min(page_size or LIMITS.page_size, 500))
    total = count_violations(s, actor, q)
    stmt = (_filtered(actor, q, *_row_cols()).join(Subject, Subject.id == Violation.subject_id)
            .order_by(Violation.id.desc()).limit(page_size).offset(max(page - 1, 0) * page_size))
    rows = s.execute(stmt).all()
    sites = _site_labels(s, (r[1] for r in rows))
    return [_as_row(r, sites) for r in rows], total


def get_violation(s: Session, actor: Actor, violation_id: int) -> dict[str, Any]:
    """One 违规 (scoped, 证件号码 masked) as a list row."""
    require_role(actor, *ADMIN_ROLES)
    r = s.execute(_filtered(actor, ViolationQuery(), *_row_cols()).join(Subject, Subject.id == Violation.subject_id)
                  .where(Violation.id == violation_id)).first()
    if r is None:
        raise NotFound("该违规信息不存在或不在您的管理范围内，请刷新后重试。")
    return _as_row(r, _site_labels(s, [r[1]]))


def subject_options(s: Session, actor: Actor, site_id: int | None = None) -> list[tuple[int, str]]:
    """Subjects registered in the viewed 考次 at the site (or the sites in scope): [(id, "(14)名称")]."""
    require_role(actor, *ADMIN_ROLES)
    q = (select(Subject.id, Subject.code, Subject.name).where(Subject.id.in_(
        select(Registration.subject_id).where(Registration.term_id == actor.term_id,
                                              in_scope(actor, Registration.site_id),
                                              *([Registration.site_id == site_id] if site_id else []))))
         .order_by(Subject.code))
    return [(i, subject_text(c, n)) for i, c, n in s.execute(q)]


# ---------------------------------------------------------------- 准考证号 lookup (新增)
@dataclass(frozen=True)
class TicketInfo:
    registration_id: int
    site_id: int
    subject_id: int
    ticket_no: str
    name: str
    id_masked: str
    subject: str

    def as_row(self) -> dict[str, str]:
        return {"准考证号": self.ticket_no, "姓名": self.name, "证件号": self.id_masked, "考试科目": self.subject}


def ticket_lookup(s: Session, term_id: int, tickets: list[str]) -> dict[str, tuple]:
    """{准考证号: (registration id, site id, subject id, name, id number, subject code, subject name,
    violation id or None)} of the 考次, in chunked bulk queries."""
    out: dict[str, tuple] = {}
    for part in reg.chunks(sorted(set(tickets))):
        for r in s.execute(
                select(Registration.ticket_no, Registration.id, Registration.site_id, Registration.subject_id,
                       _NAME, _IDN, Subject.code, Subject.name, Violation.id)
                .join(Candidate, Candidate.id == Registration.candidate_id)
                .outerjoin(Enrollment, Enrollment.id == Registration.enrollment_id)
                .join(Subject, Subject.id == Registration.subject_id)
                .outerjoin(Violation, Violation.registration_id == Registration.id)
                .where(Registration.term_id == term_id, Registration.ticket_no.in_(part))):
            out[r[0]] = tuple(r[1:])
    return out


def ticket_problem(found: tuple | None, ticket: str, site_id: int, *, allow_existing: bool = False) -> str | None:
    """The Chinese message why `ticket` cannot get a new 违规 at the site (None: it can)."""
    if found is None:
        return f"本考次没有准考证号为“{ticket}”的考生，请核对准考证号"
    if found[1] != site_id:
        return f"准考证号“{ticket}”不是本考点的考生"
    if found[7] is not None and not allow_existing:
        return f"准考证号“{ticket}”已有违规信息，请在列表中修改"
    return None


def lookup_ticket(s: Session, actor: Actor, site_id: int, ticket_no: str) -> TicketInfo:
    """新增 (§38.3): the candidate behind a 准考证号 of the site in the current 考次: 姓名, masked 证件号, 科目.
    DomainError when the number is empty, not found, of another site, or already has a 违规."""
    require_role(actor, *ADMIN_ROLES)
    site = get_scoped_org(s, actor, site_id)
    if site.kind != "site":
        raise NotFound("请选择考点。")
    ticket = clean_ticket(ticket_no)
    if not ticket:
        raise ValidationError("请输入准考证号。", "准考证号")
    if len(ticket) > 30:
        raise ValidationError("准考证号过长，请核对。", "准考证号")
    found = ticket_lookup(s, actor.term_id, [ticket]).get(ticket)
    problem = ticket_problem(found, ticket, site.id)
    if problem:
        raise ValidationError(problem + "。", "准考证号")
    reg_id, sid, subject_id, name, idn, scode, sname, _vid = found
    return TicketInfo(reg_id, sid, subject_id, ticket, name, mask_id(idn), subject_text(scode, sname))


# ---------------------------------------------------------------- writes
def _after(v: Violation) -> dict[str, Any]:
    return {"ticket_no": v.ticket_no, "code": v.code, "kind": v.kind, "remark": v.remark, "source": v.source}


def add_violation(s: Session, actor: Actor, site_id: int, ticket_no: str, violation_type: str,
                  remark: str | None = None) -> int:
    """新增 (§38.3): 准考证号 and 违纪类型 (a code or a label) required, 备注 optional. Returns the new id."""
    site = site_for_write(s, actor, site_id, "违规信息新增")
    code, kind = require_type(violation_type)
    remark = clean_remark(remark)
    info = lookup_ticket(s, actor, site.id, ticket_no)
    v = Violation(term_id=actor.term_id, site_id=site.id, registration_id=info.registration_id,
                  subject_id=info.subject_id, ticket_no=info.ticket_no, kind=kind, code=code, remark=remark,
                  source="manual", created_by=actor.user_id)
    s.add(v)
    s.flush()
    audit(s, actor, "create", ENTITY, v.id, org_id=site.id, after=_after(v),
          summary=f"新增违规信息：准考证号 {info.ticket_no}，{TYPE_LABELS[code]}")
    return v.id


def _scoped(s: Session, actor: Actor, ids: list[int]) -> list[Violation]:
    ids = list(dict.fromkeys(int(i) for i in ids))
    out: list[Violation] = []
    for part in reg.chunks(ids):
        out += list(s.scalars(select(Violation).where(Violation.id.in_(part), Violation.term_id == actor.term_id,
                                                      in_scope(actor, Violation.site_id))))
    if len(out) != len(ids):
        raise NotFound("部分违规信息不存在或不在您的管理范围内，请刷新后重试。")
    return out


def edit_violation(s: Session, actor: Actor, violation_id: int, violation_type: str,
                   remark: str | None = None) -> None:
    """修改 (§38.1): the 违纪类型 and 备注 of one 违规 (the 准考证号 cannot change: delete and add instead)."""
    require_role(actor, *ADMIN_ROLES)
    v = _scoped(s, actor, [violation_id])[0]
    site_for_write(s, actor, v.site_id, "违规信息修改")
    code, kind = require_type(violation_type)
    remark = clean_remark(remark)
    before = _after(v)
    if (v.code, v.remark) == (code, remark):
        return
    v.code, v.kind, v.remark = code, kind, remark
    s.flush()
    audit(s, actor, "update", ENTITY, v.id, org_id=v.site_id, before=before, after=_after(v),
          summary=f"修改违规信息：准考证号 {v.ticket_no}，{TYPE_LABELS.get(before['code'], before['code'])} → "
                  f"{TYPE_LABELS[code]}")


def delete_violations(s: Session, actor: Actor, ids: list[int]) -> int:
    """删除 (§38.1) the selected 违规 (one or many, all of the actor's own site). Returns how many."""
    require_role(actor, *ADMIN_ROLES)
    if not ids:
        raise ValidationError("请先选择要删除的违规信息。")
    if len(ids) > MAX_DELETE:
        raise ValidationError(f"一次最多删除 {MAX_DELETE} 条。")
    rows = _scoped(s, actor, ids)
    sites = {v.site_id for v in rows}
    if len(sites) != 1:
        raise ValidationError("一次只能删除同一考点的违规信息。")
    site_id = sites.pop()
    site_for_write(s, actor, site_id, "违规信息删除")
    gone = [v.id for v in rows]
    for part in reg.chunks(gone):
        s.execute(delete(Violation).where(Violation.id.in_(part)))
    audit(s, actor, "delete", ENTITY, gone[0] if len(gone) == 1 else None, org_id=site_id,
          before={"violations": [_after(v) for v in rows[:200]]},
          summary=f"删除违规信息 {len(gone)} 条：" + "、".join(v.ticket_no for v in rows[:10])
                  + ("等" if len(rows) > 10 else ""))
    return len(gone)


def delete_violation(s: Session, actor: Actor, violation_id: int) -> int:
    return delete_violations(s, actor, [violation_id])


# ---------------------------------------------------------------- export
EXPORT_HEADER = ["考点代码", "考点名称", "准考证号", "姓名", "证件号码", "考试科目", "违纪类型", "违纪类别", "备注",
                 "录入方式", "录入时间"]


def export_violations(s: Session, actor: Actor, q: ViolationQuery) -> tuple[bytes, str]:
    """导出 the whole query result to Excel (证件号码 masked; text is never a formula); audited.
    Returns (bytes, file name). See `require_export` for the windows."""
    require_export(s, actor)
    stmt = (_filtered(actor, q, Org.code, Org.name, Violation.ticket_no, _NAME, _IDN, Subject.code, Subject.name,
                      Violation.code, Violation.kind, Violation.remark, Violation.source, Violation.created_at)
            .join(Subject, Subject.id == Violation.subject_id).join(Org, Org.id == Violation.site_id)
            .order_by(Org.code, Violation.ticket_no))
    n = 0

    def rows():
        nonlocal n
        for (ocode, oname, ticket, name, idn, scode, sname, code, kind, remark, source, created) in \
                s.execute(stmt.execution_options(yield_per=2000)):
            n += 1
            yield [ocode, oname, ticket, name, mask_id(idn), subject_text(scode, sname), TYPE_LABELS.get(code, code),
                   kind, remark or "", SOURCES.get(source, source), created]

    data = write_xlsx(EXPORT_HEADER, rows(), sheet_name="违规信息")
    filters = q.as_dict()
    if filters.get("id_number"):
        filters["id_number"] = mask_id(filters["id_number"])
    audit(s, actor, "export", ENTITY, None, org_id=q.site_id or actor.org_id, after={"rows": n, "filters": filters},
          summary=f"导出违规信息：{n} 条")
    return data, f"违规信息_{datetime.now():%Y%m%d_%H%M%S}.xlsx"


# ---------------------------------------------------------------- 违规分类统计 (§39)
def _fine_codes() -> list[str]:
    """The codes counted in their own column: those of a category with more than one code."""
    per_kind: dict[str, int] = {}
    for _n, kind in VIOLATION_CODES.values():
        per_kind[kind] = per_kind.get(kind, 0) + 1
    return [c for c, (_n, kind) in VIOLATION_CODES.items() if per_kind[kind] > 1]


FINE_CODES: list[str] = _fine_codes()
FINE_COLUMNS: dict[str, str] = {c: f"{TYPE_LABELS[c]}({c})" for c in FINE_CODES}
TOTAL_COL = "违规人次合计"


def stats_columns(first: str) -> tuple[str, ...]:
    return (first, TOTAL_COL, *VIOLATION_KINDS, *FINE_COLUMNS.values())


def _stat_values(counts: dict[str, int]) -> tuple[int, ...]:
    """counts {code: n} -> (合计, per kind ..., per fine code ...)."""
    per_kind = {k: 0 for k in VIOLATION_KINDS}
    for code, n in counts.items():
        per_kind[VIOLATION_CODES[code][1]] += n
    return (sum(per_kind.values()), *(per_kind[k] for k in VIOLATION_KINDS), *(counts.get(c, 0) for c in FINE_CODES))


def stats_sites(s: Session, actor: Actor) -> list[tuple[int, str]]:
    """[(site id, "(code)名称")] of the actor's scope in the viewed 考次 (the 违规分类统计 site picker)."""
    return scope_sites(s, actor, stats_term(s, actor).id)


def violation_stats(s: Session, actor: Actor, subject_id: int | None = None,
                    site_id: int | None = None) -> StatTable:
    """违规分类统计 (§39) of the viewed 考次: counts per category (缺考/违纪/作弊/其他违规) and per finer code,
    then a 合计 row. A 考点管理员 (or an upper level that picks `site_id`) gets one row per 报考科目 of the
    site; an upper level without `site_id` gets one row per site of its scope. `subject_id` (报考科目)
    counts only that subject. One GROUP BY; not limited by the windows."""
    term = stats_term(s, actor)
    tid = term.id
    if actor.org_kind == "site":
        site_id = actor.org_id
    if site_id:
        site = get_scoped_org(s, actor, site_id)
        if site.kind != "site":
            raise NotFound("请选择考点。")
    where = [Violation.term_id == tid, in_scope(actor, Violation.site_id)]
    if site_id:
        where.append(Violation.site_id == site_id)
    if subject_id:
        where.append(Violation.subject_id == subject_id)
    group = Violation.subject_id if site_id else Violation.site_id
    counts: dict[int, dict[str, int]] = {}
    for key, code, n in s.execute(select(group, Violation.code, func.count()).where(*where)
                                  .group_by(group, Violation.code)):
        counts.setdefault(key, {})[code] = int(n)
    if site_id:
        reg_where = [Registration.term_id == tid, Registration.site_id == site_id]
        if subject_id:
            reg_where.append(Registration.subject_id == subject_id)
        ids = set(counts) | set(s.scalars(select(Registration.subject_id).distinct().where(*reg_where)))
        if subject_id:
            ids &= {subject_id}
        labels = [(i, subject_text(c, n)) for i, c, n in s.execute(
            select(Subject.id, Subject.code, Subject.name).where(Subject.id.in_(ids)).order_by(Subject.code))] \
            if ids else []
        first = SUBJECT_COL
    else:
        labels = scope_sites(s, actor, tid)
        first = SITE_COL
    columns = stats_columns(first)
    rows, keys = [], []
    for key, label in labels:
        rows.append((label, *_stat_values(counts.get(key, {}))))
        keys.append(key)
    rows.append(total_row(rows, len(columns)))
    total = rows[-1][1:]
    keys.append(None)
    many = len(labels) > 12
    chart = tuple({"x": label, "series": kind, "value": row[2 + j]}
                  for (_key, label), row in zip(labels, rows) for j, kind in enumerate(VIOLATION_KINDS)) \
        if not many else tuple({"x": TOTAL_LABEL, "series": kind, "value": total[1 + j]}
                               for j, kind in enumerate(VIOLATION_KINDS))
    return StatTable("violation", STATS_TITLE, tid, term.name, columns, tuple(rows), tuple(keys), chart,
                     chart_x=first, chart_y="违规人次")


def export_violation_stats(s: Session, actor: Actor, subject_id: int | None = None,
                           site_id: int | None = None) -> tuple[bytes, str]:
    """The 违规分类统计 table as Excel (formula-safe), audited. Returns (bytes, file name)."""
    table = violation_stats(s, actor, subject_id, site_id)
    data = write_xlsx(list(table.columns), table.rows, sheet_name=STATS_TITLE)
    audit(s, actor, "export", STATS_TITLE, None, org_id=site_id or actor.org_id,
          summary=f"导出{STATS_TITLE}（{table.term_name}）：{len(table.body)} 行 + 合计",
          after={"term_id": table.term_id, "rows": len(table.body), "subject_id": subject_id, "site_id": site_id})
    return data, f"{STATS_TITLE}_{datetime.now():%Y%m%d_%H%M%S}.xlsx"


def site_state(s: Session, actor: Actor, site_id: int) -> dict[str, Any]:
    """What the 违规信息管理 page needs: the site's label, whether the actor is its own 考点管理员, whether
    writes and exports are allowed now (windows, 考次)."""
    require_role(actor, *ADMIN_ROLES)
    site = get_scoped_org(s, actor, site_id)
    if site.kind != "site":
        raise NotFound("请选择考点。")
    own = actor.role == "site_admin" and actor.org_id == site.id
    return {"label": f"({site.code}){site.name}", "own": own, "writable": own and can_write(s, actor, site.id),
            "exportable": export_allowed(s, actor)}

