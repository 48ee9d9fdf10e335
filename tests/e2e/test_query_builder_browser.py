"""In a real browser, 通用统计 (001 §53) as the 北京市 province admin over the demo database: choose 数据列
(考点, 缴费状态), 指标列 (报考人次 and 成绩≥x with x changed to 70), 行转列 (缴费状态), 查询; the chart is drawn;
导出 Excel downloads a workbook whose numbers equal SQL counts over the database — and holds no 广东 site."""
import io

import openpyxl
import pytest
from playwright.sync_api import expect
from sqlalchemy import create_engine, text

from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e
expect.set_options(timeout=60000)


def wait_idle(page) -> None:
    page.wait_for_timeout(300)
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=120000)


def choose(page, label: str, options: list[str]) -> None:
    """Pick options in the multiselect labelled `label` (type to filter, Enter to take the first match)."""
    box = page.get_by_test_id("stMultiSelect").filter(has_text=label).first
    for opt in options:
        box.locator("input").click()
        box.locator("input").fill(opt)
        page.get_by_role("option", name=opt, exact=True).first.click()
        wait_idle(page)
    page.keyboard.press("Escape")


def expected(env) -> dict[str, tuple[int, int]]:
    """考点 label -> (已缴费 报考人次, 已缴费 成绩≥70人次) for the 北京 sites, by SQL over the database."""
    eng = create_engine(env["DATABASE_URL"])
    with eng.connect() as c:
        rows = c.execute(text("""
            SELECT '(' || o.code || ')' || o.name, count(*), sum(CASE WHEN s.score >= 70 THEN 1 ELSE 0 END)
            FROM registration r JOIN org o ON o.id = r.site_id JOIN exam_term t ON t.id = r.term_id
            LEFT JOIN score s ON s.registration_id = r.id
            WHERE t.is_current AND r.paid AND o.code LIKE '11%' GROUP BY o.code, o.name""")).all()
    eng.dispose()
    return {label: (int(n), int(ge or 0)) for label, n, ge in rows}


def test_query_builder_pivot_chart_and_export(server, browser):
    page = browser.new_page(accept_downloads=True)
    login(page, server["url"], "prov11")
    page.goto(server["url"] + "/a53_query_builder")
    expect(page.get_by_role("heading", name="通用统计")).to_be_visible()
    wait_idle(page)
    choose(page, "数据列", ["考点", "缴费状态"])
    choose(page, "指标列", ["成绩≥x人次"])
    x = page.get_by_label("成绩≥x人次：x")
    x.fill("70")
    x.press("Enter")
    wait_idle(page)
    choose(page, "行转列", ["缴费状态"])
    page.get_by_role("button", name="查询").click()
    wait_idle(page)
    expect(page.get_by_text("行转列：缴费状态")).to_be_visible()
    chart = page.locator(".js-plotly-plot").first
    expect(chart).to_be_visible()
    expect(chart.locator(".legend")).to_contain_text("已缴费")
    with page.expect_download(timeout=120000) as dl:
        page.get_by_role("button", name="导出 Excel").click()
    ws = openpyxl.load_workbook(io.BytesIO(dl.value.path().read_bytes())).active
    rows = list(ws.iter_rows(values_only=True))
    header = list(rows[0])
    assert header[0] == "考点"
    assert "已缴费 · 报考人次" in header and "已缴费 · 成绩≥70人次" in header
    body = {r[0]: r for r in rows[1:] if r[0] != "合计"}
    want = expected(server["env"])
    assert want and set(want) <= set(body)
    assert all(str(k).startswith("(11") for k in body), body.keys()  # a 北京 admin never sees 广东
    for label, (n, ge) in want.items():
        assert body[label][header.index("已缴费 · 报考人次")] == n
        assert body[label][header.index("已缴费 · 成绩≥70人次")] == ge
    total = [r for r in rows if r[0] == "合计"][0]
    assert total[header.index("已缴费 · 报考人次")] == sum(n for n, _ in want.values())
    page.close()
