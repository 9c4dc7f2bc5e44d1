"""The leader map's kept layers (web.coverage_map): outlines and figures served
separately as kept bytes, versioned URLs cached by the browser, figures
renewed by a new visit, the same numbers as planner.coverage."""

from __future__ import annotations

import gzip
import json
import re

import pandas as pd
import pytest

from conftest_web import (  # noqa: F401  (fixtures)
    START,
    client_as,
    db_template,
    db_url,
    planned,
    planned_app,
    web_campaign,
    web_plan,
)


def add_visit(app, household_id, outcome="visited", client_id="cm-1"):
    from geodata import store
    from web import db

    with app.app_context():
        store.submit_visits(db.engine(), [{"client_id": client_id, "entity_type": "household",
                                           "entity_id": household_id, "cadre_id": "C1",
                                           "visited_at": START + "T10:00", "outcome": outcome}],
                            campaign_id=db.campaign_id())


def page_urls(c) -> dict:
    html = c.get("/leader/").get_data(as_text=True)
    config = json.loads(re.search(r"zoufangLeaderMap\.init\([^,]+, (\{.*\})\);</script>", html).group(1))
    return config["urls"]


def test_shapes_carry_outlines_and_ids_only_and_figures_join_them(planned_app, web_campaign):  # noqa: F811
    c = client_as(planned_app, "leader")
    grids = c.get("/api/coverage/shapes.geojson?layer=grids").get_json()
    assert {f["properties"]["grid_id"] for f in grids["features"]} == set(web_campaign.grids["grid_id"])
    assert all(set(f["properties"]) == {"grid_id"} for f in grids["features"])  # no figures, nothing personal
    assert all(f["geometry"]["type"] in ("Polygon", "MultiPolygon") for f in grids["features"])
    coords = re.findall(r"-?\d+\.\d+", json.dumps(grids["features"][0]["geometry"]))
    assert coords and max(len(x.split(".")[1]) for x in coords) <= 5  # about 1 m, no more
    villages = c.get("/api/coverage/shapes.geojson?layer=villages").get_json()
    props = {f["properties"]["village_id"]: f["properties"] for f in villages["features"]}
    assert set(props) == set(web_campaign.villages["village_id"])
    assert all(set(p) == {"village_id", "name", "weak", "resettlement"} for p in props.values())

    figures = c.get("/api/coverage/figures.json?layer=grids").get_json()
    assert figures["key"] == "grid_id" and sorted(figures["ids"]) == sorted(web_campaign.grids["grid_id"])
    per_grid = web_campaign.households.groupby("grid_id").size()
    got = dict(zip(figures["ids"], figures["households"]))
    assert got == {g: int(per_grid.get(g, 0)) for g in figures["ids"]}
    assert figures["coverage"] == [0.0] * len(figures["ids"]) and set(figures["households_covered"]) == {0}
    vf = c.get("/api/coverage/figures.json?layer=villages").get_json()
    assert len(vf["village_visits_due"]) == len(vf["ids"]) == len(web_campaign.villages)


def test_a_visit_renews_the_figures_but_not_the_shapes(planned_app, web_campaign):  # noqa: F811
    c = client_as(planned_app, "leader")
    before = page_urls(c)
    old = c.get(before["grid_figures"]).get_json()
    hh = web_campaign.households.iloc[0]
    add_visit(planned_app, hh["household_id"])
    after = page_urls(c)
    assert after["grid_shapes"] == before["grid_shapes"] and after["village_shapes"] == before["village_shapes"]
    assert after["grid_figures"] != before["grid_figures"] and after["heat"] != before["heat"]
    new = c.get(after["grid_figures"]).get_json()
    i = new["ids"].index(hh["grid_id"])
    assert new["households_covered"][i] == old["households_covered"][i] + 1
    units = new["households"][i] + new["enterprises"][i]  # coverage counts households and enterprises
    assert new["coverage"][i] == pytest.approx(1 / units, abs=1e-4)
    heat = {f["properties"]["grid_id"]: f["properties"]["missing"] for f in c.get(after["heat"]).get_json()["features"]}
    assert heat.get(hh["grid_id"], 0) == new["households"][i] - 1
    # the old version's URL still answers, with today's figures and no long caching
    stale = c.get(before["grid_figures"])
    assert stale.get_json() == new and "immutable" not in stale.headers["Cache-Control"]


