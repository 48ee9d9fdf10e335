"""In a real browser: a 学习中心 applies for a student's 统考英语重考 with a proof image, the 院校 views the
image and approves it, and the 学习中心 sees 审核通过."""
import json
import subprocess
import sys

import pytest
from playwright.sync_api import expect

from core.services.demo_oces import demo_proof
from tests.e2e.conftest import ROOT, login

pytestmark = pytest.mark.e2e

FREE_STUDENT = """
import json
from sqlalchemy import select
from core.db import session_scope
from core.models import Application, Org
from core.models.oces import OcesBatch, OcesExamResult, OcesStudent
with session_scope() as s:
    b = s.scalar(select(OcesBatch.id).where(OcesBatch.code == '2021A'))
    used = set(s.scalars(select(Application.subject_key)))
    c = s.scalar(select(Org.id).where(Org.code == 'C30001'))
    i = s.scalar(select(Org.id).where(Org.code == 'U10001'))
    for rid, no, pb in s.execute(select(OcesExamResult.id, OcesStudent.student_no, OcesExamResult.pass_batch)
                                 .join(OcesStudent).where(OcesStudent.centre_id == c, OcesStudent.institution_id == i,
                                 OcesExamResult.status.in_(('passed', 'exempt'))).order_by(OcesExamResult.id)):
        if f'{b}:{rid}' not in used:
            print(json.dumps({'no': no, 'pass_batch': pb or '201704'}))
            break
"""


PAGES = {"统考英语重考申请": "b01_reexam_apply", "重考申请审核": "b02_reexam_review"}


def oces_login(page, url: str, username: str, title: str) -> None:
    """Log in (lands on 首页), then open the OCES page `title`."""
    login(page, url, username)
    page.goto(f"{url}/{PAGES[title]}")
    expect(page.get_by_role("heading", name=title)).to_be_visible()


def query_student(page, student_no: str) -> None:
    box = page.get_by_label("学号", exact=True)
    box.fill(student_no)
    expect(box).to_have_value(student_no)
    page.get_by_role("button", name="查询").click()


def select_first_row(page, table_testid: str = "stDataFrame") -> None:
    grid = page.get_by_test_id(table_testid).last
    expect(grid).to_be_visible()
    page.wait_for_timeout(800)  # the query's rerun settles
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 12, box["y"] + 35 + 17)  # the row marker (checkbox) of the first data row


def test_apply_with_proof_review_and_see_the_result(server, browser, tmp_path):
    env = server["env"]
    out = subprocess.run([sys.executable, "-c", FREE_STUDENT], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True).stdout
    student = json.loads(out.strip().splitlines()[-1])
    shot = tmp_path / "成绩查询截图.jpg"
    shot.write_bytes(demo_proof("CDCE 2017-04 English B: PASS"))

    centre = browser.new_context(viewport={"width": 1400, "height": 2400}).new_page()
    centre.set_default_timeout(20000)
    oces_login(centre, server["url"], "centre01", "统考英语重考申请")
    query_student(centre, student["no"])
    expect(centre.get_by_text("共 1 条记录")).to_be_visible()
    select_first_row(centre)
    expect(centre.get_by_text("基本信息")).to_be_visible()
    pb = centre.get_by_role("textbox", name="*合格批次")
    pb.fill(student["pass_batch"])
    expect(pb).to_have_value(student["pass_batch"])
    centre.locator("input[type=file]").first.set_input_files(str(shot))
    expect(centre.get_by_text("成绩查询截图.jpg")).to_be_visible()
    centre.get_by_role("button", name="提交").click()
    expect(centre.get_by_test_id("stAlertContentSuccess").filter(has_text="申请成功")).to_be_visible()

    reviewer = browser.new_context(viewport={"width": 1400, "height": 2400}).new_page()
    reviewer.set_default_timeout(20000)
    oces_login(reviewer, server["url"], "inst01", "重考申请审核")
    query_student(reviewer, student["no"])
    expect(reviewer.get_by_text("共 1 条申请")).to_be_visible()
    select_first_row(reviewer)
    expect(reviewer.get_by_test_id("stImage").first).to_be_visible()  # the proof image
    reviewer.get_by_role("button", name="审核通过（选中 1 条）").click()
    expect(reviewer.get_by_test_id("stAlertContentSuccess").filter(has_text="已审核通过 1 条")).to_be_visible()
    reviewer.close()

    centre.reload()
    expect(centre.get_by_role("heading", name="统考英语重考申请")).to_be_visible()
    query_student(centre, student["no"])
    expect(centre.get_by_text("共 1 条记录")).to_be_visible()
    select_first_row(centre)
    expect(centre.get_by_text("审核通过").first).to_be_visible()
    centre.screenshot(path="/tmp/kaowu_e2e_oces.png", full_page=True)
    centre.close()
