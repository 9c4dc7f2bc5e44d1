"""The plan in the shared database (issue 7 item 3): the plan file's ``must_visits`` and
``stops`` layers imported into ``plan_must_visits`` / ``plan_stops`` (every row, replaced
on re-import, visits kept), the 0002 → 0003 upgrade with data in it, the queries
(a cadre's day, a county's must-visits with their status) on SQLite and on a real
PostgreSQL + PostGIS server, and the scoping of ``/api/stops`` and ``/api/must_visits``."""

from __future__ import annotations

import datetime as dt
import uuid
import warnings

import pandas as pd
import pyogrio
import pytest
from sqlalchemy import text

from geodata import store
from test_shared_db import _known, _pg_url


@pytest.fixture(scope="module")
def planned(tmp_path_factory):
    """A 3-county province, planned and scheduled, written to a plan GeoPackage and read back
    as the site reads it: ``(campaign, PlanState, path)``."""
    from planner.assign import default_rules
    from planner.province import plan_province
    from planner.province.schedule import schedule_province
    from planner.province.synthetic import make_province
    from planner.schedule import load_schedule_rules
    from web import plans

    prov = make_province(counties=3, households_per_grid=4)
    plan = plan_province(prov, default_rules(), time_limit=1.0, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no roads in the synthetic province: estimated travel, warned
        sched = schedule_province(prov, plan.assignment, plan.must_visits, load_schedule_rules(),
                                  start=dt.date(2026, 3, 2), end=dt.date(2026, 3, 20), time_limit=2.0, iterations=20)
    assert sched.ok and len(sched.stops) > 20 and len(plan.must_visits) > 5
    path = tmp_path_factory.mktemp("plan") / "plan.gpkg"
    plans.write_plan_file(plans.PlanState(assignment=plan.assignment, must_visits=plan.must_visits,
                                          teams_summary=plan.teams_summary, stops=sched.stops, days=sched.days), path)
    return prov, plans.read_plan_file(path), path


@pytest.fixture(params=["sqlite", "postgis"])
def url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'plan.sqlite'}"
    return _pg_url(postgis=True)


def _import(engine, camp, state, fingerprint="f1", **kw):
    with store.session_scope(engine) as s:
        return store.import_campaign(s, "prov", camp, state.assignment, must_visits=kw.get("must_visits",
                                                                                            state.must_visits),
                                     stops=kw.get("stops", state.stops), fingerprint=fingerprint)


def _visit(eid, outcome, etype="household", cadre="K1CITY01C1"):
    return {"client_id": uuid.uuid4().hex, "entity_type": etype, "entity_id": eid, "cadre_id": cadre,
            "visited_at": "2026-03-03T10:00:00", "outcome": outcome}


