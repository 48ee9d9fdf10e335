"""Schema creation (Alembic), the first administrator, 考次 management."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from core.auth import generate_password, hash_password
from core.db import session_scope
from core.models import ExamTerm, Org, User

ROOT = Path(__file__).resolve().parents[2]


def alembic_config() -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration (idempotent)."""
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def create_admin(s: Session, username: str, name: str = "考试中心管理员", org_code: str = "000000",
                 password: str | None = None) -> str:
    """Create a 考试中心 administrator (and the 考试中心 org if missing). Returns the one-time password,
    which must be changed at first login."""
    org = s.scalar(select(Org).where(Org.kind == "center"))
    if org is None:
        org = Org(code=org_code, name="教育部考试中心", kind="center", path="/", depth=0)
        s.add(org)
        s.flush()
        org.path = f"/{org.id}/"
    if s.scalar(select(User).where(User.username == username)):
        raise ValueError(f"用户名 {username} 已存在")
    password = password or generate_password()
    s.add(User(username=username, passport_id=username, name=name, org_id=org.id, role="center_admin",
               password_hash=hash_password(password), must_change_password=True))
    return password


def init_db(engine: Engine, announce=print) -> str | None:
    """Create/upgrade the schema; on an empty database create the first administrator and print
    the one-time password. Returns that password (None when users already exist)."""
    migrate(engine)
    with session_scope(engine) as s:
        if s.scalar(select(func.count()).select_from(User)):
            return None
        pw = create_admin(s, "admin")
        if not s.scalar(select(func.count()).select_from(ExamTerm)):
            pass
    announce("=" * 60)
    announce("Kaowu 已初始化数据库。首位考试中心管理员：")
    announce("  用户名: admin")
    announce(f"  一次性密码: {pw}   （首次登录后必须修改）")
    announce("=" * 60)
    return pw
