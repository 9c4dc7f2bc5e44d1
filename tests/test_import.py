"""Importers: each source format offices have, into a campaign layer."""

import zipfile

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Geod

from geodata.crs import wgs84_to_bd09, wgs84_to_gcj02
from geodata.errors import CampaignReadError, ImportFormatError
from geodata.importers import import_layer, parse_column_map
from geodata.io import read_layers
from zoufang.cli import main

GEOD = Geod(ellps="WGS84")


def household_sheet(layers, *, coords="wgs84"):
    """The households of the good campaign as an office spreadsheet with Chinese headers."""
    h = layers["households"]
    lon, lat = h.geometry.x.to_numpy(), h.geometry.y.to_numpy()
    if coords == "gcj02":
        lon, lat = wgs84_to_gcj02(lon, lat)
    elif coords == "bd09":
        lon, lat = wgs84_to_bd09(lon, lat)
    return pd.DataFrame({
        "户编码": h.household_id, "户主姓名": h.head_name, "联系电话": h.phone, "家庭住址": h.address,
        "经度": lon, "纬度": lat, "是否建档立卡户": np.where(h.poor, "是", "否"), "住户状态": h.status,
        "家庭人口": h.members, "备注": "extra column kept",
    })


def max_error_m(frame, reference):
    a = frame.set_index("household_id").geometry
    b = reference.set_index("household_id").geometry.loc[a.index]
    return max(GEOD.inv(p.x, p.y, q.x, q.y)[2] for p, q in zip(a, b))


def test_csv_with_chinese_headers(tmp_path, layers):
    path = tmp_path / "hh.csv"
    household_sheet(layers).to_csv(path, index=False)
    frame = import_layer(path, "households")
    assert len(frame) == len(layers["households"])
    assert {"household_id", "head_name", "phone", "address", "poor", "status", "members", "备注"} <= set(frame.columns)
    assert max_error_m(frame, layers["households"]) < 0.01


def test_csv_in_gb18030_encoding(tmp_path, layers):
    path = tmp_path / "hh.csv"
    household_sheet(layers).to_csv(path, index=False, encoding="gb18030")
    assert import_layer(path, "households")["head_name"].iloc[0] == "张1"


def test_excel_sheet(tmp_path, layers):
    path = tmp_path / "hh.xlsx"
    household_sheet(layers).to_excel(path, index=False)
    frame = import_layer(path, "households")
    assert len(frame) == len(layers["households"]) and max_error_m(frame, layers["households"]) < 0.01


@pytest.mark.parametrize("coords", ["gcj02", "bd09"])
def test_amap_and_baidu_coordinates_are_converted_within_1m(tmp_path, layers, coords):
    path = tmp_path / "hh.xlsx"
    household_sheet(layers, coords=coords).to_excel(path, index=False)
    raw = import_layer(path, "households")  # read as WGS-84: hundreds of metres off
    assert max_error_m(raw, layers["households"]) > 100
    frame = import_layer(path, "households", crs=coords)
    assert max_error_m(frame, layers["households"]) < 1.0


def test_explicit_column_mapping_and_lon_lat_names(tmp_path, layers):
    df = household_sheet(layers).rename(columns={"户主姓名": "HZXM", "经度": "JD", "纬度": "WD"})
    path = tmp_path / "hh.csv"
    df.to_csv(path, index=False)
    with pytest.raises(ImportFormatError, match="longitude"):
        import_layer(path, "households")
    frame = import_layer(path, "households", columns=parse_column_map("HZXM=head_name"), lon="JD", lat="WD")
    assert frame["head_name"].iloc[0] == "张1"


def test_bad_column_map_syntax():
    with pytest.raises(ImportFormatError, match="old=new"):
        parse_column_map("head_name")


def test_unparseable_coordinates_keep_the_row_with_empty_geometry(tmp_path, layers):
    df = household_sheet(layers)
    df["经度"] = df["经度"].astype(object)
    df.loc[3, "经度"] = "东经120度"
    path = tmp_path / "hh.csv"
    df.to_csv(path, index=False)
    frame = import_layer(path, "households")
    assert len(frame) == len(df)  # nothing dropped
    assert frame.geometry.iloc[3] is None


