"""考生照片检测 (001 §24): re-link 报名信息 to photos already in the site's directory; list and delete unmatched ones."""
import pandas as pd
import streamlit as st

from core.services import photos as ph
from core.ui.session import require_actor
from core.ui.widgets import flash, org_picker, query, run_service, show_flash

FLASH = "a24_flash"

actor = require_actor()
st.title("考生照片检测")
show_flash(FLASH)

site_id = org_picker(actor)
if site_id is None:
    st.stop()
key = f"a24_result_{site_id}_{actor.term_id}"
own = actor.role == "site_admin" and actor.org_id == site_id
can_write = own and actor.term_is_current

with st.expander("说明", expanded=False, icon=":material/info:"):
    st.markdown(
        "1. 考点用户在考次内任何时间都可以进行考生照片检查，本页面功能不受报名管理时间限制。\n"
        "2. 同考次、同考点删除后重新导入报名信息、覆盖导入报名信息、或考生超时未支付被删除后再次报名，照片不会被删除，"
        "只是报名信息失去了和照片的关联，显示为无照片；执行照片检查即可重新匹配，无需再次上传照片。\n"
        "3. 考生照片检查不改变已支付考生的照片上传标识；照片审核不通过的考生需要重新上传照片。\n"
        "4. 如存在未匹配照片（系统目录中有照片，但本考点没有该证件号码的报名信息），可以点击“删除不匹配照片”删除。")

if not actor.term_is_current:
    st.info("当前查看的是历史考次：只能查看检查结果，不能重新关联或删除照片。")
elif not own:
    st.info("照片检查（重新关联、删除不匹配照片）由考点管理员操作；上级机构可以查看检查结果，不做任何修改。")

if can_write:
    clicked = st.button("校验数据", type="primary")
    fn = ph.check_photos
else:
    clicked = st.button("查看检查结果")
    fn = ph.photo_status
if clicked:
    bar = st.progress(0.0, text="正在校验…")
    out = (run_service if can_write else query)(
        fn, actor, site_id, progress=lambda f, t: bar.progress(min(max(f, 0.0), 1.0), text=t))
    bar.empty()
    if out is not None and out is not True:
        st.session_state[key] = out
        st.toast("照片检查完成" if can_write else "检查结果已生成", icon=":material/check_circle:")

out = st.session_state.get(key)
if out is None:
    st.caption("点击“校验数据”开始检查，页面会显示进度；检查完成后在“检查结果”和“检查详细”中查看。"
               if can_write else "点击“查看检查结果”查看本考点照片的匹配情况（不做修改）。")
    st.stop()

st.subheader("检查结果")
(st.warning if out["unmatched"] or out["no_photo"] else st.success)(f"{out['site']}：{out['message']}")
st.dataframe(pd.DataFrame([{"项目": k, "数量": v} for k, v in out["counts"].items()]), hide_index=True)

st.subheader("检查详细")
relink_label = "重新关联" if out["applied"] else "可重新关联"
tabs = st.tabs([f"{relink_label}（{len(out['relinked'])}）", f"无照片考生（{len(out['no_photo'])}）",
                f"未匹配照片（{len(out['unmatched'])}）", f"照片文件丢失（{len(out['missing'])}）"])
for tab, rows, empty in zip(tabs, (out["relinked"], out["no_photo"], out["unmatched"], out["missing"]),
                            ("没有需要重新关联的考生。", "所有考生都有照片。", "没有未匹配的照片。", "没有丢失的照片文件。")):
    with tab:
        if rows:
            st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
        else:
            st.caption(empty)

if out["unmatched"] and can_write:
    st.divider()
    sure = st.checkbox(f"确认删除这 {len(out['unmatched'])} 张未匹配照片（删除后不能恢复）", key="a24_sure")
    if st.button("删除不匹配照片", type="primary", disabled=not sure):
        n = run_service(ph.delete_unmatched_photos, actor, site_id)
        if n is not None:
            st.session_state.pop(key, None)
            st.session_state.pop("a24_sure", None)
            flash(FLASH, f"已删除 {n} 张未匹配照片；可以再次“校验数据”查看结果。")
