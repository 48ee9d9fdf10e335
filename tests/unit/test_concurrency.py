"""Capacity can never be oversold (issue: "whatever the concurrency"), on SQLite and PostgreSQL.

Hundreds of concurrent registrations compete for fewer seats while the site administrator cancels and
group-pays at the same time. Afterwards: registered ≤ capacity, remaining = capacity − registered,
no candidate twice in the 考次, every acknowledged registration exists unless it was cancelled.
"""
from __future__ import annotations

import random
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from core.db import session_scope
from core.errors import DomainError
from core.models import CancelledRegistration, Enrollment, PaymentOrder, Registration, SiteSetting, SiteSubject, Subject
from core.services import candidates as cs
from core.services import payment as pay
from core.services import registration as reg
from tests.factories import make_id_number

CAPACITY = 40
PEOPLE = 240  # 6 people per seat; some try twice


def test_no_overselling_under_concurrency(seed):
    site, term = seed.orgs["110002"], seed.info["current_term"]
    now = datetime.now()
    with session_scope(seed.engine) as s:
        sub = s.scalar(select(Subject.id).where(Subject.code == "14"))
        s.execute(update(SiteSubject).where(SiteSubject.site_id == site, SiteSubject.term_id == term,
                                            SiteSubject.subject_id == sub).values(capacity=CAPACITY))
        s.execute(update(SiteSetting).where(SiteSetting.site_id == site, SiteSetting.term_id == term).values(
            total_capacity=10_000, online_reg_enabled=True, online_reg_start=now - timedelta(days=1),
            online_reg_end=now + timedelta(days=1), group_payment=True, review_required=False))
    admin = seed.actor("site110002")
    acked: Counter = Counter()  # id_number -> acknowledged registrations
    cancelled: Counter = Counter()  # id_number -> acknowledged cancellations
    refused: list[str] = []
    lock = threading.Lock()

    def register(i: int) -> None:
        idn = make_id_number(i % PEOPLE, born="19990101")
        person = {"id_type": "居民身份证", "id_number": idn, "name": f"并发{i}", "gender": "男",
                  "ethnicity": "汉族", "education": "大学本科", "phone": "13800000000"}
        try:
            with session_scope(seed.engine) as s:
                reg.register_online(s, None, site, term, person, ["14"])
            with lock:
                acked[idn] += 1
                assert acked[idn] - cancelled[idn] == 1, "the same person holds two registrations"
        except DomainError as e:
            with lock:
                refused.append(e.message)
        except Exception as e:  # a unique-constraint race on the same person is a refusal, not a crash
            if "unique" not in str(e).lower() and "duplicate" not in str(e).lower():
                raise

    def cancel() -> None:
        with lock:
            choices = [n for n in acked if acked[n] > cancelled[n]]
        if not choices:
            return
        idn = random.choice(choices)
        try:
            with session_scope(seed.engine) as s:
                eid = s.scalar(select(Enrollment.id).where(Enrollment.term_id == term, Enrollment.id_number == idn))
                if eid is None:
                    return
                cs.cancel_exam(s, admin, [eid], "并发测试取消")
            with lock:
                cancelled[idn] += 1
        except DomainError:
            pass  # already cancelled, in a batch, or group-paid

    def group_pay() -> None:
        try:
            with session_scope(seed.engine) as s:
                order = pay.create_group_batch(s, admin, site, None)
                oid = order.id
            with session_scope(seed.engine) as s:
                pay.pay_batch(s, admin, oid, f"凭证{oid}")
        except DomainError:
            pass  # another batch is open, or nothing to pay

    tasks = [lambda i=i: register(i) for i in range(PEOPLE + 60)]
    tasks += [cancel for _ in range(40)] + [group_pay for _ in range(8)]
    random.Random(7).shuffle(tasks)
    with ThreadPoolExecutor(max_workers=48) as ex:
        for f in [ex.submit(t) for t in tasks]:
            f.result()

    with session_scope(seed.engine, readonly=True) as s:
        regs = s.scalar(select(func.count()).select_from(Registration).where(
            Registration.site_id == site, Registration.subject_id == sub))
        seats = reg.lock_capacity(s, site, term, lock=False)
        dupes = s.scalar(select(func.count()).select_from(
            select(Enrollment.candidate_id).where(Enrollment.term_id == term).group_by(Enrollment.candidate_id)
            .having(func.count() > 1).subquery()))
        existing = set(s.scalars(select(Enrollment.id_number).where(Enrollment.site_id == site)))
        n_cancelled = s.scalar(select(func.count()).select_from(CancelledRegistration).where(
            CancelledRegistration.site_id == site))
        open_batches = s.scalar(select(func.count()).select_from(PaymentOrder).where(
            PaymentOrder.site_id == site, PaymentOrder.state == "unpaid"))
    assert regs <= CAPACITY
    assert seats.subjects[sub].remaining == CAPACITY - regs
    assert dupes == 0
    assert existing == {n for n in acked if acked[n] - cancelled[n] == 1}  # every acknowledged one exists
    assert n_cancelled == sum(cancelled.values())
    assert sum(acked.values()) - sum(cancelled.values()) == regs
    assert sum(acked.values()) >= CAPACITY  # the seats were all sold at some point
    assert any("容量不足" in m for m in refused)
    assert open_batches <= 1
