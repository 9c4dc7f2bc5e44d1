"""Andorra as a small county: parishes are towns (镇), place nodes give villages (村) and communities (社区).

Andorra has few building footprints, so households are placed along the
residential streets around each settlement, a few metres off the road, with a
density that decreases with the distance from the settlement's place node.
Canillo's parish relation is clipped in the extract and cannot be assembled:
the demo has the six other parishes.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from geodata import osm

from ._region import Region, pick_by_keys
from ._tiling import voronoi_tiles

CRS_ANDORRA = CRS.from_epsg(32631)  # UTM 31N

#: Places that seed a village (village) or a community (community) of their own.
SEED_KINDS = {"city": "community", "town": "community", "suburb": "community", "neighbourhood": "community", "village": "village"}
#: Roads households live along.
HOME_ROADS = ("residential", "unclassified", "living_street", "tertiary")
#: Roads with a few houses, used when a settlement has no home roads (e.g. Xixerella).
OTHER_ROADS = ("secondary", "primary", "service", "track", "road")
OTHER_ROAD_WEIGHT = 0.02
#: Per place kind: (households to place, density scale in metres).
SETTLEMENT = {
    "city": (1800, 500.0),
    "town": (1000, 400.0),
    "suburb": (450, 250.0),
    "neighbourhood": (450, 250.0),
    "village": (190, 250.0),
    "hamlet": (45, 120.0),
}
#: A place with this population (tagged) is treated as a city.
CITY_POPULATION = 10_000
SLOT_SPACING = 12.0  # metres between dwellings along a road side
SLOT_OFFSET = (6.0, 11.0)  # metres off the road centre line
MIN_ROAD_CLEARANCE = 4.0  # a dwelling is at least this far from every road centre line
N_ENTERPRISES = 220


def andorra_region(path, rng: np.random.Generator) -> Region:
    """Build the Andorra region from ``path`` (andorra.osm.pbf)."""
    parishes = osm.read_boundaries(path, admin_level=7).to_crs(CRS_ANDORRA)
    parishes = parishes.sort_values("name", kind="stable").reset_index(drop=True)
    towns = gpd.GeoDataFrame({"name": parishes["name"]}, geometry=parishes.geometry.values, crs=CRS_ANDORRA)

    places = _places_in_towns(osm.read_places(path).to_crs(CRS_ANDORRA), towns)
    villages = _villages(towns, places)
    roads = osm.read_roads(path)
    dwellings = _dwellings(roads.to_crs(CRS_ANDORRA), places, towns, rng)
    enterprises = _enterprises(path, towns, rng)
    bases = places.assign(rank=places["kind_rank"])[["name", "town", "rank", "geometry"]].reset_index(drop=True)
    return Region("Andorra", CRS_ANDORRA, towns, villages, dwellings, enterprises, bases, roads)


def _places_in_towns(places: gpd.GeoDataFrame, towns: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Place nodes inside a town, with ``town`` (row of towns) and an effective ``kind``."""
    joined = gpd.sjoin(places, towns[["geometry"]], predicate="within", how="inner").rename(columns={"index_right": "town"})
    kind = joined["place"].where(~(joined["population"] >= CITY_POPULATION), "city")
    order = {"city": 0, "town": 1, "suburb": 2, "neighbourhood": 2, "village": 3, "hamlet": 4}
    joined = joined.assign(kind=kind, kind_rank=kind.map(order))
    joined = joined.sort_values(["town", "kind_rank", "osm_id"], kind="stable").reset_index(drop=True)
    return joined[["osm_id", "name", "place", "kind", "kind_rank", "town", "geometry"]]


