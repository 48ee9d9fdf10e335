"""Registration benchmark: prints figures, asserts nothing.

    .venv/bin/python -m tests.bench.bench_registration [--rows 100000] [--backends sqlite,postgresql]
                                                       [--naive sqlite,postgresql] [--repeat 3]

(1) a ROWS-row 集体报名 Excel (xlsxwriter constant_memory, every cell text) zipped;
(2) import_group_file(engine, actor, data, "x.zip", site_id, dry_run=False) on a fresh SQLite file and a fresh
    PostgreSQL schema (TEST_DATABASE_URL or postgresql://postgres@127.0.0.1:5432/test), with its phases
    (read / validate / write / commit, from the progress callback);
(3) the naive path on a fresh database: pandas.read_excel (openpyxl) + ORM session.add_all of
    Candidate/Enrollment/Registration + commit (no checks at all), and the ratio;
(4) 考生管理 over the imported candidates: core.services.candidates.list_candidates first render and filter
    changes, with the SQL statements it ran and EXPLAIN of the slowest when a target is missed.
Targets: import <= 8 s SQLite, <= 10 s PostgreSQL; first render <= 1.5 s, filter change <= 0.5 s.
"""
from __future__ import annotations

import argparse
import io
import os
import resource
import statistics
import sys
import tempfile
import time
import uuid
import zipfile
from collections import Counter
from datetime import date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SITE = "110002"  # demo site: 集体报名, no review, no class options, no 学籍库
TARGET_IMPORT = {"sqlite": 8.0, "postgresql": 10.0}
TARGET_FIRST, TARGET_FILTER = 1.5, 0.5
STATEMENT_TIMEOUT = 30  # PostgreSQL: a list query running longer is cancelled and reported


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _pg_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/test"
    return url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url


class FreshDB:
    """A migrated database with the demo world: a temp SQLite file or a new PostgreSQL schema."""

    def __init__(self, kind: str, tmp: Path):
        from sqlalchemy import event, text

        from core.db import make_engine, session_scope
        from core.services.demo import load_demo
        from core.services.setup import create_admin, migrate

        self.kind, self.schema = kind, None
        if kind == "sqlite":
            self.engine = make_engine(f"sqlite:///{tmp / f'bench-{uuid.uuid4().hex[:6]}.db'}")
        else:
            self.schema = "bench_reg_" + uuid.uuid4().hex[:10]
            self.admin = make_engine(_pg_url())
            with self.admin.begin() as c:
                c.execute(text(f"CREATE SCHEMA {self.schema}"))
            self.engine = make_engine(_pg_url())
            schema = self.schema

            @event.listens_for(self.engine, "connect")
            def _path(dbapi_conn, _rec):
                cur = dbapi_conn.cursor()
                cur.execute(f"SET search_path TO {schema}")
                cur.close()
                dbapi_conn.commit()
        migrate(self.engine)
        with session_scope(self.engine) as s:
            create_admin(s, "admin", password="Admin12345")
            self.info = load_demo(s, log=lambda *_: None)

    def actor(self, username: str):
        from sqlalchemy import select

        from core.auth import actor_for
        from core.db import session_scope
        from core.models import User

        with session_scope(self.engine) as s:
            return actor_for(s, s.scalar(select(User).where(User.username == username)), self.info["current_term"])

    def site(self) -> tuple[int, dict[str, int]]:
        """The bench site's id and its open subjects {code: id}."""
        from sqlalchemy import select

        from core.db import session_scope
        from core.models import Org, SiteSubject, Subject

        with session_scope(self.engine) as s:
            site_id = s.scalar(select(Org.id).where(Org.code == SITE))
            codes = dict(s.execute(select(Subject.code, Subject.id).join(SiteSubject, SiteSubject.subject_id == Subject.id)
                                   .where(SiteSubject.site_id == site_id, SiteSubject.term_id == self.info["current_term"],
                                          SiteSubject.capacity > 0)).all())
        return site_id, codes

    def raise_capacity(self, site_id: int, per_subject: Counter, total: int) -> None:
        """Room for the file: each subject's capacity = its count + 10 % (still limited), 总科次 likewise."""
        from sqlalchemy import select

        from core.db import session_scope
        from core.models import SiteSetting, SiteSubject

        with session_scope(self.engine) as s:
            for x in s.scalars(select(SiteSubject).where(SiteSubject.site_id == site_id,
                                                         SiteSubject.term_id == self.info["current_term"])):
                if x.capacity:
                    x.capacity = min(99_998, max(x.capacity, int(per_subject.get(x.subject_id, 0) * 1.1) + 10))
            st = s.scalar(select(SiteSetting).where(SiteSetting.site_id == site_id,
                                                    SiteSetting.term_id == self.info["current_term"]))
            # 总科次 above 99998 can only be 99999 = 不限 (§13.3); subjects stay limited
            st.total_capacity = min(99_999, int(total * 1.1) + 10)

    def close(self) -> None:
        from sqlalchemy import text

        self.engine.dispose()
        if self.schema:
            with self.admin.begin() as c:
                c.execute(text(f"DROP SCHEMA {self.schema} CASCADE"))
            self.admin.dispose()


