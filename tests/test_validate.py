"""Validation: one small broken fixture per rule, named after its defect."""

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.affinity import translate
from shapely.geometry import Point, Polygon

from factories import good_layers
from geodata import load_campaign
from geodata.errors import ValidationError
from geodata.io import write_layers
from geodata.schema import LAYERS
from geodata.validate import validate_layers
from zoufang.cli import main


def test_good_campaign_has_no_findings(layers):
    checked = validate_layers(layers)
    assert checked.report.findings == ()
    assert checked.crs.to_epsg() == 32650
    hh = checked.layers["households"]
    assert hh["grid_id"].notna().all() and hh["village_id"].notna().all()


# --- broken fixtures: each mutates the good campaign in one way --------------------------------

def households_missing_layer(L):
    del L["households"]


def villages_missing_kind_column(L):
    L["villages"] = L["villages"].drop(columns="kind")


def households_duplicate_id(L):
    L["households"].loc[5, "household_id"] = "H0001"


def cadres_missing_id(L):
    L["cadres"].loc[2, "cadre_id"] = None


def grids_self_intersecting_bowtie(L):
    g = L["grids"].geometry.iloc[0]
    x0, y0, x1, y1 = g.bounds
    L["grids"].loc[0, "geometry"] = Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)])


def households_empty_geometry(L):
    L["households"].loc[3, "geometry"] = None


def grids_overlapping(L):
    L["grids"].loc[0, "geometry"] = L["grids"].geometry.iloc[0].buffer(0.001)  # ~100 m into the neighbours


def villages_overlapping(L):
    L["villages"].loc[0, "geometry"] = translate(L["villages"].geometry.iloc[0], xoff=0.002)


def households_outside_every_grid(L):
    L["households"].loc[7, "geometry"] = Point(119.95, 31.875)  # 1 km west of the villages: in no grid


def households_on_grid_boundary(L):
    g = L["grids"].to_crs(32650).geometry.iloc[0]
    x0, y0, x1, y1 = g.bounds
    p = gpd.GeoSeries([Point(x1, (y0 + y1) / 2)], crs=32650).to_crs(4326).iloc[0]
    L["households"].loc[0, "geometry"] = p


def households_swapped_lat_lon(L):
    p = L["households"].geometry.iloc[4]
    L["households"].loc[4, "geometry"] = Point(p.y, p.x)


def households_far_outside_region(L):
    L["households"].loc[9, "geometry"] = Point(87.6, 43.8)  # Urumqi, 3,000 km away


def households_unknown_status(L):
    L["households"]["status"] = L["households"]["status"].astype(object)
    L["households"].loc[1, "status"] = "on holiday"


def villages_unknown_kind(L):
    L["villages"].loc[0, "kind"] = "hamlet"


def cadres_unknown_rank(L):
    L["cadres"].loc[0, "rank"] = "general"


def teams_unknown_level(L):
    L["teams"].loc[0, "level"] = "province"


def cadres_team_does_not_exist(L):
    L["cadres"].loc[0, "team_id"] = "TM99"


def teams_without_cadres(L):
    L["teams"] = pd.concat([L["teams"], pd.DataFrame([{"team_id": "TM5", "name": "空组", "level": "town"}])],
                           ignore_index=True)


def households_missing_crs(L):
    L["households"] = L["households"].set_crs(None, allow_override=True)


def households_bad_members(L):
    L["households"]["members"] = L["households"]["members"].astype(object)
    L["households"].loc[0, "members"] = "three"


def households_unknown_grid_id(L):
    L["households"]["grid_id"] = None
    L["households"].loc[0, "grid_id"] = "G999"


def grids_unknown_village_id(L):
    L["grids"].loc[0, "village_id"] = "V99"


def villages_unknown_town_id(L):
    L["villages"].loc[0, "town_id"] = "T9"


def teams_half_base(L):
    L["teams"].loc[1, "base_lon"] = 119.9


def towns_unknown_county(L):
    from shapely.geometry import box

    L["counties"] = gpd.GeoDataFrame({"county_id": ["K1"], "name": ["县1"]},
                                     geometry=[box(119.9, 31.8, 120.1, 31.95)], crs=4326)
    L["towns"]["county_id"] = ["K1", "K2"]


def villages_empty_layer(L):
    L["villages"] = L["villages"].iloc[0:0]


