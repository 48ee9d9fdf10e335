"""成绩管理 benchmark (001 §40, §43): prints figures, asserts nothing.

    .venv/bin/python -m tests.bench.bench_scores [--rows 100000] [--naive 5000]

On a temp SQLite file with the demo world: ROWS arranged and numbered 报考 at one site (bulk inserted), then
(1) the score CSV of every 报考 (core.services.scores.demo_score_csv, GBK);
(2) import_score_file(engine, actor, data, "成绩.csv", dry_run=False) with all three checks on — the engine
    reads, parses and checks every row, then one executemany INSERT — with its phases (progress callback);
(3) a second file (other scores, ~5 % flagged) with check_violation off: every score replaced (bulk UPDATE by
    id) and the flags written into the Violation table;
(4) the naive path on a subset: per row an ORM query of the 报考 by 准考证号 and session.add(Score), one
    commit; scaled to ROWS, and the ratio;
(5) 成绩信息下载: build_scores_dbf (query + dBase III GBK + ZIP) and build_scores_csv, and the DBF checked back
    with dbfread; the naive DBF writer of bench_dbf on the same records for a ratio.
Targets: import of 100,000 rows <= 8 s, DBF of 100,000 rows <= 5 s.
"""
from __future__ import annotations

import argparse
import io
import math
import os
import sys
import tempfile
import time
import zipfile
from datetime import datetime, time as dtime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
SITE = "110001"
TARGET_IMPORT, TARGET_DBF = 8.0, 5.0
TIMES = [(dtime(8, 30), dtime(10, 30)), (dtime(11, 0), dtime(13, 0)), (dtime(14, 0), dtime(16, 0))]


