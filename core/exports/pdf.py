"""PDF rendering for 准考证 (001 §34 small 6/A4, §35 large 1/A4), 考场签到表 (§50) and 考场座次表 (§51).

Pure: plain data in (`TicketData` tuples, photo file paths), PDF bytes out; no DB, no streamlit.

Speed (10,000 small tickets with distinct photos is the target case): fpdf2's `multi_cell` per field
costs most of the time, so the renderers write text as raw PDF operators through a per-document
`Canvas`: every distinct string is encoded (font subset ids) and measured once and reused, fixed
labels and per-site strings therefore cost one dict lookup per ticket; a page's operators go out in
one `_out` call. Photos are JPEGs embedded as they are (fpdf2 passes JPEG through, Pillow only reads
the header). The QR code is drawn as one path of filled rectangles in module units, built from a
precomputed linear table (`qr_matrix`): QR encoding with a fixed version, error level and mask is
linear over GF(2) in the data bits, so a symbol is the XOR of one table entry per data byte — about
100x faster than encoding with segno, which builds (and tests check) the tables.

Fonts: WenQuanYi Micro Hei (assets/fonts, Apache-2.0), embedded as a subset. Loading the full font
costs ~0.3 s per document (fontTools parses 49k glyphs), so documents whose text fits GB2312 (almost
all) use a pre-cut GB2312 subset of it (~0.1 s); any other character switches that document to the
full font.

`FPDF._out` (private, fpdf2 2.8.9 pinned) is the one internal used: fpdf2 has no public call for raw
content operators.
"""
from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterable, NamedTuple, Sequence

from fpdf import FPDF

FONT_DIR = Path(__file__).resolve().parents[2] / "assets" / "fonts"
FULL_FONT = FONT_DIR / "wqy-microhei.ttc"
COMMON_FONT = FONT_DIR / "wqy-microhei-gb2312.ttf"
FONT_FAMILY = "wqy"

A4_W, A4_H = 210.0, 297.0
TITLE = "全国计算机等级考试准考证"

# 考生须知 of the large ticket (§35: fixed, not editable).
NOTICE_TITLE = "考生须知"
NOTICE = (
    "考生须携带本准考证和有效身份证件（与报名时所用证件一致），于考试开始前 30 分钟到达考场，"
    "经验证后按准考证上的考场和座位号就座，并将准考证和身份证件放在桌面左上角以备核查。",
    "考试开始 15 分钟后不得入场；考试开始后 30 分钟内不得离开考场。",
    "除黑色签字笔、铅笔、橡皮外，不得携带任何书籍、资料、手机、智能手表及其他电子设备进入考场；"
    "已携带的须关机后放在指定位置。",
    "考生在计算机上考试前须核对屏幕上显示的准考证号、姓名和证件号码，如有不符立即向监考员报告。",
    "考试过程中如遇计算机故障、死机等情况，应举手示意，由监考员处理，不得自行重启或操作其他计算机。",
    "考生应自觉遵守考场纪律，服从监考员管理，不得交头接耳、偷看他人屏幕或传递物品。",
    "考试结束前须按要求保存和提交答案，未按要求操作造成的后果由考生自负。",
    "违反考试规定的，将按照《国家教育考试违规处理办法》严肃处理。请妥善保管本准考证，领取证书时需要出示。",
)

# data of one ticket (the fields the renderers need); photo: file path of the JPEG or None.
class TicketData(NamedTuple):
    ticket_no: str
    verify_code: str
    name: str
    gender: str
    id_type: str
    id_number: str
    subject_code: str
    subject_name: str
    start: datetime | None
    end: datetime | None
    room_code: str
    session_number: str
    seat_no: int | None
    room_address: str
    site_code: str
    site_name: str
    site_address: str
    term_name: str
    photo: str | None
    class_name: str = ""


