"""001 §27–29: 取消考试信息查看, 报考统计 / 支付统计 / 考生统计, 科目容量统计 — exact numbers per site and
合计, scope, capacity colours, audited formula-safe exports, masking; on SQLite and PostgreSQL."""
from __future__ import annotations

import io
from datetime import datetime, timedelta

import openpyxl
import pytest
from sqlalchemy import select, update

from core.db import session_scope
from core.errors import PermissionDenied
from core.models import (
    AuditLog, CancelledRegistration, Candidate, Enrollment, Org, PaymentOrder, Registration, SiteSetting, SiteSubject,
    Subject,
)
from core.services import listing
from core.services import reg_stats as rs
from core.specs.cancelled import CANCELLED
from tests.factories import add_candidates

NOW = datetime.now().replace(microsecond=0)


def subj(s, code):
    return s.scalar(select(Subject.id).where(Subject.code == code))


def set_cap(s, site_id, term_id, code, cap):
    sid = subj(s, code)
    row = s.scalar(select(SiteSubject).where(SiteSubject.site_id == site_id, SiteSubject.term_id == term_id,
                                             SiteSubject.subject_id == sid))
    if row is None:
        row = SiteSubject(site_id=site_id, term_id=term_id, subject_id=sid, exam_start=NOW, exam_end=NOW)
        s.add(row)
    row.capacity = cap


@pytest.fixture
def world(seed):
    """110001: 3 group paid (via a 集体缴费批次) with photo, locked, approved, one 学籍考生; 2 individual unpaid
    pending; 1 individual with 2 subjects, one paid by its own order (部分支付), no review.
    110002: 4 group unpaid rejected, subject 24. 440101: 5 group paid, subject 14. Past term: 7 at 110001."""
    cur, past = seed.info["current_term"], seed.info["past_term"]
    o = seed.orgs
    with session_scope(seed.engine) as s:
        e_paid = add_candidates(s, o["110001"], cur, 3, ("14", "24"), start=0, channel="group", paid=True,
                                locked=True, photo="a" * 64, review_state="approved")
        add_candidates(s, o["110001"], cur, 2, ("14",), start=3, channel="individual", review_state="pending")
        e_part = add_candidates(s, o["110001"], cur, 1, ("14", "15"), start=5, channel="individual")
        e_rej = add_candidates(s, o["110002"], cur, 4, ("24",), start=10, review_state="rejected")
        add_candidates(s, o["440101"], cur, 5, ("14",), start=20, paid=True)
        add_candidates(s, o["110001"], past, 7, ("14",), start=100)
        group = PaymentOrder(term_id=cur, site_id=o["110001"], kind="group", state="paid", amount=480)
        own = PaymentOrder(term_id=cur, site_id=o["110001"], kind="individual", state="paid", amount=80)
        s.add_all([group, own])
        s.flush()
        s.execute(update(Registration).where(Registration.enrollment_id.in_(e_paid)).values(order_id=group.id))
        first = s.scalar(select(Registration).where(Registration.enrollment_id == e_part[0],
                                                    Registration.subject_id == subj(s, "14")))
        first.paid, first.paid_at, first.order_id = True, NOW, own.id
        s.execute(update(Enrollment).where(Enrollment.id == e_paid[0]).values(is_registry=True))
        s.execute(update(Enrollment).where(Enrollment.id.in_(e_rej[:2])).values(is_registry=True))
    return seed


def table(seed, user, fn, term="current"):
    with session_scope(seed.engine) as s:
        return fn(s, seed.actor(user, term))


def labels(t):
    return [r[0] for r in t.rows]


# ---------------------------------------------------------------- 报考统计
def test_reg_stats_site_sees_its_own_site_with_exact_numbers(world):
    t = table(world, "site110001", rs.reg_stats)
    assert labels(t) == ["(110001)北京理工大学考点", "合计"]
    assert t.columns[:3] == ("考点", "报名人数", "报考人次合计")
    row = t.row("110001")
    assert row["报名人数"] == 6 and row["报考人次合计"] == 10
    with session_scope(world.engine) as s:
        names = {c: f"({c}) {s.scalar(select(Subject.name).where(Subject.code == c))}" for c in ("14", "15", "24")}
    assert row[names["14"]] == 6 and row[names["24"]] == 3 and row[names["15"]] == 1
    assert t.total["报名人数"] == 6 and t.total["报考人次合计"] == 10
    # subject columns come in code order and hold no subject from outside the scope's data/opened list
    subject_cols = list(t.columns[3:])
    assert subject_cols == sorted(subject_cols, key=lambda c: c[1:3])
    assert t.keys == (world.orgs["110001"], None)


