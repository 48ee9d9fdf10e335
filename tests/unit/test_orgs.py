"""用户与机构管理 (001 §7–8) and 考次管理 (§4, §7.5, §8.4) services — SQLite and PostgreSQL."""
from __future__ import annotations

import inspect
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from core import auth
from core.db import session_scope
from core.errors import AuthError, DomainError, NotFound, PermissionDenied, ReadOnlyTerm, ValidationError
from core.models import (
    AuditLog, AuthSession, ExamTerm, IntentQuota, OpWindow, Org, OrgTerm, ProvinceNotice, ProvinceSubject, SiteFee,
    SiteSetting, SiteSubject, User,
)
from core.services import orgs


@pytest.fixture
def act(seed):
    """Actors of the demo users, built before any test session opens (SQLite takes its write lock at BEGIN)."""
    cache = {}
    with session_scope(seed.engine) as s:
        for u in s.scalars(select(User)):
            for term, tid in (("current", seed.info["current_term"]), ("past", seed.info["past_term"])):
                cache[(u.username, term)] = auth.actor_for(s, u, tid)

    def _act(username: str, term: str = "current"):
        return cache[(username, term)]
    return _act


def _audits(s, entity: str, entity_id) -> list[AuditLog]:
    return s.scalars(select(AuditLog).where(AuditLog.entity == entity, AuditLog.entity_id == str(entity_id))
                     .order_by(AuditLog.id)).all()


# ---------------------------------------------------------------- org list and scope
def test_org_tree_is_own_and_below_in_tree_order(seed, act):
    with session_scope(seed.engine) as s:
        site = orgs.org_tree(s, act("site110001"))
        assert [r.code for r in site] == ["110001"]
        assert site[0].level == "考点级" and site[0].enabled and site[0].in_term and site[0].depth == 0

        city = orgs.org_tree(s, act("city4401"))
        assert [r.code for r in city] == ["4401", "440101", "440102", "440103"]
        assert [r.depth for r in city] == [0, 1, 1, 1]

        prov = [r.code for r in orgs.org_tree(s, act("prov44"))]
        assert prov[0] == "44" and set(prov) == {"44", "4401", "440101", "440102", "440103", "4403", "440301",
                                                "440302", "440303", "440304"}
        # tree order: every org comes right after its parent's subtree began
        assert prov.index("4401") < prov.index("440101") < prov.index("4403") < prov.index("440301")

        center = orgs.org_tree(s, act("center"))
        assert center[0].code == "000000" and center[0].level == "考试中心"
        assert len(center) == orgs.org_count(s, act("center")) == s.scalar(select(func.count()).select_from(Org))

        # search, level filter and SQL paging
        assert [r.code for r in orgs.org_tree(s, act("prov11"), search="交通")] == ["110002"]
        assert orgs.org_count(s, act("prov11"), kind="site") == 4
        page2 = orgs.org_tree(s, act("center"), offset=2, limit=3)
        assert [r.code for r in page2] == [r.code for r in center[2:5]]
        # the search text is literal, not a LIKE pattern
        assert orgs.org_tree(s, act("center"), search="%") == []


def test_org_tree_shows_enabled_of_the_viewed_term(seed, act):
    cur, past = act("city4401"), act("city4401", term="past")
    with session_scope(seed.engine) as s:
        ot = s.scalar(select(OrgTerm).where(OrgTerm.org_id == seed.orgs["440102"],
                                            OrgTerm.term_id == past.term_id))
        ot.enabled = False
        s.delete(s.scalar(select(OrgTerm).where(OrgTerm.org_id == seed.orgs["440103"],
                                                OrgTerm.term_id == past.term_id)))
    with session_scope(seed.engine) as s:
        by_code = {r.code: r for r in orgs.org_tree(s, past)}
        assert not by_code["440102"].enabled and by_code["440102"].in_term
        assert not by_code["440103"].enabled and not by_code["440103"].in_term
        assert all(r.enabled for r in orgs.org_tree(s, cur))


def test_org_detail_permissions(seed, act):
    with session_scope(seed.engine) as s:
        own = orgs.org_detail(s, act("site110001"), seed.orgs["110001"])
        assert own.is_own and own.can_edit and not own.can_edit_name_code and not own.is_above
        assert own.parent_name is None and own.child_kind is None
        city = orgs.org_detail(s, act("city1101"), seed.orgs["110001"])
        assert city.is_above and city.can_edit_name_code and city.parent_name == "北京市市辖区"
        assert orgs.org_detail(s, act("center"), seed.orgs["000000"]).can_edit_name_code
        assert not orgs.org_detail(s, act("city1101", term="past"), seed.orgs["110001"]).term_writable


