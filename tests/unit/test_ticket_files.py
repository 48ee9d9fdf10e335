"""考场统计 (§33), the ticket/sign-in/seating builders (§34/35/50/51), 考生准考证预生成 and its check (§36),
the candidate's download (§10, §36.4) and 考生下载准考证统计 (§37)."""
from __future__ import annotations

import io
import shutil
import subprocess
from datetime import datetime, timedelta

import openpyxl
import pytest
from sqlalchemy import func, select, update

from core.db import session_scope
from core.errors import DomainError, NotFound, PermissionDenied
from core.models import (
    AuditLog, CandidateTicket, Enrollment, OpWindow, Registration, SiteSetting, TicketDownload,
)
from core.services import generated as gen
from core.services import ticket_files as tf
from tests.factories import add_candidates, seat_all

SITE = "110001"


def _world(seed, n=12, subjects=("14", "15"), capacity=5, numbers=True, site=SITE):
    sid, tid = seed.orgs[site], seed.info["current_term"]
    with session_scope(seed.engine) as s:
        eids = add_candidates(s, sid, tid, n, subjects, paid=True)
        seat_all(s, sid, tid, capacity=capacity, numbers=numbers)
    return sid, tid, eids


def pdf_text(data: bytes) -> str:
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext (poppler-utils) not installed")
    out = subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True)
    return out.stdout.decode("utf-8")


def zip_text(data: bytes) -> tuple[list[str], str]:
    members = tf.zip_pdf_members(data)
    assert members, "the ZIP holds PDFs"
    return [m[0] for m in members], "\n".join(pdf_text(b) for _n, b in members)


# ---------------------------------------------------------------- §33 考场统计
def test_room_stats_figures_and_excel(seed):
    sid, tid, _ = _world(seed, n=12, subjects=("14", "15"), capacity=5)  # 12 per slot -> 3 rooms × 3 sessions
    actor = seed.actor("site" + SITE)
    with session_scope(seed.engine) as s:
        st = tf.room_stats(s, actor, sid)
    assert st.rooms == 3 and st.sessions == 9
    assert st.session_header[:8] == ["考场号", "批次号", "考场地址", "开始时间", "结束时间", "容量", "已编排", "剩余"]
    total = st.session_rows[-1]
    assert total[0] == "合计" and total[5] == 45 and total[6] == 24 and total[7] == 21
    first = st.session_rows[0]
    assert first[:2] == ["01", "01#1"] and first[5:8] == [5, 5, 0]
    # subject sheet: 12 of each subject, all arranged
    subj = {r[0]: r for r in st.subject_rows}
    assert subj["14"][2:5] == [12, 12, 0] and subj["15"][2:5] == [12, 12, 0] and subj["合计"][3] == 24
    # exam-day sheet: one day
    assert len(st.day_rows) == 2 and st.day_rows[0][3] == 24

    with session_scope(seed.engine) as s:
        info = gen.generate(s, actor, sid, "room_stats", tf.build_room_stats)
    assert info.rows == 9 and info.filename.endswith(".xlsx") and not info.stale
    with session_scope(seed.engine) as s:
        data, name = gen.download(s, actor, sid, "room_stats")
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["考场批次统计", "科目统计", "考试日统计"]
    rows = list(wb["考场批次统计"].iter_rows(values_only=True))
    assert rows[0][:8] == tuple(st.session_header[:8]) and len(rows) == 1 + 9 + 1
    assert rows[-1][0] == "合计" and rows[-1][6] == 24
    assert isinstance(rows[1][0], str) and rows[1][0] == "01"  # codes stay text
    subj_rows = {r[0]: r for r in wb["科目统计"].iter_rows(values_only=True)}
    assert subj_rows["14"][3] == 12 and subj_rows["15"][3] == 12
    with session_scope(seed.engine) as s:
        acts = [a for a, in s.execute(select(AuditLog.action).where(AuditLog.entity == "generated_file"))]
    assert acts == ["generate", "export"]


def test_room_stats_unarranged_counts_and_not_ready(seed):
    sid, tid = seed.orgs[SITE], seed.info["current_term"]
    with session_scope(seed.engine) as s:
        add_candidates(s, sid, tid, 4, ("14",), paid=True)
        seat_all(s, sid, tid, capacity=5)
        add_candidates(s, sid, tid, 2, ("14",), start=50, paid=True)  # registered after arrangement
    actor = seed.actor("site" + SITE)
    with session_scope(seed.engine) as s:
        st = tf.room_stats(s, actor, sid)
        ready = tf.readiness(s, actor, sid, numbers=False)
    assert {r[0]: r for r in st.subject_rows}["14"][2:5] == [6, 4, 2]
    assert ready.reason and "未编排" in ready.reason and ready.placed == 4
    with session_scope(seed.engine) as s, pytest.raises(DomainError, match="未编排"):
        gen.generate(s, actor, sid, "room_stats", tf.build_room_stats)


