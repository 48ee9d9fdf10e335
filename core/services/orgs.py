"""用户与机构管理 (001 §7–8) and 考次管理 (001 §4, §7.5, §8.4).

Rules that hold for every function here:
- Role and scope are re-checked in every call. An org or user outside the actor's scope (its own org
  and the orgs below it, §7.4, §8.3) is "not found" — the same message as one that does not exist.
- 用户与机构管理 is not limited by operation windows or by the 考次 (§4.3): org information and users
  are not per 考次. What *is* per 考次 — an org's 是否启用 (OrgTerm) — can only be changed in the
  current 考次 (§4.4: a past 考次 is read-only).
- Things "set by the level above" (启用, 审核, 机构名称/代码, adding/deleting an org) need the actor's
  org to be strictly above the target org.
- Every write appends an audit row (before/after) in the same transaction.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import DateTime, Text, cast, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.auth import (
    ADMIN_ROLES, ROLE_BY_KIND, Actor, generate_password, get_scoped_org, hash_password, in_scope, org_enabled_now,
    require_role, revoke_user_sessions, role_label,
)
from core.errors import AuthError, NotFound, PermissionDenied, ValidationError
from core.masking import mask_phone
from core.models import (
    AuthSession, ExamTerm, Org, OrgTerm, ProvinceNotice, ProvinceSubject, SiteFee, SiteSetting, SiteSubject, User,
)
from core.services.base import audit, current_term, require_writable_term, row_dict
from core.services.tree import CHILD_KIND
from core.services.tree import add_org as _tree_add_org

# 机构级别 as the manual's org list shows it (§8: "考点级")
LEVEL_LABELS = {"center": "考试中心", "province": "省级", "city": "地市级", "site": "考点级"}

EMAIL_RE = re.compile(r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}$")
MOBILE_RE = re.compile(r"^1\d{10}$")
TEL_RE = re.compile(r"^[0-9+\-() ]{5,30}$")
POSTCODE_RE = re.compile(r"^\d{6}$")
ORG_CODE_RE = re.compile(r"^[0-9A-Za-z]{1,20}$")
PASSPORT_RE = re.compile(r"^[A-Za-z0-9_.@\-]{4,40}$")  # as the 用户导入 spec
TERM_CODE_RE = re.compile(r"^\d{1,10}$")

NOT_FOUND_USER = "用户不存在或不在您的管理范围内。"


def level_label(kind: str) -> str:
    return LEVEL_LABELS.get(kind, kind)


# ================================================================ small validators
def _text(value: Any, label: str, max_len: int, required: bool = False) -> str | None:
    """Strip a text field; '' becomes None. Names the field in every message."""
    if value is None:
        v = ""
    elif isinstance(value, str):
        v = value.strip()
    else:
        raise ValidationError(f"{label}格式不正确。", label)
    if not v:
        if required:
            raise ValidationError(f"{label}不能为空。", label)
        return None
    if len(v) > max_len:
        raise ValidationError(f"{label}过长（最多 {max_len} 个字符）。", label)
    if any(ord(c) < 32 for c in v):
        raise ValidationError(f"{label}不能包含控制字符。", label)
    return v


def _email(value: Any, label: str = "邮箱", required: bool = False) -> str | None:
    v = _text(value, label, 100, required)
    if v is not None and not EMAIL_RE.match(v):
        raise ValidationError(f"{label}格式不正确（例如 name@example.com）。", label)
    return v


def _mobile(value: Any, label: str = "手机") -> str | None:
    v = _text(value, label, 30)
    if v is not None and not MOBILE_RE.match(v):
        raise ValidationError(f"{label}号码须为 1 开头的 11 位数字。", label)
    return v


# ================================================================ orgs
@dataclass(frozen=True)
class OrgRow:
    """One line of the left-hand 机构 list (§8)."""

    id: int
    parent_id: int | None
    code: str
    name: str
    kind: str
    level: str  # 机构级别
    depth: int  # relative to the actor's own org (0 = own org)
    enabled: bool  # 是否启用 in the viewed 考次
    in_term: bool  # False: the org has no row in the viewed 考次 (removed from it / never added)
    reviewed: bool


@dataclass(frozen=True)
class OrgDetail:
    """机构信息 form data with what the actor may do to it."""

    id: int
    parent_name: str | None
    code: str
    name: str
    kind: str
    level: str
    address: str | None
    contact: str | None
    phone: str | None
    email: str | None
    postcode: str | None
    remark: str | None
    reviewed: bool
    enabled: bool
    in_term: bool
    is_own: bool
    can_edit: bool  # not 已审核
    can_edit_name_code: bool  # the level above (or the 考试中心 on itself)
    is_above: bool  # actor's org is strictly above: may toggle 启用 / 审核, delete
    child_kind: str | None  # the kind of org that can be added below it
    term_writable: bool  # the viewed 考次 is the current one (启用 can be changed)


def _org_filters(actor: Actor, search: str | None, kind: str | None) -> list:
    conds = [in_scope(actor, Org.id)]
    if search and search.strip():
        q = search.strip()[:100]
        conds.append(or_(Org.name.contains(q, autoescape=True), Org.code.contains(q, autoescape=True)))
    if kind:
        conds.append(Org.kind == kind)
    return conds


def _tree_keys(actor: Actor):
    """Recursive CTE: (id, key) for the actor's org and every org below it. key = the codes from the
    actor's org down, '/'-joined, so ordering by key is a depth-first walk with siblings by code."""
    anchor = (select(Org.id.label("id"), cast(Org.code + "/", Text).label("k"))
              .where(Org.id == actor.org_id, in_scope(actor, Org.id)).cte("org_keys", recursive=True))
    below = select(Org.id, cast(anchor.c.k + Org.code + "/", Text)).join(anchor, Org.parent_id == anchor.c.id)
    return anchor.union_all(below)


