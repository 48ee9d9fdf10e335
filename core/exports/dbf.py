"""dBase III (.DBF) writer for the machine-exam system's data files (001 §47) and later score exports.

    fields = [Field("ZKZH", "C", 16), Field("XM", "C", 40), Field("ZWH", "N", 3), Field("KSRQ", "D")]
    data = write_dbf(fields, rows)                  # rows: sequences in field order, or mappings by name

Layout (dBase III, version byte 0x03, no memo): a 32-byte header (record count, header and record
length, the language-driver byte 29 = 0x4D "GBK / cp936" for Chinese text), 32 bytes per field,
0x0D, then fixed-length records (a ' ' deletion flag + the fields) and the 0x1A end-of-file mark.

Field types:
- C: text, left-justified and space-padded to `length` BYTES of the encoding (a Chinese character
  takes 2 bytes in GBK). Longer text is cut at a character boundary — a double-byte character is
  never split, the remainder is padded. Control characters become spaces; characters the encoding
  lacks become "?" (a GBK reader would otherwise garble the record). At most 254 bytes.
- N: numbers right-justified with `decimals` digits after the point; a value that does not fit
  raises DbfError (a number is never silently cut). At most 20 bytes.
- D: a date (or datetime) as YYYYMMDD, 8 bytes.
- L: T / F, "?" for None.
None is blank in every type.
"""
from __future__ import annotations

import re
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from itertools import islice
from typing import Any, Callable

# language driver ids (header byte 29) for the encodings we write
CODE_PAGES = {"gbk": 0x4D, "cp936": 0x4D, "gb2312": 0x4D, "gb18030": 0x4D, "cp437": 0x01, "ascii": 0x01,
              "cp1252": 0x03, "latin-1": 0x03}
MAX_C = 254
MAX_N = 20
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,9}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
CHUNK_ROWS = 5000
_CACHE_MAX = 20_000  # encoded text values kept per field (codes, subject names, dates repeat a lot)


class DbfError(ValueError):
    """A field definition or a value that cannot be written; the message says which."""


@dataclass(frozen=True)
class Field:
    name: str
    type: str = "C"
    length: int = 0  # bytes; D is always 8 and L always 1 (0 = that default)
    decimals: int = 0


def _check_fields(fields: Sequence[Field]) -> list[Field]:
    if not fields:
        raise DbfError("DBF 至少需要一个字段。")
    seen: set[str] = set()
    out = []
    for f in fields:
        name = f.name.upper() if isinstance(f.name, str) else ""
        if not _NAME.fullmatch(name):
            raise DbfError(f"字段名“{f.name}”无效：须为 1–10 个英文字母、数字或下划线，以字母开头。")
        if name in seen:
            raise DbfError(f"字段名“{name}”重复。")
        seen.add(name)
        t = (f.type or "").upper()
        if t == "C":
            if not 1 <= f.length <= MAX_C:
                raise DbfError(f"字符字段 {name} 的长度须在 1–{MAX_C} 字节之间。")
            out.append(Field(name, "C", f.length, 0))
        elif t == "N":
            if not 1 <= f.length <= MAX_N:
                raise DbfError(f"数值字段 {name} 的长度须在 1–{MAX_N} 之间。")
            if f.decimals < 0 or (f.decimals and f.decimals > f.length - 2):
                raise DbfError(f"数值字段 {name} 的小数位数无效。")
            out.append(Field(name, "N", f.length, f.decimals))
        elif t == "D":
            out.append(Field(name, "D", 8, 0))
        elif t == "L":
            out.append(Field(name, "L", 1, 0))
        else:
            raise DbfError(f"字段 {name} 的类型“{f.type}”不支持（只支持 C、N、D、L）。")
    if 1 + sum(f.length for f in out) > 0xFFFF:
        raise DbfError("记录长度超过 DBF 上限 65535 字节。")
    return out


def fit_bytes(text: str, length: int, encoding: str = "gbk") -> bytes:
    """`text` encoded and cut to at most `length` bytes at a character boundary (not padded)."""
    b = text.encode(encoding, "replace")
    if len(b) <= length:
        return b
    # Decoding from the start stays in step with the characters, so the only thing a cut can leave
    # is an incomplete last character, which the decoder drops.
    return b[:length].decode(encoding, "ignore").encode(encoding)


def _text_encoder(f: Field, encoding: str) -> Callable[[Any], bytes]:
    n = f.length
    blank = b" " * n
    cache: dict[str, bytes] = {}

    def enc(v: Any) -> bytes:
        if v is None:
            return blank
        if type(v) is not str:
            if isinstance(v, datetime):
                v = v.strftime("%Y-%m-%d %H:%M:%S")
            elif isinstance(v, bool):
                v = "是" if v else "否"
            else:
                v = str(v)
        b = cache.get(v)
        if b is None:
            t = _CONTROL.sub(" ", v) if not v.isprintable() else v
            b = t.encode(encoding, "replace")
            if len(b) > n:
                b = fit_bytes(t, n, encoding)
            b = b.ljust(n)
            if len(cache) < _CACHE_MAX:
                cache[v] = b
        return b
    return enc