def test_readiness_asks_for_ticket_numbers(seed):
    sid, _tid, _ = _world(seed, n=3, subjects=("14",), numbers=False)
    actor = seed.actor("site" + SITE)
    with session_scope(seed.engine) as s:
        assert tf.readiness(s, actor, sid, numbers=False).reason is None
        r = tf.readiness(s, actor, sid)
    assert r.reason and "准考证号" in r.reason and r.numbered == 0 and r.placed == 3


def test_room_stats_stale_after_a_change(seed):
    sid, _tid, _ = _world(seed, n=6, subjects=("14",))
    actor = seed.actor("site" + SITE)
    with session_scope(seed.engine) as s:
        gen.generate(s, actor, sid, "room_stats", tf.build_room_stats)
        assert gen.generated_info(s, actor, sid, "room_stats").stale is False
    with session_scope(seed.engine) as s:
        r = s.scalar(select(Registration).where(Registration.site_id == sid).order_by(Registration.id).limit(1))
        r.seat_no = 29
    with session_scope(seed.engine) as s:
        assert gen.generated_info(s, actor, sid, "room_stats").stale is True


def test_upper_levels_see_status_but_cannot_generate_and_other_sites_refused(seed):
    sid, _tid, _ = _world(seed, n=3, subjects=("14",))
    with session_scope(seed.engine) as s:
        gen.generate(s, seed.actor("site" + SITE), sid, "room_stats", tf.build_room_stats)
    prov = seed.actor("prov11")
    with session_scope(seed.engine) as s:
        assert gen.generated_info(s, prov, sid, "room_stats") is not None
        assert tf.room_stats(s, prov, sid).sessions == 3  # the live figures are visible
        with pytest.raises(PermissionDenied):
            gen.generate(s, prov, sid, "room_stats", tf.build_room_stats)
        with pytest.raises(PermissionDenied):
            gen.download(s, prov, sid, "room_stats")
    other = seed.actor("site110002")
    with session_scope(seed.engine) as s:
        with pytest.raises(NotFound):
            gen.generate(s, other, sid, "room_stats", tf.build_room_stats)
        with pytest.raises(NotFound):
            tf.room_stats(s, other, sid)
    guangdong = seed.actor("prov44")
    with session_scope(seed.engine) as s, pytest.raises(NotFound):
        tf.download_stats(s, guangdong, sid)


# ---------------------------------------------------------------- §34/§35 tickets, §50/§51 sheets
def _ticket_nos(seed, sid) -> list[tuple[str, str, str | None]]:
    with session_scope(seed.engine) as s:
        return s.execute(select(Registration.ticket_no, Enrollment.name, Enrollment.class_name)
                         .join(Enrollment, Enrollment.id == Registration.enrollment_id)
                         .where(Registration.site_id == sid).order_by(Registration.ticket_no)).all()


@pytest.mark.parametrize("kind,build", [("tickets_small", tf.build_tickets_small),
                                        ("tickets_large", tf.build_tickets_large)])
def test_ticket_zip_has_every_ticket_in_the_chosen_order(seed, kind, build):
    sid, _tid, _ = _world(seed, n=7, subjects=("14", "15"), capacity=4)
    with session_scope(seed.engine) as s:  # two classes, to see 按班级
        s.execute(update(Enrollment).where(Enrollment.site_id == sid, Enrollment.name.in_(["考生1", "考生3"]))
                  .values(class_name="计算机二班"))
    actor = seed.actor("site" + SITE)
    with session_scope(seed.engine) as s:
        info = gen.generate(s, actor, sid, kind, build, tf.order_options("class"))
    assert info.rows == 14 and info.options["order_label"] == "按班级" and info.filename.endswith(".zip")
    with session_scope(seed.engine) as s:
        data, _ = gen.download(s, actor, sid, kind)
    names, text = zip_text(data)
    assert all(n.endswith(".pdf") for n in names)
    tickets = _ticket_nos(seed, sid)
    for no, name, _cls in tickets:
        assert no in text and name in text
    if kind == "tickets_large":
        assert "考生须知" in text
    # 按班级: the 计算机二班 tickets (考生1, 考生3) come before the 会计一班 ones? classes sort by name
    order = sorted(tickets, key=lambda t: (t[2] or "", t[0]))
    positions = [text.index(no) for no, _n, _c in order]
    assert positions == sorted(positions)


