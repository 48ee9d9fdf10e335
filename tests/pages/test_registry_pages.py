"""AppTest: 学籍数据导入 (001 §20) and 学籍库信息管理 (001 §21) render for every level; the site imports
through the panel and queries, adds, edits and deletes on the list page."""
from __future__ import annotations

import io

import openpyxl
import pytest
from sqlalchemy import select

from core.db import session_scope
from core.imports.specs_registry import OVERWRITE_LABEL
from core.models import RegistryRecord
from tests.factories import make_id_number

A20 = "pages/ncre/a20_registry_import.py"
A21 = "pages/ncre/a21_registry.py"
K = "kaowu_registry__"
HEADER = ["姓名", "证件类型", "证件号码", "性别", "出生日期", "民族", "文化程度", "院系", "专业", "班级", "学号",
          "入学年份", "手机号码", "备注"]


def idn(seq: int) -> str:
    return make_id_number(seq, born="20020315")


def _xlsx(rows) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "学籍信息模板"
    ws.append(HEADER)
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _records(world, **where) -> list[RegistryRecord]:
    with session_scope(world.engine) as s:
        q = select(RegistryRecord)
        for k, v in where.items():
            q = q.where(getattr(RegistryRecord, k) == v)
        return list(s.scalars(q.order_by(RegistryRecord.id)))


def _add(world, site: str, seq: int, name: str, **kw) -> int:
    with session_scope(world.engine) as s:
        rec = RegistryRecord(site_id=world.orgs[site], id_number=idn(seq), name=name,
                             education=kw.pop("education", "大学本科"), **kw)
        s.add(rec)
        s.flush()
        return rec.id


def _texts(elements) -> list[str]:
    return [e.value for e in elements]


def _button(at, label):
    return next(b for b in at.button if b.label == label)


def _table(at):
    return at.dataframe[0].value


def _field(at, label, kind="text_input"):
    """A widget of the 新增/修改 dialog (not the filter bar's widget of the same label)."""
    return next(w for w in getattr(at, kind) if (w.key or "").startswith(K + "form_")
                and w.label.rstrip(" *") == label)


def _select(at, *rows):
    at.session_state[at.dataframe[0].key] = {"selection": {"rows": list(rows), "columns": [], "cells": []}}
    return at.run()


@pytest.mark.parametrize("user", ["site110001", "city1101", "prov11", "center"])
def test_pages_render_for_each_level(page, user):
    for f, title in ((A20, "学籍数据导入"), (A21, "学籍库信息管理")):
        at = page(f, user).run()
        assert not at.exception, (f, user, [e.value for e in at.exception])
        assert not at.error, (f, user, _texts(at.error))
        assert at.title[0].value == title


def test_upper_levels_only_view(page):
    at = page(A20, "prov11").run()
    assert any("上级机构可以下载学籍模板" in i for i in _texts(at.info))
    assert [d.label for d in at.get("download_button")] == ["下载学籍模板"]
    assert not at.file_uploader and not at.checkbox
    at = page(A21, "city1101").run()
    labels = [b.label for b in at.button]
    assert "新增" not in labels and "删除" not in labels and "删除全部查询结果" not in labels
    assert "导出 Excel" in labels and "查看详情" in labels
    assert not at.success and not at.warning  # no window banner for an upper level


def test_site_import_then_overwrite(page, app_db):
    at = page(A20, "site110001").run()
    assert any("此功能不使用" in i for i in _texts(at.info))  # the demo's 110001 does not 启用学籍库
    assert any("可以操作" in x for x in _texts(at.success))  # the 报名资格管理时间 banner
    assert _texts(at.text_input) == ["(110001)北京理工大学考点"]
    data = _xlsx([["导入甲", "", idn(1).lower(), "", "", "汉族", "大学本科", "", "", "导入班", "", 2023, 13800138000, ""],
                  ["导入乙", "居民身份证", idn(2), "", "", "回族", "大学专科", "", "", "导入班", "", "", "", ""]])
    at.file_uploader[0].upload("学籍.xlsx", data).run()
    at.button(key="imp_registry_check").click().run()
    assert not at.exception
    assert [m.value for m in at.metric] == ["2", "2", "0"]
    assert not _records(app_db, class_name="导入班")  # the check writes nothing
    at.button(key="imp_registry_commit").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("已写入 2 条" in x for x in _texts(at.success))
    got = _records(app_db, class_name="导入班")
    assert [(r.name, r.id_number, r.phone) for r in got] == [("导入甲", idn(1), "13800138000"), ("导入乙", idn(2), None)]

    # the same people again: refused as a whole until 覆盖 is ticked
    data = _xlsx([["导入甲改", "", idn(1), "", "", "汉族", "大学本科", "", "", "导入班", "", "", "", ""]])
    at.file_uploader[0].upload("学籍2.xlsx", data).run()
    at.button(key="imp_registry_check").click().run()
    assert any(OVERWRITE_LABEL in str(row) for row in at.dataframe[0].value.to_dict("records"))
    assert not [b for b in at.button if b.key == "imp_registry_commit"]
    at.checkbox(key="imp_registry_overwrite").check().run()
    at.button(key="imp_registry_check").click().run()
    at.button(key="imp_registry_commit").click().run()
    assert not at.exception
    assert any("覆盖本考点已有学籍 1 条" in x for x in _texts(at.info))
    assert _records(app_db, id_number=idn(1))[0].name == "导入甲改"


