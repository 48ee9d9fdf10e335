"""证书领取确认单下载 (001 §52; §9: inside the 考后资料下载时间).

After the scores are imported (§40), the site hands out the certificates of the candidates who passed
(score ≥ PASS_SCORE and no 违规标记) and keeps a signed record. The builder makes a ZIP with one PDF per
考场 (the room of the 报考's session; 准考证号 order) — 序号, 准考证号, 姓名, 证件号码, 科目, 成绩等级,
证书编号 and empty boxes for 领取人签名 and 领取日期, with 经办人 / 考点负责人 signatures and 考点盖章 on
every page — plus one site summary PDF (certificates per room and subject by 成绩等级).

Like tickets and sign-in sheets these are the site's printed records: full ID numbers for the site's own
admin (only it generates and downloads, see core.services.generated), masked for anyone else.
"""
from __future__ import annotations

import io
import tempfile
import zipfile
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from core.auth import Actor, get_scoped_org
from core.errors import DomainError, NotFound
from core.exports import pdf as P
from core.masking import mask_id
from core.models import (
    Enrollment, ExamRoom, ExamSession, ExamTerm, Org, Registration, Score, Subject,
)
from core.models.postexam import PASS_SCORE, SCORE_BANDS
from core.services.generated import Built
from core.services.scores import level_of

Progress = Callable[[float, str], None]
KIND = "cert_receipt"
TITLE = "全国计算机等级考试 证书领取确认单"
SUMMARY_TITLE = "全国计算机等级考试 证书领取汇总表"
NO_ROOM = "未编排考场"
PASS_BANDS = tuple(b for b in SCORE_BANDS if b[1] >= PASS_SCORE)  # 优秀, 良好, 及格
NOTE = "请领取人核对姓名、证件号码、科目和证书编号无误后签名并填写领取日期；代领的请注明“代领”及代领人姓名。"
SIGN_LINE = "经办人签名：______________　　考点负责人签名：______________　　考点盖章："


def _noop(_f: float, _t: str) -> None:
    pass


def band_of(score: int | None) -> str:
    """成绩等级 of a score (SCORE_BANDS), '' for no score."""
    return level_of(score, None)


def _passed():
    return (Score.score >= PASS_SCORE, or_(Score.flag == "", Score.flag.is_(None)))


def _site(s: Session, actor: Actor, site_id: int) -> Org:
    site = get_scoped_org(s, actor, site_id)
    if site.kind != "site":
        raise NotFound("请选择考点。")
    return site


# ---------------------------------------------------------------- readiness
@dataclass(frozen=True)
class ReceiptReadiness:
    scores: int  # imported score rows of the site in the 考次
    passed: int  # of which passed (certificates)
    rooms: int  # rooms (PDFs) the passed candidates sit in
    reason: str | None  # None: ready to generate

    @property
    def text(self) -> str:
        return f"已导入成绩 {self.scores} 科次，其中合格（可领取证书）{self.passed} 科次，分布在 {self.rooms} 个考场。"


def readiness(s: Session, actor: Actor, site_id: int) -> ReceiptReadiness:
    """Whether 证书领取确认单 can be generated: the site needs imported scores and at least one passed
    candidate (the reason is shown instead of a dead 生成 button)."""
    site = _site(s, actor, site_id)
    base = (Score.term_id == actor.term_id, Score.site_id == site.id)
    scores = int(s.scalar(select(func.count()).select_from(Score).where(*base)) or 0)
    passed = int(s.scalar(select(func.count()).select_from(Score).where(*base, *_passed())) or 0)
    rooms = 0
    if passed:
        rooms = int(s.scalar(
            select(func.count(func.distinct(func.coalesce(ExamSession.room_id, 0))))
            .select_from(Score).join(Registration, Registration.id == Score.registration_id)
            .outerjoin(ExamSession, ExamSession.id == Registration.session_id)
            .where(*base, *_passed())) or 0)
    reason = None
    if not scores:
        reason = "本考点在本考次尚未导入成绩信息，请先在《成绩管理》→《成绩信息导入》中导入成绩后再生成证书领取确认单。"
    elif not passed:
        reason = (f"本考点已导入的 {scores} 条成绩中没有合格的考生（成绩 ≥ {PASS_SCORE} 且无违规标记），"
                  "没有需要领取的证书。")
    return ReceiptReadiness(scores, passed, rooms, reason)