def org_tree(s: Session, actor: Actor, search: str | None = None, kind: str | None = None,
             offset: int = 0, limit: int | None = None) -> list[OrgRow]:
    """The orgs the actor may see (own + below, never siblings or parents) in tree order (siblings by
    code), with 是否启用 in the viewed 考次. Paged in SQL (`offset`/`limit`); `search` matches 名称 or 代码."""
    require_role(actor, *ADMIN_ROLES)
    keys = _tree_keys(actor)
    order = keys.c.k if s.get_bind().dialect.name == "sqlite" else keys.c.k.collate("C")
    q = (select(Org.id, Org.parent_id, Org.code, Org.name, Org.kind, Org.depth, Org.reviewed,
                OrgTerm.id.label("ot_id"), OrgTerm.enabled)
         .join(keys, keys.c.id == Org.id)
         .outerjoin(OrgTerm, (OrgTerm.org_id == Org.id) & (OrgTerm.term_id == (actor.term_id or -1)))
         .where(*_org_filters(actor, search, kind)).order_by(order).offset(max(0, offset)))
    if limit is not None:
        q = q.limit(max(0, limit))
    own_depth = actor.org_path.count("/") - 2
    return [OrgRow(id=r.id, parent_id=r.parent_id, code=r.code, name=r.name, kind=r.kind, level=level_label(r.kind),
                   depth=max(0, r.depth - own_depth), enabled=bool(r.ot_id is not None and r.enabled),
                   in_term=r.ot_id is not None, reviewed=bool(r.reviewed))
            for r in s.execute(q)]


def org_count(s: Session, actor: Actor, search: str | None = None, kind: str | None = None) -> int:
    """How many orgs `org_tree` would list (for paging)."""
    require_role(actor, *ADMIN_ROLES)
    return s.scalar(select(func.count()).select_from(Org).where(*_org_filters(actor, search, kind))) or 0


def _is_above(actor: Actor, org: Org) -> bool:
    return org.id != actor.org_id and org.path.startswith(actor.org_path)


def _org_term(s: Session, org_id: int, term_id: int | None) -> OrgTerm | None:
    if term_id is None:
        return None
    return s.scalar(select(OrgTerm).where(OrgTerm.org_id == org_id, OrgTerm.term_id == term_id))


def org_detail(s: Session, actor: Actor, org_id: int) -> OrgDetail:
    """机构信息 of one org in scope (§7), with the actor's permissions on it."""
    require_role(actor, *ADMIN_ROLES)
    org = get_scoped_org(s, actor, org_id)
    ot = _org_term(s, org.id, actor.term_id)
    above = _is_above(actor, org)
    parent = s.get(Org, org.parent_id) if org.parent_id else None
    return OrgDetail(
        id=org.id, parent_name=parent.name if parent and above else None, code=org.code, name=org.name, kind=org.kind, level=level_label(org.kind),
        address=org.address, contact=org.contact, phone=org.phone, email=org.email, postcode=org.postcode,
        remark=org.remark, reviewed=bool(org.reviewed), enabled=bool(ot and ot.enabled), in_term=ot is not None,
        is_own=org.id == actor.org_id, can_edit=not org.reviewed,
        can_edit_name_code=above or (org.kind == "center" and actor.role == "center_admin"),
        is_above=above, child_kind=CHILD_KIND.get(org.kind),
        term_writable=actor.term_id is not None and actor.term_is_current)


