"""编排管理 (001 §30 考场管理, §31 考场编排管理, §32 准考证号生成).

Who writes: the site's own 考点管理员, in the current 考次, inside the site's 编排时间 (window
"arrangement"), through `core.services.registration.site_for_write`. Upper levels view only; every read
is scoped (`get_scoped_org`).

Rooms and sessions (§30): a room (考场, code like "07") has sessions (批次, number "07#1"): capacity,
start and end strictly inside 08:00–20:00 of one exam day (§30.3), inside the 考次's exam dates when set,
never overlapping another session of the same room. A room or session with arranged candidates cannot
be deleted, and a session's capacity cannot go below the candidates already seated in it.

Arrangement (§31): the prerequisites (every 报考 paid, the site address set, sessions exist), then the
solver (core.services.arrange_solver) places the unplaced 报考 in sessions with free seats: the subject's
duration must fit the session, the session must lie inside the site's exam time range of the subject,
a candidate's subjects are more than 15 minutes apart, intent candidates on their chosen day where
possible. Seats are the lowest free numbers 1..capacity of the session. One transaction; the site's
sessions are locked first (PostgreSQL: SELECT … FOR UPDATE in id order; SQLite: the write transaction
is BEGIN IMMEDIATE), so two runs (or a run and a room change) serialise and a session is never overfilled.

准考证号 (§32): only when every 报考 of the site is arranged. The layout is the 考次's `ticket_layout`
(named fields, e.g. the NCRE default "{subject:2}{term:2}{site:6}{room:2}{session:2}{seat:2}" = 16
digits). Regenerating is idempotent: the same arrangement gives the same numbers.
"""
from __future__ import annotations

import re
import time as _time
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Iterable, NamedTuple, Sequence

from sqlalchemy import and_, case, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from core.auth import Actor, get_scoped_org, require_role
from core.db import update_by_id
from core.errors import DomainError, NotFound, ValidationError
from core.exports.tabular import write_xlsx
from core.masking import mask_id
from core.models import AuditLog, Enrollment, ExamTerm, Org, Registration, SiteSubject, Subject
from core.models.arrange import ExamRoom, ExamSession
from core.services import registration as reg
from core.services.base import audit, require_writable_term

WINDOW = "arrangement"
DAY_START, DAY_END = time(8, 0), time(20, 0)
GAP_MINUTES = 15  # §31: 报考多科目考生每科间隔大于15分钟
SESSION_CAPACITY_MAX = 999
ROOM_CODE_RE = re.compile(r"^\d{1,6}$")
TEXT_MAX = 200
FMT = "%Y-%m-%d %H:%M"
ARRANGE_PAGE = "《考场编排管理》"


# ================================================================ shared
def _term(s: Session, actor: Actor) -> ExamTerm:
    if actor.term_id is None:
        raise DomainError("系统尚未设置当前考次，请考试中心管理员先创建考次。")
    term = s.get(ExamTerm, actor.term_id)
    if term is None:
        raise NotFound("考次不存在。")
    return term


def site_for_read(s: Session, actor: Actor, site_id: int) -> Org:
    """A site the actor may see (own site, or one below an upper level)."""
    _term(s, actor)
    org = get_scoped_org(s, actor, site_id)
    if org.kind != "site":
        raise NotFound("请选择考点。")
    return org


def _writer(s: Session, actor: Actor, site_id: int, what: str) -> Org:
    _term(s, actor)
    return reg.site_for_write(s, actor, site_id, what=what, window=WINDOW)


def subject_label(code: str, name: str) -> str:
    return f"({code}){name}"


def lock_sessions(s: Session, site_id: int, term_id: int) -> list[ExamSession]:
    """Lock every session of the site in this 考次 (id order, so lockers never deadlock) and return them.
    Every arrangement write takes this lock first: runs, clears and session changes serialise per site."""
    q = (select(ExamSession).where(ExamSession.site_id == site_id, ExamSession.term_id == term_id)
         .order_by(ExamSession.id))
    if s.get_bind().dialect.name == "postgresql":
        q = q.with_for_update()
    return list(s.scalars(q))


def _seated(s: Session, session_ids: Sequence[int]) -> dict[int, int]:
    out: dict[int, int] = {}
    for part in reg.chunks(list(session_ids)):
        out.update({sid: int(n) for sid, n in s.execute(
            select(Registration.session_id, func.count()).where(Registration.session_id.in_(part))
            .group_by(Registration.session_id))})
    return out


def _clean(v: Any, label: str, required: bool = False, max_len: int = TEXT_MAX) -> str | None:
    text = (v or "").strip() if isinstance(v, str) or v is None else str(v).strip()
    if not text:
        if required:
            raise ValidationError(f"{label}不能为空。", label)
        return None
    if len(text) > max_len:
        raise ValidationError(f"{label}过长（最多 {max_len} 个字符）。", label)
    return text


# ================================================================ §30 考场管理
@dataclass
class SessionView:
    id: int
    room_id: int
    room_code: str
    seq: int
    capacity: int
    seated: int
    start: datetime
    end: datetime

    @property
    def number(self) -> str:
        return f"{self.room_code}#{self.seq}"

    @property
    def free(self) -> int:
        return max(self.capacity - self.seated, 0)


@dataclass
class RoomView:
    id: int
    code: str
    address: str | None
    remark: str | None
    sessions: list[SessionView] = field(default_factory=list)

    @property
    def capacity(self) -> int:
        return sum(x.capacity for x in self.sessions)

    @property
    def seated(self) -> int:
        return sum(x.seated for x in self.sessions)


def list_rooms(s: Session, actor: Actor, site_id: int) -> list[RoomView]:
    """The site's rooms (by code) with their sessions (by start) and how many are seated in each."""
    site = site_for_read(s, actor, site_id)
    rooms = {r.id: RoomView(r.id, r.code, r.address, r.remark) for r in s.scalars(
        select(ExamRoom).where(ExamRoom.site_id == site.id, ExamRoom.term_id == actor.term_id)
        .order_by(ExamRoom.code))}
    seated = dict(s.execute(
        select(Registration.session_id, func.count()).join(ExamSession, ExamSession.id == Registration.session_id)
        .where(ExamSession.site_id == site.id, ExamSession.term_id == actor.term_id)
        .group_by(Registration.session_id)).all())
    for x in s.scalars(select(ExamSession).where(ExamSession.site_id == site.id,
                                                 ExamSession.term_id == actor.term_id)
                       .order_by(ExamSession.start_at, ExamSession.seq)):
        room = rooms.get(x.room_id)
        if room is not None:
            room.sessions.append(SessionView(x.id, x.room_id, room.code, x.seq, x.capacity,
                                             int(seated.get(x.id, 0)), x.start_at, x.end_at))
    return list(rooms.values())


def exam_days(s: Session, actor: Actor) -> list[date]:
    """The 考次's exam days (ExamTerm.exam_start..exam_end), [] when not set."""
    term = _term(s, actor)
    if not term.exam_start or not term.exam_end:
        return []
    d, last = term.exam_start.date(), term.exam_end.date()
    out = []
    while d <= last and len(out) < 60:
        out.append(d)
        d += timedelta(days=1)
    return out


