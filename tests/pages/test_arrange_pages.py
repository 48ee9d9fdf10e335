"""AppTest interactions on 考场管理 (§30), 考场编排管理 (§31) and 准考证号生成 (§32)."""
from __future__ import annotations

from datetime import time

from sqlalchemy import func, select

from core.db import session_scope
from core.models import ExamTerm, Registration
from core.models.arrange import ExamRoom, ExamSession
from core.services import arrangement as ar
from tests.factories import add_candidates

A30, A31, A32 = "pages/ncre/a30_rooms.py", "pages/ncre/a31_arrange.py", "pages/ncre/a32_ticket_numbers.py"


def texts(at) -> str:
    return "\n".join(str(e.value) for kind in ("success", "info", "warning", "error", "caption", "markdown")
                     for e in getattr(at, kind))


def button(at, label):
    return next(b for b in at.button if b.label == label)


def prepare(app_db, code, subject, n, start, capacity=20):
    """n paid candidates of `subject` at site `code`, one room with 3 sessions on the first exam day."""
    site, term = app_db.orgs[code], app_db.info["current_term"]
    with session_scope(app_db.engine) as s:
        add_candidates(s, site, term, n, (subject,), paid=True, start=start)
    with session_scope(app_db.engine) as s:
        actor = app_db.actor("site" + code)
        rid = ar.add_room(s, actor, site, "01", "教学楼101")
        d0 = s.get(ExamTerm, term).exam_start.date()
        ar.add_sessions_bulk(s, actor, site, [rid], [d0], [(time(8, 30), time(10, 30)), (time(11, 0), time(13, 0)),
                                                          (time(14, 0), time(16, 0))], capacity)
    return site


def placed(app_db, site):
    with session_scope(app_db.engine) as s:
        return s.scalar(select(func.count()).select_from(Registration).where(
            Registration.site_id == site, Registration.session_id.is_not(None)))


def test_rooms_page_add_room_and_bulk_sessions(page, app_db):
    site = app_db.orgs["110002"]
    at = page(A30, "site110002").run()
    assert not at.exception and "本考点还没有考场" in texts(at)
    at.text_input(key="room_code").input("07")
    at.text_input(key="room_address").input("教学楼A座307")
    button(at, "新增考场").click().run()
    assert not at.exception and "已新增考场 07" in texts(at)
    at.text_input(key="room_code").input("08")
    button(at, "新增考场").click().run()
    # 新增批次(批量): both rooms (default), every exam day (default), the default pattern of 3 sessions
    at.number_input(key="bulk_capacity").set_value(25)
    button(at, "新增批次(批量)").click().run()
    assert not at.exception
    with session_scope(app_db.engine) as s:
        term = s.get(ExamTerm, app_db.info["current_term"])
        days = (term.exam_end.date() - term.exam_start.date()).days + 1
        sessions = s.execute(select(ExamRoom.code, ExamSession.seq, ExamSession.capacity, ExamSession.start_at)
                             .join(ExamRoom, ExamRoom.id == ExamSession.room_id)
                             .where(ExamSession.site_id == site)).all()
    assert f"已新增 {2 * days * 3} 个批次" in texts(at)
    assert len(sessions) == 2 * days * 3 and {c for _, _, c, _ in sessions} == {25}
    assert {s.start_at.time() for s in sessions} == {time(8, 30), time(11, 0), time(14, 0)}
    assert "07#1" in at.dataframe[0].value["考场或批次号"].str.strip().tolist()
    # a session outside 08:00–20:00 is refused with the manual's rule
    at.time_input(key="one_start").set_value(time(7, 0))
    at.time_input(key="one_end").set_value(time(8, 0))
    button(at, "新增批次").click().run()
    assert "08:00~20:00" in "\n".join(e.value for e in at.error)
    # export
    button(at, "导出考场批次时间到 Excel").click().run()
    assert not at.exception and at.get("download_button")


def test_rooms_page_read_only_for_upper_levels(page):
    for user in ("prov11", "center"):
        at = page(A30, user).run()
        assert not at.exception and "上级机构只能查询查看" in texts(at)
        assert not [b for b in at.button if b.label == "新增考场"]


def test_arrange_page_auto_then_clear(page, app_db):
    site = prepare(app_db, "110003", "15", 12, start=600)  # 110003 runs 15, not 14
    at = page(A31, "site110003").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert table.iloc[-1]["科目代码"] == "总计" and table.iloc[-1]["未编排"] == 12
    assert "共 12 科次" in texts(at)
    button(at, "自动编排全部待编排考生").click().run()
    assert not at.exception
    assert "自动编排完成" in texts(at) and "本次编排 12 科次" in texts(at)
    table = at.dataframe[0].value
    assert table.iloc[-1]["已编排"] == 12 and table.iloc[-1]["未编排"] == 0
    assert placed(app_db, site) == 12
    # 清除所有 needs the confirmation
    assert button(at, "清除所有").disabled
    at.checkbox(key="a31_clear_sure").check().run()
    button(at, "清除所有").click().run()
    assert not at.exception and "已清除本考点所有编排结果（12 科次）" in texts(at)
    assert placed(app_db, site) == 0
    # manual: all filtered candidates into the filtered sessions (none selected → all)
    at.radio(key="a31_target").set_value("all").run()
    button(at, "2.选中考生编排").click().run()
    assert not at.exception and "选中考生编排完成" in texts(at)
    assert placed(app_db, site) == 12


def test_arrange_page_prerequisites_and_upper_level(page, app_db):
    site, term = app_db.orgs["440102"], app_db.info["current_term"]
    with session_scope(app_db.engine) as s:
        add_candidates(s, site, term, 2, ("14",), paid=False, start=650)
    at = page(A31, "site440102").run()
    assert not at.exception
    assert "存在未支付的报考" in texts(at) and "还没有考场批次" in texts(at)
    assert button(at, "自动编排全部待编排考生").disabled
    at = page(A31, "prov44").run()
    at.selectbox(key="org_picker_site").set_value(site).run()
    assert not at.exception and "上级机构只能查询查看" in texts(at)


def test_ticket_numbers_page(page, app_db):
    site = prepare(app_db, "110004", "14", 6, start=700)
    at = page(A32, "site110004").run()
    assert not at.exception and "流水号未生成" in texts(at) and "存在未编排的科目" in texts(at)
    assert button(at, "生成准考证号").disabled
    with session_scope(app_db.engine) as s:
        ar.arrange_auto(s, app_db.actor("site110004"), site)
    at = page(A32, "site110004").run()
    button(at, "生成准考证号").click().run()
    assert not at.exception and "准考证号生成完成：共 6 科次，新生成 6" in texts(at)
    assert "已生成" in texts(at)
    with session_scope(app_db.engine) as s:
        nos = s.scalars(select(Registration.ticket_no).where(Registration.site_id == site)).all()
    assert len(nos) == 6 and all(n and len(n) == 16 and n[2:4] and "110004" in n for n in nos)
    # the 考试中心 sees and sets the layout
    at = page(A32, "center").run()
    at.selectbox(key="org_picker_site").set_value(site).run()
    assert not at.exception and ar.DEFAULT_LAYOUT in texts(at)
    at.text_input(key="layout_text").input("{subject:2}{site:6}{room:3}{session:2}{seat:3}")
    button(at, "保存格式").click().run()
    assert not at.exception and "准考证号格式已设置为" in texts(at)
    at = page(A32, "site110004").run()
    assert "不一致" in texts(at)  # the numbers no longer follow the layout
    with session_scope(app_db.engine) as s:
        ar.set_ticket_layout(s, app_db.actor("center"), None)  # back to the default for the other tests
