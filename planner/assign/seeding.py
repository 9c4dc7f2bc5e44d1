"""Seed points for teams without a base, spread so that territories can be contiguous.

The unit adjacency graph may fall into several parts that touch nowhere
(islands, separate valleys, a county made of detached pieces). A territory
can only be contiguous inside one part, so each team is first allocated to a
part such that every part's workload matches the workload shares of the teams
allocated to it, with as few teams as possible lent to a near part (an
extra piece each: a CP-SAT model on counts of teams per part, on the
deterministic clock so the same data give the same seeds, polished by a local
search on the counts); then a
workload-weighted k-means spreads each part's teams over it, and a
capacitated location-allocation (Cooper's alternating method, as in Hess et
al.'s districting model) moves each seed to where its *share* of the workload
lies: the units are split among the seeds by a transportation LP (each team
its workload share, each unit to nearby seeds, least total distance; HiGHS),
and each seed moves to the geometric median of its units (Weiszfeld), which
minimises the planner's compactness term (distance of each unit to its
team's base) for that split. k-means alone gives every seed about the same
area whatever its team's share, so the balanced plan must reach far for a
large team's share. Teams that take whole villages keep their k-means seeds.
Measured on the county benchmark (seed 0, 120 s): the plan's objective fell
from 973k to 855k, the mean distance of a grid to its team's base from 3.8 to
3.3 km and the furthest from 50 to 29 km.
"""

from __future__ import annotations

import numpy as np


def distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) straight-line distances between two sets of points (metres)."""
    return np.hypot(a[:, None, 0] - b[None, :, 0], a[:, None, 1] - b[None, :, 1])


def components(edges: np.ndarray, n: int) -> np.ndarray:
    """Connected-component label per unit of the adjacency graph."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    e = edges if len(edges) else np.zeros((0, 2), int)
    g = coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(n, n))
    return connected_components(g, directed=False)[1]