# ---------------------------------------------------------------- 机构信息
def test_site_edits_own_org_info_with_audit(seed, act):
    a = act("site110001")
    org_id = seed.orgs["110001"]
    with session_scope(seed.engine) as s:
        d = orgs.update_org(s, a, org_id, {"address": " 北京市海淀区新地址1号 ", "contact": "王老师",
                                           "phone": "010-68912345", "email": "kw@bit.edu.cn",
                                           "postcode": "100081", "remark": "东门进入", "name": "北京理工大学考点"})
        assert d.address == "北京市海淀区新地址1号" and d.postcode == "100081"
    with session_scope(seed.engine) as s:
        org = s.get(Org, org_id)
        assert (org.address, org.contact, org.email) == ("北京市海淀区新地址1号", "王老师", "kw@bit.edu.cn")
        log = _audits(s, "机构", org_id)[-1]
        assert log.action == "update" and log.username == "site110001" and log.org_id == org_id
        assert log.before["address"] == "北京市海淀区中关村南大街5号"
        assert log.after["address"] == "北京市海淀区新地址1号"
        n = len(_audits(s, "机构", org_id))
        orgs.update_org(s, a, org_id, {"address": "北京市海淀区新地址1号"})  # no change, no audit row
        assert len(_audits(s, "机构", org_id)) == n


def test_update_org_field_messages(seed, act):
    a = act("site110001")
    oid = seed.orgs["110001"]
    cases = [
        ({"email": "not-an-email"}, "邮箱"),
        ({"postcode": "10008"}, "邮编"),
        ({"phone": "电话abc"}, "联系电话"),
        ({"address": "x" * 201}, "地址"),
        ({"contact": "a\x00b"}, "联系人"),
        ({"remark": "y" * 501}, "备注"),
    ]
    for values, field in cases:
        with session_scope(seed.engine) as s, pytest.raises(ValidationError) as e:
            orgs.update_org(s, a, oid, values)
        assert e.value.field == field and field in e.value.message
    with session_scope(seed.engine) as s, pytest.raises(ValidationError, match="不能修改的字段"):
        orgs.update_org(s, a, oid, {"reviewed": False})
    with session_scope(seed.engine) as s, pytest.raises(PermissionDenied, match="机构名称由上级机构修改"):
        orgs.update_org(s, a, oid, {"name": "改名考点"})
    with session_scope(seed.engine) as s, pytest.raises(PermissionDenied, match="机构代码由上级机构修改"):
        orgs.update_org(s, a, oid, {"code": "119999"})


def test_level_above_renames_and_codes_are_unique(seed, act):
    city = act("city1101")
    oid = seed.orgs["110001"]
    with session_scope(seed.engine) as s, pytest.raises(ValidationError, match="机构代码 110002 已被其他机构使用"):
        orgs.update_org(s, city, oid, {"code": "110002"})
    with session_scope(seed.engine) as s, pytest.raises(ValidationError, match="机构名称不能为空"):
        orgs.update_org(s, city, oid, {"name": "  "})
    with session_scope(seed.engine) as s, pytest.raises(ValidationError, match="字母和数字"):
        orgs.update_org(s, city, oid, {"code": "11-01"})
    with session_scope(seed.engine) as s:
        orgs.update_org(s, city, oid, {"name": "北京理工大学（中关村）考点", "code": "110009"})
    with session_scope(seed.engine) as s:
        assert (s.get(Org, oid).name, s.get(Org, oid).code) == ("北京理工大学（中关村）考点", "110009")


def test_reviewed_org_is_read_only_and_review_is_by_level_above(seed, act):
    site, city = act("site110001"), act("city1101")
    oid = seed.orgs["110001"]
    with session_scope(seed.engine) as s, pytest.raises(PermissionDenied, match="审核状态由上级机构设置"):
        orgs.set_org_reviewed(s, site, oid, True)
    with session_scope(seed.engine) as s:
        orgs.set_org_reviewed(s, city, oid, True)
        assert _audits(s, "机构审核", oid)[-1].after == {"reviewed": True}
    for who in (site, city):
        with session_scope(seed.engine) as s, pytest.raises(PermissionDenied, match="已审核的机构信息不能修改"):
            orgs.update_org(s, who, oid, {"address": "新地址"})
    with session_scope(seed.engine) as s:
        assert not orgs.org_detail(s, site, oid).can_edit
        orgs.set_org_reviewed(s, city, oid, False)
    with session_scope(seed.engine) as s:
        orgs.update_org(s, site, oid, {"address": "新地址"})
        assert s.get(Org, oid).address == "新地址"


def test_org_info_is_not_limited_by_term_or_window(seed, act):
    """§4.3: 用户与机构管理不受考次限制 — works while viewing a past 考次 and with windows closed."""
    past = act("site110001", term="past")
    with session_scope(seed.engine) as s:
        for w in s.scalars(select(OpWindow).where(OpWindow.org_id == past.org_id)):
            w.end_at = datetime.now() - timedelta(days=1)
        orgs.update_org(s, past, past.org_id, {"contact": "李老师"})
        orgs.add_user(s, past, past.org_id, "P-past-term-1", "历史考次新增")


