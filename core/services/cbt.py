"""机考数据管理 (001 §46–49): the photo pack and the machine-exam data file a site generates for the
machine-exam system, the 机考模拟考试报告 made from an uploaded simulation file, and 机考系统异常文件.

- §46 照片包 / §47 机考数据: builders for core.services.generated (generate-then-download; the site must be
  arranged and numbered first). One record per arranged 报考; the machine-exam system finds a candidate
  by 准考证号, so photos are named by ticket number and the DBF carries one row per ticket.
- §48 机考模拟考试报告: `upload_sim_file` stores the file (status 生成报告中; refused while another report of
  the site is being generated — check and insert under the site's row lock), `process_sim_report` reads
  it and writes the report workbook (已生成), or records why it failed (生成失败). A report left in
  生成报告中 for longer than STALE_AFTER (the process died) no longer blocks uploads and can be re-processed.
- §49 机考系统异常文件: the site uploads ZIPs (checked by content), deletes them while 未开始处理; the
  levels above change the status. Not restricted by operation windows (§49.2), writes only in the
  current 考次.
"""
from __future__ import annotations

import io
import logging
import re
import zipfile
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import PurePath
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.auth import Actor, get_scoped_org, in_scope
from core.config import LIMITS
from core.errors import DomainError, NotFound, PermissionDenied
from core.exports.dbf import Field, write_dbf
from core.exports.tabular import write_xlsx
from core.imports.archive import ArchiveError, open_zip
from core.models import (
    AnomalyFile,
    Candidate,
    Enrollment,
    ExamRoom,
    ExamSession,
    Org,
    Registration,
    SimReport,
    Subject,
)
from core.services.base import audit, require_window, require_writable_term, row_dict
from core.services.generated import Built, Progress
from core.workflow import file_path, save_blob

log = logging.getLogger(__name__)
UPPER_ROLES = ("center_admin", "province_admin", "city_admin")
MISSING_LIST = "照片缺失清单.xlsx"


# ---------------------------------------------------------------- arranged registrations
@dataclass(frozen=True)
class Seat:
    ticket_no: str | None
    name: str
    gender: str | None
    id_type: str | None
    id_number: str
    subject_code: str
    subject_name: str
    room: str
    session_seq: int
    seat_no: int | None
    start_at: datetime
    end_at: datetime
    photo_sha256: str | None


def arranged_seats(s: Session, term_id: int, site_id: int) -> list[Seat]:
    """Every arranged 报考 of the site in the 考次 (room, 批次, seat order)."""
    q = (select(Registration.ticket_no, func.coalesce(Enrollment.name, Candidate.name),
                func.coalesce(Enrollment.gender, Candidate.gender),
                func.coalesce(Enrollment.id_type, Candidate.id_type),
                func.coalesce(Enrollment.id_number, Candidate.id_number), Subject.code, Subject.name, ExamRoom.code,
                ExamSession.seq, Registration.seat_no, ExamSession.start_at, ExamSession.end_at,
                Enrollment.photo_sha256)
         .join(Candidate, Candidate.id == Registration.candidate_id)
         .outerjoin(Enrollment, Enrollment.id == Registration.enrollment_id)
         .join(Subject, Subject.id == Registration.subject_id)
         .join(ExamSession, ExamSession.id == Registration.session_id)
         .join(ExamRoom, ExamRoom.id == ExamSession.room_id)
         .where(Registration.term_id == term_id, Registration.site_id == site_id,
                Registration.session_id.is_not(None))
         .order_by(ExamRoom.code, ExamSession.seq, Registration.seat_no, Registration.id))
    return [Seat(*r) for r in s.execute(q)]


def _require_numbers(seats: list[Seat], what: str) -> None:
    missing = sum(1 for x in seats if not x.ticket_no)
    if missing:
        raise DomainError(f"本考点有 {missing} 条已编排的报考还没有准考证号，不能生成{what}；"
                          f"请先在《准考证号生成》中生成准考证号。")
    if not seats:
        raise DomainError(f"本考点没有已编排的报考，不能生成{what}；请先完成考场编排并生成准考证号。")


