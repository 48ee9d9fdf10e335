"""通用统计 (001 §53): the general query builder, run by DuckDB over the live database.

The admin chooses — never types — a query:
- 数据列 (dimensions, `DIMENSIONS`): 省份, 地市, 考点, 科目, 科目级别, 性别, 年龄段, 文化程度, 报名方式,
  缴费状态, 编排状态, 考试日期, 违规类型, 成绩等级;
- 指标列 (indicators, `INDICATORS`): counts, "count ≥ x" and "count in [x, y)" over 成绩 and 年龄, where only
  the numbers can be edited (§53.3–4);
- 筛选列 (filters): for any dimension, the values to keep;
- 行转列 (pivot): dimensions moved to columns — one indicator with up to two, or several indicators with
  one (§53.5);
- or a preset (`PRESETS`: 常用报考统计, 常用编排统计, 常用其他统计, §53.6).

Everything a query touches is a 报考 (`registration`) of the chosen 考次 at a site inside the user's scope:
the scoped sites come from THE scope predicate (`core.auth.in_scope`) and are joined in as a frame, so a
row outside the scope cannot be counted (§53.2). The SQL is assembled from the whitelisted expressions
below; filter values and the 考次 are bound parameters, the edited numbers are validated integers.

Speed: a dimension on the site or subject exists on every fact table (registration, score, violation all
carry site_id/subject_id/term_id), so when the query only uses such dimensions each indicator is
aggregated on its own table and the small results are merged; otherwise the registration is joined to what
the query needs. Results are cached until the database changes (`duck.fingerprint`).
"""
from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.analytics import duck
from core.auth import Actor, in_scope
from core.errors import DomainError, ValidationError
from core.models import ExamTerm, Org, Subject
from core.models.postexam import SCORE_BANDS, VIOLATION_KINDS
from core.services.base import audit

TOTAL = "合计"
LEVELS = {1: "一级", 2: "二级", 3: "三级", 4: "四级"}
AGE = "date_sub('year', CAST(e.birth_date AS DATE), CAST($ref AS DATE))"
AGE_BANDS = ("18岁以下", "18–22岁", "23–30岁", "31–40岁", "41岁及以上", "未知")
SCORE_BAND_LABELS = tuple(b[0] for b in SCORE_BANDS) + VIOLATION_KINDS + ("无成绩",)
MAX_DIMS = 4
MAX_INDICATORS = 6
MAX_PIVOT_COLUMNS = 400


@dataclass(frozen=True)
class Dim:
    key: str
    label: str
    expr: str  # over the aliases: s (scoped sites), subj (subjects), r, e, sc, v, es
    alias: str  # the table alias it needs ("s"/"subj" are on every fact table)
    choices: tuple[str, ...] | None = None  # fixed categories, in display order


def _band_case() -> str:
    parts = [f"WHEN sc.score >= {lo} THEN '{label}'" for label, lo, _hi in SCORE_BANDS]
    return ("CASE WHEN sc.registration_id IS NULL OR (sc.score IS NULL AND coalesce(sc.flag, '') = '') THEN '无成绩' "
            "WHEN coalesce(sc.flag, '') <> '' THEN sc.flag " + " ".join(parts) + " ELSE '无成绩' END")


DIMENSIONS: dict[str, Dim] = {d.key: d for d in (
    Dim("province", "省份", "s.province", "s"),
    Dim("city", "地市", "s.city", "s"),
    Dim("site", "考点", "s.site", "s"),
    Dim("subject", "科目", "subj.subject", "subj"),
    Dim("level", "科目级别", "subj.level", "subj", tuple(LEVELS.values())),
    Dim("gender", "性别", "coalesce(nullif(e.gender, ''), '未填写')", "e"),
    Dim("age_band", "年龄段",
        f"CASE WHEN e.birth_date IS NULL THEN '未知' WHEN {AGE} < 18 THEN '18岁以下' WHEN {AGE} <= 22 THEN '18–22岁' "
        f"WHEN {AGE} <= 30 THEN '23–30岁' WHEN {AGE} <= 40 THEN '31–40岁' ELSE '41岁及以上' END", "e", AGE_BANDS),
    Dim("education", "文化程度", "coalesce(nullif(e.education, ''), '未填写')", "e"),
    Dim("channel", "报名方式", "CASE WHEN r.channel = 'individual' THEN '考生个人报名' ELSE '集体报名' END", "r",
        ("集体报名", "考生个人报名")),
    Dim("paid", "缴费状态", "CASE WHEN CAST(r.paid AS INTEGER) = 1 THEN '已缴费' ELSE '未缴费' END", "r",
        ("已缴费", "未缴费")),
    Dim("arranged", "编排状态", "CASE WHEN r.session_id IS NULL THEN '未编排' ELSE '已编排' END", "r",
        ("已编排", "未编排")),
    Dim("exam_date", "考试日期", "coalesce(strftime(CAST(es.start_at AS TIMESTAMP), '%Y-%m-%d'), '未编排')", "es"),
    Dim("violation", "违规类型", "coalesce(v.kind, '无违规')", "v", VIOLATION_KINDS + ("无违规",)),
    Dim("score_band", "成绩等级", _band_case(), "sc", SCORE_BAND_LABELS),
)}
COMMON = {"s", "subj"}  # available on every fact table