def _room_code(code: Any) -> str:
    text = _clean(code, "考场号", required=True, max_len=6)
    if not ROOM_CODE_RE.match(text):
        raise ValidationError("考场号只能由 1–6 位数字组成（如 07），它会写入准考证号。", "考场号")
    return text


def _room_for_write(s: Session, actor: Actor, room_id: int, what: str = "考场管理") -> tuple[ExamRoom, Org]:
    room = s.get(ExamRoom, room_id)
    if room is None or room.term_id != actor.term_id:
        raise NotFound("考场不存在（可能已被删除），请刷新页面。")
    site = _writer(s, actor, room.site_id, what)
    return room, site


def _session_for_write(s: Session, actor: Actor, session_id: int) -> tuple[ExamSession, Org]:
    x = s.get(ExamSession, session_id)
    if x is None or x.term_id != actor.term_id:
        raise NotFound("批次不存在（可能已被删除），请刷新页面。")
    site = _writer(s, actor, x.site_id, "考场管理")
    return x, site


def _unique_room_code(s: Session, site_id: int, term_id: int, code: str, except_id: int | None = None) -> None:
    q = select(ExamRoom.id).where(ExamRoom.site_id == site_id, ExamRoom.term_id == term_id, ExamRoom.code == code)
    if except_id is not None:
        q = q.where(ExamRoom.id != except_id)
    if s.scalar(q) is not None:
        raise ValidationError(f"考场号 {code} 已存在，请换一个考场号。", "考场号")


def add_room(s: Session, actor: Actor, site_id: int, code: str, address: str | None = None,
             remark: str | None = None) -> int:
    """新增（考场）. Returns the room id."""
    site = _writer(s, actor, site_id, "考场管理")
    code = _room_code(code)
    address, remark = _clean(address, "考场地址"), _clean(remark, "备注")
    _unique_room_code(s, site.id, actor.term_id, code)
    room = ExamRoom(term_id=actor.term_id, site_id=site.id, code=code, address=address, remark=remark)
    s.add(room)
    s.flush()
    audit(s, actor, "create", "考场", room.id, org_id=site.id, summary=f"新增考场 {code}",
          after={"code": code, "address": address, "remark": remark})
    return room.id


def edit_room(s: Session, actor: Actor, room_id: int, code: str, address: str | None = None,
              remark: str | None = None) -> None:
    """修改（考场）. Changing the code of a room with arranged candidates changes their 准考证号:
    regenerate them in 《准考证号生成》 afterwards."""
    room, site = _room_for_write(s, actor, room_id)
    code = _room_code(code)
    address, remark = _clean(address, "考场地址"), _clean(remark, "备注")
    _unique_room_code(s, site.id, actor.term_id, code, except_id=room.id)
    before = {"code": room.code, "address": room.address, "remark": room.remark}
    room.code, room.address, room.remark = code, address, remark
    audit(s, actor, "update", "考场", room.id, org_id=site.id, summary=f"修改考场 {before['code']}",
          before=before, after={"code": code, "address": address, "remark": remark})


def delete_room(s: Session, actor: Actor, room_id: int) -> None:
    """删除（考场）: refused while any of its sessions has arranged candidates (§30.2)."""
    room, site = _room_for_write(s, actor, room_id)
    lock_sessions(s, site.id, actor.term_id)
    ids = list(s.scalars(select(ExamSession.id).where(ExamSession.room_id == room.id)))
    n = sum(_seated(s, ids).values())
    if n:
        raise DomainError(f"考场 {room.code} 已编排 {n} 名考生（科次），不能删除。请先在{ARRANGE_PAGE}中清除该考场"
                          f"各批次的编排信息。")
    code = room.code
    s.execute(delete(ExamSession).where(ExamSession.room_id == room.id))
    s.delete(room)
    audit(s, actor, "delete", "考场", room_id, org_id=site.id,
          summary=f"删除考场 {code}（含 {len(ids)} 个批次）")


def _check_times(term: ExamTerm, start: datetime, end: datetime, label: str = "批次") -> None:
    """§30.3: inside 08:00–20:00 of one exam day, start < end, inside the 考次's exam dates when set."""
    if not isinstance(start, datetime) or not isinstance(end, datetime):
        raise ValidationError(f"{label}的开始时间和结束时间必须填写。", "开始时间")
    start, end = start.replace(second=0, microsecond=0), end.replace(second=0, microsecond=0)
    if start >= end:
        raise ValidationError(f"{label}的开始时间（{start:{FMT}}）必须早于结束时间（{end:{FMT}}）。", "开始时间")
    if start.date() != end.date():
        raise ValidationError(f"{label}的开始时间和结束时间必须在同一考试日内。", "结束时间")
    if start.time() < DAY_START or end.time() > DAY_END:
        raise ValidationError(f"{label}时间 {start:{FMT}}–{end:%H:%M} 超出范围：批次时间严格限制为考试日 "
                              f"08:00~20:00 之间。", "开始时间")
    if term.exam_start and term.exam_end and not term.exam_start.date() <= start.date() <= term.exam_end.date():
        raise ValidationError(f"{label}日期 {start:%Y-%m-%d} 不在本考次考试日期（{term.exam_start:%Y-%m-%d} 至 "
                              f"{term.exam_end:%Y-%m-%d}）内。", "开始时间")


def _check_capacity(capacity: Any) -> int:
    try:
        n = int(capacity)
    except (TypeError, ValueError):
        raise ValidationError("容量必须是整数。", "容量") from None
    if not 1 <= n <= SESSION_CAPACITY_MAX:
        raise ValidationError(f"容量须在 1–{SESSION_CAPACITY_MAX} 之间。", "容量")
    return n


def _overlap(others: Iterable[tuple[datetime, datetime, str]], start: datetime, end: datetime,
             room_code: str) -> None:
    for a, b, number in others:
        if a < end and start < b:
            raise ValidationError(f"考场 {room_code} 的批次时间 {start:{FMT}}–{end:%H:%M} 与批次 {number}"
                                  f"（{a:{FMT}}–{b:%H:%M}）重叠：同一考场的批次不能重叠。", "开始时间")


def _room_sessions(s: Session, room: ExamRoom, except_id: int | None = None) -> list[tuple[datetime, datetime, str]]:
    q = select(ExamSession.start_at, ExamSession.end_at, ExamSession.seq).where(ExamSession.room_id == room.id)
    if except_id is not None:
        q = q.where(ExamSession.id != except_id)
    return [(a, b, f"{room.code}#{seq}") for a, b, seq in s.execute(q)]


def _next_seq(s: Session, room_id: int) -> int:
    return int(s.scalar(select(func.max(ExamSession.seq)).where(ExamSession.room_id == room_id)) or 0) + 1