# ---------------------------------------------------------------- §46 照片包
def build_photo_pack(s: Session, actor: Actor, site: Org, options: Mapping[str, Any], progress: Progress) -> Built:
    """ZIP (stored: JPEGs are already compressed) with one folder named by the site code holding
    `<准考证号>.jpg` for every arranged 报考 (a candidate's photo repeated for each subject), plus
    照片缺失清单.xlsx at the top level when some arranged candidates have no photo."""
    seats = arranged_seats(s, actor.term_id, site.id)
    _require_numbers(seats, "照片包")
    progress(0.0, f"共 {len(seats)} 个准考证号，正在打包照片…")
    buf = io.BytesIO()
    missing: list[tuple] = []
    cache: dict[str, bytes | None] = {}
    stamp = datetime.now().timetuple()[:6]
    written = 0
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        folder = zipfile.ZipInfo(f"{site.code}/", stamp)
        folder.external_attr = 0o40755 << 16 | 0x10
        z.writestr(folder, b"")
        step = max(1, len(seats) // 50)
        for i, x in enumerate(seats, 1):
            data = None
            if x.photo_sha256:
                if x.photo_sha256 not in cache:
                    path = file_path(x.photo_sha256)
                    cache.clear()  # keep one candidate's photo (consecutive subjects share it)
                    cache[x.photo_sha256] = path.read_bytes() if path.is_file() else None
                data = cache[x.photo_sha256]
            if data is None:
                missing.append((x.ticket_no, x.name, x.id_number, f"{x.subject_code} {x.subject_name}",
                                x.room, x.session_seq, x.seat_no,
                                "照片文件丢失" if x.photo_sha256 else "未上传照片"))
            else:
                info = zipfile.ZipInfo(f"{site.code}/{x.ticket_no}.jpg", stamp)
                info.external_attr = 0o644 << 16
                z.writestr(info, data, zipfile.ZIP_STORED)
                written += 1
            if i % step == 0:
                progress(i / len(seats) * 0.95, f"已打包 {i}/{len(seats)}")
        if missing:
            z.writestr(zipfile.ZipInfo(MISSING_LIST, stamp), write_xlsx(
                ["准考证号", "姓名", "证件号码", "科目", "考场号", "批次", "座位号", "原因"], missing,
                sheet_name="照片缺失清单"))
    progress(1.0, f"完成：{written} 张照片，缺失 {len(missing)} 个")
    return Built(buf.getvalue(), f"{site.code}_照片包.zip", written)


# ---------------------------------------------------------------- §47 机考数据
CBT_FIELDS = [
    Field("ZKZH", "C", 20),   # 准考证号
    Field("XM", "C", 40),     # 姓名 (20 Chinese characters)
    Field("XB", "C", 2),      # 性别
    Field("ZJLX", "C", 30),   # 证件类型
    Field("ZJHM", "C", 30),   # 证件号码
    Field("KMDM", "C", 4),    # 科目代码
    Field("KMMC", "C", 60),   # 科目名称
    Field("KCH", "C", 10),    # 考场号
    Field("PC", "N", 3),      # 批次
    Field("ZWH", "N", 3),     # 座位号
    Field("KSRQ", "D", 8),    # 考试日期
    Field("KSSJ", "C", 5),    # 开始时间 HH:MM
    Field("JSSJ", "C", 5),    # 结束时间 HH:MM
    Field("KDDM", "C", 10),   # 考点代码
    Field("KDMC", "C", 100),  # 考点名称
]
CBT_LABELS = {"ZKZH": "准考证号", "XM": "姓名", "XB": "性别", "ZJLX": "证件类型", "ZJHM": "证件号码",
              "KMDM": "科目代码", "KMMC": "科目名称", "KCH": "考场号", "PC": "批次", "ZWH": "座位号",
              "KSRQ": "考试日期", "KSSJ": "开始时间", "JSSJ": "结束时间", "KDDM": "考点代码", "KDMC": "考点名称"}


def build_cbt_data(s: Session, actor: Actor, site: Org, options: Mapping[str, Any], progress: Progress) -> Built:
    """ZIP with `<考点代码>.DBF` (dBase III, GBK): one record per arranged 报考 (fields CBT_FIELDS)."""
    seats = arranged_seats(s, actor.term_id, site.id)
    _require_numbers(seats, "机考数据")
    progress(0.1, f"共 {len(seats)} 条记录，正在写入 DBF…")
    rows = ((x.ticket_no, x.name, x.gender, x.id_type, x.id_number, x.subject_code, x.subject_name, x.room,
             x.session_seq, x.seat_no, x.start_at.date(), f"{x.start_at:%H:%M}", f"{x.end_at:%H:%M}", site.code,
             site.name) for x in seats)
    dbf = write_dbf(CBT_FIELDS, rows, "gbk")
    progress(0.8, "正在压缩…")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as z:
        z.writestr(zipfile.ZipInfo(f"{site.code}.DBF", datetime.now().timetuple()[:6]), dbf,
                   zipfile.ZIP_DEFLATED)
    progress(1.0, f"完成：{len(seats)} 条记录")
    return Built(buf.getvalue(), f"{site.code}_机考数据.zip", len(seats))


# ---------------------------------------------------------------- shared checks
def _own_site_write(s: Session, actor: Actor, site_id: int, what: str, window: str | None = None) -> Org:
    site = get_scoped_org(s, actor, site_id)
    if site.kind != "site":
        raise NotFound("请选择考点。")
    if actor.role != "site_admin" or actor.org_id != site.id:
        raise PermissionDenied(f"{what}由考点管理员在本考点操作，上级机构只能查看。")
    require_writable_term(actor)
    if window:
        require_window(s, actor, window)
    return site


def _lock_site(s: Session, site_id: int) -> None:
    """Serialise check-then-insert per site: the site's row lock on PostgreSQL (SQLite takes the
    database write lock at BEGIN IMMEDIATE)."""
    s.execute(select(Org.id).where(Org.id == site_id).with_for_update())


def _clean_name(filename: str, default: str) -> str:
    name = PurePath((filename or "").replace("\\", "/")).name
    name = re.sub(r"[\x00-\x1f\x7f]", "", name).strip()
    return (name or default)[-200:]


def _site_labels(s: Session, ids) -> dict[int, str]:
    ids = set(ids)
    if not ids:
        return {}
    return {i: f"({c}){n}" for i, c, n in s.execute(select(Org.id, Org.code, Org.name).where(Org.id.in_(ids)))}


# ---------------------------------------------------------------- §48 机考模拟考试报告
SIM_STATUS = {"generating": "生成报告中", "done": "已生成", "failed": "生成失败"}
STALE_AFTER = timedelta(minutes=10)
SIM_MAX_MB = 20
SIM_MAX_ROWS = 100_000
SIM_FORMAT = ("模拟考试数据文件：机考系统“模拟考试”导出的 CSV 文件（UTF-8 或 GBK 编码，可带 BOM；也可以是 .xlsx），"
              "或只含一个 CSV/xlsx 文件的 ZIP 压缩包。第一行为列名，每个机位一行："
              "考场号、座位号（或“机位号”）、准考证号（可空）、登录（是/否）、交卷（是/否）、结果（正常，或异常说明）。")
_SIM_COLUMNS = {
    "room": ("考场号", "考场", "考场编号", "kch"),
    "seat": ("座位号", "机位号", "机位", "座位", "机号", "zwh", "jwh"),
    "ticket": ("准考证号", "zkzh"),
    "login": ("登录", "是否登录", "登录状态", "登录情况"),
    "submit": ("交卷", "是否交卷", "交卷状态", "交卷情况"),
    "result": ("结果", "异常说明", "测试结果", "说明", "备注", "异常情况"),
}
_REQUIRED = ("room", "seat", "login", "submit")
_YES = {"是", "成功", "正常", "已登录", "已交卷", "登录成功", "交卷成功", "1", "y", "yes", "true", "t", "√", "ok", "通过"}
_NO = {"否", "失败", "未登录", "未交卷", "登录失败", "交卷失败", "0", "n", "no", "false", "f", "×", "x", ""}
_OK_RESULTS = {"", "正常", "成功", "通过", "ok", "无", "无异常", "-"}


@dataclass(frozen=True)
class SimInfo:
    id: int
    site_id: int
    site: str
    filename: str
    size: int
    status: str
    status_label: str
    summary: str | None
    uploaded_by: str | None
    uploaded_at: datetime
    finished_at: datetime | None
    has_report: bool
    stale: bool  # 生成报告中 for longer than STALE_AFTER


def _is_stale(row: SimReport, now: datetime | None = None) -> bool:
    return row.status == "generating" and row.uploaded_at is not None and \
        row.uploaded_at < (now or datetime.now()) - STALE_AFTER


def _sim_info(row: SimReport, site: str, now: datetime | None = None) -> SimInfo:
    stale = _is_stale(row, now)
    label = SIM_STATUS.get(row.status, row.status) + ("（超时）" if stale else "")
    return SimInfo(row.id, row.site_id, site, row.filename, row.size, row.status, label, row.summary, row.uploaded_by,
                   row.uploaded_at, row.finished_at, bool(row.report_sha256), stale)


def upload_sim_file(s: Session, actor: Actor, site_id: int, data: bytes, filename: str,
                    now: datetime | None = None) -> SimInfo:
    """Keep an uploaded simulation data file (status 生成报告中). Refused while another report of the
    site is being generated (§48.3); a stale one (older than STALE_AFTER) is marked failed instead."""
    site = _own_site_write(s, actor, site_id, "机考模拟考试报告上传", "pre_exam_download")
    if not data:
        raise DomainError("文件为空，请选择模拟考试数据文件。")
    if len(data) > SIM_MAX_MB * 1024 * 1024:
        raise DomainError(f"文件过大（{len(data) / 1024 / 1024:.1f} MB），不能超过 {SIM_MAX_MB} MB。")
    now = now or datetime.now().replace(microsecond=0)
    _lock_site(s, site.id)
    busy = s.scalars(select(SimReport).where(SimReport.term_id == actor.term_id, SimReport.site_id == site.id,
                                             SimReport.status == "generating")).all()
    for row in busy:
        if not _is_stale(row, now):
            raise DomainError(f"本考点的模拟考试报告（{row.filename}，{row.uploaded_at:%H:%M:%S} 上传）正在生成中，"
                              f"此时不能上传模拟文件；请稍后点击“刷新”查看报告状态。")
        row.status, row.finished_at = "failed", now
        row.summary = "生成超时（处理过程中断），已标记为生成失败；可以重新生成或重新上传。"
    sha = save_blob(data)
    row = SimReport(term_id=actor.term_id, site_id=site.id, filename=_clean_name(filename, "模拟考试数据.csv"),
                    sha256=sha, size=len(data), status="generating", uploaded_by=actor.username, uploaded_at=now)
    s.add(row)
    s.flush()
    audit(s, actor, "create", "sim_report", row.id, org_id=site.id,
          summary=f"上传机考模拟考试数据文件：{row.filename}（{len(data)} 字节）")
    return _sim_info(row, f"({site.code}){site.name}", now)


def _norm_header(v: str) -> str:
    return re.sub(r"\s+", "", v.replace("\ufeff", "")).lower()


def _norm_room(v: str) -> str:
    v = v.strip()
    return str(int(v)) if v.isdigit() else v.upper()


def _flag(v: str) -> bool | None:
    t = v.strip().lower()
    if t in _YES:
        return True
    if t in _NO:
        return False
    return None


def parse_sim_file(data: bytes, filename: str) -> list[dict]:
    """The per-seat rows of a simulation data file (see SIM_FORMAT); DomainError says what is wrong."""
    from core.imports.archive import single_table
    from core.imports.readers import ImportFileError, ZIP_MAGIC, read_csv, read_xlsx

    name = filename or ""
    try:
        if data.startswith(ZIP_MAGIC):
            try:
                with zipfile.ZipFile(io.BytesIO(data)) as zf:
                    is_xlsx = "xl/workbook.xml" in zf.namelist()
            except zipfile.BadZipFile:
                raise DomainError("文件是损坏的 ZIP 压缩包，无法打开。") from None
            if is_xlsx:
                grid = read_xlsx(data, max_rows=SIM_MAX_ROWS)
            else:
                name, inner = single_table(data, filename, max_mb=SIM_MAX_MB)
                grid = read_xlsx(inner, max_rows=SIM_MAX_ROWS) if name.lower().endswith(".xlsx") \
                    else read_csv(inner, max_rows=SIM_MAX_ROWS)
        else:
            if b"\x00" in data[:8192] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
                raise DomainError("文件内容不是文本 CSV，也不是 ZIP 压缩包；" + SIM_FORMAT)
            grid = read_csv(data, max_rows=SIM_MAX_ROWS)
    except ImportFileError as e:
        raise DomainError(e.message) from None
    if not grid.rows:
        raise DomainError("文件中没有数据。" + SIM_FORMAT)
    head_row, head = grid.rows[0]
    cols: dict[str, int] = {}
    for i, h in enumerate(head):
        key = _norm_header(h)
        for k, names in _SIM_COLUMNS.items():
            if k not in cols and key in names:
                cols[k] = i
    lacking = [_SIM_COLUMNS[k][0] for k in _REQUIRED if k not in cols]
    if lacking:
        raise DomainError(f"模拟考试数据文件缺少列：{'、'.join(lacking)}（第 {head_row} 行应为列名）。" + SIM_FORMAT)
    out = []
    for rownum, cells in grid.rows[1:]:
        def get(k: str) -> str:
            i = cols.get(k)
            return cells[i].strip() if i is not None and i < len(cells) else ""
        out.append({"row": rownum, "room": get("room"), "seat": get("seat"), "ticket": get("ticket"),
                    "login": get("login"), "submit": get("submit"), "result": get("result")})
    if not out:
        raise DomainError("文件中只有列名，没有机位数据。")
    return out


@dataclass
class _Room:
    arranged: set[int]
    tested: dict[int, bool]  # seat -> all its rows succeeded


def build_sim_report(rows: list[dict], arranged: Mapping[str, set[int]], room_labels: Mapping[str, str],
                     site_label: str) -> tuple[bytes, str]:
    """The report workbook (汇总 / 失败明细 / 未测试机位 / 数据有误的行) and its one-line summary."""
    import xlsxwriter

    rooms: dict[str, _Room] = {k: _Room(set(v), {}) for k, v in arranged.items()}
    failures: list[tuple] = []
    bad: list[tuple] = []
    for r in rows:
        room_raw, seat_raw = r["room"], r["seat"]
        if not room_raw or not seat_raw.isdigit():
            bad.append((r["row"], room_raw, seat_raw, r["ticket"], "考场号为空或座位号不是数字"))
            continue
        room, seat = _norm_room(room_raw), int(seat_raw)
        if room not in room_labels:
            room_labels = {**room_labels, room: room_raw}  # a room not arranged here: as the file writes it
        reasons = []
        login, submit = _flag(r["login"]), _flag(r["submit"])
        if login is None:
            reasons.append(f"登录状态无法识别（{r['login']}）")
        elif not login:
            reasons.append("未登录")
        if submit is None:
            reasons.append(f"交卷状态无法识别（{r['submit']}）")
        elif not submit:
            reasons.append("未交卷")
        if r["result"].strip().lower() not in _OK_RESULTS:
            reasons.append(r["result"].strip())
        entry = rooms.setdefault(room, _Room(set(), {}))
        ok = not reasons
        entry.tested[seat] = entry.tested.get(seat, True) and ok
        if not ok:
            failures.append((room_labels.get(room, room_raw), seat, r["ticket"], "；".join(reasons), r["row"]))
    summary_rows = []
    missing_rows = []
    totals = [0] * 6
    for room in sorted(rooms, key=lambda k: (not k.isdigit(), k.zfill(10))):
        e = rooms[room]
        tested = set(e.tested)
        ok = sum(1 for v in e.tested.values() if v)
        failed = len(tested) - ok
        missing = sorted(e.arranged - tested)
        extra = len(tested - e.arranged)
        label = room_labels.get(room, room)
        note = "" if e.arranged else "不是本考点编排的考场"
        vals = [len(e.arranged), len(tested), ok, failed, len(missing), extra]
        totals = [a + b for a, b in zip(totals, vals)]
        summary_rows.append([label, *vals, note])
        missing_rows += [(label, seat) for seat in missing]
    summary = (f"考场 {len(rooms)} 个；测试机位 {totals[1]} 个，成功 {totals[2]}，失败 {totals[3]}；"
               f"编排机位未测试 {totals[4]} 个" + (f"；数据有误 {len(bad)} 行" if bad else "") + "。")
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
                                   "strings_to_numbers": False})
    bold = wb.add_format({"bold": True})

    def sheet(title: str, header: list[str], data: list, widths: list[int]) -> None:
        ws = wb.add_worksheet(title)
        for c, h in enumerate(header):
            ws.write_string(0, c, h, bold)
            ws.set_column(c, c, widths[c])
        for r_, row in enumerate(data, 1):
            for c, v in enumerate(row):
                if isinstance(v, (int, float)):
                    ws.write_number(r_, c, v)
                else:
                    ws.write_string(r_, c, "" if v is None else str(v))
        ws.freeze_panes(1, 0)

    sheet("汇总", ["考场号", "编排机位数", "测试机位数", "成功机位数", "失败机位数", "未测试机位数", "非编排机位数", "说明"],
          summary_rows + [["合计", *totals, summary]], [12, 12, 12, 12, 12, 14, 14, 40])
    sheet("失败明细", ["考场号", "座位号", "准考证号", "失败原因", "文件行号"], failures, [12, 10, 20, 50, 10])
    sheet("未测试机位", ["考场号", "座位号"], missing_rows, [12, 10])
    if bad:
        sheet("数据有误的行", ["文件行号", "考场号", "座位号", "准考证号", "问题"], bad, [10, 12, 10, 20, 40])
    ws = wb.add_worksheet("说明")
    ws.write_string(0, 0, f"考点：{site_label}")
    ws.write_string(1, 0, summary)
    ws.write_string(2, 0, "编排机位：本考点编排中各考场使用的座位号；未测试机位：编排中使用、模拟考试数据中没有的机位。")
    ws.set_column(0, 0, 100)
    wb.close()
    return buf.getvalue(), summary


