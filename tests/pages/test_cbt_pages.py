"""AppTest: 机考数据管理 (001 §46–49) pages render for every level; generate the photo pack and the machine-exam
data, upload a simulation file and see its report, upload an anomaly ZIP, change its status from above, delete."""
from __future__ import annotations

import io
import zipfile
from datetime import datetime, timedelta

import pytest
from PIL import Image
from sqlalchemy import select

from core.db import session_scope
from core.models import AnomalyFile, AuditLog, GeneratedFile, SimReport
from core.workflow import save_blob
from tests.factories import add_candidates, seat_all

A46 = "pages/ncre/a46_photo_pack.py"
A47 = "pages/ncre/a47_cbt_data.py"
A48 = "pages/ncre/a48_sim_report.py"
A49 = "pages/ncre/a49_anomaly_files.py"
TITLES = {A46: "照片包下载", A47: "机考数据下载", A48: "机考模拟考试报告", A49: "机考系统异常文件处理"}


def jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (144, 192), (9, 90, 200)).save(buf, "JPEG", quality=70)
    return buf.getvalue()


def make_zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def texts(elements):
    return [e.value for e in elements]


def button(at, label):
    return next(b for b in at.button if b.label == label)


@pytest.fixture(scope="module")
def arranged(app_db):
    """Site 110002 with 3 candidates × 2 subjects, seated and numbered."""
    tid, sid = app_db.info["current_term"], app_db.orgs["110002"]
    with session_scope(app_db.engine) as s:
        add_candidates(s, sid, tid, 3, ("14", "15"), paid=True, photo=save_blob(jpeg()), start=700, born="19970101")
        seat_all(s, sid, tid)
    return sid


@pytest.mark.parametrize("user", ["center", "prov11", "city1101", "site110001"])
@pytest.mark.parametrize("file", [A46, A47, A48, A49])
def test_pages_render_for_each_level(page, file, user):
    at = page(file, user).run()
    assert not at.exception, (file, user, at.exception)
    assert at.title[0].value == TITLES[file]
    assert not at.error, (file, user, texts(at.error))


def test_not_arranged_site_gets_the_prerequisite(page):
    at = page(A46, "site110003").run()
    assert not at.exception
    assert any("没有报考数据" in i.value for i in at.info), texts(at.info)
    assert button(at, "生成").disabled
    at = page(A47, "city1101").run()
    assert any("上级机构只能查看" in i.value for i in at.info)
    assert not [b for b in at.button if b.label == "生成"]


@pytest.mark.parametrize("file,kind,title", [(A46, "photo_pack", "照片包"), (A47, "cbt_data", "机考数据")])
def test_generate_through_the_page(page, app_db, arranged, file, kind, title):
    at = page(file, "site110002").run()
    assert not button(at, "生成").disabled
    button(at, "生成").click().run()
    assert not at.exception, at.exception
    assert any(f"{title}已生成" in s.value for s in at.success), texts(at.success)
    with session_scope(app_db.engine) as s:
        row = s.scalar(select(GeneratedFile).where(GeneratedFile.site_id == arranged, GeneratedFile.kind == kind))
        assert row.rows == 6
    assert [d.label for d in at.get("download_button")] == [f"下载{title}"]


def test_sim_report_upload_and_busy(page, app_db, arranged):
    csv = "考场号,座位号,准考证号,登录,交卷,结果\n01,1,,是,是,正常\n01,2,,是,否,交卷失败\n".encode("gbk")
    at = page(A48, "site110002").run()
    assert button(at, "上传模拟文件").disabled
    at.file_uploader[0].upload("模拟.csv", csv, "text/csv").run()
    button(at, "上传模拟文件").click().run()
    assert not at.exception, at.exception
    assert any("已生成" in s.value and "失败 1" in s.value for s in at.success), texts(at.success)
    table = at.dataframe[0].value
    assert list(table["报告状态"]) == ["已生成"] and list(table["模拟文件"]) == ["模拟.csv"]
    assert not [d for d in at.get("download_button") if d.label.startswith("保存")]
    button(at, "下载报告").click().run()
    assert [d.label for d in at.get("download_button") if d.label.startswith("保存")] == [
        "保存 110002_机考模拟考试报告_" + str(int(at.selectbox(key="a48_pick").value)) + ".xlsx"]
    with session_scope(app_db.engine) as s:
        assert s.scalar(select(AuditLog).where(AuditLog.entity == "sim_report", AuditLog.action == "export"))
    # a report stuck in 生成报告中 (fresh) blocks uploads; the upper level sees the list read-only
    with session_scope(app_db.engine) as s:
        s.add(SimReport(term_id=app_db.info["current_term"], site_id=arranged, filename="b.csv", sha256="0" * 64,
                        size=1, status="generating", uploaded_by="site110002", uploaded_at=datetime.now()))
    at = page(A48, "site110002").run()
    assert any("无法上传模拟文件" in w.value for w in at.warning), texts(at.warning)
    assert button(at, "上传模拟文件").disabled
    with session_scope(app_db.engine) as s:
        s.execute(SimReport.__table__.update().where(SimReport.filename == "b.csv")
                  .values(uploaded_at=datetime.now() - timedelta(hours=1)))
    at = page(A48, "site110002").run()
    assert not any("无法上传模拟文件" in w.value for w in at.warning)  # stale: no longer blocks
    table = at.dataframe[0].value
    assert dict(zip(table["模拟文件"], table["报告状态"]))["b.csv"] == "生成报告中（超时）"
    button(at, "重新生成").click().run()
    assert not at.exception
    assert any("生成失败" in w.value and "已丢失" in w.value for w in at.warning), texts(at.warning)
    # a bad file: uploaded, then the failure is shown as a warning with the reason
    at.file_uploader[0].upload("坏.csv", b"a,b\n1,2\n", "text/csv").run()
    button(at, "上传模拟文件").click().run()
    assert any("缺少列" in w.value for w in at.warning), texts(at.warning)
    table = at.dataframe[0].value
    assert dict(zip(table["模拟文件"], table["报告状态"]))["坏.csv"] == "生成失败"


