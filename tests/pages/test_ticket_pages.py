"""AppTest interactions on 考场统计 (§33), 考点小版/大版准考证下载 (§34/§35, with 准考证验证), 考生准考证预生成 (§36),
考生下载准考证统计 (§37) and 考场签到表/座次表下载 (§50/§51)."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.db import session_scope
from core.models import CandidateTicket, GeneratedFile, Registration
from core.services import ticket_files as tf
from tests.factories import add_candidates, seat_all

A33, A34, A35 = "pages/ncre/a33_room_stats.py", "pages/ncre/a34_tickets_small.py", "pages/ncre/a35_tickets_large.py"
A36, A37 = "pages/ncre/a36_ticket_pregen.py", "pages/ncre/a37_ticket_downloads.py"
A50, A51 = "pages/ncre/a50_signin_sheets.py", "pages/ncre/a51_seating_charts.py"
SITE = "110003"  # arranged here; 110004 has candidates but no arrangement


def texts(at) -> str:
    return "\n".join(str(e.value) for kind in ("success", "info", "warning", "error", "caption", "markdown")
                     for e in getattr(at, kind))


@pytest.fixture(scope="module")
def arranged(app_db):
    sid, tid = app_db.orgs[SITE], app_db.info["current_term"]
    with session_scope(app_db.engine) as s:
        add_candidates(s, sid, tid, 8, ("14", "15"), paid=True, start=700)
        seat_all(s, sid, tid, capacity=5)
        add_candidates(s, app_db.orgs["110004"], tid, 3, ("14",), paid=True, start=720)
    return sid


def gen_row(app_db, sid, kind):
    with session_scope(app_db.engine) as s:
        return s.scalar(select(GeneratedFile).where(GeneratedFile.site_id == sid, GeneratedFile.kind == kind))


def test_room_stats_generate(page, app_db, arranged):
    at = page(A33, "site" + SITE).run()
    assert not at.exception and "尚未生成" in texts(at)
    assert "2 个考场，6 个批次" in texts(at)  # 8 per slot, 5 seats a session
    sessions = at.dataframe[0].value
    assert list(sessions.columns[:8]) == ["考场号", "批次号", "考场地址", "开始时间", "结束时间", "容量", "已编排", "剩余"]
    assert sessions.iloc[-1]["已编排"] == 16  # 8 candidates × 2 subjects
    at.button(key="gen_room_stats_build").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "考场统计已生成" in texts(at) and "生成时间" in texts(at)
    assert gen_row(app_db, arranged, "room_stats").rows == len(sessions) - 1
    assert any(b.label == "下载考场统计" for b in at.get("download_button"))


def test_tickets_small_order_generate_and_verify(page, app_db, arranged):
    at = page(A34, "site" + SITE).run()
    assert not at.exception
    at.radio(key="tk_small_order").set_value("name").run()
    at.button(key="gen_tickets_small_build").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "考点小版准考证已生成" in texts(at) and "生成顺序：按姓名" in texts(at)
    row = gen_row(app_db, arranged, "tickets_small")
    assert row.rows == 16 and row.options == {"order": "name", "order_label": "按姓名"}
    # 准考证验证: the right code is 有效, a wrong one 无效
    from core.models import ExamTerm
    from core.services import tickets as tk
    with session_scope(app_db.engine) as s:
        no = s.scalar(select(Registration.ticket_no).where(Registration.site_id == arranged)
                      .order_by(Registration.ticket_no).limit(1))
        key = s.scalar(select(ExamTerm.ticket_key).where(ExamTerm.id == app_db.info["current_term"]))
    code = tk.verify_code(key, no)
    at.text_input(key="chk_ticket_no").input(no)
    at.text_input(key="chk_code").input(code)
    next(b for b in at.button if b.label == "验证").click().run()
    assert not at.exception
    assert any("有效" in e.value for e in at.success), texts(at)
    details = at.table[0].value
    assert "考生70" in details.to_string() and "*" in details.to_string()  # name, masked ID
    at.text_input(key="chk_code").input("AAAAAAAA" if code != "AAAAAAAA" else "BBBBBBBB")
    next(b for b in at.button if b.label == "验证").click().run()
    assert any("无效" in e.value for e in at.error), texts(at)
    # the QR text alone
    at.text_input(key="chk_ticket_no").input("")
    at.text_input(key="chk_code").input("")
    at.text_input(key="chk_qr").input(f"{no}|{code}")
    next(b for b in at.button if b.label == "验证").click().run()
    assert any("有效" in e.value for e in at.success), texts(at)


def test_tickets_pages_explain_missing_arrangement(page, app_db, arranged):
    for f in (A34, A35, A50, A51, A33):
        at = page(f, "site110004").run()
        assert not at.exception
        assert "未编排" in texts(at), (f, texts(at))
        builds = [b for b in at.button if b.key and b.key.startswith("gen_") and b.key.endswith("_build")]
        assert builds and all(b.disabled for b in builds)


def test_upper_level_sees_status_without_generate(page, app_db, arranged):
    at = page(A35, "prov11").run()
    assert not at.exception
    at.selectbox(key="org_picker_site").set_value(arranged).run()
    assert not at.exception
    assert "上级机构只能查看生成情况" in texts(at)
    assert not [b for b in at.button if b.key == "gen_tickets_large_build"]


def test_signin_and_seating_generate(page, app_db, arranged):
    for f, kind in ((A50, "signin"), (A51, "seating")):
        at = page(f, "site" + SITE).run()
        assert not at.exception and "考前资料下载时间" in texts(at)
        at.button(key=f"gen_{kind}_build").click().run()
        assert not at.exception, [e.value for e in at.exception]
        assert "已生成" in texts(at)
        assert gen_row(app_db, arranged, kind).rows > 0


def test_pregen_and_download_stats(page, app_db, arranged):
    at = page(A36, "site" + SITE).run()
    assert not at.exception
    assert [m.value for m in at.metric][:2] == ["0", "8"]  # 已生成且一致 0, 未生成 8
    at.button(key="pregen_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "已生成 8 名考生的准考证" in texts(at)
    assert at.metric[0].value == "8"
    at.button(key="pregen_check").click().run()
    assert "检测完成" in texts(at) and "已生成且一致 8 人" in texts(at)
    at.button(key="pregen_export").click().run()
    assert any(b.label == "下载检测报告" for b in at.get("download_button"))
    at.button(key="pregen_preview").click().run()
    assert not at.exception and any(b.label == "下载预览 PDF" for b in at.get("download_button"))
    with session_scope(app_db.engine) as s:
        n = s.scalar(select(func.count()).select_from(CandidateTicket).where(CandidateTicket.site_id == arranged))
        assert n == 8
        eid = s.scalar(select(CandidateTicket.enrollment_id).where(CandidateTicket.site_id == arranged).limit(1))
        tf.candidate_ticket_pdf(s, eid)
    # §37 for the site and for the province (picked site)
    at = page(A37, "site" + SITE).run()
    assert not at.exception
    df = at.dataframe[0].value
    total = df[df["科目代码"] == "合计（按人）"].iloc[0]
    assert (total["应下载人数"], total["已下载人数"], total["未下载人数"]) == (8, 1, 7)
    at.button(key="tdl_export_btn").click().run()
    assert any(b.label == "下载 Excel" for b in at.get("download_button"))
    at = page(A37, "prov11").run()
    at.selectbox(key="org_picker_site").set_value(arranged).run()
    assert not at.exception
    df = at.dataframe[0].value
    assert int(df[df["科目代码"] == "14"].iloc[0]["已下载人数"]) == 1


def test_pregen_page_when_self_print_is_off(page, app_db):
    from sqlalchemy import update
    from core.models import SiteSetting
    sid = app_db.orgs["440101"]
    with session_scope(app_db.engine) as s:
        s.execute(update(SiteSetting).where(SiteSetting.site_id == sid).values(allow_self_print=False))
    for f in (A36, A37):
        at = page(f, "site440101").run()
        assert not at.exception and "不允许考生个人打印准考证" in texts(at)
        assert not [b for b in at.button if b.key == "pregen_go"]