def test_versioned_urls_are_cached_and_revalidation_answers_304(planned_app):  # noqa: F811
    c = client_as(planned_app, "leader")
    urls = page_urls(c)
    for name in ("grid_shapes", "village_shapes", "grid_figures", "village_figures", "heat"):
        r = c.get(urls[name], headers={"Accept-Encoding": "gzip"})
        assert r.status_code == 200, name
        cc = r.headers["Cache-Control"]
        assert "private" in cc and "immutable" in cc and "max-age=31536000" in cc, (name, cc)
        assert r.headers["Content-Encoding"] == "gzip" and json.loads(gzip.decompress(r.data))
        etag = r.headers["ETag"]
        assert urls[name].split("v=")[1].split("&")[0] == etag.strip('"')
        again = c.get(urls[name], headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.data == b""
    plain = c.get("/api/coverage/shapes.geojson?layer=grids")  # no version: revalidate each time
    assert "no-cache" in plain.headers["Cache-Control"] and "Content-Encoding" not in plain.headers


@pytest.mark.parametrize("path", ["/api/coverage/shapes.geojson?layer=roads", "/api/coverage/figures.json?layer=heat"])
def test_a_wrong_layer_is_a_clear_400(planned_app, path):  # noqa: F811
    r = client_as(planned_app, "leader").get(path)
    assert r.status_code == 400 and "grids or villages" in r.get_json()["error"]


@pytest.mark.parametrize("user, status", [("leader", 200), ("planner", 200), ("admin", 200), ("cadre1", 403)])
def test_who_gets_the_kept_layers(planned_app, user, status):  # noqa: F811
    c = client_as(planned_app, user)
    for path in ("/api/coverage/shapes.geojson?layer=grids", "/api/coverage/figures.json?layer=villages"):
        assert c.get(path).status_code == status, (user, path)


def test_must_visit_villages_show_due_and_done_in_the_figures(web_campaign, planned, db_url, tmp_path):  # noqa: F811
    from conftest_web import END, TODAY, make_app

    assignment, _must, _summary, stops, days = planned
    must = pd.DataFrame({"rule": ["weak_village", "weak_village"], "entity_type": ["village", "village"],
                         "entity_id": ["V1", "V2"], "cadre_id": ["C1", "C1"], "team_id": ["T1", "T1"],
                         "responsible_team_id": ["T1", "T1"], "joint": [False, False]})
    app = make_app(db_url, tmp_path, CAMPAIGN=web_campaign, PLAN=assignment, MUST_VISITS=must,
                   SCHEDULE=(stops, days), TODAY=TODAY, CAMPAIGN_START=START, CAMPAIGN_END=END)
    from geodata import store
    from web import db

    with app.app_context():
        store.submit_visits(db.engine(), [{"client_id": "v1", "entity_type": "village", "entity_id": "V1",
                                           "cadre_id": "C1", "visited_at": START + "T10:00", "outcome": "visited"}],
                            campaign_id=db.campaign_id())
    f = client_as(app, "leader").get("/api/coverage/figures.json?layer=villages").get_json()
    got = {i: (d, n) for i, d, n in zip(f["ids"], f["village_visits_due"], f["village_visits_done"])}
    assert got["V1"] == (1, 1) and got["V2"] == (1, 0) and got["V3"] == (0, 0)


def weekly_rows(c) -> dict:
    html = c.get("/leader/part/weekly").get_data(as_text=True)
    table = re.search(r'<table class="zf-table zf-weekly">.*?</table>', html, re.S).group(0)
    return {week: [int(x.replace(",", "")) for x in re.findall(r"<td>([\d,]+)</td>", row)]
            for week, row in re.findall(r'<tr data-week="([\d-]+)"><td>[^<]*</td>(.*?)</tr>', table)}


def test_kept_weekly_figures_follow_a_visit_into_its_own_week(planned_app, web_campaign):  # noqa: F811
    planned_app.config["TODAY"] = "2026-03-11"  # the second week of the campaign
    c = client_as(planned_app, "leader")
    assert weekly_rows(c) == {"2026-03-09": [0, 0, 0, 0, 0], "2026-03-02": [0, 0, 0, 0, 0]}
    hh = web_campaign.households["household_id"]
    from geodata import store
    from web import db

    def visit(household, day, cid):
        with planned_app.app_context():
            store.submit_visits(db.engine(), [{"client_id": cid, "entity_type": "household", "entity_id": household,
                                               "cadre_id": "C1", "visited_at": day + "T10:00", "outcome": "visited"}],
                                campaign_id=db.campaign_id())

    visit(hh.iloc[0], "2026-03-10", "w2")
    assert weekly_rows(c) == {"2026-03-09": [1, 1, 0, 0, 0], "2026-03-02": [0, 0, 0, 0, 0]}
    visit(hh.iloc[1], "2026-03-03", "w1")  # recorded late, in the first week: that week changes too
    assert weekly_rows(c) == {"2026-03-09": [1, 1, 0, 0, 0], "2026-03-02": [1, 1, 0, 0, 0]}


def test_an_unknown_part_of_the_leader_page_is_a_404_that_names_the_parts(planned_app):  # noqa: F811
    r = client_as(planned_app, "leader").get("/leader/part/nope")
    assert r.status_code == 404 and "weekly, rollup" in r.get_data(as_text=True)


def test_the_kept_visits_frame_reads_only_new_visits_and_equals_a_full_read(planned_app, web_campaign):  # noqa: F811
    from geodata import store
    from web import db
    from web.leader import _campaign_visits

    hh = list(web_campaign.households["household_id"])
    for k, batch in enumerate((hh[:3], hh[3:4], hh[4:9])):
        for j, h in enumerate(batch):
            add_visit(planned_app, h, outcome="not_home" if j % 2 else "visited", client_id=f"kv-{k}-{j}")
        with planned_app.test_request_context():
            kept = _campaign_visits()
            with db.session() as s:
                full = store.visits_frame(s, campaign_id=db.campaign_id())
        pd.testing.assert_frame_equal(kept.reset_index(drop=True), full, check_dtype=False)
        assert len(kept) == sum(len(b) for b in ((hh[:3], hh[3:4], hh[4:9])[: k + 1]))
    with planned_app.test_request_context():
        assert _campaign_visits() is _campaign_visits()  # nothing new: the same frame, no read


def test_the_leader_map_loads_leaflet_only_and_keeps_a_configured_tile_server(web_campaign, db_url, tmp_path):  # noqa: F811
    from conftest_web import make_app

    url = "http://tiles.intranet.example/{z}/{x}/{y}.png"
    app = make_app(db_url, tmp_path, CAMPAIGN=web_campaign, TILE_URL=url)
    html = client_as(app, "leader").get("/leader/").get_data(as_text=True)
    assert "leaflet.js" in html and '"preferCanvas": true' in html  # canvas: 4,000 polygons draw fast
    for heavy in ("jquery", "bootstrap", "fontawesome", "awesome-markers"):
        assert heavy not in html, heavy  # ≈ 500 kB the coverage map does not use
    assert "tiles.intranet.example" in html


def test_warming_at_start_leaves_the_first_view_nothing_to_compute(planned_app, web_campaign, monkeypatch):  # noqa: F811
    from web import leader

    add_visit(planned_app, web_campaign.households["household_id"].iloc[0])
    assert leader.warm(planned_app) >= 0
    import planner.coverage

    def no_more(*a, **k):
        raise AssertionError("coverage computed again in the first view")

    monkeypatch.setattr(planner.coverage, "coverage", no_more)
    c = client_as(planned_app, "leader")
    for url in page_urls(c).values():
        if "households" not in url:
            assert c.get(url).status_code == 200, url
