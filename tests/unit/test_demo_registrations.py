"""The demo candidates (core.services.demo.load_demo_registrations): valid, consistent with every site's
settings, capacity never oversold, payments and reviews consistent. Both databases, n = 300."""
from __future__ import annotations

import random
from collections import Counter
from datetime import date


import pytest
from sqlalchemy import func, select

from core.codes import EDUCATION_LEVELS, ETHNICITIES, OCCUPATIONS
from core.db import session_scope
from core.imports.engine import parse_id_number
from core.models import (
    Application, CancelledRegistration, Candidate, CandidateAccount, CandidatePhoto, Enrollment, IntentQuota, Org,
    PaymentOrder, Registration, RegistryRecord, SiteSetting, SiteSubject,
)
from core.services.candidates import CandidateQuery, list_candidates
from core.services.demo import DemoPeople, load_demo_registrations
from core.services.ncre_setup import CAPACITY_MAX, class_options_list
from core.services.reg_stats import FULL, capacity_level
from core.workflow import file_path
from tests.conftest import BACKENDS, backend_engine
from tests.factories import build_world

N = 300


@pytest.fixture(scope="module", params=BACKENDS)
def demo(request, tmp_path_factory):
    """One demo (world + N candidates) per back-end, shared by the module's read-only checks."""
    tmp = tmp_path_factory.mktemp("demo")
    mp = pytest.MonkeyPatch()
    mp.setenv("KAOWU_FILE_STORE", str(tmp / "files"))
    with backend_engine(request.param, tmp) as eng:
        with session_scope(eng) as s:
            world = build_world(s)
        world.engine = eng
        with session_scope(eng) as s:
            world.demo = load_demo_registrations(s, n=N, log=lambda *_: None)
        yield world
    mp.undo()


def _all(s, *cols, where=()):
    return s.execute(select(*cols).where(*where)).all()


def test_counts_and_summary(demo):
    info, tid = demo.demo, demo.info["current_term"]
    assert info["candidates"] == N and info["sites"] == 11
    with session_scope(demo.engine) as s:
        assert s.scalar(select(func.count()).select_from(Enrollment).where(Enrollment.term_id == tid)) == N
        assert s.scalar(select(func.count()).select_from(Candidate)) == N
        assert s.scalar(select(func.count()).select_from(Registration)) == info["registrations"] > N
        assert s.scalar(select(func.count()).select_from(RegistryRecord)) == info["registry_records"] > 0
        per_site = Counter(s.scalars(select(Enrollment.site_id).where(Enrollment.term_id == tid)))
        assert len(per_site) == 11 and min(per_site.values()) > 5
        channels = Counter(s.scalars(select(Enrollment.channel)))
        assert 0.1 < channels["individual"] / N < 0.3 and channels["group"] > channels["individual"]
        # nothing in the past 考次
        assert not s.scalar(select(func.count()).select_from(Enrollment).where(Enrollment.term_id != tid))


def test_every_id_number_is_valid_and_matches_gender_and_birth(demo):
    with session_scope(demo.engine) as s:
        rows = _all(s, Enrollment.id_number, Enrollment.gender, Enrollment.birth_date, Enrollment.name,
                    Enrollment.ethnicity, Enrollment.education, Enrollment.occupation, Enrollment.phone,
                    Enrollment.email)
        registry = _all(s, RegistryRecord.id_number, RegistryRecord.gender, RegistryRecord.birth_date)
    xs = 0
    for idn, gender, born, name, eth, edu, occ, phone, email in rows:
        assert parse_id_number(idn) == idn
        assert gender == ("男" if int(idn[16]) % 2 else "女")
        assert born == date(int(idn[6:10]), int(idn[10:12]), int(idn[12:14])) and 1995 <= born.year <= 2008
        assert idn[:2] in ("11", "44")
        assert 2 <= len(name) <= 4 and eth in ETHNICITIES and edu in EDUCATION_LEVELS and occ in OCCUPATIONS
        assert len(phone) == 11 and phone[0] == "1" and "@" in email
        xs += idn.endswith("X")
    assert 0.03 < xs / len(rows) < 0.18  # about 9 % end in X
    for idn, gender, born in registry:
        assert parse_id_number(idn) == idn and gender == ("男" if int(idn[16]) % 2 else "女")
    assert len({r[8] for r in rows}) == len(rows)  # e-mails unique