# field key -> (Chinese label, max length)
ORG_FIELDS: dict[str, tuple[str, int]] = {
    "name": ("机构名称", 100),
    "code": ("机构代码", 20),
    "address": ("地址", 200),
    "contact": ("联系人", 50),
    "phone": ("联系电话", 30),
    "email": ("邮箱", 100),
    "postcode": ("邮编", 10),
    "remark": ("备注", 500),
}
ORG_INFO_FIELDS = ("address", "contact", "phone", "email", "postcode", "remark")


def _clean_org_value(s: Session, key: str, value: Any, org_id: int | None = None) -> str | None:
    label, max_len = ORG_FIELDS[key]
    v = _text(value, label, max_len, required=key in ("name", "code"))
    if v is None:
        return None
    if key == "code":
        if not ORG_CODE_RE.match(v):
            raise ValidationError("机构代码只能由字母和数字组成（最多 20 位）。", label)
        clash = s.scalar(select(Org.id).where(Org.code == v, Org.id != (org_id or -1)))
        if clash:
            raise ValidationError(f"机构代码 {v} 已被其他机构使用。", label)
    elif key == "email":
        v = _email(v, label)
    elif key == "phone" and not TEL_RE.match(v):
        raise ValidationError("联系电话格式不正确（数字、连字符、括号，5–30 位）。", label)
    elif key == "postcode" and not POSTCODE_RE.match(v):
        raise ValidationError("邮编须为 6 位数字。", label)
    return v


def update_org(s: Session, actor: Actor, org_id: int, values: dict[str, Any]) -> OrgDetail:
    """修改机构信息 (§7.1, §7.3): own org or below, any time, never when 已审核.
    机构名称/机构代码 only by the level above. `values` keys: name, code, address, contact, phone,
    email, postcode, remark (missing keys are left unchanged)."""
    require_role(actor, *ADMIN_ROLES)
    org = get_scoped_org(s, actor, org_id)
    unknown = set(values) - set(ORG_FIELDS)
    if unknown:
        raise ValidationError(f"不能修改的字段：{'、'.join(sorted(unknown))}。")
    if org.reviewed:
        raise PermissionDenied("已审核的机构信息不能修改。如需修改，请联系上级机构取消审核。")
    before = row_dict(org)
    cleaned = {k: _clean_org_value(s, k, v, org.id) for k, v in values.items()}
    may_rename = _is_above(actor, org) or (org.kind == "center" and actor.role == "center_admin")
    for key in ("name", "code"):
        if key in cleaned and cleaned[key] != getattr(org, key) and not may_rename:
            raise PermissionDenied(f"{ORG_FIELDS[key][0]}由上级机构修改，您只能修改联系信息。")
    changed = {k: v for k, v in cleaned.items() if getattr(org, k) != v}
    if changed:
        for k, v in changed.items():
            setattr(org, k, v)
        s.flush()
        audit(s, actor, "update", "机构", org.id, org_id=org.id, before=before, after=row_dict(org),
              summary=f"修改机构信息：{org.name}（{'、'.join(ORG_FIELDS[k][0] for k in changed)}）")
    return org_detail(s, actor, org.id)


def add_org(s: Session, actor: Actor, parent_id: int, code: str, name: str, kind: str | None = None,
            **fields: Any) -> OrgDetail:
    """新增下级机构: the parent must be the actor's org or below it; the new org's kind is the
    parent's child kind (省 → 地市 → 考点). It joins the current 考次 enabled. `fields`: address,
    contact, phone, email, postcode, remark."""
    require_role(actor, *ADMIN_ROLES)
    parent = get_scoped_org(s, actor, parent_id)
    child = CHILD_KIND.get(parent.kind)
    if child is None:
        raise ValidationError(f"“{parent.name}”是{level_label(parent.kind)}机构，不能再添加下级机构。", "上级机构")
    if kind is not None and kind != child:
        raise ValidationError(f"“{parent.name}”的下级机构只能是{level_label(child)}机构。", "机构级别")
    unknown = set(fields) - set(ORG_INFO_FIELDS)
    if unknown:
        raise ValidationError(f"不能设置的字段：{'、'.join(sorted(unknown))}。")
    code_v = _clean_org_value(s, "code", code)
    name_v = _clean_org_value(s, "name", name)
    extra = {k: _clean_org_value(s, k, v) for k, v in fields.items()}
    cur = current_term(s)
    org = _tree_add_org(s, parent, code_v, name_v, child, [cur.id] if cur else [], **extra)
    audit(s, actor, "create", "机构", org.id, org_id=org.id, after=row_dict(org),
          summary=f"新增{level_label(child)}机构：（{org.code}）{org.name}，上级：{parent.name}")
    return org_detail(s, actor, org.id)


