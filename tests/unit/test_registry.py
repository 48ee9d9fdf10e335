"""学籍数据导入 (001 §20) and 学籍库信息管理 (001 §21), on SQLite and PostgreSQL: the import rules, every
kind of bad input for THIS import, the template, and the list/add/edit/delete/export services."""
from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, datetime, timedelta

import openpyxl
import pytest
from sqlalchemy import func, select

from core.admin import check_spec
from core.db import session_scope
from core.errors import NotFound, PermissionDenied, ReadOnlyTerm, ValidationError, WindowClosed
from core.imports import id_check_char, template_bytes
from core.imports.specs_registry import OVERWRITE_LABEL, REGISTRY_SPEC, import_registry_file
from core.models import AuditLog, Enrollment, OpWindow, Registration, RegistryRecord
from core.services import registry as reg
from core.specs.registry import REGISTRY
from tests.factories import add_candidates, make_id_number

HEADER = ["姓名", "证件类型", "证件号码", "性别", "出生日期", "民族", "文化程度", "院系", "专业", "班级", "学号",
          "入学年份", "手机号码", "备注"]
NOW = datetime.now().replace(second=0, microsecond=0)


# ---------------------------------------------------------------- helpers
def idn(seq: int, born: str = "20030507", region: str = "110101") -> str:
    return make_id_number(seq, region=region, born=born)


def id_with_x() -> str:
    for seq in range(1000):
        first17 = f"11010820010203{seq:03d}"
        if id_check_char(first17) == "X":
            return first17 + "X"
    raise AssertionError("no X")


def gender_of(number: str) -> str:
    return "男" if int(number[16]) % 2 else "女"


def row(name: str, number, education: str = "大学本科", **kw) -> list:
    """A data row in HEADER order; keyword arguments by column key."""
    v = {"name": name, "id_type": "", "id_number": number, "gender": "", "birth_date": "", "ethnicity": "汉族",
         "education": education, "department": "计算机学院", "major": "软件工程", "class_name": "软件2301班",
         "student_no": "", "enrol_year": "2023", "phone": "", "remark": ""}
    v.update(kw)
    return [v[k] for k in ("name", "id_type", "id_number", "gender", "birth_date", "ethnicity", "education",
                           "department", "major", "class_name", "student_no", "enrol_year", "phone", "remark")]


def xlsx(rows: list[list], header: list | None = None, sheet: str = "学籍信息模板", before: dict | None = None,
         after: dict | None = None, merge: str | None = None) -> bytes:
    wb = openpyxl.Workbook()
    first = wb.active
    sheets = list((before or {}).items()) + [(sheet, [header or HEADER] + rows)] + list((after or {}).items())
    for i, (name, data) in enumerate(sheets):
        ws = first if i == 0 else wb.create_sheet()
        ws.title = name
        for r in data:
            ws.append(r)
        if name == sheet and merge:
            ws.merge_cells(merge)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def csv_bytes(rows: list[list], encoding: str) -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerows([HEADER] + rows)
    return buf.getvalue().encode(encoding)


def run(seed, user: str, data: bytes, filename: str = "学籍.xlsx", *, overwrite: bool = False, dry_run: bool = False,
        site: str | None = None, term: str = "current"):
    return import_registry_file(seed.engine, seed.actor(user, term), data, filename,
                                site_id=seed.orgs[site] if site else None, overwrite=overwrite, dry_run=dry_run)


def texts(res) -> list[str]:
    return [e.text for e in res.errors]


def records(seed) -> dict[str, RegistryRecord]:
    with session_scope(seed.engine) as s:
        return {r.id_number: r for r in s.scalars(select(RegistryRecord))}


def count(seed, model=RegistryRecord) -> int:
    with session_scope(seed.engine) as s:
        return s.scalar(select(func.count()).select_from(model))


def call(seed, user, fn, *args, term="current", **kw):
    with session_scope(seed.engine) as s:
        return fn(s, seed.actor(user, term), *args, **kw)


def put_window(seed, code, start, end, kind="qualification"):
    with session_scope(seed.engine) as s:
        w = s.scalar(select(OpWindow).where(OpWindow.org_id == seed.orgs[code], OpWindow.kind == kind,
                                            OpWindow.term_id == seed.info["current_term"]))
        w.start_at, w.end_at = start, end