# ---------------------------------------------------------------- fonts
def _font_chars() -> set[int]:
    """What the common font keeps: ASCII, Latin-1, punctuation, symbols, full-width forms, GB2312."""
    chars: set[int] = set(range(0x20, 0x7F)) | set(range(0xA0, 0x180))
    for lo, hi in ((0x2000, 0x2070), (0x2100, 0x2200), (0x2190, 0x2200), (0x2460, 0x2500),
                   (0x2500, 0x2600), (0x3000, 0x3040), (0xFF00, 0xFFF0)):
        chars |= set(range(lo, hi))
    for b1 in range(0xA1, 0xF8):
        for b2 in range(0xA1, 0xFF):
            try:
                chars.add(ord(bytes((b1, b2)).decode("gb2312")))
            except UnicodeDecodeError:
                pass
    return chars


def build_common_font(dst: Path = COMMON_FONT) -> Path:
    """Cut the GB2312 subset of the full font (run once; the result is shipped in assets/fonts)."""
    from fontTools import subset, ttLib

    font = ttLib.TTFont(str(FULL_FONT), fontNumber=0)
    opts = subset.Options()
    opts.layout_features = []
    opts.notdef_outline = True
    opts.name_IDs = ["*"]
    opts.drop_tables += ["FFTM", "vhea", "vmtx", "GSUB", "GPOS", "GDEF"]
    sub = subset.Subsetter(opts)
    sub.populate(unicodes=_font_chars())
    sub.subset(font)
    font["post"].formatType = 3.0  # no glyph names: faster to load
    font.save(str(dst))
    return dst


@lru_cache(maxsize=1)
def common_cmap() -> frozenset[int]:
    from fontTools import ttLib

    if not COMMON_FONT.exists():
        return frozenset()
    return frozenset(ttLib.TTFont(str(COMMON_FONT), lazy=True).getBestCmap())


def font_file_for(chars: Iterable[str]) -> Path:
    """The common (fast) font when it covers every character, else the full font."""
    cm = common_cmap()
    if cm and all(ord(c) in cm for c in chars if c > "\x7f"):
        return COMMON_FONT
    return FULL_FONT


def subset_font_file(chars: Iterable[str], dst: Path) -> Path:
    """A small font with just `chars` (plus ASCII), for a batch of small documents (one sign-in sheet per
    session): each document then loads it in milliseconds instead of ~0.1–0.3 s for the shipped fonts."""
    from fontTools import subset, ttLib

    chars = set(chars)
    src = font_file_for(chars)
    font = ttLib.TTFont(str(src), fontNumber=0) if src.suffix == ".ttc" else ttLib.TTFont(str(src))
    opts = subset.Options()
    opts.layout_features = []
    opts.notdef_outline = True
    opts.name_IDs = ["*"]
    opts.drop_tables += ["FFTM", "vhea", "vmtx", "GSUB", "GPOS", "GDEF"]
    sub = subset.Subsetter(opts)
    sub.populate(unicodes={ord(c) for c in chars} | set(range(0x20, 0x7F)))
    sub.subset(font)
    font.save(str(dst))
    return dst


# ---------------------------------------------------------------- QR (fast linear encoder)
QR_ERROR = "m"


