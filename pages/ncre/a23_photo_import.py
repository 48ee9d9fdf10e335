"""考生照片导入 (001 §23): a ZIP of <证件号码>.jpg; only the good photos are imported, the rest reported."""
import streamlit as st

from core.services import ncre_setup as ns
from core.services import photos as ph
from core.ui.session import require_actor
from core.ui.widgets import org_picker, query, run_service, window_banner

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
STATE = "a23_result"  # (site_id, term_id, PhotoResult, report bytes)
NONCE = "a23_nonce"

actor = require_actor()
st.title("考生照片导入")

with st.expander("导入说明", expanded=actor.org_kind == "site", icon=":material/info:"):
    st.markdown("\n".join(f"{i}. {n}" for i, n in enumerate([
        "考点用户在本考点报名管理时间内，可以为本考点的考生（集体报名和个人网报均可）导入照片；"
        "导入的前提是考生的报名信息已经存在于系统中。",
        ph.NAMING_RULE,
        "将照片文件打成 **.ZIP** 压缩包（不能打成 .RAR 格式压缩包），照片可以放在压缩包的任意文件夹中；"
        f"一个压缩包最多 {ph.MAX_PHOTOS} 张、不超过 {ph.MAX_ZIP_MB} MB。",
        "导入原则：只导入正确的，提示错误的。错误的照片在“导入错误详细”中列出，可以“下载报告”，改正后重新导入。",
        "不勾选“覆盖重名照片”：系统目录中已有该考生照片的，提示错误；勾选则覆盖，但报名信息已锁定的考生需先在"
        "《考生管理》解锁。",
        "勾选“勾选则需要检测”：按证件照要求检查照片。" + ph.PORTRAIT_NOTE,
    ], start=1)))

site_id = org_picker(actor)
if site_id is None:
    st.stop()

if actor.role != "site_admin" or actor.org_id != site_id:
    st.info("考生照片由考点管理员在本考点报名管理时间内导入，上级机构只能查看；"
            "各考点照片的匹配情况可在《考生照片检测》中查看。")
    status = query(ph.photo_status, actor, site_id)
    if status is not None:
        c = status["counts"]
        cols = st.columns(3)
        cols[0].metric("报名考生", c["报名考生"])
        cols[1].metric("已有照片", c["已匹配照片"])
        cols[2].metric("无照片考生", c["无照片考生"])
    st.stop()

writable = window_banner(actor, "registration")
state = st.session_state
state.setdefault(NONCE, 0)

ctx = query(ns.site_context, actor, site_id)
st.text_input("机构", value=ctx.label if ctx else "", disabled=True, help="机构默认为当前考点。")
upload = st.file_uploader("选择照片压缩包（.ZIP）", type=["zip", "rar", "7z"], key=f"a23_file_{state[NONCE]}",
                          max_upload_size=ph.MAX_ZIP_MB, disabled=not writable)
c1, c2 = st.columns(2)
overwrite = c1.checkbox("覆盖重名照片", disabled=not writable, key="a23_overwrite",
                        help="系统目录中已有同一证件号码的照片时：不勾选则提示错误；勾选则覆盖（报名信息已锁定的除外）。")
portrait = c2.checkbox("勾选则需要检测", disabled=not writable, key="a23_portrait", help=ph.PORTRAIT_NOTE)

if st.button("校验提交", type="primary", disabled=not writable or upload is None):
    state.pop(STATE, None)
    bar = st.progress(0.0, text="正在校验…")
    result = run_service(ph.import_photos, actor, site_id, upload.getvalue(), upload.name, overwrite=overwrite,
                         check_portrait=portrait, progress=lambda f, t: bar.progress(min(max(f, 0.0), 1.0), text=t))
    bar.empty()
    if result is not None:
        state[STATE] = (site_id, actor.term_id, result, result.error_report() if result.errors else None)
        state[NONCE] += 1  # a fresh uploader: the same ZIP is not submitted twice by accident
        st.rerun()

saved = state.get(STATE)
if saved and saved[:2] == (site_id, actor.term_id):
    _, _, result, report = saved
    (st.success if not result.errors else st.warning)(result.message)
    st.subheader("导入结果")
    cols = st.columns(3)
    for col, (label, value) in zip(cols, result.totals().items()):
        col.metric(label, value)
    if result.errors:
        st.subheader("导入错误详细")
        table = result.error_table()
        if len(result.errors) > len(table):
            st.caption(f"共 {len(result.errors)} 条错误，下表显示前 {len(table)} 条；全部错误请下载报告。")
        st.dataframe(table, hide_index=True, width="stretch")
        st.caption("表中证件号码已脱敏；下载的报告含完整文件名，便于在压缩包中找到对应照片。")
        st.download_button("下载报告", data=report, file_name="考生照片导入错误报告.xlsx", mime=XLSX,
                           icon=":material/download:")
