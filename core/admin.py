"""The declarative entity spec: a list/detail/form page described as data (Django ModelAdmin style).

A page declares an `EntitySpec` (model, columns with Chinese labels, filters, search, masking,
actions, form fields, export columns, roles) and calls `core.ui.entity_page.entity_page(spec)`.
`core.services.listing` runs every query of the spec with THE scope predicate; the page never
builds SQL. Specs are checked once (`check_spec` / `check_all`) at start-up and in a test.

No streamlit here.

Example::

    USERS = register(EntitySpec(
        name="users", title="用户管理", model=User, org_column=User.org_id,
        columns=(Column("username", "用户名"), Column("name", "姓名"),
                 Column("phone", "手机号", mask="phone"), Column("org", "机构", expr=Org.name)),
        base_query=lambda actor: select(User).join(Org, Org.id == User.org_id),
        filters=(Filter("role", "角色", "choice", choices={"site_admin": "考点管理员"}),),
        search=("username", "name"), default_sort=("username", False),
        unmask_roles=("center_admin",),
    ))
"""
from __future__ import annotations

import inspect as _inspect
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Callable

from sqlalchemy import inspect as sa_inspect

from core.auth import ADMIN_ROLES, ROLES, Actor
from core.errors import ValidationError

MASK_KINDS = ("id", "phone", "account", "email", "record")
FILTER_KINDS = ("text", "choice", "bool", "date_range", "number_range")
FORM_KINDS = ("text", "textarea", "int", "bool", "choice", "date", "datetime", "password")
ID_KEY = "id"  # every row dict carries the primary key under this key
MAX_PAGE_SIZE = 500


# ---------------------------------------------------------------- the pieces of a spec
@dataclass(frozen=True)
class Column:
    """One column of the table (and of the export and the detail view).

    expr: a SQLAlchemy column/expression; default is the model attribute named `key`.
    mask: "id" | "phone" | "account" | "email": masked on the server unless the actor's role is in
          `EntitySpec.unmask_roles`.
    fmt:  dict (stored code -> Chinese label), callable (value -> shown value), or str: a strftime
          pattern for dates ("%Y-%m-%d") or a str.format pattern for numbers ("{:.2f}"). Dates
          keep their type in Excel exports (written as real dates).
    width: "small" | "medium" | "large" | pixels, for the table.
    """

    key: str
    label: str
    expr: Any = None
    mask: str | None = None
    fmt: Any = None
    sortable: bool = True
    width: str | int | None = None


@dataclass(frozen=True)
class Filter:
    """One condition in the filter bar.

    kind: "text" (contains, case-insensitive) | "choice" (equals one of `choices`) | "bool" (是/否) |
          "date_range" (from/to, both inclusive) | "number_range" (min/max, inclusive).
    expr: the SQL expression filtered on; default is the model attribute named `key`.
    choices: {stored value: label}, or callable(session, actor) -> that dict (computed by the
          service, in the actor's scope).
    expanded: True puts the filter in the 更多查询条件 expander.
    clause: optional callable(value) -> SQL condition, replacing the default condition of `kind`.
    """

    key: str
    label: str
    kind: str = "text"
    expr: Any = None
    choices: Any = None
    expanded: bool = False
    clause: Callable[[Any], Any] | None = None


@dataclass(frozen=True)
class Action:
    """A button that acts on the selected rows.

    handler(session, actor, ids) -> Chinese result message; it is a domain service and writes its
    own audit rows. The kit checks roles, scope of every id and the window before calling it.
    bulk=False: exactly one row must be selected. confirm: text of a confirmation step.
    window: operation-window kind (core.models.ncre.WINDOW_KINDS) required for this action.
    """

    key: str
    label: str
    handler: Callable[..., str]
    roles: tuple[str, ...] = ADMIN_ROLES
    confirm: str | None = None
    bulk: bool = True
    window: str | None = None
    danger: bool = False
    icon: str | None = None


@dataclass(frozen=True)
class FormField:
    """One field of the 新增/修改 form. `choices` as for Filter. `min`/`max` bound ints and the
    length check of text is `max_len`. readonly_on_edit: shown but not changeable in 修改."""

    key: str
    label: str
    kind: str = "text"
    required: bool = False
    choices: Any = None
    help: str | None = None
    max_len: int | None = None
    min: int | None = None
    max: int | None = None
    readonly_on_edit: bool = False
    default: Any = None


