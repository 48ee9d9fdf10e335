"""NCRE 操作时间设置 and 报名前设置 (001 §9–§19).

Every function takes (session, actor, ...), re-checks role and org scope, refuses writes in a past
考次 and outside the actor's own operation window, writes an audit row with before/after, and raises
a DomainError subclass with a Chinese message naming the field.

Who may change what (001 §9–§19):
  - §9 操作时间: the levels above an org (考试中心 → 省 → 地市 → 考点); a site only views. A lower
    window needs its direct parent's window of the same kind, and must lie within it (§4.1).
  - §10 综合设置, §11 开考科目, §13 容量, §14 意向考试, §15 考生报名时间, §17 考点通告, §18 班级选项:
    the site's own administrator, within the site's 报名前设置时间; the levels above view (they
    extend the site's window instead, §10.3).
  - §10 允许考生选择意向考试日期, §12 费用, §16 省通告, §19 学籍报考设置: the province (and the
    考试中心), within its own 报名前设置时间 (考试中心 is not window-limited); sites/cities view.

Pure helpers the registration issue calls: `class_options_list`, `validate_class`,
`registry_admission` (with `RegistryInfo`, built by `registry_info`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable, Mapping

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from core.auth import Actor, get_scoped_org, in_scope, require_below
from core.errors import NotFound, PermissionDenied, ValidationError
from core.models import (
    ExamTerm,
    IntentQuota,
    OpWindow,
    Org,
    ProvinceNotice,
    ProvinceSubject,
    Registration,
    SiteFee,
    SiteSetting,
    SiteSubject,
    Subject,
)
from core.models.ncre import START_ONLY_WINDOWS, WINDOW_KINDS
from core.services.base import WindowState, audit, require_window, require_writable_term, row_dict

# ---------------------------------------------------------------- limits (001 §10, §13, §14)
MAX_SUBJECTS_MIN, MAX_SUBJECTS_MAX = 1, 3  # §10 报考最大科次数量 1~3
TOTAL_CAPACITY_MIN = 100  # §13.6 总科次不能小于 100
CAPACITY_MAX = 99999  # §13.3 最大值 99999（即：不限）
INTENT_QUOTA_MIN = 1  # §14.1
FEE_MAX = Decimal("99999.99")
NOTICE_MAX_CHARS = 5000
CLASS_OPTION_MAX_CHARS = 50
CLASS_OPTIONS_MAX_COUNT = 500

UPPER_ROLES = ("center_admin", "province_admin")  # "设置权限在省里"

# §9 table columns: kind -> (start column, end column or None)
WINDOW_COLUMNS: dict[str, tuple[str, str | None]] = {
    "pre_reg_setting": ("报名前设置开始时间", "报名前设置截止时间"),
    "qualification": ("报名资格管理开始时间", "报名资格管理结束时间"),
    "registration": ("报名管理开始时间", "报名管理结束时间"),
    "online_reg": ("考生网上报名最早时间", "考生网上报名最晚时间"),
    "arrangement": ("编排开始时间", "编排结束时间"),
    "ticket_print": ("准考证打印开始时间", None),
    "violation": ("缺考违纪管理开始时间", "缺考违纪管理结束时间"),
    "pre_exam_download": ("考前资料下载开始时间", "考前资料下载结束时间"),
    "post_exam_download": ("考后资料下载开始时间", "考后资料下载结束时间"),
}

SITE_ONLY_NOTE = ("考点的此项设置由考点管理员在本考点报名前设置时间内修改，上级机构只能查看；如需延长，"
                  "请在《考点操作时间设置》中延长考点的“报名前设置截止时间”。")

FMT = "%Y-%m-%d %H:%M"


# ---------------------------------------------------------------- small helpers
def _fmt(v: datetime | None) -> str:
    return v.strftime(FMT) if v else "未设置"


def _span(kind: str, start: datetime | None, end: datetime | None) -> str:
    if start is None:
        return "未设置"
    if kind in START_ONLY_WINDOWS:
        return f"{_fmt(start)} 开始"
    return f"{_fmt(start)} 至 {_fmt(end)}"


def fmt_dt(v: datetime | None, empty: str = "未设置") -> str:
    """A datetime as the pages show it: 'YYYY-MM-DD HH:MM' (or `empty`)."""
    return v.strftime(FMT) if v else empty


def capacity_text(cap: int | None) -> str:
    """§13: None = 未设置, 0 = 不开考, 99999 = 不限."""
    if cap is None:
        return "未设置"
    if cap == 0:
        return "0（不开考）"
    if cap >= CAPACITY_MAX:
        return f"{cap}（不限）"
    return str(cap)


def org_label(org: Org) -> str:
    return f"({org.code}){org.name}"


def province_id_of(org_path: str) -> int | None:
    """The province on an org's materialised path '/center/province/city/site/' (None for the center)."""
    ids = [int(x) for x in org_path.strip("/").split("/") if x]
    return ids[1] if len(ids) > 1 else None


def _term_id(actor: Actor) -> int:
    if actor.term_id is None:
        raise NotFound("系统尚未设置考次，请考试中心管理员先创建考次。")
    return actor.term_id


def _parse_dt(value: Any, label: str) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.replace(microsecond=0, tzinfo=None)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M",
                    "%Y/%m/%d %H:%M"):
            try:
                return datetime.strptime(value.strip(), fmt)
            except ValueError:
                continue
    raise ValidationError(f"{label}格式不正确（应为 年-月-日 时:分）。", label)


def _parse_int(value: Any, label: str, lo: int | None = None, hi: int | None = None,
               required: bool = True, range_msg: str | None = None) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValidationError(f"{label}不能为空。", label)
        return None
    if isinstance(value, bool):
        raise ValidationError(f"{label}必须是整数。", label)
    if isinstance(value, float):
        if not value.is_integer():
            raise ValidationError(f"{label}必须是整数。", label)
        value = int(value)
    if isinstance(value, str):
        if not re.fullmatch(r"\s*-?\d+\s*", value):
            raise ValidationError(f"{label}必须是整数。", label)
        value = int(value)
    if not isinstance(value, int):
        raise ValidationError(f"{label}必须是整数。", label)
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        if range_msg:
            raise ValidationError(range_msg, label)
        raise ValidationError(f"{label}须在 {lo}~{hi} 之间（当前为 {value}）。", label)
    return value


def _text(value: Any, label: str, max_chars: int) -> str | None:
    text = (value or "").strip() if isinstance(value, str) or value is None else str(value).strip()
    if len(text) > max_chars:
        raise ValidationError(f"{label}不能超过 {max_chars} 个字（当前 {len(text)} 个字）。", label)
    return text or None


def _site(s: Session, actor: Actor, site_id: int) -> Org:
    """A site in the actor's scope (anything else is 'not found': no existence leak)."""
    org = get_scoped_org(s, actor, site_id)
    if org.kind != "site":
        raise ValidationError(f"“{org.name}”不是考点，请选择考点。", "考点")
    return org


def _site_for_site_write(s: Session, actor: Actor, site_id: int, what: str) -> Org:
    """Site-owned settings: only the site's own administrator, within its 报名前设置时间."""
    site = _site(s, actor, site_id)
    require_writable_term(actor)
    if actor.role != "site_admin" or actor.org_id != site.id:
        raise PermissionDenied(f"“{site.name}”的{what}由考点管理员在本考点报名前设置时间内修改，上级机构只能查看；"
                               f"如需延长，请在《考点操作时间设置》中延长考点的“报名前设置截止时间”。")
    require_window(s, actor, "pre_reg_setting")
    return site


