"""用户导入: administrators add accounts in bulk to orgs in their scope.

Rules: the org must be the actor's own org or below it; the role follows the org kind
(ROLE_BY_KIND); 通行证ID is unique in the whole system and is also the login name; each new
user gets a one-time password (must be changed at first login), returned once for download.
"""
from __future__ import annotations

import io
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import xlsxwriter
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.auth import ADMIN_ROLES, ROLE_BY_KIND, Actor, generate_password, hash_password, in_scope, role_label
from core.imports.engine import (
    ImportColumn, ImportContext, ImportRow, ImportSpec, parse_email, parse_phone, parse_text,
)
from core.models import Org, User
from core.services.base import audit, row_dict

PASSPORT_PATTERN = r"[A-Za-z0-9_.@-]{4,40}"
_IN_CHUNK = 900  # stay well below SQLite's bound-parameter limit


def _chunks(items: Sequence[str], n: int = _IN_CHUNK) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), n):
        yield items[i:i + n]


def _prepare(ctx: ImportContext, rows: list[ImportRow]) -> None:
    """Bulk look-ups: the orgs named in the file (within scope) and the 通行证IDs already taken."""
    s, actor = ctx.session, ctx.actor
    codes = sorted({r.values["org_code"] for r in rows if r.values.get("org_code")})
    ids = sorted({r.values["passport_id"] for r in rows if r.values.get("passport_id")})
    orgs: dict[str, Org] = {}
    for part in _chunks(codes):
        orgs.update({o.code: o for o in s.scalars(select(Org).where(Org.code.in_(part), in_scope(actor, Org.id)))})
    taken: set[str] = set()
    for part in _chunks(ids):
        taken.update(s.scalars(select(User.passport_id).where(User.passport_id.in_(part))))
        taken.update(s.scalars(select(User.username).where(User.username.in_(part))))
    ctx.cache["orgs"], ctx.cache["taken"] = orgs, taken


def _validate(ctx: ImportContext, row: ImportRow) -> list[tuple[str, str]]:
    errors: list[tuple[str, str]] = []
    code = row.values.get("org_code")
    if code:
        org = ctx.cache["orgs"].get(code)
        if org is None:
            errors.append(("org_code", f"机构“{code}”不存在或不在您的管理范围内"))
        elif org.kind not in ROLE_BY_KIND:
            errors.append(("org_code", f"“{org.name}”是{org.kind_label}，不能导入管理员账号"))
        else:
            row.values["org_id"] = org.id
            row.values["org_name"] = org.name
            row.values["role"] = ROLE_BY_KIND[org.kind]
    pid = row.values.get("passport_id")
    if pid and pid in ctx.cache["taken"]:
        errors.append(("passport_id", f"通行证ID“{pid}”已被使用（一个通行证ID只能绑定一个机构）"))
    return errors


def _hash_all(passwords: list[str]) -> list[str]:
    """bcrypt releases the GIL: hash on every core."""
    if len(passwords) < 4:
        return [hash_password(p) for p in passwords]
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        return list(pool.map(hash_password, passwords))


def credentials_xlsx(table: list[dict[str, str]]) -> bytes:
    """The one-time passwords as a small xlsx (all cells text)."""
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False,
                                   "strings_to_numbers": False, "strings_to_urls": False})
    ws = wb.add_worksheet("一次性密码")
    head = wb.add_format({"bold": True, "border": 1})
    headers = list(table[0].keys()) if table else ["用户名", "姓名", "机构", "角色", "一次性密码"]
    for j, h in enumerate(headers):
        ws.write_string(0, j, h, head)
        ws.set_column(j, j, 22)
    for i, rec in enumerate(table, start=1):
        for j, h in enumerate(headers):
            ws.write_string(i, j, str(rec.get(h, "")))
    ws.write_string(len(table) + 2, 0, "首次登录后必须修改密码。请妥善保管本文件，发放后删除。")
    wb.close()
    return buf.getvalue()


def _commit(s: Session, actor: Actor, rows: list[ImportRow], options: dict[str, Any]) -> dict[str, Any]:
    passwords = [generate_password() for _ in rows]
    hashes = _hash_all(passwords)
    users = []
    for row, h in zip(rows, hashes):
        v = row.values
        users.append(User(username=v["passport_id"], passport_id=v["passport_id"], name=v["name"],
                          email=v.get("email"), phone=v.get("phone"), org_id=v["org_id"], role=v["role"],
                          password_hash=h, must_change_password=True, enabled=True))
    s.add_all(users)
    s.flush()
    table = []
    for u, row, pw in zip(users, rows, passwords):
        audit(s, actor, "create", "用户", u.id, org_id=u.org_id, after=row_dict(u), summary=f"批量导入用户 {u.username}")
        table.append({"用户名": u.username, "姓名": u.name, "机构": row.values["org_name"],
                      "角色": role_label(u.role), "一次性密码": pw})
    return {
        "written": len(users),
        "message": f"新建用户 {len(users)} 个，均须在首次登录后修改密码",
        "credentials": [(u.username, pw) for u, pw in zip(users, passwords)],
        "table": table,
        "downloads": [("下载一次性密码（xlsx）", "新用户一次性密码.xlsx", credentials_xlsx(table))],
    }


USER_COLUMNS = [
    ImportColumn("org_code", "机构代码", required=True, max_length=20, example="110001",
                 parsers=parse_text(r"[0-9A-Za-z]+", "只能包含数字和字母"),
                 hint="本机构或下级机构的代码；角色按机构类型自动确定"),
    ImportColumn("name", "姓名", required=True, max_length=50, example="张三"),
    ImportColumn("passport_id", "通行证ID", required=True, max_length=40, example="zhangsan01",
                 parsers=parse_text(PASSPORT_PATTERN, "只能包含字母、数字和 _ . @ -，长度 4–40 位"),
                 hint="即登录用户名，全系统唯一，一个通行证ID只能绑定一个机构", width=22),
    ImportColumn("email", "邮箱", max_length=100, parsers=parse_email, example="zhangsan@example.com", width=26),
    ImportColumn("phone", "手机", max_length=20, parsers=parse_phone, example="13800138000"),
]

USERS_SPEC = ImportSpec(
    name="users",
    title="用户导入",
    sheet_name="用户",
    columns=USER_COLUMNS,
    key_columns=("passport_id",),
    prepare=_prepare,
    validate_row=_validate,
    commit=_commit,
    roles=ADMIN_ROLES,
    entity="用户",
    notes=["只能给本机构或下级机构导入用户；角色由机构类型决定（省→省管理员，地市→地市管理员，考点→考点管理员）。",
           "导入成功后会生成一次性密码，请下载后发放给本人；首次登录须修改密码。"],
)
