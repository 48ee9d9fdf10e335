"""考场编排 solver benchmark (core.services.arrange_solver.solve): prints figures, asserts nothing.

    .venv/bin/python -m tests.bench.bench_arrange [--regs 100000] [--capacity 0.98,1.10] [--intent 0.10]
                                                  [--subjects 12] [--seed 1] [--no-memory] [--no-greedy]
                                                  [--mixed]

Instance: REGS registrations, 1.3 subjects per candidate on average (1-3), 12 subjects of 90/120 minutes
(two of them limited to the first two days by the site's exam time range), rooms of 30 seats with 3
sessions a day (8:00-10:00, 10:30-12:30, 13:00-15:00) over 3 days, as many rooms as needed for CAPACITY x
demand seats, ~INTENT of the candidates with an 意向考试日期, 2% of candidates with a busy interval.
For each capacity: solve() wall time (target <= 5 s), peak traced memory (tracemalloc, separate run),
placed / unplaced / intents honoured, then a naive greedy baseline (registrations in id order, each into the
first fitting non-conflicting slot with a seat, intent date first) with its placed count, time and ratio.
"""
from __future__ import annotations

import argparse
import gc
import random
import resource
import sys
import time
import tracemalloc
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta

from core.services.arrange_solver import Req, Rule, Slot, conflict, fits, solve

TARGET = 5.0
D0 = datetime(2026, 3, 27)
PATTERN = [(8 * 60, 10 * 60), (10 * 60 + 30, 12 * 60 + 30), (13 * 60, 15 * 60)]
SHIFTED = [(8 * 60 + 30, 10 * 60 + 30), (11 * 60, 13 * 60), (13 * 60 + 30, 15 * 60 + 30)]   # --mixed
DAYS, ROOM = 3, 30


