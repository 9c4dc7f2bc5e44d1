"""Visits to schedule (走访任务), one row per cadre and place, from a plan.

Every household and enterprise of the assignment gets a visit by its
responsible cadre (包户干部). Every must-visit row (四个必到) adds the named
cadre to that visit: the responsible cadre's own visit when it is the same
cadre, else a *joint visit* (联合走访): all cadres of one entity form a
``group`` that the schedule puts on the same day and the same appointment.
A must-visit of a whole village (weak village, resettlement community) is a
meeting at the village committee (村委会) with one cadre of the responsible
team (the one with most households there): never a visit alone.

Columns of the frame :func:`build_tasks` returns: ``task`` (0..n-1),
``cadre_id``, ``team_id``, ``entity_type`` (household | enterprise |
village), ``entity_id``, ``x``, ``y`` (campaign CRS), ``village_id``,
``grid_id``, ``session`` (day | community | phone: which sessions may hold
it), ``service_s`` (seconds), ``phone``, ``must``, ``reason``, ``group``
(joint-visit group, -1 when alone), ``order`` (sweep order of the cadre's
visits: village, grid, then along a Hilbert curve).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from planner.schedule.rules import ScheduleRules

COLUMNS = ("task", "cadre_id", "team_id", "entity_type", "entity_id", "x", "y", "village_id", "grid_id",
           "session", "service_s", "phone", "must", "reason", "group", "order")


def hilbert_index(x: np.ndarray, y: np.ndarray, *, bits: int = 16) -> np.ndarray:
    """Position of each point along a Hilbert curve over the points' bounding box."""
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    if not len(x):
        return np.zeros(0, np.int64)
    n = 1 << bits
    span = max(np.ptp(x), np.ptp(y), 1e-9)
    xi = np.minimum(((x - x.min()) / span * (n - 1)).astype(np.int64), n - 1)
    yi = np.minimum(((y - y.min()) / span * (n - 1)).astype(np.int64), n - 1)
    d = np.zeros(len(x), np.int64)
    s = n >> 1
    while s > 0:
        rx = ((xi & s) > 0).astype(np.int64)
        ry = ((yi & s) > 0).astype(np.int64)
        d += s * s * ((3 * rx) ^ ry)
        flip = ry == 0
        swap_x = np.where(flip & (rx == 1), n - 1 - xi, xi)
        swap_y = np.where(flip & (rx == 1), n - 1 - yi, yi)
        xi, yi = np.where(flip, swap_y, swap_x), np.where(flip, swap_x, swap_y)
        s >>= 1
    return d


def village_points(campaign) -> pd.DataFrame:
    """Village committee (村委会) stand-in per village: a point inside its polygon; and its kind."""
    v = campaign.villages
    pts = v.geometry.representative_point()
    return pd.DataFrame({"village_id": v["village_id"].astype(str).to_numpy(), "x": pts.x.to_numpy(),
                         "y": pts.y.to_numpy(), "kind": v["kind"].astype(str).to_numpy()})


def build_tasks(campaign, assignment: pd.DataFrame, must_visits: pd.DataFrame, rules: ScheduleRules) -> pd.DataFrame:
    """One row per (cadre, place) visit; see the module docstring for the columns."""
    sm = rules.service_minutes
    vp = village_points(campaign).set_index("village_id")
    kind = vp["kind"]
    a = assignment[assignment["entity_type"].isin(["household", "enterprise"])].copy()
    a["entity_id"] = a["entity_id"].astype(str)
    parts = []
    hh = campaign.households
    if len(hh):
        h = pd.DataFrame({
            "entity_id": hh["household_id"].astype(str).to_numpy(), "x": hh.geometry.x.to_numpy(),
            "y": hh.geometry.y.to_numpy(), "village_id": hh["village_id"].astype(str).to_numpy(),
            "grid_id": hh["grid_id"].astype(str).to_numpy(),
            "status": hh["status"].fillna("resident").astype(str).to_numpy() if "status" in hh else "resident",
            "poor": hh["poor"].fillna(False).astype(bool).to_numpy() if "poor" in hh else False,
        })
        h["entity_type"] = "household"
        h["service_min"] = [sm.household(s, poor=p) for s, p in zip(h["status"], h["poor"])]
        h["phone"] = h["status"].isin(rules.phone_statuses).to_numpy()
        h["session"] = np.where(kind.reindex(h["village_id"]).to_numpy() == "community", "community", "day")
        parts.append(h.drop(columns=["status", "poor"]))
    ent = campaign.enterprises
    if ent is not None and len(ent):
        e = pd.DataFrame({
            "entity_id": ent["enterprise_id"].astype(str).to_numpy(), "x": ent.geometry.x.to_numpy(),
            "y": ent.geometry.y.to_numpy(), "village_id": ent["village_id"].astype(str).to_numpy(),
            "grid_id": ent["grid_id"].astype(str).to_numpy(),
        })
        e["entity_type"] = "enterprise"
        e["service_min"] = float(sm.enterprise)
        e["phone"] = False
        e["session"] = "day"
        parts.append(e)
    places = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["entity_id", "x", "y", "village_id", "grid_id", "entity_type", "service_min", "phone", "session"])
    base = a[["entity_type", "entity_id", "team_id", "cadre_id"]].merge(places, on=["entity_type", "entity_id"], how="inner")
    base["must"] = False
    base["reason"] = "assigned"
    base["group"] = -1

    rows = [base]
    mv = must_visits.copy() if must_visits is not None else pd.DataFrame(columns=["entity_type"])
    if len(mv):
        mv["entity_id"] = mv["entity_id"].astype(str)
        mv["cadre_id"] = mv["cadre_id"].astype(str)
        rows.extend(_must_visit_rows(base, mv, campaign, assignment, vp, rules))
    t = pd.concat(rows, ignore_index=True)
    t["cadre_id"] = t["cadre_id"].where(t["cadre_id"].notna(), "").astype(str)
    t = _merge_same_cadre(t)
    t["phone"] = t["phone"].astype(bool) & ~t["must"].astype(bool)
    t["session"] = np.where(t["phone"], "phone", t["session"])
    t["service_s"] = np.ceil(t["service_min"].astype(float) * 60).astype(np.int64)
    t = _number_groups(t)
    vh = hilbert_index(vp["x"].to_numpy(), vp["y"].to_numpy())
    vrank = pd.Series(np.argsort(np.argsort(vh, kind="stable"), kind="stable"), index=vp.index)
    t["order"] = hilbert_index(t["x"].to_numpy(), t["y"].to_numpy(), bits=24)
    t["_v"] = vrank.reindex(t["village_id"]).fillna(-1).to_numpy()
    t = t.sort_values(["cadre_id", "_v", "grid_id", "order", "entity_id"], kind="stable").reset_index(drop=True)
    t["order"] = np.arange(len(t))
    t["task"] = np.arange(len(t))
    t["cadre_id"] = t["cadre_id"].fillna("").astype(str)
    t["team_id"] = t["team_id"].fillna("").astype(str)
    return t[list(COLUMNS)]


