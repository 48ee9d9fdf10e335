"""The declarative list service (core.services.listing) over the audit-log spec and test specs:
scope, roles, masking, paging/sort/filter/keyword, export (audited, formula-safe), writes."""
from __future__ import annotations

import io
from datetime import datetime, timedelta

import openpyxl
import pytest
from sqlalchemy import func, select

from core.admin import Action, Column, EntitySpec, Filter, FormErrors, FormField, check_all, check_spec
from core.db import session_scope
from core.errors import NotFound, PermissionDenied, ReadOnlyTerm, ValidationError, WindowClosed
from core.models import AuditLog, Org, User
from core.services import listing
from core.services.base import audit
from core.specs.audit import AUDIT_LOG

T0 = datetime(2026, 3, 1, 9, 0, 0)


def _log(s, world, username: str, org_code: str | None, n: int, *, action="update", entity="测试",
         start: datetime = T0, summary: str = "记录") -> None:
    """n audit rows by `username` concerning org `org_code`, one minute apart from `start`."""
    for i in range(n):
        s.add(AuditLog(at=start + timedelta(minutes=i), user_id=world.users.get(username), username=username,
                       org_id=world.orgs[org_code] if org_code else None, action=action, entity=entity,
                       entity_id=f"{org_code}-{i:03d}", summary=f"{summary}{i}"))


@pytest.fixture
def logs(seed):
    with session_scope(seed.engine) as s:
        _log(s, seed, "site110001", "110001", 5)
        _log(s, seed, "site110002", "110002", 4)
        _log(s, seed, "site440101", "440101", 3)
        _log(s, seed, "prov11", "11", 2)
        _log(s, seed, "center", "000000", 1)
        _log(s, seed, "ghost", None, 1, action="login_failed", entity="用户")
    return seed


def _list(world, username, **kw):
    kw.setdefault("page_size", 200)
    actor = world.actor(username)
    with session_scope(world.engine) as s:
        return listing.list_rows(s, actor, AUDIT_LOG, **kw)


def _orgs_of(page) -> set[str]:
    return {r["entity_id"].split("-")[0] for r in page.rows if r["entity_id"]}


# ---------------------------------------------------------------- scope
def test_site_sees_only_its_own_rows(logs):
    p = _list(logs, "site110001")
    assert p.total == 5 and _orgs_of(p) == {"110001"}
    assert {r["org"] for r in p.rows} == {"北京理工大学考点"}


def test_province_sees_its_subtree_and_center_everything(logs):
    p = _list(logs, "prov11")
    assert _orgs_of(p) == {"110001", "110002", "11"} and p.total == 11
    c = _list(logs, "center")
    assert c.total == 16  # every org, and the entry that concerns no org
    assert "登录失败" in {r["action"] for r in c.rows}
    city = _list(logs, "city4401")
    assert _orgs_of(city) == {"440101"}


def test_get_row_outside_scope_is_not_found(logs):
    other = _list(logs, "site110002").rows[0]["id"]
    own = _list(logs, "site110001").rows[0]["id"]
    a, prov = logs.actor("site110001"), logs.actor("prov11")  # (actors first: each opens its own session)
    with session_scope(logs.engine) as s:
        assert listing.get_row(s, a, AUDIT_LOG, own)["username"] == "site110001"
        with pytest.raises(NotFound, match="不在您的管理范围"):
            listing.get_row(s, a, AUDIT_LOG, other)
        with pytest.raises(NotFound):
            listing.get_row(s, a, AUDIT_LOG, 10 ** 9)
        # the province above sees it
        assert listing.get_row(s, prov, AUDIT_LOG, other)["id"] == other


def test_filters_cannot_widen_the_scope(logs):
    p = _list(logs, "site110001", filters={"org": "广州", "entity_id": "440101"}, keyword="440101")
    assert p.total == 0
    p = _list(logs, "site110001", filters={"no_such_filter": "x"})
    assert p.total == 5


def test_role_not_allowed_is_refused(logs):
    center_only = EntitySpec(name="center_only", title="仅中心", model=AuditLog, org_column=AuditLog.org_id,
                             columns=(Column("action", "操作"),), roles=("center_admin",))
    a, center = logs.actor("site110001"), logs.actor("center")
    with session_scope(logs.engine) as s:
        with pytest.raises(PermissionDenied):
            listing.list_rows(s, a, center_only)
        with pytest.raises(PermissionDenied):
            listing.export_rows(s, a, center_only, fmt="csv")
        with pytest.raises(PermissionDenied):
            listing.get_row(s, a, center_only, 1)
        assert listing.list_rows(s, center, center_only).total >= 15