def instance(regs: int, capacity: float, intent_p: float, n_subj: int, seed: int, mixed: bool = False):
    rnd = random.Random(seed)
    rules = {s: Rule(rnd.choice([90, 120])) for s in range(1, n_subj + 1)}
    for s in (1, 2):                               # two subjects only on days 1-2 (site exam range, §11)
        rules[s] = Rule(rules[s].duration_min, D0 + timedelta(hours=8), D0 + timedelta(days=1, hours=20))
    weights = [1.0 / (k + 1) for k in range(n_subj)]   # popular subjects first
    reqs, busy, rid, cand = [], {}, 0, 0
    while rid < regs:
        cand += 1
        k = min(rnd.choices([1, 2, 3], [0.75, 0.2, 0.05])[0], regs - rid)   # mean 1.3
        subj: set[int] = set()
        while len(subj) < k:
            subj.add(rnd.choices(range(1, n_subj + 1), weights)[0])
        intent = date(2026, 3, 27 + rnd.randrange(DAYS)) if rnd.random() < intent_p else None
        for s in sorted(subj):
            rid += 1
            reqs.append(Req(rid, cand, s, intent))
        if rnd.random() < 0.02:
            d, (a, b) = rnd.randrange(DAYS), rnd.choice(PATTERN)
            busy[cand] = [(D0 + timedelta(days=d, minutes=a), D0 + timedelta(days=d, minutes=b))]
    seats = round(capacity * regs)
    rooms = -(-seats // (ROOM * DAYS * len(PATTERN)))
    slots, sid = [], 0
    for room in range(rooms):
        for d in range(DAYS):
            for a, b in (SHIFTED if mixed and room % 3 == 2 else PATTERN):
                sid += 1
                slots.append(Slot(sid, D0 + timedelta(days=d, minutes=a), D0 + timedelta(days=d, minutes=b), ROOM))
    excess = sum(s.free for s in slots) - seats      # the last room's sessions are partly full already
    k = len(slots) - 1
    while excess > 0:
        s = slots[k]
        cut = min(excess, s.free)
        slots[k] = Slot(s.id, s.start, s.end, s.free - cut)
        excess -= cut
        k -= 1
    return reqs, slots, rules, busy, cand


def greedy(reqs, slots, rules, busy, gap=15):
    """Naive baseline: registrations in id order, each into the first slot (by start, id) that fits, has a
    seat and does not conflict with the candidate's placements; an intent registration tries its date first."""
    order = sorted(slots, key=lambda s: (s.start, s.id))
    free = {s.id: s.free for s in slots}
    by_time = defaultdict(list)            # time class -> slots, to skip full classes quickly
    for s in order:
        by_time[(s.start, s.end)].append(s)
    times = sorted(by_time)
    ptr = {t: 0 for t in times}
    mine: dict[int, list] = defaultdict(list)
    placed = {}
    fit_cache = {}
    for r in sorted(reqs, key=lambda r: r.id):
        key = r.subject
        if key not in fit_cache:
            fit_cache[key] = [t for t in times if fits(rules[r.subject], by_time[t][0])]
        cands = fit_cache[key]
        if r.intent:
            cands = [t for t in cands if t[0].date() == r.intent] + [t for t in cands if t[0].date() != r.intent]
        taken = mine[r.candidate] + list(busy.get(r.candidate, ()))
        for t in cands:
            if any(conflict(t[0], t[1], a, b, gap) for a, b in taken):
                continue
            lst = by_time[t]
            while ptr[t] < len(lst) and free[lst[ptr[t]].id] <= 0:
                ptr[t] += 1
            if ptr[t] < len(lst):
                s = lst[ptr[t]]
                free[s.id] -= 1
                placed[r.id] = s.id
                mine[r.candidate].append(t)
                break
    return placed


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--regs", type=int, default=100_000)
    ap.add_argument("--capacity", default="0.98,1.10", help="seats as a fraction of demand, comma-separated")
    ap.add_argument("--intent", type=float, default=0.10)
    ap.add_argument("--subjects", type=int, default=12)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-memory", action="store_true", help="skip the tracemalloc run")
    ap.add_argument("--no-greedy", action="store_true")
    ap.add_argument("--mixed", action="store_true",
                    help="every third room uses shifted sessions (8:30-10:30, 11:00-13:00, 13:30-15:30): "
                         "conflict clusters are no longer cliques, optimality is not guaranteed")
    a = ap.parse_args(argv)
    print(f"arrange bench: {a.regs} registrations, rooms of {ROOM} seats x {len(PATTERN)} sessions x {DAYS} days,"
          f" {a.subjects} subjects, intent {a.intent:.0%}, target solve <= {TARGET:.0f} s")
    for cap in (float(x) for x in a.capacity.split(",")):
        reqs, slots, rules, busy, n_cand = instance(a.regs, cap, a.intent, a.subjects, a.seed, a.mixed)
        seats = sum(s.free for s in slots)
        print(f"\n-- capacity {cap:.0%}: {len(reqs)} regs / {n_cand} candidates "
              f"({len(reqs) / n_cand:.2f} per candidate), {len(slots)} sessions, {seats} seats")
        gc.collect()
        t0 = time.perf_counter()
        sol = solve(reqs, slots, rules, busy)
        dt = time.perf_counter() - t0
        ok = "OK" if dt <= TARGET else "MISSED"
        print(f"solve            {dt:7.2f} s  [{ok}]  placed {len(sol.placed)}  unplaced {len(sol.unplaced)}  "
              f"intents honoured {sol.intent_honoured}/{sol.intent_total}  exact={sol.exact}")
        print(f"                 network: {sol.stats}")
        reasons = Counter(v.split("：")[0] for v in sol.unplaced.values())
        print(f"                 unplaced reasons: {dict(reasons)}")
        if not a.no_memory:
            gc.collect()
            tracemalloc.start()
            solve(reqs, slots, rules, busy)
            _cur, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            print(f"peak memory      {peak / 2**20:7.1f} MiB traced in solve (process max RSS "
                  f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB)")
        if not a.no_greedy:
            t0 = time.perf_counter()
            gp = greedy(reqs, slots, rules, busy)
            gt = time.perf_counter() - t0
            by = {s.id: s for s in slots}
            req_by = {r.id: r for r in reqs}
            g_hon = sum(1 for rid, sid in gp.items() if req_by[rid].intent == by[sid].start.date())
            print(f"greedy baseline  {gt:7.2f} s  placed {len(gp)}  unplaced {len(reqs) - len(gp)}  "
                  f"intents honoured {g_hon}")
            print(f"ratio            solver/greedy placed {len(sol.placed) / max(1, len(gp)):.4f} "
                  f"(+{len(sol.placed) - len(gp)} registrations, +{(len(sol.placed) - len(gp)) / max(1, len(gp)):.1%});"
                  f" time {dt / max(gt, 1e-9):.1f}x")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
