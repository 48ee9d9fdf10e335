"""OCES pages (AppTest): 统考英语重考申请 (学习中心) and 重考申请审核 (院校), for each role."""
from sqlalchemy import select

from core.db import session_scope
from core.models import Application
from core.services import oces

APPLY = "pages/oces/b01_reexam_apply.py"
REVIEW = "pages/oces/b02_reexam_review.py"
IMPORT = "pages/oces/b03_student_import.py"


def grid(at):
    """The page's main table (not the teachers' editor)."""
    return next(d for d in at.dataframe if (d.key or "").startswith(("oces_table", "oces_review_table")))


def table(at):
    return grid(at).value


def select_row(at, i: int):
    at.session_state[grid(at).key] = {"selection": {"rows": [i], "columns": [], "cells": []}}
    return at.run()


def button(at, label: str):
    return next(b for b in at.button if b.label.startswith(label))


def messages(at) -> list[str]:
    return [m.value for m in [*at.success, *at.info, *at.warning, *at.error]]


def test_centre_applies_and_sees_the_state(page, app_db):
    at = page(APPLY, "centre01").run()
    assert not at.exception and not at.error
    assert at.title[0].value == "统考英语重考申请"
    labels = {w.label for w in at.selectbox} | {w.label for w in at.text_input}
    assert {"批次代码", "院校", "入学批次", "层次", "专业", "科目", "姓名", "学号", "证件号码", "申请条件", "申请状态",
            "审核状态"} <= labels
    df = table(at)
    assert set(df["学习中心"]) == {"奥鹏学习中心[3]"}  # never another centre's students
    i = df.index[df["申请状态"] == "未申请"][0]
    student_no = df.loc[i, "学号"]
    at = select_row(at, int(i))
    assert any("*" in str(v) for v in at.table[0].value.to_numpy().ravel())  # 身份证号/手机 masked
    pass_batch = next(w for w in at.text_input if w.label == "*合格批次")
    pass_batch.set_value("2017-04")
    at = button(at, "提交").click().run()
    assert any("格式不正确" in e.value for e in at.error)
    # the form's default is the known 合格批次 of the result (or empty): type a valid one the result accepts
    with session_scope(app_db.engine) as s:
        from core.models.oces import OcesExamResult, OcesStudent
        known = s.scalar(select(OcesExamResult.pass_batch).join(OcesStudent)
                         .where(OcesStudent.student_no == student_no))
    next(w for w in at.text_input if w.label == "*合格批次").set_value(known or "201704")
    at = button(at, "提交").click().run()
    assert not at.error, [e.value for e in at.error]
    assert "申请成功" in messages(at)
    df = table(at)
    row = df[df["学号"] == student_no].iloc[0]
    assert (row["申请状态"], row["审核状态"], row["证明材料"], row["操作"]) == ("已申请", "待审核", "未上传", "修改 取消申请")
    with session_scope(app_db.engine) as s:
        n = len(s.scalars(select(Application).where(Application.kind == oces.KIND,
                                                    Application.data["student_no"].as_string() == student_no)).all())
    assert n == 1


def test_reviewer_approves_and_rejects_and_the_centre_sees_it(page, app_db):
    at = page(REVIEW, "inst01").run()
    assert not at.exception and not at.error
    df = table(at)
    assert len(df) > 0 and set(df["院校"]) == {"北京大学"} and set(df["审核状态"]) == {"待审核"}
    no = df.loc[0, "学号"]
    at = select_row(at, 0)
    assert at.subheader and no in at.subheader[0].value
    # reject without a reason: refused; with a reason: done
    at = button(at, "审核未通过").click().run()
    assert any("原因" in e.value for e in at.error)
    at = select_row(at, 0)
    at = button(at, "审核通过（选中 1 条）").click().run()
    assert any("已审核通过 1 条" in m for m in messages(at))
    centre = page(APPLY, "centre01").run()
    next(w for w in centre.text_input if w.label == "学号").set_value(no)
    centre = button(centre, "查询").click().run()
    assert table(centre).iloc[0]["审核状态"] == "审核通过"
    assert table(centre).iloc[0]["操作"] == "审核信息"


def test_teacher_without_permission_cannot_submit(page):
    at = page(APPLY, "teacher02").run()
    assert any("尚未获得" in w.value for w in at.warning)
    df = table(at)
    i = int(df.index[df["申请状态"] == "未申请"][0])
    at = select_row(at, i)
    assert button(at, "提交").disabled


def test_centre_admin_grants_a_teacher(page):
    at = page(APPLY, "centre01").run()
    assert any(e.label.startswith("教师权限分配") for e in at.expander)
    teacher = page(APPLY, "teacher01").run()
    assert not any("尚未获得" in w.value for w in teacher.warning)


def test_center_admin_views_read_only_and_sets_batches(page):
    at = page(APPLY, "center").run()
    assert not at.exception and not at.error
    assert any("申请批次设置" in e.label for e in at.expander)
    rev = page(REVIEW, "center").run()
    assert not rev.exception and any("只能" in m or "查看" in m for m in messages(rev))
    assert not [b for b in rev.button if b.label.startswith("审核通过")]


def test_import_page(page):
    at = page(IMPORT, "centre01").run()
    assert not at.exception and not at.error
    assert at.title[0].value == "学生与统考成绩导入"