# ---------------------------------------------------------------- 是否启用 (per 考次)
def test_enable_is_by_level_above_in_current_term_only(seed, act):
    site, city = act("site110001"), act("city1101")
    oid = seed.orgs["110001"]
    with session_scope(seed.engine) as s, pytest.raises(PermissionDenied, match="启用状态由上级机构设置"):
        orgs.set_org_enabled(s, site, oid, False)
    with session_scope(seed.engine) as s, pytest.raises(ReadOnlyTerm, match="历史考次"):
        orgs.set_org_enabled(s, act("city1101", term="past"), oid, False)
    with session_scope(seed.engine) as s:  # the past 考次 row is untouched
        assert s.scalar(select(OrgTerm.enabled).where(OrgTerm.org_id == oid,
                                                      OrgTerm.term_id == seed.info["past_term"])) is True
    # a logged-in site user loses the session when the site is disabled
    with session_scope(seed.engine) as s:
        sid = auth.create_session(s, s.get(User, seed.users["site110001"])).id
    with session_scope(seed.engine) as s:
        orgs.set_org_enabled(s, city, oid, False)
    with session_scope(seed.engine) as s:
        assert auth.session_user(s, sid) is None
        assert not orgs.org_enabled_for_term(s, oid)
        assert orgs.org_enabled_for_term(s, oid, seed.info["past_term"])
        with pytest.raises(AuthError, match="未启用"):
            orgs.require_org_enabled(s, oid)
        log = _audits(s, "机构启用", oid)[-1]
        assert log.before == {"enabled": True} and log.after == {"enabled": False}
        assert log.term_id == seed.info["current_term"]
        assert not {r.code: r for r in orgs.org_tree(s, city)}["110001"].enabled
    with session_scope(seed.engine) as s:
        orgs.set_org_enabled(s, city, oid, True)
    with session_scope(seed.engine) as s:
        assert orgs.org_enabled_for_term(s, oid)
        orgs.require_org_enabled(s, oid)


def test_enable_adds_a_missing_term_row_and_center_is_always_enabled(seed, act):
    city = act("city1101")
    oid = seed.orgs["110002"]
    with session_scope(seed.engine) as s:
        s.delete(s.scalar(select(OrgTerm).where(OrgTerm.org_id == oid, OrgTerm.term_id == city.term_id)))
    with session_scope(seed.engine) as s:
        assert not orgs.org_enabled_for_term(s, oid)
        orgs.set_org_enabled(s, city, oid, True)
    with session_scope(seed.engine) as s:
        assert orgs.org_enabled_for_term(s, oid)
        assert orgs.org_enabled_for_term(s, seed.orgs["000000"])
        assert not orgs.org_enabled_for_term(s, 999999)
    with session_scope(seed.engine) as s, pytest.raises(PermissionDenied):
        orgs.set_org_enabled(s, act("center"), seed.orgs["000000"], False)


# ---------------------------------------------------------------- add / delete org
def test_add_org_below_own_org(seed, act):
    city = act("city1101")
    with session_scope(seed.engine) as s:
        d = orgs.add_org(s, city, seed.orgs["1101"], "110005", "北京邮电大学考点", address="海淀区西土城路10号",
                         email="ncre@bupt.edu.cn")
        assert d.kind == "site" and d.level == "考点级" and d.enabled and d.in_term and d.is_above
        new = s.get(Org, d.id)
        assert new.path == s.get(Org, seed.orgs["1101"]).path + f"{new.id}/" and new.depth == 3
        assert _audits(s, "机构", d.id)[-1].action == "create"
    with session_scope(seed.engine) as s:
        assert "110005" not in [r.code for r in orgs.org_tree(s, act("site110001"))]
        assert "110005" in [r.code for r in orgs.org_tree(s, city)]
    with session_scope(seed.engine) as s, pytest.raises(ValidationError, match="不能再添加下级机构"):
        orgs.add_org(s, act("site110001"), seed.orgs["110001"], "119998", "下级")
    with session_scope(seed.engine) as s, pytest.raises(ValidationError, match="只能是考点级"):
        orgs.add_org(s, city, seed.orgs["1101"], "119997", "错级别", kind="city")
    with session_scope(seed.engine) as s, pytest.raises(ValidationError, match="已被其他机构使用"):
        orgs.add_org(s, city, seed.orgs["1101"], "110001", "重复代码")
    with session_scope(seed.engine) as s, pytest.raises(ValidationError, match="邮编"):
        orgs.add_org(s, city, seed.orgs["1101"], "119996", "坏邮编", postcode="abc")
    with session_scope(seed.engine) as s, pytest.raises(NotFound):
        orgs.add_org(s, city, seed.orgs["4401"], "449999", "别人的下级")


