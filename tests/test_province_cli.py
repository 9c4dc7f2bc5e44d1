"""`zoufang plan-province`: one plan file with county_id on every row from a province file, and from
a folder of county files where a broken county fails alone, named, with exit 1."""

from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
from click.testing import CliRunner
from factories import good_layers

from geodata.io import write_layers
from zoufang.cli import main

SHIFT_DEG = 0.05  # east, per county (the good campaign is ~4 km wide, ~0.04° at 32°N)


def county_layers(k: int) -> dict:
    """The small good campaign as county K<k>: ids prefixed, shifted east, county ids given."""
    tag = f"K{k}"
    layers = good_layers(seed=k)
    prefix = {"towns": ["town_id"], "villages": ["village_id", "town_id"], "grids": ["grid_id", "village_id"],
              "households": ["household_id"], "enterprises": ["enterprise_id"], "teams": ["team_id"],
              "cadres": ["cadre_id", "team_id"]}
    out = {}
    for name, frame in layers.items():
        f = frame.copy()
        for col in prefix[name]:
            f[col] = tag + f[col].astype(str)
        if isinstance(f, gpd.GeoDataFrame):
            f["geometry"] = shapely.transform(f.geometry.to_numpy(), lambda xy: xy + [(k - 1) * SHIFT_DEG, 0.0])
        out[name] = f
    out["teams"]["base_lon"] = out["teams"]["base_lon"] + (k - 1) * SHIFT_DEG
    out["towns"]["county_id"] = tag
    out["teams"]["county_id"] = tag
    return out


def province_layers(n: int = 2) -> dict:
    parts = [county_layers(k) for k in range(1, n + 1)]
    out = {}
    for name in parts[0]:
        frames = [p[name] for p in parts]
        cat = pd.concat(frames, ignore_index=True)
        out[name] = gpd.GeoDataFrame(cat, geometry="geometry", crs=4326) if isinstance(frames[0], gpd.GeoDataFrame) \
            else cat
    counties = out["towns"].dissolve("county_id").reset_index()[["county_id", "geometry"]]
    counties["name"] = [f"县{c}" for c in counties["county_id"]]
    out["counties"] = counties[["county_id", "name", "geometry"]]
    return out


def run(*args):
    return CliRunner().invoke(main, ["plan-province", *map(str, args)], catch_exceptions=False)


def test_province_file_gives_one_plan_with_county_id_on_every_row(tmp_path):
    src = write_layers(province_layers(2), tmp_path / "province.gpkg")
    out = tmp_path / "plan.gpkg"
    res = run(src, "-o", out, "--workers", 1, "--time-limit", 1, "--seed", 0)
    assert res.exit_code == 0, res.output
    assert "2 of 2 counties planned" in res.output
    layers = {name for name, _ in pyogrio.list_layers(out)}
    assert layers == {"assignment", "must_visits", "teams_summary", "plan_info", "counties", "city_teams",
                      "soft_goals"}
    for layer in ("assignment", "must_visits", "teams_summary", "soft_goals"):
        frame = pyogrio.read_dataframe(out, layer=layer, read_geometry=False)
        assert frame["county_id"].notna().all() and set(frame["county_id"]) == {"K1", "K2"}, layer
    a = pyogrio.read_dataframe(out, layer="assignment", read_geometry=False)
    assert (a["entity_type"] == "household").sum() == 2 * 160
    counties = pyogrio.read_dataframe(out, layer="counties", read_geometry=False)
    assert list(counties["status"]) == ["ok", "ok"]


def test_folder_of_county_files_with_one_broken_county(tmp_path):
    folder = tmp_path / "province"
    write_layers(county_layers(1), folder / "K1.gpkg")
    broken = county_layers(2)
    broken["villages"] = broken["villages"].iloc[0:0]  # an empty villages layer: bad data
    write_layers(broken, folder / "K2.gpkg")
    write_layers(county_layers(3), folder / "K3.gpkg")
    out = tmp_path / "plan.gpkg"
    res = CliRunner().invoke(main, ["plan-province", str(folder), "-o", str(out), "--workers", "1",
                                    "--time-limit", "1", "--json"], catch_exceptions=False)
    assert res.exit_code == 1
    summary = json.loads(res.stdout)
    assert summary["status"] == "PARTIAL" and summary["counties_planned"] == 2
    (failure,) = summary["failures"]
    assert failure["county_id"] == "K2" and failure["kind"] == "data" and "villages" in failure["reason"]
    a = pyogrio.read_dataframe(out, layer="assignment", read_geometry=False)
    assert set(a["county_id"]) == {"K1", "K3"}
    counties = pyogrio.read_dataframe(out, layer="counties", read_geometry=False).set_index("county_id")
    assert counties.loc["K2", "status"] == "failed" and "villages" in counties.loc["K2", "reason"]


