"""Contiguous warm start: balanced region growing on the unit adjacency graph.

Each part of the map (a connected component of the adjacency graph) gets the
teams whose base lies in it; where the workload of a part does not match the
shares of its teams within ``tau`` (whole teams rarely add up exactly), a
team lends part of its share to another part (:func:`part_shares`: the team
then has one piece per part, which the geography forces). Inside each part,
every (team, part) seed starts at its root and the least-filled seed takes
the free touching block nearest its base, so every piece is connected by
construction; blocks are single units, or whole villages/towns for teams
that take them whole, within the village quotas. Units no seed reached go to
a touching team (the least filled). Balance is then refined by
:func:`planner.assign.repair.repair`, which keeps every piece connected.
"""

from __future__ import annotations

import heapq

import numpy as np

from planner.assign._quota import VillageQuota, unit_block
from planner.assign.parts import part_shares
from planner.assign.rules import Rules
from planner.assign.seeding import components
from planner.assign.units import UnitArrays


def neighbours(ua: UnitArrays) -> list[list[int]]:
    nbrs: list[list[int]] = [[] for _ in range(ua.n_units)]
    for i, j in ua.edges:
        nbrs[int(i)].append(int(j))
        nbrs[int(j)].append(int(i))
    return nbrs


def grow_balanced(ua: UnitArrays, rules: Rules, *, tau: float = 0.01, bonus: float | None = None) -> np.ndarray:
    """Unit → team plan whose pieces are connected by construction (see the module doc).
    ``bonus``: metres of distance forgiven per touching unit the seed already holds
    (default: the median distance between touching unit centres)."""
    U, T = ua.n_units, ua.n_teams
    if bonus is None:
        bonus = float(np.median(np.hypot(*(ua.xy[ua.edges[:, 0]] - ua.xy[ua.edges[:, 1]]).T))) if len(ua.edges) else 0.0
    part = components(ua.edges, U)
    shares = part_shares(ua, part, rules, tau=tau, slack=0.01)
    nbrs = neighbours(ua)
    team = np.full(U, -1)
    load_s: list[float] = []  # per seed
    seeds: list[tuple[int, int, float]] = []  # (team, part, target minutes)
    P = int(part.max()) + 1
    pload = np.bincount(part, weights=ua.workload, minlength=P)
    S = np.zeros(P)
    for t, d in shares.items():
        for p, a in d.items():
            S[p] += a
    for t, d in shares.items():
        for p, a in d.items():
            seeds.append((t, p, a * pload[p] / max(S[p], 1.0)))
    load_s = [0.0] * len(seeds)
    quota = VillageQuota(ua, rules)
    qmax = quota.qmax
    groups = {g: ua.group_of(g) for g in ("village", "town")}
    seed_of = np.full(U, -1)

    def block(u, t):
        return unit_block(ua, groups, u, t)

    def ok(us, t, p=None):
        if (team[us] >= 0).any() or not ua.eligible[us, t].all():
            return False
        if p is not None and (part[us] != p).any():
            return False
        return quota.fits(us, t)

    def give(us, s):
        t = seeds[s][0]
        team[us] = t
        seed_of[us] = s
        load_s[s] += float(ua.workload[us].sum())
        quota.take(us, t)

    frontier: list[list] = [[] for _ in seeds]

    def push(s, us):
        t = seeds[s][0]
        for b in us:
            for v in nbrs[b]:
                if team[v] < 0:
                    # nearest the base, pulled in by every touching unit the seed holds already
                    # (round shapes: few cut units, so the repair has moves left)
                    inside = sum(1 for x in nbrs[v] if seed_of[x] == s)
                    heapq.heappush(frontier[s], (ua.dist_m[v, t] - bonus * inside, v))

    # teams with a village quota first: the connected set of at most ``max_villages`` free
    # villages nearest the base whose workload is nearest the share (see _pick_villages)
    order = sorted(range(len(seeds)), key=lambda s: (qmax[seeds[s][0]] is None,
                                                   ua.team_granularity[seeds[s][0]] == ua.level, -seeds[s][2]))
    vadj = _village_adjacency(ua)
    for s in order:
        t, p, tgt = seeds[s]
        if qmax[t] is None or ua.team_granularity[t] != "village" or ua.level != "grid":
            continue
        pick = _pick_villages(ua, t, tgt, qmax[t], vadj, (part == p) & ua.eligible[:, t] & (team < 0),
                              rules.balance.tolerance / 2)
        for v in pick:
            us = np.flatnonzero(ua.unit_village == v)
            if ok(us, t, p):
                give(us, s)
                push(s, us)
    # roots: coarse teams and big shares first; a seed's root is its free unit nearest the base
    for s in order:
        t, p, _ = seeds[s]
        if load_s[s] > 0:
            continue
        pool = np.flatnonzero((part == p) & ua.eligible[:, t] & (team < 0))
        pool = pool[np.argsort(ua.dist_m[pool, t], kind="stable")][:200]
        if ua.team_granularity[t] != ua.level:
            # a team that takes whole villages starts with the nearest one that fits its share
            fits = [u for u in pool if ua.workload[block(int(u), t)].sum() <= 1.05 * seeds[s][2]]
            pool = fits + [u for u in pool if u not in set(fits)]
        for u in pool:
            us = block(int(u), t)
            if ok(us, t, p):
                give(us, s)
                push(s, us)
                break
    active = [(load_s[s] / max(seeds[s][2], 1.0), s) for s in range(len(seeds)) if load_s[s] > 0]
    heapq.heapify(active)
    while active:
        ratio, s = heapq.heappop(active)
        if ratio >= 1.0:
            continue
        t, p, tgt = seeds[s]
        while frontier[s]:
            _, u = heapq.heappop(frontier[s])
            if team[u] >= 0:
                continue
            us = block(u, t)
            if not ok(us, t, p):
                continue
            w = float(ua.workload[us].sum())
            if load_s[s] + w - tgt > tgt - load_s[s]:  # it would overshoot more than it fills
                continue
            give(us, s)
            push(s, us)
            heapq.heappush(active, (load_s[s] / max(tgt, 1.0), s))
            break
    # leftovers: a touching seed (least filled first), repeated; then the nearest allowed team
    changed = True
    while changed and (team < 0).any():
        changed = False
        for u in np.flatnonzero(team < 0):
            if team[u] >= 0:
                continue
            opts = sorted({int(seed_of[v]) for v in nbrs[u] if seed_of[v] >= 0},
                          key=lambda s: ((load_s[s] + ua.workload[block(int(u), seeds[s][0])].sum())
                                         / max(seeds[s][2], 1.0), ua.dist_m[u, seeds[s][0]]))
            for s in opts:
                us = block(int(u), seeds[s][0])
                if ok(us, seeds[s][0]):
                    give(us, s)
                    changed = True
                    break
    for u in np.flatnonzero(team < 0):
        if team[u] >= 0:
            continue
        elig = np.flatnonzero(ua.eligible[u])
        for t in elig[np.argsort(ua.dist_m[u, elig], kind="stable")]:
            us = block(int(u), int(t))
            if ok(us, int(t)):
                ss = [s for s in range(len(seeds)) if seeds[s][0] == t]
                if ss:
                    give(us, ss[0])
                else:
                    team[us] = t
                break
    return team


