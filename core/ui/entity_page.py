"""ONE generic list/detail/form page for a declared `core.admin.EntitySpec`.

    from core.specs.audit import AUDIT_LOG
    from core.ui.entity_page import entity_page
    entity_page(AUDIT_LOG)

Renders: title, window banner, filter bar (main filters + 更多查询条件), 关键字, 查询/重置, sort picker,
the table (multi-row selection), paging (共 N 条), 新增/修改/删除/查看详情 and the spec's actions on the
selected rows (with a confirmation step where declared), and 导出 Excel/CSV of the whole filtered
result. Buttons a role may not use are hidden, buttons that cannot be used now are disabled, and
the services (core.services.listing) re-check everything. Page state lives in st.session_state under
keys starting with `kaowu_<spec.name>__` (cleared at logout with the other kaowu_ keys).
"""
from __future__ import annotations

import time as _time
from datetime import date, datetime
from typing import Any

import pandas as pd
import streamlit as st

from core.admin import ID_KEY, Action, EntitySpec, FormErrors, FormField
from core.auth import Actor
from core.db import session_scope
from core.errors import DomainError
from core.services import listing
from core.services.base import window_state
from core.ui.session import engine, require_actor
from core.ui.widgets import query, run_service, window_banner

PAGE_SIZES = (20, 50, 100, 200)
CHOICES_TTL = 300  # seconds the filter options are kept per user
ALL = "全部"
MIME = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "csv": "text/csv"}
ROW_PX = 35
MIN_DATE, MAX_DATE = date(1900, 1, 1), date(2100, 12, 31)


class _Keys:
    """Session-state keys of one spec's page."""

    def __init__(self, spec: EntitySpec):
        self.p = f"kaowu_{spec.name}__"

    def __call__(self, name: str) -> str:
        return self.p + name

    def flt(self, key: str, part: str = "") -> str:
        return f"{self.p}f_{key}{part}"


# ---------------------------------------------------------------- state helpers
def _ss() -> Any:
    return st.session_state


def _gen(k: _Keys) -> int:
    return _ss().get(k("gen"), 0)


def _bump(k: _Keys) -> None:
    """New query generation: back to page 1, selection cleared, old export dropped."""
    _ss()[k("gen")] = _gen(k) + 1
    _ss().pop(k("export"), None)


def _applied(k: _Keys) -> dict:
    return _ss().get(k("applied"), {"filters": {}, "keyword": ""})


def _flash(k: _Keys, kind: str, msg: str) -> None:
    _ss()[k("flash")] = (kind, msg)


def _show_flash(k: _Keys) -> None:
    item = _ss().pop(k("flash"), None)
    if item:
        kind, msg = item
        {"success": st.success, "error": st.error, "info": st.info}.get(kind, st.info)(msg)


def _close_dialog(k: _Keys) -> None:
    _ss().pop(k("dialog"), None)


def _open_dialog(k: _Keys, kind: str, ids: list[int], action: str | None = None) -> None:
    _ss()[k("dialog")] = {"kind": kind, "ids": list(ids), "action": action, "n": _time.time()}


# ---------------------------------------------------------------- filters
def _filter_widget_keys(spec: EntitySpec, k: _Keys) -> list[str]:
    keys = [k("kw")]
    for f in spec.filters:
        if f.kind in ("number_range",):
            keys += [k.flt(f.key, "_lo"), k.flt(f.key, "_hi")]
        else:
            keys.append(k.flt(f.key))
    return keys


def _read_filters(spec: EntitySpec, k: _Keys) -> dict:
    ss = _ss()
    out: dict[str, Any] = {}
    for f in spec.filters:
        if f.kind == "number_range":
            lo, hi = ss.get(k.flt(f.key, "_lo")), ss.get(k.flt(f.key, "_hi"))
            if lo is not None or hi is not None:
                out[f.key] = (lo, hi)
            continue
        v = ss.get(k.flt(f.key))
        if f.kind == "date_range":
            v = tuple(v or ())
            if v:
                out[f.key] = v
        elif f.kind == "text":
            if v and str(v).strip():
                out[f.key] = str(v).strip()
        elif v is not None:
            out[f.key] = v
    return out


def _apply(spec: EntitySpec, k: _Keys) -> None:
    _ss()[k("applied")] = {"filters": _read_filters(spec, k), "keyword": (_ss().get(k("kw")) or "").strip()}
    _bump(k)


