"""Candidate teams per unit and a fast constructive plan (the warm start).

Candidate restriction: each unit may only go to its ``k`` nearest allowed
teams, plus (repair step) each team's nearest units so it can meet its quota,
plus the team of the warm start and of the previous plan, closed over whole
villages/towns for teams that take them whole.
"""

from __future__ import annotations

import numpy as np

from planner.assign._quota import VillageQuota, unit_block
from planner.assign.rules import Rules
from planner.assign.units import UnitArrays


def candidates(ua: UnitArrays, *, k: int, per_team: int = 3, extra: list[np.ndarray] = ()) -> list[np.ndarray]:
    """Candidate team indices per unit (sorted), never empty when the unit has an allowed team."""
    U, T = ua.n_units, ua.n_teams
    d = np.where(ua.eligible, ua.dist_m, np.inf)
    keep = np.zeros((U, T), bool)
    if k >= T:
        keep = ua.eligible.copy()
    else:
        nearest = np.argsort(d, axis=1, kind="stable")[:, :k]
        keep[np.arange(U)[:, None], nearest] = True
        keep &= ua.eligible
        # each team: its nearest units (so quotas and small teams have room)
        near_units = np.argsort(d, axis=0, kind="stable")[:per_team, :]
        for t in range(T):
            us = near_units[:, t]
            keep[us[np.isfinite(d[us, t])], t] = True
    for plan in extra:
        ok = plan >= 0
        keep[np.flatnonzero(ok), plan[ok]] = True
    keep &= ua.eligible
    # whole groups for coarse teams
    for t in range(T):
        g = ua.team_granularity[t]
        if g == ua.level:
            continue
        group = ua.group_of(g)
        groups = np.unique(group[keep[:, t]])
        keep[np.isin(group, groups) & ua.eligible[:, t], t] = True
    return close_groups(ua, [np.flatnonzero(keep[u]) for u in range(U)])


def close_groups(ua: UnitArrays, cand: list[np.ndarray]) -> list[np.ndarray]:
    """Drop a coarse team from every village/town where it is not a candidate of all units
    (it could only take part of it, which its granularity forbids)."""
    keep = np.zeros((ua.n_units, ua.n_teams), bool)
    for u, c in enumerate(cand):
        keep[u, c] = True
    for t in range(ua.n_teams):
        g = ua.team_granularity[t]
        if g == ua.level:
            continue
        group = ua.group_of(g)
        partial = np.unique(group[~keep[:, t]])
        keep[np.isin(group, partial), t] = False
    return [np.flatnonzero(keep[u]) for u in range(ua.n_units)]


def construct(ua: UnitArrays, rules: Rules, cand: list[np.ndarray], *, previous: np.ndarray | None = None) -> np.ndarray:
    """Greedy plan (unit → team, -1 where it found none): quotas first, then nearest team with room."""
    U, T = ua.n_units, ua.n_teams
    team = np.full(U, -1)
    if previous is not None:
        for u in range(U):
            p = int(previous[u])
            if p >= 0 and p in cand[u]:
                team[u] = p
    allowed = np.zeros((U, T), bool)
    for u in range(U):
        allowed[u, cand[u]] = True
    target = ua.target_load()
    cap = target * (1 + rules.balance.tolerance)
    load = np.bincount(team[team >= 0], weights=ua.workload[team >= 0], minlength=T).astype(float)
    villages_of = [set(ua.unit_village[(team == t) & (ua.unit_village >= 0)]) for t in range(T)]
    vcentre = {}
    for v, us in ua.village_units().items():
        vcentre[v] = ua.xy[us].mean(axis=0)

    def block(u: int, t: int) -> np.ndarray:
        g = ua.team_granularity[t]
        if g == ua.level:
            return np.array([u])
        grp = ua.group_of(g)
        return np.flatnonzero(grp == grp[u])

    def max_v(t):
        return rules.quotas.for_level(ua.team_level[t]).max_villages

    def can_take(t: int, us: np.ndarray, *, check_cap: bool) -> bool:
        if (team[us] >= 0).any() or not allowed[us, t].all():
            return False
        mv = max_v(t)
        if mv is not None:
            new = set(ua.unit_village[us][ua.unit_village[us] >= 0]) - villages_of[t]
            if len(villages_of[t]) + len(new) > mv:
                return False
        return not check_cap or load[t] + ua.workload[us].sum() <= cap[t] or load[t] == 0

    def give(t: int, us: np.ndarray):
        team[us] = t
        load[t] += ua.workload[us].sum()
        villages_of[t].update(ua.unit_village[us][ua.unit_village[us] >= 0])

    # 1. minimum villages per team (nearest free village it may take whole)
    need = {t: (rules.quotas.for_level(ua.team_level[t]).min_villages or 0) for t in range(T)}
    for _ in range(max(need.values(), default=0)):
        for t in range(T):
            if len(villages_of[t]) >= need[t]:
                continue
            room = cap[t] - load[t]
            vwork = {v: ua.workload[ua.unit_village == v].sum() for v in vcentre}
            # nearest village that fits the team's share, then the rest by size
            options = sorted(
                (vwork[v] > room, np.hypot(*(vcentre[v] - ua.team_base[t])) if vwork[v] <= room else vwork[v], v)
                for v in vcentre if v not in villages_of[t]
            )
            options = [(o[1], o[2]) for o in options]
            for _, v in options:
                us = np.flatnonzero(ua.unit_village == v)
                if can_take(t, us, check_cap=False):
                    give(t, us)
                    break

    # 2. nearest team with room, pairs in order of distance
    pairs = [(ua.dist_m[u, t], u, int(t)) for u in range(U) for t in cand[u]]
    pairs.sort()
    for _, u, t in pairs:
        if team[u] >= 0:
            continue
        us = block(u, t)
        if can_take(t, us, check_cap=True):
            give(t, us)

    # 3. leftovers: least loaded allowed team (relative to its share)
    for u in np.flatnonzero(team < 0):
        if team[u] >= 0:
            continue
        order = sorted(cand[u], key=lambda t: (load[t] / max(target[t], 1.0), ua.dist_m[u, t]))
        for t in order:
            us = block(u, int(t))
            if can_take(int(t), us, check_cap=False):
                give(int(t), us)
                break
    return team


