"""The import engine: readers keep text, file checks, header/row errors, commit modes, reports, template."""
from __future__ import annotations

import io
import zipfile
from datetime import date, datetime
from decimal import Decimal

import openpyxl
import pytest
from sqlalchemy import func, select

from core.db import session_scope
from core.imports import (
    ALL_OR_NOTHING, ONLY_VALID, ImportColumn, ImportFileError, ImportSpec, build_template, id_check_char,
    parse_bool, parse_choice, parse_date, parse_decimal, parse_email, parse_id_number, parse_int, parse_phone,
    parse_text, read_grid, run_import, template_bytes,
)
from core.models import AuditLog, Candidate


# ---------------------------------------------------------------- helpers
def make_id(first17: str) -> str:
    return first17 + id_check_char(first17)


def id_with_x() -> str:
    for seq in range(1000):
        first17 = f"11010519900307{seq:03d}"
        if id_check_char(first17) == "X":
            return first17 + "X"
    raise AssertionError("no X found")


def ids(n: int, start: int = 0) -> list[str]:
    return [make_id(f"440106200001{1 + (i % 28):02d}{(start + i) % 1000:03d}") for i in range(n)]


def xlsx(rows: list[list], sheet: str = "考生", merge: str | None = None, extra_sheets: dict | None = None) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    for r in rows:
        ws.append(r)
    if merge:
        ws.merge_cells(merge)
    for name, rws in (extra_sheets or {}).items():
        other = wb.create_sheet(name)
        for r in rws:
            other.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _commit_candidates(s, actor, rows, options):
    s.add_all([Candidate(id_number=r.values["id_number"], name=r.values["name"],
                         gender={"1": "男", "2": "女"}.get(r.values["gender"]), birth_date=r.values["birth"],
                         phone=r.values["phone"]) for r in rows])
    s.flush()
    return {"written": len(rows), "message": f"新增考生 {len(rows)} 人"}


SPEC = ImportSpec(
    name="test_candidates",
    title="考生导入",
    sheet_name="考生",
    columns=[
        ImportColumn("id_number", "证件号码", required=True, max_length=18, parsers=parse_id_number,
                     example="11010519491231002X"),
        ImportColumn("name", "姓名", required=True, max_length=10, example="张三"),
        ImportColumn("gender", "性别", choices={"1": "男", "2": "女"}, example="男"),
        ImportColumn("birth", "出生日期", parsers=parse_date, example="2000-01-02", text=False),
        ImportColumn("phone", "手机", parsers=parse_phone, example="13800138000"),
    ],
    key_columns=("id_number",),
    commit=_commit_candidates,
)
HEADER = ["证件号码", "姓名", "性别", "出生日期", "手机"]


def count(engine, model) -> int:
    with session_scope(engine) as s:
        return s.scalar(select(func.count()).select_from(model))


# ---------------------------------------------------------------- readers
def test_readers_keep_ids_as_text():
    x = id_with_x()
    data = xlsx([
        ["证件号码", "手机", "旧证号", "日期", "小数", "整数"],
        [x, 13800138000, 123456789012345, date(2024, 1, 2), 1.5, 7.0],
        [110105199003071234, "13900139000", "0012", datetime(2024, 1, 2, 10, 30), 0.1, True],
    ])
    grid = read_grid(data, "a.xlsx", "考生")
    (l1, r1), (l2, r2), (l3, r3) = grid.rows
    assert (l1, l2, l3) == (1, 2, 3)
    assert r2 == [x, "13800138000", "123456789012345", "2024-01-02", "1.5", "7"]
    assert r2[0].endswith("X")
    assert r3[1:] == ["13900139000", "0012", "2024-01-02 10:30:00", "0.1", "TRUE"]
    # An 18-digit number has already lost its last digits: reported, never silently used.
    assert "15 位" in grid.cell_errors[(3, 0)]


def test_id_number_parser():
    good = make_id("11010519491231002")
    assert parse_id_number(good) == good
    x = id_with_x()
    assert parse_id_number(x.lower()) == x
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in x[:17]) + "ｘ"
    assert parse_id_number(full_width) == x
    assert parse_id_number(f" {x[:6]} {x[6:14]} {x[14:]} ") == x
    bad = x[:17] + ("1" if x[17] != "1" else "2")
    with pytest.raises(ValueError, match="校验位错误"):
        parse_id_number(bad)
    with pytest.raises(ValueError, match="18 位"):
        parse_id_number("1101051949")
    with pytest.raises(ValueError, match="出生日期"):
        parse_id_number(make_id("11010519491331002"))
    with pytest.raises(ValueError, match="地区码"):
        parse_id_number(make_id("99010519491231002"))
    with pytest.raises(ValueError, match="15 位"):
        parse_id_number("110105491231002")