def _site_for_upper_write(s: Session, actor: Actor, site_id: int, what: str) -> Org:
    """Province-set settings (§10 意向日期开关, §12, §19): the province (or 考试中心), within its own window."""
    site = _site(s, actor, site_id)
    require_writable_term(actor)
    if actor.role not in UPPER_ROLES:
        raise PermissionDenied(f"{what}的设置权限在省里，您只能查看；如需修改，请向省管理员申请。")
    require_below(actor, site)
    require_window(s, actor, "pre_reg_setting")
    return site


def _setting(s: Session, site: Org, term_id: int, create: bool = False) -> SiteSetting | None:
    st = s.scalar(select(SiteSetting).where(SiteSetting.site_id == site.id, SiteSetting.term_id == term_id))
    if st is None and create:
        st = SiteSetting(site_id=site.id, term_id=term_id, **_setting_defaults(site))
        s.add(st)
        s.flush()
    return st


def _setting_defaults(site: Org) -> dict:
    return dict(is_open=True, group_registration=False, group_payment=False, review_required=False,
                class_required=False, max_subjects=3, allow_self_print=True, allow_intent_date=False,
                total_capacity=None, online_reg_enabled=False, online_reg_start=None, online_reg_end=None,
                notice=None, class_options=None, registry_enabled=False, only_province_registry=False,
                only_site_registry=False, registry_allowed_sites=site.code)


def _setting_values(site: Org, st: SiteSetting | None) -> dict:
    if st is None:
        return _setting_defaults(site)
    return {k: getattr(st, k) for k in _setting_defaults(site)}


def _registered(s: Session, site_id: int, term_id: int, subject_id: int | None = None) -> int:
    q = select(func.count()).select_from(Registration).where(
        Registration.site_id == site_id, Registration.term_id == term_id)
    if subject_id is not None:
        q = q.where(Registration.subject_id == subject_id)
    return int(s.scalar(q) or 0)


def _registered_by_subject(s: Session, site_id: int, term_id: int) -> dict[int, int]:
    rows = s.execute(select(Registration.subject_id, func.count()).where(
        Registration.site_id == site_id, Registration.term_id == term_id)
        .group_by(Registration.subject_id)).all()
    return {sid: int(n) for sid, n in rows}


def _org_window(s: Session, org_id: int, term_id: int, kind: str) -> OpWindow | None:
    return s.scalar(select(OpWindow).where(OpWindow.org_id == org_id, OpWindow.term_id == term_id,
                                           OpWindow.kind == kind))


def org_window_state(s: Session, org_id: int, term_id: int, kind: str, now: datetime | None = None) -> WindowState:
    """The state of any org's window (no permission check: callers scope the org first)."""
    now = now or datetime.now()
    w = _org_window(s, org_id, term_id, kind)
    start, end = (w.start_at, w.end_at) if w else (None, None)
    is_open = bool(start and start <= now and (kind in START_ONLY_WINDOWS or (end and now <= end)))
    return WindowState(kind, WINDOW_KINDS[kind], start, end, is_open, True)


# ---------------------------------------------------------------- page context
@dataclass(frozen=True)
class SiteContext:
    """What a 报名前设置 page needs to know about the chosen site."""

    site_id: int
    code: str
    name: str
    province_id: int | None
    can_edit: bool  # the actor is this site's own administrator (site-owned settings)
    can_edit_upper: bool  # the actor may change the province-set items of this site
    term_writable: bool
    window: WindowState  # the site's own 报名前设置时间

    @property
    def label(self) -> str:
        return f"({self.code}){self.name}"

    @property
    def editable_now(self) -> bool:
        return self.can_edit and self.term_writable and self.window.is_open


def site_context(s: Session, actor: Actor, site_id: int, now: datetime | None = None) -> SiteContext:
    site = _site(s, actor, site_id)
    term_id = _term_id(actor)
    return SiteContext(site.id, site.code, site.name, province_id_of(site.path),
                       can_edit=actor.role == "site_admin" and actor.org_id == site.id,
                       can_edit_upper=actor.role in UPPER_ROLES and site.id != actor.org_id,
                       term_writable=actor.term_is_current,
                       window=org_window_state(s, site.id, term_id, "pre_reg_setting", now))


def scoped_sites(s: Session, actor: Actor) -> list[tuple[int, str]]:
    """Sites in the actor's scope: (id, '(code)name')."""
    return [(o.id, org_label(o)) for o in s.scalars(
        select(Org).where(Org.kind == "site", in_scope(actor, Org.id)).order_by(Org.code))]


def subject_choices(s: Session, actor: Actor) -> list[tuple[int, str]]:
    """The national NCRE subject list: (id, '(code)name')."""
    return [(x.id, f"({x.code}){x.name}") for x in s.scalars(select(Subject).order_by(Subject.code))]


def can_edit_upper_settings(actor: Actor) -> bool:
    """§10 意向日期开关, §12 费用, §16 省通告, §19 学籍报考: province and 考试中心 only."""
    return actor.role in UPPER_ROLES


# ================================================================ §9 考点操作时间设置
def list_windows(s: Session, actor: Actor, org_kind: str | None = None, search: str | None = None,
                 offset: int = 0, limit: int = 100) -> tuple[list[dict], int]:
    """Windows of the orgs in scope (the 考试中心 itself has none) in the viewed 考次, one row per org.
    Returns (rows, total). Each row: org_id, code, name, kind, parent_id, editable, windows{kind: (start, end)}."""
    term_id = _term_id(actor)
    q = select(Org).where(in_scope(actor, Org.id), Org.kind.in_(("province", "city", "site")))
    if org_kind:
        q = q.where(Org.kind == org_kind)
    if search and search.strip():
        term = search.strip()
        q = q.where(or_(Org.code.contains(term, autoescape=True), Org.name.contains(term, autoescape=True)))
    total = int(s.scalar(select(func.count()).select_from(q.subquery())) or 0)
    orgs = list(s.scalars(q.order_by(Org.depth, Org.code).offset(max(0, offset)).limit(max(1, min(limit, 500)))))
    ids = [o.id for o in orgs]
    wins: dict[int, dict[str, tuple]] = {i: {} for i in ids}
    if ids:
        for w in s.scalars(select(OpWindow).where(OpWindow.term_id == term_id, OpWindow.org_id.in_(ids))):
            wins[w.org_id][w.kind] = (w.start_at, w.end_at)
    rows = [{"org_id": o.id, "code": o.code, "name": o.name, "kind": o.kind, "kind_label": o.kind_label,
             "parent_id": o.parent_id, "editable": o.id != actor.org_id and o.path.startswith(actor.org_path),
             "windows": {k: wins[o.id].get(k, (None, None)) for k in WINDOW_KINDS}} for o in orgs]
    return rows, total


def window_targets(s: Session, actor: Actor, org_kind: str | None = None) -> list[tuple[int, str]]:
    """Orgs whose windows the actor may set (strictly below it): (id, '(code)name')."""
    q = select(Org).where(in_scope(actor, Org.id), Org.id != actor.org_id,
                          Org.kind.in_(("province", "city", "site")))
    if org_kind:
        q = q.where(Org.kind == org_kind)
    return [(o.id, f"{org_label(o)}·{o.kind_label}") for o in s.scalars(q.order_by(Org.depth, Org.code))]