# ---------------------------------------------------------------- (1) the file
def build_file(rows: int, codes: list[str]) -> tuple[bytes, list[dict]]:
    from tests.bench._data import group_people, group_xlsx, zipped

    t = time.perf_counter()
    people = group_people(rows, codes, province="11")
    t_gen = time.perf_counter() - t
    t = time.perf_counter()
    xlsx = group_xlsx(people)
    t_xlsx = time.perf_counter() - t
    t = time.perf_counter()
    data = zipped({"集体报名信息.xlsx": xlsx})
    t_zip = time.perf_counter() - t
    n_regs = sum(len(p["subjects"].split(";")) for p in people)
    print(f"(1) file: {rows} rows × 20 columns, {n_regs} 报考; generate {t_gen:.2f} s, xlsxwriter constant_memory "
          f"{t_xlsx:.2f} s ({len(xlsx) / 1e6:.1f} MB), zip {t_zip:.2f} s ({len(data) / 1e6:.1f} MB)")
    return data, people


# ---------------------------------------------------------------- (2) the import
def bench_import(db: FreshDB, data: bytes, people: list[dict]) -> float:
    from core.imports.specs_group import import_group_file

    site_id, codes = db.site()
    per_subject = Counter(codes[c] for p in people for c in p["subjects"].split(";"))
    db.raise_capacity(site_id, per_subject, sum(per_subject.values()))
    actor = db.actor(f"site{SITE}")
    marks: list[tuple[float, float, str]] = []

    def progress(fraction: float, text: str) -> None:
        marks.append((time.perf_counter(), fraction, text))

    rss = _rss_mb()
    t0 = time.perf_counter()
    res = import_group_file(db.engine, actor, data, "x.zip", site_id, dry_run=False, progress=progress)
    total = time.perf_counter() - t0
    if not res.committed:
        print(f"    NOT COMMITTED: {res.message}; first errors: {[e.text for e in res.errors[:5]]}")
    at = {f: t for t, f, _ in marks}
    phases = [("checks", t0, at.get(0.05)), ("read", at.get(0.05), at.get(0.2)),
              ("validate", at.get(0.2), at.get(0.6)), ("write", at.get(0.6), at.get(1.0)),
              ("commit", at.get(1.0), t0 + total)]
    shown = ", ".join(f"{name} {b - a:.2f}" for name, a, b in phases if a is not None and b is not None)
    ok = "OK" if total <= TARGET_IMPORT[db.kind] else "MISSED"
    print(f"(2) import_group_file on {db.kind}: {total:.2f} s [{ok}, target {TARGET_IMPORT[db.kind]:.0f} s] — "
          f"{res.total} rows, {res.valid} valid, written {res.written}; phases (s): {shown}; "
          f"peak RSS {rss:.0f} → {_rss_mb():.0f} MB")
    if res.summary.get("message"):
        print(f"    {res.summary['message']}")
    return total


def explain_write(db: FreshDB, people: list[dict]) -> None:
    """Where the write phase goes: the SQL statements write_people runs (count, time; slowest first)."""
    from sqlalchemy import event

    from core.db import session_scope
    from core.services import registration as reg

    site_id, codes = db.site()
    sample = [dict(p, subject_ids=[codes[c] for c in p["subjects"].split(";")]) for p in people[:5000]]
    stats: Counter = Counter()
    spent: Counter = Counter()
    start: dict = {}

    def before(conn, cur, stmt, params, ctx, many):
        start[id(cur)] = time.perf_counter()

    def after(conn, cur, stmt, params, ctx, many):
        key = " ".join(stmt.split()[:3])[:40]
        stats[key] += 1
        spent[key] += time.perf_counter() - start.pop(id(cur), time.perf_counter())

    event.listen(db.engine, "before_cursor_execute", before)
    event.listen(db.engine, "after_cursor_execute", after)
    try:
        with session_scope(db.engine) as s:
            t = time.perf_counter()
            reg.write_people(s, site_id, db.info["current_term"], sample, channel="group")
            took = time.perf_counter() - t
            s.rollback()
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
        event.remove(db.engine, "after_cursor_execute", after)
    top = ", ".join(f"{k}… ×{stats[k]} {t:.2f} s" for k, t in spent.most_common(5))
    print(f"    write_people of {len(sample)} people on {db.kind} (fresh site): {took:.2f} s; statements: {top}")


