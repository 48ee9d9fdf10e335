"""AppTest harness: a demo database (SQLite file) shared by the page tests of one module.

`page(file, username)` returns an AppTest of that page file, logged in as `username` through a real
server-side session record (the same path a browser takes after the login form).
"""
from __future__ import annotations

import os

from pathlib import Path

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from core import auth, db
from core.db import make_engine, session_scope
from core.models import User
from core.services.setup import migrate
from tests.factories import build_world

ROOT = Path(__file__).resolve().parents[2]
COOKIE_KEY = "test-cookie-key-" + "x" * 40


@pytest.fixture(scope="module")
def app_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("app") / "kaowu.db"
    url = f"sqlite:///{path}"
    old = {k: os.environ.get(k) for k in ("DATABASE_URL", "KAOWU_COOKIE_KEY", "KAOWU_FILE_STORE")}
    os.environ["DATABASE_URL"] = url
    os.environ["KAOWU_COOKIE_KEY"] = COOKIE_KEY
    os.environ["KAOWU_FILE_STORE"] = str(path.parent / "files")
    eng = make_engine(url)
    migrate(eng)
    with session_scope(eng) as s:
        world = build_world(s)
    world.engine = eng
    db._engines[url] = eng
    yield world
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    db._engines.pop(url, None)
    eng.dispose()


def login_sid(world, username: str) -> str:
    with session_scope(world.engine) as s:
        u = s.scalar(select(User).where(User.username == username))
        u.must_change_password = False
        return auth.create_session(s, u).id


@pytest.fixture
def page(app_db):
    def _page(file: str, username: str | None = None, timeout: float = 30) -> AppTest:
        at = AppTest.from_file(str(ROOT / file), default_timeout=timeout)
        if username:
            at.session_state["kaowu_sid"] = login_sid(app_db, username)
        return at
    return _page
