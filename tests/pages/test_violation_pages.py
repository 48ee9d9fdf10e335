"""AppTest: 违规信息管理 (001 §38) and 违规分类统计 (§39) render for every level; the site adds, edits and deletes
a 违规 through the dialogs, a bad import file shows its row errors, and the statistics count what was added."""
from __future__ import annotations

import io
from datetime import datetime, timedelta

import openpyxl
import pytest
from sqlalchemy import select, update

from core.db import session_scope
from core.models import OpWindow, Registration
from core.models.postexam import Violation
from tests.factories import add_candidates, seat_all

A38 = "pages/ncre/a38_violations.py"
A39 = "pages/ncre/a39_violation_stats.py"
SITE = "110003"


def texts(elements) -> list[str]:
    return [e.value for e in elements]


def button(at, label):
    return next(b for b in at.button if b.label == label)


def xlsx(rows) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "违纪缺考信息"
    ws.append(["准考证号", "违纪类型", "备注"])
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@pytest.fixture(scope="module")
def tickets(app_db):
    """Site 110003: 4 candidates × 14, 15, seated and numbered; its ticket numbers in order."""
    tid, sid = app_db.info["current_term"], app_db.orgs[SITE]
    with session_scope(app_db.engine) as s:
        add_candidates(s, sid, tid, 4, ("14", "15"), paid=True, start=800, born="19980101")
        seat_all(s, sid, tid)
        return list(s.scalars(select(Registration.ticket_no).where(Registration.site_id == sid)
                              .order_by(Registration.ticket_no)))


def stored(app_db) -> dict[str, tuple]:
    with session_scope(app_db.engine) as s:
        return {v.ticket_no: (v.code, v.remark) for v in s.scalars(
            select(Violation).where(Violation.site_id == app_db.orgs[SITE]))}


def table(at):
    return at.dataframe[0].value


@pytest.mark.parametrize("user", ["site110003", "city1101", "prov11", "center"])
@pytest.mark.parametrize("file,title", [(A38, "违规信息管理"), (A39, "违规分类统计")])
def test_pages_render_for_each_level(page, tickets, file, title, user):
    at = page(file, user).run()
    assert not at.exception, (file, user, texts(at.exception))
    assert not at.error, (file, user, texts(at.error))
    assert at.title[0].value == title


def test_upper_level_only_views_and_exports(page, tickets):
    at = page(A38, "city1101").run()
    assert any("上级机构只能查询查看和导出" in x for x in texts(at.info))
    labels = [b.label for b in at.button]
    assert "导出" in labels and not {"新增", "修改", "删除"} & set(labels)
    assert not at.file_uploader
    assert at.selectbox(key="org_picker_site")  # the site picker


def test_add_edit_delete_through_the_dialogs(page, app_db, tickets):
    at = page(A38, "site110003").run()
    assert any("可以操作" in x for x in texts(at.success))  # the 缺考违纪管理时间 banner
    assert button(at, "修改").disabled and button(at, "删除").disabled  # nothing selected
    button(at, "新增").click().run()
    assert not at.exception
    ticket = next(w for w in at.text_input if w.label == "准考证号 *")
    ticket.input("9999999999999999").run()
    assert any("本考次没有准考证号" in x for x in texts(at.error))
    assert button(at, "保存").disabled
    t = tickets[0]
    next(w for w in at.text_input if w.label == "准考证号 *").input(t).run()
    assert not at.error, texts(at.error)
    shown = {w.label: w.value for w in at.text_input if w.disabled}
    assert shown["姓名"].startswith("考生") and "*" in shown["证件号"] and shown["考试科目"].startswith("(14)")
    button(at, "保存").click().run()
    assert any("请选择违纪类型" in x for x in texts(at.error))
    next(w for w in at.selectbox if w.label == "违纪类型 *").select("22").run()
    next(w for w in at.text_input if w.label == "备注").input("携带手机").run()
    button(at, "保存").click().run()
    assert not at.exception and not at.error, texts(at.error)
    assert any(f"已新增违规信息：准考证号 {t}" in x for x in texts(at.success))
    assert stored(app_db)[t] == ("22", "携带手机")
    df = table(at)
    assert list(df["准考证号"]) == [t] and df["违纪类型"].iloc[0] == "作弊-夹带"
    assert "*" in df["证件号码"].iloc[0]

    # 修改 the selected row
    at.session_state[at.dataframe[0].key] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    button(at, "修改").click().run()
    next(w for w in at.selectbox if w.label == "违纪类型 *").select("01").run()
    button(at, "保存").click().run()
    assert not at.exception and any("已修改准考证号" in x for x in texts(at.success)), texts(at.error)
    assert stored(app_db)[t] == ("01", "携带手机")

    # 删除 with confirmation
    at.session_state[at.dataframe[0].key] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    button(at, "删除").click().run()
    assert any("确定删除选中的 1 条违规信息" in x for x in texts(at.warning))
    assert t in stored(app_db)  # not yet
    button(at, "确定删除").click().run()
    assert not at.exception and any("已删除 1 条违规信息" in x for x in texts(at.success))
    assert t not in stored(app_db)


