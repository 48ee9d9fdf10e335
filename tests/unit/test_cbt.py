"""机考数据管理 (001 §46–49): photo pack, machine-exam DBF, simulation report, anomaly files — SQLite and PostgreSQL."""
from __future__ import annotations

import io
import shutil
import subprocess
import zipfile
from datetime import date, datetime, timedelta

import openpyxl
import pytest
from PIL import Image
from sqlalchemy import select, update

from core.db import session_scope
from core.errors import DomainError, NotFound, PermissionDenied, ReadOnlyTerm
from core.exports.dbf import DbfError, Field, fit_bytes, write_dbf
from core.models import AnomalyFile, AuditLog, Enrollment, Org, Registration, SimReport
from core.services import cbt
from core.workflow import file_path, save_blob
from tests.factories import add_candidates, seat_all

SITE = "110001"
OTHER = "110002"


@pytest.fixture(autouse=True)
def file_store(tmp_path, monkeypatch):
    monkeypatch.setenv("KAOWU_FILE_STORE", str(tmp_path / "files"))


def jpeg(color=(200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (144, 192), color).save(buf, "JPEG", quality=70)
    return buf.getvalue()


def read_dbf(tmp_path, data: bytes, name="x.dbf"):
    from dbfread import DBF
    p = tmp_path / name
    p.write_bytes(data)
    return DBF(str(p), encoding="gbk", char_decode_errors="strict")


def make_zip(entries: dict) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for k, v in entries.items():
            z.writestr(k, v)
    return buf.getvalue()


def arranged_site(seed, n=5, subjects=("14", "15"), photo=True, code=SITE):
    """n candidates at the site, seated and numbered; returns (site_id, photo bytes, enrollment ids)."""
    tid, sid = seed.info["current_term"], seed.orgs[code]
    pic = jpeg()
    sha = save_blob(pic) if photo else None
    with session_scope(seed.engine) as s:
        ids = add_candidates(s, sid, tid, n, subjects, paid=True, photo=sha)
        seat_all(s, sid, tid)
    return sid, pic, ids


def build(seed, fn, user="site110001", code=SITE):
    actor = seed.actor(user)
    seen = []
    with session_scope(seed.engine) as s:
        site = s.get(Org, seed.orgs[code])
        out = fn(s, actor, site, {}, lambda f, t: seen.append((f, t)))
    return out, seen


@pytest.fixture
def A(seed):
    """Actors made up front: seed.actor opens its own unit of work, which must not run inside another."""
    names = ["site110001", "site110002", "city1101", "city4401", "prov11", "prov44", "center"]
    out = {n: seed.actor(n) for n in names}
    out.update({f"{n}@past": seed.actor(n, term="past") for n in ("site110001", "city1101")})
    return out


def audits(seed, entity, action=None):
    with session_scope(seed.engine) as s:
        q = select(AuditLog).where(AuditLog.entity == entity)
        if action:
            q = q.where(AuditLog.action == action)
        return list(s.scalars(q))


# ---------------------------------------------------------------- DBF writer
def test_dbf_round_trip_header_and_chinese(tmp_path):
    fields = [Field("ZKZH", "C", 16), Field("XM", "C", 6), Field("ZWH", "N", 3), Field("FEE", "N", 8, 2),
              Field("KSRQ", "D"), Field("OK", "L")]
    rows = [("1470110001010101", "张三丰", 1, 80.5, date(2026, 3, 28), True),
            ("1470110001010102", "欧阳张三丰", None, None, None, None),  # 10 bytes → 6: 欧阳张
            {"ZKZH": "x", "XM": "ab张三c", "ZWH": "12", "FEE": "3.25", "KSRQ": "2026-03-29", "OK": False}]
    data = write_dbf(fields, rows, today=date(2026, 11, 22))
    assert data[0] == 0x03 and data[1:4] == bytes([126, 11, 22])
    assert data[29] == 0x4D  # GBK code page
    assert int.from_bytes(data[4:8], "little") == 3
    assert data[-1] == 0x1A
    t = read_dbf(tmp_path, data)
    assert [f.name for f in t.fields] == ["ZKZH", "XM", "ZWH", "FEE", "KSRQ", "OK"]
    assert [(f.type, f.length, f.decimal_count) for f in t.fields] == [
        ("C", 16, 0), ("C", 6, 0), ("N", 3, 0), ("N", 8, 2), ("D", 8, 0), ("L", 1, 0)]
    recs = [dict(r) for r in t]
    assert recs[0] == {"ZKZH": "1470110001010101", "XM": "张三丰", "ZWH": 1, "FEE": 80.5, "KSRQ": date(2026, 3, 28),
                       "OK": True}
    assert recs[1]["XM"] == "欧阳张" and recs[1]["ZWH"] is None and recs[1]["KSRQ"] is None and recs[1]["OK"] is None
    assert recs[2] == {"ZKZH": "x", "XM": "ab张三", "ZWH": 12, "FEE": 3.25, "KSRQ": date(2026, 3, 29), "OK": False}


def test_dbf_truncates_at_character_boundary_and_cleans():
    # 5 bytes cannot hold 张三丰 (6): the cut never leaves half a character
    assert fit_bytes("张三丰", 5) == "张三".encode("gbk")
    assert fit_bytes("a张三丰", 4) == "a张".encode("gbk")
    assert fit_bytes("a张三丰", 5) == "a张三".encode("gbk")
    data = write_dbf([Field("XM", "C", 5)], [["张三丰"], ["a\tb\x00c"], ["😀李"]])
    body = data[32 + 32 + 1:-1]
    recs = [body[i:i + 6] for i in range(0, len(body), 6)]
    assert recs[0] == b" " + "张三".encode("gbk") + b" "
    assert recs[1] == b" a b c"
    assert recs[2] == b" ?" + "李".encode("gbk") + b"  "  # not in GBK → ?
    for r in recs:
        r[1:].decode("gbk")  # every record decodes: no split character


def test_dbf_rejects_bad_definitions_and_values():
    with pytest.raises(DbfError, match="字段名"):
        write_dbf([Field("TOOLONGNAME1", "C", 5)], [])
    with pytest.raises(DbfError, match="字段名"):
        write_dbf([Field("姓名", "C", 5)], [])
    with pytest.raises(DbfError, match="重复"):
        write_dbf([Field("A", "C", 5), Field("a", "C", 5)], [])
    with pytest.raises(DbfError, match="长度"):
        write_dbf([Field("A", "C", 255)], [])
    with pytest.raises(DbfError, match="类型"):
        write_dbf([Field("A", "M", 10)], [])
    with pytest.raises(DbfError, match="超出长度"):
        write_dbf([Field("N", "N", 2)], [[123]])
    with pytest.raises(DbfError, match="不是数字"):
        write_dbf([Field("N", "N", 2)], [["ab"]])
    with pytest.raises(DbfError, match="不是日期"):
        write_dbf([Field("D", "D")], [["2026"]])
    with pytest.raises(DbfError, match="个值"):
        write_dbf([Field("A", "C", 2), Field("B", "C", 2)], [["x"]])
    assert write_dbf([Field("a_1", "C", 2)], [])[32:43].rstrip(b"\0") == b"A_1"  # upper-cased


# ---------------------------------------------------------------- §46 照片包
def test_photo_pack_structure_names_bytes_and_missing_list(seed):
    tid = seed.info["current_term"]
    sid, pic, ids = arranged_site(seed, n=4, subjects=("14", "15"))
    with session_scope(seed.engine) as s:
        add_candidates(s, sid, tid, 2, ("14",), start=100, paid=True)  # no photo
        gone = "f" * 64
        add_candidates(s, sid, tid, 1, ("16",), start=200, paid=True, photo=gone)  # photo file lost
        seat_all(s, sid, tid)
        tickets = dict(s.execute(select(Registration.ticket_no, Registration.enrollment_id)
                                 .where(Registration.site_id == sid, Registration.term_id == tid)).all())
    built, progress = build(seed, cbt.build_photo_pack)
    assert built.filename == f"{SITE}_照片包.zip" and built.rows == 8
    z = zipfile.ZipFile(io.BytesIO(built.data))
    photos = [i for i in z.infolist() if i.filename.endswith(".jpg")]
    assert {i.filename.split("/")[0] for i in photos} == {SITE}
    assert all(i.compress_type == zipfile.ZIP_STORED for i in photos)
    names = sorted(i.filename.split("/")[1][:-4] for i in photos)
    with_photo = sorted(t for t, e in tickets.items() if e in ids)
    assert names == with_photo and len(names) == 8  # 4 candidates × 2 subjects, one file per ticket
    assert all(z.read(i) == pic for i in photos)
    wb = openpyxl.load_workbook(io.BytesIO(z.read(cbt.MISSING_LIST)))
    rows = list(wb.active.iter_rows(values_only=True))
    assert rows[0][:3] == ("准考证号", "姓名", "证件号码")
    assert sorted(r[-1] for r in rows[1:]) == ["未上传照片", "未上传照片", "照片文件丢失"]
    assert {r[0] for r in rows[1:]} == set(tickets) - set(with_photo)
    assert progress[-1][0] == 1.0


def test_photo_pack_without_missing_has_no_list_and_needs_numbers(seed):
    tid = seed.info["current_term"]
    sid, _, _ = arranged_site(seed, n=2, subjects=("14",))
    built, _ = build(seed, cbt.build_photo_pack)
    assert cbt.MISSING_LIST not in zipfile.ZipFile(io.BytesIO(built.data)).namelist()
    with session_scope(seed.engine) as s:
        s.execute(update(Registration).where(Registration.site_id == sid, Registration.term_id == tid)
                  .values(ticket_no=None))
    with pytest.raises(DomainError, match="准考证号"):
        build(seed, cbt.build_photo_pack)
    with pytest.raises(DomainError, match="没有已编排"):
        build(seed, cbt.build_photo_pack, user="site110002", code=OTHER)


# ---------------------------------------------------------------- §47 机考数据
def test_cbt_data_dbf_round_trip(seed, tmp_path):
    tid = seed.info["current_term"]
    sid, _, ids = arranged_site(seed, n=3, subjects=("14", "15"))
    long_name = "阿卜杜热合曼·买买提依明·艾合买提江·库尔班尼亚孜"  # > 40 bytes of GBK
    with session_scope(seed.engine) as s:
        s.execute(update(Enrollment).where(Enrollment.id == ids[0]).values(name="张三丰"))
        s.execute(update(Enrollment).where(Enrollment.id == ids[1]).values(name=long_name))
        regs = s.execute(select(Registration).where(Registration.site_id == sid, Registration.term_id == tid)).scalars()
        expect = {r.ticket_no: (r.enrollment_id, r.seat_no, r.session_id) for r in regs}
        site = s.get(Org, sid)
        site_code, site_name = site.code, site.name
    built, _ = build(seed, cbt.build_cbt_data)
    assert built.rows == 6 and built.filename == f"{SITE}_机考数据.zip"
    z = zipfile.ZipFile(io.BytesIO(built.data))
    assert z.namelist() == [f"{SITE}.DBF"]
    data = z.read(f"{SITE}.DBF")
    assert data[29] == 0x4D
    t = read_dbf(tmp_path, data)
    assert [f.name for f in t.fields] == [f.name for f in cbt.CBT_FIELDS]
    assert {f.name: f.type for f in t.fields}["KSRQ"] == "D" and {f.name: f.type for f in t.fields}["ZWH"] == "N"
    recs = list(t)
    assert sorted(r["ZKZH"] for r in recs) == sorted(expect)
    by_name = {r["ZKZH"]: r for r in recs}
    with session_scope(seed.engine) as s:
        from core.models import ExamRoom, ExamSession, Subject
        for ticket, (eid, seat, sess_id) in expect.items():
            r = by_name[ticket]
            e = s.get(Enrollment, eid)
            sess = s.get(ExamSession, sess_id)
            reg = s.scalar(select(Registration).where(Registration.ticket_no == ticket))
            subj = s.get(Subject, reg.subject_id)
            if eid == ids[1]:
                assert r["XM"] == "阿卜杜热合曼·买买提依明·艾合买提江·库" and len(r["XM"].encode("gbk")) <= 40
            else:
                assert r["XM"] == e.name
            assert (r["XB"], r["ZJLX"], r["ZJHM"]) == (e.gender, e.id_type, e.id_number)
            assert (r["KMDM"], r["KMMC"]) == (subj.code, subj.name)
            assert r["KCH"] == s.get(ExamRoom, sess.room_id).code and r["PC"] == sess.seq and r["ZWH"] == seat
            assert r["KSRQ"] == sess.start_at.date()
            assert (r["KSSJ"], r["JSSJ"]) == (f"{sess.start_at:%H:%M}", f"{sess.end_at:%H:%M}")
            assert (r["KDDM"], r["KDMC"]) == (site_code, site_name)
    assert any(r["XM"] == "张三丰" for r in recs)


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) not installed")
def test_cbt_dbf_opens_in_libreoffice(seed, tmp_path):
    arranged_site(seed, n=2, subjects=("14",))
    with session_scope(seed.engine) as s:
        s.execute(update(Enrollment).where(Enrollment.site_id == seed.orgs[SITE]).values(name="张三丰"))
    built, _ = build(seed, cbt.build_cbt_data)
    src = tmp_path / f"{SITE}.dbf"
    src.write_bytes(zipfile.ZipFile(io.BytesIO(built.data)).read(f"{SITE}.DBF"))
    profile = tmp_path / "lo-profile"
    # Calc's dBase import takes the character set from the filter options (56 = RTL_TEXTENCODING_MS_936);
    # it needs the dBase driver (Debian: libreoffice-base-drivers), else "source file could not be loaded".
    run = subprocess.run(["soffice", f"-env:UserInstallation=file://{profile}", "--headless", "--infilter=dBase:56",
                          "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76", "--outdir", str(tmp_path),
                          str(src)], capture_output=True, timeout=120)
    out = tmp_path / f"{SITE}.csv"
    if not out.exists() and b"could not be loaded" in run.stdout + run.stderr:
        pytest.skip("LibreOffice has no dBase driver (libreoffice-base-drivers)")
    import csv
    rows = list(csv.reader(io.StringIO(out.read_text("utf-8"))))
    assert rows[0][:3] == ["ZKZH,C,20", "XM,C,40", "XB,C,2"] and rows[0][9] == "ZWH,N,3,0"
    assert len(rows) == 3 and [r[1] for r in rows[1:]] == ["张三丰", "张三丰"]