def test_anomaly_upload_status_and_delete(page, app_db):
    at = page(A49, "site110001").run()
    assert button(at, "上传").disabled
    # a workbook renamed .zip is refused by content
    from core.exports.tabular import write_xlsx
    at.file_uploader[0].upload("异常.zip", write_xlsx(["a"], [[1]]), "application/zip").run()
    button(at, "上传").click().run()
    assert any("Excel 工作簿" in e.value for e in at.error), texts(at.error)
    at = page(A49, "site110001").run()
    at.file_uploader[0].upload("异常日志.zip", make_zip({"log.txt": b"blue screen"}), "application/zip").run()
    at.text_area[0].input("01考场 3号机")
    button(at, "上传").click().run()
    assert not at.exception, at.exception
    assert any("异常日志.zip" in s.value and "未开始处理" in s.value for s in at.success), texts(at.success)
    table = at.dataframe[0].value
    assert "异常日志.zip" in list(table["文件名"]) and "01考场 3号机" in list(table["备注"])
    with session_scope(app_db.engine) as s:
        fid = s.scalar(select(AnomalyFile.id).where(AnomalyFile.filename == "异常日志.zip"))
    at.selectbox(key="a49_pick").set_value(fid).run()
    button(at, "下载").click().run()
    assert [d.label for d in at.get("download_button")] == ["保存 异常日志.zip"]
    # the site cannot change the status; another site does not see the file
    assert not [b for b in at.button if b.label == "确定修改"]
    other = page(A49, "site110002").run()
    assert not other.dataframe or "异常日志.zip" not in list(other.dataframe[0].value["文件名"])
    # the city admin (site 110001 is the first in its scope) sets 正在处理
    up = page(A49, "city1101").run()
    assert not up.file_uploader
    up.selectbox(key="a49_pick").set_value(fid).run()
    up.selectbox(key=f"a49_new_{fid}").set_value("processing").run()
    button(up, "确定修改").click().run()
    assert not up.exception, up.exception
    assert any("正在处理" in s.value for s in up.success), texts(up.success)
    with session_scope(app_db.engine) as s:
        row = s.get(AnomalyFile, fid)
        assert (row.status, row.status_by) == ("processing", "city1101")
        assert s.scalar(select(AuditLog).where(AuditLog.entity == "anomaly_file", AuditLog.action == "update",
                                               AuditLog.entity_id == str(fid))) is not None
        assert s.scalar(select(AuditLog).where(AuditLog.entity == "anomaly_file", AuditLog.action == "export",
                                               AuditLog.entity_id == str(fid))).username == "site110001"
    # no longer 未开始处理: the site cannot delete it
    at = page(A49, "site110001").run()
    at.selectbox(key="a49_pick").set_value(fid).run()
    assert not [b for b in at.button if b.label == "删除"]
    assert any("只有未开始处理的文件可以删除" in c.value for c in at.caption)


def test_anomaly_delete_while_pending(page, app_db):
    at = page(A49, "site110001").run()
    at.file_uploader[0].upload("待删除.zip", make_zip({"a.txt": b"x"}), "application/zip").run()
    button(at, "上传").click().run()
    with session_scope(app_db.engine) as s:
        fid = s.scalar(select(AnomalyFile.id).where(AnomalyFile.filename == "待删除.zip"))
    at.selectbox(key="a49_pick").set_value(fid).run()
    assert button(at, "删除").disabled  # confirm first
    at.checkbox(key=f"a49_sure_{fid}").check().run()
    button(at, "删除").click().run()
    assert not at.exception
    assert any("已删除" in s.value for s in at.success), texts(at.success)
    with session_scope(app_db.engine) as s:
        assert s.get(AnomalyFile, fid) is None
