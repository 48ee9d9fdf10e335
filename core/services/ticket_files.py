"""The site's generated files after 编排 (001 §33–37, §50–51) and the candidates' own tickets.

Builders for the generate-then-download framework (core.services.generated): 考场统计 (§33, Excel),
考点小版/大版准考证 (§34/§35, ZIP of PDFs in a chosen order), 考场签到表 (§50) and 考场座次表 (§51).

考生准考证预生成 (§36): one PDF per candidate (all the candidate's subjects, the large A4 layout with
考生须知, which is what a candidate prints at home) kept in the file store with a fingerprint of that
candidate's own data, so a later change of name, ID, photo, subject, session, seat or ticket number is
found by 检测生成情况. The candidate portal calls `candidate_ticket_pdf` (rules of §10 and §36.4) and each
download is counted for 考生下载准考证统计 (§37).
"""
from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import tempfile
import zipfile
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import xlsxwriter
from sqlalchemy import delete, distinct, func, insert, select, update
from sqlalchemy.orm import Session

from core.auth import Actor, get_scoped_org
from core.errors import DomainError, NotFound, PermissionDenied
from core.masking import mask_id
from core.models import (
    CandidateTicket, Enrollment, ExamRoom, ExamSession, ExamTerm, OpWindow, Org, Registration, SiteSetting, Subject,
    TicketDownload,
)
from core.services.base import audit, require_writable_term
from core.services.generated import Built
from core.workflow import file_path, save_blob

Progress = Callable[[float, str], None]

ORDERS: dict[str, str] = {"room": "按考场座位", "ticket": "按准考证号", "class": "按班级", "name": "按姓名"}
CANDIDATE_LAYOUT = "large"  # what a candidate prints at home: one A4 per subject with 考生须知

OK, MISSING, STALE, EXTRA = "ok", "missing", "stale", "extra"
PREGEN_STATES: dict[str, str] = {OK: "已生成且一致", MISSING: "未生成", STALE: "已过期（数据已变动）",
                                 EXTRA: "多余（考生已无编排）"}

_WB_OPTIONS = {"in_memory": True, "strings_to_formulas": False, "strings_to_numbers": False,
               "strings_to_urls": False}


def _noop(_f: float, _t: str) -> None:
    pass


def _tickets():
    from core.services import tickets  # helper module written alongside (ticket rows, PDFs, verification)
    return tickets


def _term(s: Session, term_id: int) -> ExamTerm:
    term = s.get(ExamTerm, term_id)
    if term is None:
        raise NotFound("考次不存在。")
    return term


def _site(s: Session, actor: Actor, site_id: int) -> Org:
    site = get_scoped_org(s, actor, site_id)
    if site.kind != "site":
        raise NotFound("请选择考点。")
    return site


def _own_site(s: Session, actor: Actor, site_id: int, what: str) -> Org:
    site = _site(s, actor, site_id)
    if actor.role != "site_admin" or actor.org_id != site.id:
        raise PermissionDenied(f"{what}由考点管理员在本考点操作，上级机构只能查看。")
    return site


def _setting(s: Session, site_id: int, term_id: int) -> SiteSetting | None:
    return s.scalar(select(SiteSetting).where(SiteSetting.site_id == site_id, SiteSetting.term_id == term_id))


def self_print_allowed(s: Session, site_id: int, term_id: int) -> bool:
    """§10: 允许考生个人打印准考证 (default on when the site has no setting row)."""
    st = _setting(s, site_id, term_id)
    return True if st is None else bool(st.allow_self_print)


def self_print_info(s: Session, actor: Actor, site_id: int) -> dict[str, Any]:
    """For the §36/§37 pages: whether the site allows self print and its 准考证打印开始时间."""
    site = _site(s, actor, site_id)
    return {"self_print": self_print_allowed(s, site.id, actor.term_id),
            "print_start": _ticket_print_start(s, site.id, actor.term_id)}


def _xlsx_writer() -> tuple[io.BytesIO, Any]:
    buf = io.BytesIO()
    return buf, xlsxwriter.Workbook(buf, _WB_OPTIONS)


