"""geodata.osm: offline OpenStreetMap readers on the shipped extracts and on a tiny hand-made .osm file."""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import shapely

from geodata import osm

DATA = Path(osm.__file__).resolve().parent / "data"
ANDORRA = DATA / "andorra.osm.pbf"
KOTKA = DATA / "kotka.osm.pbf"

# A 100 m × 100 m patch near (0, 0): a closed house, an unclosed building (broken), a
# multipolygon whose second outer way is missing (clipped), a road with a missing node.
TINY_OSM = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6" generator="hand">
  <node id="1" version="1" lat="0.0000" lon="0.0000"/>
  <node id="2" version="1" lat="0.0000" lon="0.0003"/>
  <node id="3" version="1" lat="0.0003" lon="0.0003"/>
  <node id="4" version="1" lat="0.0003" lon="0.0000"/>
  <node id="5" version="1" lat="0.0005" lon="0.0005"/>
  <node id="6" version="1" lat="0.0005" lon="0.0008"/>
  <node id="7" version="1" lat="0.0008" lon="0.0008"/>
  <node id="8" version="1" lat="-0.0005" lon="-0.0005"/>
  <node id="9" version="1" lat="0.0009" lon="0.0009"><tag k="place" v="village"/><tag k="name" v="Tiny"/><tag k="population" v="120"/></node>
  <node id="10" version="1" lat="0.0001" lon="0.0001"><tag k="shop" v="bakery"/><tag k="name" v="Pa"/></node>
  <way id="100" version="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="4"/><nd ref="1"/><tag k="building" v="house"/></way>
  <way id="101" version="1"><nd ref="5"/><nd ref="6"/><nd ref="7"/><tag k="building" v="yes"/></way>
  <way id="102" version="1"><nd ref="8"/><nd ref="1"/><nd ref="999"/><nd ref="5"/><nd ref="6"/><nd ref="7"/><tag k="highway" v="residential"/><tag k="name" v="Carrer Major"/><tag k="oneway" v="-1"/></way>
  <way id="103" version="1"><nd ref="5"/><nd ref="6"/><nd ref="7"/></way>
  <way id="104" version="1"><nd ref="2"/><nd ref="6"/><tag k="highway" v="motorway"/></way>
  <relation id="200" version="1">
    <member type="way" ref="103" role="outer"/><member type="way" ref="998" role="outer"/>
    <tag k="type" v="multipolygon"/><tag k="landuse" v="residential"/>
  </relation>