def delete_org(s: Session, actor: Actor, org_id: int) -> None:
    """删除机构 (§7.6: by the level above). Refused while it has lower orgs, users or business data
    (报名 etc.); its per-考次 settings go with it. To keep history, set it 未启用 instead."""
    require_role(actor, *ADMIN_ROLES)
    org = get_scoped_org(s, actor, org_id)
    if not _is_above(actor, org):
        raise PermissionDenied("机构只能由上级机构删除。")
    if s.scalar(select(func.count()).select_from(Org).where(Org.parent_id == org.id)):
        raise ValidationError(f"“{org.name}”下还有下级机构，请先删除下级机构。")
    if s.scalar(select(func.count()).select_from(User).where(User.org_id == org.id)):
        raise ValidationError(f"“{org.name}”下还有用户，请先删除或转移这些用户。")
    before = row_dict(org)
    try:
        with s.begin_nested():
            s.delete(org)
            s.flush()
    except IntegrityError:
        raise ValidationError(f"“{org.name}”已有报名等业务数据，不能删除；可在本考次将其设置为未启用。") from None
    audit(s, actor, "delete", "机构", org_id, org_id=org_id, before=before,
          summary=f"删除机构：（{before['code']}）{before['name']}")


def set_org_enabled(s: Session, actor: Actor, org_id: int, enabled: bool) -> None:
    """是否启用 in the viewed 考次 (§7.2), by the level above, only in the current 考次. Only the users of
    an enabled org can log in; disabling ends its users' sessions at once."""
    require_role(actor, *ADMIN_ROLES)
    org = get_scoped_org(s, actor, org_id)
    if not _is_above(actor, org):
        raise PermissionDenied(f"“{org.name}”的启用状态由上级机构设置，您只能查看。")
    require_writable_term(actor)
    ot = _org_term(s, org.id, actor.term_id)
    before = {"enabled": bool(ot.enabled) if ot else None}
    if ot is None:
        ot = OrgTerm(org_id=org.id, term_id=actor.term_id, enabled=bool(enabled))
        s.add(ot)
    elif bool(ot.enabled) == bool(enabled):
        return
    ot.enabled = bool(enabled)
    s.flush()
    if not enabled:
        for uid in s.scalars(select(User.id).where(User.org_id == org.id)):
            revoke_user_sessions(s, uid)
    audit(s, actor, "update", "机构启用", org.id, org_id=org.id, before=before, after={"enabled": bool(enabled)},
          summary=f"{'启用' if enabled else '停用'}机构：{org.name}（考次 {actor.term_id}）")


def set_org_reviewed(s: Session, actor: Actor, org_id: int, reviewed: bool) -> None:
    """信息审核 (§7.3), by the level above: 已审核 makes the 机构信息 read-only; it does not affect use."""
    require_role(actor, *ADMIN_ROLES)
    org = get_scoped_org(s, actor, org_id)
    if not _is_above(actor, org):
        raise PermissionDenied(f"“{org.name}”的审核状态由上级机构设置。")
    if bool(org.reviewed) == bool(reviewed):
        return
    before = {"reviewed": bool(org.reviewed)}
    org.reviewed = bool(reviewed)
    s.flush()
    audit(s, actor, "update", "机构审核", org.id, org_id=org.id, before=before, after={"reviewed": bool(reviewed)},
          summary=f"{'审核' if reviewed else '取消审核'}机构信息：{org.name}")


def org_enabled_for_term(s: Session, org_id: int, term_id: int | None = None) -> bool:
    """§3, §7.2: may the users of this org log in to the 考次 (default: the current one, the same rule
    core.auth.authenticate/session_user apply)? The 考试中心 always may; with no 考次 set up yet everybody
    may (the center must create one); otherwise the org needs an OrgTerm row with 启用."""
    if term_id is None:
        return org_enabled_now(s, org_id)
    org = s.get(Org, org_id)
    if org is None:
        return False
    if org.kind == "center":
        return True
    ot = _org_term(s, org_id, term_id)
    return bool(ot and ot.enabled)


def require_org_enabled(s: Session, org_id: int, term_id: int | None = None) -> None:
    """Raise the login message of §7.2 when the org is not enabled in the (current) 考次."""
    if not org_enabled_for_term(s, org_id, term_id):
        raise AuthError("您所在的机构在当前考次未启用（或已被删除），无法登录后台。请联系上级管理员检查机构"
                        "是否启用、登录通行证是否已绑定到机构。")


