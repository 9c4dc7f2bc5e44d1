"""Synthetic provinces for tests: small counties side by side, built in code.

Each county is a :func:`planner.assign.synthetic.make_campaign` county
(seeded by its index) shifted east, its ids prefixed ``K<n>``; towns carry
``county_id``, teams a ``county_id`` column, and a ``counties`` layer holds the
dissolved towns. ``spanning_city_teams`` adds city teams without a county
(bases spread over the province) for the city-level problem.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geodata.campaign import Campaign
from planner.assign.synthetic import make_campaign


def make_province(*, counties: int = 4, villages: tuple[int, int] = (2, 1), grids: tuple[int, int] = (2, 2),
                  households_per_grid: int = 10, spanning_city_teams: int = 0, cadres_per_team: tuple[int, int] = (3, 4),
                  seed: int = 0, **county_options) -> Campaign:
    """``counties`` counties of one town each (``villages`` × ``grids``), 1 city, 1 county and 1 town team each."""
    parts = []
    crs = None
    width = villages[0] * grids[0] * 500.0
    opts = dict(towns=(1, 1), city_teams=1, county_teams=1, town_teams_per_town=1)
    opts.update(county_options)
    for k in range(counties):
        c = make_campaign(villages=villages, grids=grids, households_per_grid=households_per_grid,
                          cadres_per_team=cadres_per_team, seed=seed * 1000 + k, **opts)
        crs = c.crs
        tag, dx = f"K{k + 1}", k * width

        def shifted(frame, cols, tag=tag, dx=dx):
            out = frame.copy()
            if "geometry" in out:
                out["geometry"] = shapely.transform(out.geometry.to_numpy(), lambda xy: xy + [dx, 0.0])
            for col in cols:
                out[col] = [None if pd.isna(v) else f"{tag}{v}" for v in out[col]]
            return out

        towns = shifted(c.towns, ["town_id"])
        towns["county_id"] = tag
        teams = shifted(c.teams, ["team_id", "town_id"])
        teams["base_x"] = teams["base_x"] + dx
        teams["county_id"] = tag
        parts.append({
            "towns": towns, "villages": shifted(c.villages, ["village_id", "town_id"]),
            "grids": shifted(c.grids, ["grid_id", "village_id"]),
            "households": shifted(c.households, ["household_id", "grid_id", "village_id"]),
            "enterprises": shifted(c.enterprises, ["enterprise_id", "grid_id", "village_id"]),
            "teams": teams, "cadres": shifted(c.cadres, ["cadre_id", "team_id"]),
        })
    cat = {name: pd.concat([p[name] for p in parts], ignore_index=True) for name in parts[0]}
    if spanning_city_teams:
        rng = np.random.default_rng(seed)
        rows, cads = [], []
        for i in range(spanning_city_teams):
            tid = f"CITYX{i + 1:02d}"
            x = 500_000.0 + (i + 0.5) * counties * width / spanning_city_teams
            rows.append({"team_id": tid, "name": f"City team {tid}", "level": "city", "town_id": None,
                         "base_x": x, "base_y": 4_500_000.0 + rng.uniform(0, 1000), "county_id": None})
            for j in range(3):
                cads.append({"cadre_id": f"{tid}C{j + 1}", "team_id": tid, "name": f"Cadre {tid}-{j + 1}",
                             "level": "city", "rank": "deputy_division" if j == 0 else "section"})
        cat["teams"] = pd.concat([cat["teams"], pd.DataFrame(rows)], ignore_index=True)
        cat["cadres"] = pd.concat([cat["cadres"], pd.DataFrame(cads)], ignore_index=True)

    def gdf(frame):
        return gpd.GeoDataFrame(frame, geometry="geometry", crs=crs)

    towns = gdf(cat["towns"])
    county_poly = towns.dissolve("county_id").reset_index()[["county_id", "geometry"]]
    county_poly["name"] = [f"县{cid}" for cid in county_poly["county_id"]]
    return Campaign(crs=crs, villages=gdf(cat["villages"]), grids=gdf(cat["grids"]), households=gdf(cat["households"]),
                    enterprises=gdf(cat["enterprises"]), teams=cat["teams"], cadres=cat["cadres"], towns=towns,
                    counties=gdf(county_poly[["county_id", "name", "geometry"]]), name="province")