def test_delete_org_rules(seed, act):
    city = act("city1101")
    with session_scope(seed.engine) as s:
        new_id = orgs.add_org(s, city, seed.orgs["1101"], "110006", "待删考点").id
    with session_scope(seed.engine) as s, pytest.raises(ValidationError, match="还有用户"):
        orgs.delete_org(s, city, seed.orgs["110001"])
    with session_scope(seed.engine) as s, pytest.raises(PermissionDenied, match="上级机构删除"):
        orgs.delete_org(s, city, seed.orgs["1101"])
    with session_scope(seed.engine) as s, pytest.raises(ValidationError, match="下级机构"):
        orgs.delete_org(s, act("prov11"), seed.orgs["1101"])
    with session_scope(seed.engine) as s:
        orgs.delete_org(s, city, new_id)
    with session_scope(seed.engine) as s:
        assert s.get(Org, new_id) is None
        assert _audits(s, "机构", new_id)[-1].action == "delete"


# ---------------------------------------------------------------- users
def test_list_users_masks_phone_and_marks_self(seed, act):
    a = act("site110001")
    with session_scope(seed.engine) as s:
        rows = orgs.list_users(s, a, a.org_id)
        assert len(rows) == 1
        r = rows[0]
        assert r.is_self and r.role_label == "考点管理员" and r.org_name == "北京理工大学考点"
        assert r.phone_masked == "136****0001" and "0001" in r.phone_masked
        assert not hasattr(r, "phone")
        city_view = orgs.list_users(s, act("city1101"), a.org_id)
        assert not city_view[0].is_self
        with pytest.raises(NotFound):
            orgs.list_users(s, a, seed.orgs["1101"])  # the level above is invisible


def test_add_user_one_time_password(seed, act):
    a = act("site110001")
    with session_scope(seed.engine) as s:
        new = orgs.add_user(s, a, a.org_id, " 2001234567 ", " 张老师 ", "zhang@bit.edu.cn", "13912345678")
        assert new.username == "2001234567" and len(new.password) >= 8
    with session_scope(seed.engine) as s:
        u = s.get(User, new.user_id)
        assert (u.role, u.org_id, u.passport_id, u.name) == ("site_admin", a.org_id, "2001234567", "张老师")
        assert u.must_change_password and u.password_hash != new.password
        log = _audits(s, "用户", u.id)[-1]
        assert log.action == "create" and "password_hash" not in log.after and log.org_id == a.org_id
        assert auth.authenticate(s, "2001234567", new.password).id == u.id
    with session_scope(seed.engine) as s:  # role follows the org level
        p = orgs.add_user(s, act("prov44"), seed.orgs["4403"], "P4403-2", "深圳市管2")
        assert s.get(User, p.user_id).role == "city_admin"
        c = orgs.add_user(s, act("center"), seed.orgs["000000"], "CENTER-2", "中心二")
        assert s.get(User, c.user_id).role == "center_admin"


@pytest.mark.parametrize("args,field,msg", [
    (("", "张三"), "通行证ID", "通行证ID不能为空"),
    (("ab cd", "张三"), "通行证ID", "通行证ID只能包含"),
    (("abc", "张三"), "通行证ID", "长度 4–40 位"),
    (("P0001", ""), "姓名", "姓名不能为空"),
    (("P0001", "张三", "zhang@"), "邮箱", "邮箱格式不正确"),
    (("P0001", "张三", None, "1391234567"), "手机", "11 位"),
    (("P0001", "张三", None, "2391234567x"), "手机", "11 位"),
    (("site110002", "张三"), "通行证ID", "一个通行证ID只能绑定一个机构"),
])
def test_add_user_field_messages(seed, args, field, msg, act):
    a = act("site110001")
    with session_scope(seed.engine) as s, pytest.raises(ValidationError) as e:
        orgs.add_user(s, a, a.org_id, *args)
    assert e.value.field == field and msg in e.value.message


def test_passport_binds_one_org(seed, act):
    with session_scope(seed.engine) as s:
        existing = s.get(User, seed.users["site440101"]).passport_id
    with session_scope(seed.engine) as s, pytest.raises(ValidationError, match="一个通行证ID只能绑定一个机构"):
        orgs.add_user(s, act("site110001"), seed.orgs["110001"], existing, "重复")


