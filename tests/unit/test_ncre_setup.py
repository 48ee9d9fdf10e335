"""001 §9–§19 (操作时间设置, 报名前设置): every rule and limit, on SQLite and PostgreSQL."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core.db import session_scope
from core.errors import DomainError, NotFound, PermissionDenied, ReadOnlyTerm, ValidationError, WindowClosed
from core.models import (
    AuditLog, CancelledRegistration, Candidate, IntentQuota, OpWindow, ProvinceSubject, Registration, SiteSetting,
    SiteSubject, Subject,
)
from core.services import ncre_setup as ns
from core.services.ncre_setup import RegistryInfo, registry_admission

NOW = datetime.now().replace(second=0, microsecond=0)


# ---------------------------------------------------------------- helpers
def call(seed, user, fn, *args, term="current", **kw):
    with session_scope(seed.engine) as s:
        return fn(s, seed.actor(user, term), *args, **kw)


def sid(seed, code):
    return seed.orgs[code]


def subj_id(seed, code):
    with session_scope(seed.engine) as s:
        return s.scalar(select(Subject.id).where(Subject.code == code))


def cur(seed):
    return seed.info["current_term"]


def window(seed, code, kind):
    with session_scope(seed.engine) as s:
        w = s.scalar(select(OpWindow).where(OpWindow.org_id == sid(seed, code), OpWindow.kind == kind,
                                            OpWindow.term_id == cur(seed)))
        return (w.start_at, w.end_at) if w else None


def put_window(seed, code, kind, start, end):
    with session_scope(seed.engine) as s:
        w = s.scalar(select(OpWindow).where(OpWindow.org_id == sid(seed, code), OpWindow.kind == kind,
                                            OpWindow.term_id == cur(seed)))
        if start is None:
            if w:
                s.delete(w)
            return
        if w is None:
            w = OpWindow(org_id=sid(seed, code), term_id=cur(seed), kind=kind)
            s.add(w)
        w.start_at, w.end_at = start, end


def close_window(seed, code, kind="pre_reg_setting"):
    put_window(seed, code, kind, NOW - timedelta(days=20), NOW - timedelta(days=1))


def site_subject(seed, site_code, subject_code):
    with session_scope(seed.engine) as s:
        return s.scalar(select(SiteSubject).where(SiteSubject.site_id == sid(seed, site_code),
                                                  SiteSubject.term_id == cur(seed),
                                                  SiteSubject.subject_id == subj_id(seed, subject_code)))


def open_subject_codes(seed, site_code):
    with session_scope(seed.engine) as s:
        return list(s.scalars(select(Subject.code).join(SiteSubject, SiteSubject.subject_id == Subject.id)
                              .where(SiteSubject.site_id == sid(seed, site_code), SiteSubject.term_id == cur(seed))
                              .order_by(Subject.code)))


def set_capacity_direct(seed, site_code, subject_code, cap):
    with session_scope(seed.engine) as s:
        ss = s.scalar(select(SiteSubject).where(SiteSubject.site_id == sid(seed, site_code),
                                                SiteSubject.term_id == cur(seed),
                                                SiteSubject.subject_id == subj_id(seed, subject_code)))
        ss.capacity = cap


def set_setting(seed, site_code, **fields):
    with session_scope(seed.engine) as s:
        st = s.scalar(select(SiteSetting).where(SiteSetting.site_id == sid(seed, site_code),
                                                SiteSetting.term_id == cur(seed)))
        for k, v in fields.items():
            setattr(st, k, v)


def setting(seed, site_code):
    with session_scope(seed.engine) as s:
        return s.scalar(select(SiteSetting).where(SiteSetting.site_id == sid(seed, site_code),
                                                  SiteSetting.term_id == cur(seed)))


def add_registrations(seed, site_code, subject_code, n, cancelled=False):
    """Simulate n registrations (one candidate each) at a site for a subject."""
    tag = uuid.uuid4().hex[:8]
    with session_scope(seed.engine) as s:
        subject = subj_id(seed, subject_code)
        for i in range(n):
            c = Candidate(id_number=f"T{tag}{i:06d}", name=f"考生{i}")
            s.add(c)
            s.flush()
            if cancelled:  # a cancelled 报考 lives in cancelled_registration, not registration
                s.add(CancelledRegistration(term_id=cur(seed), site_id=sid(seed, site_code), candidate_id=c.id,
                                            subject_id=subject, id_type="居民身份证", id_number=c.id_number,
                                            name=c.name, channel="group", reason="测试"))
            else:
                s.add(Registration(term_id=cur(seed), site_id=sid(seed, site_code), candidate_id=c.id,
                                   subject_id=subject))


def audit_rows(seed, entity):
    with session_scope(seed.engine) as s:
        return list(s.scalars(select(AuditLog).where(AuditLog.entity == entity).order_by(AuditLog.id)))


# ================================================================ §9 考点操作时间设置
def test_list_windows_scope(seed):
    rows, total = call(seed, "site110001", ns.list_windows)
    assert total == 1 and rows[0]["code"] == "110001" and rows[0]["editable"] is False
    assert rows[0]["windows"]["pre_reg_setting"][0] is not None
    assert rows[0]["windows"]["ticket_print"][1] is None
    rows, total = call(seed, "prov11", ns.list_windows)
    codes = {r["code"] for r in rows}
    assert codes == {"11", "1101", "110001", "110002", "110003", "110004"}
    assert {r["code"] for r in rows if r["editable"]} == codes - {"11"}
    rows, total = call(seed, "center", ns.list_windows, org_kind="site")
    assert total == 11 and all(r["kind"] == "site" for r in rows)
    rows, total = call(seed, "center", ns.list_windows, search="深圳", limit=2)
    assert total == 4 and len(rows) == 2  # 深圳市 + 3 sites named 深圳…, paged
    targets = call(seed, "city4401", ns.window_targets)
    assert [t[1][:8] for t in targets] == ["(440101)", "(440102)", "(440103)"]
    assert call(seed, "site110001", ns.window_targets) == []


def test_site_cannot_set_its_own_or_another_window(seed):
    with pytest.raises(PermissionDenied, match="上级机构设置"):
        call(seed, "site110001", ns.set_window, sid(seed, "110001"), "pre_reg_setting", NOW, NOW + timedelta(days=1))
    with pytest.raises(NotFound):
        call(seed, "site110001", ns.set_window, sid(seed, "110002"), "pre_reg_setting", NOW, NOW + timedelta(days=1))
    with pytest.raises(PermissionDenied):
        call(seed, "city1101", ns.set_window, sid(seed, "1101"), "pre_reg_setting", NOW, NOW + timedelta(days=1))
    with pytest.raises(NotFound):  # other province
        call(seed, "prov44", ns.set_window, sid(seed, "110001"), "pre_reg_setting", NOW, NOW + timedelta(days=1))
    with pytest.raises(NotFound):
        call(seed, "city4401", ns.set_window, sid(seed, "440301"), "pre_reg_setting", NOW, NOW + timedelta(days=1))


def test_city_sets_site_window_within_parent(seed):
    city = window(seed, "1101", "pre_reg_setting")
    start, end = city[0] + timedelta(days=1), city[1] - timedelta(days=1)
    assert call(seed, "city1101", ns.set_window, sid(seed, "110001"), "pre_reg_setting", start, end) == 1
    assert window(seed, "110001", "pre_reg_setting") == (start, end)
    row = audit_rows(seed, "考点操作时间")[-1]
    assert row.action == "update" and row.before["start_at"] != row.after["start_at"]
    assert row.org_id == sid(seed, "110001")
    # exactly the parent's range is allowed
    call(seed, "city1101", ns.set_window, sid(seed, "110001"), "pre_reg_setting", city[0], city[1])
    # a province or the centre may set a site too, but always within the direct parent (the city)
    call(seed, "prov11", ns.set_window, sid(seed, "110002"), "registration", start, end)
    with pytest.raises(ValidationError, match="必须在上级机构“北京市市辖区”"):
        call(seed, "center", ns.set_window, sid(seed, "110002"), "registration", city[0] - timedelta(minutes=1), end)


def test_child_window_outside_parent_refused(seed):
    city = window(seed, "1101", "pre_reg_setting")
    with pytest.raises(ValidationError, match="范围内"):
        call(seed, "city1101", ns.set_window, sid(seed, "110001"), "pre_reg_setting",
             city[0] - timedelta(minutes=1), city[1])
    with pytest.raises(ValidationError, match="范围内"):
        call(seed, "city1101", ns.set_window, sid(seed, "110001"), "pre_reg_setting",
             city[0], city[1] + timedelta(minutes=1))


def test_parent_window_must_be_set_first(seed):
    put_window(seed, "1101", "arrangement", None, None)
    with pytest.raises(ValidationError, match="尚未设置编排时间"):
        call(seed, "prov11", ns.set_window, sid(seed, "110001"), "arrangement", NOW, NOW + timedelta(days=1))
    # province windows hang off the centre, which has no windows: no parent check
    call(seed, "center", ns.set_window, sid(seed, "11"), "arrangement",
         NOW - timedelta(days=400), NOW + timedelta(days=400))
    # city and its sites together in one call: the sites are checked against the city's new value
    kids = [sid(seed, c) for c in ("110004", "110003", "110002", "110001")]
    assert call(seed, "prov11", ns.set_windows, [*kids, sid(seed, "1101")], "arrangement",
                NOW, NOW + timedelta(days=2)) == 5
    assert window(seed, "110001", "arrangement") == (NOW, NOW + timedelta(days=2))


def test_window_value_checks(seed):
    target = sid(seed, "110001")
    with pytest.raises(ValidationError, match="报名前设置截止时间必须晚于报名前设置开始时间"):
        call(seed, "city1101", ns.set_window, target, "pre_reg_setting", NOW, NOW)
    with pytest.raises(ValidationError, match="请填写报名前设置开始时间"):
        call(seed, "city1101", ns.set_window, target, "pre_reg_setting", None, NOW)
    with pytest.raises(ValidationError, match="请填写报名管理结束时间"):
        call(seed, "city1101", ns.set_window, target, "registration", NOW, None)
    with pytest.raises(ValidationError, match="时间区间"):
        call(seed, "city1101", ns.set_window, target, "nonsense", NOW, NOW + timedelta(days=1))
    with pytest.raises(ValidationError, match="格式不正确"):
        call(seed, "city1101", ns.set_window, target, "registration", "明天", NOW)
    with pytest.raises(ValidationError, match="请选择要设置的机构"):
        call(seed, "city1101", ns.set_windows, [], "registration", NOW, NOW + timedelta(days=1))
    # text input is accepted
    call(seed, "city1101", ns.set_window, target, "registration", f"{NOW:%Y-%m-%d %H:%M}",
         f"{NOW + timedelta(days=1):%Y-%m-%d %H:%M}")
    assert window(seed, "110001", "registration") == (NOW, NOW + timedelta(days=1))


def test_ticket_print_has_only_a_start(seed):
    parent = window(seed, "1101", "ticket_print")
    assert parent[1] is None
    call(seed, "city1101", ns.set_window, sid(seed, "110001"), "ticket_print", parent[0] + timedelta(days=3),
         parent[0] + timedelta(days=9))
    assert window(seed, "110001", "ticket_print") == (parent[0] + timedelta(days=3), None)
    with pytest.raises(ValidationError, match="准考证打印开始时间"):
        call(seed, "city1101", ns.set_window, sid(seed, "110001"), "ticket_print", parent[0] - timedelta(minutes=1))


def test_bulk_and_children_kept_within(seed):
    prov = window(seed, "11", "qualification")
    kids = [sid(seed, c) for c in ("110001", "110002", "110003", "110004")]
    new = (prov[0] + timedelta(days=2), prov[1] - timedelta(days=2))
    # shrinking the city alone would leave its sites outside: refused, naming a site
    with pytest.raises(ValidationError, match="下级机构“北京理工大学考点”.*超出新的时间范围"):
        call(seed, "prov11", ns.set_window, sid(seed, "1101"), "qualification", *new)
    # city and its sites in one call: all or nothing, all set
    assert call(seed, "prov11", ns.set_windows, [sid(seed, "1101"), *kids], "qualification", *new) == 5
    assert window(seed, "110004", "qualification") == new
    assert window(seed, "1101", "qualification") == new
    # several errors are collected, nothing written
    bad = (prov[0] - timedelta(days=900), prov[1])
    with pytest.raises(ValidationError, match="以下机构未能设置") as e:
        call(seed, "city1101", ns.set_windows, kids, "qualification", *bad)
    assert e.value.message.count("范围内") == 4
    assert window(seed, "110001", "qualification") == new


def test_clear_windows(seed):
    with pytest.raises(ValidationError, match="请先清除下级机构"):
        call(seed, "prov11", ns.clear_windows, [sid(seed, "1101")], "violation")
    n = call(seed, "prov11", ns.clear_windows,
             [sid(seed, c) for c in ("1101", "110001", "110002", "110003", "110004")], "violation")
    assert n == 5 and window(seed, "1101", "violation") is None
    assert audit_rows(seed, "考点操作时间")[-1].action == "delete"


def test_windows_refused_in_past_term(seed):
    with pytest.raises(ReadOnlyTerm, match="历史考次"):
        call(seed, "city1101", ns.set_window, sid(seed, "110001"), "pre_reg_setting", NOW, NOW + timedelta(days=1),
             term="past")
    with pytest.raises(ReadOnlyTerm):
        call(seed, "prov11", ns.clear_windows, [sid(seed, "110001")], "violation", term="past")
    rows, _ = call(seed, "site110001", ns.list_windows, term="past")  # viewing is fine
    assert rows[0]["windows"]["pre_reg_setting"][0] == datetime(2026, 1, 5, 8)


# ================================================================ §10 考点报名综合设置
GENERAL = dict(is_open=True, group_registration=True, group_payment=True, review_required=False,
               class_required=True, allow_self_print=False)


def test_general_settings_max_subjects_limits(seed):
    site = sid(seed, "110001")
    for bad in (0, 4, -1, "abc", 2.5, None):
        with pytest.raises(ValidationError, match="报考最大科次数量"):
            call(seed, "site110001", ns.save_site_general, site, max_subjects=bad, **GENERAL)
    for good in (1, 3, "2"):
        call(seed, "site110001", ns.save_site_general, site, max_subjects=good, **GENERAL)
    got = call(seed, "site110001", ns.get_site_general, site)
    assert got["max_subjects"] == 2 and got["class_required"] is True and got["allow_self_print"] is False
    row = audit_rows(seed, "考点报名综合设置")[-1]
    assert row.before["max_subjects"] == 3 and row.after["max_subjects"] == 2


def test_general_settings_who_and_when(seed):
    site = sid(seed, "110001")
    with pytest.raises(PermissionDenied, match="上级机构只能查看"):
        call(seed, "prov11", ns.save_site_general, site, max_subjects=2, **GENERAL)
    with pytest.raises(PermissionDenied):
        call(seed, "center", ns.save_site_general, site, max_subjects=2, **GENERAL)
    with pytest.raises(NotFound):
        call(seed, "site110002", ns.save_site_general, site, max_subjects=2, **GENERAL)
    with pytest.raises(ReadOnlyTerm):
        call(seed, "site110001", ns.save_site_general, site, max_subjects=2, term="past", **GENERAL)
    close_window(seed, "110001")
    with pytest.raises(WindowClosed, match="报名前设置时间"):
        call(seed, "site110001", ns.save_site_general, site, max_subjects=2, **GENERAL)


def test_allow_intent_date_is_set_by_province(seed):
    site = sid(seed, "110001")
    with pytest.raises(PermissionDenied, match="设置权限在省里"):
        call(seed, "site110001", ns.set_allow_intent_date, site, True)
    with pytest.raises(PermissionDenied):
        call(seed, "city1101", ns.set_allow_intent_date, site, True)
    with pytest.raises(NotFound):
        call(seed, "prov44", ns.set_allow_intent_date, site, True)
    call(seed, "prov11", ns.set_allow_intent_date, site, True)
    assert call(seed, "site110001", ns.get_site_general, site)["allow_intent_date"] is True
    # the site's own save does not touch it
    call(seed, "site110001", ns.save_site_general, site, max_subjects=3, **GENERAL)
    assert setting(seed, "110001").allow_intent_date is True
    close_window(seed, "11")  # the province is limited by its own window
    with pytest.raises(WindowClosed):
        call(seed, "prov11", ns.set_allow_intent_date, site, False)
    call(seed, "center", ns.set_allow_intent_date, site, False)  # the centre is not window-limited
    assert setting(seed, "110001").allow_intent_date is False


def test_missing_setting_row_gets_defaults(seed):
    with session_scope(seed.engine) as s:
        s.delete(s.scalar(select(SiteSetting).where(SiteSetting.site_id == sid(seed, "110002"),
                                                    SiteSetting.term_id == cur(seed))))
    got = call(seed, "site110002", ns.get_site_general, sid(seed, "110002"))
    assert got["max_subjects"] == 3 and got["is_open"] is True
    assert call(seed, "site110002", ns.get_registry_setting, sid(seed, "110002"))["allowed_sites"] == ["110002"]
    call(seed, "site110002", ns.save_site_notice, sid(seed, "110002"), "新通告")
    assert setting(seed, "110002").notice == "新通告" and setting(seed, "110002").registry_allowed_sites == "110002"


# ================================================================ §11 考点开考科目设置
def test_add_subject_only_from_province_list_within_range(seed):
    site = sid(seed, "110001")
    added = set(open_subject_codes(seed, "110001"))
    options = call(seed, "site110001", ns.province_subject_options, site)
    free = [o for o in options if o["code"] not in added]
    assert free and all(not o["added"] for o in free) and len(options) == len(free)
    o = free[0]
    with session_scope(seed.engine) as s:  # a subject the province does not open
        ps = s.scalar(select(ProvinceSubject).where(ProvinceSubject.subject_id == free[1]["subject_id"],
                                                    ProvinceSubject.term_id == cur(seed),
                                                    ProvinceSubject.province_id == sid(seed, "11")))
        s.delete(ps)
    with pytest.raises(ValidationError, match="不在本省开考科目范围内"):
        call(seed, "site110001", ns.add_site_subject, site, free[1]["subject_id"], o["exam_start"], o["exam_end"])
    with pytest.raises(ValidationError, match="省开考科目.*考试时间范围"):
        call(seed, "site110001", ns.add_site_subject, site, o["subject_id"], o["exam_start"] - timedelta(minutes=1),
             o["exam_end"])
    with pytest.raises(ValidationError, match="考试时间范围"):
        call(seed, "site110001", ns.add_site_subject, site, o["subject_id"], o["exam_start"],
             o["exam_end"] + timedelta(minutes=1))
    with pytest.raises(ValidationError, match="考试结束时间必须晚于考试开始时间"):
        call(seed, "site110001", ns.add_site_subject, site, o["subject_id"], o["exam_end"], o["exam_start"])
    with pytest.raises(ValidationError, match="请填写考试开始时间"):
        call(seed, "site110001", ns.add_site_subject, site, o["subject_id"], None, o["exam_end"])
    with pytest.raises(ValidationError, match="请选择开考科目"):
        call(seed, "site110001", ns.add_site_subject, site, None, o["exam_start"], o["exam_end"])
    call(seed, "site110001", ns.add_site_subject, site, o["subject_id"], o["exam_start"], o["exam_end"])
    row = next(r for r in call(seed, "site110001", ns.list_site_subjects, site) if r["code"] == o["code"])
    assert row["capacity"] is None and row["exam_start"] == o["exam_start"] and row["registered"] == 0
    with pytest.raises(ValidationError, match="不能重复添加"):
        call(seed, "site110001", ns.add_site_subject, site, o["subject_id"], o["exam_start"], o["exam_end"])
    assert audit_rows(seed, "考点开考科目")[-1].after["subject_id"] == o["subject_id"]


def test_delete_subject_refused_with_capacity_or_registrations(seed):
    site = sid(seed, "110001")
    code = open_subject_codes(seed, "110001")[0]
    subject = subj_id(seed, code)
    assert site_subject(seed, "110001", code).capacity > 0
    with pytest.raises(ValidationError, match="已设置科目报考容量的开考科目不可删除，请先在《考点容量设置》中将容量置0或设为不开考"):
        call(seed, "site110001", ns.delete_site_subject, site, subject)
    set_capacity_direct(seed, "110001", code, 0)
    add_registrations(seed, "110001", code, 1)
    with pytest.raises(ValidationError, match="已有 1 人次考生报考"):
        call(seed, "site110001", ns.delete_site_subject, site, subject)
    # a cancelled registration does not block
    code2 = open_subject_codes(seed, "110001")[1]
    set_capacity_direct(seed, "110001", code2, None)
    add_registrations(seed, "110001", code2, 2, cancelled=True)
    call(seed, "site110001", ns.delete_site_subject, site, subj_id(seed, code2))
    assert site_subject(seed, "110001", code2) is None
    assert audit_rows(seed, "考点开考科目")[-1].action == "delete"
    with pytest.raises(NotFound):
        call(seed, "site110001", ns.delete_site_subject, site, subj_id(seed, code2))


def test_subjects_who_and_when(seed):
    site = sid(seed, "110001")
    o = call(seed, "site110001", ns.province_subject_options, site)[0]
    with pytest.raises(PermissionDenied):
        call(seed, "city1101", ns.add_site_subject, site, o["subject_id"], o["exam_start"], o["exam_end"])
    with pytest.raises(NotFound):
        call(seed, "site110002", ns.add_site_subject, site, o["subject_id"], o["exam_start"], o["exam_end"])
    with pytest.raises(ReadOnlyTerm):
        call(seed, "site110001", ns.add_site_subject, site, o["subject_id"], o["exam_start"], o["exam_end"],
             term="past")
    close_window(seed, "110001")
    with pytest.raises(WindowClosed):
        call(seed, "site110001", ns.add_site_subject, site, o["subject_id"], o["exam_start"], o["exam_end"])


# ================================================================ §12 考点费用设置
def test_fees_set_by_province_only(seed):
    site = sid(seed, "110001")
    code = open_subject_codes(seed, "110001")[0]
    subject = subj_id(seed, code)
    for user, exc in (("site110001", PermissionDenied), ("city1101", PermissionDenied), ("prov44", NotFound),
                      ("site110002", NotFound)):
        with pytest.raises(exc):
            call(seed, user, ns.set_site_fees, site, {subject: 50})
    for bad, msg in ((-1, "不能小于 0"), ("-0.01", "不能小于 0"), (1.234, "最多保留 2 位小数"),
                     ("abc", "必须是数字"), (100000, "不能超过"), ("NaN", "必须是数字")):
        with pytest.raises(ValidationError, match=msg):
            call(seed, "prov11", ns.set_site_fees, site, {subject: bad})
    assert call(seed, "prov11", ns.set_site_fees, site, {subject: "12.5"}) == 1
    assert call(seed, "prov11", ns.set_site_fees, site, {subject: 12.50}) == 0  # unchanged
    call(seed, "prov11", ns.set_site_fees, site, {subject: 0})
    fees = {r["code"]: r["fee"] for r in call(seed, "site110001", ns.list_site_fees, site)}
    assert fees[code] == Decimal("0.00")
    call(seed, "prov11", ns.set_site_fees, site, {subject: None})  # back to 未设置
    fees = {r["code"]: r["fee"] for r in call(seed, "site110001", ns.list_site_fees, site)}
    assert fees[code] is None
    missing = next(c for c in ("14", "15", "16", "24", "26") if c not in open_subject_codes(seed, "110001"))
    with pytest.raises(ValidationError, match="不是本考点的开考科目"):
        call(seed, "prov11", ns.set_site_fees, site, {subj_id(seed, missing): 10})
    assert [r.action for r in audit_rows(seed, "考点费用")][-3:] == ["update", "update", "delete"]
    close_window(seed, "11")
    with pytest.raises(WindowClosed):
        call(seed, "prov11", ns.set_site_fees, site, {subject: 10})
    call(seed, "center", ns.set_site_fees, site, {subject: 10})


def test_fee_batch(seed):
    code = open_subject_codes(seed, "110001")[0]
    sites = [sid(seed, c) for c in ("110001", "110002", "110003")]
    out = call(seed, "prov11", ns.apply_fee_to_sites, sites, subj_id(seed, code), "66.60")
    skipped = [c for c in ("110001", "110002", "110003") if code not in open_subject_codes(seed, c)]
    assert out["set"] == 3 - len(skipped) and len(out["skipped"]) == len(skipped)
    with pytest.raises(ValidationError, match="请填写"):
        call(seed, "prov11", ns.apply_fee_to_sites, sites, subj_id(seed, code), None)
    with pytest.raises(NotFound):
        call(seed, "prov11", ns.apply_fee_to_sites, [sid(seed, "440101")], subj_id(seed, code), 1)


# ================================================================ §13 考点容量设置
def test_total_capacity_limits(seed):
    site = sid(seed, "110001")
    for bad, msg in ((99, "不能小于 100"), (50, "不能小于 100"), (100000, "最大值为 99999"), (None, "不能为空或 0"),
                     (0, "不能为空或 0"), ("", "不能为空"), ("x", "总科次必须是整数"), (150.5, "必须是整数")):
        with pytest.raises(ValidationError, match=msg) as e:
            call(seed, "site110001", ns.save_capacity, site, bad)
        assert e.value.field == "总科次"
    call(seed, "site110001", ns.save_capacity, site, 100)
    assert call(seed, "site110001", ns.get_capacity, site)["total_capacity"] == 100
    call(seed, "site110001", ns.save_capacity, site, 99999)
    assert setting(seed, "110001").total_capacity == 99999
    row = audit_rows(seed, "考点容量")[-1]
    assert row.before["total_capacity"] == 100 and row.after["total_capacity"] == 99999


def test_subject_capacity_limits(seed):
    site = sid(seed, "110001")
    code = open_subject_codes(seed, "110001")[0]
    subject = subj_id(seed, code)
    for bad in (-1, 100000):
        with pytest.raises(ValidationError, match="0~99999"):
            call(seed, "site110001", ns.save_capacity, site, 500, {subject: bad})
    call(seed, "site110001", ns.save_capacity, site, 500, {subject: 0})
    assert site_subject(seed, "110001", code).capacity == 0
    call(seed, "site110001", ns.save_capacity, site, 500, {subject: 99999})
    assert site_subject(seed, "110001", code).capacity == 99999
    call(seed, "site110001", ns.save_capacity, site, 500, {subject: None})
    assert site_subject(seed, "110001", code).capacity is None
    missing = next(c for c in ("14", "15", "16", "24", "26") if c not in open_subject_codes(seed, "110001"))
    with pytest.raises(ValidationError, match="不是本考点的开考科目"):
        call(seed, "site110001", ns.save_capacity, site, 500, {subj_id(seed, missing): 10})


def test_capacity_not_below_registered(seed):
    site = sid(seed, "110001")
    code = open_subject_codes(seed, "110001")[0]
    subject = subj_id(seed, code)
    add_registrations(seed, "110001", code, 3)
    add_registrations(seed, "110001", code, 5, cancelled=True)  # cancelled ones do not count
    with pytest.raises(ValidationError, match=r"（2）不能小于当前已报考人数（3）"):
        call(seed, "site110001", ns.save_capacity, site, 500, {subject: 2})
    with pytest.raises(ValidationError, match="不能小于当前已报考人数"):
        call(seed, "site110001", ns.save_capacity, site, 500, {subject: 0})
    call(seed, "site110001", ns.save_capacity, site, 500, {subject: 3})
    code2 = open_subject_codes(seed, "110001")[1]
    add_registrations(seed, "110001", code2, 98)  # 101 in total
    cap = call(seed, "site110001", ns.get_capacity, site)
    assert cap["registered"] == 101
    with pytest.raises(ValidationError, match=r"总科次（100）不能小于当前已报考的科次数（101）"):
        call(seed, "site110001", ns.save_capacity, site, 100)
    call(seed, "site110001", ns.save_capacity, site, 101)


def test_capacity_who_and_when(seed):
    site = sid(seed, "110001")
    for user, exc in (("prov11", PermissionDenied), ("city1101", PermissionDenied), ("center", PermissionDenied),
                      ("site110002", NotFound)):
        with pytest.raises(exc):
            call(seed, user, ns.save_capacity, site, 500)
    with pytest.raises(ReadOnlyTerm):
        call(seed, "site110001", ns.save_capacity, site, 500, term="past")
    close_window(seed, "110001")
    with pytest.raises(WindowClosed):
        call(seed, "site110001", ns.save_capacity, site, 500)
    # the upper level extends the site's window, then the site can change it
    city = window(seed, "1101", "pre_reg_setting")
    call(seed, "city1101", ns.set_window, site, "pre_reg_setting", city[0], city[1])
    call(seed, "site110001", ns.save_capacity, site, 500)


# ================================================================ §14 意向考试相关设置
def _intent_site(seed, days=3, total=100):
    """Site 110001 with 允许意向考试日期, exam days spanning `days` days, 总科次 `total`."""
    set_setting(seed, "110001", allow_intent_date=True, total_capacity=total)
    with session_scope(seed.engine) as s:
        for ss in s.scalars(select(SiteSubject).where(SiteSubject.site_id == sid(seed, "110001"),
                                                      SiteSubject.term_id == cur(seed))):
            ss.exam_end = ss.exam_start.replace(hour=17) + timedelta(days=days - 1)
    return call(seed, "site110001", ns.intent_exam_days, sid(seed, "110001"))


def test_intent_requires_permission_from_province(seed):
    site = sid(seed, "110001")
    days = call(seed, "site110001", ns.intent_exam_days, site)
    with pytest.raises(ValidationError, match="允许考生选择意向考试日期"):
        call(seed, "site110001", ns.save_intent_quotas, site, {d: 10 for d in days})


def test_intent_quota_limits(seed):
    site = sid(seed, "110001")
    days = _intent_site(seed, days=3, total=100)
    assert len(days) == 3
    with pytest.raises(ValidationError, match="最小值为 1"):
        call(seed, "site110001", ns.save_intent_quotas, site, {days[0]: 0, days[1]: 1, days[2]: 1})
    with pytest.raises(ValidationError, match="不能为空"):
        call(seed, "site110001", ns.save_intent_quotas, site, {days[0]: 1, days[1]: 1})
    with pytest.raises(ValidationError, match="一半，即 50"):
        call(seed, "site110001", ns.save_intent_quotas, site, {days[0]: 51, days[1]: 1, days[2]: 1})
    with pytest.raises(ValidationError, match=r"之和（101）不能大于总科次（100）"):
        call(seed, "site110001", ns.save_intent_quotas, site, {days[0]: 50, days[1]: 50, days[2]: 1})
    with pytest.raises(ValidationError, match="不是本考点的考试日期"):
        call(seed, "site110001", ns.save_intent_quotas, site,
             {days[0]: 1, days[1]: 1, days[2]: 1, days[2] + timedelta(days=5): 1})
    call(seed, "site110001", ns.save_intent_quotas, site, {days[0]: 1, days[1]: 1, days[2]: 1})
    call(seed, "site110001", ns.save_intent_quotas, site, {days[0]: 50, days[1]: 49, days[2]: 1})
    got = call(seed, "site110001", ns.get_intent, site)
    assert got["quotas"] == {days[0]: 50, days[1]: 49, days[2]: 1} and got["allow_intent_date"]
    row = audit_rows(seed, "意向考试人数")[-1]
    assert row.before[days[0].isoformat()] == 1 and row.after[days[0].isoformat()] == 50
    # lowering the total below what the quotas need is refused in 考点容量设置
    set_setting(seed, "110001", total_capacity=200)
    call(seed, "site110001", ns.save_intent_quotas, site, {days[0]: 100, days[1]: 60, days[2]: 1})
    with pytest.raises(ValidationError, match="意向考试相关设置"):
        call(seed, "site110001", ns.save_capacity, site, 199)
    call(seed, "site110001", ns.save_capacity, site, 200)


def test_intent_odd_total_and_obsolete_days(seed):
    site = sid(seed, "110001")
    days = _intent_site(seed, days=2, total=101)
    with pytest.raises(ValidationError, match="即 50"):
        call(seed, "site110001", ns.save_intent_quotas, site, {days[0]: 51, days[1]: 1})
    with session_scope(seed.engine) as s:
        s.add(IntentQuota(site_id=site, term_id=cur(seed), exam_date=days[0] - timedelta(days=9), quota=3))
    call(seed, "site110001", ns.save_intent_quotas, site, {days[0]: 50, days[1]: 50})
    with session_scope(seed.engine) as s:
        assert s.scalar(select(func.count()).select_from(IntentQuota).where(IntentQuota.site_id == site)) == 2


def test_intent_days_derivation(seed):
    site = sid(seed, "110001")
    days = _intent_site(seed, days=2)
    # not-open subjects (capacity 0) do not make exam days; without open subjects use the 考次 dates
    with session_scope(seed.engine) as s:
        for ss in s.scalars(select(SiteSubject).where(SiteSubject.site_id == site)):
            ss.capacity = 0
    term_days = call(seed, "site110001", ns.intent_exam_days, site)
    assert len(term_days) == 3 and term_days[0] == days[0]
    set_setting(seed, "110001", total_capacity=None)
    with pytest.raises(ValidationError, match="总科次"):
        call(seed, "site110001", ns.save_intent_quotas, site, {d: 1 for d in term_days})
    with pytest.raises(PermissionDenied):
        call(seed, "prov11", ns.save_intent_quotas, site, {d: 1 for d in term_days})


# ================================================================ §15 考生报名时间设置
def test_online_registration_time(seed):
    site = sid(seed, "110001")
    earliest, latest = window(seed, "110001", "online_reg")
    with pytest.raises(ValidationError, match="必须填写考生网上报名开始时间"):
        call(seed, "site110001", ns.save_online_reg, site, True, None, latest)
    with pytest.raises(ValidationError, match="必须填写考生网上报名结束时间"):
        call(seed, "site110001", ns.save_online_reg, site, True, earliest, None)
    with pytest.raises(ValidationError, match="结束时间必须晚于开始时间"):
        call(seed, "site110001", ns.save_online_reg, site, True, latest, earliest)
    with pytest.raises(ValidationError, match="最早时间和最晚时间范围"):
        call(seed, "site110001", ns.save_online_reg, site, True, earliest - timedelta(minutes=1), latest)
    with pytest.raises(ValidationError, match="最早时间和最晚时间范围"):
        call(seed, "site110001", ns.save_online_reg, site, True, earliest, latest + timedelta(minutes=1))
    call(seed, "site110001", ns.save_online_reg, site, True, earliest, latest)
    got = call(seed, "site110001", ns.get_online_reg, site)
    assert got["enabled"] and (got["start"], got["end"]) == (earliest, latest) == (got["earliest"], got["latest"])
    call(seed, "site110001", ns.save_online_reg, site, False)  # 不开启: no time needed
    assert setting(seed, "110001").online_reg_enabled is False
    put_window(seed, "110001", "online_reg", None, None)
    with pytest.raises(ValidationError, match="上级尚未设置"):
        call(seed, "site110001", ns.save_online_reg, site, True, earliest, latest)
    with pytest.raises(PermissionDenied):
        call(seed, "city1101", ns.save_online_reg, site, False)
    close_window(seed, "110001")
    with pytest.raises(WindowClosed):
        call(seed, "site110001", ns.save_online_reg, site, False)


# ================================================================ §16 省报名通告设置
def test_province_notice(seed):
    got = call(seed, "site110001", ns.get_province_notice)
    assert got["province"] == "北京市" and "北京市考生请注意" in got["content"]
    assert call(seed, "city4401", ns.get_province_notice)["province"] == "广东省"
    for user in ("site110001", "city1101"):
        with pytest.raises(PermissionDenied, match="设置权限在省里"):
            call(seed, user, ns.save_province_notice, None, "x")
    call(seed, "prov11", ns.save_province_notice, None, "  新的省通告  ")
    assert call(seed, "site110002", ns.get_province_notice)["content"] == "新的省通告"
    call(seed, "prov11", ns.save_province_notice, None, "")  # may be empty
    assert call(seed, "city1101", ns.get_province_notice)["content"] is None
    with pytest.raises(NotFound):
        call(seed, "prov11", ns.save_province_notice, sid(seed, "44"), "x")
    with pytest.raises(NotFound):
        call(seed, "site110001", ns.get_province_notice, sid(seed, "44"))
    with pytest.raises(ValidationError, match="请选择省份"):
        call(seed, "center", ns.save_province_notice, None, "x")
    call(seed, "center", ns.save_province_notice, sid(seed, "44"), "中心设置")
    assert call(seed, "prov44", ns.get_province_notice)["content"] == "中心设置"
    with pytest.raises(ValidationError, match="不能超过 5000 个字"):
        call(seed, "prov11", ns.save_province_notice, None, "字" * 5001)
    with pytest.raises(ReadOnlyTerm):
        call(seed, "prov11", ns.save_province_notice, None, "x", term="past")
    assert audit_rows(seed, "省报名通告")[-1].after["content"] == "中心设置"
    assert [p[1] for p in call(seed, "center", ns.notice_provinces)] == ["(11)北京市", "(44)广东省"]


# ================================================================ §17 考点报名通告设置
def test_site_notice(seed):
    site = sid(seed, "110001")
    assert "身份证" in call(seed, "prov11", ns.get_site_notice, site)
    call(seed, "site110001", ns.save_site_notice, site, "请带准考证")
    assert call(seed, "site110001", ns.get_site_notice, site) == "请带准考证"
    call(seed, "site110001", ns.save_site_notice, site, "   ")
    assert call(seed, "site110001", ns.get_site_notice, site) is None
    with pytest.raises(ValidationError, match="新通告不能超过"):
        call(seed, "site110001", ns.save_site_notice, site, "x" * 5001)
    with pytest.raises(PermissionDenied):
        call(seed, "prov11", ns.save_site_notice, site, "x")
    with pytest.raises(NotFound):
        call(seed, "site110002", ns.get_site_notice, site)
    close_window(seed, "110001")
    with pytest.raises(WindowClosed):
        call(seed, "site110001", ns.save_site_notice, site, "x")


# ================================================================ §18 考点班级选项设置
def test_parse_class_options():
    assert ns.parse_class_options("会计一班; 会计二班；管理一班;管理二班 ") == ["会计一班", "会计二班", "管理一班", "管理二班"]
    assert ns.parse_class_options(" ;；; ") == [] and ns.parse_class_options("") == [] and ns.parse_class_options(None) == []
    assert ns.parse_class_options("a;;b；") == ["a", "b"]
    with pytest.raises(ValidationError, match="班级选项重复：会计一班") as e:
        ns.parse_class_options("会计一班;会计二班；会计一班 ")
    assert e.value.field == "班级选项"
    with pytest.raises(ValidationError, match="过长"):
        ns.parse_class_options("班" * 51)
    with pytest.raises(ValidationError, match="最多 500 个"):
        ns.parse_class_options(";".join(f"班{i}" for i in range(501)))


def test_class_option_helpers():
    st = SiteSetting(class_options="计算机一班;计算机二班；会计一班", class_required=False)
    assert ns.class_options_list(st) == ["计算机一班", "计算机二班", "会计一班"]
    assert ns.class_options_list({"class_options": "a;b"}) == ["a", "b"]
    assert ns.class_options_list("x；y") == ["x", "y"] and ns.class_options_list(None) == []
    assert ns.validate_class(st, " 会计一班 ") == "会计一班"
    assert ns.validate_class(st, "") is None
    with pytest.raises(ValidationError, match="不在本考点的班级选项中"):
        ns.validate_class(st, "会计二班")
    required = SiteSetting(class_options=None, class_required=True)
    with pytest.raises(ValidationError, match="班级必需"):
        ns.validate_class(required, "  ")
    assert ns.validate_class(required, "任意班级") == "任意班级"  # no options: free text
    assert ns.validate_class(None, None) is None


def test_save_class_options(seed):
    site = sid(seed, "110001")
    with pytest.raises(ValidationError, match="班级选项重复：一班"):
        call(seed, "site110001", ns.save_class_options, site, "一班;二班;一班")
    assert call(seed, "site110001", ns.save_class_options, site, " 一班 ；二班; ") == ["一班", "二班"]
    assert setting(seed, "110001").class_options == "一班;二班"
    got = call(seed, "prov11", ns.get_class_options, site)
    assert got["options"] == ["一班", "二班"]
    assert call(seed, "site110001", ns.save_class_options, site, "") == []
    assert setting(seed, "110001").class_options is None
    with pytest.raises(PermissionDenied):
        call(seed, "city1101", ns.save_class_options, site, "a")
    with pytest.raises(NotFound):
        call(seed, "site110002", ns.save_class_options, site, "a")
    close_window(seed, "110001")
    with pytest.raises(WindowClosed):
        call(seed, "site110001", ns.save_class_options, site, "a")


# ================================================================ §19 学籍报考设置
def test_registry_setting_by_province(seed):
    site = sid(seed, "110001")
    kw = dict(registry_enabled=True, only_province_registry=True, only_site_registry=False)
    for user, exc in (("site110001", PermissionDenied), ("city1101", PermissionDenied), ("prov44", NotFound)):
        with pytest.raises(exc):
            call(seed, user, ns.save_registry_setting, site, allowed_sites="110001", **kw)
    with pytest.raises(ValidationError, match="只可以在本省内选择：440101"):
        call(seed, "prov11", ns.save_registry_setting, site, allowed_sites="110001;440101", **kw)
    with pytest.raises(ValidationError, match="999999"):
        call(seed, "prov11", ns.save_registry_setting, site, allowed_sites=["999999"], **kw)
    call(seed, "prov11", ns.save_registry_setting, site, allowed_sites="110001；110002,110002", **kw)
    got = call(seed, "site110001", ns.get_registry_setting, site)
    assert got["allowed_sites"] == ["110001", "110002"] and got["only_province_registry"] and got["registry_enabled"]
    assert "北京交通大学考点" in got["allowed_sites_text"]
    call(seed, "prov11", ns.save_registry_setting, site, allowed_sites="", **kw)
    assert call(seed, "site110001", ns.get_registry_setting, site)["allowed_sites_text"] == "不限"
    assert setting(seed, "110001").registry_allowed_sites is None
    assert [c for c, _ in call(seed, "prov11", ns.province_sites, site)] == ["110001", "110002", "110003", "110004"]
    close_window(seed, "11")
    with pytest.raises(WindowClosed):
        call(seed, "prov11", ns.save_registry_setting, site, allowed_sites="", **kw)


def test_registry_info(seed):
    set_setting(seed, "110002", registry_enabled=True, registry_allowed_sites="110002;110003")
    with session_scope(seed.engine) as s:
        info = ns.registry_info(s, sid(seed, "110002"), cur(seed))
    assert info == RegistryInfo(sid(seed, "110002"), "110002", sid(seed, "11"), True, ("110002", "110003"))


# ---------------------------------------------------------------- registry_admission: 4 combinations × candidate kinds
class _Site:
    def __init__(self, id, code, path):
        self.id, self.code, self.path = id, code, path


P1, P2 = 2, 30
TARGET = _Site(10, "110001", f"/1/{P1}/3/10/")


def _setting(only_prov, only_site, enabled=True):
    return SiteSetting(registry_enabled=enabled, only_province_registry=only_prov, only_site_registry=only_site)


SOCIAL = None
OWN = RegistryInfo(10, "110001", P1, True, ("110001",))
OTHER_FREE = RegistryInfo(11, "110002", P1, True, ())  # 可报考考点 不限
OTHER_INCL = RegistryInfo(12, "110003", P1, True, ("110003", "110001"))
OTHER_EXCL = RegistryInfo(13, "110004", P1, True, ("110004",))
OTHER_NOREG = RegistryInfo(13, "110004", P1, False, ("110004",))  # its site does not 启用学籍库
OUTSIDE = RegistryInfo(50, "440101", P2, True, ("440101",))  # another province's 学籍

# (only_province, only_site) -> expected for each candidate kind
CASES = {
    # 1) 仅本省 on, 仅本考点 off
    (True, False): dict(social=False, own=True, other_free=True, other_incl=True, other_excl=False,
                        other_noreg=False, outside=False),
    # 2) both on
    (True, True): dict(social=False, own=True, other_free=False, other_incl=False, other_excl=False,
                       other_noreg=False, outside=False),
    # 3) both off
    (False, False): dict(social=True, own=True, other_free=True, other_incl=True, other_excl=False,
                         other_noreg=True, outside=True),
    # 4) 仅本省 off, 仅本考点 on
    (False, True): dict(social=False, own=True, other_free=False, other_incl=False, other_excl=False,
                        other_noreg=False, outside=False),
}
CANDIDATES = dict(social=SOCIAL, own=OWN, other_free=OTHER_FREE, other_incl=OTHER_INCL, other_excl=OTHER_EXCL,
                  other_noreg=OTHER_NOREG, outside=OUTSIDE)


@pytest.mark.parametrize("combo", list(CASES))
@pytest.mark.parametrize("kind", list(CANDIDATES))
def test_registry_admission_matrix(combo, kind):
    ok, reason = registry_admission(_setting(*combo), TARGET, CANDIDATES[kind])
    assert ok is CASES[combo][kind], (combo, kind, reason)
    assert reason


def test_registry_admission_details():
    # target without 学籍库: the switches do not apply; registry students still follow their 可报考考点
    off = _setting(True, True, enabled=False)
    assert registry_admission(off, TARGET, SOCIAL)[0] is True
    ok, reason = registry_admission(off, TARGET, OTHER_EXCL)
    assert not ok and "可报考考点" in reason and "110004" in reason
    assert registry_admission(None, TARGET, SOCIAL)[0] is True
    # messages say why
    assert "仅接受本省学籍库考生" in registry_admission(_setting(True, False), TARGET, SOCIAL)[1]
    assert "社会考生无法报考" in registry_admission(_setting(False, True), TARGET, SOCIAL)[1]
    assert "其他考点的学籍库考生" in registry_admission(_setting(True, True), TARGET, OTHER_FREE)[1]
    # the out-of-province student is free of his own site's 可报考考点 (which does not list the target)
    assert registry_admission(_setting(False, False), TARGET, OUTSIDE)[0] is True
    # the 学籍 province can be given separately
    bare = RegistryInfo(12, "110003", None, True, ("110003",))
    assert registry_admission(_setting(False, False), TARGET, bare, candidate_province_id=P1)[0] is False
    assert registry_admission(_setting(False, False), TARGET, bare, candidate_province_id=P2)[0] is True
    # the own site's students need the site in their own 可报考考点 when the province narrowed it
    narrowed = RegistryInfo(10, "110001", P1, True, ("110002",))
    assert registry_admission(_setting(True, True), TARGET, narrowed)[0] is False
    # dict settings work too
    assert registry_admission({"registry_enabled": True, "only_site_registry": True}, TARGET, SOCIAL)[0] is False


# ================================================================ scope: site A cannot read or change site B
READS = [
    (ns.site_context, ()), (ns.get_site_general, ()), (ns.list_site_subjects, ()), (ns.province_subject_options, ()),
    (ns.list_site_fees, ()), (ns.get_capacity, ()), (ns.intent_exam_days, ()), (ns.get_intent, ()),
    (ns.get_online_reg, ()), (ns.get_site_notice, ()), (ns.get_class_options, ()), (ns.get_registry_setting, ()),
    (ns.province_sites, ()),
]


def test_site_cannot_touch_another_site(seed):
    other = sid(seed, "110002")
    for fn, extra in READS:
        with pytest.raises(NotFound):
            call(seed, "site110001", fn, other, *extra)
    o = call(seed, "site110002", ns.province_subject_options, other)[0]
    writes = [
        (ns.save_site_general, (), dict(max_subjects=2, **GENERAL)),
        (ns.set_allow_intent_date, (True,), {}),
        (ns.add_site_subject, (o["subject_id"], o["exam_start"], o["exam_end"]), {}),
        (ns.delete_site_subject, (o["subject_id"],), {}),
        (ns.set_site_fees, ({o["subject_id"]: 1},), {}),
        (ns.save_capacity, (500,), {}),
        (ns.save_intent_quotas, ({},), {}),
        (ns.save_online_reg, (False,), {}),
        (ns.save_site_notice, ("x",), {}),
        (ns.save_class_options, ("a",), {}),
        (ns.save_registry_setting, (), dict(registry_enabled=True, only_province_registry=False,
                                            only_site_registry=False, allowed_sites="")),
    ]
    for fn, args, kw in writes:
        with pytest.raises(NotFound):
            call(seed, "site110001", fn, other, *args, **kw)
        with pytest.raises(NotFound):  # another province's admin neither
            call(seed, "prov44", fn, other, *args, **kw)
    with pytest.raises(NotFound):
        call(seed, "site110001", ns.set_windows, [other], "pre_reg_setting", NOW, NOW + timedelta(days=1))
    with pytest.raises(NotFound):
        call(seed, "site110001", ns.apply_fee_to_sites, [other], o["subject_id"], 1)


def test_upper_levels_read_sites_below(seed):
    site = sid(seed, "440301")
    for user in ("center", "prov44", "city4403"):
        ctx = call(seed, user, ns.site_context, site)
        assert ctx.code == "440301" and not ctx.can_edit and not ctx.editable_now
        assert ctx.window.is_open
        assert call(seed, user, ns.get_capacity, site)["total_capacity"] == 2800
    assert call(seed, "prov44", ns.site_context, site).can_edit_upper
    assert not call(seed, "city4403", ns.site_context, site).can_edit_upper
    ctx = call(seed, "site440301", ns.site_context, site)
    assert ctx.can_edit and ctx.editable_now and ctx.label == "(440301)深圳大学考点"
    with pytest.raises(ValidationError, match="不是考点"):
        call(seed, "prov44", ns.get_capacity, sid(seed, "4403"))
    with pytest.raises(DomainError):
        call(seed, "city4401", ns.get_capacity, site)