def _reset(spec: EntitySpec, k: _Keys) -> None:
    for key in _filter_widget_keys(spec, k):
        _ss().pop(key, None)
    _ss()[k("applied")] = {"filters": {}, "keyword": ""}
    _ss().pop(k("choices"), None)  # refresh the options too
    _bump(k)


def _choices(actor: Actor, spec: EntitySpec, k: _Keys) -> dict[str, dict]:
    """Filter options, computed by the service in the actor's scope, kept a few minutes per user."""
    cached = _ss().get(k("choices"))
    stamp = (actor.user_id, actor.term_id)
    if cached and cached["who"] == stamp and _time.time() - cached["at"] < CHOICES_TTL:
        return cached["data"]
    if not any(f.choices is not None for f in spec.filters):
        return {}
    data = query(listing.filter_choices, actor, spec) or {}
    _ss()[k("choices")] = {"who": stamp, "at": _time.time(), "data": data}
    return data


def _filter_input(f, k: _Keys, choices: dict) -> None:
    if f.kind == "text":
        st.text_input(f.label, key=k.flt(f.key), max_chars=listing.MAX_TEXT_FILTER, placeholder="包含…")
    elif f.kind == "choice":
        opts = choices.get(f.key, {})
        cur = _ss().get(k.flt(f.key))
        if cur is not None and cur not in opts:  # options changed since; keep the value selectable
            opts = {**opts, cur: str(cur)}
        st.selectbox(f.label, list(opts), index=None, format_func=lambda v, o=opts: str(o.get(v, v)),
                     key=k.flt(f.key), placeholder=ALL)
    elif f.kind == "bool":
        st.selectbox(f.label, [True, False], index=None, format_func=lambda v: "是" if v else "否",
                     key=k.flt(f.key), placeholder=ALL)
    elif f.kind == "date_range":
        st.date_input(f.label, value=[], min_value=date(2000, 1, 1), max_value=MAX_DATE, key=k.flt(f.key),
                      format="YYYY-MM-DD")
    elif f.kind == "number_range":
        a, b = st.columns(2)
        with a:
            st.number_input(f"{f.label}（最小）", value=None, key=k.flt(f.key, "_lo"), placeholder="不限")
        with b:
            st.number_input(f"{f.label}（最大）", value=None, key=k.flt(f.key, "_hi"), placeholder="不限")


def _grid(items: list, render, ncols: int = 4) -> None:
    for i in range(0, len(items), ncols):
        cols = st.columns(ncols)
        for col, item in zip(cols, items[i:i + ncols]):
            with col:
                render(item)


def _filter_bar(spec: EntitySpec, k: _Keys, choices: dict) -> None:
    main = [f for f in spec.filters if not f.expanded]
    more = [f for f in spec.filters if f.expanded]
    if not spec.search and not spec.filters:
        return
    with st.form(k("filters"), border=True, enter_to_submit=True):
        items: list = (["__kw__"] if spec.search else []) + main

        def render(item):
            if item == "__kw__":
                names = "、".join(spec.column(c).label for c in spec.search)
                st.text_input("关键字", key=k("kw"), max_chars=listing.MAX_KEYWORD, placeholder=f"搜索{names}")
            else:
                _filter_input(item, k, choices)

        _grid(items, render)
        if more:
            active = any(key in _applied(k)["filters"] for key in (f.key for f in more))
            with st.expander("更多查询条件", expanded=active, icon=":material/filter_list:"):
                _grid(more, lambda f: _filter_input(f, k, choices))
        b1, b2, _ = st.columns([1, 1, 8])
        with b1:
            st.form_submit_button("查询", type="primary", icon=":material/search:", on_click=_apply,
                                  args=(spec, k), width="stretch")
        with b2:
            st.form_submit_button("重置", icon=":material/restart_alt:", on_click=_reset, args=(spec, k),
                                  width="stretch")


# ---------------------------------------------------------------- table
def _sort_options(spec: EntitySpec) -> list[tuple[str, bool]]:
    opts = []
    if spec.default_sort:
        opts.append((spec.default_sort[0], bool(spec.default_sort[1])))
    for c in spec.sortable_columns:
        for desc in (False, True):
            if (c.key, desc) not in opts:
                opts.append((c.key, desc))
    return opts