def test_update_user(seed, act):
    a = act("site110001")
    with session_scope(seed.engine) as s:
        new = orgs.add_user(s, a, a.org_id, "P-upd-1", "赵老师", "zhao@bit.edu.cn", "13912345678")
        sid = auth.create_session(s, s.get(User, new.user_id)).id
    with session_scope(seed.engine) as s:
        r = orgs.update_user(s, a, new.user_id, name="赵老师二", email="", phone=None)
        assert r.name == "赵老师二" and r.email is None and r.phone_masked == "139****5678"
        assert auth.session_user(s, sid) is not None  # name change keeps the session
        log = _audits(s, "用户", new.user_id)[-1]
        assert log.before["name"] == "赵老师" and log.after["name"] == "赵老师二"
    with session_scope(seed.engine) as s:
        orgs.update_user(s, a, new.user_id, passport_id="P-upd-2")
    with session_scope(seed.engine) as s:
        u = s.get(User, new.user_id)
        assert (u.passport_id, u.username) == ("P-upd-2", "P-upd-2")
        assert auth.session_user(s, sid) is None  # the login name changed: log in again
    with session_scope(seed.engine) as s, pytest.raises(ValidationError, match="一个通行证ID只能绑定一个机构"):
        orgs.update_user(s, a, new.user_id, passport_id="center")
    with session_scope(seed.engine) as s, pytest.raises(ValidationError, match="手机"):
        orgs.update_user(s, a, new.user_id, phone="12345")
    with session_scope(seed.engine) as s:  # one's own name may be edited
        orgs.update_user(s, a, a.user_id, name="考点管理员一")


def test_delete_user_not_self(seed, act):
    a = act("site110001")
    with session_scope(seed.engine) as s, pytest.raises(PermissionDenied, match="不能删除自己"):
        orgs.delete_user(s, a, a.user_id)
    with session_scope(seed.engine) as s:
        new = orgs.add_user(s, a, a.org_id, "P-del-1", "钱老师")
        auth.create_session(s, s.get(User, new.user_id))
    with session_scope(seed.engine) as s:
        orgs.delete_user(s, a, new.user_id)
    with session_scope(seed.engine) as s:
        assert s.get(User, new.user_id) is None
        assert not s.scalar(select(func.count()).select_from(AuthSession).where(AuthSession.user_id == new.user_id))
        log = _audits(s, "用户", new.user_id)[-1]
        assert log.action == "delete" and log.before["name"] == "钱老师"
    with session_scope(seed.engine) as s:  # the level above deletes a site user
        orgs.delete_user(s, act("city1101"), seed.users["site110001"])


def test_disable_user_revokes_sessions(seed, act):
    a, city = act("site110001"), act("city1101")
    with session_scope(seed.engine) as s, pytest.raises(PermissionDenied, match="不能停用或启用自己"):
        orgs.set_user_enabled(s, a, a.user_id, False)
    with session_scope(seed.engine) as s:
        sid = auth.create_session(s, s.get(User, a.user_id)).id
    with session_scope(seed.engine) as s:
        orgs.set_user_enabled(s, city, a.user_id, False)
    with session_scope(seed.engine) as s:
        assert auth.session_user(s, sid) is None
        assert s.get(AuthSession, sid).revoked_at is not None
        with pytest.raises(AuthError, match="停用"):
            auth.authenticate(s, "site110001", seed.password)
        assert not orgs.list_users(s, city, a.org_id)[0].enabled
        assert _audits(s, "用户", a.user_id)[-1].after == {"enabled": False}
    with session_scope(seed.engine) as s:
        orgs.set_user_enabled(s, city, a.user_id, True)
    with session_scope(seed.engine) as s:
        auth.authenticate(s, "site110001", seed.password)


def test_reset_password(seed, act):
    a, city = act("site110001"), act("city1101")
    with session_scope(seed.engine) as s, pytest.raises(PermissionDenied, match="不能重置自己的密码"):
        orgs.reset_password(s, a, a.user_id)
    with session_scope(seed.engine) as s:
        colleague = orgs.add_user(s, a, a.org_id, "P-rst-1", "孙老师")
    with session_scope(seed.engine) as s:
        u = s.get(User, seed.users["site110001"])
        u.failed_logins, u.locked_until = 0, datetime.now() + timedelta(minutes=10)
        sid = auth.create_session(s, u).id
    with session_scope(seed.engine) as s:  # the level above
        pw = orgs.reset_password(s, city, a.user_id).password
    with session_scope(seed.engine) as s:
        assert auth.session_user(s, sid) is None
        with pytest.raises(AuthError):
            auth.authenticate(s, "site110001", seed.password)
        u = auth.authenticate(s, "site110001", pw)  # and the lock is lifted
        assert u.must_change_password
        log = [x for x in _audits(s, "用户", a.user_id) if x.action == "reset_password"][-1]
        assert pw not in str(log.summary) and log.after is None
    with session_scope(seed.engine) as s:  # an admin of the same org
        pw2 = orgs.reset_password(s, a, colleague.user_id).password
        assert pw2 != colleague.password
        auth.authenticate(s, "P-rst-1", pw2)