# ---------------------------------------------------------------- (3) the naive path
def bench_naive(db: FreshDB, data: bytes) -> float:
    import pandas as pd

    from core.db import session_scope
    from core.models import Candidate, Enrollment, Registration

    site_id, codes = db.site()
    tid = db.info["current_term"]
    t0 = time.perf_counter()
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        inner = z.read(z.namelist()[0])
    df = pd.read_excel(io.BytesIO(inner), sheet_name="集体报名信息", engine="openpyxl", dtype=str)
    t_read = time.perf_counter() - t0
    rows = df.where(df.notna(), None).to_dict("records")
    with session_scope(db.engine) as s:
        cands = [Candidate(id_type=r["证件类型"], id_number=r["证件号码"], name=r["姓名"], gender=r["性别"],
                           birth_date=date.fromisoformat(r["出生日期"]), phone=r["手机号码"], email=r["电子邮件"])
                 for r in rows]
        s.add_all(cands)
        s.flush()
        enrolls = [Enrollment(term_id=tid, site_id=site_id, candidate_id=c.id, channel="group", id_type=r["证件类型"],
                              id_number=r["证件号码"], name=r["姓名"], gender=r["性别"], birth_date=c.birth_date,
                              ethnicity=r["民族"], education=r["文化程度"], occupation=r["职业"], phone=r["手机号码"],
                              email=r["电子邮件"], department=r["院系"], major=r["专业"], class_name=r["班级"],
                              student_no=r["学号"], postcode=r["邮编"], address=r["联系地址"])
                   for c, r in zip(cands, rows)]
        s.add_all(enrolls)
        s.flush()
        s.add_all([Registration(term_id=tid, site_id=site_id, candidate_id=e.candidate_id, enrollment_id=e.id,
                                subject_id=codes[code], channel="group", fee=80, paid=False)
                   for e, r in zip(enrolls, rows) for code in r["报考科目"].split(";")])
    total = time.perf_counter() - t0
    print(f"(3) naive path on {db.kind} (pandas.read_excel openpyxl + ORM add_all + commit, NO checks): "
          f"{total:.2f} s (read {t_read:.2f}, ORM {total - t_read:.2f})")
    return total


# ---------------------------------------------------------------- (4) 考生管理
class SqlLog:
    """The statements run inside a block, with their time (to say where the time goes)."""

    def __init__(self, engine):
        self.engine, self.items, self._t = engine, [], {}

    def __enter__(self):
        from sqlalchemy import event

        event.listen(self.engine, "before_cursor_execute", self._before)
        event.listen(self.engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *exc):
        from sqlalchemy import event

        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)

    def _before(self, conn, cur, stmt, params, ctx, many):
        self._t[id(cur)] = time.perf_counter()
        self.pending = (stmt, params)

    def _after(self, conn, cur, stmt, params, ctx, many):
        self.items.append((time.perf_counter() - self._t.pop(id(cur), time.perf_counter()), stmt, params))


def _explain(db: FreshDB, stmt: str, params, analyze: bool = True) -> str:
    from core.db import session_scope

    prefix = ("EXPLAIN QUERY PLAN " if db.kind == "sqlite" else
              "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " if analyze else "EXPLAIN ")
    with session_scope(db.engine, readonly=True) as s:
        rows = s.connection().exec_driver_sql(prefix + stmt, params).all()
    return "\n".join("      " + " | ".join(str(c) for c in r if c is not None) for r in rows)


def analyze(db: FreshDB) -> float:
    from sqlalchemy import text

    t = time.perf_counter()
    with db.engine.connect() as c:
        if db.kind == "sqlite":
            c.exec_driver_sql("ANALYZE")
        else:
            for table in ("enrollment", "registration", "candidate", "candidate_account", "application", "org"):
                c.exec_driver_sql(f"ANALYZE {table}")
        c.commit()
    return time.perf_counter() - t


