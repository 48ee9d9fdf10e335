"""考场管理 (§30), 考场编排管理 (§31) and 准考证号生成 (§32) services on SQLite and PostgreSQL."""
from __future__ import annotations

import io
import threading
from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta

import openpyxl
import pytest
from sqlalchemy import func, select, update

from core.db import session_scope
from core.errors import DomainError, NotFound, PermissionDenied, ReadOnlyTerm, ValidationError, WindowClosed
from core.models import AuditLog, ExamTerm, OpWindow, Org, Registration, SiteSubject, Subject
from core.models.arrange import ExamRoom, ExamSession
from core.services import arrangement as ar
from core.services.arrange_solver import conflict
from tests.factories import add_candidates, make_id_number

SITE = "110001"


def call(seed, user, fn, *args, **kw):
    with session_scope(seed.engine) as s:
        return fn(s, seed.actor(user), *args, **kw)


def day(seed, k: int = 0) -> date:
    with session_scope(seed.engine) as s:
        return s.get(ExamTerm, seed.info["current_term"]).exam_start.date() + timedelta(days=k)


def at(d: date, hhmm: str) -> datetime:
    h, m = hhmm.split(":")
    return datetime.combine(d, time(int(h), int(m)))


def candidates(seed, n, subjects=("14",), code=SITE, paid=True, start=0):
    with session_scope(seed.engine) as s:
        return add_candidates(s, seed.orgs[code], seed.info["current_term"], n, subjects, paid=paid, start=start)


PATTERN = [(time(8, 30), time(10, 30)), (time(11, 0), time(13, 0)), (time(14, 0), time(16, 0))]


def rooms(seed, codes=("07", "08"), days=(0,), capacity=20, user="site" + SITE):
    site = seed.orgs[user[4:]]
    ids = [call(seed, user, ar.add_room, site, c, f"教学楼A座{c}室") for c in codes]
    call(seed, user, ar.add_sessions_bulk, site, ids, [day(seed, k) for k in days], PATTERN, capacity)
    return ids


def placements(seed, code=SITE):
    with session_scope(seed.engine) as s:
        return s.execute(select(Registration.id, Registration.candidate_id, Registration.subject_id,
                                Registration.session_id, Registration.seat_no, Registration.ticket_no,
                                Registration.intent_date, ExamSession.start_at, ExamSession.end_at,
                                ExamSession.capacity)
                         .outerjoin(ExamSession, ExamSession.id == Registration.session_id)
                         .where(Registration.site_id == seed.orgs[code])).all()


def check_valid(rows):
    """No seat twice in a session, seats within capacity, a candidate's subjects more than 15 minutes apart."""
    seats = Counter((r.session_id, r.seat_no) for r in rows if r.session_id)
    assert max(seats.values(), default=1) == 1
    per_session = Counter(r.session_id for r in rows if r.session_id)
    for r in rows:
        if r.session_id:
            assert 1 <= r.seat_no <= r.capacity and per_session[r.session_id] <= r.capacity
    by_cand = defaultdict(list)
    for r in rows:
        if r.session_id:
            by_cand[r.candidate_id].append((r.start_at, r.end_at))
    for spans in by_cand.values():
        for i, a in enumerate(spans):
            for b in spans[i + 1:]:
                assert not conflict(*a, *b, 15)


