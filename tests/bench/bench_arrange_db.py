"""End-to-end arrangement benchmark on a database: prints figures, asserts nothing.

    .venv/bin/python -m tests.bench.bench_arrange_db [--regs 100000] [--backends sqlite,postgresql] [--capacity 1.02]

One demo site gets REGS paid 报考 (1.3 subjects per candidate on average, of the site's 开考科目), rooms of 30
seats with 3 sessions a day over the two exam days of the site's subjects, sized to CAPACITY × demand. Then
`arrangement.arrange_auto` (read everything, solve, write session and seat of every 报考, commit) and
`generate_ticket_numbers`, timed. In the same run, the naive path: the greedy first-fit placement of the
same registrations (`tests.bench.bench_arrange.greedy`) with the count it places, and the ratio.
Target: automatic arrangement of 100,000 registrations <= 5 s.
"""
from __future__ import annotations

import argparse
import math
import os
import random
import resource
import tempfile
import time
import uuid
from datetime import datetime, time as dtime, timedelta
from pathlib import Path

SITE = "110002"
TIMES = [(dtime(8, 30), dtime(10, 30)), (dtime(11, 0), dtime(13, 0)), (dtime(14, 0), dtime(16, 0))]


def _pg_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/test"
    return url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url


def _engine(kind: str, tmp: Path):
    from sqlalchemy import event, text

    from core.db import make_engine
    from core.services.setup import migrate

    if kind == "sqlite":
        eng = make_engine(f"sqlite:///{tmp / 'bench.db'}")
        migrate(eng)
        return eng, None
    schema = "bench_" + uuid.uuid4().hex[:8]
    admin = make_engine(_pg_url())
    with admin.begin() as c:
        c.execute(text(f"CREATE SCHEMA {schema}"))
    eng = make_engine(_pg_url())

    @event.listens_for(eng, "connect")
    def _path(dbapi_conn, _rec):
        cur = dbapi_conn.cursor()
        cur.execute(f"SET search_path TO {schema}")
        cur.close()
        dbapi_conn.commit()

    migrate(eng)
    return eng, (admin, schema)


def _populate(eng, regs: int, capacity: float, seed: int = 7):
    """The demo world plus REGS paid registrations and enough rooms at SITE; returns (actor, site id)."""
    from sqlalchemy import insert, select

    from core.auth import actor_for
    from core.db import session_scope
    from core.models import (
        Candidate, Enrollment, ExamRoom, ExamSession, ExamTerm, Org, Registration, SiteSubject, User,
    )
    from core.services.demo import load_demo
    from core.services.setup import create_admin

    rnd = random.Random(seed)
    with session_scope(eng) as s:
        create_admin(s, "admin", password="Admin12345")
        info = load_demo(s, log=lambda *_: None, oces=False)
        term_id = info["current_term"]
        site = s.scalar(select(Org).where(Org.code == SITE))
        subjects = [(ss.subject_id, ss.exam_start) for ss in
                    s.scalars(select(SiteSubject).where(SiteSubject.site_id == site.id,
                                                        SiteSubject.term_id == term_id))]
        subject_ids = [sid for sid, _ in subjects]
        day0 = min(start for _, start in subjects).date()
        cands, enrs, rows = [], [], []
        n = 0
        cid = 10_000_000
        while n < regs:
            k = min(regs - n, rnd.choices((1, 2, 3), (0.75, 0.2, 0.05))[0])
            cid += 1
            idn = f"B{cid:017d}"
            cands.append({"id": cid, "id_number": idn, "name": f"考生{cid}", "id_type": "居民身份证"})
            enrs.append({"id": cid, "term_id": term_id, "site_id": site.id, "candidate_id": cid, "channel": "group",
                         "id_type": "居民身份证", "id_number": idn, "name": f"考生{cid}", "locked": False,
                         "is_registry": False, "photo_rejected": False})
            for subj in rnd.sample(subject_ids, k):
                rows.append({"term_id": term_id, "site_id": site.id, "candidate_id": cid, "enrollment_id": cid,
                             "subject_id": subj, "channel": "group", "fee": 80, "paid": True,
                             "paid_at": datetime.now()})
            n += k
        for model, data in ((Candidate, cands), (Enrollment, enrs), (Registration, rows)):
            for i in range(0, len(data), 5000):
                s.execute(insert(model), data[i:i + 5000])
        days = [day0, day0 + timedelta(days=1)]
        n_rooms = math.ceil(regs * capacity / (30 * len(TIMES) * len(days)))
        for r in range(n_rooms):
            room = ExamRoom(term_id=term_id, site_id=site.id, code=f"{r + 1:04d}", address=f"机房{r + 1}")
            s.add(room)
            s.flush()
            s.execute(insert(ExamSession), [
                {"term_id": term_id, "site_id": site.id, "room_id": room.id, "seq": d * len(TIMES) + k + 1,
                 "capacity": 30, "start_at": datetime.combine(day, a), "end_at": datetime.combine(day, b)}
                for d, day in enumerate(days) for k, (a, b) in enumerate(TIMES)])
        site.address = site.address or "演示考点地址"
        # hundreds of rooms do not fit NCRE's 2-digit room number: a wider layout for this 考次 (§32 configurable)
        s.get(ExamTerm, term_id).ticket_layout = "{subject:2}{term:2}{site:6}{room:4}{session:2}{seat:2}"
        user = s.scalar(select(User).where(User.org_id == site.id, User.role == "site_admin"))
        actor = actor_for(s, user, term_id)
        return actor, site.id, len(cands), n_rooms


