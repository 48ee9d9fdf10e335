"""AppTest interactions on 集体报名信息导入, 考生管理 and 报名信息批量审核."""
from __future__ import annotations

from sqlalchemy import func, select

from core.db import session_scope
from core.models import Application, CancelledRegistration, Enrollment, Registration
from tests.factories import add_candidates, make_id_number

A22, A25, A26 = "pages/ncre/a22_group_import.py", "pages/ncre/a25_candidates.py", "pages/ncre/a26_review.py"


def texts(at) -> str:
    return "\n".join(str(e.value) for kind in ("success", "info", "warning", "error", "caption", "markdown")
                     for e in getattr(at, kind))


def test_group_import_page(page):
    at = page(A22, "site110001").run()
    assert not at.exception
    assert "集体报名信息导入" in at.title[0].value and at.checkbox(key="imp_ncre_group_registration_overwrite")
    at = page(A22, "prov11").run()
    assert not at.exception and "上级机构可以下载模板" in texts(at)


def test_candidates_query_lock_cancel_and_view(page, app_db):
    site, term = app_db.orgs["110002"], app_db.info["current_term"]
    with session_scope(app_db.engine) as s:
        add_candidates(s, site, term, 5, ("14",), start=300)
    target = make_id_number(302)
    at = page(A25, "site110002").run()
    assert not at.exception and "共 5 名考生" in texts(at)
    at.text_input(key="q_idn").input(target)
    at.button[0].click().run()  # 查询 (the form's submit)
    assert "共 1 名考生" in texts(at)
    at.radio(key="cand_target").set_value("all").run()
    at.selectbox(key="cand_action").set_value("lock").run()
    next(b for b in at.button if b.label == "确认锁定").click().run()
    assert not at.exception
    with session_scope(app_db.engine) as s:
        assert s.scalar(select(Enrollment.locked).where(Enrollment.id_number == target)) is True
        assert s.scalar(select(func.count()).select_from(Enrollment).where(Enrollment.locked.is_(True))) == 1
    # view the candidate: the detail shows the masked ID, the flow sentence and the subjects
    with session_scope(app_db.engine) as s:
        eid = s.scalar(select(Enrollment.id).where(Enrollment.id_number == target))
    at.selectbox(key="cand_view").set_value(eid).run()
    assert not at.exception and "报名信息已锁定" in texts(at) and target not in texts(at)
    # cancel with a reason
    at.selectbox(key="cand_action").set_value("cancel").run()
    at.text_area[0].input("考点报错科目")
    next(b for b in at.button if b.label == "确认取消考试").click().run()
    assert not at.exception and "已取消 1 科次" in texts(at)
    with session_scope(app_db.engine) as s:
        assert s.scalar(select(func.count()).select_from(CancelledRegistration).where(
            CancelledRegistration.id_number == target)) == 1
        assert s.scalar(select(func.count()).select_from(Registration).where(Registration.site_id == site)) == 4


def test_candidates_page_read_only_for_upper_levels(page):
    for user in ("prov11", "city1101", "center"):
        at = page(A25, user).run()
        assert not at.exception and "上级机构可以查询" in texts(at)


def test_batch_review_pass_all(page, app_db):
    site, term = app_db.orgs["110003"], app_db.info["current_term"]  # 110003 requires review
    with session_scope(app_db.engine) as s:
        add_candidates(s, site, term, 4, ("14",), start=400, review_state="pending", locked=True, photo="0" * 64)
    at = page(A26, "site110003").run()
    assert not at.exception and "共 4 名考生" in texts(at)
    at.radio(key="review_target").set_value("all").run()
    next(b for b in at.button if b.label == "设置通过").click().run()
    assert not at.exception and "已设置审核通过 4 名" in texts(at)
    with session_scope(app_db.engine) as s:
        states = s.scalars(select(Application.state).join(Enrollment, Enrollment.review_app_id == Application.id)
                           .where(Enrollment.site_id == site)).all()
    assert states == ["approved"] * 4


def test_review_page_when_not_required(page):
    at = page(A26, "site110001").run()
    assert not at.exception and "此功能不使用" in texts(at)
