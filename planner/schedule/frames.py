"""The schedule as frames: ``stops``, ``days``, ``shortfall`` and a summary.

``stops`` (one row per visit, point geometry): cadre_id, team_id, date, session,
seq, entity_type, entity_id, village_id, grid_id, mode (visit | phone), arrive,
depart ("HH:MM"), arrive_s, start_s, depart_s (seconds after midnight;
``start_s`` > ``arrive_s`` when waiting for an appointment), wait_s,
service_s, travel_s, travel_m (from the previous place), must, joint_group,
reason (assigned, assigned+joint, must_visit:RULE, accompany:RULE).

``days`` (one row per cadre and date, route line geometry: start, the visits
in order, back at the start, as straight legs): cadre_id, team_id, date,
session, start, end, stops, phone_stops, working_min, service_min,
travel_min, distance_m, villages.

``shortfall`` (what is not scheduled before the deadline): cadre_id,
team_id, entity_type, entity_id, village_id, must, service_min, purpose (the
visit's reason, as in ``stops``), reason (why it is not scheduled: the rule, a
short category), detail (its numbers: the cadre's sessions used of those it
may work, or per date the rule that kept a joint visit off it; may be empty).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from planner.schedule.calendar import sessions_on
from planner.schedule.sweep import DETAIL

STOP_COLUMNS = ("cadre_id", "team_id", "date", "session", "seq", "entity_type", "entity_id", "village_id", "grid_id",
                "mode", "arrive", "depart", "arrive_s", "start_s", "depart_s", "wait_s", "service_s", "travel_s",
                "travel_m", "must", "joint_group", "reason")
DAY_COLUMNS = ("cadre_id", "team_id", "date", "session", "start", "end", "stops", "phone_stops", "working_min",
               "service_min", "travel_min", "distance_m", "villages")
SHORTFALL_COLUMNS = ("cadre_id", "team_id", "entity_type", "entity_id", "village_id", "must", "service_min", "purpose",
                     "reason", "detail")


@dataclass(frozen=True)
class Schedule:
    stops: gpd.GeoDataFrame
    days: gpd.GeoDataFrame
    shortfall: pd.DataFrame
    #: cadre_days, utilisation, first/last date, coverage counts, shortfall cadre-days, timing, notes ...
    info: dict
    #: per cadre: days, stops, route_s (routing time), shortfall, shortfall_cadre_days
    cadres: pd.DataFrame

    def info_frame(self) -> pd.DataFrame:
        import json

        rows = [(k, v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str))
                for k, v in self.info.items()]
        return pd.DataFrame(rows, columns=["key", "value"])


def hhmm(seconds: int) -> str:
    m = int(seconds) // 60
    return f"{m // 60:02d}:{m % 60:02d}"


def build_schedule(campaign, tasks, sweep, results: dict, unplaced: dict[int, str], rules, *, dates, timing: dict,
                   notes: tuple, seed: int, time_limit: float, iterations, frozen=None) -> Schedule:
    crs = campaign.crs
    t = tasks
    # plain arrays: a pandas lookup per stop costs more than the rest of the loop
    team_a, etype_a, eid_a = (t[c].to_numpy() for c in ("team_id", "entity_type", "entity_id"))
    vil_a, grid_a, reason_a = (t[c].to_numpy() for c in ("village_id", "grid_id", "reason"))
    must_a, group_a = t["must"].to_numpy().astype(bool), t["group"].to_numpy().astype(int)
    x_a, y_a = t["x"].to_numpy(float), t["y"].to_numpy(float)
    rows, gx, gy = [], [], []
    day_rows, lines = [], []
    route_s = defaultdict(float)
    for key in sorted(results):
        res = results[key]
        if not res.visits:
            continue
        cadre, date = key
        iso = date.isoformat()
        team = ""
        for v in res.visits:
            i = v.task
            team = team_a[i]
            rows.append((cadre, team, iso, res.session, v.seq, etype_a[i], eid_a[i], vil_a[i], grid_a[i],
                         "phone" if v.phone else "visit", hhmm(v.start), hhmm(v.depart), v.arrive, v.start, v.depart,
                         v.start - v.arrive, v.depart - v.start, v.travel_s, v.travel_m, bool(must_a[i]),
                         int(group_a[i]), reason_a[i]))
            gx.append(x_a[i])
            gy.append(y_a[i])
        service = sum(v.depart - v.start for v in res.visits)
        villages = sorted({vil_a[v.task] for v in res.visits})
        day_rows.append((cadre, team, iso, res.session, hhmm(res.start), hhmm(res.end), len(res.visits),
                         sum(v.phone for v in res.visits), round((res.end - res.start) / 60, 1), round(service / 60, 1),
                         round(res.travel_s / 60, 1), res.travel_m, ",".join(villages)))
        lines.append(res.path if len(res.path) >= 2 else None)
        route_s[cadre] += res.runtime
    stops = gpd.GeoDataFrame(pd.DataFrame(rows, columns=list(STOP_COLUMNS)),
                             geometry=gpd.points_from_xy(gx, gy), crs=crs)
    days = gpd.GeoDataFrame(pd.DataFrame(day_rows, columns=list(DAY_COLUMNS)), geometry=_lines(lines), crs=crs)

    if frozen is not None:  # re-planning: the kept stops and days come first
        fs, fd = frozen
        stops = gpd.GeoDataFrame(pd.concat([fs[list(STOP_COLUMNS) + ["geometry"]].to_crs(crs), stops],
                                           ignore_index=True), geometry="geometry", crs=crs)
        days = gpd.GeoDataFrame(pd.concat([fd[list(DAY_COLUMNS) + ["geometry"]].to_crs(crs), days],
                                          ignore_index=True), geometry="geometry", crs=crs)
        dates = sorted(set(dates) | {dt.date.fromisoformat(d) for d in fd["date"].astype(str)})
    short_idx = sorted(unplaced)
    shortfall = pd.DataFrame({
        "cadre_id": t["cadre_id"].to_numpy()[short_idx], "team_id": t["team_id"].to_numpy()[short_idx],
        "entity_type": t["entity_type"].to_numpy()[short_idx], "entity_id": t["entity_id"].to_numpy()[short_idx],
        "village_id": t["village_id"].to_numpy()[short_idx], "must": t["must"].to_numpy()[short_idx].astype(bool),
        "service_min": t["service_s"].to_numpy()[short_idx] / 60.0,
        "purpose": t["reason"].to_numpy()[short_idx],
        "reason": [unplaced[i].partition(DETAIL)[0] for i in short_idx],
        "detail": [unplaced[i].partition(DETAIL)[2] for i in short_idx],
    }, columns=list(SHORTFALL_COLUMNS))

    day_min = (rules.day_end - rules.day_start) * rules.fill
    short_days = {}
    for cadre, grp in shortfall.groupby("cadre_id"):
        # service plus an allowance of 5 minutes' travel per visit, in full daytime sessions
        short_days[cadre] = math.ceil((grp["service_min"].sum() + 5 * len(grp)) / day_min)
    per = stops.groupby("cadre_id").agg(days=("date", "nunique"), stops=("seq", "size")) if len(stops) else \
        pd.DataFrame(columns=["days", "stops"])
    cadres = pd.DataFrame({"cadre_id": sorted(set(t["cadre_id"]) - {""})}).set_index("cadre_id")
    cadres = cadres.join(per).fillna(0)
    cadres["route_s"] = pd.Series(route_s)
    cadres["shortfall"] = shortfall.groupby("cadre_id").size()
    cadres["shortfall_cadre_days"] = pd.Series(short_days)
    cadres = cadres.fillna(0).reset_index()
    cadres[["days", "stops", "shortfall", "shortfall_cadre_days"]] = \
        cadres[["days", "stops", "shortfall", "shortfall_cadre_days"]].astype(int)

    info = _summary(campaign, t, stops, days, shortfall, short_days, rules, dates, cadres)
    info.update({k: round(v, 3) for k, v in timing.items()})
    info.update({"seed": seed, "time_limit_per_day": time_limit, "iterations_per_day": iterations,
                 "notes": list(notes), "rules": rules.to_dict()})
    return Schedule(stops, days, shortfall, info, cadres)


def _lines(paths: list) -> np.ndarray:
    """Route lines from coordinate paths in one vectorised call (``None`` for a path of fewer than 2 points)."""
    out = np.full(len(paths), None, dtype=object)
    ok = [k for k, p in enumerate(paths) if p is not None]
    if ok:
        coords = np.array([xy for k in ok for xy in paths[k]], float).reshape(-1, 2)
        index = np.repeat(np.arange(len(ok)), [len(paths[k]) for k in ok])
        out[ok] = shapely.linestrings(coords, indices=index)
    return out


def _summary(campaign, t, stops, days, shortfall, short_days, rules, dates, cadres) -> dict:
    session_min = {}
    for d in dates:
        for s in sessions_on(d, rules):
            session_min[(d.isoformat(), s.kind)] = s.minutes
    avail = sum(session_min.get((d, s), 0) for d, s in zip(days["date"], days["session"]))
    worked = float(days["working_min"].sum()) if len(days) else 0.0
    visit_stops = stops[stops["reason"].str.contains("assigned")]
    first = t["reason"].str.contains("assigned|responsible")
    n_hh = int((t["entity_type"].eq("household") & first).sum())
    n_ent = int((t["entity_type"].eq("enterprise") & first).sum())
    must_stops = stops[stops["must"]]
    last_must = must_stops["date"].max() if len(must_stops) else None
    working = [d for d in dates if any(s.kind == "day" for s in sessions_on(d, rules))]
    must_deadline = working[min(rules.must_visit_days, len(working)) - 1].isoformat() if working and \
        rules.must_visit_days else None
    sf_assigned = shortfall[shortfall["purpose"].str.contains("assigned")]
    slow = cadres.sort_values("route_s", ascending=False).head(1)
    return {
        "start": dates[0].isoformat(), "end": dates[-1].isoformat(),
        "working_days": len(working),
        "cadre_days": int(len(days)), "cadres_used": int(days["cadre_id"].nunique()) if len(days) else 0,
        "cadres": int(len(cadres)),
        "utilisation": round(worked / avail, 4) if avail else 0.0,
        "first_visit": stops["date"].min() if len(stops) else None,
        "last_visit": stops["date"].max() if len(stops) else None,
        "stops": int(len(stops)), "phone_visits": int((stops["mode"] == "phone").sum()),
        "households": n_hh, "households_scheduled": int((visit_stops["entity_type"] == "household").sum()),
        "enterprises": n_ent, "enterprises_scheduled": int((visit_stops["entity_type"] == "enterprise").sum()),
        "must_visit_stops": int(len(must_stops)), "last_must_visit": last_must,
        "must_visit_deadline": must_deadline,
        "must_visits_late": int((must_stops["date"] > must_deadline).sum()) if must_deadline and len(must_stops) else 0,
        "joint_groups": int(stops.loc[stops["joint_group"] >= 0, "joint_group"].nunique()) if len(stops) else 0,
        "shortfall_visits": int(len(shortfall)),
        "shortfall_households": int(((sf_assigned["entity_type"] == "household")).sum()),
        "shortfall_enterprises": int(((sf_assigned["entity_type"] == "enterprise")).sum()),
        "shortfall_must_visits": int(shortfall["must"].sum()),
        "shortfall_cadre_days": int(sum(short_days.values())),
        "shortfall_cadres": int(len(short_days)),
        "travel_km": round(float(days["distance_m"].sum()) / 1000, 1) if len(days) else 0.0,
        "route_s_per_cadre": round(float(cadres["route_s"].mean()), 3) if len(cadres) else 0.0,
        "slowest_cadre": None if slow.empty else str(slow["cadre_id"].iat[0]),
        "slowest_cadre_route_s": None if slow.empty else round(float(slow["route_s"].iat[0]), 3),
    }
