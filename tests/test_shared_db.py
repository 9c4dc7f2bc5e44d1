"""The shared database (issue 7 item 3): areas, places and area counters in the app
schema, the 0001 → 0002 upgrade with data in it, roll-ups and spatial queries on
SQLite, and on a real PostgreSQL server with PostGIS (a throwaway one, see
tests/visit_factories.py; skipped with the reason where there is none)."""

from __future__ import annotations

import datetime as dt
import uuid

import pandas as pd
import pytest
import shapely
from sqlalchemy import create_engine, select, text

from geodata import store
from planner.coverage import coverage
from planner.province.synthetic import make_province
from visit_factories import postgres_server


@pytest.fixture(scope="module")
def province():
    return make_province(counties=3, households_per_grid=6)


def _plan(camp) -> pd.DataFrame:
    g = camp.grids
    teams = camp.teams["team_id"].astype(str).tolist()
    return pd.DataFrame({"entity_type": "grid", "entity_id": g["grid_id"].astype(str),
                         "team_id": [teams[i % len(teams)] for i in range(len(g))], "cadre_id": None})


def _visit(eid, outcome, *, etype="household", day=2, cadre="K1CITY01C1"):
    return {"client_id": uuid.uuid4().hex, "entity_type": etype, "entity_id": eid, "cadre_id": cadre,
            "visited_at": dt.datetime(2026, 3, day, 10, 0).isoformat(), "outcome": outcome}


def _pg_url(postgis: bool) -> str:
    pytest.importorskip("psycopg", reason="the PostgreSQL driver psycopg (v3) is not installed")
    server, reason = postgres_server()
    if server is None:
        pytest.skip(reason)
    eng = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with eng.connect() as conn:
        if postgis and not conn.execute(text("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'")).scalar():
            eng.dispose()
            pytest.skip("PostGIS is not installed on this machine: scripts/setup.sh --test installs it (as root)")
        name = "t_" + uuid.uuid4().hex[:12]
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    eng.dispose()
    return f"{server}/{name}"


@pytest.fixture(params=["sqlite", "postgis"])
def url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shared.sqlite'}"
    return _pg_url(postgis=True)


def _imported(url, camp, plan=None, key="prov"):
    store.upgrade(url)
    engine = store.make_engine(url)
    with store.session_scope(engine) as s:
        res = store.import_campaign(s, key, camp, plan, fingerprint="f1")
    return engine, res["campaign_id"], res


def _known(camp):
    return {"household": set(camp.households.household_id.astype(str)),
            "enterprise": set(camp.enterprises.enterprise_id.astype(str)),
            "village": set(camp.villages.village_id.astype(str)), "cadre": set(camp.cadres.cadre_id.astype(str))}


def test_import_is_idempotent_and_keeps_personal_columns_out(url, province):
    engine, cid, res = _imported(url, province, _plan(province))
    assert res["status"] == "imported"
    assert res["places"] == len(province.households) + len(province.enterprises)
    with store.session_scope(engine) as s:
        again = store.import_campaign(s, "prov", province, _plan(province), fingerprint="f1")
        assert again == {"status": "unchanged", "campaign_id": cid}
        n_places = s.scalar(text("SELECT count(*) FROM places"))
        levels = dict(s.execute(text("SELECT level, count(*) FROM areas GROUP BY level")).all())
        team = s.scalar(select(store.Place.team_id).where(store.Place.entity_type == "household").limit(1))
    assert n_places == res["places"]
    assert levels == {"county": 3, "town": len(province.towns), "village": len(province.villages),
                      "grid": len(province.grids)}
    assert team is not None  # the plan's team reached the place
    with engine.connect() as conn:  # (information_schema: SQLAlchemy's inspector does not know PostGIS types)
        if conn.dialect.name == "sqlite":
            cols = {r[1] for r in conn.exec_driver_sql("PRAGMA table_info(places)")}
        else:
            cols = set(conn.scalars(text("SELECT column_name FROM information_schema.columns "
                                         "WHERE table_name = 'places'")))
    assert {"entity_id", "lon", "lat", "team_id"} <= cols
    assert not cols & {"head_name", "phone", "address", "name"}
    with store.session_scope(engine) as s:  # a changed file is imported again, replacing the rows
        res2 = store.import_campaign(s, "prov", province, None, fingerprint="f2")
    assert res2["status"] == "imported" and res2["places"] == res["places"]
    engine.dispose()


def test_area_counters_follow_each_visit_and_equal_a_recount_and_planner_coverage(url, province):
    engine, cid, _ = _imported(url, province)
    hh = province.households.household_id.astype(str).tolist()
    k2 = [h for h in hh if h.startswith("K2")]
    batch = [_visit(hh[0], "visited"), _visit(hh[1], "not_home"), _visit(hh[1], "not_home", day=3),
             _visit(k2[0], "phone"), _visit(k2[1], "refused")]
    res = store.submit_visits(engine, batch, campaign_id=cid, known=_known(province))
    assert [r["status"] for r in res] == ["created"] * 5
    # hh[1] was not at home, then is visited: leaves the backlog, becomes covered
    store.submit_visits(engine, [_visit(hh[1], "visited", day=4)], campaign_id=cid, known=_known(province))
    with store.session_scope(engine) as s:
        kept = store.rollup(s, campaign_id=cid, levels=store.areas.LEVELS)
        tot = store.totals(s, campaign_id=cid)
        store.rebuild_area_counters(s, campaign_id=cid)
        recount = store.rollup(s, campaign_id=cid, levels=store.areas.LEVELS)
        visits = store.visits_frame(s, campaign_id=cid)
    pd.testing.assert_frame_equal(kept, recount)
    county = kept[kept["level"] == "county"].set_index("area_id")
    status_k2 = province.households.set_index("household_id").loc[k2[0], "status"]
    phone_covers = status_k2 in ("vacant", "away")
    assert county.loc["K1", "households_covered"] == 2
    assert county.loc["K1", "not_home_backlog"] == 0
    assert county.loc["K1", "visits"] == 4
    assert county.loc["K2", "households_covered"] == int(phone_covers)
    assert county.loc["K3", "households_covered"] == 0
    assert tot["households"] == len(province.households) and tot["visits"] == 6
    cov = coverage(province, visits)
    village = kept[kept["level"] == "village"].set_index("area_id")
    want = cov.by_village.set_index("village_id")
    for col in ("households", "households_covered", "enterprises", "enterprises_covered", "not_home_backlog"):
        assert village[col].sort_index().tolist() == want.loc[village.index, col].sort_index().astype(int).tolist(), col
    engine.dispose()


