"""准考证 data and files (001 §34 小版, §35 大版, §50 考场签到表, §51 考场座次表) and the tickets' QR
verification code.

- `ticket_rows` reads a site's arranged registrations with 准考证号 in one query (scoped; ID numbers
  masked unless the reader is the site's own 考点管理员, whose printed tickets go to the candidates).
- `tickets_zip` / `signin_zip` / `seating_zip` turn rows into a ZIP (stored, PDFs are already compressed)
  of PDFs rendered by `core.exports.pdf`, in parallel processes when there is enough work.
- Each ticket carries a QR with `<准考证号>|<校验码>`: the code is the first 8 characters of the base32
  HMAC-SHA256 of the ticket number under the 考次's secret `ExamTerm.ticket_key`, so a forged or altered
  ticket is detected by `check_ticket` (§34 page: 准考证验证) without storing the codes.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import io
import math
import multiprocessing
import os
import secrets
import threading
import sys
import types
import zipfile
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Sequence

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.auth import Actor, get_scoped_org, in_scope
from core.errors import DomainError
from core.exports import pdf as P
from core.masking import mask_id
from core.models import Enrollment, ExamTerm, Org, Registration, Subject
from core.models.arrange import ExamRoom, ExamSession

Progress = Callable[[float, str], None]

ORDERS = {"room": "按考场、批次、座位", "ticket": "按准考证号", "class": "按班级、准考证号", "name": "按姓名"}
LAYOUT_LABELS = {"small": "小版准考证", "large": "大版准考证"}
# tickets per PDF file: big enough that the font subset (~0.1–0.3 s per file) is paid rarely, small
# enough that both cores get work and a file opens quickly.
CHUNK = {"small": 1200, "large": 300}
PARALLEL_MIN = {"small": 600, "large": 150, "sheets": 12}  # less work than this: render in-process


def _noop(_f: float, _t: str) -> None:
    pass


# ---------------------------------------------------------------- verification code
def verify_code(key: str, ticket_no: str) -> str:
    """8 characters (A–Z, 2–7): base32 of HMAC-SHA256(key, ticket_no)."""
    mac = hmac.new(key.encode(), ticket_no.encode(), hashlib.sha256).digest()
    return base64.b32encode(mac).decode()[:8]


def ticket_key(s: Session, term: ExamTerm | int) -> str:
    """The 考次's HMAC key, created once (race-safe: only the first writer's key is kept)."""
    if not isinstance(term, ExamTerm):
        term = s.get(ExamTerm, term)
    if term.ticket_key:
        return term.ticket_key
    s.execute(update(ExamTerm).where(ExamTerm.id == term.id, ExamTerm.ticket_key.is_(None))
              .values(ticket_key=secrets.token_hex(32)))
    s.flush()
    key = s.scalar(select(ExamTerm.ticket_key).where(ExamTerm.id == term.id))
    s.expire(term, ["ticket_key"])
    return key


def parse_ticket_text(text: str, code: str | None = None) -> tuple[str, str | None]:
    """'1470110001070101|ABCD2345' (the QR content) or a bare ticket number plus `code`."""
    text = (text or "").strip().replace("｜", "|")
    if "|" in text:
        text, _, qr_code = text.partition("|")
        code = code or qr_code
    code = (code or "").strip().upper().replace(" ", "") or None
    return text.strip(), code


@dataclass(frozen=True)
class TicketCheck:
    valid: bool
    message: str
    ticket_no: str = ""
    name: str | None = None
    id_number: str | None = None  # masked
    subject: str | None = None
    time: str | None = None
    room: str | None = None
    seat: str | None = None
    site: str | None = None


def check_ticket(s: Session, actor: Actor, text_or_ticket_no: str, code: str | None = None) -> TicketCheck:
    """准考证验证: is this 准考证号 + 校验码 (or the QR text) one the system issued, and whose is it?
    Only tickets of sites in the actor's scope are found; details only for a valid code."""
    ticket_no, code = parse_ticket_text(text_or_ticket_no, code)
    if not ticket_no:
        return TicketCheck(False, "请输入准考证号。")
    if len(ticket_no) > 30 or not ticket_no.isalnum():
        return TicketCheck(False, f"准考证号“{ticket_no[:30]}”格式不正确。", ticket_no[:30])
    if not code:
        return TicketCheck(False, "请输入准考证上二维码下方的 8 位校验码，或扫描二维码。", ticket_no)
    row = s.execute(_rows_query(actor.term_id).where(Registration.ticket_no == ticket_no,
                                                     in_scope(actor, Registration.site_id))).first()
    if row is None:
        return TicketCheck(False, f"准考证号 {ticket_no} 不存在或不在您的管理范围内。", ticket_no)
    key = ticket_key(s, actor.term_id)
    if not hmac.compare_digest(verify_code(key, ticket_no), code):
        return TicketCheck(False, f"准考证号 {ticket_no} 的校验码不正确：该准考证可能被伪造或篡改。", ticket_no)
    r = _row(row, "", mask=True)
    return TicketCheck(True, "准考证有效。", ticket_no, r.name, r.id_number, f"{r.subject_code} {r.subject_name}",
                       P.fmt_time(r.start, r.end), f"{r.session_number}" + (f"（{r.room_address}）" if r.room_address else ""),
                       P.seat_text(r.seat_no), f"{r.site_code} {r.site_name}")


