"""Capacitated p-median matheuristic: construction, median moves, exact HiGHS neighbourhoods, two processes.

1. **Assignment to fixed medians**: the transportation problem (a customer's
   demand may split; unit cost d_ij / q_i, so it is the LP relaxation of the
   generalised assignment problem, GAP) by OR-Tools' min-cost flow, each split
   customer then given whole to a median with room, then customer moves and
   swaps (:func:`polish`). Where that repair finds no packing, or finds none
   below a cut-off while the flow bound leaves room, the exact GAP with HiGHS.
2. **Construction**: on instances of ``LAGR_MIN_N`` customers or more with
   few customers per median (:func:`use_lagrangian`), the Lagrangian
   heuristic of :mod:`planner.assign.cpmp_lagr` places the medians (40 % of
   the time); on the others capacitated Lloyd (location-allocation),
   restarted while its budget lasts: medians seeded by demand-weighted
   k-means++ sampling, then assignment (1.) and re-centring of each cluster
   on the member that serves it at the least distance and has the capacity,
   in turn.
3. **Improvement** (:func:`improve`): better assignments region by region
   (:func:`regional_gap`); median moves to a nearby node with the customers of
   the median and its nearest medians re-assigned, pruned by the flow bound
   (:func:`swap_step`); close-one-open-one-far relocations
   (:func:`relocate_step`); then large-neighbourhood search: a median, its
   nearest medians and all their customers re-solved exactly (which customers
   become the medians, who goes where) by the HiGHS MIP from the current
   solution. A median whose neighbourhood cannot improve rests; when all
   rest, the neighbourhood grows (variable neighbourhood). Large instances
   (those of the Lagrangian placement) use :func:`improve_large` instead:
   median moves re-assigning 3, 4, 5, then 6 medians' customers, each median
   remembering the level at which its move failed, then exact
   neighbourhoods of about ``LNS_CUSTOMERS`` customers.
4. **Two processes** when ``workers >= 2``: on instances of up to
   ``MIP_MAX_N`` customers a spawned worker solves the whole MIP (every pair
   when ``k >= n``, so an optimal answer is a proof and ends the run) while
   the main process searches and restarts the construction; the two trade
   their best solutions through files (HiGHS user-solution and
   improving-solution callbacks). On larger instances the medians are split
   into two halves by a line in a random direction and each process improves
   one half (objective and capacities are separable, so both results apply
   together), round after round.
"""

from __future__ import annotations

import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import numpy as np

from planner.assign.cpmp_mip import MipResult, solve_arrays

MIP_MAX_N = 200  # whole-model MIP in the worker up to this many customers
LAGR_MIN_N = 1000  # from this many customers the medians are placed by the Lagrangian heuristic
LAGR_SHARE = 0.4  # of the time limit, for that placement
LAGR_MAX_PER = 12  # ... when the medians serve at most this many customers each on average
LAGR_MAX_BYTES = 400e6  # ... and the knapsacks' decision table (items x medians x capacity) fits in this
SCALE = 10_000  # min-cost flow costs are integers: distance x SCALE


# ----------------------------------------------------------------------------- construction


