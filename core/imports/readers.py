"""Read an uploaded .xlsx or .csv into a grid of TEXT cells, refusing what we must not guess at.

Everything comes back as `str`: IDs, phones and codes stay text. When Excel stored a number,
integral values are written back as digits (no '.0'); numbers of 16+ digits, which Excel has
already rounded, are reported instead of silently corrupted. Date cells become 'YYYY-MM-DD'.
Formula cells (<f> in the sheet XML) and merged ranges are reported with their position.
"""
from __future__ import annotations

import csv
import io
import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import PurePath

import python_calamine
from defusedxml import ElementTree as SafeET

from core.config import LIMITS
from core.errors import ValidationError
from core.exports.tabular import col_letter

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, and password-protected .xlsx
ZIP_MAGIC = b"PK\x03\x04"
MAX_UNZIPPED_BYTES = 512 * 1024 * 1024  # zip-bomb guard for the whole workbook
EXACT_DIGITS = 15  # Excel keeps 15 significant digits of a number

_NS_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_NS_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_NS_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"


class ImportFileError(ValidationError):
    """The file as a whole cannot be read (type, size, encoding, sheet). The message says why."""


@dataclass
class Grid:
    """A sheet as text. `rows`: (Excel row number, cells from column A) for non-empty rows only."""

    sheet: str
    rows: list[tuple[int, list[str]]] = field(default_factory=list)
    cell_errors: dict[tuple[int, int], str] = field(default_factory=dict)  # (row, 0-based col) -> message
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)  # (row1, col1, row2, col2); cols 0-based


def cell_ref(row: int, col: int) -> str:
    return f"{col_letter(col)}{row}"


def cell_text(v: object) -> tuple[str, str | None]:
    """A calamine value as text, plus an error message when the value cannot be trusted."""
    if v is None or v == "":
        return "", None
    if isinstance(v, str):
        return v, None
    if isinstance(v, bool):
        return ("TRUE" if v else "FALSE"), None
    if isinstance(v, int):
        text = str(v)
        return text, (_precision_message(text) if len(text.lstrip("-")) > EXACT_DIGITS else None)
    if isinstance(v, float):
        if v != v or v in (float("inf"), float("-inf")):
            return "", "单元格的值不是有效数字"
        if v.is_integer():
            text = str(int(v))
            return text, (_precision_message(text) if len(text.lstrip("-")) > EXACT_DIGITS else None)
        return f"{v:.15g}", None
    if isinstance(v, datetime):
        if v.time() == time(0):
            return v.date().isoformat(), None
        return v.strftime("%Y-%m-%d %H:%M:%S"), None
    if isinstance(v, date):
        return v.isoformat(), None
    if isinstance(v, time):
        return v.strftime("%H:%M:%S"), None
    if isinstance(v, timedelta):
        total = int(v.total_seconds())
        return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}", None
    return str(v), None


def _precision_message(text: str) -> str:
    return (f"该单元格是数字格式，Excel 只保留 15 位有效数字，末尾已变为“{text[-4:]}”；"
            f"请把该列设为文本格式后重新输入")


# ---------------------------------------------------------------- file type checks
def _suffix(filename: str) -> str:
    return PurePath(filename or "").suffix.lower()


def check_file(data: bytes, filename: str, max_mb: int | None = None) -> str:
    """Check size, extension and that the content really is what the extension says.
    Returns 'xlsx' or 'csv'; raises ImportFileError with a Chinese message otherwise."""
    max_mb = max_mb or LIMITS.max_upload_mb
    if not data:
        raise ImportFileError("文件为空，请选择填写好的文件。")
    if len(data) > max_mb * 1024 * 1024:
        raise ImportFileError(f"文件过大（{len(data) / 1024 / 1024:.1f} MB），不能超过 {max_mb} MB；请分批导入。")
    ext = _suffix(filename)
    if ext == ".xlsm":
        raise ImportFileError("不接受启用宏的工作簿（.xlsm），请在 Excel 中另存为“Excel 工作簿（.xlsx）”后再导入。")
    if ext == ".xls":
        raise ImportFileError("不支持 Excel 97-2003 格式（.xls），请在 Excel 中另存为“Excel 工作簿（.xlsx）”后再导入。")
    if ext == ".xlsx":
        if data.startswith(OLE_MAGIC):
            raise ImportFileError("文件扩展名是 .xlsx，但内容是 Excel 97-2003 格式或设置了打开密码的工作簿；"
                                  "请取消密码并另存为“Excel 工作簿（.xlsx）”。")
        if not data.startswith(ZIP_MAGIC):
            raise ImportFileError("文件扩展名是 .xlsx，但内容不是 Excel 工作簿（可能是改了扩展名的其他文件），"
                                  "请用 Excel 打开后另存为 .xlsx。")
        _check_xlsx_package(data)
        return "xlsx"
    if ext == ".csv":
        if data.startswith(ZIP_MAGIC) or data.startswith(OLE_MAGIC):
            raise ImportFileError("文件扩展名是 .csv，但内容是 Excel 工作簿；请直接以 .xlsx 扩展名上传，或另存为 CSV。")
        if not data.startswith((b"\xff\xfe", b"\xfe\xff")) and b"\x00" in data[:8192]:
            raise ImportFileError("文件扩展名是 .csv，但内容不是文本（可能是改了扩展名的其他文件）。")
        return "csv"
    raise ImportFileError(f"不支持的文件类型“{ext or '无扩展名'}”，只能导入 .xlsx 或 .csv 文件。")


