"""County scoping of accounts (issue 7 item 3, web.scope): a county office sees and
edits only its own county, a city its counties, a provincial account everything —
for every county-scoped route."""

from __future__ import annotations

import io
import json
import uuid

import pandas as pd
import pytest
from openpyxl import load_workbook

from geodata import store
from planner.province.synthetic import make_province

ACCOUNTS = {  # username: (role, scope_level, scope_id, scope_counties)
    "prov_leader": ("leader", None, None, None),
    "prov_planner": ("planner", None, None, None),
    "k1_leader": ("leader", "county", "K1", None),
    "k1_planner": ("planner", "county", "K1", None),
    "city_leader": ("leader", "city", "C12", "K1,K2"),
}


@pytest.fixture(scope="module")
def province():
    return make_province(counties=3, households_per_grid=4)


def _plan(camp) -> pd.DataFrame:
    g = camp.grids
    teams = camp.teams.set_index("team_id")
    rows = []
    for gid, vid in zip(g["grid_id"].astype(str), g["village_id"].astype(str)):
        k = vid[:2]
        own = [t for t in teams.index if str(t).startswith(k) and teams.loc[t, "level"] == "town"]
        rows.append({"entity_type": "grid", "entity_id": gid, "team_id": own[0], "cadre_id": None})
    return pd.DataFrame(rows)


@pytest.fixture
def site(tmp_path, province):
    from web import create_app
    from web import db as webdb

    url = f"sqlite:///{tmp_path / 'site.sqlite'}"
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "WTF_CSRF_ENABLED": False, "CAMPAIGN": province,
                      "PLAN": _plan(province), "DATABASE_URL": url, "TODAY": "2026-03-20",
                      "CAMPAIGN_START": "2026-03-01", "CAMPAIGN_END": "2026-03-31", "CAMPAIGN_KEY": "prov",
                      "PLAN_FOLDER": str(tmp_path / "plans"), "UPLOAD_FOLDER": str(tmp_path / "up")})
    ids = {}
    with app.app_context():
        with webdb.session() as s:
            for name, (role, level, sid, counties) in ACCOUNTS.items():
                acc = store.create_account(s, name, "pw", role=role, scope_level=level, scope_id=sid,
                                           scope_counties=counties)
                ids[name] = acc.id
        cid = webdb.campaign_id()
        hh = province.households.household_id.astype(str).tolist()
        h1, h2, h3 = (next(h for h in hh if h.startswith(k)) for k in ("K1", "K2", "K3"))
        batch = []
        for h, cadre in ((h1, "K1CITY01C1"), (h2, "K2CITY01C1"), (h3, "K3CITY01C1")):
            batch.append({"client_id": uuid.uuid4().hex, "entity_type": "household", "entity_id": h,
                          "cadre_id": cadre, "visited_at": "2026-03-05T10:00:00", "outcome": "visited",
                          "problems": [{"client_id": uuid.uuid4().hex, "category": "difficulty",
                                        "description": f"roof of {h}"}]})
        res = store.submit_visits(webdb.engine(), batch, campaign_id=cid)
    app.ids = ids
    app.h = {"K1": h1, "K2": h2, "K3": h3}
    app.visit = {k: r["visit_id"] for k, r in zip(("K1", "K2", "K3"), res)}
    app.problem = {k: r["problem_ids"][0] for k, r in zip(("K1", "K2", "K3"), res)}
    return app


def as_(app, name):
    c = app.test_client()
    with c.session_transaction() as sess:
        sess["_user_id"] = str(app.ids[name])
        sess["_fresh"] = True
    return c


def test_a_scope_is_checked_when_the_account_is_made():
    with pytest.raises(ValueError, match="scope level 'town'"):
        store.check_scope("town", "T1")
    with pytest.raises(ValueError, match="names its county"):
        store.check_scope("county", None)
    assert store.check_scope("city", "3204", "320402，320412") == ("city", "3204", "320402,320412")
    assert store.check_scope(None, None) == (None, None, None)


def test_a_city_without_a_list_sees_the_counties_its_code_prefixes():
    from web.scope import scope_of

    class U:
        scope_level, scope_id, scope_counties = "city", "3204", None

    assert scope_of(U, ["320402", "320412", "320506"]).counties == frozenset({"320402", "320412"})


def _ids(features, key):
    return {f["properties"][key] for f in features}