# ---------------------------------------------------------------- §30 rooms and sessions
def test_rooms_and_sessions_validation(seed):
    site, d0 = seed.orgs[SITE], day(seed)
    me = "site" + SITE
    r07 = call(seed, me, ar.add_room, site, "07", "教学楼A座307", "机房")
    with pytest.raises(ValidationError, match="考场号 07 已存在"):
        call(seed, me, ar.add_room, site, "07")
    with pytest.raises(ValidationError, match="只能由 1–6 位数字"):
        call(seed, me, ar.add_room, site, "A1")
    with pytest.raises(ValidationError, match="不能为空"):
        call(seed, me, ar.add_room, site, "  ")
    s1 = call(seed, me, ar.add_session, r07, 30, at(d0, "08:30"), at(d0, "10:30"))
    for start, end, msg in ((at(d0, "07:30"), at(d0, "09:30"), "08:00~20:00"),
                            (at(d0, "19:00"), at(d0, "20:30"), "08:00~20:00"),
                            (at(d0, "12:00"), at(d0, "11:00"), "必须早于"),
                            (at(d0, "12:00"), at(d0 + timedelta(days=1), "11:00"), "同一考试日"),
                            (at(d0 - timedelta(days=1), "09:00"), at(d0 - timedelta(days=1), "11:00"), "不在本考次考试日期"),
                            (at(d0, "10:00"), at(d0, "12:00"), "重叠")):
        with pytest.raises(ValidationError, match=msg):
            call(seed, me, ar.add_session, r07, 30, start, end)
    with pytest.raises(ValidationError, match="容量须在"):
        call(seed, me, ar.add_session, r07, 0, at(d0, "14:00"), at(d0, "16:00"))
    # 08:00 and 20:00 themselves are allowed; touching sessions do not overlap
    call(seed, me, ar.add_session, r07, 30, at(d0, "18:00"), at(d0, "20:00"))
    call(seed, me, ar.add_session, r07, 30, at(d0, "10:30"), at(d0, "12:00"))
    # bulk: 2 rooms × 2 days × 3 times; 07 continues after its last number (07#4…)
    r08 = call(seed, me, ar.add_room, site, "08")
    with pytest.raises(ValidationError, match="重叠"):  # 07 already has 08:30–10:30 on day 0: nothing written
        call(seed, me, ar.add_sessions_bulk, site, [r07, r08], [d0, d0 + timedelta(days=1)], PATTERN, 30)
    got = call(seed, me, ar.add_sessions_bulk, site, [r07, r08], [d0 + timedelta(days=1), d0 + timedelta(days=2)],
               PATTERN, 25)
    assert len(got) == 12
    rs = {r.code: r for r in call(seed, me, ar.list_rooms, site)}
    assert [x.number for x in rs["07"].sessions] == ["07#1", "07#3", "07#2", *[f"07#{i}" for i in range(4, 10)]]
    assert [x.number for x in rs["08"].sessions] == [f"08#{i}" for i in range(1, 7)]
    assert rs["07"].address == "教学楼A座307" and rs["08"].capacity == 150
    with pytest.raises(ValidationError, match="08:00~20:00"):
        call(seed, me, ar.add_sessions_bulk, site, [r08], [d0], [(time(7, 0), time(9, 0))], 30)
    # edit and delete
    call(seed, me, ar.edit_room, r08, "09", "实验楼201", None)
    with pytest.raises(ValidationError, match="已存在"):
        call(seed, me, ar.edit_room, r08, "07")
    call(seed, me, ar.edit_session, s1, 40, at(d0, "08:00"), at(d0, "10:00"))
    call(seed, me, ar.delete_session, s1)
    call(seed, me, ar.delete_room, r08)
    rs = {r.code: r for r in call(seed, me, ar.list_rooms, site)}
    assert set(rs) == {"07"} and len(rs["07"].sessions) == 8
    with session_scope(seed.engine) as s:
        assert s.scalar(select(func.count()).select_from(ExamSession).where(ExamSession.site_id == site)) == 8
        acts = Counter((a, e) for a, e in s.execute(select(AuditLog.action, AuditLog.entity)
                                                    .where(AuditLog.org_id == site)))
    assert acts[("create", "考场")] == 2 and acts[("create", "批次")] == 4 and acts[("delete", "考场")] == 1
    assert acts[("update", "批次")] == 1 and acts[("update", "考场")] == 1 and acts[("delete", "批次")] == 1