@dataclass(frozen=True)
class Ind:
    key: str
    label: str  # may hold {x} and {y}
    agg: str  # over the aliases; {x}/{y} are validated integers
    alias: str  # the table it counts: r (报考), sc (成绩), v (违规), e (报考 joined to 报名信息)
    params: int = 0  # 0, 1 (x) or 2 (x, y)
    default: tuple[int, ...] = ()
    unit: str = "人次"


INDICATORS: dict[str, Ind] = {i.key: i for i in (
    Ind("reg_count", "报考人次", "count(*)", "r"),
    Ind("candidates", "考生人数", "count(DISTINCT r.candidate_id)", "r", unit="人"),
    Ind("paid_count", "已缴费人次", "count(*) FILTER (WHERE CAST(r.paid AS INTEGER) = 1)", "r"),
    Ind("arranged_count", "已编排人次", "count(r.session_id)", "r"),
    Ind("fee_sum", "已缴费金额", "coalesce(sum(CAST(r.fee AS DOUBLE)) FILTER (WHERE CAST(r.paid AS INTEGER) = 1), 0)",
        "r", unit="元"),
    Ind("scored", "有成绩人次", "count(sc.score)", "sc"),
    Ind("score_ge", "成绩≥{x}人次", "count(*) FILTER (WHERE sc.score >= {x})", "sc", 1, (60,)),
    Ind("score_range", "成绩[{x},{y})人次", "count(*) FILTER (WHERE sc.score >= {x} AND sc.score < {y})", "sc", 2,
        (60, 80)),
    Ind("violations", "违规人次", "count(v.id)", "v"),
    Ind("age_ge", "年龄≥{x}人次", f"count(*) FILTER (WHERE {AGE} >= {{x}})", "e", 1, (18,)),
    Ind("age_range", "年龄[{x},{y})人次", f"count(*) FILTER (WHERE {AGE} >= {{x}} AND {AGE} < {{y}})", "e", 2,
        (18, 23)),
)}
NUMBER_RANGE = (0, 200)


@dataclass(frozen=True)
class Indicator:
    """One chosen indicator with its numbers."""

    key: str
    x: int | None = None
    y: int | None = None

    @property
    def label(self) -> str:
        return INDICATORS[self.key].label.format(x=self.x, y=self.y)

    def sql(self) -> str:
        return INDICATORS[self.key].agg.format(x=self.x, y=self.y)


@dataclass(frozen=True)
class Spec:
    """A query: dimensions (rows, in order), indicators, filters {dim: [values]}, pivot (dims to columns)."""

    dims: tuple[str, ...] = ()
    indicators: tuple[Indicator, ...] = (Indicator("reg_count"),)
    filters: tuple[tuple[str, tuple[str, ...]], ...] = ()
    pivot: tuple[str, ...] = ()
    term_id: int | None = None  # None: the user's 考次

    @property
    def row_dims(self) -> tuple[str, ...]:
        return tuple(d for d in self.dims if d not in self.pivot)

    def to_json(self) -> dict[str, Any]:
        return {"dims": list(self.dims),
                "indicators": [{"key": i.key, **({"x": i.x} if i.x is not None else {}),
                                **({"y": i.y} if i.y is not None else {})} for i in self.indicators],
                "filters": {k: list(v) for k, v in self.filters}, "pivot": list(self.pivot)}

    def canonical(self) -> str:
        return json.dumps({**self.to_json(), "term": self.term_id}, ensure_ascii=False, sort_keys=True)


