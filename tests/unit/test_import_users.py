"""用户导入 end to end: scope, role by org kind, unique 通行证ID, one-time passwords, audit."""
from __future__ import annotations

import io

import openpyxl
import pytest
from sqlalchemy import func, select

from core import auth
from core.db import session_scope
from core.errors import PermissionDenied
from core.imports import ONLY_VALID, run_import, template_bytes
from core.imports.specs_users import USERS_SPEC
from core.models import AuditLog, Org, User
from core.services.tree import add_org

HEADER = ["机构代码", "姓名", "通行证ID", "邮箱", "手机"]


def xlsx(rows: list[list]) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "用户"
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def users_count(engine) -> int:
    with session_scope(engine) as s:
        return s.scalar(select(func.count()).select_from(User))


def test_province_admin_imports_users(seed):
    a = seed.actor("prov11")
    before = users_count(seed.engine)
    data = xlsx([HEADER,
                 ["11", "省里人", "prov11-b", "b@Example.com", "13800138001"],
                 ["1101", "市里人", "city1101-b", "", ""],
                 ["110002", "考点人", "site110002-b", "", 13800138003]])
    res = run_import(seed.engine, USERS_SPEC, a, data, "用户.xlsx", dry_run=False)
    assert res.ok and res.committed and res.written == 3
    creds = dict(res.summary["credentials"])
    assert set(creds) == {"prov11-b", "city1101-b", "site110002-b"}
    assert res.summary["downloads"][0][2][:2] == b"PK"
    assert users_count(seed.engine) == before + 3
    with session_scope(seed.engine) as s:
        got = {u.username: u for u in s.scalars(select(User).where(User.username.in_(creds)))}
        assert {k: u.role for k, u in got.items()} == {
            "prov11-b": "province_admin", "city1101-b": "city_admin", "site110002-b": "site_admin"}
        u = got["site110002-b"]
        assert u.passport_id == "site110002-b" and u.phone == "13800138003" and u.must_change_password
        assert got["prov11-b"].email == "b@example.com"
        assert auth.verify_password(creds["site110002-b"], u.password_hash)
        logs = s.scalars(select(AuditLog).where(AuditLog.entity == "用户", AuditLog.action.in_(["create", "import"]))).all()
        assert sorted(x.action for x in logs) == ["create", "create", "create", "import"]
        assert not any(pw in (x.summary or "") + str(x.after) for x in logs for pw in creds.values())
    with session_scope(seed.engine) as s:
        user = auth.authenticate(s, "site110002-b", creds["site110002-b"])
        assert user.must_change_password


def test_site_admin_cannot_import_into_another_site(seed):
    a = seed.actor("site110001")
    data = xlsx([HEADER, ["110001", "本考点", "own-site-1", "", ""], ["110002", "别的考点", "other-site-1", "", ""],
                 ["11", "上级", "upper-1", "", ""]])
    res = run_import(seed.engine, USERS_SPEC, a, data, "用户.xlsx", dry_run=False)
    assert not res.committed
    texts = [e.text for e in res.errors]
    assert texts == ["第 3 行【机构代码】：机构“110002”不存在或不在您的管理范围内",
                     "第 4 行【机构代码】：机构“11”不存在或不在您的管理范围内"]
    assert users_count(seed.engine) == len(seed.users)
    res = run_import(seed.engine, USERS_SPEC, a, data, "用户.xlsx", mode=ONLY_VALID, dry_run=False)
    assert res.committed and res.written == 1 and set(dict(res.summary["credentials"])) == {"own-site-1"}


def test_duplicate_passport_ids(seed):
    a = seed.actor("center")
    with session_scope(seed.engine) as s:
        existing_pid = s.scalar(select(User.passport_id).where(User.username == "site110001"))
    # row 2: another user's login name; row 3: another user's 通行证ID; rows 4/5: the same new ID twice
    data = xlsx([HEADER, ["110001", "甲", "site110002", "", ""], ["110001", "乙", existing_pid, "", ""],
                 ["110001", "丙", "new-user-1", "", ""], ["110003", "丁", "new-user-1", "", ""]])
    res = run_import(seed.engine, USERS_SPEC, a, data, "用户.xlsx", dry_run=False)
    texts = [e.text for e in res.errors]
    assert texts == [
        "第 2 行【通行证ID】：通行证ID“site110002”已被使用（一个通行证ID只能绑定一个机构）",
        f"第 3 行【通行证ID】：通行证ID“{existing_pid}”已被使用（一个通行证ID只能绑定一个机构）",
        "第 4 行【通行证ID】：与第 5 行重复",
        "第 5 行【通行证ID】：与第 4 行重复",
    ]
    assert not res.committed and users_count(seed.engine) == len(seed.users)


def test_org_kind_without_admin_role_and_bad_cells(seed):
    with session_scope(seed.engine) as s:
        center = s.get(Org, seed.orgs["000000"])
        add_org(s, center, "900001", "某试点院校", "school")  # 1+X (003): no admin role of its own yet
    a = seed.actor("center")
    data = xlsx([HEADER, ["900001", "院校人", "school-user-1", "", ""], ["110001", "", "ab", "bad@", "123"]])
    res = run_import(seed.engine, USERS_SPEC, a, data, "用户.xlsx")
    texts = [e.text for e in res.errors]
    assert texts[0] == "第 2 行【机构代码】：“某试点院校”是试点院校，不能导入管理员账号"
    assert "第 3 行【姓名】：不能为空" in texts
    assert "第 3 行【通行证ID】：只能包含字母、数字和 _ . @ -，长度 4–40 位" in texts
    assert "第 3 行【邮箱】：邮箱“bad@”格式不正确" in texts
    assert any(t.startswith("第 3 行【手机】") for t in texts)


def test_users_template_and_roles(seed):
    wb = openpyxl.load_workbook(io.BytesIO(template_bytes(None, USERS_SPEC)))
    assert wb.sheetnames == ["用户", "样例"] and [c.value for c in wb["用户"][1]] == HEADER
    from dataclasses import replace

    other = replace(seed.actor("center"), role="candidate")
    with pytest.raises(PermissionDenied):
        run_import(seed.engine, USERS_SPEC, other, xlsx([HEADER]), "用户.xlsx")