def test_find_and_view_passport_are_scoped(seed, act):
    a = act("site110001")
    with session_scope(seed.engine) as s:
        found = orgs.find_passport(s, a, "SITE110001@demo.kaowu.cn")
        assert [f.name for f in found] == ["考点管理员1"]
        pid = found[0].passport_id
        v = orgs.view_passport(s, a, pid)
        assert v.email == "site110001@demo.kaowu.cn" and v.org_name == "北京理工大学考点"
        assert v.phone_masked.count("*") == 4
        assert orgs.find_passport(s, act("center"), "site110002@demo.kaowu.cn")
        with pytest.raises(ValidationError, match="邮箱格式不正确"):
            orgs.find_passport(s, a, "bad")
        with pytest.raises(NotFound, match="未找到"):
            orgs.find_passport(s, a, "nobody@example.com")
        with pytest.raises(NotFound, match="未找到"):
            orgs.view_passport(s, a, "NOPE")


# ---------------------------------------------------------------- site A never reaches site B
# functions with no actor argument (pure helpers / the login check / the 考次切换 list)
NO_ACTOR = {"org_enabled_for_term", "require_org_enabled", "list_terms", "level_label"}


def _b_calls(seed, b_org: int, b_user: int, b_pid: str, b_email: str, term_id: int):
    return {
        "org_detail": lambda s, a: orgs.org_detail(s, a, b_org),
        "update_org": lambda s, a: orgs.update_org(s, a, b_org, {"address": "入侵"}),
        "add_org": lambda s, a: orgs.add_org(s, a, b_org, "119990", "入侵"),
        "delete_org": lambda s, a: orgs.delete_org(s, a, b_org),
        "set_org_enabled": lambda s, a: orgs.set_org_enabled(s, a, b_org, False),
        "set_org_reviewed": lambda s, a: orgs.set_org_reviewed(s, a, b_org, True),
        "list_users": lambda s, a: orgs.list_users(s, a, b_org),
        "get_user": lambda s, a: orgs.get_user(s, a, b_user),
        "add_user": lambda s, a: orgs.add_user(s, a, b_org, "P-intrude", "入侵"),
        "update_user": lambda s, a: orgs.update_user(s, a, b_user, name="入侵"),
        "delete_user": lambda s, a: orgs.delete_user(s, a, b_user),
        "set_user_enabled": lambda s, a: orgs.set_user_enabled(s, a, b_user, False),
        "reset_password": lambda s, a: orgs.reset_password(s, a, b_user),
        "find_passport": lambda s, a: orgs.find_passport(s, a, b_email),
        "view_passport": lambda s, a: orgs.view_passport(s, a, b_pid),
        "create_term": lambda s, a: orgs.create_term(s, a, "99", "入侵考次", "2030-01-01", "2030-01-02"),
        "set_current_term": lambda s, a: orgs.set_current_term(s, a, term_id),
        "update_term": lambda s, a: orgs.update_term(s, a, term_id, "99", "入侵", "2030-01-01", "2030-01-02"),
    }


def _snapshot(s):
    return (
        [tuple(r) for r in s.execute(select(Org.id, Org.code, Org.name, Org.address, Org.reviewed).order_by(Org.id))],
        [tuple(r) for r in s.execute(select(User.id, User.name, User.enabled, User.password_hash, User.passport_id)
                                     .order_by(User.id))],
        [tuple(r) for r in s.execute(select(OrgTerm.org_id, OrgTerm.term_id, OrgTerm.enabled).order_by(OrgTerm.id))],
        [tuple(r) for r in s.execute(select(ExamTerm.id, ExamTerm.code, ExamTerm.is_current).order_by(ExamTerm.id))],
        s.scalar(select(func.count()).select_from(AuditLog)),
    )


def test_site_a_can_never_see_or_change_site_b(seed, act):
    a = act("site110001")
    b_org, b_user = seed.orgs["110002"], seed.users["site110002"]
    with session_scope(seed.engine) as s:
        b = s.get(User, b_user)
        b_pid, b_email = b.passport_id, b.email
        before = _snapshot(s)
    public = {n for n, f in inspect.getmembers(orgs, inspect.isfunction)
              if f.__module__ == orgs.__name__ and not n.startswith("_")}
    calls = _b_calls(seed, b_org, b_user, b_pid, b_email, seed.info["past_term"])
    # every public function is either exercised here or takes no actor
    assert public - NO_ACTOR - {"org_tree", "org_count"} == set(calls), public - NO_ACTOR - set(calls)
    for who in (a, act("site110001", term="past")):
        for name, call in calls.items():
            with session_scope(seed.engine) as s, pytest.raises((NotFound, PermissionDenied)) as e:
                call(s, who)
            assert "北京交通大学" not in e.value.message and "考点管理员2" not in e.value.message, name
        with session_scope(seed.engine) as s:
            assert [r.code for r in orgs.org_tree(s, who)] == ["110001"]
            assert orgs.org_tree(s, who, search="110002") == [] and orgs.org_count(s, who, search="交通") == 0
    with session_scope(seed.engine) as s:
        assert _snapshot(s) == before
    # and the same calls work for the level above (sanity: the refusals above are about scope)
    with session_scope(seed.engine) as s:
        city = act("city1101")
        assert orgs.org_detail(s, city, b_org).code == "110002"
        assert orgs.list_users(s, city, b_org)[0].id == b_user
        assert orgs.view_passport(s, city, b_pid).email == b_email


