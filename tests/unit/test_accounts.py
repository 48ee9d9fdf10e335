"""分账账户管理 (001 §45): CRUD by the site's own admin, per-field validation, masking in lists and audit,
获取上个考次数据, who may see and write, past 考次 read-only."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.admin import FormErrors
from core.db import session_scope
from core.errors import DomainError, NotFound, PermissionDenied, ReadOnlyTerm
from core.models import AuditLog, SettlementAccount
from core.services import accounts as acc

SITE = "110001"
GOOD = {"bank_name": "中国工商银行北京海淀支行", "bank_code": "102100099996", "account_name": "北京理工大学",
        "account_no": "6222 0200 1234 5678 901", "account_type": "考点收费账户", "remark": "测试"}
FULL = "6222020012345678901"


def _add(seed, data=None, who="site" + SITE, term="current", site=SITE) -> int:
    with session_scope(seed.engine) as s:
        return acc.add_account(s, seed.actor(who, term), seed.orgs[site], {**GOOD, **(data or {})})


def _list(seed, who="site" + SITE, term="current", site=SITE):
    with session_scope(seed.engine) as s:
        return acc.list_accounts(s, seed.actor(who, term), seed.orgs[site])


def _insert_past(seed, site=SITE, **kw) -> None:
    """An account in the past 考次 (written directly: the past 考次 is read-only through the services)."""
    with session_scope(seed.engine) as s:
        s.add(SettlementAccount(term_id=seed.info["past_term"], site_id=seed.orgs[site],
                                **{**acc.clean_account(GOOD), **kw}))


# ---------------------------------------------------------------- CRUD, masking, audit
def test_add_list_edit_delete_masked_and_audited(seed):
    aid = _add(seed)
    rows = _list(seed)
    assert len(rows) == 1
    r = rows[0]
    assert (r.bank_name, r.bank_code, r.account_name, r.account_type, r.remark) == \
           ("中国工商银行北京海淀支行", "102100099996", "北京理工大学", "考点收费账户", "测试")
    assert r.account_no == "****8901" and FULL not in repr(rows)  # masked in the list, length hidden
    me = seed.actor("site" + SITE)
    with session_scope(seed.engine) as s:
        assert s.get(SettlementAccount, aid).account_no == FULL  # spaces removed when saved
        own = acc.get_account(s, me, aid)
    assert own.account_no == FULL  # the site's own admin's 修改 form

    with session_scope(seed.engine) as s:
        acc.edit_account(s, seed.actor("site" + SITE), aid,
                         {**GOOD, "account_no": "6222020099998888", "account_type": "对公结算账户", "remark": ""})
    r = _list(seed)[0]
    assert r.account_no == "****8888" and r.account_type == "对公结算账户" and r.remark == ""
    with session_scope(seed.engine) as s:
        acc.delete_account(s, seed.actor("site" + SITE), aid)
    assert _list(seed) == []

    with session_scope(seed.engine) as s:
        audits = s.scalars(select(AuditLog).where(AuditLog.entity == acc.ENTITY).order_by(AuditLog.id)).all()
    assert [a.action for a in audits] == ["create", "update", "delete"]
    assert "****8901" in audits[0].summary and "****8888" in audits[1].summary and "****8888" in audits[2].summary
    for a in audits:  # no full number anywhere in the audit trail
        blob = f"{a.summary}{a.before}{a.after}"
        assert FULL not in blob and "6222020099998888" not in blob
        assert a.org_id == seed.orgs[SITE]
    assert audits[1].before["account_no"] == "****8901" and audits[1].after["account_no"] == "****8888"


def test_several_accounts_and_duplicates_refused(seed):
    _add(seed)
    _add(seed, {"account_no": "11112222333344445555", "account_type": "其他"})
    assert [r.account_no for r in _list(seed)] == ["****8901", "****5555"]
    with pytest.raises(FormErrors) as e:
        _add(seed, {"account_no": FULL})  # the same number (without spaces) again
    assert "已登记" in e.value.errors["account_no"] and "****8901" in e.value.errors["account_no"]
    ids = [r.id for r in _list(seed)]
    with session_scope(seed.engine) as s, pytest.raises(FormErrors, match="已登记"):
        acc.edit_account(s, seed.actor("site" + SITE), ids[1], {**GOOD})  # renumber onto the first one
    with session_scope(seed.engine) as s:  # saving an account with its own number is fine
        acc.edit_account(s, seed.actor("site" + SITE), ids[0], {**GOOD, "remark": "改"})
    # another site may register the same number (one university, two sites)
    _add(seed, who="site110002", site="110002")


# ---------------------------------------------------------------- validation
@pytest.mark.parametrize("field,value,message", [
    ("bank_name", "", "请填写开户行"),
    ("bank_name", "行" * 101, "开户行过长（最多 100 个字符"),
    ("bank_code", "", "请填写银行行号"),
    ("bank_code", "10210009999", "银行行号应为 12 位数字，当前为 11 位"),
    ("bank_code", "1021000999967", "当前为 13 位"),
    ("bank_code", "10210009999A", "银行行号只能由数字组成"),
    ("account_name", "  ", "请填写账户名称"),
    ("account_name", "名" * 101, "账户名称过长"),
    ("account_no", "", "请填写账号"),
    ("account_no", "6222-0200-1234", "账号只能由数字组成"),
    ("account_no", "1234567", "账号应为 8–32 位数字，当前为 7 位"),
    ("account_no", "1" * 33, "当前为 33 位"),
    ("account_type", "", "请选择账号类型"),
    ("account_type", "储蓄卡", "账号类型“储蓄卡”无效"),
    ("remark", "备" * 201, "备注过长（最多 200 个字符"),
])
def test_each_field_error(seed, field, value, message):
    with pytest.raises(FormErrors) as e:
        _add(seed, {field: value})
    assert set(e.value.errors) == {field}
    assert message in e.value.errors[field]
    assert _list(seed) == []  # nothing half-written


def test_all_errors_at_once_and_tolerant_input():
    values, errors = acc.check_account({})
    assert set(errors) == {"bank_name", "bank_code", "account_name", "account_no", "account_type"}
    assert "remark" not in errors and values["remark"] is None
    # full-width digits and spaces (as copied from a bank document) are accepted
    values, errors = acc.check_account({**GOOD, "bank_code": "１０２１００ ０９９９９６",
                                        "account_no": "６２２２　０２００　１２３４　５６７８"})
    assert not errors and values["bank_code"] == "102100099996" and values["account_no"] == "6222020012345678"
    assert acc.check_account({**GOOD, "account_no": "1234567８"})[0]["account_no"] == "12345678"  # 8 digits: ok
    assert acc.check_account({**GOOD, "account_no": "1" * 32})[1] == {}


# ---------------------------------------------------------------- 获取上个考次数据
def test_previous_term_none_then_prefill_and_copy(seed):
    a = seed.actor("site" + SITE)
    sid = seed.orgs[SITE]
    with session_scope(seed.engine) as s:
        assert acc.previous_accounts(s, a, sid) is None
    with session_scope(seed.engine) as s, pytest.raises(DomainError, match="以前的考次没有登记分账账户"):
        acc.copy_previous(s, a, sid)
    # the past 考次 has two accounts
    _insert_past(seed)
    _insert_past(seed, account_no="99998888777766665555", account_type="其他", remark=None)
    with session_scope(seed.engine) as s:
        prev = acc.previous_accounts(s, a, sid)
    assert prev.term_id == seed.info["past_term"] and "2026年3月" in prev.term_name
    assert [p.account_no for p in prev.accounts] == [FULL, "99998888777766665555"]  # full: fills the form
    assert prev.accounts[0].form_values()["bank_code"] == "102100099996"
    with session_scope(seed.engine) as s:  # an upper level sees them masked
        up = acc.previous_accounts(s, seed.actor("prov11"), sid)
    assert [p.account_no for p in up.accounts] == ["****8901", "****5555"]

    # one of them is already registered in this 考次: the other is added, the duplicate skipped
    _add(seed)
    with session_scope(seed.engine) as s:
        res = acc.copy_previous(s, a, sid)
    assert res.added == 1 and res.skipped == ["****8901"] and "2026年3月" in res.term_name
    assert sorted(r.account_no for r in _list(seed)) == ["****5555", "****8901"]
    with session_scope(seed.engine) as s, pytest.raises(DomainError, match="均已存在"):
        acc.copy_previous(s, a, sid)
    assert len(_list(seed)) == 2
    with session_scope(seed.engine) as s:
        copied = s.scalars(select(AuditLog).where(AuditLog.entity == acc.ENTITY,
                                                  AuditLog.summary.like("从上个考次%"))).all()
    assert len(copied) == 1 and "****5555" in copied[0].summary and "99998888777766665555" not in copied[0].summary
    # another site's past accounts are not offered
    with session_scope(seed.engine) as s:
        assert acc.previous_accounts(s, seed.actor("site110002"), seed.orgs["110002"]) is None


def test_previous_is_the_most_recent_earlier_term_with_data(seed):
    """Three 考次: the oldest has an account, the middle one none: the oldest is offered."""
    from datetime import datetime

    from core.models import ExamTerm
    with session_scope(seed.engine) as s:
        old = ExamTerm(code="60", name="2020年9月全国计算机等级考试", exam_start=datetime(2020, 9, 26, 8))
        s.add(old)
        s.flush()
        s.add(SettlementAccount(term_id=old.id, site_id=seed.orgs[SITE], **{**acc.clean_account(GOOD),
                                                                          "account_no": "12345678"}))
    with session_scope(seed.engine) as s:
        prev = acc.previous_accounts(s, seed.actor("site" + SITE), seed.orgs[SITE])
    assert prev.term_name == "2020年9月全国计算机等级考试" and prev.accounts[0].account_no == "12345678"
    _insert_past(seed)  # now the past (more recent) 考次 has one: it wins
    with session_scope(seed.engine) as s:
        prev = acc.previous_accounts(s, seed.actor("site" + SITE), seed.orgs[SITE])
    assert prev.term_id == seed.info["past_term"] and prev.accounts[0].account_no == FULL
    with session_scope(seed.engine) as s:  # looking at the past 考次: only the older one is "previous"
        prev = acc.previous_accounts(s, seed.actor("site" + SITE, term="past"), seed.orgs[SITE])
    assert prev.term_name == "2020年9月全国计算机等级考试"


# ---------------------------------------------------------------- permissions
@pytest.mark.parametrize("who", ["center", "prov11", "city1101"])
def test_upper_levels_view_masked_but_cannot_write(seed, who):
    aid = _add(seed)
    rows = _list(seed, who=who)
    assert [r.account_no for r in rows] == ["****8901"]
    with session_scope(seed.engine) as s:
        assert acc.get_account(s, seed.actor(who), aid).account_no == "****8901"  # no full number
    assert not acc.can_edit(seed.actor(who), seed.orgs[SITE])
    with pytest.raises(PermissionDenied, match="上级机构只能查看"):
        _add(seed, {"account_no": "12345678"}, who=who)
    with session_scope(seed.engine) as s, pytest.raises(PermissionDenied):
        acc.edit_account(s, seed.actor(who), aid, GOOD)
    with session_scope(seed.engine) as s, pytest.raises(PermissionDenied):
        acc.delete_account(s, seed.actor(who), aid)
    _insert_past(seed, account_no="55556666")
    with session_scope(seed.engine) as s, pytest.raises(PermissionDenied):
        acc.copy_previous(s, seed.actor(who), seed.orgs[SITE])
    assert len(_list(seed)) == 1


def test_other_site_and_other_province_cannot_see(seed):
    aid = _add(seed)
    for who in ("site110002", "prov44", "city4401"):
        with pytest.raises(NotFound):
            _list(seed, who=who)
        with session_scope(seed.engine) as s, pytest.raises(NotFound):
            acc.get_account(s, seed.actor(who), aid)
        with session_scope(seed.engine) as s, pytest.raises(NotFound):
            acc.edit_account(s, seed.actor(who), aid, GOOD)
        with session_scope(seed.engine) as s, pytest.raises(NotFound):
            acc.delete_account(s, seed.actor(who), aid)
    assert _list(seed)[0].account_no == "****8901"


def test_past_term_is_read_only(seed):
    _insert_past(seed)
    past = seed.actor("site" + SITE, term="past")
    rows = _list(seed, term="past")
    assert [r.account_no for r in rows] == ["****8901"]
    assert not acc.can_edit(past, seed.orgs[SITE])
    with pytest.raises(ReadOnlyTerm):
        _add(seed, {"account_no": "12345678"}, term="past")
    with session_scope(seed.engine) as s, pytest.raises(ReadOnlyTerm):
        acc.edit_account(s, past, rows[0].id, GOOD)
    with session_scope(seed.engine) as s, pytest.raises(ReadOnlyTerm):
        acc.delete_account(s, past, rows[0].id)
    # a past-term account id is "not found" from the current 考次
    with session_scope(seed.engine) as s, pytest.raises(NotFound):
        acc.delete_account(s, seed.actor("site" + SITE), rows[0].id)
    assert len(_list(seed, term="past")) == 1
