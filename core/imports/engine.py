"""THE import engine: a declarative ImportSpec, reusable cell parsers, and one run:

read (text only) -> map the header -> parse every cell -> spec.prepare (bulk look-ups) ->
spec.validate_row -> duplicate keys -> result (totals + every error) -> commit
(`all_or_nothing` or `only_valid`) in one transaction with one audit row. A dry run stops
before the commit. Modelled on django-import-export's Resource/Result.
"""
from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Iterator

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.auth import Actor, require_role
from core.config import LIMITS
from core.db import session_scope
from core.errors import DomainError
from core.imports.readers import Grid, ImportFileError, cell_ref, col_letter, read_grid
from core.services.base import audit

ALL_OR_NOTHING = "all_or_nothing"
ONLY_VALID = "only_valid"
MODE_LABELS = {ALL_OR_NOTHING: "全部成功才导入", ONLY_VALID: "只导入正确行"}
DEFAULT_MAX_ROWS = 100_000
HEADER_SEARCH_ROWS = 10  # title rows above the header are allowed
_BAD_SHEET_CHARS = set('[]:*?/\\')

Parser = Callable[[Any], Any]


# ---------------------------------------------------------------- parsers (text in, value out, ValueError)
_SPACES = re.compile(r"[\s\u3000\u00a0]+")


def _nfkc(text: str) -> str:
    """Full-width digits/letters/punctuation to half-width; all spaces removed."""
    return _SPACES.sub("", unicodedata.normalize("NFKC", str(text)))


def parse_text(pattern: str | None = None, message: str = "格式不正确") -> Parser:
    """Keep the text; with `pattern`, it must match in full (else ValueError(message))."""
    rx = re.compile(pattern) if pattern else None

    def parse(text: str) -> str:
        text = str(text)
        if rx is not None and not rx.fullmatch(text):
            raise ValueError(message)
        return text

    return parse


def parse_int(min_value: int | None = None, max_value: int | None = None) -> Parser:
    """An integer (full-width digits accepted), optionally within [min_value, max_value]."""

    def parse(text: str) -> int:
        t = _nfkc(text).replace(",", "")
        if re.fullmatch(r"[+-]?\d+(\.0+)?", t) is None:
            raise ValueError(f"“{text}”不是整数")
        v = int(t.split(".")[0])
        if min_value is not None and v < min_value:
            raise ValueError(f"不能小于 {min_value}")
        if max_value is not None and v > max_value:
            raise ValueError(f"不能大于 {max_value}")
        return v

    return parse


def parse_decimal(places: int = 2, min_value: float | None = None, max_value: float | None = None) -> Parser:
    """A decimal number with at most `places` decimals (scores, fees)."""

    def parse(text: str) -> Decimal:
        t = _nfkc(text).replace(",", "")
        try:
            v = Decimal(t)
        except InvalidOperation:
            raise ValueError(f"“{text}”不是数字") from None
        if not v.is_finite():
            raise ValueError(f"“{text}”不是数字")
        if -v.as_tuple().exponent > places and v != v.quantize(Decimal(1).scaleb(-places)):
            raise ValueError(f"最多 {places} 位小数")
        if min_value is not None and v < Decimal(str(min_value)):
            raise ValueError(f"不能小于 {min_value}")
        if max_value is not None and v > Decimal(str(max_value)):
            raise ValueError(f"不能大于 {max_value}")
        return v

    return parse


_DATE_FORMS = (
    re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]0{1,2}:0{2}(?::0{2})?)?"),
    re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})"),
    re.compile(r"(\d{4})\.(\d{1,2})\.(\d{1,2})"),
    re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日?"),
    re.compile(r"(\d{4})(\d{2})(\d{2})"),
)


def parse_date(text: Any) -> date:
    """A date: Excel date cells (read as 2024-01-02), 2024-01-02, 2024/1/2, 2024.1.2, 2024年1月2日, 20240102."""
    if isinstance(text, date):
        return text
    t = unicodedata.normalize("NFKC", str(text)).strip()
    for rx in _DATE_FORMS:
        m = rx.fullmatch(t)
        if m:
            y, mo, d = (int(x) for x in m.groups())
            try:
                return date(y, mo, d)
            except ValueError:
                raise ValueError(f"日期“{text}”不存在") from None
    raise ValueError(f"日期格式不正确（“{text}”），应为 2024-01-02 这样的格式")