def add_record(seed, site: str, number: str, name: str = "考生", education: str = "大学本科", **kw) -> int:
    with session_scope(seed.engine) as s:
        rec = RegistryRecord(site_id=seed.orgs[site], id_number=number, name=name, education=education, **kw)
        s.add(rec)
        s.flush()
        return rec.id


# ---------------------------------------------------------------- template
def test_template_has_the_data_sheet_a_sample_and_code_tables(seed):
    data = template_bytes(None, REGISTRY_SPEC)
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["学籍信息模板", "样例", "码表-证件类型", "码表-性别", "码表-民族", "码表-文化程度"]
    ws = wb["学籍信息模板"]
    assert [c.value for c in ws[1]] == HEADER
    assert ws.max_row == 1  # no data: the examples are on the 样例 sheet
    assert "必填" in ws["A1"].comment.text and "为空按“居民身份证”处理" in ws["B1"].comment.text
    text_cols = {j for d in ws.column_dimensions.values() if d.number_format == "@" for j in range(d.min, d.max + 1)}
    assert {3, 11, 13} <= text_cols  # 证件号码, 学号, 手机号码 formatted as text
    sample = [[c.value for c in r] for r in wb["样例"].iter_rows(min_row=2, max_row=4)]
    assert sample[0][:3] == ["张三", "居民身份证", "11010519491231002X"]
    assert any("序号" in (c.value or "") for r in wb["样例"].iter_rows() for c in r)
    codes = [r[1].value for r in wb["码表-文化程度"].iter_rows(min_row=2)]
    assert codes[0] == "博士研究生" and codes[-1] == "其他"
    assert "汉族" in [r[1].value for r in wb["码表-民族"].iter_rows(min_row=2)]
    # The untouched template: only the data sheet is read, so the 样例 rows are not imported.
    res = run(seed, "site110001", data, "学籍模板.xlsx", dry_run=True)
    assert texts(res) == ["文件中没有数据行（表头下方为空）。"]
    # Filled in: the examples of the 样例 sheet themselves are valid data.
    for r in wb["样例"].iter_rows(min_row=2, max_row=4, values_only=True):
        ws.append(list(r))
    buf = io.BytesIO()
    wb.save(buf)
    res = run(seed, "site110001", buf.getvalue(), "学籍模板.xlsx")
    assert res.ok and res.committed and res.written == 3, texts(res)
    got = records(seed)
    assert got["110105194912310038"].gender == "男" and got["110105194912310038"].birth_date == date(1949, 12, 31)
    assert got["E12345678"].id_type == "护照"


def test_only_the_data_sheet_is_read_and_the_serial_column_is_ignored(seed):
    a, b = idn(1), idn(2)
    header = ["序号"] + HEADER
    data = xlsx([["=ROW()-1"] + row("张一", a), [None] + row("张二", b)], header=header,
                before={"说明": [["请勿修改"]], "样例": [HEADER, row("样例人", idn(3))]},
                after={"码表-民族": [["代码", "名称"], ["1", "汉族"]]})
    res = run(seed, "site110001", data)
    assert res.ok and res.committed, texts(res)
    assert set(records(seed)) == {a, b}


