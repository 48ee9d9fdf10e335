"""通用统计 (001 §53) benchmark: prints figures, asserts nothing.

    .venv/bin/python -m tests.bench.bench_stats [--regs 1000000] [--db PATH] [--runs 5] [--postgresql]

Builds (or reuses, with --db) a SQLite database: the demo orgs plus REGS 报考 of ~0.8·REGS candidates spread
over the demo sites and the 22 NCRE subjects, 85 % with a score (6 % flagged). Then, as the 考试中心:
- the target query — dimensions 考点 × 科目, 科目 pivoted, indicator 成绩≥60人次 — through
  `core.analytics.builder.run` live (cache off) and repeated (cache on, unchanged data);
- the same with two indicators (报考人次 + 成绩≥60人次: two fact tables);
- a joined query (地市 × 性别 × 年龄段, 考生人数, 年龄≥20);
- and, in the same run, the naive path: the same counts through SQLite's own SQL (GROUP BY with a join).
Target: ≤ 0.3 s live, ≤ 0.1 s repeated (1M registrations, SQLite).

With --postgresql the same data is copied into a fresh schema of TEST_DATABASE_URL (default the local `test`
database) and the target query runs through DuckDB's postgres scanner, next to PostgreSQL's own SQL.
"""
from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path


def build(path: Path, regs: int, seed: int = 5) -> None:
    from sqlalchemy import select

    from core.db import make_engine, session_scope
    from core.models import Org, Subject
    from core.services.demo import load_demo
    from core.services.setup import create_admin, migrate

    if path.exists():
        path.unlink()
    eng = make_engine(f"sqlite:///{path}")
    migrate(eng)
    with session_scope(eng) as s:
        create_admin(s, "admin", password="Admin12345")
        info = load_demo(s, log=lambda *_: None, oces=False)
        tid = info["current_term"]
        sites = list(s.scalars(select(Org.id).where(Org.kind == "site")))
        subs = list(s.scalars(select(Subject.id)))
    eng.dispose()
    rnd = random.Random(seed)
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA foreign_keys=OFF")
    con.execute("PRAGMA synchronous=OFF")
    enr, reg, score = [], [], []
    n, c = 0, 50_000_000
    births = [date(1980 + i % 29, 1 + i % 12, 1 + i % 28).isoformat() for i in range(997)]
    while n < regs:
        c += 1
        site = sites[c % len(sites)]
        k = min(regs - n, (1, 1, 1, 2)[c % 4])
        enr.append((c, tid, site, c, f"X{c:017d}", f"考生{c}", "男女"[c % 2], births[c % 997]))
        for sub in rnd.sample(subs, k):
            n += 1
            rid = 10_000_000 + n
            reg.append((rid, tid, site, c, c, sub, ("group", "individual")[n % 2], 80, n % 10 != 0))
            if rnd.random() < .85:
                flag = "" if rnd.random() > .06 else ("缺考", "缺考", "违纪", "作弊")[n % 4]
                score.append((rid, tid, site, rid, sub, f"T{rid}", None if flag == "缺考" else rnd.randint(0, 100), flag))
    con.executemany("INSERT INTO candidate(id,id_number,name,id_type,created_at,updated_at) "
                    "VALUES (?,?,?,'居民身份证',CURRENT_TIMESTAMP,CURRENT_TIMESTAMP)", [(e[0], e[4], e[5]) for e in enr])
    con.executemany("INSERT INTO enrollment(id,term_id,site_id,candidate_id,channel,id_type,id_number,name,gender,"
                    "birth_date,locked,is_registry,photo_rejected,created_at,updated_at) VALUES "
                    "(?,?,?,?,'group','居民身份证',?,?,?,?,0,0,0,CURRENT_TIMESTAMP,CURRENT_TIMESTAMP)", enr)
    con.executemany("INSERT INTO registration(id,term_id,site_id,candidate_id,enrollment_id,subject_id,channel,fee,paid,"
                    "created_at,updated_at) VALUES (?,?,?,?,?,?,?,?,?,CURRENT_TIMESTAMP,CURRENT_TIMESTAMP)", reg)
    con.executemany("INSERT INTO score(id,term_id,site_id,registration_id,subject_id,ticket_no,score,flag,imported_at,"
                    "created_at,updated_at) VALUES (?,?,?,?,?,?,?,?,CURRENT_TIMESTAMP,CURRENT_TIMESTAMP,"
                    "CURRENT_TIMESTAMP)", score)
    con.commit()
    con.execute("ANALYZE")
    con.commit()
    con.close()
    print(f"database: {len(reg):,} 报考, {len(score):,} 成绩, {len(enr):,} 考生, {len(sites)} 考点, {len(subs)} 科目")


