"""The web site: app factory, campaign map page, layer API, offline assets, privacy."""

from __future__ import annotations

import json
import re
from urllib.parse import urljoin

import folium
import pytest
import shapely
from pyproj import Transformer

from conftest_web import (  # noqa: F401  (fixtures)
    HOUSEHOLDS_PER_GRID,
    MOVED_HOUSEHOLD,
    N_HOUSEHOLDS,
    PLAN_TEAMS,
    X0,
    Y0,
    app,
    client,
    db_template,
    db_url,
    login,
    make_app,
    planned,
    planned_app,
    personal_values,
    web_campaign,
    web_files,
    web_plan,
)
from web import create_app
from web.data import get_data
from web.maps import MissingVendorAsset, campaign_map, offline

PAGES = ["/planner/map", "/planner/plan", "/planner/upload", "/planner/map?lang=en"]
LAYER_COUNTS = {"towns": 1, "villages": 4, "grids": 8, "roads": 2, "households": N_HOUSEHOLDS, "enterprises": 2}
_TO_WGS84 = Transformer.from_crs(32631, 4326, always_xy=True)


def bbox_of(minx, miny, maxx, maxy) -> str:
    """A WGS-84 bbox string around a box given in the fixture's metric CRS."""
    box = shapely.ops.transform(_TO_WGS84.transform, shapely.box(minx, miny, maxx, maxy))
    return ",".join(f"{v:.7f}" for v in box.bounds)


def geojson(client, name, **params):  # noqa: F811
    response = client.get(f"/api/layers/{name}.geojson", query_string=params)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/geo+json"
    return response.get_json()


# --- app factory ------------------------------------------------------------


def test_create_app_defaults_to_chinese_offline_and_no_campaign():
    app = create_app({"TESTING": True})  # noqa: F811
    assert app.testing
    assert app.config["LANGUAGE"] == "zh"
    assert app.config["TILE_URL"] is None
    assert app.config["CAMPAIGN_PATH"] is None
    assert {"planner", "cadre", "leader", "api"} <= set(app.blueprints)


def test_create_app_rejects_an_unknown_language():
    with pytest.raises(ValueError, match="LANGUAGE must be one of zh, en, not 'fr'"):
        create_app({"TESTING": True, "LANGUAGE": "fr"})


def test_without_a_campaign_pages_say_how_to_start_and_the_api_answers_503(db_url, tmp_path):  # noqa: F811
    client = login(make_app(db_url, tmp_path).test_client(), "planner")  # noqa: F811
    page = client.get("/planner/map")
    assert page.status_code == 503
    assert "zoufang serve CAMPAIGN.gpkg" in page.get_data(as_text=True)
    api = client.get("/api/layers/villages.geojson")
    assert api.status_code == 503
    assert "no campaign configured" in api.get_json()["error"]


def test_campaign_is_loaded_once_per_app(app):  # noqa: F811
    with app.app_context():
        assert get_data() is get_data()


# --- the campaign map -------------------------------------------------------


def _js_name(name: str) -> str:
    """How folium writes a layer name in the layer control's JS."""
    return json.dumps(name)[1:-1]


def test_map_page_renders_with_chinese_layer_names_and_legend(client):  # noqa: F811
    response = client.get("/planner/map")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<html lang="zh-CN">' in html
    for name in ("镇/街道", "村/社区", "网格", "道路", "住户", "企业"):
        assert _js_name(name) in html, name
    assert "L.control.layers" in html
    assert "zoufangMap.init(" in html
    # legend: must-visit outlines and the two teams of the plan
    for text in ("经济薄弱村（必访）", "征收安置社区（必访）", "第一工作组", "第二工作组"):
        assert text in html