def test_places_in_view_and_coverage_by_polygon(url, province):
    engine, cid, _ = _imported(url, province)
    hh = province.households.to_crs(4326)
    first = hh.iloc[0]
    store.submit_visits(engine, [_visit(str(first.household_id), "visited")], campaign_id=cid, known=_known(province))
    x, y = first.geometry.x, first.geometry.y
    box = (x - 0.002, y - 0.002, x + 0.002, y + 0.002)
    inside = hh[hh.geometry.intersects(shapely.box(*box))]
    village = province.villages.iloc[0]
    with store.session_scope(engine) as s:
        view = store.places_in_view(s, campaign_id=cid, bbox=box, entity_type="household")
        none = store.places_in_view(s, campaign_id=cid, bbox=box, county_ids=["K3"])
        poly = store.area_geometry(s, campaign_id=cid, level="village", area_id=str(village.village_id))
        by_poly = store.coverage_in_polygon(s, campaign_id=cid, polygon=poly)
        rolled = store.rollup(s, campaign_id=cid, levels=("village",))
    assert set(view["entity_id"]) == set(inside.household_id.astype(str))
    assert view.set_index("entity_id").loc[str(first.household_id), "covered"]
    assert len(none) == 0  # another county's places are not in a K1 view
    assert not {"head_name", "phone"} & set(view.columns)
    row = rolled.set_index("area_id").loc[str(village.village_id)]
    assert by_poly["households"] == row["households"] > 0
    assert by_poly["households_covered"] == row["households_covered"]
    engine.dispose()


def test_postgis_columns_and_gist_indexes_are_used():
    url = _pg_url(postgis=True)
    store.upgrade(url)
    engine = store.make_engine(url)
    with engine.connect() as conn:
        assert store.has_postgis(conn)
        idx = {r[0] for r in conn.execute(text("SELECT indexname FROM pg_indexes WHERE tablename IN "
                                               "('places', 'areas')"))}
        assert {"ix_places_geom", "ix_areas_geom"} <= idx
        conn.execute(text("SET enable_seqscan = off"))
        plan = "\n".join(r[0] for r in conn.execute(text(
            "EXPLAIN SELECT id FROM places WHERE geom && ST_MakeEnvelope(119, 31, 120, 32, 4326)")))
    assert "ix_places_geom" in plan
    engine.dispose()


def test_upgrade_from_0001_keeps_the_data_and_counts_it_at_import(tmp_path, province):
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    store.upgrade(url, "0001")
    assert store.current(url) == "0001"
    old = store.make_engine(url)
    hh = province.households.household_id.astype(str).tolist()
    with old.begin() as conn:  # what a 0001 site held: a campaign, an account, a visit and its counter
        conn.execute(text("INSERT INTO campaigns (id, key, name, created_at) VALUES (1, 'prov', 'p', '2026-03-01')"))
        conn.execute(text("INSERT INTO accounts (username, password_hash, role, active, created_at) "
                          "VALUES ('lead', 'x', 'leader', 1, '2026-03-01')"))
        conn.execute(text("INSERT INTO visits (campaign_id, client_id, entity_type, entity_id, cadre_id, visited_at, "
                          "outcome, contact_card, recorded_at) VALUES (1, 'c1', 'household', :h, 'K1CITY01C1', "
                          "'2026-03-02 10:00:00', 'visited', 0, '2026-03-02')"), {"h": hh[0]})
        conn.execute(text("INSERT INTO entity_counters VALUES (1, 'household', :h, 1, 1, 0, 0, 0, "
                          "'2026-03-02 10:00:00', '2026-03-02 10:00:00')"), {"h": hh[0]})
    old.dispose()
    store.upgrade(url)
    assert store.current(url) == "0003"
    engine = store.make_engine(url)
    with store.session_scope(engine) as s:
        acc = s.scalar(select(store.Account).where(store.Account.username == "lead"))
        assert acc.scope_level is None  # no scope: sees the whole campaign, as before
        res = store.import_campaign(s, "prov", province, fingerprint="f")
        assert res["campaign_id"] == 1
        tot = store.totals(s, campaign_id=1)
    assert tot["households_covered"] == 1 and tot["visits"] == 1
    engine.dispose()


def test_a_village_in_no_county_is_refused_with_its_id(province):
    import dataclasses

    towns = province.towns.copy()
    towns.loc[0, "county_id"] = None
    broken = dataclasses.replace(province, towns=towns, counties=None)
    with pytest.raises(store.ImportDataError, match="belong to no county"):
        store.campaign_rows(broken)