def _window_values(kind: str, start: Any, end: Any) -> tuple[datetime, datetime | None]:
    if kind not in WINDOW_KINDS:
        raise ValidationError("请选择要设置的时间区间。", "时间区间")
    start_label, end_label = WINDOW_COLUMNS[kind]
    start = _parse_dt(start, start_label)
    if start is None:
        raise ValidationError(f"请填写{start_label}。", start_label)
    if kind in START_ONLY_WINDOWS:
        return start, None  # 准考证打印开始时间 has only a start
    end = _parse_dt(end, end_label)
    if end is None:
        raise ValidationError(f"请填写{end_label}。", end_label)
    if end <= start:
        raise ValidationError(f"{end_label}必须晚于{start_label}。", end_label)
    return start, end


def _within(kind: str, inner: tuple, outer: tuple) -> bool:
    if inner[0] < outer[0]:
        return False
    if kind in START_ONLY_WINDOWS:
        return True
    return inner[1] is not None and outer[1] is not None and inner[1] <= outer[1]


def _target_orgs(s: Session, actor: Actor, org_ids: Iterable[int]) -> list[Org]:
    ids = list(dict.fromkeys(int(i) for i in org_ids))
    if not ids:
        raise ValidationError("请选择要设置的机构。", "机构")
    orgs = []
    for oid in ids:
        org = get_scoped_org(s, actor, oid)
        if org.kind not in ("province", "city", "site"):
            raise ValidationError(f"“{org.name}”没有操作时间设置。", "机构")
        require_below(actor, org)  # a site (or any org) cannot set its own windows: set by the level above
        orgs.append(org)
    return sorted(orgs, key=lambda o: (o.depth, o.code))


def _raise_collected(errors: list[str]) -> None:
    if errors:
        shown = errors[:10]
        more = f"（另有 {len(errors) - 10} 条未列出）" if len(errors) > 10 else ""
        raise ValidationError("以下机构未能设置：\n" + "\n".join(shown) + more, "机构")


def set_windows(s: Session, actor: Actor, org_ids: Iterable[int], kind: str, start: Any, end: Any = None) -> int:
    """Set one window kind for several orgs at once (all or nothing). Only levels above may set an
    org's windows; each must lie within its direct parent's window (the parent's new value when
    the parent is set in the same call), and must not leave an existing child window outside it."""
    require_writable_term(actor)
    term_id = _term_id(actor)
    new = _window_values(kind, start, end)
    orgs = _target_orgs(s, actor, org_ids)
    label = WINDOW_KINDS[kind]
    targets = {o.id for o in orgs}

    def final(org_id: int) -> tuple | None:
        if org_id in targets:
            return new
        w = _org_window(s, org_id, term_id, kind)
        return (w.start_at, w.end_at) if w and w.start_at else None

    errors: list[str] = []
    for org in orgs:
        parent = s.get(Org, org.parent_id) if org.parent_id else None
        if parent is not None and parent.kind != "center":  # the 考试中心 has no windows of its own
            pw = final(parent.id)
            if pw is None:
                errors.append(f"{org_label(org)}：上级机构“{parent.name}”尚未设置{label}，"
                              f"下级需要在上级时间已设置的前提下才可以设置。")
                continue
            if not _within(kind, new, pw):
                errors.append(f"{org_label(org)}：{label}必须在上级机构“{parent.name}”的{label}"
                              f"（{_span(kind, *pw)}）范围内。")
                continue
        for child in s.scalars(select(Org).where(Org.parent_id == org.id).order_by(Org.code)):
            if child.id in targets:
                continue
            cw = final(child.id)
            if cw is not None and not _within(kind, cw, new):
                errors.append(f"{org_label(org)}：下级机构“{child.name}”的{label}（{_span(kind, *cw)}）"
                              f"超出新的时间范围，请先调整下级机构的时间。")
    _raise_collected(errors)

    for org in orgs:
        w = _org_window(s, org.id, term_id, kind)
        before = row_dict(w) if w else None
        if w is None:
            w = OpWindow(org_id=org.id, term_id=term_id, kind=kind)
            s.add(w)
        w.start_at, w.end_at = new
        s.flush()
        audit(s, actor, "update" if before else "create", "考点操作时间", w.id, org_id=org.id,
              before=before, after=row_dict(w),
              summary=f"设置{org_label(org)}的{label}：{_span(kind, *new)}")
    return len(orgs)


def set_window(s: Session, actor: Actor, org_id: int, kind: str, start: Any, end: Any = None) -> int:
    """Set one org's window of one kind (see set_windows)."""
    return set_windows(s, actor, [org_id], kind, start, end)


def clear_windows(s: Session, actor: Actor, org_ids: Iterable[int], kind: str) -> int:
    """Clear (未设置) one window kind for several orgs; refused while a child not being cleared still has it."""
    require_writable_term(actor)
    term_id = _term_id(actor)
    if kind not in WINDOW_KINDS:
        raise ValidationError("请选择要清除的时间区间。", "时间区间")
    orgs = _target_orgs(s, actor, org_ids)
    targets = {o.id for o in orgs}
    label = WINDOW_KINDS[kind]
    errors = []
    for org in orgs:
        for child in s.scalars(select(Org).where(Org.parent_id == org.id).order_by(Org.code)):
            cw = _org_window(s, child.id, term_id, kind)
            if child.id not in targets and cw is not None and cw.start_at is not None:
                errors.append(f"{org_label(org)}：下级机构“{child.name}”已设置{label}，请先清除下级机构的时间。")
    _raise_collected(errors)
    n = 0
    for org in orgs:
        w = _org_window(s, org.id, term_id, kind)
        if w is None:
            continue
        before = row_dict(w)
        s.delete(w)
        audit(s, actor, "delete", "考点操作时间", before["id"], org_id=org.id, before=before,
              summary=f"清除{org_label(org)}的{label}")
        n += 1
    s.flush()
    return n


# ================================================================ §10 考点报名综合设置
GENERAL_FIELDS: dict[str, tuple[str, str]] = {
    "is_open": ("考点开考", "是否开考"),
    "group_registration": ("集体报名", "是否启用考点管理员代考生集体报名"),
    "group_payment": ("集体缴费", "是否启用考点管理员批量代考生缴费"),
    "review_required": ("报名信息需要审核", "启用情况下，考生的报名信息需要审核通过才可以缴费"),
    "class_required": ("班级必需", "启用情况下，报考本考点的考生必须填写班级信息"),
    "max_subjects": ("报考最大科次数量", "单个考生在本考点最多报考科目数量，可设置值范围为 1~3"),
    "allow_self_print": ("允许考生个人打印准考证",
                         "不启用情况下，考生不能下载自己的准考证，只有由考点通过《准考证管理》下载后下发"),
    "allow_intent_date": ("允许考生选择意向考试日期",
                          "由省管理员设置是否启用，启用的情况下，考点需要在“意向考试相关设置”页面设置意向考试日期的人数"),
}


def get_site_general(s: Session, actor: Actor, site_id: int) -> dict:
    """§10 values of one site (defaults when never saved)."""
    site = _site(s, actor, site_id)
    vals = _setting_values(site, _setting(s, site, _term_id(actor)))
    return {k: vals[k] for k in GENERAL_FIELDS}


