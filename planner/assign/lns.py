"""Large-neighbourhood search over adjacent territories.

Each step picks a team (mostly one of those furthest outside the balance band)
and the teams whose territories touch it (at most
``max_teams``), cuts out a sub-problem of just their units and teams (the
rest of the plan stays as it is; the teams keep their full-problem workload
shares), re-solves it with CP-SAT from the current plan as a hint, and keeps
the result when the sub-problem's objective improves. Every soft goal of the
full objective that the step can change is in the sub-problem's objective,
so an improvement there is one of the whole plan. A step that would add a
piece to a territory of the neighbourhood is rejected (with ``trade_pieces``:
unless it brings the neighbourhood's furthest team closer to the balance band). Coarse teams only take
villages/towns lying wholly inside the sub-problem, so every hard rule holds.
"""

from __future__ import annotations

import time

import numpy as np

from planner.assign import model as _model
from planner.assign.construct import close_groups
from planner.assign.units import subproblem


def improve(data: _model.ModelData, team: np.ndarray, objective: float | None, *, deadline: float,
            workers: int, seed: int, progress=None, t0: float, max_teams: int = 6,
            step_time: float = 1.5, steps: int | None = None,
            trade_pieces: bool = False, margin: float = 1.0) -> tuple[np.ndarray, float | None, dict]:
    """Improve ``team`` until ``deadline`` (or, when ``steps`` is given, for exactly that many
    steps of ``step_time / 2`` deterministic seconds each). ``trade_pieces``: accept a step
    that adds a piece to a territory when it brings the neighbourhood's furthest team closer to
    the balance band (otherwise never). ``margin``: the steps aim at a band of ``margin`` × the
    rules' tolerance (as the repair does), so that the most loaded team ends inside the rules'
    band and max/mean workload within the tolerance; the returned objective is then approximate
    (the caller re-evaluates the plan in the full model)."""
    import dataclasses

    ua = data.ua
    rules = data.rules
    if margin != 1.0:
        rules = dataclasses.replace(rules, balance=dataclasses.replace(
            rules.balance, tolerance=rules.balance.tolerance * margin))
        data = dataclasses.replace(data, rules=rules)
    rng = np.random.default_rng(seed)
    team = team.copy()
    max_steps = steps
    steps = kept = 0
    failed = np.zeros(ua.n_teams, int)  # steps centred on a team that changed nothing
    gained = 0.0
    while (steps < max_steps) if max_steps is not None else (deadline - time.perf_counter() > 1.0):
        steps += 1
        t = _pick_team(data, team, rng, failed, over_first=not trade_pieces)
        hood = _neighbour_teams(ua.edges, team, t, rng, max_teams)
        free = np.flatnonzero(np.isin(team, hood))
        full_cand = [np.array([], int)] * ua.n_units
        for u in free:
            full_cand[u] = np.intersect1d(data.cand[u], hood)
        for u in np.setdiff1d(np.arange(ua.n_units), free):
            full_cand[u] = np.array([team[u]])
        full_cand = close_groups(ua, full_cand)
        tpos = {int(x): i for i, x in enumerate(hood)}
        sub_ua = subproblem(ua, free, hood)
        sub_cand = [np.array([tpos[int(x)] for x in full_cand[u]], int) for u in free]
        cur = np.array([tpos[int(team[u])] for u in free])
        prev = None
        if data.previous is not None:
            p = data.previous[free]
            prev = np.array([tpos.get(int(x), -1) for x in p])
        connect = None if trade_pieces else _depth_labels(sub_ua, cur, sub_cand)
        sub = _model.ModelData(sub_ua, data.rules, sub_cand, previous=prev, connect=connect, reference=cur)
        if max_steps is None:
            limit = min(step_time, deadline - time.perf_counter() - 0.5)
            if limit <= 0.3:
                break
        else:
            limit = step_time / 2
        before = _model.solve(sub, time_limit=limit, workers=1, seed=seed, hint_plan=cur, fixed=cur,
                              phase="lns", deterministic=max_steps is not None)
        out = _model.solve(sub, time_limit=limit, workers=workers, seed=seed + steps, hint_plan=cur,
                           progress=None, phase="lns", deterministic=max_steps is not None)
        if out.team_of_unit is not None and before.objective is not None and out.objective < before.objective - 1e-9:
            trial = team.copy()
            trial[free] = hood[out.team_of_unit]
            if _pieces(ua, trial, hood) > _pieces(ua, team, hood) and (
                    not trade_pieces or _worst(data, trial, hood) >= _worst(data, team, hood)):
                failed[t] += 1
                continue  # connectivity is only traded for a team brought back towards the band
            team = trial
            failed[hood] = 0
            gained += before.objective - out.objective
            kept += 1
            if progress is not None:
                progress({"phase": "lns", "elapsed": time.perf_counter() - t0,
                          "objective": None if objective is None else objective - gained, "bound": None})
        else:
            failed[t] += 1
    best = None if objective is None else objective - gained
    return team, best, {"lns_steps": steps, "lns_improvements": kept}


