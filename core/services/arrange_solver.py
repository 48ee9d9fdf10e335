"""考场编排 solver (001 §31): place registrations (报考) into sessions (批次). Pure Python, no DB.

Hard rules
  * a slot (批次) never receives more than its `free` seats;
  * a registration only goes to a slot that `fits` its subject: the slot is at least the subject's duration
    long and lies inside the site's exam time range for the subject (§11);
  * one candidate's placed registrations and `busy` intervals (places already given by earlier 编排) are
    pairwise non-conflicting: no overlap and a gap strictly greater than `gap_minutes` (15, §31 注);
  * no "level 3/4 on day one" restriction (§31.5).
Objective, lexicographic: (1) the maximum number of placed registrations, (2) then the maximum number of
intent registrations placed on their 意向考试日期, (3) deterministic output.

Method (aggregated min-cost flow + König decomposition)
  * Time classes: slots with identical (start, end) are interchangeable: a class has the summed free seats.
  * Conflict graph on classes (`conflict`); its connected components are the *clusters*. When a cluster
    is a clique (all its classes pairwise conflict) "a candidate's placements are non-conflicting" is
    exactly "at most one placement per cluster per candidate".
  * Candidates with an identical signature — the sorted tuple of (subject, intent date) of their
    registrations, plus the set of classes blocked by their busy intervals — are interchangeable; a group g
    of n_g candidates has one *position* p per registration of the signature.
  * Network:  source -> (g,p) [cap n_g] -> (g,K) [node cap n_g] -> class c -> sink [cap free(c)].
    Arc (g,p)->(g,K) exists when position p fits some class of cluster K (fit = rule fit, not blocked by
    busy, and in intent_only mode on the intent date); arcs (g,K)->c go to the *pool* of classes of K.
    When every position of g that reaches K fits exactly the same classes of K ("uniform"), the pool is that
    set and any position may use any pool class, so the network is exact.
  * Costs: arc (g,p)->(g,K) costs 0 when p has an intent date equal to K's date, else 1. Total cost =
    placed - honoured, so a min-cost maximum flow maximises placed first and honoured second.
    Min-cost max flow by primal-dual: Dijkstra on reduced costs for potentials, then a Dinic blocking flow
    on the admissible (zero reduced cost) arcs, repeated until the sink is unreachable.
  * Decomposition: for a group, the flow on arcs (g,p)->(g,K) is a bipartite multigraph positions x clusters
    with every degree <= n_g. By König's edge-colouring theorem it is n_g-edge-colourable; colour k is the
    k-th candidate of the group, who thus gets <= 1 placement per position and <= 1 per cluster. We colour
    by padding to an n_g-regular bipartite multigraph (dummy vertices/edges) and peeling perfect matchings
    (Hall: one always exists) with their minimum multiplicity; every peel removes an edge, so the number of
    peels is at most the number of distinct edges. Each (g,K) edge then takes a class of the (g,K) pool.
  * Classes are split over their slots in order of slot id (registrations sorted by subject, then id).

Optimality guarantee: the result is an exact lexicographic optimum (max placed, then max honoured intents)
whenever (a) every cluster is a clique, (b) for every group and cluster the positions that fit the cluster
fit the same classes in it (always true when fits are the same on all classes of a cluster, e.g. rooms
sharing one daily time pattern, or when a candidate has one subject fitting the cluster), and (c) every
cluster lies within one calendar day (only needed for (2); always true for sessions within 8:00-20:00).
`Solution.exact` is True then (tested against a HiGHS MILP), and also when the non-clique case below
reaches the upper bound given by its relaxed model B (a certificate of optimality).
Otherwise the result is valid but not guaranteed optimal:
  * a non-uniform (g,K) pool is restricted to the class set fitting the most positions, and only those
    positions connect (a restriction of the true problem);
  * when some cluster is not a clique (e.g. rooms with shifted time patterns chaining 8:00-10:00,
    8:30-10:30, 10:30-12:30 ...), two models are solved: (A) the components as clusters (one placement per
    candidate per component: valid, may lose placements) and (B) each component split into consecutive
    cliques (may produce conflicts across the split, which are repaired by keeping a maximum
    non-conflicting subset per candidate); the better (placed, honoured) is kept;
  * a deterministic local improvement pass (direct insertion; ejection chains: move a registration out of
    a full class into another class, and so on, until a class with a seat; moving the candidate's own
    conflicting registration), then an intent pass (ejection chains that bring an intent registration onto
    its date without losing a placement or an honoured intent), both bounded by an operation budget.
    Measured gap vs the MILP on such instances: see
    tests/unit/test_arrange_solver.py.
"""
from __future__ import annotations