# ---------------------------------------------------------------- normalisation of good input
def test_normalisation_of_ids_dates_and_numbers_stored_by_excel(seed):
    x = id_with_x()
    plain = idn(5)
    full = "".join(chr(ord(c) + 0xFEE0) for c in plain)  # full-width digits
    spaced = f" {idn(6)[:6]}　{idn(6)[6:14]} {idn(6)[14:]} "  # ASCII and ideographic spaces
    rows = [
        row("小写", x.lower(), birth_date=date(2001, 2, 3), phone=13800138000, student_no=2023010101,
            enrol_year=2023),  # Excel numbers and an Excel date cell
        row("全角", full, birth_date="2003/5/7", gender=gender_of(plain)),
        row("空格", spaced, birth_date="2003年5月7日"),
        row("护照", "e1234 5678", id_type="护照", gender="女", birth_date="20040506", ethnicity="其他"),
    ]
    res = run(seed, "site110001", xlsx(rows))
    assert res.ok and res.committed, texts(res)
    got = records(seed)
    assert set(got) == {x, plain, idn(6), "E12345678"}
    r = got[x]
    assert r.id_number.endswith("X") and len(r.id_number) == 18
    assert (r.id_type, r.gender, r.birth_date) == ("居民身份证", gender_of(x), date(2001, 2, 3))
    assert (r.phone, r.student_no, r.enrol_year) == ("13800138000", "2023010101", 2023)
    assert got[plain].birth_date == date(2003, 5, 7) and got[idn(6)].gender == gender_of(idn(6))
    p = got["E12345678"]
    assert (p.id_type, p.gender, p.birth_date, p.ethnicity) == ("护照", "女", date(2004, 5, 6), "其他")
    assert p.site_id == seed.orgs["110001"]


def test_csv_in_gbk_and_utf8_with_bom(seed):
    a, b = idn(11), idn(12)
    res = run(seed, "site110001", csv_bytes([row("王甲", a)], "gbk"), "学籍.csv")
    assert res.ok and res.committed, texts(res)
    res = run(seed, "site110001", csv_bytes([row("王乙", b, class_name="会计一班")], "utf-8-sig"), "学籍.csv")
    assert res.ok and res.committed, texts(res)
    got = records(seed)
    assert got[a].name == "王甲" and got[b].name == "王乙" and got[b].class_name == "会计一班"


# ---------------------------------------------------------------- bad input: clear errors with row and column
def test_bad_cells_are_reported_with_row_and_column_and_nothing_is_written(seed):
    good = idn(20)
    bad_check = good[:17] + ("0" if good[17] != "0" else "1")
    rows = [
        row("正确", good),
        row("校验位", bad_check),
        row("旧号", "110101030507001"),
        row("护照错", "E123*456", id_type="护照"),
        row("类型错", idn(21), id_type="学生证"),
        row("性别不符", idn(22), gender="男" if gender_of(idn(22)) == "女" else "女"),
        row("生日不符", idn(23), birth_date="2003-05-08"),
        row("日期错", "E7654321", id_type="护照", birth_date="2003-02-30"),
        row("民族错", idn(24), ethnicity="火星族"),
        row("", idn(25), education=""),
        row("手机错", idn(26), phone="1380013800"),
        row("年份错", idn(27), enrol_year="23"),
        row("数字证号", int(idn(28)[:17] + "0")),  # 18 digits stored as an Excel number: already rounded
    ]
    res = run(seed, "site110001", xlsx(rows))
    assert not res.ok and not res.committed and count(seed) == 0  # all or nothing
    t = texts(res)
    assert res.totals() == {"总行数": 13, "有效": 1, "错误": 12}
    assert "第 3 行【证件号码】：居民身份证号码校验位错误" in t
    assert "第 4 行【证件号码】：15 位旧身份证号码不能使用，请填写 18 位号码" in t
    assert any(x.startswith("第 5 行【证件号码】：证件号码“E123*456”格式不正确") for x in t)
    assert any(x.startswith("第 6 行【证件类型】：“学生证”不是有效选项") for x in t)
    assert not any(x.startswith("第 6 行【证件号码】") for x in t)  # the number is not judged by a wrong type
    assert any(x.startswith("第 7 行【性别】：") and "与证件号码不符" in x for x in t)
    assert "第 8 行【出生日期】：出生日期 2003-05-08 与证件号码中的出生日期 2003-05-07 不符" in t
    assert "第 9 行【出生日期】：日期“2003-02-30”不存在" in t
    assert any(x.startswith("第 10 行【民族】：“火星族”不是有效选项") for x in t)
    assert "第 11 行【姓名】：不能为空" in t and "第 11 行【文化程度】：不能为空" in t
    assert any(x.startswith("第 12 行【手机号码】：手机号码“1380013800”无效") for x in t)
    assert "第 13 行【入学年份】：不能小于 1950" in t
    assert any(x.startswith("第 14 行【证件号码】：该单元格是数字格式，Excel 只保留 15 位有效数字") for x in t)
    # the downloadable report lists every error with the uploaded cells
    wb = openpyxl.load_workbook(io.BytesIO(res.error_report()))
    assert wb["错误明细"].max_row == len(res.errors) + 1
    assert wb["错误行"].max_row == 13