def test_province_cannot_reach_other_province(seed, act):
    p = act("prov11")
    with session_scope(seed.engine) as s:
        for oid in (seed.orgs["44"], seed.orgs["440101"], seed.orgs["000000"]):
            with pytest.raises(NotFound):
                orgs.org_detail(s, p, oid)
        with pytest.raises(NotFound):
            orgs.reset_password(s, p, seed.users["site440101"])
        with pytest.raises(NotFound):
            orgs.delete_user(s, p, seed.users["center"])


# ---------------------------------------------------------------- 考次
def _counts(s, term_id):
    return {m.__tablename__: s.scalar(select(func.count()).select_from(m).where(m.term_id == term_id))
            for m in (OrgTerm, SiteSetting, SiteSubject, SiteFee, ProvinceSubject, ProvinceNotice, IntentQuota,
                      OpWindow)}


def test_create_term_copies_orgs_and_settings(seed, act):
    c = act("center")
    cur_id = seed.info["current_term"]
    with session_scope(seed.engine) as s:  # a disabled site stays disabled in the new 考次
        s.scalar(select(OrgTerm).where(OrgTerm.org_id == seed.orgs["110004"], OrgTerm.term_id == cur_id)).enabled = False
        cur = s.get(ExamTerm, cur_id)
        src_counts = _counts(s, cur_id)
        new_start = cur.exam_start + timedelta(days=182)
    with session_scope(seed.engine) as s:
        res = orgs.create_term(s, c, "71", "下一次全国计算机等级考试", new_start, new_start + timedelta(days=2))
        tid = res["term_id"]
        assert res["is_current"]
    with session_scope(seed.engine) as s:
        got = _counts(s, tid)
        for t in ("org_term", "site_setting", "site_subject", "site_fee", "province_subject", "province_notice"):
            assert got[t] == src_counts[t] > 0, t
            assert res["copied"][t] == src_counts[t]
        assert got["intent_quota"] == 0 and got["op_window"] == 0  # their dates belong to one 考次
        assert s.scalar(select(OrgTerm.enabled).where(OrgTerm.org_id == seed.orgs["110004"],
                                                      OrgTerm.term_id == tid)) is False
        # values copied, dates moved with the exam
        old = s.scalar(select(SiteSetting).where(SiteSetting.site_id == seed.orgs["110001"],
                                                 SiteSetting.term_id == cur_id))
        new = s.scalar(select(SiteSetting).where(SiteSetting.site_id == seed.orgs["110001"],
                                                 SiteSetting.term_id == tid))
        assert (new.total_capacity, new.notice, new.max_subjects) == (old.total_capacity, old.notice, old.max_subjects)
        assert new.online_reg_start == old.online_reg_start + timedelta(days=182)
        osub = s.scalars(select(SiteSubject).where(SiteSubject.site_id == seed.orgs["110001"],
                                                   SiteSubject.term_id == cur_id).order_by(SiteSubject.subject_id)).all()
        nsub = s.scalars(select(SiteSubject).where(SiteSubject.site_id == seed.orgs["110001"],
                                                   SiteSubject.term_id == tid).order_by(SiteSubject.subject_id)).all()
        assert [(x.subject_id, x.capacity) for x in osub] == [(x.subject_id, x.capacity) for x in nsub]
        assert nsub[0].exam_start == osub[0].exam_start + timedelta(days=182)
        fees = s.scalars(select(SiteFee.fee).where(SiteFee.term_id == tid, SiteFee.site_id == seed.orgs["110001"]))
        assert all(float(f) in (80.0, 100.0) for f in fees)
        # the new 考次 is current, the old one became history
        terms = {t.id: t for t in orgs.list_terms(s)}
        assert terms[tid].is_current and not terms[cur_id].is_current
        assert terms[tid].orgs == src_counts["org_term"] and terms[tid].enabled_orgs == src_counts["org_term"] - 1
        assert _audits(s, "考次", tid)[-1].after["copied"]["site_subject"] == src_counts["site_subject"]
    # users are not per 考次: every site user can still log in (their org is enabled in the new 考次)
    with session_scope(seed.engine) as s:
        assert orgs.org_enabled_for_term(s, seed.orgs["110001"])
        assert not orgs.org_enabled_for_term(s, seed.orgs["110004"])
        # and an actor of the old 考次 is now on a read-only past 考次
        old_view = auth.actor_for(s, s.get(User, seed.users["city1101"]), cur_id)
        assert not old_view.term_is_current
        with pytest.raises(ReadOnlyTerm):
            orgs.set_org_enabled(s, old_view, seed.orgs["110001"], False)


