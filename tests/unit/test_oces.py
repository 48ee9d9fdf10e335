"""OCES 统考英语重考申请 services, on SQLite and PostgreSQL: the state machine (every allowed and forbidden
transition), the 1 MB / JPG-by-content rule, scope both ways, idempotent and concurrent 提交, teachers'
permission, the 申请批次 window, 合格批次 validation, the import and the export."""
from __future__ import annotations

import io
import threading
from datetime import datetime, timedelta

import openpyxl
import pytest
from PIL import Image
from sqlalchemy import func, select, update

from core.db import session_scope
from core.errors import DomainError, NotFound, PermissionDenied, ValidationError
from core.exports.tabular import write_xlsx
from core.imports.specs_oces import OCES_COLUMNS, SHEET, import_oces_file
from core.models import Application, ApplicationEvent, Attachment
from core.models.oces import OcesBatch, OcesExamResult, OcesStudent
from core.services import oces
from core.services.demo_oces import demo_proof


OCES_DEMO = True  # the seed world includes the OCES demo (tests/conftest.py)


@pytest.fixture(autouse=True)
def file_store(tmp_path, monkeypatch):
    monkeypatch.setenv("KAOWU_FILE_STORE", str(tmp_path / "files"))


def batch_id(seed, code="2021A") -> int:
    with session_scope(seed.engine) as s:
        return s.scalar(select(OcesBatch.id).where(OcesBatch.code == code))


def free_results(seed, centre_code="C30001", n=1, institution=None) -> list[tuple[int, str, str | None]]:
    """(result id, status, known pass batch) of listed students of the centre with no application yet."""
    b = batch_id(seed)
    with session_scope(seed.engine) as s:
        used = {k for k, in s.execute(select(Application.subject_key).where(Application.kind == oces.KIND))}
        q = (select(OcesExamResult.id, OcesExamResult.status, OcesExamResult.pass_batch)
             .join(OcesStudent, OcesStudent.id == OcesExamResult.student_id)
             .where(OcesStudent.centre_id == seed.orgs[centre_code], OcesExamResult.status.in_(("passed", "exempt")))
             .order_by(OcesExamResult.id))
        if institution:
            q = q.where(OcesStudent.institution_id == seed.orgs[institution])
        rows = [tuple(r) for r in s.execute(q) if f"{b}:{r[0]}" not in used]
    return rows[:n]


def call(seed, fn, username, *args, **kw):
    actor = seed.actor(username)
    with session_scope(seed.engine) as s:
        return fn(s, actor, *args, **kw)


def reviewer_for(seed, result_id) -> str:
    with session_scope(seed.engine) as s:
        inst = s.scalar(select(OcesStudent.institution_id).join(OcesExamResult).where(OcesExamResult.id == result_id))
    return {seed.orgs["U10001"]: "inst01", seed.orgs["U10002"]: "inst02", seed.orgs["U10003"]: "inst03"}[inst]


def apply(seed, rid, status, known, user="centre01", proof=None, **kw):
    return call(seed, oces.reexam_apply, user, batch_id(seed), rid, status, known or "201704", proof,
                "shot.jpg" if proof else None, **kw)


def state_of(seed, app_id) -> tuple[str, int]:
    with session_scope(seed.engine) as s:
        app = s.get(Application, app_id)
        return app.state, app.version


def drive_to(seed, state: str) -> tuple[int, int]:
    """A fresh application in `state`; returns (app id, result id)."""
    rid, status, known = free_results(seed)[0]
    app_id = apply(seed, rid, status, known).app_id
    rev = reviewer_for(seed, rid)
    if state == "approved":
        call(seed, oces.reexam_review, rev, [app_id], "approve")
    elif state == "rejected":
        call(seed, oces.reexam_review, rev, [app_id], "reject", "截图不清晰")
    elif state == "cancelled":
        call(seed, oces.reexam_cancel, "centre01", app_id)
    assert state_of(seed, app_id)[0] == state
    return app_id, rid


ALLOWED = {("pending", "modify"): "pending", ("rejected", "modify"): "pending", ("pending", "cancel"): "cancelled",
           ("rejected", "cancel"): "cancelled", ("pending", "approve"): "approved", ("pending", "reject"): "rejected"}