def _sort_label(spec: EntitySpec, opt: tuple[str, bool]) -> str:
    return f"{spec.column(opt[0]).label}（{'降序' if opt[1] else '升序'}）"


def _frame(spec: EntitySpec, rows: list[dict]) -> tuple[pd.DataFrame, dict]:
    data: dict[str, list] = {}
    config: dict[str, Any] = {}
    for c in spec.columns:
        values = [r.get(c.key) for r in rows]
        sample = next((v for v in values if v is not None), None)
        if isinstance(sample, datetime):
            config[c.label] = st.column_config.DatetimeColumn(c.label, format="YYYY-MM-DD HH:mm:ss", width=c.width)
        elif isinstance(sample, date):
            config[c.label] = st.column_config.DateColumn(c.label, format="YYYY-MM-DD", width=c.width)
        elif isinstance(sample, (int, float)) and not isinstance(sample, bool):
            config[c.label] = st.column_config.NumberColumn(c.label, width=c.width)
        else:  # text: empty cells stay empty (not "None"/"nan"); other values shown as their text
            values = ["" if v is None else v if isinstance(v, str) else str(v) for v in values]
            config[c.label] = st.column_config.TextColumn(c.label, width=c.width)
        data[c.label] = values
    return pd.DataFrame(data, columns=[c.label for c in spec.columns]), config


def _page_key(k: _Keys) -> str:
    return k(f"page_{_gen(k)}")


def _jump(k: _Keys) -> None:
    v = _ss().get(k("jump"))
    if v:
        _ss()[_page_key(k)] = int(v)
    _ss()[k("jump")] = None


# ---------------------------------------------------------------- the page
def entity_page(spec: EntitySpec, actor: Actor | None = None) -> None:
    """Render the whole list page of `spec` for the logged-in user."""
    actor = actor or require_actor()
    k = _Keys(spec)
    st.title(spec.title)
    if spec.description:
        st.caption(spec.description)
    if actor.role not in spec.roles:
        st.error(f"您无权查看“{spec.title}”。")
        st.stop()
    writable = window_banner(actor, spec.window) if spec.window else True
    _show_flash(k)

    choices = _choices(actor, spec, k)
    _filter_bar(spec, k, choices)
    applied = _applied(k)

    sort_opts = _sort_options(spec)
    toolbar = st.container()
    status = st.container()

    sort = None
    sort_key = k("sort")
    if sort_opts:
        cur = _ss().get(sort_key)
        if cur is not None and tuple(cur) not in sort_opts:
            _ss().pop(sort_key, None)
    size_key = k("size")
    if _ss().get(size_key) not in PAGE_SIZES:
        _ss()[size_key] = spec.page_size if spec.page_size in PAGE_SIZES else 50

    with toolbar:
        left, right = st.columns([3, 1], vertical_alignment="bottom")
        with right:
            if sort_opts:
                sort = st.selectbox("排序", sort_opts, format_func=lambda o: _sort_label(spec, o), key=sort_key,
                                    on_change=_bump, args=(k,))
        buttons = left.container(horizontal=True)

    page_no = _ss().get(_page_key(k), 1)
    result = query(listing.list_rows, actor, spec, filters=applied["filters"], keyword=applied["keyword"],
                   sort=tuple(sort) if sort else None, page=page_no, page_size=_ss()[size_key])
    if result is None:
        result = listing.Page(rows=[], total=0, page=1, pages=1, page_size=_ss()[size_key])
    if result.page != page_no:
        _ss()[_page_key(k)] = result.page

    selected_ids: list[int] = []
    if result.rows:
        df, config = _frame(spec, result.rows)
        height = min(len(result.rows), 15) * ROW_PX + ROW_PX + 3
        event = st.dataframe(df, hide_index=True, column_config=config, on_select="rerun",
                             selection_mode="multi-row", key=k(f"table_{_gen(k)}_{result.page}"),
                             height=height, width="stretch")
        rows_sel = list(getattr(getattr(event, "selection", None), "rows", []) or [])
        selected_ids = [result.rows[i][ID_KEY] for i in rows_sel if 0 <= i < len(result.rows)]
    else:
        st.info("没有符合条件的记录。" if (applied["filters"] or applied["keyword"]) else "暂无记录。")

    # paging
    pc1, pc2, pc3, pc4 = st.columns([3, 5, 1.3, 1.3], vertical_alignment="bottom")
    with pc1:
        span = f"，当前第 {result.first}–{result.last} 条" if result.rows else ""
        sel = f"，已选 {len(selected_ids)} 条" if selected_ids else ""
        st.markdown(f"共 **{result.total}** 条{span}{sel}")
    with pc2:
        if result.pages > 1:
            st.pagination(result.pages, key=_page_key(k), max_visible_pages=9)
    with pc3:
        st.selectbox("每页条数", PAGE_SIZES, key=size_key, on_change=_bump, args=(k,))
    with pc4:
        if result.pages > 1:
            st.number_input("跳至页", min_value=1, max_value=result.pages, value=None, step=1, key=k("jump"),
                            placeholder=f"1–{result.pages}", on_change=_jump, args=(k,))

    with buttons:
        _buttons(spec, actor, k, selected_ids, writable)
    with status:
        _export_area(spec, actor, k, applied, tuple(sort) if sort else None, result.total)

    dlg = _ss().get(k("dialog"))
    if dlg:
        _dialog(spec, actor, k, dlg)