def populate(eng, regs: int):
    """The demo world plus REGS numbered 报考 at SITE (30 per 批次, 3 批次 per room); returns (actor, site id)."""
    import random

    from sqlalchemy import insert, select

    from core.auth import actor_for
    from core.db import session_scope
    from core.models import Candidate, Enrollment, ExamRoom, ExamSession, Org, Registration, SiteSubject, Subject, User
    from core.services.demo import load_demo
    from core.services.setup import create_admin

    rnd = random.Random(7)
    with session_scope(eng) as s:
        create_admin(s, "admin", password="Admin12345")
        info = load_demo(s, log=lambda *_: None, oces=False)
        tid = info["current_term"]
        site = s.scalar(select(Org).where(Org.code == SITE))
        subjects = [(sid, code) for sid, code in s.execute(
            select(SiteSubject.subject_id, Subject.code).join(Subject, Subject.id == SiteSubject.subject_id)
            .where(SiteSubject.site_id == site.id, SiteSubject.term_id == tid))]
        day = datetime.now().date() + timedelta(days=40)
        n_sessions = math.ceil(regs / 30)
        n_rooms = math.ceil(n_sessions / len(TIMES))
        sessions = []
        rooms = [{"term_id": tid, "site_id": site.id, "code": f"{r + 1:04d}", "address": f"机房{r + 1}"}
                 for r in range(n_rooms)]
        s.execute(insert(ExamRoom), rooms)
        room_ids = list(s.scalars(select(ExamRoom.id).where(ExamRoom.site_id == site.id).order_by(ExamRoom.code)))
        for r, rid in enumerate(room_ids):
            for k, (a, b) in enumerate(TIMES):
                sessions.append({"term_id": tid, "site_id": site.id, "room_id": rid, "seq": k + 1, "capacity": 30,
                                 "start_at": datetime.combine(day, a), "end_at": datetime.combine(day, b)})
        s.execute(insert(ExamSession), sessions)
        sess = s.execute(select(ExamSession.id, ExamRoom.code, ExamSession.seq).join(ExamRoom)
                         .where(ExamSession.site_id == site.id).order_by(ExamRoom.code, ExamSession.seq)).all()
        cands, enrs, rows = [], [], []
        cid, n = 10_000_000, 0
        while n < regs:
            k = min(regs - n, rnd.choices((1, 2, 3), (0.75, 0.2, 0.05))[0])
            cid += 1
            idn = f"B{cid:017d}"
            cands.append({"id": cid, "id_number": idn, "name": f"考生{cid}", "id_type": "居民身份证"})
            enrs.append({"id": cid, "term_id": tid, "site_id": site.id, "candidate_id": cid, "channel": "group",
                         "id_type": "居民身份证", "id_number": idn, "name": f"考生{cid}", "locked": False,
                         "is_registry": False, "photo_rejected": False})
            for subj, code in rnd.sample(subjects, k):
                sid, room, seq = sess[n // 30]
                seat = n % 30 + 1
                rows.append({"term_id": tid, "site_id": site.id, "candidate_id": cid, "enrollment_id": cid,
                             "subject_id": subj, "channel": "group", "fee": 80, "paid": True, "session_id": sid,
                             "seat_no": seat, "ticket_no": f"{code:0>2}70{SITE}{room}{seq:02d}{seat:02d}"})
                n += 1
        for model, data in ((Candidate, cands), (Enrollment, enrs), (Registration, rows)):
            for i in range(0, len(data), 5000):
                s.execute(insert(model), data[i:i + 5000])
        user = s.scalar(select(User).where(User.org_id == site.id, User.role == "site_admin"))
        return actor_for(s, user, tid), site.id, len(cands)


def naive_import(eng, actor, site_id: int, data: bytes, limit: int) -> tuple[float, int]:
    """The obvious path on the first `limit` rows: csv module, one ORM query per row, session.add, one commit."""
    import csv

    from sqlalchemy import select

    from core.db import session_scope
    from core.models import Registration
    from core.models.postexam import Score

    text = data.decode("gbk")
    reader = csv.reader(io.StringIO(text))
    next(reader)
    rows = [r for _, r in zip(range(limit), reader)]
    t = time.perf_counter()
    with session_scope(eng) as s:
        s.query(Score).delete()
        for ticket, _name, _idn, _code, score, flag, cert in rows:
            reg = s.scalar(select(Registration).where(Registration.term_id == actor.term_id,
                                                      Registration.site_id == site_id,
                                                      Registration.ticket_no == ticket))
            s.add(Score(term_id=actor.term_id, site_id=site_id, registration_id=reg.id, subject_id=reg.subject_id,
                        ticket_no=ticket, score=int(score) if score else None, flag=flag, cert_no=cert or None,
                        imported_at=datetime.now()))
    return time.perf_counter() - t, len(rows)


def timed_import(eng, actor, data: bytes, **opts):
    from core.imports.specs_scores import import_score_file

    marks: list[tuple[float, str]] = []
    t0 = time.perf_counter()
    res = import_score_file(eng, actor, data, "成绩.csv", dry_run=False,
                            progress=lambda f, txt: marks.append((time.perf_counter() - t0, txt)), **opts)
    total = time.perf_counter() - t0
    phases = [f"{txt.split('…')[0]} @{at:.2f}s" for at, txt in marks]
    return total, res, phases


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--naive", type=int, default=5_000, help="rows of the naive ORM path (scaled to --rows)")
    args = ap.parse_args(argv)
    os.environ.setdefault("KAOWU_BCRYPT_ROUNDS", "4")
    tmp = Path(tempfile.mkdtemp(prefix="kaowu-bench-scores-"))
    os.environ["KAOWU_FILE_STORE"] = str(tmp / "files")
    from core.db import make_engine, session_scope
    from core.models import Org
    from core.services import scores
    from core.services.setup import migrate

    print(f"Kaowu score bench — {datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} CPU, Python "
          f"{sys.version.split()[0]}, SQLite, {args.rows} 报考 at one site")
    eng = make_engine(f"sqlite:///{tmp / 'bench.db'}")
    migrate(eng)
    t = time.perf_counter()
    actor, site_id, people = populate(eng, args.rows)
    print(f"    set-up: {people} candidates, {args.rows} numbered 报考 in {time.perf_counter() - t:.1f} s")

    t = time.perf_counter()
    with session_scope(eng) as s:
        data = scores.demo_score_csv(s, actor.term_id, site_id)
    lines = data.count(b"\n") - 1
    print(f"(1) score CSV: {len(data) / 1024 / 1024:.1f} MB, {lines} rows "
          f"in {time.perf_counter() - t:.2f} s")

    total, res, phases = timed_import(eng, actor, data)
    ok = "OK" if total <= TARGET_IMPORT else "MISSED"
    print(f"(2) import (all checks on):  {total:.2f} s  [{ok}, target {TARGET_IMPORT:.0f} s]  written {res.written}, "
          f"errors {res.error_rows}, {res.written / total:,.0f} rows/s")
    print("    phases: " + " → ".join(phases))
    with session_scope(eng) as s:
        data2 = scores.demo_score_csv(s, actor.term_id, site_id, seed=71, invent_flags=True)
    total2, res2, _ = timed_import(eng, actor, data2, check_violation=False)
    print(f"(3) re-import (replace every score, flags → 违规信息): {total2:.2f} s  written {res2.written}; "
          f"{res2.summary.get('message', '')}")

    slow, n = naive_import(eng, actor, site_id, data, args.naive)
    scaled = slow * args.rows / max(n, 1)
    print(f"(4) naive ORM per row: {slow:.2f} s for {n} rows → {scaled:.1f} s scaled to {args.rows} "
          f"(ratio naive/engine {scaled / total:.1f}×; the naive path checks nothing)")
    timed_import(eng, actor, data2, check_violation=False)  # the scores back for the downloads

    with session_scope(eng) as s:
        site = s.get(Org, site_id)
        t = time.perf_counter()
        built = scores.build_scores_dbf(s, actor, site, {}, lambda *_: None)
        dbf_t = time.perf_counter() - t
        t = time.perf_counter()
        built_csv = scores.build_scores_csv(s, actor, site, {}, lambda *_: None)
        csv_t = time.perf_counter() - t
        t = time.perf_counter()
        records = list(scores.score_rows(s, actor.term_id, site))
        query_t = time.perf_counter() - t
    ok = "OK" if dbf_t <= TARGET_DBF else "MISSED"
    print(f"(5) DBF download built: {dbf_t:.2f} s  [{ok}, target {TARGET_DBF:.0f} s]  {built.rows} records, "
          f"ZIP {len(built.data) / 1024 / 1024:.1f} MB (of which the query alone {query_t:.2f} s)")
    print(f"    CSV download built: {csv_t:.2f} s  {built_csv.rows} records, "
          f"{len(built_csv.data) / 1024 / 1024:.1f} MB")
    from core.exports.dbf import write_dbf
    from tests.bench.bench_dbf import naive_dbf

    t = time.perf_counter()
    write_dbf(scores.SCORE_DBF_FIELDS, records, "gbk")
    fast = time.perf_counter() - t
    t = time.perf_counter()
    naive_dbf(scores.SCORE_DBF_FIELDS, records)
    slow = time.perf_counter() - t
    print(f"    DBF writer alone {fast:.2f} s vs naive writer {slow:.2f} s (ratio {slow / fast:.1f}×)")
    try:
        from dbfread import DBF

        with zipfile.ZipFile(io.BytesIO(built.data)) as z:
            (tmp / "s.dbf").write_bytes(z.read(z.namelist()[0]))
        t = time.perf_counter()
        n = sum(1 for _ in DBF(str(tmp / "s.dbf"), encoding="gbk", char_decode_errors="strict"))
        print(f"    dbfread reads it back: {n} records in {time.perf_counter() - t:.2f} s")
    except ImportError:
        print("    dbfread not installed: read-back skipped")
    eng.dispose()
    import shutil
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