def test_no_candidate_twice_and_accounts_bound(demo):
    tid = demo.info["current_term"]
    with session_scope(demo.engine) as s:
        rows = _all(s, Enrollment.candidate_id, Enrollment.id_number, Enrollment.account_id, Enrollment.email,
                    where=[Enrollment.term_id == tid])
        accounts = dict(_all(s, CandidateAccount.id, CandidateAccount.email))
        cands = dict(_all(s, Candidate.id, Candidate.id_number))
    assert len({r[0] for r in rows}) == len({r[1] for r in rows}) == len(rows)
    for cid, idn, account, email in rows:
        assert cands[cid] == idn
        assert accounts[account] == email


def test_site_settings_respected_and_capacity_never_oversold(demo):
    tid = demo.info["current_term"]
    with session_scope(demo.engine) as s:
        settings = {st.site_id: st for st in s.scalars(select(SiteSetting).where(SiteSetting.term_id == tid))}
        caps = {(x.site_id, x.subject_id): x.capacity for x in s.scalars(select(SiteSubject).where(
            SiteSubject.term_id == tid))}
        regs = _all(s, Registration.site_id, Registration.subject_id, Registration.enrollment_id,
                    where=[Registration.term_id == tid])
        enrollments = {e.id: e for e in s.scalars(select(Enrollment).where(Enrollment.term_id == tid))}
        quotas = {(q.site_id, q.exam_date): q.quota for q in s.scalars(select(IntentQuota).where(
            IntentQuota.term_id == tid))}
        levels = [capacity_level(cap, n) for (site, sid), n in
                  Counter((r[0], r[1]) for r in regs).items() for cap in (caps[(site, sid)],)]
    per_subject = Counter((site, sid) for site, sid, _ in regs)
    for (site, sid), n in per_subject.items():
        cap = caps.get((site, sid))
        assert cap, f"registered in a subject the site does not open: {site}/{sid}"
        assert cap >= CAPACITY_MAX or n <= cap
    per_site = Counter(site for site, _, _ in regs)
    for site, n in per_site.items():
        assert n <= settings[site].total_capacity
    # most sites still have room left
    assert sum(per_site[site] < settings[site].total_capacity for site in per_site) >= 9
    assert FULL in levels  # one subject full: the colours of 科目容量统计
    per_person = Counter(eid for _, _, eid in regs)
    for eid, e in enrollments.items():
        st = settings[e.site_id]
        assert 1 <= per_person[eid] <= st.max_subjects
        assert all(site == e.site_id for site, _, x in regs if x == eid)
        options = class_options_list(st)
        if options and e.channel == "group":
            assert e.class_name in options
        if e.intent_date is not None:
            assert st.allow_intent_date and (e.site_id, e.intent_date) in quotas
        if e.is_registry:
            assert st.registry_enabled
    intent = Counter((e.site_id, e.intent_date) for e in enrollments.values() if e.intent_date)
    assert intent and all(n <= quotas[k] for k, n in intent.items())


def test_registry_photos_and_cancellations(demo):
    tid = demo.info["current_term"]
    with session_scope(demo.engine) as s:
        enrollments = list(s.scalars(select(Enrollment).where(Enrollment.term_id == tid)))
        registry = {r.id_number: r.site_id for r in s.scalars(select(RegistryRecord))}
        photos = {(p.site_id, p.id_number): p.sha256 for p in s.scalars(select(CandidatePhoto))}
        cancelled = list(s.scalars(select(CancelledRegistration)))
        regs = set(_all(s, Registration.candidate_id, Registration.subject_id))
    for e in enrollments:
        if e.is_registry:
            assert registry[e.id_number] == e.site_id
        if e.photo_sha256:
            assert photos[(e.site_id, e.id_number)] == e.photo_sha256
            assert file_path(e.photo_sha256).read_bytes()[:3] == b"\xff\xd8\xff"
    with_photo = sum(1 for e in enrollments if e.photo_sha256)
    assert 0.8 < with_photo / len(enrollments) < 0.97
    assert 1 < len({e.photo_sha256 for e in enrollments if e.photo_sha256}) <= 10
    assert cancelled and all(c.reason and (c.candidate_id, c.subject_id) not in regs for c in cancelled)
    assert sum(e.locked for e in enrollments) > 0 and sum(not e.locked for e in enrollments) > 0


