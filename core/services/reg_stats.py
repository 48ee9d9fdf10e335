"""报名管理 statistics (001 §28 报考统计 / 支付统计 / 考生统计, §29 科目容量统计).

Read-only and not limited by operation windows (§28.2, §29.2): every administrator sees the sites of
their scope (THE scope predicate `in_scope` on the site column) in the 考次 being viewed
(`actor.term_id`, current or past). One row per site, then a 合计 row. Every count is one SQL
GROUP BY over the registrations/enrollments of the term, so a table of 100k+ 报考 costs a few
aggregate queries; Python only pivots the aggregated rows (sites × subjects).

`export_stats` writes the same table to Excel (core.exports.tabular.write_xlsx: text is never a
formula) and records it in the audit log (action "export"). No streamlit here.

The 取消考试信息查看 list (§27) is a declared entity page: core/specs/cancelled.py.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Callable, Iterable

from sqlalchemy import and_, case, exists, func, or_, select
from sqlalchemy.orm import Session

from core.auth import ADMIN_ROLES, Actor, in_scope, require_role
from core.errors import NotFound, ValidationError
from core.exports.tabular import write_xlsx
from core.models import (
    Application,
    Enrollment,
    ExamTerm,
    Org,
    OrgTerm,
    PaymentOrder,
    Registration,
    SiteSetting,
    SiteSubject,
    Subject,
)
from core.services.base import audit

SITE_COL = "考点"
SUBJECT_COL = "科目"
TOTAL_LABEL = "合计"
TITLES: dict[str, str] = {
    "reg": "报考统计",
    "pay": "支付统计",
    "pay_subject": "支付统计（按科目）",
    "candidate": "考生统计",
    "capacity": "科目容量统计",
}
NOTE = "统计功能不受考点操作时间限制；数据为点击“刷新”时的实时数据。表格较宽时可左右滚动查看更多列。"
MAX_CHART_SERIES = 12  # more sites than this: the chart shows the 合计 only

# ---------------------------------------------------------------- capacity (§13, §29.4)
CAPACITY_MAX = 99999  # §13.3: 99999 = 不限
LOW_SHARE = 0.10  # less than 10 % left: 紧张
UNSET, CLOSED, UNLIMITED, FULL, LOW, OK = "unset", "closed", "unlimited", "full", "low", "ok"
# level -> (legend label, background colour, text colour)
LEVELS: dict[str, tuple[str, str, str]] = {
    OK: ("充足（剩余 ≥ 10%）", "#c8e6c9", "#1b5e20"),
    LOW: ("紧张（剩余 < 10%）", "#ffe0b2", "#e65100"),
    FULL: ("已满（剩余 ≤ 0）", "#ffcdd2", "#b71c1c"),
    UNLIMITED: ("不限", "#bbdefb", "#0d47a1"),
    UNSET: ("未设置", "#e0e0e0", "#424242"),
    CLOSED: ("不开考", "#e0e0e0", "#424242"),
}
LEVEL_TEXT = {UNSET: "未设置", CLOSED: "不开考", UNLIMITED: "不限"}


def capacity_level(capacity: int | None, registered: int = 0, site_open: bool = True) -> str:
    """The colour class of a capacity (§29.4): None 未设置, 0 (or a site set to 不开考) 不开考,
    >= 99999 不限; otherwise by what is left: <= 0 已满, < 10 % 紧张, else 充足."""
    if not site_open:
        return CLOSED
    if capacity is None:
        return UNSET
    if capacity <= 0:
        return CLOSED
    if capacity >= CAPACITY_MAX:
        return UNLIMITED
    remaining = capacity - (registered or 0)
    if remaining <= 0:
        return FULL
    if remaining < capacity * LOW_SHARE:
        return LOW
    return OK


def level_style(level: str | None) -> str:
    """CSS for a cell of this level ('' for none): what the page's Styler applies."""
    if level not in LEVELS:
        return ""
    _label, bg, fg = LEVELS[level]
    return f"background-color: {bg}; color: {fg}"