# ---------------------------------------------------------------- rows
@dataclass
class TicketRow:
    ticket_no: str
    verify_code: str
    name: str
    gender: str
    id_type: str
    id_number: str  # already masked for the reader
    subject_code: str
    subject_name: str
    start: datetime
    end: datetime
    room_code: str
    session_number: str  # "07#1"
    seat_no: int | None
    room_address: str
    site_code: str
    site_name: str
    site_address: str
    term_name: str
    photo_sha256: str | None
    class_name: str
    department: str
    enrollment_id: int
    registration_id: int


def _rows_query(term_id: int):
    SiteOrg = Org
    return (select(Registration.ticket_no, Enrollment.name, Enrollment.gender, Enrollment.id_type,
                   Enrollment.id_number, Subject.code, Subject.name, ExamSession.start_at, ExamSession.end_at,
                   ExamRoom.code, ExamSession.seq, Registration.seat_no, ExamRoom.address, SiteOrg.code,
                   SiteOrg.name, SiteOrg.address, ExamTerm.name, Enrollment.photo_sha256, Enrollment.class_name,
                   Enrollment.department, Registration.enrollment_id, Registration.id)
            .join(Enrollment, Enrollment.id == Registration.enrollment_id)
            .join(Subject, Subject.id == Registration.subject_id)
            .join(ExamSession, ExamSession.id == Registration.session_id)
            .join(ExamRoom, ExamRoom.id == ExamSession.room_id)
            .join(SiteOrg, SiteOrg.id == Registration.site_id)
            .join(ExamTerm, ExamTerm.id == Registration.term_id)
            .where(Registration.term_id == term_id, Registration.ticket_no.is_not(None),
                   Registration.session_id.is_not(None)))


def _row(r, key: str, mask: bool) -> TicketRow:
    (ticket_no, name, gender, id_type, id_number, scode, sname, start, end, room, seq, seat, raddr, site_code,
     site_name, site_addr, term_name, photo, class_name, dept, eid, rid) = r
    return TicketRow(ticket_no, verify_code(key, ticket_no) if key else "", name, gender or "", id_type or "",
                     mask_id(id_number) if mask else id_number, scode, sname, start, end, room, f"{room}#{seq}",
                     seat, raddr or "", site_code, site_name, site_addr or "", term_name, photo, class_name or "",
                     dept or "", eid, rid)


def _room_key(r: TicketRow):
    room, _, seq = r.session_number.rpartition("#")
    return (r.room_code, int(seq) if seq.isdigit() else 0, r.seat_no if r.seat_no is not None else 10**9,
            r.ticket_no)


SORT_KEYS: dict[str, Callable[[TicketRow], object]] = {
    "room": _room_key,
    "ticket": lambda r: r.ticket_no,
    "class": lambda r: (r.class_name == "", r.class_name, r.ticket_no),
    "name": lambda r: (r.name, r.ticket_no),
}


def ticket_rows(s: Session, actor: Actor, site_id: int, order: str = "room",
                enrollment_ids: Sequence[int] | None = None) -> list[TicketRow]:
    """The site's arranged registrations with 准考证号, one row per ticket, in `order`
    (room 考场/批次/座位, ticket 准考证号, class 班级+准考证号, name 姓名)."""
    if order not in SORT_KEYS:
        raise DomainError(f"未知的准考证生成顺序：{order}（可选：{'、'.join(ORDERS.values())}）。")
    site = get_scoped_org(s, actor, site_id)
    if site.kind != "site":
        raise DomainError(f"“{site.name}”不是考点，请选择一个考点。")
    term = s.get(ExamTerm, actor.term_id)
    key = ticket_key(s, term)
    full_id = actor.role == "site_admin" and actor.org_id == site.id
    q = _rows_query(term.id).where(Registration.site_id == site.id)
    if enrollment_ids is None:
        raw = s.execute(q).all()
    else:
        from core.services.registration import chunks

        raw = []
        for part in chunks(list(enrollment_ids)):
            raw += s.execute(q.where(Registration.enrollment_id.in_(part))).all()
    if not raw:
        raise DomainError(f"考点“{site.code} {site.name}”没有已生成准考证号的考生：请先完成编排并生成准考证号。")
    rows = [_row(r, key, mask=not full_id) for r in raw]
    rows.sort(key=SORT_KEYS[order])
    return rows


