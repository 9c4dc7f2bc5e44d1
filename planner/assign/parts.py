"""Workload shares per part of the map (连通块: components of the adjacency graph that touch
nowhere, e.g. islands or valleys cut off on the map) for the contiguous warm start.

Each team has a home part (the part of its base). Whole teams rarely add up to a
part's workload, so some teams lend share to another part and work there too:
one extra piece each, which the geography forces. :func:`part_shares` chooses
which with a small CP-SAT model: each part's workload within ``slack`` of the
shares working in it, fewest teams working in two parts, the lent shares
near their teams' bases; it starts from (and falls back to)
:func:`greedy_part_shares`, which moves share between the nearest parts until the
parts' workload per share agree within ``2 tau``.
"""

from __future__ import annotations

import numpy as np

from planner.assign.units import OBJ_SCALE, UnitArrays


def greedy_part_shares(ua: UnitArrays, part: np.ndarray, *, tau: float = 0.02) -> dict[int, dict[int, float]]:
    """Share of workload (minutes) per team per part: a team's whole share in the part of its
    base; then, while the parts' workload per share differ by more than ``2 tau``, share moves
    between the nearest pair of parts of which one lacks share and the other has share to spare
    (so a team that lends share works in a part near its own), preferring a team that moves
    whole, then one already present in both, then the team nearest the needy part (a team is
    split over two parts at most)."""
    share = ua.target_load().astype(float)
    P = int(part.max()) + 1
    load = np.bincount(part, weights=ua.workload, minlength=P).astype(float)
    small = load < 0.5 * max(float(share[share > 0].min()) if (share > 0).any() else 0.0, 1.0)
    cen = _centres(ua, part, P)
    big = np.flatnonzero(~small) if (~small).any() else np.array([int(np.argmax(load))])
    load = _carried(load, cen, big)
    x: dict[int, dict[int, float]] = {}
    for t in range(ua.n_teams):
        pool = np.flatnonzero(ua.eligible[:, t] & np.isin(part, big))
        if not len(pool):
            continue
        p = int(part[pool[np.argmin(np.hypot(*(ua.xy[pool] - ua.team_base[t]).T))]])
        x[t] = {p: share[t]}
    if len(big) < 2:
        return x
    elig_part = np.zeros((ua.n_teams, P), bool)
    for p in big:
        elig_part[:, p] = ua.eligible[part == p].all(axis=0) | (ua.eligible[part == p].any(axis=0)
                                                              & (ua.team_granularity == ua.level))
    rho = load[big].sum() / max(sum(sum(v.values()) for v in x.values()), 1.0)
    eps = 1e-3 * float(share.mean()) if len(share) else 0.0  # a move smaller than this is no move
    for _ in range(4 * len(big)):
        S = np.zeros(P)
        for t, d in x.items():
            for p, a in d.items():
                S[p] += a
        r = np.full(P, np.nan)
        r[big] = load[big] / np.maximum(S[big], 1.0)
        if np.nanmax(r) - np.nanmin(r) <= 2 * tau * rho:
            break
        opts = []
        # the nearest pair of a needy part and a part with share to spare first (a team lending
        # share to a far part of the map would work far from its base), then the neediest
        pairs = sorted((float(np.hypot(*(cen[hi] - cen[lo]))), -r[hi], r[lo], int(hi), int(lo))
                       for hi in big for lo in big if r[lo] < r[hi] - 2 * tau * rho)
        for _, _, _, hi, lo in pairs:
            m = min(load[hi] / rho - S[hi], S[lo] - load[lo] / rho)
            if m <= eps:
                continue
            for t, d in x.items():
                if lo not in d or not elig_part[t, hi]:
                    continue
                a = d[lo]
                whole = len(d) == 1 and abs(a - m) <= max(tau * a, 0.5 * m)
                if ua.team_granularity[t] != ua.level and not whole and hi not in d:
                    continue  # a team that takes whole villages only splits where it already is
                if len(d) > 1 and hi not in d:
                    continue  # at most two pieces per team
                dist = float(np.hypot(*(cen[hi] - ua.team_base[t])))
                opts.append((not whole, hi not in d, dist, t, int(hi), int(lo), m))
            if opts:
                break
        if not opts:
            # no team can move share straight from a part with share to spare to a needy one:
            # pass it along a chain of parts instead (each link a team of both parts, or one of
            # the first part that may split), as an augmenting path
            if not _chain_shares(ua, x, big, r, load, S, rho, tau, eps, elig_part):
                break
            continue
        not_whole, _, _, t, hi, lo, m = min(opts)
        d = x[t]
        mv = d[lo] if not not_whole or d[lo] - m <= eps else min(m, d[lo])
        d[lo] -= mv
        d[hi] = d.get(hi, 0.0) + mv
        if d[lo] <= eps:  # (a share of a few minutes in a part would be a piece for nothing)
            d[hi] += d.pop(lo)
    return x