# ---------------------------------------------------------------- paging, sort, filter, keyword
@pytest.fixture
def many(seed):
    with session_scope(seed.engine) as s:
        _log(s, seed, "site110001", "110001", 130, summary="批次A-")
        _log(s, seed, "site110001", "110001", 7, action="export", entity="考生", start=T0 + timedelta(days=3),
             summary="导出考生 100%_done ")
    return seed


def test_pagination(many):
    p1 = _list(many, "site110001", page=1, page_size=50)
    assert (p1.total, p1.pages, len(p1.rows), p1.first, p1.last) == (137, 3, 50, 1, 50)
    p3 = _list(many, "site110001", page=3, page_size=50)
    assert len(p3.rows) == 37 and p3.first == 101 and p3.last == 137
    beyond = _list(many, "site110001", page=99, page_size=50)
    assert beyond.page == 3 and beyond.rows == p3.rows
    ids = [r["id"] for p in (1, 2, 3) for r in _list(many, "site110001", page=p, page_size=50).rows]
    assert len(ids) == len(set(ids)) == 137  # no row twice, none missing


def test_sort(many):
    desc = _list(many, "site110001", sort=("at", True)).rows
    asc = _list(many, "site110001", sort=("at", False)).rows
    assert desc[0]["at"] == (T0 + timedelta(days=3, minutes=6)).strftime("%Y-%m-%d %H:%M:%S")
    assert asc[0]["at"] == T0.strftime("%Y-%m-%d %H:%M:%S")
    by_id = _list(many, "site110001", sort=("entity_id", False)).rows
    assert [r["entity_id"] for r in by_id] == sorted(r["entity_id"] for r in by_id)
    # an unknown or unsortable key falls back to the default order, never to raw SQL
    assert _list(many, "site110001", sort=("summary; drop table x", True)).rows[0]["id"] == desc[0]["id"]


def test_filters_and_keyword(many):
    assert _list(many, "site110001", filters={"action": "export"}).total == 7
    assert _list(many, "site110001", filters={"entity": "考生", "action": "update"}).total == 0
    day = (T0 + timedelta(days=3)).date()
    assert _list(many, "site110001", filters={"at": (day, day)}).total == 7
    assert _list(many, "site110001", filters={"at": (T0.date(), None)}).total == 137
    assert _list(many, "site110001", filters={"at": (None, T0.date())}).total == 130
    assert _list(many, "site110001", filters={"username": "SITE110"}).total == 137  # case-insensitive
    assert _list(many, "site110001", keyword="批次A-12").total == 11  # 12, 120..129
    # LIKE wildcards in the keyword are literal
    assert _list(many, "site110001", keyword="100%_").total == 7
    assert _list(many, "site110001", keyword="%").total == 7
    with pytest.raises(ValidationError, match="开始日期不能晚于结束日期"):
        _list(many, "site110001", filters={"at": (day, T0.date())})
    with pytest.raises(ValidationError, match="关键字过长"):
        _list(many, "site110001", keyword="x" * 101)


def test_choices_are_scoped(logs):
    a, c = logs.actor("site110001"), logs.actor("center")
    with session_scope(logs.engine) as s:
        site = listing.filter_choices(s, a, AUDIT_LOG)
        center = listing.filter_choices(s, c, AUDIT_LOG)
    assert site["action"] == {"update": "修改"}
    assert "login_failed" in center["action"] and "用户" in center["entity"]
    assert "用户" not in site["entity"]


