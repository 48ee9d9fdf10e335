"""In a real browser: a 考点管理员 uploads a group-registration ZIP with mistakes, sees the dry-run
errors, downloads the error report, fixes the file and imports it."""
import io

import openpyxl
import pytest
from playwright.sync_api import expect

from tests.unit.test_group_registration import person, xlsx, zipped
from tests.e2e.conftest import login
from tests.factories import make_id_number

pytestmark = pytest.mark.e2e
expect.set_options(timeout=20000)
BORN = "19930505"  # outside the demo's birth years: no clash with demo candidates


def rows(fixed: bool) -> list[dict]:
    out = [person(i, "14", 证件号码=make_id_number(i, born=BORN), 电子邮件=f"e2e{i}@example.com") for i in range(3)]
    if not fixed:
        out[1]["证件号码"] = out[1]["证件号码"][:17] + ("1" if out[1]["证件号码"][17] != "1" else "2")  # bad check char
        out[2]["报考科目"] = "99"
    return out


def test_group_import_dry_run_report_fix_import(server, browser, tmp_path):
    bad, good = tmp_path / "集体报名-有错.zip", tmp_path / "集体报名.zip"
    bad.write_bytes(zipped(xlsx(rows(False))))
    good.write_bytes(zipped(xlsx(rows(True))))
    page = browser.new_page()
    page.set_default_timeout(30000)
    login(page, server["url"], "site110001")
    page.goto(server["url"] + "/a22_group_import")
    expect(page.get_by_role("heading", name="集体报名信息导入")).to_be_visible()
    page.locator("input[type=file]").set_input_files(str(bad))
    expect(page.get_by_text("请先点“校验”检查文件")).to_be_visible()  # the upload's rerun has finished
    page.get_by_role("button", name="校验").click()
    expect(page.get_by_text("校验完成（未写入）")).to_be_visible()
    expect(page.get_by_text("文件中有错误")).to_be_visible()
    with page.expect_download() as dl:
        page.get_by_role("button", name="下载错误报告").click()
    report = openpyxl.load_workbook(io.BytesIO(open(dl.value.path(), "rb").read()))
    text = "\n".join(str(c) for ws in report.worksheets for r in ws.iter_rows(values_only=True) for c in r if c)
    assert "校验位错误" in text and "科目代码“99”不存在" in text
    page.screenshot(path="/tmp/kaowu_e2e_group_errors.png", full_page=True)
    # fix and import: remove the wrong file, upload the corrected one
    page.get_by_role("button", name="Remove 集体报名-有错.zip").click()
    expect(page.get_by_text("集体报名-有错.zip")).to_have_count(0)
    page.locator("input[type=file]").set_input_files(str(good))
    expect(page.get_by_text("集体报名.zip")).to_be_visible()
    expect(page.get_by_text("请先点“校验”检查文件")).to_be_visible()  # the upload's rerun has finished
    page.get_by_role("button", name="校验").click()
    expect(page.get_by_role("button", name="确认导入")).to_be_visible()
    page.get_by_role("button", name="确认导入").click()
    expect(page.get_by_text("导入完成：总行数 3，有效 3，错误 0，已写入 3 条。")).to_be_visible()
    expect(page.get_by_text("新报名 3 人")).to_be_visible()
    page.screenshot(path="/tmp/kaowu_e2e_group_done.png", full_page=True)
    page.close()