def save_site_general(s: Session, actor: Actor, site_id: int, *, is_open: bool, group_registration: bool,
                      group_payment: bool, review_required: bool, class_required: bool, max_subjects: Any,
                      allow_self_print: bool) -> None:
    """§10: the site within its 报名前设置时间. 允许考生选择意向考试日期 is not here (province: set_allow_intent_date)."""
    site = _site_for_site_write(s, actor, site_id, "考点报名综合设置")
    n = _parse_int(max_subjects, "报考最大科次数量", MAX_SUBJECTS_MIN, MAX_SUBJECTS_MAX,
                   range_msg=f"报考最大科次数量可设置值范围为 {MAX_SUBJECTS_MIN}~{MAX_SUBJECTS_MAX}（当前为 {max_subjects}）。")
    st = _setting(s, site, actor.term_id, create=True)
    before = row_dict(st)
    st.is_open, st.group_registration, st.group_payment = bool(is_open), bool(group_registration), bool(group_payment)
    st.review_required, st.class_required, st.allow_self_print = bool(review_required), bool(class_required), bool(allow_self_print)
    st.max_subjects = n
    s.flush()
    audit(s, actor, "update", "考点报名综合设置", st.id, org_id=site.id, before=before, after=row_dict(st),
          summary=f"修改{org_label(site)}的考点报名综合设置")


def set_allow_intent_date(s: Session, actor: Actor, site_id: int, allowed: bool) -> None:
    """§10 允许考生选择意向考试日期: set by the province (or 考试中心) only."""
    site = _site_for_upper_write(s, actor, site_id, "“允许考生选择意向考试日期”")
    st = _setting(s, site, actor.term_id, create=True)
    before = row_dict(st)
    st.allow_intent_date = bool(allowed)
    s.flush()
    audit(s, actor, "update", "考点报名综合设置", st.id, org_id=site.id, before=before, after=row_dict(st),
          summary=f"{'启用' if allowed else '停用'}{org_label(site)}的允许考生选择意向考试日期")


# ================================================================ §11 考点开考科目设置
def list_site_subjects(s: Session, actor: Actor, site_id: int) -> list[dict]:
    """The site's 开考科目 with exam time range, capacity and registered count."""
    site = _site(s, actor, site_id)
    term_id = _term_id(actor)
    regs = _registered_by_subject(s, site.id, term_id)
    rows = s.execute(select(SiteSubject, Subject).join(Subject, Subject.id == SiteSubject.subject_id)
                     .where(SiteSubject.site_id == site.id, SiteSubject.term_id == term_id)
                     .order_by(Subject.code)).all()
    return [{"subject_id": sub.id, "code": sub.code, "name": sub.name, "level": sub.level,
             "exam_start": ss.exam_start, "exam_end": ss.exam_end, "capacity": ss.capacity,
             "registered": regs.get(sub.id, 0)} for ss, sub in rows]


def province_subject_options(s: Session, actor: Actor, site_id: int, include_added: bool = False) -> list[dict]:
    """省开考科目 of the site's province (the only subjects a site may add), with their time range."""
    site = _site(s, actor, site_id)
    term_id = _term_id(actor)
    added = set(s.scalars(select(SiteSubject.subject_id).where(SiteSubject.site_id == site.id,
                                                                SiteSubject.term_id == term_id)))
    rows = s.execute(select(ProvinceSubject, Subject).join(Subject, Subject.id == ProvinceSubject.subject_id)
                     .where(ProvinceSubject.province_id == province_id_of(site.path),
                            ProvinceSubject.term_id == term_id).order_by(Subject.code)).all()
    return [{"subject_id": sub.id, "code": sub.code, "name": sub.name, "exam_start": ps.exam_start,
             "exam_end": ps.exam_end, "added": sub.id in added}
            for ps, sub in rows if include_added or sub.id not in added]


def add_site_subject(s: Session, actor: Actor, site_id: int, subject_id: int, exam_start: Any, exam_end: Any) -> None:
    """§11: add a 开考科目 from the province's list, with a time range inside the province's range.
    The range is fixed once added (delete and re-add to change it)."""
    site = _site_for_site_write(s, actor, site_id, "考点开考科目设置")
    term_id = actor.term_id
    if subject_id is None:
        raise ValidationError("请选择开考科目。", "开考科目")
    ps = s.scalar(select(ProvinceSubject).where(ProvinceSubject.province_id == province_id_of(site.path),
                                                ProvinceSubject.term_id == term_id,
                                                ProvinceSubject.subject_id == subject_id))
    if ps is None:
        raise ValidationError("该科目不在本省开考科目范围内，考点只能在省开考科目中选取。", "开考科目")
    subj = s.get(Subject, subject_id)
    if s.scalar(select(SiteSubject).where(SiteSubject.site_id == site.id, SiteSubject.term_id == term_id,
                                          SiteSubject.subject_id == subject_id)):
        raise ValidationError(f"开考科目“{subj.name}”已添加，不能重复添加。", "开考科目")
    start = _parse_dt(exam_start, "考试开始时间")
    end = _parse_dt(exam_end, "考试结束时间")
    if start is None:
        raise ValidationError("请填写考试开始时间。", "考试开始时间")
    if end is None:
        raise ValidationError("请填写考试结束时间。", "考试结束时间")
    if end <= start:
        raise ValidationError("考试结束时间必须晚于考试开始时间。", "考试结束时间")
    if start < ps.exam_start or end > ps.exam_end:
        raise ValidationError(f"考试时间范围须在省开考科目“{subj.name}”的考试时间范围"
                              f"（{_fmt(ps.exam_start)} 至 {_fmt(ps.exam_end)}）内。", "考试开始时间")
    ss = SiteSubject(site_id=site.id, term_id=term_id, subject_id=subject_id, exam_start=start, exam_end=end,
                     capacity=None)
    s.add(ss)
    s.flush()
    audit(s, actor, "create", "考点开考科目", ss.id, org_id=site.id, after=row_dict(ss),
          summary=f"{org_label(site)}添加开考科目（{subj.code}）{subj.name}")


def delete_site_subject(s: Session, actor: Actor, site_id: int, subject_id: int) -> None:
    """§11.5–6: refused when a capacity is set (> 0) or registrations exist."""
    site = _site_for_site_write(s, actor, site_id, "考点开考科目设置")
    term_id = actor.term_id
    ss = s.scalar(select(SiteSubject).where(SiteSubject.site_id == site.id, SiteSubject.term_id == term_id,
                                            SiteSubject.subject_id == subject_id))
    if ss is None:
        raise NotFound("该开考科目不存在或已删除。")
    subj = s.get(Subject, subject_id)
    if ss.capacity is not None and ss.capacity > 0:
        raise ValidationError(f"开考科目“{subj.name}”已设置科目报考容量（{ss.capacity}），已设置科目报考容量的开考科目"
                              f"不可删除，请先在《考点容量设置》中将容量置0或设为不开考。", "开考科目")
    n = _registered(s, site.id, term_id, subject_id)
    if n:
        raise ValidationError(f"开考科目“{subj.name}”已有 {n} 人次考生报考，已存在考生报考的开考科目不可删除。",
                              "开考科目")
    before = row_dict(ss)
    s.delete(ss)
    s.flush()
    audit(s, actor, "delete", "考点开考科目", before["id"], org_id=site.id, before=before,
          summary=f"{org_label(site)}删除开考科目（{subj.code}）{subj.name}")


# ================================================================ §12 考点费用设置
def list_site_fees(s: Session, actor: Actor, site_id: int) -> list[dict]:
    """Per 开考科目: fee (Decimal) or None (未设置)."""
    site = _site(s, actor, site_id)
    term_id = _term_id(actor)
    fees = {f.subject_id: f.fee for f in s.scalars(select(SiteFee).where(SiteFee.site_id == site.id,
                                                                          SiteFee.term_id == term_id))}
    return [{**r, "fee": None if fees.get(r["subject_id"]) is None else Decimal(str(fees[r["subject_id"]]))}
            for r in list_site_subjects(s, actor, site_id)]