def test_wrong_length_hint_for_other_documents(seed):
    res = run(seed, "site110001", xlsx([row("港澳", "H12345678")]), dry_run=True)
    assert texts(res) == ["第 2 行【证件号码】：居民身份证号码应为 18 位（现为 9 位）；如不是居民身份证，请选择正确的证件类型"]
    res = run(seed, "site110001", xlsx([row("港澳", "H12345678", id_type="港澳居民来往内地通行证")]), dry_run=True)
    assert res.ok


def test_duplicate_ids_in_one_file(seed):
    x = id_with_x()
    res = run(seed, "site110001", xlsx([row("甲", x), row("乙", idn(30)), row("丙", x.lower())]))
    assert texts(res) == ["第 2 行【证件号码】：与第 4 行重复", "第 4 行【证件号码】：与第 2 行重复"]
    assert count(seed) == 0


def test_header_problems(seed):
    a = idn(31)
    res = run(seed, "site110001", xlsx([row("甲", a)], merge="A1:B1"), dry_run=True)
    assert any("A1:B1 是合并单元格" in e.message for e in res.errors) and res.file_error
    no_name = [h for h in HEADER if h != "姓名"]
    res = run(seed, "site110001", xlsx([row("甲", a)[1:]], header=no_name), dry_run=True)
    assert texts(res) == ["第 1 行【姓名】：缺少必填列，请使用下载的模板"]
    res = run(seed, "site110001", xlsx([row("甲", a) + ["x"]], header=HEADER + ["家庭住址"]), dry_run=True)
    assert any("O 列的表头“家庭住址”不是模板中的列" in e.message for e in res.errors)
    res = run(seed, "site110001", xlsx([row("甲", a)[:13] + ["x", ""]], header=HEADER[:13] + [None, "备注"]),
              dry_run=True)
    assert any("N 列没有表头" in e.message for e in res.errors)
    res = run(seed, "site110001", xlsx([row("甲", a)], sheet="Sheet1", after={"样例": [HEADER]}), dry_run=True)
    assert "没有名为“学籍信息模板”的工作表" in texts(res)[0]
    assert count(seed) == 0


def test_files_that_are_not_what_they_say(seed):
    a = idn(32)
    good = xlsx([row("甲", a)])
    res = run(seed, "site110001", good, "学籍.xlsm", dry_run=True)
    assert "启用宏的工作簿" in texts(res)[0]
    src = zipfile.ZipFile(io.BytesIO(good))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for n in src.namelist():
            z.writestr(n, src.read(n))
        z.writestr("xl/vbaProject.bin", b"\0macro")
    assert "包含宏" in texts(run(seed, "site110001", out.getvalue(), dry_run=True))[0]
    assert "内容不是 Excel 工作簿" in texts(run(seed, "site110001", csv_bytes([row("甲", a)], "gbk"),
                                               "学籍.xlsx", dry_run=True))[0]
    assert "内容是 Excel 工作簿" in texts(run(seed, "site110001", good, "学籍.csv", dry_run=True))[0]
    assert "97-2003" in texts(run(seed, "site110001", good, "学籍.xls", dry_run=True))[0]
    assert "只能导入 .xlsx 或 .csv" in texts(run(seed, "site110001", good, "学籍.txt", dry_run=True))[0]
    res = run(seed, "site110001", xlsx([row("甲", a), row('=UPPER("x")', idn(33))]), dry_run=True)
    assert texts(res) == ["第 3 行【姓名】：含公式，请复制后“选择性粘贴为数值”再导入"]
    assert count(seed) == 0