def test_reg_stats_province_city_center_scope_and_total(world):
    prov = table(world, "prov11", rs.reg_stats)
    assert [r[0][1:7] for r in prov.body] == ["110001", "110002", "110003", "110004"]
    assert not any("44" == r[0][1:3] for r in prov.body)
    assert prov.row("110002")["报名人数"] == 4 and prov.row("110003")["报考人次合计"] == 0
    assert prov.total["报名人数"] == 10 and prov.total["报考人次合计"] == 14
    city = table(world, "city1101", rs.reg_stats)
    assert city.rows == prov.rows
    center = table(world, "center", rs.reg_stats)
    assert len(center.body) == 11
    assert center.total["报名人数"] == 15 and center.total["报考人次合计"] == 19
    gd = table(world, "prov44", rs.reg_stats)
    assert gd.total["报名人数"] == 5 and all(r[0][1:3] == "44" for r in gd.body)
    # the chart: 报考人次 per subject, stacked by site (4 sites here)
    assert sum(p["value"] for p in prov.chart) == 14
    assert {p["series"] for p in prov.chart} == set(labels(prov)[:-1])


def test_reg_stats_past_term(world):
    t = table(world, "site110001", rs.reg_stats, term="past")
    assert t.term_id == world.info["past_term"]
    assert t.total["报名人数"] == 7 and t.total["报考人次合计"] == 7
    assert table(world, "prov44", rs.reg_stats, term="past").total["报名人数"] == 0


# ---------------------------------------------------------------- 支付统计
def test_pay_stats_exact_numbers(world):
    t = table(world, "site110001", rs.pay_stats)
    assert labels(t) == ["(110001)北京理工大学考点", "合计"]
    r = t.row("110001")
    assert (r["报考科次"], r["已支付科次"], r["未支付科次"]) == (10, 7, 3)
    assert r["已支付金额（元）"] == 560.0 and r["未支付金额（元）"] == 240.0
    assert (r["集体缴费科次"], r["个人缴费科次"]) == (6, 1)
    prov = table(world, "prov11", rs.pay_stats)
    assert prov.row("110002")["未支付科次"] == 4 and prov.row("110002")["未支付金额（元）"] == 320.0
    assert prov.total["报考科次"] == 14 and prov.total["已支付科次"] == 7 and prov.total["未支付金额（元）"] == 560.0
    center = table(world, "center", rs.pay_stats)
    assert center.total["已支付科次"] == 12 and center.total["个人缴费科次"] == 6  # 440101: paid without a group order
    assert center.total["已支付金额（元）"] == 960.0
    chart = {(p["x"], p["series"]): p["value"] for p in prov.chart}
    assert chart[("(110001)北京理工大学考点", "已支付科次")] == 7


def test_pay_subject_stats(world):
    t = table(world, "prov11", rs.pay_subject_stats)
    assert t.columns[0] == "科目"
    by_code = {r[0][1:3]: dict(zip(t.columns, r)) for r in t.body}
    assert by_code["14"]["报考科次"] == 6 and by_code["14"]["已支付科次"] == 4
    assert by_code["24"]["报考科次"] == 7 and by_code["24"]["未支付科次"] == 4
    assert by_code["15"]["未支付科次"] == 1
    assert t.total["报考科次"] == 14


# ---------------------------------------------------------------- 考生统计
def test_candidate_stats_exact_numbers(world):
    t = table(world, "site110001", rs.candidate_stats)
    r = t.row("110001")
    assert r["报名人数"] == 6
    assert (r["集体报名"], r["考生注册"]) == (3, 3)
    assert (r["学籍考生"], r["社会考生"]) == (1, 5)
    assert (r["有照片"], r["无照片"]) == (3, 3)
    assert (r["已锁定"], r["未锁定"]) == (3, 3)
    assert (r["无需审核"], r["待审核"], r["已通过"], r["不通过"]) == (1, 2, 3, 0)
    assert (r["全部支付"], r["部分支付"], r["全未支付"]) == (3, 1, 2)
    prov = table(world, "prov11", rs.candidate_stats)
    r2 = prov.row("110002")
    assert (r2["报名人数"], r2["不通过"], r2["学籍考生"], r2["全未支付"]) == (4, 4, 2, 4)
    assert prov.total["报名人数"] == 10 and prov.total["不通过"] == 4 and prov.total["学籍考生"] == 3
    center = table(world, "center", rs.candidate_stats)
    assert center.total["全部支付"] == 8 and center.total["无需审核"] == 6
    # every split adds up to 报名人数
    for row in center.records():
        n = row["报名人数"]
        assert row["集体报名"] + row["考生注册"] == n
        assert row["无需审核"] + row["待审核"] + row["已通过"] + row["不通过"] == n
        assert row["全部支付"] + row["部分支付"] + row["全未支付"] == n


