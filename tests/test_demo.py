"""geodata.demo: the demo campaign built from the shipped OSM extracts.

The demo is built once per session (``demo_path``); the determinism test builds
it a second time.
"""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from geodata import schema
from geodata.demo import ATTRIBUTION, DATA_DIR, DEFAULT_SEED, LAYER_ORDER, build_demo, demo_layers

METRIC = {"T07": 32635}  # Karhula (Kotka) is in UTM 35N, the Andorran towns in UTM 31N


@pytest.fixture(scope="session")
def demo_path(tmp_path_factory) -> Path:
    return build_demo(tmp_path_factory.mktemp("demo") / "demo.gpkg")


@pytest.fixture(scope="session")
def demo(demo_path) -> dict[str, pd.DataFrame]:
    return {name: pyogrio.read_dataframe(demo_path, layer=name) for name in LAYER_ORDER}


def _metric(frame: gpd.GeoDataFrame, town_ids: pd.Series) -> list[gpd.GeoDataFrame]:
    """The frame split by region, each in its UTM zone."""
    kotka = town_ids.isin(METRIC)
    return [frame[~kotka].to_crs(32631), frame[kotka].to_crs(32635)]


def _town_of(ids: pd.Series) -> pd.Series:
    return "T" + ids.str[1:3]


# ----------------------------------------------------------------- format
def test_layers_follow_the_schema(demo, demo_path):
    listed = dict(pyogrio.list_layers(demo_path))
    assert set(listed) == set(LAYER_ORDER)
    for name, frame in demo.items():
        layer = schema.LAYERS[name]
        for column in layer.columns:
            if column.required:
                assert column.name in frame.columns, (name, column.name)
                assert frame[column.name].notna().all(), (name, column.name)
            if column.allowed and column.name in frame.columns:
                assert frame[column.name].isin(column.allowed).all(), (name, column.name)
        if layer.geometry is None:
            assert listed[name] is None and not isinstance(frame, gpd.GeoDataFrame)
        else:
            assert frame.crs.to_epsg() == 4326
            assert frame.geometry.is_valid.all() and not frame.geometry.is_empty.any()
            assert frame.geom_type.str.replace("Multi", "").eq(layer.geometry).all()
        if layer.id_column:
            assert frame[layer.id_column].is_unique


def test_ids_are_readable(demo):
    patterns = {
        "towns": r"T\d{2}", "villages": r"V\d{4}", "grids": r"G\d{6}", "households": r"H\d{6}",
        "enterprises": r"E\d{4}", "teams": r"TM\d{2}", "cadres": r"C\d{4}",
    }
    for name, pattern in patterns.items():
        ids = demo[name][schema.LAYERS[name].id_column]
        assert ids.str.fullmatch(pattern).all(), name
    # ids nest: G010203 lies in V0102, which lies in T01
    assert (demo["villages"]["village_id"].str[1:3] == demo["villages"]["town_id"].str[1:]).all()
    assert (demo["grids"]["grid_id"].str[1:5] == demo["grids"]["village_id"].str[1:]).all()
    assert set(demo["cadres"]["team_id"]) <= set(demo["teams"]["team_id"])


def test_sizes(demo):
    assert len(demo["households"]) >= 10_000
    assert len(demo["towns"]) == 7  # Andorra's six readable parishes + Karhula
    assert len(demo["villages"]) >= 30
    assert 200 <= len(demo["enterprises"]) <= 500
    assert (demo["villages"]["kind"] == "community").sum() >= 7
    assert (demo["villages"].loc[demo["villages"]["town_id"] == "T07", "kind"] == "community").all()
    per_village = demo["grids"].groupby("village_id").size()
    assert per_village.between(2, 8).all() and set(per_village.index) == set(demo["villages"]["village_id"])
    assert demo["households"]["village_id"].nunique() == len(demo["villages"])  # no empty village
    assert len(demo["roads"]) > 1_500 and demo["roads"]["highway"].notna().all()


# ----------------------------------------------------------------- geometry
def test_every_point_strictly_inside_exactly_one_grid(demo):
    grids = demo["grids"]
    for name in schema.POINT_LAYERS:
        points = demo[name]
        joined = gpd.sjoin(points, grids[["grid_id", "village_id", "geometry"]], predicate="within", how="left")
        counts = joined.index.value_counts()
        assert len(counts) == len(points) and (counts == 1).all(), name
        assert (joined["grid_id_left"] == joined["grid_id_right"]).all(), name
        assert (joined["village_id_left"] == joined["village_id_right"]).all(), name
        # not on a boundary: clear of every grid edge
        edges = shapely.boundary(grids.set_index("grid_id").geometry.loc[points["grid_id"]].to_numpy())
        assert (shapely.distance(points.geometry.to_numpy(), edges) > 0).all(), name


@pytest.mark.parametrize(("parts", "wholes", "key"), [("grids", "villages", "village_id"), ("villages", "towns", "town_id")])
def test_tiles_cover_exactly(demo, parts, wholes, key):
    """Grids tile their village (and villages their town): same area, no overlap."""
    part_town = _town_of(demo[parts][key]) if key == "village_id" else demo[parts]["town_id"]
    whole_town = _town_of(demo[wholes][key]) if key == "village_id" else demo[wholes]["town_id"]
    for part, whole in zip(_metric(demo[parts], part_town), _metric(demo[wholes], whole_town)):
        union = part.dissolve(key).area.sort_index()
        area = whole.set_index(key).area.sort_index()
        assert list(union.index) == list(area.index)
        assert ((union - area).abs() / area).max() < 1e-3
        pairs = shapely.STRtree(part.geometry.to_numpy()).query(part.geometry.to_numpy(), predicate="intersects")
        pairs = pairs[:, pairs[0] < pairs[1]]
        overlap = shapely.area(shapely.intersection(part.geometry.to_numpy()[pairs[0]], part.geometry.to_numpy()[pairs[1]]))
        assert overlap.sum() < 1e-6 * area.sum()