import heapq
import itertools
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

__all__ = ["Slot", "Req", "Rule", "Solution", "fits", "conflict", "solve"]


@dataclass(frozen=True)
class Slot:
    """One 批次 with its free seats (capacity minus already seated)."""
    id: int
    start: datetime
    end: datetime
    free: int


@dataclass(frozen=True)
class Req:
    """One registration (报考) to place."""
    id: int
    candidate: int
    subject: int
    intent: date | None = None


@dataclass(frozen=True)
class Rule:
    """Per subject: exam duration and the site's exam time range (§11); None = unbounded."""
    duration_min: int
    start: datetime | None = None
    end: datetime | None = None


@dataclass
class Solution:
    placed: dict[int, int]          # req id -> slot id
    unplaced: dict[int, str]        # req id -> Chinese reason
    intent_total: int               # reqs with an intent date
    intent_honoured: int            # of those, placed on their intended date
    exact: bool = True              # optimum guaranteed (conditions of the module docstring, or certified)
    stats: dict = field(default_factory=dict)


def fits(rule: Rule, slot: Slot) -> bool:
    """Slot at least `duration_min` long and inside [rule.start, rule.end]."""
    if slot.end - slot.start < timedelta(minutes=rule.duration_min):
        return False
    if rule.start is not None and slot.start < rule.start:
        return False
    if rule.end is not None and slot.end > rule.end:
        return False
    return True


def conflict(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime,
             gap_minutes: int = 15) -> bool:
    """True when the two intervals overlap or the gap between them is <= gap_minutes."""
    g = timedelta(minutes=gap_minutes)
    return b_start - a_end <= g and a_start - b_end <= g


# --------------------------------------------------------------------------- min-cost max flow
class _Flow:
    """Arc arrays; arc e and e^1 are a pair (forward, residual)."""

    def __init__(self) -> None:
        self.to: list[int] = []
        self.cap: list[int] = []
        self.cost: list[int] = []
        self.adj: list[list[int]] = []

    def node(self) -> int:
        self.adj.append([])
        return len(self.adj) - 1

    def arc(self, u: int, v: int, cap: int, cost: int = 0) -> int:
        e = len(self.to)
        self.to += (v, u)
        self.cap += (cap, 0)
        self.cost += (cost, -cost)
        self.adj[u].append(e)
        self.adj[v].append(e + 1)
        return e

    def min_cost_max_flow(self, s: int, t: int) -> tuple[int, int]:
        """Primal-dual: potentials from Dijkstra on reduced costs, then Dinic on zero reduced-cost arcs.
        Costs are >= 0 initially, so zero potentials are feasible. Each phase's update
        pot[v] += min(dist[v], dist[t]) keeps every residual reduced cost >= 0."""
        n = len(self.adj)
        to, cap, cost, adj = self.to, self.cap, self.cost, self.adj
        pot = [0] * n
        inf = float("inf")
        total = total_cost = 0
        while True:
            dist = [inf] * n
            dist[s] = 0
            heap = [(0, s)]
            while heap:
                d, u = heapq.heappop(heap)
                if d > dist[u]:
                    continue
                pu = pot[u]
                for e in adj[u]:
                    if cap[e] > 0:
                        v = to[e]
                        nd = d + cost[e] + pu - pot[v]
                        if nd < dist[v]:
                            dist[v] = nd
                            heapq.heappush(heap, (nd, v))
            dt = dist[t]
            if dt == inf:
                break
            for v in range(n):
                dv = dist[v]
                pot[v] += dv if dv < dt else dt
            # Dinic on the admissible subgraph (cap > 0, reduced cost 0).
            while True:
                level = [-1] * n
                level[s] = 0
                queue = [s]
                for u in queue:
                    lu, pu = level[u] + 1, pot[u]
                    for e in adj[u]:
                        if cap[e] > 0:
                            v = to[e]
                            if level[v] < 0 and cost[e] + pu - pot[v] == 0:
                                level[v] = lu
                                queue.append(v)
                if level[t] < 0:
                    break
                # blocking flow by iterative DFS (no recursion: residual paths may be long)
                it = [0] * n
                while True:
                    path: list[int] = []
                    u = s
                    while u != t:
                        lst, lu, pu = adj[u], level[u] + 1, pot[u]
                        while it[u] < len(lst):
                            e = lst[it[u]]
                            v = to[e]
                            if cap[e] > 0 and level[v] == lu and cost[e] + pu - pot[v] == 0:
                                break
                            it[u] += 1
                        if it[u] < len(lst):
                            path.append(lst[it[u]])
                            u = to[lst[it[u]]]
                        elif u == s:
                            break
                        else:                      # dead end: retreat and skip the arc that led here
                            level[u] = -1
                            e = path.pop()
                            u = to[e ^ 1]
                            it[u] += 1
                    if u != t:
                        break
                    f = min(cap[e] for e in path)
                    for e in path:
                        cap[e] -= f
                        cap[e ^ 1] += f
                    total += f
                    total_cost += f * (pot[t] - pot[s])
        return total, total_cost

    def flow_on(self, e: int) -> int:
        return self.cap[e ^ 1]