# ---------------------------------------------------------------- buttons
def _action_window_open(actor: Actor, a: Action, writable: bool) -> bool:
    if a.window is None:
        return writable
    if not actor.term_is_current:
        return False
    with session_scope(engine(), readonly=True) as s:
        return window_state(s, actor, a.window).is_open


def _buttons(spec: EntitySpec, actor: Actor, k: _Keys, ids: list[int], writable: bool) -> None:
    n = len(ids)
    closed = "当前不在操作时间内，或正在查看历史考次。"
    if spec.can(actor, "create"):
        if st.button("新增", type="primary", icon=":material/add:", key=k("btn_create"), disabled=not writable,
                     help=None if writable else closed):
            _open_dialog(k, "create", [])
    if spec.can(actor, "edit"):
        if st.button("修改", icon=":material/edit:", key=k("btn_edit"), disabled=not writable or n != 1,
                     help=closed if not writable else ("请勾选一条记录" if n != 1 else None)):
            _open_dialog(k, "edit", ids)
    st.button("查看详情", icon=":material/visibility:", key=k("btn_detail"), disabled=n != 1,
              help="请勾选一条记录" if n != 1 else None, on_click=_open_dialog, args=(k, "detail", ids))
    if spec.can(actor, "delete"):
        if st.button("删除", icon=":material/delete:", key=k("btn_delete"), disabled=not writable or n == 0,
                     help=closed if not writable else ("请先勾选记录" if n == 0 else None)):
            _open_dialog(k, "delete", ids)
    for a in spec.actions_for(actor):
        ok_window = _action_window_open(actor, a, writable)
        ok_sel = n == 1 if not a.bulk else n >= 1
        hint = closed if not ok_window else (None if ok_sel else ("请勾选一条记录" if not a.bulk else "请先勾选记录"))
        if st.button(a.label, key=k(f"act_{a.key}"), icon=a.icon, disabled=not (ok_window and ok_sel), help=hint):
            if a.confirm:
                _open_dialog(k, "action", ids, a.key)
            else:
                _do_action(spec, actor, k, a, ids)
    if spec.can(actor, "export"):
        st.button("导出 Excel", icon=":material/download:", key=k("btn_xlsx"), on_click=_request_export,
                  args=(k, "xlsx"))
        st.button("导出 CSV", icon=":material/csv:", key=k("btn_csv"), on_click=_request_export, args=(k, "csv"))


def _do_action(spec: EntitySpec, actor: Actor, k: _Keys, a: Action, ids: list[int]) -> bool:
    try:
        with session_scope(engine()) as s:
            msg = listing.run_action(s, actor, spec, a.key, ids)
    except DomainError as e:
        _flash(k, "error", e.message)
    else:
        _flash(k, "success", msg)
        _bump(k)
    _close_dialog(k)
    st.rerun()
    return True


# ---------------------------------------------------------------- export
def _request_export(k: _Keys, fmt: str) -> None:
    _ss()[k("export_req")] = fmt