def allocate_parts(part: np.ndarray, work: np.ndarray, eligible: np.ndarray, share: np.ndarray,
                   fixed: np.ndarray | None = None, xy: np.ndarray | None = None,
                   kind: np.ndarray | None = None, slack: float = 0.01, rules=None) -> np.ndarray:
    """Part index per team (-1 for a team with no eligible unit) so that the parts' workloads
    match the shares of their teams with as few teams lent to a nearby part as possible (each an
    extra piece; a part may be ``slack`` off its teams' shares, beyond that each minute costs the
    rules' balance weight), then the least total deviation: CP-SAT on counts of interchangeable
    teams per part with flows between near parts, in one deterministic second, then a local
    search on the counts (:func:`_polish_counts`), which on the county benchmark halves the
    lenders CP-SAT leaves (29 → 11-15 lent teams over 34 parts).

    Parts too small to carry a team (workload below half the smallest share) are left out:
    they are taken by a team of a nearby part. ``fixed``: part per team already decided (-1 = free).
    Teams of equal share allowed in the same parts are counted per part (CP-SAT on counts, not on
    interchangeable teams); ``kind`` (e.g. the teams' granularity): each kind is then dealt
    round the parts, so a part does not get only teams that take whole villages.
    """
    from ortools.sat.python import cp_model

    T = eligible.shape[1]
    P = int(part.max()) + 1 if len(part) else 0
    load = np.bincount(part, weights=work, minlength=P).astype(float)
    small = load < 0.5 * max(float(share[share > 0].min()) if (share > 0).any() else 0.0, 1.0)
    big = np.flatnonzero(~small)
    if len(big) == 0:
        big = np.array([int(np.argmax(load))])
    near = None  # (P, 3): the three big parts nearest each part (centre to centre)
    if xy is not None:
        cen = np.array([np.average(xy[part == p], axis=0, weights=np.maximum(work[part == p], 1))
                        if (part == p).any() else (np.inf, np.inf) for p in range(P)])
        dd = distances(cen, cen)
        dd[:, small] = np.inf
        np.fill_diagonal(dd, np.inf)
        near = np.argsort(dd, axis=1, kind="stable")[:, :3]
    if xy is not None and small.any():  # small parts' workload counts towards the nearest big part
        for p in np.flatnonzero(small):
            if p in big:
                continue
            q = big[np.argmin(np.hypot(*(cen[big] - cen[p]).T))]
            load[q] += load[p]
    ok = np.zeros((T, P), bool)
    for p in big:
        ok[:, p] = eligible[part == p].any(axis=0)
    out = np.full(T, -1)
    if fixed is not None:
        out[fixed >= 0] = fixed[fixed >= 0]
    free = [t for t in range(T) if out[t] < 0 and ok[t].any()]
    if len(big) == 1:
        for t in free:
            out[t] = int(big[0])
        return out
    # greedy start: largest share first, to the part with the largest remaining load per share
    rest = load.copy()
    for t in np.flatnonzero(out >= 0):
        rest[out[t]] -= share[t]
    for t in sorted(free, key=lambda t: -share[t]):
        ps = np.flatnonzero(ok[t])
        p = int(ps[np.argmax(rest[ps])])
        out[t] = p
        rest[p] -= share[t]
    # teams of equal share that may work in the same parts are interchangeable here (their bases
    # are seeded afterwards): the model counts teams per class and part
    sh = np.round(share).astype(int)
    classes: dict[tuple, list[int]] = {}
    for t in free:
        classes.setdefault((int(sh[t]), tuple(ok[t, big].tolist())), []).append(t)
    m = cp_model.CpModel()
    n = {}
    for c, (key, ts) in enumerate(classes.items()):
        ps = [int(p) for p in big if ok[ts[0], p]]
        for p in ps:
            n[c, p] = m.new_int_var(0, len(ts), f"n{c},{p}")
            m.add_hint(n[c, p], sum(1 for t in ts if out[t] == p))
        m.add(sum(n[c, p] for p in ps) == len(ts))
    keys = list(classes)
    # a team of one part may be lent to one of the nearest parts (an extra piece): f[p, q] minutes
    # that teams of part p work in part q, each pair at most one lender; as few lenders as
    # possible (nearest first), then as little workload as possible more than ``slack`` off the
    # shares of a part's teams, then the least deviation
    from planner.assign.rules import default_rules
    from planner.assign.units import OBJ_SCALE

    rules = rules if rules is not None else default_rules()
    w_piece = int(round(rules.contiguity.detached_weight * OBJ_SCALE))
    w_b = max(2, int(round(rules.balance.weight * OBJ_SCALE / 60.0)))
    pairs: dict[tuple[int, int], float] = {}
    if near is not None:
        for p in big:
            for q in near[p]:
                if np.isfinite(dd[p, q]):
                    pairs[int(p), int(q)] = pairs[int(q), int(p)] = float(dd[p, q])
    fmax = int(np.ceil(float(share.max()) * 1.05))
    f, k = {}, {}
    for (a, b), dist in pairs.items():
        f[a, b] = m.new_int_var(0, fmax, f"f{a},{b}")
        k[a, b] = m.new_bool_var(f"k{a},{b}")
        m.add(f[a, b] <= fmax * k[a, b])
    devs, over = [], []
    fixed_set = set(range(T)) - set(free)
    for p in big:
        p = int(p)
        got = sum(int(sh[t]) for t in fixed_set if out[t] == p) + sum(
            keys[c][0] * v for (c, q), v in n.items() if q == p)
        work_p = int(load[p]) + sum(v for (a, b), v in f.items() if a == p) - sum(
            v for (a, b), v in f.items() if b == p)
        dev = m.new_int_var(0, int(sh.sum() + load.sum()) + 1, f"dev{p}")
        m.add(dev >= got - work_p)
        m.add(dev >= work_p - got)
        ex = m.new_int_var(0, int(sh.sum() + load.sum()) + 1, f"ex{p}")
        m.add(ex >= dev - int(slack * load[p]))
        devs.append(dev)
        over.append(ex)
    m.minimize(sum((w_piece * 100 + int(dist / 100)) * k[pq] for pq, dist in pairs.items())
               + 100 * w_b * sum(over) + sum(devs))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = 0
    solver.parameters.max_deterministic_time = 1.0
    solver.parameters.max_time_in_seconds = 30.0
    if solver.solve(m) in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        counts = {key: int(solver.value(v)) for key, v in n.items()}
    else:  # the greedy start's counts
        counts = {(c, p): sum(1 for t in classes[keys[c]] if out[t] == p) for (c, p) in n}
    # then polished by local search (CP-SAT's relaxation barely sees the lenders, and in its
    # deterministic second it leaves about twice as many as this finds)
    fx = [t for t in fixed_set if out[t] >= 0]  # teams whose part was given
    base_got = np.bincount(out[fx], weights=sh[fx], minlength=P).astype(float)
    counts = _polish_counts(counts, [key[0] for key in keys], base_got, load, big, slack, near)
    for c, ts in enumerate(classes.values()):
        # the class's teams to its parts: slots dealt round the parts, teams interleaved by
        # kind (e.g. whole-village county teams and grid-level town teams), so each part gets
        # a mix (teams that take whole villages alone cannot balance a part finely)
        want = {p: v for (cc, p), v in counts.items() if cc == c}
        by_kind: dict = {}
        for t in ts:
            by_kind.setdefault(None if kind is None else str(kind[t]), []).append(t)
        parts_c = sorted(want)
        i = 0
        for lst in by_kind.values():  # each kind dealt one team per part in turn
            for t in lst:
                while want[parts_c[i % len(parts_c)]] == 0:
                    i += 1
                p = parts_c[i % len(parts_c)]
                out[t] = p
                want[p] -= 1
                i += 1
    return out