# --------------------------------------------------------------------------- König decomposition
def _colour(n: int, mult: dict[tuple[int, int], int]) -> list[list[tuple[int, int]]]:
    """Split a bipartite multigraph (edge (i, j) with multiplicity mult[i, j], every degree <= n) into n
    matchings; returns for each colour k < n its list of edges. Exact by König's theorem: pad to an
    n-regular multigraph, then peel perfect matchings (which exist by Hall) with their min multiplicity."""
    colours: list[list[tuple[int, int]]] = [[] for _ in range(n)]
    if not mult or n == 0:
        return colours
    lefts = sorted({i for i, _ in mult})
    rights = sorted({j for _, j in mult})
    size = max(len(lefts), len(rights))
    li = {v: k for k, v in enumerate(lefts)}
    ri = {v: k for k, v in enumerate(rights)}
    real = [[0] * size for _ in range(size)]
    for (i, j), m in mult.items():
        real[li[i]][ri[j]] += m
    dummy = [[0] * size for _ in range(size)]
    dl = [n - sum(row) for row in real]
    dr = [n - sum(real[a][b] for a in range(size)) for b in range(size)]
    assert min(dl) >= 0 and min(dr) >= 0, "degree above n"
    a = b = 0
    while a < size and b < size:           # both deficit totals equal size*n - edges
        if dl[a] == 0:
            a += 1
            continue
        if dr[b] == 0:
            b += 1
            continue
        m = min(dl[a], dr[b])
        dummy[a][b] += m
        dl[a] -= m
        dr[b] -= m
    nxt = 0
    while nxt < n:
        # perfect matching on the support (Kuhn's augmenting paths; graphs are tiny)
        match_r = [-1] * size

        def aug(u: int, seen: list[bool]) -> bool:
            for v in range(size):
                if (real[u][v] or dummy[u][v]) and not seen[v]:
                    seen[v] = True
                    if match_r[v] < 0 or aug(match_r[v], seen):
                        match_r[v] = u
                        return True
            return False

        for u in range(size):
            ok = aug(u, [False] * size)
            assert ok, "no perfect matching in a regular bipartite multigraph"
        edges = []
        t = n - nxt
        for v in range(size):
            u = match_r[v]
            kind = real if real[u][v] else dummy
            edges.append((u, v, kind))
            t = min(t, kind[u][v])
        for u, v, kind in edges:
            kind[u][v] -= t
            if kind is real:
                for k in range(nxt, nxt + t):
                    colours[k].append((lefts[u], rights[v]))
        nxt += t
    return colours


# --------------------------------------------------------------------------- solver
def _fmt(d: datetime | None) -> str:
    return d.strftime("%Y-%m-%d %H:%M") if d else "不限"


