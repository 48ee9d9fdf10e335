"""Settings read from the environment, with embedded defaults (SQLite file under data/)."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("KAOWU_DATA_DIR", ROOT / "data"))

# Cookie keys that ship in examples / docs and therefore must never be accepted.
WEAK_COOKIE_KEYS = {"", "some_signature_key", "random_signature_key", "abcdef", "secret", "changeme", "kaowu"}
MIN_COOKIE_KEY_LEN = 32


class ConfigError(RuntimeError):
    pass


def database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://"):]
        return url
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{DATA_DIR / 'kaowu.db'}"


def check_cookie_key(key: str | None) -> str:
    """Refuse a missing, default or short cookie signing key."""
    if not key or key in WEAK_COOKIE_KEYS or len(key) < MIN_COOKIE_KEY_LEN:
        raise ConfigError(
            f"KAOWU_COOKIE_KEY 过短或为默认值（至少 {MIN_COOKIE_KEY_LEN} 个字符的随机串）；应用拒绝启动。"
        )
    return key


def cookie_key() -> str:
    """The cookie signing key: KAOWU_COOKIE_KEY, else a random key generated once into data/.cookie_key."""
    key = os.environ.get("KAOWU_COOKIE_KEY")
    if key is None:
        path = DATA_DIR / ".cookie_key"
        if not path.exists():
            DATA_DIR.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        key = path.read_text().strip()
    return check_cookie_key(key)


@dataclass(frozen=True)
class Limits:
    max_login_failures: int = 5
    lockout_minutes: int = 15
    session_hours: int = 12
    max_password_len: int = 64  # bcrypt uses only 72 bytes; refuse longer cleanly
    min_password_len: int = 8
    page_size: int = 50
    max_upload_mb: int = 50
    import_error_rows_shown: int = 1000


LIMITS = Limits()


def file_store_dir() -> Path:
    p = Path(os.environ.get("KAOWU_FILE_STORE", DATA_DIR / "files"))
    p.mkdir(parents=True, exist_ok=True)
    return p
