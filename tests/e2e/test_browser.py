"""In a real browser: log in with a one-time password, change it, open 考点容量设置,
save an invalid value and see the error, save a valid one and see it saved."""
import os
import re
import subprocess
import sys

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ROOT, fill_settled, login

pytestmark = pytest.mark.e2e

CREATE_USER = """
from sqlalchemy import select
from core.db import session_scope
from core.auth import hash_password
from core.models import Org, User
with session_scope() as s:
    site = s.scalar(select(Org).where(Org.code == '110001'))
    s.add(User(username='e2e_site', passport_id='E2E0001', name='端到端考点管理员', org_id=site.id,
               role='site_admin', password_hash=hash_password('OneTime123'), must_change_password=True))
"""


def test_login_change_password_capacity(server, browser):
    subprocess.run([sys.executable, "-c", CREATE_USER], cwd=ROOT, env=server["env"], check=True)
    page = browser.new_page()
    page.set_default_timeout(20000)
    page.goto(server["url"])
    page.get_by_label("用户名（通行证ID）").fill("e2e_site")
    page.get_by_label("密码").fill("OneTime123")
    page.get_by_role("button", name="登录").click()
    # forced password change at first login
    expect(page.get_by_text("首次登录")).to_be_visible()
    page.wait_for_function("document.cookie.includes('kaowu_auth')")  # the login cookie's rerun is over
    for label, value in (("原密码", "OneTime123"), ("新密码", "BrandNew2026"), ("确认新密码", "BrandNew2026")):
        fill_settled(page, label, value)
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_text("密码已修改")).to_be_visible()
    page.get_by_role("link", name="进入首页").click()
    expect(page.get_by_text("欢迎", exact=True).first).to_be_visible()
    # 考点容量设置
    page.goto(server["url"] + "/a13_site_capacity")
    total = page.get_by_label("总科次")
    expect(total).to_be_visible()
    total.fill("50")
    total.press("Tab")
    page.get_by_role("button", name="保存").first.click()
    expect(page.get_by_test_id("stAlertContentError")).to_contain_text(re.compile("不能小于 ?100"))
    total.fill("3000")
    total.press("Tab")
    page.get_by_role("button", name="保存").first.click()
    expect(page.get_by_test_id("stAlertContentSuccess").filter(has_text="已保存")).to_contain_text("总科次 3000")
    page.screenshot(path=os.environ.get("KAOWU_E2E_SHOT", "/tmp/kaowu_e2e_capacity.png"), full_page=True)
    page.close()


def test_cookie_replayed_after_logout_is_rejected(server, browser):
    ctx = browser.new_context()
    page = ctx.new_page()
    page.set_default_timeout(20000)
    login(page, server["url"], "site440101")
    stolen = [c for c in ctx.cookies() if c["name"] == "kaowu_auth"]
    assert stolen
    # the cookie alone restores the login in a fresh browser context
    other = browser.new_context()
    other.add_cookies(stolen)
    p2 = other.new_page()
    p2.goto(server["url"])
    expect(p2.get_by_text("欢迎", exact=True).first).to_be_visible()
    # logout revokes the server-side session: the replayed cookie no longer logs in
    page.get_by_role("button", name="退出登录").click()
    expect(page.get_by_role("button", name="登录")).to_be_visible()
    replay = browser.new_context()
    replay.add_cookies(stolen)
    p3 = replay.new_page()
    p3.goto(server["url"])
    expect(p3.get_by_role("button", name="登录")).to_be_visible()
    for c in (ctx, other, replay):
        c.close()
