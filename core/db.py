"""Engine and session factory. SQLite: WAL, foreign keys, busy timeout, BEGIN IMMEDIATE."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Iterator

from sqlalchemy import bindparam, create_engine, event, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from core import config

_engines: dict[str, Engine] = {}


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn, _rec):  # pragma: no cover - trivial
            dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA cache_size=-131072")  # 128 MB page cache: bulk imports of 100k rows
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):  # pragma: no cover - trivial
            # Writes: IMMEDIATE takes the write lock at the start, so check-then-write is atomic.
            # Reads (session_scope(readonly=True)): a deferred BEGIN never blocks writers (WAL).
            conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get("kaowu_readonly") else "BEGIN IMMEDIATE")
    else:
        engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    return engine


def get_engine(url: str | None = None) -> Engine:
    url = url or config.database_url()
    if url not in _engines:
        _engines[url] = make_engine(url)
    return _engines[url]


def set_engine(engine: Engine) -> None:
    """Tests: make get_engine() (default url) return this engine."""
    _engines[config.database_url()] = engine


def session_factory(engine: Engine | None = None) -> sessionmaker[Session]:
    return sessionmaker(bind=engine or get_engine(), expire_on_commit=False, future=True)


_readonly: dict[int, Engine] = {}


def _readonly_engine(engine: Engine) -> Engine:
    key = id(engine)
    if key not in _readonly:
        _readonly[key] = engine.execution_options(kaowu_readonly=True)
    return _readonly[key]


@contextmanager
def session_scope(engine: Engine | None = None, *, readonly: bool = False) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error. `readonly=True`: a read-only
    unit (deferred BEGIN on SQLite, so it never takes the write lock; always rolled back)."""
    engine = engine or get_engine()
    s = session_factory(_readonly_engine(engine) if readonly else engine)()
    try:
        yield s
        if readonly:
            s.rollback()
        else:
            s.commit()
    except BaseException:
        s.rollback()
        raise
    finally:
        s.close()


def analyze(db: Engine | Session, tables: tuple[str, ...]) -> None:
    """Refresh the planner's statistics after a bulk load (PostgreSQL plans a 100k-row table with the
    numbers of the empty one until autovacuum catches up). A no-op elsewhere and for a caller's Session."""
    if isinstance(db, Engine) and db.dialect.name == "postgresql":
        with db.connect() as conn:
            for t in tables:
                conn.exec_driver_sql(f'ANALYZE "{t}"')
            conn.commit()


def update_by_id(s: Session, table, ids: Sequence[int], columns: Mapping[str, Sequence[Any]],
                 **fixed: Any) -> None:
    """UPDATE `table` SET col = columns[col][i] (and every `fixed` col = value) WHERE id = ids[i], for many
    rows at once. PostgreSQL: one `UPDATE … FROM unnest(arrays)` per 50,000 rows (executemany sends one
    statement per row: 100k rows took ~4 s); elsewhere executemany in chunks."""
    if not ids:
        return
    conn = s.connection()
    names = list(columns)
    if conn.dialect.name == "postgresql":
        d = conn.dialect
        arrays = [f"CAST(:ids AS {table.c.id.type.compile(dialect=d)}[])"]
        arrays += [f"CAST(:c{j} AS {table.c[n].type.compile(dialect=d)}[])" for j, n in enumerate(names)]
        sets = [f'"{n}" = v."{n}"' for n in names] + [f'"{k}" = :f_{k}' for k in fixed]
        cols = ", ".join(['"id"'] + [f'"{n}"' for n in names])
        sql = text(f'UPDATE "{table.name}" SET {", ".join(sets)} FROM unnest({", ".join(arrays)}) AS v({cols}) '
                   f'WHERE "{table.name}".id = v.id')
        step = 50_000
        for i in range(0, len(ids), step):
            params: dict[str, Any] = {"ids": list(ids[i:i + step])}
            params.update({f"c{j}": list(columns[n][i:i + step]) for j, n in enumerate(names)})
            params.update({f"f_{k}": v for k, v in fixed.items()})
            conn.execute(sql, params)
        return
    stmt = (update(table).where(table.c.id == bindparam("_id"))
            .values(**{n: bindparam(f"_{n}") for n in names}, **fixed))
    rows = [{"_id": i, **{f"_{n}": columns[n][k] for n in names}} for k, i in enumerate(ids)]
    for i in range(0, len(rows), 900):
        conn.execute(stmt, rows[i:i + 900])