def add_session(s: Session, actor: Actor, room_id: int, capacity: int, start: datetime, end: datetime) -> int:
    """新增批次: the next number of the room (07#1, 07#2, …). Returns the session id."""
    room, site = _room_for_write(s, actor, room_id)
    term = _term(s, actor)
    capacity = _check_capacity(capacity)
    _check_times(term, start, end)
    start, end = start.replace(second=0, microsecond=0), end.replace(second=0, microsecond=0)
    lock_sessions(s, site.id, actor.term_id)
    _overlap(_room_sessions(s, room), start, end, room.code)
    seq = _next_seq(s, room.id)
    x = ExamSession(term_id=actor.term_id, site_id=site.id, room_id=room.id, seq=seq, capacity=capacity,
                    start_at=start, end_at=end)
    s.add(x)
    s.flush()
    audit(s, actor, "create", "批次", x.id, org_id=site.id,
          summary=f"新增批次 {room.code}#{seq}：{start:{FMT}}–{end:%H:%M}，容量 {capacity}")
    return x.id


DEFAULT_PATTERN = "08:30-10:30\n11:00-13:00\n14:00-16:00"
_SPAN = re.compile(r"^\s*(\d{1,2})[:：](\d{2})\s*[-–—~～至到]\s*(\d{1,2})[:：](\d{2})\s*$")


def parse_times(text: str) -> list[tuple[time, time]]:
    """A day's pattern of sessions, one "HH:MM-HH:MM" per line (or separated by ; ，)."""
    out = []
    for k, item in enumerate(re.split(r"[\n;；,，]+", text or ""), start=1):
        if not item.strip():
            continue
        m = _SPAN.match(item)
        if not m:
            raise ValidationError(f"批次时间“{item.strip()}”格式不对，应为 开始-结束，如 08:30-10:30。", "批次时间")
        h1, m1, h2, m2 = (int(x) for x in m.groups())
        if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
            raise ValidationError(f"批次时间“{item.strip()}”不是有效的时间。", "批次时间")
        out.append((time(h1, m1), time(h2, m2)))
    if not out:
        raise ValidationError("请填写至少一个批次时间段，如 08:30-10:30。", "批次时间")
    return out


def add_sessions_bulk(s: Session, actor: Actor, site_id: int, room_ids: Sequence[int], days: Sequence[date],
                      times: Sequence[tuple[time, time]] | str, capacity: int) -> list[int]:
    """新增批次(批量): the day's pattern `times` [(start, end), …] (or its text, see `parse_times`) on every
    chosen exam day, for every chosen room, all with `capacity`, numbered after each room's last session
    (in time order). All or nothing."""
    site = _writer(s, actor, site_id, "考场管理")
    term = _term(s, actor)
    capacity = _check_capacity(capacity)
    if isinstance(times, str):
        times = parse_times(times)
    room_ids = list(dict.fromkeys(room_ids))
    days = sorted(set(days))
    times = sorted({(a, b) for a, b in times if a is not None and b is not None})
    if not room_ids:
        raise ValidationError("请选择考场。", "考场")
    if not days:
        raise ValidationError("请选择考试日期。", "考试日期")
    if not times:
        raise ValidationError("请填写至少一个批次时间段（开始时间、结束时间）。", "批次时间")
    rooms = {r.id: r for r in s.scalars(select(ExamRoom).where(ExamRoom.id.in_(room_ids),
                                                               ExamRoom.site_id == site.id,
                                                               ExamRoom.term_id == actor.term_id))}
    if len(rooms) != len(room_ids):
        raise NotFound("所选考场不存在或不属于本考点，请刷新页面。")
    wanted = [(datetime.combine(d, a), datetime.combine(d, b)) for d in days for a, b in times]
    for start, end in wanted:
        _check_times(term, start, end)
    lock_sessions(s, site.id, actor.term_id)
    rows = []
    for rid in room_ids:
        room = rooms[rid]
        taken = _room_sessions(s, room)
        seq = _next_seq(s, room.id)
        for start, end in wanted:
            _overlap(taken, start, end, room.code)
            taken.append((start, end, f"{room.code}#{seq}"))
            rows.append(dict(term_id=actor.term_id, site_id=site.id, room_id=room.id, seq=seq, capacity=capacity,
                             start_at=start, end_at=end))
            seq += 1
    t = ExamSession.__table__
    ids = [i for i, in s.execute(insert(t).returning(t.c.id), rows)] if rows else []
    codes = "、".join(rooms[r].code for r in room_ids)
    audit(s, actor, "create", "批次", None, org_id=site.id,
          summary=f"批量新增批次 {len(rows)} 个：考场 {codes}，{len(days)} 个考试日 × {len(times)} 个时间段，"
                  f"容量 {capacity}")
    return ids


def edit_session(s: Session, actor: Actor, session_id: int, capacity: int, start: datetime, end: datetime) -> None:
    """编辑（批次）. Capacity not below the seated candidates; the time of a session with arranged candidates
    cannot change (clear its arrangement first)."""
    x, site = _session_for_write(s, actor, session_id)
    term = _term(s, actor)
    capacity = _check_capacity(capacity)
    _check_times(term, start, end)
    start, end = start.replace(second=0, microsecond=0), end.replace(second=0, microsecond=0)
    lock_sessions(s, site.id, actor.term_id)
    s.refresh(x)
    room = s.get(ExamRoom, x.room_id)
    seated = _seated(s, [x.id]).get(x.id, 0)
    number = f"{room.code}#{x.seq}"
    if capacity < seated:
        raise DomainError(f"批次 {number} 已编排 {seated} 名考生，容量不能小于 {seated}。")
    if seated and (start != x.start_at or end != x.end_at):
        raise DomainError(f"批次 {number} 已编排 {seated} 名考生，不能修改时间。如需修改，请先在{ARRANGE_PAGE}"
                          f"中清除该批次的编排。")
    if seated:
        max_seat = int(s.scalar(select(func.max(Registration.seat_no)).where(Registration.session_id == x.id)) or 0)
        if capacity < max_seat:
            raise DomainError(f"批次 {number} 已有考生的座位号为 {max_seat}，容量不能小于 {max_seat}。")
    _overlap(_room_sessions(s, room, except_id=x.id), start, end, room.code)
    before = {"capacity": x.capacity, "start_at": f"{x.start_at:{FMT}}", "end_at": f"{x.end_at:{FMT}}"}
    x.capacity, x.start_at, x.end_at = capacity, start, end
    audit(s, actor, "update", "批次", x.id, org_id=site.id, summary=f"编辑批次 {number}", before=before,
          after={"capacity": capacity, "start_at": f"{start:{FMT}}", "end_at": f"{end:{FMT}}"})


def delete_session(s: Session, actor: Actor, session_id: int) -> None:
    """删除（批次）: refused while candidates are arranged in it (§30.2)."""
    x, site = _session_for_write(s, actor, session_id)
    lock_sessions(s, site.id, actor.term_id)
    room = s.get(ExamRoom, x.room_id)
    number = f"{room.code}#{x.seq}"
    n = _seated(s, [x.id]).get(x.id, 0)
    if n:
        raise DomainError(f"批次 {number} 已编排 {n} 名考生（科次），不能删除。请先在{ARRANGE_PAGE}中清除该批次的"
                          f"编排信息。")
    s.delete(x)
    audit(s, actor, "delete", "批次", session_id, org_id=site.id, summary=f"删除批次 {number}")


