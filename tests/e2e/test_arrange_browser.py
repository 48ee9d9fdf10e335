"""In a real browser, the whole chain at a demo site the demo has not arranged (110002): 考场管理 (add a
room, then 新增批次(批量) for every room), 考场编排管理 → 自动编排, 准考证号生成 → 生成, and 考点小版准考证下载 →
生成 → 下载: the downloaded ZIP holds PDFs with every ticket number of the site.

Set-up by script (seed data, not the feature under test): every 报考 of the site marked paid (编排 needs it)
and enough rooms for its candidates (3 sessions a day on the 2 exam days of its subjects, 30 seats)."""
import io
import re
import shutil
import subprocess
import sys
import zipfile

import pytest
from playwright.sync_api import expect
from sqlalchemy import create_engine, select

from tests.e2e.conftest import ROOT, login

pytestmark = pytest.mark.e2e
expect.set_options(timeout=60000)
SITE = "110002"

SETUP = f"""
from sqlalchemy import func, select, update
from core.auth import actor_for
from core.db import session_scope
from core.models import Org, Registration, User
from core.services import arrangement as ar
with session_scope() as s:
    site = s.scalar(select(Org).where(Org.code == '{SITE}'))
    admin = s.scalar(select(User).where(User.username == 'site{SITE}'))
    actor = actor_for(s, admin, None)
    assert not ar.list_rooms(s, actor, site.id), 'the demo arranged {SITE} already: pick another site'
    s.execute(update(Registration).where(Registration.site_id == site.id, Registration.term_id == actor.term_id)
              .values(paid=True))
    total = s.scalar(select(func.count()).select_from(Registration).where(Registration.site_id == site.id,
                                                                         Registration.term_id == actor.term_id))
    rooms = -(-int(total * 1.2) // (30 * 3 * 2)) + 1
    for k in range(1, rooms + 1):
        ar.add_room(s, actor, site.id, f"{{k:02d}}", f"第{{(k - 1) // 6 + 1}}教学楼{{k:02d}}机房")
    print(total, rooms)
"""


def wait_idle(page) -> None:
    """Streamlit's rerun is over: the status widget no longer shows "Running"."""
    page.wait_for_timeout(300)
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=120000)


def site_tickets(env) -> set[str]:
    eng = create_engine(env["DATABASE_URL"])
    from core.models import Org, Registration
    with eng.connect() as c:
        sid = c.execute(select(Org.id).where(Org.code == SITE)).scalar_one()
        out = {t for t, in c.execute(select(Registration.ticket_no).where(Registration.site_id == sid))}
    eng.dispose()
    return out


def test_rooms_arrange_numbers_and_small_tickets(server, browser, tmp_path):
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext (poppler-utils) not installed")
    got = subprocess.run([sys.executable, "-c", SETUP], cwd=ROOT, env=server["env"], check=True,
                         capture_output=True, text=True)
    total, rooms = map(int, got.stdout.split())
    assert total > 0
    page = browser.new_page()
    page.set_default_timeout(60000)
    login(page, server["url"], f"site{SITE}")

    # 考场管理: one more room through the form, then sessions for every room
    page.goto(server["url"] + "/a30_rooms")
    expect(page.get_by_role("heading", name="考场管理")).to_be_visible()
    wait_idle(page)
    page.get_by_label("考场号 *").first.fill("90")
    page.get_by_label("考场地址").first.fill("实验楼九层机房")
    page.get_by_role("button", name="新增考场").click()
    expect(page.get_by_text("已新增考场 90。")).to_be_visible()
    wait_idle(page)
    page.get_by_role("tab", name="新增批次(批量)").click()
    button = page.get_by_role("button", name="新增批次(批量)")
    expect(button).to_be_visible()
    button.click()
    expect(page.get_by_text(re.compile(r"已新增 \d+ 个批次"))).to_be_visible()
    wait_idle(page)

    # 考场编排管理: 自动编排
    page.goto(server["url"] + "/a31_arrange")
    expect(page.get_by_role("heading", name="考场编排管理")).to_be_visible()
    wait_idle(page)
    auto = page.get_by_role("button", name="自动编排全部待编排考生")
    expect(auto).to_be_enabled()
    auto.click()
    expect(page.get_by_text("全部编排完成").first).to_be_visible(timeout=180000)
    wait_idle(page)

    # 准考证号生成
    page.goto(server["url"] + "/a32_ticket_numbers")
    expect(page.get_by_role("heading", name="准考证号生成")).to_be_visible()
    wait_idle(page)
    gen_no = page.get_by_role("button", name="生成准考证号")
    expect(gen_no).to_be_enabled()
    gen_no.click()
    expect(page.get_by_text("准考证号生成完成").first).to_be_visible(timeout=120000)
    wait_idle(page)

    # 考点小版准考证下载: 生成, then 下载
    page.goto(server["url"] + "/a34_tickets_small")
    expect(page.get_by_role("heading", name="考点小版准考证下载")).to_be_visible()
    expect(page.get_by_text("尚未生成")).to_be_visible()
    wait_idle(page)
    build = page.get_by_role("button", name="生成", exact=True)
    expect(build).to_be_enabled()
    build.click()
    expect(page.get_by_text("考点小版准考证已生成")).to_be_visible(timeout=300000)
    wait_idle(page)
    expect(page.get_by_text("生成顺序：按考场座位")).to_be_visible()
    page.screenshot(path="/tmp/kaowu_e2e_tickets.png", full_page=True)
    with page.expect_download(timeout=120000) as dl:
        page.get_by_role("button", name="下载考点小版准考证").click()
    data = open(dl.value.path(), "rb").read()
    assert dl.value.suggested_filename.endswith(".zip")
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        names = [n for n in z.namelist() if n.endswith(".pdf")]
        assert names
        text = ""
        for n in names:
            text += subprocess.run(["pdftotext", "-", "-"], input=z.read(n), capture_output=True,
                                   check=True).stdout.decode()
    expected = site_tickets(server["env"])
    assert len(expected) == total and None not in expected
    found = set(re.findall(r"\d{16}", text))
    assert expected <= found, f"{len(expected - found)} ticket numbers missing from the PDFs"
    page.close()
