"""AppTest: 考生照片导入 (001 §23) and 考生照片检测 (001 §24) render for every level; upload, import, check, delete.

AppTest in Streamlit 1.67 drives st.file_uploader (FileUploader.upload / set_value), so the import is
tested through the page itself.
"""
from __future__ import annotations

import io
import zipfile

import pytest
from PIL import Image
from sqlalchemy import select, update

from core.db import session_scope
from core.models import CandidatePhoto, Enrollment
from core.ui.session import TERM
from tests.factories import add_candidates, make_id_number

IMPORT = "pages/ncre/a23_photo_import.py"
CHECK = "pages/ncre/a24_photo_check.py"


def jpeg(color) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (144, 192), color).save(buf, "JPEG", quality=70)
    return buf.getvalue()


def make_zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def enrol(world, start: int, n: int, born: str) -> list[str]:
    with session_scope(world.engine) as s:
        add_candidates(s, world.orgs["110001"], world.info["current_term"], n, start=start, born=born)
    return [make_id_number(i, born=born) for i in range(start, start + n)]


def photo_of(world, idn):
    with session_scope(world.engine) as s:
        return s.scalar(select(Enrollment.photo_sha256).where(Enrollment.id_number == idn))


def texts(elements):
    return [e.value for e in elements]


@pytest.mark.parametrize("user", ["center", "prov11", "city1101", "site110001"])
def test_pages_render_for_each_level(page, user):
    for file, title in ((IMPORT, "考生照片导入"), (CHECK, "考生照片检测")):
        at = page(file, user).run()
        assert not at.exception, (file, user, at.exception)
        assert at.title[0].value == title
        assert not at.error, (file, user, texts(at.error))


def test_upper_level_sees_read_only_import_page(page):
    at = page(IMPORT, "prov11").run()
    assert not at.file_uploader and not [b for b in at.button if b.label == "校验提交"]
    assert any("上级机构只能查看" in i.value for i in at.info)
    assert [m.label for m in at.metric] == ["报名考生", "已有照片", "无照片考生"]


def test_import_through_the_page(page, app_db):
    ids = enrol(app_db, 100, 2, "19990101")
    data = make_zip({f"照片/{ids[0]}.jpg": jpeg((1, 2, 3)), f"照片/{ids[1]}.png": jpeg((4, 5, 6)),
                     "照片/110101199901019999.jpg": jpeg((7, 8, 9))})
    at = page(IMPORT, "site110001").run()
    assert any("可以操作" in s.value for s in at.success)
    submit = next(b for b in at.button if b.label == "校验提交")
    assert submit.disabled  # nothing uploaded yet
    at.file_uploader[0].upload("照片.zip", data, "application/zip").run()
    next(b for b in at.button if b.label == "校验提交").click().run()
    assert not at.exception, at.exception
    assert any("成功 1" in w.value and "失败 2" in w.value for w in at.warning), texts(at.warning)
    assert {m.label: m.value for m in at.metric} == {"总数": "3", "成功": "1", "失败": "2"}
    table = at.dataframe[0].value
    assert list(table.columns) == ["序号", "文件", "证件号码", "错误信息"] and len(table) == 2
    assert all("*" in v for v in table["证件号码"])  # masked on screen
    assert [d.label for d in at.get("download_button")] == ["下载报告"]
    assert photo_of(app_db, ids[0]) is not None and photo_of(app_db, ids[1]) is None
    assert at.file_uploader[0].value is None  # a fresh uploader after the import


def test_rar_upload_shows_the_manual_message(page):
    at = page(IMPORT, "site110001").run()
    at.file_uploader[0].upload("照片.rar", b"Rar!\x1a\x07\x00" + b"\0" * 40).run()
    next(b for b in at.button if b.label == "校验提交").click().run()
    assert not at.exception
    assert any("不能打成 .RAR 格式压缩包" in e.value for e in at.error), texts(at.error)


def test_check_relinks_and_deletes_unmatched(page, app_db):
    ids = enrol(app_db, 200, 2, "19980101")
    at = page(IMPORT, "site110001").run()
    at.file_uploader[0].upload("照片.zip", make_zip({f"{i}.jpg": jpeg((n, 9, 9)) for n, i in enumerate(ids)})).run()
    next(b for b in at.button if b.label == "校验提交").click().run()
    assert any("导入成功" in s.value for s in at.success)
    with session_scope(app_db.engine) as s:
        s.execute(update(Enrollment).where(Enrollment.id_number == ids[0]).values(photo_sha256=None))
        s.add(CandidatePhoto(term_id=app_db.info["current_term"], site_id=app_db.orgs["110001"],
                             id_number="110101199801019997", sha256="0" * 64, size=1))

    at = page(CHECK, "site110001").run()
    next(b for b in at.button if b.label == "校验数据").click().run()
    assert not at.exception, at.exception
    assert photo_of(app_db, ids[0]) is not None
    counts = dict(zip(at.dataframe[0].value["项目"], at.dataframe[0].value["数量"]))
    assert counts["重新关联"] >= 1 and counts["未匹配照片"] >= 1
    assert any("未匹配照片" in w.value for w in at.warning)
    delete = next(b for b in at.button if b.label == "删除不匹配照片")
    assert delete.disabled
    at.checkbox(key="a24_sure").check().run()
    next(b for b in at.button if b.label == "删除不匹配照片").click().run()
    assert not at.exception
    assert any("未匹配照片" in s.value and "已删除" in s.value for s in at.success), texts(at.success)
    with session_scope(app_db.engine) as s:
        assert s.scalar(select(CandidatePhoto).where(CandidatePhoto.id_number == "110101199801019997")) is None


def test_upper_level_views_check_results_without_writing(page, app_db):
    ids = enrol(app_db, 300, 1, "19970101")
    at = page(CHECK, "prov11").run()
    assert not [b for b in at.button if b.label in ("校验数据", "删除不匹配照片")]
    next(b for b in at.button if b.label == "查看检查结果").click().run()
    assert not at.exception
    assert any("无照片考生" in t.label for t in at.tabs)
    assert photo_of(app_db, ids[0]) is None


def test_past_term_is_read_only(page, app_db):
    at = page(IMPORT, "site110001")
    at.session_state[TERM] = app_db.info["past_term"]
    at.run()
    assert not at.exception
    assert next(b for b in at.button if b.label == "校验提交").disabled
    at = page(CHECK, "site110001")
    at.session_state[TERM] = app_db.info["past_term"]
    at.run()
    assert not at.exception
    assert not [b for b in at.button if b.label == "校验数据"]
    assert any("历史考次" in i.value for i in at.info)
