"""统考英语重考申请 (000 二): 查询, 申请 (证明材料上传), 修改, 取消申请, 审核信息, 导出申请数据."""
from datetime import datetime, time, timedelta

import pandas as pd
import streamlit as st

from core.services import oces
from core.ui.review_panel import review_panel
from core.ui.session import engine, require_actor
from core.ui.widgets import flash, query, run_service, show_flash

FLASH = "oces_b01_flash"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHOWN = ["学习中心", "院校", "入学批次", "层次", "专业", "科目", "姓名", "学号", "统考成绩", "合格状态", "申请条件",
         "证明材料", "申请状态", "审核状态", "操作"]

actor = require_actor()
st.title("统考英语重考申请")
st.caption("学生服务 › 学生管理 › 统考英语重考申请")
show_flash(FLASH)
with st.expander("必看！统考英语重考申请数据范围说明", icon=":material/info:"):
    st.markdown("- 查询信息仅为统考大学英语成绩**合格**或办理统考**免考**通过的学生信息。\n"
                "- 申请时须确认学生信息无误，手动输入成绩合格或免考通过的统考批次（如 201704），"
                "并上传统考成绩或免考查询截图（仅 .jpg 图片，不超过 1M，考生姓名、批次名称、院校、学习中心等信息须清晰）。\n"
                "- 审核状态为“待审核”“审核未通过”时可修改或取消申请；审核结果由学生所在院校给出。\n"
                "- 提交后状态立即更新，无需等待；重复点击“提交”不会产生重复申请。")

batches = query(oces.list_batches, actor) or []
if actor.role == "center_admin":
    with st.expander("申请批次设置（考试中心）", icon=":material/event:"):
        with st.form("oces_batch_form"):
            c1, c2 = st.columns(2)
            code = c1.text_input("批次代码", max_chars=20)
            name = c2.text_input("批次名称", max_chars=100)
            d1, d2, d3, d4 = st.columns(4)
            f_day = d1.date_input("申请开始日期", value=datetime.now().date())
            f_time = d2.time_input("开始时间", value=time(8))
            t_day = d3.date_input("申请结束日期", value=datetime.now().date() + timedelta(days=30))
            t_time = d4.time_input("结束时间", value=time(18))
            if st.form_submit_button("新增申请批次"):
                if run_service(oces.save_batch, actor, code, name, datetime.combine(f_day, f_time),
                               datetime.combine(t_day, t_time)):
                    flash(FLASH, f"已新增申请批次 {code}。")
        if batches:
            st.dataframe([{"批次代码": b.code, "批次名称": b.name, "申请时间": b.period,
                           "状态": "申请中" if b.is_open else "未开放"} for b in batches], hide_index=True)
if not batches:
    st.info("尚未设置申请批次，请等待考试中心设置。")
    st.stop()

may_write = bool(query(oces.has_permission, actor))
if actor.role == "centre_teacher" and not may_write:
    st.warning("您的教师账号尚未获得“统考英语重考申请”权限，只能查询；请联系本学习中心管理员分配。")
elif actor.role not in oces.CENTRE_ROLES:
    st.info("统考英语重考申请由学习中心办理；您可以查询查看和导出。")
if actor.role == "centre_admin":
    with st.expander("教师权限分配（学习中心管理员）", icon=":material/manage_accounts:"):
        teachers = query(oces.teacher_list, actor) or []
        if teachers:
            df = pd.DataFrame(teachers)
            edited = st.data_editor(df.drop(columns=["user_id"]), hide_index=True, disabled=["用户名", "姓名", "状态"],
                                    key="oces_teachers")
            if st.button("保存权限", key="oces_save_grants"):
                changed = 0
                for t, new in zip(teachers, edited["重考申请权限"].tolist()):
                    if bool(new) != t["重考申请权限"] and run_service(oces.grant_permission, actor, t["user_id"],
                                                                   bool(new)) is not None:
                        changed += 1
                flash(FLASH, f"已更新 {changed} 个教师账号的重考申请权限。")
        else:
            st.caption("本学习中心还没有教师账号。")
        with st.form("oces_new_teacher"):
            c1, c2, c3 = st.columns(3)
            uname = c1.text_input("用户名", max_chars=100)
            tname = c2.text_input("姓名", max_chars=50)
            grant = c3.checkbox("同时分配重考申请权限", value=True)
            if st.form_submit_button("新增教师账号"):
                pw = run_service(oces.create_teacher, actor, uname, tname, grant)
                if pw:
                    st.success(f"已新增教师账号 {uname}，初始密码：{pw}（首次登录须修改密码）。")