def test_map_and_coverage_api_show_only_the_accounts_counties(site):
    k1, prov, city = as_(site, "k1_leader"), as_(site, "prov_leader"), as_(site, "city_leader")
    for client, want in ((k1, {"K1"}), (prov, {"K1", "K2", "K3"}), (city, {"K1", "K2"})):
        r = client.get("/api/layers/villages.geojson")
        assert r.status_code == 200
        assert {v[:2] for v in _ids(r.get_json()["features"], "village_id")} == want
        r = client.get("/api/layers/households.geojson?zoom=18")
        assert {h[:2] for h in _ids(r.get_json()["features"], "household_id")} == want
        cov = client.get("/api/coverage").get_json()
        assert {v["village_id"][:2] for v in cov["by_village"]} == want
        assert cov["totals"]["households_covered"] == len(want)
        m = client.get("/api/coverage/map.geojson?layer=grids").get_json()
        assert {g[:2] for g in _ids(m["features"], "grid_id")} == want
        vil = client.get("/api/coverage/map.geojson?layer=villages").get_json()
        assert {v[:2] for v in _ids(vil["features"], "village_id")} == want
        heat = client.get("/api/coverage/map.geojson?layer=heat").get_json()
        assert {g[:2] for g in _ids(heat["features"], "grid_id")} == want
        pts = client.get("/api/coverage/map.geojson?layer=households").get_json()
        assert {h[:2] for h in _ids(pts["features"], "household_id")} == want
        shapes = json.loads(client.get("/api/coverage/shapes.geojson?layer=villages").get_data())
        assert {v[:2] for v in _ids(shapes["features"], "village_id")} == want
        figures = json.loads(client.get("/api/coverage/figures.json?layer=grids").get_data())
        assert {g[:2] for g in figures["ids"]} == want
        camp = client.get("/api/campaign").get_json()
        assert {t["team_id"][:2] for t in camp["teams"]} == want


def test_leader_pages_and_exports_are_filtered(site, province):
    k1 = as_(site, "k1_leader")
    html = k1.get("/leader/").get_data(as_text=True)
    k2_village = province.villages[province.villages.village_id.str.startswith("K2")].iloc[0]
    k1_village = province.villages[province.villages.village_id.str.startswith("K1")].iloc[0]
    assert k1_village["village_id"] in html or k1_village["name"] in html
    assert k2_village["village_id"] not in html
    r = k1.get("/leader/missing.xlsx")
    assert r.status_code == 200
    cells = {str(c) for row in load_workbook(io.BytesIO(r.data)).active.iter_rows(values_only=True) for c in row}
    assert any(c.startswith("K1") for c in cells) and not any(c.startswith(("K2", "K3")) for c in cells)
    r = k1.get("/api/reports/summary.xlsx?from=2026-03-01&to=2026-03-20")
    assert r.status_code == 200
    text = json.dumps([list(row) for ws in load_workbook(io.BytesIO(r.data)).worksheets
                       for row in ws.iter_rows(values_only=True)], default=str, ensure_ascii=False)
    assert f"roof of {site.h['K2']}" not in text


def test_problems_and_visits_of_another_county_are_403(site):
    k1, prov = as_(site, "k1_planner"), as_(site, "prov_planner")
    mine, other = site.problem["K1"], site.problem["K2"]
    assert {p["problem_id"] for p in k1.get("/api/problems").get_json()["problems"]} == {mine}
    assert len(prov.get("/api/problems").get_json()["problems"]) == 3
    assert k1.get(f"/api/problems/{mine}").status_code == 200
    r = k1.get(f"/api/problems/{other}")
    assert r.status_code == 403 and "outside your scope" in r.get_json()["error"]
    assert k1.post(f"/api/problems/{other}/assign", json={"to_unit": "镇"}).status_code == 403
    assert prov.get(f"/api/problems/{other}").status_code == 200
    assert k1.get(f"/problems/{other}").status_code == 403
    assert k1.post(f"/problems/{other}/assign", data={"to_unit": "镇"}).status_code == 403
    assert k1.get(f"/problems/{mine}").status_code == 200
    page = k1.get("/problems/").get_data(as_text=True)
    assert f"/problems/{mine}" in page and f"/problems/{other}" not in page
    w = k1.get("/api/warnings?today=2026-04-30").get_json()
    assert {p["problem_id"] for p in w["problems"]} <= {mine}
    assert all(u["unit_id"].startswith("K1") for u in w["units"])
    assert k1.get("/problems/warnings").status_code == 200
    # visits
    assert k1.get(f"/visits/{site.visit['K1']}").status_code == 200
    assert k1.get(f"/visits/{site.visit['K2']}").status_code == 403
    assert prov.get(f"/visits/{site.visit['K2']}").status_code == 200
    assert k1.get(f"/visits/new?entity_type=household&entity_id={site.h['K2']}").status_code == 403
    assert k1.get(f"/visits/new?entity_type=household&entity_id={site.h['K1']}").status_code == 200
    got = {v["entity_id"] for v in k1.get("/api/visits").get_json()["visits"]}
    assert got == {site.h["K1"]}
    assert len(prov.get("/api/visits").get_json()["visits"]) == 3