def make_spec(dims: Iterable[str] = (), indicators: Iterable[Any] = ("reg_count",),
              filters: Mapping[str, Iterable[str]] | None = None, pivot: Iterable[str] = (),
              term_id: int | None = None) -> Spec:
    """Build and check a Spec from plain values (the page's widgets, a JSON file). Indicators are keys, dicts
    {"key", "x", "y"} or Indicator objects; missing numbers take the defaults. Raises ValidationError with
    a Chinese message naming what is wrong."""
    inds = []
    for item in indicators:
        if isinstance(item, Indicator):
            item = {"key": item.key, "x": item.x, "y": item.y}
        if isinstance(item, str):
            item = {"key": item}
        if not isinstance(item, Mapping) or item.get("key") not in INDICATORS:
            raise ValidationError(f"未知的指标列：{item if not isinstance(item, Mapping) else item.get('key')}")
        ind = INDICATORS[item["key"]]
        nums = []
        for i, name in enumerate(("x", "y")[:ind.params]):
            v = item.get(name)
            v = ind.default[i] if v is None or v == "" else v
            try:
                v = int(v)
            except (TypeError, ValueError):
                raise ValidationError(f"指标“{ind.label}”中的 {name} 必须是整数。") from None
            if not NUMBER_RANGE[0] <= v <= NUMBER_RANGE[1]:
                raise ValidationError(f"指标“{ind.label}”中的数字须在 {NUMBER_RANGE[0]}–{NUMBER_RANGE[1]} 之间。")
            nums.append(v)
        if ind.params == 2 and nums[0] >= nums[1]:
            raise ValidationError(f"指标“{ind.label.format(x=nums[0], y=nums[1])}”的区间无效：x 必须小于 y。")
        inds.append(Indicator(ind.key, *nums))
    spec = Spec(dims=tuple(dims), indicators=tuple(dict.fromkeys(inds)),
                filters=tuple(sorted((k, tuple(dict.fromkeys(str(x) for x in v)))
                                     for k, v in (filters or {}).items() if v)),
                pivot=tuple(pivot), term_id=term_id)
    check_spec(spec)
    return spec


def spec_from_json(data: Mapping[str, Any]) -> Spec:
    """A Spec from the JSON form (`Spec.to_json`, or a preset key under "preset")."""
    if not isinstance(data, Mapping):
        raise ValidationError("统计条件必须是 JSON 对象。")
    unknown = set(data) - {"dims", "indicators", "filters", "pivot", "preset"}
    if unknown:
        raise ValidationError(f"统计条件含未知项：{'、'.join(sorted(unknown))}")
    if data.get("preset"):
        if data["preset"] not in PRESETS:
            raise ValidationError(f"未知的常用统计：{data['preset']}（可选：{'、'.join(PRESETS)}）")
        return PRESETS[data["preset"]]
    return make_spec(data.get("dims") or (), data.get("indicators") or ("reg_count",), data.get("filters") or {},
                     data.get("pivot") or ())


def check_spec(spec: Spec) -> None:
    """§53.5 and the whitelist: known, distinct dimensions; pivot ⊆ dimensions; 1 indicator with ≤ 2 pivot
    columns, or several indicators with exactly 1."""
    for k in list(spec.dims) + [k for k, _ in spec.filters]:
        if k not in DIMENSIONS:
            raise ValidationError(f"未知的数据列：{k}")
    if len(set(spec.dims)) != len(spec.dims):
        raise ValidationError("数据列重复。")
    if len(spec.dims) > MAX_DIMS:
        raise ValidationError(f"数据列最多选 {MAX_DIMS} 个。")
    if not spec.indicators:
        raise ValidationError("请至少选择一个指标列。")
    if len(spec.indicators) > MAX_INDICATORS:
        raise ValidationError(f"指标列最多选 {MAX_INDICATORS} 个。")
    if any(p not in spec.dims for p in spec.pivot):
        raise ValidationError("行转列的列必须是已选的数据列。")
    if spec.pivot:
        if len(spec.indicators) == 1 and len(spec.pivot) > 2:
            raise ValidationError("行转列时：统计指标选择 1 个，行转列指标最多选 2 个。")
        if len(spec.indicators) > 1 and len(spec.pivot) != 1:
            raise ValidationError("行转列时：统计指标选择多个时，行转列指标只能选 1 个。")