# ---------------------------------------------------------------- §20.5 re-import rules
def test_same_site_reimport_fails_the_whole_file_unless_overwrite(seed):
    a, b, c = idn(40), idn(41), idn(42)
    assert run(seed, "site110001", xlsx([row("甲", a), row("乙", b, phone="13900139000")])).committed
    data = xlsx([row("甲改", a, class_name="新班"), row("丙", c)])
    res = run(seed, "site110001", data)
    assert not res.committed and count(seed) == 2
    assert texts(res) == [f"第 2 行【证件号码】：该证件号码在本考点已有学籍（姓名：甲）；如需覆盖，请勾选“{OVERWRITE_LABEL}”后重新导入"]
    before = records(seed)[a]
    res = run(seed, "site110001", data, overwrite=True)
    assert res.committed and res.written == 2, texts(res)
    assert (res.summary["inserted"], res.summary["overwritten"], res.summary["moved"]) == (1, 1, 0)
    assert "覆盖本考点已有学籍 1 条" in res.summary["message"]
    got = records(seed)
    assert set(got) == {a, b, c}
    assert (got[a].name, got[a].class_name, got[a].id) == ("甲改", "新班", before.id)
    assert (got[a].birth_date, got[a].gender) == (date(2003, 5, 7), gender_of(a))  # overwritten values read back
    assert got[a].created_at == before.created_at
    assert got[b].phone == "13900139000"  # not in the file: untouched


def test_other_site_overwrites_unless_lower_education(seed):
    a, b = idn(50), idn(51)
    assert run(seed, "site110001", xlsx([row("甲", a, education="大学本科"), row("乙", b, education="大学专科")])).committed
    lower = run(seed, "site110002", xlsx([row("甲", a, education="大学专科"), row("乙", b, education="大学专科")]))
    assert texts(lower) == ["第 2 行【文化程度】：文化程度（大学专科）低于已有学籍（考点 (110001)北京理工大学考点，大学本科），不能覆盖"]
    assert not lower.committed and {r.site_id for r in records(seed).values()} == {seed.orgs["110001"]}
    # equal or higher: overwritten, the 学籍 moves to the importing site (even in another province)
    res = run(seed, "site110002", xlsx([row("甲2", a, education="硕士研究生"), row("乙2", b, education="大学专科")]))
    assert res.committed and res.summary["moved"] == 2 and "覆盖其他考点学籍 2 条" in res.summary["message"]
    got = records(seed)
    assert {got[a].site_id, got[b].site_id} == {seed.orgs["110002"]} and got[a].education == "硕士研究生"
    res = run(seed, "site440101", xlsx([row("甲3", a, education="博士研究生")]))
    assert res.committed and records(seed)[a].site_id == seed.orgs["440101"]


def test_existing_record_without_education_is_overwritten(seed):
    a = idn(52)
    add_record(seed, "110002", a, education=None)
    res = run(seed, "site110001", xlsx([row("甲", a, education="其他")]))
    assert res.committed and records(seed)[a].site_id == seed.orgs["110001"]


# ---------------------------------------------------------------- who, where, when
def test_only_the_site_admin_of_its_own_site_inside_the_window(seed):
    data = xlsx([row("甲", idn(60))])
    for user in ("prov11", "city1101", "center"):
        with pytest.raises(PermissionDenied, match="考点管理员"):
            run(seed, user, data, dry_run=True)
    with pytest.raises(NotFound):
        run(seed, "site110001", data, site="110002", dry_run=True)  # another site: not in scope
    with pytest.raises(ReadOnlyTerm):
        run(seed, "site110001", data, term="past")
    put_window(seed, "110001", NOW - timedelta(days=20), NOW - timedelta(days=1))
    with pytest.raises(WindowClosed, match="报名资格管理时间"):
        run(seed, "site110001", data, dry_run=True)
    assert count(seed) == 0
    put_window(seed, "110001", NOW - timedelta(days=1), NOW + timedelta(days=1))
    assert run(seed, "site110001", data, site="110001").committed


def test_import_is_audited_once(seed):
    res = run(seed, "site110001", xlsx([row("甲", idn(61)), row("乙", idn(62))]), "名单.xlsx")
    assert res.committed
    with session_scope(seed.engine) as s:
        logs = s.scalars(select(AuditLog).where(AuditLog.action == "import")).all()
    assert len(logs) == 1 and logs[0].entity == "学籍" and logs[0].org_id == seed.orgs["110001"]
    assert "名单.xlsx" in logs[0].summary and "新增学籍 2 条" in logs[0].summary