def _write_sheet(wb, title: str, header: Sequence[str], rows: Sequence[Sequence[Any]], widths: Sequence[int],
                 total: bool = False) -> None:
    ws = wb.add_worksheet(title)
    head = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "align": "center"})
    cell = wb.add_format({"border": 1})
    bold = wb.add_format({"border": 1, "bold": True})
    pct = wb.add_format({"border": 1, "num_format": "0.0%"})
    for c, h in enumerate(header):
        ws.write_string(0, c, str(h), head)
        ws.set_column(c, c, widths[c] if c < len(widths) else 10)
    for r, row in enumerate(rows, start=1):
        last = total and r == len(rows)
        for c, v in enumerate(row):
            fmt = bold if last else cell
            if v is None:
                ws.write_blank(r, c, None, fmt)
            elif isinstance(v, bool):
                ws.write_string(r, c, "是" if v else "否", fmt)
            elif isinstance(v, float) and header[c].endswith("率"):
                ws.write_number(r, c, v, pct)
            elif isinstance(v, (int, float)):
                ws.write_number(r, c, v, fmt)
            else:
                ws.write_string(r, c, str(v), fmt)
    ws.freeze_panes(1, 0)
    if rows:
        ws.autofilter(0, 0, len(rows) - (1 if total else 0), len(header) - 1)


# ==================================================================== §33 考场统计
@dataclass
class RoomStats:
    """The figures of 考场统计: one row per session (批次), per subject and per exam day."""
    site_label: str
    subjects: list[tuple[int, str, str]]  # (subject id, code, name) of the subjects arranged or registered
    session_header: list[str]
    session_rows: list[list[Any]]  # the last row is 合计
    subject_header: list[str]
    subject_rows: list[list[Any]]
    day_header: list[str]
    day_rows: list[list[Any]]
    rooms: int = 0
    sessions: int = 0


def room_stats(s: Session, actor: Actor, site_id: int) -> RoomStats:
    """考场统计 of a site in the viewed 考次 (read-only, any level in scope)."""
    site = _site(s, actor, site_id)
    tid = actor.term_id
    sessions = s.execute(select(ExamSession.id, ExamSession.seq, ExamSession.capacity, ExamSession.start_at,
                                ExamSession.end_at, ExamRoom.id.label("room_id"), ExamRoom.code, ExamRoom.address)
                         .join(ExamRoom, ExamRoom.id == ExamSession.room_id)
                         .where(ExamSession.term_id == tid, ExamSession.site_id == site.id)
                         .order_by(ExamRoom.code, ExamSession.seq)).all()
    placed: dict[tuple[int, int], int] = {}
    for sid, subj, n in s.execute(select(Registration.session_id, Registration.subject_id, func.count())
                                  .where(Registration.term_id == tid, Registration.site_id == site.id,
                                         Registration.session_id.is_not(None))
                                  .group_by(Registration.session_id, Registration.subject_id)):
        placed[(sid, subj)] = n
    registered: dict[int, int] = {}
    unplaced: dict[int, int] = {}
    for subj, n, on in s.execute(select(Registration.subject_id, func.count(), func.count(Registration.session_id))
                                 .where(Registration.term_id == tid, Registration.site_id == site.id)
                                 .group_by(Registration.subject_id)):
        registered[subj] = int(n)
        unplaced[subj] = int(n) - int(on)
    subj_ids = sorted({k[1] for k in placed} | set(registered))
    subj_info = {x.id: x for x in s.scalars(select(Subject).where(Subject.id.in_(subj_ids or [-1])))}
    subjects = sorted(((i, subj_info[i].code, subj_info[i].name) for i in subj_ids if i in subj_info),
                      key=lambda t: t[1])
    subj_cols = [f"{code} {name}" for _i, code, name in subjects]

    fmt = "%Y-%m-%d %H:%M"
    session_header = ["考场号", "批次号", "考场地址", "开始时间", "结束时间", "容量", "已编排", "剩余", *subj_cols]
    session_rows: list[list[Any]] = []
    tot_cap = tot_n = 0
    tot_subj = [0] * len(subjects)
    by_day: dict[date, dict[str, Any]] = {}
    subj_sessions: dict[int, set[int]] = defaultdict(set)
    subj_rooms: dict[int, set[int]] = defaultdict(set)
    for r in sessions:
        counts = [placed.get((r.id, sid), 0) for sid, _c, _n in subjects]
        n = sum(counts)
        session_rows.append([r.code, f"{r.code}#{r.seq}", r.address or "", f"{r.start_at:{fmt}}",
                             f"{r.end_at:{fmt}}", r.capacity, n, r.capacity - n, *counts])
        tot_cap += r.capacity
        tot_n += n
        for i, c in enumerate(counts):
            tot_subj[i] += c
            if c:
                subj_sessions[subjects[i][0]].add(r.id)
                subj_rooms[subjects[i][0]].add(r.room_id)
        d = by_day.setdefault(r.start_at.date(), {"sessions": 0, "cap": 0, "n": 0, "subj": [0] * len(subjects)})
        d["sessions"] += 1
        d["cap"] += r.capacity
        d["n"] += n
        for i, c in enumerate(counts):
            d["subj"][i] += c
    rooms = len({r.room_id for r in sessions})
    session_rows.append(["合计", f"{len(sessions)} 个批次", f"{rooms} 个考场", "", "", tot_cap, tot_n,
                         tot_cap - tot_n, *tot_subj])

    subject_header = ["科目代码", "科目名称", "报考科次", "已编排", "未编排", "批次数", "考场数"]
    subject_rows: list[list[Any]] = []
    for i, (sid, code, name) in enumerate(subjects):
        subject_rows.append([code, name, registered.get(sid, tot_subj[i]), tot_subj[i], unplaced.get(sid, 0),
                             len(subj_sessions[sid]), len(subj_rooms[sid])])
    subject_rows.append(["合计", "", sum(r[2] for r in subject_rows), sum(r[3] for r in subject_rows),
                         sum(r[4] for r in subject_rows), len(sessions), rooms])

    day_header = ["考试日期", "批次数", "容量", "已编排", "剩余", *subj_cols]
    day_rows = [[f"{d:%Y-%m-%d}", v["sessions"], v["cap"], v["n"], v["cap"] - v["n"], *v["subj"]]
                for d, v in sorted(by_day.items())]
    day_rows.append(["合计", len(sessions), tot_cap, tot_n, tot_cap - tot_n, *tot_subj])
    return RoomStats(site_label=f"({site.code}){site.name}", subjects=subjects, session_header=session_header,
                     session_rows=session_rows, subject_header=subject_header, subject_rows=subject_rows,
                     day_header=day_header, day_rows=day_rows, rooms=rooms, sessions=len(sessions))


