"""xlsx / csv writers (typed cells, formula-injection safety, encodings) and the maskers."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal

import openpyxl
import pytest

from core.exports import safe_cell, unsafe_cell, write_csv, write_xlsx
from core.exports.tabular import csv_encoding
from core.masking import apply_mask, id_last4, mask_account, mask_email, mask_id, mask_phone

DANGEROUS = ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\t=1", "\r=1", "＝1+1", "＋1", "－1", "＠x"]


@pytest.mark.parametrize("v", DANGEROUS)
def test_safe_cell_quotes_formula_like_text(v):
    assert safe_cell(v) == "'" + v
    assert unsafe_cell(safe_cell(v)) == v


@pytest.mark.parametrize("v", ["张三", "110101199001011234", "a=b", "", 5, -5, None, 1.5])
def test_safe_cell_leaves_ordinary_values(v):
    assert safe_cell(v) == v


def _sheet(data: bytes):
    return openpyxl.load_workbook(io.BytesIO(data)).active


def test_xlsx_typed_cells_and_formula_text():
    header = ["证件号", "姓名", "成绩", "费用", "考试日期", "报名时间", "已缴费", "备注", "空"]
    rows = [
        ["110101199001011234", "张三", 86, Decimal("80.50"), date(2026, 3, 28), datetime(2026, 1, 5, 8, 30), True,
         "=HYPERLINK(\"http://evil\",\"点我\")", None],
        ["00123", "李四", 59.5, 0, None, None, False, "+1-2", ""],
        ["12345678901234567890", "＝王五", 10 ** 16, 1, None, None, None, "-", None],
    ]
    ws = _sheet(write_xlsx(header, iter(rows), sheet_name="考生/名单"))
    assert ws.title == "考生_名单"
    assert [c.value for c in ws[1]] == header
    assert ws["A1"].font.b and ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:I4"
    a2, a3, a4 = ws["A2"], ws["A3"], ws["A4"]
    assert (a2.value, a2.data_type) == ("110101199001011234", "s")  # an ID stays text
    assert a3.value == "00123" and a3.data_type == "s"  # leading zeros kept
    assert ws["C2"].value == 86 and ws["C2"].data_type == "n"
    assert ws["D2"].value == 80.5 and ws["D3"].value == 0
    assert ws["E2"].value == datetime(2026, 3, 28) and ws["E2"].is_date and ws["E2"].number_format == "yyyy-mm-dd"
    assert ws["F2"].value == datetime(2026, 1, 5, 8, 30) and ws["F2"].is_date
    assert ws["G2"].value == "是" and ws["G3"].value == "否"
    for ref in ("H2", "H3", "B4", "H4"):
        assert ws[ref].data_type == "s", ref  # never a formula
    assert ws["H2"].value == "=HYPERLINK(\"http://evil\",\"点我\")"
    assert ws["I2"].value is None and ws["I3"].value is None
    assert ws["C4"].value == "10000000000000000" and ws["C4"].data_type == "s"  # beyond 15 digits: text
    assert ws.column_dimensions["A"].width >= 18


def test_xlsx_empty_and_many_rows():
    ws = _sheet(write_xlsx(["a", "b"], iter([])))
    assert [c.value for c in ws[1]] == ["a", "b"] and ws.max_row == 1
    data = write_xlsx(["n", "t"], ([i, f"r{i}"] for i in range(5000)))
    ws = _sheet(data)
    assert ws.max_row == 5001 and ws["A5001"].value == 4999 and ws["B5001"].value == "r4999"


def test_csv_quotes_formulas_and_keeps_text():
    rows = [["=1+1", "110101199001011234", 3, date(2026, 3, 28), datetime(2026, 1, 5, 8, 30, 5), True, None,
             "含,逗号\"引号\"", "＠x"]]
    data = write_csv(["公式", "证件号", "n", "日", "时", "是否", "空", "文本", "全角"], iter(rows))
    assert data.startswith(b"\xef\xbb\xbf")  # BOM: Excel opens UTF-8 correctly
    rec = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rec[0][0] == "公式"
    assert rec[1] == ["'=1+1", "110101199001011234", "3", "2026-03-28", "2026-01-05 08:30:05", "是", "",
                      "含,逗号\"引号\"", "'＠x"]
    assert data.endswith(b"\r\n")


def test_csv_gbk():
    data = write_csv(["姓名"], iter([["张三"], ["𠀀生僻"]]), encoding="gbk")
    assert data.decode("gb18030").splitlines()[1] == "张三"
    assert "张三".encode("gbk") in data  # GBK bytes for GBK characters
    assert csv_encoding("GBK") == "gb18030"
    with pytest.raises(ValueError):
        csv_encoding("latin-1")


def test_maskers():
    assert mask_id("110101199001011234") == "110***********1234"
    assert mask_id("11010119900101123X") == "110***********123X"
    assert id_last4("11010119900101123X") == "123X"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_account("6222 0212 3456 7890 123") == "****0123"
    assert mask_email("zhangsan@example.com") == "z***n@example.com"
    assert mask_email("ab@x.cn") == "a***@x.cn"
    assert mask_id("1234") == "****" and mask_phone("12345") == "1***5"
    for f in (mask_id, mask_phone, mask_account, mask_email):
        assert f(None) is None and f("") == ""
    assert apply_mask(None, "13812345678") == "13812345678"
    assert apply_mask("phone", "13812345678") == "138****5678"


def test_xlsx_awkward_text_round_trips():
    """Control characters, Excel's _xHHHH_ escapes, edge spaces, XML specials, very long text, old dates."""
    from datetime import time as dtime

    awkward = ["a\x01b", "_x000D_ literal", " lead", "trail ", "<b>&amp;\"'</b>", "多行\n文本", "tab\tin", "x" * 40000,
               "＝全角", "\u3000全角空格"]
    rows = [[v] for v in awkward] + [[date(1900, 1, 15)], [date(1899, 5, 1)], [datetime(1900, 3, 1, 12)],
                                     [dtime(8, 30)], [float("nan")], [Decimal("1.25")]]
    data = write_xlsx(["值"], iter(rows), sheet_name="O'Brien's")
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb.active
    assert ws.title == "O'Brien's"
    got = [ws.cell(r, 1).value for r in range(2, len(rows) + 2)]
    # XML cannot carry \x01: it is written as Excel's escape _x0001_, and a literal "_x000D_" is
    # escaped so Excel does not decode it (openpyxl shows the raw escapes; Excel and calamine decode)
    assert got[0] == "a_x0001_b" and got[1] == "_x005F_x000D_ literal"
    assert got[2:7] == [" lead", "trail ", "<b>&amp;\"'</b>", "多行\n文本", "tab\tin"]
    assert got[7] == "x" * 32767  # Excel's cell limit
    assert got[8:10] == ["＝全角", "\u3000全角空格"]
    assert got[10] == datetime(1900, 1, 15)  # Excel's 1900 calendar handled
    assert got[11] == "1899-05-01"  # before Excel's calendar: text
    assert got[12] == datetime(1900, 3, 1, 12)
    assert got[13] == dtime(8, 30)
    assert got[14] is None and got[15] == 1.25
    assert all(ws.cell(r, 1).data_type == "s" for r in range(2, 12))
    # every part is well-formed XML, and a second reader (calamine) agrees
    import zipfile
    from xml.etree import ElementTree

    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert set(z.namelist()) >= {"[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/styles.xml",
                                     "xl/_rels/workbook.xml.rels", "xl/worksheets/sheet1.xml"}
        for name in z.namelist():
            ElementTree.fromstring(z.read(name))
    import python_calamine

    col = [r[0] for r in python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0).to_python()]
    assert col[0] == "值" and col[1] == "a\x01b" and col[2] == "_x000D_ literal" and col[5] == "<b>&amp;\"'</b>"


def test_xlsx_second_reader_keeps_types():
    import python_calamine

    rows = [["110101199001011234", 86, datetime(2026, 1, 5, 8, 30), "=1+1"]]
    data = write_xlsx(["证件号", "成绩", "时间", "公式"], iter(rows))
    header, row = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0).to_python()
    got = dict(zip(header, row))
    assert got["证件号"] == "110101199001011234" and got["公式"] == "=1+1"
    assert got["成绩"] == 86 and got["时间"] == datetime(2026, 1, 5, 8, 30)