def parse_choice(choices: Mapping[str, str] | Sequence[str]) -> Parser:
    """A value from a 码表: the code or its name is accepted; the code is returned."""
    table = normalise_choices(choices)
    by_label = {v: k for k, v in table.items()}

    def parse(text: str) -> str:
        t = str(text).strip()
        if t in table:
            return t
        if t in by_label:
            return by_label[t]
        raise ValueError(choice_message(t, table))

    return parse


_TRUE = {"是", "Y", "YES", "TRUE", "1", "√", "对"}
_FALSE = {"否", "N", "NO", "FALSE", "0", "×", "错"}


def parse_bool(text: Any) -> bool:
    """是/否 (also Y/N, TRUE/FALSE, 1/0)."""
    t = _nfkc(text).upper()
    if t in _TRUE:
        return True
    if t in _FALSE:
        return False
    raise ValueError(f"“{text}”无效，请填写“是”或“否”")


def parse_phone(text: Any) -> str:
    """An 11-digit mainland mobile number; spaces, '-' and a +86 prefix are removed."""
    t = _nfkc(text).replace("-", "")
    if t.startswith("+86"):
        t = t[3:]
    elif t.startswith("86") and len(t) == 13:
        t = t[2:]
    if not re.fullmatch(r"1[3-9]\d{9}", t):
        raise ValueError(f"手机号码“{text}”无效，应为 1 开头的 11 位数字")
    return t


_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


def parse_email(text: Any) -> str:
    """An e-mail address (full-width ＠ accepted); the domain is lower-cased."""
    t = _nfkc(text)
    if len(t) > 100 or not _EMAIL.fullmatch(t) or ".." in t:
        raise ValueError(f"邮箱“{text}”格式不正确")
    local, domain = t.rsplit("@", 1)
    return f"{local}@{domain.lower()}"


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_REGIONS = {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46,
               50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83, 91}


def id_check_char(first17: str) -> str:
    """The GB 11643 check character of 17 digits."""
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS)) % 11]


def parse_id_number(text: Any) -> str:
    """中国居民身份证号码 (GB 11643): 18 characters, valid region, birth date and check character.
    Spaces are removed, full-width characters normalised, a lower-case x becomes X."""
    t = _nfkc(text).upper()
    if len(t) != 18:
        if len(t) == 15 and t.isdigit():
            raise ValueError("15 位旧身份证号码不能使用，请填写 18 位号码")
        raise ValueError(f"应为 18 位（现为 {len(t)} 位）")
    if not t[:17].isdigit() or not (t[17].isdigit() or t[17] == "X"):
        raise ValueError("前 17 位必须是数字，最后一位是数字或 X")
    if int(t[:2]) not in _ID_REGIONS:
        raise ValueError(f"前两位地区码“{t[:2]}”无效")
    try:
        born = date(int(t[6:10]), int(t[10:12]), int(t[12:14]))
    except ValueError:
        raise ValueError(f"出生日期“{t[6:14]}”无效") from None
    if born.year < 1900 or born > date.today():
        raise ValueError(f"出生日期“{t[6:14]}”无效")
    if id_check_char(t[:17]) != t[17]:
        raise ValueError("校验位错误")
    return t


def normalise_choices(choices: Mapping[str, str] | Sequence[str]) -> dict[str, str]:
    """A 码表 as {code: name}; a plain list uses each value as both."""
    if isinstance(choices, Mapping):
        return {str(k): str(v) for k, v in choices.items()}
    return {str(v): str(v) for v in choices}


def choice_message(value: str, table: Mapping[str, str]) -> str:
    names = list(table.values())
    hint = "、".join(names) if len(names) <= 10 else "请从下拉列表或码表中选择"
    return f"“{value}”不是有效选项（{hint}）"


# ---------------------------------------------------------------- the spec
ChoiceSource = Mapping[str, str] | Sequence[str] | Callable[["ImportContext"], Mapping[str, str] | Sequence[str]]


