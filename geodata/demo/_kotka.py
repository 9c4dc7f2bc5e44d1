"""Karhula (Kotka) as one extra town of urban communities (社区) with real buildings.

Households live in the real residential footprints: one per house, two per
large house, several per terrace or apartment block (by footprint area).
Communities are k-means clusters of the households, as Voronoi cells clipped
to the town (the extract's extent).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from scipy.optimize import linear_sum_assignment

from geodata import osm

from ._region import Region, nearest_names, pick_by_keys
from ._tiling import kmeans, voronoi_tiles

CRS_KOTKA = CRS.from_epsg(32635)  # UTM 35N
TOWN_NAME = "Karhula"
N_COMMUNITIES = 7
N_ENTERPRISES = 80
#: Footprint sizes (m²): up to HOUSE one household, up to DUPLEX two; bigger ones are blocks.
HOUSE_M2, DUPLEX_M2 = 220.0, 400.0
FLAT_M2 = 75.0  # gross floor area per flat
NOT_ENTERPRISES = frozenset({"garage", "garages", "shed", "roof", "carport", "school", "kindergarten", "church", "chapel", "public", "hut"})


def kotka_region(path, rng: np.random.Generator) -> Region:
    """Build the Kotka (Karhula) region from ``path`` (kotka.osm.pbf)."""
    buildings = osm.read_buildings(path).to_crs(CRS_KOTKA)
    roads = osm.read_roads(path)
    named_roads = roads.to_crs(CRS_KOTKA)
    named_roads = named_roads[named_roads["name"].notna()]
    town_geom = shapely.box(*buildings.total_bounds).buffer(20.0, join_style="mitre")
    towns = gpd.GeoDataFrame({"name": [TOWN_NAME]}, geometry=[town_geom], crs=CRS_KOTKA)

    dwellings = _dwellings(buildings[buildings["residential"]], named_roads, rng)
    places = osm.read_places(path).to_crs(CRS_KOTKA)
    places = places[places.geometry.within(town_geom)].reset_index(drop=True)
    villages = _communities(town_geom, dwellings, places, rng)
    enterprises = _enterprises(buildings[~buildings["residential"]], rng)
    order = {"suburb": 0, "neighbourhood": 1, "hamlet": 2}
    bases = places.assign(town=0, rank=places["place"].map(order).fillna(3).astype(int))
    bases = bases.sort_values(["rank", "osm_id"], kind="stable").reset_index(drop=True)[["name", "town", "rank", "geometry"]]
    return Region(TOWN_NAME, CRS_KOTKA, towns, villages, dwellings, enterprises, bases, roads)


def _units(building: str, area: float, rng: np.random.Generator) -> int:
    """Households in one residential building, from its type and footprint area."""
    if building in ("terrace", "terraced"):
        return max(2, int(round(area / 90.0)))
    if area <= HOUSE_M2:
        return 1
    if area <= DUPLEX_M2:
        return 2
    floors = int(rng.integers(2, 6))
    return max(3, int(round(area * floors / FLAT_M2)))


def _dwellings(homes: gpd.GeoDataFrame, named_roads: gpd.GeoDataFrame, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """One row per household at its building's representative point, addressed on the nearest named road."""
    homes = homes.reset_index(drop=True)
    units = np.array([_units(b, a, rng) for b, a in zip(homes["building"], homes["area_m2"])])
    points = homes.geometry.representative_point().to_numpy()
    road = nearest_names(points, named_roads, max_distance=150.0)
    # number the buildings along each road by their position on it
    number = np.zeros(len(homes), dtype=int)
    frame = pd.DataFrame({"road": road, "x": shapely.get_x(points), "y": shapely.get_y(points)})
    for name, group in frame.groupby("road", sort=True):
        line = named_roads[named_roads["name"] == name].geometry.union_all()
        along = shapely.line_locate_point(line, points[group.index.to_numpy()]) if line.geom_type == "LineString" else group["x"].to_numpy()
        number[group.index.to_numpy()[np.argsort(along, kind="stable")]] = np.arange(1, len(group) + 1)
    idx = np.repeat(np.arange(len(homes)), units)
    unit = np.concatenate([np.arange(1, u + 1) if u > 1 else np.zeros(1, int) for u in units])
    return gpd.GeoDataFrame({"road": road[idx], "number": number[idx], "unit": unit}, geometry=points[idx], crs=CRS_KOTKA)


def _communities(town: shapely.Polygon, dwellings: gpd.GeoDataFrame, places: gpd.GeoDataFrame, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Communities: weighted k-means of the buildings' households, Voronoi cells clipped to the town."""
    xy, weight = np.unique(shapely.get_coordinates(dwellings.geometry.to_numpy()), axis=0, return_counts=True)
    centres = kmeans(xy, N_COMMUNITIES, rng, weights=weight)
    tiles = voronoi_tiles(town, centres)
    # give each community the name of a distinct nearby place (optimal matching); the rest get the town's
    place_xy = shapely.get_coordinates(places.geometry.to_numpy())
    cost = np.hypot(centres[:, None, 0] - place_xy[None, :, 0], centres[:, None, 1] - place_xy[None, :, 1])
    names = [TOWN_NAME] * len(centres)
    for i, j in zip(*linear_sum_assignment(cost)):
        names[i] = places["name"].iloc[j]
    rows = [{"name": name, "kind": "community", "town": 0, "geometry": tile} for tile, name in zip(tiles, names) if not tile.is_empty]
    return gpd.GeoDataFrame(pd.DataFrame(rows), geometry="geometry", crs=CRS_KOTKA)


def _enterprises(others: gpd.GeoDataFrame, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Businesses in non-residential buildings; industrial and retail ones first, then big ones."""
    cand = others[~others["building"].isin(NOT_ENTERPRISES) & (others["area_m2"] >= 100.0)].reset_index(drop=True)
    weight = np.where(cand["building"].isin(["industrial", "retail", "commercial", "warehouse", "office"]), 50.0, 1.0) * np.sqrt(cand["area_m2"].to_numpy())
    chosen = np.sort(pick_by_keys(weight, rng)[:N_ENTERPRISES])
    cand = cand.iloc[chosen]
    sector = np.where(cand["building"].isin(["industrial", "warehouse"]) | (cand["area_m2"] > 1500), "industrial", np.where(cand["building"] == "retail", "shop", "business"))
    return gpd.GeoDataFrame({"sector": sector, "big": (cand["area_m2"] > 1000).to_numpy()}, geometry=cand.geometry.representative_point().values, crs=CRS_KOTKA)
