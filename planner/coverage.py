"""Coverage (走访覆盖) from the visit records: one computation for maps, warnings and reports.

::

    cov = coverage(campaign, visits, assignment=plan_assignment, must_visits=plan_must_visits)
    cov.entities     # one row per household / enterprise: covered?, how, not-home backlog, team
    cov.by_grid, cov.by_village, cov.by_town, cov.by_team, cov.totals

Rules (:class:`CoverageRules`): a household is covered by an in-person visit
(入户走访), or by a phone / WeChat visit (电话/微信走访) when its status allows
it (vacant 空关户, away 人户分离); an enterprise by an in-person visit. An
entity not covered whose visits include "not at home" is in the not-at-home
backlog (待回访); one that refused (拒访) is counted apart. A must-visit
(四个必到) is done when its planned cadre made a covering visit to the entity
(for a village: an in-person visit to the village).

Pure: frames in, frames out. ``campaign`` is anything with ``households``,
``enterprises``, ``grids``, ``villages`` (and optionally ``towns``) frames
carrying the campaign schema's id columns; geometry is not used.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

OUTCOMES = ("visited", "not_home", "refused", "phone")
COUNT_COLUMNS = ["visits", *OUTCOMES]
#: Columns of every by-unit frame, in order.
UNIT_COLUMNS = [
    "households", "households_covered", "households_in_person", "households_by_phone", "enterprises",
    "enterprises_covered", "not_home_backlog", "refused", "not_visited", "coverage", "household_coverage",
    "must_visits_due", "must_visits_done",
]


@dataclass(frozen=True)
class CoverageRules:
    """What counts as covered (documented defaults from the seeds 001/002)."""

    #: household statuses for which a phone / WeChat visit covers the household
    phone_ok_statuses: tuple[str, ...] = ("vacant", "away")
    #: whether a phone visit covers an enterprise
    phone_ok_enterprise: bool = False


@dataclass(frozen=True)
class Coverage:
    entities: pd.DataFrame
    by_grid: pd.DataFrame
    by_village: pd.DataFrame
    by_town: pd.DataFrame
    by_team: pd.DataFrame
    must_visits: pd.DataFrame
    totals: dict = field(default_factory=dict)

    def by(self, unit: str) -> pd.DataFrame:
        """The frame for ``unit`` in grid, village, town, team."""
        return {"grid": self.by_grid, "village": self.by_village, "town": self.by_town, "team": self.by_team}[unit]


def visit_counts(visits: pd.DataFrame) -> pd.DataFrame:
    """Raw visits → one row per (entity_type, entity_id) with counts per outcome
    and first/last visit time: the recount that the store's counters must equal."""
    cols = ["entity_type", "entity_id", *COUNT_COLUMNS, "first_at", "last_at"]
    if visits is None or not len(visits):
        return pd.DataFrame({c: pd.Series(dtype="int64" if c in COUNT_COLUMNS else
                                          "datetime64[ns]" if c.endswith("_at") else object) for c in cols})
    outcome = visits["outcome"].to_numpy()
    v = pd.DataFrame({"entity_type": visits["entity_type"].to_numpy(),
                      "entity_id": visits["entity_id"].astype(str).to_numpy(),
                      "visited_at": pd.to_datetime(visits["visited_at"]).to_numpy(),
                      "visits": np.ones(len(visits), dtype="int64"),
                      **{o: (outcome == o).astype("int64") for o in OUTCOMES}})
    g = v.groupby(["entity_type", "entity_id"], sort=True)
    out = g[COUNT_COLUMNS].sum()
    out["first_at"] = g["visited_at"].min().astype("datetime64[ns]")
    out["last_at"] = g["visited_at"].max().astype("datetime64[ns]")
    return out.reset_index()[cols]


def _entities(campaign) -> pd.DataFrame:
    hh = campaign.households
    parts = [pd.DataFrame({
        "entity_type": "household", "entity_id": hh["household_id"].astype(str).to_numpy(),
        "grid_id": hh["grid_id"].astype(str).to_numpy(), "village_id": hh["village_id"].astype(str).to_numpy(),
        "status": (hh["status"].fillna("resident").astype(str).to_numpy() if "status" in hh
                   else np.full(len(hh), "resident", dtype=object)),
    })]
    ent = getattr(campaign, "enterprises", None)
    if ent is not None and len(ent):
        parts.append(pd.DataFrame({
            "entity_type": "enterprise", "entity_id": ent["enterprise_id"].astype(str).to_numpy(),
            "grid_id": ent["grid_id"].astype(str).to_numpy(), "village_id": ent["village_id"].astype(str).to_numpy(),
            "status": None,
        }))
    out = pd.concat(parts, ignore_index=True)
    vt = campaign.villages.set_index(campaign.villages["village_id"].astype(str))["town_id"].astype(str)
    out["town_id"] = vt.reindex(out["village_id"]).to_numpy()
    return out


