"""Foundation benchmark: prints figures, asserts nothing.

    .venv/bin/python -m tests.bench.bench_foundation [--rows 100000] [--repeat 3]

(1) demo load time (core.services.demo.load_demo on a fresh migrated SQLite database);
(2) the audit-log page (AppTest) over N audit rows: first render, a keyword query, a page change;
(3) export of the N rows: export_rows xlsx / csv vs pandas.DataFrame.to_excel (openpyxl).
Targets: first render <= 1.5 s, xlsx <= 8 s, csv <= 1 s.
"""
from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COOKIE_KEY = "bench-cookie-key-" + "b" * 40


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _median(xs: list[float]) -> float:
    return statistics.median(xs)


def bench_demo(tmp: Path, repeat: int) -> None:
    from core.db import make_engine, session_scope
    from core.services.demo import load_demo
    from core.services.setup import create_admin, migrate

    times, migrate_times = [], []
    for i in range(repeat):
        eng = make_engine(f"sqlite:///{tmp / f'demo{i}.db'}")
        t = time.perf_counter()
        migrate(eng)
        migrate_times.append(time.perf_counter() - t)
        with session_scope(eng) as s:
            create_admin(s, "admin", password="Admin12345")
        t = time.perf_counter()
        with session_scope(eng) as s:
            load_demo(s, log=lambda *_: None)
        times.append(time.perf_counter() - t)
        eng.dispose()
    print(f"(1) demo load (load_demo, fresh migrated SQLite, bcrypt rounds "
          f"{os.environ.get('KAOWU_BCRYPT_ROUNDS', '12')}): median {_median(times):.2f} s "
          f"(runs: {', '.join(f'{x:.2f}' for x in times)}); migrate {_median(migrate_times):.2f} s")


def seed_audit(eng, n: int) -> dict[str, int]:
    """The demo world plus n audit rows spread over the sites, inserted with a Core executemany."""
    from sqlalchemy import insert, select

    from core.db import session_scope
    from core.models import AuditLog, Org, User
    from core.services.demo import load_demo
    from core.services.setup import create_admin

    with session_scope(eng) as s:
        create_admin(s, "admin", password="Admin12345")
        load_demo(s, log=lambda *_: None)
        for u in s.scalars(select(User)):
            u.must_change_password = False
    with session_scope(eng) as s:
        orgs = [(o.id, o.code) for o in s.scalars(select(Org))]
        users = {u.org_id: (u.id, u.username) for u in s.scalars(select(User))}
    rnd = random.Random(7)
    actions = ["update", "create", "delete", "export", "import", "login", "login_failed", "reset_password"]
    entities = ["考点设置", "考点开考科目", "考点费用", "用户", "机构", "考生", "报名", "考次"]
    t0 = datetime(2026, 1, 1)
    t = time.perf_counter()
    batch: list[dict] = []
    with eng.begin() as conn:
        for i in range(n):
            org_id, code = orgs[rnd.randrange(len(orgs))]
            uid, uname = users.get(org_id, (None, f"user{code}"))
            a = actions[i % len(actions)]
            e = entities[rnd.randrange(len(entities))]
            batch.append({"at": t0 + timedelta(seconds=60 * i), "user_id": uid, "username": uname, "org_id": org_id,
                          "term_id": None, "action": a, "entity": e, "entity_id": str(rnd.randrange(1, 99999)),
                          "summary": f"{e}第{i}号记录：{'=1+1 ' if i % 997 == 0 else ''}字段A由{i % 13}改为{i % 17}",
                          "before": None, "after": None})
            if len(batch) == 10_000:
                conn.execute(insert(AuditLog), batch)
                batch = []
        if batch:
            conn.execute(insert(AuditLog), batch)
    print(f"    seeded {n} audit rows with Core insert executemany in {time.perf_counter() - t:.2f} s")
    return {code: oid for oid, code in orgs}


def _login(eng, username: str) -> str:
    from sqlalchemy import select

    from core import auth
    from core.db import session_scope
    from core.models import User

    with session_scope(eng) as s:
        u = s.scalar(select(User).where(User.username == username))
        return auth.create_session(s, u).id


def bench_page(eng, n: int, repeat: int) -> None:
    from streamlit.testing.v1 import AppTest

    page = str(ROOT / "pages/system/audit_log.py")
    for user in ("center", "site110001"):
        firsts, queries, pages = [], [], []
        for i in range(repeat + 1):
            at = AppTest.from_file(page, default_timeout=120)
            at.session_state["kaowu_sid"] = _login(eng, user)
            t = time.perf_counter()
            at.run()
            first = time.perf_counter() - t
            assert not at.exception, at.exception
            total = next(m.value for m in at.markdown if m.value.startswith("共 **"))
            at.text_input(key="kaowu_audit_log__kw").input("第12")
            t = time.perf_counter()
            next(b for b in at.button if b.label == "查询").click().run()
            q = time.perf_counter() - t
            after = next(m.value for m in at.markdown if m.value.startswith("共 **"))
            next(b for b in at.button if b.label == "重置").click().run()
            t = time.perf_counter()
            at.pagination[0].select(min(7, at.pagination[0].num_pages)).run()
            pg = time.perf_counter() - t
            if i == 0 and user == "center":
                print(f"    cold first render (first AppTest in this process, imports included): {first:.2f} s")
                continue
            firsts.append(first)
            queries.append(q)
            pages.append(pg)
        print(f"(2) audit-log page, {user}, {total.split('**')[1]} rows in scope (of {n}): "
              f"first render {_median(firsts):.2f} s, keyword query {_median(queries):.2f} s "
              f"(→ {after.split('**')[1]} rows), page change {_median(pages):.2f} s  [median of {repeat}]")