# ================================================================ users
@dataclass(frozen=True)
class UserRow:
    """One line of the 用户 list (§8). The phone is masked here, on the server."""

    id: int
    passport_id: str
    username: str
    name: str
    org_id: int
    org_name: str
    role: str
    role_label: str
    email: str | None
    phone_masked: str
    enabled: bool
    must_change_password: bool
    locked: bool
    is_self: bool


def _user_row(u: User, org: Org, actor: Actor) -> UserRow:
    return UserRow(id=u.id, passport_id=u.passport_id, username=u.username, name=u.name, org_id=org.id,
                   org_name=org.name, role=u.role, role_label=role_label(u.role), email=u.email,
                   phone_masked=mask_phone(u.phone) or "", enabled=bool(u.enabled),
                   must_change_password=bool(u.must_change_password),
                   locked=bool(u.locked_until and u.locked_until > datetime.now()), is_self=u.id == actor.user_id)


def _scoped_user(s: Session, actor: Actor, user_id: int) -> User:
    require_role(actor, *ADMIN_ROLES)
    u = s.scalar(select(User).where(User.id == user_id, in_scope(actor, User.org_id)))
    if u is None:
        raise NotFound(NOT_FOUND_USER)
    return u


def list_users(s: Session, actor: Actor, org_id: int) -> list[UserRow]:
    """The users of one org in scope (§8: click an org, its users load on the right)."""
    require_role(actor, *ADMIN_ROLES)
    org = get_scoped_org(s, actor, org_id)
    users = s.scalars(select(User).where(User.org_id == org.id, in_scope(actor, User.org_id))
                      .order_by(User.id)).all()
    return [_user_row(u, org, actor) for u in users]


def get_user(s: Session, actor: Actor, user_id: int) -> UserRow:
    """One user in scope, for the 修改用户 form (phone masked: leave it blank to keep it)."""
    u = _scoped_user(s, actor, user_id)
    return _user_row(u, s.get(Org, u.org_id), actor)


def _check_passport_free(s: Session, passport_id: str, user_id: int | None = None) -> None:
    clash = s.scalar(select(User.id).where(or_(User.passport_id == passport_id, User.username == passport_id),
                                           User.id != (user_id or -1)))
    if clash:
        raise ValidationError("一个通行证ID只能绑定一个机构：该通行证ID已被绑定，请核对。", "通行证ID")


def _passport(value: Any) -> str:
    v = _text(value, "通行证ID", 40, required=True)
    if not PASSPORT_RE.match(v):
        raise ValidationError("通行证ID只能包含字母、数字和 _ . @ -，长度 4–40 位。", "通行证ID")
    return v


@dataclass(frozen=True)
class NewPassword:
    """A one-time password to hand over securely; it must be changed at first login."""

    user_id: int
    username: str
    name: str
    password: str


def add_user(s: Session, actor: Actor, org_id: int, passport_id: str, name: str, email: str | None = None,
             phone: str | None = None) -> NewPassword:
    """新增用户 (§8.2, §8.6): the role follows the org's level (考点 → 考点管理员 ...). The 通行证ID is the
    login name and binds one org only. Returns the one-time password (shown once)."""
    require_role(actor, *ADMIN_ROLES)
    org = get_scoped_org(s, actor, org_id)
    role = ROLE_BY_KIND.get(org.kind)
    if role is None:
        raise ValidationError(f"{org.kind_label}机构不能添加后台管理员。", "所属机构")
    pid = _passport(passport_id)
    name_v = _text(name, "姓名", 50, required=True)
    email_v = _email(email)
    phone_v = _mobile(phone)
    _check_passport_free(s, pid)
    password = generate_password()
    u = User(username=pid, passport_id=pid, name=name_v, email=email_v, phone=phone_v, org_id=org.id, role=role,
             password_hash=hash_password(password), must_change_password=True, enabled=True)
    s.add(u)
    s.flush()
    audit(s, actor, "create", "用户", u.id, org_id=org.id, after=row_dict(u),
          summary=f"新增用户：{name_v}（{pid}），{org.name}，{role_label(role)}")
    return NewPassword(u.id, u.username, u.name, password)