ROOM_EXPORT_HEADER = ["考场号", "考场地址", "备注", "批次号", "总容量", "已编排", "剩余容量", "开始时间", "结束时间"]


def export_rooms(s: Session, actor: Actor, site_id: int) -> bytes:
    """导出考场批次时间信息到 Excel (not limited by the window)."""
    site = site_for_read(s, actor, site_id)
    rooms = list_rooms(s, actor, site.id)
    rows = []
    for r in rooms:
        if not r.sessions:
            rows.append([r.code, r.address, r.remark, None, None, None, None, None, None])
        for x in r.sessions:
            rows.append([r.code, r.address, r.remark, x.number, x.capacity, x.seated, x.free, x.start, x.end])
    audit(s, actor, "export", "考场", None, org_id=site.id,
          summary=f"导出考场批次时间信息：{len(rooms)} 个考场，{sum(len(r.sessions) for r in rooms)} 个批次")
    return write_xlsx(ROOM_EXPORT_HEADER, rows, sheet_name="考场批次")


# ================================================================ §31 考场编排管理
SUBJECT_COLUMNS = ["科目代码", "科目名称", "总科次", "已支付", "未支付", "已编排", "未编排", "总意向科目",
                   "已编排符合意向科目", "已编排不符合意向科目"]
TOTAL_LABEL = "总计"


def _intent_match():
    return and_(Registration.session_id.is_not(None), Registration.intent_date.is_not(None),
                func.date(ExamSession.start_at) == Registration.intent_date)


def subject_table(s: Session, actor: Actor, site_id: int) -> list[dict[str, Any]]:
    """The per-subject table of §31 (one GROUP BY) with a 总计 row last."""
    site = site_for_read(s, actor, site_id)
    placed = Registration.session_id.is_not(None)
    intent = Registration.intent_date.is_not(None)
    one = lambda cond: func.sum(case((cond, 1), else_=0))  # noqa: E731
    rows = s.execute(
        select(Subject.code, Subject.name, func.count(), one(Registration.paid.is_(True)),
               func.count(Registration.session_id), func.count(Registration.intent_date),
               one(_intent_match()), one(and_(placed, intent)))
        .select_from(Registration).join(Subject, Subject.id == Registration.subject_id)
        .outerjoin(ExamSession, ExamSession.id == Registration.session_id)
        .where(Registration.site_id == site.id, Registration.term_id == actor.term_id)
        .group_by(Subject.code, Subject.name).order_by(Subject.code)).all()
    out = []
    total = dict.fromkeys(SUBJECT_COLUMNS[2:], 0)
    for code, name, n, paid, arranged, intents, match, placed_intent in rows:
        n, paid, arranged, intents, match, placed_intent = (int(v or 0) for v in (n, paid, arranged, intents,
                                                                                  match, placed_intent))
        row = {"科目代码": code, "科目名称": name, "总科次": n, "已支付": paid, "未支付": n - paid,
               "已编排": arranged, "未编排": n - arranged, "总意向科目": intents, "已编排符合意向科目": match,
               "已编排不符合意向科目": placed_intent - match}
        for k in total:
            total[k] += row[k]
        out.append(row)
    out.append({"科目代码": TOTAL_LABEL, "科目名称": "", **total})
    return out


def arrange_problems(s: Session, site: Org, term_id: int) -> list[str]:
    """Why the site cannot be arranged now (§31.2–3); [] when it can."""
    out = []
    unpaid = s.execute(select(Subject.code, Subject.name, func.count()).select_from(Registration)
                       .join(Subject, Subject.id == Registration.subject_id)
                       .where(Registration.site_id == site.id, Registration.term_id == term_id,
                              Registration.paid.is_(False))
                       .group_by(Subject.code, Subject.name).order_by(Subject.code)).all()
    if unpaid:
        items = "、".join(f"{subject_label(c, n)} {k} 科次" for c, n, k in unpaid)
        out.append(f"编排的前提是本考点所有的报考科目都已支付，存在未支付的报考：{items}。")
    if not (site.address or "").strip():
        out.append("考点地址为空：请先点击“修改考点地址”填写完整的考点地址（此地址将打印到准考证上）。")
    return out


def arrange_prerequisites(s: Session, actor: Actor, site_id: int) -> list[str]:
    """What stops 编排 now (for the page): unpaid 报考, no site address, no sessions; [] when ready."""
    site = site_for_read(s, actor, site_id)
    out = arrange_problems(s, site, actor.term_id)
    if not s.scalar(select(func.count()).select_from(ExamSession).where(ExamSession.site_id == site.id,
                                                                        ExamSession.term_id == actor.term_id)):
        out.append("本考点还没有考场批次，请先在《考场管理》中新增考场和批次。")
    return out


def site_address(s: Session, actor: Actor, site_id: int) -> dict[str, Any]:
    """What the 修改考点地址 dialog shows: 机构代码, 机构名称, 考点地址."""
    site = site_for_read(s, actor, site_id)
    return {"code": site.code, "name": site.name, "address": site.address}


def set_site_address(s: Session, actor: Actor, site_id: int, address: str) -> None:
    """修改考点地址 (§31.3): required; printed on the tickets."""
    site = _writer(s, actor, site_id, "修改考点地址")
    address = _clean(address, "考点地址", required=True)
    if len(address) < 4:
        raise ValidationError("请填写完整的考点地址（此地址将打印到准考证上，防止考生走错考点）。", "考点地址")
    before = site.address
    site.address = address
    audit(s, actor, "update", "机构", site.id, org_id=site.id, summary="修改考点地址",
          before={"address": before}, after={"address": address})


@dataclass
class UnplacedRow:
    reg_id: int
    name: str
    id_number: str  # masked
    subject: str
    reason: str


UNPLACED_HEADER = ["姓名", "证件号码", "科目", "原因"]


@dataclass
class ArrangeReport:
    mode: str
    pending: int  # 报考 considered (unplaced, in scope of the run)
    placed: int
    unplaced: list[UnplacedRow]
    skipped: list[UnplacedRow] = field(default_factory=list)  # selected but not for this mode (already arranged…)
    intent_total: int = 0
    intent_honoured: int = 0
    sessions_used: int = 0
    seconds: float = 0.0

    @property
    def message(self) -> str:
        if not self.pending:
            text = f"{self.mode}：没有待编排的考生（科次）。"
        else:
            text = f"{self.mode}完成：待编排 {self.pending} 科次，本次编排 {self.placed} 科次"
            text += f"，未能编排 {len(self.unplaced)} 科次（原因见未编排清单）。" if self.unplaced else "，全部编排完成。"
            if self.intent_total:
                text += f"意向考生 {self.intent_total} 科次，其中 {self.intent_honoured} 科次编排在意向考试日期。"
        if self.skipped:
            text += f"另有 {len(self.skipped)} 科次未参与本次编排（{self.skipped[0].reason}等）。"
        return text

    def unplaced_lines(self) -> list[str]:
        """One line per 报考 not placed (or not taken), for the command line."""
        return [f"{u.name} {u.id_number} {u.subject}：{u.reason}" for u in self.unplaced + self.skipped]

    def unplaced_xlsx(self) -> bytes:
        """The full list of what was not placed (and not taken), for download."""
        rows = [[u.name, u.id_number, u.subject, u.reason] for u in self.unplaced + self.skipped]
        return write_xlsx(UNPLACED_HEADER, rows, sheet_name="未编排清单")