@dataclass(frozen=True)
class EntitySpec:
    """A whole list/detail/form page.

    org_column: the column THE scope predicate (core.auth.in_scope) is applied to. Required unless
        scope_query(actor) -> SQL condition is given (it must itself use in_scope); when both are
        given, scope_query is the one applied.
    base_query(actor) -> Select: the FROM part (joins, fixed conditions such as the actor's 考次);
        the kit replaces its columns with `columns`. Default: select(model).
    search: keys of columns searched by the single 关键字 box (contains, case-insensitive).
    default_sort: (column key, descending).
    create(s, actor, values) -> obj; update(s, actor, id, values); delete(s, actor, ids) -> message:
        domain services (they write their own audit rows and re-check their rules).
    roles: who may see the page; create_roles/edit_roles/delete_roles/export_roles: None = same as
        roles, () = nobody.
    export_columns: keys of the columns exported (default: all columns).
    unmask_roles: roles that see unmasked values (default: nobody).
    window: operation-window kind guarding create/update/delete (and actions without their own).
    detail_fields: extra columns shown in the detail view after `columns` (e.g. JSON before/after).
    """

    name: str
    title: str
    model: Any
    org_column: Any = None
    columns: tuple[Column, ...] = ()
    filters: tuple[Filter, ...] = ()
    search: tuple[str, ...] = ()
    default_sort: tuple[str, bool] | None = None
    base_query: Callable[[Actor], Any] | None = None
    actions: tuple[Action, ...] = ()
    form_fields: tuple[FormField, ...] = ()
    create: Callable[..., Any] | None = None
    update: Callable[..., Any] | None = None
    delete: Callable[..., str] | None = None
    roles: tuple[str, ...] = ADMIN_ROLES
    create_roles: tuple[str, ...] | None = None
    edit_roles: tuple[str, ...] | None = None
    delete_roles: tuple[str, ...] | None = None
    export_columns: tuple[str, ...] | None = None
    unmask_roles: tuple[str, ...] = ()
    window: str | None = None
    page_size: int = 50
    detail_fields: tuple[Column, ...] | None = None
    scope_query: Callable[[Actor], Any] | None = None
    export_roles: tuple[str, ...] | None = None
    description: str | None = None

    # -------------------------------------------------------------- derived
    def column(self, key: str) -> Column:
        for c in self.columns:
            if c.key == key:
                return c
        raise KeyError(key)

    @property
    def column_keys(self) -> tuple[str, ...]:
        return tuple(c.key for c in self.columns)

    @property
    def sortable_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.sortable)

    @property
    def exported(self) -> tuple[Column, ...]:
        if self.export_columns is None:
            return self.columns
        return tuple(self.column(k) for k in self.export_columns)

    @property
    def detail(self) -> tuple[Column, ...]:
        return self.columns + tuple(self.detail_fields or ())

    def action(self, key: str) -> Action:
        for a in self.actions:
            if a.key == key:
                return a
        raise KeyError(key)

    def id_column(self):
        """The model's primary-key attribute."""
        pk = sa_inspect(self.model).primary_key
        return getattr(self.model, pk[0].key)

    def expr(self, c: Column | Filter | FormField):
        if getattr(c, "expr", None) is not None:
            return c.expr
        return getattr(self.model, c.key)

    def roles_for(self, what: str) -> tuple[str, ...]:
        """Roles allowed to do `what` ("view", "create", "edit", "delete", "export")."""
        if what == "view":
            return self.roles
        present = {"create": self.create, "edit": self.update, "delete": self.delete, "export": True}[what]
        if not present:
            return ()
        own = getattr(self, f"{what}_roles")
        roles = self.roles if own is None else own
        return tuple(r for r in roles if r in self.roles)

    def can(self, actor: Actor, what: str) -> bool:
        return actor.role in self.roles_for(what)

    def unmasked_for(self, actor: Actor) -> bool:
        return actor.role in self.unmask_roles

    def actions_for(self, actor: Actor) -> tuple[Action, ...]:
        return tuple(a for a in self.actions if actor.role in a.roles and actor.role in self.roles)


# ---------------------------------------------------------------- form values
class FormErrors(ValidationError):
    """Validation errors of a form, field key -> Chinese message (shown at each field)."""

    def __init__(self, errors: dict[str, str]):
        first = next(iter(errors.values())) if errors else "表单填写有误。"
        super().__init__(f"请修正表单中的错误：{first}" if len(errors) > 1 else first)
        self.errors = dict(errors)


