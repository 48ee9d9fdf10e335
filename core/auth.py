"""Users, roles, passwords (bcrypt), server-side sessions, lockout, and THE org-scope predicate.

No streamlit here: core/ui/session.py drives this from the page.
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
from sqlalchemy import ColumnElement, Select, select, update
from sqlalchemy.orm import Session
import bcrypt

from core.config import LIMITS
from core.errors import AuthError, NotFound, PermissionDenied, ValidationError
from core.models import AuditLog, AuthSession, ExamTerm, Org, OrgTerm, User

# role code -> (Chinese label, org kind the role binds to)
ROLES: dict[str, tuple[str, str]] = {
    "center_admin": ("考试中心管理员", "center"),
    "province_admin": ("省管理员", "province"),
    "city_admin": ("地市管理员", "city"),
    "site_admin": ("考点管理员", "site"),
    # OCES 学习中心平台 (000): the teacher before the admin, so ROLE_BY_KIND gives a centre's new user the admin role
    "centre_teacher": ("学习中心教师", "learning_center"),
    "centre_admin": ("学习中心管理员", "learning_center"),
    "institution_reviewer": ("院校审核员", "institution"),
}
ADMIN_ROLES = ("center_admin", "province_admin", "city_admin", "site_admin")
OCES_ROLES = ("centre_admin", "centre_teacher", "institution_reviewer")  # not NCRE admins: no NCRE pages
ROLE_BY_KIND = {kind: role for role, (_label, kind) in ROLES.items()}


def role_label(role: str) -> str:
    return ROLES.get(role, (role, ""))[0]


@dataclass(frozen=True)
class Actor:
    """Who is acting: passed as the first argument to every service."""

    user_id: int
    username: str
    name: str
    role: str
    org_id: int
    org_path: str
    org_kind: str
    org_name: str
    term_id: int | None  # the 考次 the user is looking at
    term_is_current: bool = True

    @property
    def role_label(self) -> str:
        return role_label(self.role)

    def with_term(self, term_id: int, is_current: bool) -> "Actor":
        return Actor(**{**self.__dict__, "term_id": term_id, "term_is_current": is_current})


# ---------------------------------------------------------------- the scope predicate
def scope_org_ids(actor: Actor) -> Select:
    """Ids of the orgs the actor may see: its own org and every org below it (§7.4, §8.3)."""
    return select(Org.id).where(Org.path.startswith(actor.org_path, autoescape=True))


def in_scope(actor: Actor, org_id_column) -> ColumnElement[bool]:
    """THE org-scope predicate: use it in every list, get, count, export and statistic."""
    return org_id_column.in_(scope_org_ids(actor))


def get_scoped_org(s: Session, actor: Actor, org_id: int) -> Org:
    """Fetch an org the actor may see; anything outside scope is 'not found' (no existence leak)."""
    org = s.scalar(select(Org).where(Org.id == org_id, in_scope(actor, Org.id)))
    if org is None:
        raise NotFound("机构不存在或不在您的管理范围内。")
    return org


def require_role(actor: Actor, *roles: str) -> None:
    if actor.role not in roles:
        allowed = "、".join(role_label(r) for r in roles)
        raise PermissionDenied(f"此操作仅限{allowed}。")


def require_below(actor: Actor, org: Org) -> None:
    """The org must be strictly below the actor's org (things 'set by the level above')."""
    if org.id == actor.org_id or not org.path.startswith(actor.org_path):
        raise PermissionDenied(f"“{org.name}”的此项设置由上级机构设置，您只能查看。")


# ---------------------------------------------------------------- passwords
PASSWORD_RULE = "密码长度 8–64 位，且须同时包含字母和数字。"


def check_password_strength(pw: str) -> None:
    if len(pw) > LIMITS.max_password_len:
        raise ValidationError(f"密码过长（最多 {LIMITS.max_password_len} 个字符）。", "密码")
    if len(pw) < LIMITS.min_password_len or not re.search(r"[A-Za-z]", pw) or not re.search(r"\d", pw):
        raise ValidationError(PASSWORD_RULE, "密码")