def test_windows_roles_and_scope(seed):
    site = seed.orgs[SITE]
    rid = call(seed, "site" + SITE, ar.add_room, site, "01")
    for user in ("prov11", "city1101", "center"):
        with pytest.raises(PermissionDenied, match="上级机构只能查询查看"):
            call(seed, user, ar.add_room, site, "02")
        assert [r.code for r in call(seed, user, ar.list_rooms, site)] == ["01"]  # upper levels view
    with pytest.raises(NotFound):
        call(seed, "site110002", ar.add_room, site, "02")  # another site: out of scope
    with pytest.raises(NotFound):
        call(seed, "prov44", ar.list_rooms, site)
    with pytest.raises(NotFound):
        call(seed, "site110002", ar.delete_room, rid)
    with pytest.raises(NotFound):
        call(seed, "site110002", ar.subject_table, site)
    # past 考次: read-only
    with session_scope(seed.engine) as s:
        past = seed.actor("site" + SITE, term="past")
        with pytest.raises(ReadOnlyTerm):
            ar.add_room(s, past, site, "03")
    # the 编排时间 window closed
    with session_scope(seed.engine) as s:
        s.execute(update(OpWindow).where(OpWindow.org_id == site, OpWindow.kind == "arrangement",
                                         OpWindow.term_id == seed.info["current_term"])
                  .values(end_at=datetime.now() - timedelta(days=1)))
    for fn, args in ((ar.add_room, (site, "04")), (ar.arrange_auto, (site,)), (ar.generate_ticket_numbers, (site,)),
                     (ar.clear_arrangement, (site, None, None, True)), (ar.set_site_address, (site, "北京市某地址1号"))):
        with pytest.raises(WindowClosed, match="编排时间"):
            call(seed, "site" + SITE, fn, *args)
    assert call(seed, "site" + SITE, ar.list_rooms, site)  # still readable


def test_prerequisites_and_site_address(seed):
    site, me = seed.orgs[SITE], "site" + SITE
    with pytest.raises(DomainError, match="还没有考场批次"):
        candidates(seed, 2)
        call(seed, me, ar.arrange_auto, site)
    candidates(seed, 3, ("14", "15"), paid=False, start=10)
    with session_scope(seed.engine) as s:
        s.get(Org, site).address = None
    with pytest.raises(DomainError) as e:
        call(seed, me, ar.arrange_auto, site)
    assert "存在未支付的报考" in e.value.message and " 3 科次" in e.value.message and "(15)" in e.value.message
    assert "考点地址为空" in e.value.message
    with pytest.raises(ValidationError, match="不能为空"):
        call(seed, me, ar.set_site_address, site, " ")
    with pytest.raises(PermissionDenied):
        call(seed, "prov11", ar.set_site_address, site, "北京市海淀区某路1号")
    call(seed, me, ar.set_site_address, site, "北京市海淀区中关村南大街5号")
    assert call(seed, "prov11", ar.site_address, site)["address"] == "北京市海淀区中关村南大街5号"
    with session_scope(seed.engine) as s:
        s.execute(update(Registration).where(Registration.site_id == site).values(paid=True))
    rooms(seed)
    rep = call(seed, me, ar.arrange_auto, site)
    assert rep.placed == 8 and not rep.unplaced and "全部编排完成" in rep.message


# ---------------------------------------------------------------- §31 automatic arrangement
def test_auto_arrangement_valid_seats_and_table(seed):
    site, me = seed.orgs[SITE], "site" + SITE
    candidates(seed, 40, ("14", "15"))  # 80 报考 (90 minutes each), one candidate sits both
    candidates(seed, 5, ("14",), code="110002", start=500)  # another site: untouched
    rooms(seed, capacity=20)  # 2 rooms × 3 sessions × 20 = 120 seats on day 0
    table = call(seed, me, ar.subject_table, site)
    assert [r["科目代码"] for r in table] == ["14", "15", "总计"]
    assert table[-1]["总科次"] == 80 and table[-1]["未编排"] == 80 and table[-1]["已支付"] == 80
    rep = call(seed, me, ar.arrange_auto, site)
    assert rep.placed == 80 and rep.pending == 80 and not rep.unplaced
    assert "自动编排完成" in rep.message and "本次编排 80 科次" in rep.message
    rows = placements(seed)
    assert all(r.session_id for r in rows)
    check_valid(rows)
    # seats fill from 1 in each session
    by_session = defaultdict(list)
    for r in rows:
        by_session[r.session_id].append(r.seat_no)
    assert all(sorted(v) == list(range(1, len(v) + 1)) for v in by_session.values())
    table = call(seed, me, ar.subject_table, site)
    assert table[-1]["已编排"] == 80 and table[-1]["未编排"] == 0
    assert all(r.session_id is None for r in placements(seed, "110002"))
    # nothing left: a second run places nothing
    again = call(seed, me, ar.arrange_auto, site)
    assert again.placed == 0 and "没有待编排" in again.message
    # status for tickets and downloads
    with session_scope(seed.engine) as s:
        st = ar.arrangement_status(s, seed.info["current_term"], site)
        assert st == (80, 80, {}) and st.complete
        ar.require_arranged(s, seed.info["current_term"], site)
        audit = s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "arrange",
                                                                           AuditLog.org_id == site))
    assert audit == 2