CASES = [
    # (fixture, layer, rule, feature id or None)
    (households_missing_layer, "households", "missing_layer", None),
    (villages_missing_kind_column, "villages", "missing_column", None),
    (households_duplicate_id, "households", "duplicate_id", "H0001"),
    (cadres_missing_id, "cadres", "missing_id", "row 3"),
    (grids_self_intersecting_bowtie, "grids", "invalid_geometry", "G1100"),
    (households_empty_geometry, "households", "empty_geometry", "H0004"),
    (grids_overlapping, "grids", "grid_overlap", "G1100"),
    (villages_overlapping, "villages", "village_overlap", "V11"),
    (households_outside_every_grid, "households", "outside_grids", "H0008"),
    (households_on_grid_boundary, "households", "on_boundary", "H0001"),
    (households_swapped_lat_lon, "households", "swapped_coordinates", "H0005"),
    (households_far_outside_region, "households", "outside_region", "H0010"),
    (households_unknown_status, "households", "unknown_status", "H0002"),
    (villages_unknown_kind, "villages", "unknown_kind", "V11"),
    (cadres_unknown_rank, "cadres", "unknown_rank", "C01"),
    (teams_unknown_level, "teams", "unknown_level", "TM1"),
    (cadres_team_does_not_exist, "cadres", "unknown_team", "C01"),
    (teams_without_cadres, "teams", "team_without_cadres", "TM5"),
    (households_missing_crs, "households", "missing_crs", None),
    (households_bad_members, "households", "bad_members", "H0001"),
    (households_unknown_grid_id, "households", "unknown_grid", "H0001"),
    (grids_unknown_village_id, "grids", "unknown_village", "G1100"),
    (villages_unknown_town_id, "villages", "unknown_town", "V11"),
    (teams_half_base, "teams", "bad_base", "TM2"),
    (villages_empty_layer, "villages", "empty_layer", None),
    (towns_unknown_county, "towns", "unknown_county", "T2"),
]


@pytest.mark.parametrize("breaker,layer,rule,fid", CASES, ids=[c[0].__name__ for c in CASES])
def test_each_defect_is_reported_with_layer_id_rule_and_fix(breaker, layer, rule, fid):
    L = good_layers()
    breaker(L)
    report = validate_layers(L).report
    assert not report.ok
    hits = [f for f in report.errors if f.rule == rule and f.layer == layer]
    assert hits, f"expected {rule} in {layer}, got {[str(f) for f in report.findings]}"
    if fid is not None:
        assert fid in {f.feature_id for f in hits}
    assert all(f.fix and f.message for f in report.findings)


def test_unknown_value_message_lists_the_allowed_values():
    L = good_layers()
    cadres_unknown_rank(L)
    f = validate_layers(L).report.by_rule("unknown_rank")[0]
    assert "'general'" in f.message and "deputy_division" in f.fix


def test_overlap_reports_the_area():
    L = good_layers()
    grids_overlapping(L)
    f = validate_layers(L).report.by_rule("grid_overlap")[0]
    assert f.details["area_m2"] > 1_000 and "m²" in f.message


def test_all_findings_come_together_not_one_per_run():
    L = good_layers()
    for breaker in (households_duplicate_id, villages_unknown_kind, cadres_team_does_not_exist,
                    households_outside_every_grid, grids_overlapping):
        breaker(L)
    rules = validate_layers(L).report.rules()
    assert {"duplicate_id", "unknown_kind", "unknown_team", "outside_grids", "grid_overlap"} <= rules


def test_missing_crs_is_accepted_with_declared_crs():
    L = good_layers()
    households_missing_crs(L)
    assert validate_layers(L, crs="wgs84").report.ok


def test_chinese_category_labels_are_accepted():
    L = good_layers()
    L["villages"]["kind"] = ["村", "社区", "村", "社区"]
    L["cadres"]["rank"] = ["副处级"] * len(L["cadres"])
    checked = validate_layers(L)
    assert checked.report.ok
    assert set(checked.layers["cadres"]["rank"]) == {"deputy_division"}
    assert list(checked.layers["villages"]["kind"]) == ["village", "community", "village", "community"]


def test_missing_ids_are_derived_spatially(layers):
    layers["grids"]["village_id"] = None
    layers["villages"]["town_id"] = None
    checked = validate_layers(layers)
    assert checked.report.ok
    grids = checked.layers["grids"].set_index("grid_id")
    assert grids.loc["G2100", "village_id"] == "V21"
    assert checked.layers["villages"].set_index("village_id").loc["V22", "town_id"] == "T2"