# ---------------------------------------------------------------- through generate-then-download
def test_generate_needs_arrangement_then_downloads_audited(seed):
    from core.services import generated as gen

    tid, sid = seed.info["current_term"], seed.orgs[SITE]
    actor = seed.actor("site110001")
    with session_scope(seed.engine) as s:
        add_candidates(s, sid, tid, 3, ("14",), paid=True, photo=save_blob(jpeg()))
    for kind, fn in (("photo_pack", cbt.build_photo_pack), ("cbt_data", cbt.build_cbt_data)):
        with pytest.raises(DomainError, match="未编排"):
            with session_scope(seed.engine) as s:
                gen.generate(s, actor, sid, kind, fn)
    with session_scope(seed.engine) as s:
        seat_all(s, sid, tid)
    city = seed.actor("city1101")
    for kind, fn, rows in (("photo_pack", cbt.build_photo_pack, 3), ("cbt_data", cbt.build_cbt_data, 3)):
        with session_scope(seed.engine) as s:
            info = gen.generate(s, actor, sid, kind, fn)
        assert info.rows == rows
        with session_scope(seed.engine) as s:
            data, name = gen.download(s, actor, sid, kind)
        assert zipfile.ZipFile(io.BytesIO(data)).namelist() and name == info.filename
        with pytest.raises(PermissionDenied):  # upper levels only see the status
            with session_scope(seed.engine) as s:
                gen.download(s, city, sid, kind)
    assert len(audits(seed, "generated_file", "generate")) == 2
    assert len(audits(seed, "generated_file", "export")) == 2