def _preset(dims, indicators, pivot) -> Spec:
    return make_spec(dims, indicators, {}, pivot)


PRESETS: dict[str, Spec] = {
    "常用报考统计": _preset(("site", "subject"), ("reg_count",), ("subject",)),
    "常用编排统计": _preset(("site", "arranged"), ("reg_count",), ("arranged",)),
    "常用其他统计": _preset(("site", "score_band"), ("reg_count",), ("score_band",)),
}


# ==================================================================== the scope frames
@dataclass
class Frames:
    sites: pd.DataFrame  # site_id, site, city, province (labels) — the user's scope
    subjects: pd.DataFrame  # subject_id, subject, level
    term_id: int
    ref_date: date


def _label(code: str, name: str) -> str:
    return f"({code}){name}"


def _frames(s: Session, actor: Actor, term_id: int) -> Frames:
    sites = s.execute(select(Org.id, Org.code, Org.name, Org.path).where(Org.kind == "site", in_scope(actor, Org.id))
                      .order_by(Org.code)).all()
    ancestor_ids = {int(p) for row in sites for p in row.path.strip("/").split("/") if p}
    upper = {o.id: o for o in s.execute(select(Org.id, Org.code, Org.name, Org.kind)
                                        .where(Org.id.in_(ancestor_ids))).all()} if ancestor_ids else {}

    def up(path: str, kind: str) -> str:
        for p in path.strip("/").split("/"):
            o = upper.get(int(p)) if p else None
            if o is not None and o.kind == kind:
                return _label(o.code, o.name)
        return "（无）"

    site_df = pd.DataFrame({"site_id": pd.Series([r.id for r in sites], dtype="int64"),
                            "site": [_label(r.code, r.name) for r in sites],
                            "city": [up(r.path, "city") for r in sites],
                            "province": [up(r.path, "province") for r in sites]})
    subs = s.execute(select(Subject.id, Subject.code, Subject.name, Subject.level).order_by(Subject.code)).all()
    subj_df = pd.DataFrame({"subject_id": pd.Series([r.id for r in subs], dtype="int64"),
                            "subject": [f"({r.code}) {r.name}" for r in subs],
                            "level": [LEVELS.get(r.level, f"{r.level}级") for r in subs]})
    term = s.get(ExamTerm, term_id)
    ref = term.exam_start.date() if term is not None and term.exam_start else date.today()
    return Frames(site_df, subj_df, term_id, ref)


# ==================================================================== SQL
_TABLES = {"r": "registration", "sc": "score", "v": "violation"}
_JOINS = {  # joined to the registration r
    "e": "LEFT JOIN db.enrollment e ON e.id = r.enrollment_id",
    "sc": "LEFT JOIN db.score sc ON sc.registration_id = r.id",
    "v": "LEFT JOIN db.violation v ON v.registration_id = r.id",
    "es": "LEFT JOIN db.exam_session es ON es.id = r.session_id",
}


def _group_by(exprs: dict[str, str], spec: Spec) -> tuple[str, str]:
    """The GROUP BY clause — grouping sets: the detail, and the 合计 (per pivot column) — and the total flag."""
    dims, rows, pivot = list(spec.dims), list(spec.row_dims), list(spec.pivot)
    if not dims:
        return "", "0"
    if not rows:
        return f"GROUP BY {', '.join(exprs[d] for d in dims)}", "0"
    detail = "(" + ", ".join(exprs[d] for d in dims) + ")"
    total = "(" + ", ".join(exprs[d] for d in pivot) + ")"
    flag = f"CAST(GROUPING({', '.join(exprs[d] for d in rows)}) > 0 AS INTEGER)"
    return f"GROUP BY GROUPING SETS ({detail}, {total})", flag