def test_bad_import_shows_row_errors_then_good_one_imports(page, app_db, tickets):
    at = page(A38, "site110003").run()
    bad = xlsx([[tickets[1], "夹带", ""], ["9999999999999999", "缺考", ""], [tickets[2], "迟到", ""]])
    at.file_uploader[0].upload("违规.xlsx", bad).run()
    at.button(key="imp_ncre_violations_check").click().run()
    assert not at.exception
    assert [m.value for m in at.metric] == ["3", "1", "2"]
    errors = next(d for d in at.dataframe if "错误信息" in d.value.columns).value.to_dict("records")
    assert {(e["行号"], e["列名"]) for e in errors} == {(3, "准考证号"), (4, "违纪类型")}
    assert any("本考次没有准考证号" in e["错误信息"] for e in errors)
    assert not [b for b in at.button if b.key == "imp_ncre_violations_commit"]  # all or nothing
    assert tickets[1] not in stored(app_db)

    good = xlsx([[tickets[1], "夹带", "导入"], [tickets[2], "缺考", ""]])
    at.file_uploader[0].upload("违规2.xlsx", good).run()
    at.button(key="imp_ncre_violations_check").click().run()
    at.button(key="imp_ncre_violations_commit").click().run()
    assert not at.exception, texts(at.exception)
    assert any("已写入 2 条" in x for x in texts(at.success))
    got = stored(app_db)
    assert got[tickets[1]] == ("22", "导入") and got[tickets[2]] == ("01", None)

    # the statistics count them
    st_ = page(A39, "site110003").run()
    assert not st_.exception
    df = st_.dataframe[0].value
    total = df[df["报考科目"] == "合计"].iloc[0]
    assert total["违规人次合计"] == len(got) and total["作弊"] == sum(1 for c, _ in got.values() if c == "22")
    assert total["缺考"] == sum(1 for c, _ in got.values() if c == "01")
    assert st_.get("plotly_chart")
    st_.button(key="a39_export").click().run()
    assert [d.label for d in st_.get("download_button")] == ["下载 Excel"]
    city = page(A39, "city1101").run()
    cdf = city.dataframe[0].value
    assert cdf[cdf["考点"].str.contains(SITE)].iloc[0]["违规人次合计"] == len(got)


def test_closed_window_disables_writes(page, app_db, tickets):
    tid, sid = app_db.info["current_term"], app_db.orgs[SITE]
    past = datetime.now() - timedelta(days=30)

    def put(kind, start, end):
        with session_scope(app_db.engine) as s:
            w = s.scalar(select(OpWindow).where(OpWindow.org_id == sid, OpWindow.term_id == tid, OpWindow.kind == kind))
            old = (w.start_at, w.end_at)
            s.execute(update(OpWindow).where(OpWindow.id == w.id).values(start_at=start, end_at=end))
            return old

    old_v = put("violation", past, past + timedelta(days=1))
    old_d = put("post_exam_download", past, past + timedelta(days=1))
    try:
        at = page(A38, "site110003").run()
        assert not at.exception
        assert any("不在缺考违纪管理时间" in x for x in texts(at.warning))
        assert button(at, "新增").disabled and button(at, "导出").disabled
        assert at.file_uploader[0].disabled
        assert any("考后资料下载时间" in x for x in texts(at.caption))
    finally:
        put("violation", *old_v)
        put("post_exam_download", *old_d)