def capacity_cells(capacity: int | None, registered: int, site_open: bool = True) -> tuple[Any, Any, str]:
    """(总容量, 剩余容量, level) as shown: numbers when limited, else 未设置 / 不开考 / 不限."""
    level = capacity_level(capacity, registered, site_open)
    if level in LEVEL_TEXT:
        return LEVEL_TEXT[level], LEVEL_TEXT[level], level
    return int(capacity), int(capacity) - int(registered or 0), level


# ---------------------------------------------------------------- the result
@dataclass(frozen=True)
class StatTable:
    """One statistics table: `rows` holds one row per site (or subject) and the 合计 row last.
    `levels` (科目容量统计 only) has the colour class of each cell, same shape as `rows`.
    `chart` is long-form data for a bar chart: dicts with x, series, value."""

    kind: str
    title: str
    term_id: int
    term_name: str
    columns: tuple[str, ...]
    rows: tuple[tuple, ...]
    keys: tuple[Any, ...]  # site id (or subject id) of each row; None for 合计
    chart: tuple[dict, ...] = ()
    chart_x: str = SITE_COL
    chart_y: str = "人次"
    levels: tuple[tuple, ...] | None = None
    generated_at: datetime = field(default_factory=lambda: datetime.now().replace(microsecond=0))

    @property
    def total(self) -> dict[str, Any]:
        """The 合计 row as {column: value}."""
        return dict(zip(self.columns, self.rows[-1]))

    @property
    def body(self) -> tuple[tuple, ...]:
        """The rows without the 合计 row."""
        return self.rows[:-1]

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, r)) for r in self.rows]

    def row(self, label_part: str) -> dict[str, Any]:
        """The first row whose first cell contains `label_part` (e.g. a site code), as a dict."""
        for r in self.rows:
            if label_part in str(r[0]):
                return dict(zip(self.columns, r))
        raise KeyError(label_part)


# ---------------------------------------------------------------- shared pieces
def count_if(cond) -> Any:
    return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)


def _money(v: Any) -> float:
    if v is None:
        return 0.0
    return float(Decimal(str(v)).quantize(Decimal("0.01")))


def stats_term(s: Session, actor: Actor) -> ExamTerm:
    """The actor's 考次 for a statistic (any administrator; NotFound when there is none)."""
    require_role(actor, *ADMIN_ROLES)
    if actor.term_id is None:
        raise NotFound("系统尚未设置考次，请考试中心管理员先创建考次。")
    term = s.get(ExamTerm, actor.term_id)
    if term is None:
        raise NotFound("所查看的考次不存在。")
    return term


def scope_sites(s: Session, actor: Actor, term_id: int) -> list[tuple[int, str]]:
    """The sites of the actor's scope in this 考次: enabled in it, or holding any of its data."""
    active = or_(
        exists().where(OrgTerm.org_id == Org.id, OrgTerm.term_id == term_id, OrgTerm.enabled.is_(True)),
        exists().where(Registration.site_id == Org.id, Registration.term_id == term_id),
        exists().where(Enrollment.site_id == Org.id, Enrollment.term_id == term_id),
    )
    rows = s.execute(select(Org.id, Org.code, Org.name).where(Org.kind == "site", in_scope(actor, Org.id), active)
                     .order_by(Org.code)).all()
    return [(r.id, f"({r.code}){r.name}") for r in rows]


def subject_label(code: str, name: str) -> str:
    return f"({code}) {name}"


def subject_items(s: Session, ids: Iterable[int]) -> list[tuple[int, str]]:
    ids = set(ids)
    if not ids:
        return []
    return [(x.id, subject_label(x.code, x.name)) for x in s.scalars(
        select(Subject).where(Subject.id.in_(ids)).order_by(Subject.code))]


def _chart_by_site(sites: list[tuple[int, str]], values: dict[int, dict[str, float]], series: Iterable[str]
                   ) -> tuple[dict, ...]:
    return tuple({"x": label, "series": name, "value": values.get(sid, {}).get(name, 0)}
                 for sid, label in sites for name in series)