# ---------------------------------------------------------------- rows
@dataclass(frozen=True)
class ReceiptRow:
    ticket_no: str
    name: str
    id_number: str  # full for the site's own admin, masked otherwise
    subject_code: str
    subject_name: str
    score: int
    band: str
    cert_no: str
    room_code: str  # '' when the 报考 has no session (arrangement cleared after the exam)
    room_address: str

    @property
    def subject(self) -> str:
        return f"{self.subject_code} {self.subject_name}".strip()


def receipt_rows(s: Session, actor: Actor, site_id: int) -> list[ReceiptRow]:
    """The site's passed 报考 in the viewed 考次, by room then 准考证号."""
    site = _site(s, actor, site_id)
    full = actor.role == "site_admin" and actor.org_id == site.id
    q = (select(Score.ticket_no, Enrollment.name, Enrollment.id_number, Subject.code, Subject.name, Score.score,
                Score.cert_no, ExamRoom.code, ExamRoom.address)
         .join(Registration, Registration.id == Score.registration_id)
         .join(Enrollment, Enrollment.id == Registration.enrollment_id)
         .join(Subject, Subject.id == Score.subject_id)
         .outerjoin(ExamSession, ExamSession.id == Registration.session_id)
         .outerjoin(ExamRoom, ExamRoom.id == ExamSession.room_id)
         .where(Score.term_id == actor.term_id, Score.site_id == site.id, *_passed()))
    rows = [ReceiptRow(t or "", name or "", idn if full else mask_id(idn), sc, sn, score, band_of(score),
                       cert or "", room or "", addr or "")
            for t, name, idn, sc, sn, score, cert, room, addr in s.execute(q)]
    rows.sort(key=lambda r: (r.room_code == "", r.room_code, r.ticket_no))
    return rows


def room_groups(rows: Sequence[ReceiptRow]) -> list[list[ReceiptRow]]:
    """Rows per room (room code order, rows without a room last), each by 准考证号."""
    groups: dict[str, list[ReceiptRow]] = defaultdict(list)
    for r in rows:
        groups[r.room_code].append(r)
    out = [sorted(g, key=lambda r: r.ticket_no) for g in groups.values()]
    out.sort(key=lambda g: (g[0].room_code == "", g[0].room_code))
    return out


def room_label(r: ReceiptRow) -> str:
    if not r.room_code:
        return NO_ROOM
    return f"{r.room_code}" + (f"（{r.room_address}）" if r.room_address else "")


def doc_title(term_name: str, title: str = TITLE) -> str:
    """"<考次名称> 全国计算机等级考试 证书领取确认单" (the 考次 name usually already says 全国计算机等级考试:
    then it is not repeated)."""
    head = title.split(" ", 1)
    if head[0] in term_name:
        return f"{term_name} {head[1]}"
    return f"{term_name} {title}"


# ---------------------------------------------------------------- rendering
X0 = 10.0
COLS: tuple[tuple[str, float], ...] = (("序号", 9), ("准考证号", 28), ("姓名", 18), ("证件号码", 33), ("科目", 29),
                                       ("成绩等级", 15), ("证书编号", 23), ("领取人签名", 20), ("领取日期", 15))
TABLE_W = sum(w for _l, w in COLS)
HEAD_H, ROW_H = 8.0, 10.5
ROWS_PER_PAGE = 20
FOOT_Y = P.A4_H - 19

FIXED = (TITLE + SUMMARY_TITLE + NOTE + SIGN_LINE + NO_ROOM + "".join(c for c, _w in COLS)
         + "考点考场全部合格证书本个第页共人数合计优秀良好及格科目领取（）：　#、，。“”0123456789-—至年月日")


def _chars(*texts: str) -> set[str]:
    out = set(FIXED)
    for t in texts:
        out.update(t)
    return out


def _footer(c: P.Canvas, page: int, pages: int) -> None:
    c.line(X0, FOOT_Y - 6, X0 + TABLE_W, FOOT_Y - 6, lw=0.2, gray=0.6)
    c.text(X0, FOOT_Y + 1, SIGN_LINE, 10)
    c.text(X0, FOOT_Y + 9, "日期：________年____月____日", 10)
    c.text_center(P.A4_W / 2, P.A4_H - 5, f"第 {page} 页 共 {pages} 页", 8)


def _header(c: P.Canvas, title: str, lines: Sequence[tuple[str, str, str]]) -> float:
    w = c.width(title, 16)
    size = 16 if w <= TABLE_W else max(11, 16 * TABLE_W / w)
    c.text_center(P.A4_W / 2, 17, title, size)
    y = 27.0
    for left, mid, right in lines:
        c.text_fit(X0, y, left, 95, 10)
        if mid:
            c.text_fit(X0 + 96, y, mid, 58, 10)
        if right:
            c.text_fit(X0 + 156, y, right, TABLE_W - 156, 10)
        y += 6
    return y


