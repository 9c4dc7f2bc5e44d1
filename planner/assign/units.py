"""Campaign frames → the arrays the solver sees (geometry stops here).

Units are groups of grids at the rules' base level (grid, village or town).
For each unit: its grids, village, town, households, enterprises, workload in
minutes and centre; unit adjacency from touching polygons; teams with cadre
counts, levels, bases and allowed units; integer distances unit → team base.

Integer scaling is named once here: distances are kept in metres (float) and
turned into objective integers only in :mod:`planner.assign.model` via
:data:`OBJ_SCALE`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from planner.assign.rules import Rules
from planner.assign.seeding import distances, geometric_median, seed_bases

#: objective units per (weight × 1): every soft goal's penalty is multiplied by this and rounded
OBJ_SCALE = 60


@dataclass(frozen=True)
class UnitArrays:
    level: str
    unit_ids: np.ndarray  # (U,) str
    unit_village: np.ndarray  # (U,) int index into village_ids (-1 when the unit is a town)
    unit_town: np.ndarray  # (U,) int index into town_ids
    village_ids: np.ndarray
    town_ids: np.ndarray
    households: np.ndarray  # (U,) int
    enterprises: np.ndarray  # (U,) int
    workload: np.ndarray  # (U,) int minutes
    xy: np.ndarray  # (U, 2) float metres
    edges: np.ndarray  # (E, 2) int, i < j, units whose polygons touch
    team_ids: np.ndarray  # (T,) str
    team_level: np.ndarray  # (T,) str
    team_cadres: np.ndarray  # (T,) int
    team_base: np.ndarray  # (T, 2) float metres
    team_base_given: np.ndarray  # (T,) bool
    team_town: np.ndarray  # (T,) int index into town_ids, -1 when none
    team_granularity: np.ndarray  # (T,) str: grid | village | town
    eligible: np.ndarray  # (U, T) bool: layered linkage / own town
    dist_m: np.ndarray  # (U, T) float metres unit centre → team base
    grid_unit: pd.Series  # grid_id → unit index
    #: explicit workload share per team (a sub-problem keeps the full problem's shares)
    targets: np.ndarray | None = None

    @property
    def n_units(self) -> int:
        return len(self.unit_ids)

    @property
    def n_teams(self) -> int:
        return len(self.team_ids)

    def target_load(self) -> np.ndarray:
        """Each team's workload share (minutes): total × cadres / all cadres."""
        if self.targets is not None:
            return self.targets
        cad = np.maximum(self.team_cadres, 0).astype(float)
        if cad.sum() == 0:
            cad = np.ones_like(cad)
        return self.workload.sum() * cad / cad.sum()

    def village_units(self) -> dict[int, np.ndarray]:
        return {int(v): np.flatnonzero(self.unit_village == v) for v in np.unique(self.unit_village) if v >= 0}

    def group_of(self, granularity: str) -> np.ndarray:
        """Group index per unit at ``granularity`` (units of one group go to a coarse team together)."""
        if granularity == "village" and self.level == "grid":
            return self.unit_village
        if granularity == "town" and self.level in ("grid", "village"):
            return self.unit_town
        return np.arange(self.n_units)


def household_minutes(households: pd.DataFrame, rules: Rules) -> np.ndarray:
    """Workload minutes of each household (status minutes + poor extra)."""
    w = rules.workload
    status = households["status"] if "status" in households else pd.Series("resident", index=households.index)
    status = status.fillna("resident").astype(str)
    per = {s: w.household_minutes(s) for s in ("resident", "vacant", "rental", "away")}
    minutes = status.map(per).fillna(w.resident).to_numpy(float)
    poor = _bool_col(households, "poor")
    return minutes + poor * w.poor_extra