def _polish_counts(counts: dict, share_c: list, base_got: np.ndarray, load: np.ndarray, big: np.ndarray,
                   slack: float, near: np.ndarray | None = None, *, passes: int = 100) -> dict:
    """Local search on teams per (class, part): moves of one team to another part and swaps of
    two teams of different classes, each lowering (parts off their teams' shares by more than
    ``slack`` with no part off the other way among their ``near`` parts (P, k) — each such part
    needs a chain of lent teams, a part with a near partner one lent team —, parts off by more
    than ``slack``, workload beyond the slack) until none does. All candidate moves are scored
    at once in numpy."""
    counts = dict(counts)
    big = np.asarray(big, int)
    cls = sorted({c for c, _ in counts})
    P = len(load)
    got = base_got.astype(float).copy()
    for (c, p), v in counts.items():
        got[p] += share_c[c] * v
    lim = slack * load
    inbig = np.zeros(P, bool)
    inbig[big] = True

    def score(dev):  # dev: (n, P) → (n,)
        ex = np.maximum(0.0, np.abs(dev) - lim) * inbig
        bad = ex > 0
        sign = np.sign(dev) * bad
        if near is not None:
            opp = (sign[:, near] * sign[:, :, None] < 0).any(axis=2)  # a near part off the other way
            unpaired = bad & ~opp
        else:
            unpaired = bad
        return unpaired.sum(1) * 1e12 + bad.sum(1) * 1e9 + ex.sum(1)

    # candidate moves: (class, from, to) and swaps (c at p ↔ c2 at q)
    moves = [(c, p, q) for c in cls for p in big for q in big if p != q and (c, q) in counts and (c, p) in counts]
    swaps = [(c, p, c2, q) for c in cls for c2 in cls if c != c2 for p in big for q in big
             if p != q and all(k in counts for k in ((c, q), (c2, p), (c, p), (c2, q)))]
    for _ in range(passes):
        cur = score((got - load)[None, :])[0]
        ok_m = [i for i, (c, p, q) in enumerate(moves) if counts[c, p] > 0]
        ok_s = [i for i, (c, p, c2, q) in enumerate(swaps) if counts[c, p] > 0 and counts[c2, q] > 0]
        n = len(ok_m) + len(ok_s)
        if n == 0:
            break
        dev = np.repeat((got - load)[None, :], n, axis=0)
        for r, i in enumerate(ok_m):
            c, p, q = moves[i]
            dev[r, p] -= share_c[c]
            dev[r, q] += share_c[c]
        for r, i in enumerate(ok_s, start=len(ok_m)):
            c, p, c2, q = swaps[i]
            d = share_c[c] - share_c[c2]
            dev[r, p] -= d
            dev[r, q] += d
        sc = score(dev)
        r = int(np.argmin(sc))
        if sc[r] >= cur - 1e-6:
            break
        if r < len(ok_m):
            c, p, q = moves[ok_m[r]]
            changes = ((c, p, -1), (c, q, 1))
        else:
            c, p, c2, q = swaps[ok_s[r - len(ok_m)]]
            changes = ((c, p, -1), (c, q, 1), (c2, q, -1), (c2, p, 1))
        for cc, pp, dv in changes:
            counts[cc, pp] += dv
            got[pp] += share_c[cc] * dv
    return counts


