"""The generic entity page (core.ui.entity_page) through AppTest: the audit-log page for each role,
keyword search, paging, detail, export; and a declared test page with 修改 form and a confirmed action."""
from __future__ import annotations

import textwrap
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from core.db import session_scope
from core.models import AuditLog, Org

PAGE = "pages/system/audit_log.py"
K = "kaowu_audit_log__"
ROLES = ("center", "prov11", "city4401", "site110001")
T0 = datetime(2026, 3, 1, 9, 0)


@pytest.fixture(scope="module")
def logs(app_db):
    """120 entries for site 110001, 30 for 110002, 20 for 440101 (summary 批次N-i)."""
    with session_scope(app_db.engine) as s:
        for code, n in (("110001", 120), ("110002", 30), ("440101", 20)):
            for i in range(n):
                s.add(AuditLog(at=T0 + timedelta(minutes=i), username=f"site{code}", org_id=app_db.orgs[code],
                               action="update" if i % 3 else "create", entity="考点设置", entity_id=str(i),
                               summary=f"批次{code}-{i}"))
    return app_db


def _total(at) -> int:
    text = next(m.value for m in at.markdown if m.value.startswith("共 **"))
    return int(text.split("**")[1])


def _table(at):
    return at.dataframe[0].value


@pytest.mark.parametrize("user", ROLES)
def test_renders_for_each_role(page, logs, user):
    at = page(PAGE, user).run()
    assert not at.exception, at.exception
    assert at.title[0].value == "审计日志"
    assert not at.error
    df = _table(at)
    assert list(df.columns) == ["时间", "操作人", "机构", "操作", "对象", "对象ID", "摘要"]
    orgs = set(df["机构"])
    if user == "site110001":
        assert orgs == {"北京理工大学考点"} and _total(at) == 120
    elif user == "prov11":
        assert orgs <= {"北京理工大学考点", "北京交通大学考点"} and _total(at) == 150
    elif user == "city4401":
        assert orgs == {"华南理工大学考点"} and _total(at) == 20
    else:
        assert _total(at) >= 170
    labels = [b.label for b in at.button]
    assert "查询" in labels and "重置" in labels and "导出 Excel" in labels
    assert "新增" not in labels and "删除" not in labels  # read-only spec
    assert [x.label for x in at.expander] == ["更多查询条件"]


def test_keyword_search_and_reset(page, logs):
    at = page(PAGE, "site110001").run()
    before = _total(at)
    at.text_input(key=K + "kw").input("批次110001-11")
    next(b for b in at.button if b.label == "查询").click().run()
    assert not at.exception
    assert _total(at) == 11  # 11, 110..119
    assert set(_table(at)["摘要"]) == {"批次110001-11"} | {f"批次110001-{i}" for i in range(110, 120)}
    assert _total(at) < before
    next(b for b in at.button if b.label == "重置").click().run()
    assert _total(at) == before and at.text_input(key=K + "kw").value == ""


def test_filter_choice_and_date_range(page, logs):
    at = page(PAGE, "site110001").run()
    at.selectbox(key=K + "f_action").select("create")
    next(b for b in at.button if b.label == "查询").click().run()
    assert _total(at) == 40 and set(_table(at)["操作"]) == {"新增"}
    at.date_input(key=K + "f_at").set_value((T0.date() + timedelta(days=1), T0.date() + timedelta(days=2)))
    next(b for b in at.button if b.label == "查询").click().run()
    assert not at.exception and _total(at) == 0
    assert any("没有符合条件的记录" in i.value for i in at.info)


def test_paging_and_page_size(page, logs):
    at = page(PAGE, "site110001").run()
    assert len(_table(at)) == 50
    first_page = list(_table(at)["对象ID"])
    pg = at.pagination[0]
    assert pg.num_pages == 3
    pg.select(3).run()
    assert not at.exception
    assert len(_table(at)) == 20
    assert any("当前第 101–120 条" in m.value for m in at.markdown)
    assert not set(_table(at)["对象ID"]) & set(first_page)
    at.selectbox(key=K + "size").select(100).run()
    assert len(_table(at)) == 100 and at.pagination[0].value == 1
    at.number_input(key=K + "jump").set_value(2).run()
    assert not at.exception and len(_table(at)) == 20


def test_sort_picker(page, logs):
    at = page(PAGE, "city4401").run()
    assert _table(at)["对象ID"].iloc[0] == "19"  # newest first by default
    at.selectbox(key=K + "sort").select(("at", False)).run()
    assert _table(at)["对象ID"].iloc[0] == "0"


def test_detail_dialog(page, logs):
    at = page(PAGE, "city4401").run()
    detail = next(b for b in at.button if b.label == "查看详情")
    assert detail.disabled  # nothing selected yet
    table_key = at.dataframe[0].key
    assert table_key.startswith(K + "table_")
    at.session_state[table_key] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert any("已选 1 条" in m.value for m in at.markdown)
    next(b for b in at.button if b.label == "查看详情").click().run()
    assert not at.exception
    texts = [t.value for t in at.text]
    assert "批次440101-19" in texts and "华南理工大学考点" in texts
    next(b for b in at.button if b.label == "关闭").click().run()
    assert not [t.value for t in at.text if t.value == "批次440101-19"]