def test_import_puts_every_must_visit_and_stop_in_the_tables_and_reimport_replaces_them(url, planned):
    camp, state, path = planned
    layers = {name: pyogrio.read_info(path, layer=name)["features"] for name in ("must_visits", "stops")}
    store.upgrade(url)
    engine = store.make_engine(url)
    res = _import(engine, camp, state)
    assert (res["must_visits"], res["stops"]) == (layers["must_visits"], layers["stops"])
    stops = state.stops
    with store.session_scope(engine) as s:
        counts = {t: s.scalar(text(f"SELECT count(*) FROM {t}")) for t in ("plan_must_visits", "plan_stops")}
        by_county = dict(s.execute(text("SELECT county_id, count(*) FROM plan_stops GROUP BY county_id")).all())
        no_county = s.scalar(text("SELECT count(*) FROM plan_must_visits WHERE county_id IS NULL"))
        # one cadre's day, in route order, as the plan file has it
        cadre, day = stops.iloc[len(stops) // 2][["cadre_id", "date"]]
        got = store.cadre_stops(s, campaign_id=res["campaign_id"], cadre_id=cadre, date=day)
    assert counts == {"plan_must_visits": layers["must_visits"], "plan_stops": layers["stops"]}
    assert by_county == stops["county_id"].value_counts().to_dict()
    assert no_county == 0
    want = stops[(stops["cadre_id"] == cadre) & (stops["date"] == day)].sort_values("seq")
    assert got["entity_id"].tolist() == want["entity_id"].tolist()
    assert got["arrive"].tolist() == want["arrive"].tolist()
    assert got["seq"].tolist() == want["seq"].astype(int).tolist()
    wgs = want.to_crs(4326).geometry
    assert got["lon"].to_numpy() == pytest.approx(wgs.x.to_numpy(), abs=1e-6)
    assert got["lat"].to_numpy() == pytest.approx(wgs.y.to_numpy(), abs=1e-6)
    assert not {"head_name", "phone", "name", "address"} & set(got.columns)

    # a visit, then a new plan (one cadre's stops dropped, the must-visits gone): the plan rows are
    # replaced, the visit stays
    hh = str(state.must_visits[state.must_visits["entity_type"] == "household"]["entity_id"].iloc[0])
    store.submit_visits(engine, [_visit(hh, "visited")], campaign_id=res["campaign_id"], known=_known(camp))
    fewer = stops[stops["cadre_id"] != cadre]
    with store.session_scope(engine) as s:
        again = store.import_campaign(s, "prov", camp, state.assignment, must_visits=state.must_visits, stops=fewer,
                                      fingerprint="f1")
    assert again["status"] == "unchanged"  # same fingerprint: nothing written
    res2 = _import(engine, camp, state, fingerprint="f2", stops=fewer, must_visits=None)
    assert (res2["stops"], res2["must_visits"]) == (len(fewer), 0)
    with store.session_scope(engine) as s:
        n = s.scalar(text("SELECT count(*) FROM plan_stops"))
        n_mv = s.scalar(text("SELECT count(*) FROM plan_must_visits"))
        gone = store.cadre_stops(s, campaign_id=res["campaign_id"], cadre_id=cadre, date=day)
        visits = store.visits_frame(s, campaign_id=res["campaign_id"])
    assert (n, n_mv, len(gone)) == (len(fewer), 0, 0)
    assert visits["entity_id"].tolist() == [hh]
    engine.dispose()


def test_must_visits_status_follows_the_visits_and_the_county(url, planned):
    camp, state, _ = planned
    store.upgrade(url)
    engine = store.make_engine(url)
    cid = _import(engine, camp, state)["campaign_id"]
    mv = state.must_visits
    k1 = mv[mv["county_id"] == "K1"]
    hh = mv[mv["entity_type"] == "household"][["county_id", "entity_id"]].drop_duplicates()
    status = camp.households.set_index("household_id")["status"]
    visited = hh[hh["county_id"] == "K1"]["entity_id"].iloc[0]
    resident = [h for h in hh[hh["county_id"] != "K1"]["entity_id"] if status.get(h) not in ("vacant", "away")]
    assert resident, "the synthetic province should have a resident must-visit household outside K1"
    phoned = resident[0]
    store.submit_visits(engine, [_visit(visited, "visited"), _visit(phoned, "phone")], campaign_id=cid,
                        known=_known(camp))
    with store.session_scope(engine) as s:
        got = store.must_visits_status(s, campaign_id=cid, county_ids=["K1"])
        everything = store.must_visits_status(s, campaign_id=cid)
        mine = store.must_visits_status(s, campaign_id=cid, cadre_id="K1CITY01C1")
    assert len(got) == len(k1) and set(got["county_id"]) == {"K1"}
    assert len(everything) == len(mv)
    assert len(mine) == int((mv["cadre_id"] == "K1CITY01C1").sum())
    assert got[got["entity_id"] == visited]["done"].all()
    assert int(got["done"].sum()) == int((got["entity_id"] == visited).sum())  # nothing else in K1 is done
    # a phone call does not cover a resident household (planner.coverage's rule), but is counted
    other = everything[everything["entity_id"] == phoned]
    assert not other["done"].any() and (other["phone"] == 1).all()
    assert int(everything["done"].sum()) == int((everything["entity_id"] == visited).sum())
    engine.dispose()


def test_upgrade_from_0002_keeps_the_data_and_the_next_import_fills_the_plan(url, planned):
    camp, state, _ = planned
    store.upgrade(url, "0002")
    old = store.make_engine(url)
    hh = camp.households.household_id.astype(str).iloc[0]
    day = dt.datetime(2026, 3, 2, 10, 0)
    with old.begin() as conn:  # what a 0002 site held: an imported campaign and a visit
        conn.execute(text("INSERT INTO campaigns (id, key, name, created_at, import_fingerprint) "
                          "VALUES (1, 'prov', 'p', :t, 'f1')"), {"t": day})
        conn.execute(text("INSERT INTO visits (campaign_id, client_id, entity_type, entity_id, cadre_id, visited_at, "
                          "outcome, contact_card, recorded_at) VALUES (1, 'c1', 'household', :h, 'K1CITY01C1', "
                          ":t, 'visited', :no, :t)"), {"h": hh, "t": day, "no": False})
        if conn.dialect.name == "postgresql":  # the explicit id above did not move the sequence
            conn.execute(text("SELECT setval('campaigns_id_seq', 1)"))
    old.dispose()
    store.upgrade(url)
    assert store.current(url) == "0003"
    engine = store.make_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT import_fingerprint FROM campaigns")).scalar() is None
        assert conn.execute(text("SELECT count(*) FROM visits")).scalar() == 1
        assert conn.execute(text("SELECT count(*) FROM plan_stops")).scalar() == 0
    res = _import(engine, camp, state, fingerprint="f1")  # same files as before the upgrade: imported all the same
    assert res["status"] == "imported" and res["campaign_id"] == 1 and res["stops"] == len(state.stops)
    engine.dispose()


def test_a_must_visits_layer_without_entity_id_is_refused_and_changes_nothing(tmp_path, planned):
    camp, state, _ = planned
    url = f"sqlite:///{tmp_path / 'bad.sqlite'}"
    store.upgrade(url)
    engine = store.make_engine(url)
    _import(engine, camp, state)
    with pytest.raises(store.PlanDataError, match="must_visits layer lacks column.*entity_id"):
        _import(engine, camp, state, fingerprint="f2", must_visits=state.must_visits.drop(columns="entity_id"))
    bad_day = state.stops.assign(date="3/5/2026")
    with pytest.raises(store.ImportDataError, match="not YYYY-MM-DD"):
        _import(engine, camp, state, fingerprint="f3", stops=bad_day)
    with store.session_scope(engine) as s:
        assert s.scalar(text("SELECT count(*) FROM plan_must_visits")) == len(state.must_visits)
        assert s.scalar(text("SELECT import_fingerprint FROM campaigns")) == "f1"
    engine.dispose()


# --- the web API ------------------------------------------------------------------------------------------

ACCOUNTS = {  # username: (role, cadre_id, scope_level, scope_id)
    "prov_leader": ("leader", None, None, None),
    "k1_leader": ("leader", None, "county", "K1"),
    "k2_planner": ("planner", None, "county", "K2"),
    "k1_cadre": ("cadre", "K1CITY01C1", "county", "K1"),
}


@pytest.fixture
def site(tmp_path, planned):
    from web import create_app
    from web import db as webdb

    camp, _, path = planned
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "WTF_CSRF_ENABLED": False, "CAMPAIGN": camp,
                      "PLAN_PATH": str(path), "DATABASE_URL": f"sqlite:///{tmp_path / 'site.sqlite'}",
                      "CAMPAIGN_KEY": "prov", "PLAN_FOLDER": str(tmp_path / "plans")})
    app.ids = {}
    with app.app_context(), webdb.session() as s:
        for name, (role, cadre, level, sid) in ACCOUNTS.items():
            app.ids[name] = store.create_account(s, name, "pw", role=role, cadre_id=cadre, scope_level=level,
                                                 scope_id=sid).id
    return app