def _villages(towns: gpd.GeoDataFrame, places: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Voronoi cells of the seed places, clipped to their town (parish)."""
    rows = []
    for t, town in towns.iterrows():
        seeds = places[(places["town"] == t) & places["kind"].isin(SEED_KINDS)]
        if seeds.empty:  # a town without settlements is one village
            rows.append({"name": town["name"], "kind": "village", "town": t, "geometry": town.geometry})
            continue
        xy = shapely.get_coordinates(seeds.geometry.to_numpy())
        for (_, seed), tile in zip(seeds.iterrows(), voronoi_tiles(town.geometry, xy)):
            if not tile.is_empty:
                rows.append({"name": seed["name"], "kind": SEED_KINDS[seed["kind"]], "town": t, "geometry": tile})
    return gpd.GeoDataFrame(pd.DataFrame(rows), geometry="geometry", crs=CRS_ANDORRA)


def _road_slots(roads: gpd.GeoDataFrame, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Candidate dwelling positions on both sides of the roads, every ``SLOT_SPACING`` metres.

    Columns ``road`` (name or None), ``number`` (odd on the left, even on the
    right), ``weight`` (1 on home roads, ``OTHER_ROAD_WEIGHT`` on other roads), point.
    """
    home = roads[roads["highway"].isin(HOME_ROADS + OTHER_ROADS)].reset_index(drop=True)
    lines = home.geometry.to_numpy()
    length = shapely.length(lines)
    count = np.maximum(np.floor((length - SLOT_SPACING) / SLOT_SPACING).astype(int) + 1, 0)
    line_idx = np.repeat(np.arange(len(lines)), count)
    step = np.concatenate([np.arange(c) for c in count]) if len(count) else np.zeros(0, int)
    dist = SLOT_SPACING / 2 + step * SLOT_SPACING
    at = shapely.line_interpolate_point(lines[line_idx], dist)
    ahead = shapely.line_interpolate_point(lines[line_idx], np.minimum(dist + 1.0, length[line_idx]))
    behind = shapely.line_interpolate_point(lines[line_idx], np.maximum(dist - 1.0, 0.0))
    p, a, b = (shapely.get_coordinates(g) for g in (at, ahead, behind))
    direction = a - b
    norm = np.hypot(direction[:, 0], direction[:, 1])
    norm[norm == 0] = 1.0
    left = np.column_stack([-direction[:, 1], direction[:, 0]]) / norm[:, None]
    offset = rng.uniform(*SLOT_OFFSET, size=(2, len(p)))
    xy = np.vstack([p + left * offset[0][:, None], p - left * offset[1][:, None]])
    number = np.concatenate([2 * step + 1, 2 * step + 2])
    both = np.concatenate([line_idx, line_idx])
    weight = np.where(home["highway"].isin(HOME_ROADS).to_numpy()[both], 1.0, OTHER_ROAD_WEIGHT)
    slots = gpd.GeoDataFrame({"road": home["name"].to_numpy()[both], "number": number, "weight": weight}, geometry=shapely.points(xy), crs=roads.crs)
    # drop positions that fall on (or right next to) another road
    tree = shapely.STRtree(roads.geometry.to_numpy())
    hit = tree.query(slots.geometry.to_numpy(), predicate="dwithin", distance=MIN_ROAD_CLEARANCE)[0]
    return slots.drop(index=np.unique(hit)).reset_index(drop=True)


def _dwellings(roads: gpd.GeoDataFrame, places: gpd.GeoDataFrame, towns: gpd.GeoDataFrame, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Households along home roads around each settlement, denser near its centre.

    Each settlement takes road slots in a weighted random order (weight
    ``exp(-d / scale)``, within ``4 * scale``; slots on other roads than the
    home roads weigh much less, so they fill only where home roads run out)
    until it has its households; near a town centre a slot is an apartment
    block holding several households.
    """
    slots = _road_slots(roads, rng)
    slots = gpd.sjoin(slots, towns[["geometry"]], predicate="within", how="inner").drop(columns="index_right")
    slots = slots.sort_index().reset_index(drop=True)
    xy = shapely.get_coordinates(slots.geometry.to_numpy())
    slot_weight = slots["weight"].to_numpy()
    taken = np.zeros(len(slots), dtype=bool)
    picks: list[tuple[int, int]] = []  # (slot, households in it)
    for _, place in places.iterrows():
        target, scale = SETTLEMENT[place["kind"]]
        target = int(round(target * rng.uniform(0.7, 1.3)))
        d = np.hypot(xy[:, 0] - place.geometry.x, xy[:, 1] - place.geometry.y)
        weight = np.where((d < 4 * scale) & ~taken, np.exp(-d / scale) * slot_weight, 0.0)
        placed = 0
        candidates = np.flatnonzero(weight > 0)
        for s in candidates[pick_by_keys(weight[candidates], rng)]:
            if placed >= target:
                break
            units = _units(place["kind"], d[s] / scale, rng)
            picks.append((int(s), units))
            taken[s] = True
            placed += units
    slot_idx = np.repeat([s for s, _ in picks], [u for _, u in picks]).astype(int)
    unit = np.concatenate([np.arange(1, u + 1) if u > 1 else np.zeros(1, int) for _, u in picks])
    out = slots.iloc[slot_idx][["road", "number", "geometry"]].reset_index(drop=True)
    out["unit"] = unit
    return out


def _units(kind: str, rel_distance: float, rng: np.random.Generator) -> int:
    """Households in one dwelling: apartment blocks near town centres, houses elsewhere."""
    if kind in ("city", "town"):
        if rel_distance < 0.5:
            return int(rng.integers(4, 17))
        if rel_distance < 1.2:
            return int(rng.integers(1, 6))
    elif kind in ("suburb", "neighbourhood") and rel_distance < 1.0:
        return int(rng.integers(1, 9))
    elif kind == "village" and rng.random() < 0.1:
        return 2
    return 1


def _enterprises(path, towns: gpd.GeoDataFrame, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Businesses at real shops/offices/hotels, topped up with non-residential buildings."""
    pois = osm.read_pois(path).to_crs(CRS_ANDORRA)
    pois = gpd.GeoDataFrame({"sector": pois["kind"].str.split("=").str[0], "big": pois["kind"].isin(["tourism=hotel", "office=company"])}, geometry=pois.geometry.values, crs=CRS_ANDORRA)
    buildings = osm.read_buildings(path).to_crs(CRS_ANDORRA)
    buildings = buildings[~buildings["residential"] & buildings["building"].isin(["yes", "commercial", "industrial", "retail", "warehouse", "office"])]
    from_buildings = gpd.GeoDataFrame(
        {"sector": np.where(buildings["area_m2"] > 600, "industrial", "business"), "big": (buildings["area_m2"] > 600).to_numpy()},
        geometry=buildings.geometry.representative_point().values,
        crs=CRS_ANDORRA,
    )
    area = towns.union_all()
    pois, from_buildings = pois[pois.geometry.within(area)], from_buildings[from_buildings.geometry.within(area)]
    extra = max(N_ENTERPRISES - len(pois), 0)
    order = pick_by_keys(np.ones(len(from_buildings)), rng)[:extra]
    out = pd.concat([pois, from_buildings.iloc[np.sort(order)]], ignore_index=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=CRS_ANDORRA)