def room_stats_xlsx(st: RoomStats, title: str) -> bytes:
    buf, wb = _xlsx_writer()
    n_subj = len(st.subjects)
    _write_sheet(wb, "考场批次统计", st.session_header, st.session_rows,
                 [8, 9, 24, 17, 17, 7, 8, 7] + [14] * n_subj, total=True)
    _write_sheet(wb, "科目统计", st.subject_header, st.subject_rows, [9, 30, 10, 9, 9, 8, 8], total=True)
    _write_sheet(wb, "考试日统计", st.day_header, st.day_rows, [12, 8, 8, 8, 8] + [14] * n_subj, total=True)
    wb.set_properties({"title": title})
    wb.close()
    return buf.getvalue()


def build_room_stats(s: Session, actor: Actor, site: Org, options: Mapping[str, Any], progress: Progress) -> Built:
    progress(0.1, "统计考场批次…")
    st = room_stats(s, actor, site.id)
    term = _term(s, actor.term_id)
    progress(0.7, "写入 Excel…")
    data = room_stats_xlsx(st, f"{term.name} {st.site_label} 考场统计")
    progress(1.0, "完成")
    return Built(data, f"考场统计_{term.code}_{site.code}.xlsx", rows=st.sessions)


# ==================================================================== §34/§35/§50/§51 builders
def _order(options: Mapping[str, Any]) -> str:
    order = options.get("order") or "room"
    if order not in ORDERS:
        raise DomainError(f"未知的生成顺序：{order}")
    return order


def order_options(order: str) -> dict[str, str]:
    """The options a page passes to the ticket builders for a chosen order (stored with the file)."""
    return {"order": order, "order_label": ORDERS[order]}


def _pdf_builder(kind: str, title: str):
    """The builder of a ZIP of PDFs from the site's numbered 报考: kind small/large (tickets, in the order
    the options choose; one record per ticket) or signin/seating (by room and seat; one record per 批次)."""
    sheets = kind in ("signin", "seating")

    def build(s: Session, actor: Actor, site: Org, options: Mapping[str, Any], progress: Progress) -> Built:
        tk = _tickets()
        _require_numbers(s, actor.term_id, site.id, title)
        progress(0.02, "读取考生编排信息…")
        rows = tk.ticket_rows(s, actor, site.id, order="room" if sheets else _order(options))
        if kind == "signin":
            data = tk.signin_zip(rows, progress=progress)
        elif kind == "seating":
            data = tk.seating_zip(rows, progress=progress)
        else:
            data = tk.tickets_zip(rows, layout=kind, progress=progress)
        term = _term(s, actor.term_id)
        return Built(data, f"{title}_{term.code}_{site.code}.zip",
                     rows=len({r.session_number for r in rows}) if sheets else len(rows))
    build.__name__ = f"build_{kind}"
    return build