def test_map_page_switches_to_english_and_remembers_it(client):  # noqa: F811
    html = client.get("/planner/map?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in html
    assert _js_name("Villages") in html and "Weak village (must visit)" in html
    again = client.get("/planner/map").get_data(as_text=True)
    assert '<html lang="en">' in again
    back = client.get("/planner/plan?lang=zh").get_data(as_text=True)
    assert '<html lang="zh-CN">' in back


def test_map_bakes_no_household_into_the_html(client, web_campaign):  # noqa: F811
    html = client.get("/planner/map").get_data(as_text=True)
    assert "H-G1A-0" not in html
    assert "L.circleMarker(" not in html.split("campaign_map.js")[-1].split("zoufangMap.init(")[0]
    assert html.count("L.marker(") == 0


def test_campaign_map_object_fits_the_villages_without_tiles(app):  # noqa: F811
    with app.test_request_context("/planner/map"):
        data = get_data()
        cmap = campaign_map(data)
    west, south, east, north = data.bounds
    assert cmap.map.location == pytest.approx([(south + north) / 2, (west + east) / 2])
    assert [g.layer_name for g in cmap.groups.values()] == ["镇/街道", "村/社区", "网格", "道路", "住户", "企业"]
    assert cmap.groups["enterprises"].show is False
    assert not any(isinstance(c, folium.TileLayer) for c in cmap.map._children.values())


def test_tile_layer_is_added_and_allowed_only_when_configured(web_campaign, db_url, tmp_path):  # noqa: F811
    url = "http://tiles.intranet.example/{z}/{x}/{y}.png"
    client = login(make_app(db_url, tmp_path, CAMPAIGN=web_campaign, TILE_URL=url).test_client(), "planner")  # noqa: F811
    response = client.get("/planner/map")
    assert url in response.get_data(as_text=True)
    assert "img-src 'self' data: http://tiles.intranet.example" in response.headers["Content-Security-Policy"]


def test_unknown_tile_crs_is_refused():
    with pytest.raises(ValueError, match="TILE_CRS must be 'wgs84' or 'gcj02', not 'bd09'"):
        create_app({"TESTING": True, "TILE_CRS": "bd09"})


def _moved_to_china(campaign):
    """The fixture's campaign with the same metric coordinates in UTM zone 50N
    (about 45°N 117°E, inside China, where GCJ-02 differs from WGS-84)."""
    from dataclasses import replace

    from pyproj import CRS

    layers = {
        name: campaign.layer(name).set_crs(32650, allow_override=True)
        for name in ("villages", "grids", "households", "enterprises", "towns", "roads")
    }
    return replace(campaign, crs=CRS.from_epsg(32650), **layers)


def test_gcj02_tiles_shift_our_layers_by_the_gcj02_offset(web_campaign, db_url, tmp_path):  # noqa: F811
    from geodata.crs import wgs84_to_gcj02

    china = _moved_to_china(web_campaign)
    plain = login(make_app(db_url, tmp_path, CAMPAIGN=china).test_client(), "planner")
    shifted = login(make_app(db_url, tmp_path, CAMPAIGN=china, TILE_CRS="gcj02").test_client(), "planner")
    [(lon, lat)] = [f["geometry"]["coordinates"] for f in geojson(plain, "enterprises")["features"][:1]]
    [(glon, glat)] = [f["geometry"]["coordinates"] for f in geojson(shifted, "enterprises")["features"][:1]]
    want_lon, want_lat = wgs84_to_gcj02(lon, lat)
    assert (glon, glat) == pytest.approx((float(want_lon), float(want_lat)), abs=2e-6)
    assert abs(glon - lon) + abs(glat - lat) > 1e-3  # hundreds of metres, not rounding


def test_without_a_plan_grids_are_unassigned_and_the_legend_says_so(web_campaign, db_url, tmp_path):  # noqa: F811
    client = login(make_app(db_url, tmp_path, CAMPAIGN=web_campaign).test_client(), "planner")  # noqa: F811
    html = client.get("/planner/map").get_data(as_text=True)
    assert "未加载分配方案" in html
    grids = geojson(client, "grids")
    assert {f["properties"]["team_id"] for f in grids["features"]} == {None}


# --- the layer API ----------------------------------------------------------


@pytest.mark.parametrize("name, count", LAYER_COUNTS.items())
def test_layer_api_returns_every_feature_without_bbox(client, name, count):  # noqa: F811
    data = geojson(client, name)
    assert data["type"] == "FeatureCollection"
    assert data["layer"] == name and data["aggregation"] is None
    assert len(data["features"]) == data["total"] == count
    assert data["truncated"] is False


def test_layer_api_keeps_only_features_in_the_bbox(client):  # noqa: F811
    inside_v1 = bbox_of(X0 + 50, Y0 + 50, X0 + 950, Y0 + 950)
    villages = geojson(client, "villages", bbox=inside_v1)
    assert [f["properties"]["village_id"] for f in villages["features"]] == ["V1"]
    grids = geojson(client, "grids", bbox=inside_v1)
    assert {f["properties"]["grid_id"] for f in grids["features"]} == {"G1A", "G1B"}
    households = geojson(client, "households", bbox=inside_v1)
    assert len(households["features"]) == HOUSEHOLDS_PER_GRID["G1A"] + HOUSEHOLDS_PER_GRID["G1B"]
    far_away = geojson(client, "households", bbox="100,10,100.1,10.1")
    assert far_away["features"] == [] and far_away["total"] == 0


def test_layer_api_returns_wgs84_coordinates(client):  # noqa: F811
    west, south, east, north = (float(v) for v in bbox_of(X0, Y0, X0 + 2000, Y0 + 2000).split(","))
    for f in geojson(client, "households")["features"]:
        lon, lat = f["geometry"]["coordinates"]
        assert west <= lon <= east and south <= lat <= north


@pytest.mark.parametrize("zoom, aggregation, features", [
    (9, "town", 1),  # county view: one count per town
    (12, "village", 4),  # town view: one count per village
    (14, "grid", 8),  # village view: one count per grid
    (16, None, N_HOUSEHOLDS),  # street view: the households themselves
])
def test_households_are_counted_by_unit_until_zoomed_in(client, zoom, aggregation, features):  # noqa: F811
    data = geojson(client, "households", zoom=zoom)
    assert data["aggregation"] == aggregation
    assert len(data["features"]) == features
    if aggregation:
        assert sum(f["properties"]["count"] for f in data["features"]) == N_HOUSEHOLDS
        assert all(f["geometry"]["type"] == "Point" for f in data["features"])


def test_grid_counts_match_the_households_of_each_grid_and_carry_its_team(client):  # noqa: F811
    data = geojson(client, "households", agg="grid")
    got = {f["properties"]["grid_id"]: f["properties"] for f in data["features"]}
    assert {g: p["count"] for g, p in got.items()} == HOUSEHOLDS_PER_GRID
    assert {g: p["team_id"] for g, p in got.items()} == PLAN_TEAMS


def test_town_counts_come_from_the_villages_when_there_is_no_towns_layer(web_campaign, db_url, tmp_path):  # noqa: F811
    from dataclasses import replace

    app = make_app(db_url, tmp_path, CAMPAIGN=replace(web_campaign, towns=None))  # noqa: F811
    data = geojson(login(app.test_client(), "planner"), "households", agg="town")
    [feature] = data["features"]
    assert feature["properties"]["town_id"] == "T01"
    assert feature["properties"]["count"] == N_HOUSEHOLDS


def test_grid_counts_respect_the_bbox(client):  # noqa: F811
    around_v4 = bbox_of(X0 + 1050, Y0 + 1050, X0 + 1950, Y0 + 1950)
    data = geojson(client, "households", agg="grid", bbox=around_v4)
    assert {f["properties"]["grid_id"]: f["properties"]["count"] for f in data["features"]} == {
        "G4A": HOUSEHOLDS_PER_GRID["G4A"], "G4B": HOUSEHOLDS_PER_GRID["G4B"],
    }


def test_too_many_points_come_back_as_grid_counts(client):  # noqa: F811
    data = geojson(client, "households", zoom=18, limit=10)
    assert data["aggregation"] == "grid"
    assert sum(f["properties"]["count"] for f in data["features"]) == N_HOUSEHOLDS


def test_other_layers_are_cut_at_the_limit(client):  # noqa: F811
    data = geojson(client, "grids", limit=3)
    assert len(data["features"]) == 3 and data["total"] == 8 and data["truncated"] is True


def test_low_zoom_keeps_only_major_roads(client):  # noqa: F811
    assert [f["properties"]["highway"] for f in geojson(client, "roads", zoom=11)["features"]] == ["primary"]
    assert len(geojson(client, "roads", zoom=15)["features"]) == 2


def test_plan_gives_grids_their_team_and_households_their_own_or_their_grids(client):  # noqa: F811
    grids = {f["properties"]["grid_id"]: f["properties"]["team_id"] for f in geojson(client, "grids")["features"]}
    assert grids == PLAN_TEAMS
    households = {f["properties"]["household_id"]: f["properties"] for f in geojson(client, "households")["features"]}
    assert households[MOVED_HOUSEHOLD]["team_id"] == "T2"
    assert all(p["team_id"] == PLAN_TEAMS[p["grid_id"]] for h, p in households.items() if h != MOVED_HOUSEHOLD)


def test_villages_carry_their_must_visit_flags(client):  # noqa: F811
    props = {f["properties"]["village_id"]: f["properties"] for f in geojson(client, "villages")["features"]}
    assert {v for v, p in props.items() if p["weak"]} == {"V1"}
    assert {v for v, p in props.items() if p["resettlement"]} == {"V2"}


def test_large_layers_are_gzipped_for_clients_that_accept_it(client):  # noqa: F811
    import gzip

    plain = client.get("/api/layers/households.geojson")
    packed = client.get("/api/layers/households.geojson", headers={"Accept-Encoding": "gzip, deflate"})
    assert "Content-Encoding" not in plain.headers
    assert packed.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in packed.headers["Vary"]
    assert json.loads(gzip.decompress(packed.data)) == plain.get_json()
    assert len(packed.data) < len(plain.data) / 2


def test_layers_can_be_revalidated_with_their_etag(client):  # noqa: F811
    first = client.get("/api/layers/grids.geojson")
    assert first.headers["ETag"]
    again = client.get("/api/layers/grids.geojson", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""


def test_campaign_api_lists_counts_and_team_colours(client):  # noqa: F811
    data = client.get("/api/campaign").get_json()
    assert data["counts"] == LAYER_COUNTS
    assert [t["team_id"] for t in data["teams"]] == ["T1", "T2"]
    assert all(re.fullmatch(r"#[0-9a-f]{6}", t["colour"]) for t in data["teams"])
    index = client.get("/api/").get_json()
    assert index["layers"]["villages"] == "/api/layers/villages.geojson"


@pytest.mark.parametrize("query, status, message", [
    ("/api/layers/parcels.geojson", 404, "unknown layer 'parcels'"),  # not a layer we serve
    ("/api/layers/grids.geojson?bbox=1,2", 400, "bbox must be four numbers"),  # too few numbers
    ("/api/layers/grids.geojson?bbox=a,b,c,d", 400, "bbox must be four numbers"),  # not numbers
    ("/api/layers/grids.geojson?bbox=3,45,2,46", 400, "west ≤ east"),  # west and east swapped
    ("/api/layers/households.geojson?zoom=near", 400, "zoom must be a number"),
    ("/api/layers/households.geojson?agg=county", 400, "agg must be one of town, village, grid"),
    ("/api/layers/villages.geojson?agg=grid", 400, "agg applies to the point layers"),  # polygons are not counted
    ("/api/layers/grids.geojson?limit=0", 400, "limit must be at least 1"),
    ("/api/nowhere", 404, "not found"),
])
def test_bad_layer_requests_are_refused_with_a_reason(client, query, status, message):  # noqa: F811
    response = client.get(query)
    assert response.status_code == status
    assert message in response.get_json()["error"]


def test_campaign_and_plan_load_from_geopackages(web_files, db_url, tmp_path):  # noqa: F811
    campaign_path, plan_path = web_files
    app = make_app(db_url, tmp_path, CAMPAIGN_PATH=str(campaign_path), PLAN_PATH=str(plan_path))  # noqa: F811
    client = login(app.test_client(), "planner")  # noqa: F811
    data = client.get("/api/campaign").get_json()
    assert data["counts"] == LAYER_COUNTS and data["planned"] is True
    grids = {f["properties"]["grid_id"]: f["properties"]["team_id"] for f in geojson(client, "grids")["features"]}
    assert grids == PLAN_TEAMS
    assert client.get("/planner/map").status_code == 200


# --- offline ----------------------------------------------------------------

_REF = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url\(\s*["']?([^"')]+)["']?\s*\)""", re.I)
_EXTERNAL = re.compile(r"^(?:https?:)?//", re.I)


def _refs(text: str) -> list[str]:
    return [a or b for a, b in _REF.findall(text)]


@pytest.mark.parametrize("path", PAGES)
def test_pages_reference_no_external_host_and_every_asset_is_served(client, path):  # noqa: F811
    response = client.get(path)
    assert response.status_code == 200
    refs = _refs(response.get_data(as_text=True))
    assert refs, "expected some src/href references"
    external = [r for r in refs if _EXTERNAL.match(r)]
    assert external == [], f"{path} references external hosts: {external}"
    assets = [r for r in refs if r.startswith("/static/")]
    assert any("vendor/leaflet-1.9.4/leaflet.js" in a for a in assets) or path != "/planner/map"
    seen = set()
    while assets:
        asset = assets.pop()
        if asset in seen:
            continue
        seen.add(asset)
        got = client.get(asset.split("?")[0].split("#")[0])
        assert got.status_code == 200, asset
        if asset.endswith(".css"):  # follow the stylesheet's own url(...)s
            for ref in _refs(got.get_data(as_text=True)):
                if ref.startswith(("data:", "#")):
                    continue
                assert not _EXTERNAL.match(ref), f"{asset} references {ref}"
                assets.append(urljoin(asset, ref))
        got.close()


ALL_PAGES = [
    (None, "/login"),
    ("planner", "/planner/map"), ("planner", "/planner/plan"), ("planner", "/planner/upload"),
    ("cadre1", "/cadre/"), ("cadre1", "/cadre/sheet"), ("cadre1", "/cadre/?lang=en"),
    ("leader", "/leader/"), ("leader", "/leader/?lang=en"), ("admin", "/admin/"),
]


@pytest.mark.parametrize("user, path", ALL_PAGES)
def test_every_page_of_every_role_references_no_external_host(planned_app, user, path):  # noqa: F811
    from conftest_web import client_as

    c = client_as(planned_app, user) if user else planned_app.test_client()
    response = c.get(path)
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    external = [r for r in _refs(text) if _EXTERNAL.match(r)]
    assert external == [], f"{path} references external hosts: {external}"
    for asset in {r.split("?")[0] for r in _refs(text) if r.startswith("/static/")}:
        got = c.get(asset)
        assert got.status_code == 200, asset
        got.close()
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]


def test_pages_forbid_other_hosts_by_content_security_policy(client):  # noqa: F811
    csp = client.get("/planner/map").headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "connect-src 'self'" in csp
    assert "http" not in csp


def test_offline_refuses_a_plugin_whose_assets_are_not_vendored():
    from folium.plugins import MarkerCluster

    m = folium.Map(tiles=None)
    MarkerCluster().add_to(m)
    with pytest.raises(MissingVendorAsset, match="MarkerCluster needs 'markerclusterjs'"):
        offline(m, static_url=lambda p: "/static/" + p)


def test_offline_leaves_folium_class_defaults_alone():
    before = list(folium.Map.default_js)
    m = offline(folium.Map(tiles=None), static_url=lambda p: "/static/" + p)
    assert folium.Map.default_js == before
    assert all(url.startswith("/static/vendor/") for _, url in m.default_js + m.default_css)


# --- privacy ----------------------------------------------------------------


def _all_responses(client):  # noqa: F811
    paths = ["/", "/planner/", "/api/", "/api/campaign", *PAGES]
    for name in LAYER_COUNTS:
        paths.append(f"/api/layers/{name}.geojson")
        for zoom in (10, 14, 18):
            paths.append(f"/api/layers/{name}.geojson?zoom={zoom}")
    for path in paths:
        yield path, client.get(path).get_data(as_text=True)


def test_no_response_contains_household_names_phones_or_addresses(client, web_campaign):  # noqa: F811
    secrets = personal_values(web_campaign)
    assert len(secrets) == 3 * N_HOUSEHOLDS
    for path, body in _all_responses(client):
        for key in ("head_name", "phone", "address"):
            assert f'"{key}"' not in body, f"{path} has a {key} field"
        for value in secrets:
            assert value not in body and _js_name(value) not in body, f"{path} leaks {value!r}"


# --- languages --------------------------------------------------------------


def _messages_in_the_code():
    """Every literal message the site translates: ``_("...")`` in web/*.py
    (implicit concatenation included) and templates, ``t("...")`` in our JS."""
    import ast
    from pathlib import Path

    import web

    root = Path(web.__file__).parent
    found = set()
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("_", "gettext")
                    and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                found.add(node.args[0].value)
    for path in root.glob("templates/**/*.html"):
        found |= set(re.findall(r"""_\(\s*["']([^"']+)["']\s*[,)]""", path.read_text(encoding="utf-8")))
    js = (root / "static/js/campaign_map.js").read_text(encoding="utf-8")
    found |= set(re.findall(r"""\bt\(\s*"([^"]+)"\s*\)""", js))
    from web.cadre import CATEGORY_LABELS, LEVEL_LABELS, OUTCOME_LABELS
    from web.maps import LAYER_LABELS
    from web.plans import BECAUSE, REASONS, STOPS

    found |= {label for label, _show in LAYER_LABELS.values()}
    for labels in (OUTCOME_LABELS, CATEGORY_LABELS, LEVEL_LABELS, REASONS, STOPS):
        found |= set(labels.values())
    found.add(BECAUSE)
    return found


def test_every_message_of_the_site_has_a_chinese_translation():
    from geodata.schema import HOUSEHOLD_STATUSES, VILLAGE_KINDS
    from web.i18n import ZH

    messages = _messages_in_the_code()
    assert len(messages) > 40  # the scan found the site's text
    missing = sorted(m for m in messages | set(VILLAGE_KINDS) | set(HOUSEHOLD_STATUSES) if m not in ZH)
    assert missing == []
    unused = sorted(set(ZH) - messages - set(VILLAGE_KINDS) - set(HOUSEHOLD_STATUSES))
    assert unused == []


def test_counts_in_the_page_header_are_grouped_by_thousands():
    from web.i18n import format_number

    assert format_number(15971) == "15,971"
    assert format_number("n/a") == "n/a"


def test_maps_open_on_the_main_area_when_the_campaign_lies_in_separate_areas():
    """The demo spans Andorra and Kotka, 2,700 km apart: the first view is the larger area."""
    import geopandas as gpd
    from shapely.geometry import box

    from web.data import home_bounds

    andorra = [box(1.5 + i * 0.02, 42.5, 1.51 + i * 0.02, 42.51) for i in range(5)]
    kotka = [box(26.9 + i * 0.01, 60.5, 26.905 + i * 0.01, 60.505) for i in range(2)]
    villages = gpd.GeoDataFrame(geometry=andorra + kotka, crs=4326)
    west, south, east, north = home_bounds(villages)
    assert 1.4 < west < east < 1.7 and 42.4 < south < north < 42.6
    one_area = gpd.GeoDataFrame(geometry=andorra, crs=4326)
    assert home_bounds(one_area) == tuple(float(v) for v in one_area.total_bounds)
