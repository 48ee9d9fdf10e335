"""Low-level org-tree helpers (no permission checks): used by the org service, the demo and tests."""
from __future__ import annotations

from sqlalchemy.orm import Session

from core.models import Org, OrgTerm

KIND_DEPTH = {"center": 0, "province": 1, "city": 2, "site": 3}
CHILD_KIND = {"center": "province", "province": "city", "city": "site"}


def add_org(s: Session, parent: Org | None, code: str, name: str, kind: str, term_ids: list[int] = (), **fields) -> Org:
    org = Org(code=code, name=name, kind=kind, parent_id=parent.id if parent else None,
              depth=(parent.depth + 1) if parent else 0, path="/", **fields)
    s.add(org)
    s.flush()
    org.path = f"{parent.path if parent else '/'}{org.id}/"
    for t in term_ids:
        s.add(OrgTerm(org_id=org.id, term_id=t, enabled=True))
    s.flush()
    return org