def test_enrollment_without_registrations_counts_as_unpaid(world):
    cur = world.info["current_term"]
    with session_scope(world.engine) as s:
        ids = add_candidates(s, world.orgs["110003"], cur, 1, (), start=40)
    r = table(world, "site110003", rs.candidate_stats).row("110003")
    assert r["报名人数"] == 1 and r["全未支付"] == 1 and r["全部支付"] == 0
    assert ids


# ---------------------------------------------------------------- 科目容量统计
def test_capacity_level_classification():
    lv = rs.capacity_level
    assert lv(None, 5) == rs.UNSET
    assert lv(0, 0) == rs.CLOSED
    assert lv(100, 10, site_open=False) == rs.CLOSED
    assert lv(99999, 50000) == rs.UNLIMITED and lv(100000, 0) == rs.UNLIMITED
    assert lv(100, 100) == rs.FULL and lv(100, 120) == rs.FULL
    assert lv(100, 91) == rs.LOW and lv(100, 90) == rs.OK  # 9 left < 10 %; 10 left is 10 %
    assert lv(100, 0) == rs.OK
    assert rs.capacity_cells(100, 91) == (100, 9, rs.LOW)
    assert rs.capacity_cells(99999, 3) == ("不限", "不限", rs.UNLIMITED)
    assert rs.capacity_cells(None, 3)[:2] == ("未设置", "未设置")
    assert rs.capacity_cells(0, 0)[:2] == ("不开考", "不开考")
    assert "background-color" in rs.level_style(rs.FULL) and rs.level_style(None) == ""
    assert set(rs.LEVELS) == {rs.OK, rs.LOW, rs.FULL, rs.UNLIMITED, rs.UNSET, rs.CLOSED}


def test_capacity_stats_remaining_and_levels(world):
    cur = world.info["current_term"]
    o = world.orgs
    with session_scope(world.engine) as s:
        s.execute(update(SiteSetting).where(SiteSetting.site_id == o["110001"], SiteSetting.term_id == cur)
                  .values(total_capacity=11))
        s.execute(update(SiteSetting).where(SiteSetting.site_id == o["110002"], SiteSetting.term_id == cur)
                  .values(is_open=False))
        set_cap(s, o["110001"], cur, "14", 6)  # 6 registered: full
        set_cap(s, o["110001"], cur, "24", 30)  # 3 registered: 27 left
        set_cap(s, o["110001"], cur, "15", 99999)  # 不限
        set_cap(s, o["110003"], cur, "24", None)  # 未设置
        name14 = f"(14) {s.scalar(select(Subject.name).where(Subject.code == '14'))}"
        name24 = f"(24) {s.scalar(select(Subject.name).where(Subject.code == '24'))}"
        name15 = f"(15) {s.scalar(select(Subject.name).where(Subject.code == '15'))}"
    t = table(world, "site110001", rs.capacity_stats)
    assert t.columns[:3] == ("考点", "(SS) 总科次数 总容量", "(SS) 总科次数 剩余容量")
    r = t.row("110001")
    assert r["(SS) 总科次数 总容量"] == 11 and r["(SS) 总科次数 剩余容量"] == 1  # 11 − 10 registered
    assert r[f"{name14} 总容量"] == 6 and r[f"{name14} 剩余容量"] == 0
    assert r[f"{name24} 总容量"] == 30 and r[f"{name24} 剩余容量"] == 27
    assert r[f"{name15} 总容量"] == "不限" and r[f"{name15} 剩余容量"] == "不限"
    lv = dict(zip(t.columns, t.levels[0]))
    assert lv["(SS) 总科次数 剩余容量"] == rs.LOW
    assert lv[f"{name14} 剩余容量"] == rs.FULL and lv[f"{name24} 剩余容量"] == rs.OK
    assert lv[f"{name15} 剩余容量"] == rs.UNLIMITED
    assert lv[f"{name14} 总容量"] is None  # only the remaining capacity is coloured

    prov = table(world, "prov11", rs.capacity_stats)
    r2 = prov.row("110002")  # set to 不开考: every capacity is invalid (§13.2)
    assert r2["(SS) 总科次数 总容量"] == "不开考" and r2[f"{name24} 剩余容量"] == "不开考"
    assert dict(zip(prov.columns, prov.levels[1]))[f"{name24} 剩余容量"] == rs.CLOSED
    r3 = prov.row("110003")
    assert r3[f"{name24} 总容量"] == "未设置"
    r4 = prov.row("110004")
    assert r4["(SS) 总科次数 总容量"] == 2400 and r4["(SS) 总科次数 剩余容量"] == 2400  # demo: 2000 + 100 × n
    # 合计: 不限 wins for subject 15; the total capacity sums the open sites with a limit
    assert prov.total[f"{name15} 总容量"] == "不限"
    assert prov.total["(SS) 总科次数 总容量"] == 11 + 2300 + 2400
    assert prov.total["(SS) 总科次数 剩余容量"] == 11 + 2300 + 2400 - 10
    # sites where a subject is not opened and nobody registered: blank cells
    with session_scope(world.engine) as s:
        opened = {sid for sid, in s.execute(select(SiteSubject.subject_id).where(
            SiteSubject.site_id == o["110004"], SiteSubject.term_id == cur))}
        s16 = subj(s, "16")
    if s16 not in opened:
        name16 = next(c for c in prov.columns if c.startswith("(16)"))
        assert r4[name16] is None
    chart = {(p["x"], p["series"]): p["value"] for p in t.chart}
    assert chart[(name24, "已报考")] == 3 and chart[(name24, "剩余容量")] == 27