def grow(ua: UnitArrays, rules: Rules, cand: list[np.ndarray]) -> np.ndarray:
    """Region growing: every team starts at its root (the allowed unit nearest its base) and,
    least-loaded team first, takes the free touching block nearest its base until it reaches its
    share; leftovers go to a touching team (or the nearest allowed one). Territories come out
    contiguous where the map allows; balance is left to :func:`local_search`."""
    import heapq

    U, T = ua.n_units, ua.n_teams
    team = np.full(U, -1)
    allowed = np.zeros((U, T), bool)
    for u in range(U):
        allowed[u, cand[u]] = True
    nbrs: list[list[int]] = [[] for _ in range(U)]
    for i, j in ua.edges:
        nbrs[int(i)].append(int(j))
        nbrs[int(j)].append(int(i))
    target = ua.target_load()
    load = np.zeros(T)
    quota = VillageQuota(ua, rules)
    qmax = quota.qmax
    groups = {g: ua.group_of(g) for g in ("village", "town")}

    def block(u, t):
        return unit_block(ua, groups, u, t)

    def ok(us, t):
        if (team[us] >= 0).any() or not allowed[us, t].all():
            return False
        return quota.fits(us, t)

    def give(us, t):
        team[us] = t
        load[t] += ua.workload[us].sum()
        quota.take(us, t)

    frontier: list[list] = [[] for _ in range(T)]
    order = np.argsort(-target, kind="stable")
    for t in order:
        roots = sorted(np.flatnonzero(allowed[:, t]), key=lambda u: ua.dist_m[u, t])
        for u in roots[:50]:
            us = block(int(u), int(t))
            if ok(us, t):
                give(us, t)
                for b in us:
                    for v in nbrs[b]:
                        heapq.heappush(frontier[t], (ua.dist_m[v, t], v))
                break
    active = [(load[t] / max(target[t], 1.0), int(t)) for t in range(T) if load[t] > 0]
    heapq.heapify(active)
    while active:
        ratio, t = heapq.heappop(active)
        if ratio >= 1.0:
            continue
        took = False
        while frontier[t]:
            _, u = heapq.heappop(frontier[t])
            if team[u] >= 0 or not allowed[u, t]:
                continue
            us = block(u, t)
            if not ok(us, t):
                continue
            give(us, t)
            for b in us:
                for v in nbrs[b]:
                    if team[v] < 0:
                        heapq.heappush(frontier[t], (ua.dist_m[v, t], v))
            took = True
            break
        if took:
            heapq.heappush(active, (load[t] / max(target[t], 1.0), t))
    # leftovers: touching team with the lowest load ratio, repeated; then nearest allowed team
    changed = True
    while changed and (team < 0).any():
        changed = False
        for u in np.flatnonzero(team < 0):
            if team[u] >= 0:
                continue
            opts = sorted({int(team[v]) for v in nbrs[u] if team[v] >= 0},
                          key=lambda t: (load[t] / max(target[t], 1.0), ua.dist_m[u, t]))
            for t in opts:
                us = block(int(u), t)
                if ok(us, t):
                    give(us, t)
                    changed = True
                    break
    for u in np.flatnonzero(team < 0):
        if team[u] >= 0:
            continue
        for t in sorted(cand[u], key=lambda t: (load[t] / max(target[t], 1.0), ua.dist_m[u, t])):
            us = block(int(u), int(t))
            if ok(us, int(t)):
                give(us, int(t))
                break
    return team