# ---------------------------------------------------------------- §48 机考模拟考试报告
SIM_CSV = ("考场号,座位号,准考证号,登录,交卷,结果\n"
           "01,1,1470110001010101,是,是,正常\n"
           "1,2,,是,否,\n"
           "01,3,,否,否,无法连接服务器\n"
           "09,1,,是,是,正常\n"
           "01,x,,是,是,\n")


def sim_upload(seed, data, name="模拟.csv", user="site110001", code=SITE, **kw):
    with session_scope(seed.engine) as s:
        return cbt.upload_sim_file(s, seed.actor(user), seed.orgs[code], data, name, **kw)


def sim_process(seed, rid, **kw):
    with session_scope(seed.engine) as s:
        return cbt.process_sim_report(s, rid, **kw)


def test_sim_report_lifecycle(seed, A):
    arranged_site(seed, n=5, subjects=("14",))  # room 01, seats 1..5
    info = sim_upload(seed, SIM_CSV.encode("gbk"))
    assert info.status == "generating" and info.status_label == "生成报告中"
    # a second upload while this one is being generated is refused
    with pytest.raises(DomainError, match="正在生成中"):
        sim_upload(seed, b"x")
    done = sim_process(seed, info.id)
    assert done.status == "done" and done.status_label == "已生成" and done.has_report
    assert done.summary == "考场 2 个；测试机位 4 个，成功 2，失败 2；编排机位未测试 2 个；数据有误 1 行。"
    assert sim_process(seed, info.id).status == "done"  # idempotent
    actor = seed.actor("site110001")
    with session_scope(seed.engine) as s:
        data, name = cbt.download_sim_report(s, actor, info.id)
        listed = cbt.list_sim_reports(s, actor, seed.orgs[SITE])
    assert name.endswith(".xlsx") and [x.id for x in listed] == [info.id]
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb.sheetnames[:3] == ["汇总", "失败明细", "未测试机位"] and "数据有误的行" in wb.sheetnames
    summary = {r[0]: r for r in wb["汇总"].iter_rows(min_row=2, values_only=True)}
    assert summary["01"][1:7] == (5, 3, 1, 2, 2, 0)  # arranged 5, tested 3, ok 1, failed 2, missing 2, extra 0
    assert summary["09"][1:3] == (0, 1) and summary["09"][7] == "不是本考点编排的考场"
    fails = {r[1]: r[3] for r in wb["失败明细"].iter_rows(min_row=2, values_only=True)}
    assert fails == {2: "未交卷", 3: "未登录；未交卷；无法连接服务器"}
    assert sorted(r[1] for r in wb["未测试机位"].iter_rows(min_row=2, values_only=True)) == [4, 5]
    # uploads are allowed again once the report is done; the upper level may download (audited)
    again = sim_upload(seed, ("\ufeff" + SIM_CSV).encode("utf-8"))
    assert sim_process(seed, again.id).status == "done"
    with session_scope(seed.engine) as s:
        cbt.download_sim_report(s, A["city1101"], info.id)
        with pytest.raises(NotFound):
            cbt.download_sim_report(s, A["site110002"], info.id)
    assert len(audits(seed, "sim_report", "create")) == 2
    assert len(audits(seed, "sim_report", "generate")) == 2
    assert len(audits(seed, "sim_report", "export")) == 2


