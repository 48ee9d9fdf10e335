"""The application/review workflow: transitions, reasons, idempotent and concurrent submit,
version conflicts, scope, and attachment content checks."""
from __future__ import annotations

import io
import threading

import pytest
from PIL import Image
from sqlalchemy import func, select

from core import workflow as wf
from core.db import session_scope
from core.errors import DomainError, NotFound, PermissionDenied, ValidationError
from core.models import Application, ApplicationEvent, Attachment, AuditLog

SPEC = wf.WorkflowSpec(
    kind="test_change",
    title="信息修改申请",
    states={"submitted": "待审核", "approved": "审核通过", "rejected": "已驳回", "withdrawn": "已撤回"},
    initial="submitted",
    transitions=[
        wf.Transition("approve", ("submitted",), "approved", ("province_admin", "city_admin"), label="审核通过"),
        wf.Transition("reject", ("submitted",), "rejected", ("province_admin", "city_admin"), needs_reason=True,
                      label="驳回"),
        wf.Transition("withdraw", ("submitted",), "withdrawn", ("site_admin",), label="撤回"),
    ],
    submit_roles=("site_admin",),
    reopen_states=("rejected", "withdrawn"),
)


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("KAOWU_FILE_STORE", str(tmp_path / "files"))
    return tmp_path / "files"


def _submit(seed, key="110001-photo", user="site110001", site="110001", data=None):
    a = seed.actor(user)
    with session_scope(seed.engine) as s:
        app = wf.submit(s, a, SPEC, key, seed.orgs[site], seed.orgs["11"], data or {"name": "张三"})
        return app.id, app.version


def _do(seed, user, app_id, action, reason=None, expected_version=None):
    a = seed.actor(user)
    with session_scope(seed.engine) as s:
        app = wf.transition(s, a, SPEC, app_id, action, reason, expected_version)
        return app.state, app.version


def jpeg(size=(8, 8)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 10, 10)).save(buf, "JPEG")
    return buf.getvalue()


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, "PNG")
    return buf.getvalue()


def test_allowed_transitions_write_history_and_audit(seed):
    app_id, v = _submit(seed)
    assert v == 1
    assert _do(seed, "prov11", app_id, "approve") == ("approved", 2)
    b, _ = _submit(seed, key="110001-b")
    assert _do(seed, "city1101", b, "reject", "照片不清晰") == ("rejected", 2)
    c, _ = _submit(seed, key="110001-c")
    assert _do(seed, "site110001", c, "withdraw") == ("withdrawn", 2)
    prov = seed.actor("prov11")
    with session_scope(seed.engine) as s:
        events = wf.history(s, prov, b)
        assert [(e.action, e.from_state, e.to_state, e.reason) for e in events] == [
            ("submit", None, "submitted", None), ("reject", "submitted", "rejected", "照片不清晰")]
        assert "市管" in events[1].actor_name
        logs = s.scalars(select(AuditLog).where(AuditLog.entity == "信息修改申请").order_by(AuditLog.id)).all()
        assert [x.action for x in logs] == ["submit", "approve", "submit", "reject", "submit", "withdraw"]
        assert logs[3].after == {"state": "rejected", "reason": "照片不清晰"} and "照片不清晰" in logs[3].summary


def test_forbidden_transitions(seed):
    app_id, _ = _submit(seed)
    with pytest.raises(PermissionDenied, match="仅限"):
        _do(seed, "site110001", app_id, "approve")
    with pytest.raises(PermissionDenied, match="仅限考点管理员"):
        _do(seed, "prov11", app_id, "withdraw")
    with pytest.raises(ValidationError, match="未知的操作"):
        _do(seed, "prov11", app_id, "delete")
    _do(seed, "prov11", app_id, "approve")
    with pytest.raises(DomainError, match="当前状态为“审核通过”，不能驳回"):
        _do(seed, "prov11", app_id, "reject", "晚了")
    with pytest.raises(PermissionDenied, match="仅限考点管理员提交"):
        _submit(seed, key="x", user="prov11")


