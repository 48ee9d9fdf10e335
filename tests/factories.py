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