def _codes(ent: pd.DataFrame, entity_type, entity_id) -> np.ndarray:
    """Row of ``ent`` for each (entity_type, entity_id) pair; -1 where the campaign has none."""
    etype = np.asarray(entity_type, dtype=object)
    eid = pd.Series(entity_id).astype(str).to_numpy()
    out = np.full(len(etype), -1, dtype=np.int64)
    for kind in ("household", "enterprise"):
        rows = np.flatnonzero(ent["entity_type"].to_numpy() == kind)
        if not len(rows):
            continue
        m = etype == kind
        if m.any():
            pos = pd.Index(ent["entity_id"].to_numpy()[rows]).get_indexer(eid[m])
            out[m] = np.where(pos >= 0, rows[np.maximum(pos, 0)], -1)
    return out


def _phone_ok(ent: pd.DataFrame, rules: CoverageRules) -> np.ndarray:
    """Per entity: does a phone / WeChat visit cover it?"""
    return np.where(ent["entity_type"].to_numpy() == "enterprise", rules.phone_ok_enterprise,
                    ent["status"].isin(rules.phone_ok_statuses).to_numpy())


def covering_visits(campaign, visits: pd.DataFrame, *, rules: CoverageRules = CoverageRules()) -> pd.Series:
    """Mask of the ``visits`` that cover their household or enterprise by the rules
    (village visits are never covering: villages are not counted in coverage)."""
    return _covering_visits(visits, _entities(campaign), rules)


def _covering_visits(visits: pd.DataFrame, ent: pd.DataFrame, rules: CoverageRules,
                     codes: np.ndarray | None = None) -> pd.Series:
    """Mask of visits that cover their entity by the rules."""
    if codes is None:
        codes = _codes(ent, visits["entity_type"], visits["entity_id"])
    phone_ok = np.zeros(len(visits), dtype=bool)
    known = codes >= 0
    phone_ok[known] = _phone_ok(ent, rules)[codes[known]]
    outcome = visits["outcome"].to_numpy()
    out = (outcome == "visited") & (visits["entity_type"].to_numpy() != "village")
    out |= (outcome == "phone") & phone_ok
    return pd.Series(out, index=visits.index)


def coverage(campaign, visits: pd.DataFrame | None = None, *, counters: pd.DataFrame | None = None,
             assignment: pd.DataFrame | None = None, must_visits: pd.DataFrame | None = None,
             rules: CoverageRules = CoverageRules(), as_of=None) -> Coverage:
    """Coverage of ``campaign`` from ``visits`` (raw records: entity_type,
    entity_id, cadre_id, visited_at, outcome) or from pre-aggregated
    ``counters`` (:func:`visit_counts`' columns; then must-visits count as done
    when the entity was covered by anyone, and ``covered_at`` is unknown).

    ``assignment`` (the plan's table) gives each entity its team; ``must_visits``
    the planned must-visits. ``as_of``: only visits up to this time count.
    """
    ent = _entities(campaign)
    n = len(ent)
    covered_at = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    if visits is not None:
        visits = visits.copy()
        visits["visited_at"] = pd.to_datetime(visits["visited_at"])
        visits["entity_id"] = visits["entity_id"].astype(str)
        if as_of is not None:
            visits = visits[visits["visited_at"] <= pd.Timestamp(as_of)]
        codes = _codes(ent, visits["entity_type"], visits["entity_id"])
        known = codes >= 0
        outcome = visits["outcome"].to_numpy()
        ent["visits"] = np.bincount(codes[known], minlength=n)
        for o in OUTCOMES:
            ent[o] = np.bincount(codes[known & (outcome == o)], minlength=n)
        cov_mask = _covering_visits(visits, ent, rules, codes).to_numpy() & known
        if cov_mask.any():
            first = pd.Series(visits["visited_at"].to_numpy()[cov_mask]).groupby(codes[cov_mask]).min()
            covered_at[first.index.to_numpy()] = first.to_numpy()
    else:
        if counters is None:
            counters = visit_counts(None)
        codes = _codes(ent, counters["entity_type"], counters["entity_id"])
        known = codes >= 0
        for col in COUNT_COLUMNS:
            arr = np.zeros(n, dtype="int64")
            arr[codes[known]] = counters[col].to_numpy()[known]
            ent[col] = arr
    phone_ok = _phone_ok(ent, rules)
    in_person = ent["visited"].to_numpy() > 0
    by_phone = ~in_person & (ent["phone"].to_numpy() > 0) & phone_ok
    ent["covered"] = in_person | by_phone
    ent["how"] = np.where(in_person, "in_person", np.where(by_phone, "phone", None))
    ent["not_home_backlog"] = ~ent["covered"] & (ent["not_home"].to_numpy() > 0)
    ent["refused_only"] = ~ent["covered"] & ~ent["not_home_backlog"] & (ent["refused"].to_numpy() > 0)
    ent["covered_at"] = covered_at
    ent["team_id"] = None
    ent["cadre_id"] = None
    if assignment is not None and len(assignment):
        a = assignment[assignment["entity_type"].isin(["household", "enterprise"])]
        acodes = _codes(ent, a["entity_type"], a["entity_id"])
        ok = acodes >= 0
        for col in ("team_id", "cadre_id"):
            if col in a:
                arr = np.full(n, None, dtype=object)
                arr[acodes[ok]] = a[col].to_numpy()[ok]
                ent[col] = arr

    mv = _must_visits_done(must_visits, visits, ent, campaign, rules)
    by_grid = _roll(ent, mv, "grid_id", campaign)
    by_village = _roll(ent, mv, "village_id", campaign)
    by_town = _roll(ent, mv, "town_id", campaign)
    by_team = _roll(ent, mv, "team_id", campaign)
    totals = _totals(ent, mv)
    return Coverage(ent, by_grid, by_village, by_town, by_team, mv, totals)


