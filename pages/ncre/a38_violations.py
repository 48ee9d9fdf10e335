"""违规信息管理 (001 §38): query the site's 违规考生; 新增 (准考证号 → 姓名/证件号/考试科目 → 违纪类型 → 保存),
修改, 删除, 导入 (the import engine) and 导出 — writes only by the site's own administrator inside its
缺考违纪管理时间; upper levels pick a site and only view and export."""
import pandas as pd
import streamlit as st

from core.imports.specs_violation import VIOLATION_SPEC
from core.models.postexam import VIOLATION_KINDS
from core.services import violations as vs
from core.ui.import_panel import import_panel
from core.ui.session import engine, require_actor
from core.ui.widgets import flash, org_picker, query, run_service, show_flash, window_banner

FLASH = "ncre_a38_flash"
DLG = "ncre_a38_dialog"
GEN = "ncre_a38_gen"
PAGE = "ncre_a38_page"
EXPORT = "ncre_a38_export"
PAGE_SIZE = 50
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

actor = require_actor()
st.title("违规信息管理")
show_flash(FLASH)
site_id = org_picker(actor)
if site_id is None:
    st.stop()
state = query(vs.site_state, actor, site_id)
if state is None:
    st.stop()
if state["own"]:
    window_banner(actor, vs.WINDOW)
    editable = state["writable"]
else:
    st.info("违规信息由考点管理员在本考点缺考违纪管理时间内管理（新增、导入、修改、删除）；上级机构只能查询查看和导出。")
    editable = False
ss = st.session_state
ss.setdefault(GEN, 0)


def _done(message: str) -> None:
    ss.pop(DLG, None)
    ss.pop(EXPORT, None)
    ss[GEN] += 1
    flash(FLASH, message)


def _open(kind: str, **extra) -> None:
    ss["ncre_a38_dlg_n"] = ss.get("ncre_a38_dlg_n", 0) + 1  # fresh widget keys for every opening
    ss[DLG] = {"kind": kind, "n": ss["ncre_a38_dlg_n"], **extra}


def _close() -> None:
    ss.pop(DLG, None)


# ---------------------------------------------------------------- query
types = dict(vs.type_options())
subjects = dict(query(vs.subject_options, actor, site_id) or [])
with st.form("a38_query"):
    c1, c2, c3 = st.columns(3)
    ticket = c1.text_input("准考证号", max_chars=30, key="a38_q_ticket")
    name = c2.text_input("姓名", max_chars=50, key="a38_q_name")
    idn = c3.text_input("证件号", max_chars=40, key="a38_q_idn")
    d1, d2, d3 = st.columns(3)
    subject_id = d1.selectbox("科目", [None, *subjects], format_func=lambda v: subjects.get(v, "全部"), key="a38_q_subject")
    kind = d2.selectbox("违纪类别", ["", *VIOLATION_KINDS], format_func=lambda v: v or "全部", key="a38_q_kind")
    code = d3.selectbox("违纪类型", ["", *types], format_func=lambda v: types.get(v, "全部"), key="a38_q_code")
    st.form_submit_button("查询", type="primary", icon=":material/search:")
q = vs.ViolationQuery(site_id=site_id, ticket_no=ticket, name=name, id_number=idn, subject_id=subject_id,
                      code=code, kind=kind)

page_no = ss.get(PAGE, 1)
got = query(vs.list_violations, actor, q, page_no, PAGE_SIZE)
if got is None:
    st.stop()
rows, total = got
pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
if page_no > pages:
    ss[PAGE] = 1
    st.rerun()