def update_user(s: Session, actor: Actor, user_id: int, name: str | None = None, email: str | None = None,
                phone: str | None = None, passport_id: str | None = None) -> UserRow:
    """修改用户 (§8.2, §8.6). `None` leaves a field unchanged; '' clears 邮箱/手机. Changing the 通行证ID
    also changes the login name when the user logs in with it, and ends the user's sessions."""
    u = _scoped_user(s, actor, user_id)
    before = row_dict(u)
    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = _text(name, "姓名", 50, required=True)
    if email is not None:
        changes["email"] = _email(email)
    if phone is not None:
        changes["phone"] = _mobile(phone)
    relogin = False
    if passport_id is not None:
        pid = _passport(passport_id)
        if pid != u.passport_id:
            _check_passport_free(s, pid, u.id)
            if u.username == u.passport_id:
                changes["username"] = pid
                relogin = True
            changes["passport_id"] = pid
    changes = {k: v for k, v in changes.items() if getattr(u, k) != v}
    if changes:
        for k, v in changes.items():
            setattr(u, k, v)
        s.flush()
        if relogin:
            revoke_user_sessions(s, u.id)
        labels = {"name": "姓名", "email": "邮箱", "phone": "手机", "passport_id": "通行证ID", "username": "用户名"}
        audit(s, actor, "update", "用户", u.id, org_id=u.org_id, before=before, after=row_dict(u),
              summary=f"修改用户：{u.name}（{'、'.join(labels[k] for k in changes)}）")
    return _user_row(u, s.get(Org, u.org_id), actor)


def delete_user(s: Session, actor: Actor, user_id: int) -> None:
    """删除用户 (§8.2): any user of the actor's org or below, except oneself."""
    u = _scoped_user(s, actor, user_id)
    if u.id == actor.user_id:
        raise PermissionDenied("不能删除自己。")
    before = row_dict(u)
    try:
        with s.begin_nested():
            s.execute(delete(AuthSession).where(AuthSession.user_id == u.id))
            s.delete(u)
            s.flush()
    except IntegrityError:
        raise ValidationError(f"用户“{u.name}”已有关联的业务记录，不能删除，请改为停用。") from None
    audit(s, actor, "delete", "用户", user_id, org_id=before["org_id"], before=before,
          summary=f"删除用户：{before['name']}（{before['passport_id']}）")


def set_user_enabled(s: Session, actor: Actor, user_id: int, enabled: bool) -> None:
    """停用/启用用户. A disabled user cannot log in and every open session ends at once."""
    u = _scoped_user(s, actor, user_id)
    if u.id == actor.user_id:
        raise PermissionDenied("不能停用或启用自己。")
    if bool(u.enabled) == bool(enabled):
        return
    u.enabled = bool(enabled)
    s.flush()
    if not enabled:
        revoke_user_sessions(s, u.id)
    audit(s, actor, "update", "用户", u.id, org_id=u.org_id, before={"enabled": not enabled},
          after={"enabled": bool(enabled)}, summary=f"{'启用' if enabled else '停用'}用户：{u.name}")


def reset_password(s: Session, actor: Actor, user_id: int) -> NewPassword:
    """重置密码: by an admin of the same org or above, never for oneself (use 修改密码). Returns a new
    one-time password (must be changed at first login), unlocks the account, ends its sessions."""
    u = _scoped_user(s, actor, user_id)
    if u.id == actor.user_id:
        raise PermissionDenied("不能重置自己的密码，请在《修改密码》中修改。")
    password = generate_password()
    u.password_hash = hash_password(password)
    u.must_change_password = True
    u.failed_logins = 0
    u.locked_until = None
    u.password_changed_at = datetime.now()
    s.flush()
    revoke_user_sessions(s, u.id)
    audit(s, actor, "reset_password", "用户", u.id, org_id=u.org_id, summary=f"重置密码：{u.name}（{u.passport_id}）")
    return NewPassword(u.id, u.username, u.name, password)


@dataclass(frozen=True)
class PassportInfo:
    passport_id: str
    name: str
    email: str | None
    phone_masked: str
    org_name: str
    role_label: str


def find_passport(s: Session, actor: Actor, email: str) -> list[PassportInfo]:
    """查找通行证ID by 邮箱 (§8.6), within the actor's scope."""
    require_role(actor, *ADMIN_ROLES)
    e = _email(email, required=True)
    rows = s.execute(select(User, Org).join(Org, Org.id == User.org_id)
                     .where(func.lower(User.email) == e.lower(), in_scope(actor, User.org_id))
                     .order_by(User.id)).all()
    if not rows:
        raise NotFound(f"未找到邮箱为 {e} 的通行证（或不在您的管理范围内）。")
    return [PassportInfo(u.passport_id, u.name, u.email, mask_phone(u.phone) or "", o.name, role_label(u.role))
            for u, o in rows]