def test_auto_report_lists_the_unplaced(seed):
    site, me = seed.orgs[SITE], "site" + SITE
    candidates(seed, 30, ("14",))
    rid = call(seed, me, ar.add_room, site, "01")
    d0 = day(seed)
    call(seed, me, ar.add_session, rid, 25, at(d0, "08:30"), at(d0, "10:30"))
    call(seed, me, ar.add_session, rid, 10, at(d0, "11:00"), at(d0, "12:00"))  # 60 minutes: too short for 14
    rep = call(seed, me, ar.arrange_auto, site)
    assert rep.placed == 25 and len(rep.unplaced) == 5
    u = rep.unplaced[0]
    assert u.name.startswith("考生") and "*" in u.id_number and u.subject.startswith("(14)") and "容量不足" in u.reason
    assert "未能编排 5 科次" in rep.message
    wb = openpyxl.load_workbook(io.BytesIO(rep.unplaced_xlsx()))
    data = list(wb.active.values)
    assert data[0] == tuple(ar.UNPLACED_HEADER) and len(data) == 6 and "容量不足" in data[1][3]
    with session_scope(seed.engine) as s:
        st = ar.arrangement_status(s, seed.info["current_term"], site)
        assert st.total == 30 and st.arranged == 25 and list(st.unarranged.values()) == [5]
        with pytest.raises(DomainError, match=r"存在未编排的科目：\(14\).* 5 科次"):
            ar.require_arranged(s, seed.info["current_term"], site)


def test_candidate_gap_and_busy_sessions(seed):
    """A candidate with two subjects gets two sessions more than 15 minutes apart, also across runs."""
    site, me = seed.orgs[SITE], "site" + SITE
    candidates(seed, 4, ("14", "15"))
    rid = call(seed, me, ar.add_room, site, "01")
    d0 = day(seed)
    a = call(seed, me, ar.add_session, rid, 10, at(d0, "08:30"), at(d0, "10:30"))
    call(seed, me, ar.add_session, rid, 10, at(d0, "10:40"), at(d0, "12:40"))  # 10 minutes later: conflicts
    rep = call(seed, me, ar.arrange_auto, site)
    assert rep.placed == 4 and len(rep.unplaced) == 4 and "时间冲突" in rep.unplaced[0].reason
    assert {r.session_id for r in placements(seed) if r.session_id} <= {a, a + 1}
    check_valid(placements(seed))
    call(seed, me, ar.add_session, rid, 10, at(d0, "13:00"), at(d0, "15:00"))
    rep = call(seed, me, ar.arrange_auto, site)  # busy = the places of the first run
    assert rep.placed == 4 and not rep.unplaced
    check_valid(placements(seed))


def test_subject_time_range_is_respected(seed):
    site, me = seed.orgs[SITE], "site" + SITE
    candidates(seed, 3, ("14",))
    with session_scope(seed.engine) as s:
        ss = s.scalar(select(SiteSubject).join(Subject, Subject.id == SiteSubject.subject_id)
                      .where(SiteSubject.site_id == site, Subject.code == "14",
                             SiteSubject.term_id == seed.info["current_term"]))
        rng = (ss.exam_start, ss.exam_end)
    rid = call(seed, me, ar.add_room, site, "01")
    d2 = day(seed, 2)  # the demo site's 14 runs on days 0–1 only
    assert d2 > rng[1].date()
    call(seed, me, ar.add_session, rid, 30, at(d2, "08:30"), at(d2, "10:30"))
    rep = call(seed, me, ar.arrange_auto, site)
    assert rep.placed == 0 and "没有符合条件的批次" in rep.unplaced[0].reason