def test_recording_a_visit_in_another_county_is_refused(site):
    k1 = as_(site, "k1_planner")
    recs = [{"client_id": uuid.uuid4().hex, "entity_type": "household", "entity_id": site.h[k],
             "cadre_id": "K1CITY01C1", "visited_at": "2026-03-06T10:00:00", "outcome": "visited"}
            for k in ("K1", "K2")]
    r = k1.post("/api/visits", json=recs).get_json()
    assert [x["status"] for x in r["results"]] == ["created", "error"]
    assert "outside your account's scope" in r["results"][1]["errors"][0]


def test_planner_pages_read_and_edit_only_the_own_county(site, province):
    k1, prov = as_(site, "k1_planner"), as_(site, "prov_planner")
    plan = _plan(province)
    k2_grid = plan[plan.entity_id.str.startswith("K2")].iloc[0]
    k1_grids = plan[plan.entity_id.str.startswith("K1")]
    r = k1.post("/planner/move", data={"grid_id": k2_grid.entity_id, "team_id": k1_grids.iloc[0].team_id})
    assert r.status_code == 403
    r = k1.post("/planner/move", data={"grid_id": k1_grids.iloc[0].entity_id, "team_id": k2_grid.team_id})
    assert r.status_code == 403  # a team of another county
    r = k1.post("/planner/move", data={"grid_id": k1_grids.iloc[0].entity_id, "team_id": k1_grids.iloc[0].team_id})
    assert r.status_code in (200, 422)
    assert k1.post("/planner/run", data={"time_limit": "1"}).status_code == 403
    assert k1.post("/planner/upload", data={}).status_code == 403
    assert k1.post("/planner/upload/abc/use").status_code == 403
    assert k1.get("/planner/plans").status_code == 403  # the plans made are the whole campaign's
    assert k1.post("/planner/plans/upload", data={}).status_code == 403
    assert k1.post("/planner/plans/plan-20260101-000000-abcd.gpkg/use").status_code == 403
    assert "历次方案" not in k1.get("/planner/plan").get_data(as_text=True)  # no tab to a page it may not see
    assert "历次方案" in prov.get("/planner/plan").get_data(as_text=True)
    assert k1.get("/planner/download/plan.gpkg").status_code == 403
    assert prov.get("/planner/download/plan.gpkg").status_code == 200
    r = k1.get("/planner/download/teams.xlsx")
    assert r.status_code == 200
    cells = {str(c) for ws in load_workbook(io.BytesIO(r.data)).worksheets for row in ws.iter_rows(values_only=True)
             for c in row}
    assert any(c.startswith("K1") for c in cells) and not any(c.startswith(("K2", "K3")) for c in cells)
    for path in ("/planner/map", "/planner/plan"):
        page = k1.get(path)
        assert page.status_code == 200, path
        assert k2_grid.entity_id not in page.get_data(as_text=True), path


def test_the_rollup_api_reads_area_counters_within_the_scope(site):
    k1, prov, city = as_(site, "k1_leader"), as_(site, "prov_leader"), as_(site, "city_leader")
    r = prov.get("/api/coverage/rollup?level=county").get_json()
    assert [a["area_id"] for a in r["areas"]] == ["K1", "K2", "K3"]
    assert r["totals"]["households_covered"] == 3
    r = k1.get("/api/coverage/rollup?level=county").get_json()
    assert [a["area_id"] for a in r["areas"]] == ["K1"] and r["totals"]["households_covered"] == 1
    assert [a["area_id"] for a in city.get("/api/coverage/rollup?level=county").get_json()["areas"]] == ["K1", "K2"]
    r = k1.get("/api/coverage/rollup?level=village&county=K2")
    assert r.status_code == 403
    r = k1.get("/api/coverage/rollup?level=village&county=K1").get_json()
    assert r["areas"] and all(a["county_id"] == "K1" for a in r["areas"])
    assert k1.get("/api/coverage/rollup?level=street").status_code == 400