@dataclass
class ImportColumn:
    """One column of the data sheet.

    `parsers` run in order on the stripped text of a non-empty cell; each returns the new value or
    raises ValueError("中文消息"). With `choices` (a 码表: {code: name}, a list, or a callable of the
    ImportContext for choices that depend on the user) the cell must be a code or a name and the
    value is the code; the template gets a dropdown and a 码表 sheet.
    """

    key: str
    label: str
    required: bool = False
    max_length: int | None = None
    parsers: Parser | Sequence[Parser] = ()
    choices: ChoiceSource | None = None
    example: str = ""
    hint: str = ""
    text: bool = True  # template: format the column as text ('@')
    width: int = 16

    def __post_init__(self) -> None:
        if callable(self.parsers):
            self.parsers = (self.parsers,)
        self.parsers = tuple(self.parsers)


@dataclass
class ImportIssue:
    """One error: Excel row number (None: the whole file), column label ('' : the whole row), message."""

    row: int | None
    column: str
    message: str

    @property
    def text(self) -> str:
        if self.row is None:
            return f"【{self.column}】：{self.message}" if self.column else self.message
        if self.column:
            return f"第 {self.row} 行【{self.column}】：{self.message}"
        return f"第 {self.row} 行：{self.message}"


@dataclass
class ImportRow:
    """One data row: its Excel row number, raw texts and parsed values by column key.
    Columns that failed are None in `values` and listed in `failed`. Hooks may add derived values
    (e.g. a resolved org id) to `values` for the commit."""

    line: int
    raw: dict[str, str]
    values: dict[str, Any] = field(default_factory=dict)
    errors: list[ImportIssue] = field(default_factory=list)
    failed: set[str] = field(default_factory=set)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class ImportContext:
    """What hooks get: the session, the actor, the page's options and a per-run cache."""

    session: Session
    actor: Actor
    options: dict[str, Any]
    cache: dict[str, Any] = field(default_factory=dict)
    choices: dict[str, dict[str, str]] = field(default_factory=dict)


RowErrors = Iterable[tuple[str | None, str]] | None


@dataclass(eq=False)
class ImportSpec:
    """A declarative import: columns, keys, hooks. Checked when created (so at start-up).

    - `prepare(ctx, rows)`: once, before row checks; do bulk look-ups here (one query, not one per row).
    - `validate_row(ctx, row)`: returns/yields (column key or None, message) for each problem.
    - `check_all(ctx, rows)`: once, after row checks and duplicates, for rules across rows (capacity);
      returns/yields (ImportRow or None, column key or None, message).
    - `before_import(ctx)`: permission / window checks; raise DomainError to refuse.
    - `commit(session, actor, rows, options) -> dict`: writes the valid rows. Return what the page
      should show: "written" (int), "message" (str), optional "table" (list of dicts) and
      "downloads" (list of (label, filename, bytes)). Only totals, "written" and "message" are audited.
    """

    name: str
    title: str
    sheet_name: str
    columns: Sequence[ImportColumn]
    commit: Callable[[Session, Actor, list[ImportRow], dict[str, Any]], dict[str, Any]]
    key_columns: Sequence[str] = ()
    ignore: Sequence[str] = ("序号",)
    validate_row: Callable[[ImportContext, ImportRow], RowErrors] | None = None
    prepare: Callable[[ImportContext, list[ImportRow]], None] | None = None
    before_import: Callable[[ImportContext], None] | None = None
    check_all: Callable[[ImportContext, list[ImportRow]], Iterable[tuple[ImportRow | None, str | None, str]]] | None = None
    reader: Callable[[bytes, str], tuple[bytes, str]] | None = None  # unwraps the upload (ZIP) to the table file
    upload_types: Sequence[str] = ("xlsx", "csv", "xls", "xlsm")  # the uploader's filter (refused ones get a message)
    upload_label: str = ".xlsx 或 .csv"
    roles: Sequence[str] | None = None
    modes: Sequence[str] = (ALL_OR_NOTHING, ONLY_VALID)  # the first is the default
    max_rows: int = DEFAULT_MAX_ROWS
    examples: Sequence[Mapping[str, str]] = ()
    notes: Sequence[str] = ()
    entity: str = ""

    def __post_init__(self) -> None:
        keys = [c.key for c in self.columns]
        labels = [c.label for c in self.columns]
        problems = []
        if not self.columns:
            problems.append("没有列")
        if len(set(keys)) != len(keys) or len(set(labels)) != len(labels):
            problems.append("列的 key 或中文名重复")
        if set(labels) & set(self.ignore):
            problems.append("ignore 与列名重复")
        if any(k not in keys for k in self.key_columns):
            problems.append("key_columns 含未知列")
        if not self.modes or any(m not in MODE_LABELS for m in self.modes):
            problems.append("modes 无效")
        if not self.sheet_name or len(self.sheet_name) > 31 or set(self.sheet_name) & _BAD_SHEET_CHARS:
            problems.append("sheet_name 无效")
        if not re.fullmatch(r"[A-Za-z0-9_]+", self.name):
            problems.append("name 只能是字母数字下划线")
        if problems:
            raise ValueError(f"ImportSpec {self.name}: " + "；".join(problems))
        self.entity = self.entity or self.title

    @property
    def column_by_key(self) -> dict[str, ImportColumn]:
        return {c.key: c for c in self.columns}

    @property
    def template_filename(self) -> str:
        return f"{self.title}模板.xlsx"

    def resolve_choices(self, ctx: ImportContext | None) -> dict[str, dict[str, str]]:
        """Every choice column's 码表 as {code: name}; callables need a context."""
        out: dict[str, dict[str, str]] = {}
        for c in self.columns:
            if c.choices is None:
                continue
            src = c.choices
            if callable(src):
                if ctx is None:
                    raise ValueError(f"列【{c.label}】的码表依赖当前用户，生成模板时需要会话")
                src = src(ctx)
            out[c.key] = normalise_choices(src)
        return out