def test_team_bases_are_real_places(demo):
    teams, towns = demo["teams"], demo["towns"]
    bases = gpd.GeoDataFrame(teams, geometry=gpd.points_from_xy(teams["base_lon"], teams["base_lat"]), crs=4326)
    assert bases.geometry.within(towns.union_all()).all()


# ----------------------------------------------------------------- attributes
def test_household_rates(demo):
    h = demo["households"]
    status = h["status"].value_counts(normalize=True)
    assert 0.02 <= h["poor"].mean() <= 0.045
    assert 0.05 <= status["vacant"] <= 0.15
    assert 0.02 <= status["rental"] <= 0.15 and 0.02 <= status["away"] <= 0.15
    assert status["resident"] > 0.6
    assert h["members"].between(1, 6).all() and set(h["members"]) == set(range(1, 7))
    assert h["head_name"].str.fullmatch(r"[\u4e00-\u9fff]{2,3}").all()
    assert h["phone"].str.fullmatch(r"1[3-9]\d{9}").all()
    assert h["address"].str.contains("号").all()
    # several households share an apartment block, most live alone in their house
    per_point = h.geometry.to_wkb().value_counts()
    assert per_point.max() >= 10 and (per_point == 1).sum() > 3_000


def test_village_and_enterprise_flags(demo):
    v, e = demo["villages"], demo["enterprises"]
    assert 0.10 <= v["weak"].mean() <= 0.20
    assert not v.loc[v["kind"] == "community", "weak"].any()
    assert v["resettlement"].sum() >= 2 and (v.loc[v["resettlement"], "kind"] == "community").all()
    assert 0.15 <= e["listed"].mean() <= 0.25
    assert e["name"].is_unique and e["name"].str.endswith("公司").all()


def test_teams_and_cadres_can_meet_the_must_visit_rules(demo):
    teams, cadres = demo["teams"], demo["cadres"]
    assert (teams["level"] == "city").sum() == 3
    assert 8 <= (teams["level"] == "county").sum() <= 12
    town_teams = teams[teams["level"] == "town"]
    assert len(town_teams) == len(demo["towns"])
    senior = cadres["rank"].map(schema.rank_index) >= schema.rank_index("deputy_division")
    must_senior = demo["villages"]["weak"].sum() + demo["villages"]["resettlement"].sum() + demo["enterprises"]["listed"].sum()
    assert senior.sum() >= 20 and must_senior / senior.sum() < 10  # a senior cadre has < 10 must-visits
    for level in ("city", "county", "town"):  # poor households: one cadre of each level
        assert (cadres["level"] == level).sum() >= 20
    assert (cadres["level"] == "village").any()
    # every team has a leader of its level, city and county teams a senior one
    lead = cadres.groupby("team_id").head(1).set_index("team_id")
    team_level = teams.set_index("team_id")["level"]
    assert (lead["level"] == team_level.loc[lead.index]).all()
    assert senior[cadres.groupby("team_id").head(1).index][team_level.loc[lead.index].isin(["city", "county"]).to_numpy()].all()
    assert len(cadres) <= len(demo["households"]) / 30  # each cadre visits at least 30 households


# ----------------------------------------------------------------- determinism, packaging
def test_same_seed_same_layers(demo, tmp_path):
    again = build_demo(tmp_path / "again.gpkg", seed=DEFAULT_SEED)
    for name in LAYER_ORDER:
        pd.testing.assert_frame_equal(pyogrio.read_dataframe(again, layer=name), demo[name], obj=name)


def test_other_seed_other_layers(demo):
    other = demo_layers(seed=DEFAULT_SEED + 1)
    assert not other["households"]["head_name"].reset_index(drop=True).equals(demo["households"]["head_name"])
    assert not np.array_equal(
        shapely.get_coordinates(other["households"].geometry.to_numpy())[:500],
        shapely.get_coordinates(demo["households"].geometry.to_numpy())[:500],
    )
    assert len(other["towns"]) == 7 and len(other["households"]) >= 10_000


def test_credits_openstreetmap(demo_path):
    assert pyogrio.read_info(demo_path, layer="towns")["dataset_metadata"]["ATTRIBUTION"] == ATTRIBUTION
    assert pyogrio.read_info(demo_path, layer="cadres")["layer_metadata"]["DESCRIPTION"].startswith("走访干部")


def test_needs_only_the_shipped_data():
    assert DATA_DIR == Path(schema.__file__).resolve().parent / "data"
    assert {p.name for p in DATA_DIR.glob("*.osm.pbf")} >= {"andorra.osm.pbf", "kotka.osm.pbf"}


def test_demo_loads_as_a_campaign(demo_path):
    import geodata

    campaign = geodata.load_campaign(demo_path)
    assert len(campaign.households) > 10_000 and len(campaign.grids) > 60
    assert re.match(r"EPSG:326\d\d", campaign.crs.to_string())