def _check_xlsx_package(data: bytes) -> None:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, ValueError):
        raise ImportFileError("文件已损坏，无法作为 Excel 工作簿打开，请重新保存后再试。") from None
    names = {i.filename for i in infos}
    if "[Content_Types].xml" not in names:
        raise ImportFileError("文件扩展名是 .xlsx，但内容不是 Excel 工作簿（缺少内容类型清单）。")
    if "xl/workbook.bin" in names:
        raise ImportFileError("不支持 Excel 二进制工作簿（.xlsb），请另存为“Excel 工作簿（.xlsx）”。")
    if "xl/workbook.xml" not in names:
        if "word/document.xml" in names or "ppt/presentation.xml" in names:
            raise ImportFileError("文件扩展名是 .xlsx，但内容是 Word/PowerPoint 文档。")
        raise ImportFileError("文件扩展名是 .xlsx，但内容不是 Excel 工作簿。")
    content_types = zf.read("[Content_Types].xml")
    if "xl/vbaProject.bin" in names or b"macroEnabled" in content_types:
        raise ImportFileError("文件包含宏（实为 .xlsm 启用宏的工作簿），不予导入；请另存为“Excel 工作簿（.xlsx）”。")
    if sum(i.file_size for i in infos) > MAX_UNZIPPED_BYTES:
        raise ImportFileError("工作簿解压后过大，请删除无关的工作表和格式或分批导入。")