# ---------------------------------------------------------------- export
def test_export_is_scoped_audited_and_formula_safe(logs):
    with session_scope(logs.engine) as s:
        s.add(AuditLog(at=T0, username="site110001", org_id=logs.orgs["110001"], action="update", entity="测试",
                       entity_id="=HYPERLINK(\"http://x\")", summary="=1+1"))
    a = logs.actor("site110001")
    with session_scope(logs.engine) as s:
        data, name = listing.export_rows(s, a, AUDIT_LOG, filters={"action": "update"}, keyword=None, sort=None,
                                         fmt="xlsx")
    assert name.startswith("审计日志_") and name.endswith(".xlsx")
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    header = [c.value for c in ws[1]]
    assert header == ["时间", "操作人", "机构", "操作", "对象", "对象ID", "摘要"]
    body = list(ws.iter_rows(min_row=2))
    assert len(body) == 6  # 5 + the formula row, all of site 110001
    assert {r[2].value for r in body} == {"北京理工大学考点"}
    assert isinstance(body[0][0].value, datetime)  # a real date in Excel
    cell = next(r[6] for r in body if r[6].value and r[6].value.startswith("="))
    assert cell.value == "=1+1" and cell.data_type == "s"
    link = next(r[5] for r in body if r[5].value and r[5].value.startswith("="))
    assert link.data_type == "s" and link.value == "=HYPERLINK(\"http://x\")"

    with session_scope(logs.engine) as s:
        csv_bytes, csv_name = listing.export_rows(s, a, AUDIT_LOG, filters={}, keyword="=1+1", sort=None, fmt="csv")
    text = csv_bytes.decode("utf-8-sig")
    assert csv_name.endswith(".csv")
    assert "'=1+1" in text and ",=1+1" not in text
    assert len(text.strip().splitlines()) == 2

    with session_scope(logs.engine) as s:
        rows = s.scalars(select(AuditLog).where(AuditLog.action == "export").order_by(AuditLog.id)).all()
    assert len(rows) == 2
    assert rows[0].username == "site110001" and rows[0].org_id == logs.orgs["110001"]
    assert "6 条" in rows[0].summary and "Excel" in rows[0].summary and "操作=修改" in rows[0].summary
    assert "1 条" in rows[1].summary and "关键字==1+1" in rows[1].summary
    # the export entries are themselves visible in the site's audit log
    assert _list(logs, "site110001", filters={"action": "export"}).total == 2


def test_export_whole_result_not_one_page(many):
    a = many.actor("site110001")
    with session_scope(many.engine) as s:
        data, _ = listing.export_rows(s, a, AUDIT_LOG, fmt="csv")
    assert len(data.decode("utf-8-sig").strip().splitlines()) == 1 + 137


def test_export_gbk(logs):
    a = logs.actor("prov11")
    with session_scope(logs.engine) as s:
        data, _ = listing.export_rows(s, a, AUDIT_LOG, fmt="csv", encoding="gbk")
    assert "北京理工大学考点" in data.decode("gbk")


# ---------------------------------------------------------------- masking
USERS = EntitySpec(
    name="t_users", title="用户", model=User, org_column=User.org_id,
    base_query=lambda actor: select(User).join(Org, Org.id == User.org_id),
    columns=(Column("username", "用户名"), Column("name", "姓名"), Column("passport", "通行证", expr=User.passport_id,
                                                                        mask="id"),
             Column("phone", "手机号", mask="phone"), Column("email", "邮箱", mask="email"),
             Column("org", "机构", expr=Org.name)),
    search=("username", "name", "phone"), default_sort=("username", False),
    unmask_roles=("center_admin",),
)


def test_masking_per_role_in_list_get_and_export(seed):
    with session_scope(seed.engine) as s:
        u = s.scalar(select(User).where(User.username == "site110001"))
        u.phone, u.passport_id = "13812345678", "110101199001011234"
    a, c, p = seed.actor("site110001"), seed.actor("center"), seed.actor("prov11")
    with session_scope(seed.engine) as s:
        site = listing.list_rows(s, a, USERS)
        center = listing.list_rows(s, c, USERS, filters={}, keyword="site110001")
        row = listing.get_row(s, p, USERS, site.rows[0]["id"])
        csv_site, _ = listing.export_rows(s, a, USERS, fmt="csv")
        xlsx_center, _ = listing.export_rows(s, c, USERS, keyword="site110001", fmt="xlsx")
    assert site.total == 1
    r = site.rows[0]
    assert r["phone"] == "138****5678" and r["passport"] == "110***********1234"
    assert r["email"] == "s***1@demo.kaowu.cn"
    assert row["phone"] == "138****5678"  # a province admin is not in unmask_roles either
    assert center.rows[0]["phone"] == "13812345678" and center.rows[0]["passport"] == "110101199001011234"
    text = csv_site.decode("utf-8-sig")
    assert "138****5678" in text and "13812345678" not in text and "110101199001011234" not in text
    ws = openpyxl.load_workbook(io.BytesIO(xlsx_center)).active
    vals = [c.value for c in ws[2]]
    assert "13812345678" in vals and "110101199001011234" in vals
    assert ws.cell(2, 3).data_type == "s"  # the ID number stays text