def _select(alias: str, aliases: set[str], spec: Spec, inds: list[Indicator], params: dict[str, Any]) -> str:
    """One aggregate query over the fact table `alias` (joined to `aliases` when it is the registration).

    Additive indicators (every one but 考生人数) aggregate in two steps: first by the raw site and subject
    ids and the other dimensions — a tight scan of the fact table — then the small result is joined to the
    scoped sites (THE scope: sites outside it drop out before any total) and the subjects and summed into
    the grouping sets. 考生人数 (a distinct count) is computed in one step on the joined rows."""
    params["term"] = None  # bound by run()
    joins = []
    if alias == "r":
        joins = [_JOINS[a] for a in ("e", "sc", "v", "es") if a in aliases]
    filters = []
    for i, (k, values) in enumerate(spec.filters):
        params[f"f{i}"] = list(values)
        filters.append((k, f"$f{i}"))
    idx = {ind: spec.indicators.index(ind) for ind in inds}
    fact = f"db.{_TABLES[alias]} {alias} {' '.join(joins)}"
    if all(i.key != "candidates" for i in inds):
        inner_cols = [f"{alias}.site_id AS site_id", f"{alias}.subject_id AS subject_id"]
        outer = {}
        for n, d in enumerate(spec.dims):
            dim = DIMENSIONS[d]
            if dim.alias in COMMON:
                outer[d] = dim.expr
            else:
                inner_cols.append(f"{dim.expr} AS x{n}")
                outer[d] = f"x{n}"
        inner_where = [f"{alias}.term_id = $term"] + [f"({DIMENSIONS[k].expr}) IN (SELECT unnest({p}))"
                                                    for k, p in filters if DIMENSIONS[k].alias not in COMMON]
        outer_where = [f"({DIMENSIONS[k].expr}) IN (SELECT unnest({p}))"
                       for k, p in filters if DIMENSIONS[k].alias in COMMON]
        inner_cols += [f"{ind.sql()} AS p{idx[ind]}" for ind in inds]
        group, flag = _group_by(outer, spec)
        cols = [f"{outer[d]} AS d{n}" for n, d in enumerate(spec.dims)] + [f"{flag} AS _total"]
        cols += [f"sum(p{idx[ind]}) AS i{idx[ind]}" for ind in inds]
        inner = f"SELECT {', '.join(inner_cols)} FROM {fact} WHERE {' AND '.join(inner_where)} GROUP BY ALL"
        return (f"SELECT {', '.join(cols)} FROM ({inner}) g JOIN sites s ON s.site_id = g.site_id "
                f"JOIN subjects subj ON subj.subject_id = g.subject_id"
                + (f" WHERE {' AND '.join(outer_where)}" if outer_where else "") + f" {group}")
    exprs = {d: DIMENSIONS[d].expr for d in spec.dims}
    group, flag = _group_by(exprs, spec)
    cols = [f"{exprs[d]} AS d{n}" for n, d in enumerate(spec.dims)] + [f"{flag} AS _total"]
    cols += [f"{ind.sql()} AS i{idx[ind]}" for ind in inds]
    where = [f"{alias}.term_id = $term"] + [f"({DIMENSIONS[k].expr}) IN (SELECT unnest({p}))" for k, p in filters]
    return (f"SELECT {', '.join(cols)} FROM {fact} JOIN sites s ON s.site_id = {alias}.site_id "
            f"JOIN subjects subj ON subj.subject_id = {alias}.subject_id WHERE {' AND '.join(where)} {group}")


def plan(spec: Spec) -> list[tuple[str, list[Indicator], str, dict[str, Any]]]:
    """The queries for a spec: [(home alias, its indicators, sql, params)]. One query per fact table when
    every dimension and filter is on the site or subject; else one query over the joined registration."""
    used = {DIMENSIONS[d].alias for d in list(spec.dims) + [k for k, _ in spec.filters]}
    homes = {INDICATORS[i.key].alias for i in spec.indicators}
    out = []
    if used <= COMMON and "e" not in homes:
        for alias in ("r", "sc", "v"):
            inds = [i for i in spec.indicators if INDICATORS[i.key].alias == alias]
            if inds:
                params: dict[str, Any] = {}
                out.append((alias, inds, _select(alias, set(), spec, inds, params), params))
        return out
    params = {}
    aliases = used | homes
    return [("r", list(spec.indicators), _select("r", aliases, spec, list(spec.indicators), params), params)]


# ==================================================================== run
@dataclass
class StatsResult:
    spec: Spec
    long: pd.DataFrame  # one row per combination of the dimensions: dimension labels + indicator columns
    totals: pd.DataFrame  # the 合计 rows (per pivot combination when pivoted)
    table: pd.DataFrame  # what is shown and exported: pivoted when asked, with the 合计 row last
    elapsed: float
    cached: bool = False
    queries: int = 1
    term_id: int = 0
    sites: int = 0

    @property
    def dim_labels(self) -> list[str]:
        return [DIMENSIONS[d].label for d in self.spec.dims]

    @property
    def indicator_labels(self) -> list[str]:
        return [i.label for i in self.spec.indicators]