def test_ticket_builders_refuse_without_numbers(seed):
    sid, _tid, _ = _world(seed, n=3, subjects=("14",), numbers=False)
    actor = seed.actor("site" + SITE)
    for kind, build in (("tickets_small", tf.build_tickets_small), ("signin", tf.build_signin),
                        ("seating", tf.build_seating)):
        with session_scope(seed.engine) as s, pytest.raises(DomainError, match="准考证号"):
            gen.generate(s, actor, sid, kind, build)


def test_signin_and_seating_one_pdf_per_session(seed):
    sid, _tid, _ = _world(seed, n=6, subjects=("14", "15"), capacity=4)  # 6 per slot -> 2 rooms × 2 used slots
    actor = seed.actor("site" + SITE)
    with session_scope(seed.engine) as s:
        n_sessions = s.scalar(select(func.count(func.distinct(Registration.session_id)))
                              .where(Registration.site_id == sid))
        a = gen.generate(s, actor, sid, "signin", tf.build_signin)
        b = gen.generate(s, actor, sid, "seating", tf.build_seating)
    assert a.rows == b.rows == n_sessions == 4
    tickets = _ticket_nos(seed, sid)
    for kind, word in (("signin", "签到"), ("seating", "座次")):
        with session_scope(seed.engine) as s:
            data, _ = gen.download(s, actor, sid, kind)
        names, text = zip_text(data)
        assert len(names) == n_sessions and "01#1" in " ".join(names)
        assert word in text
        for no, name, _c in tickets:
            assert no in text and name in text


# ---------------------------------------------------------------- §36 pre-generation and its check
def test_pregenerate_check_and_incremental(seed):
    sid, tid, eids = _world(seed, n=5, subjects=("14", "15"))
    actor = seed.actor("site" + SITE)
    with session_scope(seed.engine) as s:
        rep = tf.check_pregenerated(s, actor, sid)
    assert rep.counts == {tf.OK: 0, tf.MISSING: 5, tf.STALE: 0, tf.EXTRA: 0} and not rep.complete
    with session_scope(seed.engine) as s:
        res = tf.pregenerate(s, actor, sid)
    assert (res.generated, res.unchanged, res.removed) == (5, 0, 0)
    with session_scope(seed.engine) as s:
        rep = tf.check_pregenerated(s, actor, sid)
        ct = s.scalar(select(CandidateTicket).where(CandidateTicket.enrollment_id == eids[0]))
        from core.workflow import file_path
        pdf = file_path(ct.sha256).read_bytes()
    assert rep.counts[tf.OK] == 5 and rep.complete
    text = pdf_text(pdf)
    assert "考生0" in text and "考生须知" in text and "考生1" not in text
    with session_scope(seed.engine) as s:  # both subjects of the candidate in the one PDF
        nos = s.scalars(select(Registration.ticket_no).where(Registration.enrollment_id == eids[0])).all()
    assert len(nos) == 2 and all(no in text for no in nos)

    # change: one candidate's name, another's seat, a third loses its arrangement
    with session_scope(seed.engine) as s:
        s.execute(update(Enrollment).where(Enrollment.id == eids[1]).values(name="改名考生"))
        r = s.scalar(select(Registration).where(Registration.enrollment_id == eids[2]).limit(1))
        r.seat_no = 30
        s.execute(update(Registration).where(Registration.enrollment_id == eids[3])
                  .values(session_id=None, seat_no=None, ticket_no=None))
    with session_scope(seed.engine) as s:
        rep = tf.check_pregenerated(s, actor, sid)
    assert rep.counts == {tf.OK: 2, tf.MISSING: 0, tf.STALE: 2, tf.EXTRA: 1}
    states = {r["enrollment_id"]: r["state"] for r in rep.rows}
    assert states[eids[1]] == states[eids[2]] == tf.STALE and states[eids[3]] == tf.EXTRA
    assert all("*" in r["证件号码"] for r in rep.rows)  # masked in the report
    # the report as Excel, audited
    with session_scope(seed.engine) as s:
        data, name = tf.export_pregen_check(s, actor, sid)
    wb = openpyxl.load_workbook(io.BytesIO(data))
    summary = {r[0]: r[1] for r in wb["检测汇总"].iter_rows(min_row=2, values_only=True)}
    assert summary["已过期（数据已变动）"] == 2 and summary["多余（考生已无编排）"] == 1 and summary["合计"] == 5
    assert wb["考生明细"].max_row == 6
    # regenerate (after removing the extra candidate's other registration too, so the site is arranged)
    with session_scope(seed.engine) as s:
        s.execute(Registration.__table__.delete().where(Registration.enrollment_id == eids[3]))
    with session_scope(seed.engine) as s:
        res = tf.pregenerate(s, actor, sid)
    assert (res.generated, res.unchanged, res.removed) == (2, 2, 1)
    with session_scope(seed.engine) as s:
        rep = tf.check_pregenerated(s, actor, sid)
        audits = s.execute(select(AuditLog.action, AuditLog.summary).where(AuditLog.entity == "candidate_ticket")).all()
    assert rep.counts == {tf.OK: 4, tf.MISSING: 0, tf.STALE: 0, tf.EXTRA: 0}
    assert [a for a, _ in audits] == ["generate", "export", "generate"]