opts = query(oces.filter_options, actor) or {"institutions": {}, "centres": {}, "enrol_batches": [], "levels": [],
                                              "majors": [], "subjects": []}
nonce = st.session_state.setdefault("oces_q_nonce", 0)
k = f"oces_q{nonce}_"


def pick(col, label: str, values, labels=None, key: str = ""):
    return col.selectbox(label, ["", *values], key=k + key,
                         format_func=lambda v: "全部" if v == "" else (labels or {}).get(v, v))


with st.form(k + "form"):
    c = st.columns(4)
    batch_id = c[0].selectbox("批次代码", [b.id for b in batches], key=k + "batch",
                              format_func={b.id: b.label for b in batches}.get)
    inst = pick(c[1], "院校", list(opts["institutions"]), opts["institutions"], "inst")
    enrol = pick(c[2], "入学批次", opts["enrol_batches"], key="enrol")
    level = pick(c[3], "层次", opts["levels"], key="level")
    c = st.columns(4)
    major = pick(c[0], "专业", opts["majors"], key="major")
    subject = pick(c[1], "科目", opts["subjects"], key="subject")
    name = c[2].text_input("姓名", key=k + "name", max_chars=50)
    student_no = c[3].text_input("学号", key=k + "no", max_chars=40)
    c = st.columns(4)
    id_number = c[0].text_input("证件号码", key=k + "idn", max_chars=40)
    condition = pick(c[1], "申请条件", list(oces.CONDITIONS), oces.CONDITIONS, "cond")
    apply_state = pick(c[2], "申请状态", list(oces.APPLY_STATES), oces.APPLY_STATES, "apply")
    review_state = pick(c[3], "审核状态", list(oces.REVIEW_STATES), oces.REVIEW_STATES, "review")
    b1, b2, _ = st.columns([1, 1, 8])
    b1.form_submit_button("查询", type="primary")
    reset = b2.form_submit_button("重置")
if reset:
    st.session_state["oces_q_nonce"] = nonce + 1
    st.session_state.pop("oces_export", None)
    st.rerun()

batch = next(b for b in batches if b.id == batch_id)
(st.success if batch.is_open else st.warning)(
    f"申请批次 {batch.code}（{batch.name}）申请时间：{batch.period}" + ("，申请中。" if batch.is_open else "，当前不在申请时间内。"))
q = oces.ReexamQuery(batch_id=batch_id, institution_id=inst or None, enrol_batch=enrol, level=level, major=major,
                     subject=subject, name=name, student_no=student_no, id_number=id_number, condition=condition,
                     apply_state=apply_state, review_state=review_state)

e1, e2 = st.columns([1, 5])
if e1.button("导出申请数据", icon=":material/download:"):
    got = run_service(oces.export_applications, actor, q)
    if got:
        st.session_state["oces_export"] = got
if st.session_state.get("oces_export"):
    data, n = st.session_state["oces_export"]
    e2.download_button(f"下载导出文件（{n} 条）", data=data, file_name=f"统考英语重考申请_{batch.code}.xlsx", mime=XLSX)

