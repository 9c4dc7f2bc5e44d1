"""A province campaign → one sub-campaign per county (县).

Which county each thing belongs to:

* a village: its town's ``county_id`` (``towns.county_id``); when the town has
  none, the county polygon that holds the town's (else the village's)
  representative point;
* grids, households and enterprises follow their village;
* a team: its own ``county_id`` column when given (an extra column of the
  teams table); else its ``town_id``'s county; else the county polygon that
  holds its base. A **city-level team without a county** spans counties: the
  city-level problem (:mod:`planner.province.city`) gives it its villages first,
  in one county, and it joins that county's problem with those villages fixed;
* cadres follow their team.

A campaign may also be a folder holding one campaign file per county
(:func:`jobs_from_folder`); each file is then loaded where its county is solved.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from geodata.campaign import Campaign
from geodata.errors import ZoufangError

#: campaign file suffixes recognised in a province folder
CAMPAIGN_SUFFIXES = (".gpkg", ".zip", ".geojson")


class ProvinceDataError(ZoufangError, ValueError):
    """The province cannot be split into counties (things that belong to no county); ``problems`` lists them."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("the campaign cannot be split into counties:\n  - " + "\n  - ".join(self.problems))


@dataclass(frozen=True)
class CountyJob:
    """One county's planning problem: an in-memory ``campaign`` or a ``source`` file to load
    where it runs; ``fixed`` maps village_id → team_id for city teams given villages first;
    ``frames``: the county's rows of an earlier plan (``assignment``, ``must_visits``) to schedule."""

    county_id: str
    name: str
    campaign: Campaign | None = None
    source: str | None = None
    fixed: Mapping[str, str] = field(default_factory=dict)
    households: int = 0
    frames: Mapping[str, pd.DataFrame] = field(default_factory=dict)


@dataclass(frozen=True)
class Membership:
    """County of every village and team of a province campaign."""

    county_ids: tuple[str, ...]  # in plan order (sorted)
    county_names: dict[str, str]
    village_county: pd.Series  # village_id → county_id
    team_county: pd.Series  # team_id → county_id, NaN for city teams that span counties
    spanning: tuple[str, ...]  # ids of city teams that span counties

    def villages_of(self, county_id: str) -> np.ndarray:
        return self.village_county.index[self.village_county.to_numpy() == county_id].to_numpy()


def is_province(campaign: Campaign) -> bool:
    """True when the campaign has counties (a ``counties`` layer or ``towns.county_id``)."""
    if campaign.counties is not None and len(campaign.counties):
        return True
    return campaign.towns is not None and "county_id" in campaign.towns and campaign.towns["county_id"].notna().any()