def test_registry_changes_never_touch_enrollments(seed):
    term = seed.info["current_term"]
    with session_scope(seed.engine) as s:
        add_candidates(s, seed.orgs["110001"], term, 2, born="20030507")
    people = [make_id_number(i, born="20030507") for i in range(2)]

    def snapshot():
        with session_scope(seed.engine) as s:
            es = [(e.id_number, e.name, e.class_name, e.education, e.phone, e.site_id, e.is_registry)
                  for e in s.scalars(select(Enrollment).order_by(Enrollment.id))]
            rs = [(r.id, r.site_id, r.paid) for r in s.scalars(select(Registration).order_by(Registration.id))]
            return es, rs

    before = snapshot()
    assert run(seed, "site110001", xlsx([row("学籍名", n, class_name="学籍班", education="博士研究生") for n in people])).committed
    assert run(seed, "site110002", xlsx([row("转走", people[0], education="博士研究生")])).committed
    rid = records(seed)[people[1]].id
    call(seed, "site110001", reg.update_record, rid, {"name": "改名", "phone": "13700137000"})
    call(seed, "site110001", reg.delete_records, [rid])
    assert snapshot() == before


# ---------------------------------------------------------------- 学籍库信息管理 (§21)
@pytest.fixture
def world(seed):
    """Records at two 北京 sites and one 广东 site."""
    add_record(seed, "110001", idn(70), "赵一", "大学本科", class_name="会计一班", major="会计", department="经管学院",
               student_no="2023001", enrol_year=2023, phone="13800138000", gender=gender_of(idn(70)))
    add_record(seed, "110001", id_with_x(), "钱二", "大学专科", class_name="会计二班", major="会计", department="经管学院",
               student_no="2024002", enrol_year=2024)
    add_record(seed, "110001", idn(71), "孙三", "硕士研究生", class_name="软件一班", major="软件工程",
               department="计算机学院", student_no="2023003", enrol_year=2023)
    add_record(seed, "110002", idn(72), "李四", "大学本科", class_name="会计一班")
    add_record(seed, "440101", idn(73), "周五", "大学本科", class_name="会计一班")
    return seed


def names(page) -> set[str]:
    return {r["name"] for r in page.rows}


def test_scope_and_masking(world):
    assert names(call(world, "site110001", reg.list_records)) == {"赵一", "钱二", "孙三"}
    assert names(call(world, "site110002", reg.list_records)) == {"李四"}
    assert names(call(world, "city1101", reg.list_records)) == {"赵一", "钱二", "孙三", "李四"}
    assert names(call(world, "prov11", reg.list_records)) == {"赵一", "钱二", "孙三", "李四"}
    assert len(call(world, "center", reg.list_records).rows) == 5
    r = next(x for x in call(world, "site110001", reg.list_records).rows if x["name"] == "赵一")
    assert r["id_number"] == idn(70)[:3] + "*" * 11 + idn(70)[-4:] and r["phone"] == "138****8000"
    assert r["site"] == "(110001)北京理工大学考点"
    other = records(world)[idn(73)].id
    with pytest.raises(NotFound):
        call(world, "prov11", reg.get_record, other)
    assert call(world, "center", reg.get_record, other)["name"] == "周五"


FILTER_CASES = [
    ({"id_number": "x"}, {"钱二"}),  # lower-case x finds the X-ending number
    ({"id_number": idn(71)[-6:]}, {"孙三"}),
    ({"name": "赵"}, {"赵一"}),
    ({"class_name": "会计"}, {"赵一", "钱二"}),
    ({"major": "软件"}, {"孙三"}),
    ({"department": "经管"}, {"赵一", "钱二"}),
    ({"education": "大学本科"}, {"赵一"}),
    ({"student_no": "2024"}, {"钱二"}),
    ({"enrol_year": 2023}, {"赵一", "孙三"}),
    ({"class_name": "会计", "enrol_year": 2024}, {"钱二"}),
]