# ---------------------------------------------------------------- rendering
def _photo_path(sha: str | None) -> str | None:
    if not sha:
        return None
    from core.workflow import file_path

    try:
        p = file_path(sha)
    except ValueError:
        return None
    return str(p) if p.is_file() else None


def ticket_data(rows: Sequence[TicketRow]) -> list[P.TicketData]:
    """Plain tuples for the renderers (photos as file paths: cheap to send to worker processes)."""
    return [P.TicketData(r.ticket_no, r.verify_code, r.name, r.gender, r.id_type, r.id_number, r.subject_code,
                         r.subject_name, r.start, r.end, r.room_code, r.session_number, r.seat_no, r.room_address,
                         r.site_code, r.site_name, r.site_address, r.term_name, _photo_path(r.photo_sha256),
                         r.class_name) for r in rows]


def _render_job(kind: str, items) -> list[bytes]:
    """Worker entry (module level: picklable). kind small/large: one PDF of `items` tickets;
    signin/seating: `items` is a list of sessions, one PDF each."""
    if kind in ("small", "large"):
        return [P.render_tickets(kind, items)]
    return P.render_sheets(kind, items)


def _worker_init() -> None:
    """A forked worker inherits the parent's tracemalloc (a profiling parent): tracing every allocation
    would slow rendering several times, so workers never trace."""
    import tracemalloc

    if tracemalloc.is_tracing():
        tracemalloc.stop()


def _warm() -> None:
    """Tables the workers share after fork (QR tables of the usual text length, the font's cmap)."""
    P.common_cmap()
    P.qr_matrix("1470110001070101|ABCD2345")


def _context():
    """fork when this process has one thread (CLI, bench: workers start instantly and share the warm
    tables); forkserver inside a threaded server (Streamlit): forking a threaded process can deadlock."""
    methods = multiprocessing.get_all_start_methods()
    if threading.active_count() == 1 and "fork" in methods:
        return multiprocessing.get_context("fork")
    if "forkserver" in methods:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["core.exports.pdf"])  # workers start with the renderer imported
        return ctx
    return multiprocessing.get_context("spawn")


_MAIN_LOCK = threading.Lock()


@contextmanager
def plain_main():
    """Start worker processes inside this block. spawn/forkserver children re-run the parent's `__main__`
    file before they unpickle anything; under Streamlit `__main__` is a fake module whose `__file__` is
    Home.py (and no `__spec__`), so every worker would run the app's entry script (it opens and migrates
    the database: "database is locked" while the caller holds the write transaction, and the pool breaks).
    An empty `__main__` while the workers start avoids it; the previous one is put back unless a new
    script run replaced it meanwhile."""
    with _MAIN_LOCK:
        saved = sys.modules.get("__main__")
        empty = types.ModuleType("__main__")
        sys.modules["__main__"] = empty
        try:
            yield
        finally:
            if sys.modules.get("__main__") is empty and saved is not None:
                sys.modules["__main__"] = saved


def run_parallel(fn: Callable, jobs: Sequence[tuple], workers: int, arrived: Callable[[int, object], None]) -> None:
    """`fn(*job)` for each job in worker processes (module-level `fn`: picklable); `arrived(i, result)` in
    this process as each finishes (any order). The workers start while `plain_main` is in force."""
    with ProcessPoolExecutor(max_workers=max(1, min(workers, len(jobs))), mp_context=_context(),
                             initializer=_worker_init) as ex:
        with plain_main():  # non-fork workers start on submit
            futs = {ex.submit(fn, *job): i for i, job in enumerate(jobs)}
        for f in as_completed(futs):
            arrived(futs.pop(f), f.result())


def default_workers() -> int:
    return max(1, min(2, os.cpu_count() or 1))