def view_passport(s: Session, actor: Actor, passport_id: str) -> PassportInfo:
    """查看通行证 (§8.6): the 邮箱 of a 通行证ID, within the actor's scope."""
    require_role(actor, *ADMIN_ROLES)
    pid = _passport(passport_id)
    row = s.execute(select(User, Org).join(Org, Org.id == User.org_id)
                    .where(User.passport_id == pid, in_scope(actor, User.org_id))).first()
    if row is None:
        raise NotFound(f"未找到通行证ID {pid}（或不在您的管理范围内）。")
    u, o = row
    return PassportInfo(u.passport_id, u.name, u.email, mask_phone(u.phone) or "", o.name, role_label(u.role))


# ================================================================ 考次
@dataclass(frozen=True)
class TermRow:
    id: int
    code: str
    name: str
    exam_start: datetime | None
    exam_end: datetime | None
    is_current: bool
    orgs: int  # orgs in the 考次
    enabled_orgs: int


def list_terms(s: Session) -> list[TermRow]:
    """Every 考次, newest first (any administrator may see the list: it is the 考次切换 list)."""
    n_all = dict(s.execute(select(OrgTerm.term_id, func.count()).group_by(OrgTerm.term_id)).all())
    n_on = dict(s.execute(select(OrgTerm.term_id, func.count()).where(OrgTerm.enabled.is_(True))
                          .group_by(OrgTerm.term_id)).all())
    return [TermRow(t.id, t.code, t.name, t.exam_start, t.exam_end, bool(t.is_current), n_all.get(t.id, 0),
                    n_on.get(t.id, 0))
            for t in s.scalars(select(ExamTerm).order_by(ExamTerm.id.desc()))]


def _as_datetime(value: Any, label: str, end_of_day: bool = False) -> datetime:
    if value is None or value == "":
        raise ValidationError(f"{label}不能为空。", label)
    if isinstance(value, datetime):
        return value.replace(microsecond=0)
    if isinstance(value, date):
        return datetime.combine(value, time(23, 59) if end_of_day else time(8, 0))
    if isinstance(value, str):
        for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
            try:
                d = datetime.strptime(value.strip(), fmt)
            except ValueError:
                continue
            return d if fmt != "%Y-%m-%d" else _as_datetime(d.date(), label, end_of_day)
    raise ValidationError(f"{label}格式不正确（例如 2026-09-19 08:00）。", label)


def _term_fields(s: Session, code: Any, name: Any, exam_start: Any, exam_end: Any,
                 term_id: int | None = None) -> tuple[str, str, datetime, datetime]:
    code_v = _text(code, "考次代码", 10, required=True)
    if not TERM_CODE_RE.match(code_v):
        raise ValidationError("考次代码须为数字（用于准考证号），例如 70。", "考次代码")
    if s.scalar(select(ExamTerm.id).where(ExamTerm.code == code_v, ExamTerm.id != (term_id or -1))):
        raise ValidationError(f"考次代码 {code_v} 已存在。", "考次代码")
    name_v = _text(name, "考次名称", 100, required=True)
    start = _as_datetime(exam_start, "考试开始时间")
    end = _as_datetime(exam_end, "考试结束时间", end_of_day=True)
    if end < start:
        raise ValidationError("考试结束时间不能早于考试开始时间。", "考试结束时间")
    return code_v, name_v, start, end


# per-org settings copied into a new 考次 (§7.5). Not copied: intent_quota (the exam dates change) and
# op_window (the operation times change): the levels above set those again for the new 考次.
COPIED_SETTINGS = (SiteSetting, SiteSubject, SiteFee, ProvinceSubject, ProvinceNotice)
_BATCH = 5000


def _copy_rows(s: Session, model, src: int, dst: int, shift: timedelta, now: datetime) -> int:
    table = model.__table__
    cols = [c for c in table.columns if c.name not in ("id", "created_at")]
    n = 0
    batch: list[dict] = []
    result = s.execute(select(*cols).where(table.c.term_id == src).order_by(table.c.id))
    for row in result:
        rec = dict(row._mapping)
        rec["term_id"] = dst
        for c in cols:
            if c.name == "updated_at":
                rec["updated_at"] = now
            elif isinstance(c.type, DateTime) and rec.get(c.name) is not None:
                rec[c.name] = rec[c.name] + shift
        batch.append(rec)
        if len(batch) >= _BATCH:
            s.execute(insert(table), batch)
            n += len(batch)
            batch = []
    if batch:
        s.execute(insert(table), batch)
        n += len(batch)
    return n