_CACHE: OrderedDict[tuple, StatsResult] = OrderedDict()
_CACHE_LOCK = threading.Lock()
CACHE_SIZE = 64


def order_rows(df: pd.DataFrame, dims: list[str]) -> pd.DataFrame:
    if df.empty or not dims:
        return df
    keys = []
    for d in dims:
        label = DIMENSIONS[d].label
        choices = DIMENSIONS[d].choices
        if choices:
            keys.append(df[label].map({c: i for i, c in enumerate(choices)}).fillna(len(choices)))
        else:
            keys.append(df[label].astype(str))
    order = pd.DataFrame({f"k{i}": k for i, k in enumerate(keys)}).sort_values([f"k{i}" for i in range(len(keys))],
                                                                             kind="stable").index
    return df.loc[order].reset_index(drop=True)


def _pivot(spec: Spec, long: pd.DataFrame, totals: pd.DataFrame) -> pd.DataFrame:
    dims = [DIMENSIONS[d].label for d in spec.dims]
    rows = [DIMENSIONS[d].label for d in spec.row_dims]
    inds = [i.label for i in spec.indicators]
    if not spec.pivot:
        table = long[dims + inds].copy()
        if rows and not totals.empty:
            tot = totals[inds].copy()
            for i, col in enumerate(rows):
                tot.insert(i, col, TOTAL if i == 0 else "")
            table = pd.concat([table, tot], ignore_index=True)
        return table
    piv = [DIMENSIONS[d].label for d in spec.pivot]
    combos = order_rows(pd.concat([long[piv], totals[piv]] if not totals.empty else [long[piv]]).drop_duplicates(),
                    list(spec.pivot))
    if len(combos) * len(inds) > MAX_PIVOT_COLUMNS:
        raise ValidationError(f"行转列后共有 {len(combos) * len(inds)} 列，超过 {MAX_PIVOT_COLUMNS} 列的上限；"
                              "请减少行转列的数据列或增加筛选条件。")
    names = [" · ".join(str(v) for v in c) for c in combos.itertuples(index=False)]
    if not names:  # nothing counted
        return pd.DataFrame(columns=rows or ["统计"])

    def spread(frame: pd.DataFrame, index: list[str]) -> pd.DataFrame:
        keys = [" · ".join(str(v) for v in c) for c in frame[piv].itertuples(index=False)]
        wide = frame[index + inds].assign(_col=keys).groupby(index + ["_col"], sort=False)[inds].sum()
        wide = wide.unstack("_col", fill_value=0)
        want = [(ind, name) for name in names for ind in inds]
        wide = wide.reindex(columns=pd.MultiIndex.from_tuples(want), fill_value=0)
        wide.columns = [name if len(inds) == 1 else f"{name} · {ind}" for ind, name in want]
        return wide.reset_index()

    if rows:
        body = spread(long, rows)
        body = order_rows(body, list(spec.row_dims))
        if not totals.empty:
            tot = spread(totals.assign(_k=TOTAL), ["_k"]).rename(columns={"_k": rows[0]})
            for col in rows[1:]:
                tot.insert(rows.index(col), col, "")
            body = pd.concat([body, tot[body.columns]], ignore_index=True)
        return body.fillna(0)
    # every dimension pivoted: one row
    one = {}
    for c in combos.itertuples(index=False):
        sel = long
        for col, v in zip(piv, c):
            sel = sel[sel[col] == v]
        name = " · ".join(str(v) for v in c)
        for ind in inds:
            one[name if len(inds) == 1 else f"{name} · {ind}"] = sel[ind].sum() if not sel.empty else 0
    return pd.DataFrame([{"统计": TOTAL, **one}])


def _term_id(s: Session, actor: Actor, spec: Spec) -> int:
    tid = spec.term_id or actor.term_id
    if tid is None or s.get(ExamTerm, tid) is None:
        raise DomainError("没有可统计的考次。")
    return tid