# ---------------------------------------------------------------- 报考统计 (§28)
def reg_stats(s: Session, actor: Actor) -> StatTable:
    """报考统计: per site 报名人数, 报考人次 (total and per subject), then 合计. Subjects: those
    registered for or opened (capacity not 0) at a site of the scope in this 考次."""
    term = stats_term(s, actor)
    tid = term.id
    sites = scope_sites(s, actor, tid)
    counts = s.execute(select(Registration.site_id, Registration.subject_id, func.count())
                       .where(Registration.term_id == tid, in_scope(actor, Registration.site_id))
                       .group_by(Registration.site_id, Registration.subject_id)).all()
    enrolled = {sid: int(n) for sid, n in s.execute(
        select(Enrollment.site_id, func.count()).where(Enrollment.term_id == tid, in_scope(actor, Enrollment.site_id))
        .group_by(Enrollment.site_id))}
    opened = s.scalars(select(SiteSubject.subject_id).distinct().where(
        SiteSubject.term_id == tid, in_scope(actor, SiteSubject.site_id),
        or_(SiteSubject.capacity.is_(None), SiteSubject.capacity != 0)))
    subjects = subject_items(s, {r[1] for r in counts} | set(opened))
    by_site: dict[int, dict[int, int]] = {}
    for site_id, subject_id, n in counts:
        by_site.setdefault(site_id, {})[subject_id] = int(n)
    columns = (SITE_COL, "报名人数", "报考人次合计") + tuple(lbl for _sid, lbl in subjects)
    rows, keys = [], []
    for site_id, label in sites:
        per = by_site.get(site_id, {})
        rows.append((label, enrolled.get(site_id, 0), sum(per.values())) + tuple(per.get(x, 0) for x, _ in subjects))
        keys.append(site_id)
    rows.append(total_row(rows, len(columns)))
    keys.append(None)
    # chart: 报考人次 per subject, stacked by site (or the 合计 only when there are many sites)
    if 1 < len(sites) <= MAX_CHART_SERIES:
        chart = tuple({"x": lbl, "series": label, "value": by_site.get(site_id, {}).get(sid, 0)}
                      for sid, lbl in subjects for site_id, label in sites)
    else:
        total = rows[-1]
        chart = tuple({"x": lbl, "series": TOTAL_LABEL if len(sites) != 1 else sites[0][1], "value": total[3 + i]}
                      for i, (_sid, lbl) in enumerate(subjects))
    return StatTable("reg", TITLES["reg"], tid, term.name, columns, tuple(rows), tuple(keys), chart,
                     chart_x=SUBJECT_COL, chart_y="报考人次")


def total_row(rows: list[tuple], ncols: int, label: str = TOTAL_LABEL) -> tuple:
    sums = []
    for c in range(1, ncols):
        vals = [r[c] for r in rows]
        if any(isinstance(v, float) for v in vals):
            sums.append(round(sum(vals), 2))
        else:
            sums.append(sum(vals))
    return (label, *sums)


# ---------------------------------------------------------------- 支付统计 (§28)
PAY_COLUMNS = ("报考科次", "已支付科次", "未支付科次", "已支付金额（元）", "未支付金额（元）", "集体缴费科次", "个人缴费科次")


def _pay_query(actor: Actor, tid: int, group_col):
    paid = Registration.paid.is_(True)
    return (select(group_col, func.count(), count_if(paid),
                   func.coalesce(func.sum(case((paid, Registration.fee), else_=0)), 0),
                   func.coalesce(func.sum(case((paid, 0), else_=Registration.fee)), 0),
                   count_if(and_(paid, PaymentOrder.kind == "group")))
            .outerjoin(PaymentOrder, PaymentOrder.id == Registration.order_id)
            .where(Registration.term_id == tid, in_scope(actor, Registration.site_id))
            .group_by(group_col))


def _pay_values(n, paid, paid_amount, unpaid_amount, group) -> tuple:
    n, paid, group = int(n), int(paid), int(group)
    return (n, paid, n - paid, _money(paid_amount), _money(unpaid_amount), group, paid - group)


