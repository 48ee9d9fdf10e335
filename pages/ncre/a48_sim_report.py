"""机考模拟考试报告 (001 §48): the site uploads its 模拟考试 data file; the report (seats tested per room,
successes, failures with reasons, arranged seats not tested) is generated right after the upload. No
upload while a report is 生成报告中; 刷新 shows the status; the report downloads as .xlsx (audited)."""
import pandas as pd
import streamlit as st

from core.exports.tabular import write_csv
from core.services import cbt
from core.ui.ncre import registration_head
from core.ui.widgets import flash, query, run_service, window_banner

FLASH = "ncre_a48_flash"
WARN = "ncre_a48_warn"
NONCE = "a48_nonce"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

actor, site_id, flags = registration_head("机考模拟考试报告", FLASH)
if warn := st.session_state.pop(WARN, None):
    st.warning(warn)


def report_outcome(prefix: str, out: cbt.SimInfo) -> None:
    """Keep the outcome across the rerun: green when the report was made, a warning when it failed."""
    msg = f"{prefix}报告状态：{out.status_label}。" + (out.summary or "")
    if out.status == "failed":
        st.session_state[WARN] = msg
        st.rerun()
    flash(FLASH, msg)

own = flags["own"]
with st.expander("说明", expanded=own, icon=":material/info:"):
    st.markdown(
        "1. 考点用户可以在本页面上传本考点机考模拟考试报告数据文件。\n"
        "2. 上传模拟文件成功后，系统随即生成报告；如报告状态仍为“生成报告中”，请稍后点击“刷新”按钮。\n"
        "3. 当前“报告状态”处于“生成报告中”时，系统无法上传模拟文件。\n"
        "4. 上传完成后，可以在此页面查看报告状态、下载报告（汇总、失败明细、编排中未测试的机位）。\n"
        f"5. {cbt.SIM_FORMAT}")
    sample = write_csv(["考场号", "座位号", "准考证号", "登录", "交卷", "结果"],
                       [["01", "1", "1470110001010101", "是", "是", "正常"],
                        ["01", "2", "1470110001010102", "是", "否", "交卷失败：网络中断"]])
    st.download_button("下载模拟考试数据文件样例（CSV）", sample, file_name="模拟考试数据样例.csv", mime="text/csv",
                       icon=":material/description:")

reports = query(cbt.list_sim_reports, actor, site_id)
if reports is None:
    st.stop()
busy = [r for r in reports if r.status == "generating" and not r.stale]

if own:
    writable = window_banner(actor, "pre_exam_download")
    st.session_state.setdefault(NONCE, 0)
    upload = st.file_uploader("选择模拟考试数据文件（.csv / .xlsx / .zip）", type=["csv", "xlsx", "zip"],
                              key=f"a48_file_{st.session_state[NONCE]}", max_upload_size=cbt.SIM_MAX_MB,
                              disabled=not writable or bool(busy))
    if busy:
        st.warning("当前报告状态为“生成报告中”，此时无法上传模拟文件；请稍后点击“刷新”。")
    if st.button("上传模拟文件", type="primary", icon=":material/upload:",
                 disabled=not writable or bool(busy) or upload is None):
        info = run_service(cbt.upload_sim_file, actor, site_id, upload.getvalue(), upload.name)
        if info:
            with st.spinner("正在生成报告…"):
                done = run_service(cbt.process_sim_report, info.id, actor)
            st.session_state[NONCE] += 1
            if done:
                report_outcome(f"模拟文件“{info.filename}”已上传，", done)
else:
    st.info("模拟考试数据文件由考点管理员上传；上级机构可以查看报告状态、下载已生成的报告。")

bar = st.container(horizontal=True)
if bar.button("刷新", icon=":material/refresh:"):
    st.rerun()

st.subheader("报告列表")
if not reports:
    st.caption("本考点本考次还没有上传模拟考试数据文件。")
    st.stop()
df = pd.DataFrame([{"上传时间": r.uploaded_at, "模拟文件": r.filename, "大小": f"{r.size / 1024:.1f} KB",
                    "报告状态": r.status_label, "报告说明": r.summary or "", "上传人": r.uploaded_by,
                    "完成时间": r.finished_at} for r in reports])
st.dataframe(df, hide_index=True, width="stretch",
             column_config={"上传时间": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss"),
                            "完成时间": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss")})

done_reports = [r for r in reports if r.has_report]
if done_reports:
    labels = {r.id: f"{r.uploaded_at:%Y-%m-%d %H:%M:%S}　{r.filename}" for r in done_reports}
    pick = st.selectbox("选择报告", list(labels), format_func=labels.get, key="a48_pick")
    got = st.session_state.get("a48_file")
    if got and got[0] != pick:  # another report picked: drop the bytes kept for the previous one
        st.session_state.pop("a48_file")
        got = None
    if st.button("下载报告", type="primary", icon=":material/file_download:", key="a48_prepare"):
        got = run_service(cbt.download_sim_report, actor, pick)  # audited as an export
        st.session_state["a48_file"] = got = (pick, *got) if got else None
    if got and got[0] == pick:
        st.download_button(f"保存 {got[2]}", got[1], file_name=got[2], mime=XLSX, icon=":material/save:",
                           key="a48_download")

retry = [r for r in reports if r.status == "failed" or r.stale]
if own and retry and actor.term_is_current:
    with st.expander("重新生成报告", icon=":material/replay:"):
        st.caption("生成失败的报告，或“生成报告中”超过 "
                   f"{int(cbt.STALE_AFTER.total_seconds() // 60)} 分钟（处理中断）的报告，可以用原文件重新生成。")
        labels = {r.id: f"{r.uploaded_at:%Y-%m-%d %H:%M:%S}　{r.filename}　{r.status_label}" for r in retry}
        rid = st.selectbox("选择报告", list(labels), format_func=labels.get, key="a48_retry_pick")
        if st.button("重新生成", key="a48_retry"):
            out = run_service(cbt.retry_sim_report, actor, rid)
            if out:
                report_outcome("已重新生成，", out)