def bench_list(db: FreshDB, repeat: int, when: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    from core.db import session_scope
    from core.services.candidates import CandidateQuery, list_candidates

    site_id, codes = db.site()
    popular = codes.get("24") or next(iter(codes.values()))
    with session_scope(db.engine, readonly=True) as s:
        from sqlalchemy import select

        from core.models import Enrollment
        some_id = s.scalar(select(Enrollment.id_number).where(Enrollment.site_id == site_id).limit(1))
    cases = [("first render", CandidateQuery(), 1, TARGET_FIRST),
             ("name contains 王", CandidateQuery(name="王"), 1, TARGET_FILTER),
             ("pay = 全未支付", CandidateQuery(pay="none"), 1, TARGET_FILTER),
             ("subject (24)", CandidateQuery(subject_id=popular), 1, TARGET_FILTER),
             ("id number", CandidateQuery(id_number=some_id or "110101200001010000"), 1, TARGET_FILTER),
             ("channel + photo", CandidateQuery(channel="group", photo=False), 1, TARGET_FILTER),
             ("page 200", CandidateQuery(), 200, TARGET_FILTER)]
    for username in (f"site{SITE}", "center"):
        actor = db.actor(username)
        for label, q, page, target in cases:
            times, logs = [], []
            try:
                for _ in range(repeat + 1):
                    with SqlLog(db.engine) as log, session_scope(db.engine, readonly=True) as s:
                        if db.kind == "postgresql":
                            s.execute(text(f"SET LOCAL statement_timeout = '{STATEMENT_TIMEOUT}s'"))
                        t = time.perf_counter()
                        rows, total = list_candidates(s, actor, q, page=page)
                        times.append(time.perf_counter() - t)
                    logs.append(log.items)
            except OperationalError as e:
                print(f"(4) list_candidates {db.kind} {when} {username:<10} {label:<17} TIMEOUT: a statement ran over "
                      f"{STATEMENT_TIMEOUT} s and was cancelled ({type(e.orig).__name__})")
                if username == f"site{SITE}":
                    stmt, params = log.pending
                    print(f"    the statement:\n      {' '.join(stmt.split())[:700]}")
                    print(_explain(db, stmt, params, analyze=False))
                continue
            cold, med = times[0], statistics.median(times[1:])
            ok = "OK" if max(cold, med) <= target else "MISSED"
            slow = max(logs[0], key=lambda x: x[0])
            parts = " + ".join(f"{x[0]:.2f}" for x in logs[0])
            print(f"(4) list_candidates {db.kind} {when} {username:<10} {label:<17} {total:>6} rows: cold {cold:.2f} s, "
                  f"median {med:.2f} s [{ok}, target {target} s]; SQL {parts}")
            if ok == "MISSED" and username == f"site{SITE}" and label in ("first render", "pay = 全未支付",
                                                                           "subject (24)"):
                print(f"    slowest statement ({slow[0]:.2f} s):\n      {' '.join(slow[1].split())[:600]}")
                print(_explain(db, slow[1], slow[2]))


# ---------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--naive", default="sqlite,postgresql", help="back-ends to run the naive path on ('' = none)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-write-detail", action="store_true")
    args = ap.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="kaowu-bench-reg-"))
    os.environ["KAOWU_DATA_DIR"] = str(tmp)
    os.environ["KAOWU_FILE_STORE"] = str(tmp / "files")
    os.environ.setdefault("KAOWU_BCRYPT_ROUNDS", "4")
    sys.path.insert(0, str(ROOT))
    backends = [b for b in args.backends.split(",") if b]
    print(f"Kaowu registration bench — {datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} CPU, Python "
          f"{sys.version.split()[0]}, load {os.getloadavg()[0]:.1f}; SQLite under {tmp}; PostgreSQL {_pg_url()}")
    data = people = None
    for kind in backends:
        try:
            db = FreshDB(kind, tmp)
        except Exception as e:  # PostgreSQL not reachable
            print(f"({kind}) skipped: {type(e).__name__}: {str(e).splitlines()[0]}")
            continue
        try:
            if data is None:
                _, codes = db.site()
                data, people = build_file(args.rows, sorted(codes))
            fast = bench_import(db, data, people)
            bench_list(db, args.repeat, "fresh")
            print(f"    ANALYZE ({'sqlite_stat1' if kind == 'sqlite' else 'what autovacuum does within a minute'}): "
                  f"{analyze(db):.2f} s")
            bench_list(db, args.repeat, "analyzed")
        finally:
            db.close()
        if not args.no_write_detail:
            db = FreshDB(kind, tmp)
            try:
                explain_write(db, people)
            finally:
                db.close()
        if kind in args.naive.split(","):
            db = FreshDB(kind, tmp)
            try:
                slow = bench_naive(db, data)
                print(f"    ratio naive ÷ import_group_file on {kind}: {slow / fast:.1f}× "
                      f"(and the naive path checks nothing)")
            finally:
                db.close()
    print("targets: import <= 8 s SQLite, <= 10 s PostgreSQL; 考生管理 first render <= 1.5 s, filter change <= 0.5 s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