def pay_stats(s: Session, actor: Actor) -> StatTable:
    """支付统计 per site: 报考科次, 已/未支付科次, 已/未支付金额 (sum of Registration.fee), 集体缴费科次
    (paid through a 集体缴费批次, PaymentOrder kind 'group') and 个人缴费科次 (the other paid ones)."""
    term = stats_term(s, actor)
    tid = term.id
    sites = scope_sites(s, actor, tid)
    agg = {r[0]: _pay_values(*r[1:]) for r in s.execute(_pay_query(actor, tid, Registration.site_id))}
    zero = (0, 0, 0, 0.0, 0.0, 0, 0)
    columns = (SITE_COL,) + PAY_COLUMNS
    rows = [(label, *agg.get(site_id, zero)) for site_id, label in sites]
    keys: list[Any] = [sid for sid, _ in sites]
    rows.append(total_row(rows, len(columns)))
    keys.append(None)
    values = {sid: {"已支付科次": v[1], "未支付科次": v[2]} for sid, v in agg.items()}
    if len(sites) > MAX_CHART_SERIES:
        t = dict(zip(columns, rows[-1]))
        chart = tuple({"x": TOTAL_LABEL, "series": k, "value": t[k]} for k in ("已支付科次", "未支付科次"))
    else:
        chart = _chart_by_site(sites, values, ("已支付科次", "未支付科次"))
    return StatTable("pay", TITLES["pay"], tid, term.name, columns, tuple(rows), tuple(keys), chart,
                     chart_y="科次")


def pay_subject_stats(s: Session, actor: Actor) -> StatTable:
    """支付统计 by subject over the sites of the scope (same columns as `pay_stats`)."""
    term = stats_term(s, actor)
    tid = term.id
    agg = {r[0]: _pay_values(*r[1:]) for r in s.execute(_pay_query(actor, tid, Registration.subject_id))}
    subjects = subject_items(s, agg)
    columns = (SUBJECT_COL,) + PAY_COLUMNS
    rows = [(label, *agg[sid]) for sid, label in subjects]
    keys: list[Any] = [sid for sid, _ in subjects]
    rows.append(total_row(rows, len(columns)))
    keys.append(None)
    chart = tuple({"x": label, "series": k, "value": agg[sid][i]} for sid, label in subjects
                  for i, k in ((1, "已支付科次"), (2, "未支付科次")))
    return StatTable("pay_subject", TITLES["pay_subject"], tid, term.name, columns, tuple(rows), tuple(keys),
                     chart, chart_x=SUBJECT_COL, chart_y="科次")


# ---------------------------------------------------------------- 考生统计 (§28)
CANDIDATE_COLUMNS = ("报名人数", "集体报名", "考生注册", "学籍考生", "社会考生", "有照片", "无照片", "已锁定", "未锁定",
                     "无需审核", "待审核", "已通过", "不通过", "全部支付", "部分支付", "全未支付")


