"""机考系统异常文件处理 (001 §49): the site uploads ZIPs of the machine-exam system's anomaly files (新增),
deletes them while 未开始处理; the level above sets 未开始处理 / 正在处理 / 处理完成. Not restricted by
operation windows; changes only in the current 考次. Downloads are audited."""
import pandas as pd
import streamlit as st

from core.services import cbt
from core.ui.ncre import registration_head
from core.ui.widgets import flash, query, run_service

FLASH = "ncre_a49_flash"
NONCE = "a49_nonce"

actor, site_id, flags = registration_head("机考系统异常文件处理", FLASH)
own = flags["own"]
upper = actor.role in cbt.UPPER_ROLES
st.caption("机考系统异常文件处理功能不受考点操作时间限制；新增、删除和修改处理状态只能在当前考次进行。")
if not actor.term_is_current:
    st.info("当前查看的是历史考次：只能查询、查看和下载，不能修改。")

# ---------------------------------------------------------------- 新增 (the site itself)
if own and actor.term_is_current:
    st.session_state.setdefault(NONCE, 0)
    with st.expander("新增", icon=":material/add:", expanded=False):
        st.caption(f"上传本考次的机考系统异常文件，文件格式只能是压缩的 ZIP 文件（不超过 {cbt.ANOMALY_MAX_MB} MB）。")
        upload = st.file_uploader("异常文件（.ZIP）", type=["zip"], key=f"a49_file_{st.session_state[NONCE]}",
                                  max_upload_size=cbt.ANOMALY_MAX_MB)
        remark = st.text_area("备注", max_chars=cbt.REMARK_MAX, key=f"a49_remark_{st.session_state[NONCE]}",
                              placeholder="例如：考场号、机位号、异常现象")
        if st.button("上传", type="primary", disabled=upload is None, key="a49_upload"):
            info = run_service(cbt.add_anomaly_file, actor, site_id, upload.getvalue(), upload.name, remark)
            if info:
                st.session_state[NONCE] += 1
                flash(FLASH, f"异常文件“{info.filename}”已上传，处理状态：{info.status_label}。")
elif not own:
    st.info("机考系统异常文件由考点管理员上传；上级机构查看、下载并修改处理状态。")

# ---------------------------------------------------------------- query
c1, c2 = st.columns([1, 2])
status = c1.selectbox("处理状态", ["", *cbt.ANOMALY_STATUS], key="a49_status",
                      format_func=lambda v: cbt.ANOMALY_STATUS.get(v, "全部"))
all_sites = False
if upper:
    all_sites = c2.checkbox("显示管辖范围内全部考点", key="a49_all",
                            help="不勾选：只显示上方所选考点的异常文件。")
rows = query(cbt.list_anomaly_files, actor, None if all_sites else site_id, status or None)
if rows is None:
    st.stop()
st.caption(f"共 {len(rows)} 个文件")
if not rows:
    st.stop()
df = pd.DataFrame([{"考点": r.site, "文件名": r.filename, "大小": f"{r.size / 1024:.1f} KB", "备注": r.remark or "",
                    "处理状态": r.status_label, "上传人": r.uploaded_by, "上传时间": r.uploaded_at,
                    "处理人": r.status_by or "", "处理时间": r.status_at} for r in rows])
event = st.dataframe(df, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row",
                     key="a49_table",
                     column_config={"上传时间": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss"),
                                    "处理时间": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss")})
picked = event.selection.rows if event and event.selection else []
options = {r.id: f"{r.site}　{r.filename}　{r.status_label}（{r.uploaded_at:%m-%d %H:%M}）" for r in rows}
if picked and st.session_state.get("a49_row") != rows[picked[0]].id:  # a row clicked in the table
    st.session_state["a49_row"] = st.session_state["a49_pick"] = rows[picked[0]].id
if st.session_state.get("a49_pick") not in options:  # deleted, or filtered out
    st.session_state.pop("a49_pick", None)
file_id = st.selectbox("选择文件", list(options), format_func=options.get, key="a49_pick")
row = next(r for r in rows if r.id == file_id)


bar = st.container(horizontal=True)
got = st.session_state.get("a49_file")
if got and got[0] != file_id:  # another file picked: drop the bytes kept for the previous one
    st.session_state.pop("a49_file")
    got = None
if bar.button("下载", icon=":material/file_download:", key="a49_prepare"):
    got = run_service(cbt.download_anomaly_file, actor, file_id)  # audited as an export
    st.session_state["a49_file"] = got = (file_id, *got) if got else None
if got and got[0] == file_id:
    bar.download_button(f"保存 {got[2]}", got[1], file_name=got[2], mime="application/zip", icon=":material/save:",
                        key="a49_download")

if upper and actor.term_is_current:
    with st.container(border=True):
        st.markdown(f"**修改处理状态**：{row.filename}（当前：{row.status_label}）")
        d1, d2 = st.columns([1, 1], vertical_alignment="bottom")
        new = d1.selectbox("处理状态", [k for k in cbt.ANOMALY_STATUS if k != row.status], key=f"a49_new_{row.id}",
                           format_func=cbt.ANOMALY_STATUS.get)
        if d2.button("确定修改", type="primary", key="a49_set"):
            out = run_service(cbt.set_anomaly_status, actor, row.id, new)
            if out:
                flash(FLASH, f"“{out.filename}”的处理状态已改为“{out.status_label}”。")

if own and actor.term_is_current:
    if row.status == "pending":
        sure = bar.checkbox("确认删除", key=f"a49_sure_{row.id}")
        if bar.button("删除", disabled=not sure, key="a49_delete", icon=":material/delete:"):
            if run_service(cbt.delete_anomaly_file, actor, row.id):
                flash(FLASH, f"异常文件“{row.filename}”已删除。")
    else:
        st.caption(f"该文件{row.status_label}，只有未开始处理的文件可以删除。")
