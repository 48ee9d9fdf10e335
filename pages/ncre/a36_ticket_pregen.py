"""考生准考证预生成 (001 §36): render each arranged candidate's ticket PDF for the candidate to download after
the site's 准考证打印开始时间; 检测生成情况 compares them with the current data; 预览 one candidate's ticket."""
import pandas as pd
import streamlit as st

from core.services import ticket_files as tf
from core.services.base import window_state
from core.ui.ncre import registration_head
from core.ui.widgets import flash, query, run_service

FLASH = "ncre_a36_flash"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

actor, site_id, flags = registration_head("考生准考证预生成", FLASH)
own = flags["own"]
info = query(tf.self_print_info, actor, site_id)
if info is None:
    st.stop()
if not info["self_print"]:
    st.info("本考点在《考点报名综合设置》中不允许考生个人打印准考证，不需要使用本页面功能"
            "（准考证由考点通过《考点小版准考证下载》《考点大版准考证下载》下载后下发）。")
    st.stop()
st.caption("预生成的准考证在本考点“准考证打印开始时间”后考生可下载。请在本考点编排结束、确定报名和编排数据不再变更后生成；"
           "生成后如变更了报名或编排数据，需要重新生成，否则考生下载的准考证将与系统不一致。")
st.caption(f"准考证打印开始时间：{info['print_start']:%Y-%m-%d %H:%M}" if info["print_start"]
           else "准考证打印开始时间：未设置")
if own and actor.term_is_current:
    arr = query(window_state, actor, "arrangement")
    if arr and arr.applies and arr.end and arr.is_open:
        st.warning(f"本考点编排时间尚未结束（{arr.end:%Y-%m-%d %H:%M} 结束）：编排数据仍可能变更，变更后需要重新生成。")

ready = query(tf.readiness, actor, site_id)
report = query(tf.check_pregenerated, actor, site_id)
if report is None:
    st.stop()
cols = st.columns(len(tf.PREGEN_STATES))
for col, (k, label) in zip(cols, tf.PREGEN_STATES.items()):
    col.metric(label, report.counts.get(k, 0))
if report.generated_at:
    st.caption(f"最近一次生成：{report.generated_at:%Y-%m-%d %H:%M:%S}")

if not own:
    st.info("考生准考证由考点管理员在本考点生成，上级机构可以查看生成情况、下载检测报告。")
reason = ready.reason if ready else "无法读取本考点的编排情况。"
if own:
    if reason:
        st.info(reason)
    full = st.checkbox("全部重新生成（默认只生成未生成和数据已变动的考生）", key="pregen_full")
    bar = st.container(horizontal=True)
    if bar.button("生成考生准考证", type="primary", icon=":material/build:", key="pregen_go",
                  disabled=bool(reason) or not actor.term_is_current):
        with st.status("正在生成考生准考证…", expanded=True) as status:
            bar_ = st.progress(0.0)
            res = run_service(tf.pregenerate, actor, site_id,
                              progress=lambda f, t: bar_.progress(min(max(f, 0.0), 1.0), text=t),
                              only_changed=not full)
            status.update(label="生成完成" if res else "生成失败", state="complete" if res else "error")
        if res:
            flash(FLASH, res.text)
    if bar.button("预览一名考生的准考证", icon=":material/visibility:", key="pregen_preview",
                  disabled=bool(reason)):
        got = run_service(tf.sample_ticket, actor, site_id)
        if got:
            st.session_state["pregen_sample"] = {"data": got[0], "name": got[1], "site": site_id}
    sample = st.session_state.get("pregen_sample")
    if sample and sample["site"] == site_id:
        png = tf.pdf_first_page_png(sample["data"])
        if png:
            st.image(png, caption="预览（第 1 页）", width=420)
        st.download_button("下载预览 PDF", sample["data"], file_name=sample["name"], mime="application/pdf",
                           on_click="ignore", icon=":material/file_download:", key="pregen_sample_dl")

st.subheader("检测生成情况")
bar2 = st.container(horizontal=True)
if bar2.button("检测生成情况", icon=":material/fact_check:", key="pregen_check"):
    st.session_state["pregen_show"] = site_id
if bar2.button("导出检测报告", icon=":material/download:", key="pregen_export"):
    got = run_service(tf.export_pregen_check, actor, site_id)
    if got:
        st.session_state["pregen_report"] = {"data": got[0], "name": got[1], "site": site_id}
rep_file = st.session_state.get("pregen_report")
if rep_file and rep_file["site"] == site_id:
    bar2.download_button("下载检测报告", rep_file["data"], file_name=rep_file["name"], mime=XLSX, type="primary",
                         on_click="ignore", icon=":material/file_download:", key="pregen_report_dl")
if st.session_state.get("pregen_show") == site_id:
    if report.complete:
        st.success(f"检测完成：{report.text}。")
    else:
        st.warning(f"检测完成：{report.text}。" + ("请重新生成。" if own else ""))
    show = [r for r in report.rows if r["state"] != tf.OK] or report.rows
    if show:
        df = pd.DataFrame(show[:500]).drop(columns=["state", "enrollment_id"])
        st.dataframe(df, hide_index=True, width="stretch", key="pregen_rows")
        if len(show) > 500:
            st.caption(f"仅显示前 500 名，完整名单请导出检测报告（共 {len(show)} 名）。")