def _arranged_room_seats(s: Session, term_id: int, site_id: int) -> tuple[dict[str, set[int]], dict[str, str]]:
    q = (select(ExamRoom.code, Registration.seat_no).distinct()
         .join(ExamSession, ExamSession.room_id == ExamRoom.id)
         .join(Registration, Registration.session_id == ExamSession.id)
         .where(ExamRoom.term_id == term_id, ExamRoom.site_id == site_id, Registration.seat_no.is_not(None)))
    seats: dict[str, set[int]] = defaultdict(set)
    labels: dict[str, str] = {}
    for code, seat in s.execute(q):
        seats[_norm_room(code)].add(seat)
    for (code,) in s.execute(select(ExamRoom.code).where(ExamRoom.term_id == term_id, ExamRoom.site_id == site_id)):
        labels[_norm_room(code)] = code
        seats.setdefault(_norm_room(code), set())
    return dict(seats), labels


def process_sim_report(s: Session, report_id: int, actor: Actor | None = None,
                       now: datetime | None = None) -> SimInfo:
    """Read the uploaded file and store the report (已生成), or record why not (生成失败). Idempotent:
    a report that is no longer 生成报告中 is returned as it is."""
    row = s.scalar(select(SimReport).where(SimReport.id == report_id).with_for_update())
    if row is None:
        raise NotFound("模拟考试报告不存在。")
    site = s.get(Org, row.site_id)
    label = f"({site.code}){site.name}"
    if row.status != "generating":
        return _sim_info(row, label, now)
    now = now or datetime.now().replace(microsecond=0)
    path = file_path(row.sha256)
    arranged, labels = _arranged_room_seats(s, row.term_id, row.site_id)
    try:  # pure computation from here: any failure is recorded on the report, never left 生成报告中
        if not path.is_file():
            raise DomainError("上传的模拟考试数据文件已丢失，请重新上传。")
        rows = parse_sim_file(path.read_bytes(), row.filename)
        report, summary = build_sim_report(rows, arranged, labels, label)
    except Exception as e:  # noqa: BLE001 - the reason goes to the report's status
        if isinstance(e, DomainError):
            message = e.message
        else:
            log.exception("sim report %s failed", row.id)
            message = f"处理文件时发生内部错误（{type(e).__name__}），请检查文件格式后重新上传，或联系管理员。"
        row.status, row.summary, row.finished_at = "failed", f"生成失败：{message}", now
        audit(s, actor, "generate", "sim_report", row.id, org_id=row.site_id,
              summary=f"机考模拟考试报告生成失败：{row.filename}：{message}")
        return _sim_info(row, label, now)
    row.report_sha256 = save_blob(report)
    row.status, row.summary, row.finished_at = "done", summary, now
    audit(s, actor, "generate", "sim_report", row.id, org_id=row.site_id,
          summary=f"生成机考模拟考试报告：{row.filename}：{summary}")
    return _sim_info(row, label, now)


