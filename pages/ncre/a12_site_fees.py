"""考点费用设置 (001 §12): sites view; the province sets each subject's 人次费."""
from decimal import Decimal

import pandas as pd
import streamlit as st

from core.services import ncre_setup as ns
from core.ui.ncre import site_setting_head
from core.ui.widgets import flash, query, run_service

FLASH = "ncre_a12_flash"

actor, site_id, ctx, editable = site_setting_head(
    "考点费用设置", FLASH,
    upper_note="考点费用的设置权限在省里，考点只能查看。如显示“未设置”，请先向省里申请设置本考点费用信息。")

fees = query(ns.list_site_fees, actor, site_id)
if fees is None:
    st.stop()
st.subheader(f"{ctx.label}的费用")
if not fees:
    st.info("本考点还没有开考科目，请先完成《考点开考科目设置》。")
else:
    unset = sum(1 for r in fees if r["fee"] is None)
    c1, c2 = st.columns(2)
    c1.metric("开考科目数", len(fees))
    c2.metric("未设置费用的科目", unset)
    if unset and ctx.can_edit:
        st.warning("本考点有科目的费用显示“未设置”，请向省里申请设置本考点费用信息。")
    st.dataframe(pd.DataFrame([{"科目代码": r["code"], "科目名称": r["name"],
                                "人次费（元）": "未设置" if r["fee"] is None else f"{r['fee']:.2f}"} for r in fees]),
                 hide_index=True, width="stretch")

if ctx.can_edit_upper and fees:
    st.subheader("设置人次费")
    st.caption("人次费根据政策要求设置，单位元，最多 2 位小数；清空为未设置。")
    with st.form("fees"):
        cols = st.columns(3)
        new = {}
        for i, r in enumerate(fees):
            new[r["subject_id"]] = cols[i % 3].number_input(
                f"({r['code']}){r['name']}", min_value=0.0, value=None if r["fee"] is None else float(r["fee"]),
                step=1.0, format="%.2f", disabled=not editable)
        save = st.form_submit_button("保存", type="primary", disabled=not editable)
    if save:
        values = {k: (None if v is None else Decimal(str(v))) for k, v in new.items()}
        n = run_service(ns.set_site_fees, actor, site_id, values)
        if n is not None:
            flash(FLASH, f"已保存（{n} 个科目的费用有变化）。")

if ctx.can_edit_upper:
    with st.expander("按科目批量设置多个考点"):
        sites = dict(query(ns.scoped_sites, actor) or [])
        subjects = dict(query(ns.subject_choices, actor) or [])
        with st.form("fee_batch"):
            chosen = st.multiselect("考点", list(sites), format_func=sites.get, disabled=not editable)
            subject = st.selectbox("科目", list(subjects), format_func=subjects.get, disabled=not editable)
            fee = st.number_input("人次费（元）", min_value=0.0, value=None, step=1.0, format="%.2f",
                                  disabled=not editable)
            batch = st.form_submit_button("批量设置", disabled=not editable)
        if batch:
            out = run_service(ns.apply_fee_to_sites, actor, chosen, subject,
                              None if fee is None else Decimal(str(fee)))
            if out is not None:
                msg = f"已为 {out['set']} 个考点设置{subjects[subject]}的人次费。"
                if out["skipped"]:
                    msg += f"以下考点未开考该科目，已跳过：{'、'.join(out['skipped'])}。"
                flash(FLASH, msg)