def _run_jobs(kind: str, jobs: list, workers: int | None, parallel: bool, progress: Progress, what: str,
              names: Callable[[int, int], str]) -> bytes:
    """Run `_render_job(kind, job)` for each job (in processes when `parallel`) and write the PDFs into a
    stored ZIP in job order as they arrive (`names(job, k)` names the k-th PDF of a job), so at most the
    out-of-order results are held besides the ZIP."""
    workers = workers or default_workers()
    buf = io.BytesIO()
    pending: dict[int, list[bytes]] = {}
    state = {"next": 0, "done": 0}

    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        def arrived(i: int, pdfs: list[bytes]) -> None:
            pending[i] = pdfs
            while state["next"] in pending:
                j = state["next"]
                for k, data in enumerate(pending.pop(j)):
                    z.writestr(names(j, k), data)
                state["next"] += 1
            state["done"] += 1
            progress(0.05 + 0.9 * state["done"] / len(jobs), f"正在生成{what}（{state['done']}/{len(jobs)}）…")

        if not parallel or workers <= 1 or len(jobs) <= 1:
            for i, job in enumerate(jobs):
                arrived(i, _render_job(kind, job))
        else:
            _warm()
            run_parallel(_render_job, [(kind, job) for job in jobs], workers, arrived)
    progress(0.97, "正在打包 ZIP…")
    return buf.getvalue()


def tickets_pdf(rows: Sequence[TicketRow], layout: str = "large") -> bytes:
    """All `rows` as one PDF, in this process (one candidate's tickets, previews)."""
    if layout not in LAYOUT_LABELS:
        raise DomainError(f"未知的准考证版式：{layout}")
    return P.render_tickets(layout, ticket_data(rows))


def tickets_zip(rows: Sequence[TicketRow], layout: str = "small", workers: int | None = None,
                progress: Progress | None = None) -> bytes:
    """准考证 ZIP: PDFs of `CHUNK[layout]` tickets each, `<考点代码>_小版准考证_001.pdf` …, rows in the
    given order (small: 6 per A4; large: 1 per A4 with 考生须知)."""
    if layout not in LAYOUT_LABELS:
        raise DomainError(f"未知的准考证版式：{layout}")
    if not rows:
        raise DomainError("没有可生成准考证的考生。")
    progress = progress or _noop
    data = ticket_data(rows)
    size = CHUNK[layout]
    jobs = [data[i:i + size] for i in range(0, len(data), size)]
    label = LAYOUT_LABELS[layout]
    progress(0.03, f"共 {len(rows)} 张{label}，分 {len(jobs)} 个 PDF 文件生成…")
    site = rows[0].site_code
    return _run_jobs(layout, jobs, workers, len(data) >= PARALLEL_MIN[layout], progress, label,
                     lambda j, _k: f"{site}_{label}_{j + 1:03d}.pdf")


def session_groups(rows: Sequence[TicketRow]) -> list[list[TicketRow]]:
    """Rows grouped by room session (批次), sessions in room/seq order, each by seat number."""
    groups: dict[str, list[TicketRow]] = defaultdict(list)
    for r in rows:
        groups[r.session_number].append(r)
    out = [sorted(g, key=_room_key) for g in groups.values()]
    out.sort(key=lambda g: _room_key(g[0])[:2])
    return out


def _sheets_zip(kind: str, suffix: str, rows: Sequence[TicketRow], workers: int | None,
                progress: Progress | None) -> bytes:
    if not rows:
        raise DomainError("没有已编排的考生。")
    progress = progress or _noop
    groups = session_groups(rows)
    datas = [ticket_data(g) for g in groups]
    workers = workers or default_workers()
    parallel = len(groups) >= PARALLEL_MIN["sheets"] and workers > 1
    n_jobs = min(len(groups), workers * 4) if parallel else len(groups)
    per = math.ceil(len(groups) / n_jobs)
    jobs = [datas[i:i + per] for i in range(0, len(datas), per)]
    progress(0.03, f"共 {len(groups)} 个考场批次…")
    return _run_jobs(kind, jobs, workers, parallel, progress, suffix,
                     lambda j, k: f"{groups[j * per + k][0].session_number}_{suffix}.pdf")


def signin_zip(rows: Sequence[TicketRow], workers: int | None = None, progress: Progress | None = None) -> bytes:
    """考场签到表 (§50): one PDF per room session, `07#1_签到表.pdf`."""
    return _sheets_zip("signin", "签到表", rows, workers, progress)


def seating_zip(rows: Sequence[TicketRow], workers: int | None = None, progress: Progress | None = None) -> bytes:
    """考场座次表 (§51): one PDF per room session, `07#1_座次表.pdf`."""
    return _sheets_zip("seating", "座次表", rows, workers, progress)