def retry_sim_report(s: Session, actor: Actor, report_id: int, now: datetime | None = None) -> SimInfo:
    """Re-process a failed report, or one stuck in 生成报告中 (stale), now."""
    row = s.scalar(select(SimReport).where(SimReport.id == report_id, in_scope(actor, SimReport.site_id)))
    if row is None or row.term_id != actor.term_id:
        raise NotFound("模拟考试报告不存在或不在您的管理范围内。")
    _own_site_write(s, actor, row.site_id, "机考模拟考试报告", "pre_exam_download")
    _lock_site(s, row.site_id)
    s.refresh(row)
    if row.status == "done":
        raise DomainError("报告已生成，无需重新生成。")
    if row.status == "generating" and not _is_stale(row, now):
        raise DomainError("报告正在生成中，请稍后点击“刷新”。")
    row.status, row.report_sha256, row.summary = "generating", None, None
    s.flush()
    return process_sim_report(s, row.id, actor, now)


def list_sim_reports(s: Session, actor: Actor, site_id: int, now: datetime | None = None) -> list[SimInfo]:
    site = get_scoped_org(s, actor, site_id)
    rows = s.scalars(select(SimReport).where(SimReport.term_id == actor.term_id, SimReport.site_id == site.id)
                     .order_by(SimReport.uploaded_at.desc(), SimReport.id.desc())).all()
    label = f"({site.code}){site.name}"
    return [_sim_info(r, label, now) for r in rows]


