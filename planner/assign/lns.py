"""Large-neighbourhood search over adjacent territories.

Each step frees the units of one team and of the teams whose territories
touch it (at most ``max_teams``), keeps every other unit where it is, and lets
CP-SAT re-solve that sub-model from the current plan as a hint. A step is
kept when the full objective (all soft goals, computed on the whole plan)
improves. The sub-model is the same model with single-team candidates for
the fixed units, so every hard rule still holds.
"""

from __future__ import annotations

import time

import numpy as np

from planner.assign import model as _model
from planner.assign.construct import close_groups


def improve(data: _model.ModelData, team: np.ndarray, objective: float | None, *, deadline: float,
            workers: int, seed: int, progress=None, t0: float, max_teams: int = 6,
            step_time: float = 4.0, steps: int | None = None) -> tuple[np.ndarray, float | None, dict]:
    """Improve ``team`` until ``deadline`` (or, when ``steps`` is given, for exactly that many
    deterministic steps of ``step_time / 2`` deterministic seconds each)."""
    ua = data.ua
    rng = np.random.default_rng(seed)
    team = team.copy()
    best = objective
    max_steps = steps
    steps = kept = 0
    while (steps < max_steps) if max_steps is not None else (deadline - time.perf_counter() > 1.0):
        steps += 1
        t = int(rng.choice(np.unique(team)))
        hood = _neighbour_teams(ua.edges, team, t, rng, max_teams)
        free = np.isin(team, hood)
        cand = [np.intersect1d(c, hood) if free[u] else np.array([team[u]]) for u, c in enumerate(data.cand)]
        cand = close_groups(ua, cand)
        sub = _model.ModelData(ua, data.rules, cand, previous=data.previous)
        if max_steps is None:
            limit = min(step_time, deadline - time.perf_counter() - 0.5)
            if limit <= 0.3:
                break
        else:
            limit = step_time / 2
        out = _model.solve(sub, time_limit=limit, workers=workers, seed=seed + steps, hint_plan=team,
                           progress=None, phase="lns", deterministic=max_steps is not None)
        if out.team_of_unit is not None and (best is None or out.objective < best - 1e-9):
            team, best = out.team_of_unit, out.objective
            kept += 1
            if progress is not None:
                progress({"phase": "lns", "elapsed": time.perf_counter() - t0, "objective": best, "bound": None})
    return team, best, {"lns_steps": steps, "lns_improvements": kept}


def _neighbour_teams(edges: np.ndarray, team: np.ndarray, t: int, rng, max_teams: int) -> np.ndarray:
    a, b = team[edges[:, 0]], team[edges[:, 1]]
    touching = np.unique(np.concatenate([b[(a == t) & (b != t)], a[(b == t) & (a != t)]]))
    if len(touching) > max_teams - 1:
        touching = rng.choice(touching, size=max_teams - 1, replace=False)
    return np.sort(np.concatenate([[t], touching])).astype(int)