def test_capacity_stats_past_term_and_no_data(world):
    t = table(world, "site110001", rs.capacity_stats, term="past")
    r = t.row("110001")
    assert r["(SS) 总科次数 总容量"] == 2100 and r["(SS) 总科次数 剩余容量"] == 2100 - 7


# ---------------------------------------------------------------- export
def test_export_is_audited_and_formula_safe(world):
    evil = "=HYPERLINK(\"http://evil\",\"点我\")"
    with session_scope(world.engine) as s:
        s.execute(update(Org).where(Org.id == world.orgs["110001"]).values(name=evil))
    a = world.actor("site110001")
    for kind in ("reg", "pay", "pay_subject", "candidate", "capacity"):
        with session_scope(world.engine) as s:
            data, name = rs.export_stats(s, a, kind)
        assert name.startswith(rs.TITLES[kind]) and name.endswith(".xlsx")
        ws = openpyxl.load_workbook(io.BytesIO(data)).active
        t = table(world, "site110001", rs.BUILDERS[kind])
        assert [c.value for c in ws[1]] == list(t.columns)
        assert ws.max_row == len(t.rows) + 1
        assert ws.cell(ws.max_row, 1).value == "合计"
        if kind != "pay_subject":
            assert ws["A2"].value == f"(110001){evil}" and ws["A2"].data_type == "s"
    with session_scope(world.engine) as s:
        logs = s.scalars(select(AuditLog).where(AuditLog.action == "export").order_by(AuditLog.id)).all()
    assert [x.entity for x in logs] == [rs.TITLES[k] for k in ("reg", "pay", "pay_subject", "candidate", "capacity")]
    assert all(x.org_id == world.orgs["110001"] and x.username == "site110001" for x in logs)
    ws = openpyxl.load_workbook(io.BytesIO(data)).active  # the last one: 科目容量统计
    assert ws["B2"].value == 2100 and ws["B2"].data_type == "n"  # numbers stay numbers


def test_unknown_kind_and_role(world):
    from core.errors import ValidationError
    with session_scope(world.engine) as s:
        with pytest.raises(ValidationError):
            rs.stats(s, world.actor("site110001"), "nope")
        a = world.actor("site110001")
        bad = a.__class__(**{**a.__dict__, "role": "candidate"})
        with pytest.raises(PermissionDenied):
            rs.reg_stats(s, bad)


def test_large_counts_are_computed_in_sql(world):
    """A few hundred 报考 at one site: the numbers are exact and only aggregate rows leave the database."""
    cur = world.info["current_term"]
    with session_scope(world.engine) as s:
        add_candidates(s, world.orgs["110004"], cur, 300, ("14", "24"), start=0, born="19990101", paid=True)
    t = table(world, "site110004", rs.reg_stats)
    assert t.total["报名人数"] == 300 and t.total["报考人次合计"] == 600
    p = table(world, "site110004", rs.pay_stats)
    assert p.total["已支付金额（元）"] == 48000.0