def test_the_admin_page_creates_a_county_account(site):
    from web import db as webdb

    site.ids["root"] = None
    with site.app_context(), webdb.session() as s:
        site.ids["root"] = store.create_account(s, "root", "pw", role="admin").id
    admin = as_(site, "root")
    page = admin.get("/admin/").get_data(as_text=True)
    assert "查看范围" in page and "k1_leader" in page
    r = admin.post("/admin/accounts", data={"username": "k3", "password": "password-k3", "role": "leader",
                                            "scope_level": "county", "scope_id": "K3"})
    assert r.status_code == 303
    r = admin.post("/admin/accounts", data={"username": "bad", "password": "password-bad", "role": "leader",
                                            "scope_level": "county", "scope_id": ""})
    with site.app_context(), webdb.session() as s:
        from sqlalchemy import select

        k3 = s.scalar(select(store.Account).where(store.Account.username == "k3"))
        assert (k3.scope_level, k3.scope_id) == ("county", "K3")
        assert s.scalar(select(store.Account).where(store.Account.username == "bad")) is None
    site.ids["k3"] = k3.id
    got = as_(site, "k3").get("/api/coverage").get_json()
    assert {v["village_id"][:2] for v in got["by_village"]} == {"K3"}


def test_places_in_view_and_coverage_by_polygon_from_the_database_are_scoped(site, province):
    k1, prov = as_(site, "k1_leader"), as_(site, "prov_leader")
    b = province.households.to_crs(4326).total_bounds
    bbox = ",".join(str(v) for v in (b[0] - 0.01, b[1] - 0.01, b[2] + 0.01, b[3] + 0.01))
    got = k1.get(f"/api/places.geojson?bbox={bbox}&type=household").get_json()
    ids = {f["properties"]["entity_id"] for f in got["features"]}
    assert ids == set(province.households.household_id[province.households.household_id.str.startswith("K1")])
    assert not {"head_name", "phone", "address"} & set(got["features"][0]["properties"])
    covered = {f["properties"]["entity_id"] for f in got["features"] if f["properties"]["covered"]}
    assert covered == {site.h["K1"]}
    assert len(prov.get(f"/api/places.geojson?bbox={bbox}&type=household").get_json()["features"]) == \
        len(province.households)
    assert k1.get("/api/places.geojson").status_code == 400
    assert k1.get("/api/places.geojson?bbox=1,2,x,4").status_code == 400
    k1_v = next(v for v in province.villages.village_id if v.startswith("K1"))
    k2_v = next(v for v in province.villages.village_id if v.startswith("K2"))
    r = k1.get(f"/api/coverage/polygon?level=village&id={k1_v}").get_json()
    n = int((province.households.village_id == k1_v).sum())
    assert r["households"] == n
    assert k1.get(f"/api/coverage/polygon?level=village&id={k2_v}").status_code == 403
    assert prov.get(f"/api/coverage/polygon?level=village&id={k2_v}").status_code == 200
    assert prov.get("/api/coverage/polygon?level=village&id=NOPE").status_code == 404


def test_a_village_in_no_county_is_seen_only_by_provincial_accounts(tmp_path, province):
    import dataclasses

    from web import create_app
    from web import db as webdb

    towns = province.towns.copy()
    lost_town = towns.loc[0, "town_id"]
    towns.loc[0, "county_id"] = None
    camp = dataclasses.replace(province, towns=towns, counties=None)
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "WTF_CSRF_ENABLED": False, "CAMPAIGN": camp,
                      "DATABASE_URL": f"sqlite:///{tmp_path / 's.sqlite'}", "CAMPAIGN_KEY": "p"})
    app.ids = {}
    with app.app_context(), webdb.session() as s:
        for name, (role, level, sid, counties) in ACCOUNTS.items():
            app.ids[name] = store.create_account(s, name, "pw", role=role, scope_level=level, scope_id=sid,
                                                 scope_counties=counties).id
    lost = camp.villages[camp.villages.town_id == lost_town]
    hh = camp.households[camp.households.village_id.isin(lost.village_id)].household_id.iloc[0]
    k1, prov = as_(app, "k1_planner"), as_(app, "prov_planner")
    ids = lambda c: _ids(c.get("/api/layers/villages.geojson").get_json()["features"], "village_id")  # noqa: E731
    assert set(lost.village_id) <= ids(prov)
    assert not set(lost.village_id) & ids(k1)
    assert k1.get(f"/visits/new?entity_type=household&entity_id={hh}").status_code == 403
    assert prov.get(f"/visits/new?entity_type=household&entity_id={hh}").status_code == 200


def test_a_phone_token_carries_the_accounts_scope(site):
    c = site.test_client()
    token = c.post("/api/token", json={"username": "k1_planner", "password": "pw"}).get_json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    assert {p["problem_id"] for p in c.get("/api/problems", headers=auth).get_json()["problems"]} == \
        {site.problem["K1"]}
    assert c.get(f"/api/problems/{site.problem['K2']}", headers=auth).status_code == 403
    page = as_(site, "k1_planner").get(f"/problems/{site.problem['K2']}")
    assert page.status_code == 403 and "其他县" in page.get_data(as_text=True)