def test_province_file_with_bad_data_in_one_county_plans_the_others(tmp_path):
    layers = province_layers(2)
    hh = layers["households"]
    k2 = hh.index[hh["household_id"].str.startswith("K2")][0]
    hh.loc[k2, "status"] = "bogus"  # not a household status: a data error in county K2
    layers["households"] = hh
    src = write_layers(layers, tmp_path / "province.gpkg")
    out = tmp_path / "plan.gpkg"
    res = run(src, "-o", out, "--workers", 1, "--time-limit", 1, "--json")
    assert res.exit_code == 1
    summary = json.loads(res.stdout)
    (failure,) = summary["failures"]
    assert failure["county_id"] == "K2" and failure["name"] == "县K2" and failure["kind"] == "data"
    assert hh.at[k2, "household_id"] in failure["reason"]
    a = pyogrio.read_dataframe(out, layer="assignment", read_geometry=False)
    assert set(a["county_id"]) == {"K1"}


def test_wants_province_sees_counties_and_county_folders(tmp_path):
    from zoufang.commands.province import wants_province

    plain = write_layers(good_layers(), tmp_path / "county.gpkg")
    assert not wants_province(plain)
    assert wants_province(write_layers(province_layers(2), tmp_path / "province.gpkg"))
    towns_only = province_layers(2)
    del towns_only["counties"]
    assert wants_province(write_layers(towns_only, tmp_path / "towns_county_id.gpkg"))
    folder = tmp_path / "counties"
    write_layers(county_layers(1), folder / "K1.gpkg")
    assert wants_province(folder)


def test_folder_with_a_team_in_two_county_files_is_refused(tmp_path):
    folder = tmp_path / "province"
    write_layers(county_layers(1), folder / "K1.gpkg")
    k2 = county_layers(2)
    k2["teams"].loc[0, "team_id"] = "K1TM1"  # the same team as in K1's file
    k2["cadres"].loc[k2["cadres"]["team_id"] == "K2TM1", "team_id"] = "K1TM1"
    write_layers(k2, folder / "K2.gpkg")
    res = run(folder, "-o", tmp_path / "plan.gpkg")
    assert res.exit_code == 1
    assert "K1TM1 in ['K1', 'K2']" in res.output


def test_schedule_province_adds_county_schedules_to_the_plan(tmp_path):
    src = write_layers(province_layers(2), tmp_path / "province.gpkg")
    out = tmp_path / "plan.gpkg"
    assert run(src, "-o", out, "--workers", 1, "--time-limit", 1).exit_code == 0
    res = CliRunner().invoke(main, ["schedule-province", str(src), str(out), "--start", "2026-03-02", "--end",
                                    "2026-03-20", "--workers", "1", "--iterations", "20", "--json"],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["status"] == "OK" and summary["stops"] > 0
    stops = pyogrio.read_dataframe(out, layer="stops", read_geometry=False)
    assert set(stops["county_id"]) == {"K1", "K2"}
    counties = pyogrio.read_dataframe(out, layer="schedule_counties", read_geometry=False)
    assert list(counties["status"]) == ["ok", "ok"]


def bad_status(layers):
    """a household status that does not exist"""
    hh = layers["households"]
    hh.loc[hh.index[hh["household_id"].str.startswith("K2")][0], "status"] = "bogus"


def bad_rank(layers):
    """a cadre rank that does not exist (traced cadre → team → county)"""
    cad = layers["cadres"]
    cad.loc[cad.index[cad["cadre_id"].str.startswith("K2")][0], "rank"] = "general"


def bad_kind(layers):
    """a village kind that does not exist"""
    vil = layers["villages"]
    vil.loc[vil.index[vil["village_id"].str.startswith("K2")][0], "kind"] = "hamlet"


@pytest.mark.parametrize("breaking", [bad_status, bad_rank, bad_kind])
def test_load_province_traces_each_error_to_its_county(tmp_path, breaking):
    from planner.province import load_province

    layers = province_layers(2)
    breaking(layers)
    campaign, failed = load_province(write_layers(layers, tmp_path / "province.gpkg"))
    assert [(f.county_id, f.kind) for f in failed] == [("K2", "data")]
    assert set(campaign.villages["village_id"].str[:2]) == {"K1"}
    assert set(campaign.cadres["cadre_id"].str[:2]) == {"K1"}
    assert len(campaign.households) == 160


def test_assign_hands_a_campaign_with_counties_to_plan_province(tmp_path):
    src = write_layers(province_layers(2), tmp_path / "province.gpkg")
    out = tmp_path / "plan.gpkg"
    res = CliRunner().invoke(main, ["assign", str(src), "-o", str(out), "--workers", "1", "--time-limit", "1"],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "2 of 2 counties planned" in res.output
    assert "counties" in {name for name, _ in pyogrio.list_layers(out)}