def test_reason_required_on_rejection(seed):
    app_id, _ = _submit(seed)
    for blank in (None, "", "   "):
        with pytest.raises(ValidationError, match="驳回必须填写原因"):
            _do(seed, "prov11", app_id, "reject", blank)
    with pytest.raises(ValidationError, match="500"):
        _do(seed, "prov11", app_id, "reject", "长" * 501)
    assert _do(seed, "prov11", app_id, "reject", "材料不全")[0] == "rejected"


def test_double_submit_returns_same_application_and_reopens_after_rejection(seed):
    first, _ = _submit(seed)
    again, _ = _submit(seed, data={"name": "李四"})
    assert first == again
    with session_scope(seed.engine) as s:
        assert s.scalar(select(func.count()).select_from(Application)) == 1
        assert s.get(Application, first).data == {"name": "张三"}  # unchanged while pending
    _do(seed, "prov11", first, "reject", "姓名有误")
    again, v = _submit(seed, data={"name": "李四"})
    assert again == first and v == 3
    prov = seed.actor("prov11")
    with session_scope(seed.engine) as s:
        app = s.get(Application, first)
        assert (app.state, app.data) == ("submitted", {"name": "李四"})
        assert [e.action for e in wf.history(s, prov, first)] == ["submit", "reject", "resubmit"]
    # Another site cannot take over the key.
    with pytest.raises(DomainError, match="其他机构"):
        _submit(seed, user="site110002", site="110002")


def test_concurrent_submit_creates_one(seed):
    barrier = threading.Barrier(2)
    got: list[int] = []
    errors: list[BaseException] = []

    def worker():
        try:
            a = seed.actor("site110001")
            barrier.wait()
            with session_scope(seed.engine) as s:
                got.append(wf.submit(s, a, SPEC, "race-key", seed.orgs["110001"], seed.orgs["11"], {"n": 1}).id)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and len(got) == 2 and got[0] == got[1]
    with session_scope(seed.engine) as s:
        assert s.scalar(select(func.count()).select_from(Application).where(Application.subject_key == "race-key")) == 1
        assert s.scalar(select(func.count()).select_from(ApplicationEvent)) == 1


def test_unique_violation_inside_savepoint_returns_existing(seed, monkeypatch):
    """The race path itself: the existence check misses, the INSERT hits the unique constraint."""
    first, _ = _submit(seed)
    calls = {"n": 0}
    original = wf._existing

    def first_check_misses(s, spec, key):
        calls["n"] += 1
        return None if calls["n"] == 1 else original(s, spec, key)

    monkeypatch.setattr(wf, "_existing", first_check_misses)
    again, _ = _submit(seed)
    assert again == first


def test_version_conflict(seed):
    app_id, v = _submit(seed)
    assert _do(seed, "prov11", app_id, "approve", expected_version=v)[0] == "approved"
    with pytest.raises(wf.StaleVersion, match="已被他人处理"):
        _do(seed, "city1101", app_id, "reject", "不同意", expected_version=v)
    # Two reviewers at the same moment, no version given: exactly one wins.
    b, _ = _submit(seed, key="race-review")
    barrier = threading.Barrier(2)
    outcome: list[str] = []

    def review(user, action, reason):
        try:
            barrier.wait()
            _do(seed, user, b, action, reason)
            outcome.append("ok")
        except DomainError as e:
            outcome.append(type(e).__name__)

    ts = [threading.Thread(target=review, args=("prov11", "approve", None)),
          threading.Thread(target=review, args=("city1101", "reject", "不行"))]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    assert sorted(outcome) in (["DomainError", "ok"], ["StaleVersion", "ok"])
    with session_scope(seed.engine) as s:
        assert s.get(Application, b).version == 2
        assert s.scalar(select(func.count()).select_from(ApplicationEvent)
                        .where(ApplicationEvent.application_id == b)) == 2