def test_sim_report_zip_and_bad_files(seed, A):
    arranged_site(seed, n=2, subjects=("14",))
    ok = sim_upload(seed, make_zip({"sim/结果.csv": SIM_CSV.encode("utf-8")}), "模拟.zip")
    assert sim_process(seed, ok.id).status == "done"
    for data, name, words in [(b"a,b,c\n1,2,3\n", "x.csv", "缺少列"),
                              (make_zip({"a.txt": b"x"}), "x.zip", "没有 .xlsx 或 .csv"),
                              (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "x.csv", "不是文本"),
                              ("考场号,座位号,登录,交卷\n".encode(), "x.csv", "没有机位数据")]:
        bad = sim_upload(seed, data, name)
        out = sim_process(seed, bad.id)
        assert out.status == "failed" and out.status_label == "生成失败", words
        assert words in out.summary and out.summary.startswith("生成失败")
    with session_scope(seed.engine) as s:
        with pytest.raises(DomainError, match="尚未生成"):
            cbt.download_sim_report(s, A["site110001"], bad.id)


def test_sim_report_internal_error_is_recorded(seed, monkeypatch):
    info = sim_upload(seed, SIM_CSV.encode())
    monkeypatch.setattr(cbt, "build_sim_report", lambda *a, **k: 1 / 0)
    out = sim_process(seed, info.id)
    assert out.status == "failed" and "内部错误" in out.summary


