"""Every page in the menu renders for every role that may see it, with no exception and no error box."""
import pytest

from core import menu

USERS = {"center_admin": "center", "province_admin": "prov11", "city_admin": "city4401", "site_admin": "site110001",
         "centre_admin": "centre01", "centre_teacher": "teacher01", "institution_reviewer": "inst01"}
CASES = [(p.file, role) for p in menu.MENU for role in p.roles if role in USERS]


def test_menu_checks_clean():
    assert menu.check_menu() == []


@pytest.mark.parametrize("file,role", CASES, ids=[f"{f.split('/')[-1]}-{r}" for f, r in CASES])
def test_page_renders(page, file, role):
    at = page(file, USERS[role]).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not [e.value for e in at.error], [e.value for e in at.error]
    assert at.title, "page has a title"


def test_page_without_login_asks_to_log_in(page):
    at = page("pages/home.py").run()
    assert any("请先登录" in w.value for w in at.warning)