def parse_fee(value: Any, label: str = "人次费") -> Decimal | None:
    """A 人次费: ≥ 0, at most 2 decimals, ≤ FEE_MAX; None/'' = 未设置."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValidationError(f"{label}必须是数字。", label)
    try:
        d = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValidationError(f"{label}必须是数字（当前为 {value}）。", label) from None
    if not d.is_finite():
        raise ValidationError(f"{label}必须是数字。", label)
    if d < 0:
        raise ValidationError(f"{label}不能小于 0（当前为 {d}）。", label)
    if d != d.quantize(Decimal("0.01")):
        raise ValidationError(f"{label}最多保留 2 位小数（当前为 {d}）。", label)
    if d > FEE_MAX:
        raise ValidationError(f"{label}不能超过 {FEE_MAX} 元（当前为 {d}）。", label)
    return d.quantize(Decimal("0.01"))


def set_site_fees(s: Session, actor: Actor, site_id: int, fees: Mapping[int, Any]) -> int:
    """§12: the province sets one site's 人次费 per 开考科目 ({subject_id: fee or None to clear}). Returns changes."""
    site = _site_for_upper_write(s, actor, site_id, "考点费用")
    term_id = actor.term_id
    subjects = {ss.subject_id: ss for ss in s.scalars(select(SiteSubject).where(
        SiteSubject.site_id == site.id, SiteSubject.term_id == term_id))}
    parsed: dict[int, Decimal | None] = {}
    for sid, value in fees.items():
        subj = s.get(Subject, int(sid))
        name = subj.name if subj else str(sid)
        if int(sid) not in subjects:
            raise ValidationError(f"科目“{name}”不是本考点的开考科目，不能设置费用。", "科目")
        parsed[int(sid)] = parse_fee(value, f"“{name}”的人次费")
    changed = 0
    for sid, fee in parsed.items():
        changed += _put_fee(s, actor, site, term_id, sid, fee)
    return changed


def _put_fee(s: Session, actor: Actor, site: Org, term_id: int, subject_id: int, fee: Decimal | None) -> int:
    row = s.scalar(select(SiteFee).where(SiteFee.site_id == site.id, SiteFee.term_id == term_id,
                                         SiteFee.subject_id == subject_id))
    subj = s.get(Subject, subject_id)
    if row is None and fee is None:
        return 0
    if row is not None and fee is not None and Decimal(str(row.fee)) == fee:
        return 0
    before = row_dict(row) if row else None
    if fee is None:
        s.delete(row)
        s.flush()
        audit(s, actor, "delete", "考点费用", before["id"], org_id=site.id, before=before,
              summary=f"清除{org_label(site)}（{subj.code}）{subj.name}的人次费")
        return 1
    if row is None:
        row = SiteFee(site_id=site.id, term_id=term_id, subject_id=subject_id, fee=fee)
        s.add(row)
    else:
        row.fee = fee
    s.flush()
    audit(s, actor, "update" if before else "create", "考点费用", row.id, org_id=site.id, before=before,
          after=row_dict(row), summary=f"设置{org_label(site)}（{subj.code}）{subj.name}的人次费为 {fee} 元")
    return 1


def apply_fee_to_sites(s: Session, actor: Actor, site_ids: Iterable[int], subject_id: int, fee: Any) -> dict:
    """§12 batch: one subject's 人次费 for several sites; sites without that 开考科目 are skipped.
    Returns {'set': n, 'skipped': [site labels]}."""
    ids = list(dict.fromkeys(int(i) for i in site_ids))
    if not ids:
        raise ValidationError("请选择考点。", "考点")
    subj = s.get(Subject, subject_id) if subject_id is not None else None
    if subj is None:
        raise ValidationError("请选择科目。", "科目")
    value = parse_fee(fee, f"“{subj.name}”的人次费")
    if value is None:
        raise ValidationError(f"请填写“{subj.name}”的人次费。", "人次费")
    done, skipped = 0, []
    for sid in ids:
        site = _site_for_upper_write(s, actor, sid, "考点费用")
        has = s.scalar(select(SiteSubject.id).where(SiteSubject.site_id == site.id,
                                                    SiteSubject.term_id == actor.term_id,
                                                    SiteSubject.subject_id == subj.id))
        if not has:
            skipped.append(org_label(site))
            continue
        done += _put_fee(s, actor, site, actor.term_id, subj.id, value)
    return {"set": done, "skipped": skipped}


# ================================================================ §13 考点容量设置
def get_capacity(s: Session, actor: Actor, site_id: int) -> dict:
    """总科次, 已报考科次, per 开考科目 capacity/registered, and whether the site is 开考."""
    site = _site(s, actor, site_id)
    term_id = _term_id(actor)
    vals = _setting_values(site, _setting(s, site, term_id))
    subjects = list_site_subjects(s, actor, site_id)
    return {"total_capacity": vals["total_capacity"], "registered": _registered(s, site.id, term_id),
            "is_open": vals["is_open"], "subjects": subjects,
            "subject_capacity_sum": sum(r["capacity"] or 0 for r in subjects)}


def save_capacity(s: Session, actor: Actor, site_id: int, total: Any,
                  subject_capacities: Mapping[int, Any] | None = None) -> None:
    """§13: 总科次 required, 100–99999; each subject 0–99999 (0 = 不开考, None = 未设置); none below the
    current registered count. Window: the site's 报名前设置时间."""
    site = _site_for_site_write(s, actor, site_id, "考点容量设置")
    term_id = actor.term_id
    if total is None or (isinstance(total, str) and not total.strip()):
        raise ValidationError("总科次不能为空或 0。", "总科次")
    total_v = _parse_int(total, "总科次")
    if total_v == 0:
        raise ValidationError("总科次不能为空或 0。", "总科次")
    if total_v < TOTAL_CAPACITY_MIN:
        raise ValidationError(f"总科次（考点总容量）设置值不能小于 {TOTAL_CAPACITY_MIN}（当前为 {total_v}）。", "总科次")
    if total_v > CAPACITY_MAX:
        raise ValidationError(f"总科次最大值为 {CAPACITY_MAX}（即：不限），当前为 {total_v}。", "总科次")
    registered = _registered(s, site.id, term_id)
    if total_v < registered:
        raise ValidationError(f"总科次（{total_v}）不能小于当前已报考的科次数（{registered}）。", "总科次")
    subjects = {ss.subject_id: ss for ss in s.scalars(select(SiteSubject).where(
        SiteSubject.site_id == site.id, SiteSubject.term_id == term_id))}
    regs = _registered_by_subject(s, site.id, term_id)
    new_caps: dict[int, int | None] = {}
    for sid, value in (subject_capacities or {}).items():
        sid = int(sid)
        ss = subjects.get(sid)
        subj = s.get(Subject, sid)
        name = subj.name if subj else str(sid)
        if ss is None:
            raise ValidationError(f"科目“{name}”不是本考点的开考科目，请先在《考点开考科目设置》中添加。", "科目")
        label = f"“{name}”的科目考试人数"
        cap = _parse_int(value, label, 0, CAPACITY_MAX, required=False,
                         range_msg=f"{label}须在 0~{CAPACITY_MAX} 之间（0 为不开考，{CAPACITY_MAX} 为不限），当前为 {value}。")
        n = regs.get(sid, 0)
        if n and (cap is None or cap < n):
            raise ValidationError(f"{label}（{cap if cap is not None else '未设置'}）不能小于当前已报考人数（{n}）。", label)
        new_caps[sid] = cap
    st = _setting(s, site, term_id, create=True)
    if st.allow_intent_date:
        quotas = list(s.scalars(select(IntentQuota.quota).where(IntentQuota.site_id == site.id,
                                                                IntentQuota.term_id == term_id)))
        if quotas and (sum(quotas) > total_v or max(quotas) * 2 > total_v):
            raise ValidationError(f"总科次（{total_v}）小于已设置的意向考试人数要求（每日人数不超过总科次的一半、"
                                  f"各日之和 {sum(quotas)} 不超过总科次），请先在《意向考试相关设置》中调整。", "总科次")
    before = {"total_capacity": st.total_capacity, "subjects": {str(k): v.capacity for k, v in subjects.items()}}
    st.total_capacity = total_v
    for sid, cap in new_caps.items():
        subjects[sid].capacity = cap
    s.flush()
    after = {"total_capacity": st.total_capacity, "subjects": {str(k): v.capacity for k, v in subjects.items()}}
    audit(s, actor, "update", "考点容量", st.id, org_id=site.id, before=before, after=after,
          summary=f"修改{org_label(site)}的考点容量：总科次 {total_v}")


