"""考生管理 (§25), 批量审核 (§26) and 集体缴费 (§25.6) services on SQLite and PostgreSQL."""
from __future__ import annotations

import io

import openpyxl
import pytest
from sqlalchemy import func, select, update

from core.db import session_scope
from core.errors import DomainError, NotFound, PermissionDenied, ValidationError
from core.models import (
    Application, AuditLog, CancelledRegistration, Enrollment, PaymentOrder, Registration, SiteSetting, Subject,
)
from core.services import candidates as cs
from core.services import payment as pay
from tests.factories import add_candidates, make_id_number


def setup(seed, site_code="110002", n=6, **kw):
    site, term = seed.orgs[site_code], seed.info["current_term"]
    with session_scope(seed.engine) as s:
        ids = add_candidates(s, site, term, n, kw.pop("subjects", ("14", "15")), **kw)
    return site, ids


def call(seed, user, fn, *args, **kw):
    with session_scope(seed.engine) as s:
        return fn(s, seed.actor(user), *args, **kw)


def test_list_filters_masking_and_scope(seed):
    site, ids = setup(seed, n=4)
    setup(seed, "440101", n=2, start=50)
    rows, total = call(seed, "site110002", cs.list_candidates, cs.CandidateQuery())
    assert total == 4 and all("*" in r["证件号码"] for r in rows)
    assert rows[0]["报考科目"] == "14.15" and rows[0]["支付状态"] == "全未支付"
    _, total = call(seed, "prov11", cs.list_candidates, cs.CandidateQuery())
    assert total == 4  # 北京 does not see 广东
    _, total = call(seed, "center", cs.list_candidates, cs.CandidateQuery())
    assert total == 6
    _, total = call(seed, "site110002", cs.list_candidates, cs.CandidateQuery(id_number=make_id_number(1).lower()))
    assert total == 1
    with session_scope(seed.engine) as s:
        s.execute(update(Registration).where(Registration.enrollment_id == ids[0]).values(paid=True))
        s.execute(update(Registration).where(Registration.enrollment_id == ids[1],
                                             Registration.subject_id == select(Subject.id).where(Subject.code == "14")
                                             .scalar_subquery()).values(paid=True))
    for pay_state, want in (("all", 1), ("part", 1), ("none", 2)):
        _, total = call(seed, "site110002", cs.list_candidates, cs.CandidateQuery(pay=pay_state))
        assert total == want, pay_state
    with session_scope(seed.engine) as s:
        sub15 = s.scalar(select(Subject.id).where(Subject.code == "15"))
    _, total = call(seed, "site110002", cs.list_candidates, cs.CandidateQuery(subject_id=sub15))
    assert total == 4
    with pytest.raises(NotFound):
        call(seed, "site110001", cs.candidate_detail, ids[0])


def test_nonkey_update_limits_and_rules(seed):
    site, ids = setup(seed, n=3)
    n = call(seed, "site110002", cs.update_nonkey, ids, {"major": "会计学", "remark": " ", "email": "new@example.com"})
    assert n == 3
    with session_scope(seed.engine) as s:
        assert set(s.scalars(select(Enrollment.major))) == {"会计学"}
        assert s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.entity == "考生报名信息")) == 1
    with pytest.raises(ValidationError, match="3000"):
        call(seed, "site110002", cs.update_nonkey, list(range(1, 3002)), {"major": "x"})
    with pytest.raises(ValidationError, match="至少填写一项"):
        call(seed, "site110002", cs.update_nonkey, ids, {"major": ""})
    with pytest.raises(PermissionDenied):
        call(seed, "prov11", cs.update_nonkey, ids, {"major": "x"})


def test_lock_unlock(seed):
    _, ids = setup(seed, n=2)
    assert call(seed, "site110002", cs.set_locked, ids, True) == 2
    assert call(seed, "site110002", cs.set_locked, ids, True) == 0
    assert call(seed, "site110002", cs.set_locked, ids[:1], False) == 1


def test_cancel_exam(seed):
    site, ids = setup(seed, n=2)
    with pytest.raises(ValidationError):
        call(seed, "site110002", cs.cancel_exam, ids[:1], "  ")
    assert call(seed, "site110002", cs.cancel_exam, ids[:1], "科目报错") == 2
    with session_scope(seed.engine) as s:
        assert s.scalar(select(func.count()).select_from(CancelledRegistration)) == 2
        assert s.get(Enrollment, ids[0]) is None  # nothing left: may register again
    # group-paid candidates cannot be cancelled
    with session_scope(seed.engine) as s:
        o = PaymentOrder(term_id=seed.info["current_term"], site_id=site, kind="group", state="paid", amount=1)
        s.add(o)
        s.flush()
        s.execute(update(Registration).where(Registration.enrollment_id == ids[1]).values(paid=True, order_id=o.id))
    with pytest.raises(DomainError, match="集体报名缴费"):
        call(seed, "site110002", cs.cancel_exam, ids[1:], "x")


def test_delete_group_registrations(seed):
    site, ids = setup(seed, n=3)
    _, ind = setup(seed, n=1, start=90, channel="individual")
    with pytest.raises(DomainError, match="个人网报"):
        call(seed, "site110002", cs.delete_group_registrations, ids + ind)
    with session_scope(seed.engine) as s:
        sub14 = s.scalar(select(Subject.id).where(Subject.code == "14"))
    out = call(seed, "site110002", cs.delete_group_registrations, ids[:1], sub14)
    assert out == {"registrations": 1, "enrollments": 0}  # 15 is left, the 报名信息 stays
    out = call(seed, "site110002", cs.delete_group_registrations, ids[:1])
    assert out == {"registrations": 1, "enrollments": 1}
    with session_scope(seed.engine) as s:
        s.execute(update(Registration).where(Registration.enrollment_id == ids[1]).values(paid=True))
    with pytest.raises(DomainError, match="已支付"):
        call(seed, "site110002", cs.delete_group_registrations, ids[1:2])


