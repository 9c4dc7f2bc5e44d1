"""Turn regions into the campaign layers of :mod:`geodata.schema`: ids, grids, attributes, WGS-84."""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import _attributes as attrs
from ._region import Region
from ._tiling import clearance, split_village

logger = logging.getLogger(__name__)

WGS84 = "EPSG:4326"
HOUSEHOLDS_PER_GRID = 200
GRIDS_PER_VILLAGE = (2, 8)
#: A household or enterprise closer than this (m) to its grid's edge is dropped (never on a boundary).
MIN_CLEARANCE = 1.0
#: Polygon edges are densified to this length (m) before reprojection, so shared edges stay shared.
SEGMENT = 50.0
ENTERPRISE_PREFIX = {"Andorra": "安道尔", "Karhula": "卡尔胡拉"}


def region_layers(region: Region, rng: np.random.Generator, *, first_town: int) -> dict[str, gpd.GeoDataFrame]:
    """The spatial layers of one region, in WGS-84, with ids; towns numbered from ``first_town``."""
    towns = region.towns.copy()
    towns["town_id"] = [f"T{first_town + i:02d}" for i in range(len(towns))]
    villages = region.villages.copy()
    villages["town_id"] = towns["town_id"].to_numpy()[villages["town"].to_numpy()]
    villages = villages.sort_values(["town", "kind", "name"], kind="stable").reset_index(drop=True)
    villages["village_id"] = "V" + villages["town_id"].str[1:] + villages.groupby("town").cumcount().add(1).map("{:02d}".format)

    dwellings = _locate(region.dwellings, villages, "village_id", what=f"{region.name} households")
    grids = _grids(villages, dwellings, rng)
    households = _in_grids(dwellings, grids, what=f"{region.name} households")
    enterprises = _in_grids(_locate(region.enterprises, villages, "village_id", what=f"{region.name} enterprises"), grids, what=f"{region.name} enterprises")

    town_names = dict(zip(towns["town_id"], towns["name"]))
    label = {v: _place_label(town_names[t], n) for v, t, n in zip(villages["village_id"], villages["town_id"], villages["name"])}
    road = households["road"].fillna("无名路")
    unit = np.where(households["unit"] > 0, " " + households["unit"].astype(str) + "室", "")
    households["address"] = (
        households["village_id"].map(label)
        + " " + road + " " + households["number"].astype(str) + "号" + unit
    )
    enterprises["prefix"] = ENTERPRISE_PREFIX.get(region.name, "")
    bases = region.bases.to_crs(WGS84)
    bases["town_id"] = towns["town_id"].to_numpy()[bases["town"].to_numpy()]
    return {
        "towns": _to_wgs84(towns[["town_id", "name", "geometry"]]),
        "villages": _to_wgs84(villages[["village_id", "name", "town_id", "kind", "geometry"]]),
        "grids": _to_wgs84(grids),
        "households": households.to_crs(WGS84),
        "enterprises": enterprises.to_crs(WGS84),
        "bases": bases,
    }


def _place_label(town: str, village: str) -> str:
    return village if village == town else f"{town} {village}"