def _number_encoder(f: Field) -> Callable[[Any], bytes]:
    n, d = f.length, f.decimals
    blank = b" " * n
    fmt = f"{{:>{n}.{d}f}}"

    def enc(v: Any) -> bytes:
        if v is None or v == "":
            return blank
        if type(v) is int and not d:
            s = str(v)
        else:
            if isinstance(v, str):
                try:
                    v = Decimal(v.strip())
                except InvalidOperation:
                    raise DbfError(f"字段 {f.name} 的值“{v}”不是数字。") from None
            elif isinstance(v, bool):
                v = int(v)
            elif not isinstance(v, (int, float, Decimal)):
                raise DbfError(f"字段 {f.name} 的值“{v}”不是数字。")
            s = fmt.format(v).strip()
        if len(s) > n:
            raise DbfError(f"字段 {f.name} 的值 {s} 超出长度 {n}。")
        return s.rjust(n).encode("ascii")
    return enc


def _date_encoder(f: Field) -> Callable[[Any], bytes]:
    blank = b" " * 8

    def enc(v: Any) -> bytes:
        if v is None or v == "":
            return blank
        if isinstance(v, (date, datetime)):
            return b"%04d%02d%02d" % (v.year, v.month, v.day)
        if isinstance(v, str):
            digits = v.replace("-", "").replace("/", "").strip()
            if len(digits) == 8 and digits.isdigit():
                return digits.encode("ascii")
        raise DbfError(f"字段 {f.name} 的值“{v}”不是日期。")
    return enc


def _logical_encoder(_f: Field) -> Callable[[Any], bytes]:
    def enc(v: Any) -> bytes:
        if v is None:
            return b"?"
        return b"T" if v else b"F"
    return enc


def header(fields: Sequence[Field], nrecords: int, encoding: str = "gbk", today: date | None = None,
           code_page: int | None = None) -> bytes:
    fields = _check_fields(fields)
    today = today or date.today()
    hlen = 32 + 32 * len(fields) + 1
    rlen = 1 + sum(f.length for f in fields)
    lang = CODE_PAGES.get(encoding.lower().replace("_", "-"), 0) if code_page is None else code_page
    # bytes 12–27 reserved, 28 MDX flag, 29 language driver, 30–31 reserved
    head = struct.pack("<BBBBIHH16xBB2x", 0x03, today.year - 1900, today.month, today.day, nrecords, hlen, rlen,
                       0, lang)
    parts = [head]
    for f in fields:
        parts.append(struct.pack("<11sc4xBB14x", f.name.encode("ascii"), f.type.encode("ascii"), f.length,
                                 f.decimals))
    parts.append(b"\r")
    return b"".join(parts)


def write_dbf(fields: Sequence[Field], rows: Iterable[Sequence[Any] | Mapping[str, Any]], encoding: str = "gbk",
              *, today: date | None = None, code_page: int | None = None) -> bytes:
    """The whole .DBF file as bytes (see the module docstring). `rows`: sequences in field order, or
    mappings keyed by field name (missing keys are blank). `code_page`: the language-driver byte when
    not the encoding's usual one (0x4D for GBK; Visual FoxPro marks cp936 as 0x7A, which is the only
    cp936 mark LibreOffice 7.4 recognises — dbfread knows both)."""
    fields = _check_fields(fields)
    "".encode(encoding)  # LookupError early for an unknown encoding
    encoders = []
    for f in fields:
        encoders.append({"C": lambda f=f: _text_encoder(f, encoding), "N": lambda f=f: _number_encoder(f),
                         "D": lambda f=f: _date_encoder(f), "L": lambda f=f: _logical_encoder(f)}[f.type]())
    names = [f.name for f in fields]
    width = len(fields)
    body = bytearray()
    count = 0
    it = iter(rows)
    while True:
        # column by column over a chunk of rows: map() runs each field's encoder without a Python-level
        # loop per value, then the records are joined (measured 2–3× faster than row by row)
        chunk = list(islice(it, CHUNK_ROWS))
        if not chunk:
            break
        for i, row in enumerate(chunk):
            if isinstance(row, Mapping):
                chunk[i] = row = [row.get(k) for k in names]
            if len(row) != width:
                raise DbfError(f"第 {count + i + 1} 条记录有 {len(row)} 个值，字段有 {width} 个。")
        cols = [list(map(enc, col)) for enc, col in zip(encoders, zip(*chunk))]
        body += b" "
        body += b" ".join(map(b"".join, zip(*cols)))
        count += len(chunk)
    if count > 0xFFFFFFFF:
        raise DbfError("记录数超过 DBF 上限。")
    return header(fields, count, encoding, today, code_page) + bytes(body) + b"\x1a"