def test_out_of_scope_reviewer_refused_and_lists_scoped(seed):
    app_id, _ = _submit(seed)
    with pytest.raises(NotFound, match="不在您的管理范围"):
        _do(seed, "prov44", app_id, "approve")
    act = {u: seed.actor(u) for u in ("site110001", "site110002", "prov11", "prov44", "center")}
    with session_scope(seed.engine) as s:
        with pytest.raises(NotFound):
            wf.history(s, act["site110002"], app_id)
        assert [x.id for x in wf.list_applications(s, act["prov11"], SPEC)] == [app_id]
        assert [x.id for x in wf.list_applications(s, act["center"], SPEC, "submitted")] == [app_id]
        assert wf.list_applications(s, act["prov44"], SPEC) == []
        assert wf.count_applications(s, act["site110001"], SPEC, search="photo") == 1
        assert wf.count_applications(s, act["site110002"], SPEC) == 0
        app = wf.get_application(s, act["prov11"], app_id)
        assert [t.action for t in wf.available_actions(act["prov11"], SPEC, app)] == ["approve", "reject"]
    with pytest.raises(NotFound):
        _submit(seed, key="x", user="site110001", site="110002")


def test_attachment_content_checks(seed, store):
    a = seed.actor("site110001")
    with session_scope(seed.engine) as s:
        with pytest.raises(ValidationError, match="内容是PNG 图片，只接受JPEG 图片"):
            wf.store_file(s, a, png(), "photo.jpg")
        with pytest.raises(ValidationError, match="不是可识别的类型"):
            wf.store_file(s, a, "我是文本".encode(), "photo.jpg")
        with pytest.raises(ValidationError, match="文件过大"):
            wf.store_file(s, a, jpeg((64, 64)), "photo.jpg", max_bytes=100)
        with pytest.raises(ValidationError, match="尺寸过大"):
            wf.store_file(s, a, jpeg((20, 20)), "photo.jpg", max_pixels=100)
        with pytest.raises(ValidationError, match="损坏"):
            wf.store_file(s, a, b"\xff\xd8\xff" + b"\0" * 50, "photo.jpg")
        with pytest.raises(ValidationError, match="文件为空"):
            wf.store_file(s, a, b"", "photo.jpg")
        data = jpeg()
        att = wf.store_file(s, a, data, "../../etc/照片.jpg")
        assert att.mime == "image/jpeg" and att.filename == "照片.jpg" and att.size == len(data)
        assert wf.file_path(att.sha256).read_bytes() == data
        assert wf.file_path(att.sha256).is_relative_to(store)
        pdf = wf.store_file(s, a, b"%PDF-1.4\n1 0 obj\n%%EOF\n", "证明.pdf", allowed=("image/jpeg", "application/pdf"))
        att_id, pdf_id = att.id, pdf.id
    with session_scope(seed.engine) as s:
        app = wf.submit(s, a, SPEC, "with-photo", seed.orgs["110001"], seed.orgs["11"], {}, [att_id, pdf_id])
        app_id = app.id
    prov, other_site = seed.actor("prov11"), seed.actor("site110002")
    with session_scope(seed.engine) as s:
        assert [x.id for x in wf.attachments(s, prov, app_id)] == [att_id, pdf_id]
        assert wf.read_attachment(s, prov, att_id)[1] == data
        with pytest.raises(NotFound):
            wf.read_attachment(s, other_site, att_id)
        # Someone else's upload cannot be attached.
        other = wf.store_file(s, other_site, jpeg((9, 9)), "x.jpg")
        with pytest.raises(PermissionDenied):
            wf.submit(s, other_site, SPEC, "steal", seed.orgs["110002"], seed.orgs["11"], {},
                      [att_id])
        assert s.get(Attachment, other.id).application_id is None


def test_spec_is_checked_when_declared():
    with pytest.raises(ValueError, match="未知状态"):
        wf.WorkflowSpec("k", "t", {"a": "甲"}, "a", [wf.Transition("go", ("a",), "b", ("site_admin",))])
