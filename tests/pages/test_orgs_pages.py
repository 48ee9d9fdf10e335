"""用户与机构管理 (pages/ncre/a07_users_orgs.py) and 考次管理 (pages/system/terms.py) through AppTest."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core import auth
from core.db import session_scope
from core.models import ExamTerm, Org, OrgTerm, User

A07 = "pages/ncre/a07_users_orgs.py"
TERMS = "pages/system/terms.py"
P = "ncre_a07_"


def _button(at, label: str, key_part: str = ""):
    return next(b for b in at.button if b.label == label and key_part in (b.key or ""))


def _ti(at, prefix: str):
    """The text input whose key starts with `prefix` (forms carry a nonce: empty again after a success)."""
    return next(t for t in at.text_input if (t.key or "").startswith(prefix))


def _org_table(at):
    return at.dataframe[0].value


@pytest.mark.parametrize("user,codes", [
    ("center", None),
    ("prov11", ["11", "1101", "110001", "110002", "110003", "110004"]),
    ("city4401", ["4401", "440101", "440102", "440103"]),
    ("site110001", ["110001"]),
])
def test_a07_renders_for_each_role(page, user, codes):
    at = page(A07, user).run()
    assert not at.exception, at.exception
    assert at.title[0].value == "用户与机构管理"
    assert not at.error
    df = _org_table(at)
    assert list(df.columns) == ["机构名称", "机构代码", "机构级别", "是否启用"]
    if codes:
        assert list(df["机构代码"]) == codes
    else:
        assert df["机构代码"].iloc[0] == "000000" and "440304" in set(df["机构代码"])
    users = at.dataframe[1].value
    assert list(users.columns)[:6] == ["姓名", "通行证ID", "所属机构", "角色", "邮箱", "手机"]
    assert all("****" in p for p in users["手机"] if p)  # masked on the server
    assert any(t.label == "批量导入用户" for t in at.tabs)
    assert [b for b in at.get("download_button")]  # the 用户导入 template


def test_site_sees_no_other_site(page):
    at = page(A07, "site110001").run()
    assert [o for o in at.selectbox if o.key == P + "org"][0].options == ["（110001）北京理工大学考点"]
    assert not [b for b in at.button if b.label in ("本考次停用", "审核机构信息", "删除机构", "新增机构")]


def test_add_user_shows_one_time_password_once(page, app_db):
    at = page(A07, "site110001").run()
    _ti(at, P + "a_pid_").input("zhangkw01")
    _ti(at, P + "a_name_").input("张考务")
    _ti(at, P + "a_email_").input("zhangkw@bit.edu.cn")
    _ti(at, P + "a_phone_").input("13912345678")
    _button(at, "新增用户", "add_user").click().run()
    assert not at.exception and not at.error
    assert any("已新增用户：张考务" in s.value for s in at.success)
    password = at.code[0].value
    assert any("安全途径" in w.value for w in at.warning)
    with session_scope(app_db.engine) as s:
        u = s.scalar(select(User).where(User.passport_id == "zhangkw01"))
        assert u.role == "site_admin" and u.org_id == app_db.orgs["110001"] and u.must_change_password
        assert auth.authenticate(s, "zhangkw01", password).id == u.id
    # the new user is in the list with the phone masked; the password is not shown again
    users = at.dataframe[1].value
    row = users[users["通行证ID"] == "zhangkw01"].iloc[0]
    assert row["手机"] == "139****5678" and row["角色"] == "考点管理员"
    assert _ti(at, P + "a_pid_").value == ""  # a fresh form for the next user
    at.run()
    assert not at.code


def test_add_user_bad_input_names_the_field(page):
    at = page(A07, "site110001").run()
    _ti(at, P + "a_pid_").input("lisi0001")
    _ti(at, P + "a_name_").input("李四")
    _ti(at, P + "a_phone_").input("1391234")
    _button(at, "新增用户", "add_user").click().run()
    assert not at.exception
    assert any("手机" in e.value and "11 位" in e.value for e in at.error)
    _ti(at, P + "a_phone_").input("")
    _ti(at, P + "a_pid_").input("site110002")
    _button(at, "新增用户", "add_user").click().run()
    assert any("一个通行证ID只能绑定一个机构" in e.value for e in at.error)


def test_delete_oneself_is_refused(page, app_db):
    at = page(A07, "site110001").run()
    me = app_db.users["site110001"]
    at.selectbox(key=f"{P}user_{app_db.orgs['110001']}").select(me).run()
    _button(at, "删除", f"del_{me}").click().run()
    assert not at.exception
    assert any(e.value == "不能删除自己。" for e in at.error)
    with session_scope(app_db.engine) as s:
        assert s.get(User, me) is not None


def test_delete_another_user_after_confirmation(page, app_db):
    from core.services import orgs
    a = app_db.actor("site110001")
    with session_scope(app_db.engine) as s:
        uid = orgs.add_user(s, a, a.org_id, "wangkw02", "王考务").user_id
    at = page(A07, "site110001").run()
    at.selectbox(key=f"{P}user_{a.org_id}").select(uid).run()
    _button(at, "删除", f"del_{uid}").click().run()
    assert any("确定删除用户“王考务”" in w.value for w in at.warning)
    _button(at, "确定", P + "yes").click().run()
    assert not at.exception and not at.error
    assert any("已删除用户“王考务”" in s.value for s in at.success)
    with session_scope(app_db.engine) as s:
        assert s.get(User, uid) is None


def test_edit_org_address_is_saved(page, app_db):
    oid = app_db.orgs["110001"]
    at = page(A07, "site110001").run()
    at.text_input(key=f"{P}o_address_{oid}").input("北京市海淀区中关村南大街5号 理工楼")
    _button(at, "保存机构信息").click().run()
    assert not at.exception and not at.error
    assert any("机构信息已保存" in s.value for s in at.success)
    assert at.text_input(key=f"{P}o_address_{oid}").value == "北京市海淀区中关村南大街5号 理工楼"
    with session_scope(app_db.engine) as s:
        assert s.get(Org, oid).address == "北京市海淀区中关村南大街5号 理工楼"


def test_bad_org_email_is_refused(page, app_db):
    at = page(A07, "site110001").run()
    next(t for t in at.text_input if t.label == "邮箱").input("not-an-email")
    _button(at, "保存机构信息").click().run()
    assert any("邮箱格式不正确" in e.value for e in at.error)


def test_level_above_toggles_enabled_and_review(page, app_db):
    oid = app_db.orgs["110003"]
    at = page(A07, "city1101").run()
    at.selectbox(key=P + "org").select(oid).run()
    _button(at, "本考次停用").click().run()
    assert not at.exception and not at.error
    with session_scope(app_db.engine) as s:
        assert s.scalar(select(OrgTerm.enabled).where(OrgTerm.org_id == oid,
                                                      OrgTerm.term_id == app_db.info["current_term"])) is False
    df = _org_table(at)
    assert df[df["机构代码"] == "110003"]["是否启用"].iloc[0] == "未启用"
    _button(at, "本考次启用").click().run()
    _button(at, "审核机构信息").click().run()
    assert any("已审核的机构信息不能修改" in w.value for w in at.warning)
    _button(at, "取消审核").click().run()
    with session_scope(app_db.engine) as s:
        assert s.scalar(select(OrgTerm.enabled).where(OrgTerm.org_id == oid,
                                                      OrgTerm.term_id == app_db.info["current_term"])) is True
        assert s.get(Org, oid).reviewed is False


def test_past_term_enabled_is_read_only(page, app_db):
    at = page(A07, "city1101")
    at.session_state["kaowu_term"] = app_db.info["past_term"]
    at.run()
    assert not at.exception
    assert any("历史考次" in i.value for i in at.info)
    at.selectbox(key=P + "org").select(app_db.orgs["110002"]).run()
    assert _button(at, "本考次停用").disabled
    # org information is not per 考次: still editable (§4.3)
    assert not _button(at, "保存机构信息").disabled


def test_find_passport_by_email(page):
    at = page(A07, "city1101").run()
    at.text_input(key=P + "f_email").input("city1101@demo.kaowu.cn")
    _button(at, "查找").click().run()
    assert not at.error
    assert at.dataframe[-1].value["姓名"].tolist() == ["北京市管"]
    at.text_input(key=P + "f_email").input("site440101@demo.kaowu.cn")  # another province: invisible
    _button(at, "查找").click().run()
    assert any("未找到" in e.value for e in at.error)


# ---------------------------------------------------------------- 考次管理
def test_terms_page_for_center(page, app_db):
    at = page(TERMS, "center").run()
    assert not at.exception and not at.error
    df = at.dataframe[0].value
    assert set(df["考次代码"]) >= {"69", "70"}
    assert df[df["考次代码"] == "70"]["状态"].iloc[0] == "当前考次"


def test_terms_page_refuses_others(page):
    at = page(TERMS, "prov11").run()
    assert not at.exception
    assert any("仅限考试中心管理员" in e.value for e in at.error)
    assert not at.dataframe


def test_create_term_from_the_page(page, app_db):
    at = page(TERMS, "center").run()
    at.text_input[0].input("7x")
    at.text_input[1].input("测试考次")
    at.checkbox[0].uncheck()  # keep the current 考次: the other page tests share this database
    _button(at, "创建考次").click().run()
    assert any("考次代码须为数字" in e.value for e in at.error)
    at.text_input[0].input("71")
    _button(at, "创建考次").click().run()
    assert not at.exception and not at.error
    assert any("考次已创建" in s.value and "考点开考科目" in s.value for s in at.success)
    with session_scope(app_db.engine) as s:
        t = s.scalar(select(ExamTerm).where(ExamTerm.code == "71"))
        assert t is not None and not t.is_current
        assert s.scalar(select(OrgTerm.id).where(OrgTerm.term_id == t.id).limit(1)) is not None
    assert "71" in set(at.dataframe[0].value["考次代码"])