# ---------------------------------------------------------------- manual modes and clearing
def intents(seed, ids_to_day: dict[int, date]):
    with session_scope(seed.engine) as s:
        for eid, d in ids_to_day.items():
            s.execute(update(Registration).where(Registration.enrollment_id == eid).values(intent_date=d))


def test_manual_modes_and_lists(seed):
    site, me = seed.orgs[SITE], "site" + SITE
    eids = candidates(seed, 10, ("14",))
    d0, d1 = day(seed), day(seed, 1)
    intents(seed, {eids[0]: d1, eids[1]: d1, eids[2]: d0})
    rooms(seed, codes=("01",), days=(0, 1), capacity=5)
    f = ar.PendingFilter(intent_first=True)
    rows, total = call(seed, me, ar.list_pending, site, f, 1, 4)
    assert total == 10 and len(rows) == 4
    assert [r["意向日期"] for r in rows[:3]] == [d0, d1, d1] and rows[3]["意向日期"] is None
    assert all("*" in r["证件号"] for r in rows) and rows[0]["科目"].startswith("(14)")
    _, n = call(seed, me, ar.list_pending, site, ar.PendingFilter(intent=True))
    _, m = call(seed, me, ar.list_pending, site, ar.PendingFilter(intent=False))
    assert (n, m) == (3, 7)
    _, one = call(seed, me, ar.list_pending, site, ar.PendingFilter(id_number=make_id_number(4)))
    _, named = call(seed, me, ar.list_pending, site, ar.PendingFilter(name="考生4"))
    assert one == 1 and named == 1
    sessions = call(seed, me, ar.list_sessions, site)
    assert [x["考场或批次号"] for x in sessions] == [f"01#{i}" for i in range(1, 7)]
    assert sessions[0]["总容量"] == 5 and sessions[0]["剩余容量"] == 5
    assert len(call(seed, me, ar.list_sessions, site, room_code="02")) == 0
    # mode 1: intent candidates only, on their date; others are skipped
    all_ids = call(seed, me, ar.pending_ids, site)
    rep = call(seed, me, ar.arrange_manual, site, all_ids, [x["id"] for x in sessions], True)
    assert rep.placed == 3 and rep.intent_total == 3 and rep.intent_honoured == 3 and len(rep.skipped) == 7
    assert "非意向考生" in rep.skipped[0].reason and "按考生意向编排" in rep.message
    for r in placements(seed):
        if r.session_id:
            assert r.intent_date == r.start_at.date()
    # mode 2: the selected candidates into the selected session only
    pend = call(seed, me, ar.pending_ids, site)
    assert len(pend) == 7
    target = sessions[5]["id"]
    rep = call(seed, me, ar.arrange_manual, site, pend[:6], [target], False)
    assert rep.placed == 5 and len(rep.unplaced) == 1  # capacity 5
    assert Counter(r.session_id for r in placements(seed) if r.session_id)[target] == 5
    rows, total = call(seed, me, ar.list_pending, site, ar.PendingFilter(state="arranged"))
    assert total == 8 and all(r["考场批次"].startswith("01#") and r["座位号"] for r in rows)
    table = call(seed, me, ar.subject_table, site)[-1]
    assert table["总意向科目"] == 3 and table["已编排符合意向科目"] == 3 and table["已编排不符合意向科目"] == 0
    # other sites' ids and sessions are refused
    other = candidates(seed, 1, code="110002", start=700)
    with session_scope(seed.engine) as s:
        other_reg = s.scalar(select(Registration.id).where(Registration.enrollment_id == other[0]))
    with pytest.raises(NotFound):
        call(seed, me, ar.arrange_manual, site, [other_reg], [target], False)
    with pytest.raises(ValidationError, match="请选择考场批次"):
        call(seed, me, ar.arrange_manual, site, pend, [], False)


