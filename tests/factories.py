"""Small, named campaign fixtures built in code (no binary fixtures).

``good_layers()`` is a tiny but complete campaign near Changzhou (常州), in
WGS-84, laid out on a regular lattice so every expectation is easy to compute:
2 towns × 2 villages × 4 grids, 10 households per grid, 2 enterprises per
village, 4 teams, 12 cadres. Broken variants are derived from it in the tests.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import Point, box

UTM = "EPSG:32650"  # UTM 50N, around 117-123°E
ORIGIN = (780_000.0, 3_530_000.0)  # near Changzhou
GRID_M = 500.0


def good_layers(*, households_per_grid: int = 10, seed: int = 7) -> dict:
    rng = np.random.default_rng(seed)
    x0, y0 = ORIGIN
    towns, villages, grids, households, enterprises = [], [], [], [], []
    h = e = 0
    for t in range(2):
        tx = x0 + t * 4 * GRID_M
        towns.append({"town_id": f"T{t + 1}", "name": f"镇{t + 1}", "geometry": box(tx, y0, tx + 4 * GRID_M, y0 + 2 * GRID_M)})
        for v in range(2):
            vx = tx + v * 2 * GRID_M
            vid = f"V{t + 1}{v + 1}"
            villages.append({
                "village_id": vid, "name": f"村{t + 1}{v + 1}", "town_id": f"T{t + 1}",
                "kind": "community" if v == 1 else "village", "weak": (t, v) == (0, 0),
                "resettlement": (t, v) == (1, 1), "geometry": box(vx, y0, vx + 2 * GRID_M, y0 + 2 * GRID_M),
            })
            for gi in range(2):
                for gj in range(2):
                    gx, gy = vx + gi * GRID_M, y0 + gj * GRID_M
                    gid = f"G{t + 1}{v + 1}{gi}{gj}"
                    grids.append({"grid_id": gid, "village_id": vid, "geometry": box(gx, gy, gx + GRID_M, gy + GRID_M)})
                    for _ in range(households_per_grid):
                        h += 1
                        px, py = gx + rng.uniform(20, GRID_M - 20), gy + rng.uniform(20, GRID_M - 20)
                        households.append({
                            "household_id": f"H{h:04d}", "address": f"{vid}组{h}号", "head_name": f"张{h}",
                            "phone": f"138{h:08d}", "members": int(rng.integers(1, 6)), "poor": h % 17 == 0,
                            "status": ["resident", "vacant", "rental", "away"][h % 4 if h % 5 == 0 else 0],
                            "geometry": Point(px, py),
                        })
            for _ in range(2):
                e += 1
                enterprises.append({"enterprise_id": f"E{e:03d}", "name": f"企业{e}", "listed": e % 2 == 0,
                                    "geometry": Point(vx + 100 + 50 * e % 300, y0 + 120)})

    def gdf(rows):
        return gpd.GeoDataFrame(rows, geometry="geometry", crs=UTM).to_crs(4326)

    teams = pd.DataFrame([
        {"team_id": "TM1", "name": "市级工作团", "level": "city", "unit": "市委组织部", "base_lon": 119.95, "base_lat": 31.88},
        {"team_id": "TM2", "name": "县级工作组", "level": "county", "unit": "县农业局", "base_lon": None, "base_lat": None},
        {"team_id": "TM3", "name": "镇1工作组", "level": "town", "unit": "镇1", "base_lon": None, "base_lat": None},
        {"team_id": "TM4", "name": "镇2工作组", "level": "town", "unit": "镇2", "base_lon": None, "base_lat": None},
    ])
    ranks = ["division", "deputy_division", "section", "staff"]
    cadres = []
    for i in range(12):
        team = teams.iloc[i % 4]
        cadres.append({"cadre_id": f"C{i + 1:02d}", "team_id": team.team_id, "name": f"干部{i + 1}",
                       "level": team.level, "rank": ranks[i % 4]})
    return {
        "towns": gdf(towns), "villages": gdf(villages), "grids": gdf(grids),
        "households": gdf(households), "enterprises": gdf(enterprises),
        "teams": teams, "cadres": pd.DataFrame(cadres),
    }