build_tickets_small = _pdf_builder("small", "考点小版准考证")
build_tickets_large = _pdf_builder("large", "考点大版准考证")
build_signin = _pdf_builder("signin", "考场签到表")
build_seating = _pdf_builder("seating", "考场座次表")


def zip_pdf_members(data: bytes) -> list[tuple[str, bytes]]:
    """The PDFs in a generated ZIP (name, bytes), for previews and tests."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return [(i.filename, z.read(i)) for i in z.infolist() if i.filename.lower().endswith(".pdf")]


# ==================================================================== prerequisites
@dataclass(frozen=True)
class Readiness:
    """Whether the site's files can be generated: the reason shown instead of a dead button."""
    registrations: int  # 报考科次 of the site
    placed: int
    numbered: int
    reason: str | None  # None: ready

    @property
    def text(self) -> str:
        return f"报考 {self.registrations} 科次，已编排 {self.placed}，已生成准考证号 {self.numbered}。"


def readiness(s: Session, actor: Actor, site_id: int, numbers: bool = True) -> Readiness:
    """编排 (§31) and, when `numbers`, 准考证号 (§32) first: the counts and the reason generation is not
    possible yet (None when it is)."""
    from core.services.arrangement import require_arranged

    site = _site(s, actor, site_id)
    tid = actor.term_id
    row = s.execute(select(func.count(), func.count(Registration.session_id), func.count(Registration.ticket_no))
                    .where(Registration.term_id == tid, Registration.site_id == site.id)).one()
    total, placed, numbered = int(row[0]), int(row[1]), int(row[2])
    reason = None
    try:
        require_arranged(s, tid, site.id)
    except DomainError as e:
        reason = e.message
    if reason is None and numbers and numbered < placed:
        reason = f"本考点还有 {placed - numbered} 个已编排的报考科次没有准考证号：请先在《准考证号生成》中生成准考证号。"
    return Readiness(total, placed, numbered, reason)


def _require_numbers(s: Session, term_id: int, site_id: int, what: str) -> None:
    """Every arranged 报考 has its 准考证号 (a partial file would silently leave candidates out)."""
    missing = s.scalar(select(func.count()).select_from(Registration)
                       .where(Registration.term_id == term_id, Registration.site_id == site_id,
                              Registration.session_id.is_not(None), Registration.ticket_no.is_(None)))
    if missing:
        raise DomainError(f"还有 {missing} 个已编排的报考科次没有准考证号，不能生成{what}："
                          "请先在《准考证号生成》中生成准考证号。")


# ==================================================================== §36 考生准考证预生成
def _candidate_versions(s: Session, term_id: int, site_id: int,
                        enrollment_ids: Sequence[int] | None = None) -> dict[int, str]:
    """Per enrollment with at least one arranged subject: a fingerprint of what its ticket shows (name,
    gender, ID, photo, class, department; each 报考 with subject, session, times, room, seat and ticket
    number — an added or unarranged 报考 changes it too; the site's name and address, the 考次's name)."""
    site = s.get(Org, site_id)
    term = s.get(ExamTerm, term_id)
    common = repr((site.name, site.address, site.code, term.name, term.code))
    q = (select(Registration.enrollment_id, Registration.session_id, Registration.subject_id, Registration.seat_no,
                Registration.ticket_no, ExamSession.start_at, ExamSession.end_at, ExamSession.seq, ExamRoom.code,
                ExamRoom.address, Enrollment.name, Enrollment.gender, Enrollment.id_type, Enrollment.id_number,
                Enrollment.photo_sha256, Enrollment.class_name, Enrollment.department)
         .join(Enrollment, Enrollment.id == Registration.enrollment_id)
         .outerjoin(ExamSession, ExamSession.id == Registration.session_id)
         .outerjoin(ExamRoom, ExamRoom.id == ExamSession.room_id)
         .where(Registration.term_id == term_id, Registration.site_id == site_id)
         .order_by(Registration.enrollment_id, Registration.subject_id))
    if enrollment_ids is not None:
        from core.services.registration import chunks
        rows = []
        for part in chunks(list(enrollment_ids)):
            rows += s.execute(q.where(Registration.enrollment_id.in_(part))).all()
    else:
        rows = s.execute(q).all()
    parts: dict[int, list[str]] = defaultdict(list)
    arranged: set[int] = set()
    for r in rows:
        parts[r[0]].append(repr(tuple(str(x) for x in r[1:])))
        if r[1] is not None:
            arranged.add(r[0])
    return {eid: hashlib.sha256((common + "|".join(p)).encode()).hexdigest()[:32]
            for eid, p in parts.items() if eid in arranged}