def as_(app, name):
    c = app.test_client()
    with c.session_transaction() as sess:
        sess["_user_id"] = str(app.ids[name])
        sess["_fresh"] = True
    return c


def test_stops_api_gives_a_cadre_their_own_day_and_403s_outside_the_scope(site, planned):
    _, state, _ = planned
    stops = state.stops
    own = stops[stops["cadre_id"] == "K1CITY01C1"]
    day = sorted(own["date"])[0]
    cadre = as_(site, "k1_cadre")
    r = cadre.get(f"/api/stops?date={day}").get_json()  # cadre= defaults to the account's own
    want = own[own["date"] == day].sort_values("seq")
    assert r["cadre"] == "K1CITY01C1" and [s["entity_id"] for s in r["stops"]] == want["entity_id"].tolist()
    assert r["stops"][0]["date"] == day and not {"head_name", "phone"} & set(r["stops"][0])
    assert cadre.get("/api/stops").get_json()["dates"] == sorted(set(own["date"]))
    assert cadre.get(f"/api/stops?cadre=K1CNTY01C1&date={day}").status_code == 403  # another cadre's day
    assert cadre.get("/api/stops?date=5 March").status_code == 400

    k2_cadre = sorted(stops[stops["county_id"] == "K2"]["cadre_id"])[0]
    k2_day = sorted(stops[stops["cadre_id"] == k2_cadre]["date"])[0]
    assert as_(site, "k1_leader").get(f"/api/stops?cadre={k2_cadre}&date={k2_day}").status_code == 403
    r = as_(site, "k2_planner").get(f"/api/stops?cadre={k2_cadre}&date={k2_day}")
    assert r.status_code == 200 and {s["county_id"] for s in r.get_json()["stops"]} == {"K2"}
    assert as_(site, "prov_leader").get(f"/api/stops?cadre={k2_cadre}&date={k2_day}").status_code == 200
    assert site.test_client().get(f"/api/stops?cadre={k2_cadre}&date={k2_day}").status_code in (302, 401)