def test_small_parsers():
    for text in ("2024-01-02", "2024/1/2", "20240102", "2024.1.2", "2024年1月2日", "2024-01-02 00:00:00"):
        assert parse_date(text) == date(2024, 1, 2)
    with pytest.raises(ValueError, match="不存在"):
        parse_date("2024-02-30")
    with pytest.raises(ValueError, match="格式不正确"):
        parse_date("明天")
    assert parse_int(0, 100)("１２") == 12
    with pytest.raises(ValueError, match="不能大于 100"):
        parse_int(0, 100)("101")
    with pytest.raises(ValueError, match="不是整数"):
        parse_int()("1.5")
    assert parse_decimal(1)("89.5") == Decimal("89.5")
    with pytest.raises(ValueError, match="最多 1 位小数"):
        parse_decimal(1)("89.55")
    assert parse_bool("是") is True and parse_bool("否") is False and parse_bool("true") is True
    with pytest.raises(ValueError, match="是”或“否"):
        parse_bool("也许")
    assert parse_phone("138 0013 8000") == "13800138000"
    assert parse_phone("+86 138-0013-8000") == "13800138000"
    with pytest.raises(ValueError, match="11 位"):
        parse_phone("12800138000")
    assert parse_email("Zhang@Example.COM") == "Zhang@example.com"
    with pytest.raises(ValueError, match="邮箱"):
        parse_email("zhang@")
    sex = parse_choice({"1": "男", "2": "女"})
    assert sex("女") == "2" and sex("1") == "1"
    with pytest.raises(ValueError, match="男、女"):
        sex("未知")
    with pytest.raises(ValueError, match="字母"):
        parse_text(r"[a-z]+", "只能是字母")("abc1")


def test_csv_gbk_and_utf8_bom():
    text = "证件号码,姓名\r\n11010519491231002X,张三\r\n=\"0012\",李四\r\n"
    for data in (text.encode("gbk"), text.encode("utf-8-sig"), text.encode("utf-8"), text.encode("utf-16")):
        grid = read_grid(data, "名单.csv")
        assert [r for _, r in grid.rows] == [["证件号码", "姓名"], ["11010519491231002X", "张三"], ["0012", "李四"]]