def _candidate_pdf(rows: list) -> bytes:
    """One candidate's tickets (all subjects) as one PDF, in this process."""
    return _tickets().tickets_pdf(rows, layout=CANDIDATE_LAYOUT)


def _render_candidates(batch: list) -> list[bytes]:
    """Worker entry (module level, picklable): one PDF per candidate of `batch` (lists of TicketData)."""
    from core.exports import pdf as P
    return [P.render_tickets(CANDIDATE_LAYOUT, items) for items in batch]


PREGEN_BATCH = 20  # candidates per worker job
PREGEN_PARALLEL_MIN = 40  # fewer candidates: render in this process


def _render_all(groups: list[list], progress: Progress, workers: int | None = None) -> list[bytes]:
    """Each candidate's PDF (0.1–0.2 s each, mostly the font subset): on both cores when there are many."""
    tk = _tickets()
    datas = [tk.ticket_data(g) for g in groups]
    n = len(datas)
    out: list[bytes | None] = [None] * n
    workers = workers or tk.default_workers()
    if n < PREGEN_PARALLEL_MIN or workers <= 1:
        for i, d in enumerate(datas):
            out[i] = _render_candidates([d])[0]
            if i % 10 == 0 or i == n - 1:
                progress(0.05 + 0.85 * (i + 1) / n, f"已生成 {i + 1}/{n} 名考生的准考证")
        return out  # type: ignore[return-value]
    jobs = [(datas[i:i + PREGEN_BATCH],) for i in range(0, n, PREGEN_BATCH)]
    done = 0

    def arrived(j: int, pdfs: list[bytes]) -> None:
        nonlocal done
        for k, pdf in enumerate(pdfs):
            out[j * PREGEN_BATCH + k] = pdf
        done += len(pdfs)
        progress(0.05 + 0.85 * done / n, f"已生成 {done}/{n} 名考生的准考证")

    tk.run_parallel(_render_candidates, jobs, workers, arrived)
    return out  # type: ignore[return-value]


@dataclass(frozen=True)
class PregenResult:
    generated: int
    unchanged: int
    removed: int
    seconds: float

    @property
    def text(self) -> str:
        return (f"已生成 {self.generated} 名考生的准考证，{self.unchanged} 名未变动无需重新生成，"
                f"删除多余 {self.removed} 份（用时 {self.seconds:.1f} 秒）。")


def pregenerate(s: Session, actor: Actor, site_id: int, progress: Progress = _noop,
                only_changed: bool = True, workers: int | None = None) -> PregenResult:
    """§36: render every arranged candidate's ticket PDF for the candidate to download. With
    `only_changed`, candidates whose pre-generated ticket still matches their data are kept; tickets
    of candidates without arrangement are removed."""
    import time as _time

    t0 = _time.perf_counter()
    site = _own_site(s, actor, site_id, "考生准考证预生成")
    require_writable_term(actor)
    tid = actor.term_id
    if not self_print_allowed(s, site.id, tid):
        raise DomainError("本考点在《考点报名综合设置》中不允许考生个人打印准考证，不需要预生成考生准考证。")
    ready = readiness(s, actor, site.id)
    if ready.reason:
        raise DomainError(ready.reason)
    progress(0.01, "计算考生数据指纹…")
    versions = _candidate_versions(s, tid, site.id)
    existing = {eid: (cid, ver) for cid, eid, ver in s.execute(
        select(CandidateTicket.id, CandidateTicket.enrollment_id, CandidateTicket.data_version)
        .where(CandidateTicket.term_id == tid, CandidateTicket.site_id == site.id))}
    todo = [eid for eid, v in versions.items() if not only_changed or existing.get(eid, (0, None))[1] != v]
    extra = [cid for eid, (cid, _v) in existing.items() if eid not in versions]
    tk = _tickets()
    progress(0.03, f"读取 {len(todo)} 名考生的编排信息…")
    rows_by: dict[int, list] = defaultdict(list)
    if todo:
        from core.services.registration import chunks
        for part in chunks(todo):
            for r in tk.ticket_rows(s, actor, site.id, order="room", enrollment_ids=part):
                rows_by[r.enrollment_id].append(r)
    now = datetime.now().replace(microsecond=0)
    todo = [eid for eid in todo if rows_by.get(eid)]
    groups = [sorted(rows_by[eid], key=lambda r: (r.start, r.subject_code)) for eid in todo]
    pdfs = _render_all(groups, progress, workers)
    progress(0.92, "保存文件…")
    new_rows, upd_rows = [], []
    for eid, pdf in zip(todo, pdfs):
        sha = save_blob(pdf)
        if eid in existing:
            upd_rows.append({"id": existing[eid][0], "sha256": sha, "data_version": versions[eid],
                             "generated_at": now})
        else:
            new_rows.append({"term_id": tid, "site_id": site.id, "enrollment_id": eid, "sha256": sha,
                             "data_version": versions[eid], "generated_at": now})
    if new_rows:
        s.execute(insert(CandidateTicket), new_rows)
    if upd_rows:
        s.execute(update(CandidateTicket), upd_rows)  # ORM bulk update by primary key
    if extra:
        from core.services.registration import chunks
        for part in chunks(extra):
            s.execute(delete(CandidateTicket).where(CandidateTicket.id.in_(part)))
    res = PregenResult(generated=len(new_rows) + len(upd_rows), unchanged=len(versions) - len(todo),
                       removed=len(extra), seconds=_time.perf_counter() - t0)
    audit(s, actor, "generate", "candidate_ticket", None, org_id=site.id,
          summary=f"考生准考证预生成：{res.text}")
    progress(1.0, "完成")
    return res