def candidate_stats(s: Session, actor: Actor) -> StatTable:
    """考生统计 per site (one row per 报名信息 of the 考次): 报名方式, 学籍/社会考生, 照片, 锁定, 审核状态
    (Application.state of Enrollment.review_app_id; none = 无需审核) and 支付状态 over the candidate's 报考
    (all paid / some paid / none paid; a candidate with no 报考 counts as 全未支付)."""
    term = stats_term(s, actor)
    tid = term.id
    sites = scope_sites(s, actor, tid)
    state = Application.state
    no_review = or_(Enrollment.review_app_id.is_(None), Application.id.is_(None))
    q = (select(Enrollment.site_id, func.count(),
                count_if(Enrollment.channel == "group"), count_if(Enrollment.channel == "individual"),
                count_if(Enrollment.is_registry.is_(True)), count_if(Enrollment.is_registry.is_not(True)),
                count_if(Enrollment.photo_sha256.is_not(None)), count_if(Enrollment.photo_sha256.is_(None)),
                count_if(Enrollment.locked.is_(True)), count_if(Enrollment.locked.is_not(True)),
                count_if(no_review), count_if(state == "pending"), count_if(state == "approved"), count_if(state == "rejected"))
         .outerjoin(Application, Application.id == Enrollment.review_app_id)
         .where(Enrollment.term_id == tid, in_scope(actor, Enrollment.site_id))
         .group_by(Enrollment.site_id))
    # 支付状态: 报考 per 报名信息 first, then per site. The per-enrollment aggregate is only ever the
    # FROM of the outer aggregate (never joined back): a fresh bulk import without planner
    # statistics cannot turn it into a nested loop that re-aggregates per row.
    per = (select(Enrollment.site_id.label("site_id"), func.count().label("n"),
                  count_if(Registration.paid.is_(True)).label("p"))
           .join(Enrollment, Enrollment.id == Registration.enrollment_id)
           .where(Enrollment.term_id == tid, in_scope(actor, Enrollment.site_id))
           .group_by(Enrollment.site_id, Registration.enrollment_id).subquery())
    pay = {r[0]: (int(r[1]), int(r[2])) for r in s.execute(
        select(per.c.site_id, count_if(per.c.p == per.c.n), count_if(and_(per.c.p > 0, per.c.p < per.c.n)))
        .group_by(per.c.site_id))}
    agg = {}
    for r in s.execute(q):
        counts = tuple(int(x) for x in r[1:])
        full, part = pay.get(r[0], (0, 0))
        agg[r[0]] = counts + (full, part, counts[0] - full - part)  # no 报考 at all: 全未支付
    zero = (0,) * len(CANDIDATE_COLUMNS)
    columns = (SITE_COL,) + CANDIDATE_COLUMNS
    rows = [(label, *agg.get(site_id, zero)) for site_id, label in sites]
    keys: list[Any] = [sid for sid, _ in sites]
    rows.append(total_row(rows, len(columns)))
    keys.append(None)
    values = {sid: dict(zip(CANDIDATE_COLUMNS, v)) for sid, v in agg.items()}
    if len(sites) > MAX_CHART_SERIES:
        t = dict(zip(columns, rows[-1]))
        chart = tuple({"x": TOTAL_LABEL, "series": k, "value": t[k]} for k in ("集体报名", "考生注册"))
    else:
        chart = _chart_by_site(sites, values, ("集体报名", "考生注册"))
    return StatTable("candidate", TITLES["candidate"], tid, term.name, columns, tuple(rows), tuple(keys), chart,
                     chart_y="报名人数")


# ---------------------------------------------------------------- 科目容量统计 (§29)
TOTAL_SUBJECT = "(SS) 总科次数"
CAP, LEFT = "总容量", "剩余容量"


def _sum_capacity(parts: list[tuple[int | None, int, bool]]) -> tuple[Any, Any, str]:
    """The 合计 of several sites' (capacity, registered, site_open): 不限 when any is 不限, else the
    sum over the sites with a limited capacity; 未设置/不开考 when none has one."""
    levels = [capacity_level(c, r, o) for c, r, o in parts]
    if UNLIMITED in levels:
        return capacity_cells(CAPACITY_MAX, 0)
    limited = [(c, r) for (c, r, _o), lv in zip(parts, levels) if lv in (OK, LOW, FULL)]
    if limited:
        return capacity_cells(sum(c for c, _ in limited), sum(r for _, r in limited))
    if not parts:
        return None, None, ""
    return capacity_cells(None if UNSET in levels else 0, 0)


