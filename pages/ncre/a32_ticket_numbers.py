"""准考证号生成 (001 §32): the site's status (已生成 / 流水号未生成 and why), generation, and the 考次's layout
(set by the 考试中心)."""
import streamlit as st

from core.services import arrangement as ar
from core.ui.ncre import registration_head
from core.ui.widgets import flash, query, run_service, window_banner

FLASH = "ncre_a32_flash"

actor, site_id, flags = registration_head("准考证号生成", FLASH)
editable = window_banner(actor, "arrangement") if flags["own"] else False
if not flags["own"]:
    st.info("准考证号由考点管理员在本考点编排时间内生成；上级机构只能查看生成状态。")

status = query(ar.ticket_status, actor, site_id)
if status is None:
    st.stop()
m1, m2, m3, m4 = st.columns(4)
m1.metric("报考科次", status.total)
m2.metric("已编排", status.arranged)
m3.metric("已生成准考证号", status.with_ticket)
m4.metric("生成状态", status.state)
(st.success if status.generated else st.warning)(f"{status.state}：{status.reason}")
if status.last_generated:
    st.caption(f"上次生成：{status.last_generated:%Y-%m-%d %H:%M:%S}（{status.last_generated_by}）")

layout = query(ar.ticket_layout, actor) or {}
st.markdown(f"**准考证号格式：** `{layout.get('text', '')}`" + ("（全国计算机等级考试默认格式）" if layout.get("default") else ""))
st.caption(f"{layout.get('description', '')}" + (f"。示例：{layout['example']}" if layout.get("example") else ""))

ready = status.total > 0 and status.arranged == status.total
st.caption("准考证号生成的前提是本考点所有的报考科目都编排完成；重新生成是安全的：编排未变的考生号码不变。")
if st.button("生成准考证号", type="primary", disabled=not (editable and ready), key="gen_tickets"):
    with st.spinner("正在生成准考证号…"):
        rep = run_service(ar.generate_ticket_numbers, actor, site_id)
    if rep:
        flash(FLASH, rep.message)

# ---------------------------------------------------------------- the layout (考试中心)
if actor.role == "center_admin":
    with st.expander("设置准考证号格式（考试中心，对本考次全部考点生效）", expanded=False):
        names = "；".join(f"{{{k}:位数}} {v}" for k, v in ar.LAYOUT_FIELDS.items())
        st.caption(f"用命名字段组成：{names}。字段之外只能是数字或字母；必须包含 site、room、session、seat 以保证唯一；"
                   f"数值不足位数时左侧补 0。留空恢复默认格式 {ar.DEFAULT_LAYOUT}。修改后各考点需重新生成准考证号。")
        with st.form("ticket_layout"):
            text = st.text_input("准考证号格式", value="" if layout.get("default") else layout.get("text", ""),
                                 placeholder=ar.DEFAULT_LAYOUT, key="layout_text", max_chars=200,
                                 disabled=not actor.term_is_current)
            if st.form_submit_button("保存格式", type="primary", disabled=not actor.term_is_current):
                saved = run_service(ar.set_ticket_layout, actor, text)
                if saved:
                    flash(FLASH, f"准考证号格式已设置为 {saved}。")
