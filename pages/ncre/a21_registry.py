"""学籍库信息管理 (001 §21): query (更多查询条件 in the expander), 新增, 修改, 删除, 查看详情 and 导出 through the
entity kit; 删除全部查询结果 (with the count to confirm) below it, for the site's own administrator."""
import hashlib
from dataclasses import replace

import streamlit as st

from core.services import registry
from core.specs.registry import REGISTRY
from core.ui.entity_page import entity_page
from core.ui.session import require_actor
from core.ui.widgets import query, run_service

# entity_page keeps its state under kaowu_<spec.name>__ (core/ui/entity_page.py): the applied query,
# the message shown after a write and the query generation (bumped: the table is re-read from page 1).
KIT = f"kaowu_{REGISTRY.name}__"

actor = require_actor()
# Only a site changes its 学籍, inside its own 报名资格管理时间; upper levels get no window banner
# (their own window says nothing about this page).
entity_page(REGISTRY if actor.org_kind == "site" else replace(REGISTRY, window=None), actor)

if actor.org_kind == "site":
    site = query(registry.site_info, actor)
    if site and not site["registry_enabled"]:
        st.caption("本考点未启用学籍库（见《学籍报考设置》）。如考点不启用学籍库，此功能不使用。")

if actor.role == "site_admin":
    filters = (st.session_state.get(KIT + "applied") or {}).get("filters") or {}
    with st.expander("删除全部查询结果", icon=":material/delete_sweep:"):
        n = query(registry.count_query_results, actor, filters) or 0
        st.markdown(f"当前查询条件：{registry.describe_query(filters)}；共 **{n}** 条学籍。")
        st.caption("删除的是按当前查询条件查到的全部学籍（不只是本页）；已报名考生的报名数据不受影响。")
        writable = bool(query(registry.writable_now, actor))
        stamp = hashlib.sha1(repr((sorted(filters.items()), n)).encode()).hexdigest()[:12]
        confirm_key = f"ncre_a21_delall_{stamp}"
        ok = st.checkbox(f"我确认删除以上全部 {n} 条学籍，删除后不能恢复", key=confirm_key,
                         disabled=not writable or n == 0)
        if st.button("删除全部查询结果", type="primary", icon=":material/delete_forever:", key="ncre_a21_delall",
                     disabled=not (writable and ok and n > 0),
                     help=None if writable else "当前不在报名资格管理时间内，或正在查看历史考次。"):
            deleted = run_service(registry.delete_query_results, actor, filters, expected=n)
            if deleted is not None:
                st.session_state.pop(confirm_key, None)
                st.session_state[KIT + "flash"] = ("success", f"已删除全部查询结果：{deleted} 条学籍。")
                st.session_state[KIT + "gen"] = st.session_state.get(KIT + "gen", 0) + 1
                st.rerun()