def test_must_visits_api_is_scoped_to_the_account_counties(site, planned):
    _, state, _ = planned
    mv = state.must_visits
    k1 = as_(site, "k1_leader")
    r = k1.get("/api/must_visits").get_json()
    assert r["total"] == int((mv["county_id"] == "K1").sum()) and r["done"] == 0
    assert {m["county_id"] for m in r["must_visits"]} == {"K1"}
    assert k1.get("/api/must_visits?county=K2").status_code == 403
    assert as_(site, "prov_leader").get("/api/must_visits").get_json()["total"] == len(mv)
    mine = as_(site, "k1_cadre").get("/api/must_visits").get_json()
    assert mine["total"] == int((mv["cadre_id"] == "K1CITY01C1").sum())
    assert {m["cadre_id"] for m in mine["must_visits"]} == {"K1CITY01C1"}


@pytest.mark.parametrize("many_changes", [1000, 0], ids=["row_by_row", "temp_table"])
def test_a_new_plan_on_the_same_campaign_updates_teams_and_plan_rows_only_and_equals_a_full_import(
        url, planned, many_changes, monkeypatch):
    from web.plans import move_grid

    if many_changes == 0 and not url.startswith("postgresql"):
        pytest.skip("the temporary-table update is PostgreSQL's")
    monkeypatch.setattr(store.areas, "MANY_CHANGES", many_changes)

    camp, state, _ = planned
    store.upgrade(url)
    engine = store.make_engine(url)
    with store.session_scope(engine) as s:
        first = store.import_campaign(s, "prov", camp, state.assignment, must_visits=state.must_visits,
                                      stops=state.stops, fingerprint="camp", plan_fingerprint="p1")
    cid = first["campaign_id"]
    hh = camp.households.household_id.astype(str).tolist()
    store.submit_visits(engine, [_visit(hh[0], "visited")], campaign_id=cid, known=_known(camp))
    grid = camp.grids.iloc[0]
    other = next(t for t in camp.teams["team_id"].astype(str)
                 if t != state.assignment.set_index("entity_id").loc[str(grid.grid_id), "team_id"])
    moved = move_grid(camp, state.assignment, str(grid.grid_id), other)
    in_grid = int((camp.households.grid_id.astype(str) == str(grid.grid_id)).sum()
                  + (camp.enterprises.grid_id.astype(str) == str(grid.grid_id)).sum())
    fewer = state.stops.iloc[: len(state.stops) // 2]

    def snapshot(s, campaign_id):
        places = pd.DataFrame(s.execute(text("SELECT entity_type, entity_id, team_id, cadre_id FROM places "
                                             "WHERE campaign_id = :c ORDER BY entity_type, entity_id"),
                                        {"c": campaign_id}).all())
        n = {t: s.scalar(text(f"SELECT count(*) FROM {t} WHERE campaign_id = :c"), {"c": campaign_id})
             for t in ("areas", "plan_stops", "plan_must_visits")}
        return places, n, store.rollup(s, campaign_id=campaign_id, levels=store.areas.LEVELS)

    with store.session_scope(engine) as s:
        area_ids = s.scalar(text("SELECT max(id) FROM areas"))
        res = store.import_campaign(s, "prov", camp, moved, must_visits=state.must_visits, stops=fewer,
                                    fingerprint="camp", plan_fingerprint="p2")
    assert res["status"] == "plan_updated" and res["places_changed"] == in_grid > 0
    assert res["stops"] == len(fewer)
    with store.session_scope(engine) as s:
        assert s.scalar(text("SELECT max(id) FROM areas")) == area_ids  # the campaign was not imported again
        got = snapshot(s, cid)
        again = store.import_campaign(s, "prov", camp, moved, must_visits=state.must_visits, stops=fewer,
                                      fingerprint="camp", plan_fingerprint="p2")
    assert again["status"] == "unchanged"
    # the same campaign and plan imported in full under another key: the same rows
    with store.session_scope(engine) as s:
        full = store.import_campaign(s, "prov2", camp, moved, must_visits=state.must_visits, stops=fewer,
                                     fingerprint="camp")
        want = snapshot(s, full["campaign_id"])
    pd.testing.assert_frame_equal(got[0], want[0])
    assert got[1] == want[1]
    assert got[2]["households_covered"].sum() == 4  # the visit still counted at each of the 4 levels
    cols = ["level", "area_id", "households", "enterprises"]
    pd.testing.assert_frame_equal(got[2][cols], want[2][cols])
    engine.dispose()


def test_the_site_updates_the_plan_rows_after_a_new_plan(site, planned):
    from web import plans
    from web.shared import ensure_imported

    _, state, _ = planned
    k1 = as_(site, "prov_leader")
    day = sorted(state.stops["date"])[0]
    cadre = state.stops[state.stops["date"] == day]["cadre_id"].iloc[0]
    assert len(k1.get(f"/api/stops?cadre={cadre}&date={day}").get_json()["stops"]) > 0
    with site.app_context():
        assert ensure_imported(site)["status"] == "imported"
        rest = state.stops[state.stops["cadre_id"] != cadre]
        plans.set_plan(plans.PlanState(assignment=state.assignment, must_visits=state.must_visits,
                                       stops=rest, days=state.days), site)
        assert ensure_imported(site)["status"] == "plan_updated"
    assert k1.get(f"/api/stops?cadre={cadre}&date={day}").get_json()["stops"] == []


def test_a_cadre_day_and_a_county_day_use_their_indexes_on_postgresql():
    url = _pg_url(postgis=True)
    store.upgrade(url)
    engine = store.make_engine(url)
    with engine.begin() as conn:  # rows spread over 10 counties, 200 cadres, 20 days; planner statistics
        conn.execute(text("INSERT INTO campaigns (key, name, created_at) VALUES ('p', 'p', now())"))
        conn.execute(text(
            "INSERT INTO plan_stops (campaign_id, cadre_id, date, seq, entity_type, entity_id, county_id) "
            "SELECT 1, 'C' || (i % 200), DATE '2026-03-02' + (i / 200) % 20, i, 'household', 'H' || i, "
            "'K' || (i % 10) FROM generate_series(1, 20000) AS i"))
        conn.execute(text(
            "INSERT INTO plan_must_visits (campaign_id, rule, entity_type, entity_id, cadre_id, county_id) "
            "SELECT 1, 'poor_household', 'household', 'H' || i, 'C' || (i % 200), 'K' || (i % 10) "
            "FROM generate_series(1, 5000) AS i"))
        conn.execute(text("ANALYZE plan_stops"))
        conn.execute(text("ANALYZE plan_must_visits"))
    with engine.connect() as conn:
        conn.execute(text("SET enable_seqscan = off"))
        cadre_day = "\n".join(r[0] for r in conn.execute(text(
            "EXPLAIN SELECT * FROM plan_stops WHERE campaign_id = 1 AND cadre_id = 'C1' AND date = '2026-03-02' "
            "ORDER BY seq")))
        county_day = "\n".join(r[0] for r in conn.execute(text(
            "EXPLAIN SELECT count(*) FROM plan_stops WHERE campaign_id = 1 AND county_id = 'K1' "
            "AND date = '2026-03-02'")))
        county_mv = "\n".join(r[0] for r in conn.execute(text(
            "EXPLAIN SELECT * FROM plan_must_visits WHERE campaign_id = 1 AND county_id = 'K1'")))
    assert "ix_plan_stops_cadre_day" in cadre_day and "Sort" not in cadre_day  # already in route order
    assert "ix_plan_stops_county_day" in county_day
    assert "ix_plan_must_visits_campaign_county" in county_mv
    engine.dispose()