# ================================================================ §14 意向考试相关设置
def intent_exam_days(s: Session, actor: Actor, site_id: int) -> list[date]:
    """Exam days of the site: the days its open 开考科目 (capacity ≠ 0) span, else the 考次 exam dates."""
    site = _site(s, actor, site_id)
    term_id = _term_id(actor)
    days: set[date] = set()
    for ss in s.scalars(select(SiteSubject).where(SiteSubject.site_id == site.id, SiteSubject.term_id == term_id)):
        if ss.capacity == 0:
            continue
        d = ss.exam_start.date()
        while d <= ss.exam_end.date():
            days.add(d)
            d += timedelta(days=1)
    if not days:
        term = s.get(ExamTerm, term_id)
        if term and term.exam_start:
            d, last = term.exam_start.date(), (term.exam_end or term.exam_start).date()
            while d <= last:
                days.add(d)
                d += timedelta(days=1)
    return sorted(days)


def get_intent(s: Session, actor: Actor, site_id: int) -> dict:
    site = _site(s, actor, site_id)
    term_id = _term_id(actor)
    vals = _setting_values(site, _setting(s, site, term_id))
    stored = {q.exam_date: q.quota for q in s.scalars(select(IntentQuota).where(
        IntentQuota.site_id == site.id, IntentQuota.term_id == term_id))}
    days = intent_exam_days(s, actor, site_id)
    return {"code": site.code, "name": site.name, "allow_intent_date": vals["allow_intent_date"],
            "total_capacity": vals["total_capacity"], "days": days,
            "quotas": {d: stored.get(d) for d in days}}


def save_intent_quotas(s: Session, actor: Actor, site_id: int, quotas: Mapping[date, Any]) -> None:
    """§14: only when 允许考生选择意向考试日期; every exam day required, ≥ 1, ≤ half the 总科次; sum ≤ 总科次."""
    site = _site_for_site_write(s, actor, site_id, "意向考试相关设置")
    term_id = actor.term_id
    st = _setting(s, site, term_id)
    if st is None or not st.allow_intent_date:
        raise ValidationError("本考点未被省管理员设置为“允许考生选择意向考试日期”，无需设置意向考试人数。",
                              "允许考生选择意向考试日期")
    total = st.total_capacity
    if not total:
        raise ValidationError("请先在《考点容量设置》中设置总科次（总容量）。", "总科次")
    days = intent_exam_days(s, actor, site_id)
    if not days:
        raise ValidationError("本考点没有考试日期，请先在《考点开考科目设置》中添加开考科目。", "考试日期")
    given = {(d.date() if isinstance(d, datetime) else d): v for d, v in quotas.items()}
    unknown = [d for d in given if d not in days]
    if unknown:
        raise ValidationError(f"{unknown[0]:%Y-%m-%d} 不是本考点的考试日期。", "考试日期")
    half = total // 2
    values: dict[date, int] = {}
    for d in days:
        label = f"{d:%Y-%m-%d}的人数"
        v = _parse_int(given.get(d), label, required=True)
        if v < INTENT_QUOTA_MIN:
            raise ValidationError(f"{label}最小值为 {INTENT_QUOTA_MIN}（当前为 {v}）。", label)
        if v > half:
            raise ValidationError(f"{label}（{v}）超过考点每日最大设置人数：总科次（{total}）的一半，即 {half}。", label)
        values[d] = v
    if sum(values.values()) > total:
        raise ValidationError(f"每天设置人数之和（{sum(values.values())}）不能大于总科次（{total}）。", "人数")
    existing = {q.exam_date: q for q in s.scalars(select(IntentQuota).where(
        IntentQuota.site_id == site.id, IntentQuota.term_id == term_id))}
    before = {d.isoformat(): q.quota for d, q in existing.items()}
    for d, q in existing.items():
        if d not in values:
            s.delete(q)
    for d, v in values.items():
        if d in existing:
            existing[d].quota = v
        else:
            s.add(IntentQuota(site_id=site.id, term_id=term_id, exam_date=d, quota=v))
    s.flush()
    audit(s, actor, "update", "意向考试人数", site.id, org_id=site.id, before=before,
          after={d.isoformat(): v for d, v in values.items()}, summary=f"修改{org_label(site)}的意向考试人数")


# ================================================================ §15 考生报名时间设置
def get_online_reg(s: Session, actor: Actor, site_id: int) -> dict:
    site = _site(s, actor, site_id)
    term_id = _term_id(actor)
    vals = _setting_values(site, _setting(s, site, term_id))
    w = _org_window(s, site.id, term_id, "online_reg")
    return {"enabled": vals["online_reg_enabled"], "start": vals["online_reg_start"], "end": vals["online_reg_end"],
            "earliest": w.start_at if w else None, "latest": w.end_at if w else None, "is_open": vals["is_open"]}


def save_online_reg(s: Session, actor: Actor, site_id: int, enabled: bool, start: Any = None, end: Any = None) -> None:
    """§15: 开启个人网报 needs a 考生网上报名时间 within the site's 考生网上报名最早/最晚时间 (the §9 window)."""
    site = _site_for_site_write(s, actor, site_id, "考生报名时间设置")
    term_id = actor.term_id
    start_v = _parse_dt(start, "考生网上报名开始时间")
    end_v = _parse_dt(end, "考生网上报名结束时间")
    if enabled:
        if start_v is None:
            raise ValidationError("开启个人网报，必须填写考生网上报名开始时间。", "考生网上报名开始时间")
        if end_v is None:
            raise ValidationError("开启个人网报，必须填写考生网上报名结束时间。", "考生网上报名结束时间")
    if start_v and end_v and end_v <= start_v:
        raise ValidationError("考生网上报名结束时间必须晚于开始时间。", "考生网上报名结束时间")
    if enabled:
        w = _org_window(s, site.id, term_id, "online_reg")
        if w is None or w.start_at is None or w.end_at is None:
            raise ValidationError("上级尚未设置本考点的考生网上报名最早时间和最晚时间（《考点操作时间设置》），"
                                  "暂不能开启个人网报。", "考生网上报名时间")
        if start_v < w.start_at or end_v > w.end_at:
            raise ValidationError(f"考生网上报名时间须在考生网上报名最早时间和最晚时间范围"
                                  f"（{_fmt(w.start_at)} 至 {_fmt(w.end_at)}）内。", "考生网上报名时间")
    st = _setting(s, site, term_id, create=True)
    before = row_dict(st)
    st.online_reg_enabled = bool(enabled)
    st.online_reg_start, st.online_reg_end = start_v, end_v
    s.flush()
    audit(s, actor, "update", "考生报名时间", st.id, org_id=site.id, before=before, after=row_dict(st),
          summary=f"{org_label(site)}{'开启' if enabled else '关闭'}个人网报"
                  + (f"：{_fmt(start_v)} 至 {_fmt(end_v)}" if enabled else ""))