</osm>
"""


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("osm") / "tiny.osm"
    path.write_text(TINY_OSM, encoding="utf-8")
    return path


def _in_bbox(gdf, minx, miny, maxx, maxy) -> bool:
    x0, y0, x1, y1 = gdf.total_bounds
    return minx <= x0 and miny <= y0 and x1 <= maxx and y1 <= maxy


# ----------------------------------------------------------------- hand-made file
def test_tiny_buildings_count_broken_ones(tiny, caplog):
    with caplog.at_level(logging.WARNING, logger="geodata.osm"):
        b = osm.read_buildings(tiny)
    assert b["osm_id"].tolist() == [100]
    assert b.attrs["skipped"] == 1  # the unclosed way 101
    assert "skipped 1 broken buildings" in caplog.text
    assert b["residential"].tolist() == [True]
    assert b["area_m2"].iloc[0] == pytest.approx(33.4 * 33.2, rel=0.02)
    assert b.crs.to_epsg() == 4326


def test_tiny_clipped_multipolygon_is_counted(tiny):
    lu = osm.read_landuse(tiny)
    assert len(lu) == 0
    assert lu.attrs["skipped"] == 1
    assert list(lu.columns) == ["osm_id", "osm_type", "landuse", "name", "geometry"]


def test_tiny_roads_clip_reverse_and_filter(tiny):
    roads = osm.read_roads(tiny)
    assert roads["osm_id"].tolist() == [102, 104]
    carrer = roads.iloc[0]
    # node 999 is missing: the longest located run is 5 → 6 → 7, reversed for oneway=-1
    assert roads.attrs["clipped"] == 1
    assert shapely.get_coordinates(carrer.geometry).tolist() == [[0.0008, 0.0008], [0.0008, 0.0005], [0.0005, 0.0005]]
    assert bool(carrer["oneway"]) and carrer["name"] == "Carrer Major"
    assert osm.read_roads(tiny, network="walk")["osm_id"].tolist() == [102]
    assert not osm.read_roads(tiny, network="walk")["oneway"].any()
    with pytest.raises(ValueError, match="network"):
        osm.read_roads(tiny, network="bike")


def test_tiny_places_and_pois(tiny):
    places = osm.read_places(tiny)
    assert places[["osm_id", "place", "name", "population"]].values.tolist() == [[9, "village", "Tiny", 120.0]]
    pois = osm.read_pois(tiny)
    assert pois["kind"].tolist() == ["shop=bakery"]


# ----------------------------------------------------------------- Andorra
def test_andorra_parishes():
    parishes = osm.read_boundaries(ANDORRA, admin_level=7)
    assert len(parishes) == 6
    assert {"Andorra la Vella", "Encamp", "Escaldes-Engordany", "La Massana", "Ordino", "Sant Julià de Lòria"} == set(parishes["name"])
    assert (parishes["admin_level"] == 7).all()
    assert parishes.attrs["skipped"] >= 1  # Canillo and the clipped neighbours
    assert parishes.geometry.is_valid.all()
    assert _in_bbox(parishes, 1.40, 42.42, 1.80, 42.66)
    areas = parishes.to_crs(32631).area / 1e6
    assert 20 < areas.min() and areas.max() < 100 and 300 < areas.sum() < 400  # km²
    assert osm.read_boundaries(ANDORRA, admin_level=[7, 8])["admin_level"].eq(7).sum() == 6


def test_andorra_places():
    kinds = Counter(osm.read_places(ANDORRA)["place"])
    assert kinds["town"] == 7 and kinds["village"] == 32 and kinds["hamlet"] == 20
    assert "locality" not in kinds
    assert osm.read_places(ANDORRA, kinds=("town",)).shape[0] == 7


def test_andorra_roads_share_intersection_vertices():
    roads = osm.read_roads(ANDORRA)
    assert 1_400 < len(roads) < 1_800
    assert list(roads.columns) == ["osm_id", "highway", "name", "oneway", "geometry"]
    assert roads.crs.to_epsg() == 4326 and roads.geom_type.eq("LineString").all()
    assert roads["oneway"].dtype == bool and roads["oneway"].any()
    assert roads["osm_id"].is_unique
    assert not roads["highway"].isin(["construction", "proposed"]).any()
    drive, walk = osm.read_roads(ANDORRA, network="drive"), osm.read_roads(ANDORRA, network="walk")
    assert 1_000 < len(drive) < 1_300 and 1_300 < len(walk) < 1_700
    assert not drive["highway"].isin(["path", "footway", "steps", "track"]).any()
    assert not walk["highway"].isin(["motorway", "trunk"]).any()
    # ways meeting at a junction share the junction's vertex
    coords = shapely.get_coordinates(drive.geometry.to_numpy())
    _, per_vertex = np.unique(coords, axis=0, return_counts=True)
    assert (per_vertex >= 2).sum() > 500


def test_andorra_buildings_landuse_pois():
    b = osm.read_buildings(ANDORRA)
    assert 250 < len(b) < 350
    assert b.geom_type.isin(["Polygon", "MultiPolygon"]).all() and b.geometry.is_valid.all()
    lu = osm.read_landuse(ANDORRA, kinds=("residential",))
    assert 20 <= len(lu) <= 30 and (lu["landuse"] == "residential").all()
    assert set(lu["osm_type"]) == {"way", "relation"}
    assert len(osm.read_landuse(ANDORRA)) > len(lu)
    assert 100 < len(osm.read_pois(ANDORRA)) < 400


# ----------------------------------------------------------------- Kotka
def test_kotka_buildings(caplog):
    with caplog.at_level(logging.WARNING, logger="geodata.osm"):
        b = osm.read_buildings(KOTKA)
    assert 2_100 < len(b) < 2_300
    assert b.attrs["skipped"] > 0 and "broken buildings" in caplog.text  # clipped footprints: counted, logged
    assert 1_100 < b["residential"].sum() < 1_400
    assert (b.loc[b["building"] == "residential", "residential"]).all()
    assert not b.loc[b["building"] == "industrial", "residential"].any()
    assert b.geometry.is_valid.all() and b.crs.to_epsg() == 4326
    assert _in_bbox(b, 26.92, 60.51, 26.98, 60.55)
    assert 100 < b["area_m2"].median() < 200


def test_kotka_roads_and_places():
    roads = osm.read_roads(KOTKA)
    assert 250 < len(roads) < 400
    assert roads.attrs["clipped"] > 0 and roads.attrs["skipped"] > 0
    assert roads.geometry.is_valid.all() and (shapely.length(roads.geometry.to_numpy()) > 0).all()
    places = osm.read_places(KOTKA)
    assert len(places) == 6 and set(places["place"]) == {"suburb", "neighbourhood", "hamlet"}
    assert len(osm.read_boundaries(KOTKA)) == 0


def test_data_readme_credits_osm():
    text = (DATA / "README.md").read_text(encoding="utf-8")
    assert "© OpenStreetMap contributors" in text and "ODbL 1.0" in text
    for name in ("andorra.osm.pbf", "kotka.osm.pbf"):
        assert name in text and (DATA / name).exists()
