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
    n_parts = int(part.max()) + 1 if U else 0
    part, shares = split_big_parts(ua, part, shares)
    dist = ua.dist_m
    if U and int(part.max()) + 1 > n_parts:
        # in the regions cut out of a big part, each team grows from a point of its own: the
        # region's workload-weighted k-means centres, matched to the teams' bases (bases seeded
        # over the whole part may sit together, and a seed enclosed by its neighbours stays empty)
        dist = _anchored(ua, part, shares)
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
                    heapq.heappush(frontier[s], (dist[v, t] - bonus * inside, v))

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
        pool = pool[np.argsort(dist[pool, t], kind="stable")][:200]
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


#: a part of the map with more teams than this is cut into regions of at most this many teams
REGION_TEAMS = 6
#: ... on maps of more units than this (the demo's 108 grids and 19 teams in one part grow better
#: whole: objective 77-81k by regions against 70-73k, three runs each)
REGION_MIN_UNITS = 1000


def _anchored(ua: UnitArrays, part: np.ndarray, shares: dict) -> np.ndarray:
    """Distances unit → team for growing: to the team's base, except for the teams of a region
    holding several teams alone, which grow from the region's workload-weighted k-means centres
    (one per team, matched to the bases by least total distance)."""
    from scipy.optimize import linear_sum_assignment

    from planner.assign.seeding import distances

    dist = ua.dist_m.copy()
    by_region: dict[int, list[int]] = {}
    for t, d in shares.items():
        if len(d) == 1:
            by_region.setdefault(next(iter(d)), []).append(t)
    rng = np.random.default_rng(0)
    for r, ts in by_region.items():
        us = np.flatnonzero(part == r)
        if len(ts) < 2 or len(us) < len(ts) or any(r in shares[t] and len(shares[t]) > 1 for t in shares):
            continue
        xy = ua.xy[us]
        w = np.maximum(ua.workload[us].astype(float), 1.0)
        cen = xy[rng.choice(len(us), len(ts), replace=False)]
        for _ in range(20):
            lab = np.argmin(distances(xy, cen), axis=1)
            for k in range(len(ts)):
                if (lab == k).any():
                    cen[k] = np.average(xy[lab == k], axis=0, weights=w[lab == k])
        rows, cols = linear_sum_assignment(distances(ua.team_base[ts], cen))
        for i, k in zip(rows, cols):
            dist[:, ts[i]] = distances(ua.xy, cen[k:k + 1])[:, 0]
    return dist


def split_big_parts(ua: UnitArrays, part: np.ndarray, shares: dict[int, dict[int, float]]):
    """``part`` and ``shares`` with every part of the map that holds more than ``REGION_TEAMS``
    teams cut into connected regions by recursive bisection (:func:`_bisect`), each with the
    teams whose bases lie on its side and a workload near their shares; each region is then
    grown as a part of its own. Greedy growth among a hundred seeds in one part leaves some
    enclosed short of their share and others far over it, which no local repair undoes
    (measured on a joined county of 3,091 grids and 150 teams: 32 teams outside the band after
    30 s of repair when grown whole, 9 when grown by regions from their anchors, see
    :func:`_anchored`); the islands of a map of many parts hold a handful each.
    Teams lending share to another part keep their shares as they are. Only on maps of more than
    ``REGION_MIN_UNITS`` units."""
    P = int(part.max()) + 1 if len(part) else 0
    if ua.n_units <= REGION_MIN_UNITS:
        return part, shares
    homed: dict[int, list[int]] = {}
    for t, d in shares.items():
        if len(d) == 1:
            homed.setdefault(next(iter(d)), []).append(t)
    out = part.copy()
    new_shares = {t: dict(d) for t, d in shares.items()}
    for p, ts in homed.items():
        if len(ts) <= REGION_TEAMS or any(p in d and len(d) > 1 for d in shares.values()):
            continue  # (a part with a lender's share is left whole: its seeds share it)
        us = np.flatnonzero(part == p)
        amount = np.array([shares[t][p] for t in ts], float)
        for k, (ru, rt) in enumerate(_bisect(ua, us, np.array(ts), amount)):
            lab = p if k == 0 else P
            if k:
                P += 1
            out[ru] = lab
            for t in rt.tolist():
                new_shares[t] = {lab: shares[t][p]}
    return out, new_shares