def _naive(eng, term_id: int, site_id: int):
    """The greedy first-fit placement of the same registrations (no writes): placed count and time."""
    from sqlalchemy import select

    from core.db import session_scope
    from core.models import ExamSession, Registration, SiteSubject, Subject
    from core.services import arrange_solver as solver
    from tests.bench.bench_arrange import greedy

    with session_scope(eng, readonly=True) as s:
        regs = s.execute(select(Registration.id, Registration.candidate_id, Registration.subject_id)
                         .where(Registration.term_id == term_id, Registration.site_id == site_id)).all()
        slots = [solver.Slot(x.id, x.start_at, x.end_at, x.capacity) for x in
                 s.scalars(select(ExamSession).where(ExamSession.site_id == site_id,
                                                     ExamSession.term_id == term_id))]
        rules = {ss.subject_id: solver.Rule(dur, ss.exam_start, ss.exam_end) for ss, dur in
                 s.execute(select(SiteSubject, Subject.duration_min).join(Subject, Subject.id == SiteSubject.subject_id)
                           .where(SiteSubject.site_id == site_id, SiteSubject.term_id == term_id))}
    reqs = [solver.Req(r.id, r.candidate_id, r.subject_id) for r in regs]
    t = time.perf_counter()
    placed = greedy(reqs, slots, rules, {})
    dt = time.perf_counter() - t
    return len(placed), dt


def run(kind: str, regs: int, capacity: float) -> None:
    from sqlalchemy import text

    from core.db import session_scope
    from core.services import arrangement as ar

    with tempfile.TemporaryDirectory() as tmp:
        eng, pg = _engine(kind, Path(tmp))
        try:
            t = time.perf_counter()
            actor, site_id, n_cands, n_rooms = _populate(eng, regs, capacity)
            print(f"[{kind}] data: {regs} 报考 of {n_cands} candidates, {n_rooms} rooms × 6 sessions × 30 seats "
                  f"(capacity {capacity:.0%} of demand), loaded in {time.perf_counter() - t:.1f} s")
            if kind == "postgresql":
                with eng.begin() as c:
                    c.execute(text("ANALYZE"))
            t = time.perf_counter()
            with session_scope(eng) as s:
                rep = ar.arrange_auto(s, actor, site_id)
            t_arr = time.perf_counter() - t
            print(f"[{kind}] arrange_auto: {t_arr:.2f} s (target 5 s) — {rep.message}")
            t = time.perf_counter()
            with session_scope(eng) as s:
                num = ar.generate_ticket_numbers(s, actor, site_id)
            print(f"[{kind}] generate_ticket_numbers: {time.perf_counter() - t:.2f} s — {num.message}")
            placed_naive, t_naive = _naive(eng, actor.term_id, site_id)
            placed = rep.placed
            print(f"[{kind}] naive greedy first-fit: placed {placed_naive} in {t_naive:.2f} s; "
                  f"arrange_auto places {placed} = {placed / max(placed_naive, 1):.3f}× the greedy count")
            print(f"[{kind}] peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
        finally:
            eng.dispose()
            if pg:
                admin, schema = pg
                with admin.begin() as c:
                    c.execute(text(f"DROP SCHEMA {schema} CASCADE"))
                admin.dispose()


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--regs", type=int, default=100_000)
    ap.add_argument("--backends", default="sqlite")
    ap.add_argument("--capacity", type=float, default=1.02)
    args = ap.parse_args(argv)
    os.environ.setdefault("KAOWU_BCRYPT_ROUNDS", "4")
    for kind in args.backends.split(","):
        run(kind.strip(), args.regs, args.capacity)


if __name__ == "__main__":
    main()