@pytest.mark.parametrize("state", ["pending", "approved", "rejected", "cancelled"])
@pytest.mark.parametrize("action", ["modify", "cancel", "approve", "reject"])
def test_state_machine_every_transition(seed, state, action):
    app_id, rid = drive_to(seed, state)
    _, version = state_of(seed, app_id)
    rev = reviewer_for(seed, rid)

    def do():
        if action == "modify":
            with session_scope(seed.engine) as s:
                res = s.get(OcesExamResult, rid)
                status, known = res.status, res.pass_batch
            return call(seed, oces.reexam_modify, "centre01", app_id, status, known or "201704",
                        demo_proof("changed"), "new.jpg", version)
        if action == "cancel":
            return call(seed, oces.reexam_cancel, "centre01", app_id, version)
        return call(seed, oces.reexam_review, rev, [app_id], action, "材料不清晰" if action == "reject" else None,
                    expected_version=version)

    if (state, action) in ALLOWED:
        do()
        assert state_of(seed, app_id) == (ALLOWED[(state, action)], version + 1)
    elif (state, action) == ("cancelled", "cancel"):  # a repeated 取消申请 changes nothing
        assert do().created is False
        assert state_of(seed, app_id) == ("cancelled", version)
    else:
        with pytest.raises(DomainError):
            do()
        assert state_of(seed, app_id) == (state, version)


def test_wrong_roles_and_reason(seed):
    app_id, rid = drive_to(seed, "pending")
    with pytest.raises(PermissionDenied):  # the centre cannot review
        call(seed, oces.reexam_review, "centre01", [app_id], "approve")
    with pytest.raises(PermissionDenied):  # a reviewer cannot apply
        call(seed, oces.reexam_cancel, reviewer_for(seed, rid), app_id)
    with pytest.raises(ValidationError, match="原因"):
        call(seed, oces.reexam_review, reviewer_for(seed, rid), [app_id], "reject", "  ")
    assert state_of(seed, app_id)[0] == "pending"


def test_reapply_after_cancel_reopens_the_same_application_and_history(seed):
    app_id, rid = drive_to(seed, "cancelled")
    with session_scope(seed.engine) as s:
        res = s.get(OcesExamResult, rid)
        status, known = res.status, res.pass_batch
    again = apply(seed, rid, status, known)
    assert again.created and again.app_id == app_id and again.state == "pending"
    hist = call(seed, oces.review_history, "centre01", app_id)
    assert [h["操作"] for h in hist] == ["提交申请", "取消申请", "重新申请"]
    call(seed, oces.reexam_review, reviewer_for(seed, rid), [app_id], "reject", "批次名称不清晰")
    hist = call(seed, oces.review_history, "centre01", app_id)
    assert hist[-1]["状态"] == "审核未通过" and hist[-1]["意见"] == "批次名称不清晰"


# ---------------------------------------------------------------- proof: JPG by content, at most 1 MB
def jpeg(width: int, height: int, noise: bool = False) -> bytes:
    import os

    img = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3)) if noise else \
        Image.new("RGB", (width, height), (200, 210, 220))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=95)
    return buf.getvalue()


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (50, 50)).save(buf, "PNG")
    return buf.getvalue()


def test_proof_must_be_a_jpeg_by_content_and_at_most_1mb(seed):
    (rid, status, known), = free_results(seed)
    big = jpeg(1000, 1000, noise=True)
    assert len(big) > 1024 * 1024
    bad = [(big, "过大"), (png(), "PNG"), (b"GIF89a" + b"\0" * 100, "GIF"), (b"not an image at all", "不是可识别"),
           (jpeg(100, 100)[:300], "损坏")]
    for data, msg in bad:
        with pytest.raises(ValidationError, match=msg):
            apply(seed, rid, status, known, proof=data)
    key = f"{batch_id(seed)}:{rid}"
    with session_scope(seed.engine) as s:
        assert not s.scalar(select(func.count()).select_from(Application).where(Application.subject_key == key))
    ok = jpeg(300, 200)
    exactly = ok + b"\0" * (1024 * 1024 - len(ok))  # trailing bytes after EOI: still a JPEG, exactly 1 MB
    got = apply(seed, rid, status, known, proof=exactly)
    assert got.created
    rows, _ = call(seed, oces.list_students, "centre01", oces.ReexamQuery(batch_id=batch_id(seed), apply_state="applied"),
                   1, 500)
    row = next(r for r in rows if r["result_id"] == rid)
    assert (row["证明材料"], row["申请状态"], row["审核状态"]) == ("已上传", "已申请", "待审核")
    name, data = call(seed, oces.proof_image, reviewer_for(seed, rid), got.app_id)
    assert data == exactly and name == "shot.jpg"