def test_load_campaign_raises_validation_error_with_findings(tmp_path):
    L = good_layers()
    households_duplicate_id(L)
    path = write_layers(L, tmp_path / "bad.gpkg")
    with pytest.raises(ValidationError, match="duplicate") as exc:
        load_campaign(path)
    assert any(f.rule == "duplicate_id" for f in exc.value.findings)


def test_load_campaign_gives_metric_frames(campaign_file):
    c = load_campaign(campaign_file)
    assert c.crs.is_projected and c.households.crs == c.crs
    assert len(c.households) == 160 and len(c.grids) == 16
    assert c.teams.loc[0, "base_x"] > 700_000


# --- the command line ---------------------------------------------------------------------------

def test_cli_exit_codes(tmp_path, campaign_file):
    runner = CliRunner()
    assert runner.invoke(main, ["validate", str(campaign_file)]).exit_code == 0
    L = good_layers()
    households_duplicate_id(L)
    bad = write_layers(L, tmp_path / "bad.gpkg")
    result = runner.invoke(main, ["validate", str(bad)])
    assert result.exit_code == 1 and "duplicate_id" in result.output
    assert runner.invoke(main, ["validate", str(tmp_path / "nope.gpkg")]).exit_code == 2
    (tmp_path / "text.gpkg").write_text("not a geopackage")
    result = runner.invoke(main, ["validate", str(tmp_path / "text.gpkg")])
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_cli_json_output_is_machine_readable(tmp_path):
    L = good_layers()
    villages_unknown_kind(L)
    bad = write_layers(L, tmp_path / "bad.gpkg")
    result = CliRunner().invoke(main, ["validate", str(bad), "--json"])
    data = json.loads(result.output)
    assert result.exit_code == 1 and data["ok"] is False
    assert {"layer": "villages", "feature_id": "V11", "rule": "unknown_kind"}.items() <= data["findings"][0].items()


def test_cli_fix_repairs_invalid_geometry_and_reports_it(tmp_path):
    L = good_layers()
    grids_self_intersecting_bowtie(L)
    bad = write_layers(L, tmp_path / "bad.gpkg")
    result = CliRunner().invoke(main, ["validate", str(bad), "--fix", "-o", str(tmp_path / "fixed.gpkg")])
    assert "[fixed] grids G1100" in result.output
    again = CliRunner().invoke(main, ["validate", str(tmp_path / "fixed.gpkg")])
    assert "invalid_geometry" not in again.output


def test_template_has_every_layer_and_column(tmp_path):
    import pyogrio

    path = tmp_path / "t.gpkg"
    assert CliRunner().invoke(main, ["template", str(path)]).exit_code == 0
    present = {name: gtype for name, gtype in pyogrio.list_layers(path)}
    assert set(present) == set(LAYERS)
    for name, layer in LAYERS.items():
        cols = set(pyogrio.read_info(path, layer=name)["fields"])
        assert {c.name for c in layer.columns} <= cols
        if layer.geometry:
            assert layer.geometry in present[name]
        else:
            assert present[name] is None


# --- garbage never produces a traceback ---------------------------------------------------------

garbage = st.one_of(st.none(), st.text(max_size=12), st.integers(-10**12, 10**12), st.floats(allow_nan=True),
                    st.booleans(), st.binary(max_size=6))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layer=st.sampled_from(["villages", "grids", "households", "enterprises", "teams", "cadres", "towns"]),
       column=st.integers(0, 20), values=st.lists(garbage, min_size=1, max_size=8), data=st.data())
def test_random_garbage_in_any_column_gives_findings_not_tracebacks(layer, column, values, data):
    L = good_layers(households_per_grid=2)
    frame = L[layer]
    cols = [c for c in frame.columns if c != "geometry"]
    col = cols[column % len(cols)]
    frame[col] = frame[col].astype(object)
    rows = data.draw(st.lists(st.integers(0, len(frame) - 1), min_size=len(values), max_size=len(values)))
    for r, v in zip(rows, values):
        frame.at[frame.index[r], col] = v
    report = validate_layers(L).report  # must not raise
    for f in report.findings:
        assert f.layer and f.rule and f.fix
