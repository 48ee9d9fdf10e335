"""AppTest: the 操作时间设置 / 报名前设置 pages (001 §9–§19) render for every level, and the main interactions work."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from core import menu
from core.db import session_scope
from core.models import OpWindow, ProvinceNotice, SiteSetting, SiteSubject
from core.ui.session import TERM

PAGES = [p for p in menu.MENU if p.ref.startswith("001 §") and p.file.startswith("pages/ncre/a")
         and 9 <= int(p.file.split("/a")[1][:2]) <= 19]


def test_all_eleven_pages_are_in_the_menu():
    assert [p.file.rsplit("/", 1)[1][:3] for p in PAGES] == [f"a{i:02d}" for i in range(9, 20)]


def _w(widgets, label):
    return next(w for w in widgets if w.label == label)


def _texts(elements):
    return [e.value for e in elements]


@pytest.mark.parametrize("user", ["center", "prov11", "city4401", "site110001"])
def test_pages_render_for_each_level(page, user):
    for p in PAGES:
        at = page(p.file, user).run()
        assert not at.exception, (p.file, user, at.exception)
        assert at.title[0].value == p.title, p.file
        assert not at.error, (p.file, user, _texts(at.error))


def test_pages_render_read_only_in_past_term(page, app_db):
    for p in PAGES:
        at = page(p.file, "site110001")
        at.session_state[TERM] = app_db.info["past_term"]
        at.run()
        assert not at.exception, p.file
        assert all(b.disabled for b in at.button if b.label in ("保存", "添加", "删除")), p.file


def test_site_sees_windows_read_only(page):
    at = page("pages/ncre/a09_windows.py", "site110001").run()
    assert not at.exception
    assert not at.multiselect and not [b for b in at.button if b.label == "保存"]
    assert any("只有查看功能" in c.value for c in at.caption)


def test_capacity_invalid_then_valid(page, app_db):
    at = page("pages/ncre/a13_site_capacity.py", "site110001").run()
    assert any("可以操作" in s.value for s in at.success)
    _w(at.number_input, "总科次").set_value(50)
    _w(at.button, "保存").click().run()
    assert not at.exception
    assert any("不能小于 100" in e for e in _texts(at.error))
    _w(at.number_input, "总科次").set_value(3000)
    _w(at.button, "保存").click().run()
    assert not at.error and any("已保存" in s for s in _texts(at.success))
    assert _w(at.metric, "总科次").value == "3000"
    with session_scope(app_db.engine) as s:
        st = s.scalar(select(SiteSetting).where(SiteSetting.site_id == app_db.orgs["110001"],
                                                SiteSetting.term_id == app_db.info["current_term"]))
        assert st.total_capacity == 3000


def test_capacity_upper_level_only_views(page):
    at = page("pages/ncre/a13_site_capacity.py", "prov11").run()
    assert _w(at.button, "保存").disabled
    assert any("上级机构只能查看" in i for i in _texts(at.info))


def test_subject_delete_refused(page):
    at = page("pages/ncre/a11_site_subjects.py", "site110001").run()
    assert _w(at.selectbox, "要删除的开考科目").value is not None
    _w(at.button, "删除").click().run()
    assert not at.exception
    assert any("已设置科目报考容量的开考科目不可删除" in e for e in _texts(at.error))


def test_subject_add(page, app_db):
    at = page("pages/ncre/a11_site_subjects.py", "site110001").run()
    pick = _w(at.selectbox, "开考科目")
    chosen = pick.value
    _w(at.button, "添加").click().run()
    assert not at.exception and not at.error
    assert any("已添加开考科目" in s for s in _texts(at.success))
    with session_scope(app_db.engine) as s:
        assert s.scalar(select(SiteSubject).where(SiteSubject.site_id == app_db.orgs["110001"],
                                                  SiteSubject.term_id == app_db.info["current_term"],
                                                  SiteSubject.subject_id == chosen))


def test_class_options_duplicates_then_saved(page, app_db):
    at = page("pages/ncre/a18_class_options.py", "site110001").run()
    _w(at.text_area, "班级选项").input("会计一班;会计二班；会计一班")
    _w(at.button, "保存").click().run()
    assert any("班级选项重复：会计一班" in e for e in _texts(at.error))
    _w(at.text_area, "班级选项").input("会计一班; 会计二班；管理一班")
    _w(at.button, "保存").click().run()
    assert not at.error and any("3 个" in s for s in _texts(at.success))
    with session_scope(app_db.engine) as s:
        st = s.scalar(select(SiteSetting).where(SiteSetting.site_id == app_db.orgs["110001"],
                                                SiteSetting.term_id == app_db.info["current_term"]))
        assert st.class_options == "会计一班;会计二班;管理一班"


def _window(app_db, code, kind):
    with session_scope(app_db.engine) as s:
        w = s.scalar(select(OpWindow).where(OpWindow.org_id == app_db.orgs[code], OpWindow.kind == kind,
                                            OpWindow.term_id == app_db.info["current_term"]))
        return w.start_at, w.end_at


def test_province_sets_a_site_window(page, app_db):
    city_start, city_end = _window(app_db, "1101", "registration")
    at = page("pages/ncre/a09_windows.py", "prov11").run()
    assert not at.exception
    _w(at.multiselect, "设置机构").select(app_db.orgs["110001"])
    _w(at.selectbox, "时间区间").select("registration")
    start = (city_start + timedelta(days=1)).replace(second=0)
    end = (city_end - timedelta(days=1)).replace(second=0)
    # outside the parent's (the city's) window first: refused with the parent's range
    _w(at.datetime_input, "开始时间").set_value(city_start - timedelta(days=1))
    _w(at.datetime_input, "结束时间").set_value(end)
    _w(at.button, "保存").click().run()
    assert any("北京市市辖区" in e and "范围内" in e for e in _texts(at.error))
    _w(at.datetime_input, "开始时间").set_value(start)
    _w(at.button, "保存").click().run()
    assert not at.exception and not at.error
    assert any("已设置 1 个机构的报名管理时间" in s for s in _texts(at.success))
    assert _window(app_db, "110001", "registration") == (start, end)


def test_province_switches_intent_and_sets_notice(page, app_db):
    at = page("pages/ncre/a10_site_general.py", "prov11").run()
    _w(at.checkbox, "允许考生选择意向考试日期").check()
    _w(at.button, "保存").click().run()
    assert not at.error and any("已启用" in s for s in _texts(at.success))
    at = page("pages/ncre/a16_province_notice.py", "prov11").run()
    _w(at.text_area, "省报名通告").input("北京考生请于规定时间内缴费。")
    _w(at.button, "保存").click().run()
    assert not at.error
    with session_scope(app_db.engine) as s:
        n = s.scalar(select(ProvinceNotice).where(ProvinceNotice.province_id == app_db.orgs["11"],
                                                  ProvinceNotice.term_id == app_db.info["current_term"]))
        assert n.content == "北京考生请于规定时间内缴费。"
    at = page("pages/ncre/a16_province_notice.py", "site110002").run()
    assert any("北京考生请于规定时间内缴费" in t.value for t in at.text)
    assert not [b for b in at.button if b.label == "保存"]


def test_site_general_and_notice(page, app_db):
    at = page("pages/ncre/a10_site_general.py", "site110002").run()
    assert _w(at.checkbox, "允许考生选择意向考试日期").disabled
    _w(at.checkbox, "班级必需").check()
    _w(at.button, "保存").click().run()
    assert not at.error and any("已保存" in s for s in _texts(at.success))
    at = page("pages/ncre/a17_site_notice.py", "site110002").run()
    _w(at.text_area, "新通告").input("请提前30分钟到达考场。")
    _w(at.button, "保存").click().run()
    assert not at.error
    assert _w(at.text_area, "当前通告").value == "请提前30分钟到达考场。"
    assert _w(at.text_area, "新通告").value == ""


def test_fee_page(page, app_db):
    at = page("pages/ncre/a12_site_fees.py", "site110001").run()
    assert not [b for b in at.button if b.label == "保存"]
    at = page("pages/ncre/a12_site_fees.py", "prov11").run()
    first = at.number_input[0]
    first.set_value(55.5)
    _w(at.button, "保存").click().run()
    assert not at.error and any("已保存" in s for s in _texts(at.success))


def test_registry_and_intent_pages(page, app_db):
    at = page("pages/ncre/a19_registry_setting.py", "prov11").run()
    _w(at.checkbox, "启用学籍库").check()
    _w(at.checkbox, "仅接受本省学籍库考生报考").check()
    _w(at.button, "保存").click().run()
    assert not at.error and any("学籍报考设置已保存" in s for s in _texts(at.success))
    at = page("pages/ncre/a19_registry_setting.py", "site110001").run()
    assert not [b for b in at.button if b.label == "保存"]
    # 110004 allows 意向考试日期 in the demo: every exam day needs ≥ 1
    at = page("pages/ncre/a14_intent.py", "site110004").run()
    assert not at.exception
    at.number_input[0].set_value(0)
    _w(at.button, "保存").click().run()
    assert any("最小值为 1" in e for e in _texts(at.error))


def test_online_reg_page(page, app_db):
    at = page("pages/ncre/a15_online_reg.py", "site110003").run()
    start, end = _window(app_db, "110003", "online_reg")
    _w(at.datetime_input, "考生网上报名开始时间").set_value(start - timedelta(days=1))
    _w(at.button, "保存").click().run()
    assert any("最早时间和最晚时间范围" in e for e in _texts(at.error))
    _w(at.datetime_input, "考生网上报名开始时间").set_value(start.replace(second=0))
    _w(at.button, "保存").click().run()
    assert not at.error and any("已保存" in s for s in _texts(at.success))