def membership(campaign: Campaign) -> Membership:
    """The county of every village and team; raises :class:`ProvinceDataError` listing
    everything that belongs to no county."""
    problems: list[str] = []
    counties = campaign.counties
    towns = campaign.towns
    villages = campaign.villages
    names: dict[str, str] = {}
    if counties is not None and len(counties):
        names = dict(zip(counties["county_id"].astype(str), counties["name"].astype(str)))

    # towns → county: column first, then polygon
    town_county = pd.Series(dtype=object)
    if towns is not None and len(towns):
        tids = towns["town_id"].astype(str).to_numpy()
        col = towns["county_id"] if "county_id" in towns else pd.Series([None] * len(towns), index=towns.index)
        town_county = pd.Series(col.where(col.notna(), None).to_numpy(dtype=object), index=tids)
        missing = town_county.isna().to_numpy()
        if missing.any() and _has_polygons(counties):
            town_county[missing] = _county_at(towns.geometry[missing].representative_point(), counties)
    v_ids = villages["village_id"].astype(str).to_numpy()
    v_county = town_county.reindex(villages["town_id"].astype(str).to_numpy()).to_numpy(dtype=object)
    missing = pd.isna(v_county)
    if missing.any() and _has_polygons(counties):
        v_county[missing] = _county_at(villages.geometry[missing].representative_point(), counties)
    village_county = pd.Series(v_county, index=v_ids, dtype=object)
    lost = village_county.index[village_county.isna()].tolist()
    if lost:
        problems.append(f"{len(lost)} village(s) belong to no county (their town has no county_id and they lie in "
                        f"no county polygon), e.g. {lost[:5]}: give towns.county_id")
    for cid in sorted(set(village_county.dropna())):
        names.setdefault(cid, cid)  # a county named only by towns.county_id is called by its id

    # teams → county
    teams = campaign.teams.reset_index(drop=True)
    team_ids = teams["team_id"].astype(str).to_numpy()
    t_county = np.full(len(teams), None, dtype=object)
    if "county_id" in teams:
        ok = teams["county_id"].notna().to_numpy()
        t_county[ok] = teams["county_id"][ok].astype(str).to_numpy()
    if "town_id" in teams:
        free = pd.isna(t_county) & teams["town_id"].notna().to_numpy()
        t_county[free] = town_county.reindex(teams["town_id"][free].astype(str).to_numpy()).to_numpy(dtype=object)
    level = teams["level"].astype(str).to_numpy()
    if _has_polygons(counties) and {"base_x", "base_y"} <= set(teams.columns):
        bx = pd.to_numeric(teams["base_x"], errors="coerce").to_numpy(float)
        by = pd.to_numeric(teams["base_y"], errors="coerce").to_numpy(float)
        free = pd.isna(t_county) & (level != "city") & ~np.isnan(bx) & ~np.isnan(by)
        if free.any():
            pts = gpd.GeoSeries(gpd.points_from_xy(bx[free], by[free]), crs=campaign.crs)
            t_county[free] = _county_at(pts, counties)
    bad = [f"{tid} (county_id {cid!r})" for tid, cid in zip(team_ids, t_county) if cid is not None and cid not in names]
    if bad:
        problems.append(f"{len(bad)} team(s) name a county that has no village: {bad[:5]}")
    lost = [tid for tid, cid, lv in zip(team_ids, t_county, level) if cid is None and lv != "city"]
    if lost:
        problems.append(f"{len(lost)} county/town team(s) belong to no county (no county_id, no town_id with a "
                        f"county, no base inside a county polygon), e.g. {lost[:5]}: give teams.county_id")
    if problems:
        raise ProvinceDataError(problems)
    spanning = tuple(tid for tid, cid in zip(team_ids, t_county) if cid is None)
    return Membership(tuple(sorted(names)), names, village_county, pd.Series(t_county, index=team_ids, dtype=object),
                      spanning)


def split_campaign(campaign: Campaign, *, member: Membership | None = None,
                   city: Mapping[str, str] | None = None) -> list[CountyJob]:
    """One :class:`CountyJob` per county, in county order. ``city`` (village_id → team_id,
    from :func:`planner.province.city.assign_city_teams`) puts each spanning city team in the
    county of its villages with those villages fixed; spanning city teams without villages
    are left out."""
    member = member or membership(campaign)
    city = dict(city or {})
    v_county = member.village_county
    grids = campaign.grids
    g_county = v_county.reindex(grids["village_id"].astype(str).to_numpy()).to_numpy()
    g_of = pd.Series(g_county, index=grids["grid_id"].astype(str).to_numpy())
    city_team_county: dict[str, str] = {}
    for vid, tid in city.items():
        city_team_county.setdefault(tid, v_county[vid])
    t_county = member.team_county.copy()
    for tid, cid in city_team_county.items():
        t_county[tid] = cid
    cad_county = t_county.reindex(campaign.cadres["team_id"].astype(str).to_numpy()).to_numpy()

    def point_county(frame):
        if frame is None or not len(frame):
            return np.array([], dtype=object)
        return g_of.reindex(frame["grid_id"].astype(str).to_numpy()).to_numpy()

    h_county = point_county(campaign.households)
    e_county = point_county(campaign.enterprises)
    lost = [f"{int(pd.isna(c).sum())} {layer} in no county's grid, e.g. "
            f"{frame.loc[pd.isna(c), 'grid_id'].astype(str).tolist()[:3]}"
            for layer, frame, c in (("households", campaign.households, h_county),
                                    ("enterprises", campaign.enterprises, e_county)) if pd.isna(c).any()]
    if lost:  # never drop a household silently
        raise ProvinceDataError(lost + ["give them a grid_id of a grid whose village has a county"])
    # row positions per county, computed once (a mask per county would cost counties × rows)
    rows = {name: _positions(keys) for name, keys in (
        ("villages", v_county.to_numpy()), ("grids", g_county), ("households", h_county), ("enterprises", e_county),
        ("teams", t_county.to_numpy()), ("cadres", cad_county))}
    none = np.array([], dtype=int)
    town_pos = {}
    if campaign.towns is not None:
        t_of = campaign.towns["town_id"].astype(str).to_numpy()
        v_town = campaign.villages["town_id"].astype(str).to_numpy()
        town_pos = {cid: np.flatnonzero(np.isin(t_of, np.unique(v_town[pos]))) for cid, pos in rows["villages"].items()}
    jobs = []
    for cid in member.county_ids:
        def take(frame, name, cid=cid):
            return frame.iloc[rows[name].get(cid, none)].reset_index(drop=True)

        hh = take(campaign.households, "households")
        ent = campaign.enterprises
        if ent is not None and len(ent):
            ent = take(ent, "enterprises")
        counties = None
        if campaign.counties is not None:
            counties = campaign.counties[campaign.counties["county_id"].astype(str) == cid].reset_index(drop=True)
        towns = None
        if campaign.towns is not None:
            towns = campaign.towns.iloc[town_pos.get(cid, none)].reset_index(drop=True)
        sub = replace(
            campaign, villages=take(campaign.villages, "villages"), grids=take(grids, "grids"), households=hh,
            enterprises=ent, teams=take(campaign.teams, "teams"), cadres=take(campaign.cadres, "cadres"),
            towns=towns, counties=counties, roads=None, name=f"{campaign.name}/{cid}", warnings=(),
        )
        fixed = {vid: tid for vid, tid in city.items() if v_county[vid] == cid}
        jobs.append(CountyJob(cid, member.county_names.get(cid, cid), campaign=sub, fixed=fixed,
                              households=len(hh)))
    return jobs


