"""重考申请审核 (000, the 院校 side): 待审核 applications of the 院校 from every 学习中心; view the 证明材料,
审核通过 / 审核未通过 (with a reason), one by one or in batch."""
import pandas as pd
import streamlit as st

from core.services import oces
from core.ui.review_panel import review_panel
from core.ui.session import engine, require_actor
from core.ui.widgets import flash, query, run_service, show_flash

FLASH = "oces_b02_flash"
SHOWN = ["学习中心", "院校", "入学批次", "层次", "专业", "学号", "姓名", "统考科目", "统考成绩", "申请条件", "合格批次",
         "证明材料", "审核状态", "申请时间"]

actor = require_actor()
st.title("重考申请审核")
st.caption("学生服务 › 审核 › 重考申请审核：学习中心提交的统考英语重考申请，由学生所在院校审核。")
show_flash(FLASH)
reviewer = actor.role in oces.REVIEW_ROLES
if not reviewer:
    st.info("重考申请由学生所在院校的院校审核员审核；您可以查询查看。")

batches = query(oces.list_batches, actor) or []
if not batches:
    st.info("尚未设置申请批次。")
    st.stop()
centres = query(oces.review_centres, actor) or {}
with st.form("oces_review_query"):
    c = st.columns(5)
    batch_id = c[0].selectbox("批次代码", [b.id for b in batches], format_func={b.id: b.label for b in batches}.get)
    centre = c[1].selectbox("学习中心", [0, *centres], format_func=lambda v: centres.get(v, "全部"))
    state = c[2].selectbox("审核状态", ["pending", "approved", "rejected", ""],
                           format_func=lambda v: oces.REVIEW_STATES.get(v, "全部"))
    name = c[3].text_input("姓名", max_chars=50)
    student_no = c[4].text_input("学号", max_chars=40)
    st.form_submit_button("查询", type="primary")

counts = query(oces.review_counts, actor, batch_id) or {}
cols = st.columns(len(counts) or 1)
for col, (label, n) in zip(cols, counts.items()):
    col.metric(label, n)

q = oces.ReviewQuery(batch_id=batch_id, centre_id=centre or None, state=state, name=name, student_no=student_no)
p1, p2, _ = st.columns([1, 1, 4])
size = p1.selectbox("每页条数", [20, 50, 100], key="oces_rev_size")
page_no = int(p2.number_input("页码", min_value=1, value=1, step=1, key="oces_rev_page"))
got = query(oces.list_reviews, actor, q, page_no, size)
rows, total = got if got else ([], 0)
st.caption(f"共 {total} 条申请，第 {page_no} 页 共 {max(1, -(-total // size))} 页")
if not rows:
    st.info("暂无相关数据")
    st.stop()
event = st.dataframe(pd.DataFrame(rows)[SHOWN], hide_index=True, width="stretch", on_select="rerun",
                     selection_mode="multi-row", key=f"oces_review_table_{batch_id}_{state}_{page_no}")
selected = [rows[i] for i in (event.selection.rows if event and event.selection else [])]
ids = [r["app_id"] for r in selected]

if reviewer:
    a1, a2 = st.columns(2)
    if a1.button(f"审核通过（选中 {len(ids)} 条）", type="primary", disabled=not ids):
        n = run_service(oces.reexam_review, actor, ids, "approve")
        if n is not None:
            flash(FLASH, f"已审核通过 {n} 条（只有“待审核”的申请可以审核）。")
    with a2.form("oces_reject"):
        why = st.text_input("审核意见（审核未通过时必填）", max_chars=500)
        go = st.form_submit_button(f"审核未通过（选中 {len(ids)} 条）", disabled=not ids)
    if go:
        n = run_service(oces.reexam_review, actor, ids, "reject", why)
        if n is not None:
            flash(FLASH, f"已设置审核未通过 {n} 条。")

if len(ids) == 1:
    st.divider()
    st.subheader(f"{selected[0]['姓名']}（{selected[0]['学号']}）的申请")
    review_panel(oces.SPEC, actor, engine(), ids[0], labels=oces.DATA_LABELS, show_actions=reviewer)
else:
    st.caption("选中一条申请可查看证明材料和审核信息并逐条审核；选中多条可批量审核。")