def test_query_add_edit_delete(page, app_db):
    _add(app_db, "110001", 10, "查询甲", class_name="页面一班", major="会计")
    _add(app_db, "110001", 11, "查询乙", class_name="页面二班", major="会计", education="大学专科")
    _add(app_db, "110002", 12, "他校丙", class_name="页面一班")
    at = page(A21, "site110001").run()
    assert not at.exception
    # query: 班级 is a basic filter; 文化程度 is under 更多查询条件
    at.text_input(key=K + "f_class_name").input("页面")
    at.selectbox(key=K + "f_education").select("大学专科")
    next(b for b in at.button if b.label == "查询").click().run()
    assert list(_table(at)["姓名"]) == ["查询乙"]
    assert "*" in _table(at)["证件号码"].iloc[0] and idn(11) not in _table(at)["证件号码"].iloc[0]
    next(b for b in at.button if b.label == "重置").click().run()
    at.text_input(key=K + "f_class_name").input("页面")
    next(b for b in at.button if b.label == "查询").click().run()
    assert set(_table(at)["姓名"]) == {"查询甲", "查询乙"}  # not the other site's 他校丙

    # add
    _button(at, "新增").click().run()
    assert not at.exception
    _field(at, "证件号码").input(f" {idn(13)[:6]} {idn(13)[6:]} ")
    _field(at, "姓名").input("新增丁")
    _field(at, "班级").input("页面三班")
    _button(at, "保存").click().run()
    assert [e.value for e in at.error] == ["请选择文化程度。"]
    _field(at, "文化程度", "selectbox").select("大学本科")
    _button(at, "保存").click().run()
    assert not at.exception and any("新增成功" in x for x in _texts(at.success)), _texts(at.error)
    rec = _records(app_db, id_number=idn(13))[0]
    assert (rec.name, rec.site_id, rec.gender, rec.class_name) == (
        "新增丁", app_db.orgs["110001"], "男" if int(idn(13)[16]) % 2 else "女", "页面三班")

    # edit: the ID is shown hidden and cannot change
    names = list(_table(at)["姓名"])
    _select(at, names.index("新增丁"))
    _button(at, "修改").click().run()
    assert _field(at, "证件号码").disabled and _field(at, "证件类型", "selectbox").disabled
    _field(at, "姓名").input("新增丁改")
    _field(at, "专业").input("审计")
    _button(at, "保存").click().run()
    assert not at.exception and any("修改成功" in x for x in _texts(at.success)), _texts(at.error)
    rec = _records(app_db, id_number=idn(13))[0]
    assert (rec.name, rec.major, rec.id_number) == ("新增丁改", "审计", idn(13))

    # delete one
    names = list(_table(at)["姓名"])
    _select(at, names.index("查询甲"))
    _button(at, "删除").click().run()
    _button(at, "确定删除").click().run()
    assert not at.exception and any("已删除 1 条学籍" in x for x in _texts(at.success))
    assert not _records(app_db, id_number=idn(10))


def test_delete_all_query_results(page, app_db):
    for i in range(3):
        _add(app_db, "110001", 20 + i, f"批删{i}", class_name="批删班")
    _add(app_db, "110001", 23, "留下", class_name="保留班")
    _add(app_db, "110002", 24, "他校", class_name="批删班")
    at = page(A21, "site110001").run()
    at.text_input(key=K + "f_class_name").input("批删班")
    next(b for b in at.button if b.label == "查询").click().run()
    assert any("班级=批删班" in m and "共 **3** 条学籍" in m for m in _texts(at.markdown))
    go = _button(at, "删除全部查询结果")
    assert go.disabled  # not confirmed yet
    next(c for c in at.checkbox if "确认删除以上全部 3 条" in c.label).check().run()
    _button(at, "删除全部查询结果").click().run()
    assert not at.exception
    assert any("已删除全部查询结果：3 条学籍" in x for x in _texts(at.success))
    assert not _records(app_db, class_name="批删班", site_id=app_db.orgs["110001"])
    assert _records(app_db, class_name="保留班") and _records(app_db, class_name="批删班", site_id=app_db.orgs["110002"])