def test_sim_stale_report_unblocks_and_retries(seed, A):
    arranged_site(seed, n=2, subjects=("14",))
    old = sim_upload(seed, SIM_CSV.encode(), now=datetime.now() - timedelta(minutes=30))
    with session_scope(seed.engine) as s:
        assert cbt.list_sim_reports(s, A["site110001"], seed.orgs[SITE])[0].stale
    # the stuck one can be re-processed…
    with session_scope(seed.engine) as s:
        assert cbt.retry_sim_report(s, A["site110001"], old.id).status == "done"
    with session_scope(seed.engine) as s:
        with pytest.raises(DomainError, match="无需重新生成"):
            cbt.retry_sim_report(s, A["site110001"], old.id)
    # …and a stuck one no longer blocks a new upload: it is marked failed
    stuck = sim_upload(seed, SIM_CSV.encode(), now=datetime.now() - timedelta(minutes=30))
    fresh = sim_upload(seed, SIM_CSV.encode())
    with session_scope(seed.engine) as s:
        assert s.get(SimReport, stuck.id).status == "failed"
        assert "超时" in s.get(SimReport, stuck.id).summary
        with pytest.raises(DomainError, match="正在生成中"):
            cbt.retry_sim_report(s, A["site110001"], fresh.id)


def test_sim_upload_permissions(seed, A):
    with pytest.raises(PermissionDenied):
        sim_upload(seed, SIM_CSV.encode(), user="city1101")
    with pytest.raises(NotFound):
        sim_upload(seed, SIM_CSV.encode(), user="site110002")
    with session_scope(seed.engine) as s:
        with pytest.raises(ReadOnlyTerm):
            cbt.upload_sim_file(s, A["site110001@past"], seed.orgs[SITE], b"x", "a.csv")
    with pytest.raises(DomainError, match="文件为空"):
        sim_upload(seed, b"")