def test_clear_and_delete_rules(seed):
    site, me = seed.orgs[SITE], "site" + SITE
    candidates(seed, 12, ("14",))
    r1, r2 = rooms(seed, capacity=10)
    call(seed, me, ar.arrange_auto, site)
    call(seed, me, ar.generate_ticket_numbers, site)
    rows = placements(seed)
    used = Counter(r.session_id for r in rows)
    busy_session = max(used, key=used.get)
    with pytest.raises(DomainError, match=r"已编排 \d+ 名考生.*《考场编排管理》"):
        call(seed, me, ar.delete_session, busy_session)
    room_of = {x.id: r.id for r in call(seed, me, ar.list_rooms, site) for x in r.sessions}
    with pytest.raises(DomainError, match="不能删除"):
        call(seed, me, ar.delete_room, room_of[busy_session])
    seated = used[busy_session]
    with pytest.raises(DomainError, match=f"容量不能小于 {seated}"):
        call(seed, me, ar.edit_session, busy_session, seated - 1, *_times(seed, busy_session))
    start, end = _times(seed, busy_session)
    with pytest.raises(DomainError, match="不能修改时间"):
        call(seed, me, ar.edit_session, busy_session, 10, start + timedelta(minutes=10), end + timedelta(minutes=10))
    call(seed, me, ar.edit_session, busy_session, seated, start, end)  # capacity down to what is seated: fine
    # clear selected candidates: place and ticket number go
    some = [r.id for r in rows if r.session_id][:2]
    assert call(seed, me, ar.clear_arrangement, site, reg_ids=some).cleared == 2
    after = {r.id: r for r in placements(seed)}
    assert all(after[i].session_id is None and after[i].seat_no is None and after[i].ticket_no is None for i in some)
    # clear a session, then it can be deleted
    n = call(seed, me, ar.clear_arrangement, site, session_ids=[busy_session]).cleared
    assert n == Counter(r.session_id for r in after.values())[busy_session]
    call(seed, me, ar.delete_session, busy_session)
    with pytest.raises(ValidationError, match="请先选择"):
        call(seed, me, ar.clear_arrangement, site)
    cleared = call(seed, me, ar.clear_arrangement, site, all=True)
    assert cleared.cleared == 12 - 2 - n and "清除所有编排" in cleared.message
    assert all(r.session_id is None and r.ticket_no is None for r in placements(seed))
    with session_scope(seed.engine) as s:
        assert s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "clear")) == 3


def _times(seed, session_id):
    with session_scope(seed.engine) as s:
        x = s.get(ExamSession, session_id)
        return x.start_at, x.end_at