# ---------------------------------------------------------------- the result
@dataclass
class ImportResult:
    """Totals (总行数 / 有效 / 错误), every error, and what the commit did."""

    spec_name: str
    title: str
    filename: str
    mode: str
    dry_run: bool
    labels: list[str] = field(default_factory=list)
    total: int = 0
    valid: int = 0
    error_rows: int = 0
    errors: list[ImportIssue] = field(default_factory=list)
    failed_rows: list[ImportRow] = field(default_factory=list)
    committed: bool = False
    written: int = 0
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def file_error(self) -> bool:
        """True when the file itself (type, header) was refused: no row was checked."""
        return bool(self.errors) and self.total == 0 and not self.failed_rows

    @property
    def can_commit(self) -> bool:
        if self.file_error:
            return False
        return self.ok if self.mode == ALL_OR_NOTHING else self.valid > 0

    def totals(self) -> dict[str, int]:
        return {"总行数": self.total, "有效": self.valid, "错误": self.error_rows}

    def error_table(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Rows for a table: 行号 / 列名 / 错误信息 (the first `limit`)."""
        limit = LIMITS.import_error_rows_shown if limit is None else limit
        return [{"行号": e.row if e.row is not None else "", "列名": e.column, "错误信息": e.message}
                for e in self.errors[:limit]]

    def error_report(self) -> bytes:
        """All errors as an xlsx (错误明细 + the failed rows with an 错误 column)."""
        from core.imports.template import error_report_xlsx

        return error_report_xlsx(self)

    @property
    def message(self) -> str:
        t = f"总行数 {self.total}，有效 {self.valid}，错误 {self.error_rows}"
        if self.committed:
            return f"导入完成：{t}，已写入 {self.written} 条。"
        if self.dry_run:
            return f"校验完成（未写入）：{t}。"
        return f"未导入：{t}。"


# ---------------------------------------------------------------- the run
def _norm_label(text: str) -> str:
    return _SPACES.sub("", str(text)).strip("*＊")


def _strip(text: str) -> str:
    """Trim spaces of every kind (str.strip covers the full-width space and NBSP) and a stray BOM."""
    text = text.strip()
    return text.strip("\ufeff").strip() if "\ufeff" in text else text


class _Header:
    def __init__(self, line: int, positions: dict[str, int]):
        self.line = line
        self.positions = positions  # column key -> 0-based column index


def _map_header(spec: ImportSpec, grid: Grid) -> tuple[_Header | None, list[ImportIssue]]:
    """Find the header row (allowing title rows above it) and map labels to column indexes."""
    by_label = {c.label: c for c in spec.columns}
    ignored = set(spec.ignore)
    header_at = None
    for i, (line, cells) in enumerate(grid.rows[:HEADER_SEARCH_ROWS]):
        if any(_norm_label(c) in by_label for c in cells):
            header_at = i
            break
    if header_at is None:
        names = "、".join(c.label for c in spec.columns)
        return None, [ImportIssue(None, "", f"未找到表头行：应有一行列名（{names}），请使用下载的模板填写。")]
    line, cells = grid.rows[header_at]
    issues: list[ImportIssue] = []
    positions: dict[str, int] = {}
    blank_cols: list[int] = []
    for j, raw in enumerate(cells):
        label = _norm_label(raw)
        if not label:
            blank_cols.append(j)
        elif label in ignored:
            continue
        elif label in by_label:
            key = by_label[label].key
            if key in positions:
                issues.append(ImportIssue(line, label, f"表头重复（{col_letter(positions[key])} 列和 "
                                                       f"{col_letter(j)} 列），请删除其中一列"))
            else:
                positions[key] = j
        else:
            issues.append(ImportIssue(line, raw.strip(), f"{col_letter(j)} 列的表头“{raw.strip()}”不是模板中的列，"
                                                         f"请删除该列或使用下载的模板"))
    for r1, c1, r2, c2 in grid.merged:
        if r1 <= line <= r2:
            names = [_norm_label(cells[j]) for j in range(c1, c2 + 1) if j < len(cells)]
            label = next((n for n in names if n), col_letter(c1))
            issues.append(ImportIssue(line, label, f"表头单元格 {cell_ref(r1, c1)}:{cell_ref(r2, c2)} 是合并单元格，"
                                                   f"请取消合并，每列一个表头"))
    for c in spec.columns:
        if c.key not in positions and c.required:
            issues.append(ImportIssue(line, c.label, "缺少必填列，请使用下载的模板"))
    for (r, j), msg in grid.cell_errors.items():
        if r == line:
            issues.append(ImportIssue(line, _norm_label(cells[j]) if j < len(cells) else col_letter(j), f"表头{msg}"))
    # A column with data but no header cannot be matched to anything (also right of the last header).
    width = max((len(c) for _, c in grid.rows[header_at + 1:]), default=0)
    blank_cols += list(range(len(cells), width))
    if blank_cols:
        for dline, dcells in grid.rows[header_at + 1:]:
            for j in list(blank_cols):
                if j < len(dcells) and dcells[j].strip():
                    issues.append(ImportIssue(line, col_letter(j), f"{col_letter(j)} 列没有表头，但第 {dline} 行"
                                                                   f"起有数据；请补上列名或删除该列"))
                    blank_cols.remove(j)
            if not blank_cols:
                break
    return _Header(line, positions), issues


@dataclass
class _Col:
    """A spec column bound to its position in this file and its resolved 码表."""

    col: ImportColumn
    index: int | None
    table: dict[str, str] | None
    by_name: dict[str, str] | None


def _bind(spec: ImportSpec, header: _Header, choices: dict[str, dict[str, str]]) -> list[_Col]:
    out = []
    for c in spec.columns:
        table = choices.get(c.key)
        out.append(_Col(c, header.positions.get(c.key), table,
                        {v: k for k, v in table.items()} if table is not None else None))
    return out


def _parse_cell(b: _Col, text: str) -> Any:
    """Stripped, non-empty text -> value (ValueError with a Chinese message)."""
    c = b.col
    if c.max_length is not None and len(text) > c.max_length:
        raise ValueError(f"不能超过 {c.max_length} 个字符（现有 {len(text)} 个）")
    value: Any = text
    if b.table is not None and value not in b.table:
        if value not in b.by_name:
            raise ValueError(choice_message(value, b.table))
        value = b.by_name[value]
    for p in c.parsers:
        value = p(value)
    return value


def _parse_row(cols: list[_Col], line: int, cells: list[str], cell_errors: dict[tuple[int, int], str]) -> ImportRow:
    n = len(cells)
    row = ImportRow(line=line, raw={b.col.key: cells[b.index] if b.index is not None and b.index < n else ""
                                    for b in cols})
    values = row.values
    for b in cols:
        key = b.col.key
        text = _strip(row.raw[key])
        if b.index is not None and cell_errors and (line, b.index) in cell_errors:
            msg: str | None = cell_errors[(line, b.index)]
        elif not text:
            values[key] = None
            msg = "不能为空" if b.col.required else None
        else:
            try:
                values[key] = _parse_cell(b, text)
                msg = None
            except ValueError as e:
                msg = str(e) or "格式不正确"
        if msg is not None:
            row.errors.append(ImportIssue(line, b.col.label, msg))
            row.failed.add(key)
            values[key] = None
    return row


def _merged_issues(spec: ImportSpec, grid: Grid, header: _Header) -> dict[int, list[ImportIssue]]:
    label_at = {j: spec.column_by_key[k].label for k, j in header.positions.items()}
    out: dict[int, list[ImportIssue]] = defaultdict(list)
    for r1, c1, r2, c2 in grid.merged:
        if r2 <= header.line:
            continue
        cols = [label_at[j] for j in range(c1, c2 + 1) if j in label_at]
        if not cols:
            continue
        r = max(r1, header.line + 1)
        out[r].append(ImportIssue(r, cols[0], f"{cell_ref(r1, c1)}:{cell_ref(r2, c2)} 是合并单元格，"
                                              f"请取消合并并在每个单元格中填写"))
    return out


def _duplicate_issues(spec: ImportSpec, rows: list[ImportRow]) -> None:
    if not spec.key_columns:
        return
    cols = [spec.column_by_key[k] for k in spec.key_columns]
    label = "+".join(c.label for c in cols)
    seen: dict[tuple, list[ImportRow]] = defaultdict(list)
    for row in rows:
        key = tuple(row.values.get(k) for k in spec.key_columns)
        if any(v is None or v == "" for v in key):
            continue
        seen[tuple(str(v) for v in key)].append(row)
    for group in seen.values():
        if len(group) < 2:
            continue
        for row in group:
            others = "、".join(str(o.line) for o in group if o is not row)
            row.errors.append(ImportIssue(row.line, label, f"与第 {others} 行重复"))


@contextmanager
def _session(db: Engine | Session) -> Iterator[Session]:
    if isinstance(db, Session):
        yield db
    else:
        with session_scope(db) as s:
            yield s


def _noop(_fraction: float, _text: str) -> None:
    return None


def run_import(db: Engine | Session, spec: ImportSpec, actor: Actor, data: bytes, filename: str, *,
               mode: str | None = None, dry_run: bool = True, options: dict[str, Any] | None = None,
               max_rows: int | None = None,
               progress: Callable[[float, str], None] | None = None) -> ImportResult:
    """Check a file against `spec` and (unless `dry_run`) write it.

    `db` is an Engine (one transaction is opened and committed here) or a Session (the caller's
    unit of work; our writes go in a SAVEPOINT). File and row problems come back in the result;
    permission problems and a failed write raise DomainError. Nothing is written when
    `mode='all_or_nothing'` and any row has an error.
    """
    mode = mode or spec.modes[0]
    if mode not in spec.modes:
        raise DomainError(f"此导入不支持“{MODE_LABELS.get(mode, mode)}”方式。")
    progress = progress or _noop
    options = dict(options or {})
    max_rows = max_rows or spec.max_rows
    result = ImportResult(spec.name, spec.title, filename, mode, dry_run,
                          labels=[c.label for c in spec.columns])
    if spec.roles:
        require_role(actor, *spec.roles)
    with _session(db) as s:
        ctx = ImportContext(session=s, actor=actor, options=options)
        if spec.before_import:
            spec.before_import(ctx)
        progress(0.05, "正在读取文件…")
        try:
            inner, inner_name = spec.reader(data, filename) if spec.reader else (data, filename)  # 集体报名: Excel in a ZIP
            grid = read_grid(inner, inner_name, spec.sheet_name, max_rows=max_rows)
        except ImportFileError as e:
            result.errors.append(ImportIssue(None, "", e.message))
            return result
        header, issues = _map_header(spec, grid)
        if issues or header is None:
            result.errors.extend(issues)
            return result
        data_rows = [(line, cells) for line, cells in grid.rows if line > header.line
                     and any(j < len(cells) and cells[j].strip() for j in header.positions.values())]
        if len(data_rows) > max_rows:
            result.errors.append(ImportIssue(None, "", f"数据共 {len(data_rows)} 行，超过 {max_rows} 行的上限，请分批导入。"))
            return result
        if not data_rows:
            result.errors.append(ImportIssue(None, "", "文件中没有数据行（表头下方为空）。"))
            return result
        ctx.choices = spec.resolve_choices(ctx)
        progress(0.2, f"正在校验 {len(data_rows)} 行…")
        merged = _merged_issues(spec, grid, header)
        cols = _bind(spec, header, ctx.choices)
        rows = []
        for line, cells in data_rows:
            row = _parse_row(cols, line, cells, grid.cell_errors)
            row.errors.extend(merged.get(line, ()))
            rows.append(row)
        if spec.prepare:
            spec.prepare(ctx, rows)
        if spec.validate_row:
            labels = {c.key: c.label for c in spec.columns}
            for row in rows:
                for key, msg in spec.validate_row(ctx, row) or ():
                    row.errors.append(ImportIssue(row.line, labels.get(key, key or ""), msg))
                    if key:
                        row.failed.add(key)
        _duplicate_issues(spec, rows)
        if spec.check_all:
            labels = {c.key: c.label for c in spec.columns}
            for row, key, msg in spec.check_all(ctx, [r for r in rows if r.ok]) or ():
                issue = ImportIssue(row.line if row else None, labels.get(key, key or ""), msg)
                if row is None:
                    result.errors.append(issue)
                else:
                    row.errors.append(issue)
        order = {c.label: i for i, c in enumerate(spec.columns)}
        for row in rows:
            row.errors.sort(key=lambda e: order.get(e.column.split("+")[0], len(order)))
            result.errors.extend(row.errors)
        valid = [r for r in rows if r.ok]
        result.total, result.valid = len(rows), len(valid)
        result.error_rows = result.total - result.valid
        result.failed_rows = [r for r in rows if not r.ok]
        if dry_run or not valid or (mode == ALL_OR_NOTHING and result.errors):
            progress(1.0, "校验完成")
            return result
        progress(0.6, f"正在写入 {len(valid)} 行…")
        try:
            with s.begin_nested():
                summary = spec.commit(s, actor, valid, options) or {}
                result.written = int(summary.get("written", len(valid)))
                result.summary = summary
                audit(s, actor, "import", spec.entity, spec.name,
                      summary=f"导入“{filename}”（{MODE_LABELS[mode]}）：总行数 {result.total}，有效 {result.valid}，"
                              f"错误 {result.error_rows}，写入 {result.written}"
                              + (f"；{summary['message']}" if summary.get("message") else ""),
                      after={"file": filename, "mode": mode, "total": result.total, "valid": result.valid,
                             "errors": result.error_rows, "written": result.written})
                s.flush()
        except IntegrityError:
            raise DomainError("写入时与已有数据冲突（可能有人同时导入或修改了相同的数据），本次未写入任何数据；"
                              "请重新校验后再导入。") from None
        result.committed = True
        progress(1.0, "导入完成")
    return result


def template_bytes(db: Engine | Session | None, spec: ImportSpec, actor: Actor | None = None) -> bytes:
    """The spec's template (.xlsx bytes). Choice lists that depend on the user need `db` and `actor`."""
    from core.imports.template import build_template

    if not any(callable(c.choices) for c in spec.columns):
        return build_template(spec, spec.resolve_choices(None))
    if db is None or actor is None:
        raise ValueError(f"{spec.name}: 码表依赖当前用户，生成模板需要 db 和 actor")
    with _session(db) as s:
        return build_template(spec, spec.resolve_choices(ImportContext(session=s, actor=actor, options={})))
