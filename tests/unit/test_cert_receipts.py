"""证书领取确认单下载 (001 §52): readiness, the ZIP of PDFs per room plus the site summary, who may build it,
and the 考后资料下载时间 (§9) on the download."""
from __future__ import annotations

import re
import shutil
import subprocess
from datetime import datetime, timedelta

import pytest
from sqlalchemy import insert, select, update

from core.db import session_scope
from core.errors import DomainError, PermissionDenied
from core.models import AuditLog, Enrollment, ExamRoom, ExamSession, OpWindow, Registration, Score
from core.services import cert_receipts as cr
from core.services import generated as gen
from core.services import ticket_files as tf
from tests.factories import add_candidates, seat_all

SITE = "110001"

# score pattern by registration index: (score, flag)
PATTERN = [(95, ""), (85, ""), (65, ""), (40, ""), (90, "违纪"), (None, "缺考"), (60, ""), (59, "")]


def _world(seed, n=14, subjects=("14", "15"), capacity=5, site=SITE, pattern=PATTERN, scores=True):
    """n candidates × subjects, seated (rooms of `capacity`), then Score rows written directly. Returns
    (site id, term id, {registration id: (score, flag, ticket_no, name, id_number, room code)})."""
    sid, tid = seed.orgs[site], seed.info["current_term"]
    with session_scope(seed.engine) as s:
        add_candidates(s, sid, tid, n, subjects, paid=True)
        seat_all(s, sid, tid, capacity=capacity)
        regs = s.execute(select(Registration.id, Registration.subject_id, Registration.ticket_no, Enrollment.name,
                                Enrollment.id_number, ExamRoom.code)
                         .join(Enrollment, Enrollment.id == Registration.enrollment_id)
                         .join(ExamSession, ExamSession.id == Registration.session_id)
                         .join(ExamRoom, ExamRoom.id == ExamSession.room_id)
                         .where(Registration.site_id == sid, Registration.term_id == tid)
                         .order_by(Registration.id)).all()
        out, rows = {}, []
        for i, (rid, subj, ticket, name, idn, room) in enumerate(regs):
            score, flag = pattern[i % len(pattern)]
            out[rid] = (score, flag, ticket, name, idn, room)
            if scores:
                rows.append({"term_id": tid, "site_id": sid, "registration_id": rid, "subject_id": subj,
                             "ticket_no": ticket, "score": score, "flag": flag,
                             "cert_no": f"C{ticket[-8:]}" if score is not None and score >= 60 and not flag else None})
        if rows:
            s.execute(insert(Score), rows)
    return sid, tid, out


def _passed(info) -> dict:
    return {rid: v for rid, v in info.items() if v[0] is not None and v[0] >= 60 and not v[1]}


def pdf_text(data: bytes) -> str:
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext (poppler-utils) not installed")
    out = subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True)
    return out.stdout.decode("utf-8")


def pages_of(text: str) -> int:
    return text.rstrip("\f").count("\f") + 1


def _name_in(name: str, text: str) -> bool:
    return re.search(re.escape(name) + r"(?!\d)", text) is not None


def _generate(seed, sid, who="site" + SITE):
    a = seed.actor(who)
    with session_scope(seed.engine) as s:
        info = gen.generate(s, a, sid, "cert_receipt", cr.build_cert_receipts)
    with session_scope(seed.engine) as s:
        data, name = gen.download(s, a, sid, "cert_receipt")
    return info, data, name


# ---------------------------------------------------------------- bands and readiness
def test_bands():
    assert [cr.band_of(x) for x in (100, 90, 89, 80, 79, 60, 59, 0, None)] == \
           ["优秀", "优秀", "良好", "良好", "及格", "及格", "不及格", "不及格", ""]


def test_readiness_needs_scores_then_a_passed_candidate(seed):
    sid, tid, _ = _world(seed, n=4, scores=False)
    a = seed.actor("site" + SITE)
    with session_scope(seed.engine) as s:
        r = cr.readiness(s, a, sid)
    assert r.scores == 0 and "尚未导入成绩" in r.reason
    with session_scope(seed.engine) as s, pytest.raises(DomainError, match="尚未导入成绩"):
        gen.generate(s, a, sid, "cert_receipt", cr.build_cert_receipts)
    # scores, but nobody passed (fail, flagged, absent)
    with session_scope(seed.engine) as s:
        regs = s.execute(select(Registration.id, Registration.subject_id, Registration.ticket_no)
                         .where(Registration.site_id == sid)).all()
        s.execute(insert(Score), [{"term_id": tid, "site_id": sid, "registration_id": rid, "subject_id": subj,
                                   "ticket_no": t, "score": [30, 95, None][i % 3], "flag": ["", "作弊", "缺考"][i % 3]}
                                  for i, (rid, subj, t) in enumerate(regs)])
    with session_scope(seed.engine) as s:
        r = cr.readiness(s, a, sid)
    assert r.scores == len(regs) and r.passed == 0 and "没有合格的考生" in r.reason
    with session_scope(seed.engine) as s, pytest.raises(DomainError, match="没有合格的考生"):
        gen.generate(s, a, sid, "cert_receipt", cr.build_cert_receipts)
    # the upper level reads the same readiness (scope), another site does not
    with session_scope(seed.engine) as s:
        assert cr.readiness(s, seed.actor("prov11"), sid).passed == 0
    with session_scope(seed.engine) as s, pytest.raises(DomainError, match="不在您的管理范围"):
        cr.readiness(s, seed.actor("site110002"), sid)