def _table_head(c: P.Canvas, y: float, cols: Sequence[tuple[str, float]]) -> float:
    total = sum(w for _l, w in cols)
    c.rect(X0, y, total, HEAD_H, lw=0.35)
    x = X0
    for label, w in cols:
        c.text_fit(x + max(0.8, (w - c.width(label, 9)) / 2), y + 5.4, label, w - 1.6, 9)
        x += w
        if x < X0 + total - 0.01:
            c.line(x, y, x, y + HEAD_H, lw=0.3)
    return y + HEAD_H


def render_room(title: str, site_label: str, rows: Sequence[ReceiptRow], font_file: Path | None = None) -> bytes:
    """证书领取确认单 of one room: a table of the passed candidates, ROWS_PER_PAGE a page, signatures and
    page x/y on every page."""
    c = P.Canvas(_chars(title, site_label, *(f"{r.name}{r.subject}{r.room_address}{r.cert_no}{r.id_number}"
                                               for r in rows)), font_file)
    pages = max(1, -(-len(rows) // ROWS_PER_PAGE))
    room = room_label(rows[0]) if rows else NO_ROOM
    for p in range(pages):
        c.add_page()
        y = _header(c, title, [(f"考点：{site_label}", f"考场：{room}", f"合格证书：{len(rows)} 本")])
        c.text_fit(X0, y, NOTE, TABLE_W, 8.5)
        y = _table_head(c, y + 3, COLS)
        for i, r in enumerate(rows[p * ROWS_PER_PAGE:(p + 1) * ROWS_PER_PAGE], start=p * ROWS_PER_PAGE + 1):
            c.rect(X0, y, TABLE_W, ROW_H, lw=0.3)
            mid = y + ROW_H / 2 + 1.3
            x = X0
            for label, w in COLS:
                if label == "序号":
                    c.text_center(x + w / 2, mid, str(i), 9)
                elif label == "准考证号":
                    c.text_fit(x + 1, mid, r.ticket_no, w - 2, 8.5)
                elif label == "姓名":
                    c.text_fit(x + 1, mid, r.name, w - 2, 9.5)
                elif label == "证件号码":
                    c.text_fit(x + 1, mid, r.id_number, w - 2, 8.5)
                elif label == "科目":
                    lines = c.wrap(r.subject, w - 2, 7.5)[:2]
                    c.lines(x + 1, mid - (len(lines) - 1) * 1.7, lines, 7.5, 3.4)
                elif label == "成绩等级":
                    c.text_center(x + w / 2, mid, r.band, 9.5)
                elif label == "证书编号":
                    c.text_fit(x + 1, mid, r.cert_no, w - 2, 8.5)
                x += w
                if x < X0 + TABLE_W - 0.01:
                    c.line(x, y, x, y + ROW_H, lw=0.3)
            y += ROW_H
        _footer(c, p + 1, pages)
    return c.output()


SUMMARY_COLS: tuple[tuple[str, float], ...] = (("考场", 46), ("科目", 64), *((b[0], 20) for b in PASS_BANDS),
                                               ("合计", 20))
SUMMARY_ROW_H = 8.0
SUMMARY_ROWS_PER_PAGE = 26


def summary_table(groups: Sequence[Sequence[ReceiptRow]]) -> list[list[str | int]]:
    """Certificates per room and subject by 成绩等级, then per subject over all rooms (several rooms), then the
    合计 row: the summary PDF's rows."""
    out: list[list[str | int]] = []
    totals = [0] * (len(PASS_BANDS) + 1)
    per_subject: dict[str, list[int]] = {}
    for g in groups:
        by_subject: dict[str, list[int]] = {}
        for r in g:
            counts = by_subject.setdefault(r.subject, [0] * (len(PASS_BANDS) + 1))
            for j, (label, _lo, _hi) in enumerate(PASS_BANDS):
                if r.band == label:
                    counts[j] += 1
            counts[-1] += 1
        for subject, counts in sorted(by_subject.items()):
            out.append([room_label(g[0]), subject, *counts])
            totals = [a + b for a, b in zip(totals, counts)]
            per_subject[subject] = [a + b for a, b in zip(per_subject.get(subject, [0] * len(counts)), counts)]
    if len(groups) > 1:  # the site's figures per subject
        out += [["全部考场", subject, *counts] for subject, counts in sorted(per_subject.items())]
    out.append(["合计", f"{len(groups)} 个考场", *totals])
    return out


def render_summary(title: str, site_label: str, groups: Sequence[Sequence[ReceiptRow]],
                   font_file: Path | None = None) -> bytes:
    """The site's summary: certificates per room × subject by 成绩等级, with a 合计 row."""
    table = summary_table(groups)
    c = P.Canvas(_chars(title, site_label, *(f"{x[0]}{x[1]}" for x in table)), font_file)
    pages = max(1, -(-len(table) // SUMMARY_ROWS_PER_PAGE))
    total = table[-1][-1]
    width = sum(w for _l, w in SUMMARY_COLS)
    for p in range(pages):
        c.add_page()
        y = _header(c, title, [(f"考点：{site_label}", f"考场：{len(groups)} 个", f"合格证书：{total} 本")])
        y = _table_head(c, y + 1, SUMMARY_COLS)
        for row in table[p * SUMMARY_ROWS_PER_PAGE:(p + 1) * SUMMARY_ROWS_PER_PAGE]:
            c.rect(X0, y, width, SUMMARY_ROW_H, lw=0.3)
            x = X0
            mid = y + SUMMARY_ROW_H / 2 + 1.3
            for k, (label, w) in enumerate(SUMMARY_COLS):
                v = row[k]
                if isinstance(v, int):
                    c.text_center(x + w / 2, mid, str(v), 9.5)
                else:
                    c.text_fit(x + 1.2, mid, v, w - 2.4, 9)
                x += w
                if x < X0 + width - 0.01:
                    c.line(x, y, x, y + SUMMARY_ROW_H, lw=0.3)
            y += SUMMARY_ROW_H
        _footer(c, p + 1, pages)
    return c.output()


def member_name(site_code: str, room_code: str | None) -> str:
    """ZIP member names: `<考点代码>_证书领取确认单_考场01.pdf` per room, `<考点代码>_证书领取确认单_汇总.pdf`."""
    if room_code is None:
        return f"{site_code}_证书领取确认单_汇总.pdf"
    return f"{site_code}_证书领取确认单_{('考场' + room_code) if room_code else NO_ROOM}.pdf"


def receipts_zip(term_name: str, site_code: str, site_label: str, rows: Sequence[ReceiptRow],
                 progress: Progress = _noop) -> bytes:
    """The ZIP (stored: PDFs are compressed already): the summary first, then one PDF per room."""
    if not rows:
        raise DomainError("没有合格的考生，无需生成证书领取确认单。")
    groups = room_groups(rows)
    title, sum_title = doc_title(term_name), doc_title(term_name, SUMMARY_TITLE)
    buf = io.BytesIO()
    with tempfile.TemporaryDirectory(prefix="kaowu-font-") as tmp, zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        font = None
        if len(groups) >= 3:  # one small font for all the documents (see core.exports.pdf.subset_font_file)
            texts = [title, sum_title, site_label] + [f"{r.name}{r.subject}{r.room_address}{r.cert_no}{r.id_number}"
                                                      for r in rows]
            font = P.subset_font_file(_chars(*texts), Path(tmp) / "f.ttf")
        progress(0.08, "正在生成汇总表…")
        z.writestr(member_name(site_code, None), render_summary(sum_title, site_label, groups, font))
        for i, g in enumerate(groups, 1):
            z.writestr(member_name(site_code, g[0].room_code), render_room(title, site_label, g, font))
            progress(0.1 + 0.85 * i / len(groups), f"正在生成证书领取确认单（{i}/{len(groups)} 个考场）…")
    progress(0.98, "正在打包 ZIP…")
    return buf.getvalue()


def build_cert_receipts(s: Session, actor: Actor, site: Org, options: Mapping[str, Any],
                        progress: Progress = _noop) -> Built:
    """Builder of kind "cert_receipt" for core.services.generated.generate (which checks that the actor is
    the site's own admin in the current 考次); refuses when there is nothing to hand out."""
    ready = readiness(s, actor, site.id)
    if ready.reason:
        raise DomainError(ready.reason)
    progress(0.02, "读取合格考生信息…")
    rows = receipt_rows(s, actor, site.id)
    term = s.get(ExamTerm, actor.term_id)
    data = receipts_zip(term.name, site.code, f"({site.code}){site.name}", rows, progress)
    return Built(data, f"证书领取确认单_{term.code}_{site.code}.zip", rows=len(rows))