def _must_visits_done(must_visits, visits, ent, campaign, rules) -> pd.DataFrame:
    cols = ["rule", "entity_type", "entity_id", "cadre_id", "team_id", "done", "done_at", "grid_id", "village_id",
            "town_id"]
    if must_visits is None or not len(must_visits):
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    mv = must_visits.copy()
    mv["entity_id"] = mv["entity_id"].astype(str)
    mv["cadre_id"] = mv["cadre_id"].astype(str)
    if visits is not None and len(visits):
        visits = visits[visits["entity_id"].isin(set(mv["entity_id"]))]
        ok = visits[_covering_visits(visits, ent, rules).to_numpy()
                    | ((visits["entity_type"] == "village") & (visits["outcome"] == "visited")).to_numpy()]
        done_at = ok.groupby(["entity_type", "entity_id", "cadre_id"])["visited_at"].min()
        k = pd.MultiIndex.from_arrays([mv["entity_type"], mv["entity_id"], mv["cadre_id"]])
        mv["done_at"] = done_at.reindex(k).to_numpy()
        mv["done"] = mv["done_at"].notna()
    else:  # counters only: covered by anyone
        cov = ent.set_index(["entity_type", "entity_id"])["covered"]
        k = pd.MultiIndex.from_arrays([mv["entity_type"], mv["entity_id"]])
        mv["done"] = cov.reindex(k).fillna(False).astype(bool).to_numpy()
        mv["done_at"] = pd.NaT
    place = ent.set_index(["entity_type", "entity_id"])[["grid_id", "village_id", "town_id"]]
    k = pd.MultiIndex.from_arrays([mv["entity_type"], mv["entity_id"]])
    for col in ("grid_id", "village_id", "town_id"):
        mv[col] = place[col].reindex(k).to_numpy()
    is_v = mv["entity_type"] == "village"
    if is_v.any():
        vt = campaign.villages.set_index(campaign.villages["village_id"].astype(str))["town_id"].astype(str)
        mv.loc[is_v, "village_id"] = mv.loc[is_v, "entity_id"]
        mv.loc[is_v, "town_id"] = vt.reindex(mv.loc[is_v, "entity_id"]).to_numpy()
    return mv[cols]