def test_query_filters(world):
    for filters, expected in FILTER_CASES:
        assert names(call(world, "site110001", reg.list_records, filters)) == expected, filters
    assert call(world, "site110001", reg.count_query_results, {"class_name": "会计"}) == 2
    assert reg.describe_query({"class_name": "会计", "education": "大学本科"}) == "班级=会计；文化程度=大学本科"
    assert reg.describe_query({}) == "全部"


def test_filters_basic_and_expanded():
    basic = [f.label for f in REGISTRY.filters if not f.expanded]
    more = [f.label for f in REGISTRY.filters if f.expanded]
    assert basic == ["证件号码", "姓名", "班级", "专业"]
    assert {"院系", "文化程度", "学号", "入学年份"} <= set(more)
    assert check_spec(REGISTRY) == []


def test_add_derives_from_the_id_and_refuses_existing_numbers(world):
    x = id_with_x()[:14] + "999"
    x = x + id_check_char(x)
    rec = call(world, "site110001", reg.create_record, {"id_type": "居民身份证", "id_number": f" {x.lower()} ",
                                                         "name": "新生", "education": "大学本科", "phone": "139 0013 9000"})
    got = records(world)[x]
    assert (got.id, got.site_id, got.gender, got.birth_date, got.phone) == (
        rec.id, world.orgs["110001"], gender_of(x), date(2001, 2, 3), "13900139000")
    with pytest.raises(ValidationError, match="在本考点已有学籍") as e:
        call(world, "site110001", reg.create_record, {"id_number": x, "name": "重复", "education": "大学本科"})
    assert e.value.field == "id_number"
    with pytest.raises(ValidationError, match=r"已有学籍（考点 \(110002\)北京交通大学考点）.*《学籍数据导入》"):
        call(world, "site110001", reg.create_record, {"id_number": idn(72), "name": "抢", "education": "大学本科"})
    with pytest.raises(ValidationError, match="校验位错误") as e:
        call(world, "site110001", reg.create_record, {"id_number": x[:17] + "0", "name": "错", "education": "大学本科"})
    assert e.value.field == "id_number"
    with pytest.raises(ValidationError, match="与证件号码不符") as e:
        call(world, "site110001", reg.create_record, {"id_number": idn(80), "name": "错", "education": "大学本科",
                                                      "gender": "女" if gender_of(idn(80)) == "男" else "男"})
    assert e.value.field == "gender"
    with pytest.raises(ValidationError, match="请选择文化程度"):
        call(world, "site110001", reg.create_record, {"id_number": idn(81), "name": "无"})
    rec = call(world, "site110001", reg.create_record, {"id_type": "护照", "id_number": "g 123-456", "name": "外",
                                                        "education": "其他", "ethnicity": "其他"})
    assert records(world)["G123-456"].gender is None
    with session_scope(world.engine) as s:
        assert s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "create",
                                                                          AuditLog.entity == "学籍")) == 2


def test_edit_keeps_the_identity(world):
    rid = records(world)[idn(70)].id
    call(world, "site110001", reg.update_record, rid, {"name": "赵一改", "class_name": "会计三班", "enrol_year": 2022,
                                                       "phone": None})
    got = records(world)[idn(70)]
    assert (got.name, got.class_name, got.enrol_year, got.phone, got.id_number) == (
        "赵一改", "会计三班", 2022, None, idn(70))
    with pytest.raises(ValidationError, match="证件号码不能修改"):
        call(world, "site110001", reg.update_record, rid, {"id_number": idn(99)})
    with pytest.raises(ValidationError, match="与证件号码中的出生日期 2003-05-07 不符") as e:
        call(world, "site110001", reg.update_record, rid, {"birth_date": date(1999, 1, 1)})
    assert e.value.field == "birth_date"
    with pytest.raises(ValidationError, match="入学年份须在"):
        call(world, "site110001", reg.update_record, rid, {"enrol_year": 1900})
    with session_scope(world.engine) as s:
        log = s.scalars(select(AuditLog).where(AuditLog.action == "update", AuditLog.entity == "学籍")).one()
    assert log.before["name"] == "赵一" and log.after["name"] == "赵一改"


