"""Home.py: login form, wrong password, forced password change, menu by role."""
from core import menu


def test_menu_lists_known_roles():
    assert not [p for p in menu.check_menu() if "未知角色" in p]


def test_login_wrong_then_right(page, app_db):
    at = page("Home.py").run()
    assert not at.exception
    at.text_input[0].input("site110001")
    at.text_input[1].input("wrong-password-1")
    at.button[0].click().run()
    assert any("用户名或密码错误" in e.value for e in at.error)
    at.text_input[1].input(app_db.password)
    at.button[0].click().run()
    assert not at.exception
    assert at.session_state["kaowu_sid"]


def test_home_page_for_each_role(page):
    for user in ("center", "prov11", "city4401", "site110001"):
        at = page("pages/home.py", user).run()
        assert not at.exception, user
        assert at.title[0].value == "欢迎"


def test_forced_password_change_then_menu(page, app_db):
    from sqlalchemy import select

    from core.db import session_scope
    from core.models import User
    with session_scope(app_db.engine) as s:
        u = s.scalar(select(User).where(User.username == "site110004"))
        u.must_change_password = True
    at = page("Home.py").run()
    at.text_input[0].input("site110004")
    at.text_input[1].input(app_db.password)
    at.button[0].click().run()
    assert any("首次登录" in w.value for w in at.warning)
    at.text_input[0].input(app_db.password)
    at.text_input[1].input("short")
    at.text_input[2].input("short")
    at.button(key="FormSubmitter:change_pw-保存").click().run()
    assert any("字母和数字" in e.value for e in at.error)
    at.text_input[0].input(app_db.password)
    at.text_input[1].input("Changed2026x")
    at.text_input[2].input("Changed2026x")
    at.button(key="FormSubmitter:change_pw-保存").click().run()
    assert not at.exception
    assert any("密码已修改" in s.value for s in at.success)
