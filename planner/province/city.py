"""The city-level problem: villages for the city teams that span counties (市级部门联镇/联村).

Before the counties are solved, each city-level team without a county takes
its quota of villages (``[quotas.city]``, e.g. 1-3) — whole towns instead when
``[units] city = "town"`` — all in one county, so it joins exactly one county
problem with those villages fixed. A small exact CP-SAT model, in the fixed
order data → variables → constraints → objective → solve → extract:

  x[t,p]   city team t takes piece p (village or town), p among t's ``k`` nearest
  y[t,c]   city team t works in county c (at most one)
  quota    min_villages ≤ Σ villages(p)·x[t,p] ≤ max_villages
  once     Σ_t x[t,p] ≤ 1 (each piece to at most one city team)
  minimise compactness (km to the team's base, ``[compactness] weight``)
         + balance (hours outside ±tolerance of the team's share of the province's
           workload by cadres, ``[balance] weight``)
         − ``must_visit_bonus_km`` per must-visit village taken (weak villages,
           resettlement communities: the ``[[must_visit]]`` rules on villages),
  all × OBJ_SCALE as in :mod:`planner.assign`.
A team without a base is measured from the province's workload centre.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from ortools.sat.python import cp_model

from geodata.errors import ZoufangError
from planner.assign.mustvisit import matching
from planner.assign.units import OBJ_SCALE, household_minutes
from planner.province.split import Membership


class CityPlanError(ZoufangError, RuntimeError):
    """The city teams cannot all get their quota (too few villages near them, or none left)."""


@dataclass(frozen=True)
class CityPlan:
    #: village_id → team_id for every village a spanning city team takes
    villages: dict
    #: team_id, county_id, village_id, town_id, households, must_visit, distance_km
    table: pd.DataFrame
    status: str
    objective: float | None
    bound: float | None
    wall_time: float


def assign_city_teams(campaign, member: Membership, rules, *, time_limit: float = 10.0, seed: int = 0,
                      k: int = 60, must_visit_bonus_km: float = 10.0) -> CityPlan:
    """Give every spanning city team (``member.spanning``) its villages; raises :class:`CityPlanError`."""
    import time

    t0 = time.perf_counter()
    teams = campaign.teams.set_index(campaign.teams["team_id"].astype(str)).loc[list(member.spanning)]
    cadres = campaign.cadres["team_id"].astype(str).value_counts()
    teams = teams[cadres.reindex(teams.index).fillna(0).to_numpy() > 0]  # a team without cadres takes nothing
    cols = ["team_id", "county_id", "village_id", "town_id", "households", "must_visit", "distance_km"]
    if not len(teams):
        return CityPlan({}, pd.DataFrame(columns=cols), "NONE", 0.0, 0.0, 0.0)

    # ---- data: pieces (villages, or towns when city teams take whole towns)
    vil = campaign.villages.reset_index(drop=True)
    vid = vil["village_id"].astype(str).to_numpy()
    v_county = member.village_county.reindex(vid).to_numpy()
    piece_level = "town" if rules.units.granularity("city") == "town" else "village"
    v_piece = vil["town_id"].astype(str).to_numpy() if piece_level == "town" else vid
    pieces, v_p = np.unique(v_piece, return_inverse=True)
    P = len(pieces)
    p_county = pd.Series(v_county).groupby(v_p).first().to_numpy()
    hh = campaign.households
    h_village = hh["village_id"].astype(str) if "village_id" in hh else \
        hh["grid_id"].astype(str).map(dict(zip(campaign.grids["grid_id"].astype(str), campaign.grids["village_id"].astype(str))))
    vidx = pd.Series(np.arange(len(vid)), index=vid)
    h_v = vidx.reindex(h_village.to_numpy()).to_numpy()
    ok = ~np.isnan(h_v)
    h_v = h_v[ok].astype(int)
    v_work = np.bincount(h_v, weights=household_minutes(hh, rules)[ok], minlength=len(vid))
    v_hh = np.bincount(h_v, minlength=len(vid))
    ent = campaign.enterprises
    if ent is not None and len(ent) and "village_id" in ent:
        e_v = vidx.reindex(ent["village_id"].astype(str).to_numpy()).dropna().astype(int).to_numpy()
        v_work += np.bincount(e_v, minlength=len(vid)) * rules.workload.enterprise
    must = np.zeros(len(vid), bool)
    for rule in rules.must_visit:
        if rule.entity == "village":
            must |= matching(vil, rule)
    p_work = np.bincount(v_p, weights=v_work, minlength=P)
    p_villages = np.bincount(v_p, minlength=P)
    p_must = np.bincount(v_p, weights=must, minlength=P).astype(int)
    cen = vil.geometry.representative_point()
    vxy = np.column_stack([cen.x.to_numpy(), cen.y.to_numpy()])
    pxy = np.column_stack([np.bincount(v_p, weights=vxy[:, i], minlength=P) / p_villages for i in (0, 1)])

    team_ids = teams.index.to_numpy().astype(str)
    T = len(team_ids)
    base = np.full((T, 2), np.nan)
    if {"base_x", "base_y"} <= set(teams.columns):
        base[:, 0] = pd.to_numeric(teams["base_x"], errors="coerce").to_numpy(float)
        base[:, 1] = pd.to_numeric(teams["base_y"], errors="coerce").to_numpy(float)
    no_base = np.isnan(base).any(axis=1)
    if no_base.any():
        w = np.maximum(p_work, 1.0)
        base[no_base] = np.average(pxy, axis=0, weights=w)
    dist = np.hypot(pxy[None, :, 0] - base[:, None, 0], pxy[None, :, 1] - base[:, None, 1])  # (T, P) metres
    all_cadres = max(int(len(campaign.cadres)), 1)
    share = p_work.sum() * cadres.reindex(team_ids).fillna(0).to_numpy(float) / all_cadres
    q = rules.quotas.for_level("city")
    qmin = 1 if q.min_villages is None else int(q.min_villages)
    qmax = int(q.max_villages) if q.max_villages is not None else max(qmin, 3)
    cand = [np.argsort(dist[t], kind="stable")[:k] for t in range(T)]

    # ---- variables
    m = cp_model.CpModel()
    x = {(t, int(p)): m.new_bool_var(f"x[{t},{p}]") for t in range(T) for p in cand[t]}
    counties = sorted({str(c) for c in p_county})
    cidx = {c: i for i, c in enumerate(counties)}
    y = {}
    for (t, p) in x:
        c = cidx[str(p_county[p])]
        if (t, c) not in y:
            y[t, c] = m.new_bool_var(f"y[{t},{c}]")
    # ---- constraints
    for t in range(T):
        m.add_at_most_one(v for (tt, _), v in y.items() if tt == t)
        n = sum(int(p_villages[p]) * x[t, int(p)] for p in cand[t])
        m.add(n >= qmin)
        m.add(n <= qmax)
    for (t, p), v in x.items():
        m.add_implication(v, y[t, cidx[str(p_county[p])]])
    by_piece: dict[int, list] = {}
    for (t, p), v in x.items():
        by_piece.setdefault(p, []).append(v)
    for vs in by_piece.values():
        if len(vs) > 1:
            m.add_at_most_one(vs)
    # ---- objective
    tol = rules.balance.tolerance
    w_c = rules.compactness.weight * OBJ_SCALE / 1000.0
    w_b = max(1, int(round(rules.balance.weight * OBJ_SCALE / 60.0)))
    bonus = int(round(must_visit_bonus_km * rules.compactness.weight * OBJ_SCALE)) or OBJ_SCALE
    terms = []
    total = int(p_work.sum()) + 1
    for t in range(T):
        load = sum(int(round(p_work[p])) * x[t, int(p)] for p in cand[t])
        over = m.new_int_var(0, total, f"over[{t}]")
        under = m.new_int_var(0, total, f"under[{t}]")
        m.add(load - over <= int(np.floor(share[t] * (1 + tol))))
        m.add(load + under >= int(np.ceil(share[t] * (1 - tol))))
        terms += [w_b * over, w_b * under]
    for (t, p), v in x.items():
        terms.append((int(round(w_c * dist[t, p])) - bonus * int(p_must[p])) * v)
    m.minimize(sum(terms))
    # ---- solve
    solver = cp_model.CpSolver()
    solver.parameters.max_deterministic_time = float(time_limit)
    solver.parameters.max_time_in_seconds = 20.0 * float(time_limit) + 10.0
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = int(seed)
    st = solver.solve(m)
    if st not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        why = "proved infeasible" if st == cp_model.INFEASIBLE else f"no plan within {time_limit:g} s"
        raise CityPlanError(
            f"the {T} city team(s) that span counties cannot each take {qmin}-{qmax} village(s) in one county "
            f"among their {k} nearest {piece_level}s ({why}); give them a county_id or bases near free villages")
    # ---- extract
    rows = []
    for (t, p), v in sorted(x.items()):
        if solver.boolean_value(v):
            for i in np.flatnonzero(v_p == p):
                rows.append((str(team_ids[t]), str(p_county[p]), vid[i], str(vil["town_id"].iloc[i]), int(v_hh[i]),
                             bool(must[i]), round(float(dist[t, p]) / 1000, 3)))
    table = pd.DataFrame(rows, columns=cols)
    status = "OPTIMAL" if st == cp_model.OPTIMAL else "FEASIBLE"
    return CityPlan(dict(zip(table["village_id"], table["team_id"])), table, status, solver.objective_value,
                    solver.best_objective_bound, round(time.perf_counter() - t0, 3))