def _roll(ent: pd.DataFrame, mv: pd.DataFrame, key: str, campaign) -> pd.DataFrame:
    units = _unit_index(key, campaign, ent)
    codes = units.get_indexer(ent[key].astype(object).to_numpy())
    ok = codes >= 0
    hh = ent["entity_type"].to_numpy() == "household"
    covered = ent["covered"].to_numpy(dtype=bool)
    how = ent["how"].to_numpy()
    backlog = ent["not_home_backlog"].to_numpy(dtype=bool)
    refused = ent["refused_only"].to_numpy(dtype=bool)

    def count(mask):
        return np.bincount(codes[ok & mask], minlength=len(units)).astype("int64")

    g = pd.DataFrame({
        "households": count(hh), "households_covered": count(hh & covered),
        "households_in_person": count(hh & (how == "in_person")), "households_by_phone": count(hh & (how == "phone")),
        "enterprises": count(~hh), "enterprises_covered": count(~hh & covered),
        "not_home_backlog": count(backlog), "refused": count(refused),
        "not_visited": count(~covered & ~backlog & ~refused),
    }, index=units)
    total = g["households"] + g["enterprises"]
    g["coverage"] = np.where(total > 0, (g["households_covered"] + g["enterprises_covered"]) / total.clip(lower=1), 0.0)
    g["household_coverage"] = np.where(g["households"] > 0, g["households_covered"] / g["households"].clip(lower=1), 0.0)
    if len(mv) and key in mv:
        m = mv.dropna(subset=[key]) if key != "team_id" else mv
        due = m.groupby(key).size()
        done = m[m["done"].astype(bool)].groupby(key).size()
        g["must_visits_due"] = due.reindex(g.index, fill_value=0).astype("int64")
        g["must_visits_done"] = done.reindex(g.index, fill_value=0).astype("int64")
    else:
        g["must_visits_due"] = 0
        g["must_visits_done"] = 0
    g.index.name = key
    g = g[UNIT_COLUMNS].reset_index()
    if key == "village_id":
        v = campaign.villages.set_index(campaign.villages["village_id"].astype(str))
        g.insert(1, "name", v["name"].reindex(g[key]).astype(object).to_numpy())
        g.insert(2, "town_id", v["town_id"].astype(str).reindex(g[key]).to_numpy())
    elif key == "grid_id":
        gv = campaign.grids.set_index(campaign.grids["grid_id"].astype(str))["village_id"].astype(str)
        g.insert(1, "village_id", gv.reindex(g[key]).to_numpy())
    elif key == "town_id":
        towns = getattr(campaign, "towns", None)
        names = (towns.set_index(towns["town_id"].astype(str))["name"] if towns is not None and len(towns)
                 else pd.Series(dtype=object))
        g.insert(1, "name", names.reindex(g[key]).astype(object).where(lambda s: s.notna(), g[key]).to_numpy())
    return g


def _unit_index(key: str, campaign, ent: pd.DataFrame) -> pd.Index:
    """Every unit of the campaign, also those with no households (coverage 0)."""
    if key == "grid_id":
        ids = campaign.grids["grid_id"].astype(str)
    elif key == "village_id":
        ids = campaign.villages["village_id"].astype(str)
    elif key == "town_id":
        ids = campaign.villages["town_id"].astype(str)
    else:
        ids = pd.Series(pd.unique(ent[key].dropna().to_numpy())).astype(str)
    return pd.Index(sorted(pd.unique(ids.to_numpy())), dtype=object, name=key)


def _totals(ent: pd.DataFrame, mv: pd.DataFrame) -> dict:
    hh = ent["entity_type"] == "household"
    n = len(ent)
    return {
        "households": int(hh.sum()), "households_covered": int((hh & ent["covered"]).sum()),
        "enterprises": int((~hh).sum()), "enterprises_covered": int((~hh & ent["covered"]).sum()),
        "not_home_backlog": int(ent["not_home_backlog"].sum()), "refused": int(ent["refused_only"].sum()),
        "coverage": float(ent["covered"].sum() / n) if n else 0.0,
        "must_visits_due": int(len(mv)), "must_visits_done": int(mv["done"].astype(bool).sum()) if len(mv) else 0,
    }


def progress(cov: Coverage, *, start, end, freq: str = "D") -> pd.DataFrame:
    """Covered entities per day (cumulative) against a straight-line schedule
    from ``start`` (0) to ``end`` (all): columns date, covered, expected."""
    days = pd.date_range(pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize(), freq=freq)
    covered_at = pd.to_datetime(cov.entities["covered_at"]).dropna().dt.normalize().sort_values().to_numpy()
    n = len(cov.entities)
    covered = np.searchsorted(covered_at, days.to_numpy(), side="right")
    span = max((days[-1] - days[0]).days, 1) if len(days) else 1
    expected = np.round(n * np.clip([(d - days[0]).days / span for d in days], 0, 1)).astype(int)
    return pd.DataFrame({"date": days, "covered": covered, "expected": expected})


def expected_share(as_of, *, start, end) -> float:
    """Share of the campaign that a straight-line schedule has covered by ``as_of`` (0..1)."""
    s, e, t = (pd.Timestamp(x) for x in (start, end, as_of))
    if e <= s:
        return 1.0
    return float(min(max((t - s) / (e - s), 0.0), 1.0))


__all__ = ["Coverage", "CoverageRules", "UNIT_COLUMNS", "coverage", "covering_visits", "expected_share", "progress", "visit_counts"]
