"""The one service behind every declared list page (core.admin.EntitySpec).

Every query here is built from the spec and ALWAYS carries THE scope predicate
(`in_scope(actor, spec.org_column)` or the spec's `scope_query`) and the spec's role check, so a
page cannot forget either: pages never build SQL. Masking happens here, on the server.

    list_rows   one page of rows (SQL-side filter, keyword, sort, LIMIT/OFFSET + COUNT)
    get_row     one row (NotFound outside scope)
    export_rows the whole filtered result as xlsx/csv, streamed (yield_per), with an audit row
    create_row / update_row / delete_rows / run_action   the writes, after role/scope/window checks
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Callable, Iterator, Sequence

from sqlalchemy import Date, DateTime, Numeric, String, Time, and_, cast, false, func, or_, select
from sqlalchemy.orm import Session

from core.admin import ID_KEY, MAX_PAGE_SIZE, Column, EntitySpec, Filter, FormErrors, clean_form, to_date
from core.auth import Actor, in_scope, require_role
from core.errors import NotFound, PermissionDenied, ValidationError
from core.exports.tabular import XLSX_MAX_ROWS, write_csv, write_xlsx
from core.masking import MASKERS
from core.services.base import audit, audit_rows, ensure_audited, jsonable, require_window

MAX_KEYWORD = 100
MAX_TEXT_FILTER = 200
MAX_IDS = 5000
EXPORT_CHUNK = 5000
EXPORT_FORMATS = {"xlsx": "Excel", "csv": "CSV"}


@dataclass(frozen=True)
class Page:
    rows: list[dict]
    total: int
    page: int
    pages: int
    page_size: int = 50

    @property
    def first(self) -> int:
        """1-based number of the first row on this page (0 when empty)."""
        return 0 if not self.rows else (self.page - 1) * self.page_size + 1

    @property
    def last(self) -> int:
        return 0 if not self.rows else self.first + len(self.rows) - 1


# ---------------------------------------------------------------- statement building
def require_view(actor: Actor, spec: EntitySpec) -> None:
    if actor.role not in spec.roles:
        raise PermissionDenied(f"您无权查看“{spec.title}”。")


def _scope(spec: EntitySpec, actor: Actor):
    if spec.scope_query is not None:
        return spec.scope_query(actor)
    if spec.org_column is None:  # check_spec refuses this; never list unscoped
        return false()
    return in_scope(actor, spec.org_column)


def scoped_base(spec: EntitySpec, actor: Actor):
    """FROM + joins + the scope predicate (no columns chosen yet)."""
    stmt = spec.base_query(actor) if spec.base_query is not None else select(spec.model)
    return stmt.where(_scope(spec, actor))


def _with_columns(stmt, spec: EntitySpec, cols: tuple[Column, ...]):
    exprs = [spec.id_column().label(ID_KEY)] + [spec.expr(c).label(c.key) for c in cols]
    return stmt.with_only_columns(*exprs, maintain_column_froms=True)


def _is_datetime(expr) -> bool:
    return isinstance(getattr(expr, "type", None), DateTime)


def _as_date(v: Any) -> date | None:
    if v in (None, ""):
        return None
    try:
        return to_date(v)
    except ValueError:
        raise ValidationError(f"日期格式不正确：{v}") from None


def _as_number(v: Any) -> float | int | None:
    if v in (None, ""):
        return None
    if isinstance(v, bool):
        raise ValidationError(f"数值格式不正确：{v}")
    if isinstance(v, (int, float, Decimal)):
        return v
    try:
        return float(v) if "." in str(v) else int(v)
    except ValueError:
        raise ValidationError(f"数值格式不正确：{v}") from None


def _pair(v: Any) -> tuple[Any, Any]:
    if v is None:
        return None, None
    if isinstance(v, (list, tuple)):
        if len(v) == 0:
            return None, None
        if len(v) == 1:
            return v[0], None
        return v[0], v[1]
    return v, None


def _filter_clause(spec: EntitySpec, f: Filter, v: Any):
    """The SQL condition of one filter value, or None when the value means 'no condition'."""
    if v is None or v == "" or v == () or v == []:
        return None
    if f.kind == "date_range":
        lo, hi = (_as_date(x) for x in _pair(v))
        if lo is None and hi is None:
            return None
        if lo and hi and lo > hi:
            raise ValidationError(f"{f.label}：开始日期不能晚于结束日期。")
        if f.clause is not None:
            return f.clause((lo, hi))
        expr = spec.expr(f)
        conds = []
        if _is_datetime(expr):
            if lo:
                conds.append(expr >= datetime.combine(lo, time.min))
            if hi:
                conds.append(expr < datetime.combine(hi + timedelta(days=1), time.min))
        else:
            if lo:
                conds.append(expr >= lo)
            if hi:
                conds.append(expr <= hi)
        return and_(*conds)
    if f.kind == "number_range":
        lo, hi = (_as_number(x) for x in _pair(v))
        if lo is None and hi is None:
            return None
        if lo is not None and hi is not None and lo > hi:
            raise ValidationError(f"{f.label}：最小值不能大于最大值。")
        if f.clause is not None:
            return f.clause((lo, hi))
        expr = spec.expr(f)
        conds = ([expr >= lo] if lo is not None else []) + ([expr <= hi] if hi is not None else [])
        return and_(*conds)
    if f.kind == "text":
        v = str(v).strip()
        if not v:
            return None
        if len(v) > MAX_TEXT_FILTER:
            raise ValidationError(f"{f.label}过长（最多 {MAX_TEXT_FILTER} 个字符）。")
        if f.clause is not None:
            return f.clause(v)
        expr = spec.expr(f)
        if not isinstance(getattr(expr, "type", None), String):
            expr = cast(expr, String)
        return expr.icontains(v, autoescape=True)
    if f.kind == "bool":
        if isinstance(v, str):
            v = {"是": True, "否": False, "true": True, "false": False}.get(v.lower() if v.isascii() else v)
            if v is None:
                return None
        if f.clause is not None:
            return f.clause(bool(v))
        return spec.expr(f) == bool(v)
    if f.kind == "choice":
        if f.clause is not None:
            return f.clause(v)
        expr = spec.expr(f)
        if isinstance(v, (list, tuple, set)):
            return expr.in_(list(v))
        return expr == v
    raise ValidationError(f"未知的筛选类型：{f.kind}")


def _keyword_clause(spec: EntitySpec, keyword: str | None):
    kw = (keyword or "").strip()
    if not kw or not spec.search:
        return None
    if len(kw) > MAX_KEYWORD:
        raise ValidationError(f"关键字过长（最多 {MAX_KEYWORD} 个字符）。")
    parts = []
    for k in spec.search:
        expr = spec.expr(spec.column(k))
        if not isinstance(getattr(expr, "type", None), String):
            expr = cast(expr, String)
        parts.append(expr.icontains(kw, autoescape=True))
    return or_(*parts)


def filtered(actor: Actor, spec: EntitySpec, filters: dict | None, keyword: str | None):
    """The scoped statement with the filters and keyword applied (columns not chosen yet)."""
    stmt = scoped_base(spec, actor)
    by_key = {f.key: f for f in spec.filters}
    for key, v in (filters or {}).items():
        f = by_key.get(key)
        if f is None:
            continue  # unknown keys are ignored (a stale page state), never trusted as SQL
        clause = _filter_clause(spec, f, v)
        if clause is not None:
            stmt = stmt.where(clause)
    kw = _keyword_clause(spec, keyword)
    if kw is not None:
        stmt = stmt.where(kw)
    return stmt


def _order(spec: EntitySpec, sort: tuple[str, bool] | None):
    sort = sort or spec.default_sort
    idc = spec.id_column()
    if sort:
        key, desc = sort[0], bool(sort[1])
        if key in spec.column_keys and spec.column(key).sortable:
            expr = spec.expr(spec.column(key))
            return [expr.desc().nulls_last() if desc else expr.asc().nulls_last(), idc.desc() if desc else idc.asc()]
    return [idc.desc()]


def _count(s: Session, spec: EntitySpec, stmt) -> int:
    ids = stmt.with_only_columns(spec.id_column(), maintain_column_froms=True).order_by(None)
    return s.scalar(select(func.count()).select_from(ids.subquery())) or 0


# ---------------------------------------------------------------- values
def _identity(v: Any) -> Any:
    return v


def _plain_display(v: Any) -> Any:
    t = type(v)
    if t is bool:
        return "是" if v else "否"
    if t is Decimal:
        return float(v)
    return v


def _plain_export(v: Any) -> Any:
    return float(v) if type(v) is Decimal else v


def converter(col: Column, unmasked: bool, *, for_export: bool = False, sql_type: Any = None
              ) -> Callable[[Any], Any] | None:
    """value -> shown value for one column, built once per query: the mask (unless the actor may
    see the real value), else `fmt`. For exports, dates keep their type (the writer formats them).
    None means "unchanged" (an export then skips the column's conversion)."""
    if col.mask and not unmasked:
        masker = MASKERS[col.mask]
        return lambda v: None if v is None else masker(v)
    fmt = col.fmt
    if fmt is None:
        if not for_export:
            return _plain_display
        if sql_type is not None and not isinstance(sql_type, Numeric):
            return None
        return _plain_export
    if isinstance(fmt, dict):
        get = fmt.get
        return lambda v: get(v, v)
    if isinstance(fmt, str):
        if for_export and isinstance(sql_type, (Date, DateTime, Time)):
            return None

        def by_pattern(v: Any) -> Any:
            if v is None:
                return None
            if isinstance(v, (date, datetime, time)):
                return v if for_export else v.strftime(fmt)
            if "{" in fmt:
                try:
                    return fmt.format(v)
                except (ValueError, TypeError):
                    return v
            return v
        return by_pattern
    return lambda v: None if v is None else fmt(v)


def _rows(result, cols: tuple[Column, ...], unmasked: bool) -> list[dict]:
    convs = [(c.key, converter(c, unmasked)) for c in cols]
    out = []
    for r in result:
        d = {ID_KEY: r[0]}
        for (key, conv), v in zip(convs, r[1:]):
            d[key] = conv(v)
        out.append(d)
    return out


# ---------------------------------------------------------------- reads
def list_rows(s: Session, actor: Actor, spec: EntitySpec, *, filters: dict | None = None,
              keyword: str | None = None, sort: tuple[str, bool] | None = None, page: int = 1,
              page_size: int | None = None) -> Page:
    """One page of the spec's rows in the actor's scope. `rows` are dicts keyed by column key
    (plus "id"), masked and formatted for display. A page past the end shows the last page."""
    require_view(actor, spec)
    size = max(1, min(int(page_size or spec.page_size), MAX_PAGE_SIZE))
    stmt = filtered(actor, spec, filters, keyword)
    total = _count(s, spec, stmt)
    pages = max(1, math.ceil(total / size))
    page = max(1, min(int(page or 1), pages))
    q = _with_columns(stmt, spec, spec.columns).order_by(*_order(spec, sort)).limit(size).offset((page - 1) * size)
    unmasked = spec.unmasked_for(actor)
    rows = _rows(s.execute(q), spec.columns, unmasked)
    return Page(rows=rows, total=total, page=page, pages=pages, page_size=size)


def get_row(s: Session, actor: Actor, spec: EntitySpec, id: int) -> dict:
    """One row with the detail fields, masked; NotFound when it does not exist or is out of scope."""
    require_view(actor, spec)
    cols = spec.detail
    q = _with_columns(scoped_base(spec, actor), spec, cols).where(spec.id_column() == id)
    rows = _rows(s.execute(q).all(), cols, spec.unmasked_for(actor))
    if not rows:
        raise NotFound("记录不存在或不在您的管理范围内。")
    return rows[0]


def _choices(s: Session, actor: Actor, spec: EntitySpec, items) -> dict[str, dict]:
    require_view(actor, spec)
    return {f.key: dict(f.choices(s, actor) if callable(f.choices) else f.choices)
            for f in items if f.choices is not None}


def filter_choices(s: Session, actor: Actor, spec: EntitySpec) -> dict[str, dict]:
    """The options of each choice filter, computed in the actor's scope: filter key -> {value: label}."""
    return _choices(s, actor, spec, spec.filters)


def form_choices(s: Session, actor: Actor, spec: EntitySpec) -> dict[str, dict]:
    """The options of each choice form field: field key -> {value: label}."""
    return _choices(s, actor, spec, spec.form_fields)


_ID_LIKE = re.compile(r"[0-9]{11,17}[0-9Xx]")  # an ID number or a phone typed into the keyword box


def describe_filters(spec: EntitySpec, filters: dict | None, keyword: str | None,
                     choices: dict[str, dict] | None = None) -> str:
    """The conditions in words, e.g. '操作=导出；时间=2026-01-01 至 2026-01-31；关键字=张'."""
    parts = []
    choices = choices or {}
    for f in spec.filters:
        v = (filters or {}).get(f.key)
        if v is None or v == "" or v == () or v == []:
            continue
        if f.kind in ("date_range", "number_range"):
            lo, hi = _pair(v)
            if lo in (None, "") and hi in (None, ""):
                continue
            text = f"{lo if lo not in (None, '') else '…'} 至 {hi if hi not in (None, '') else '…'}"
        elif f.kind == "bool":
            text = "是" if v in (True, "是") else "否"
        elif f.kind == "choice":
            labels = choices.get(f.key, {})
            vals = v if isinstance(v, (list, tuple, set)) else [v]
            text = "、".join(str(labels.get(x, x)) for x in vals)
        else:
            text = str(v)
            col = next((c for c in spec.columns if c.key == f.key and c.mask), None)
            if col is not None:  # the audit log never holds a full ID number or phone
                text = MASKERS[col.mask](text)
        parts.append(f"{f.label}={text}")
    if keyword and keyword.strip():
        kw = keyword.strip()
        parts.append(f"关键字={MASKERS['id'](kw) if _ID_LIKE.fullmatch(kw) else kw}")
    return "；".join(parts) if parts else "全部"


# ---------------------------------------------------------------- export
def export_rows(s: Session, actor: Actor, spec: EntitySpec, *, filters: dict | None = None,
                keyword: str | None = None, sort: tuple[str, bool] | None = None, fmt: str = "xlsx",
                encoding: str = "utf-8-sig") -> tuple[bytes, str]:
    """The whole filtered result (not one page) as xlsx or csv: scoped, masked, streamed in chunks
    (yield_per) and recorded in the audit log. Returns (file bytes, file name)."""
    require_view(actor, spec)
    if not spec.can(actor, "export"):
        raise PermissionDenied(f"您无权导出“{spec.title}”。")
    if fmt not in EXPORT_FORMATS:
        raise ValidationError(f"不支持的导出格式：{fmt}")
    cols = spec.exported
    stmt = filtered(actor, spec, filters, keyword)
    if fmt == "xlsx":
        total = _count(s, spec, stmt)
        if total > XLSX_MAX_ROWS:
            raise ValidationError(f"结果共 {total} 条，超过 Excel 单表上限 {XLSX_MAX_ROWS} 行，"
                                  f"请缩小查询条件或导出 CSV。")
    q = _with_columns(stmt, spec, cols).order_by(*_order(spec, sort))
    unmasked = spec.unmasked_for(actor)
    active = [(i, f) for i, f in enumerate(
        converter(c, unmasked, for_export=True, sql_type=getattr(spec.expr(c), "type", None)) for c in cols)
        if f is not None]
    counter = [0]

    def rows() -> Iterator[Sequence[Any]]:
        # Core-level streaming: a server-side cursor on PostgreSQL, fetchmany on SQLite;
        # only one chunk of rows is alive at a time.
        result = s.connection().execute(q.execution_options(yield_per=EXPORT_CHUNK))
        for part in result.partitions():
            counter[0] += len(part)
            for r in part:
                if not active:
                    yield r[1:]
                    continue
                row = list(r[1:])
                for i, f in active:
                    row[i] = f(row[i])
                yield row

    header = [c.label for c in cols]
    if fmt == "xlsx":
        data = write_xlsx(header, rows(), sheet_name=spec.title)
    else:
        data = write_csv(header, rows(), encoding=encoding)
    n = counter[0]
    # labels of the chosen options (only of choice filters that are set), for the audit summary
    choices = {f.key: dict(f.choices(s, actor) if callable(f.choices) else f.choices) for f in spec.filters
               if f.kind == "choice" and f.choices is not None and (filters or {}).get(f.key) not in (None, "", [], ())}
    audit(s, actor, "export", spec.title, None,
          summary=f"导出{spec.title} {n} 条（{EXPORT_FORMATS[fmt]}）；条件：{describe_filters(spec, filters, keyword, choices)}")
    filename = f"{spec.title}_{datetime.now():%Y%m%d_%H%M%S}.{fmt}"
    return data, filename


# ---------------------------------------------------------------- writes
def _require_ids(s: Session, actor: Actor, spec: EntitySpec, ids: list[int]) -> list[int]:
    """Every id must be visible to the actor (same scope as the list); refuse otherwise."""
    try:
        ids = list(dict.fromkeys(int(i) for i in ids))
    except (TypeError, ValueError):
        raise ValidationError("所选记录无效。") from None
    if not ids:
        raise ValidationError("请先在列表中勾选记录。")
    if len(ids) > MAX_IDS:
        raise ValidationError(f"一次最多处理 {MAX_IDS} 条记录。")
    idc = spec.id_column()
    found = set(s.scalars(scoped_base(spec, actor).with_only_columns(idc, maintain_column_froms=True)
                          .where(idc.in_(ids))))
    if len(found) != len(ids):
        raise NotFound("所选记录不存在或不在您的管理范围内。")
    return ids


def _require_can(actor: Actor, spec: EntitySpec, what: str, verb: str) -> None:
    require_view(actor, spec)
    roles = spec.roles_for(what)
    if not roles:
        raise PermissionDenied(f"“{spec.title}”不能{verb}。")
    require_role(actor, *roles)


def form_values(s: Session, actor: Actor, spec: EntitySpec, id: int) -> tuple[dict, set[str]]:
    """Current values of the form fields for 修改, and the keys whose value is hidden from this
    actor (masked columns, passwords): those start empty and 'empty' means 'unchanged'."""
    _require_can(actor, spec, "edit", "修改")
    _require_ids(s, actor, spec, [id])
    obj = s.get(spec.model, id)
    if obj is None:
        raise NotFound("记录不存在或不在您的管理范围内。")
    masked = {c.key for c in spec.columns if c.mask} if not spec.unmasked_for(actor) else set()
    values, hidden = {}, set()
    for f in spec.form_fields:
        if f.kind == "password" or f.key in masked:
            values[f.key] = None
            hidden.add(f.key)
        else:
            values[f.key] = getattr(obj, f.key, None)
    return values, hidden


def _field_error(spec: EntitySpec, e: ValidationError) -> ValidationError:
    """A service's ValidationError naming a field (by label or key) becomes a FormErrors at that field."""
    if isinstance(e, FormErrors) or not e.field:
        return e
    for f in spec.form_fields:
        if e.field in (f.key, f.label):
            return FormErrors({f.key: e.message})
    return e


def create_row(s: Session, actor: Actor, spec: EntitySpec, values: dict) -> str:
    """新增: role, window, form validation, then spec.create. Returns a message."""
    _require_can(actor, spec, "create", "新增")
    if spec.window:
        require_window(s, actor, spec.window)
    cleaned = clean_form(spec, values, editing=False, choices=form_choices(s, actor, spec))
    since = audit_rows(s)
    try:
        spec.create(s, actor, cleaned)
    except ValidationError as e:
        raise _field_error(spec, e) from None
    ensure_audited(s, actor, since, "create", spec.title, summary=f"新增{spec.title}",
                   after={k: jsonable(v) for k, v in cleaned.items()})
    s.flush()
    return "新增成功。"


def update_row(s: Session, actor: Actor, spec: EntitySpec, id: int, values: dict,
               keep_blank: frozenset[str] | set[str] = frozenset()) -> str:
    """修改: role, window, scope of the id, form validation, then spec.update. Returns a message."""
    _require_can(actor, spec, "edit", "修改")
    if spec.window:
        require_window(s, actor, spec.window)
    _require_ids(s, actor, spec, [id])
    cleaned = clean_form(spec, values, editing=True, choices=form_choices(s, actor, spec),
                         keep_blank=frozenset(keep_blank))
    since = audit_rows(s)
    try:
        spec.update(s, actor, id, cleaned)
    except ValidationError as e:
        raise _field_error(spec, e) from None
    ensure_audited(s, actor, since, "update", spec.title, id, summary=f"修改{spec.title}",
                   after={k: jsonable(v) for k, v in cleaned.items()})
    s.flush()
    return "修改成功。"


def delete_rows(s: Session, actor: Actor, spec: EntitySpec, ids: list[int]) -> str:
    """删除: role, window, scope of every id, then spec.delete. Returns its message."""
    _require_can(actor, spec, "delete", "删除")
    if spec.window:
        require_window(s, actor, spec.window)
    ids = _require_ids(s, actor, spec, ids)
    since = audit_rows(s)
    msg = spec.delete(s, actor, ids)
    ensure_audited(s, actor, since, "delete", spec.title, summary=f"删除{spec.title} {len(ids)} 条",
                   after={"ids": ids})
    s.flush()
    return msg or f"已删除 {len(ids)} 条记录。"


def run_action(s: Session, actor: Actor, spec: EntitySpec, key: str, ids: list[int]) -> str:
    """A bulk action on the selected rows: role, window, scope of every id, then its handler."""
    require_view(actor, spec)
    try:
        action = spec.action(key)
    except KeyError:
        raise NotFound("操作不存在。") from None
    require_role(actor, *action.roles)
    kind = action.window or spec.window
    if kind:
        require_window(s, actor, kind)
    ids = _require_ids(s, actor, spec, ids)
    if not action.bulk and len(ids) != 1:
        raise ValidationError(f"“{action.label}”一次只能处理一条记录，请只勾选一条。")
    since = audit_rows(s)
    msg = action.handler(s, actor, ids)
    ensure_audited(s, actor, since, action.key, spec.title, summary=f"{action.label}：{len(ids)} 条",
                   after={"ids": ids})
    s.flush()
    return msg or f"{action.label}：已处理 {len(ids)} 条记录。"
