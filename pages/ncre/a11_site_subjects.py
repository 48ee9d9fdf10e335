"""考点开考科目设置 (001 §11): add from the province's list within its time range; delete when allowed."""
import pandas as pd
import streamlit as st

from core.services import ncre_setup as ns
from core.ui.ncre import site_setting_head
from core.ui.widgets import flash, query, run_service

FLASH = "ncre_a11_flash"

actor, site_id, ctx, editable = site_setting_head("考点开考科目设置", FLASH)

subjects = query(ns.list_site_subjects, actor, site_id)
if subjects is None:
    st.stop()
st.subheader(f"{ctx.label}的开考科目")
if subjects:
    st.dataframe(pd.DataFrame([{"科目代码": r["code"], "科目名称": r["name"], "考试开始时间": ns.fmt_dt(r["exam_start"]),
                                "考试结束时间": ns.fmt_dt(r["exam_end"]), "科目容量": ns.capacity_text(r["capacity"]),
                                "已报考": r["registered"]} for r in subjects]),
                 hide_index=True, width="stretch")
    st.caption(f"共 {len(subjects)} 个开考科目。")
else:
    st.info("本考点还没有开考科目。")

options = query(ns.province_subject_options, actor, site_id, include_added=True) or []
with st.expander("省开考科目（考点可添加的范围）"):
    st.dataframe(pd.DataFrame([{"科目代码": o["code"], "科目名称": o["name"], "省考试开始时间": ns.fmt_dt(o["exam_start"]),
                                "省考试结束时间": ns.fmt_dt(o["exam_end"]), "本考点已添加": "是" if o["added"] else "否"}
                               for o in options]), hide_index=True, width="stretch")

if ctx.can_edit:
    st.subheader("添加开考科目")
    st.caption("考试时间范围须在省对应开考科目的考试时间范围内；添加后不可修改，如需修改，可以删除科目后再添加。")
    addable = {o["subject_id"]: o for o in options if not o["added"]}
    if not addable:
        st.info("省开考科目已全部添加。")
    else:
        pick = st.selectbox("开考科目", list(addable), disabled=not editable,
                            format_func=lambda i: f"({addable[i]['code']}){addable[i]['name']}")
        o = addable[pick]
        with st.form("add_subject"):
            c1, c2 = st.columns(2)
            start = c1.datetime_input("考试开始时间", value=o["exam_start"], step=60, format="YYYY-MM-DD",
                                      disabled=not editable, key=f"a11_start_{pick}")
            end = c2.datetime_input("考试结束时间", value=o["exam_end"], step=60, format="YYYY-MM-DD",
                                    disabled=not editable, key=f"a11_end_{pick}")
            st.caption(f"省考试时间范围：{ns.fmt_dt(o['exam_start'])} 至 {ns.fmt_dt(o['exam_end'])}")
            add = st.form_submit_button("添加", type="primary", disabled=not editable)
        if add:
            if run_service(ns.add_site_subject, actor, site_id, pick, start, end) is not None:
                flash(FLASH, f"已添加开考科目（{o['code']}）{o['name']}。")

    if subjects:
        st.subheader("删除开考科目")
        st.caption("已设置科目报考容量或已存在考生报考的开考科目不可删除。")
        names = {r["subject_id"]: f"({r['code']}){r['name']}" for r in subjects}
        with st.form("delete_subject"):
            target = st.selectbox("要删除的开考科目", list(names), format_func=names.get, disabled=not editable)
            delete = st.form_submit_button("删除", disabled=not editable)
        if delete:
            if run_service(ns.delete_site_subject, actor, site_id, target) is not None:
                flash(FLASH, f"已删除开考科目{names[target]}。")
    st.caption("不建议在报名时间内更改考点开考科目设置。")