def _export_area(spec: EntitySpec, actor: Actor, k: _Keys, applied: dict, sort, total: int) -> None:
    fmt = _ss().pop(k("export_req"), None)
    if fmt:
        with st.spinner(f"正在导出 {total} 条记录…"):
            res = run_service(listing.export_rows, actor, spec, filters=applied["filters"],
                              keyword=applied["keyword"], sort=sort, fmt=fmt)
        if res:
            data, name = res
            _ss()[k("export")] = {"data": data, "name": name, "fmt": fmt, "who": actor.user_id,
                                  "gen": _gen(k), "total": total}
    ex = _ss().get(k("export"))
    if not ex or ex["who"] != actor.user_id or ex["gen"] != _gen(k):
        return
    with st.container(border=True):
        c1, c2 = st.columns([4, 1], vertical_alignment="center")
        with c1:
            kind = "Excel" if ex["fmt"] == "xlsx" else "CSV"
            st.markdown(f":material/task_alt: 已生成{kind}文件（{ex['total']} 条，按当前查询条件），点击右侧按钮下载。")
        with c2:
            st.download_button(f"下载 {kind}", ex["data"], file_name=ex["name"], mime=MIME[ex["fmt"]],
                               key=k("download"), type="primary", icon=":material/file_download:",
                               on_click="ignore", width="stretch")


# ---------------------------------------------------------------- dialogs
def _dialog(spec: EntitySpec, actor: Actor, k: _Keys, dlg: dict) -> None:
    kind = dlg["kind"]
    on_dismiss = lambda: _close_dialog(k)  # noqa: E731
    if kind == "detail":
        st.dialog("详情", width="large", on_dismiss=on_dismiss)(_detail_body)(spec, actor, k, dlg["ids"][0])
    elif kind == "create":
        st.dialog(f"新增 · {spec.title}", width="medium", on_dismiss=on_dismiss)(_form_body)(spec, actor, k, None)
    elif kind == "edit":
        st.dialog(f"修改 · {spec.title}", width="medium", on_dismiss=on_dismiss)(_form_body)(
            spec, actor, k, dlg["ids"][0])
    elif kind == "delete":
        st.dialog("确认删除", on_dismiss=on_dismiss)(_confirm_body)(spec, actor, k, dlg["ids"], None)
    elif kind == "action":
        try:
            a = spec.action(dlg["action"])
        except KeyError:
            _close_dialog(k)
            return
        st.dialog(a.label, on_dismiss=on_dismiss)(_confirm_body)(spec, actor, k, dlg["ids"], a)


def _detail_body(spec: EntitySpec, actor: Actor, k: _Keys, id: int) -> None:
    row = query(listing.get_row, actor, spec, id)
    if row is None:
        if st.button("关闭", key=k("dlg_close")):
            _close_dialog(k)
            st.rerun()
        return
    plain = [c for c in spec.detail if not isinstance(row.get(c.key), (dict, list))]
    nested = [c for c in spec.detail if isinstance(row.get(c.key), (dict, list))]
    for i in range(0, len(plain), 2):
        cols = st.columns(2)
        for col, c in zip(cols, plain[i:i + 2]):
            with col:
                st.caption(c.label)
                v = row.get(c.key)
                st.text("—" if v is None or v == "" else _plain(v))
    for c in nested:
        st.caption(c.label)
        st.json(row[c.key], expanded=True)
    if st.button("关闭", key=k("dlg_close")):
        _close_dialog(k)
        st.rerun()


def _plain(v: Any) -> str:
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, date):
        return v.isoformat()
    return str(v)


def _confirm_body(spec: EntitySpec, actor: Actor, k: _Keys, ids: list[int], a: Action | None) -> None:
    n = len(ids)
    text = a.confirm if a else f"确定删除所选的 {n} 条记录吗？删除后不能恢复。"
    st.markdown(text)
    st.caption(f"已选 {n} 条记录。")
    c1, c2 = st.columns(2)
    danger = a is None or a.danger
    with c1:
        ok = st.button("确定" if not danger else "确定删除" if a is None else f"确定{a.label}",
                       type="primary", key=k("dlg_ok"), width="stretch")
    with c2:
        if st.button("取消", key=k("dlg_cancel"), width="stretch"):
            _close_dialog(k)
            st.rerun()
    if ok:
        try:
            with session_scope(engine()) as s:
                msg = (listing.delete_rows(s, actor, spec, ids) if a is None
                       else listing.run_action(s, actor, spec, a.key, ids))
        except DomainError as e:
            st.error(e.message)
            return
        _done(k, msg)