def _village_adjacency(ua: UnitArrays) -> dict[int, set[int]]:
    vil = ua.unit_village
    out: dict[int, set[int]] = {}
    for i, j in ua.edges:
        a, b = int(vil[i]), int(vil[j])
        if a >= 0 and b >= 0 and a != b:
            out.setdefault(a, set()).add(b)
            out.setdefault(b, set()).add(a)
    return out


def _pick_villages(ua: UnitArrays, t: int, target: float, qmax: int, vadj, free: np.ndarray, tol: float,
                   near: int = 80) -> list[int]:
    """A connected set of 1..qmax whole free villages for team t: within ``tol`` of ``target``
    and nearest the base, else the one nearest the target."""
    vil = ua.unit_village
    us = np.flatnonzero(free & (vil >= 0))
    if not len(us):
        return []
    vs = np.unique(vil[us])
    vw = {int(v): float(ua.workload[vil == v].sum()) for v in vs if free[vil == v].all()}
    vd = {v: float(ua.dist_m[vil == v, t].min()) for v in vw}
    pool = sorted(vw, key=lambda v: vd[v])[:near]
    inpool = set(pool)
    sets: set[frozenset] = set()
    frontier = [frozenset([v]) for v in pool]
    for _ in range(qmax):
        sets.update(frontier)
        nxt = set()
        for c in frontier:
            for v in c:
                for w in vadj.get(v, ()):
                    if w in inpool and w not in c:
                        nxt.add(c | {w})
        frontier = list(nxt)
    best = None
    for c in sets:
        w = sum(vw[v] for v in c)
        dev = abs(w - target) / max(target, 1.0)
        key = (dev > tol, dev if dev > tol else 0.0, min(vd[v] for v in c) + sum(vd[v] for v in c) / len(c))
        if best is None or key < best[0]:
            best = (key, sorted(c))
    return best[1] if best else []
