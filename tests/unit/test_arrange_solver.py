"""考场编排 solver (core.services.arrange_solver, 001 §31): hard rules on hundreds of seeded random instances,
exact optimum against a HiGHS MILP (placed count, then honoured intents), full placement when the MILP
places everything, the unplaced reasons on hand-made cases, determinism. No database."""
from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta

import pytest

from core.services.arrange_solver import Req, Rule, Slot, _colour, conflict, fits, solve

D0 = datetime(2026, 3, 27)
PATTERN_A = [(8 * 60, 10 * 60), (10 * 60 + 30, 12 * 60 + 30), (13 * 60, 15 * 60)]   # 3 sessions a day
PATTERN_SHIFT = [(8 * 60 + 30, 10 * 60 + 30), (11 * 60, 13 * 60), (13 * 60 + 30, 15 * 60 + 30)]  # chains
PATTERN_SHORT = [(8 * 60, 9 * 60 + 30), (10 * 60 + 30, 12 * 60), (13 * 60, 14 * 60 + 30)]  # 90-min rooms


def at(day: int, minute: int) -> datetime:
    return D0 + timedelta(days=day, minutes=minute)


def make_instance(seed: int, n_cand: int, *, days: int = 3, structured: bool = True, tight: float = 0.95,
                  n_subj: int = 6, intent_p: float = 0.15, busy_p: float = 0.1, ranges: bool = True,
                  room_size: int = 30, multi: float = 0.25):
    """Random instance. structured: every room uses PATTERN_A (clusters are single time classes);
    otherwise rooms also use PATTERN_SHIFT (non-clique conflict chains) and PATTERN_SHORT (90-min sessions
    inside the 8:00 cluster: fits differ inside a cluster). Capacity ~ `tight` x demand."""
    rnd = random.Random(seed)
    rules = {}
    for s in range(1, n_subj + 1):
        dur = rnd.choice([90, 120, 120])
        start = end = None
        if ranges and rnd.random() < 0.4:         # site exam range for the subject: a sub-range of days
            d1 = rnd.randrange(days)
            d2 = rnd.randrange(d1, days)
            start, end = at(d1, 8 * 60), at(d2, 20 * 60)
            if rnd.random() < 0.3:                # or only mornings of one day
                start, end = at(d1, 8 * 60), at(d1, 12 * 60 + 30)
        rules[s] = Rule(dur, start, end)
    reqs, busy = [], {}
    rid = 0
    for c in range(1, n_cand + 1):
        k = rnd.choices([1, 2, 3], [1 - multi, 0.8 * multi, 0.2 * multi])[0]
        intent = date(2026, 3, 27 + rnd.randrange(days)) if rnd.random() < intent_p else None
        for s in rnd.sample(range(1, n_subj + 1), k):
            rid += 1
            it = intent if rnd.random() < 0.9 else (date(2026, 3, 27 + rnd.randrange(days)) if intent else None)
            reqs.append(Req(rid, c, s, it))
        if rnd.random() < busy_p:
            d = rnd.randrange(days)
            p = rnd.choice(PATTERN_A + PATTERN_SHIFT)
            busy[c] = [(at(d, p[0]), at(d, p[1]))]
    demand = len(reqs)
    n_rooms = max(1, round(tight * demand / (room_size * 3 * days)))
    slots, sid = [], 0
    for room in range(n_rooms):
        pat = PATTERN_A
        if not structured:
            pat = [PATTERN_A, PATTERN_SHIFT, PATTERN_SHORT][room % 3]
        size = room_size if structured else rnd.choice([room_size, room_size // 2, 5])
        for d in range(days):
            for a, b in pat:
                sid += 1
                slots.append(Slot(sid, at(d, a), at(d, b), size - (rnd.randrange(3) if rnd.random() < 0.2 else 0)))
    excess = sum(s.free for s in slots) - round(tight * demand)
    while excess > 0:                              # trim seats so that total capacity ~ tight x demand
        k = rnd.randrange(len(slots))
        s = slots[k]
        cut = min(excess, s.free, rnd.randint(1, 10))
        slots[k] = Slot(s.id, s.start, s.end, s.free - cut)
        excess -= cut
    rnd.shuffle(reqs)
    return reqs, slots, rules, busy


def check_hard(reqs, slots, rules, busy, sol, gap=15, intent_only=False):
    """Every hard rule on a solution; returns nothing, asserts."""
    by_id = {s.id: s for s in slots}
    ids = {r.id for r in reqs}
    assert set(sol.placed) | set(sol.unplaced) == ids
    assert not set(sol.placed) & set(sol.unplaced)
    assert all(isinstance(v, str) and v for v in sol.unplaced.values())
    load = Counter(sol.placed.values())
    for sid, n in load.items():
        assert n <= by_id[sid].free, f"slot {sid} over capacity"
    per_cand = defaultdict(list)
    for r in reqs:
        if r.id in sol.placed:
            sl = by_id[sol.placed[r.id]]
            assert fits(rules[r.subject], sl), f"req {r.id} in a slot not fitting its subject"
            if intent_only:
                assert r.intent == sl.start.date()
            per_cand[r.candidate].append((sl.start, sl.end))
    for cand, ivs in per_cand.items():
        ivs = ivs + list(busy.get(cand, ()))
        for i in range(len(ivs)):
            for j in range(i + 1, len(ivs)):
                if i < len(per_cand[cand]) or j < len(per_cand[cand]):
                    a, b = ivs[i], ivs[j]
                    assert not conflict(a[0], a[1], b[0], b[1], gap), f"candidate {cand} conflict"
                    assert b[0] - a[1] > timedelta(minutes=gap) or a[0] - b[1] > timedelta(minutes=gap)
    req_by = {r.id: r for r in reqs}
    honoured = sum(1 for rid, sid in sol.placed.items() if req_by[rid].intent == by_id[sid].start.date())
    assert sol.intent_honoured == honoured
    assert sol.intent_total == sum(1 for r in reqs if r.intent is not None)


# ----------------------------------------------------------------------------- primitives
def test_fits_and_conflict():
    r = Rule(120, at(0, 8 * 60), at(0, 12 * 60 + 30))
    assert fits(r, Slot(1, at(0, 480), at(0, 600), 30))
    assert not fits(r, Slot(1, at(0, 480), at(0, 590), 30))          # too short
    assert not fits(r, Slot(1, at(0, 630), at(0, 780), 30))          # ends after the range
    assert not fits(r, Slot(1, at(1, 480), at(1, 600), 30))          # other day
    assert fits(Rule(90), Slot(1, at(2, 480), at(2, 570), 30))        # unbounded range
    assert conflict(at(0, 480), at(0, 600), at(0, 615), at(0, 700))   # gap 15: conflict
    assert not conflict(at(0, 480), at(0, 600), at(0, 616), at(0, 700))   # 16 > 15
    assert conflict(at(0, 615), at(0, 700), at(0, 480), at(0, 600))   # symmetric
    assert conflict(at(0, 480), at(0, 600), at(0, 500), at(0, 550))   # overlap
    assert conflict(at(0, 480), at(0, 600), at(0, 630), at(0, 700), gap_minutes=30)   # gap 30 <= 30


def test_colour_decomposition_is_a_proper_edge_colouring():
    rnd = random.Random(3)
    for _ in range(300):
        n = rnd.randint(1, 40)
        L, R = rnd.randint(1, 4), rnd.randint(1, 9)
        mult, dl, dr = {}, [0] * L, [0] * R
        for _ in range(rnd.randint(1, 60)):
            i, j = rnd.randrange(L), rnd.randrange(R)
            m = rnd.randint(1, n)
            m = min(m, n - dl[i], n - dr[j])
            if m > 0:
                mult[(i, j)] = mult.get((i, j), 0) + m
                dl[i] += m
                dr[j] += m
        cols = _colour(n, mult)
        assert len(cols) == n
        got = Counter(e for col in cols for e in col)
        assert got == Counter({k: v for k, v in mult.items() if v})
        for col in cols:
            assert len({i for i, _ in col}) == len(col) and len({j for _, j in col}) == len(col)


# ----------------------------------------------------------------------------- hard rules, random
@pytest.mark.parametrize("structured", [True, False])
def test_hard_rules_on_random_instances(structured):
    for seed in range(150):
        rnd = random.Random(seed)
        n = rnd.choice([5, 20, 60, 150, 400])
        reqs, slots, rules, busy = make_instance(seed, n, structured=structured, tight=rnd.choice([0.6, 0.9, 1.0, 1.2]),
                                                 days=rnd.choice([1, 2, 3]))
        sol = solve(reqs, slots, rules, busy)
        check_hard(reqs, slots, rules, busy, sol)
        if structured:
            assert sol.exact
        sol2 = solve(reqs, slots, rules, busy, intent_only=True)
        check_hard(reqs, slots, rules, busy, sol2, intent_only=True)
        assert all(reqs_by_intent is not None for reqs_by_intent in
                   (r.intent for r in reqs if r.id in sol2.placed))


def test_gap_parameter_and_busy():
    # 8:00-10:00 and 10:30-12:30: fine with the 15-min rule, conflicting with a 30-min rule
    slots = [Slot(1, at(0, 480), at(0, 600), 1), Slot(2, at(0, 630), at(0, 750), 1)]
    rules = {1: Rule(90), 2: Rule(90)}
    reqs = [Req(1, 7, 1), Req(2, 7, 2)]
    assert len(solve(reqs, slots, rules).placed) == 2
    sol = solve(reqs, slots, rules, gap_minutes=30)
    assert len(sol.placed) == 1 and "30分钟" in next(iter(sol.unplaced.values()))
    sol = solve(reqs, slots, rules, busy={7: [(at(0, 600), at(0, 620))]})   # busy touches both
    assert sol.placed == {} and all("时间冲突" in v for v in sol.unplaced.values())


# ----------------------------------------------------------------------------- exact optimum (MILP)
try:                      # test-only dependency (requirements: highspy)
    import highspy
except ImportError:       # pragma: no cover
    highspy = None
needs_milp = pytest.mark.skipif(highspy is None, reason="highspy not installed")


def milp(reqs, slots, rules, busy, gap=15, intent_only=False, lexicographic=False, time_limit=60):
    """Exact optimum with HiGHS: y[r,c] binary per registration and eligible time class; class capacity;
    per candidate and per maximal clique of the (interval) conflict graph at most one; busy classes
    excluded. Returns (max placed, max honoured given max placed or None)."""
    times = sorted({(s.start, s.end) for s in slots})
    free = Counter()
    for s in slots:
        free[(s.start, s.end)] += max(0, s.free)
    g = timedelta(minutes=gap)
    # maximal cliques of the interval graph on [start, end + gap]: the classes covering each start point
    cliques = {frozenset(i for i, (s, e) in enumerate(times) if s <= t <= e + g) for t, _ in times}
    cols, rows_cap, rows_req, honoured_cost = [], defaultdict(list), [], []
    by_cand = defaultdict(list)
    for r in reqs:
        if r.subject not in rules or (intent_only and r.intent is None):
            continue
        mine = []
        for i, (s, e) in enumerate(times):
            sl = Slot(0, s, e, 0)
            if not fits(rules[r.subject], sl) or (intent_only and s.date() != r.intent):
                continue
            if any(conflict(s, e, bs, be, gap) for bs, be in busy.get(r.candidate, ())):
                continue
            k = len(cols)
            cols.append((r, i))
            honoured_cost.append(1.0 if r.intent == s.date() else 0.0)
            rows_cap[i].append(k)
            mine.append(k)
            by_cand[r.candidate].append((k, i))
        if mine:
            rows_req.append(mine)
    rows = [(idx, 1.0) for idx in rows_req]
    rows += [(idx, float(free[times[i]])) for i, idx in rows_cap.items()]
    for _cand, kv in by_cand.items():
        if len({cols[k][0].id for k, _ in kv}) < 2:
            continue
        for q in cliques:
            idx = [k for k, i in kv if i in q]
            if len({cols[k][0].id for k in idx}) >= 2:
                rows.append((idx, 1.0))
    if not cols:
        return 0, 0

    def run(obj, extra=None):
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("mip_rel_gap", 0.0)
        h.setOptionValue("time_limit", float(time_limit))
        n = len(cols)
        inf = highspy.kHighsInf
        for _ in range(1):
            h.addVars(n, [0.0] * n, [1.0] * n)
        h.changeColsIntegrality(n, list(range(n)), [highspy.HighsVarType.kInteger] * n)
        h.changeColsCost(n, list(range(n)), obj)
        allrows = rows + ([extra] if extra else [])
        for idx, ub in allrows:
            lo = -inf
            if isinstance(ub, tuple):
                lo, ub = ub
            h.addRow(lo, ub, len(idx), idx, [1.0] * len(idx))
        h.changeObjectiveSense(highspy.ObjSense.kMaximize)
        h.run()
        assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal, h.getModelStatus()
        return round(h.getInfo().objective_function_value)

    best = run([1.0] * len(cols))
    if not lexicographic:
        return best, None
    hon = run(honoured_cost, (list(range(len(cols))), (float(best), float(best))))
    return best, hon


@needs_milp
def test_milp_agrees_on_small_hand_case():
    # two candidates, one seat per session; candidate 1 can only take the morning (range), 2 either
    slots = [Slot(1, at(0, 480), at(0, 600), 1), Slot(2, at(0, 780), at(0, 900), 1)]
    rules = {1: Rule(120, at(0, 480), at(0, 720)), 2: Rule(120)}
    reqs = [Req(1, 1, 1), Req(2, 2, 2)]
    sol = solve(reqs, slots, rules)
    assert sol.placed == {1: 1, 2: 2}
    assert milp(reqs, slots, rules, {})[0] == 2


@needs_milp
@pytest.mark.parametrize("seed", range(40))
def test_structured_optimum_matches_milp_lexicographic(seed):
    rnd = random.Random(1000 + seed)
    n = rnd.choice([10, 30, 80, 150])
    reqs, slots, rules, busy = make_instance(1000 + seed, n, structured=True, tight=rnd.choice([0.7, 0.9, 1.0]),
                                             days=rnd.choice([1, 2, 3]), intent_p=0.3)
    sol = solve(reqs, slots, rules, busy)
    check_hard(reqs, slots, rules, busy, sol)
    assert sol.exact
    best, hon = milp(reqs, slots, rules, busy, lexicographic=True)
    assert (len(sol.placed), sol.intent_honoured) == (best, hon)
    # intent-only mode (manual mode 1) is also exact
    sol1 = solve(reqs, slots, rules, busy, intent_only=True)
    best1, hon1 = milp(reqs, slots, rules, busy, intent_only=True, lexicographic=True)
    assert (len(sol1.placed), sol1.intent_honoured) == (best1, hon1) and hon1 == best1


@needs_milp
@pytest.mark.parametrize("n_cand", [600, 1500])
def test_structured_optimum_matches_milp_up_to_2000_registrations(n_cand):
    for seed in range(2):
        reqs, slots, rules, busy = make_instance(77 + seed + n_cand, n_cand, structured=True, tight=0.97,
                                                 intent_p=0.1, busy_p=0.05)
        assert len(reqs) <= 2000
        sol = solve(reqs, slots, rules, busy)
        check_hard(reqs, slots, rules, busy, sol)
        best, _ = milp(reqs, slots, rules, busy, time_limit=120)
        assert len(sol.placed) == best
        assert sol.unplaced, "instance meant to be tight"


@needs_milp
def test_everything_placed_when_milp_says_feasible():
    hits = 0
    for seed in range(60):
        rnd = random.Random(500 + seed)
        for structured in (True, False):
            reqs, slots, rules, busy = make_instance(500 + seed, rnd.choice([20, 60, 120]), structured=structured,
                                                     tight=1.25, ranges=rnd.random() < 0.5, busy_p=0.05)
            best, _ = milp(reqs, slots, rules, busy)
            sol = solve(reqs, slots, rules, busy)
            if best == len(reqs):
                hits += 1
                assert not sol.unplaced, (seed, structured, sol.unplaced)
    assert hits >= 40


GAPS: dict = {}


@needs_milp
def test_unstructured_gap_is_small_and_reported(capsys):
    """Non-clique clusters / non-uniform fits: valid always; optimality not guaranteed. We assert equality
    where it holds on most instances and bound the total gap; the measured figures are printed."""
    total_best = total_got = equal = inst = hon_best = hon_got = hon_equal = certified = 0
    for seed in range(60):
        rnd = random.Random(9000 + seed)
        multi = 0.25 if seed % 2 else 0.7           # odd: like real sites; even: mostly multi-subject
        reqs, slots, rules, busy = make_instance(9000 + seed, rnd.choice([30, 80, 200]), structured=False,
                                                 tight=rnd.choice([0.8, 0.95, 1.1]), days=rnd.choice([1, 2, 3]),
                                                 multi=multi, n_subj=rnd.choice([4, 6]))
        sol = solve(reqs, slots, rules, busy)
        check_hard(reqs, slots, rules, busy, sol)
        best, hon = milp(reqs, slots, rules, busy, lexicographic=True)
        assert len(sol.placed) <= best
        inst += 1
        equal += len(sol.placed) == best
        total_best += best
        total_got += len(sol.placed)
        if sol.exact:                                # certified by the relaxation bound
            certified += 1
            assert (len(sol.placed), sol.intent_honoured) == (best, hon)
        if len(sol.placed) == best:
            assert sol.intent_honoured <= hon
            hon_best += hon
            hon_got += sol.intent_honoured
            hon_equal += sol.intent_honoured == hon
    gap = 1 - total_got / total_best
    with capsys.disabled():
        print(f"\n[arrange] unstructured: {equal}/{inst} instances optimal, placed {total_got}/{total_best} "
              f"(gap {gap:.3%}); where placed is optimal, intents {hon_got}/{hon_best} "
              f"({hon_equal}/{equal} instances optimal); {certified} certified optimal by the solver")
    assert gap < 0.01 and equal >= inst * 3 // 4 and hon_got >= 0.97 * hon_best


# ----------------------------------------------------------------------------- reasons (hand-made)
def test_reason_no_fitting_slot():
    slots = [Slot(1, at(0, 480), at(0, 570), 30)]                        # 90 minutes only
    rules = {1: Rule(120, at(0, 480), at(0, 1200))}
    sol = solve([Req(1, 1, 1)], slots, rules, subject_names={1: "(14) 计算机基础及WPS Office应用"})
    msg = sol.unplaced[1]
    assert "没有符合条件的批次" in msg and "120分钟" in msg and "2026-03-27 08:00" in msg
    assert "2026-03-27 20:00" in msg and "(14) 计算机基础及WPS Office应用" in msg
    # out of range: fits by length but on another day
    sol = solve([Req(1, 1, 1)], [Slot(1, at(1, 480), at(1, 600), 30)], rules)
    assert "没有符合条件的批次" in sol.unplaced[1]
    # unknown subject
    sol = solve([Req(1, 1, 9)], slots, rules)
    assert "未在本考点开考科目设置中" in sol.unplaced[1]


def test_reason_capacity():
    slots = [Slot(1, at(0, 480), at(0, 600), 2), Slot(2, at(0, 630), at(0, 750), 0)]
    rules = {1: Rule(120)}
    sol = solve([Req(i, i, 1) for i in range(1, 5)], slots, rules)
    assert len(sol.placed) == 2 and sol.placed == {1: 1, 2: 1}
    assert set(sol.unplaced) == {3, 4}
    assert all(v.startswith("容量不足") for v in sol.unplaced.values())


def test_reason_conflict_with_own_subjects():
    # one time slot with plenty of seats; candidate has two subjects -> second one conflicts
    slots = [Slot(1, at(0, 480), at(0, 600), 30), Slot(2, at(0, 480), at(0, 600), 30)]
    rules = {1: Rule(120), 2: Rule(120)}
    sol = solve([Req(1, 5, 1), Req(2, 5, 2)], slots, rules)
    assert len(sol.placed) == 1
    (rid, msg), = sol.unplaced.items()
    assert msg.startswith("时间冲突") and "15分钟" in msg
    # a session 10 minutes after the first one (gap 10 <= 15) still conflicts
    slots.append(Slot(3, at(0, 610), at(0, 730), 30))
    sol = solve([Req(1, 5, 1), Req(2, 5, 2)], slots, rules)
    assert len(sol.placed) == 1 and next(iter(sol.unplaced.values())).startswith("时间冲突")
    # 16 minutes: both placed
    slots.append(Slot(4, at(0, 616), at(0, 736), 30))
    sol = solve([Req(1, 5, 1), Req(2, 5, 2)], slots, rules)
    assert len(sol.placed) == 2 and {sol.placed[1], sol.placed[2]} in ({1, 4}, {2, 4})


def test_reason_intent_only_mode():
    slots = [Slot(1, at(0, 480), at(0, 600), 30), Slot(2, at(1, 480), at(1, 600), 30)]
    rules = {1: Rule(120, at(0, 480), at(0, 1200))}                     # only day one
    reqs = [Req(1, 1, 1, date(2026, 3, 27)), Req(2, 2, 1, None), Req(3, 3, 1, date(2026, 3, 28))]
    sol = solve(reqs, slots, rules, intent_only=True)
    assert sol.placed == {1: 1}
    assert "意向" in sol.unplaced[2]
    assert "没有符合条件的批次" in sol.unplaced[3] and "2026-03-28" in sol.unplaced[3]
    assert (sol.intent_total, sol.intent_honoured) == (2, 1)


def test_intent_is_honoured_before_non_intent_preferences():
    # day 1 has 1 seat, day 2 has 1 seat; A wants day 1, B has no intent -> A day 1, B day 2
    slots = [Slot(1, at(0, 480), at(0, 600), 1), Slot(2, at(1, 480), at(1, 600), 1)]
    rules = {1: Rule(120)}
    for order in ([Req(1, 1, 1), Req(2, 2, 1, date(2026, 3, 27))], [Req(2, 2, 1, date(2026, 3, 27)), Req(1, 1, 1)]):
        sol = solve(order, slots, rules)
        assert sol.placed == {2: 1, 1: 2} and sol.intent_honoured == 1


def test_maximum_not_greedy():
    # greedy in id order puts req 1 (fits both) into the morning and loses req 2 (morning only)
    slots = [Slot(1, at(0, 480), at(0, 600), 1), Slot(2, at(0, 780), at(0, 900), 1)]
    rules = {1: Rule(120), 2: Rule(120, at(0, 480), at(0, 720))}
    sol = solve([Req(1, 1, 1), Req(2, 2, 2)], slots, rules)
    assert sol.placed == {1: 2, 2: 1}


def test_no_level_restriction_to_day_one():
    # §31.5: any subject may go to any day (day one is full)
    slots = [Slot(1, at(0, 480), at(0, 600), 0), Slot(2, at(2, 480), at(2, 600), 1)]
    sol = solve([Req(1, 1, 1)], slots, {1: Rule(120)})
    assert sol.placed == {1: 2}


def test_deterministic_and_order_independent():
    reqs, slots, rules, busy = make_instance(42, 300, structured=False, tight=0.9, intent_p=0.3)
    a = solve(reqs, slots, rules, busy)
    b = solve(reqs, slots, rules, busy)
    rnd = random.Random(1)
    r2, s2 = list(reqs), list(slots)
    rnd.shuffle(r2)
    rnd.shuffle(s2)
    c = solve(r2, s2, rules, busy)
    assert a.placed == b.placed == c.placed and a.unplaced == b.unplaced == c.unplaced
    assert list(a.placed.items()) == list(b.placed.items())


def test_non_clique_cluster_still_places_compatible_sessions():
    # rooms with shifted patterns chain 8:00-10:00 / 8:30-10:30 / 10:30-12:30 into one conflict component
    # that is not a clique: 8:00-10:00 and 10:30-12:30 are compatible (gap 30), so both subjects fit.
    slots = [Slot(1, at(0, 480), at(0, 600), 1), Slot(2, at(0, 510), at(0, 630), 1),
             Slot(3, at(0, 630), at(0, 750), 1)]
    rules = {1: Rule(120), 2: Rule(120)}
    sol = solve([Req(1, 1, 1), Req(2, 1, 2)], slots, rules)
    assert len(sol.placed) == 2 and set(sol.placed.values()) == {1, 3}
    assert sol.exact and sol.stats["bound"] == (2, 0)    # certified: reaches the relaxation bound
    check_hard([Req(1, 1, 1), Req(2, 1, 2)], slots, rules, {}, sol)