def _xlsxwriter_constant_memory(header, rows) -> None:
    """DESIGN.md's fast path (xlsxwriter constant_memory, typed writes), for comparison."""
    import io

    import xlsxwriter

    wb = xlsxwriter.Workbook(io.BytesIO(), {"constant_memory": True})
    ws = wb.add_worksheet()
    f_dt = wb.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    for c, h in enumerate(header):
        ws.write_string(0, c, h)
    for r, row in enumerate(rows, start=1):
        for c, v in enumerate(row):
            if isinstance(v, datetime):
                ws.write_datetime(r, c, v, f_dt)
            elif isinstance(v, str):
                ws.write_string(r, c, v)
            elif v is not None:
                ws.write_number(r, c, v)
    wb.close()


def bench_export(eng, n: int, repeat: int) -> None:
    import pandas as pd

    from core.db import session_scope
    from core.services.listing import _with_columns, export_rows, filtered
    from core.specs.audit import ACTION_LABELS, AUDIT_LOG
    from tests.factories import World

    w = World(info={"current_term": None, "past_term": None})
    w.engine = eng
    actor = w.actor("center")
    res: dict[str, list[tuple[float, float]]] = {"xlsx": [], "csv": [], "pandas": [], "xlsxwriter": []}
    sizes: dict[str, int] = {}

    def clock(key, fn):
        c, t = time.process_time(), time.perf_counter()
        out = fn()
        res[key].append((time.perf_counter() - t, time.process_time() - c))
        return out

    header = [c.label for c in AUDIT_LOG.columns]
    rss_before = _rss_mb()
    for i in range(repeat):
        for fmt in ("xlsx", "csv"):
            def run(fmt=fmt):
                with session_scope(eng) as s:
                    return export_rows(s, actor, AUDIT_LOG, filters={}, keyword=None, sort=None, fmt=fmt)
            sizes[fmt] = len(clock(fmt, run)[0])
        if i == 0:
            rss_export = _rss_mb()  # before the pandas path, which holds every row at once

        def fetch():
            with session_scope(eng) as s:
                q = _with_columns(filtered(actor, AUDIT_LOG, {}, None), AUDIT_LOG, AUDIT_LOG.columns)
                return [[ACTION_LABELS.get(v, v) if i == 3 else v for i, v in enumerate(tuple(r)[1:])]
                        for r in s.execute(q)]

        def via_pandas():  # the slow path: the same rows through pandas into openpyxl
            df = pd.DataFrame(fetch(), columns=header)
            path = Path(tempfile.mkstemp(suffix=".xlsx")[1])
            df.to_excel(path, index=False, engine="openpyxl")
            path.unlink()

        clock("pandas", via_pandas)
        clock("xlsxwriter", lambda: _xlsxwriter_constant_memory(header, fetch()))

    def med(key):
        return _median([x[0] for x in res[key]]), _median([x[1] for x in res[key]])

    (x, xc), (c, cc), (p, pc), (k, kc) = med("xlsx"), med("csv"), med("pandas"), med("xlsxwriter")
    print(f"(3) export {n} rows × {len(header)} columns (center, whole table, incl. the query), median of {repeat}"
          f" — wall (CPU):")
    print(f"    export_rows xlsx (streaming writer):           {x:.2f} s ({xc:.2f}), {sizes['xlsx'] / 1e6:.1f} MB")
    print(f"    export_rows csv (utf-8-sig):                   {c:.2f} s ({cc:.2f}), {sizes['csv'] / 1e6:.1f} MB")
    print(f"    pandas.DataFrame.to_excel (openpyxl):          {p:.2f} s ({pc:.2f})")
    print(f"    xlsxwriter constant_memory, typed writes:      {k:.2f} s ({kc:.2f})  [DESIGN.md's fast path]")
    print(f"    ratio pandas/openpyxl ÷ export_rows xlsx: {p / x:.1f}×; xlsxwriter ÷ export_rows xlsx: {k / x:.1f}×;"
          f" peak RSS {rss_before:.0f} MB before the exports, {rss_export:.0f} MB after export_rows,"
          f" {_rss_mb():.0f} MB after the pandas path")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="kaowu-bench-"))
    url = f"sqlite:///{tmp / 'kaowu.db'}"
    os.environ["DATABASE_URL"] = url
    os.environ["KAOWU_DATA_DIR"] = str(tmp)
    os.environ["KAOWU_COOKIE_KEY"] = COOKIE_KEY
    os.environ["KAOWU_FILE_STORE"] = str(tmp / "files")
    sys.path.insert(0, str(ROOT))

    from core import db
    from core.db import make_engine
    from core.services.setup import migrate

    print(f"Kaowu foundation bench — {datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} CPU, Python "
          f"{sys.version.split()[0]}, SQLite file under {tmp}")
    bench_demo(tmp, args.repeat)

    eng = make_engine(url)
    migrate(eng)
    db._engines[url] = eng
    seed_audit(eng, args.rows)
    bench_page(eng, args.rows, args.repeat)
    bench_export(eng, args.rows, args.repeat)
    print("targets: first render <= 1.5 s, xlsx <= 8 s, csv <= 1 s")
    eng.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