def _arrange(s: Session, actor: Actor, site_id: int, *, reg_ids: Sequence[int] | None,
             session_ids: Sequence[int] | None, intent_only: bool, mode: str) -> ArrangeReport:
    from core.services import arrange_solver as solver

    t0 = _time.perf_counter()
    site = _writer(s, actor, site_id, "考场编排")
    tid = actor.term_id
    problems = arrange_problems(s, site, tid)
    if problems:
        raise DomainError("不能编排：" + "".join(problems))
    sessions = lock_sessions(s, site.id, tid)
    if not sessions:
        raise DomainError("本考点还没有考场批次，请先在《考场管理》中新增考场和批次。")
    if session_ids is not None:
        wanted = set(session_ids)
        if not wanted:
            raise ValidationError("请选择考场批次。", "考场批次")
        if wanted - {x.id for x in sessions}:
            raise NotFound("所选批次不存在或不属于本考点，请刷新页面。")
        sessions = [x for x in sessions if x.id in wanted]
    seats: dict[int, set[int]] = {x.id: set() for x in sessions}
    for part in reg.chunks([x.id for x in sessions]):
        for sid, seat in s.execute(select(Registration.session_id, Registration.seat_no)
                                   .where(Registration.session_id.in_(part))):
            seats[sid].add(seat)
    slots = [solver.Slot(id=x.id, start=x.start_at, end=x.end_at, free=max(x.capacity - len(seats[x.id]), 0))
             for x in sessions]
    by_id = {x.id: x for x in sessions}

    cols = (Registration.id, Registration.candidate_id, Registration.subject_id, Registration.intent_date,
            Registration.session_id, Enrollment.name.label("cand_name"), Enrollment.id_number, Subject.code,
            Subject.name.label("subject_name"))
    base = (select(*cols).outerjoin(Enrollment, Enrollment.id == Registration.enrollment_id)
            .join(Subject, Subject.id == Registration.subject_id)
            .where(Registration.site_id == site.id, Registration.term_id == tid))
    if reg_ids is None:
        rows = s.execute(base.where(Registration.session_id.is_(None)).order_by(Registration.id)).all()
    else:
        ids = list(dict.fromkeys(reg_ids))
        if not ids:
            raise ValidationError("请选择考生。", "考生")
        rows = []
        for part in reg.chunks(ids):
            rows += s.execute(base.where(Registration.id.in_(part))).all()
        if len(rows) != len(ids):
            raise NotFound("所选考生（报考科目）不存在或不属于本考点，请刷新页面。")
        rows.sort(key=lambda r: r.id)

    def line(r, reason: str) -> UnplacedRow:
        return UnplacedRow(r.id, r.cand_name or "", mask_id(r.id_number) or "", subject_label(r.code, r.subject_name),
                           reason)

    skipped, pending = [], []
    for r in rows:
        if r.session_id is not None:
            skipped.append(line(r, "已编排"))
        elif intent_only and r.intent_date is None:
            skipped.append(line(r, "非意向考生（未选择意向考试日期），请用“2.选中考生编排”"))
        else:
            pending.append(r)
    report = ArrangeReport(mode, len(pending), 0, [], skipped)
    if pending:
        subject_ids = sorted({r.subject_id for r in pending})
        dur = dict(s.execute(select(Subject.id, Subject.duration_min).where(Subject.id.in_(subject_ids))).all())
        ranges = {sid: (a, b) for sid, a, b in s.execute(
            select(SiteSubject.subject_id, SiteSubject.exam_start, SiteSubject.exam_end)
            .where(SiteSubject.site_id == site.id, SiteSubject.term_id == tid, SiteSubject.subject_id.in_(subject_ids)))}
        rules = {sid: solver.Rule(duration_min=int(dur.get(sid) or 120), start=ranges.get(sid, (None, None))[0],
                                  end=ranges.get(sid, (None, None))[1]) for sid in subject_ids}
        # the pending candidates' seats already taken: a candidate sits all subjects of a 考次 at one site
        # (one 报名信息 per 考次), so one query over the site's seated 报考 instead of IN-lists of candidates
        busy: dict[int, list[tuple[datetime, datetime]]] = {}
        cands = {r.candidate_id for r in pending}
        for cid, a, b in s.execute(select(Registration.candidate_id, ExamSession.start_at, ExamSession.end_at)
                                   .join(ExamSession, ExamSession.id == Registration.session_id)
                                   .where(Registration.term_id == tid, Registration.site_id == site.id)):
            if cid in cands:
                busy.setdefault(cid, []).append((a, b))
        reqs = [solver.Req(id=r.id, candidate=r.candidate_id, subject=r.subject_id, intent=r.intent_date)
                for r in pending]
        names = {r.subject_id: subject_label(r.code, r.subject_name) for r in pending}
        sol = solver.solve(reqs, slots, rules, busy=busy, gap_minutes=GAP_MINUTES, intent_only=intent_only,
                           subject_names=names)
        # seats: the lowest free numbers of each session, in registration order
        per_slot: dict[int, list[int]] = {}
        known = {r.id for r in pending}
        for rid, sid in sol.placed.items():
            if rid not in known or sid not in by_id:
                raise RuntimeError(f"编排求解结果无效：报考 {rid} → 批次 {sid}")
            per_slot.setdefault(sid, []).append(rid)
        updates = []
        for sid, rids in per_slot.items():
            x = by_id[sid]
            free = (n for n in range(1, x.capacity + 1) if n not in seats[sid])
            for rid in sorted(rids):
                seat = next(free, None)
                if seat is None:
                    raise RuntimeError(f"编排求解结果超出批次容量：批次 {sid}")
                updates.append((rid, sid, seat))
        update_by_id(s, Registration.__table__, [u[0] for u in updates],
                     {"session_id": [u[1] for u in updates], "seat_no": [u[2] for u in updates]},
                     ticket_no=None, updated_at=datetime.now())
        rows_by_id = {r.id: r for r in pending}
        report.placed = len(updates)
        report.unplaced = [line(rows_by_id[rid], reason) for rid, reason in sorted(sol.unplaced.items())]
        missing = known - set(sol.placed) - set(sol.unplaced)
        report.unplaced += [line(rows_by_id[rid], "没有可用的考场批次") for rid in sorted(missing)]
        report.intent_total, report.intent_honoured = int(sol.intent_total), int(sol.intent_honoured)
        report.sessions_used = len(per_slot)
    report.seconds = round(_time.perf_counter() - t0, 2)
    audit(s, actor, "arrange", "考场编排", site.id, org_id=site.id, summary=report.message,
          after={"mode": mode, "placed": report.placed, "unplaced": len(report.unplaced),
                 "skipped": len(report.skipped)})
    return report


