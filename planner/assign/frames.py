"""From unit → team to the plan's frames: grid/household/enterprise rows with
their responsible cadre, and the per-team summary."""

from __future__ import annotations

import numpy as np
import pandas as pd

from planner.assign.units import UnitArrays, household_minutes


def split_to_cadres(points_xy: np.ndarray, grid_order: np.ndarray, cadre_ids: list[str]) -> np.ndarray:
    """Give each point (a household or enterprise of one team) one cadre: points sorted by grid,
    then along x, cut into equal consecutive runs (sizes differ by at most one)."""
    n = len(points_xy)
    out = np.empty(n, dtype=object)
    if n == 0 or not cadre_ids:
        return out
    order = np.lexsort((points_xy[:, 1], points_xy[:, 0], grid_order))
    chunks = np.array_split(order, len(cadre_ids))
    for cid, idx in zip(cadre_ids, chunks):
        out[idx] = cid
    return out


def assignment_frame(campaign, ua: UnitArrays, team_of_unit: np.ndarray) -> pd.DataFrame:
    grids = campaign.grids
    gid = grids["grid_id"].astype(str).to_numpy()
    g_team = ua.team_ids[team_of_unit[ua.grid_unit.reindex(gid).to_numpy()]]
    grid_rank = pd.Series(np.arange(len(gid)), index=gid)
    cad = campaign.cadres
    cad_of_team = {t: sorted(g["cadre_id"].astype(str)) for t, g in cad.groupby(cad["team_id"].astype(str))}
    parts = [pd.DataFrame({"entity_type": "grid", "entity_id": gid, "team_id": g_team, "cadre_id": None})]
    gteam = pd.Series(g_team, index=gid)
    for etype, frame, idcol in (("household", campaign.households, "household_id"),
                                ("enterprise", campaign.enterprises, "enterprise_id")):
        if frame is None or not len(frame):
            continue
        g = frame["grid_id"].astype(str).to_numpy()
        team = gteam.reindex(g).to_numpy()
        xy = np.column_stack([frame.geometry.x.to_numpy(), frame.geometry.y.to_numpy()])
        cadre = np.empty(len(frame), dtype=object)
        for t in np.unique(team):
            m = team == t
            cadre[m] = split_to_cadres(xy[m], grid_rank.reindex(g[m]).to_numpy(), cad_of_team.get(t, []))
        parts.append(pd.DataFrame({"entity_type": etype, "entity_id": frame[idcol].astype(str).to_numpy(),
                                   "team_id": team, "cadre_id": cadre}))
    out = pd.concat(parts, ignore_index=True)
    out["cadre_id"] = out["cadre_id"].astype(object)
    return out


def responsible_teams(campaign, assignment: pd.DataFrame) -> dict[str, dict]:
    """entity type → entity id → tuple of responsible team ids (main one first)."""
    a = assignment
    out: dict[str, dict] = {}
    for etype in ("household", "enterprise"):
        rows = a[a["entity_type"] == etype]
        out[etype] = {e: (t,) for e, t in zip(rows["entity_id"], rows["team_id"])}
    hh = a[a["entity_type"] == "household"]
    h_village = campaign.households.set_index(campaign.households["household_id"].astype(str))["village_id"].astype(str)
    counts = pd.DataFrame({"village": h_village.reindex(hh["entity_id"]).to_numpy(), "team": hh["team_id"].to_numpy()})
    grids = a[a["entity_type"] == "grid"]
    g_village = campaign.grids.set_index(campaign.grids["grid_id"].astype(str))["village_id"].astype(str)
    gcounts = pd.DataFrame({"village": g_village.reindex(grids["entity_id"]).to_numpy(), "team": grids["team_id"].to_numpy()})
    weight = (counts.groupby(["village", "team"]).size() * 1000).add(gcounts.groupby(["village", "team"]).size(), fill_value=0)
    village: dict[str, tuple] = {}
    for (v, t), w in weight.sort_values(ascending=False, kind="stable").items():
        village.setdefault(v, ())
        village[v] = village[v] + (t,)
    out["village"] = village
    return out


def teams_summary(campaign, ua: UnitArrays, team_of_unit: np.ndarray, assignment: pd.DataFrame,
                  must_visits: pd.DataFrame, rules, pieces: list[int]) -> pd.DataFrame:
    T = ua.n_teams
    units = np.bincount(team_of_unit, minlength=T)
    hh = np.bincount(team_of_unit, weights=ua.households, minlength=T).astype(int)
    ent = np.bincount(team_of_unit, weights=ua.enterprises, minlength=T).astype(int)
    load = np.bincount(team_of_unit, weights=ua.workload, minlength=T)
    d = ua.dist_m[np.arange(ua.n_units), team_of_unit] / 1000.0
    comp_sum = np.bincount(team_of_unit, weights=d, minlength=T)
    comp_max = np.zeros(T)
    np.maximum.at(comp_max, team_of_unit, d)
    vill = [len(set(ua.unit_village[(team_of_unit == t) & (ua.unit_village >= 0)])) for t in range(T)]
    mv_count = must_visits["team_id"].value_counts() if len(must_visits) else pd.Series(dtype=int)
    mv_joint = must_visits[must_visits["joint"]]["team_id"].value_counts() if len(must_visits) else pd.Series(dtype=int)
    target = ua.target_load()
    return pd.DataFrame({
        "team_id": ua.team_ids, "level": ua.team_level, "cadres": ua.team_cadres, "units": units,
        "villages": vill, "households": hh, "enterprises": ent,
        "hours": np.round(load / 60.0, 1), "target_hours": np.round(target / 60.0, 1),
        "load_ratio": np.round(np.where(target > 0, load / np.maximum(target, 1e-9), 0.0), 4),
        "must_visits": mv_count.reindex(ua.team_ids).fillna(0).astype(int).to_numpy(),
        "joint_must_visits": mv_joint.reindex(ua.team_ids).fillna(0).astype(int).to_numpy(),
        "compactness_km": np.round(np.where(units > 0, comp_sum / np.maximum(units, 1), 0.0), 3),
        "max_distance_km": np.round(comp_max, 3),
        "pieces": pieces,
        "base_given": ua.team_base_given,
    })


__all__ = ["assignment_frame", "household_minutes", "responsible_teams", "split_to_cadres", "teams_summary"]
