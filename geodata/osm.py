"""Read OpenStreetMap files (.osm / .osm.pbf) offline into GeoDataFrames.

Everything here uses pyosmium (``osmium``) and shapely; no network, no GDAL OSM
driver (which fails on clipped multipolygons). Every reader returns a
GeoDataFrame in WGS-84 (EPSG:4326).

Broken geometries are never dropped silently: areas that cannot be assembled
(typically multipolygons clipped at the edge of an extract, or ways whose nodes
are missing) are skipped, *counted*, logged at WARNING level on the
``geodata.osm`` logger, and the count is stored in ``gdf.attrs["skipped"]``.

Readers:

- :func:`read_roads` – highway ways as LineStrings (道路).
- :func:`read_buildings` – building footprints (建筑) with a ``residential`` guess.
- :func:`read_places` – settlement place nodes (居民点).
- :func:`read_boundaries` – administrative boundaries (行政边界) from relations.
- :func:`read_landuse` – land-use areas (土地利用), e.g. ``residential``.
- :func:`read_pois` – shops, offices, crafts, ... (商铺/单位) as points.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from pathlib import Path

import geopandas as gpd
import numpy as np
import osmium
import pandas as pd
import shapely
from pyproj import CRS

__all__ = ["NETWORKS", "read_boundaries", "read_buildings", "read_landuse", "read_places", "read_pois", "read_roads"]

logger = logging.getLogger(__name__)

WGS84 = "EPSG:4326"

#: Highway values that are not (yet / any more) usable roads.
NOT_ROADS = frozenset({"proposed", "construction", "abandoned", "razed", "disused", "platform", "raceway", "elevator", "bus_stop", "rest_area", "services"})
#: Highway values a car may use (network="drive").
DRIVE_HIGHWAYS = frozenset({
    "motorway", "motorway_link", "trunk", "trunk_link", "primary", "primary_link",
    "secondary", "secondary_link", "tertiary", "tertiary_link", "unclassified",
    "residential", "living_street", "service", "road",
})
#: Highway values a pedestrian may not use (network="walk").
NO_WALK_HIGHWAYS = frozenset({"motorway", "motorway_link", "trunk", "trunk_link"})
NETWORKS = ("all", "drive", "walk")

#: Building values that are dwellings (住宅).
RESIDENTIAL_BUILDINGS = frozenset({
    "house", "residential", "apartments", "detached", "terrace", "terraced",
    "semidetached_house", "semi", "bungalow", "dormitory", "farm", "cabin",
    "static_caravan", "houseboat", "villa",
})
#: A ``building=yes`` inside residential land use counts as a dwelling from this footprint (m²) up.
MIN_GENERIC_DWELLING_M2 = 40.0

PLACE_KINDS = ("city", "town", "village", "hamlet", "suburb", "neighbourhood")

#: POI keys that mark a business or an organisation (for enterprises, 企业).
POI_KEYS = ("shop", "office", "craft", "industrial")
POI_AMENITIES = frozenset({
    "restaurant", "cafe", "bar", "pub", "fast_food", "bank", "pharmacy", "fuel",
    "car_wash", "car_rental", "marketplace", "clinic", "dentist", "doctors",
    "veterinary", "cinema", "nightclub", "ice_cream", "bureau_de_change",
})
POI_TOURISM = frozenset({"hotel", "hostel", "guest_house", "motel", "apartment", "chalet"})


# --------------------------------------------------------------------------- helpers
def _frame(records: list[dict], columns: list[str], *, skipped: int, what: str, path) -> gpd.GeoDataFrame:
    """Build the output frame, record and log the number of skipped features."""
    df = pd.DataFrame.from_records(records, columns=columns + ["geometry"])
    gdf = gpd.GeoDataFrame(df, geometry="geometry", crs=WGS84)
    gdf.attrs["skipped"] = int(skipped)
    if skipped:
        logger.warning("%s: skipped %d broken %s (clipped or incomplete geometry)", Path(path).name, skipped, what)
    return gdf


def _local_metric_crs(lon: float, lat: float) -> CRS:
    """The UTM zone of a WGS-84 position."""
    zone = int((lon + 180) // 6) + 1
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def _areas_m2(geoms: gpd.GeoSeries) -> np.ndarray:
    if geoms.empty:
        return np.zeros(0)
    c = geoms.union_all().envelope.centroid
    return geoms.to_crs(_local_metric_crs(c.x, c.y)).area.to_numpy()


def _read_areas(path, wanted: Callable[[osmium.osm.TagList], bool], columns: Callable[[osmium.osm.TagList], dict], *, ways: bool = True):
    """Assemble the areas (closed ways and multipolygon/boundary relations) whose tags are ``wanted``.

    Returns ``(records, skipped)``. Candidates are every way (unless ``ways`` is
    False: relations only) and every multipolygon/boundary relation with wanted
    tags; those that yield no valid polygon (unclosed way, missing members,
    invalid rings) are counted as skipped. (Area tags lack the relation's
    ``type``, so ``wanted`` must not test it.)
    """
    path = str(path)
    wkb = osmium.geom.WKBFactory()
    cand_ways: set[int] = set()
    cand_rels: set[int] = set()
    records: list[dict] = []
    made_ways: set[int] = set()
    made_rels: set[int] = set()
    for obj in osmium.FileProcessor(path).with_areas():
        kind = obj.type_str()
        if kind == "n" or not wanted(obj.tags):
            continue
        if kind == "w":
            if ways and obj.tags.get("area") != "no":
                cand_ways.add(obj.id)
            continue
        if kind == "r":
            if obj.tags.get("type") in ("multipolygon", "boundary"):
                cand_rels.add(obj.id)
            continue
        # an area: from a closed way or from a relation
        if obj.from_way() and not ways:
            continue
        try:
            geom = shapely.from_wkb(wkb.create_multipolygon(obj))
        except (RuntimeError, shapely.errors.GEOSException):
            continue  # not "made": counted below
        if geom.is_empty or not geom.is_valid:
            fixed = shapely.make_valid(geom)
            geom = shapely.MultiPolygon([g for g in shapely.get_parts(fixed) if g.geom_type == "Polygon"])
            if geom.is_empty:
                continue  # not "made": counted below
        if len(geom.geoms) == 1:
            geom = geom.geoms[0]
        (made_ways if obj.from_way() else made_rels).add(obj.orig_id())
        records.append({"osm_id": obj.orig_id(), "osm_type": "way" if obj.from_way() else "relation", **columns(obj.tags), "geometry": geom})
    skipped = len(cand_ways - made_ways) + len(cand_rels - made_rels)
    records.sort(key=lambda r: (r["osm_type"], r["osm_id"]))
    return records, skipped


# --------------------------------------------------------------------------- roads
def _keep_highway(tags, network: str) -> bool:
    hw = tags.get("highway")
    if hw is None or hw in NOT_ROADS or tags.get("area") == "yes":
        return False
    if network == "drive":
        return hw in DRIVE_HIGHWAYS and tags.get("access") not in ("no", "private") and tags.get("motor_vehicle") != "no"
    if network == "walk":
        return hw not in NO_WALK_HIGHWAYS and tags.get("foot") not in ("no", "private") and tags.get("access") not in ("no", "private")
    return True


def _oneway(tags) -> int:
    """1 (forward), -1 (against the way direction) or 0 (both ways)."""
    ow = tags.get("oneway")
    if ow in ("yes", "true", "1"):
        return 1
    if ow in ("-1", "reverse"):
        return -1
    if ow in ("no", "false", "0"):
        return 0
    if tags.get("junction") in ("roundabout", "circular") or tags.get("highway") in ("motorway", "motorway_link"):
        return 1
    return 0


def _longest_located_run(way) -> list[tuple[float, float]]:
    """The longest run of consecutive nodes whose locations are in the file."""
    best: list[tuple[float, float]] = []
    run: list[tuple[float, float]] = []
    for node in way.nodes:
        if node.location.valid():
            xy = (node.location.lon, node.location.lat)
            if not run or run[-1] != xy:
                run.append(xy)
        else:
            run = []
        if len(run) > len(best):
            best = list(run)
    return best


def read_roads(path, *, network: str = "all") -> gpd.GeoDataFrame:
    """Highway ways (道路) as LineStrings, one row per way.

    Columns ``osm_id``, ``highway``, ``name``, ``oneway`` (bool). Each way keeps
    its full node sequence, so ways meeting at an intersection share that vertex.
    ``oneway=-1`` ways are reversed so that the geometry runs in the allowed
    direction. ``network`` is ``"all"`` (every usable highway), ``"drive"``
    (roads open to cars) or ``"walk"`` (everything but motorways / trunks and
    ``foot=no``). For ``"walk"`` ``oneway`` is always False.

    Ways clipped at the edge of an extract (some nodes missing) keep their
    longest run of located nodes and are counted in ``attrs["clipped"]``; ways
    with fewer than two located nodes are skipped and counted in
    ``attrs["skipped"]``.
    """
    if network not in NETWORKS:
        raise ValueError(f"network must be one of {NETWORKS}, not {network!r}")
    records, skipped, clipped = [], 0, 0
    fp = (
        osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
        .with_locations()
        .with_filter(osmium.filter.KeyFilter("highway"))
    )
    for way in fp:
        if way.type_str() != "w" or not _keep_highway(way.tags, network):
            continue
        coords = _longest_located_run(way)
        if len(coords) < 2:
            skipped += 1
            continue
        if len(coords) < len(way.nodes) and not all(n.location.valid() for n in way.nodes):
            clipped += 1
        line = shapely.LineString(coords)
        ow = 0 if network == "walk" else _oneway(way.tags)
        if ow == -1:
            line = shapely.reverse(line)
        records.append({"osm_id": way.id, "highway": way.tags.get("highway"), "name": way.tags.get("name"), "oneway": ow != 0, "geometry": line})
    records.sort(key=lambda r: r["osm_id"])
    gdf = _frame(records, ["osm_id", "highway", "name", "oneway"], skipped=skipped, what="road ways", path=path)
    gdf.attrs["clipped"] = clipped
    if clipped:
        logger.warning("%s: %d road ways clipped at the extract's edge (kept their longest located part)", Path(path).name, clipped)
    return gdf


# --------------------------------------------------------------------------- areas
def read_landuse(path, *, kinds: Iterable[str] | None = None) -> gpd.GeoDataFrame:
    """Land-use areas (土地利用) with columns ``osm_id``, ``osm_type``, ``landuse``, ``name``.

    ``kinds`` restricts to some ``landuse`` values, e.g. ``("residential",)``.
    """
    keep = None if kinds is None else frozenset(kinds)
    records, skipped = _read_areas(
        path,
        lambda t: "landuse" in t and (keep is None or t["landuse"] in keep),
        lambda t: {"landuse": t.get("landuse"), "name": t.get("name")},
    )
    return _frame(records, ["osm_id", "osm_type", "landuse", "name"], skipped=skipped, what="land-use areas", path=path)


def read_buildings(path) -> gpd.GeoDataFrame:
    """Building footprints (建筑) as polygons.

    Columns ``osm_id``, ``osm_type``, ``building`` (the tag value), ``name``,
    ``area_m2`` (footprint area) and ``residential`` (bool, a guess: the value is
    a dwelling type such as house/residential/apartments/terrace, or it is a
    generic ``building=yes`` of at least 40 m² inside residential land use).
    """
    records, skipped = _read_areas(
        path,
        lambda t: "building" in t and t.get("building") != "no",
        lambda t: {"building": t.get("building"), "name": t.get("name")},
    )
    gdf = _frame(records, ["osm_id", "osm_type", "building", "name"], skipped=skipped, what="buildings", path=path)
    gdf["area_m2"] = _areas_m2(gdf.geometry)
    dwelling = gdf["building"].isin(RESIDENTIAL_BUILDINGS).to_numpy()
    generic = (gdf["building"] == "yes").to_numpy() & (gdf["area_m2"].to_numpy() >= MIN_GENERIC_DWELLING_M2)
    if generic.any():
        landuse = read_landuse(path, kinds=("residential",))
        if len(landuse):
            zone = landuse.union_all()
            shapely.prepare(zone)
            inside = shapely.contains(zone, gdf.geometry.representative_point().to_numpy())
            generic &= inside
        else:
            generic[:] = False
    gdf["residential"] = dwelling | generic
    return gdf


def read_boundaries(path, *, admin_level: int | str | Iterable[int | str] | None = None) -> gpd.GeoDataFrame:
    """Administrative boundaries (行政边界) assembled from boundary relations.

    Columns ``osm_id``, ``name``, ``admin_level`` (int). ``admin_level`` keeps one
    level or several (e.g. ``7`` for Andorra's parishes). Relations clipped at
    the extract's edge cannot be closed: they are skipped and counted in
    ``attrs["skipped"]``.
    """
    if admin_level is None:
        levels = None
    elif isinstance(admin_level, (int, str)):
        levels = {str(admin_level)}
    else:
        levels = {str(a) for a in admin_level}

    def wanted(t) -> bool:
        return (
            t.get("boundary") == "administrative"
            and (levels is None or t.get("admin_level") in levels)
        )

    def columns(t) -> dict:
        lvl = t.get("admin_level")
        return {"name": t.get("name"), "admin_level": int(lvl) if lvl and lvl.isdigit() else -1}

    # boundary ways are line members of the relations, never areas on their own
    records, skipped = _read_areas(path, wanted, columns, ways=False)
    for r in records:
        del r["osm_type"]
    return _frame(records, ["osm_id", "name", "admin_level"], skipped=skipped, what="boundary relations", path=path)


# --------------------------------------------------------------------------- points
def read_places(path, *, kinds: Iterable[str] = PLACE_KINDS) -> gpd.GeoDataFrame:
    """Settlement place nodes (居民点) with columns ``osm_id``, ``place``, ``name``, ``population``.

    ``population`` is a float (NaN when not tagged).
    """
    keep = frozenset(kinds)
    records = []
    fp = osmium.FileProcessor(str(path), osmium.osm.NODE).with_filter(osmium.filter.KeyFilter("place"))
    for node in fp:
        if node.tags.get("place") not in keep or not node.location.valid():
            continue
        pop = node.tags.get("population", "").replace(",", "").replace(" ", "")
        records.append({
            "osm_id": node.id,
            "place": node.tags["place"],
            "name": node.tags.get("name"),
            "population": float(pop) if pop.isdigit() else np.nan,
            "geometry": shapely.Point(node.location.lon, node.location.lat),
        })
    records.sort(key=lambda r: r["osm_id"])
    return _frame(records, ["osm_id", "place", "name", "population"], skipped=0, what="places", path=path)


def _poi_kind(tags) -> str | None:
    for key in POI_KEYS:
        if key in tags and tags[key] != "no":
            return f"{key}={tags[key]}"
    if tags.get("amenity") in POI_AMENITIES:
        return f"amenity={tags['amenity']}"
    if tags.get("tourism") in POI_TOURISM:
        return f"tourism={tags['tourism']}"
    return None


def read_pois(path) -> gpd.GeoDataFrame:
    """Businesses and organisations (商铺/单位) as points: shops, offices, crafts, hotels, restaurants, ...

    Nodes and ways (a way gives its representative point). Columns ``osm_id``,
    ``osm_type``, ``kind`` (``key=value``), ``name``.
    """
    wkb = osmium.geom.WKBFactory()
    records, skipped = [], 0
    for obj in osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY).with_locations():
        kind = _poi_kind(obj.tags)
        if kind is None:
            continue
        try:
            if obj.type_str() == "n":
                geom = shapely.Point(obj.location.lon, obj.location.lat)
            else:
                geom = shapely.from_wkb(wkb.create_linestring(obj))
                geom = shapely.Polygon(geom.coords).representative_point() if obj.is_closed() and len(geom.coords) >= 4 else geom.interpolate(0.5, normalized=True)
        except (RuntimeError, osmium.InvalidLocationError, ValueError):
            skipped += 1
            continue
        records.append({"osm_id": obj.id, "osm_type": "node" if obj.type_str() == "n" else "way", "kind": kind, "name": obj.tags.get("name"), "geometry": geom})
    records.sort(key=lambda r: (r["osm_type"], r["osm_id"]))
    return _frame(records, ["osm_id", "osm_type", "kind", "name"], skipped=skipped, what="points of interest", path=path)
