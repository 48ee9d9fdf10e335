"""Writers for the import engine: the template workbook and the error report (xlsxwriter, in memory).

Template: the data sheet (header, text-formatted columns, dropdowns and length checks, a comment
with hints on each header cell), a 样例 sheet with example rows and 填写说明, and one 码表 sheet per
choice list. Only the data sheet is ever read back.
"""
from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING

import xlsxwriter

if TYPE_CHECKING:
    from core.imports.engine import ImportColumn, ImportResult, ImportSpec

_WB_OPTIONS = {"in_memory": True, "strings_to_formulas": False, "strings_to_numbers": False,
               "strings_to_urls": False}
_EXCEL_MAX_ROW = 1_048_575


def _sheet_title(text: str, taken: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\']", "", text)[:31] or "码表"
    name, n = base, 2
    while name.lower() in taken:
        suffix = f"{n}"
        name, n = base[:31 - len(suffix)] + suffix, n + 1
    taken.add(name.lower())
    return name


def _hint(c: "ImportColumn", choice_sheet: str | None, key_labels: list[str]) -> str:
    parts = ["必填" if c.required else "选填"]
    if c.max_length:
        parts.append(f"最多 {c.max_length} 个字符")
    if c.hint:
        parts.append(c.hint)
    if choice_sheet:
        parts.append(f"从下拉列表选择，可选值见“{choice_sheet}”工作表")
    if c.label in key_labels:
        parts.append("文件内不能重复")
    if c.example:
        parts.append(f"例：{c.example}")
    return "；".join(parts)


def build_template(spec: "ImportSpec", choices: dict[str, dict[str, str]]) -> bytes:
    """The template workbook as bytes. `choices`: resolved 码表 per column key."""
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, _WB_OPTIONS)
    text_fmt = wb.add_format({"num_format": "@"})
    head = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "num_format": "@"})
    head_req = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "font_color": "#C00000",
                              "num_format": "@"})
    note_fmt = wb.add_format({"text_wrap": True, "valign": "top"})
    taken: set[str] = set()
    data = wb.add_worksheet(_sheet_title(spec.sheet_name, taken))
    sample = wb.add_worksheet(_sheet_title("样例", taken))
    code_sheets: dict[str, str] = {}
    for c in spec.columns:
        if c.key in choices:
            code_sheets[c.key] = wb.add_worksheet(_sheet_title(f"码表-{c.label}", taken)).name

    key_labels = [spec.column_by_key[k].label for k in spec.key_columns]
    last_row = min(spec.max_rows, _EXCEL_MAX_ROW)
    for j, c in enumerate(spec.columns):
        data.set_column(j, j, c.width, text_fmt if c.text else None)
        data.write_string(0, j, c.label, head_req if c.required else head)
        data.write_comment(0, j, _hint(c, code_sheets.get(c.key), key_labels),
                           {"x_scale": 2, "y_scale": 1.5, "author": "Kaowu"})
        if c.key in choices and choices[c.key]:
            n = len(choices[c.key])
            sheet = code_sheets[c.key]
            data.data_validation(1, j, last_row, j, {
                "validate": "list", "source": f"='{sheet}'!$B$2:$B${n + 1}",
                "error_title": c.label, "error_message": f"请从下拉列表中选择（可选值见“{sheet}”工作表）。"})
        elif c.max_length:
            data.data_validation(1, j, last_row, j, {
                "validate": "length", "criteria": "<=", "value": c.max_length,
                "error_title": c.label, "error_message": f"【{c.label}】最多 {c.max_length} 个字符。"})
    data.freeze_panes(1, 0)
    data.activate()

    examples = list(spec.examples) or [{c.key: c.example for c in spec.columns}]
    for j, c in enumerate(spec.columns):
        sample.set_column(j, j, c.width, text_fmt)
        sample.write_string(0, j, c.label, head_req if c.required else head)
        for i, ex in enumerate(examples, start=1):
            sample.write_string(i, j, str(ex.get(c.key, "") or ""))
    notes = [
        f"只读取“{spec.sheet_name}”工作表，本工作表和码表仅供参考。",
        "请勿修改、删除或合并表头；不要插入公式（请粘贴为数值）。",
        "证件号码、手机号等已设为文本格式，请直接输入或“粘贴为值”，不要转成数字。",
        "红色列名为必填列；把鼠标停在列名上可看到填写要求。",
    ]
    if key_labels:
        notes.append(f"{'+'.join(key_labels)} 在同一文件中不能重复。")
    notes.extend(spec.notes)
    r = len(examples) + 2
    sample.write_string(r, 0, "填写说明", head)
    for i, line in enumerate(notes, start=1):
        if len(spec.columns) > 1:
            sample.merge_range(r + i, 0, r + i, len(spec.columns) - 1, f"{i}. {line}", note_fmt)
        else:
            sample.write_string(r + i, 0, f"{i}. {line}", note_fmt)

    for key, sheet_name in code_sheets.items():
        ws = wb.get_worksheet_by_name(sheet_name)
        ws.protect()  # the dropdowns point here; keep the list intact
        ws.set_column(0, 0, 14, text_fmt)
        ws.set_column(1, 1, 30, text_fmt)
        ws.write_string(0, 0, "代码", head)
        ws.write_string(0, 1, "名称", head)
        for i, (code, name) in enumerate(choices[key].items(), start=1):
            ws.write_string(i, 0, code)
            ws.write_string(i, 1, name)
    wb.close()
    return buf.getvalue()


def error_report_xlsx(result: "ImportResult") -> bytes:
    """Every error of a run (no limit), plus the failed rows as uploaded with an 错误 column."""
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, _WB_OPTIONS)
    head = wb.add_format({"bold": True, "bg_color": "#FCE4D6", "border": 1})
    text_fmt = wb.add_format({"num_format": "@"})
    ws = wb.add_worksheet("错误明细")
    ws.set_column(0, 0, 8)
    ws.set_column(1, 1, 18)
    ws.set_column(2, 2, 80)
    for j, h in enumerate(("行号", "列名", "错误信息")):
        ws.write_string(0, j, h, head)
    for i, e in enumerate(result.errors, start=1):
        if e.row is not None:
            ws.write_number(i, 0, e.row)
        ws.write_string(i, 1, e.column)
        ws.write_string(i, 2, e.message)
    ws.freeze_panes(1, 0)
    if result.failed_rows:
        rows = wb.add_worksheet("错误行")
        keys = list(result.failed_rows[0].raw.keys())
        headers = ["行号", *result.labels, "错误"]
        for j, h in enumerate(headers):
            rows.write_string(0, j, h, head)
            rows.set_column(j, j, 60 if h == "错误" else 16, None if h in ("行号", "错误") else text_fmt)
        for i, row in enumerate(result.failed_rows, start=1):
            rows.write_number(i, 0, row.line)
            for j, k in enumerate(keys, start=1):
                rows.write_string(i, j, row.raw.get(k, ""))
            rows.write_string(i, len(keys) + 1, "；".join(e.text for e in row.errors))
        rows.freeze_panes(1, 0)
    wb.close()
    return buf.getvalue()