def test_payments_consistent_with_orders(demo):
    tid = demo.info["current_term"]
    with session_scope(demo.engine) as s:
        settings = {st.site_id: st for st in s.scalars(select(SiteSetting).where(SiteSetting.term_id == tid))}
        orders = {o.id: o for o in s.scalars(select(PaymentOrder))}
        regs = list(s.scalars(select(Registration).where(Registration.term_id == tid)))
        state = dict(_all(s, Enrollment.id, Application.state, where=[Enrollment.review_app_id == Application.id]))
    paid = [r for r in regs if r.paid]
    assert 0.5 < len(paid) / len(regs) < 0.95  # most are paid
    for r in regs:
        o = orders.get(r.order_id)
        if r.paid:
            assert o is not None and o.state == "paid" and r.paid_at is not None
            assert o.site_id == r.site_id
        else:
            assert r.paid_at is None and (o is None or o.state == "unpaid")
        if settings[r.site_id].review_required and r.paid:
            assert state[r.enrollment_id] == "approved"
    by_order = {}
    for r in regs:
        if r.order_id:
            by_order.setdefault(r.order_id, []).append(r)
    kinds = Counter(o.kind for o in orders.values())
    assert kinds["group"] >= 5 and kinds["individual"] > 50
    for oid, o in orders.items():
        items = by_order.get(oid, [])
        assert o.item_count == len(items) and o.amount == sum(r.fee for r in items)
        assert o.candidate_count == len({r.enrollment_id for r in items})
        if o.kind == "group":
            assert settings[o.site_id].group_payment and all(r.channel == "group" for r in items)
        else:
            assert o.candidate_count == 1
        assert (o.state == "paid") == (o.paid_at is not None)
    unpaid_batches = Counter(o.site_id for o in orders.values() if o.kind == "group" and o.state == "unpaid")
    assert unpaid_batches and max(unpaid_batches.values()) == 1  # one open batch per site at most
    # a locked batch locks its candidates
    locked = {e for e, in _rows(demo, Enrollment.id, Enrollment.locked.is_(True))}
    assert all(r.enrollment_id in locked for r in regs if r.order_id and orders[r.order_id].kind == "group")


def _rows(demo, col, *where):
    with session_scope(demo.engine) as s:
        return s.execute(select(col).where(*where)).all()


def test_review_applications_consistent(demo):
    tid = demo.info["current_term"]
    with session_scope(demo.engine) as s:
        settings = {st.site_id: st for st in s.scalars(select(SiteSetting).where(SiteSetting.term_id == tid))}
        enrollments = list(s.scalars(select(Enrollment).where(Enrollment.term_id == tid)))
        apps = {a.id: a for a in s.scalars(select(Application).where(Application.kind == "ncre_enroll_review"))}
    states = Counter()
    for e in enrollments:
        if not settings[e.site_id].review_required:
            assert e.review_app_id is None
            continue
        a = apps[e.review_app_id]
        assert a.subject_key == f"{tid}:{e.id_number}" and a.org_id == e.site_id and a.term_id == tid
        states[a.state] += 1
        assert e.locked == (a.state != "rejected")
        if a.state == "approved":
            assert e.photo_sha256
    assert set(states) == {"pending", "approved", "rejected"}
    assert len(apps) == sum(states.values())


def test_lists_and_refuses_twice(demo):
    actor = demo.actor("site110001")
    with session_scope(demo.engine) as s:
        rows, total = list_candidates(s, actor, CandidateQuery(), page=1)
        mine = s.scalar(select(func.count()).select_from(Enrollment).join(Org, Org.id == Enrollment.site_id)
                        .where(Org.code == "110001"))
    assert total == mine and len(rows) == min(mine, 50)
    assert all("*" in r["证件号码"] for r in rows)
    with session_scope(demo.engine) as s, pytest.raises(ValueError, match="只能载入一次"):
        load_demo_registrations(s, n=10, log=lambda *_: None)


def test_people_generator_is_deterministic():
    a = [DemoPeople(random.Random(5)).person("44") for _ in range(1)]
    g1, g2 = DemoPeople(random.Random(5)), DemoPeople(random.Random(5))
    p1 = [g1.person("44") for _ in range(200)]
    p2 = [g2.person("44") for _ in range(200)]
    assert p1 == p2 and a[0] == p1[0]
    assert all(parse_id_number(p["id_number"]) == p["id_number"] and p["id_number"][:2] == "44" for p in p1)