def arrange_auto(s: Session, actor: Actor, site_id: int) -> ArrangeReport:
    """编排 (自动编排全部): every unplaced 报考 of the site into every session's free seats."""
    return _arrange(s, actor, site_id, reg_ids=None, session_ids=None, intent_only=False, mode="自动编排")


def arrange_manual(s: Session, actor: Actor, site_id: int, reg_ids: Sequence[int], session_ids: Sequence[int],
                   intent_only: bool) -> ArrangeReport:
    """Manual arrangement of the selected 报考 into the selected sessions. intent_only=True: 1.按考生意向编排
    (only intent candidates, only on their intent date); False: 2.选中考生编排 (any candidate)."""
    mode = "按考生意向编排" if intent_only else "选中考生编排"
    return _arrange(s, actor, site_id, reg_ids=list(reg_ids), session_ids=list(session_ids), intent_only=intent_only,
                    mode=mode)


@dataclass
class ClearReport:
    cleared: int
    what: str

    @property
    def message(self) -> str:
        return f"{self.what}：已清除 {self.cleared} 科次的编排（座位和准考证号）。"


def clear_arrangement(s: Session, actor: Actor, site_id: int, reg_ids: Sequence[int] | None = None,
                      session_ids: Sequence[int] | None = None, all: bool = False) -> ClearReport:  # noqa: A002
    """清除选中 / 清除所有: remove the place (session, seat) and the 准考证号 of the selected 报考, of everyone
    in the selected sessions, or of the whole site. `.cleared` = how many 报考 were cleared."""
    site = _writer(s, actor, site_id, "考场编排")
    tid = actor.term_id
    sessions = lock_sessions(s, site.id, tid)
    t = Registration.__table__
    values = dict(session_id=None, seat_no=None, ticket_no=None, updated_at=datetime.now())
    base = and_(t.c.site_id == site.id, t.c.term_id == tid, t.c.session_id.is_not(None))
    n = 0
    if all:
        n = s.execute(update(t).where(base).values(**values)).rowcount or 0
        what = "清除所有编排"
    else:
        reg_ids, session_ids = list(reg_ids or []), list(session_ids or [])
        if not reg_ids and not session_ids:
            raise ValidationError("请先选择要清除编排的考生或考场批次。", "考生")
        if set(session_ids) - {x.id for x in sessions}:
            raise NotFound("所选批次不存在或不属于本考点，请刷新页面。")
        for part in reg.chunks(reg_ids):
            n += s.execute(update(t).where(base, t.c.id.in_(part)).values(**values)).rowcount or 0
        for part in reg.chunks(session_ids):
            n += s.execute(update(t).where(base, t.c.session_id.in_(part)).values(**values)).rowcount or 0
        what = f"清除选中编排（考生 {len(reg_ids)} 科次、批次 {len(session_ids)} 个）"
    report = ClearReport(n, what)
    audit(s, actor, "clear", "考场编排", site.id, org_id=site.id, summary=report.message)
    return report


# ---------------------------------------------------------------- manual arrangement lists
INTENT_FILTERS = {None: "不限", True: "是", False: "否"}
STATE_FILTERS = {"pending": "待编排", "arranged": "已编排", "all": "全部"}


@dataclass
class PendingFilter:
    name: str = ""
    id_number: str = ""
    subject_id: int | None = None
    intent: bool | None = None  # 意向考生: None 不限, True 是, False 否
    state: str = "pending"  # pending 待编排 / arranged 已编排 / all
    intent_first: bool = False  # 意向考试编排: intent candidates first, by their date


def _pending_query(actor: Actor, site_id: int, f: PendingFilter, cols):
    q = (select(*cols).select_from(Registration)
         .outerjoin(Enrollment, Enrollment.id == Registration.enrollment_id)
         .join(Subject, Subject.id == Registration.subject_id)
         .outerjoin(ExamSession, ExamSession.id == Registration.session_id)
         .outerjoin(ExamRoom, ExamRoom.id == ExamSession.room_id)
         .where(Registration.site_id == site_id, Registration.term_id == actor.term_id))
    if f.state == "pending":
        q = q.where(Registration.session_id.is_(None))
    elif f.state == "arranged":
        q = q.where(Registration.session_id.is_not(None))
    if (f.name or "").strip():
        q = q.where(Enrollment.name.contains(f.name.strip(), autoescape=True))
    if (f.id_number or "").strip():
        idn = f.id_number.strip().upper()
        q = q.where(or_(Enrollment.id_number == idn, Enrollment.id_number.contains(idn, autoescape=True)))
    if f.subject_id:
        q = q.where(Registration.subject_id == f.subject_id)
    if f.intent is True:
        q = q.where(Registration.intent_date.is_not(None))
    elif f.intent is False:
        q = q.where(Registration.intent_date.is_(None))
    return q


def list_pending(s: Session, actor: Actor, site_id: int, f: PendingFilter | None = None, page: int = 1,
                 size: int = 50) -> tuple[list[dict[str, Any]], int]:
    """待编排考生 (or arranged ones, f.state) of the site, paged in SQL; ID numbers masked."""
    f = f or PendingFilter()
    site = site_for_read(s, actor, site_id)
    total = int(s.scalar(_pending_query(actor, site.id, f, [func.count()])) or 0)
    cols = (Registration.id, Enrollment.name, Enrollment.gender, Registration.intent_date, Enrollment.id_number,
            Subject.code, Subject.name.label("subject_name"), Enrollment.department, ExamRoom.code.label("room"),
            ExamSession.seq, Registration.seat_no, ExamSession.start_at)
    q = _pending_query(actor, site.id, f, cols)
    order = [Registration.intent_date.is_(None), Registration.intent_date] if f.intent_first else []
    q = q.order_by(*order, Enrollment.id, Subject.code, Registration.id).limit(size).offset(max(page - 1, 0) * size)
    rows = []
    for r in s.execute(q):
        rows.append({"id": r.id, "姓名": r.name, "性别": r.gender, "意向日期": r.intent_date,
                     "证件号": mask_id(r.id_number), "科目": subject_label(r.code, r.subject_name),
                     "院系": r.department, "考场批次": f"{r.room}#{r.seq}" if r.room else "",
                     "座位号": r.seat_no, "考试时间": r.start_at})
    return rows, total


def pending_ids(s: Session, actor: Actor, site_id: int, f: PendingFilter | None = None) -> list[int]:
    """Every 报考 id the filter matches (for 编排/清除 of all query results)."""
    site = site_for_read(s, actor, site_id)
    return list(s.scalars(_pending_query(actor, site.id, f or PendingFilter(), [Registration.id])
                          .order_by(Registration.id)))


def list_sessions(s: Session, actor: Actor, site_id: int, room_code: str = "", address: str = "") -> list[dict[str, Any]]:
    """考场信息: the site's sessions with 总容量 / 已编排 / 剩余容量, filtered by 考场号 and 考场地址."""
    site = site_for_read(s, actor, site_id)
    out = []
    for room in list_rooms(s, actor, site.id):
        if room_code.strip() and room_code.strip() not in room.code:
            continue
        if address.strip() and address.strip() not in (room.address or ""):
            continue
        for x in sorted(room.sessions, key=lambda v: v.seq):
            out.append({"id": x.id, "考场或批次号": x.number, "考场地址": room.address or "", "总容量": x.capacity,
                        "已编排": x.seated, "剩余容量": x.free, "开始时间": x.start, "结束时间": x.end})
    return out