def clean_form(spec: EntitySpec, raw: dict[str, Any], *, editing: bool,
               choices: dict[str, dict] | None = None, keep_blank: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Check and convert submitted form values. Raises FormErrors with one message per bad field.

    editing: readonly_on_edit fields are dropped; an empty password (or a field listed in
    keep_blank, e.g. a masked value) means "leave unchanged" and is dropped too.
    """
    out: dict[str, Any] = {}
    errors: dict[str, str] = {}
    choices = choices or {}
    for f in spec.form_fields:
        if editing and f.readonly_on_edit:
            continue
        v = raw.get(f.key)
        if isinstance(v, str) and f.kind != "password":
            v = v.strip()
        if v == "" or (isinstance(v, str) and f.kind == "password" and not v):
            v = None
        if v is None and editing and (f.kind == "password" or f.key in keep_blank):
            continue
        if v is None:
            if f.required and f.kind != "bool":
                errors[f.key] = f"请填写{f.label}。" if f.kind not in ("choice", "date", "datetime") else f"请选择{f.label}。"
                continue
            out[f.key] = False if f.kind == "bool" else None
            continue
        try:
            out[f.key] = _convert(f, v, choices.get(f.key))
        except ValueError as e:
            errors[f.key] = str(e)
    if errors:
        raise FormErrors(errors)
    return out


def to_date(v: Any) -> date:
    """A date from a date, a datetime or an ISO text (ValueError otherwise)."""
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    return date.fromisoformat(str(v))


def _convert(f: FormField, v: Any, choices: dict | None) -> Any:
    if f.kind in ("text", "textarea", "password"):
        v = str(v)
        if f.max_len is not None and len(v) > f.max_len:
            raise ValueError(f"{f.label}最多 {f.max_len} 个字符（当前 {len(v)} 个）。")
        return v
    if f.kind == "int":
        if isinstance(v, int) and not isinstance(v, bool):
            n = v
        elif isinstance(v, float) and v.is_integer():
            n = int(v)
        elif isinstance(v, str) and re.fullmatch(r"[+-]?\d+", v):
            n = int(v)
        else:
            raise ValueError(f"{f.label}须为整数。")
        if f.min is not None and n < f.min:
            raise ValueError(f"{f.label}不能小于 {f.min}。")
        if f.max is not None and n > f.max:
            raise ValueError(f"{f.label}不能大于 {f.max}。")
        return n
    if f.kind == "bool":
        return bool(v)
    if f.kind == "choice":
        opts = choices if choices is not None else (f.choices if isinstance(f.choices, dict) else {})
        if v not in opts:
            raise ValueError(f"{f.label}的取值无效，请从列表中选择。")
        return v
    if f.kind == "date":
        try:
            return to_date(v)
        except ValueError:
            raise ValueError(f"{f.label}须为日期（如 2026-03-28）。") from None
    if f.kind == "datetime":
        if isinstance(v, datetime):
            return v
        try:
            return datetime.fromisoformat(str(v))
        except ValueError:
            raise ValueError(f"{f.label}须为日期时间（如 2026-03-28 08:30）。") from None
    raise ValueError(f"{f.label}：未知的字段类型 {f.kind}。")


# ---------------------------------------------------------------- checks
def _dups(keys: list[str]) -> list[str]:
    seen, out = set(), []
    for k in keys:
        if k in seen and k not in out:
            out.append(k)
        seen.add(k)
    return out


def check_spec(spec: EntitySpec) -> list[str]:
    """Problems with a spec (empty list = fine). Run at start-up and in a test."""
    from core.models.ncre import WINDOW_KINDS

    p: list[str] = []
    if not spec.name or not re.fullmatch(r"[a-z][a-z0-9_]*", spec.name):
        p.append(f"name 须为小写字母、数字和下划线: {spec.name!r}")
    if not spec.title:
        p.append("缺少 title")
    try:
        pk = sa_inspect(spec.model).primary_key
        if len(pk) != 1:
            p.append("model 须有单列主键")
    except Exception:
        p.append(f"model 不是 SQLAlchemy 映射类: {spec.model!r}")
        return p
    if spec.org_column is None and spec.scope_query is None:
        p.append("缺少 org_column（或 scope_query）：每个列表都必须按机构范围过滤")
    if not spec.columns:
        p.append("没有 columns")
    keys = [c.key for c in spec.columns]
    p += [f"列 key 重复: {k}" for k in _dups(keys)]
    if ID_KEY in keys:
        p.append(f"列 key '{ID_KEY}' 保留给主键，请换一个 key（expr 可以是主键）")
    detail_keys = keys + [c.key for c in spec.detail_fields or ()]
    p += [f"详情字段 key 重复: {k}" for k in _dups(detail_keys)]
    for c in tuple(spec.columns) + tuple(spec.detail_fields or ()):
        if c.expr is None and not hasattr(spec.model, c.key):
            p.append(f"列 {c.key}: 模型没有此属性，须给出 expr")
        if c.mask is not None and c.mask not in MASK_KINDS:
            p.append(f"列 {c.key}: 未知的 mask {c.mask!r}")
        if c.fmt is not None and not isinstance(c.fmt, (dict, str)) and not callable(c.fmt):
            p.append(f"列 {c.key}: fmt 须为 dict、str 或函数")
    for k in spec.search:
        if k not in keys:
            p.append(f"search 中的列不存在: {k}")
    if spec.default_sort is not None:
        k = spec.default_sort[0]
        if k not in keys:
            p.append(f"default_sort 中的列不存在: {k}")
        elif not spec.column(k).sortable:
            p.append(f"default_sort 中的列不可排序: {k}")
    for k in spec.export_columns or ():
        if k not in keys:
            p.append(f"export_columns 中的列不存在: {k}")
    fkeys = [f.key for f in spec.filters]
    p += [f"筛选条件 key 重复: {k}" for k in _dups(fkeys)]
    if "keyword" in fkeys:
        p.append("筛选条件 key 'keyword' 保留给关键字搜索")
    for f in spec.filters:
        if f.kind not in FILTER_KINDS:
            p.append(f"筛选条件 {f.key}: 未知的 kind {f.kind!r}")
        if f.kind == "choice" and f.choices is None:
            p.append(f"筛选条件 {f.key}: choice 须给出 choices")
        if f.expr is None and f.clause is None and not hasattr(spec.model, f.key):
            p.append(f"筛选条件 {f.key}: 模型没有此属性，须给出 expr")
    akeys = [a.key for a in spec.actions]
    p += [f"操作 key 重复: {k}" for k in _dups(akeys)]
    for a in spec.actions:
        if not callable(a.handler):
            p.append(f"操作 {a.key}: handler 不可调用")
        p += [f"操作 {a.key}: 未知角色 {r}" for r in a.roles if r not in ROLES]
        if a.window is not None and a.window not in WINDOW_KINDS:
            p.append(f"操作 {a.key}: 未知的操作时间 {a.window!r}")
    ffkeys = [f.key for f in spec.form_fields]
    p += [f"表单字段 key 重复: {k}" for k in _dups(ffkeys)]
    for f in spec.form_fields:
        if f.kind not in FORM_KINDS:
            p.append(f"表单字段 {f.key}: 未知的 kind {f.kind!r}")
        if f.kind == "choice" and f.choices is None:
            p.append(f"表单字段 {f.key}: choice 须给出 choices")
    if (spec.create or spec.update) and not spec.form_fields:
        p.append("有 create/update 但没有 form_fields")
    if spec.form_fields and not (spec.create or spec.update):
        p.append("有 form_fields 但没有 create/update")
    for what in ("roles", "create_roles", "edit_roles", "delete_roles", "export_roles", "unmask_roles"):
        p += [f"{what}: 未知角色 {r}" for r in getattr(spec, what) or () if r not in ROLES]
    if spec.window is not None and spec.window not in WINDOW_KINDS:
        p.append(f"未知的操作时间 window {spec.window!r}")
    if not 1 <= spec.page_size <= MAX_PAGE_SIZE:
        p.append(f"page_size 须在 1–{MAX_PAGE_SIZE} 之间")
    for name in ("create", "update", "delete", "base_query", "scope_query"):
        fn = getattr(spec, name)
        if fn is not None and not callable(fn):
            p.append(f"{name} 不可调用")
    return p


# ---------------------------------------------------------------- registry
SPECS: dict[str, EntitySpec] = {}
_ORIGIN: dict[str, str] = {}


def register(spec: EntitySpec) -> EntitySpec:
    """Add a spec to the registry (by name) and return it. Re-importing the same module (Streamlit's
    reloader) replaces it; the same name from another module is refused."""
    frame = _inspect.currentframe()
    caller = frame.f_back.f_globals.get("__name__", "?") if frame and frame.f_back else "?"
    if spec.name in SPECS and _ORIGIN.get(spec.name) != caller:
        raise ValueError(f"EntitySpec 名称重复: {spec.name}（{_ORIGIN.get(spec.name)} 与 {caller}）")
    SPECS[spec.name] = spec
    _ORIGIN[spec.name] = caller
    return spec


def check_all() -> list[str]:
    """Problems of every registered spec (import core.specs first to register them all)."""
    out: list[str] = []
    for name, spec in SPECS.items():
        out += [f"{name}: {x}" for x in check_spec(spec)]
    return out