def _chain_shares(ua: UnitArrays, x: dict, big, r, load, S, rho: float, tau: float, eps: float,
                  elig_part) -> bool:
    """One augmenting path lo → … → hi of share moves between parts (see :func:`part_shares`):
    each link moves share of a team that works at grid level and is in both parts, or only in
    the first (it then splits); the amount is what the needy part lacks, what the spare part has
    over, and what each link's team holds. Returns whether it moved anything."""
    from collections import deque

    def links(p):
        out = []
        for t, d in x.items():
            if p not in d or d[p] <= eps or ua.team_granularity[t] != ua.level:
                continue
            for q in big:
                q = int(q)
                if q != p and elig_part[t, q] and (len(d) == 1 or q in d):
                    out.append((q, t))
        return out

    for hi in big[np.argsort(-r[big], kind="stable")]:
        hi = int(hi)
        for lo in big[np.argsort(r[big], kind="stable")]:
            lo = int(lo)
            if r[lo] >= r[hi] - 2 * tau * rho:
                break
            need = min(load[hi] / rho - S[hi], S[lo] - load[lo] / rho)
            if need <= eps:
                continue
            prev = {lo: None}
            queue = deque([lo])
            while queue and hi not in prev:
                p = queue.popleft()
                for q, t in sorted(links(p), key=lambda qt: (r[qt[0]], qt[1])):
                    if q not in prev:
                        prev[q] = (p, t)
                        queue.append(q)
            if hi not in prev:
                continue
            path, q = [], hi
            while prev[q] is not None:
                p, t = prev[q]
                path.append((p, q, t))
                q = p
            m = min([need] + [x[t][p] for p, _q, t in path])
            if m <= eps:
                continue
            for p, q, t in path:
                d = x[t]
                d[p] -= m
                d[q] = d.get(q, 0.0) + m
                if d[p] <= eps:
                    d[q] += d.pop(p)
            return True
    return False