def _bisect(ua: UnitArrays, us: np.ndarray, ts: np.ndarray, amount: np.ndarray) -> list:
    """Regions (units, teams) of at most ``REGION_TEAMS`` teams. The teams are split in two
    halves by their bases' order on the region's principal axis; the region's blocks (whole
    villages, as a team that takes villages needs them on one side; units outside villages) go to
    side A from the block lowest on the axis, always the touching block lowest on it, up to the
    shares of A's teams; then each side's blocks that do not touch its largest piece go to the
    other side, and blocks on the border are handed from the heavier side (while the giving side
    stays in one piece) until the workloads match the shares (twice over)."""
    if len(ts) <= REGION_TEAMS or len(us) < 2:
        return [(us, ts)]
    vil = ua.unit_village[us]
    key = np.where(vil >= 0, vil, -1 - us)
    _, blk = np.unique(key, return_inverse=True)  # unit → block
    B = int(blk.max()) + 1
    wu = np.maximum(ua.workload[us].astype(float), 1.0)
    w = np.bincount(blk, weights=wu, minlength=B)
    xy = np.column_stack([np.bincount(blk, weights=wu * ua.xy[us, k], minlength=B) for k in (0, 1)]) / w[:, None]
    loc = np.full(ua.n_units, -1)
    loc[us] = np.arange(len(us))
    e = loc[ua.edges]
    e = blk[e[(e >= 0).all(axis=1)]]
    e = np.unique(np.sort(e[e[:, 0] != e[:, 1]], axis=1), axis=0)  # block adjacency
    c = xy - np.average(xy, axis=0, weights=w)
    _, vec = np.linalg.eigh((c * w[:, None]).T @ c)
    axis = vec[:, -1]
    order_t = np.argsort(ua.team_base[ts] @ axis, kind="stable")
    ia, ib = order_t[: len(ts) // 2], order_t[len(ts) // 2:]
    target = amount[ia].sum() / max(amount.sum(), 1.0) * w.sum()
    # side A grown from the block lowest on the axis, always taking the touching block lowest on
    # it (connected by construction), up to the workload of its teams' shares
    proj = xy @ axis
    adj: list[list[int]] = [[] for _ in range(B)]
    for a, b in e.tolist():
        adj[a].append(b)
        adj[b].append(a)
    side = np.zeros(B, bool)  # True: side A
    start = int(np.argmin(proj))
    heap, got = [(proj[start], start)], 0.0
    while heap and got < target:
        _, b = heapq.heappop(heap)
        if side[b]:
            continue
        if got + w[b] - target > target - got:  # it would overshoot more than it fills
            break
        side[b] = True
        got += w[b]
        for x in adj[b]:
            if not side[x]:
                heapq.heappush(heap, (proj[x], x))
    for _ in range(2):
        _strays(e, side, w)
        _even(e, side, w, target)
    _strays(e, side, w)
    if side.all() or not side.any():
        return [(us, ts)]
    su = side[blk]
    return _bisect(ua, us[su], ts[ia], amount[ia]) + _bisect(ua, us[~su], ts[ib], amount[ib])


def _even(e: np.ndarray, side: np.ndarray, w: np.ndarray, target: float, tol: float = 0.005) -> None:
    """Blocks on the border handed from the heavier side to the other, each the one that brings
    side A's workload nearest ``target``, until it is within ``tol`` of the total or no hand-over
    helps."""
    total = float(w.sum())
    for _ in range(len(w)):
        dev = float(w[side].sum()) - target
        if abs(dev) <= tol * total:
            return
        src = dev > 0  # the side to give (True: A)
        ends = e[side[e[:, 0]] != side[e[:, 1]]].ravel()
        border = np.unique(ends[side[ends] == src])
        if not len(border):
            return
        new = np.abs(dev - w[border]) if src else np.abs(dev + w[border])
        moved = False
        for k in np.argsort(new, kind="stable"):
            if new[k] >= abs(dev) - 1e-9:
                break
            side[border[k]] = not src
            if _one_piece(e, side, src):  # (a block whose loss would split the giving side stays)
                moved = True
                break
            side[border[k]] = src
        if not moved:
            return


def _one_piece(e: np.ndarray, side: np.ndarray, flag: bool) -> bool:
    from planner.assign.seeding import components

    mine = np.flatnonzero(side == flag)
    if len(mine) <= 1:
        return True
    inside = (side[e[:, 0]] == flag) & (side[e[:, 1]] == flag)
    lab = components(e[inside], len(side))
    return len(np.unique(lab[mine])) == 1


def _strays(e: np.ndarray, side: np.ndarray, w: np.ndarray) -> None:
    """Each side's blocks that do not touch its largest piece go to the other side."""
    from planner.assign.seeding import components

    for flag in (True, False):
        inside = side[e[:, 0]] == flag
        inside &= side[e[:, 1]] == flag
        lab = components(e[inside], len(w))
        mine = np.flatnonzero(side == flag)
        if not len(mine):
            continue
        sizes = np.bincount(lab[mine], weights=w[mine])
        main = int(np.argmax(sizes))
        side[mine[lab[mine] != main]] = not flag


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