import os

BCRYPT_ROUNDS = int(os.environ.get("KAOWU_BCRYPT_ROUNDS", "12"))  # tests lower it for speed


def hash_password(pw: str) -> str:
    if len(pw.encode()) > 72 or len(pw) > LIMITS.max_password_len:
        raise ValidationError(f"密码过长（最多 {LIMITS.max_password_len} 个字符）。", "密码")
    return bcrypt.hashpw(pw.encode(), bcrypt.gensalt(rounds=BCRYPT_ROUNDS)).decode()


def verify_password(pw: str, hashed: str) -> bool:
    if len(pw) > LIMITS.max_password_len or len(pw.encode()) > 72:
        return False
    try:
        return bcrypt.checkpw(pw.encode(), hashed.encode())
    except ValueError:
        return False


def generate_password() -> str:
    """A one-time password: letters and digits, always passes the strength rule."""
    while True:
        pw = secrets.token_urlsafe(12).replace("-", "a").replace("_", "b")
        if re.search(r"[A-Za-z]", pw) and re.search(r"\d", pw):
            return pw


# ---------------------------------------------------------------- login, lockout, sessions
WRONG_LOGIN = (f"用户名或密码错误。连续 {LIMITS.max_login_failures} 次错误将锁定账号 "
               f"{LIMITS.lockout_minutes} 分钟。")
_DUMMY_HASH = bcrypt.hashpw(b"dummy-password-1", bcrypt.gensalt(rounds=BCRYPT_ROUNDS)).decode()