p1, p2, _ = st.columns([1, 1, 4])
size = p1.selectbox("每页条数", [10, 20, 50, 100], key="oces_size")
page_no = int(p2.number_input("页码", min_value=1, value=1, step=1, key="oces_page"))
got = query(oces.list_students, actor, q, page_no, size)
rows, total = got if got else ([], 0)
pages = max(1, -(-total // size))
start = (page_no - 1) * size
st.caption(f"第 {page_no} 页 共 {pages} 页 | 当前显示 {start + 1 if rows else 0} - {start + len(rows)} 条记录 共 {total} 条记录")
if not rows:
    st.info("暂无相关数据")
    st.stop()
event = st.dataframe(pd.DataFrame(rows)[SHOWN], hide_index=True, width="stretch", on_select="rerun",
                     selection_mode="single-row", key=f"oces_table_{batch_id}_{page_no}_{size}")
sel = event.selection.rows if event and event.selection else []
if not sel:
    st.caption("选择一行学生后，可以申请、修改、取消申请或查看审核信息。")
    st.stop()
row = rows[sel[0]]
st.divider()
st.subheader(f"{row['姓名']}（{row['学号']}）· {row['审核状态'] or row['申请状态']}")
detail = query(oces.student_detail, actor, batch_id, row["result_id"])
if detail is None:
    st.stop()
state = detail["state"]
editable = may_write and batch.is_open and state in (None, "pending", "rejected")

st.markdown("**基本信息**")
basic = list(detail["basic"].items())
half = (len(basic) + 1) // 2
st.table(pd.DataFrame({"项目": [a for a, _ in basic[:half]], "内容": [b for _, b in basic[:half]],
                       "项目 ": [a for a, _ in basic[half:]] + [""] * (half - len(basic[half:])),
                       "内容 ": [b for _, b in basic[half:]] + [""] * (half - len(basic[half:]))}))

if state in (None, "pending", "rejected"):
    title = "申请信息" if state is None else "修改申请信息"
    with st.form(f"oces_apply_{row['result_id']}_{state}"):
        st.markdown(f"**{title}**")
        st.text_input("统考科目", value=detail["subject"], disabled=True)
        conds = list(oces.CONDITIONS)
        cond = st.selectbox("申请条件", conds, format_func=oces.CONDITIONS.get,
                            index=conds.index(detail["condition"]) if detail["condition"] in conds else 0)
        pass_batch = st.text_input("*合格批次", value=detail["pass_batch"], max_chars=10, placeholder="如 201704",
                                   help="合格批次须手动输入：成绩合格或免考通过的统考批次，6 位年月。")
        proof = st.file_uploader("证明材料", type=["jpg", "jpeg"],
                                 help="请上传CDCE成绩通过或免考通过截图；图片类型要求：.jpg，上传支持“1M”，超出无法上传。")
        st.caption("请上传CDCE成绩通过或免考通过截图；注意：图片类型要求：.jpg，大小不超过 1M"
                   + ("（不重新上传则保留已上传的证明材料）。" if detail["has_proof"] else "。"))
        go = st.form_submit_button("提交", type="primary", disabled=not editable)
    if go:
        data = proof.getvalue() if proof is not None else None
        fname = proof.name if proof is not None else None
        if state is None:
            res = run_service(oces.reexam_apply, actor, batch_id, row["result_id"], cond, pass_batch, data, fname)
        else:
            res = run_service(oces.reexam_modify, actor, detail["app_id"], cond, pass_batch, data, fname,
                              detail["version"])
        if res:
            flash(FLASH, res.message)
    if state is not None:
        if st.button("取消申请", disabled=not editable, key=f"oces_cancel_{detail['app_id']}"):
            res = run_service(oces.reexam_cancel, actor, detail["app_id"], detail["version"])
            if res:
                flash(FLASH, res.message)

if state is not None:
    st.markdown("**审核信息**")
    review_panel(oces.SPEC, actor, engine(), detail["app_id"], labels=oces.DATA_LABELS, show_actions=False)