def solve(reqs: Sequence[Req], slots: Sequence[Slot], rules: Mapping[int, Rule],
          busy: Mapping[int, Sequence[tuple[datetime, datetime]]] = {},  # noqa: B006 (read-only)
          gap_minutes: int = 15, intent_only: bool = False,
          subject_names: Mapping[int, str] | None = None, improve: bool = True) -> Solution:
    """Place `reqs` into `slots` (see the module docstring). `subject_names` (optional) labels subjects in
    the reasons; `improve=False` skips the local improvement pass (only useful for tests)."""
    names = subject_names or {}
    label = (lambda s: names.get(s) or f"科目{s}")
    unplaced: dict[int, str] = {}
    intent_total = sum(1 for r in reqs if r.intent is not None)

    # ---- time classes
    by_time: dict[tuple[datetime, datetime], list[Slot]] = defaultdict(list)
    for sl in slots:
        by_time[(sl.start, sl.end)].append(sl)
    times = sorted(by_time)
    C = len(times)
    cls_slots = [sorted(by_time[k], key=lambda x: x.id) for k in times]
    cls_free = [sum(max(0, x.free) for x in ss) for ss in cls_slots]
    cls_date = [k[0].date() for k in times]
    rep = [Slot(0, k[0], k[1], 0) for k in times]
    # conflict matrix (a class conflicts with itself); sweep by start time keeps this ~O(C * overlap)
    cm = [[False] * C for _ in range(C)]
    g = timedelta(minutes=gap_minutes)
    for i in range(C):
        si, ei = times[i]
        for j in range(i, C):
            sj, ej = times[j]
            if sj - ei > g:
                break                      # times sorted by start: later classes start later still
            if conflict(si, ei, sj, ej, gap_minutes):
                cm[i][j] = cm[j][i] = True
    # clusters = connected components of the conflict graph
    parent = list(range(C))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x
    for i in range(C):
        for j in range(i + 1, C):
            if cm[i][j]:
                parent[find(i)] = find(j)
    comp: dict[int, list[int]] = defaultdict(list)
    for i in range(C):
        comp[find(i)].append(i)
    components = sorted(comp.values())
    cliques_only = all(cm[a][b] for m in components for a in m for b in m)

    # ---- fit per subject, busy-blocked classes per candidate
    fit_cache: dict[int, frozenset[int]] = {}

    def subject_fit(s: int) -> frozenset[int]:
        if s not in fit_cache:
            rule = rules[s]
            fit_cache[s] = frozenset(c for c in range(C) if fits(rule, rep[c]))
        return fit_cache[s]
    busy_cache: dict[tuple, frozenset[int]] = {}

    def blocked(cand: int) -> frozenset[int]:
        iv = tuple(sorted(busy.get(cand, ()) or ()))
        if iv not in busy_cache:
            busy_cache[iv] = frozenset(c for c in range(C) for (bs, be) in iv
                                       if conflict(times[c][0], times[c][1], bs, be, gap_minutes))
        return busy_cache[iv]

    def eligible(subject: int, intent: date | None, blk: frozenset[int]) -> frozenset[int]:
        f = subject_fit(subject) - blk
        if intent_only:
            f = frozenset(c for c in f if cls_date[c] == intent)
        return f

    # ---- candidates -> groups
    by_cand: dict[int, list[Req]] = defaultdict(list)
    for r in reqs:
        if r.subject not in rules:
            unplaced[r.id] = f"{label(r.subject)}未在本考点开考科目设置中（无考试时长和考试时间范围），不能编排"
        elif intent_only and r.intent is None:
            unplaced[r.id] = "未选择意向考试日期：按考生意向编排只编排意向考生"
        else:
            by_cand[r.candidate].append(r)
    groups: dict[tuple, list[int]] = defaultdict(list)
    cand_blk: dict[int, frozenset[int]] = {}
    req_of: dict[int, Req] = {}
    for cand, rs in by_cand.items():
        rs.sort(key=lambda r: (r.subject, r.intent or date.min, r.id))
        blk = blocked(cand)
        cand_blk[cand] = blk
        groups[(tuple((r.subject, r.intent) for r in rs), blk)].append(cand)
        for r in rs:
            req_of[r.id] = r
    gkeys = sorted(groups, key=lambda k: (min(groups[k]), len(k[0])))

    def flow_model(clusters: list[list[int]]) -> tuple[dict[int, int], bool, dict]:
        """Min-cost max flow on the partition `clusters` of the classes + König decomposition.
        Returns (req id -> class, uniform: every (g,K) pool was uniform, stats)."""
        cl_of = [0] * C
        for k, members in enumerate(clusters):
            for c in members:
                cl_of[c] = k
        cl_date = [cls_date[m[0]] if len({cls_date[c] for c in m}) == 1 else None for m in clusters]
        uniform = True
        F = _Flow()
        S, T = F.node(), F.node()
        cnode = [F.node() for _ in range(C)]
        for c in range(C):
            F.arc(cnode[c], T, cls_free[c])
        ginfo = []       # per group: (members, pos_arcs{(p,K): arc}, pool_arcs{K: [(c, arc)]})
        for key in gkeys:
            sig, blk = key
            members = sorted(groups[key])
            n = len(members)
            pos_fit = [eligible(subj, intent, blk) for subj, intent in sig]
            pnodes = [F.node() for _ in sig]
            for pn in pnodes:
                F.arc(S, pn, n)
            reach: dict[int, list[int]] = defaultdict(list)     # cluster -> positions reaching it
            for p, f in enumerate(pos_fit):
                for K in sorted({cl_of[c] for c in f}):
                    reach[K].append(p)
            pos_arcs: dict[tuple[int, int], int] = {}
            pool_arcs: dict[int, list[tuple[int, int]]] = {}
            for K, ps in sorted(reach.items()):
                sets = {p: pos_fit[p] & frozenset(clusters[K]) for p in ps}
                distinct = set(sets.values())
                if len(distinct) == 1:
                    pool, conn = next(iter(distinct)), ps
                else:
                    # non-uniform: a valid restriction. Candidate pools: each position's set and their
                    # intersection; keep the one fitting the most positions (then most seats, then earliest).
                    uniform = False
                    opts = distinct | {frozenset.intersection(*distinct)}
                    opts.discard(frozenset())

                    def score(o, ps=ps, sets=sets):
                        return (sum(1 for p in ps if o <= sets[p]), sum(cls_free[c] for c in o), -min(o))
                    pool = max(opts, key=score)
                    conn = [p for p in ps if pool <= sets[p]]
                kn, kout = F.node(), F.node()
                F.arc(kn, kout, n)          # node capacity: <= n_g placements of the group in cluster K
                for p in conn:
                    intent = sig[p][1]
                    honoured = intent is not None and cl_date[K] is not None and intent == cl_date[K]
                    pos_arcs[(p, K)] = F.arc(pnodes[p], kn, n, 0 if honoured else 1)
                pool_arcs[K] = [(c, F.arc(kout, cnode[c], n)) for c in sorted(pool)]
            ginfo.append((members, pos_arcs, pool_arcs))
        flow_value, flow_cost = F.min_cost_max_flow(S, T)
        assign: dict[int, int] = {}
        for members, pos_arcs, pool_arcs in ginfo:
            mult = {pk: F.flow_on(e) for pk, e in pos_arcs.items() if F.flow_on(e) > 0}
            if not mult:
                continue
            colours = _colour(len(members), mult)
            pools = {K: [c for c, e in arcs for _ in range(F.flow_on(e))] for K, arcs in pool_arcs.items()}
            used: dict[int, int] = defaultdict(int)
            for k, edges in enumerate(colours):
                rs = by_cand[members[k]]
                for p, K in sorted(edges):
                    assign[rs[p].id] = pools[K][used[K]]
                    used[K] += 1
        stats = {"clusters": len(clusters), "nodes": len(F.adj), "arcs": len(F.to) // 2, "flow": flow_value,
                 "flow_cost": flow_cost}
        return assign, uniform and all(d is not None for d in cl_date), stats

    def repair(assign: dict[int, int]) -> int:
        """Make every candidate's placements pairwise non-conflicting: keep a maximum non-conflicting subset
        (interval scheduling: earliest end first), drop the rest. Returns the number dropped."""
        mine: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for rid, c in assign.items():
            mine[req_of[rid].candidate].append((c, rid))
        dropped = 0
        for lst in mine.values():
            if len(lst) < 2:
                continue
            kept: list[int] = []
            for c, rid in sorted(lst, key=lambda x: (times[x[0]][1], x[0], x[1])):
                if any(cm[c][k] for k in kept):
                    del assign[rid]
                    dropped += 1
                else:
                    kept.append(c)
        return dropped

    elig_cache: dict[tuple, list[int]] = {}

    def elig(r: Req) -> list[int]:
        k = (r.subject, r.intent, cand_blk[r.candidate])
        if k not in elig_cache:
            # intent date first, then time order: a deterministic preference that helps honour intents
            elig_cache[k] = sorted(eligible(*k), key=lambda c: (cls_date[c] != r.intent, c))
        return elig_cache[k]

    elig_sets: dict[tuple, frozenset[int]] = {}

    def elig_set(r: Req) -> frozenset[int]:
        k = (r.subject, r.intent, cand_blk[r.candidate])
        if k not in elig_sets:
            elig_sets[k] = frozenset(elig(r))
        return elig_sets[k]

    class _State:
        """A mutable assignment with loads, per-candidate classes and per-class members, plus ejection
        chains: to give a registration a seat in full class c0, move some registration of c0 to c1, one of
        c1 to c2 ... ending in a class with a seat (BFS over classes, shortest chain, deterministic)."""

        def __init__(self, assign: dict[int, int], budget: int):
            self.assign, self.budget, self.ops = assign, budget, 0
            self.load = [0] * C
            self.cand: dict[int, dict[int, int]] = defaultdict(dict)           # cand -> {req id: class}
            # class -> subject -> {req id: None} (an insertion-ordered set; entries removed on moves)
            self.members: dict[int, dict[int, dict[int, None]]] = defaultdict(lambda: defaultdict(dict))
            for rid, c in sorted(assign.items()):
                self.load[c] += 1
                self.cand[req_of[rid].candidate][rid] = c
                self.members[c][req_of[rid].subject][rid] = None

        def ok_for(self, cand: int, c: int, skip: int = -1) -> bool:
            return all(not cm[c][c2] for x, c2 in self.cand[cand].items() if x != skip)

        def put(self, r: Req, c: int) -> None:
            old = self.assign.get(r.id)
            if old is not None:
                self.load[old] -= 1
                del self.members[old][r.subject][r.id]
            self.assign[r.id] = c
            self.cand[r.candidate][r.id] = c
            self.load[c] += 1
            self.members[c][r.subject][r.id] = None

        def drop(self, r: Req) -> None:
            c = self.assign.pop(r.id)
            self.load[c] -= 1
            del self.members[c][r.subject][r.id]
            del self.cand[r.candidate][r.id]

        def has_seat(self, c: int) -> bool:
            return self.load[c] < cls_free[c]

        def witness(self, c: int, c2: int, avoid: int, intents: bool) -> Req | None:
            """A registration in c (not of candidate `avoid`) that may move to c2: fits, no conflict for
            its candidate, and with `intents` not losing an honoured intent."""
            for subj, rids in sorted(self.members[c].items()):
                self.ops += 1
                if c2 not in subject_fit(subj):
                    continue
                for rid in itertools.islice(rids, 40):
                    self.ops += 1
                    o = req_of[rid]
                    if o.candidate == avoid or c2 not in elig_set(o):
                        continue
                    if intents and o.intent == cls_date[c] and o.intent != cls_date[c2]:
                        continue
                    if self.ok_for(o.candidate, c2, skip=rid):
                        return o
            return None

        def chain(self, sources: list[int], avoid: int, sink: int = -1, intents: bool = False):
            """Shortest ejection chain from one of `sources` (full classes) to a class with a seat (or
            `sink`, a class about to be vacated). Returns (source, [(req, to_class), ...]) or None."""
            parent: dict[int, tuple[int, Req] | None] = {c: None for c in sources}
            queue = list(sources)
            for c in queue:
                if self.ops > self.budget:
                    return None
                for c2 in range(C):
                    if c2 in parent:
                        continue
                    o = self.witness(c, c2, avoid, intents)
                    if o is None:
                        continue
                    parent[c2] = (c, o)
                    if self.has_seat(c2) or c2 == sink:
                        moves, x = [], c2
                        while parent[x] is not None:
                            prev, w = parent[x]
                            moves.append((w, x))
                            x = prev
                        cands = [w.candidate for w, _ in moves]
                        if len(set(cands)) != len(cands):
                            return None            # one candidate twice: checks would be stale
                        return x, moves
                    queue.append(c2)
            return None

    def improve_pass(assign: dict[int, int], moves: bool, budget: int = 2_000_000) -> int:
        """Insert unplaced registrations into free non-conflicting seats; with `moves`, also through ejection
        chains, or by moving the candidate's own single conflicting registration elsewhere. Deterministic,
        bounded by `budget` elementary checks. Returns the number of registrations added."""
        st = _State(assign, budget)
        start = len(assign)
        pending = sorted(rid for rid in req_of if rid not in assign)
        failed: dict[tuple, int] = {}        # (eligible key, sources) -> version at which a chain failed
        version = 0
        for _round in range(3 if moves else 1):
            progress = False
            for rid in pending:
                if rid in assign:
                    continue
                r = req_of[rid]
                E = elig(r)
                st.ops += len(E)
                no_seat = all(not st.has_seat(c) for c in E)
                if no_seat and (not moves or st.ops > budget or all(not st.has_seat(c) for c in range(C))):
                    continue                   # no free seat it could use: skip the conflict checks
                c_ok = [c for c in E if st.ok_for(r.candidate, c)]
                direct = next((c for c in c_ok if st.has_seat(c)), None)
                if direct is not None:
                    st.put(r, direct)
                    version += 1
                    progress = True
                    continue
                if not moves or st.ops > budget:
                    continue
                key = (r.subject, r.intent, cand_blk[r.candidate], tuple(c_ok))
                if c_ok and failed.get(key) != version:
                    found = st.chain(c_ok, avoid=r.candidate)
                    if found:
                        src, mv = found
                        for w, to in mv:
                            st.put(w, to)
                        st.put(r, src)
                        version += 1
                        progress = True
                        continue
                    failed[key] = version
                # the candidate's own single conflicting registration q moves elsewhere
                done = False
                for c in E:
                    if not st.has_seat(c):
                        continue
                    clash = [x for x, c2 in st.cand[r.candidate].items() if cm[c][c2]]
                    if len(clash) != 1:
                        continue
                    q = req_of[clash[0]]
                    for c2 in elig(q):
                        st.ops += 1
                        if (c2 != assign[q.id] and not cm[c][c2] and st.load[c2] + (c2 == c) < cls_free[c2]
                                and st.ok_for(r.candidate, c2, skip=q.id)):
                            st.put(q, c2)
                            st.put(r, c)
                            version += 1
                            done = progress = True
                            break
                    if done:
                        break
            if not progress:
                break
        return len(assign) - start

    def intent_pass(assign: dict[int, int], budget: int = 2_000_000) -> int:
        """Raise honoured intents without losing placements: move an intent registration placed off its date
        into a class on its date, through an ejection chain that ends in a class with a seat or in the class
        it leaves, never moving a registration off its own intended date. Returns intents gained."""
        st = _State(assign, budget)
        before = sum(1 for rid, c in assign.items() if req_of[rid].intent == cls_date[c])
        failed: dict[tuple, int] = {}        # (eligible key, targets, class) -> version at which it failed
        version = 0
        for _round in range(3):
            progress = False
            for rid in sorted(assign):
                r = req_of[rid]
                c = assign[rid]
                if r.intent is None or cls_date[c] == r.intent or st.ops > budget:
                    continue
                targets = [c2 for c2 in elig(r) if cls_date[c2] == r.intent and st.ok_for(r.candidate, c2, rid)]
                direct = next((c2 for c2 in targets if st.has_seat(c2)), None)
                if direct is not None:
                    st.put(r, direct)
                    version += 1
                    progress = True
                    continue
                key = (r.subject, r.intent, cand_blk[r.candidate], tuple(targets), c)
                if not targets or failed.get(key) == version:
                    continue
                found = st.chain(targets, avoid=r.candidate, sink=c, intents=True)
                if found:
                    src, mv = found
                    st.put(r, src)               # r leaves c first: a chain may end in c
                    for w, to in mv:
                        st.put(w, to)
                    version += 1
                    progress = True
                else:
                    failed[key] = version
            if not progress:
                break
        # an unplaced intent registration takes the seat of a placed one that is not on its intended date
        # there (placed count unchanged, honoured + 1); the displaced one is re-inserted by improve_pass.
        for rid in sorted(req_of):
            r = req_of[rid]
            if rid in assign or r.intent is None or st.ops > budget:
                continue
            for c2 in elig(r):
                if cls_date[c2] != r.intent:
                    break
                st.ops += 1
                if not st.ok_for(r.candidate, c2):
                    continue
                if st.has_seat(c2):
                    st.put(r, c2)
                    break
                victim = next((x for s_, xs in sorted(st.members[c2].items()) for x in xs
                               if req_of[x].intent != cls_date[c2] and req_of[x].candidate != r.candidate), None)
                if victim is not None:
                    st.drop(req_of[victim])
                    st.put(r, c2)
                    break
        return sum(1 for rid, c in assign.items() if req_of[rid].intent == cls_date[c]) - before

    def score(assign: dict[int, int]) -> tuple[int, int]:
        return len(assign), sum(1 for rid, c in assign.items() if req_of[rid].intent == cls_date[c])

    stats: dict = {"classes": C, "components": len(components), "groups": len(gkeys)}
    if cliques_only:
        # components are cliques: the flow model is exact whenever the pools are uniform
        assign, uniform, st = flow_model(components)
        stats.update(st, flow_placed=len(assign))
        exact = uniform
        stats["improved"] = improve_pass(assign, moves=improve and not exact)
        if improve and not exact:
            stats["intent_gained"] = intent_pass(assign)
            stats["improved"] += improve_pass(assign, moves=True)
    else:
        # (A) conservative: at most one placement per candidate per component (valid, may lose seats);
        # (B) relaxed: split each component into consecutive cliques, then repair the conflicts across the
        #     split (keep a maximum non-conflicting subset per candidate). Both are improved; best kept.
        parts: list[list[int]] = []
        for m in components:
            cur: list[int] = []
            for c in sorted(m, key=lambda c: times[c]):
                if cur and not all(cm[c][x] for x in cur):
                    parts.append(cur)
                    cur = []
                cur.append(c)
            parts.append(cur)
        # B's flow with uniform pools is a *relaxation* (a feasible arrangement uses <= 1 class of each
        # clique part per candidate), so (flow, flow - cost) bounds (placed, honoured) from above; reaching
        # the bound certifies the lexicographic optimum. A is tried first (it needs no repair); B's
        # repair + improvement only runs when A misses the bound.
        b_assign, b_uniform, st_b = flow_model(parts)
        stats.update({f"B_{k}": v for k, v in st_b.items()})
        bound = (st_b["flow"], st_b["flow"] - st_b["flow_cost"]) if b_uniform else None
        a_assign, _u, st_a = flow_model(components)
        stats.update({f"A_{k}": v for k, v in st_a.items()}, A_flow_placed=len(a_assign))
        stats["A_improved"] = improve_pass(a_assign, moves=improve)
        if improve:
            stats["A_intent_gained"] = intent_pass(a_assign)
            stats["A_improved"] += improve_pass(a_assign, moves=True)
        pick, assign = "A", a_assign
        if score(a_assign) != bound:
            stats["B_repair_dropped"] = repair(b_assign)
            stats["B_improved"] = improve_pass(b_assign, moves=improve)
            if improve:
                stats["B_intent_gained"] = intent_pass(b_assign)
                stats["B_improved"] += improve_pass(b_assign, moves=True)
            if score(b_assign) > score(a_assign):
                pick, assign = "B", b_assign
        exact = score(assign) == bound
        stats.update(model=pick, bound=bound, placed=len(assign))
    load = [0] * C
    for c in assign.values():
        load[c] += 1
    cand_cls: dict[int, dict[int, int]] = defaultdict(dict)
    for rid, c in assign.items():
        cand_cls[req_of[rid].candidate][rid] = c

    def ok_for(cand: int, c: int) -> bool:
        return all(not cm[c][c2] for c2 in cand_cls[cand].values())

    # final self-check of the hard rules (cheap; a failure here is a solver bug, never bad input)
    for cand, placed_cls in cand_cls.items():
        cs = list(placed_cls.values())
        assert all(not cm[a][b] for i, a in enumerate(cs) for b in cs[i + 1:]), f"conflict for {cand}"
        assert not (set(cs) & cand_blk[cand]), f"busy conflict for {cand}"
    assert all(load[c] <= cls_free[c] for c in range(C)), "class over capacity"
    for rid, c in assign.items():
        assert c in elig_set(req_of[rid]), f"registration {rid} in a class it does not fit"

    # ---- distribute classes over slots
    per_class: dict[int, list[Req]] = defaultdict(list)
    for rid, c in assign.items():
        per_class[c].append(req_of[rid])
    placed: dict[int, int] = {}
    for c, rs in per_class.items():
        rs.sort(key=lambda r: (r.subject, r.id))
        i = 0
        for sl in cls_slots[c]:
            for _ in range(max(0, sl.free)):
                if i == len(rs):
                    break
                placed[rs[i].id] = sl.id
                i += 1
        assert i == len(rs), "class over capacity"
    honoured = sum(1 for rid, c in assign.items() if req_of[rid].intent == cls_date[c])

    # ---- reasons (cached: most unplaced registrations share subject, blocked set and placements)
    reason_cache: dict[tuple, str] = {}
    for rid in sorted(req_of):
        if rid in assign:
            continue
        r = req_of[rid]
        rkey = (r.subject, r.intent if intent_only else None, cand_blk[r.candidate],
                frozenset(cand_cls[r.candidate].values()))
        if rkey in reason_cache:
            unplaced[rid] = reason_cache[rkey]
            continue
        rule = rules[r.subject]
        fitting = subject_fit(r.subject)
        if intent_only:
            fitting = frozenset(c for c in fitting if cls_date[c] == r.intent)
        where = ("考试时间范围不限" if rule.start is None and rule.end is None
                 else f"考试时间范围{_fmt(rule.start)}至{_fmt(rule.end)}")
        if not fitting:
            extra = f"，意向考试日期{r.intent:%Y-%m-%d}" if intent_only else ""
            unplaced[rid] = reason_cache[rkey] = (
                f"没有符合条件的批次：{label(r.subject)}考试时长{rule.duration_min}分钟、"
                f"{where}{extra}，没有时长足够且在此范围内的批次")
            continue
        blk = cand_blk[r.candidate]
        free_cls = [c for c in fitting if load[c] < cls_free[c]]
        ok_cls = [c for c in fitting if c not in blk and ok_for(r.candidate, c)]
        if ok_cls:
            n_conf = len([c for c in free_cls if c not in ok_cls])
            tail = f"（另有{n_conf}个时间段有空位，但与该考生其他科目时间冲突）" if n_conf else ""
            unplaced[rid] = reason_cache[rkey] = (
                f"容量不足：符合{label(r.subject)}时长和考试时间范围、与该考生其他科目不冲突的"
                f"{sum(len(cls_slots[c]) for c in ok_cls)}个批次均已排满{tail}")
        else:
            full = "" if free_cls else "，且这些批次均已排满"
            unplaced[rid] = reason_cache[rkey] = (
                f"时间冲突：符合{label(r.subject)}时长和考试时间范围的批次都与该考生其他科目"
                f"（含已编排科目）时间冲突，报考多科目考生每科间隔须大于{gap_minutes}分钟{full}")
    return Solution(placed=placed, unplaced=unplaced, intent_total=intent_total, intent_honoured=honoured,
                    exact=exact, stats=stats)