@dataclass
class PregenReport:
    counts: dict[str, int]  # state -> candidates
    rows: list[dict[str, Any]] = field(default_factory=list)  # per candidate: 状态, 姓名, 证件号码…
    generated_at: datetime | None = None  # the latest pre-generation

    @property
    def text(self) -> str:
        return "，".join(f"{PREGEN_STATES[k]} {self.counts.get(k, 0)} 人" for k in PREGEN_STATES)

    @property
    def complete(self) -> bool:
        return self.counts.get(MISSING, 0) == 0 and self.counts.get(STALE, 0) == 0 and self.counts.get(OK, 0) > 0


def check_pregenerated(s: Session, actor: Actor, site_id: int) -> PregenReport:
    """检测生成情况 (§36.3): every arranged candidate and every pre-generated ticket, compared."""
    site = _site(s, actor, site_id)
    tid = actor.term_id
    versions = _candidate_versions(s, tid, site.id)
    tickets = {eid: (ver, at) for eid, ver, at in s.execute(
        select(CandidateTicket.enrollment_id, CandidateTicket.data_version, CandidateTicket.generated_at)
        .where(CandidateTicket.term_id == tid, CandidateTicket.site_id == site.id))}
    subjects: dict[int, list[str]] = defaultdict(list)
    for eid, code in s.execute(select(Registration.enrollment_id, Subject.code)
                               .join(Subject, Subject.id == Registration.subject_id)
                               .where(Registration.term_id == tid, Registration.site_id == site.id,
                                      Registration.session_id.is_not(None))
                               .order_by(Subject.code)):
        subjects[eid].append(code)
    ids = sorted(set(versions) | set(tickets))
    people: dict[int, Any] = {}
    if ids:
        from core.services.registration import chunks
        for part in chunks(ids):
            for e in s.execute(select(Enrollment.id, Enrollment.name, Enrollment.id_number, Enrollment.class_name)
                               .where(Enrollment.id.in_(part))):
                people[e.id] = e
    counts = {k: 0 for k in PREGEN_STATES}
    rows = []
    for eid in ids:
        if eid not in versions:
            state = EXTRA
        elif eid not in tickets:
            state = MISSING
        elif tickets[eid][0] != versions[eid]:
            state = STALE
        else:
            state = OK
        counts[state] += 1
        p = people.get(eid)
        at = tickets.get(eid, (None, None))[1]
        rows.append({"状态": PREGEN_STATES[state], "姓名": p.name if p else "",
                     "证件号码": mask_id(p.id_number) if p else "", "班级": (p.class_name or "") if p else "",
                     "报考科目": "、".join(subjects.get(eid, [])),
                     "生成时间": f"{at:%Y-%m-%d %H:%M:%S}" if at else "", "state": state, "enrollment_id": eid})
    order = {MISSING: 0, STALE: 1, EXTRA: 2, OK: 3}
    rows.sort(key=lambda r: (order[r["state"]], r["姓名"]))
    last = max((t[1] for t in tickets.values() if t[1]), default=None)
    return PregenReport(counts=counts, rows=rows, generated_at=last)