def test_geojson_polygons(tmp_path, layers):
    path = tmp_path / "villages.geojson"
    layers["villages"].to_file(path, driver="GeoJSON")
    frame = import_layer(path, "villages")
    assert list(frame["village_id"]) == list(layers["villages"]["village_id"])
    assert frame.crs.to_epsg() == 4326


def test_zipped_shapefile_in_a_projected_crs(tmp_path, layers):
    shp_dir = tmp_path / "grids_shp"
    shp_dir.mkdir()
    layers["grids"].to_crs(4547).to_file(shp_dir / "grids.shp")  # CGCS2000 / 3-degree GK CM 114E
    zpath = tmp_path / "grids.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for f in shp_dir.iterdir():
            zf.write(f, f.name)
    frame = import_layer(zpath, "grids")
    assert len(frame) == 16 and frame.crs.to_epsg() == 4326
    ref = layers["grids"].set_index("grid_id").geometry
    got = frame.set_index("grid_id").geometry
    c1, c2 = got.loc["G1100"].centroid, ref.loc["G1100"].centroid
    assert GEOD.inv(c1.x, c1.y, c2.x, c2.y)[2] < 1.0


def test_geopackage_layer_source(tmp_path, layers):
    src = tmp_path / "office.gpkg"
    layers["enterprises"].to_file(src, layer="qiye", driver="GPKG")
    frame = import_layer(src, "enterprises", source_layer="qiye")
    assert len(frame) == len(layers["enterprises"])


def test_osm_roads_and_residential_buildings():
    from conftest import REPO

    pbf = REPO / "geodata" / "data" / "kotka.osm.pbf"
    roads = import_layer(pbf, "roads")
    assert len(roads) > 200 and "highway" in roads.columns
    assert roads.attrs.get("skipped", 0) > 0  # broken clipped ways are counted, not dropped silently
    hh = import_layer(pbf, "households")
    assert 900 < len(hh) < 1500 and hh["household_id"].is_unique


def test_unknown_layer_and_missing_file(tmp_path):
    with pytest.raises(CampaignReadError, match="unknown layer"):
        import_layer(tmp_path / "x.csv", "people")
    with pytest.raises(CampaignReadError, match="no such file"):
        import_layer(tmp_path / "x.csv", "households")


def test_cli_import_adds_the_layer_and_validates(tmp_path, layers, campaign_file):
    path = tmp_path / "hh.xlsx"
    sheet = household_sheet(layers, coords="gcj02")
    sheet.to_excel(path, index=False)
    runner = CliRunner()
    result = runner.invoke(main, ["import", str(campaign_file), "households", str(path), "--crs", "gcj02"])
    assert result.exit_code == 0, result.output
    assert "160 rows imported" in result.output
    stored = read_layers(campaign_file)["households"]
    assert len(stored) == 160 and "备注" in stored.columns
    # the same file without --crs: the points are ~500 m off, validation says so and the exit code is 1
    result = runner.invoke(main, ["import", str(campaign_file), "households", str(path)])
    assert result.exit_code == 1 and ("outside_grids" in result.output or "grid_mismatch" in result.output)


def test_cli_import_unknown_crs_is_a_clear_error(tmp_path, layers, campaign_file):
    path = tmp_path / "hh.csv"
    household_sheet(layers).to_csv(path, index=False)
    result = CliRunner().invoke(main, ["import", str(campaign_file), "households", str(path), "--crs", "wgs-85"])
    assert result.exit_code == 1 and "unknown coordinate system" in result.output


# (bare \r / \n inside an unquoted CSV field really are line breaks, so they are left out; lone
# surrogates cannot be written to any file, so no office file can hold them)
cell = st.one_of(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=10), st.integers(-10**9, 10**9).map(str), st.floats(allow_nan=False).map(str),
                 st.just(""))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(cell, cell, cell, cell), min_size=1, max_size=6))
def test_garbage_spreadsheet_gives_clear_errors_or_findings(tmp_path, rows):
    from geodata.validate import validate_layers

    from factories import good_layers

    df = pd.DataFrame(rows, columns=["户编码", "经度", "纬度", "住户状态"])
    path = tmp_path / "g.csv"
    df.to_csv(path, index=False)
    try:
        frame = import_layer(path, "households")
    except (ImportFormatError, CampaignReadError):
        return
    assert len(frame) == len(df)
    L = good_layers(households_per_grid=1)
    L["households"] = frame
    validate_layers(L)  # findings, never an exception