# ---------------------------------------------------------------- scope, both ways
def test_a_centre_sees_only_its_students_and_a_reviewer_only_its_institution(seed):
    b = batch_id(seed)
    with session_scope(seed.engine) as s:
        centre_of = dict(s.execute(select(OcesExamResult.id, OcesStudent.centre_id).join(OcesStudent)).all())
        inst_of = dict(s.execute(select(OcesExamResult.id, OcesStudent.institution_id).join(OcesStudent)).all())
    rows1, n1 = call(seed, oces.list_students, "centre01", oces.ReexamQuery(batch_id=b), 1, 500)
    rows2, n2 = call(seed, oces.list_students, "centre02", oces.ReexamQuery(batch_id=b), 1, 500)
    assert n1 == len(rows1) > 0 and n2 == len(rows2) > 0
    assert {centre_of[r["result_id"]] for r in rows1} == {seed.orgs["C30001"]}
    assert {centre_of[r["result_id"]] for r in rows2} == {seed.orgs["C30002"]}
    assert {r["院校"] for r in rows1} == {"北京大学", "南开大学", "东北财经大学"}  # a centre serves several
    rows_i, _ = call(seed, oces.list_students, "inst01", oces.ReexamQuery(batch_id=b), 1, 500)
    assert {inst_of[r["result_id"]] for r in rows_i} == {seed.orgs["U10001"]}
    assert {centre_of[r["result_id"]] for r in rows_i} == {seed.orgs["C30001"], seed.orgs["C30002"]}
    # writes: centre01 cannot apply for a centre02 student (not even see it)
    (rid2, status, known), = free_results(seed, "C30002")
    with pytest.raises(NotFound):
        apply(seed, rid2, status, known)
    with pytest.raises(NotFound):
        call(seed, oces.student_detail, "centre01", b, rid2)
    # a reviewer sees only its own institution's applications, from every centre
    for user, code in (("inst01", "U10001"), ("inst02", "U10002")):
        rows, total = call(seed, oces.list_reviews, user, oces.ReviewQuery(batch_id=b, state=""), 1, 500)
        assert total > 0 and {r["院校"] for r in rows} == {"北京大学" if code == "U10001" else "南开大学"}
    everything, _ = call(seed, oces.list_reviews, "center", oces.ReviewQuery(batch_id=b, state=""), 1, 500)
    assert {r["学习中心"] for r in everything} == {"奥鹏学习中心[3]", "奥鹏远程（直属）"}
    # inst02 cannot review a 北京大学 application: skipped in batch, not found alone
    (rid, status, known), = free_results(seed, "C30001", institution="U10001")
    app_id = apply(seed, rid, status, known).app_id
    assert call(seed, oces.reexam_review, "inst02", [app_id], "approve") == 0
    with pytest.raises(NotFound):
        call(seed, oces.reexam_review, "inst02", [app_id], "approve", expected_version=1)
    with pytest.raises(NotFound):
        call(seed, oces.proof_image, "inst02", app_id)
    assert state_of(seed, app_id)[0] == "pending"
    assert call(seed, oces.reexam_review, "inst01", [app_id], "approve") == 1


def test_masking_by_role(seed):
    (rid, _s, _k), = free_results(seed, "C30001", institution="U10001")
    with session_scope(seed.engine) as s:
        st = s.scalar(select(OcesStudent).join(OcesExamResult).where(OcesExamResult.id == rid))
        full_id, mobile = st.id_number, st.mobile
    centre = call(seed, oces.student_detail, "centre01", batch_id(seed), rid)["basic"]
    assert centre["身份证号"] != full_id and "*" in centre["身份证号"] and centre["身份证号"][-4:] == full_id[-4:]
    assert centre["手机"] != mobile and "*" in centre["手机"]
    inst = call(seed, oces.student_detail, "inst01", batch_id(seed), rid)["basic"]
    assert inst["身份证号"] == full_id


# ---------------------------------------------------------------- idempotent 提交
def test_double_click_creates_one_application(seed):
    (rid, status, known), = free_results(seed)
    first = apply(seed, rid, status, known, proof=demo_proof())
    second = apply(seed, rid, status, known, proof=demo_proof())
    assert first.created and not second.created and first.app_id == second.app_id
    assert "请勿重复" in second.message
    key = f"{batch_id(seed)}:{rid}"
    with session_scope(seed.engine) as s:
        assert s.scalar(select(func.count()).select_from(Application).where(Application.subject_key == key)) == 1
        assert s.scalar(select(func.count()).select_from(ApplicationEvent)
                        .where(ApplicationEvent.application_id == first.app_id)) == 1
        assert s.scalar(select(func.count()).select_from(Attachment)
                        .where(Attachment.application_id == first.app_id)) == 1
    # the same 修改 twice: the second changes nothing
    _, v = state_of(seed, first.app_id)
    a = call(seed, oces.reexam_modify, "centre01", first.app_id, status, known or "201704", None, None, v)
    assert a.created is False and state_of(seed, first.app_id)[1] == v