# ================================================================ §16 省报名通告设置
def notice_provinces(s: Session, actor: Actor) -> list[tuple[int, str]]:
    """Provinces whose notice the actor may open: the center picks any; others get their own province."""
    if actor.org_kind == "center":
        return [(o.id, org_label(o)) for o in s.scalars(
            select(Org).where(Org.kind == "province", in_scope(actor, Org.id)).order_by(Org.code))]
    pid = province_id_of(actor.org_path)
    org = s.get(Org, pid) if pid else None
    return [(org.id, org_label(org))] if org else []


def _notice_province(s: Session, actor: Actor, province_id: int | None) -> Org:
    allowed = dict(notice_provinces(s, actor))
    if province_id is None and len(allowed) == 1:
        province_id = next(iter(allowed))
    if province_id is None:
        raise ValidationError("请选择省份。", "省份")
    if province_id not in allowed:
        raise NotFound("省份不存在或不在您的管理范围内。")
    return s.get(Org, province_id)


def get_province_notice(s: Session, actor: Actor, province_id: int | None = None) -> dict:
    """§16: a site or city reads its own province's notice; the center names the province."""
    prov = _notice_province(s, actor, province_id)
    n = s.scalar(select(ProvinceNotice).where(ProvinceNotice.province_id == prov.id,
                                              ProvinceNotice.term_id == _term_id(actor)))
    return {"province_id": prov.id, "province": prov.name, "content": n.content if n else None,
            "updated_at": n.updated_at if n else None}


def save_province_notice(s: Session, actor: Actor, province_id: int | None, content: Any) -> None:
    """§16: the province (or 考试中心) sets it; may be empty."""
    require_writable_term(actor)
    if actor.role not in UPPER_ROLES:
        raise PermissionDenied("省报名通告的设置权限在省里，您只能查看。")
    prov = _notice_province(s, actor, province_id)
    if actor.org_kind == "province" and prov.id != actor.org_id:
        raise NotFound("省份不存在或不在您的管理范围内。")
    require_window(s, actor, "pre_reg_setting")
    text = _text(content, "省报名通告", NOTICE_MAX_CHARS)
    term_id = actor.term_id
    n = s.scalar(select(ProvinceNotice).where(ProvinceNotice.province_id == prov.id, ProvinceNotice.term_id == term_id))
    before = row_dict(n) if n else None
    if n is None:
        n = ProvinceNotice(province_id=prov.id, term_id=term_id)
        s.add(n)
    n.content = text
    n.updated_at = datetime.now().replace(microsecond=0)
    s.flush()
    audit(s, actor, "update" if before else "create", "省报名通告", n.id, org_id=prov.id, before=before,
          after=row_dict(n), summary=f"{'清空' if text is None else '修改'}{prov.name}的省报名通告")


# ================================================================ §17 考点报名通告设置
def get_site_notice(s: Session, actor: Actor, site_id: int) -> str | None:
    site = _site(s, actor, site_id)
    return _setting_values(site, _setting(s, site, _term_id(actor)))["notice"]


def save_site_notice(s: Session, actor: Actor, site_id: int, content: Any) -> None:
    """§17: the 新通告 replaces the 当前通告; may be empty."""
    site = _site_for_site_write(s, actor, site_id, "考点报名通告")
    text = _text(content, "新通告", NOTICE_MAX_CHARS)
    st = _setting(s, site, actor.term_id, create=True)
    before = row_dict(st)
    st.notice = text
    s.flush()
    audit(s, actor, "update", "考点报名通告", st.id, org_id=site.id, before=before, after=row_dict(st),
          summary=f"{'清空' if text is None else '修改'}{org_label(site)}的考点报名通告")


# ================================================================ §18 考点班级选项设置
_SEP = re.compile(r"[;；]")


def parse_class_options(text: Any) -> list[str]:
    """'会计一班; 会计二班；管理一班' -> ['会计一班', '会计二班', '管理一班']. Separators ';' or '；';
    items trimmed, empties dropped; duplicates and over-long items refused. Empty -> [] (不设置)."""
    if text is None:
        return []
    items = [x.strip() for x in _SEP.split(str(text))]
    items = [x for x in items if x]
    seen: set[str] = set()
    dups: list[str] = []
    for x in items:
        if len(x) > CLASS_OPTION_MAX_CHARS:
            raise ValidationError(f"班级选项“{x[:20]}…”过长（每个选项最多 {CLASS_OPTION_MAX_CHARS} 个字）。", "班级选项")
        if x in seen and x not in dups:
            dups.append(x)
        seen.add(x)
    if dups:
        raise ValidationError(f"班级选项重复：{'、'.join(dups)}，请删除重复的选项。", "班级选项")
    if len(items) > CLASS_OPTIONS_MAX_COUNT:
        raise ValidationError(f"班级选项最多 {CLASS_OPTIONS_MAX_COUNT} 个（当前 {len(items)} 个）。", "班级选项")
    return items


def _attr(setting: Any, name: str, default: Any = None) -> Any:
    if setting is None:
        return default
    if isinstance(setting, Mapping):
        return setting.get(name, default)
    return getattr(setting, name, default)


def class_options_list(setting: Any) -> list[str]:
    """The class options of a site (SiteSetting, its dict, a raw string, or None): [] = 不设置 (free text)."""
    raw = setting if isinstance(setting, str) or setting is None else _attr(setting, "class_options")
    if not raw:
        return []
    out: list[str] = []
    for x in _SEP.split(raw):
        x = x.strip()
        if x and x not in out:
            out.append(x)
    return out


def validate_class(setting: Any, value: Any) -> str | None:
    """A candidate's 班级 for a site: required when 班级必需; must be one of the options when options are set.
    Returns the trimmed value (None when empty and allowed)."""
    v = (str(value).strip() if value is not None else "") or None
    options = class_options_list(setting)
    if v is None:
        if _attr(setting, "class_required", False):
            raise ValidationError("本考点要求填写班级信息（班级必需）。", "班级")
        return None
    if len(v) > CLASS_OPTION_MAX_CHARS:
        raise ValidationError(f"班级最多 {CLASS_OPTION_MAX_CHARS} 个字。", "班级")
    if options and v not in options:
        raise ValidationError(f"班级“{v}”不在本考点的班级选项中，只能从以下选项中选取：{'、'.join(options)}。", "班级")
    return v


def get_class_options(s: Session, actor: Actor, site_id: int) -> dict:
    site = _site(s, actor, site_id)
    vals = _setting_values(site, _setting(s, site, _term_id(actor)))
    return {"code": site.code, "name": site.name, "raw": vals["class_options"],
            "options": class_options_list(vals["class_options"]), "is_open": vals["is_open"],
            "class_required": vals["class_required"]}


