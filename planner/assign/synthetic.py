"""Synthetic campaigns for tests and benchmarks: square towns, villages and grids
in EPSG:32631, households and enterprises as points inside, teams and cadres.

Deterministic for a given seed. Not a substitute for the demo's real
geography (:mod:`geodata.demo`); used where a sized, controlled instance is
needed.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from geodata.campaign import Campaign

CRS_METRIC = CRS.from_epsg(32631)
ORIGIN = (500_000.0, 4_500_000.0)


def make_campaign(*, towns: tuple[int, int] = (2, 1), villages: tuple[int, int] = (2, 2),
                  grids: tuple[int, int] = (2, 2), grid_size: float = 500.0, households_per_grid: int = 20,
                  city_teams: int = 1, county_teams: int = 2, town_teams_per_town: int = 2,
                  cadres_per_team: tuple[int, int] = (3, 5), weak_share: float = 0.15,
                  community_share: float = 0.25, poor_share: float = 0.03, enterprise_per_household: float = 0.05,
                  listed_share: float = 0.1, seniors_per_team: dict | None = None, base_share: float = 1.0,
                  seed: int = 0, name: str = "synthetic") -> Campaign:
    """A campaign on a regular layout: ``towns`` (nx, ny) blocks of ``villages`` (nx, ny) blocks of
    ``grids`` (nx, ny) squares of ``grid_size`` metres."""
    rng = np.random.default_rng(seed)
    tx, ty = towns
    vx, vy = villages
    gx, gy = grids
    vsize = (gx * grid_size, gy * grid_size)
    tsize = (vx * vsize[0], vy * vsize[1])
    town_rows, village_rows, grid_rows = [], [], []
    for ti in range(tx * ty):
        ox = ORIGIN[0] + (ti % tx) * tsize[0]
        oy = ORIGIN[1] + (ti // tx) * tsize[1]
        tid = f"T{ti + 1:02d}"
        town_rows.append((tid, f"Town {ti + 1}", shapely.box(ox, oy, ox + tsize[0], oy + tsize[1])))
        for vi in range(vx * vy):
            vox = ox + (vi % vx) * vsize[0]
            voy = oy + (vi // vx) * vsize[1]
            vid = f"{tid}V{vi + 1:02d}"
            kind = "community" if rng.random() < community_share else "village"
            weak = bool(kind == "village" and rng.random() < weak_share)
            resettle = bool(kind == "community" and rng.random() < 0.3)
            village_rows.append((vid, f"Village {vid}", tid, kind, weak, resettle,
                                 shapely.box(vox, voy, vox + vsize[0], voy + vsize[1])))
            for gi in range(gx * gy):
                gox = vox + (gi % gx) * grid_size
                goy = voy + (gi // gx) * grid_size
                grid_rows.append((f"{vid}G{gi + 1:02d}", vid, shapely.box(gox, goy, gox + grid_size, goy + grid_size)))
    towns_f = gpd.GeoDataFrame(town_rows, columns=["town_id", "name", "geometry"], crs=CRS_METRIC)
    villages_f = gpd.GeoDataFrame(village_rows, columns=["village_id", "name", "town_id", "kind", "weak",
                                                         "resettlement", "geometry"], crs=CRS_METRIC)
    grids_f = gpd.GeoDataFrame(grid_rows, columns=["grid_id", "village_id", "geometry"], crs=CRS_METRIC)

    # households and enterprises
    n_g = len(grids_f)
    counts = rng.poisson(households_per_grid, n_g)
    g_idx = np.repeat(np.arange(n_g), counts)
    bounds = grids_f.geometry.bounds.to_numpy()
    u = rng.random((len(g_idx), 2)) * 0.98 + 0.01
    hx = bounds[g_idx, 0] + u[:, 0] * grid_size
    hy = bounds[g_idx, 1] + u[:, 1] * grid_size
    status = rng.choice(["resident", "vacant", "rental", "away"], size=len(g_idx), p=[0.8, 0.08, 0.07, 0.05])
    households_f = gpd.GeoDataFrame({
        "household_id": [f"H{i + 1:06d}" for i in range(len(g_idx))],
        "status": status, "poor": rng.random(len(g_idx)) < poor_share,
        "grid_id": grids_f["grid_id"].to_numpy()[g_idx], "village_id": grids_f["village_id"].to_numpy()[g_idx],
    }, geometry=gpd.points_from_xy(hx, hy), crs=CRS_METRIC)
    n_e = rng.binomial(len(g_idx), enterprise_per_household) if len(g_idx) else 0
    e_g = rng.integers(0, n_g, n_e)
    ue = rng.random((n_e, 2)) * 0.98 + 0.01
    enterprises_f = gpd.GeoDataFrame({
        "enterprise_id": [f"E{i + 1:05d}" for i in range(n_e)], "name": [f"Enterprise {i + 1}" for i in range(n_e)],
        "listed": rng.random(n_e) < listed_share,
        "grid_id": grids_f["grid_id"].to_numpy()[e_g], "village_id": grids_f["village_id"].to_numpy()[e_g],
    }, geometry=gpd.points_from_xy(bounds[e_g, 0] + ue[:, 0] * grid_size, bounds[e_g, 1] + ue[:, 1] * grid_size),
        crs=CRS_METRIC)

    # teams and cadres
    seniors = {"city": 1, "county": 1, "town": 0} if seniors_per_team is None else seniors_per_team
    minx, miny = ORIGIN
    maxx, maxy = ORIGIN[0] + tx * tsize[0], ORIGIN[1] + ty * tsize[1]
    team_rows, cadre_rows = [], []

    def add_team(tid, level, town, bx, by):
        has_base = rng.random() < base_share
        team_rows.append((tid, f"Team {tid}", level, town, bx if has_base else np.nan, by if has_base else np.nan))
        n = int(rng.integers(cadres_per_team[0], cadres_per_team[1] + 1))
        for k in range(n):
            senior = k < seniors.get(level, 0)
            rank = str(rng.choice(["deputy_division", "division"])) if senior else str(
                rng.choice(["staff", "deputy_section", "section"]))
            cadre_rows.append((f"{tid}C{k + 1}", tid, f"Cadre {tid}-{k + 1}", level, rank))

    for i in range(city_teams):
        add_team(f"CITY{i + 1:02d}", "city", None, rng.uniform(minx, maxx), rng.uniform(miny, maxy))
    for i in range(county_teams):
        add_team(f"CNTY{i + 1:02d}", "county", None, rng.uniform(minx, maxx), rng.uniform(miny, maxy))
    for trow in town_rows:
        b = trow[2].bounds
        for i in range(town_teams_per_town):
            add_team(f"{trow[0]}W{i + 1}", "town", trow[0], rng.uniform(b[0], b[2]), rng.uniform(b[1], b[3]))
    teams_f = pd.DataFrame(team_rows, columns=["team_id", "name", "level", "town_id", "base_x", "base_y"])
    cadres_f = pd.DataFrame(cadre_rows, columns=["cadre_id", "team_id", "name", "level", "rank"])
    return Campaign(crs=CRS_METRIC, villages=villages_f, grids=grids_f, households=households_f,
                    enterprises=enterprises_f, teams=teams_f, cadres=cadres_f, towns=towns_f, name=name)


def detach_town(campaign: Campaign, town_id: str = "T02", xoff: float = 5_000.0,
                drop_teams: int = 0) -> Campaign:
    """The campaign with town ``town_id``'s grids moved ``xoff`` metres east, so that its grids
    touch no other town's (two parts of the map: islands, valleys); ``drop_teams``: the first so
    many teams are left out, with their cadres."""
    import dataclasses

    g = campaign.grids.copy()
    moved = g["village_id"].str.startswith(town_id)
    g.loc[moved, "geometry"] = g.loc[moved, "geometry"].translate(xoff=xoff)
    teams = campaign.teams.iloc[drop_teams:].reset_index(drop=True)
    cadres = campaign.cadres[campaign.cadres["team_id"].isin(teams["team_id"])].reset_index(drop=True)
    return dataclasses.replace(campaign, grids=g, teams=teams, cadres=cadres)