# ---------------------------------------------------------------- 取消考试信息查看 (§27)
@pytest.fixture
def cancelled(world):
    cur, past = world.info["current_term"], world.info["past_term"]
    o = world.orgs
    with session_scope(world.engine) as s:
        cands = s.scalars(select(Candidate).order_by(Candidate.id)).all()
        s14 = subj(s, "14")
        rows = [
            (o["110001"], cur, cands[0], "张三", "110101200001010011", "考点报错", NOW - timedelta(days=3)),
            (o["110001"], cur, cands[1], "=HYPERLINK(\"http://x\",\"y\")", "110101200001010020", "科目报错",
             NOW - timedelta(days=1)),
            (o["440101"], cur, cands[2], "李四", "440101200001010031", "其他原因", NOW),
            (o["110001"], past, cands[3], "王五", "110101200001010040", "往次取消", NOW - timedelta(days=100)),
        ]
        for site, term, c, name, idn, reason, at in rows:
            s.add(CancelledRegistration(term_id=term, site_id=site, candidate_id=c.id, subject_id=s14,
                                        id_type="居民身份证", id_number=idn, name=name, channel="individual",
                                        fee=80, paid=True, paid_at=at - timedelta(days=5),
                                        registered_at=at - timedelta(days=6), reason=reason,
                                        cancelled_by="考点管理员1（北京理工大学考点）", cancelled_at=at))
    return world


def _list(seed, user, term="current", **kw):
    with session_scope(seed.engine) as s:
        return listing.list_rows(s, seed.actor(user, term), CANCELLED, **kw)


def test_cancelled_list_scoped_masked_and_filtered(cancelled):
    page = _list(cancelled, "site110001")
    assert page.total == 2
    assert [r["name"] for r in page.rows] == ["=HYPERLINK(\"http://x\",\"y\")", "张三"]  # newest first
    r = page.rows[1]
    assert r["id_number"] == "110***********0011" and r["id_last4"] == "0011"
    assert r["reason"] == "考点报错" and r["cancelled_by"].startswith("考点管理员1")
    assert r["channel"] == "考生注册" and r["paid"] == "已支付" and r["fee"] == "80.00"
    assert r["subject"].startswith("(14) ")
    assert all("110001" in x["site"] for x in page.rows)
    assert _list(cancelled, "prov11").total == 2
    assert _list(cancelled, "prov44").total == 1
    assert _list(cancelled, "center").total == 3
    assert _list(cancelled, "site110001", term="past").total == 1
    # filters: the whole 证件号码 (no partial match on a masked number), 姓名, 取消时间 range
    assert _list(cancelled, "site110001", filters={"id_number": "110101200001010011"}).total == 1
    assert _list(cancelled, "site110001", filters={"id_number": "0011"}).total == 0
    assert _list(cancelled, "site110001", filters={"name": "张"}).total == 1
    day = (NOW - timedelta(days=1)).date()
    assert _list(cancelled, "site110001", filters={"cancelled_at": (day, day)}).total == 1
    assert _list(cancelled, "center", filters={"id_number": "440101200001010031"}).total == 1
    assert _list(cancelled, "site110001", filters={"id_number": "440101200001010031"}).total == 0
    with session_scope(cancelled.engine) as s:
        s14 = subj(s, "14")
        s24 = subj(s, "24")
    assert _list(cancelled, "center", filters={"subject_id": s14}).total == 3
    assert _list(cancelled, "center", filters={"subject_id": s24}).total == 0


def test_cancelled_export_masked_audited_formula_safe(cancelled):
    a = cancelled.actor("site110001")
    with session_scope(cancelled.engine) as s:
        data, name = listing.export_rows(s, a, CANCELLED, fmt="xlsx")
    assert name.startswith("取消考试信息查看")
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    header = [c.value for c in ws[1]]
    assert "证件号码(后4位)" in header and "证件号码" not in header and "取消原因" in header
    body = [dict(zip(header, [c.value for c in r])) for r in ws.iter_rows(min_row=2)]
    assert sorted(x["证件号码(后4位)"] for x in body) == ["0011", "0020"]
    assert all("1101012000" not in str(v) for x in body for v in x.values())
    link = next(c for r in ws.iter_rows(min_row=2) for c in r if str(c.value).startswith("=HYPERLINK"))
    assert link.data_type == "s"
    with session_scope(cancelled.engine) as s:
        log = s.scalars(select(AuditLog).where(AuditLog.action == "export")).all()
    assert len(log) == 1 and log[0].entity == "取消考试信息查看" and "2 条" in log[0].summary
    assert log[0].org_id == cancelled.orgs["110001"]