def test_pregenerate_rules(seed):
    sid, tid, _ = _world(seed, n=2, subjects=("14",), numbers=False)
    actor = seed.actor("site" + SITE)
    with session_scope(seed.engine) as s, pytest.raises(DomainError, match="准考证号"):
        tf.pregenerate(s, actor, sid)
    with session_scope(seed.engine) as s, pytest.raises(PermissionDenied):
        tf.pregenerate(s, seed.actor("city1101"), sid)
    with session_scope(seed.engine) as s:
        s.execute(update(SiteSetting).where(SiteSetting.site_id == sid, SiteSetting.term_id == tid)
                  .values(allow_self_print=False))
    with session_scope(seed.engine) as s, pytest.raises(DomainError, match="不允许考生个人打印"):
        tf.pregenerate(s, actor, sid)


def test_pregenerate_in_worker_processes(seed, monkeypatch):
    sid, _tid, eids = _world(seed, n=6, subjects=("14",))
    monkeypatch.setattr(tf, "PREGEN_PARALLEL_MIN", 2)
    monkeypatch.setattr(tf, "PREGEN_BATCH", 2)
    with session_scope(seed.engine) as s:
        res = tf.pregenerate(s, seed.actor("site" + SITE), sid, workers=2)
    assert res.generated == 6
    from core.workflow import file_path
    with session_scope(seed.engine) as s:
        by = {e: sha for e, sha in s.execute(select(CandidateTicket.enrollment_id, CandidateTicket.sha256))}
    for i, eid in enumerate(eids):  # each PDF belongs to its own candidate (results kept in order)
        assert f"考生{i}" in pdf_text(file_path(by[eid]).read_bytes())


# ---------------------------------------------------------------- candidate download and §37
def _set_print_start(seed, sid, start):
    with session_scope(seed.engine) as s:
        s.execute(update(OpWindow).where(OpWindow.org_id == sid, OpWindow.kind == "ticket_print",
                                         OpWindow.term_id == seed.info["current_term"]).values(start_at=start))