# ---------------------------------------------------------------- xlsx
def _sheet_xml_paths(zf: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> path of its worksheet XML inside the package."""
    wb = SafeET.fromstring(zf.read("xl/workbook.xml"))
    rels = SafeET.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): r.get("Target", "") for r in rels.iter(f"{_NS_PKG_REL}Relationship")}
    out: dict[str, str] = {}
    for sh in wb.iter(f"{_NS_MAIN}sheet"):
        target = targets.get(sh.get(f"{_NS_REL}id"), "")
        path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
        out[sh.get("name", "")] = path
    return out


_FORMULA = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f[\s/>]")
_TOKEN = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:c\s[^>]*?\br=\"([A-Z]{1,3})(\d+)\"|f[\s/>])")
_CHUNK = 8 * 1024 * 1024
_OVERLAP = 4096


def _scan(zf: zipfile.ZipFile, path: str, pattern: re.Pattern[bytes]):
    """Yield the matches of `pattern` in a (possibly huge) XML member, streaming in chunks."""
    with zf.open(path) as f:
        buf = b""
        while True:
            chunk = f.read(_CHUNK)
            buf += chunk
            limit = len(buf) if not chunk else len(buf) - _OVERLAP
            for m in pattern.finditer(buf):
                if m.start() >= limit:
                    break
                yield m
            if not chunk:
                return
            buf = buf[limit:]


def formula_cells(zf: zipfile.ZipFile, path: str) -> list[tuple[int, int]]:
    """(row, 0-based col) of every cell holding a formula. Fast path: no '<f' at all."""
    if next(_scan(zf, path, _FORMULA), None) is None:
        return []
    found: list[tuple[int, int]] = []
    last: tuple[int, int] | None = None
    for m in _scan(zf, path, _TOKEN):
        if m.group(1):
            letters = m.group(1).decode()
            col = 0
            for ch in letters:
                col = col * 26 + (ord(ch) - 64)
            last = (int(m.group(2)), col - 1)
        elif last is not None and (not found or found[-1] != last):
            found.append(last)
    return found


def _pick_sheet(names: list[str], visible: list[str], wanted: str | None) -> str:
    if wanted:
        for n in names:
            if n.strip() == wanted.strip():
                return n
    if len(visible) == 1:
        return visible[0]
    if not wanted:
        return visible[0] if visible else names[0]
    raise ImportFileError(f"文件中没有名为“{wanted}”的工作表（现有：{'、'.join(names)}），请使用下载的模板填写。")


def read_xlsx(data: bytes, sheet_name: str | None = None, max_rows: int | None = None) -> Grid:
    """Read one sheet of a checked .xlsx as text."""
    try:
        wb = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception:  # calamine raises its own error types for damaged packages
        raise ImportFileError("文件已损坏，无法作为 Excel 工作簿打开，请重新保存后再试。") from None
    metas = wb.sheets_metadata
    names = [m.name for m in metas]
    visible = [m.name for m in metas if m.visible == python_calamine.SheetVisibleEnum.Visible
               and m.typ == python_calamine.SheetTypeEnum.WorkSheet]
    name = _pick_sheet(names, visible, sheet_name)
    sheet = wb.get_sheet_by_name(name)
    grid = Grid(sheet=name)
    start_col = sheet.start[1] if sheet.start else 0
    for r0, raw in enumerate(sheet.iter_rows()):
        row = r0 + 1
        cells: list[str] = [""] * start_col
        for j, v in enumerate(raw):
            if type(v) is str:  # the common case, kept cheap
                cells.append(v)
                continue
            text, err = cell_text(v)
            cells.append(text)
            if err:
                grid.cell_errors[(row, start_col + j)] = err
        while cells and not cells[-1].strip():
            cells.pop()
        if cells:
            grid.rows.append((row, cells))
            if max_rows is not None and len(grid.rows) > max_rows + 1:
                raise ImportFileError(f"数据超过 {max_rows} 行的上限，请分批导入。")
    grid.merged = [(a[0] + 1, a[1], b[0] + 1, b[1]) for a, b in (sheet.merged_cell_ranges or [])]
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        try:
            path = _sheet_xml_paths(zf).get(name)
        except (KeyError, ValueError, SafeET.ParseError):  # defusedxml refusals are ValueErrors
            raise ImportFileError("文件已损坏或含有不安全的内容，请用 Excel 重新保存为 .xlsx 后再试。") from None
        if path and path in zf.namelist():
            for rc in formula_cells(zf, path):
                grid.cell_errors[rc] = "含公式，请复制后“选择性粘贴为数值”再导入"
    return grid


# ---------------------------------------------------------------- csv
def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, else GBK/GB18030."""
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8")
        except UnicodeDecodeError:
            raise ImportFileError("文件声明为 UTF-8 编码，但内容有乱码，请重新另存为 CSV（UTF-8）。") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise ImportFileError("文件编码（UTF-16）有误，请另存为 CSV（UTF-8）后再导入。") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise ImportFileError("无法识别文件编码，请另存为 UTF-8 或 GBK 编码的 CSV 文件。") from None


_EXCEL_TEXT = re.compile(r'^="(.*)"$', re.S)  # ="0123" — the usual trick to keep leading zeros


def read_csv(data: bytes, max_rows: int | None = None) -> Grid:
    """Read a checked CSV (comma- or tab-separated) as text."""
    text = decode_text(data)
    first = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first and "," not in first else ","
    grid = Grid(sheet="CSV")
    try:
        for i, rec in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)):
            cells = [m.group(1) if (m := _EXCEL_TEXT.match(c)) else c for c in rec]
            while cells and not cells[-1].strip():
                cells.pop()
            if cells:
                grid.rows.append((i + 1, cells))
                if max_rows is not None and len(grid.rows) > max_rows + 1:
                    raise ImportFileError(f"数据超过 {max_rows} 行的上限，请分批导入。")
    except csv.Error as e:
        raise ImportFileError(f"CSV 文件格式有误（{e}），请用 Excel 打开后重新另存为 CSV。") from None
    return grid


def read_grid(data: bytes, filename: str, sheet_name: str | None = None, max_rows: int | None = None,
              max_mb: int | None = None) -> Grid:
    """Check the file and read its data sheet (CSV: the whole file) as text."""
    kind = check_file(data, filename, max_mb)
    if kind == "xlsx":
        return read_xlsx(data, sheet_name, max_rows)
    return read_csv(data, max_rows)