def download_sim_report(s: Session, actor: Actor, report_id: int) -> tuple[bytes, str]:
    """The report workbook (the site and the levels above it); audited as an export."""
    row = s.scalar(select(SimReport).where(SimReport.id == report_id, in_scope(actor, SimReport.site_id)))
    if row is None:
        raise NotFound("模拟考试报告不存在或不在您的管理范围内。")
    if row.status != "done" or not row.report_sha256:
        raise DomainError("报告尚未生成，请稍后点击“刷新”。")
    path = file_path(row.report_sha256)
    if not path.is_file():
        raise DomainError("报告文件已丢失，请重新上传模拟文件。")
    site = s.get(Org, row.site_id)
    name = f"{site.code}_机考模拟考试报告_{row.id}.xlsx"
    audit(s, actor, "export", "sim_report", row.id, org_id=row.site_id, summary=f"下载机考模拟考试报告：{name}")
    return path.read_bytes(), name


# ---------------------------------------------------------------- §49 机考系统异常文件
ANOMALY_STATUS = {"pending": "未开始处理", "processing": "正在处理", "done": "处理完成"}
ANOMALY_MAX_MB = LIMITS.max_upload_mb
REMARK_MAX = 500


@dataclass(frozen=True)
class AnomalyInfo:
    id: int
    site_id: int
    site: str
    filename: str
    size: int
    remark: str | None
    status: str
    status_label: str
    uploaded_by: str | None
    uploaded_at: datetime
    status_by: str | None
    status_at: datetime | None


