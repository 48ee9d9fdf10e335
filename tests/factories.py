"""A small test world built with the demo loader: center → 北京/广东 → cities → sites."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.auth import Actor, actor_for
from core.models import Org, User
from core.services.demo import DEMO_PASSWORD, load_demo
from core.services.setup import create_admin


@dataclass
class World:
    info: dict
    users: dict[str, int] = field(default_factory=dict)
    orgs: dict[str, int] = field(default_factory=dict)
    engine: object = None
    password: str = DEMO_PASSWORD

    def actor(self, username: str, term: str = "current") -> Actor:
        from core.db import session_scope
        with session_scope(self.engine) as s:
            u = s.scalar(select(User).where(User.username == username))
            tid = self.info["current_term"] if term == "current" else self.info["past_term"]
            return actor_for(s, u, tid)


def build_world(s: Session, oces: bool = True) -> World:
    create_admin(s, "admin", password="Admin12345")
    info = load_demo(s, log=lambda *_: None, oces=oces)
    w = World(info=info)
    w.users = {u.username: u.id for u in s.scalars(select(User))}
    w.orgs = {o.code: o.id for o in s.scalars(select(Org))}
    return w


def make_id_number(seq: int, region: str = "110101", born: str = "20000101") -> str:
    """A valid 18-digit 居民身份证号码 (GB 11643 check character) for test person `seq`."""
    from core.imports.engine import id_check_char

    first17 = f"{region}{born}{seq % 1000:03d}"
    return first17 + id_check_char(first17)


def add_candidates(s: Session, site_id: int, term_id: int, n: int, subject_codes=("14",), *, start: int = 0,
                   channel: str = "group", paid: bool = False, locked: bool = False, photo: str | None = None,
                   review_state: str | None = None, born: str = "20000101") -> list[int]:
    """Insert n enrolled candidates (报名信息 + one 报考 per subject) directly, bypassing the services:
    test data for lists, statistics and photos. Returns the enrollment ids. ID numbers are unique per
    (start+i, born); pass a different `born` or `start` for more than 1000 people."""
    from datetime import date, datetime

    from core.models import Application, Candidate, Enrollment, Registration, Subject

    subjects = {x.code: x.id for x in s.scalars(select(Subject))}
    out = []
    for i in range(start, start + n):
        idn = make_id_number(i, born=born)
        c = Candidate(id_number=idn, name=f"考生{i}", gender="男" if i % 2 else "女",
                      birth_date=date(int(born[:4]), int(born[4:6]), int(born[6:])))
        s.add(c)
        s.flush()
        app_id = None
        if review_state:
            app = Application(kind="ncre_enroll_review", subject_key=f"{term_id}:{idn}", org_id=site_id,
                              term_id=term_id, state=review_state, data={}, version=1)
            s.add(app)
            s.flush()
            app_id = app.id
        e = Enrollment(term_id=term_id, site_id=site_id, candidate_id=c.id, channel=channel, locked=locked,
                       id_number=idn, name=c.name, gender=c.gender, birth_date=c.birth_date, ethnicity="汉族",
                       education="大学本科", phone=f"1380000{i:04d}", email=f"k{i}@example.com",
                       photo_sha256=photo, review_app_id=app_id, class_name="会计一班")
        s.add(e)
        s.flush()
        for code in subject_codes:
            s.add(Registration(term_id=term_id, site_id=site_id, candidate_id=c.id, enrollment_id=e.id,
                               subject_id=subjects[code], channel=channel, fee=80, paid=paid,
                               paid_at=datetime.now() if paid else None))
        out.append(e.id)
    s.flush()
    return out


def seat_all(s: Session, site_id: int, term_id: int, *, capacity: int = 30, day=None, numbers: bool = True) -> int:
    """Test data: seat every unarranged registration of the site directly (no solver): rooms "01", "02"…
    with three sessions on `day` (default: the 考次's first exam day), filled in registration order, one
    subject per candidate per session slot; then 16-digit ticket numbers (subject 2, term 2, site 6,
    room 2 + session 2, seat 2) when `numbers`. Returns how many were seated."""
    from datetime import datetime, time

    from core.models import ExamRoom, ExamSession, ExamTerm, Org, Registration, Subject

    term = s.get(ExamTerm, term_id)
    site = s.get(Org, site_id)
    day = day or (term.exam_start.date() if term.exam_start else datetime.now().date())
    times = [(time(8, 30), time(10, 30)), (time(11, 0), time(13, 0)), (time(14, 0), time(16, 0))]
    regs = s.scalars(select(Registration).where(Registration.term_id == term_id, Registration.site_id == site_id,
                                                Registration.session_id.is_(None))
                     .order_by(Registration.candidate_id, Registration.id)).all()
    codes = {x.id: x.code for x in s.scalars(select(Subject))}
    # slot k (0..2) takes the k-th subject of each candidate, so nobody sits two subjects at once
    by_slot: dict[int, list] = {0: [], 1: [], 2: []}
    seen: dict[int, int] = {}
    for r in regs:
        k = seen.get(r.candidate_id, 0)
        seen[r.candidate_id] = k + 1
        by_slot[k % 3].append(r)
    n_rooms = max(1, max((len(v) + capacity - 1) // capacity for v in by_slot.values()))
    existing = len(s.scalars(select(ExamRoom.id).where(ExamRoom.term_id == term_id,
                                                       ExamRoom.site_id == site_id)).all())
    sessions: dict[tuple[int, int], ExamSession] = {}
    rooms = []
    for i in range(n_rooms):
        room = ExamRoom(term_id=term_id, site_id=site_id, code=f"{existing + i + 1:02d}",
                        address=f"实验楼{existing + i + 1}层机房")
        s.add(room)
        s.flush()
        rooms.append(room)
        for k, (a, b) in enumerate(times):
            sess = ExamSession(term_id=term_id, site_id=site_id, room_id=room.id, seq=k + 1, capacity=capacity,
                               start_at=datetime.combine(day, a), end_at=datetime.combine(day, b))
            s.add(sess)
            s.flush()
            sessions[(i, k)] = sess
    for k, items in by_slot.items():
        for j, r in enumerate(items):
            i, seat = divmod(j, capacity)
            r.session_id = sessions[(i, k)].id
            r.seat_no = seat + 1
            if numbers:
                r.ticket_no = (f"{codes[r.subject_id]:0>2}{term.code:0>2}{site.code:0>6}"
                               f"{rooms[i].code:0>2}{k + 1:02d}{seat + 1:02d}")
    s.flush()
    return len(regs)
