"""The shared head of the NCRE site set-up pages (001 §10–§18)."""
from __future__ import annotations

import streamlit as st

from core.auth import Actor
from core.services import ncre_setup as ns
from core.ui.session import require_actor
from core.ui.widgets import org_picker, query, show_flash, window_banner


def site_setting_head(title: str, flash_key: str, upper_note: str | None = None
                      ) -> tuple[Actor, int, ns.SiteContext, bool]:
    """Title, the last save's message, the site (own site, or picked by an upper level), and whether
    its controls are editable now. Site-set pages (upper_note None): only the site itself, inside its
    报名前设置时间. Province-set pages (§12, §19): the level above, inside its own window; the site
    sees `upper_note`. Always read-only in a past 考次. Stops the page when there is no site to show."""
    actor = require_actor()
    st.title(title)
    show_flash(flash_key)
    site_id = org_picker(actor)
    if site_id is None:
        st.stop()
    ctx = query(ns.site_context, actor, site_id)
    if ctx is None:
        st.stop()
    if upper_note is not None:
        if ctx.can_edit_upper:
            return actor, site_id, ctx, window_banner(actor, "pre_reg_setting")
        st.info(upper_note)
        return actor, site_id, ctx, False
    if ctx.can_edit:
        editable = window_banner(actor, "pre_reg_setting")
    else:
        st.info(ns.SITE_ONLY_NOTE)
        st.caption(f"{ctx.label}　{ctx.window.text}")
        editable = False
    return actor, site_id, ctx, editable


def registration_head(title: str, flash_key: str | None = None) -> tuple[Actor, int, dict]:
    """Title, last message, the site (own, or picked by an upper level) and its 报名管理 flags
    (core.services.candidates.site_flags). Stops the page when there is no site to show."""
    from core.services import candidates as cs

    actor = require_actor()
    st.title(title)
    if flash_key:
        show_flash(flash_key)
    site_id = org_picker(actor)
    if site_id is None:
        st.stop()
    flags = query(cs.site_flags, actor, site_id)
    if flags is None:
        st.stop()
    return actor, site_id, flags