def _anomaly_info(row: AnomalyFile, site: str) -> AnomalyInfo:
    return AnomalyInfo(row.id, row.site_id, site, row.filename, row.size, row.remark, row.status,
                       ANOMALY_STATUS.get(row.status, row.status), row.uploaded_by, row.uploaded_at, row.status_by,
                       row.status_at)


def _anomaly(s: Session, actor: Actor, file_id: int, lock: bool = False) -> AnomalyFile:
    q = select(AnomalyFile).where(AnomalyFile.id == file_id, in_scope(actor, AnomalyFile.site_id))
    row = s.scalar(q.with_for_update() if lock else q)
    if row is None:
        raise NotFound("异常文件不存在或不在您的管理范围内。")
    return row


def add_anomaly_file(s: Session, actor: Actor, site_id: int, data: bytes, filename: str,
                     remark: str | None = None) -> AnomalyInfo:
    """新增: keep a ZIP of the machine-exam system's anomaly files (checked by content). Not restricted
    by operation windows (§49.2); only in the current 考次."""
    site = _own_site_write(s, actor, site_id, "机考系统异常文件上传")
    if not data:
        raise DomainError("文件为空，请选择 ZIP 压缩包。")
    try:
        with open_zip(data, filename, max_bytes=ANOMALY_MAX_MB * 1024 * 1024) as z:
            if not z.members and not z.ignored:
                raise DomainError("压缩包中没有任何文件。")
    except ArchiveError as e:
        raise DomainError(f"机考系统异常文件只能是 ZIP 压缩包：{e.message}") from None
    remark = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", (remark or "")).strip() or None
    if remark and len(remark) > REMARK_MAX:
        raise DomainError(f"备注不能超过 {REMARK_MAX} 个字（现有 {len(remark)} 个）。")
    name = _clean_name(filename, "机考系统异常文件.zip")
    if not name.lower().endswith(".zip"):
        name = (name + ".zip")[-200:]
    row = AnomalyFile(term_id=actor.term_id, site_id=site.id, filename=name, sha256=save_blob(data), size=len(data),
                      remark=remark, status="pending", uploaded_by=actor.username,
                      uploaded_at=datetime.now().replace(microsecond=0))
    s.add(row)
    s.flush()
    audit(s, actor, "create", "anomaly_file", row.id, org_id=site.id, after=row_dict(row),
          summary=f"上传机考系统异常文件：{name}（{len(data)} 字节）")
    return _anomaly_info(row, f"({site.code}){site.name}")