# ---------------------------------------------------------------- the ZIP
def test_build_one_pdf_per_room_plus_summary(seed):
    sid, tid, info = _world(seed)
    passed = _passed(info)
    a = seed.actor("site" + SITE)
    with session_scope(seed.engine) as s:
        ready = cr.readiness(s, a, sid)
    assert ready.reason is None and ready.scores == len(info) and ready.passed == len(passed)
    ginfo, data, name = _generate(seed, sid)
    assert name == f"证书领取确认单_70_{SITE}.zip" and ginfo.rows == len(passed) and not ginfo.stale
    members = dict(tf.zip_pdf_members(data))
    rooms = sorted({v[5] for v in info.values()})
    assert ready.rooms == len({v[5] for v in passed.values()})
    expected = [f"{SITE}_证书领取确认单_汇总.pdf"] + [f"{SITE}_证书领取确认单_考场{r}.pdf"
                                                     for r in rooms if any(v[5] == r for v in passed.values())]
    assert list(members) == expected
    all_text = ""
    for room in rooms:
        key = f"{SITE}_证书领取确认单_考场{room}.pdf"
        if key not in members:
            continue
        text = pdf_text(members[key])
        all_text += text
        assert "证书领取确认单" in text and "全国计算机等级考试" in text and f"考场：{room}" in text
        for col in ("序号", "准考证号", "姓名", "证件号码", "科目", "成绩等级", "证书编号", "领取人签名", "领取日期"):
            assert col in text, col
        assert "经办人签名" in text and "考点负责人签名" in text and "考点盖章" in text
        in_room = [v for v in passed.values() if v[5] == room]
        n_pages = pages_of(text)
        assert n_pages == max(1, -(-len(in_room) // cr.ROWS_PER_PAGE))
        assert re.search(rf"第\s*1\s*页\s*共\s*{n_pages}\s*页", text)
        for score, _flag, ticket, name, idn, _room in in_room:
            assert ticket in text and _name_in(name, text) and idn in text  # full ID for the site's own admin
            assert cr.band_of(score) in text and f"C{ticket[-8:]}" in text
        # 准考证号 order within the room
        positions = [text.index(v[2]) for v in sorted(in_room, key=lambda v: v[2])]
        assert positions == sorted(positions)
        for rid, v in info.items():  # nobody failed, flagged or absent, and nobody from another room
            if rid not in passed or v[5] != room:
                assert v[2] not in text
    # a candidate none of whose subjects passed is named nowhere
    names_passed = {v[3] for v in passed.values()}
    failed_only = {v[3] for v in info.values()} - names_passed
    assert failed_only
    for nm in failed_only:
        assert not _name_in(nm, all_text)
    # the summary: per room × subject by band, with the grand total
    summary = pdf_text(members[f"{SITE}_证书领取确认单_汇总.pdf"])
    assert "证书领取汇总表" in summary and "合计" in summary and f"合格证书：{len(passed)} 本" in summary
    with session_scope(seed.engine) as s:
        table = cr.summary_table(cr.room_groups(cr.receipt_rows(s, a, sid)))
    assert table[-1][0] == "合计" and table[-1][-1] == len(passed)
    bands = {b: sum(1 for v in passed.values() if cr.band_of(v[0]) == b) for b in ("优秀", "良好", "及格")}
    assert table[-1][2:5] == [bands["优秀"], bands["良好"], bands["及格"]]
    site_rows = [r for r in table if r[0] == "全部考场"]  # several rooms: the site's figures per subject
    assert {r[1].split()[0] for r in site_rows} == {"14", "15"} and sum(r[-1] for r in site_rows) == len(passed)
    assert "全部考场" in summary
    with session_scope(seed.engine) as s:
        acts = [x for x, in s.execute(select(AuditLog.action).where(AuditLog.entity == "generated_file"))]
    assert acts == ["generate", "export"]


def test_long_room_paginates_and_stale_after_score_change(seed):
    sid, _tid, info = _world(seed, n=50, subjects=("14",), capacity=50, pattern=[(88, "")])
    _ginfo, data, _name = _generate(seed, sid)
    members = dict(tf.zip_pdf_members(data))
    text = pdf_text(members[f"{SITE}_证书领取确认单_考场01.pdf"])
    assert pages_of(text) == 3 and re.search(r"第\s*3\s*页\s*共\s*3\s*页", text)  # 50 rows, 20 a page
    assert all(v[2] in text for v in info.values())
    assert text.count("良好") == 50
    with session_scope(seed.engine) as s:
        # a later correction (updated_at has second resolution on SQLite: make it visibly later)
        s.execute(update(Score).where(Score.site_id == sid)
                  .values(score=70, updated_at=datetime.now() + timedelta(seconds=5)))
    with session_scope(seed.engine) as s:
        assert gen.generated_info(s, seed.actor("site" + SITE), sid, "cert_receipt").stale


def test_unarranged_passed_registration_is_kept_in_its_own_file(seed):
    sid, _tid, info = _world(seed, n=3, subjects=("14",), pattern=[(75, "")])
    rid = next(iter(info))
    with session_scope(seed.engine) as s:
        s.execute(update(Registration).where(Registration.id == rid).values(session_id=None, seat_no=None))
    _ginfo, data, _name = _generate(seed, sid)
    members = dict(tf.zip_pdf_members(data))
    assert f"{SITE}_证书领取确认单_{cr.NO_ROOM}.pdf" in members
    assert info[rid][2] in pdf_text(members[f"{SITE}_证书领取确认单_{cr.NO_ROOM}.pdf"])


# ---------------------------------------------------------------- who, and the window
def test_only_the_site_admin_builds_and_rows_are_masked_for_upper_levels(seed):
    sid, _tid, info = _world(seed, n=4)
    prov = seed.actor("prov11")
    with session_scope(seed.engine) as s, pytest.raises(PermissionDenied):
        gen.generate(s, prov, sid, "cert_receipt", cr.build_cert_receipts)
    with session_scope(seed.engine) as s:
        rows = cr.receipt_rows(s, prov, sid)
    assert rows and all("*" in r.id_number for r in rows)
    with session_scope(seed.engine) as s, pytest.raises(DomainError):
        gen.generate(s, seed.actor("site110002"), sid, "cert_receipt", cr.build_cert_receipts)
    with session_scope(seed.engine) as s, pytest.raises(DomainError, match="历史考次"):
        gen.generate(s, seed.actor("site" + SITE, term="past"), sid, "cert_receipt", cr.build_cert_receipts)


def test_download_only_inside_the_post_exam_window(seed):
    sid, tid, _info = _world(seed, n=4)
    a = seed.actor("site" + SITE)
    with session_scope(seed.engine) as s:
        s.execute(update(OpWindow).where(OpWindow.org_id == sid, OpWindow.term_id == tid,
                                         OpWindow.kind == "post_exam_download")
                  .values(start_at=datetime.now() + timedelta(days=3)))
    with session_scope(seed.engine) as s:  # generating is allowed
        info = gen.generate(s, a, sid, "cert_receipt", cr.build_cert_receipts)
    assert info.rows > 0
    with session_scope(seed.engine) as s, pytest.raises(DomainError, match="考后资料下载时间"):
        gen.download(s, a, sid, "cert_receipt")
    with session_scope(seed.engine) as s:
        s.execute(update(OpWindow).where(OpWindow.org_id == sid, OpWindow.term_id == tid,
                                         OpWindow.kind == "post_exam_download")
                  .values(start_at=datetime.now() - timedelta(days=1), end_at=datetime.now() - timedelta(hours=1)))
    with session_scope(seed.engine) as s, pytest.raises(DomainError, match="考后资料下载时间"):
        gen.download(s, a, sid, "cert_receipt")
    with session_scope(seed.engine) as s:
        s.execute(update(OpWindow).where(OpWindow.org_id == sid, OpWindow.term_id == tid,
                                         OpWindow.kind == "post_exam_download")
                  .values(end_at=datetime.now() + timedelta(days=1)))
    with session_scope(seed.engine) as s:
        data, name = gen.download(s, a, sid, "cert_receipt")
    assert name.endswith(".zip") and tf.zip_pdf_members(data)


def test_doc_title():
    assert cr.doc_title("2026年3月全国计算机等级考试") == "2026年3月全国计算机等级考试 证书领取确认单"
    assert cr.doc_title("第70次考试") == "第70次考试 全国计算机等级考试 证书领取确认单"