def _to_wgs84(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    out = gdf.copy()
    out["geometry"] = shapely.segmentize(out.geometry.to_numpy(), SEGMENT)
    return out.to_crs(WGS84)


def _locate(points: gpd.GeoDataFrame, polygons: gpd.GeoDataFrame, column: str, *, what: str) -> gpd.GeoDataFrame:
    """Attach ``polygons[column]`` to the points strictly inside one polygon; drop (and log) the others."""
    joined = gpd.sjoin(points, polygons[[column, "geometry"]], predicate="within", how="inner")
    joined = joined[~joined.index.duplicated(keep=False)].drop(columns="index_right").sort_index()
    if len(joined) < len(points):
        logger.info("%s: dropped %d outside every %s", what, len(points) - len(joined), column)
    return joined.reset_index(drop=True)


def _grids(villages: gpd.GeoDataFrame, dwellings: gpd.GeoDataFrame, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Split each village into 2-8 grids (网格) around k-means clusters of its households."""
    rows = []
    for _, village in villages.iterrows():
        xy = shapely.get_coordinates(dwellings.geometry[dwellings["village_id"] == village["village_id"]].to_numpy())
        positions, weight = np.unique(xy, axis=0, return_counts=True) if len(xy) else (xy, np.zeros(0))
        k = int(np.clip(round(len(xy) / HOUSEHOLDS_PER_GRID), *GRIDS_PER_VILLAGE))
        tiles = split_village(village.geometry, positions, rng, k=k, weights=weight)
        # number the grids west to east, then south to north, for readable ids
        order = np.lexsort((shapely.get_y(shapely.centroid(tiles)), np.round(shapely.get_x(shapely.centroid(tiles)), -2)))
        for n, i in enumerate(order, start=1):
            rows.append({"grid_id": "G" + village["village_id"][1:] + f"{n:02d}", "village_id": village["village_id"], "geometry": tiles[i]})
    return gpd.GeoDataFrame(pd.DataFrame(rows), geometry="geometry", crs=villages.crs)


def _in_grids(points: gpd.GeoDataFrame, grids: gpd.GeoDataFrame, *, what: str) -> gpd.GeoDataFrame:
    """Attach ``grid_id`` to points strictly inside their village's grid and clear of its edges."""
    located = _locate(points.drop(columns="village_id"), grids, "grid_id", what=what)
    located = located.merge(grids[["grid_id", "village_id"]], on="grid_id", how="left")
    polygon = grids.set_index("grid_id").geometry.loc[located["grid_id"]].to_numpy()
    clear = clearance(located.geometry.to_numpy(), polygon) >= MIN_CLEARANCE
    if not clear.all():
        logger.info("%s: dropped %d within %.0f m of a grid boundary", what, int((~clear).sum()), MIN_CLEARANCE)
    return located[clear].reset_index(drop=True)


def finish(parts: list[dict], roads: list[gpd.GeoDataFrame], rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    """Concatenate the regions, number households and enterprises, draw the attributes, make the teams."""
    layer = {name: pd.concat([p[name] for p in parts], ignore_index=True) for name in ("towns", "villages", "grids", "households", "enterprises", "bases")}
    villages = gpd.GeoDataFrame(layer["villages"], geometry="geometry", crs=WGS84)
    villages["weak"], villages["resettlement"] = attrs.village_flags(rng, villages["kind"])

    hh = layer["households"].sort_values("grid_id", kind="stable").reset_index(drop=True)
    vinfo = villages.set_index("village_id")
    extra = attrs.household_attributes(
        rng,
        vinfo["kind"].reindex(hh["village_id"]).to_numpy(),
        vinfo["weak"].reindex(hh["village_id"]).to_numpy(),
        hh["village_id"].to_numpy(),
    )
    households = gpd.GeoDataFrame(
        pd.concat([pd.DataFrame({"household_id": [f"H{i:06d}" for i in range(1, len(hh) + 1)], "address": hh["address"]}), extra], axis=1).assign(
            grid_id=hh["grid_id"], village_id=hh["village_id"]
        ),
        geometry=hh.geometry.values,
        crs=WGS84,
    )

    en = layer["enterprises"].sort_values("grid_id", kind="stable").reset_index(drop=True)
    e_attrs = attrs.enterprise_attributes(rng, en["sector"].to_numpy(), en["big"].to_numpy(), en["prefix"].to_numpy())
    enterprises = gpd.GeoDataFrame(
        {"enterprise_id": [f"E{i:04d}" for i in range(1, len(en) + 1)], "name": e_attrs["name"], "listed": e_attrs["listed"], "grid_id": en["grid_id"], "village_id": en["village_id"]},
        geometry=en.geometry.values,
        crs=WGS84,
    )
    teams, cadres = attrs.teams_and_cadres(rng, team_plan(layer["towns"], layer["bases"], households))
    road_layer = pd.concat(roads, ignore_index=True)[["osm_id", "highway", "name", "oneway", "geometry"]]
    return {
        "towns": gpd.GeoDataFrame(layer["towns"], geometry="geometry", crs=WGS84),
        "villages": villages[["village_id", "name", "town_id", "kind", "weak", "resettlement", "geometry"]],
        "grids": gpd.GeoDataFrame(layer["grids"], geometry="geometry", crs=WGS84),
        "households": households,
        "enterprises": enterprises,
        "teams": teams,
        "cadres": cadres,
        "roads": gpd.GeoDataFrame(road_layer, geometry="geometry", crs=WGS84),
    }


def team_plan(towns: pd.DataFrame, bases: pd.DataFrame, households: gpd.GeoDataFrame, *, n_city: int = 3, n_county: int = 10) -> list[dict]:
    """The teams: ``n_city`` city teams (市级工作团), ``n_county`` county teams (县级驻村工作组), one town team (驻镇工作组) per town.

    Bases are real places: town teams sit at their town's seat (its main place),
    city teams at the seats of the towns with the most households, county teams
    spread over the other places, in proportion to the households of each town.
    """
    seats = bases.sort_values(["town_id", "rank"], kind="stable").groupby("town_id", sort=True).head(1).set_index("town_id")
    town_of_village = households["village_id"].str[1:3].radd("T")
    size = town_of_village.value_counts().reindex(towns["town_id"], fill_value=0)
    big_first = size.sort_values(ascending=False, kind="stable").index.tolist()

    def at(point) -> dict:
        return {"base_lon": round(float(point.x), 6), "base_lat": round(float(point.y), 6)}

    plan = []
    for i in range(n_city):
        town = big_first[i % len(big_first)]
        plan.append({"name": f"{attrs.CITY_UNITS[i % len(attrs.CITY_UNITS)]}大走访工作团", "level": "city", "unit": attrs.CITY_UNITS[i % len(attrs.CITY_UNITS)], **at(seats.at[town, "geometry"])})
    # county teams: towns get teams in proportion to their households, bases cycle through their places
    share = np.floor(size.to_numpy() / max(size.sum(), 1) * n_county).astype(int)
    share[np.argsort(-(size.to_numpy() / max(size.sum(), 1) * n_county - share), kind="stable")[: n_county - share.sum()]] += 1
    county_bases = []
    for town, count in zip(size.index, share):
        places = bases[bases["town_id"] == town].sort_values("rank", kind="stable")
        for j in range(count):
            county_bases.append(places.geometry.iloc[(j + 1) % len(places)])
    for i, point in enumerate(county_bases):
        unit = attrs.COUNTY_UNITS[i % len(attrs.COUNTY_UNITS)]
        plan.append({"name": f"{unit}驻村工作组", "level": "county", "unit": unit, **at(point)})
    for _, town in towns.iterrows():
        plan.append({"name": f"{town['name']}驻镇工作组", "level": "town", "unit": f"{town['name']}党委政府", **at(seats.at[town["town_id"], "geometry"])})
    return plan
