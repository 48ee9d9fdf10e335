"""Configuration hardening and the cookie token (no database needed)."""
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import auth, config

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("key", ["", "some_signature_key", "random_signature_key", "short-key", "a" * 31])
def test_weak_or_default_cookie_key_refused(key):
    with pytest.raises(config.ConfigError, match="拒绝启动"):
        config.check_cookie_key(key)


def test_strong_cookie_key_accepted():
    assert config.check_cookie_key("k" * 32) == "k" * 32


def test_app_refuses_to_start_with_weak_key(monkeypatch, tmp_path):
    monkeypatch.setenv("KAOWU_COOKIE_KEY", "some_signature_key")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    at = AppTest.from_file(str(ROOT / "Home.py")).run()
    assert any("拒绝启动" in e.value for e in at.error)
    assert not at.text_input  # no login form rendered


def test_cookie_forged_with_package_default_key_rejected():
    forged = auth.encode_token("any-session", "some_signature_key", datetime.now() + timedelta(days=1))
    assert auth.decode_token(forged, "s" * 48) is None


def test_cli_help_lists_commands():
    out = subprocess.run([sys.executable, "-m", "core", "--help"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0
    for cmd in ("init-db", "create-admin", "demo"):
        assert cmd in out.stdout


def test_cli_init_db_prints_one_time_password_once(tmp_path):
    env = {**os.environ, "KAOWU_DATA_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'k.db'}"}
    first = subprocess.run([sys.executable, "-m", "core", "init-db"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert first.returncode == 0 and "一次性密码" in first.stdout
    second = subprocess.run([sys.executable, "-m", "core", "init-db"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert second.returncode == 0 and "一次性密码" not in second.stdout
    demo = subprocess.run([sys.executable, "-m", "core", "demo"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert demo.returncode == 0 and "11 个考点" in demo.stdout
    again = subprocess.run([sys.executable, "-m", "core", "demo"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert again.returncode == 2