def capacity_stats(s: Session, actor: Actor) -> StatTable:
    """科目容量统计 per site: 总科次数 (SiteSetting.total_capacity) and each 开考科目 (SiteSubject.capacity):
    总容量 and 剩余容量 = capacity − 报考 rows at the site in the 考次; `levels` colours each 剩余容量
    cell (capacity_level). A site set to 不开考 (§13.2) shows every capacity as 不开考."""
    term = stats_term(s, actor)
    tid = term.id
    sites = scope_sites(s, actor, tid)
    settings = {r.site_id: (r.total_capacity, bool(r.is_open)) for r in s.execute(
        select(SiteSetting.site_id, SiteSetting.total_capacity, SiteSetting.is_open)
        .where(SiteSetting.term_id == tid, in_scope(actor, SiteSetting.site_id)))}
    caps: dict[int, dict[int, int | None]] = {}
    for site_id, subject_id, cap in s.execute(
            select(SiteSubject.site_id, SiteSubject.subject_id, SiteSubject.capacity)
            .where(SiteSubject.term_id == tid, in_scope(actor, SiteSubject.site_id))):
        caps.setdefault(site_id, {})[subject_id] = cap
    regs: dict[int, dict[int, int]] = {}
    for site_id, subject_id, n in s.execute(
            select(Registration.site_id, Registration.subject_id, func.count())
            .where(Registration.term_id == tid, in_scope(actor, Registration.site_id))
            .group_by(Registration.site_id, Registration.subject_id)):
        regs.setdefault(site_id, {})[subject_id] = int(n)
    subjects = subject_items(s, {x for d in caps.values() for x in d} | {x for d in regs.values() for x in d})
    columns = [SITE_COL, f"{TOTAL_SUBJECT} {CAP}", f"{TOTAL_SUBJECT} {LEFT}"]
    for _sid, lbl in subjects:
        columns += [f"{lbl} {CAP}", f"{lbl} {LEFT}"]
    rows, levels, keys = [], [], []
    total_parts: list[tuple] = []
    subject_parts: dict[int, list[tuple]] = {sid: [] for sid, _ in subjects}
    for site_id, label in sites:
        total_cap, is_open = settings.get(site_id, (None, True))
        site_regs = regs.get(site_id, {})
        registered = sum(site_regs.values())
        cap_v, left_v, lv = capacity_cells(total_cap, registered, is_open)
        row, lvs = [label, cap_v, left_v], [None, None, lv]
        total_parts.append((total_cap, registered, is_open))
        site_caps = caps.get(site_id, {})
        for sid, _lbl in subjects:
            n = site_regs.get(sid, 0)
            if sid in site_caps:
                c, r, lv = capacity_cells(site_caps[sid], n, is_open)
                subject_parts[sid].append((site_caps[sid], n, is_open))
            elif n:  # registrations for a subject the site does not (or no longer) open
                c, r, lv = capacity_cells(None, n)
                subject_parts[sid].append((None, n, is_open))
            else:
                c, r, lv = None, None, None
            row += [c, r]
            lvs += [None, lv]
        rows.append(tuple(row))
        levels.append(tuple(lvs))
        keys.append(site_id)
    cap_v, left_v, lv = _sum_capacity(total_parts)
    row, lvs = [TOTAL_LABEL, cap_v, left_v], [None, None, lv or None]
    chart = []
    for sid, lbl in subjects:
        c, r, lv = _sum_capacity(subject_parts[sid])
        row += [c, r]
        lvs += [None, lv or None]
        if isinstance(c, int):
            chart += [{"x": lbl, "series": "已报考", "value": c - r}, {"x": lbl, "series": LEFT, "value": max(r, 0)}]
    rows.append(tuple(row))
    levels.append(tuple(lvs))
    keys.append(None)
    return StatTable("capacity", TITLES["capacity"], tid, term.name, tuple(columns), tuple(rows), tuple(keys),
                     tuple(chart), chart_x=SUBJECT_COL, chart_y="科次", levels=tuple(levels))


# ---------------------------------------------------------------- export
BUILDERS: dict[str, Callable[[Session, Actor], StatTable]] = {
    "reg": reg_stats,
    "pay": pay_stats,
    "pay_subject": pay_subject_stats,
    "candidate": candidate_stats,
    "capacity": capacity_stats,
}


def stats(s: Session, actor: Actor, kind: str) -> StatTable:
    """The table of one kind ("reg", "pay", "pay_subject", "candidate", "capacity")."""
    if kind not in BUILDERS:
        raise ValidationError(f"未知的统计：{kind}")
    return BUILDERS[kind](s, actor)


def export_stats(s: Session, actor: Actor, kind: str) -> tuple[bytes, str]:
    """The table as an Excel file (text cells are never formulas), recorded in the audit log.
    Returns (bytes, file name)."""
    table = stats(s, actor, kind)
    data = write_xlsx(list(table.columns), table.rows, sheet_name=table.title)
    audit(s, actor, "export", table.title, None,
          summary=f"导出{table.title}（{table.term_name}）：{len(table.body)} 行 + 合计",
          after={"term_id": table.term_id, "rows": len(table.body)})
    return data, f"{table.title}_{datetime.now():%Y%m%d_%H%M%S}.xlsx"