def test_create_term_rules(seed, act):
    c = act("center")
    with session_scope(seed.engine) as s, pytest.raises(PermissionDenied, match="考试中心管理员"):
        orgs.create_term(s, act("prov11"), "71", "x", "2030-01-01", "2030-01-02")
    bad = [
        (("70", "重复", "2030-01-01", "2030-01-02"), "考次代码", "已存在"),
        (("7a", "x", "2030-01-01", "2030-01-02"), "考次代码", "须为数字"),
        (("71", "", "2030-01-01", "2030-01-02"), "考次名称", "不能为空"),
        (("71", "x", None, "2030-01-02"), "考试开始时间", "不能为空"),
        (("71", "x", "2030-13-01", "2030-01-02"), "考试开始时间", "格式不正确"),
        (("71", "x", "2030-01-03", "2030-01-02"), "考试结束时间", "不能早于"),
    ]
    for args, field, msg in bad:
        with session_scope(seed.engine) as s, pytest.raises(ValidationError) as e:
            orgs.create_term(s, c, *args)
        assert e.value.field == field and msg in e.value.message, args
    with session_scope(seed.engine) as s, pytest.raises(NotFound):
        orgs.create_term(s, c, "71", "x", "2030-01-01", "2030-01-02", copy_from_term_id=9999)
    # not made current; copied from the past 考次
    with session_scope(seed.engine) as s:
        res = orgs.create_term(s, c, "71", "预备考次", "2030-03-28", "2030-03-30",
                               copy_from_term_id=seed.info["past_term"], make_current=False)
        assert not res["is_current"] and res["copied"]["site_setting"] > 0
    with session_scope(seed.engine) as s:
        assert s.get(ExamTerm, seed.info["current_term"]).is_current
        orgs.update_term(s, c, res["term_id"], "72", "预备考次（改）", "2030-03-28 08:00", "2030-03-30")
        assert s.get(ExamTerm, res["term_id"]).exam_end == datetime(2030, 3, 30, 23, 59)
        with pytest.raises(PermissionDenied, match="历史考次不能修改"):
            orgs.update_term(s, c, seed.info["past_term"], "69", "x", "2026-03-28", "2026-03-30")


def test_set_current_term(seed, act):
    c = act("center")
    with session_scope(seed.engine) as s, pytest.raises(PermissionDenied):
        orgs.set_current_term(s, act("site110001"), seed.info["past_term"])
    with session_scope(seed.engine) as s, pytest.raises(NotFound):
        orgs.set_current_term(s, c, 9999)
    with session_scope(seed.engine) as s:
        orgs.set_current_term(s, c, seed.info["past_term"])
    with session_scope(seed.engine) as s:
        assert [t.id for t in orgs.list_terms(s) if t.is_current] == [seed.info["past_term"]]
        assert s.scalar(select(func.count()).select_from(ExamTerm).where(ExamTerm.is_current.is_(True))) == 1
        log = _audits(s, "考次", seed.info["past_term"])[-1]
        assert log.before == {"current_term": seed.info["current_term"]}


def test_first_term_on_a_fresh_system(engine):
    from core.services.setup import create_admin
    with session_scope(engine) as s:
        create_admin(s, "admin", password="Admin12345")
    with session_scope(engine) as s:
        u = s.scalar(select(User).where(User.username == "admin"))
        a = auth.actor_for(s, u)
        assert a.term_id is None
        assert orgs.org_enabled_for_term(s, u.org_id)
        res = orgs.create_term(s, a, "70", "第一个考次", "2030-09-19", "2030-09-21")
        assert res["is_current"] and res["copied"] == {"org_term": 1}
    with session_scope(engine) as s:
        a = auth.actor_for(s, s.scalar(select(User).where(User.username == "admin")))
        assert a.term_id == res["term_id"] and a.term_is_current
        prov = orgs.add_org(s, a, a.org_id, "11", "北京市")
        assert prov.enabled and prov.kind == "province"


def test_domain_errors_only(seed, act):
    """Bad ids and bad types give a DomainError, never a crash."""
    a = act("city1101")
    with session_scope(seed.engine) as s:
        for call in (lambda: orgs.update_org(s, a, 10 ** 9, {}), lambda: orgs.get_user(s, a, 10 ** 9),
                     lambda: orgs.update_org(s, a, a.org_id, {"address": 123})):
            with pytest.raises(DomainError):
                call()