def list_anomaly_files(s: Session, actor: Actor, site_id: int | None = None, status: str | None = None
                       ) -> list[AnomalyInfo]:
    """The viewed 考次's anomaly files of one site (site_id) or of every site in scope (None), newest first."""
    q = select(AnomalyFile).where(AnomalyFile.term_id == actor.term_id, in_scope(actor, AnomalyFile.site_id))
    if site_id is not None:
        q = q.where(AnomalyFile.site_id == get_scoped_org(s, actor, site_id).id)
    if status:
        if status not in ANOMALY_STATUS:
            raise DomainError(f"未知的处理状态：{status}")
        q = q.where(AnomalyFile.status == status)
    rows = s.scalars(q.order_by(AnomalyFile.uploaded_at.desc(), AnomalyFile.id.desc()).limit(2000)).all()
    labels = _site_labels(s, (r.site_id for r in rows))
    return [_anomaly_info(r, labels.get(r.site_id, "")) for r in rows]


def delete_anomaly_file(s: Session, actor: Actor, file_id: int) -> None:
    """删除: the site's own file, only while 未开始处理, in the current 考次."""
    row = _anomaly(s, actor, file_id, lock=True)
    if actor.role != "site_admin" or actor.org_id != row.site_id:
        raise PermissionDenied("机考系统异常文件由上传的考点管理员删除，上级机构只能查看和处理。")
    require_writable_term(actor)
    if row.term_id != actor.term_id:
        raise DomainError("只能删除当前考次的异常文件。")
    if row.status != "pending":
        raise DomainError(f"异常文件“{row.filename}”{ANOMALY_STATUS[row.status]}，只有未开始处理的文件可以删除。")
    before = row_dict(row)
    s.delete(row)
    s.flush()
    audit(s, actor, "delete", "anomaly_file", file_id, org_id=row.site_id, before=before,
          summary=f"删除机考系统异常文件：{row.filename}")