def test_sim_upload_race_one_wins(seed):
    """Two uploads at once: the check and the insert are one locked unit, so only one is generating."""
    import threading

    if seed.engine.dialect.name == "sqlite":
        pass  # BEGIN IMMEDIATE serialises; still exercised below
    actor = seed.actor("site110001")
    barrier = threading.Barrier(2)
    results = []

    def go():
        barrier.wait()
        try:
            with session_scope(seed.engine) as s:
                cbt.upload_sim_file(s, actor, seed.orgs[SITE], SIM_CSV.encode(), "a.csv")
            results.append("ok")
        except DomainError as e:
            results.append(e.message)
    threads = [threading.Thread(target=go) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("ok") == 1, results
    with session_scope(seed.engine) as s:
        assert len(s.scalars(select(SimReport).where(SimReport.status == "generating")).all()) == 1


# ---------------------------------------------------------------- §49 机考系统异常文件
def xlsx_bytes() -> bytes:
    from core.exports.tabular import write_xlsx
    return write_xlsx(["a"], [[1]])


def add_anomaly(seed, data, name="异常.zip", user="site110001", code=SITE, remark=None):
    with session_scope(seed.engine) as s:
        return cbt.add_anomaly_file(s, seed.actor(user), seed.orgs[code], data, name, remark)


def test_anomaly_upload_checks_content(seed, A):
    good = make_zip({"log/err.txt": "考场01 机位3 蓝屏".encode()})
    info = add_anomaly(seed, good, "异常文件", remark="  01考场 3号机  ")
    assert info.status == "pending" and info.status_label == "未开始处理"
    assert info.filename == "异常文件.zip" and info.remark == "01考场 3号机"
    with session_scope(seed.engine) as s:
        assert file_path(s.get(AnomalyFile, info.id).sha256).read_bytes() == good
    for data, name, words in [(b"not a zip at all", "fake.zip", "不是 ZIP"),
                              (xlsx_bytes(), "table.zip", "Excel 工作簿"),
                              (b"Rar!\x1a\x07\x00rest", "a.zip", "RAR"),
                              (b"", "a.zip", "文件为空"),
                              (make_zip({"../evil.txt": b"x"}), "a.zip", "不安全的路径")]:
        with pytest.raises(DomainError, match=words):
            add_anomaly(seed, data, name)
    with pytest.raises(DomainError, match="备注"):
        add_anomaly(seed, good, remark="长" * 501)
    with pytest.raises(DomainError, match="过大"):
        with session_scope(seed.engine) as s:
            import core.services.cbt as mod
            old = mod.ANOMALY_MAX_MB
            mod.ANOMALY_MAX_MB = 0.0001
            try:
                cbt.add_anomaly_file(s, A["site110001"], seed.orgs[SITE], good + b"\0" * 200, "a.zip")
            finally:
                mod.ANOMALY_MAX_MB = old
    assert len(audits(seed, "anomaly_file", "create")) == 1


def test_anomaly_status_by_upper_level_and_delete_rules(seed, A):
    zipped = make_zip({"a.txt": b"x"})
    a = add_anomaly(seed, zipped)
    b = add_anomaly(seed, zipped, "second.zip")
    site = seed.actor("site110001")
    city = seed.actor("city1101")
    with session_scope(seed.engine) as s:
        with pytest.raises(PermissionDenied):
            cbt.set_anomaly_status(s, site, a.id, "done")
        with pytest.raises(NotFound):  # another city's admin: out of scope
            cbt.set_anomaly_status(s, A["city4401"], a.id, "done")
        with pytest.raises(DomainError, match="未知"):
            cbt.set_anomaly_status(s, city, a.id, "weird")
        with pytest.raises(ReadOnlyTerm):
            cbt.set_anomaly_status(s, A["city1101@past"], a.id, "done")
    with session_scope(seed.engine) as s:
        out = cbt.set_anomaly_status(s, city, a.id, "processing")
        assert out.status_label == "正在处理" and out.status_by == "city1101"
    with session_scope(seed.engine) as s:
        cbt.set_anomaly_status(s, A["prov11"], a.id, "done")
        assert [x.id for x in cbt.list_anomaly_files(s, city, seed.orgs[SITE], "done")] == [a.id]
        assert [x.id for x in cbt.list_anomaly_files(s, site, seed.orgs[SITE], "pending")] == [b.id]
        assert {x.id for x in cbt.list_anomaly_files(s, A["center"])} == {a.id, b.id}
    # delete: the site's own admin, only while 未开始处理
    with session_scope(seed.engine) as s:
        with pytest.raises(DomainError, match="只有未开始处理"):
            cbt.delete_anomaly_file(s, site, a.id)
        with pytest.raises(PermissionDenied):
            cbt.delete_anomaly_file(s, city, b.id)
        with pytest.raises(NotFound):
            cbt.delete_anomaly_file(s, A["site110002"], b.id)
        with pytest.raises(ReadOnlyTerm):
            cbt.delete_anomaly_file(s, A["site110001@past"], b.id)
    with session_scope(seed.engine) as s:
        cbt.delete_anomaly_file(s, site, b.id)
    with session_scope(seed.engine) as s:
        assert s.get(AnomalyFile, b.id) is None
    ups = audits(seed, "anomaly_file", "update")
    assert [(u.before["status"], u.after["status"]) for u in sorted(ups, key=lambda u: u.id)] == [
        ("pending", "processing"), ("processing", "done")]
    dels = audits(seed, "anomaly_file", "delete")
    assert len(dels) == 1 and dels[0].before["filename"] == "second.zip"


def test_anomaly_scope_and_download(seed, A):
    zipped = make_zip({"a.txt": b"x"})
    a = add_anomaly(seed, zipped)
    add_anomaly(seed, zipped, user="site110002", code=OTHER)
    other = seed.actor("site110002")
    with session_scope(seed.engine) as s:
        assert [x.site_id for x in cbt.list_anomaly_files(s, other)] == [seed.orgs[OTHER]]
        with pytest.raises(NotFound):
            cbt.list_anomaly_files(s, other, seed.orgs[SITE])
        with pytest.raises(NotFound):
            cbt.download_anomaly_file(s, other, a.id)
        with pytest.raises(NotFound):
            cbt.list_anomaly_files(s, A["prov44"], seed.orgs[SITE])
        assert cbt.download_anomaly_file(s, A["site110001"], a.id) == (zipped, "异常.zip")
        assert cbt.download_anomaly_file(s, A["city1101"], a.id)[0] == zipped
        # past 考次: the current term's files are not listed there, and nothing is written
        assert cbt.list_anomaly_files(s, A["site110001@past"]) == []
    with pytest.raises(ReadOnlyTerm):
        with session_scope(seed.engine) as s:
            cbt.add_anomaly_file(s, A["site110001@past"], seed.orgs[SITE], zipped, "a.zip")
    assert len(audits(seed, "anomaly_file", "export")) == 2


def test_anomaly_not_restricted_by_windows(seed):
    from core.models import OpWindow
    with session_scope(seed.engine) as s:
        s.execute(update(OpWindow).values(start_at=datetime(2000, 1, 1), end_at=datetime(2000, 1, 2)))
    assert add_anomaly(seed, make_zip({"a.txt": b"x"})).status == "pending"
    with pytest.raises(DomainError, match="不在"):
        sim_upload(seed, SIM_CSV.encode())  # 机考数据管理 uploads follow 考前资料下载时间 (§9)
