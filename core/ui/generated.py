"""The generate-then-download panel (001 §33–36, §46–47, §50–51): status line (generation time, size,
records), a warning when the data changed after generation, 生成 with progress, and 下载 that reads the
stored file only when clicked (deferred, audited)."""
from __future__ import annotations

import mimetypes
from collections.abc import Mapping
from typing import Any

import streamlit as st

from core.auth import Actor
from core.services import generated as gen
from core.models.ncre import WINDOW_KINDS
from core.ui.widgets import deferred_download, flash, query, run_service, show_flash, window_banner


def generated_panel(actor: Actor, site_id: int, kind: str, build: gen.Builder,
                    options: Mapping[str, Any] | None = None, *, label: str = "生成", numbers: bool = True,
                    disabled_reason: str | None = None) -> gen.GenInfo | None:
    """Draw the panel for the site's file of `kind`; `build` makes the file when 生成 is clicked with
    `options`. Generation waits for the arrangement (and the 准考证号 when `numbers`): the reason is shown
    instead of a dead button; a kind with a download window (001 §9) shows it and downloads only inside it.
    Returns the current info (None when never generated)."""
    from core.services import ticket_files as tf

    k = gen.KINDS[kind]
    title = k.title
    ready = None
    if k.needs_arranged and not disabled_reason:
        ready = query(tf.readiness, actor, site_id, numbers=numbers)
        disabled_reason = ready.reason if ready else "无法读取本考点的编排情况。"
    flash_key = f"kaowu_gen_{kind}"
    show_flash(flash_key)
    info = query(gen.generated_info, actor, site_id, kind)
    with st.container(border=True):
        if info is None:
            st.markdown(f"**{title}**：尚未生成。")
        else:
            st.markdown(f"**{title}**　{info.text}")
            if info.options.get("order_label"):
                st.caption(f"生成顺序：{info.options['order_label']}")
            if info.stale:
                st.warning("生成之后本考点的报名或编排数据已有变动，下载前请先重新生成。")
            else:
                st.caption("生成之后数据未变动。如无法确定，下载前请重新生成。")
        if ready:
            st.caption(ready.text)
        own = actor.role == "site_admin" and actor.org_id == site_id
        if not own:
            st.info(f"{title}由考点管理员在本考点生成和下载，上级机构只能查看生成情况。")
            return info
        can_download = True
        if k.window:
            can_download = window_banner(actor, k.window) or not actor.term_is_current
            if not can_download:
                st.info(f"不在{WINDOW_KINDS[k.window]}内：可以生成，但不能下载{title}。")
        bar = st.container(horizontal=True)
        can_generate = actor.term_is_current and not disabled_reason
        if disabled_reason:
            st.info(disabled_reason)
        if bar.button(label, type="primary", icon=":material/build:", disabled=not can_generate,
                      key=f"gen_{kind}_build"):
            with st.status(f"正在生成{title}…", expanded=True) as status:
                bar_ = st.progress(0.0)

                def progress(f: float, text: str) -> None:
                    bar_.progress(min(max(f, 0.0), 1.0), text=text)

                res = run_service(gen.generate, actor, site_id, kind, build, options or {}, progress=progress)
                status.update(label=f"{title}生成完成" if res else f"{title}生成失败",
                              state="complete" if res else "error")
            if res:
                flash(flash_key, f"{title}已生成：{res.filename}（{res.rows} 条，{res.size_text}）。")
        if info is not None and can_download:
            mime = mimetypes.guess_type(info.filename)[0] or "application/octet-stream"
            with bar:
                deferred_download(f"下载{title}", gen.download, actor, site_id, kind, file_name=info.filename,
                                  mime=mime, key=f"gen_{kind}_download", icon=":material/file_download:")
    return info