# ---------------------------------------------------------------- for the tickets and downloads
class ArrangementStatus(NamedTuple):
    total: int
    arranged: int
    unarranged: dict[str, int]  # "(14)一级计算机基础及MS Office应用" -> 未编排科次

    @property
    def complete(self) -> bool:
        return self.total > 0 and not self.unarranged


def arrangement_status(s: Session, term_id: int, site_id: int) -> ArrangementStatus:
    """(total 报考, arranged, {subject label: unarranged count}) of a site in a 考次. No scope check: the
    caller has checked the site."""
    rows = s.execute(select(Subject.code, Subject.name, func.count(), func.count(Registration.session_id))
                     .select_from(Registration).join(Subject, Subject.id == Registration.subject_id)
                     .where(Registration.site_id == site_id, Registration.term_id == term_id)
                     .group_by(Subject.code, Subject.name).order_by(Subject.code)).all()
    total = sum(int(n) for _, _, n, _ in rows)
    arranged = sum(int(a) for _, _, _, a in rows)
    return ArrangementStatus(total, arranged, {subject_label(c, nm): int(n) - int(a) for c, nm, n, a in rows
                                               if int(n) > int(a)})


def unarranged_text(st: ArrangementStatus) -> str:
    return "、".join(f"{k} {v} 科次" for k, v in st.unarranged.items())


def require_arranged(s: Session, term_id: int, site_id: int) -> ArrangementStatus:
    """Raise DomainError unless every 报考 of the site is arranged (§32.2, §34.2, §35.2)."""
    st = arrangement_status(s, term_id, site_id)
    if st.total == 0:
        raise DomainError("本考点本考次没有报考数据。")
    if st.unarranged:
        raise DomainError(f"存在未编排的科目：{unarranged_text(st)}。请先在{ARRANGE_PAGE}中完成编排。")
    return st


# ================================================================ §32 准考证号生成
DEFAULT_LAYOUT = "{subject:2}{term:2}{site:6}{room:2}{session:2}{seat:2}"
LAYOUT_FIELDS = {"subject": "科目代码", "term": "考次代码", "site": "考点代码", "room": "考场号",
                 "session": "批次序号", "seat": "座位号"}
REQUIRED_FIELDS = ("site", "room", "session", "seat")  # a seat of the 考次: unique numbers
WIDTH_MAX = 10
TICKET_MAX_LEN = 30  # registration.ticket_no
_TOKEN = re.compile(r"\{([^{}]*)\}")
_LITERAL = re.compile(r"^[0-9A-Za-z]*$")


@dataclass(frozen=True)
class Layout:
    text: str
    parts: tuple[Any, ...]  # literal str or (field, width)

    @property
    def length(self) -> int:
        return sum(len(p) if isinstance(p, str) else p[1] for p in self.parts)

    @property
    def description(self) -> str:
        items = [f"“{p}”" if isinstance(p, str) else f"{LAYOUT_FIELDS[p[0]]} {p[1]} 位" for p in self.parts]
        return " + ".join(items) + f"，共 {self.length} 位"

    def render(self, values: dict[str, Any]) -> str:
        """The number for these field values; ValueError(Chinese message) when a value does not fit."""
        out = []
        for p in self.parts:
            if isinstance(p, str):
                out.append(p)
                continue
            name, width = p
            v = "" if values.get(name) is None else str(values[name]).strip()
            if not v.isdigit() or not v.isascii():
                raise ValueError(f"{LAYOUT_FIELDS[name]}“{v}”不是数字")
            if len(v) > width:
                raise ValueError(f"{LAYOUT_FIELDS[name]} {v} 超过 {width} 位")
            out.append(v.zfill(width))
        return "".join(out)


def parse_layout(text: str | None) -> Layout:
    """Check a 准考证号 layout: {field:width} with the fields of LAYOUT_FIELDS, digits/letters between them."""
    text = (text or "").strip() or DEFAULT_LAYOUT
    parts: list[Any] = []
    seen: set[str] = set()
    pos = 0
    names = "、".join(f"{k}（{v}）" for k, v in LAYOUT_FIELDS.items())
    for m in _TOKEN.finditer(text):
        lit = text[pos:m.start()]
        if lit:
            if not _LITERAL.match(lit):
                raise ValidationError(f"准考证号格式中“{lit}”无效：字段之外只能是数字或字母，字段写作 {{字段:位数}}。",
                                      "准考证号格式")
            parts.append(lit)
        inner = m.group(1).strip()
        mm = re.fullmatch(r"([A-Za-z_]+)\s*:\s*(\d+)", inner)
        if not mm:
            raise ValidationError(f"准考证号格式中“{{{inner}}}”无效：应写作 {{字段:位数}}，如 {{seat:2}}。",
                                  "准考证号格式")
        name, width = mm.group(1).lower(), int(mm.group(2))
        if name not in LAYOUT_FIELDS:
            raise ValidationError(f"准考证号格式中的字段“{name}”未知，可用字段：{names}。", "准考证号格式")
        if not 1 <= width <= WIDTH_MAX:
            raise ValidationError(f"准考证号格式中字段 {name} 的位数须在 1–{WIDTH_MAX} 之间。", "准考证号格式")
        if name in seen:
            raise ValidationError(f"准考证号格式中字段 {name} 重复出现。", "准考证号格式")
        seen.add(name)
        parts.append((name, width))
        pos = m.end()
    tail = text[pos:]
    if tail:
        if not _LITERAL.match(tail):
            raise ValidationError(f"准考证号格式中“{tail}”无效：字段之外只能是数字或字母，字段写作 {{字段:位数}}。",
                                  "准考证号格式")
        parts.append(tail)
    missing = [f for f in REQUIRED_FIELDS if f not in seen]
    if missing:
        raise ValidationError("准考证号格式必须包含 " + "、".join(f"{{{f}}}（{LAYOUT_FIELDS[f]}）" for f in missing)
                              + "，才能保证准考证号唯一。", "准考证号格式")
    layout = Layout(text, tuple(parts))
    if layout.length > TICKET_MAX_LEN:
        raise ValidationError(f"准考证号总长度 {layout.length} 位超过上限 {TICKET_MAX_LEN} 位。", "准考证号格式")
    return layout


def ticket_layout(s: Session, actor: Actor) -> dict[str, Any]:
    """The 考次's layout for the page: text, description, whether it is the NCRE default."""
    term = _term(s, actor)
    layout = parse_layout(term.ticket_layout)
    return {"text": layout.text, "description": layout.description, "default": term.ticket_layout is None,
            "default_text": DEFAULT_LAYOUT, "example": layout.render({
                "subject": "65", "term": term.code, "site": "110001", "room": "7", "session": "1", "seat": "1"})
            if _fits_example(layout, term.code) else None}


def _fits_example(layout: Layout, term_code: str) -> bool:
    try:
        layout.render({"subject": "65", "term": term_code, "site": "110001", "room": "7", "session": "1", "seat": "1"})
        return True
    except ValueError:
        return False