def create_term(s: Session, actor: Actor, code: str, name: str, exam_start: Any, exam_end: Any,
                copy_from_term_id: int | None = None, make_current: bool = True) -> dict:
    """创建考次 (考试中心 only). The orgs of the source 考次 (default: the current one) and their 是否启用
    are copied (§7.5), and so are the per-org settings rows: 考点报名综合设置 (site_setting), 考点开考科目
    (site_subject), 考点费用 (site_fee), 省开考科目 (province_subject) and 省报名通告 (province_notice).
    Dates in copied rows move by the distance between the two 考次's exam start. 意向考试日期名额
    (intent_quota) and 操作时间 (op_window) are not copied: their dates belong to one 考次.

    Users are not per 考次 in Kaowu: an administrator binds to an org, not to a 考次 (§3), so "上个考次的
    用户信息会被复制到新考次" (§8.4) holds by construction — every user of an org in the new 考次 can log
    in as soon as the org is enabled there. Returns {"term_id", "copied": {table: rows}}."""
    require_role(actor, "center_admin")
    code_v, name_v, start, end = _term_fields(s, code, name, exam_start, exam_end)
    src = s.get(ExamTerm, copy_from_term_id) if copy_from_term_id else current_term(s)
    if copy_from_term_id and src is None:
        raise NotFound("要复制的考次不存在。")
    term = ExamTerm(code=code_v, name=name_v, exam_start=start, exam_end=end, is_current=False)
    s.add(term)
    s.flush()
    now = datetime.now().replace(microsecond=0)
    copied: dict[str, int] = {}
    if src is not None:
        shift = (start - src.exam_start) if src.exam_start else timedelta(0)
        rows = [{"org_id": o, "term_id": term.id, "enabled": e}
                for o, e in s.execute(select(OrgTerm.org_id, OrgTerm.enabled).where(OrgTerm.term_id == src.id))]
        if rows:
            s.execute(insert(OrgTerm.__table__), rows)
        copied["org_term"] = len(rows)
        for model in COPIED_SETTINGS:
            copied[model.__tablename__] = _copy_rows(s, model, src.id, term.id, shift, now)
    else:  # the first 考次: every existing org takes part, enabled
        rows = [{"org_id": o, "term_id": term.id, "enabled": True} for o in s.scalars(select(Org.id))]
        if rows:
            s.execute(insert(OrgTerm.__table__), rows)
        copied["org_term"] = len(rows)
    center = s.scalar(select(Org.id).where(Org.kind == "center"))
    if center and not _org_term(s, center, term.id):
        s.add(OrgTerm(org_id=center, term_id=term.id, enabled=True))
    s.flush()
    if make_current or src is None:
        _make_current(s, term)
    audit(s, actor, "create", "考次", term.id, after=row_dict(term) | {"copied_from": src.id if src else None,
                                                                         "copied": copied},
          summary=f"创建考次：（{code_v}）{name_v}" + (f"，复制自（{src.code}）{src.name}" if src else ""))
    return {"term_id": term.id, "copied": copied, "is_current": term.is_current}


def _make_current(s: Session, term: ExamTerm) -> None:
    s.execute(update(ExamTerm).where(ExamTerm.id != term.id, ExamTerm.is_current.is_(True)).values(is_current=False))
    s.flush()
    term.is_current = True
    s.flush()


def set_current_term(s: Session, actor: Actor, term_id: int) -> None:
    """设为当前考次 (考试中心 only). Other 考次 become history: read-only (§4.4)."""
    require_role(actor, "center_admin")
    term = s.get(ExamTerm, term_id)
    if term is None:
        raise NotFound("考次不存在。")
    if term.is_current:
        return
    before = current_term(s)
    _make_current(s, term)
    audit(s, actor, "update", "考次", term.id, before={"current_term": before.id if before else None},
          after={"current_term": term.id}, summary=f"设为当前考次：（{term.code}）{term.name}")


def update_term(s: Session, actor: Actor, term_id: int, code: str, name: str, exam_start: Any,
                exam_end: Any) -> None:
    """修改考次代码/名称/考试时间 (考试中心 only; a past 考次 cannot be changed)."""
    require_role(actor, "center_admin")
    term = s.get(ExamTerm, term_id)
    if term is None:
        raise NotFound("考次不存在。")
    cur = current_term(s)
    if cur is not None and term.id < cur.id and not term.is_current:
        raise PermissionDenied("历史考次不能修改。")
    code_v, name_v, start, end = _term_fields(s, code, name, exam_start, exam_end, term.id)
    before = row_dict(term)
    term.code, term.name, term.exam_start, term.exam_end = code_v, name_v, start, end
    s.flush()
    audit(s, actor, "update", "考次", term.id, before=before, after=row_dict(term),
          summary=f"修改考次：（{code_v}）{name_v}")
