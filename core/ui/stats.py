"""The shared head of the statistics pages (001 §28–29): title, note, 刷新, 导出 Excel, 下载, the table."""
from __future__ import annotations

import streamlit as st

from core.auth import Actor
from core.services import reg_stats as rs
from core.ui.session import require_actor
from core.ui.widgets import query, run_service

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def stats_head(title: str, kind: str, exports: dict[str, str] | None = None) -> tuple[Actor, rs.StatTable]:
    """Draw the head and return the actor and the freshly computed table of `kind` (stops on error).
    `exports`: {kind: button label}; default one 导出 Excel of `kind`."""
    actor = require_actor()
    st.title(title)
    st.caption(rs.NOTE)
    key = f"kaowu_stats_{kind}__export"
    bar = st.container(horizontal=True)
    if bar.button("刷新", icon=":material/refresh:", key="stats_refresh"):
        st.session_state.pop(key, None)
    for k, label in (exports or {kind: "导出 Excel"}).items():
        if bar.button(label, icon=":material/download:", key=f"stats_export_{k}"):
            res = run_service(rs.export_stats, actor, k)
            if res:
                st.session_state[key] = {"data": res[0], "name": res[1], "who": (actor.user_id, actor.term_id)}
    ex = st.session_state.get(key)
    if ex and ex["who"] == (actor.user_id, actor.term_id):
        bar.download_button("下载 Excel", ex["data"], file_name=ex["name"], mime=XLSX, type="primary",
                            on_click="ignore", icon=":material/file_download:", key="stats_download")
    table = query(rs.stats, actor, kind)
    if table is None:
        st.stop()
    st.caption(f"考次：{table.term_name}　统计时间：{table.generated_at:%Y-%m-%d %H:%M:%S}　考点数：{len(table.body)}")
    return actor, table