def _pg_copy(sqlite_path: Path):
    """A migrated PostgreSQL schema holding the SQLite benchmark data (copied with an unlocked DuckDB)."""
    import uuid

    import duckdb
    from sqlalchemy import event, text

    from core.analytics.duck import _extension, _pg_dsn
    from core.db import make_engine
    from core.services.setup import migrate

    url = os.environ.get("TEST_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/test"
    url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    schema = "bench_stats_" + uuid.uuid4().hex[:8]
    admin = make_engine(url)
    with admin.begin() as c:
        c.execute(text(f"CREATE SCHEMA {schema}"))
    eng = make_engine(url)

    @event.listens_for(eng, "connect")
    def _path(dbapi_conn, _rec):
        cur = dbapi_conn.cursor()
        cur.execute(f"SET search_path TO {schema}")
        cur.close()
        dbapi_conn.commit()

    migrate(eng)
    con = duckdb.connect()
    con.execute(f"LOAD '{_extension('duckdb_extension_sqlite_scanner')}'")
    con.execute(f"LOAD '{_extension('duckdb_extension_postgres_scanner')}'")
    con.execute(f"ATTACH '{sqlite_path}' AS src (TYPE sqlite, READ_ONLY)")
    con.execute(f"ATTACH '{_pg_dsn(eng)}' AS dst (TYPE postgres, SCHEMA '{schema}')")
    tables = ("subject", "exam_term", "org", "app_user", "candidate", "enrollment", "registration", "score")
    with eng.begin() as c:  # whatever the migration seeded makes way for the copied rows
        for table in reversed(tables):
            c.execute(text(f'DELETE FROM "{table}"'))
    t = time.perf_counter()
    for table in tables:
        cols = [r[0] for r in con.execute(f"SELECT name FROM pragma_table_info('src.{table}')").fetchall()]
        collist = ", ".join(f'"{c}"' for c in cols)
        con.execute(f'INSERT INTO dst."{table}" ({collist}) SELECT {collist} FROM src."{table}"')
    print(f"copied to PostgreSQL schema {schema} in {time.perf_counter() - t:.1f} s")
    con.close()
    with eng.begin() as c:
        c.execute(text("ANALYZE"))
    return eng, admin, schema


def _times(fn, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def _fmt(ts: list[float]) -> str:
    return f"median {statistics.median(ts):.3f} s (min {min(ts):.3f}, max {max(ts):.3f}, n={len(ts)})"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--regs", type=int, default=1_000_000)
    ap.add_argument("--db", help="reuse/keep the database here (built when missing)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--postgresql", action="store_true", help="also on PostgreSQL (a copy of the data)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="kaowu_bench_stats_"))
    path = Path(args.db) if args.db else tmp / "stats.db"
    if not path.exists():
        t = time.perf_counter()
        build(path, args.regs)
        print(f"built in {time.perf_counter() - t:.1f} s")

    from sqlalchemy import select

    from core.analytics import builder as qb
    from core.auth import actor_for
    from core.db import make_engine, session_scope
    from core.models import ExamTerm, User

    eng = make_engine(f"sqlite:///{path}")
    with session_scope(eng) as s:
        user = s.scalar(select(User).where(User.role == "center_admin").order_by(User.id))
        tid = s.scalar(select(ExamTerm.id).where(ExamTerm.is_current.is_(True)))
        actor = actor_for(s, user, tid)
    target = qb.make_spec(("site", "subject"), [{"key": "score_ge", "x": 60}], pivot=("subject",))
    two = qb.make_spec(("site", "subject"), ["reg_count", {"key": "score_ge", "x": 60}], pivot=("subject",))
    joined = qb.make_spec(("city", "gender", "age_band"), ["candidates", {"key": "age_ge", "x": 20}],
                          pivot=("gender",))

    def run(spec, cache):
        with session_scope(eng, readonly=True) as s:
            return qb.run(s, actor, spec, use_cache=cache)

    run(target, False)  # open DuckDB, load the scanner, warm the OS cache
    results = {}
    for name, spec in (("site × subject pivot, 成绩≥60", target), ("same + 报考人次 (2 fact tables)", two),
                       ("地市 × 性别 × 年龄段, 考生人数 + 年龄≥20 (joined)", joined)):
        live = _times(lambda: run(spec, False), args.runs)
        run(spec, True)
        rep = _times(lambda: run(spec, True), args.runs)
        results[name] = (live, rep)
        print(f"DuckDB  {name}\n        live     {_fmt(live)}\n        repeated {_fmt(rep)}")
    res = run(target, False)
    print(f"        result: {res.table.shape[0]} rows × {res.table.shape[1]} columns")

    con = sqlite3.connect(path)
    naive_target = ("SELECT r.site_id, r.subject_id, sum(CASE WHEN s.score >= 60 THEN 1 ELSE 0 END) "
                    "FROM registration r LEFT JOIN score s ON s.registration_id = r.id WHERE r.term_id = ? "
                    "GROUP BY r.site_id, r.subject_id")
    naive_score_only = ("SELECT site_id, subject_id, sum(CASE WHEN score >= 60 THEN 1 ELSE 0 END) FROM score "
                        "WHERE term_id = ? GROUP BY site_id, subject_id")
    naive_two = ("SELECT r.site_id, r.subject_id, count(*), sum(CASE WHEN s.score >= 60 THEN 1 ELSE 0 END) "
                 "FROM registration r LEFT JOIN score s ON s.registration_id = r.id WHERE r.term_id = ? "
                 "GROUP BY r.site_id, r.subject_id")
    for name, sql in (("SQLite SQL, registration ⟕ score, 成绩≥60 by site × subject", naive_target),
                      ("SQLite SQL, score table alone, 成绩≥60 by site × subject", naive_score_only),
                      ("SQLite SQL, 报考人次 + 成绩≥60 (join)", naive_two)):
        ts = _times(lambda: con.execute(sql, (tid,)).fetchall(), max(2, args.runs // 2))
        print(f"SQLite  {name}\n        {_fmt(ts)}")
        results[name] = (ts, ts)
    live = statistics.median(results["site × subject pivot, 成绩≥60"][0])
    rep = statistics.median(results["site × subject pivot, 成绩≥60"][1])
    naive = statistics.median(results["SQLite SQL, registration ⟕ score, 成绩≥60 by site × subject"][0])
    naive_alone = statistics.median(results["SQLite SQL, score table alone, 成绩≥60 by site × subject"][0])
    print(f"\ntarget query: live {live:.3f} s (target 0.3), repeated {rep:.4f} s (target 0.1); "
          f"SQLite SQL {naive:.3f} s with the join ({naive / live:.1f}× slower), "
          f"{naive_alone:.3f} s on the score table alone ({naive_alone / live:.1f}×)")
    two_live = statistics.median(results["same + 报考人次 (2 fact tables)"][0])
    naive_two_t = statistics.median(results["SQLite SQL, 报考人次 + 成绩≥60 (join)"][0])
    print(f"two indicators: live {two_live:.3f} s; SQLite SQL {naive_two_t:.3f} s ({naive_two_t / two_live:.1f}×)")
    print(f"cpu count {os.cpu_count()}; database {path.stat().st_size / 1e6:.0f} MB")
    if args.postgresql:
        from sqlalchemy import text

        pg, admin, schema = _pg_copy(path)
        try:
            with session_scope(pg) as s:
                pg_actor = actor_for(s, s.scalar(select(User).where(User.role == "center_admin")), tid)

            def run_pg(spec, cache):
                with session_scope(pg, readonly=True) as s:
                    return qb.run(s, pg_actor, spec, use_cache=cache)

            run_pg(target, False)
            live = _times(lambda: run_pg(target, False), args.runs)
            rep = _times(lambda: run_pg(target, True), args.runs)
            with pg.connect() as c:
                own = _times(lambda: c.execute(text(naive_target.replace("?", ":t")), {"t": tid}).all(), args.runs)
                alone = _times(lambda: c.execute(text(naive_score_only.replace("?", ":t")), {"t": tid}).all(),
                               args.runs)
            print(f"PostgreSQL, DuckDB postgres scanner, target query\n        live     {_fmt(live)}\n"
                  f"        repeated {_fmt(rep)}")
            print(f"PostgreSQL's own SQL, registration ⟕ score\n        {_fmt(own)}\n"
                  f"PostgreSQL's own SQL, score table alone\n        {_fmt(alone)}")
        finally:
            pg.dispose()
            with admin.begin() as c:
                c.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            admin.dispose()


if __name__ == "__main__":
    main()