def seed_bases(xy: np.ndarray, work: np.ndarray, eligible: np.ndarray, cadres: np.ndarray, edges: np.ndarray,
               base: np.ndarray, *, seed: int = 0, kind: np.ndarray | None = None,
               whole: np.ndarray | None = None, rules=None) -> np.ndarray:
    """Every team's base: a given one (``base`` row without NaN) is kept; the others are
    allocated to a part of the map (see :func:`allocate_parts`; a team with a given base is in
    the part of the unit nearest it), then a workload-weighted k-means over that part's unit
    centres moves the free seeds (each started at a distinct unit its team may take), and
    :func:`balance_centres` moves the free seeds of teams that work unit by unit (not those
    ``whole``, which take whole villages or towns) to their workload share. ``rules``: the weights
    of an extra piece and of balance in the allocation (default rules when None)."""
    rng = np.random.default_rng(seed)
    U, T = eligible.shape
    w = np.maximum(work, 1.0)
    cad = np.maximum(cadres, 0).astype(float)
    share = work.sum() * (cad / cad.sum() if cad.sum() > 0 else np.full(T, 1.0 / max(T, 1)))
    part = components(edges, U) if U else np.zeros(0, int)
    given = ~np.isnan(base).any(axis=1)
    fixed = np.full(T, -1)
    for t in np.flatnonzero(given):
        pool = np.flatnonzero(eligible[:, t]) if eligible[:, t].any() else np.arange(U)
        if len(pool):
            fixed[t] = part[pool[np.argmin(np.hypot(*(xy[pool] - base[t]).T))]]
    alloc = (allocate_parts(part, work, eligible, share, fixed=fixed, xy=xy, kind=kind, rules=rules)
             if U else np.full(T, -1))
    inside = np.array([(part == alloc[t]) if alloc[t] >= 0 else np.ones(U, bool) for t in range(T)]).T
    allowed = eligible & inside if U else eligible
    centres = np.empty((T, 2))
    used: set[int] = set()
    centres[given] = base[given]
    for t in np.flatnonzero(~given):
        pool = np.flatnonzero(allowed[:, t])
        if not len(pool):
            pool = np.flatnonzero(eligible[:, t])
        cand = [u for u in pool if u not in used] or list(pool) or list(range(U))
        u = int(rng.choice(cand))
        used.add(u)
        centres[t] = xy[u]
    for _ in range(15):
        d = distances(xy, centres)
        d = np.where(allowed, d, np.inf)
        lab = np.argmin(d, axis=1)
        ok = np.isfinite(d[np.arange(U), lab])
        for t in np.flatnonzero(~given):
            m = ok & (lab == t)
            if m.any():
                centres[t] = np.average(xy[m], axis=0, weights=w[m])
    if (~given).any() and U:
        # a team that takes whole villages keeps its k-means seed: the LP splits villages, and the
        # median of fractions of villages may lie between villages it could never take together
        move = ~given if whole is None else ~given & ~np.asarray(whole, bool)
        centres = balance_centres(xy, work, allowed, share, centres, move)
    return centres