def test_keyword_searches_the_real_value_but_returns_masked(seed):
    with session_scope(seed.engine) as s:
        s.scalar(select(User).where(User.username == "site110001")).phone = "13812345678"
    a = seed.actor("site110001")
    with session_scope(seed.engine) as s:
        p = listing.list_rows(s, a, USERS, keyword="1234567")
    assert p.total == 1 and p.rows[0]["phone"] == "138****5678"


# ---------------------------------------------------------------- writes through the kit
def _set_remark(s, actor, id, values):
    org = s.get(Org, id)
    if values.get("remark") == "bad":
        raise ValidationError("备注不能为 bad。", "备注")
    org.remark = values.get("remark")
    audit(s, actor, "update", "机构", id, summary="改备注")


def _touch(s, actor, ids):
    for i in ids:
        s.get(Org, i).remark = "touched"
    return f"已处理 {len(ids)} 个机构。"


ORGS = EntitySpec(
    name="t_orgs", title="机构", model=Org, org_column=Org.id,
    columns=(Column("code", "代码"), Column("name", "名称"), Column("remark", "备注")),
    form_fields=(FormField("remark", "备注", "text", required=True, max_len=10),
                 FormField("code", "代码", readonly_on_edit=True)),
    update=_set_remark, edit_roles=("site_admin", "city_admin"), delete=lambda s, a, ids: "x", delete_roles=(),
    actions=(Action("touch", "标记", _touch, roles=("province_admin", "site_admin"), bulk=False,
                    window="pre_reg_setting"),
             Action("touch_all", "批量标记", _touch, roles=("province_admin",), confirm="确定？")),
)


def test_update_checks_role_scope_and_fields(seed):
    a, prov = seed.actor("site110001"), seed.actor("prov11")
    own, other = seed.orgs["110001"], seed.orgs["110002"]
    with session_scope(seed.engine) as s:
        assert listing.update_row(s, a, ORGS, own, {"remark": " 好 ", "code": "999"}) == "修改成功。"
    with session_scope(seed.engine) as s:
        org = s.get(Org, own)
        assert org.remark == "好" and org.code == "110001"  # readonly_on_edit is not changed
        with pytest.raises(NotFound):
            listing.update_row(s, a, ORGS, other, {"remark": "x"})
        with pytest.raises(FormErrors) as e:
            listing.update_row(s, a, ORGS, own, {"remark": "x" * 11})
        assert "最多 10 个字符" in e.value.errors["remark"]
        with pytest.raises(FormErrors) as e:
            listing.update_row(s, a, ORGS, own, {"remark": ""})
        assert e.value.errors == {"remark": "请填写备注。"}
        with pytest.raises(FormErrors) as e:  # a service's field error lands on that field
            listing.update_row(s, a, ORGS, own, {"remark": "bad"})
        assert e.value.errors == {"remark": "备注不能为 bad。"}
        with pytest.raises(PermissionDenied):
            listing.update_row(s, prov, ORGS, own, {"remark": "x"})
        with pytest.raises(PermissionDenied, match="不能删除"):
            listing.delete_rows(s, a, ORGS, [own])
        with pytest.raises(PermissionDenied, match="不能新增"):
            listing.create_row(s, a, ORGS, {"remark": "x"})
        values, hidden = listing.form_values(s, a, ORGS, own)
        assert values["code"] == "110001" and not hidden