def set_ticket_layout(s: Session, actor: Actor, layout: str | None) -> str:
    """考试中心 sets the 准考证号 layout of the 考次 (blank = the NCRE default). Returns the layout text."""
    require_role(actor, "center_admin")
    require_writable_term(actor)
    term = _term(s, actor)
    parsed = parse_layout(layout)
    value = None if parsed.text == DEFAULT_LAYOUT else parsed.text
    before = term.ticket_layout
    term.ticket_layout = value
    audit(s, actor, "update", "准考证号格式", term.id, summary=f"设置准考证号格式：{parsed.text}（{parsed.description}）",
          before={"ticket_layout": before}, after={"ticket_layout": value})
    return parsed.text


def _expected(s: Session, site: Org, term: ExamTerm, layout: Layout) -> tuple[dict[int, tuple[str | None, str]], list[str]]:
    """{reg id: (current ticket_no, number from the current arrangement)} and the values that do not fit."""
    rows = s.execute(select(Registration.id, Registration.ticket_no, Subject.code, ExamRoom.code, ExamSession.seq,
                            Registration.seat_no)
                     .join(Subject, Subject.id == Registration.subject_id)
                     .join(ExamSession, ExamSession.id == Registration.session_id)
                     .join(ExamRoom, ExamRoom.id == ExamSession.room_id)
                     .where(Registration.site_id == site.id, Registration.term_id == term.id)).all()
    out: dict[int, tuple[str | None, str]] = {}
    problems: dict[str, None] = {}
    for rid, old, subject, room, seq, seat in rows:
        values = {"subject": subject, "term": term.code, "site": site.code, "room": room, "session": seq,
                  "seat": seat}
        try:
            out[rid] = (old, layout.render(values))
        except ValueError as e:
            problems.setdefault(f"{e}（考场批次 {room}#{seq}）", None)
    return out, list(problems)


@dataclass
class TicketReport:
    total: int
    created: int
    changed: int
    unchanged: int
    layout: str
    sample: str | None = None

    @property
    def message(self) -> str:
        return (f"准考证号生成完成：共 {self.total} 科次，新生成 {self.created}，变更 {self.changed}，"
                f"未变 {self.unchanged}（格式 {self.layout}）。")


def generate_ticket_numbers(s: Session, actor: Actor, site_id: int) -> TicketReport:
    """生成准考证号 (§32) for every 报考 of the site; only when all are arranged. Idempotent."""
    site = _writer(s, actor, site_id, "准考证号生成")
    term = _term(s, actor)
    lock_sessions(s, site.id, term.id)
    require_arranged(s, term.id, site.id)
    layout = parse_layout(term.ticket_layout)
    numbers, problems = _expected(s, site, term, layout)
    if problems:
        shown = "；".join(problems[:10]) + (f"；等 {len(problems)} 项" if len(problems) > 10 else "")
        raise DomainError(f"准考证号格式为 {layout.text}（{layout.description}），以下数据放不进去：{shown}。"
                          f"请调整考场/批次/座位，或请考试中心修改准考证号格式。")
    new_values = [new for _old, new in numbers.values()]
    if len(set(new_values)) != len(new_values):
        raise DomainError("按当前准考证号格式生成的号码有重复（格式缺少区分字段），请考试中心修改准考证号格式。")
    # numbers already held by other sites of the 考次 (possible only after a layout change)
    clash = []
    for part in reg.chunks(new_values):
        clash += s.scalars(select(Registration.ticket_no).where(
            Registration.term_id == term.id, Registration.site_id != site.id, Registration.ticket_no.in_(part))).all()
    if clash:
        raise DomainError(f"准考证号 {clash[0]} 等 {len(clash)} 个号码已被其他考点使用（准考证号格式已改动？），"
                          f"请联系考试中心。")
    created = sum(1 for old, _new in numbers.values() if old is None)
    changed = [(rid, new) for rid, (old, new) in numbers.items() if old is not None and old != new]
    fresh = [(rid, new) for rid, (old, new) in numbers.items() if old is None]
    t = Registration.__table__
    if changed:  # two steps: never two rows with one number in between (unique index)
        for part in reg.chunks([rid for rid, _ in changed]):
            s.execute(update(t).where(t.c.id.in_(part)).values(ticket_no=None))
    todo = changed + fresh
    update_by_id(s, t, [rid for rid, _ in todo], {"ticket_no": [no for _, no in todo]}, updated_at=datetime.now())
    report = TicketReport(len(numbers), created, len(changed), len(numbers) - created - len(changed), layout.text,
                          sample=min(new_values) if new_values else None)
    audit(s, actor, "generate", "准考证号", site.id, org_id=site.id, summary=report.message,
          after={"total": report.total, "created": created, "changed": len(changed), "layout": layout.text})
    return report


@dataclass
class TicketStatus:
    state: str  # 已生成 / 流水号未生成
    reason: str
    total: int
    arranged: int
    with_ticket: int
    stale: int  # numbers that differ from the current arrangement
    layout: str
    layout_description: str
    last_generated: datetime | None
    last_generated_by: str | None

    @property
    def generated(self) -> bool:
        return self.state == "已生成"


def ticket_status(s: Session, actor: Actor, site_id: int) -> TicketStatus:
    """准考证号生成状态 of a site (§32.1–2): 已生成, or 流水号未生成 with the reason."""
    site = site_for_read(s, actor, site_id)
    term = _term(s, actor)
    layout = parse_layout(term.ticket_layout)
    st = arrangement_status(s, term.id, site.id)
    with_ticket = int(s.scalar(select(func.count()).select_from(Registration).where(
        Registration.site_id == site.id, Registration.term_id == term.id, Registration.ticket_no.is_not(None))) or 0)
    stale = 0
    if st.total and not st.unarranged:
        numbers, problems = _expected(s, site, term, layout)
        stale = sum(1 for old, new in numbers.values() if old is not None and old != new)
    last = s.execute(select(AuditLog.at, AuditLog.username).where(
        AuditLog.action == "generate", AuditLog.entity == "准考证号", AuditLog.entity_id == str(site.id),
        AuditLog.term_id == term.id).order_by(AuditLog.id.desc()).limit(1)).first()
    if st.total == 0:
        state, reason = "流水号未生成", "本考点本考次没有报考数据。"
    elif st.unarranged:
        state, reason = "流水号未生成", f"存在未编排的科目：{unarranged_text(st)}。请先在{ARRANGE_PAGE}中完成编排。"
    elif with_ticket < st.total:
        state, reason = "流水号未生成", f"{st.total - with_ticket} 科次尚未生成准考证号，请点击“生成准考证号”。"
    elif stale:
        state, reason = "流水号未生成", (f"{stale} 科次的准考证号与当前编排或格式不一致（生成后编排或格式有改动），"
                                    f"请重新生成。")
    else:
        state, reason = "已生成", f"本考点 {st.total} 科次的准考证号均已生成。"
    return TicketStatus(state, reason, st.total, st.arranged, with_ticket, stale, layout.text, layout.description,
                        last[0] if last else None, last[1] if last else None)