def export_pregen_check(s: Session, actor: Actor, site_id: int) -> tuple[bytes, str]:
    """The 检测报告 as Excel (summary and per-candidate sheets); audited."""
    site = _site(s, actor, site_id)
    rep = check_pregenerated(s, actor, site_id)
    term = _term(s, actor.term_id)
    buf, wb = _xlsx_writer()
    summary = [[PREGEN_STATES[k], rep.counts.get(k, 0)] for k in PREGEN_STATES]
    summary.append(["合计", sum(rep.counts.values())])
    _write_sheet(wb, "检测汇总", ["状态", "考生人数"], summary, [22, 10], total=True)
    cols = ["状态", "姓名", "证件号码", "班级", "报考科目", "生成时间"]
    _write_sheet(wb, "考生明细", cols, [[r[c] for c in cols] for r in rep.rows], [22, 12, 22, 16, 16, 20])
    wb.close()
    audit(s, actor, "export", "candidate_ticket", None, org_id=site.id,
          summary=f"下载考生准考证生成情况检测报告：{rep.text}")
    return buf.getvalue(), f"考生准考证生成情况检测报告_{term.code}_{site.code}.xlsx"


def build_pregen_check(s: Session, actor: Actor, site: Org, options: Mapping[str, Any],
                       progress: Progress) -> Built:
    """The same report as a generated file (kind "pregen_check"), for the generate-then-download panel."""
    rep = check_pregenerated(s, actor, site.id)
    data, name = export_pregen_check(s, actor, site.id)
    return Built(data, name, rows=len(rep.rows))


def sample_ticket(s: Session, actor: Actor, site_id: int, enrollment_id: int | None = None) -> tuple[bytes, str]:
    """预览: one candidate's ticket PDF as the candidate will download it (rendered now); audited."""
    site = _own_site(s, actor, site_id, "考生准考证预览")
    tk = _tickets()
    if enrollment_id is None:
        enrollment_id = s.scalar(select(Registration.enrollment_id)
                                 .where(Registration.term_id == actor.term_id, Registration.site_id == site.id,
                                        Registration.ticket_no.is_not(None))
                                 .order_by(Registration.ticket_no).limit(1))
    if enrollment_id is None:
        raise DomainError("本考点还没有生成了准考证号的考生，无法预览。")
    rows = tk.ticket_rows(s, actor, site.id, order="room", enrollment_ids=[enrollment_id])
    if not rows:
        raise DomainError("该考生没有编排信息，无法预览准考证。")
    data = _candidate_pdf(rows)
    audit(s, actor, "export", "candidate_ticket", enrollment_id, org_id=site.id,
          summary=f"预览考生准考证：{rows[0].name}")
    return data, f"准考证预览_{rows[0].ticket_no}.pdf"


def pdf_first_page_png(pdf: bytes, dpi: int = 60) -> bytes | None:
    """Page 1 of a PDF as PNG (poppler's pdftoppm), or None when it is not installed."""
    exe = shutil.which("pdftoppm")
    if not exe:
        return None
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "in.pdf"
        src.write_bytes(pdf)
        try:
            subprocess.run([exe, "-png", "-r", str(dpi), "-f", "1", "-l", "1", "-singlefile", str(src),
                            str(Path(d) / "out")], check=True, capture_output=True, timeout=30)
        except (subprocess.SubprocessError, OSError):
            return None
        out = Path(d) / "out.png"
        return out.read_bytes() if out.is_file() else None


# ==================================================================== candidate download (portal)
def _ticket_print_start(s: Session, site_id: int, term_id: int) -> datetime | None:
    return s.scalar(select(OpWindow.start_at).where(OpWindow.org_id == site_id, OpWindow.term_id == term_id,
                                                     OpWindow.kind == "ticket_print"))


def candidate_ticket_pdf(s: Session, enrollment_id: int, now: datetime | None = None) -> tuple[bytes, str]:
    """A candidate downloads the pre-generated ticket (§10, §36.4): only when the site allows self print,
    its 准考证打印开始时间 has come, and the ticket was generated from the candidate's current data.
    Each download is recorded (§37) and audited."""
    e = s.get(Enrollment, enrollment_id)
    if e is None:
        raise NotFound("报名信息不存在。")
    if not self_print_allowed(s, e.site_id, e.term_id):
        raise DomainError("您报考的考点不允许考生个人打印准考证，请按考点通知领取准考证。")
    start = _ticket_print_start(s, e.site_id, e.term_id)
    now = now or datetime.now()
    if start is None:
        raise DomainError("考点尚未设置准考证打印开始时间，暂不能下载准考证。")
    if now < start:
        raise DomainError(f"准考证打印开始时间为 {start:%Y-%m-%d %H:%M}，请届时再下载。")
    ct = s.scalar(select(CandidateTicket).where(CandidateTicket.term_id == e.term_id,
                                                CandidateTicket.enrollment_id == e.id))
    if ct is None:
        raise DomainError("考点尚未生成您的准考证，请稍后再试或联系考点。")
    current = _candidate_versions(s, e.term_id, e.site_id, [e.id]).get(e.id)
    if current is None:
        raise DomainError("您没有已编排的考试科目，没有准考证可下载。")
    if current != ct.data_version:
        raise DomainError("您的报名或编排信息在准考证生成后有变动，考点需要重新生成准考证，请稍后再试或联系考点。")
    path = file_path(ct.sha256)
    if not path.is_file():
        raise DomainError("准考证文件不存在，请联系考点重新生成。")
    s.add(TicketDownload(term_id=e.term_id, site_id=e.site_id, enrollment_id=e.id, at=now.replace(microsecond=0)))
    term = s.get(ExamTerm, e.term_id)
    audit(s, None, "export", "candidate_ticket", ct.id, org_id=e.site_id,
          summary=f"考生下载准考证：{e.name}（{mask_id(e.id_number)}）")
    return path.read_bytes(), f"准考证_{term.code}_{e.name}.pdf"