def test_actions_check_role_scope_bulk_and_window(seed):
    p, site, past = seed.actor("prov11"), seed.actor("site110001"), seed.actor("site110001", term="past")
    ids = [seed.orgs["110001"], seed.orgs["110002"]]
    with session_scope(seed.engine) as s:
        assert listing.run_action(s, p, ORGS, "touch_all", ids) == "已处理 2 个机构。"
        with pytest.raises(ValidationError, match="只能处理一条"):
            listing.run_action(s, p, ORGS, "touch", ids)
        with pytest.raises(NotFound):
            listing.run_action(s, p, ORGS, "touch_all", [seed.orgs["440101"]])
        with pytest.raises(PermissionDenied):
            listing.run_action(s, site, ORGS, "touch_all", [seed.orgs["110001"]])
        with pytest.raises(NotFound):
            listing.run_action(s, p, ORGS, "nope", ids)
        with pytest.raises(ValidationError, match="勾选"):
            listing.run_action(s, p, ORGS, "touch_all", [])
        assert listing.run_action(s, site, ORGS, "touch", [seed.orgs["110001"]])
    with session_scope(seed.engine) as s, pytest.raises(ReadOnlyTerm):
        listing.run_action(s, past, ORGS, "touch", [seed.orgs["110001"]])
    from core.models import OpWindow
    with session_scope(seed.engine) as s:
        w = s.scalar(select(OpWindow).where(OpWindow.org_id == seed.orgs["110001"], OpWindow.kind == "pre_reg_setting",
                                            OpWindow.term_id == seed.info["current_term"]))
        w.end_at = datetime.now() - timedelta(days=1)
    with session_scope(seed.engine) as s, pytest.raises(WindowClosed):
        listing.run_action(s, site, ORGS, "touch", [seed.orgs["110001"]])


# ---------------------------------------------------------------- spec checks
def test_registered_specs_are_consistent():
    import core.specs

    assert "audit" in core.specs.load_all()
    assert check_all() == []


def test_check_spec_finds_problems():
    bad = EntitySpec(name="Bad Name", title="", model=AuditLog,
                     columns=(Column("action", "操作"), Column("action", "again"), Column("nope", "无"),
                              Column("id", "编号"), Column("username", "人", mask="secret")),
                     search=("missing",), default_sort=("gone", True), export_columns=("ghost",),
                     filters=(Filter("x", "X", "weird"), Filter("c", "C", "choice", expr=AuditLog.action)),
                     roles=("nobody",), window="no_window", page_size=0)
    problems = "\n".join(check_spec(bad))
    for needle in ("name 须为", "缺少 title", "缺少 org_column", "列 key 重复: action", "nope", "保留给主键",
                   "未知的 mask", "search 中的列不存在: missing", "default_sort 中的列不存在: gone",
                   "export_columns 中的列不存在: ghost", "未知的 kind 'weird'", "choice 须给出 choices",
                   "未知角色 nobody", "未知的操作时间", "page_size"):
        assert needle in problems, needle
    assert check_spec(AUDIT_LOG) == []
    assert check_spec(USERS) == [] and check_spec(ORGS) == []


def test_unscoped_spec_lists_nothing(seed):
    """A spec that slipped past check_spec without a scope lists nothing rather than everything."""
    unscoped = EntitySpec(name="unscoped", title="无范围", model=AuditLog, columns=(Column("action", "操作"),))
    c = seed.actor("center")
    with session_scope(seed.engine) as s:
        audit(s, c, "update", "x")
    with session_scope(seed.engine) as s:
        assert s.scalar(select(func.count()).select_from(AuditLog)) >= 1
        assert listing.list_rows(s, c, unscoped).total == 0


def test_kit_writes_are_always_audited_once(seed):
    """A callback that audits gets no second row; one that forgets gets the kit's generic row."""
    from sqlalchemy import func

    from core.models import AuditLog
    p, site = seed.actor("prov11"), seed.actor("site110001")

    def count(s, **kw):
        return s.scalar(select(func.count()).select_from(AuditLog).filter_by(**kw))

    with session_scope(seed.engine) as s:
        before_touch, before_upd = count(s, action="touch_all"), count(s, entity="机构", action="update")
        listing.run_action(s, p, ORGS, "touch_all", [seed.orgs["110001"], seed.orgs["110002"]])
        listing.update_row(s, site, ORGS, seed.orgs["110001"], {"remark": "审计"})
    with session_scope(seed.engine) as s:
        assert count(s, action="touch_all") == before_touch + 1
        row = s.scalar(select(AuditLog).where(AuditLog.action == "touch_all").order_by(AuditLog.id.desc()))
        assert row.after == {"ids": [seed.orgs["110001"], seed.orgs["110002"]]}
        assert count(s, entity="机构", action="update") == before_upd + 1