def _positions(keys) -> dict:
    """county id → row positions (rows without a county left out)."""
    arr = np.asarray(keys, dtype=object)
    pos = np.flatnonzero(~pd.isna(arr))
    if not len(pos):
        return {}
    groups = pd.Series(pos).groupby(arr[pos].astype(str)).indices  # positions into ``pos``
    return {k: np.sort(pos[v]) for k, v in groups.items()}


def jobs_from_folder(folder: str | Path) -> list[CountyJob]:
    """One job per campaign file (or sub-folder) of ``folder``; the county id is the file's stem.
    Each is loaded and validated where it runs, so a county with bad data fails alone."""
    folder = Path(folder)
    entries = sorted(p for p in folder.iterdir()
                     if (p.is_file() and p.suffix.lower() in CAMPAIGN_SUFFIXES) or (p.is_dir() and not p.name.startswith(".")))
    if not entries:
        raise ProvinceDataError([f"{folder} holds no campaign file ({', '.join(CAMPAIGN_SUFFIXES)}) or folder"])
    _check_shared_teams(entries)
    return [CountyJob(p.stem, p.stem, source=str(p)) for p in entries]


def _check_shared_teams(entries: list[Path]) -> None:
    """A team in two county files would be planned twice, its cadres counted in both: refuse that
    (a city team that spans counties belongs in a province file, where the city-level problem places it)."""
    import pyogrio

    seen: dict[str, list[str]] = {}
    for p in entries:
        if not (p.is_file() and p.suffix.lower() == ".gpkg"):
            continue
        try:
            teams = pyogrio.read_dataframe(p, layer="teams", columns=["team_id"], read_geometry=False)
        except Exception:  # unreadable or no teams layer: the county's own load reports it
            continue
        for tid in set(teams["team_id"].dropna().astype(str)):
            seen.setdefault(tid, []).append(p.stem)
    shared = {tid: files for tid, files in seen.items() if len(files) > 1}
    if shared:
        raise ProvinceDataError([f"{len(shared)} team(s) appear in more than one county file, e.g. " + ", ".join(
            f"{tid} in {files}" for tid, files in sorted(shared.items())[:5]) + ": a team belongs to one county; put "
            "city teams that span counties in a province file (counties layer) instead of a folder"])


def _has_polygons(counties) -> bool:
    return counties is not None and len(counties) > 0 and counties.geometry.notna().any()


def _county_at(points: gpd.GeoSeries, counties: gpd.GeoDataFrame) -> np.ndarray:
    """County id of the polygon holding each point (None when none does; the first one when several do)."""
    pts = gpd.GeoDataFrame(geometry=points.reset_index(drop=True), crs=counties.crs)
    hit = gpd.sjoin(pts, counties[["county_id", "geometry"]], how="left", predicate="within")
    hit = hit[~hit.index.duplicated(keep="first")]
    out = hit["county_id"].reindex(range(len(pts))).to_numpy(dtype=object)
    return np.array([None if pd.isna(c) else str(c) for c in out], dtype=object)