def test_writes_only_by_the_owning_site_inside_the_window(world):
    rid = records(world)[idn(70)].id
    for user in ("prov11", "city1101", "center"):
        with pytest.raises(PermissionDenied):
            call(world, user, reg.update_record, rid, {"name": "越权"})
        with pytest.raises(PermissionDenied):
            call(world, user, reg.delete_records, [rid])
        with pytest.raises(PermissionDenied):
            call(world, user, reg.create_record, {"id_number": idn(90), "name": "越权", "education": "大学本科"})
    with pytest.raises(NotFound):
        call(world, "site110002", reg.update_record, rid, {"name": "越权"})
    with pytest.raises(NotFound):
        call(world, "site110002", reg.delete_records, [rid])
    with pytest.raises(ReadOnlyTerm):
        call(world, "site110001", reg.update_record, rid, {"name": "历史"}, term="past")
    put_window(world, "110001", NOW + timedelta(days=1), NOW + timedelta(days=5))
    assert call(world, "site110001", reg.writable_now) is False
    with pytest.raises(WindowClosed):
        call(world, "site110001", reg.update_record, rid, {"name": "窗外"})
    with pytest.raises(WindowClosed):
        call(world, "site110001", reg.delete_query_results, {})
    assert records(world)[idn(70)].name == "赵一"


def test_delete_one_and_delete_all_query_results(world):
    rid = records(world)[idn(70)].id
    assert call(world, "site110001", reg.delete_records, [rid]) == "已删除 1 条学籍。"
    assert idn(70) not in records(world)
    filters = {"major": "会计"}
    assert call(world, "site110001", reg.count_query_results, filters) == 1
    with pytest.raises(ValidationError, match="查询结果已变化"):
        call(world, "site110001", reg.delete_query_results, filters, expected=5)
    assert call(world, "site110001", reg.delete_query_results, filters, expected=1) == 1
    assert names(call(world, "site110001", reg.list_records)) == {"孙三"}
    assert names(call(world, "center", reg.list_records)) == {"孙三", "李四", "周五"}  # other sites untouched
    assert call(world, "site110001", reg.delete_query_results, {}) == 1
    with pytest.raises(ValidationError, match="查询结果为空"):
        call(world, "site110001", reg.delete_query_results, {})
    with session_scope(world.engine) as s:
        logs = s.scalars(select(AuditLog).where(AuditLog.action == "delete", AuditLog.entity == "学籍")
                         .order_by(AuditLog.id)).all()
    assert [x.summary for x in logs] == ["删除学籍 1 条：赵一", "删除全部查询结果：学籍 1 条；条件：专业=会计",
                                         "删除全部查询结果：学籍 1 条；条件：全部"]


def test_export_is_scoped_masked_formula_safe_and_audited(world):
    add_record(world, "110002", idn(74), "=1+1", "大学本科")
    data, name = call(world, "prov11", reg.export_records, {"class_name": ""}, fmt="csv")
    assert name.startswith("学籍库信息管理_") and name.endswith(".csv")
    text = data.decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0][:4] == ["考点", "姓名", "证件类型", "证件号码"]
    assert {ln[1] for ln in lines[1:]} == {"赵一", "钱二", "孙三", "李四", "'=1+1"}
    assert all("*" in ln[3] for ln in lines[1:]) and idn(70) not in text
    data, _ = call(world, "site110001", reg.export_records, {"education": "大学本科"})
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    assert [c.value for c in ws[2]][1] == "赵一" and ws.max_row == 2
    with session_scope(world.engine) as s:
        logs = s.scalars(select(AuditLog).where(AuditLog.action == "export").order_by(AuditLog.id)).all()
    assert len(logs) == 2 and "5 条" in logs[0].summary and "文化程度=大学本科" in logs[1].summary


def test_lookup_and_site_info(world):
    x = id_with_x()
    with session_scope(world.engine) as s:
        assert reg.lookup(s, " " + x.lower()).name == "钱二"
        assert reg.lookup(s, idn(99)) is None
    info = call(world, "site110001", reg.site_info)
    assert info == {"id": world.orgs["110001"], "label": "(110001)北京理工大学考点", "registry_enabled": False}
    assert call(world, "site440101", reg.site_info)["registry_enabled"] is True  # the demo enables every 5th site