def test_candidate_download_rules_and_statistics(seed):
    sid, tid, eids = _world(seed, n=4, subjects=("14", "15"))
    with session_scope(seed.engine) as s:  # a fifth candidate with one subject only
        more = add_candidates(s, sid, tid, 1, ("14",), start=40, paid=True)
        seat_all(s, sid, tid, capacity=5)
    eids += more
    actor = seed.actor("site" + SITE)
    # not pre-generated yet
    with session_scope(seed.engine) as s, pytest.raises(DomainError, match="尚未生成"):
        tf.candidate_ticket_pdf(s, eids[0])
    with session_scope(seed.engine) as s:
        tf.pregenerate(s, actor, sid)
    # window not started
    later = datetime.now() + timedelta(days=3)
    _set_print_start(seed, sid, later)
    with session_scope(seed.engine) as s, pytest.raises(DomainError, match="准考证打印开始时间为"):
        tf.candidate_ticket_pdf(s, eids[0])
    _set_print_start(seed, sid, None)
    with session_scope(seed.engine) as s, pytest.raises(DomainError, match="尚未设置准考证打印开始时间"):
        tf.candidate_ticket_pdf(s, eids[0])
    _set_print_start(seed, sid, datetime.now() - timedelta(hours=1))
    # allowed: the candidate's own PDF, recorded and audited
    with session_scope(seed.engine) as s:
        data, name = tf.candidate_ticket_pdf(s, eids[0])
        tf.candidate_ticket_pdf(s, eids[0])  # a second download of the same candidate counts once
        tf.candidate_ticket_pdf(s, eids[4])
    assert data.startswith(b"%PDF") and name.endswith(".pdf") and "考生0" in pdf_text(data)
    with session_scope(seed.engine) as s:
        assert s.scalar(select(func.count()).select_from(TicketDownload)) == 3
        assert s.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.entity == "candidate_ticket", AuditLog.action == "export")) == 3
    # stale: the candidate's photo changed after pre-generation
    with session_scope(seed.engine) as s:
        s.execute(update(Enrollment).where(Enrollment.id == eids[1]).values(photo_sha256="0" * 64))
    with session_scope(seed.engine) as s, pytest.raises(DomainError, match="重新生成"):
        tf.candidate_ticket_pdf(s, eids[1])
    # §37: per subject (14: 5 candidates, 15: 4), downloaded by eids[0] (14, 15) and eids[4] (14)
    for who in ("site" + SITE, "prov11", "center"):
        with session_scope(seed.engine) as s:
            st = tf.download_stats(s, seed.actor(who), sid)
        rows = {r[0]: r for r in st.rows}
        assert rows["14"][2:5] == [5, 2, 3] and rows["14"][5] == pytest.approx(0.4)
        assert rows["15"][2:5] == [4, 1, 3]
        assert rows["合计（按人）"][2:5] == [5, 2, 3]
        assert st.self_print and st.started
    with session_scope(seed.engine) as s:
        data, name = tf.export_download_stats(s, seed.actor("prov11"), sid)
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    got = {r[0]: r for r in ws.iter_rows(min_row=2, values_only=True)}
    assert got["14"][3] == 2 and got["合计（按人）"][2] == 5
    with session_scope(seed.engine) as s:
        assert s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.entity == "ticket_download")) == 1
    # self print switched off: refused
    with session_scope(seed.engine) as s:
        s.execute(update(SiteSetting).where(SiteSetting.site_id == sid, SiteSetting.term_id == tid)
                  .values(allow_self_print=False))
    with session_scope(seed.engine) as s, pytest.raises(DomainError, match="不允许考生个人打印"):
        tf.candidate_ticket_pdf(s, eids[0])
    with session_scope(seed.engine) as s:
        assert tf.download_stats(s, actor, sid).self_print is False


def test_sample_ticket_preview(seed):
    sid, _tid, _ = _world(seed, n=2, subjects=("14",))
    with session_scope(seed.engine) as s:
        data, name = tf.sample_ticket(s, seed.actor("site" + SITE), sid)
    assert data.startswith(b"%PDF") and "考生" in pdf_text(data)
    png = tf.pdf_first_page_png(data)
    if shutil.which("pdftoppm"):
        assert png and png.startswith(b"\x89PNG")
    with session_scope(seed.engine) as s, pytest.raises(PermissionDenied):
        tf.sample_ticket(s, seed.actor("prov11"), sid)


# ---------------------------------------------------------------- 考前资料下载时间 (§9) on generated files
def test_sheets_generate_any_time_but_download_only_inside_the_pre_exam_window(seed):
    sid, tid, _ = _world(seed, n=6)
    a = seed.actor("site110001")
    with session_scope(seed.engine) as s:
        s.execute(update(OpWindow).where(OpWindow.org_id == sid, OpWindow.term_id == tid,
                                         OpWindow.kind == "pre_exam_download")
                  .values(start_at=datetime.now() + timedelta(days=3)))
    with session_scope(seed.engine) as s:  # generating is not restricted by the windows (§51.2)
        info = gen.generate(s, a, sid, "signin", tf.build_signin)
    assert info.rows == 4 and not info.stale  # one sheet per room session: 2 slots × 2 rooms of 5
    with session_scope(seed.engine) as s, pytest.raises(DomainError, match="考前资料下载时间"):
        gen.download(s, a, sid, "signin")
    with session_scope(seed.engine) as s:
        s.execute(update(OpWindow).where(OpWindow.org_id == sid, OpWindow.term_id == tid,
                                         OpWindow.kind == "pre_exam_download")
                  .values(start_at=datetime.now() - timedelta(hours=1)))
    with session_scope(seed.engine) as s:
        data, name = gen.download(s, a, sid, "signin")
    assert name.endswith(".zip") and tf.zip_pdf_members(data)
    with session_scope(seed.engine) as s:
        actions = [r.action for r in s.scalars(select(AuditLog).where(AuditLog.entity == "generated_file"))]
    assert actions.count("generate") == 1 and actions.count("export") == 1