def test_export_shows_a_download_and_is_audited(page, logs):
    with session_scope(logs.engine) as s:
        n0 = s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "export"))
    at = page(PAGE, "site110001").run()
    at.text_input(key=K + "kw").input("批次110001-11")
    next(b for b in at.button if b.label == "查询").click().run()
    assert not at.download_button
    next(b for b in at.button if b.label == "导出 Excel").click().run()
    assert not at.exception and not at.error
    assert len(at.download_button) == 1 and at.download_button[0].label == "下载 Excel"
    assert any("11 条" in m.value for m in at.markdown)
    next(b for b in at.button if b.label == "导出 CSV").click().run()
    assert at.download_button[0].label == "下载 CSV"
    with session_scope(logs.engine) as s:
        rows = s.scalars(select(AuditLog).where(AuditLog.action == "export").order_by(AuditLog.id)).all()
    assert len(rows) == n0 + 2
    assert rows[-2].org_id == logs.orgs["110001"] and "11 条" in rows[-2].summary
    assert "关键字=批次110001-11" in rows[-1].summary
    # a new query drops the generated file
    next(b for b in at.button if b.label == "重置").click().run()
    assert not at.download_button


# ---------------------------------------------------------------- a declared page with a form and actions
SCRIPT = textwrap.dedent('''
    from core.admin import Action, Column, EntitySpec, FormField
    from core.errors import ValidationError
    from core.models import Org
    from core.services.base import audit
    from core.ui.entity_page import entity_page

    def update(s, actor, id, values):
        if values["remark"] == "禁止":
            raise ValidationError("备注不能为“禁止”。", "备注")
        s.get(Org, id).remark = values["remark"]
        audit(s, actor, "update", "机构", id, summary="改备注")

    def stamp(s, actor, ids):
        for i in ids:
            s.get(Org, i).postcode = "999999"
        return f"已标记 {len(ids)} 个机构。"

    entity_page(EntitySpec(
        name="t_orgs", title="机构测试", model=Org, org_column=Org.id,
        columns=(Column("code", "代码"), Column("name", "名称"), Column("remark", "备注"),
                 Column("phone", "电话", mask="phone")),
        form_fields=(FormField("name", "名称", readonly_on_edit=True),
                     FormField("remark", "备注", required=True, max_len=8)),
        update=update, edit_roles=("site_admin",), default_sort=("code", False),
        actions=(Action("stamp", "标记邮编", stamp, roles=("site_admin",), confirm="确定把所选机构的邮编改为 999999？"),),
    ))
''')


@pytest.fixture
def org_page(page, tmp_path):
    path = tmp_path / "org_page.py"
    path.write_text(SCRIPT, encoding="utf-8")
    return lambda user: page(str(path), user)


def _select_first(at):
    key = at.dataframe[0].key
    assert key.startswith("kaowu_t_orgs__table_")
    at.session_state[key] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    return at.run()


def test_form_validation_at_the_field_then_save(org_page, logs):
    at = org_page("site110001").run()
    assert not at.exception
    assert list(_table(at)["代码"]) == ["110001"]
    assert _table(at)["电话"].iloc[0].count("*") == 4  # masked on the server
    assert next(b for b in at.button if b.label == "修改").disabled
    _select_first(at)
    next(b for b in at.button if b.label == "修改").click().run()
    assert not at.exception
    name = next(t for t in at.text_input if t.label == "名称")
    assert name.disabled and name.value == "北京理工大学考点"
    remark = next(t for t in at.text_input if t.label.startswith("备注"))
    remark.input("")
    next(b for b in at.button if b.label == "保存").click().run()
    assert [e.value for e in at.error] == ["请填写备注。"]
    next(t for t in at.text_input if t.label.startswith("备注")).input("禁止")
    next(b for b in at.button if b.label == "保存").click().run()
    assert [e.value for e in at.error] == ["备注不能为“禁止”。"]  # the service's message, at the field
    next(t for t in at.text_input if t.label.startswith("备注")).input("已核对")
    next(b for b in at.button if b.label == "保存").click().run()
    assert not at.exception and any("修改成功" in x.value for x in at.success)
    assert list(_table(at)["备注"]) == ["已核对"]
    with session_scope(logs.engine) as s:
        assert s.get(Org, logs.orgs["110001"]).remark == "已核对"


def test_confirmed_action(org_page, logs):
    at = org_page("site110001").run()
    _select_first(at)
    next(b for b in at.button if b.label == "标记邮编").click().run()
    assert any("999999" in m.value for m in at.markdown)  # the confirmation step
    with session_scope(logs.engine) as s:
        assert s.get(Org, logs.orgs["110001"]).postcode != "999999"
    next(b for b in at.button if b.label == "确定").click().run()
    assert not at.exception and any("已标记 1 个机构" in x.value for x in at.success)
    with session_scope(logs.engine) as s:
        assert s.get(Org, logs.orgs["110001"]).postcode == "999999"


def test_buttons_hidden_for_other_roles(org_page, logs):
    at = org_page("prov11").run()
    labels = [b.label for b in at.button]
    assert "修改" not in labels and "标记邮编" not in labels and "查看详情" in labels
    assert set(_table(at)["代码"]) == {"11", "1101", "110001", "110002", "110003", "110004"}