def seed_medians(d: np.ndarray, demand: np.ndarray, p: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ seeding weighted by demand: spread, but not onto outliers."""
    n = len(d)
    meds = [int(rng.choice(n, p=demand / demand.sum()))]
    near = d[:, meds[0]].copy()
    for _ in range(p - 1):
        w = demand * near ** 2
        w[meds] = 0
        j = int(rng.choice(n, p=w / w.sum())) if w.sum() > 0 else int(rng.choice(np.setdiff1d(np.arange(n), meds)))
        meds.append(j)
        np.minimum(near, d[:, j], out=near)
    return np.array(meds)


def gap_assign(d: np.ndarray, demand: np.ndarray, cap: np.ndarray, meds: np.ndarray, *, time_limit: float,
               k: int = 10, integer: bool = False, seed: int = 0) -> np.ndarray | None:
    """Customers to fixed medians: the GAP over each customer's ``k`` nearest medians (grown if infeasible)."""
    n, m = len(d), len(meds)
    dm = d[:, meds]
    t_end = time.perf_counter() + time_limit
    k = min(k, m)
    while True:
        near = np.argpartition(dm, k - 1, axis=1)[:, :k] if k < m else np.tile(np.arange(m), (n, 1))
        pi = np.repeat(np.arange(n), near.shape[1])
        pj = near.ravel()
        res = solve_arrays(pair_i=pi, pair_j=pj, cost=dm[pi, pj], demand=demand, cap=cap[meds], p=None,
                           time_limit=max(0.2, t_end - time.perf_counter()), open_fixed=True,
                           integer_costs=integer, seed=seed)
        if res.median_of is not None:
            return meds[res.median_of]
        if k >= m or time.perf_counter() > t_end:
            return None
        k = min(m, 2 * k)


def transport_assign(d: np.ndarray, demand: np.ndarray, cap: np.ndarray, meds: np.ndarray, *,
                     k: int = 10, cutoff: float | None = None, bound: list | None = None) -> np.ndarray | None:
    """Customers to fixed medians, fast: the transportation problem (demand may split) by OR-Tools'
    min-cost flow over each customer's ``k`` nearest medians, then each split customer goes whole to
    the median that still has room for it, largest demands first. ``None`` when that repair fails.

    The transportation optimum is a lower bound on any assignment: it is appended to ``bound`` (a
    list) when given, and with ``cutoff`` the repair is skipped (``None``) once the bound reaches it."""
    from ortools.graph.python import min_cost_flow

    n, m = len(d), len(meds)
    dm = d[:, meds]
    k = min(k, m)
    q = np.round(demand).astype(np.int64)
    qcap = np.floor(cap[meds] + 1e-9).astype(np.int64)
    if qcap.sum() < q.sum():
        return None
    f = None
    for kk in dict.fromkeys((k, m)):
        near = np.argpartition(dm, kk - 1, axis=1)[:, :kk] if kk < m else np.tile(np.arange(m), (n, 1))
        f = min_cost_flow.SimpleMinCostFlow()
        tail = np.repeat(np.arange(n), near.shape[1])
        head = n + near.ravel()
        # a customer's whole demand q_i along an arc costs d_ij: the unit cost is d_ij / q_i (scaled to integers)
        f.add_arcs_with_capacity_and_unit_cost(tail, head, q[tail],
                                               np.round(dm[tail, near.ravel()] * SCALE / np.maximum(q[tail], 1)).astype(np.int64))
        f.add_arcs_with_capacity_and_unit_cost(n + np.arange(m), np.full(m, n + m), qcap, np.zeros(m, np.int64))
        f.set_nodes_supplies(np.arange(n + m + 1), np.concatenate([q, np.zeros(m, np.int64), [-q.sum()]]))
        if f.solve() == f.OPTIMAL:
            break
    else:
        return None
    lower = (f.optimal_cost() - 0.5 * q.sum()) / SCALE  # unit costs were rounded by at most 1/2
    if bound is not None:
        bound.append(lower)
    if cutoff is not None and lower >= cutoff:
        return None
    flow = f.flows(np.arange(len(tail))).reshape(n, -1)
    out = np.full(n, -1)
    whole = flow.max(axis=1) == q
    out[whole] = near[whole, flow[whole].argmax(axis=1)]
    out[q == 0] = np.argmin(dm[q == 0], axis=1)  # no demand: the nearest median
    left = qcap - np.bincount(out[whole], weights=q[whole], minlength=m).astype(np.int64)
    for i in sorted(np.flatnonzero(~whole), key=lambda i: -q[i]):
        order = np.argsort(dm[i], kind="stable")
        room = order[left[order] >= q[i]]
        if len(room) == 0:
            return None
        j = int(room[0])
        out[i] = j
        left[j] -= q[i]
    return meds[out]


def polish(d: np.ndarray, demand: np.ndarray, cap: np.ndarray, median_of: np.ndarray, *, k: int = 10,
           max_pass: int = 20) -> np.ndarray:
    """Customer moves and swaps between open medians while they shorten the total distance
    (each customer looks at its ``k`` nearest open medians)."""
    meds = np.unique(median_of)
    dm = d[:, meds]
    order = np.argsort(dm, axis=1, kind="stable")[:, :min(k, len(meds))]
    col = np.searchsorted(meds, median_of)
    return meds[_move_and_swap(dm, demand, cap[meds], col, order, max_pass)]


def _move_and_swap(dm: np.ndarray, demand: np.ndarray, cap: np.ndarray, cur: np.ndarray, order: np.ndarray,
                   max_pass: int) -> np.ndarray:
    """The moves behind :func:`polish` and :func:`polish_local` on a customer x median cost
    matrix ``dm``: each customer tries the medians of its row of ``order`` nearer than its own,
    moving there when the capacity allows, or else swapping with a customer of that median when
    both fit and the total falls. ``cur`` (column per customer) is changed in place and returned."""
    n, m = dm.shape
    load = np.bincount(cur, weights=demand, minlength=m)
    for _ in range(max_pass):
        moved = 0
        for i in range(n):
            a = cur[i]
            for b in order[i]:
                if b == a:
                    break  # the nearer medians come first: nothing closer than the current one
                gain = dm[i, a] - dm[i, b]
                if gain <= 1e-9:
                    continue
                if load[b] + demand[i] <= cap[b] + 1e-9:
                    cur[i] = b
                    load[a] -= demand[i]
                    load[b] += demand[i]
                    moved += 1
                    break
                others = np.flatnonzero(cur == b)
                delta = gain + dm[others, b] - dm[others, a]
                ok = (load[b] + demand[i] - demand[others] <= cap[b] + 1e-9) & \
                     (load[a] - demand[i] + demand[others] <= cap[a] + 1e-9) & (delta > 1e-9)
                if ok.any():
                    o = others[np.flatnonzero(ok)[np.argmax(delta[ok])]]
                    cur[i], cur[o] = b, a
                    load[a] += demand[o] - demand[i]
                    load[b] += demand[i] - demand[o]
                    moved += 1
                    break
        if not moved:
            break
    return cur


def recentre(d: np.ndarray, demand: np.ndarray, cap: np.ndarray, median_of: np.ndarray) -> np.ndarray:
    """Each cluster's best member as its median (least total distance, capacity for the cluster's load)."""
    out = []
    for m in np.unique(median_of):
        members = np.flatnonzero(median_of == m)
        load = demand[members].sum()
        cost = d[np.ix_(members, members)].sum(axis=0)
        cost[cap[members] < load] = np.inf
        best = int(members[np.argmin(cost)])
        out.append(best if np.isfinite(cost.min()) else int(m))
    return np.array(out)


def assign_fixed(d, demand, cap, meds, *, k: int, integer: bool, time_limit: float, seed: int = 0):
    """Customers to the medians ``meds``: transportation + repair + polish; the exact GAP if repair fails."""
    cur = transport_assign(d, demand, cap, meds, k=k)
    if cur is None:
        cur = gap_assign(d, demand, cap, meds, time_limit=time_limit, k=k, integer=integer, seed=seed)
    return None if cur is None else polish(d, demand, cap, cur, k=k)


def lloyd(d, demand, cap, meds, *, k: int, integer: bool, t_end: float, rng) -> tuple[np.ndarray | None, float]:
    """Capacitated Lloyd from ``meds``: assign, re-centre, until the medians stop moving."""
    n = len(d)
    best, best_val = None, np.inf
    for _ in range(50):
        cur = assign_fixed(d, demand, cap, meds, k=k, integer=integer,
                           time_limit=max(0.5, t_end - time.perf_counter()), seed=int(rng.integers(1 << 30)))
        if cur is None:
            break
        val = float(d[np.arange(n), cur].sum())
        if val >= best_val - 1e-9:
            break
        best, best_val = cur, val
        new = recentre(d, demand, cap, cur)
        if set(new.tolist()) == set(meds.tolist()) or time.perf_counter() > t_end:
            break
        meds = new
    return best, best_val


def construct(d, demand, cap, p, *, rng, budget: float, integer: bool) -> np.ndarray | None:
    """The best of capacitated Lloyd runs from k-means++ seeds within ``budget`` seconds (at least one)."""
    t_end = time.perf_counter() + budget
    k = int(min(p, 10))
    best, best_val = None, np.inf
    for attempt in range(1000):
        meds = seed_medians(d, demand, p, rng)
        if cap[meds].sum() < demand.sum():
            meds = np.argsort(-cap, kind="stable")[:p] if attempt > 3 else meds
            if cap[meds].sum() < demand.sum():
                continue
        cur, val = lloyd(d, demand, cap, meds, k=k, integer=integer, t_end=t_end, rng=rng)
        if val < best_val:
            best, best_val = cur, val
        if time.perf_counter() > t_end and best is not None:
            break
    return best


def use_lagrangian(n: int, p: int, cap: np.ndarray) -> bool:
    """Whether :func:`place_medians` places the medians: large instances with few customers per median
    (where capacitated Lloyd places them badly), and only while its knapsack tables stay small."""
    k = max(9, round(3 * n / p))
    return n >= LAGR_MIN_N and n / p <= LAGR_MAX_PER and k * n * (float(np.max(cap)) + 1) <= LAGR_MAX_BYTES


def place_medians(d, demand, cap, p, *, rng, integer: bool, t_end: float, k_per: float = 3.0,
                  log=None) -> np.ndarray | None:
    """Large instances: medians placed by the Lagrangian heuristic (:mod:`planner.assign.cpmp_lagr`),
    each median's knapsack over its ``k_per * n / p`` nearest customers (at least 9), started from one
    k-means++ seeding; at least one assignment is tried."""
    from planner.assign.cpmp_lagr import place

    def assign(meds):
        return assign_fixed(d, demand, cap, meds, k=int(min(len(meds), 10)), integer=integer, time_limit=2.0)

    start = None
    for _ in range(5):
        meds = seed_medians(d, demand, p, rng)
        if cap[meds].sum() >= demand.sum():
            start = assign(meds)
            if start is not None:
                break
    k = int(min(len(d), max(9, round(k_per * len(d) / p))))
    best, _, info = place(d, demand, cap, p, t_end=t_end, assign=assign, start=start, k=k, log=log)
    if log:
        log(f"lagrangian placement: {info}")
    return best


# ----------------------------------------------------------------------------- neighbourhoods


def neighbourhood(d, cur, seed_med: int, h: int, kk: int):
    """Sub-problem around ``seed_med``: its ``h`` nearest medians, their customers, candidate pairs."""
    meds = np.unique(cur)
    group = meds[np.argsort(d[seed_med, meds], kind="stable")[:h]]
    nodes = np.flatnonzero(np.isin(cur, group))
    outside = np.setdiff1d(meds, group)
    cand = np.setdiff1d(np.union1d(nodes, group), outside)
    sub = d[np.ix_(nodes, cand)]
    kk = min(kk, len(cand))
    near = np.argpartition(sub, kk - 1, axis=1)[:, :kk] if kk < len(cand) else np.tile(np.arange(len(cand)), (len(nodes), 1))
    cur_local = np.searchsorted(cand, cur[nodes])
    pairs = np.unique(np.concatenate([np.repeat(np.arange(len(nodes)), near.shape[1]) * len(cand) + near.ravel(),
                                      np.arange(len(nodes)) * len(cand) + cur_local]))
    pi, pj = pairs // len(cand), pairs % len(cand)
    return group, nodes, cand, pi, pj, sub[pi, pj], cur_local


def local_assign(d, demand, cap, nodes: np.ndarray, meds: np.ndarray, *, integer: bool = False,
                 exact_limit: float = 0.3, cutoff: float | None = None) -> tuple[np.ndarray | None, float]:
    """Customers ``nodes`` to medians ``meds`` (transportation + repair + polish), and the cost.

    When the repair finds no packing (large demands against the capacities), the exact GAP with
    HiGHS decides, within ``exact_limit`` seconds. With ``cutoff``, gives up (``None``) as soon as
    the transportation bound shows the cost cannot come below it."""
    sub_d = d[np.ix_(nodes, meds)]
    local_cap = cap[meds]
    bound: list = []
    q = demand[nodes]
    sub = transport_assign(sub_d, q, local_cap, np.arange(len(meds)), k=len(meds), cutoff=cutoff, bound=bound)
    if sub is not None:
        sub = polish_local(sub_d, q, local_cap, sub)
        cost = float(sub_d[np.arange(len(nodes)), sub].sum())
        if cutoff is None or cost < cutoff or exact_limit <= 0 or bound[0] >= cutoff - 1e-7:
            return meds[sub], cost
    # the repair found no packing, or none below the cutoff while the bound leaves room: the exact GAP
    if exact_limit <= 0 or local_cap.sum() < q.sum() or not bound or (cutoff is not None and bound[0] >= cutoff):
        return None, np.inf
    m = len(meds)
    pi, pj = np.repeat(np.arange(len(nodes)), m), np.tile(np.arange(m), len(nodes))
    res = solve_arrays(pair_i=pi, pair_j=pj, cost=sub_d.ravel(), demand=q, cap=local_cap, p=None,
                       time_limit=exact_limit, open_fixed=True, integer_costs=integer, cutoff=cutoff)
    if res.median_of is None:
        return None, np.inf
    sub = res.median_of
    return meds[sub], float(sub_d[np.arange(len(nodes)), sub].sum())


def polish_local(dm: np.ndarray, demand: np.ndarray, cap: np.ndarray, assign: np.ndarray) -> np.ndarray:
    """:func:`polish` for a customer x median cost matrix (medians are columns)."""
    return _move_and_swap(dm, demand, cap, assign.copy(), np.argsort(dm, axis=1, kind="stable"), 10)


def swap_step(d, demand, cap, cur: np.ndarray, a: int, *, h: int = 3, tries: int = 8,
              busy: np.ndarray | None = None, exact: float = 0.0, integer: bool = False) -> np.ndarray | None:
    """Move median ``a`` to one of the ``tries`` non-median nodes nearest to it, re-assigning the
    customers of ``a`` and of its ``h - 1`` nearest medians; the first improving move, or ``None``.

    A move whose fast assignment comes within ``exact`` (relative) of the current cost is
    assigned again exactly (the GAP with HiGHS): the fast repair can miss the best packing."""
    meds = np.unique(cur)
    group = meds[np.argsort(d[a, meds], kind="stable")[:h]]
    nodes = np.flatnonzero(np.isin(cur, group))
    if busy is not None and (np.isin(nodes, busy).any() or np.isin(group, busy).any()):
        return None
    base = float(d[nodes, cur[nodes]].sum())
    others = np.setdiff1d(nodes, meds)
    cands = others[np.argsort(d[a, others], kind="stable")[:tries]]
    pos = int(np.flatnonzero(group == a)[0])
    for b in cands:
        trial = group.copy()
        trial[pos] = b
        new, cost = local_assign(d, demand, cap, nodes, trial, integer=integer, cutoff=base - 1e-7)
        if exact > 0 and cost >= base - 1e-7 and cost < base * (1 + exact):
            sub = d[np.ix_(nodes, trial)]
            pi, pj = np.repeat(np.arange(len(nodes)), h), np.tile(np.arange(h), len(nodes))
            res = solve_arrays(pair_i=pi, pair_j=pj, cost=sub.ravel(), demand=demand[nodes], cap=cap[trial], p=None,
                               time_limit=0.5, open_fixed=True, integer_costs=integer)
            if res.median_of is not None:
                new, cost = trial[res.median_of], float(sub[np.arange(len(nodes)), res.median_of].sum())
        if new is not None and cost < base - 1e-7:
            out = cur.copy()
            out[nodes] = new
            return out
    return None


def regional_gap(d, demand, cap, cur, *, rng, t_end: float, h: int = 4, integer: bool = False) -> np.ndarray:
    """Better assignments to the same medians, region by region (a median and its ``h - 1`` nearest):
    the flow bound says where there is room, the repair or the exact GAP takes it."""
    meds = np.unique(cur)
    for a in rng.permutation(meds):
        if time.perf_counter() > t_end:
            break
        group = meds[np.argsort(d[a, meds], kind="stable")[:h]]
        nodes = np.flatnonzero(np.isin(cur, group))
        base = float(d[nodes, cur[nodes]].sum())
        new, cost = local_assign(d, demand, cap, nodes, group, integer=integer, cutoff=base - 1e-7)
        if new is not None and cost < base - 1e-7:
            cur = cur.copy()
            cur[nodes] = new
    return cur


def relocate_step(d, demand, cap, cur, *, rng, h: int = 4, integer: bool = False) -> np.ndarray | None:
    """Close a median and open one far away: drop a random median (its region's customers go to the
    region's other medians), open at a customer drawn by its distance to its median, in a disjoint
    region, and keep the pair of changes when together they shorten the total."""
    meds = np.unique(cur)
    if len(meds) < 2 * h + 1:
        return None
    a = int(meds[rng.integers(len(meds))])
    group_a = meds[np.argsort(d[a, meds], kind="stable")[:h]]
    nodes_a = np.flatnonzero(np.isin(cur, group_a))
    base_a = float(d[nodes_a, cur[nodes_a]].sum())
    keep_a = group_a[group_a != a]
    if cap[keep_a].sum() < demand[nodes_a].sum():
        return None
    far = d[np.arange(len(cur)), cur].copy()
    far[np.isin(cur, group_a)] = 0
    far[meds] = 0
    if far.sum() <= 0:
        return None
    b = int(rng.choice(len(cur), p=far / far.sum()))
    group_b = meds[np.argsort(d[b, meds], kind="stable")[:h - 1]]
    if np.isin(group_b, group_a).any():
        return None
    nodes_b = np.flatnonzero(np.isin(cur, group_b))
    base_b = float(d[nodes_b, cur[nodes_b]].sum())
    # the cheaper side first: what the open median can save bounds what the drop may cost
    new_b, cost_b = local_assign(d, demand, cap, nodes_b, np.append(group_b, b), integer=integer, cutoff=base_b - 1e-7)
    if new_b is None:
        return None
    new_a, cost_a = local_assign(d, demand, cap, nodes_a, keep_a, integer=integer,
                                 cutoff=base_a + (base_b - cost_b) - 1e-7)
    if new_a is None or cost_a + cost_b >= base_a + base_b - 1e-7:
        return None
    out = cur.copy()
    out[nodes_a] = new_a
    out[nodes_b] = new_b
    return out


def swap_search(d, demand, cap, cur, *, rng, t_end: float, h: int = 3, tries: int = 8, exact: float = 0.0,
                integer: bool = False) -> np.ndarray:
    """Median moves (:func:`swap_step`) in random order until a whole pass finds none, or time is up."""
    while time.perf_counter() < t_end:
        moved = 0
        for a in rng.permutation(np.unique(cur)):
            if time.perf_counter() > t_end:
                break
            if not (cur == a).any():
                continue
            new = swap_step(d, demand, cap, cur, int(a), h=h, tries=tries, exact=exact, integer=integer)
            if new is not None:
                cur, moved = new, moved + 1
        if not moved:
            break
    return cur


class _Search:
    """State of one run: the current solution and the rules for choosing neighbourhoods."""

    def __init__(self, d, demand, cap, p, cur, *, rng, integer, step, log):
        self.d, self.demand, self.cap, self.p = d, demand, cap, p
        self.cur, self.rng, self.integer, self.step, self.log = cur, rng, integer, step, log
        n = len(d)
        self.per = n / p
        self.h = 2  # medians per neighbourhood, grows when every median rests
        self.kk = int(max(12, 1.5 * self.per))  # candidate medians per customer (more: slower, not better)
        self.max_h = max(2, int(150 // self.per))  # at most ~150 customers in one sub-problem
        self.rested: set[int] = set()
        self.steps = self.improved = 0

    def value(self, median_of=None) -> float:
        m = self.cur if median_of is None else median_of
        return float(self.d[np.arange(len(m)), m].sum())

    def pick(self, busy: np.ndarray | None):
        """A neighbourhood disjoint from ``busy`` (customers and medians of a sub-problem in flight)."""
        meds = np.unique(self.cur)
        free = [m for m in meds.tolist() if m not in self.rested]
        if not free:
            self.rested.clear()
            self.h = self.h + 1 if self.h < min(self.max_h, len(meds) - 1) else 2
            if self.log:
                self.log(f"every median rests: neighbourhoods of {self.h} medians now, value {self.value():.2f}")
            free = meds.tolist()
        h = min(self.h, len(meds))
        for _ in range(20):
            s = int(free[self.rng.integers(len(free))])
            nb = neighbourhood(self.d, self.cur, s, h, self.kk)
            if busy is None or not (np.isin(nb[1], busy).any() or np.isin(nb[0], busy).any()):
                return s, nb
        return None

    def limit(self) -> float:
        """Seconds for one neighbourhood: ``step`` per 20 customers, at most 3 s."""
        return min(3.0, self.step * self.h * self.per / 20)

    def task(self, nb, time_limit):
        group, nodes, cand, pi, pj, cost, cur_local = nb
        return dict(pair_i=pi, pair_j=pj, cost=cost, demand=self.demand[nodes], cap=self.cap[cand], p=len(group),
                    time_limit=time_limit, hint=cur_local, integer_costs=self.integer,
                    seed=int(self.rng.integers(1 << 30)))

    def apply(self, s, nb, res: MipResult) -> bool:
        group, nodes, cand = nb[0], nb[1], nb[2]
        self.steps += 1
        if res.median_of is None:
            return False
        old = float(self.d[nodes, self.cur[nodes]].sum())
        new_meds = cand[res.median_of]
        new = float(self.d[nodes, new_meds].sum())
        if new < old - 1e-7:
            self.cur = self.cur.copy()
            self.cur[nodes] = new_meds
            self.rested.difference_update(group.tolist())
            self.improved += 1
            return True
        self.rested.add(s)
        return False


# ----------------------------------------------------------------------------- the run


def distance_matrix(xy: np.ndarray, truncate: bool) -> np.ndarray:
    """Euclidean distances, truncated to integers when ``truncate`` (the Osman-Christofides convention)."""
    d = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    return np.floor(d) if truncate else d


def improve(d, demand, cap, cur, *, t_end: float, seed: int, integer: bool, h0: int | None = None,
            log=None) -> tuple[np.ndarray, int, int, int]:
    """Median moves to a local optimum, then exact HiGHS neighbourhoods until ``t_end``.

    Neighbourhoods start at ``h0`` medians (default: about 50 customers); returns the solution, the
    steps, the improving steps and the neighbourhood size reached, for the next call to go on from."""
    rng = np.random.default_rng(seed)
    cur = regional_gap(d, demand, cap, cur, rng=rng, integer=integer,
                       t_end=time.perf_counter() + 0.3 * (t_end - time.perf_counter()))
    for h in (3, 4, 5):
        cur = swap_search(d, demand, cap, cur, rng=rng, h=h, tries=4 * h, t_end=t_end)
    reloc_end = time.perf_counter() + 0.3 * (t_end - time.perf_counter())
    tried = 0
    while time.perf_counter() < reloc_end:
        new = relocate_step(d, demand, cap, cur, rng=rng, integer=integer)
        tried += 1
        if new is not None:
            cur = new
            for h in (3, 4):  # settle the two regions that changed (and the rest, cheaply)
                cur = swap_search(d, demand, cap, cur, rng=rng, h=h, tries=4 * h, t_end=reloc_end)
    return _exact_neighbourhoods(d, demand, cap, cur, rng=rng, integer=integer, log=log, t_end=t_end,
                                 customers=50, h0=h0)


def _exact_neighbourhoods(d, demand, cap, cur, *, rng, integer, log, t_end, customers, h0):
    """Exact HiGHS neighbourhoods (:class:`_Search`) of about ``customers`` customers (or ``h0``
    medians, carried from an earlier round) until ``t_end``; returns the plan, the steps, the
    improving steps and the neighbourhood size reached."""
    search = _Search(d, demand, cap, len(np.unique(cur)), cur, rng=rng, integer=integer, step=1.0, log=log)
    search.h = int(np.clip(round(customers / search.per) if h0 is None else h0, 2,
                           max(2, min(search.max_h, search.p - 1))))
    while time.perf_counter() < t_end - 0.05:
        got = search.pick(None)
        limit = min(search.limit(), t_end - time.perf_counter())
        if got is None or limit < 0.05:
            break
        search.apply(got[0], got[1], solve_arrays(**search.task(got[1], limit)))
    return search.cur, search.steps, search.improved, search.h


SWAP_LEVELS = (3, 4, 5, 6)  # large instances: median moves re-assigning this many medians' customers, in turn
LNS_CUSTOMERS = 25  # large instances: customers in one exact neighbourhood after the median moves


def swap_rest(d, demand, cap, cur, *, rng, t_end: float, h: int, rest: dict, integer: bool = False) -> np.ndarray:
    """Median moves (:func:`swap_step`, re-assigning ``h`` medians' customers) that remember where they
    failed: ``rest`` maps a median to the largest ``h`` at which its move failed; medians resting at ``h``
    or more are skipped, and a move wakes the medians near the ones it changed. Runs until every median
    rests at ``h`` or time is up; ``rest`` is updated in place."""
    while time.perf_counter() < t_end:
        todo = [m for m in rng.permutation(np.unique(cur)).tolist() if rest.get(m, 0) < h]
        if not todo:
            break
        for a in todo:
            if time.perf_counter() > t_end:
                break
            if rest.get(a, 0) >= h or not (cur == a).any():
                continue
            new = swap_step(d, demand, cap, cur, int(a), h=h, tries=4 * h, integer=integer)
            if new is None:
                rest[a] = h
                continue
            changed = np.flatnonzero(new != cur)
            touched = np.union1d(cur[changed], new[changed])
            cur = new
            meds = np.unique(cur)
            for t in touched.tolist():
                for m in meds[np.argsort(d[t, meds], kind="stable")[:2 * h]].tolist():
                    rest.pop(m, None)
            rest.pop(a, None)
    return cur


def improve_large(d, demand, cap, cur, *, t_end: float, seed: int, integer: bool, rest: dict,
                  lns_h: int | None = None, log=None) -> tuple[np.ndarray, int, int, int | None]:
    """Large instances: median moves at each level of ``SWAP_LEVELS`` (remembering in ``rest`` which
    medians already failed, across calls), then exact HiGHS neighbourhoods of about ``LNS_CUSTOMERS``
    customers (or ``lns_h`` medians, where the last call got to) until ``t_end``. Returns the solution,
    the exact steps, the improving ones and the neighbourhood size reached (``None``: no exact step)."""
    rng = np.random.default_rng(seed)
    for h in SWAP_LEVELS:
        if time.perf_counter() >= t_end:
            break
        cur = swap_rest(d, demand, cap, cur, rng=rng, t_end=t_end, h=h, rest=rest, integer=integer)
    if time.perf_counter() >= t_end - 0.05:
        return cur, 0, 0, lns_h
    return _exact_neighbourhoods(d, demand, cap, cur, rng=rng, integer=integer, log=log, t_end=t_end,
                                 customers=LNS_CUSTOMERS, h0=lns_h)


def improve_large_part(xy, truncate, demand, cap, cur, budget, seed, rest, lns_h) -> tuple:
    """:func:`improve_large` on a part of an instance, in a worker process; returns ``rest`` too."""
    t_end = time.perf_counter() + budget
    out = improve_large(distance_matrix(xy, truncate), demand, cap, cur, t_end=t_end, seed=seed, integer=truncate,
                        rest=rest, lns_h=lns_h)
    return (*out, rest)


def improve_part(xy, truncate, demand, cap, cur, budget, seed, h0=None) -> tuple[np.ndarray, int, int, int]:
    """:func:`improve` on a part of an instance, in a worker process (it computes its own distances)."""
    t_end = time.perf_counter() + budget
    return improve(distance_matrix(xy, truncate), demand, cap, cur, t_end=t_end, seed=seed, integer=truncate, h0=h0)


def halves(xy: np.ndarray, cur: np.ndarray, rng) -> tuple[np.ndarray, np.ndarray]:
    """Split the medians by a line through their centre, in a random direction, into two halves whose
    customers (medians included) do not mix: the customer sets of the two halves."""
    meds = np.unique(cur)
    u = rng.normal(size=2)
    proj = xy[meds] @ u
    side = dict(zip(meds.tolist(), (proj <= np.median(proj)).tolist()))
    for _ in range(10):  # a median served by a median of the other half goes with it
        moved = False
        for m in meds.tolist():
            if side[int(cur[m])] != side[m]:
                side[m] = side[int(cur[m])]
                moved = True
        if not moved:
            break
    else:
        for m in meds.tolist():
            if side[int(cur[m])] != side[m]:
                side[m] = side[int(cur[m])] = True
    in_a = np.array([side[int(m)] for m in cur])
    return np.flatnonzero(in_a), np.flatnonzero(~in_a)


def _pool():
    return ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn"))


def _warm_up() -> int:
    import highspy  # noqa: F401  (the worker imports HiGHS while the main process constructs)

    return 0


def run(d, demand, cap, p, *, time_limit: float, workers: int = 2, seed: int = 0, k: int = 30,
        integer: bool = False, xy: np.ndarray | None = None, log=None) -> dict:
    """The whole matheuristic; returns the best ``median_of`` and what the run did.

    ``xy`` (coordinates) lets a worker process rebuild distances for its half; without it, one process.
    """
    t0 = time.perf_counter()
    n = len(d)
    final_gap = n <= 2 * MIP_MAX_N
    deadline = t0 + time_limit - (min(1.0, 0.03 * time_limit) if final_gap else 0.1)  # the rest: the final GAP
    rng = np.random.default_rng(seed)
    pool = _pool() if workers >= 2 and xy is not None else None
    if pool is not None:
        pool.submit(_warm_up)
    steps = improved = 0
    h_at = None  # neighbourhood size reached, carried from one round to the next
    mip_info = None
    value = lambda m: float(d[np.arange(n), m].sum())  # noqa: E731
    try:
        if use_lagrangian(n, p, cap):
            # one process: a second heuristic in the worker (wider knapsacks) halved both runs' steps on
            # the shared 2-core machine and ended no better
            cur = place_medians(d, demand, cap, p, rng=rng, integer=integer, t_end=t0 + LAGR_SHARE * time_limit,
                                log=log)
        else:
            cur = construct(d, demand, cap, p, rng=rng, integer=integer,
                            budget=max(0.5, (0.03 if n <= MIP_MAX_N else 0.1) * time_limit))
        if cur is None:
            return dict(median_of=None, status="UNKNOWN", bound=None, first=None, steps=0, improved=0, mip=None)
        first = time.perf_counter() - t0
        if log:
            log(f"construction {value(cur):.2f}")
        whole_model = None
        if n <= MIP_MAX_N:
            kfull = min(n, k)
            near = np.argsort(d, axis=1, kind="stable")[:, :kfull]
            full_pairs = kfull >= n
            whole_model = dict(near=near, full=full_pairs)

        def whole_task(sol, limit):
            pairs = np.unique(np.concatenate([np.arange(n).repeat(whole_model["near"].shape[1]) * n
                                              + whole_model["near"].ravel(), np.arange(n) * n + sol]))
            return dict(pair_i=pairs // n, pair_j=pairs % n, cost=d.ravel()[pairs], demand=demand, cap=cap, p=p,
                        hint=sol, integer_costs=integer, seed=seed, threads=1, time_limit=limit)

        if pool is not None and whole_model is not None:
            # the worker solves the whole model; the main process searches meanwhile, and the two trade
            # their best solutions through files (HiGHS takes the search's as user solutions)
            import os
            import tempfile
            from pathlib import Path

            with tempfile.TemporaryDirectory(prefix="cpmp_") as tmp:
                folder = Path(tmp)

                def share(sol):
                    np.save(folder / "best.tmp.npy", sol)
                    os.replace(folder / "best.tmp.npy", folder / "best.npy")

                share(cur)
                rounds = 0
                # HiGHS overruns its limit by a second or two on a loaded machine: it gets a little less
                fut = pool.submit(solve_arrays, **whole_task(cur, max(0.5, 0.97 * (deadline - time.perf_counter()) - 1.0)),
                                  exchange=tmp)
                while time.perf_counter() < deadline - 0.05 and not fut.done():
                    slot = min(deadline, time.perf_counter() + max(1.0, 0.05 * time_limit))
                    try:
                        theirs = np.load(folder / "mip.npy")
                        if value(theirs) < value(cur) - 1e-7:
                            cur = theirs
                    except (OSError, ValueError):
                        pass
                    before = value(cur)
                    if rounds % 2:  # more capacitated Lloyd restarts: cheap and strong at this size
                        other = construct(d, demand, cap, p, rng=rng, integer=integer,
                                          budget=max(0.2, slot - time.perf_counter()))
                        if other is not None and value(other) < value(cur) - 1e-7:
                            cur = other
                    else:
                        cur, st, im, h_at = improve(d, demand, cap, cur, t_end=slot, seed=int(rng.integers(1 << 30)),
                                                    integer=integer, h0=h_at, log=log)
                        steps, improved = steps + st, improved + im
                    rounds += 1
                    if value(cur) < before - 1e-7:
                        share(cur)
                mip_info = _take_whole(fut.result(), whole_model["full"])
            if mip_info["median_of"] is not None and value(mip_info["median_of"]) < value(cur) - 1e-7:
                cur = mip_info["median_of"]
            if not mip_info["proved"] and time.perf_counter() < deadline - 0.1:
                cur, st, im, _ = improve(d, demand, cap, cur, t_end=deadline, seed=seed + 1, integer=integer,
                                         h0=h_at, log=log)
                steps, improved = steps + st, improved + im
        elif pool is not None:
            rounds = 0
            large = use_lagrangian(n, p, cap)
            rest: dict = {}  # median -> the largest move level at which it found nothing (large instances)
            while deadline - time.perf_counter() > 0.5:
                slot = min(deadline - time.perf_counter(), max(3.0, (0.2 if n <= 2 * MIP_MAX_N else 0.12) * time_limit))
                a, b = halves(xy, cur, rng)
                loc_a = np.searchsorted(a, cur[a])
                loc_b = np.searchsorted(b, cur[b])
                if large:  # the medians' rest levels travel in local ids
                    rest_a = {int(i): v for i, v in zip(np.searchsorted(a, list(rest)), rest.values())
                              if i < len(a) and a[i] in rest}
                    rest_b = {int(i): v for i, v in zip(np.searchsorted(b, list(rest)), rest.values())
                              if i < len(b) and b[i] in rest}
                    fut = pool.submit(improve_large_part, xy[a], integer, demand[a], cap[a], loc_a, slot,
                                      int(rng.integers(1 << 30)), rest_a, h_at)
                    res_b, st, im, h_b = improve_large(d[np.ix_(b, b)], demand[b], cap[b], loc_b, integer=integer,
                                                       t_end=time.perf_counter() + slot,
                                                       seed=int(rng.integers(1 << 30)), rest=rest_b, lns_h=h_at)
                    res_a, st2, im2, h_a, rest_a = fut.result()
                    h_at = max((h for h in (h_a, h_b) if h is not None), default=None)
                    rest = {int(a[i]): v for i, v in rest_a.items()} | {int(b[i]): v for i, v in rest_b.items()}
                else:
                    fut = pool.submit(improve_part, xy[a], integer, demand[a], cap[a], loc_a, slot,
                                      int(rng.integers(1 << 30)), h_at)
                    res_b, st, im, h_b = improve(d[np.ix_(b, b)], demand[b], cap[b], loc_b, integer=integer, h0=h_at,
                                                 t_end=time.perf_counter() + slot, seed=int(rng.integers(1 << 30)))
                    res_a, st2, im2, h_a = fut.result()
                    h_at = max(h_a, h_b)
                new = cur.copy()
                new[a], new[b] = a[res_a], b[res_b]
                if value(new) <= value(cur) + 1e-7:
                    cur = new
                steps, improved, rounds = steps + st + st2, improved + im + im2, rounds + 1
                if log:
                    log(f"round {rounds}: {value(cur):.2f}")
        else:
            split = t0 + 0.5 * time_limit if whole_model is not None else deadline
            cur, steps, improved, _ = improve(d, demand, cap, cur, t_end=split, seed=seed, integer=integer, log=log)
            if whole_model is not None and deadline - time.perf_counter() > 0.1:
                mip_info = _take_whole(solve_arrays(**whole_task(cur, deadline - time.perf_counter())),
                                       whole_model["full"])
                if mip_info["median_of"] is not None and value(mip_info["median_of"]) < value(cur) - 1e-7:
                    cur = mip_info["median_of"]
    finally:
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
    proved = bool(mip_info and mip_info["proved"])
    if final_gap and not proved and t0 + time_limit - time.perf_counter() > 0.2:  # best assignment to the final medians
        meds = np.unique(cur)
        again = gap_assign(d, demand, cap, meds, time_limit=max(0.1, t0 + time_limit - time.perf_counter()),
                           k=min(len(meds), 10),
                           integer=integer, seed=seed)
        if again is not None and value(again) < value(cur) - 1e-7:
            cur = again
    return dict(median_of=cur, status="OPTIMAL" if proved else "FEASIBLE",
                bound=mip_info["bound"] if mip_info and mip_info["full"] else None, first=first,
                steps=steps, improved=improved, mip={k_: v for k_, v in (mip_info or {}).items() if k_ != "median_of"})


def _take_whole(res: MipResult, full_pairs: bool) -> dict:
    proved = res.status == "Optimal" and full_pairs
    return dict(status=res.status, bound=res.bound, wall=res.wall, full=full_pairs, proved=proved,
                median_of=res.median_of)