def test_wrong_content_for_extension_rejected():
    csv_bytes = "证件号码,姓名\n1,2\n".encode("gbk")
    with pytest.raises(ImportFileError, match="不是 Excel 工作簿"):
        read_grid(csv_bytes, "名单.xlsx")
    with pytest.raises(ImportFileError, match="内容是 Excel 工作簿"):
        read_grid(xlsx([["a"]]), "名单.csv")
    with pytest.raises(ImportFileError, match="97-2003"):
        read_grid(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "名单.xlsx")
    docx = io.BytesIO()
    with zipfile.ZipFile(docx, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<document/>")
    with pytest.raises(ImportFileError, match="Word"):
        read_grid(docx.getvalue(), "名单.xlsx")
    with pytest.raises(ImportFileError, match="只能导入 .xlsx 或 .csv"):
        read_grid(b"hello", "名单.txt")
    with pytest.raises(ImportFileError, match="不是文本"):
        read_grid(b"\x89PNG\r\n\x1a\n\0\0\0", "名单.csv")
    with pytest.raises(ImportFileError, match="文件为空"):
        read_grid(b"", "名单.xlsx")
    with pytest.raises(ImportFileError, match="不能超过 1 MB"):
        read_grid(b"a," * 600_000, "名单.csv", max_mb=1)


def test_xlsm_rejected():
    with pytest.raises(ImportFileError, match="宏"):
        read_grid(xlsx([["a"]]), "名单.xlsm")
    src = zipfile.ZipFile(io.BytesIO(xlsx([["a"]])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for n in src.namelist():
            z.writestr(n, src.read(n))
        z.writestr("xl/vbaProject.bin", b"\0macro")
    with pytest.raises(ImportFileError, match="宏"):
        read_grid(out.getvalue(), "名单.xlsx")
    with pytest.raises(ImportFileError, match=r"\.xls"):
        read_grid(xlsx([["a"]]), "名单.xls")


# ---------------------------------------------------------------- header and row errors
def test_formula_cell_reported(seed):
    a = seed.actor("center")
    data = xlsx([HEADER, [make_id("11010519491231002"), "张三", "男", "2000-01-02", "13800138000"],
                 [make_id("11010519491231003"), "=A2&\"x\"", "男", "", ""]])
    res = run_import(seed.engine, SPEC, a, data, "考生.xlsx")
    assert [e.text for e in res.errors] == ["第 3 行【姓名】：含公式，请复制后“选择性粘贴为数值”再导入"]
    assert res.totals() == {"总行数": 2, "有效": 1, "错误": 1}


def test_missing_unknown_and_merged_header(seed):
    a = seed.actor("center")
    res = run_import(seed.engine, SPEC, a, xlsx([["证件号码", "性别"], [make_id("11010519491231002"), "男"]]),
                     "考生.xlsx")
    assert res.file_error and [e.text for e in res.errors] == ["第 1 行【姓名】：缺少必填列，请使用下载的模板"]
    res = run_import(seed.engine, SPEC, a, xlsx([HEADER + ["备注"], ["1"] * 6]), "考生.xlsx")
    assert any("“备注”不是模板中的列" in e.message and e.column == "备注" for e in res.errors)
    res = run_import(seed.engine, SPEC, a, xlsx([HEADER, ["1"] * 5], merge="B1:C1"), "考生.xlsx")
    assert any("B1:C1 是合并单元格" in e.message and e.column == "姓名" for e in res.errors)
    res = run_import(seed.engine, SPEC, a, xlsx([["学号", "班级"], ["1", "2"]]), "考生.xlsx")
    assert "未找到表头行" in res.errors[0].message
    res = run_import(seed.engine, SPEC, a, xlsx([HEADER]), "考生.xlsx")
    assert "没有数据行" in res.errors[0].message
    res = run_import(seed.engine, SPEC, a, xlsx([HEADER, ["1"] * 5], sheet="Sheet9", extra_sheets={"其他": [["x"]]}),
                     "考生.xlsx")
    assert "没有名为“考生”的工作表" in res.errors[0].message
    assert count(seed.engine, Candidate) == 0


def test_title_rows_serial_column_and_row_messages(seed):
    a = seed.actor("center")
    good = make_id("11010519491231002")
    data = xlsx([
        ["2026 年考生名单"],
        ["序号", "*证件号码", "姓名", "性别", "出生日期", "手机"],
        [1, good, "张三", "男", date(2000, 1, 2), 13800138000],
        [2, good[:17] + ("1" if good[17] != "1" else "2"), "", "未知", "2000-13-01", "123"],
        [3, "", "", "", "", ""],  # only the 序号 column: an empty row, skipped
        [4, make_id("11010519491231004"), "一个非常非常非常长的名字", "2", "2000/1/2", ""],
    ])
    res = run_import(seed.engine, SPEC, a, data, "考生.xlsx")
    texts = [e.text for e in res.errors]
    assert "第 4 行【证件号码】：校验位错误" in texts
    assert "第 4 行【姓名】：不能为空" in texts
    assert any(t.startswith("第 4 行【性别】：“未知”不是有效选项（男、女）") for t in texts)
    assert "第 4 行【出生日期】：日期“2000-13-01”不存在" in texts
    assert any(t.startswith("第 4 行【手机】：手机号码“123”无效") for t in texts)
    assert "第 6 行【姓名】：不能超过 10 个字符（现有 12 个）" in texts
    assert res.totals() == {"总行数": 3, "有效": 1, "错误": 2}


def test_duplicate_keys_name_both_rows(seed):
    a = seed.actor("center")
    dup = make_id("11010519491231002")
    data = xlsx([HEADER, [dup, "张三"], [make_id("11010519491231003"), "李四"], [dup.lower(), "王五"]])
    res = run_import(seed.engine, SPEC, a, data, "考生.xlsx")
    assert [e.text for e in res.errors] == ["第 2 行【证件号码】：与第 4 行重复", "第 4 行【证件号码】：与第 2 行重复"]


@pytest.mark.parametrize("mode", [ALL_OR_NOTHING, ONLY_VALID])
def test_commit_modes(seed, mode):
    a = seed.actor("center")
    good = ids(3)
    data = xlsx([HEADER, [good[0], "甲"], [good[1], "乙"], ["123", "坏"], [good[2], "丙", "女", "2001-02-03"]])
    dry = run_import(seed.engine, SPEC, a, data, "考生.xlsx", mode=mode, dry_run=True)
    assert dry.totals() == {"总行数": 4, "有效": 3, "错误": 1} and not dry.committed
    assert count(seed.engine, Candidate) == 0
    res = run_import(seed.engine, SPEC, a, data, "考生.xlsx", mode=mode, dry_run=False)
    with session_scope(seed.engine) as s:
        audits = s.scalars(select(AuditLog).where(AuditLog.action == "import")).all()
    if mode == ALL_OR_NOTHING:
        assert not res.committed and res.written == 0 and not res.can_commit
        assert count(seed.engine, Candidate) == 0 and audits == []
    else:
        assert res.committed and res.written == 3 and res.summary["message"] == "新增考生 3 人"
        assert count(seed.engine, Candidate) == 3
        assert len(audits) == 1 and audits[0].after["written"] == 3 and audits[0].after["errors"] == 1
        assert "总行数 4，有效 3，错误 1" in audits[0].summary
        with session_scope(seed.engine) as s:
            c = s.scalar(select(Candidate).where(Candidate.id_number == good[2]))
            assert (c.gender, c.birth_date) == ("女", date(2001, 2, 3))


def test_all_valid_file_commits_everything_in_a_passed_session(seed):
    a = seed.actor("center")
    data = xlsx([HEADER] + [[i, f"考生{n}"] for n, i in enumerate(ids(20))])
    with session_scope(seed.engine) as s:
        res = run_import(s, SPEC, a, data, "考生.xlsx", dry_run=False)
        assert res.committed and res.written == 20
    assert count(seed.engine, Candidate) == 20
    # A second import of the same people fails on the unique key inside the transaction: nothing written.
    from core.errors import DomainError
    with pytest.raises(DomainError, match="冲突"):
        run_import(seed.engine, SPEC, a, data, "考生.xlsx", dry_run=False)
    assert count(seed.engine, Candidate) == 20


def test_too_many_rows(seed):
    a = seed.actor("center")
    data = xlsx([HEADER] + [[i, "某"] for i in ids(30)])
    res = run_import(seed.engine, SPEC, a, data, "考生.xlsx", max_rows=10)
    assert res.file_error and "上限" in res.errors[0].message


def test_error_report_with_more_than_1000_errors(seed):
    a = seed.actor("center")
    rows = [HEADER] + [[f"bad{i}", f"人{i}"] for i in range(1500)]
    res = run_import(seed.engine, SPEC, a, xlsx(rows), "考生.xlsx")
    assert len(res.errors) == 1500 and res.error_rows == 1500
    assert len(res.error_table()) == 1000
    wb = openpyxl.load_workbook(io.BytesIO(res.error_report()), read_only=True)
    detail = list(wb["错误明细"].iter_rows(values_only=True))
    assert detail[0] == ("行号", "列名", "错误信息") and len(detail) == 1501
    assert detail[1][0] == 2 and detail[1][1] == "证件号码" and detail[-1][0] == 1501
    failed = list(wb["错误行"].iter_rows(values_only=True))
    assert len(failed) == 1501 and failed[1][1] == "bad0" and "校验" not in failed[1][-1]


def test_template_sheets_validation_and_round_trip(seed):
    data = build_template(SPEC, SPEC.resolve_choices(None))
    assert data == template_bytes(None, SPEC)
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["考生", "样例", "码表-性别"]
    ws = wb["考生"]
    assert [c.value for c in ws[1]] == HEADER
    assert ws["A2"].number_format == "@" or ws.column_dimensions["A"].number_format == "@"
    lists = [dv for dv in ws.data_validations.dataValidation if dv.type == "list"]
    assert len(lists) == 1 and str(lists[0].sqref).startswith("C2") and "码表-性别" in lists[0].formula1
    assert ws["A1"].comment is not None and "必填" in ws["A1"].comment.text
    assert [c.value for c in wb["样例"][2]][:2] == ["11010519491231002X", "张三"]
    assert [[c.value for c in r] for r in wb["码表-性别"].iter_rows()] == [["代码", "名称"], ["1", "男"], ["2", "女"]]
    # Fill the template itself and import it.
    for r, row in enumerate([[ids(1)[0], "张三", "女", "2000-01-02", "13800138000"]], start=2):
        for j, v in enumerate(row, start=1):
            ws.cell(r, j, v)
    buf = io.BytesIO()
    wb.save(buf)
    res = run_import(seed.engine, SPEC, seed.actor("center"), buf.getvalue(), "考生模板.xlsx", dry_run=False)
    assert res.ok and res.committed and count(seed.engine, Candidate) == 1


def test_spec_is_checked_when_declared():
    with pytest.raises(ValueError, match="key_columns"):
        ImportSpec(name="x", title="x", sheet_name="x", columns=[ImportColumn("a", "甲")], key_columns=("b",),
                   commit=lambda *a: {})
    with pytest.raises(ValueError, match="sheet_name"):
        ImportSpec(name="x", title="x", sheet_name="a/b", columns=[ImportColumn("a", "甲")], commit=lambda *a: {})