def part_shares(ua: UnitArrays, part: np.ndarray, rules=None, *, tau: float = 0.02, slack: float = 0.01,
                det_time: float = 2.0) -> dict[int, dict[int, float]]:
    """Share of workload (minutes) per team per part: each team in its home part, some lending
    share to one of the three parts nearest its base (teams that take whole villages/towns stay
    home). CP-SAT minimises, in the planner's objective units: an extra piece (the contiguity
    rules' detached weight) per team that works in two parts, the compactness cost of the lent
    share at its distance from the base (minutes → units at the part's mean unit workload), and
    the balance weight per minute a part's workload is outside ``slack`` of its shares. Hinted with
    :func:`greedy_part_shares`, which is kept when CP-SAT finds nothing better; deterministic."""
    from ortools.sat.python import cp_model

    from planner.assign.rules import default_rules

    x0 = greedy_part_shares(ua, part, tau=tau)
    P = int(part.max()) + 1 if ua.n_units else 0
    if P < 2 or not x0:
        return x0
    share = ua.target_load().astype(float)
    load = np.bincount(part, weights=ua.workload, minlength=P).astype(float)
    big = sorted({p for d in x0.values() for p in d})
    if len(big) < 2:
        return x0
    home = {}
    for t, d in x0.items():
        h = _home(ua, part, t, big)
        home[t] = max(d, key=lambda p: (p == h, d[p]))
    S0 = np.zeros(P)
    for d in x0.values():
        for p, a in d.items():
            S0[p] += a
    carried = _carried(load, _centres(ua, part, P), np.asarray(big))  # (as in the greedy)
    rho = carried[big].sum() / max(S0[big].sum(), 1.0)
    rules = rules if rules is not None else default_rules()
    w_piece = rules.contiguity.detached_weight * OBJ_SCALE
    w_c = rules.compactness.weight * OBJ_SCALE / 1000.0  # per metre per unit
    w_b = rules.balance.weight * OBJ_SCALE / 60.0  # per minute
    mean_w = np.array([max(float(ua.workload[part == p].mean()), 1.0) if (part == p).any() else 1.0 for p in range(P)])
    scale = 100.0  # objective integer: hundredths of objective units

    m = cp_model.CpModel()
    lvar: dict[tuple[int, int], cp_model.IntVar] = {}
    cost = []
    for t, h in home.items():
        sh = int(round(sum(x0[t].values())))
        opts = [h]
        if ua.team_granularity[t] == ua.level:
            others = [q for q in big if q != h and (ua.eligible[part == q, t]).any()]
            d_q = {q: float(ua.dist_m[part == q, t][ua.eligible[part == q, t]].min()) for q in others}
            opts += sorted(others, key=lambda q: d_q[q])[:3]
        ys = []
        for q in opts:
            v = m.new_int_var(0, sh, f"l[{t},{q}]")
            lvar[t, q] = v
            if q != h:
                y = m.new_bool_var(f"y[{t},{q}]")
                m.add(v <= sh * y)
                ys.append(y)
                cost.append(int(round(scale * w_piece)) * y)
                cost.append(int(round(scale * w_c * d_q[q] / mean_w[q])) * v)
        if ys:
            m.add(sum(ys) <= 1)  # at most two pieces per team
        m.add(sum(lvar[t, q] for q in opts) == sh)
        for q in opts:
            m.add_hint(lvar[t, q], int(round(x0[t].get(q, 0.0))))
    for p in big:
        here = [v for (t, q), v in lvar.items() if q == p]
        target = carried[p] / rho
        dev = m.new_int_var(0, int(carried.sum()) + 1, f"dev[{p}]")
        m.add(sum(here) + dev >= int(np.floor(target * (1 - slack))))
        m.add(sum(here) - dev <= int(np.ceil(target * (1 + slack))))
        cost.append(int(round(scale * w_b)) * dev)
    m.minimize(sum(cost))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = 0
    solver.parameters.max_deterministic_time = det_time
    solver.parameters.max_time_in_seconds = 30.0
    if solver.solve(m) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return x0
    eps = 1e-3 * float(share.mean())
    out: dict[int, dict[int, float]] = {}
    for (t, q), v in lvar.items():
        a = float(solver.value(v))
        if a > 0:
            out.setdefault(t, {})[q] = a
    for t, d in out.items():  # (a share of a few minutes in a part would be a piece for nothing)
        for q in [q for q, a in d.items() if a <= eps and q != home[t]]:
            d[home[t]] = d.get(home[t], 0.0) + d.pop(q)
    return out


def _centres(ua: UnitArrays, part: np.ndarray, P: int) -> np.ndarray:
    """Mean unit position per part."""
    return np.array([ua.xy[part == p].mean(axis=0) if (part == p).any() else (0.0, 0.0) for p in range(P)])


def _carried(load: np.ndarray, cen: np.ndarray, big: np.ndarray) -> np.ndarray:
    """Workload per part with each small part's (tiny islands') added to the nearest big part."""
    out = load.copy()
    for p in range(len(load)):
        if p not in big:
            out[big[int(np.argmin(np.hypot(*(cen[big] - cen[p]).T)))]] += load[p]
    return out


def _home(ua: UnitArrays, part: np.ndarray, t: int, big) -> int:
    """The big part of the eligible unit nearest team t's base."""
    pool = np.flatnonzero(ua.eligible[:, t] & np.isin(part, big))
    return int(part[pool[np.argmin(ua.dist_m[pool, t])]]) if len(pool) else -1