# ---------------------------------------------------------------- §32 准考证号
def test_ticket_numbers(seed):
    site, me = seed.orgs[SITE], "site" + SITE
    candidates(seed, 30, ("14", "65"))
    rooms(seed, days=(0, 1), capacity=15)
    status = call(seed, me, ar.ticket_status, site)
    assert status.state == "流水号未生成" and "存在未编排的科目" in status.reason and "(14)" in status.reason
    with pytest.raises(DomainError, match=r"存在未编排的科目：\(14\).* 30 科次"):
        call(seed, me, ar.generate_ticket_numbers, site)
    call(seed, me, ar.arrange_auto, site)
    assert call(seed, me, ar.ticket_status, site).reason.startswith("60 科次尚未生成")
    with pytest.raises(PermissionDenied):
        call(seed, "prov11", ar.generate_ticket_numbers, site)
    rep = call(seed, me, ar.generate_ticket_numbers, site)
    assert (rep.total, rep.created, rep.changed, rep.unchanged) == (60, 60, 0, 0) and "新生成 60" in rep.message
    with session_scope(seed.engine) as s:
        term_code = s.get(ExamTerm, seed.info["current_term"]).code
        rows = s.execute(select(Registration.ticket_no, Subject.code, ExamRoom.code, ExamSession.seq,
                                Registration.seat_no)
                         .join(Subject, Subject.id == Registration.subject_id)
                         .join(ExamSession, ExamSession.id == Registration.session_id)
                         .join(ExamRoom, ExamRoom.id == ExamSession.room_id)
                         .where(Registration.site_id == site)).all()
    for no, subject, room, seq, seat in rows:
        assert len(no) == 16 and no.isdigit()
        assert no == f"{subject}{term_code}{SITE}{room}{seq:02d}{seat:02d}"
    assert len({r[0] for r in rows}) == 60
    st = call(seed, me, ar.ticket_status, site)
    assert st.generated and st.with_ticket == 60 and st.last_generated_by == me
    # idempotent
    again = call(seed, me, ar.generate_ticket_numbers, site)
    assert (again.created, again.changed, again.unchanged) == (0, 0, 60)
    # a room renamed: its numbers change, the others stay
    rid = call(seed, me, ar.list_rooms, site)[0].id
    call(seed, me, ar.edit_room, rid, "17")
    st = call(seed, me, ar.ticket_status, site)
    assert st.state == "流水号未生成" and st.stale > 0 and "不一致" in st.reason
    moved = call(seed, me, ar.generate_ticket_numbers, site)
    assert moved.changed == st.stale and moved.unchanged == 60 - st.stale and moved.created == 0
    # cleared and re-arranged: new numbers for those
    some = [r.id for r in placements(seed)][:3]
    call(seed, me, ar.clear_arrangement, site, reg_ids=some)
    with pytest.raises(DomainError, match="存在未编排"):
        call(seed, me, ar.generate_ticket_numbers, site)
    call(seed, me, ar.arrange_auto, site)
    rep = call(seed, me, ar.generate_ticket_numbers, site)
    assert rep.created == 3 and rep.total == 60
    with session_scope(seed.engine) as s:
        nos = s.scalars(select(Registration.ticket_no).where(Registration.site_id == site)).all()
        assert len(set(nos)) == 60 and None not in nos
        assert s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "generate")) == 4


def test_ticket_layouts(seed):
    site, me = seed.orgs[SITE], "site" + SITE
    lay = ar.parse_layout(None)
    assert lay.length == 16 and lay.text == ar.DEFAULT_LAYOUT and "科目代码 2 位" in lay.description
    for bad, msg in (("{subject:2}{foo:2}{site:6}{room:2}{session:2}{seat:2}", "未知"),
                     ("{site:6}{room:2}{session:2}{seat:0}", "位数须在"),
                     ("{site:6}{room:2}{session:2}", "必须包含"),
                     ("{site:6}-{room:2}{session:2}{seat:2}", "无效"),
                     ("{site:6}{room}{session:2}{seat:2}", "无效"),
                     ("{site:6}{room:2}{session:2}{seat:2}{seat:2}", "重复"),
                     ("{site:10}{room:10}{session:10}{seat:10}", "超过上限")):
        with pytest.raises(ValidationError, match=msg):
            ar.parse_layout(bad)
    with pytest.raises(PermissionDenied):
        call(seed, me, ar.set_ticket_layout, "{site:6}{room:3}{session:1}{seat:3}")
    assert call(seed, "center", ar.set_ticket_layout, "N{term:2}{site:6}{room:3}{session:1}{seat:3}") \
        == "N{term:2}{site:6}{room:3}{session:1}{seat:3}"
    info = call(seed, me, ar.ticket_layout)
    assert not info["default"] and info["example"].startswith("N") and len(info["example"]) == 16
    candidates(seed, 4, ("14",))
    rooms(seed, codes=("07",), capacity=10)
    call(seed, me, ar.arrange_auto, site)
    call(seed, me, ar.generate_ticket_numbers, site)
    with session_scope(seed.engine) as s:
        nos = sorted(s.scalars(select(Registration.ticket_no).where(Registration.site_id == site)))
        code = s.get(ExamTerm, seed.info["current_term"]).code
    assert nos[0] == f"N{code}{SITE}0071001"
    # a value that does not fit the width: clear message, nothing written
    call(seed, "center", ar.set_ticket_layout, "{site:6}{room:1}{session:1}{seat:2}")
    with pytest.raises(DomainError, match="考场号 07 超过 1 位"):
        call(seed, me, ar.generate_ticket_numbers, site)
    # back to the default (stored as None)
    call(seed, "center", ar.set_ticket_layout, "")
    with session_scope(seed.engine) as s:
        assert s.get(ExamTerm, seed.info["current_term"]).ticket_layout is None
    rep = call(seed, me, ar.generate_ticket_numbers, site)
    assert rep.changed == 4 and rep.unchanged == 0