def _must_visit_rows(base: pd.DataFrame, mv: pd.DataFrame, campaign, assignment, vp, rules) -> list[pd.DataFrame]:
    out = []
    ent = mv[mv["entity_type"].isin(["household", "enterprise"])]
    if len(ent):
        j = ent[["rule", "entity_type", "entity_id", "cadre_id", "team_id"]].merge(
            base.drop(columns=["cadre_id", "team_id", "reason", "must"]), on=["entity_type", "entity_id"], how="inner")
        j["must"] = True
        j["reason"] = "must_visit:" + j["rule"].astype(str)
        out.append(j.drop(columns=["rule"]))
        # the responsible cadre's own visit becomes part of the must-visit
        hit = base.set_index(["entity_type", "entity_id"]).index.isin(ent.set_index(["entity_type", "entity_id"]).index)
        base.loc[hit, "must"] = True
        base.loc[hit, "reason"] = "assigned+joint"
    vil = mv[mv["entity_type"] == "village"]
    if len(vil):
        cadre_team = campaign.cadres.set_index(campaign.cadres["cadre_id"].astype(str))["team_id"].astype(str)
        hh_counts = base[base["entity_type"] == "household"].groupby(["village_id", "team_id", "cadre_id"]).size()
        meet = []
        for vid, rows in vil.groupby("entity_id", sort=True):
            if vid not in vp.index:
                continue
            x, y, kind = vp.loc[vid, ["x", "y", "kind"]]
            resp = rows["responsible_team_id"].dropna().astype(str)
            cadres = list(dict.fromkeys(rows["cadre_id"]))
            rule_of = dict(zip(rows["cadre_id"], rows["rule"]))
            if len(resp):
                team = resp.iloc[0]
                try:
                    cand = hh_counts.loc[(vid, team)].sort_index().sort_values(ascending=False, kind="stable")
                except KeyError:
                    cand = pd.Series(dtype=int)
                local = [c for c in cand.index if c not in cadres]
                if local:
                    cadres.append(local[0])
            for c in cadres:
                reason = f"must_visit:{rule_of[c]}" if c in rule_of else "accompany:" + str(rows["rule"].iloc[0])
                meet.append({"entity_type": "village", "entity_id": vid, "cadre_id": c,
                             "team_id": cadre_team.get(c, ""), "x": x, "y": y, "village_id": vid, "grid_id": "",
                             "service_min": float(rules.village_meeting_minutes), "phone": False, "session": "day",
                             "must": True, "reason": reason, "group": -1})
        if meet:
            out.append(pd.DataFrame(meet))
    return out


def _merge_same_cadre(t: pd.DataFrame) -> pd.DataFrame:
    """One visit per (cadre, entity): reasons joined, the longest service kept."""
    key = ["cadre_id", "entity_type", "entity_id"]
    dup = t.duplicated(key, keep=False)
    if not dup.any():
        return t
    single = t[~dup]
    multi = t[dup]
    agg = multi.groupby(key, sort=False).agg(
        {c: "first" for c in t.columns if c not in key + ["reason", "service_min", "must"]}
        | {"reason": lambda r: ";".join(dict.fromkeys("assigned" if x == "assigned+joint" else x
                                                      for s in r for x in s.split(";"))),
           "service_min": "max", "must": "any"}).reset_index()
    return pd.concat([single, agg[t.columns]], ignore_index=True)


def _number_groups(t: pd.DataFrame) -> pd.DataFrame:
    """Entities visited by more than one cadre with a must-visit form one joint group each."""
    t = t.copy()
    key = t["entity_type"] + "/" + t["entity_id"].astype(str)
    n = key.map(key.value_counts())
    joint_ent = t.loc[t["must"] & (n > 1), ["entity_type", "entity_id"]].drop_duplicates()
    joint_ent = joint_ent.sort_values(["entity_type", "entity_id"]).reset_index(drop=True)
    ids = pd.Series(np.arange(len(joint_ent)), index=joint_ent["entity_type"] + "/" + joint_ent["entity_id"].astype(str))
    t["group"] = key.map(ids).fillna(-1).astype(int).to_numpy()
    return t
