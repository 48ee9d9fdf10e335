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


def build_world(s: Session) -> World:
    create_admin(s, "admin", password="Admin12345")
    info = load_demo(s, log=lambda *_: None)
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