def _done(k: _Keys, msg: str) -> None:
    """A write succeeded: show its message on the next run, refresh the list, close the dialog."""
    _flash(k, "success", msg)
    _bump(k)
    _close_dialog(k)
    st.rerun()


def _field_widget(f: FormField, key: str, init: Any, *, editing: bool, hidden: bool, choices: dict) -> None:
    disabled = editing and f.readonly_on_edit
    label = f.label + (" *" if f.required and not (editing and (hidden or f.kind == "password")) else "")
    ph = "已隐藏，留空则不修改" if hidden and f.kind != "password" else ("留空则不修改" if editing and f.kind == "password"
                                                                      else None)
    if f.kind in ("text", "password"):
        st.text_input(label, value="" if init is None else str(init), max_chars=f.max_len, help=f.help,
                      key=key, disabled=disabled, type="password" if f.kind == "password" else "default",
                      placeholder=ph)
    elif f.kind == "textarea":
        st.text_area(label, value="" if init is None else str(init), max_chars=f.max_len, help=f.help, key=key,
                     disabled=disabled, placeholder=ph)
    elif f.kind == "int":
        st.number_input(label, value=init if isinstance(init, int) else None, min_value=f.min, max_value=f.max,
                        step=1, help=f.help, key=key, disabled=disabled, placeholder=ph or "请输入整数")
    elif f.kind == "bool":
        st.checkbox(f.label, value=bool(init) if init is not None else bool(f.default), help=f.help, key=key,
                    disabled=disabled)
    elif f.kind == "choice":
        opts = list(choices)
        idx = opts.index(init) if init in opts else None
        st.selectbox(label, opts, index=idx, format_func=lambda v: str(choices.get(v, v)), help=f.help, key=key,
                     disabled=disabled, placeholder="请选择")
    elif f.kind == "date":
        st.date_input(label, value=init if isinstance(init, date) else None, min_value=MIN_DATE, max_value=MAX_DATE,
                      help=f.help, key=key, disabled=disabled, format="YYYY-MM-DD")
    elif f.kind == "datetime":
        st.datetime_input(label, value=init if isinstance(init, datetime) else None, min_value=datetime(1900, 1, 1),
                          max_value=datetime(2100, 12, 31, 23, 59), help=f.help, key=key, disabled=disabled,
                          format="YYYY-MM-DD")


def _form_body(spec: EntitySpec, actor: Actor, k: _Keys, id: int | None) -> None:
    editing = id is not None
    choices = query(listing.form_choices, actor, spec) or {}
    hidden: set[str] = set()
    if editing:
        res = query(listing.form_values, actor, spec, id)
        if res is None:
            if st.button("关闭", key=k("dlg_close")):
                _close_dialog(k)
                st.rerun()
            return
        values, hidden = res
    else:
        values = {f.key: f.default for f in spec.form_fields}
    stamp = f"{'e' if editing else 'c'}{id or 0}_{int(_ss()[k('dialog')]['n'])}"
    fkey = {f.key: k(f"form_{stamp}_{f.key}") for f in spec.form_fields}
    placeholders = {}
    with st.form(k(f"form_{stamp}"), border=False):
        for f in spec.form_fields:
            _field_widget(f, fkey[f.key], values.get(f.key), editing=editing, hidden=f.key in hidden,
                          choices=choices.get(f.key, {}))
            placeholders[f.key] = st.empty()
        general = st.empty()
        c1, c2, _ = st.columns([1, 1, 3])
        with c1:
            submitted = st.form_submit_button("保存", type="primary", icon=":material/save:", width="stretch")
        with c2:
            cancelled = st.form_submit_button("取消", width="stretch")
    if cancelled:
        _close_dialog(k)
        st.rerun()
    if not submitted:
        return
    raw = {f.key: _ss().get(fkey[f.key]) for f in spec.form_fields}
    try:
        with session_scope(engine()) as s:
            if editing:
                msg = listing.update_row(s, actor, spec, id, raw, keep_blank=frozenset(hidden))
            else:
                msg = listing.create_row(s, actor, spec, raw)
    except FormErrors as e:
        for key, m in e.errors.items():
            (placeholders.get(key) or general).error(m, icon=":material/error:")
        return
    except DomainError as e:
        general.error(e.message)
        return
    _done(k, msg)