@lru_cache(maxsize=8)
def _qr_tables(length: int) -> tuple[int, int, int, list[list[int]]]:
    """(version, size, base, per-byte tables) for byte-mode texts of `length` bytes, mask 0."""
    import segno

    def bits(data: bytes, version=None) -> tuple[int, int, int]:
        q = segno.make_qr(data, error=QR_ERROR, mode="byte", mask=0, boost_error=False, version=version)
        m = q.matrix
        return q.version, len(m), int(b"".join(bytes(1 if v else 0 for v in row) for row in m)
                                     .translate(bytes.maketrans(b"\x00\x01", b"01")), 2)

    version, size, base = bits(b"\x00" * length)
    basis = []
    for j in range(length * 8):
        data = bytearray(length)
        data[j // 8] = 0x80 >> (j % 8)
        basis.append(bits(bytes(data), version)[2] ^ base)
    tables = []
    for i in range(length):
        t = [0] * 256
        for b in range(1, 256):
            low = b & -b
            t[b] = t[b ^ low] ^ basis[i * 8 + 7 - (low.bit_length() - 1)]
        tables.append(t)
    return version, size, base, tables


def qr_matrix(text: str) -> tuple[int, str]:
    """(size, rows as one '0'/'1' string) of the QR code (byte mode, level M, mask 0) of `text`.
    Same symbol as `segno.make_qr(text.encode(), error='m', mode='byte', mask=0)`."""
    data = text.encode("utf-8")
    if len(data) > 60:  # beyond what tickets need: plain segno
        import segno

        q = segno.make_qr(data, error=QR_ERROR, mode="byte", mask=0, boost_error=False)
        return len(q.matrix), "".join("1" if v else "0" for row in q.matrix for v in row)
    _version, size, m, tables = _qr_tables(len(data))
    for i, b in enumerate(data):
        if b:
            m ^= tables[i][b]
    return size, format(m, f"0{size * size}b")


_RUNS = re.compile("1+")


def qr_path_ops(text: str, x_pt: float, y_pt: float, size_pt: float) -> str:
    """PDF operators drawing the QR of `text` as vector rectangles (one path, module units), top-left
    corner at (x_pt, y_pt) (points, y from the bottom). ~0.35 ms per symbol: see `qr_ops`."""
    n, bits = qr_matrix(text)
    m = size_pt / n
    out = [f"q 0 g {m:.4f} 0 0 {-m:.4f} {x_pt:.2f} {y_pt:.2f} cm"]
    for r in range(n):
        row = bits[r * n:(r + 1) * n]
        for mt in _RUNS.finditer(row):
            out.append(f"{mt.start()} {r} {mt.end() - mt.start()} 1 re")
    out.append("f Q")
    return "\n".join(out)


def qr_ops(text: str, x_pt: float, y_pt: float, size_pt: float) -> str:
    """PDF operators drawing the QR of `text` as a 1-bit inline image (one pixel per module, not
    interpolated: viewers and printers scale it with sharp edges), top-left corner at (x_pt, y_pt)
    (points, y from the bottom), `size_pt` wide, no quiet zone. ~0.02 ms per symbol, against ~0.35 ms
    for the same symbol as vector rectangles (`qr_path_ops`) and 3x less content to compress."""
    n, bits = qr_matrix(text)
    nb = (n + 7) // 8
    pad = "0" * (nb * 8 - n)
    data = b"".join(int(bits[r * n:(r + 1) * n] + pad, 2).to_bytes(nb, "big") for r in range(n))
    return (f"q {size_pt:.2f} 0 0 {size_pt:.2f} {x_pt:.2f} {y_pt - size_pt:.2f} cm "
            f"BI /W {n} /H {n} /BPC 1 /CS /G /D [1 0] /I false /F /AHx ID {data.hex()}> EI Q")


# ---------------------------------------------------------------- canvas
class Canvas:
    """An fpdf2 document with fast raw text: every distinct string is encoded and measured once."""

    def __init__(self, chars: Iterable[str] = (), font_file: Path | None = None):
        pdf = FPDF(unit="mm", format="A4")
        pdf.set_auto_page_break(False)
        pdf.set_margins(0, 0, 0)
        pdf.set_creator("Kaowu")
        pdf.add_font(FONT_FAMILY, "", str(font_file or font_file_for(set(chars))))
        pdf.set_font(FONT_FAMILY, size=10)
        self.pdf = pdf
        self.font = pdf.fonts[FONT_FAMILY]
        # the subset keeps each glyph's outline as it is: with bounding boxes recalculated, fontTools
        # decompiles and recompiles every used glyph when fpdf2 saves the subset (~0.3 ms a glyph)
        self.font.ttfont.recalcBBoxes = False
        self.fi = self.font.i
        self.k = pdf.k
        self.ops: list[str] = []
        self._enc: dict[str, str] = {}
        self._w: dict[str, float] = {}
        self._wrapped: dict[tuple[str, float, float], list[str]] = {}
        self.pages = 0

    # -- pages
    def add_page(self) -> None:
        self.flush()
        self.pdf.add_page()
        self.pdf.text(0, 0, "")  # registers the font on the page (public API)
        self.pages += 1

    def flush(self) -> None:
        if self.ops:
            self.pdf._out("\n".join(self.ops))
            self.ops = []

    def output(self) -> bytes:
        self.flush()
        return bytes(self.pdf.output())

    # -- text
    def enc(self, s: str) -> str:
        e = self._enc.get(s)
        if e is None:
            e = self._enc[s] = self.font.encode_text(s)
        return e

    def width(self, s: str, size: float) -> float:
        """Width in mm of `s` at `size` pt."""
        w = self._w.get(s)
        if w is None:
            cw = self.font.cw
            w = self._w[s] = sum(cw[ord(c)] for c in s) / 1000 / self.k
        return w * size

    def text(self, x: float, y: float, s: str, size: float = 9) -> None:
        """`s` with its baseline starting at (x, y) mm (y from the top)."""
        if s:
            self.ops.append(f"BT /F{self.fi} {size:.2f} Tf {x * self.k:.2f} {(A4_H - y) * self.k:.2f} Td "
                            f"{self.enc(s)} ET")

    def text_center(self, cx: float, y: float, s: str, size: float = 9) -> None:
        self.text(cx - self.width(s, size) / 2, y, s, size)

    def text_fit(self, x: float, y: float, s: str, width: float, size: float = 9, min_size: float = 6) -> None:
        """One line, shrunk (down to `min_size`) to fit `width` mm."""
        w = self.width(s, size)
        if w > width:
            size = max(min_size, size * width / w)
        self.text(x, y, s, size)

    def wrap(self, s: str, width: float, size: float) -> list[str]:
        """Lines of `s` that fit `width` mm (CJK: break anywhere; keeps Latin words when it can);
        memoised: a site's address is wrapped once per document."""
        key = (s, width, size)
        got = self._wrapped.get(key)
        if got is None:
            got = self._wrapped[key] = self._wrap(s, width, size)
        return got

    def _wrap(self, s: str, width: float, size: float) -> list[str]:
        lines, cur, cur_w = [], "", 0.0
        for ch in s:
            if ch == "\n":
                lines.append(cur)
                cur, cur_w = "", 0.0
                continue
            cw = self.width(ch, size)
            if cur and cur_w + cw > width:
                m = re.search(r"[A-Za-z0-9]+$", cur)
                if m and m.start() > 0 and ch.isalnum() and ch.isascii():
                    lines.append(cur[:m.start()])
                    cur = cur[m.start():]
                    cur_w = self.width(cur, size)
                else:
                    lines.append(cur)
                    cur, cur_w = "", 0.0
                    if ch == " ":
                        continue
            cur += ch
            cur_w += cw
        if cur:
            lines.append(cur)
        return lines

    def lines(self, x: float, y: float, lines: Sequence[str], size: float, pitch: float) -> float:
        for ln in lines:
            self.text(x, y, ln, size)
            y += pitch
        return y

    # -- graphics
    def _pen(self, lw: float, gray: float | None, dash: bool) -> str:
        """Save the graphics state and set the line width, gray level and dash of the next stroke."""
        pre = f"q {lw * self.k:.2f} w"
        if gray is not None:
            pre += f" {gray:.2f} G"
        if dash:
            pre += " [3 2] 0 d"
        return pre

    def rect(self, x: float, y: float, w: float, h: float, lw: float = 0.2, gray: float | None = None,
             dash: bool = False) -> None:
        k = self.k
        self.ops.append(f"{self._pen(lw, gray, dash)} {x * k:.2f} {(A4_H - y - h) * k:.2f} "
                        f"{w * k:.2f} {h * k:.2f} re S Q")

    def line(self, x1: float, y1: float, x2: float, y2: float, lw: float = 0.2, gray: float | None = None,
             dash: bool = False) -> None:
        k = self.k
        self.ops.append(f"{self._pen(lw, gray, dash)} {x1 * k:.2f} {(A4_H - y1) * k:.2f} m "
                        f"{x2 * k:.2f} {(A4_H - y2) * k:.2f} l S Q")

    def qr(self, text: str, x: float, y: float, size: float) -> None:
        self.ops.append(qr_ops(text, x * self.k, (A4_H - y) * self.k, size * self.k))

    def photo(self, path: str | None, x: float, y: float, w: float, h: float, label: str = "无照片",
              label_size: float = 9) -> bool:
        """The JPEG at `path` in the box (x, y, w, h), or a framed "无照片" box. True when drawn."""
        if path:
            try:
                self.flush()
                self.pdf.image(path, x=x, y=y, w=w, h=h)
                return True
            except Exception:  # missing or unreadable file: the box below
                pass
        self.rect(x, y, w, h, lw=0.3, gray=0.5)
        self.text_center(x + w / 2, y + h / 2 + label_size * 0.13, label, label_size)
        return False


# ---------------------------------------------------------------- shared bits
def fmt_time(start: datetime | None, end: datetime | None) -> str:
    if start is None:
        return ""
    s = f"{start:%Y-%m-%d %H:%M}"
    if end is not None:
        s += f"–{end:%H:%M}" if end.date() == start.date() else f" 至 {end:%Y-%m-%d %H:%M}"
    return s


def seat_text(seat_no: int | None) -> str:
    return "" if seat_no is None else f"{seat_no:02d}"


def _subject(t: TicketData) -> str:
    return f"{t.subject_code} {t.subject_name}".strip()


def qr_text(ticket_no: str, code: str) -> str:
    return f"{ticket_no}|{code}"


def doc_chars(tickets: Iterable[TicketData], extra: Iterable[str] = ()) -> set[str]:
    chars: set[str] = set()
    for t in tickets:
        chars.update(t.name, t.subject_name, t.site_name, t.site_address, t.term_name, t.room_address,
                     t.class_name, t.gender, t.id_type)
    for s in extra:
        chars.update(s)
    return chars


FIXED_TEXT = (TITLE + NOTICE_TITLE + "".join(NOTICE) + "姓名性别证件号码准考证号科目考试时间考场批次座位号考点名称"
              "地址无照片验证码签到表座次表监考员签名实到人数缺考人数第页共讲台照片请携带本证及有效身份证件参加考试"
              "：（）　#、，。0123456789–—至")


# ---------------------------------------------------------------- small tickets (6 per A4)
SMALL_COLS, SMALL_ROWS = 2, 3
SMALL_W, SMALL_H = 100.0, 96.0
SMALL_X0, SMALL_Y0 = 5.0, 4.5


def _small_ticket(c: Canvas, t: TicketData, X: float, Y: float) -> None:
    c.rect(X + 1.5, Y + 1.5, SMALL_W - 3, SMALL_H - 3, lw=0.35)
    cx = X + SMALL_W / 2
    c.text_center(cx, Y + 9.5, TITLE, 13)
    c.text_center(cx, Y + 14.2, t.term_name, 8)
    c.line(X + 4, Y + 16.3, X + SMALL_W - 4, Y + 16.3, lw=0.25)
    lx, vx, right = X + 5, X + 21.5, X + 71
    size, pitch = 9, 5.6
    y = Y + 22.3
    c.text(lx, y, "姓　　名：", size)
    c.text_fit(vx, y, t.name, 28, 10)
    c.text(X + 52, y, "性别：", size)
    c.text(X + 61.5, y, t.gender or "", size)
    y += pitch
    c.text(lx, y, "证件号码：", size)
    c.text_fit(vx, y, t.id_number, right - vx, size)
    y += pitch
    c.text(lx, y, "准考证号：", size)
    c.text(vx, y, t.ticket_no, 10)
    y += pitch
    c.text(lx, y, "科　　目：", size)
    c.text_fit(vx, y, _subject(t), right - vx, size, 6.5)
    y += pitch
    c.text(lx, y, "考试时间：", size)
    c.text_fit(vx, y, fmt_time(t.start, t.end), right - vx, size)
    y += pitch
    c.text(lx, y, "考场批次：", size)
    c.text(vx, y, t.session_number, 10)
    c.text(X + 45, y, "座位号：", size)
    c.text(X + 57.5, y, seat_text(t.seat_no), 10)
    y += pitch
    if t.room_address:
        c.text(lx, y, "考场地址：", size)
        c.text_fit(vx, y, t.room_address, right - vx, size, 6.5)
        y += pitch
    c.text(lx, y, "考点名称：", size)
    c.text_fit(vx, y, f"{t.site_code} {t.site_name}".strip(), right - vx, size, 6.5)
    y += pitch
    c.text(lx, y, "考点地址：", size)
    addr = c.wrap(t.site_address or "", right - vx, 8)[:3]
    c.lines(vx, y, addr, 8, 4.2)
    c.text(lx, Y + SMALL_H - 5.5, "请携带本证及有效身份证件参加考试", 7.5)
    # photo and QR on the right
    c.photo(t.photo, X + 73.5, Y + 19, 22, 29.3)
    c.qr(qr_text(t.ticket_no, t.verify_code), X + 74.5, Y + 61, 20)
    c.text_center(X + 84.5, Y + 85, t.verify_code, 8)


def render_small_tickets(tickets: Sequence[TicketData]) -> bytes:
    """6 tickets per A4 page (2 columns × 3 rows), cut lines between them."""
    c = Canvas(doc_chars(tickets, [FIXED_TEXT]))
    per_page = SMALL_COLS * SMALL_ROWS
    for i, t in enumerate(tickets):
        j = i % per_page
        if j == 0:
            c.add_page()
            c.line(A4_W / 2, 2, A4_W / 2, A4_H - 2, lw=0.15, gray=0.6, dash=True)
            for r in range(1, SMALL_ROWS):
                yy = SMALL_Y0 + r * SMALL_H
                c.line(2, yy, A4_W - 2, yy, lw=0.15, gray=0.6, dash=True)
        col, row = j % SMALL_COLS, j // SMALL_COLS
        _small_ticket(c, t, SMALL_X0 + col * SMALL_W, SMALL_Y0 + row * SMALL_H)
    return c.output()


# ---------------------------------------------------------------- large tickets (1 per A4)
def render_large_tickets(tickets: Sequence[TicketData]) -> bytes:
    """One ticket per A4 page, with the fixed 考生须知."""
    c = Canvas(doc_chars(tickets, [FIXED_TEXT]))
    notice = [(f"{i}. ", c.wrap(p, 170, 10.5)) for i, p in enumerate(NOTICE, 1)]
    for t in tickets:
        c.add_page()
        c.rect(12, 12, A4_W - 24, A4_H - 24, lw=0.5)
        c.text_center(A4_W / 2, 28, TITLE, 20)
        c.text_center(A4_W / 2, 36, t.term_name, 12)
        c.line(18, 40, A4_W - 18, 40, lw=0.4)
        lx, vx, right = 22, 50, 148
        y, pitch, size = 52, 10.5, 12
        fields = [("姓　　名：", t.name), ("性　　别：", t.gender or ""),
                  (f"{t.id_type or '证件号码'}：" if len(t.id_type or "") <= 5 else "证件号码：", t.id_number),
                  ("准考证号：", t.ticket_no), ("科　　目：", _subject(t)),
                  ("考试时间：", fmt_time(t.start, t.end)),
                  ("考场批次：", f"{t.session_number}　　座位号：{seat_text(t.seat_no)}")]
        if t.room_address:
            fields.append(("考场地址：", t.room_address))
        fields.append(("考点名称：", f"{t.site_code} {t.site_name}".strip()))
        for label, value in fields:
            c.text_fit(lx, y, label, vx - lx - 1, size)
            c.text_fit(vx, y, value, right - vx, 13 if label.startswith("准考证号") else size, 8)
            y += pitch
        c.text(lx, y, "考点地址：", size)
        addr = c.wrap(t.site_address or "", A4_W - 22 - vx, 11)[:3]
        y = c.lines(vx, y, addr or [""], 11, 6) + 4
        c.photo(t.photo, 153, 48, 36, 48, label_size=12)
        c.qr(qr_text(t.ticket_no, t.verify_code), 156, 104, 30)
        c.text_center(171, 140, "验证码：" + t.verify_code, 10)
        y = max(y, 146)
        c.line(18, y, A4_W - 18, y, lw=0.3)
        y += 9
        c.text_center(A4_W / 2, y, NOTICE_TITLE, 15)
        y += 9
        for num, lines in notice:
            c.text(22, y, num, 10.5)
            y = c.lines(28, y, lines, 10.5, 5.6) + 1.6
    return c.output()


# ---------------------------------------------------------------- sign-in sheets and seating charts
def _sheet_header(c: Canvas, title: str, t: TicketData, count: int, page: int, pages: int) -> float:
    c.text_center(A4_W / 2, 18, title, 17)
    c.text_center(A4_W / 2, 25, t.term_name, 10)
    y = 33
    c.text(12, y, f"考点：{t.site_code} {t.site_name}", 10)
    c.text(120, y, f"考场：{t.room_code}" + (f"（{t.room_address}）" if t.room_address else ""), 10)
    y += 6
    c.text(12, y, f"批次：{t.session_number}", 10)
    c.text(60, y, f"考试时间：{fmt_time(t.start, t.end)}", 10)
    c.text(150, y, f"应到人数：{count}", 10)
    c.text_center(A4_W / 2, A4_H - 7, f"第 {page} 页 共 {pages} 页", 8)
    return y + 4


SIGNIN_COLS = (("座位号", 14), ("照片", 17), ("姓名", 26), ("证件号码", 40), ("准考证号", 35), ("科目", 36),
               ("签名", 28))
SIGNIN_ROW_H = 21.0
SIGNIN_PER_PAGE = 11


def render_signin(tickets: Sequence[TicketData], font_file: Path | None = None) -> bytes:
    """考场签到表 of one room session (批次): one row per seat with photo and an empty signature box."""
    c = Canvas(doc_chars(tickets, [FIXED_TEXT]), font_file)
    _signin_doc(c, tickets)
    return c.output()


def _signin_doc(c: Canvas, tickets: Sequence[TicketData]) -> None:
    pages = max(1, -(-len(tickets) // SIGNIN_PER_PAGE))
    x0 = 12.0
    total_w = sum(w for _, w in SIGNIN_COLS)
    for p in range(pages):
        c.add_page()
        y = _sheet_header(c, "考场签到表", tickets[0], len(tickets), p + 1, pages)
        # header row
        c.rect(x0, y, total_w, 8, lw=0.3)
        x = x0
        for label, w in SIGNIN_COLS:
            c.text_center(x + w / 2, y + 5.5, label, 9.5)
            x += w
            if x < x0 + total_w:
                c.line(x, y, x, y + 8, lw=0.3)
        y += 8
        for t in tickets[p * SIGNIN_PER_PAGE:(p + 1) * SIGNIN_PER_PAGE]:
            c.rect(x0, y, total_w, SIGNIN_ROW_H, lw=0.3)
            x = x0
            mid = y + SIGNIN_ROW_H / 2 + 1.3
            for label, w in SIGNIN_COLS:
                if label == "座位号":
                    c.text_center(x + w / 2, mid, seat_text(t.seat_no), 11)
                elif label == "照片":
                    c.photo(t.photo, x + 1.75, y + 1.2, 13.5, 18.6, label_size=6.5)
                elif label == "姓名":
                    c.text_fit(x + 1.5, mid, t.name, w - 3, 10)
                elif label == "证件号码":
                    c.text_fit(x + 1.5, mid, t.id_number, w - 3, 8.5)
                elif label == "准考证号":
                    c.text_fit(x + 1.5, mid, t.ticket_no, w - 3, 9)
                elif label == "科目":
                    lines = c.wrap(_subject(t), w - 3, 8)[:3]
                    c.lines(x + 1.5, mid - (len(lines) - 1) * 1.9, lines, 8, 3.8)
                x += w
                if x < x0 + total_w:
                    c.line(x, y, x, y + SIGNIN_ROW_H, lw=0.3)
            y += SIGNIN_ROW_H
        if p == pages - 1:
            y += 9
            c.text(x0, y, "监考员签名：______________　　______________", 10.5)
            c.text(x0 + 118, y, "实到人数：______　缺考人数：______", 10.5)


SEAT_COLS = 5
SEAT_W, SEAT_H = 36.0, 27.0


def render_seating(tickets: Sequence[TicketData], font_file: Path | None = None) -> bytes:
    """考场座次表 of one room session: the seat grid (5 columns), seat number, name, ticket number,
    subject."""
    c = Canvas(doc_chars(tickets, [FIXED_TEXT]), font_file)
    seats = sorted(tickets, key=lambda t: (t.seat_no is None, t.seat_no or 0))
    top = 58.0
    per_page = SEAT_COLS * int((A4_H - top - 14) // (SEAT_H + 2))
    pages = max(1, -(-len(seats) // per_page))
    x0 = (A4_W - SEAT_COLS * SEAT_W - (SEAT_COLS - 1) * 2) / 2
    for p in range(pages):
        c.add_page()
        y = _sheet_header(c, "考场座次表", seats[0], len(seats), p + 1, pages)
        c.rect(A4_W / 2 - 25, y + 1, 50, 8, lw=0.4)
        c.text_center(A4_W / 2, y + 6.5, "讲　台", 11)
        for j, t in enumerate(seats[p * per_page:(p + 1) * per_page]):
            col, row = j % SEAT_COLS, j // SEAT_COLS
            x = x0 + col * (SEAT_W + 2)
            yy = top + row * (SEAT_H + 2)
            c.rect(x, yy, SEAT_W, SEAT_H, lw=0.35)
            c.text_center(x + SEAT_W / 2, yy + 7, f"{seat_text(t.seat_no)} 号", 12)
            c.text_center(x + SEAT_W / 2, yy + 13, t.name, 10.5)
            c.text_center(x + SEAT_W / 2, yy + 18.3, t.ticket_no, 8.5)
            subj = _subject(t)
            sz = 7.5 if c.width(subj, 7.5) <= SEAT_W - 2 else max(5.5, 7.5 * (SEAT_W - 2) / c.width(subj, 7.5))
            c.text_center(x + SEAT_W / 2, yy + 23.5, subj, sz)
    return c.output()


def render_tickets(layout: str, tickets: Sequence[TicketData]) -> bytes:
    if layout == "small":
        return render_small_tickets(tickets)
    if layout == "large":
        return render_large_tickets(tickets)
    raise ValueError(f"unknown ticket layout {layout!r}")


SHEETS: dict[str, Callable[..., bytes]] = {"signin": render_signin, "seating": render_seating}


def render_sheets(kind: str, groups: Sequence[Sequence[TicketData]]) -> list[bytes]:
    """One PDF per group (room session) of `kind` signin/seating. Several groups share one font cut to
    the characters they use (see `subset_font_file`)."""
    import tempfile

    fn = SHEETS[kind]
    if len(groups) < 3:
        return [fn(g) for g in groups]
    with tempfile.TemporaryDirectory(prefix="kaowu-font-") as tmp:
        font = subset_font_file(doc_chars([t for g in groups for t in g], [FIXED_TEXT]), Path(tmp) / "f.ttf")
        return [fn(g, font) for g in groups]