def authenticate(s: Session, username: str, password: str, now: datetime | None = None) -> User:
    """Check a login. Lockout state lives in the database: it survives restarts and new browsers."""
    now = now or datetime.now()
    username = (username or "").strip()
    if not username or not password:
        raise AuthError("请输入用户名和密码。")
    if len(password) > LIMITS.max_password_len:
        raise AuthError(f"密码过长（最多 {LIMITS.max_password_len} 个字符）。")
    user = s.scalar(select(User).where(User.username == username))
    if user is None:
        verify_password(password, _DUMMY_HASH)  # same timing as a real check
        _audit_login(s, None, username, "login_failed", "用户不存在")
        raise AuthError(WRONG_LOGIN)
    if user.locked_until and user.locked_until > now:
        mins = max(1, int((user.locked_until - now).total_seconds() // 60) + 1)
        _audit_login(s, user, username, "login_locked", "账号锁定中")
        raise AuthError(f"登录失败次数过多，账号已锁定，请 {mins} 分钟后再试。")
    if not verify_password(password, user.password_hash):
        user.failed_logins = (user.failed_logins or 0) + 1
        if user.failed_logins >= LIMITS.max_login_failures:
            user.locked_until = now + timedelta(minutes=LIMITS.lockout_minutes)
            user.failed_logins = 0
            msg = f"登录失败次数过多，账号已锁定 {LIMITS.lockout_minutes} 分钟。"
        else:
            msg = WRONG_LOGIN  # the same text as for an unknown user: no account enumeration
        _audit_login(s, user, username, "login_failed", msg)
        s.flush()
        raise AuthError(msg)
    if not user.enabled:
        raise AuthError("该账号已停用，请联系上级管理员。")
    if not org_enabled_now(s, user.org_id):
        raise AuthError("所属机构在当前考次未启用（或已删除），不能登录后台，请联系上级管理员。")
    user.failed_logins = 0
    user.locked_until = None
    _audit_login(s, user, username, "login", "登录成功")
    return user


def org_enabled_now(s: Session, org_id: int) -> bool:
    """§7.2: only users of orgs enabled in the current 考次 may use the back office (考试中心 always)."""
    org = s.get(Org, org_id)
    if org is None:
        return False
    if org.kind == "center":
        return True
    term_id = s.scalar(select(ExamTerm.id).where(ExamTerm.is_current.is_(True)))
    if term_id is None:
        return True
    return bool(s.scalar(select(OrgTerm.enabled).where(OrgTerm.org_id == org_id, OrgTerm.term_id == term_id)))


def _audit_login(s: Session, user: User | None, username: str, action: str, summary: str) -> None:
    s.add(AuditLog(user_id=user.id if user else None, username=username, org_id=user.org_id if user else None,
                   action=action, entity="用户", entity_id=str(user.id) if user else None, summary=summary))


def audit_event(s: Session, user: User, action: str, summary: str) -> None:
    _audit_login(s, user, user.username, action, summary)


def create_session(s: Session, user: User, now: datetime | None = None) -> AuthSession:
    now = now or datetime.now()
    rec = AuthSession(id=secrets.token_urlsafe(32), user_id=user.id, created_at=now,
                      expires_at=now + timedelta(hours=LIMITS.session_hours))
    s.add(rec)
    s.flush()
    return rec


def session_user(s: Session, sid: str | None, now: datetime | None = None) -> User | None:
    """The user of a live session record, or None when it is unknown, revoked, expired or disabled."""
    if not sid:
        return None
    now = now or datetime.now()
    rec = s.get(AuthSession, sid)
    if rec is None or rec.revoked_at is not None or rec.expires_at <= now:
        return None
    user = s.get(User, rec.user_id)
    if user is None or not user.enabled or not org_enabled_now(s, user.org_id):
        return None
    return user


def revoke_session(s: Session, sid: str) -> None:
    s.execute(update(AuthSession).where(AuthSession.id == sid, AuthSession.revoked_at.is_(None))
              .values(revoked_at=datetime.now()))


def revoke_user_sessions(s: Session, user_id: int, keep: str | None = None) -> None:
    q = update(AuthSession).where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
    if keep:
        q = q.where(AuthSession.id != keep)
    s.execute(q.values(revoked_at=datetime.now()))


def change_password(s: Session, user_id: int, old: str, new: str, confirm: str, sid: str | None = None) -> None:
    user = s.get(User, user_id)
    if user is None:
        raise NotFound("用户不存在。")
    if not verify_password(old, user.password_hash):
        raise ValidationError("原密码不正确。", "原密码")
    if new != confirm:
        raise ValidationError("两次输入的新密码不一致。", "确认新密码")
    if new == old:
        raise ValidationError("新密码不能与原密码相同。", "新密码")
    check_password_strength(new)
    user.password_hash = hash_password(new)
    user.must_change_password = False
    user.password_changed_at = datetime.now()
    revoke_user_sessions(s, user.id, keep=sid)  # every other browser must log in again
    s.add(AuditLog(user_id=user.id, username=user.username, org_id=user.org_id, action="change_password",
                   entity="用户", entity_id=str(user.id), summary="修改密码"))


def actor_for(s: Session, user: User, term_id: int | None = None) -> Actor:
    org = s.get(Org, user.org_id)
    current = s.scalar(select(ExamTerm).where(ExamTerm.is_current.is_(True)))
    term = s.get(ExamTerm, term_id) if term_id else current
    return Actor(user_id=user.id, username=user.username, name=user.name, role=user.role, org_id=org.id,
                 org_path=org.path, org_kind=org.kind, org_name=org.name,
                 term_id=term.id if term else None,
                 term_is_current=bool(term and current and term.id == current.id))


# ---------------------------------------------------------------- cookie token
COOKIE_NAME = "kaowu_auth"


def encode_token(sid: str, key: str, expires_at: datetime) -> str:
    return jwt.encode({"sid": sid, "exp": int(expires_at.timestamp())}, key, algorithm="HS256")


def decode_token(token: str | None, key: str) -> str | None:
    """The session id in a cookie token, or None for a forged, tampered or expired one."""
    if not token:
        return None
    try:
        data = jwt.decode(token, key, algorithms=["HS256"])
    except jwt.PyJWTError:
        return None
    sid = data.get("sid")
    return sid if isinstance(sid, str) else None
