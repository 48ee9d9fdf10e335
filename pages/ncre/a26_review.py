"""报名信息批量审核 (001 §26): 待审核 can pass; 待审核 and 已通过 can fail (with a type and a reason)."""
import pandas as pd
import streamlit as st

from core.services import candidates as cs
from core.services import registration as reg
from core.ui.ncre import registration_head
from core.ui.widgets import flash, query, run_service, window_banner

FLASH = "ncre_a26_flash"
PAGE_SIZE = 50

actor, site_id, flags = registration_head("报名信息批量审核", FLASH)
if not flags["review_required"]:
    st.warning("本考点未在《考点报名综合设置》中启用“报名信息需审核”，此功能不使用。")
editable = window_banner(actor, "registration") if flags["own"] and flags["review_required"] else False
if not flags["own"]:
    st.info("报名信息由考点管理员审核；上级机构可以查询查看。")

counts = query(cs.review_counts, actor, site_id) or {}
cols = st.columns(len(counts) or 1)
for col, (label, n) in zip(cols, counts.items()):
    col.metric(label, n)

with st.form("review_query"):
    c1, c2, c3 = st.columns(3)
    state = c1.selectbox("审核状态", ["pending", "approved", "rejected", ""], key="r_state",
                         format_func=lambda v: reg.REVIEW_STATES.get(v, "全部"))
    name = c2.text_input("姓名", key="r_name")
    idn = c3.text_input("证件号码", key="r_idn")
    with st.expander("更多查询条件"):
        d1, d2 = st.columns(2)
        photo = d1.selectbox("照片", ["", "yes", "no"], format_func={"": "全部", "yes": "有照片", "no": "无照片"}.get,
                             key="r_photo")
        class_name = d2.text_input("班级", key="r_class")
    st.form_submit_button("查询", type="primary")

q = cs.CandidateQuery(site_id=site_id, review=state or "", name=name, id_number=idn,
                      photo={"yes": True, "no": False}.get(photo), class_name=class_name)
if not state:
    q.review = ""
got = query(cs.list_candidates, actor, q, 1, PAGE_SIZE)
rows, total = got if got else ([], 0)
st.caption(f"共 {total} 名考生（显示前 {min(total, PAGE_SIZE)} 名；可用“所有查询结果”一次处理全部）")
df = pd.DataFrame(rows)
event = st.dataframe(df.drop(columns=["id"]) if not df.empty else df, hide_index=True, width="stretch",
                     on_select="rerun", selection_mode="multi-row", key="review_table")
selected = [rows[i]["id"] for i in (event.selection.rows if event and event.selection else [])]
target = st.radio("操作对象", ["selected", "all"], horizontal=True, key="review_target",
                  format_func={"selected": f"选中的考生（{len(selected)} 名）", "all": f"所有查询结果（{total} 名）"}.get)


def ids() -> list[int]:
    return selected if target == "selected" else (query(cs.query_ids, actor, q) or [])


a1, a2 = st.columns(2)
if a1.button("设置通过", type="primary", disabled=not editable):
    n = run_service(cs.review, actor, ids(), "approve")
    if n is not None:
        flash(FLASH, f"已设置审核通过 {n} 名（只有“待审核”的可以设置通过）。")
with a2.form("reject"):
    rtype = st.selectbox("不通过类型", list(reg.REJECT_TYPES), format_func=reg.REJECT_TYPES.get)
    why = st.text_input("不通过原因（必填）")
    go = st.form_submit_button("设置不通过", disabled=not editable)
if go:
    n = run_service(cs.review, actor, ids(), "reject", rtype, why)
    if n is not None:
        flash(FLASH, f"已设置审核不通过 {n} 名。")
st.caption("只有“待审核”的报名信息可以设置通过；“待审核”“已通过”的可以设置不通过。照片审核不通过的考生必须重新上传照片才能再次提交审核。")