def _depth_labels(ua, team: np.ndarray, cand: list[np.ndarray]) -> dict[int, dict[int, int]]:
    """Per team of a sub-problem: depth labels for the model's hard contiguity. Roots (0) are one
    unit per connected piece of its territory (the unit nearest the team's base); the territory's
    units are labelled breadth first inside the territory, then the other candidate units of the
    team breadth first from there. The current plan meets the constraint, and no step can add a
    piece to any territory."""
    import heapq

    from planner.assign.seeding import components

    e = ua.edges[team[ua.edges[:, 0]] == team[ua.edges[:, 1]]]
    lab = components(e, ua.n_units)
    nbrs: list[list[int]] = [[] for _ in range(ua.n_units)]
    for i, j in ua.edges.tolist():
        nbrs[i].append(j)
        nbrs[j].append(i)
    out: dict[int, dict[int, int]] = {}
    for t in range(ua.n_teams):
        mine = np.flatnonzero(team == t)
        ok = np.zeros(ua.n_units, bool)
        ok[[u for u in range(ua.n_units) if t in cand[u]]] = True
        d: dict[int, int] = {}
        heap = []
        for piece in np.unique(lab[mine]):
            us = mine[lab[mine] == piece]
            r = int(us[np.argmin(ua.dist_m[us, t])])
            heap.append((0, 0, r))
        heapq.heapify(heap)
        # inside the territory first (phase 0), then outside it (phase 1)
        while heap:
            phase, du, u = heapq.heappop(heap)
            if u in d:
                continue
            d[u] = du
            for v in nbrs[u]:
                if v in d or not ok[v]:
                    continue
                heapq.heappush(heap, (0 if team[v] == t and phase == 0 else 1, du + 1, v))
        out[t] = d
    return out


def _pick_team(data: _model.ModelData, team: np.ndarray, rng, failed: np.ndarray, over_first: bool = False) -> int:
    """The neighbourhood's centre: one of the three teams furthest outside the balance band
    (``over_first``: above it first, they set max/mean workload) that has not failed twice since
    its neighbourhood last changed (a step there can do the most); else any team."""
    ua = data.ua
    ratio = np.bincount(team, weights=ua.workload, minlength=ua.n_teams) / np.maximum(ua.target_load(), 1.0)
    tol = data.rules.balance.tolerance
    over, under = ratio - 1 - tol, 1 - tol - ratio
    dev = np.where(over > 0, 1 + over, np.maximum(under, 0) - (under <= 0)) if over_first else np.abs(ratio - 1) - tol
    dev[np.bincount(team, minlength=ua.n_teams) == 0] = -1
    dev[failed >= 2] = -1
    worst = np.argsort(-dev, kind="stable")[:3]
    worst = worst[dev[worst] > 0]
    if len(worst) and rng.random() < 0.8:
        return int(rng.choice(worst))
    return int(rng.choice(np.unique(team)))


def _worst(data: _model.ModelData, team: np.ndarray, teams: np.ndarray) -> float:
    """How far the furthest of the given teams is outside the balance band (0 when none is)."""
    ua = data.ua
    ratio = np.bincount(team, weights=ua.workload, minlength=ua.n_teams)[teams] / np.maximum(
        ua.target_load()[teams], 1.0)
    return round(max(0.0, float(np.abs(ratio - 1).max()) - data.rules.balance.tolerance), 4)


def _pieces(ua, team: np.ndarray, teams: np.ndarray) -> int:
    """Connected pieces of the given teams' territories, added up."""
    from planner.assign.seeding import components

    mine = np.isin(team, teams)
    e = ua.edges[mine[ua.edges[:, 0]] & (team[ua.edges[:, 0]] == team[ua.edges[:, 1]])]
    lab = components(e, ua.n_units)
    return len(np.unique(lab[mine]))


def _neighbour_teams(edges: np.ndarray, team: np.ndarray, t: int, rng, max_teams: int) -> np.ndarray:
    """Team t and the teams around it, breadth first over the teams' touching graph (each ring in
    random order) up to ``max_teams``: the teams touching t, then the teams touching those. A team
    in pieces in several parts of the map links those parts, so load can pass from one part to
    another through it."""
    a, b = team[edges[:, 0]], team[edges[:, 1]]
    cut = a != b
    pairs = np.unique(np.sort(np.column_stack([a[cut], b[cut]]), axis=1), axis=0)
    touch: dict[int, list[int]] = {}
    for x, y in pairs.tolist():
        touch.setdefault(x, []).append(y)
        touch.setdefault(y, []).append(x)
    hood, ring = [t], [t]
    while ring and len(hood) < max_teams:
        nxt = sorted({y for x in ring for y in touch.get(x, ()) if y not in hood})
        nxt = list(rng.permutation(nxt)) if nxt else []
        take = nxt[: max_teams - len(hood)]
        hood += [int(y) for y in take]
        ring = take
    return np.sort(np.array(hood, dtype=int))