def _bool_col(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name not in frame:
        return np.zeros(len(frame), bool)
    return frame[name].fillna(False).astype(bool).to_numpy()


def build_units(campaign, rules: Rules) -> UnitArrays:
    """Aggregate the campaign's grids into units and compute every array."""
    level = rules.units.base
    grids = campaign.grids
    villages = campaign.villages
    village_town = villages.set_index("village_id")["town_id"].astype(str)
    g_village = grids["village_id"].astype(str).to_numpy()
    g_town = village_town.reindex(g_village).to_numpy()
    if level == "grid":
        g_key = grids["grid_id"].astype(str).to_numpy()
    elif level == "village":
        g_key = g_village
    else:
        g_key = g_town.astype(str)
    unit_ids, g_unit = np.unique(g_key, return_inverse=True)
    grid_unit = pd.Series(g_unit, index=grids["grid_id"].astype(str).to_numpy())

    village_ids = np.unique(villages["village_id"].astype(str).to_numpy())
    town_ids = np.unique(village_town.to_numpy().astype(str))
    vidx = pd.Series(np.arange(len(village_ids)), index=village_ids)
    tidx = pd.Series(np.arange(len(town_ids)), index=town_ids)
    U = len(unit_ids)
    unit_village = np.full(U, -1)
    unit_town = np.zeros(U, int)
    if level != "town":
        unit_village[g_unit] = vidx.reindex(g_village).to_numpy()
    unit_town[g_unit] = tidx.reindex(g_town.astype(str)).to_numpy()

    # unit geometry: union of grid polygons (only needed for adjacency and centre)
    geoms = grids.geometry.to_numpy()
    if level == "grid":
        unit_geom = geoms
    else:
        unit_geom = np.array([shapely.union_all(geoms[g_unit == u]) for u in range(U)], dtype=object)
    cen = shapely.centroid(unit_geom)
    xy = np.column_stack([shapely.get_x(cen), shapely.get_y(cen)])
    edges = _touching_pairs(unit_geom)

    hh = campaign.households
    h_unit = grid_unit.reindex(hh["grid_id"].astype(str)).to_numpy()
    minutes = household_minutes(hh, rules)
    households = np.bincount(h_unit, minlength=U)
    work = np.bincount(h_unit, weights=minutes, minlength=U)
    ent = campaign.enterprises
    if ent is not None and len(ent):
        e_unit = grid_unit.reindex(ent["grid_id"].astype(str)).to_numpy()
        enterprises = np.bincount(e_unit, minlength=U)
        work += enterprises * rules.workload.enterprise
    else:
        enterprises = np.zeros(U, int)

    teams = campaign.teams.reset_index(drop=True)
    cadres = campaign.cadres
    team_ids = teams["team_id"].astype(str).to_numpy()
    team_level = teams["level"].astype(str).to_numpy()
    team_cadres = cadres["team_id"].astype(str).value_counts().reindex(team_ids).fillna(0).astype(int).to_numpy()
    team_town = np.full(len(teams), -1)
    if "town_id" in teams:
        t_town = teams["town_id"]
        ok = t_town.notna().to_numpy()
        team_town[ok] = tidx.reindex(t_town[ok].astype(str)).fillna(-1).astype(int).to_numpy()
    granularity = np.array([rules.units.granularity(lv) for lv in team_level])

    eligible = np.ones((U, len(teams)), bool)
    if rules.units.town_teams_in_own_town:
        for t in np.flatnonzero((team_level == "town") & (team_town >= 0)):
            eligible[:, t] = unit_town == team_town[t]

    base = np.full((len(teams), 2), np.nan)
    if "base_x" in teams and "base_y" in teams:
        base[:, 0] = pd.to_numeric(teams["base_x"], errors="coerce").to_numpy(float)
        base[:, 1] = pd.to_numeric(teams["base_y"], errors="coerce").to_numpy(float)
    given = ~np.isnan(base).any(axis=1)
    if (~given).any():
        base = seed_bases(xy, work, eligible, team_cadres, edges, base, seed=0, kind=granularity,
                          whole=granularity != level, rules=rules)
    dist = distances(xy, base)

    return UnitArrays(
        level=level, unit_ids=unit_ids, unit_village=unit_village, unit_town=unit_town,
        village_ids=village_ids, town_ids=town_ids, households=households.astype(int),
        enterprises=enterprises.astype(int), workload=np.round(work).astype(int), xy=xy, edges=edges,
        team_ids=team_ids, team_level=team_level, team_cadres=team_cadres, team_base=base,
        team_base_given=given, team_town=team_town, team_granularity=granularity, eligible=eligible,
        dist_m=dist, grid_unit=grid_unit,
    )


def centred_on(ua: UnitArrays, team: np.ndarray) -> UnitArrays:
    """The arrays with each seeded base moved to the geometric median of its team's territory's
    unit centres (the point of least total distance to them, which is what the compactness term
    counts); given bases stay. The plan's compactness can only fall."""
    import dataclasses

    base = ua.team_base.copy()
    for t in np.flatnonzero(~ua.team_base_given):
        mine = np.flatnonzero(team == t)
        if len(mine):
            base[t] = geometric_median(ua.xy[mine], np.ones(len(mine)), ua.xy[mine].mean(axis=0))
    dist = distances(ua.xy, base)
    return dataclasses.replace(ua, team_base=base, dist_m=dist)


def _touching_pairs(geoms: np.ndarray) -> np.ndarray:
    """Pairs (i < j) of polygons that share a boundary (a line, not just a corner)."""
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    if len(left) == 0:
        return np.zeros((0, 2), int)
    shared = shapely.intersection(shapely.boundary(geoms[left]), shapely.boundary(geoms[right]))
    ok = shapely.length(shared) > 1e-6
    return np.column_stack([left[ok], right[ok]]).astype(int)


def subproblem(ua: UnitArrays, units: np.ndarray, teams: np.ndarray) -> UnitArrays:
    """The arrays of ``units`` and ``teams`` only (for large-neighbourhood search): edges among
    the units, the full problem's workload shares for the teams."""
    import dataclasses

    units = np.asarray(units)
    teams = np.asarray(teams)
    pos = np.full(ua.n_units, -1)
    pos[units] = np.arange(len(units))
    e = ua.edges[(pos[ua.edges[:, 0]] >= 0) & (pos[ua.edges[:, 1]] >= 0)]
    return dataclasses.replace(
        ua, unit_ids=ua.unit_ids[units], unit_village=ua.unit_village[units], unit_town=ua.unit_town[units],
        households=ua.households[units], enterprises=ua.enterprises[units], workload=ua.workload[units],
        xy=ua.xy[units], edges=pos[e], team_ids=ua.team_ids[teams], team_level=ua.team_level[teams],
        team_cadres=ua.team_cadres[teams], team_base=ua.team_base[teams],
        team_base_given=ua.team_base_given[teams], team_town=ua.team_town[teams],
        team_granularity=ua.team_granularity[teams], eligible=ua.eligible[np.ix_(units, teams)],
        dist_m=ua.dist_m[np.ix_(units, teams)], targets=ua.target_load()[teams],
    )
