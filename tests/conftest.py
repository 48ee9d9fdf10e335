"""Fixtures: each test gets a fresh database on SQLite and, when TEST_DATABASE_URL is set, on PostgreSQL.

Service tests take the `engine` fixture (parametrised over both back-ends). `seed` builds a small
org tree with one admin per level.
"""
from __future__ import annotations

import os
import uuid
from contextlib import contextmanager

os.environ.setdefault("KAOWU_BCRYPT_ROUNDS", "4")  # fast hashing in tests

import pytest
from sqlalchemy import text

from core.db import make_engine, session_scope
from core.services.setup import migrate

PG_URL = os.environ.get("TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


def _pg_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url


@contextmanager
def backend_engine(backend: str, tmp_dir):
    """A migrated engine: a SQLite file in `tmp_dir`, or a fresh PostgreSQL schema dropped afterwards."""
    if backend == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_dir / 'test.db'}")
        migrate(eng)
        yield eng
        eng.dispose()
        return
    schema = "t_" + uuid.uuid4().hex[:12]
    admin = make_engine(_pg_url(PG_URL))
    with admin.begin() as c:
        c.execute(text(f"CREATE SCHEMA {schema}"))
    eng = make_engine(_pg_url(PG_URL))
    from sqlalchemy import event

    @event.listens_for(eng, "connect")
    def _set_path(dbapi_conn, _rec):
        cur = dbapi_conn.cursor()
        cur.execute(f"SET search_path TO {schema}")
        cur.close()
        dbapi_conn.commit()

    try:
        migrate(eng)
        yield eng
    finally:
        eng.dispose()
        with admin.begin() as c:
            c.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def engine(request, tmp_path):
    with backend_engine(request.param, tmp_path) as eng:
        yield eng


@pytest.fixture
def sqlite_engine(tmp_path):
    eng = make_engine(f"sqlite:///{tmp_path / 'test.db'}")
    migrate(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def seed(engine, request):
    """A small world: center → 2 provinces → cities → sites, a current and a past 考次, one admin per level.
    The OCES demo (000) only for modules that set `OCES_DEMO = True` (it costs ~0.4 s per world)."""
    from tests.factories import build_world

    with session_scope(engine) as s:
        world = build_world(s, oces=getattr(request.module, "OCES_DEMO", False))
    world.engine = engine
    return world