def run(s: Session, actor: Actor, spec: Spec, *, use_cache: bool = True) -> StatsResult:
    """Run the query within the actor's scope. Cached per (database version, scope, spec)."""
    check_spec(spec)
    engine = s.get_bind()
    src = duck.source(engine)
    tid = _term_id(s, actor, spec)
    fr = _frames(s, actor, tid)
    key = (id(engine), src.fingerprint(engine), tid, actor.org_path, spec.canonical(), fr.ref_date)
    if use_cache:
        with _CACHE_LOCK:
            hit = _CACHE.get(key)
            if hit is not None:
                _CACHE.move_to_end(key)
                return replace(hit, cached=True, elapsed=0.0)
    t0 = time.perf_counter()
    dims = [DIMENSIONS[d].label for d in spec.dims]
    inds = [i.label for i in spec.indicators]
    frames = {"sites": fr.sites, "subjects": fr.subjects}
    merged: pd.DataFrame | None = None
    queries = plan(spec)
    for _alias, qinds, sql, params in queries:
        params = {**params, "term": tid}
        if "$ref" in sql:
            params["ref"] = fr.ref_date
        df = src.query(sql, params, frames)
        df = df.rename(columns={**{f"d{i}": lab for i, lab in enumerate(dims)},
                                **{f"i{spec.indicators.index(q)}": q.label for q in qinds}})
        if merged is None:
            merged = df
        else:
            merged = merged.merge(df, on=dims + ["_total"], how="outer")
    assert merged is not None
    for col in inds:
        merged[col] = pd.to_numeric(merged[col]).fillna(0)
        if all(INDICATORS[i.key].unit != "元" for i in spec.indicators if i.label == col):
            merged[col] = merged[col].astype("int64")
    if not dims:
        long = merged[inds].copy()
        if long.empty:
            long = pd.DataFrame([{c: 0 for c in inds}])
        totals = pd.DataFrame(columns=inds)
        table = long.copy()
        table.insert(0, "统计", TOTAL)
    else:
        is_total = merged["_total"].astype(int) == 1
        long = order_rows(merged[~is_total][dims + inds].reset_index(drop=True), list(spec.dims))
        totals = merged[is_total][dims + inds].reset_index(drop=True)
        table = _pivot(spec, long, totals)
    result = StatsResult(spec, long, totals, table, time.perf_counter() - t0, False, len(queries), tid,
                         len(fr.sites))
    if use_cache:
        with _CACHE_LOCK:
            _CACHE[key] = result
            while len(_CACHE) > CACHE_SIZE:
                _CACHE.popitem(last=False)
    return result


def filter_options(s: Session, actor: Actor, dim: str, term_id: int | None = None) -> list[str]:
    """The values a filter on `dim` can take, within the actor's scope."""
    d = DIMENSIONS.get(dim)
    if d is None:
        raise ValidationError(f"未知的数据列：{dim}")
    if d.choices:
        return list(d.choices)
    tid = term_id or actor.term_id
    if d.alias in COMMON:
        fr = _frames(s, actor, tid or 0)
        frame = fr.sites if d.alias == "s" else fr.subjects
        return list(dict.fromkeys(frame[d.expr.split(".")[1]]))
    res = run(s, actor, make_spec((dim,), ("reg_count",), term_id=tid))
    return [str(v) for v in res.long[d.label]]


def export_xlsx(s: Session, actor: Actor, spec: Spec) -> tuple[bytes, str]:
    """The result table as Excel (formula-safe), with the conditions on top; audited."""
    from core.exports.tabular import write_xlsx

    res = run(s, actor, spec)
    term = s.get(ExamTerm, res.term_id)
    table = res.table
    data = write_xlsx([str(c) for c in table.columns], table.itertuples(index=False, name=None), "通用统计")
    audit(s, actor, "export", "general_stats", None, org_id=actor.org_id,
          summary=f"导出通用统计：{describe(spec)}（{len(table)} 行，{res.sites} 个考点）")
    return data, f"通用统计_{term.code if term else ''}_{date.today():%Y%m%d}.xlsx"


def describe(spec: Spec) -> str:
    """The conditions in words (for the audit log and the page caption)."""
    parts = [f"数据列：{'、'.join(DIMENSIONS[d].label for d in spec.dims) or '（无）'}",
             f"指标列：{'、'.join(i.label for i in spec.indicators)}"]
    if spec.filters:
        parts.append("筛选：" + "；".join(f"{DIMENSIONS[k].label}={'/'.join(v)}" for k, v in spec.filters))
    if spec.pivot:
        parts.append(f"行转列：{'、'.join(DIMENSIONS[d].label for d in spec.pivot)}")
    return "，".join(parts)
