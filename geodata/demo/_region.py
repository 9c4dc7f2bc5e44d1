"""What a region builder (Andorra, Kotka) hands to the demo assembler."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS


@dataclass(frozen=True)
class Region:
    """One region of the demo in its own metric CRS (UTM).

    - ``towns``: ``name``, polygon (镇).
    - ``villages``: ``name``, ``kind`` (village/community), ``town`` (row of ``towns``), polygon; they tile each town.
    - ``dwellings``: one row per household (户): ``road``, ``number``, ``unit`` (0 = single dwelling), point.
    - ``enterprises``: ``sector`` (a hint for names, e.g. ``shop``, ``industrial``), ``big`` (bool), point.
    - ``bases``: ``name``, ``town`` (row of ``towns``), ``rank`` (0 = the town's seat), point: real places for team bases.
    - ``roads``: the region's road ways (``geodata.osm.read_roads``), in WGS-84.
    """

    name: str
    crs: CRS
    towns: gpd.GeoDataFrame
    villages: gpd.GeoDataFrame
    dwellings: gpd.GeoDataFrame
    enterprises: gpd.GeoDataFrame
    bases: gpd.GeoDataFrame
    roads: gpd.GeoDataFrame


def pick_by_keys(weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random order of the items, heavier ones first (Efraimidis-Spirakis weighted sampling).

    Taking a prefix of the order is a weighted sample without replacement.
    Items of weight 0 come last.
    """
    w = np.asarray(weights, dtype=float)
    u = rng.random(len(w))
    with np.errstate(divide="ignore"):
        keys = np.where(w > 0, np.log(u) / np.where(w > 0, w, 1.0), -np.inf)
    return np.argsort(-keys, kind="stable")


def nearest_names(points: np.ndarray, named: gpd.GeoDataFrame, *, column: str = "name", max_distance: float = np.inf) -> np.ndarray:
    """For each point geometry, the ``column`` value of the nearest row of ``named`` (None beyond ``max_distance``)."""
    if named.empty:
        return np.full(len(points), None, dtype=object)
    tree = shapely.STRtree(named.geometry.to_numpy())
    idx = tree.query_nearest(points, max_distance=None if np.isinf(max_distance) else max_distance, all_matches=False)
    out = np.full(len(points), None, dtype=object)
    out[idx[0]] = named[column].to_numpy()[idx[1]]
    return out