def set_anomaly_status(s: Session, actor: Actor, file_id: int, status: str) -> AnomalyInfo:
    """The level above (考试中心 / 省级 / 地市管理员 in scope) sets 未开始处理 / 正在处理 / 处理完成."""
    if status not in ANOMALY_STATUS:
        raise DomainError(f"未知的处理状态：{status}")
    row = _anomaly(s, actor, file_id, lock=True)
    if actor.role not in UPPER_ROLES or actor.org_id == row.site_id:
        raise PermissionDenied("异常文件的处理状态由上级机构（地市、省级、考试中心管理员）修改，考点只能查看。")
    require_writable_term(actor)
    if row.term_id != actor.term_id:
        raise DomainError("只能处理当前考次的异常文件。")
    if row.status == status:
        raise DomainError(f"异常文件“{row.filename}”已经是“{ANOMALY_STATUS[status]}”。")
    before = {"status": row.status, "status_by": row.status_by}
    old = row.status
    row.status, row.status_by, row.status_at = status, actor.username, datetime.now().replace(microsecond=0)
    s.flush()
    audit(s, actor, "update", "anomaly_file", row.id, org_id=row.site_id, before=before,
          after={"status": status, "status_by": actor.username},
          summary=f"机考系统异常文件“{row.filename}”：{ANOMALY_STATUS[old]} → {ANOMALY_STATUS[status]}")
    return _anomaly_info(row, _site_labels(s, [row.site_id]).get(row.site_id, ""))


def download_anomaly_file(s: Session, actor: Actor, file_id: int) -> tuple[bytes, str]:
    """The uploaded ZIP (the site and the levels above it); audited as an export."""
    row = _anomaly(s, actor, file_id)
    path = file_path(row.sha256)
    if not path.is_file():
        raise DomainError("异常文件已丢失，请考点重新上传。")
    audit(s, actor, "export", "anomaly_file", row.id, org_id=row.site_id, summary=f"下载机考系统异常文件：{row.filename}")
    return path.read_bytes(), row.filename