# ==================================================================== §37 考生下载准考证统计
@dataclass
class DownloadStats:
    header: list[str]
    rows: list[list[Any]]  # per subject, then 合计（按人）
    self_print: bool
    print_start: datetime | None
    started: bool
    site_label: str

    @property
    def chart(self) -> list[dict[str, Any]]:
        out = []
        for r in self.rows[:-1]:
            out += [{"科目": f"{r[0]} {r[1]}", "人数": r[3], "状态": "已下载"},
                    {"科目": f"{r[0]} {r[1]}", "人数": r[4], "状态": "未下载"}]
        return out


DOWNLOAD_HEADER = ["科目代码", "科目名称", "应下载人数", "已下载人数", "未下载人数", "下载率"]


def download_stats(s: Session, actor: Actor, site_id: int, now: datetime | None = None) -> DownloadStats:
    """§37: per subject, how many arranged candidates downloaded their ticket (read-only, scoped)."""
    site = _site(s, actor, site_id)
    tid = actor.term_id
    arranged = (select(Registration.enrollment_id, Registration.subject_id)
                .where(Registration.term_id == tid, Registration.site_id == site.id,
                       Registration.session_id.is_not(None)).subquery())
    downloaded = (select(TicketDownload.enrollment_id)
                  .where(TicketDownload.term_id == tid, TicketDownload.site_id == site.id).distinct().subquery())
    per = s.execute(select(Subject.code, Subject.name, func.count(distinct(arranged.c.enrollment_id)),
                           func.count(distinct(downloaded.c.enrollment_id)))
                    .select_from(arranged)
                    .join(Subject, Subject.id == arranged.c.subject_id)
                    .outerjoin(downloaded, downloaded.c.enrollment_id == arranged.c.enrollment_id)
                    .group_by(Subject.code, Subject.name).order_by(Subject.code)).all()
    rows: list[list[Any]] = []
    for code, name, due, got in per:
        rows.append([code, name, int(due), int(got), int(due) - int(got), round(got / due, 4) if due else 0.0])
    due_all, got_all = s.execute(select(func.count(distinct(arranged.c.enrollment_id)),
                                        func.count(distinct(downloaded.c.enrollment_id)))
                                 .select_from(arranged)
                                 .outerjoin(downloaded, downloaded.c.enrollment_id == arranged.c.enrollment_id)).one()
    due_all, got_all = int(due_all or 0), int(got_all or 0)
    rows.append(["合计（按人）", "", due_all, got_all, due_all - got_all,
                 round(got_all / due_all, 4) if due_all else 0.0])
    start = _ticket_print_start(s, site.id, tid)
    now = now or datetime.now()
    return DownloadStats(header=DOWNLOAD_HEADER, rows=rows, self_print=self_print_allowed(s, site.id, tid),
                         print_start=start, started=bool(start and start <= now),
                         site_label=f"({site.code}){site.name}")


def export_download_stats(s: Session, actor: Actor, site_id: int) -> tuple[bytes, str]:
    st = download_stats(s, actor, site_id)
    term = _term(s, actor.term_id)
    site = s.get(Org, site_id)
    buf, wb = _xlsx_writer()
    _write_sheet(wb, "考生下载准考证统计", st.header, st.rows, [9, 30, 11, 11, 11, 9], total=True)
    wb.close()
    audit(s, actor, "export", "ticket_download", None, org_id=site_id,
          summary=f"导出考生下载准考证统计：{st.site_label}，合计应下载 {st.rows[-1][2]} 人，已下载 {st.rows[-1][3]} 人")
    return buf.getvalue(), f"考生下载准考证统计_{term.code}_{site.code}.xlsx"