def test_review_flow(seed):
    site, ids = setup(seed, "110003", n=3, review_state="pending", locked=True, photo="a" * 64)
    assert call(seed, "site110003", cs.review, ids[:2], "approve") == 2
    assert call(seed, "site110003", cs.review, ids[:2], "approve") == 0  # only 待审核 can pass
    with pytest.raises(ValidationError):
        call(seed, "site110003", cs.review, ids[2:], "reject", "photo", "")
    assert call(seed, "site110003", cs.review, [ids[0], ids[2]], "reject", "photo", "背景不是白色") == 2
    with session_scope(seed.engine) as s:
        e = s.get(Enrollment, ids[2])
        assert e.photo_rejected and not e.locked
        assert s.get(Application, e.review_app_id).state == "rejected"
    with pytest.raises(DomainError, match="重新上传照片"):
        call(seed, "site110003", cs.submit_review, ids[2:])
    with session_scope(seed.engine) as s:
        s.execute(update(Enrollment).where(Enrollment.id == ids[2]).values(photo_rejected=False))
    assert call(seed, "site110003", cs.submit_review, ids[2:]) == 1
    detail = call(seed, "site110003", cs.candidate_detail, ids[2])
    assert detail["review_state"] == "pending" and "照片不合格" in detail["last_reject"]
    assert call(seed, "site110003", cs.review_counts) == {"待审核": 1, "已通过": 1, "不通过": 1}
    with pytest.raises(DomainError, match="未启用"):
        _, other = setup(seed, "110002", n=1, start=70)
        call(seed, "site110002", cs.review, other, "approve")


def test_export_last4_and_audit(seed):
    _, ids = setup(seed, n=3)
    data, n = call(seed, "site110002", cs.export_registrations, cs.CandidateQuery())
    assert n == 3
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:3] == ("考生序号", "姓名", "证件号码(后4位)") and len(rows) == 7
    assert all(len(str(r[2])) == 4 for r in rows[1:])
    with session_scope(seed.engine) as s:
        assert s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "export")) == 1


def test_passport_lookup(seed):
    from core.models import CandidateAccount
    _, ids = setup(seed, n=1)
    with session_scope(seed.engine) as s:
        a = CandidateAccount(passport_id="ABCDEF0123456789", email="z@example.com", phone="13800001234", name="考生0")
        s.add(a)
        s.flush()
        s.execute(update(Enrollment).values(account_id=a.id))
    found = call(seed, "site110002", cs.passport_lookup, email="z@example.com")
    assert found[0]["通行证ID"] == "ABCDEF0123456789" and "*" in found[0]["通行证邮箱"]
    assert call(seed, "site440101", cs.passport_lookup, email="z@example.com") == []


# ---------------------------------------------------------------- 集体缴费
def test_group_payment_batches(seed):
    site, ids = setup(seed, "110002", n=3)  # 110002 has 集体缴费
    order = call(seed, "site110002", pay.create_group_batch, site, ids[:2])
    with session_scope(seed.engine) as s:
        o = s.get(PaymentOrder, order.id)
        assert (o.candidate_count, o.item_count, o.state) == (2, 4, "unpaid") and float(o.amount) == 320
        assert s.scalar(select(func.count()).select_from(Enrollment).where(Enrollment.locked.is_(True))) == 2
    with pytest.raises(DomainError, match="只能锁定一个"):
        call(seed, "site110002", pay.create_group_batch, site, ids[2:])
    with pytest.raises(DomainError, match="集体缴费批次锁定"):
        call(seed, "site110002", cs.cancel_exam, ids[:1], "x")
    assert call(seed, "site110002", pay.refresh_batch, order.id).endswith("仍未支付。")
    with pytest.raises(ValidationError):
        call(seed, "site110002", pay.delete_batch, order.id, "")
    call(seed, "site110002", pay.delete_batch, order.id, "金额有误")
    with session_scope(seed.engine) as s:
        assert s.scalar(select(func.count()).select_from(Registration).where(Registration.order_id.isnot(None))) == 0
    order = call(seed, "site110002", pay.create_group_batch, site, None)
    assert call(seed, "site110002", pay.pay_batch, order.id, "BANK-001") == 6
    with session_scope(seed.engine) as s:
        assert s.scalar(select(func.count()).select_from(Registration).where(Registration.paid.is_(True))) == 6
    with pytest.raises(DomainError, match="已支付"):
        call(seed, "site110002", pay.delete_batch, order.id, "x")
    batches = call(seed, "site110002", pay.list_batches, site, True, True)
    assert [b["状态"] for b in batches] == ["已支付", "已删除"]
    with pytest.raises(DomainError, match="未开通集体缴费"):
        s1, ids1 = setup(seed, "110001", n=1, start=80)
        call(seed, "site110001", pay.create_group_batch, s1, ids1)


def test_payment_needs_approved_review(seed):
    site, ids = setup(seed, "110002", n=2, review_state="pending")
    with session_scope(seed.engine) as s:
        s.execute(update(SiteSetting).where(SiteSetting.site_id == site).values(review_required=True))
    with pytest.raises(DomainError, match="审核已通过"):
        call(seed, "site110002", pay.create_group_batch, site, ids)
    call(seed, "site110002", cs.review, ids[:1], "approve")
    order = call(seed, "site110002", pay.create_group_batch, site, ids)
    assert order.candidate_count == 1