def save_class_options(s: Session, actor: Actor, site_id: int, text: Any) -> list[str]:
    """§18: store the options normalised as 'a;b;c' (None when empty = 不设置). Returns the options."""
    site = _site_for_site_write(s, actor, site_id, "考点班级选项")
    items = parse_class_options(text)
    st = _setting(s, site, actor.term_id, create=True)
    before = row_dict(st)
    st.class_options = ";".join(items) if items else None
    s.flush()
    audit(s, actor, "update", "考点班级选项", st.id, org_id=site.id, before=before, after=row_dict(st),
          summary=f"{org_label(site)}{'设置' if items else '清空'}班级选项（{len(items)} 个）")
    return items


# ================================================================ §19 学籍报考设置
def get_registry_setting(s: Session, actor: Actor, site_id: int) -> dict:
    site = _site(s, actor, site_id)
    vals = _setting_values(site, _setting(s, site, _term_id(actor)))
    codes = parse_site_codes(vals["registry_allowed_sites"])
    names = dict(s.execute(select(Org.code, Org.name).where(Org.code.in_(codes))).all()) if codes else {}
    return {"code": site.code, "name": site.name, "registry_enabled": vals["registry_enabled"],
            "only_province_registry": vals["only_province_registry"],
            "only_site_registry": vals["only_site_registry"], "allowed_sites": codes,
            "allowed_sites_text": "、".join(f"({c}){names.get(c, '')}" for c in codes) if codes else "不限"}


def parse_site_codes(value: Any) -> list[str]:
    """'110001;110002' / list -> ['110001', '110002'] (separators ; ； , ， and spaces; duplicates dropped)."""
    if value is None:
        return []
    parts = value if isinstance(value, (list, tuple, set)) else re.split(r"[;；,，\s]+", str(value))
    out: list[str] = []
    for p in parts:
        p = str(p).strip()
        if p and p not in out:
            out.append(p)
    return out


def province_sites(s: Session, actor: Actor, site_id: int) -> list[tuple[str, str]]:
    """Sites of the chosen site's province (the 可报考考点 choices): (code, '(code)name')."""
    site = _site(s, actor, site_id)
    prov = s.get(Org, province_id_of(site.path))
    if prov is None:
        return []
    rows = s.scalars(select(Org).where(Org.kind == "site", Org.path.startswith(prov.path, autoescape=True))
                     .order_by(Org.code))
    return [(o.code, org_label(o)) for o in rows]


def save_registry_setting(s: Session, actor: Actor, site_id: int, *, registry_enabled: bool,
                          only_province_registry: bool, only_site_registry: bool, allowed_sites: Any) -> None:
    """§19: set by the province (or 考试中心). 可报考考点: site codes within the site's province; empty = 不限."""
    site = _site_for_upper_write(s, actor, site_id, "学籍报考设置")
    codes = parse_site_codes(allowed_sites)
    if codes:
        valid = {c for c, _ in province_sites(s, actor, site_id)}
        bad = [c for c in codes if c not in valid]
        if bad:
            raise ValidationError(f"可报考考点只可以在本省内选择：{'、'.join(bad)} 不是本省的考点。", "可报考考点")
    st = _setting(s, site, actor.term_id, create=True)
    before = row_dict(st)
    st.registry_enabled = bool(registry_enabled)
    st.only_province_registry = bool(only_province_registry)
    st.only_site_registry = bool(only_site_registry)
    st.registry_allowed_sites = ";".join(codes) if codes else None
    s.flush()
    audit(s, actor, "update", "学籍报考设置", st.id, org_id=site.id, before=before, after=row_dict(st),
          summary=f"修改{org_label(site)}的学籍报考设置")


@dataclass(frozen=True)
class RegistryInfo:
    """Where a candidate's 学籍 is: the registry site and that site's §19 setting (可报考考点)."""

    site_id: int
    site_code: str
    province_id: int | None
    registry_enabled: bool  # the registry site 启用学籍库 (else its students count as 社会考生, §19.4)
    allowed_site_codes: tuple[str, ...] = ()  # 可报考考点; empty = 不限


def registry_info(s: Session, registry_site_id: int, term_id: int) -> RegistryInfo:
    """RegistryInfo of a candidate whose 学籍 is at `registry_site_id` (no permission check: the
    registration service calls it for a candidate it has already found)."""
    site = s.get(Org, registry_site_id)
    if site is None or site.kind != "site":
        raise NotFound("学籍所在考点不存在。")
    vals = _setting_values(site, _setting(s, site, term_id))
    return RegistryInfo(site.id, site.code, province_id_of(site.path), bool(vals["registry_enabled"]),
                        tuple(parse_site_codes(vals["registry_allowed_sites"])))


def registry_admission(setting: Any, site: Any, candidate_registry: RegistryInfo | None,
                       candidate_province_id: int | None = None) -> tuple[bool, str]:
    """May this candidate register at `site` (001 §19)? Pure: no database.

    setting: the target site's SiteSetting (or dict; None = defaults, 学籍库 not enabled).
    site: the target site (needs .id, .code, .path).
    candidate_registry: the candidate's 学籍 (None = 社会考生).
    candidate_province_id: the province of the candidate's 学籍, when known apart from the RegistryInfo
      (defaults to candidate_registry.province_id).

    - A 学籍 at a site that does not 启用学籍库 counts as 不在学籍库 (社会考生), §19.4.
    - A 学籍库考生 of another province is free of his own site's restrictions (§19 last note) and is
      not a 本省学籍库考生 of the target: the target treats him as a 社会考生.
    - A 本省学籍库考生 may only register at the sites of his 学籍考点's 可报考考点 (empty = 不限).
    - Target switches (only when the target 启用学籍库):
      1) 仅本省 on, 仅本考点 off: 社会考生 refused; 本省学籍考生 allowed per 可报考考点;
      2) 仅本省 on, 仅本考点 on and 4) 仅本省 off, 仅本考点 on: only the target's own 学籍考生;
      3) both off: 社会考生 allowed; 本省学籍考生 allowed per 可报考考点.
    """
    target_province = province_id_of(_attr(site, "path", "") or "")
    reg_province = candidate_province_id
    if candidate_registry is not None and reg_province is None:
        reg_province = candidate_registry.province_id
    in_registry = candidate_registry is not None and candidate_registry.registry_enabled
    local = in_registry and reg_province is not None and reg_province == target_province
    own = local and candidate_registry.site_id == _attr(site, "id")
    if in_registry and not local:
        kind = "外省学籍库考生"
    elif local:
        kind = "本考点学籍库考生" if own else "本省其他考点学籍库考生"
    else:
        kind = "社会考生"

    enabled = bool(_attr(setting, "registry_enabled", False))
    only_site = enabled and bool(_attr(setting, "only_site_registry", False))
    only_prov = enabled and bool(_attr(setting, "only_province_registry", False))
    if only_site and not own:
        if kind in ("社会考生", "外省学籍库考生"):
            return False, f"本考点仅接受本考点学籍库考生报考，{kind}无法报考本考点。"
        return False, "本考点仅接受本考点学籍库考生报考，其他考点的学籍库考生不可以报考本考点。"
    if only_prov and not local:
        return False, f"本考点仅接受本省学籍库考生报考，{kind}无法报考本考点。"
    if local:
        allowed = candidate_registry.allowed_site_codes
        code = _attr(site, "code")
        if allowed and code not in allowed:
            return False, (f"您的学籍所在考点（{candidate_registry.site_code}）设置的可报考考点为"
                           f"{'、'.join(allowed)}，不包含本考点（{code}）。")
        return True, f"{kind}，符合可报考考点设置，可以报考本考点。"
    if kind == "外省学籍库考生":
        return True, "外省学籍库考生在本省报考不受其学籍考点的学籍报考设置限制，可以报考本考点。"
    return True, "社会考生，本考点接受社会考生报考。"