st.caption(f"{state['label']}：共 {total} 条违规信息，第 {page_no}/{pages} 页（每页 {PAGE_SIZE} 条）。证件号码已隐藏部分数字。")
df = pd.DataFrame(rows)
event = st.dataframe(df.drop(columns=["id"]) if not df.empty else df, hide_index=True, width="stretch",
                     on_select="rerun", selection_mode="multi-row", key=f"a38_table_{ss[GEN]}_{page_no}",
                     column_config={"录入时间": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm")})
selected = [rows[i]["id"] for i in (event.selection.rows if event and event.selection else []) if i < len(rows)]
p1, p2, _ = st.columns([1, 1, 4])
if p1.button("上一页", disabled=page_no <= 1, key="a38_prev"):
    ss[PAGE] = page_no - 1
    st.rerun()
if p2.button("下一页", disabled=page_no >= pages, key="a38_next"):
    ss[PAGE] = page_no + 1
    st.rerun()

# ---------------------------------------------------------------- actions
bar = st.container(horizontal=True)
if state["own"]:
    why = None if editable else "不在本考点缺考违纪管理时间内（或正在查看历史考次），只能查询查看。"
    if bar.button("新增", icon=":material/add:", disabled=not editable, help=why, key="a38_add"):
        _open("create")
    if bar.button("修改", icon=":material/edit:", disabled=not editable or len(selected) != 1,
                  help=why or "请在表格中选中一条违规信息。", key="a38_edit"):
        _open("edit", id=selected[0])
    if bar.button("删除", icon=":material/delete:", disabled=not editable or not selected,
                  help=why or "请在表格中选中要删除的违规信息。", key="a38_delete"):
        _open("delete", ids=selected)
if bar.button("导出", icon=":material/download:", disabled=not state["exportable"] or total == 0, key="a38_export",
              help=None if state["exportable"] else "考点在缺考违纪管理时间或考后资料下载时间内可以导出。"):
    res = run_service(vs.export_violations, actor, q)
    if res:
        ss[EXPORT] = {"data": res[0], "name": res[1], "who": (actor.user_id, actor.term_id, site_id), "n": total}
ex = ss.get(EXPORT)
if ex and ex["who"] == (actor.user_id, actor.term_id, site_id):
    bar.download_button(f"下载违规信息（{ex['n']} 条）", ex["data"], file_name=ex["name"], mime=XLSX, type="primary",
                        on_click="ignore", icon=":material/file_download:", key="a38_download")
if state["own"] and not state["exportable"]:
    st.caption("导出：考点在缺考违纪管理时间或考后资料下载时间内可以导出违规信息。")


# ---------------------------------------------------------------- dialogs
def _create_body() -> None:
    n = ss[DLG]["n"]
    number = st.text_input("准考证号 *", max_chars=30, key=f"a38_new_ticket_{n}",
                           placeholder="输入准考证号后按回车，核对考生信息")
    info = None
    if number.strip():
        info = query(vs.lookup_ticket, actor, site_id, number)
    c1, c2 = st.columns(2)
    c1.text_input("姓名", value=info.name if info else "", disabled=True, key=f"a38_new_name_{n}_{bool(info)}")
    c2.text_input("证件号", value=info.id_masked if info else "", disabled=True, key=f"a38_new_idn_{n}_{bool(info)}")
    st.text_input("考试科目", value=info.subject if info else "", disabled=True, key=f"a38_new_subject_{n}_{bool(info)}")
    code_ = st.selectbox("违纪类型 *", list(types), index=None, format_func=types.get, placeholder="请选择",
                         key=f"a38_new_code_{n}")
    remark = st.text_input("备注", max_chars=vs.REMARK_MAX, key=f"a38_new_remark_{n}")
    b1, b2, _ = st.columns([1, 1, 3])
    if b1.button("保存", type="primary", icon=":material/save:", key=f"a38_new_save_{n}", disabled=info is None):
        if code_ is None:
            st.error("请选择违纪类型。")
        elif run_service(vs.add_violation, actor, site_id, number, code_, remark):
            _done(f"已新增违规信息：准考证号 {info.ticket_no}（{info.name}），{types[code_]}。")
    if b2.button("取消", key=f"a38_new_cancel_{n}"):
        _close()
        st.rerun()


def _edit_body() -> None:
    d = ss[DLG]
    n = d["n"]
    row = query(vs.get_violation, actor, d["id"])
    if row is None:
        return
    st.text_input("准考证号", value=row["准考证号"], disabled=True, key=f"a38_edit_ticket_{n}")
    c1, c2 = st.columns(2)
    c1.text_input("姓名", value=row["姓名"], disabled=True, key=f"a38_edit_name_{n}")
    c2.text_input("证件号", value=row["证件号码"], disabled=True, key=f"a38_edit_idn_{n}")
    st.text_input("考试科目", value=row["考试科目"], disabled=True, key=f"a38_edit_subject_{n}")
    codes = list(types)
    current = next((c for c, label in types.items() if label == row["违纪类型"]), None)
    code_ = st.selectbox("违纪类型 *", codes, index=codes.index(current) if current else None, format_func=types.get,
                         key=f"a38_edit_code_{n}")
    remark = st.text_input("备注", value=row["备注"], max_chars=vs.REMARK_MAX, key=f"a38_edit_remark_{n}")
    b1, b2, _ = st.columns([1, 1, 3])
    if b1.button("保存", type="primary", icon=":material/save:", key=f"a38_edit_save_{n}"):
        if run_service(vs.edit_violation, actor, d["id"], code_ or "", remark):
            _done(f"已修改准考证号 {row['准考证号']} 的违规信息。")
    if b2.button("取消", key=f"a38_edit_cancel_{n}"):
        _close()
        st.rerun()


def _delete_body() -> None:
    d = ss[DLG]
    picked = [r for r in rows if r["id"] in d["ids"]]
    st.warning(f"确定删除选中的 {len(d['ids'])} 条违规信息吗？删除后不能恢复。")
    if picked:
        st.dataframe(pd.DataFrame(picked)[["准考证号", "姓名", "考试科目", "违纪类型"]], hide_index=True)
    b1, b2, _ = st.columns([1, 1, 3])
    if b1.button("确定删除", type="primary", key=f"a38_del_ok_{d['n']}"):
        deleted = run_service(vs.delete_violations, actor, d["ids"])
        if deleted:
            _done(f"已删除 {deleted} 条违规信息。")
    if b2.button("取消", key=f"a38_del_cancel_{d['n']}"):
        _close()
        st.rerun()


dlg = ss.get(DLG)
if dlg and editable:
    if dlg["kind"] == "create":
        st.dialog("添加违规信息", on_dismiss=_close)(_create_body)()
    elif dlg["kind"] == "edit":
        st.dialog("修改违规信息", on_dismiss=_close)(_edit_body)()
    elif dlg["kind"] == "delete":
        st.dialog("确认删除", on_dismiss=_close)(_delete_body)()

# ---------------------------------------------------------------- 导入 (§38.2)
if state["own"]:
    with st.expander("违纪缺考信息导入", icon=":material/upload_file:", expanded=False):
        st.caption("下载违纪缺考导入模板，填写后上传；校验通过才能提交。" + "".join(VIOLATION_SPEC.notes[1:3]))
        import_panel(VIOLATION_SPEC, actor, engine(), options_widgets=lambda _p: {"site_id": site_id},
                     disabled=not editable)
