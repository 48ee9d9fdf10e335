"""The one import widget: 下载模板 → 上传 → 导入方式 → 校验（试运行）→ 错误表/错误报告 → 确认导入."""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import streamlit as st
from sqlalchemy.engine import Engine

from core.auth import Actor
from core.config import LIMITS
from core.errors import DomainError
from core.imports.engine import MODE_LABELS, ONLY_VALID, ImportResult, ImportSpec, run_import, template_bytes


def _show_result(result: ImportResult, prefix: str) -> None:
    totals = result.totals()
    c1, c2, c3 = st.columns(3)
    c1.metric("总行数", totals["总行数"])
    c2.metric("有效", totals["有效"])
    c3.metric("错误", totals["错误"])
    if not result.errors:
        return
    shown = LIMITS.import_error_rows_shown
    if len(result.errors) > shown:
        st.caption(f"共 {len(result.errors)} 条错误，下表显示前 {shown} 条；全部错误请下载错误报告。")
    st.dataframe(result.error_table(shown), hide_index=True)
    st.download_button("下载错误报告", data=result.error_report(), file_name=f"{result.title}错误报告.xlsx",
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                       key=f"{prefix}errors_dl")


def _show_summary(summary: dict[str, Any], prefix: str) -> None:
    if summary.get("message"):
        st.info(summary["message"])
    if summary.get("table"):
        st.dataframe(summary["table"], hide_index=True)
    for i, (label, filename, data) in enumerate(summary.get("downloads", ())):
        st.download_button(label, data=data, file_name=filename, key=f"{prefix}summary_dl_{i}")


def import_panel(spec: ImportSpec, actor: Actor, engine: Engine,
                 options_widgets: Callable[[str], dict[str, Any]] | None = None,
                 disabled: bool = False) -> ImportResult | None:
    """Render the import flow for `spec`. `options_widgets(key_prefix)` may draw extra inputs and
    return them as the options passed to the spec's hooks. Returns the latest result, if any."""
    p = f"imp_{spec.name}_"
    state = st.session_state
    state.setdefault(f"{p}nonce", 0)

    try:
        tpl = template_bytes(engine, spec, actor)
    except DomainError as e:
        st.error(e.message)
        tpl = None
    if tpl is not None:
        st.download_button("下载模板", data=tpl, file_name=spec.template_filename,
                           mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                           key=f"{p}template")

    done = state.get(f"{p}done")
    if done is not None:
        st.success(done.message)
        _show_summary(done.summary, p)

    upload = st.file_uploader(f"选择填写好的文件（{spec.upload_label}，不超过 {LIMITS.max_upload_mb} MB）",
                              type=list(spec.upload_types), key=f"{p}file_{state[f'{p}nonce']}",
                              disabled=disabled)
    options = options_widgets(p) if options_widgets else {}
    modes = list(spec.modes)
    if len(modes) > 1:
        mode = st.radio("导入方式", modes, format_func=MODE_LABELS.get, horizontal=True, key=f"{p}mode",
                        help="全部成功才导入：任何一行有错误则整个文件都不导入；只导入正确行：正确的行导入，错误的行列出。")
    else:
        mode = modes[0]
        st.caption(f"导入方式：{MODE_LABELS[mode]}")
    if upload is None:
        return state.get(f"{p}result")

    data = upload.getvalue()
    fingerprint = (hashlib.sha256(data).hexdigest(), upload.name, mode, repr(sorted(options.items())))
    if state.get(f"{p}checked_for") != fingerprint:
        state.pop(f"{p}result", None)

    if st.button("校验", key=f"{p}check", disabled=disabled, type="secondary"):
        state.pop(f"{p}done", None)
        bar = st.progress(0.0, text="正在校验…")
        try:
            result = run_import(engine, spec, actor, data, upload.name, mode=mode, dry_run=True, options=options,
                                progress=lambda f, t: bar.progress(min(f, 1.0), text=t))
        except DomainError as e:
            bar.empty()
            st.error(e.message)
            return None
        bar.empty()
        state[f"{p}result"], state[f"{p}checked_for"] = result, fingerprint

    result: ImportResult | None = state.get(f"{p}result")
    if result is None:
        st.caption("请先点“校验”检查文件；校验不会写入任何数据。")
        return None
    (st.success if result.ok else st.warning)(result.message)
    _show_result(result, p)
    if not result.can_commit:
        if not result.file_error and result.mode == "all_or_nothing":
            alt = "，或改选“只导入正确行”" if ONLY_VALID in spec.modes else ""
            st.error(f"文件中有错误，按“全部成功才导入”不能导入；请下载错误报告，修改后重新上传{alt}。")
        return result
    label = "确认导入" if result.ok else f"确认导入（只导入 {result.valid} 行正确数据）"
    if st.button(label, key=f"{p}commit", type="primary", disabled=disabled):
        with st.status("正在导入…", expanded=False) as status:
            bar = st.progress(0.0)
            try:
                done = run_import(engine, spec, actor, data, upload.name, mode=mode, dry_run=False,
                                  options=options, progress=lambda f, t: bar.progress(min(f, 1.0), text=t))
            except DomainError as e:
                status.update(label="导入失败", state="error")
                st.error(e.message)
                return result
            status.update(label="导入完成" if done.committed else "未导入", state="complete")
        if not done.committed:
            st.warning(done.message)
            state[f"{p}result"] = done
            return done
        state[f"{p}done"] = done
        state.pop(f"{p}result", None)
        state.pop(f"{p}checked_for", None)
        state[f"{p}nonce"] += 1  # a fresh uploader: the same file is not imported twice by accident
        st.rerun()
    return result