def test_concurrent_submits_create_exactly_one(seed):
    rows = free_results(seed, n=2)
    b = batch_id(seed)
    for rid, status, known in rows:  # a fresh one, and one reopened from 已取消
        if rid == rows[1][0]:
            app_id = apply(seed, rid, status, known).app_id
            call(seed, oces.reexam_cancel, "centre01", app_id)
        actor = seed.actor("centre01")
        results, errors = [], []
        barrier = threading.Barrier(6)

        def go():
            barrier.wait()
            try:
                with session_scope(seed.engine) as s:
                    results.append(oces.reexam_apply(s, actor, b, rid, status, known or "201704", demo_proof(),
                                                     "a.jpg"))
            except Exception as e:  # noqa: BLE001 - collected and asserted below
                errors.append(e)

        threads = [threading.Thread(target=go) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        assert len({r.app_id for r in results}) == 1
        assert sum(r.created for r in results) == 1
        with session_scope(seed.engine) as s:
            key = f"{b}:{rid}"
            apps = s.scalars(select(Application).where(Application.subject_key == key)).all()
            assert len(apps) == 1 and apps[0].state == "pending"
            events = s.scalars(select(ApplicationEvent.action).where(ApplicationEvent.application_id == apps[0].id)).all()
            assert events.count("submit") + events.count("resubmit") == (1 if rid == rows[0][0] else 2)
            assert s.scalar(select(func.count()).select_from(Attachment)
                            .where(Attachment.application_id == apps[0].id)) == 1


# ---------------------------------------------------------------- permission, window, 合格批次
def test_teacher_needs_the_permission_from_its_centre_admin(seed):
    (rid, status, known), = free_results(seed)
    with pytest.raises(PermissionDenied, match="权限"):
        apply(seed, rid, status, known, user="teacher02")
    teachers = call(seed, oces.teacher_list, "centre01")
    t2 = next(t for t in teachers if t["用户名"] == "teacher02")
    assert t2["重考申请权限"] is False
    with pytest.raises(DomainError):  # another centre's admin cannot grant it
        call(seed, oces.grant_permission, "centre02", t2["user_id"], True)
    assert call(seed, oces.grant_permission, "centre01", t2["user_id"], True) is True
    assert apply(seed, rid, status, known, user="teacher02").created
    call(seed, oces.grant_permission, "centre01", t2["user_id"], False)
    (rid, status, known), = free_results(seed)
    with pytest.raises(PermissionDenied):
        apply(seed, rid, status, known, user="teacher02")
    assert apply(seed, rid, status, known, user="teacher01").created  # teacher01 holds the permission
    pw = call(seed, oces.create_teacher, "centre01", "teacher09", "新老师", True)
    assert len(pw) >= 8
    assert any(t["用户名"] == "teacher09" and t["重考申请权限"] for t in call(seed, oces.teacher_list, "centre01"))


def test_batch_window(seed):
    (rid, status, known), = free_results(seed)
    with pytest.raises(DomainError, match="不在申请时间内"):
        call(seed, oces.reexam_apply, "centre01", batch_id(seed, "2020B"), rid, status, known or "201704")
    app_id = apply(seed, rid, status, known).app_id
    later = datetime.now() + timedelta(days=60)
    with pytest.raises(DomainError, match="不在申请时间内"):
        call(seed, oces.reexam_cancel, "centre01", app_id, now=later)
    with pytest.raises(PermissionDenied):
        call(seed, oces.save_batch, "centre01", "X1", "x", datetime.now(), datetime.now() + timedelta(days=1))
    new = call(seed, oces.save_batch, "center", "2022A", "2022年批次", datetime.now(), datetime.now() + timedelta(days=1))
    assert new and call(seed, oces.list_batches, "centre01")[0].code == "2022A"


@pytest.mark.parametrize("text,msg", [("", "请输入"), ("2017-4", "格式"), ("201713", "月份"), ("199904", "范围"),
                                      (f"{datetime.now().year + 1}01", "范围"), ("20170４", None)])
def test_pass_batch_validation(text, msg):
    if msg is None:
        assert oces.check_pass_batch(text) == "201704"
    else:
        with pytest.raises(ValidationError, match=msg):
            oces.check_pass_batch(text)
    with pytest.raises(ValidationError, match="不一致"):
        oces.check_pass_batch("201704", known="201709")


def test_condition_must_match_the_result(seed):
    (rid, status, known), = free_results(seed)
    wrong = "exempt" if status == "passed" else "passed"
    with pytest.raises(ValidationError, match="不符"):
        call(seed, oces.reexam_apply, "centre01", batch_id(seed), rid, wrong, known or "201704")


# ---------------------------------------------------------------- import and export
def sheet(rows: list[dict]) -> bytes:
    labels = [c.label for c in OCES_COLUMNS]
    keys = [c.key for c in OCES_COLUMNS]
    return write_xlsx(labels, [[r.get(k, "") for k in keys] for r in rows], sheet_name=SHEET)


def test_import_students_and_results(seed):
    good = {"institution": "北京大学", "student_no": "9990001", "name": "导入甲", "enrol_batch": "201703",
            "level": "专升本", "major": "法学", "subject": "大学英语B", "score": "80", "status": "合格",
            "pass_batch": "201812", "mobile": "13900001111"}
    with session_scope(seed.engine) as s:
        taken = s.scalar(select(OcesStudent.student_no).where(OcesStudent.centre_id == seed.orgs["C30002"],
                                                              OcesStudent.institution_id == seed.orgs["U10001"]))
    bad = [dict(good, student_no="9990002", level="本科"),
           dict(good, student_no="9990003", pass_batch="2018-12"),
           dict(good, student_no=taken),
           dict(good, student_no="9990004", status="不合格")]
    data = sheet([good, *bad])
    actor = seed.actor("centre01")
    r = import_oces_file(seed.engine, actor, data, "s.xlsx", dry_run=True)
    errs = {(e.row, e.column) for e in r.errors}
    assert {(3, "层次"), (4, "合格批次"), (5, "学号"), (6, "合格批次")} <= errs, r.errors
    assert any("其他学习中心" in e.message for e in r.errors)
    r = import_oces_file(seed.engine, actor, data, "s.xlsx", dry_run=False)  # all or nothing
    assert not r.committed
    r = import_oces_file(seed.engine, actor, sheet([good]), "s.xlsx", dry_run=False)
    assert r.committed and r.written == 1
    rows, _ = call(seed, oces.list_students, "centre01", oces.ReexamQuery(batch_id=batch_id(seed), student_no="9990001"))
    assert [(x["姓名"], x["入学批次"], x["合格状态"]) for x in rows] == [("导入甲", "1703", "合格")]
    # re-import updates, and a teacher or a reviewer cannot import
    r = import_oces_file(seed.engine, actor, sheet([dict(good, name="导入乙")]), "s.xlsx", dry_run=False)
    assert r.committed
    rows, _ = call(seed, oces.list_students, "centre01", oces.ReexamQuery(batch_id=batch_id(seed), student_no="9990001"))
    assert rows[0]["姓名"] == "导入乙"
    for user in ("teacher01", "inst01"):
        with pytest.raises(PermissionDenied):
            import_oces_file(seed.engine, seed.actor(user), sheet([good]), "s.xlsx")


def test_export_is_scoped_masked_and_formula_safe(seed):
    (rid, status, known), = free_results(seed)
    with session_scope(seed.engine) as s:
        sid = s.scalar(select(OcesExamResult.student_id).where(OcesExamResult.id == rid))
        s.execute(update(OcesStudent).where(OcesStudent.id == sid).values(major="=HYPERLINK(\"http://x\",\"y\")"))
    data, n = call(seed, oces.export_applications, "centre01", oces.ReexamQuery(batch_id=batch_id(seed)))
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    values = list(ws.iter_rows(values_only=True))
    assert list(values[0]) == oces.EXPORT_HEADER and len(values) - 1 == n
    assert {v[0] for v in values[1:]} == {"奥鹏学习中心[3]"}
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)
    assert any(str(v[4]).endswith("HYPERLINK(\"http://x\",\"y\")") for v in values[1:])
    assert all("*" in (v[8] or "*") for v in values[1:])  # ID numbers masked for a centre
    with session_scope(seed.engine) as s:
        from core.models import AuditLog
        assert s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "export",
                                                                          AuditLog.entity == oces.TITLE)) == 1