def transport(xy: np.ndarray, work: np.ndarray, allowed: np.ndarray, share: np.ndarray, centres: np.ndarray,
              *, k: int = 15, tol: float = 0.02):
    """The least-distance split of the units among the centres that gives each team its
    workload share (to ±``tol``; a shortfall costs 10 km per minute, so the LP is always
    feasible): a transportation LP over each unit's ``k`` nearest allowed centres, solved with
    HiGHS. Returns (unit, team, fraction) of the split's positive pairs and the total distance
    in metres (slack excluded)."""
    from scipy.optimize import linprog
    from scipy.sparse import coo_matrix

    U, T = allowed.shape
    d = distances(xy, centres)
    d = np.where(allowed, d, np.inf)
    kk = min(k, T)
    near = np.argpartition(d, kk - 1, axis=1)[:, :kk]
    rows, cols = np.repeat(np.arange(U), kk), near.ravel()
    ok = np.isfinite(d[rows, cols])
    rows, cols = rows[ok], cols[ok]
    n = len(rows)
    cost = np.concatenate([d[rows, cols], np.full(2 * T, 1e4)])
    a_eq = coo_matrix((np.ones(n), (rows, np.arange(n))), shape=(U, n + 2 * T)).tocsr()
    wl = work[rows].astype(float)
    t_idx = np.arange(T)
    # load_t − over_t ≤ share·(1 + tol);  −load_t − under_t ≤ −share·(1 − tol)
    r = np.concatenate([cols, t_idx, cols + T, t_idx + T])
    c = np.concatenate([np.arange(n), n + t_idx, np.arange(n), n + T + t_idx])
    v = np.concatenate([wl, -np.ones(T), -wl, -np.ones(T)])
    a_ub = coo_matrix((v, (r, c)), shape=(2 * T, n + 2 * T)).tocsr()
    b_ub = np.concatenate([share * (1 + tol), -share * (1 - tol)])
    has = ok.reshape(U, kk).any(axis=1)
    res = linprog(cost, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=has.astype(float), bounds=(0, None),
                  method="highs")
    if res.x is None:
        return rows[:0], cols[:0], np.zeros(0), float("inf")
    x = res.x[:n]
    pos = x > 1e-9
    return rows[pos], cols[pos], x[pos], float(d[rows[pos], cols[pos]] @ x[pos])


def balance_centres(xy: np.ndarray, work: np.ndarray, allowed: np.ndarray, share: np.ndarray,
                    centres: np.ndarray, free: np.ndarray, *, rounds: int = 8) -> np.ndarray:
    """Capacitated location-allocation: ``rounds`` times, split the units among the centres
    by :func:`transport`, then move each ``free`` centre to the geometric median of its part of
    the units (weighted by the fractions it takes). Each round lowers the split's distance
    (the median minimises each centre's distance sum for the split; the next split can only
    do better), and the best centres found are returned."""
    centres = centres.copy()
    best, best_cost = centres.copy(), np.inf
    for _ in range(rounds):
        rows, cols, x, cost = transport(xy, work, allowed, share, centres)
        if not len(x):
            break
        if cost < best_cost - 1e-6:
            best, best_cost = centres.copy(), cost
        moved = 0.0
        for t in np.flatnonzero(free):
            m = cols == t
            if m.any():
                z = geometric_median(xy[rows[m]], x[m], centres[t])
                moved = max(moved, float(np.hypot(*(z - centres[t]))))
                centres[t] = z
        if moved < 1.0:  # metres: settled
            break
    rows, cols, x, cost = transport(xy, work, allowed, share, centres)
    return centres if cost < best_cost else best


def geometric_median(pts: np.ndarray, w: np.ndarray, start: np.ndarray, *, iters: int = 50) -> np.ndarray:
    """The point minimising Σ w·distance to ``pts`` (Weiszfeld's iteration from ``start``)."""
    z = np.asarray(start, float).copy()
    for _ in range(iters):
        dd = np.maximum(np.hypot(*(pts - z).T), 1e-3)
        q = w / dd
        nz = (pts * q[:, None]).sum(axis=0) / q.sum()
        if np.hypot(*(nz - z)) < 0.01:
            return nz
        z = nz
    return z