# ---------------------------------------------------------------- export and concurrency
def test_export_rooms_xlsx(seed):
    site, me = seed.orgs[SITE], "site" + SITE
    rooms(seed, codes=("07", "08"), capacity=30)
    call(seed, me, ar.add_room, site, "09", "空考场")
    data = call(seed, "prov11", ar.export_rooms, site)  # an export: upper levels too
    wb = openpyxl.load_workbook(io.BytesIO(data))
    rows = list(wb.active.values)
    assert rows[0] == tuple(ar.ROOM_EXPORT_HEADER) and len(rows) == 1 + 6 + 1
    assert rows[1][0] == "07" and rows[1][3] == "07#1" and rows[1][4] == 30 and isinstance(rows[1][7], datetime)
    assert rows[-1][0] == "09" and rows[-1][3] is None
    with session_scope(seed.engine) as s:
        assert s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "export",
                                                                           AuditLog.entity == "考场")) == 1


def test_concurrent_runs_never_overfill(seed):
    """Three manual runs with different candidates and an automatic run at once, all into the same 45 seats:
    every session stays within capacity, no seat twice (the sessions are locked before they are counted)."""
    site, me = seed.orgs[SITE], "site" + SITE
    candidates(seed, 60, ("14",))
    rooms(seed, codes=("01",), capacity=15)  # 45 seats for 60
    actor = seed.actor(me)
    with session_scope(seed.engine) as s:
        ids = ar.pending_ids(s, actor, site)
        sessions = [x["id"] for x in ar.list_sessions(s, actor, site)]
    errors = []
    barrier = threading.Barrier(4)

    def run(part):
        barrier.wait()
        try:
            with session_scope(seed.engine) as s:
                if part is None:
                    ar.arrange_auto(s, actor, site)
                else:
                    ar.arrange_manual(s, actor, site, part, sessions, False)
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=run, args=(p,)) for p in (ids[0::3], ids[1::3], ids[2::3], None)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    rows = placements(seed)
    assert sum(1 for r in rows if r.session_id) == 45
    check_valid(rows)


def test_demo_site_arrangement(seed):
    """core.services.demo.arrange_demo_site: pays what is open (with consistent orders), builds rooms that fit,
    arranges everyone and numbers them; refuses a second run."""
    from core.models import PaymentOrder
    from core.services.demo import arrange_demo_site

    site = seed.orgs[SITE]
    candidates(seed, 40, ("14", "15"), paid=False)
    with session_scope(seed.engine) as s:
        out = arrange_demo_site(s, SITE, log=lambda *_: None)
    assert out["paid_now"] == 80 and out["placed"] == 80 and out["unplaced"] == 0 and out["tickets"] == 80
    assert out["rooms"] >= 1 and out["sessions"] == out["rooms"] * 3 * 2  # the site's subjects run on 2 days
    rows = placements(seed)
    check_valid(rows)
    assert all(r.session_id and r.ticket_no for r in rows)
    with session_scope(seed.engine) as s:
        regs = s.execute(select(Registration.paid, Registration.paid_at, PaymentOrder.state, PaymentOrder.item_count)
                         .join(PaymentOrder, PaymentOrder.id == Registration.order_id)
                         .where(Registration.site_id == site)).all()
        assert len(regs) == 80 and all(p and at and st == "paid" and n == 2 for p, at, st, n in regs)
        with pytest.raises(ValueError, match="只能载入一次"):
            arrange_demo_site(s, SITE, log=lambda *_: None)
