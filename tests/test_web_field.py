"""The field: a cadre's day (stops, GPX, walk sheet, recording visits and
problems), the leader's coverage from the stored visits, and who sees which
personal data (planners and admins in full, a cadre only their own
households, leaders masked)."""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import xml.etree.ElementTree as ET

import pandas as pd
import pytest

from conftest_web import (  # noqa: F401  (fixtures)
    END,
    START,
    TODAY,
    client_as,
    csrf_token,
    db_template,
    db_url,
    make_app,
    planned,
    planned_app,
    web_campaign,
    web_plan,
)


def post(c, path, **form):
    return c.post(path, data={**form, "csrf_token": csrf_token(c)})


def day_of(planned, cadre):  # noqa: F811
    """The date the cadre's page opens on (the first scheduled day from TODAY) and its stops."""
    stops = planned[3]
    mine = stops[stops["cadre_id"] == cadre]
    dates = sorted(set(mine["date"]))
    date = next((d for d in dates if d >= TODAY), dates[-1])
    return date, mine[mine["date"] == date].sort_values("seq")


def names_of(campaign, household_ids):  # noqa: F811
    hh = campaign.households.set_index("household_id")
    return [hh.loc[h, "head_name"] for h in household_ids if h in hh.index]


# --- the cadre's day ------------------------------------------------------------------


def test_the_cadre_sees_the_day_in_order_with_own_households_only(planned_app, planned, web_campaign):  # noqa: F811
    date, stops = day_of(planned, "C1")
    html = client_as(planned_app, "cadre1").get("/cadre/").get_data(as_text=True)
    assert f'<option value="{date}" selected>' in html
    ids = re.findall(r'name="entity_id" value="([^"]+)"', html)
    assert ids == list(stops["entity_id"])
    assert html.count("zf-stop-pin") == len(stops)  # numbered on the map
    own = names_of(web_campaign, stops["entity_id"])
    assert own and all(n in html for n in own)  # the cadre knocks on these doors: names in full
    others = set(planned[3].loc[planned[3]["cadre_id"] != "C1", "entity_id"]) - set(planned[3].loc[planned[3]["cadre_id"] == "C1", "entity_id"])
    for name in names_of(web_campaign, others):
        assert name not in html
    for label in ("入户走访", "不在家", "拒访", "电话/微信走访", "困难需求", "房屋土地", "医疗卫生", "教育文化",
                  "平安治理", "就业创业", "社会保障", "其他方面"):
        assert label in html


def test_gpx_and_walk_sheet_are_the_cadres_day(planned_app, planned, web_campaign):  # noqa: F811
    date, stops = day_of(planned, "C1")
    c = client_as(planned_app, "cadre1")
    gpx = c.get("/cadre/route.gpx")
    assert gpx.status_code == 200 and gpx.mimetype == "application/gpx+xml"
    root = ET.fromstring(gpx.data)
    ns = {"g": "http://www.topografix.com/GPX/1/1"}
    wpts = root.findall("g:wpt", ns)
    assert [w.find("g:cmt", ns).text for w in wpts] == list(stops.loc[stops["mode"] == "visit", "entity_id"])
    sheet = c.get(f"/cadre/sheet?date={date}").get_data(as_text=True)
    assert "走访" in sheet and names_of(web_campaign, stops["entity_id"])[0] in sheet
    assert not re.search(r"""(?:src|href)=["'](?:https?:)?//""", sheet)
    assert c.get("/cadre/route.gpx?date=2030-01-01").status_code == 404
    pdf = c.get(f"/cadre/sheet.pdf?date={date}")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    from pypdf import PdfReader

    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert all(e in text for e in stops["entity_id"])  # every stop of the day, by id
    assert c.get("/cadre/sheet.pdf?date=2030-01-01").status_code == 404


def test_recording_a_visit_stores_it_once_with_its_problem(planned_app, planned):  # noqa: F811
    from geodata import store
    from web import db

    date, stops = day_of(planned, "C1")
    first = stops.iloc[0]
    c = client_as(planned_app, "cadre1")
    html = c.get("/cadre/").get_data(as_text=True)
    client_id = re.search(r'name="client_id" value="([^"]+)"', html).group(1)
    form = dict(client_id=client_id, entity_type=first["entity_type"], entity_id=first["entity_id"], date=date,
                seq=str(first["seq"]), outcome="visited", contact_card="1", notes="家中老人行动不便",
                problem_category="medical_health", problem_level="town", problem_description="村卫生室缺药")
    saved = post(c, "/cadre/visit", **form)
    assert saved.status_code == 303 and saved.headers["Location"].endswith(f"#stop-{first['seq']}")
    again = post(c, "/cadre/visit", **form)  # a double tap, or a resend after a lost answer
    assert again.status_code == 303
    with planned_app.app_context(), db.session() as s:
        visits = store.visits_frame(s, campaign_id=db.campaign_id())
        problems = store.problems_frame(s, campaign_id=db.campaign_id())
    assert len(visits) == 1
    v = visits.iloc[0]
    assert (v["cadre_id"], v["entity_id"], v["outcome"], v["recorded_by"]) == ("C1", first["entity_id"], "visited", "cadre1")
    assert bool(v["contact_card"])
    assert list(problems["category"]) == ["medical_health"] and problems["owner_cadre_id"].iat[0] == "C1"
    page = c.get(f"/cadre/?date={date}").get_data(as_text=True)
    assert "已保存：入户走访" in page and "✔ 入户走访" in page


def test_a_bad_record_is_refused_with_its_reason_and_nothing_stored(planned_app, planned):  # noqa: F811
    from geodata import store
    from web import db

    date, stops = day_of(planned, "C1")
    first = stops.iloc[0]
    c = client_as(planned_app, "cadre1")
    r = post(c, "/cadre/visit", entity_type=first["entity_type"], entity_id=first["entity_id"], date=date,
             outcome="not_home", problem_description="不在家却反映了问题")
    assert r.status_code == 303
    assert "未保存" in c.get(r.headers["Location"]).get_data(as_text=True)
    with planned_app.app_context(), db.session() as s:
        assert len(store.visits_frame(s, campaign_id=db.campaign_id())) == 0


def test_a_cadre_cannot_record_or_open_another_cadres_households(planned_app, planned):  # noqa: F811
    stops = planned[3]
    theirs = stops[(stops["cadre_id"] == "C2") & ~stops["entity_id"].isin(stops.loc[stops["cadre_id"] == "C1", "entity_id"])].iloc[0]
    c = client_as(planned_app, "cadre1")
    r = post(c, "/cadre/visit", entity_type=theirs["entity_type"], entity_id=theirs["entity_id"], outcome="visited")
    assert r.status_code == 403
    assert c.get("/cadre/?cadre_id=C2").status_code == 403
    assert c.get("/cadre/route.gpx?cadre_id=C2").status_code == 403
    assert c.get("/cadre/sheet.pdf?cadre_id=C2").status_code == 403


def test_a_cadre_without_a_schedule_is_told_so(web_campaign, web_plan, db_url, tmp_path):  # noqa: F811
    app = make_app(db_url, tmp_path, CAMPAIGN=web_campaign, PLAN=web_plan)
    html = client_as(app, "cadre1").get("/cadre/").get_data(as_text=True)
    assert "尚未为您排定走访路线" in html
    assert client_as(app, "cadre1").get("/cadre/route.gpx").status_code == 404


# --- the leader's coverage ------------------------------------------------------------------


def seed_visits(app, campaign):  # noqa: F811
    """Visits of three kinds in the first days of the campaign: in person
    (grids G1A-G2B), by phone (every vacant household of G3A-G3B: covered;
    resident ones: not), not at home and refused (G4A), and two problems."""
    from geodata import store
    from web import db

    hh = campaign.households
    batch = []
    day = dt.datetime.fromisoformat(START)
    for k, r in enumerate(hh.itertuples()):
        at = (day + dt.timedelta(days=k % 3, hours=9 + k % 5)).isoformat()
        rec = {"client_id": f"seed-{k}", "entity_type": "household", "entity_id": r.household_id,
               "cadre_id": "C1" if r.grid_id[1] in "12" else "C2", "visited_at": at}
        if r.grid_id in ("G1A", "G1B", "G2A", "G2B"):
            rec["outcome"] = "visited"
        elif r.grid_id in ("G3A", "G3B"):
            rec["outcome"] = "phone"
        elif r.grid_id == "G4A":
            rec["outcome"] = "not_home" if k % 2 else "refused"
        else:
            continue
        if k in (1, 2):
            rec["problems"] = [{"client_id": f"seed-{k}-p", "category": "housing_land", "description": "危房"}]
        batch.append(rec)
    with app.app_context():
        results = store.submit_visits(db.engine(), batch, campaign_id=db.campaign_id())
        assert all(r["status"] == "created" for r in results), results
        with db.session() as s:
            return store.visits_frame(s, campaign_id=db.campaign_id())


def test_leader_figures_equal_planner_coverage_on_the_stored_visits(planned_app, planned, web_campaign):  # noqa: F811
    from planner.coverage import coverage

    visits = seed_visits(planned_app, web_campaign)
    want = coverage(web_campaign, visits, assignment=planned[0], must_visits=planned[1])
    assert 0 < want.totals["households_covered"] < want.totals["households"]  # a real mix
    c = client_as(planned_app, "leader")
    got = c.get("/api/coverage").get_json()
    assert got["totals"] == pytest.approx(want.totals)
    for unit in ("grid", "village", "town"):
        mine = pd.DataFrame(got[f"by_{unit}"]).set_index(f"{unit}_id")
        theirs = want.by(unit).set_index(f"{unit}_id")
        for col in ("households", "households_covered", "not_home_backlog", "refused", "coverage"):
            assert mine[col].to_dict() == pytest.approx(theirs[col].to_dict()), (unit, col)
    html = c.get("/leader/").get_data(as_text=True)
    assert f'<b id="zf-households-covered">{want.totals["households_covered"]}</b>' in html
    assert f'{want.totals["coverage"] * 100:.1f}%' in html
    assert '<div class="zf-part" data-part="/leader/part/rollup"' in html  # the roll-up comes after the map
    rolled = c.get("/leader/part/rollup").get_data(as_text=True)
    for g in want.by_grid.itertuples():
        assert f'data-grid="{g.grid_id}"' in rolled
    points = c.get("/api/coverage/map.geojson?layer=households").get_json()
    covered = want.entities.set_index("entity_id")["covered"]
    assert {f["properties"]["household_id"]: f["properties"]["covered"] for f in points["features"]} == \
        {h: bool(covered[h]) for h in web_campaign.households["household_id"]}
    heat = c.get("/api/coverage/map.geojson?layer=heat").get_json()
    missing = (want.by_grid["households"] - want.by_grid["households_covered"])
    assert {f["properties"]["grid_id"]: f["properties"]["missing"] for f in heat["features"]} == \
        {g: int(n) for g, n in zip(want.by_grid["grid_id"], missing) if n > 0}
    grids = c.get("/api/coverage/map.geojson?layer=grids").get_json()
    assert {f["properties"]["grid_id"]: f["properties"]["coverage"] for f in grids["features"]} == \
        pytest.approx(want.by_grid.set_index("grid_id")["coverage"].to_dict())


def test_leader_sees_progress_forecast_weekly_figures_and_warnings(planned_app, planned, web_campaign):  # noqa: F811
    from planner.coverage import coverage

    visits = seed_visits(planned_app, web_campaign)
    planned_app.config["TODAY"] = "2026-03-20"  # two thirds of the campaign gone, one third covered
    html = client_as(planned_app, "leader").get("/leader/").get_data(as_text=True)
    cov = coverage(web_campaign, visits, assignment=planned[0])
    covered = int(cov.entities["covered"].sum())
    # pace: what was covered in the last 14 days (all of it: 2-4 March are outside) → none → no forecast
    assert "尚无进度" in html
    planned_app.config["TODAY"] = "2026-03-05"
    html = client_as(planned_app, "leader").get("/leader/").get_data(as_text=True)
    pace = covered / 4  # everything was covered from 2 to 5 March
    remaining = len(cov.entities) - covered
    finish = dt.date(2026, 3, 5) + dt.timedelta(days=math.ceil(remaining / pace))
    shown = f"{finish.year}年{finish.month}月{finish.day}日"  # dates in Chinese conventions
    assert re.search(rf'id="zf-forecast" class="zf-(ok|bad)" data-date="{finish}">{shown}</b>', html)
    assert "2026年3月5日 周四" in html  # as of: the day and its weekday
    assert 'class="zf-covered"' in html and 'class="zf-expected"' in html and "zf-forecast-line" in html  # the chart
    weekly = client_as(planned_app, "leader").get("/leader/part/weekly").get_data(as_text=True)
    row = re.search(r'<tr data-week="2026-03-02"><td>3月2日 – 3月8日</td>(.*?)</tr>', weekly).group(1)
    cells = [int(x) for x in re.findall(r"<td>(\d+)</td>", row)]
    assert cells[0] == 2 and cells[3] == 2  # cadres out, problems collected
    planned_app.config["TODAY"] = "2026-03-25"
    html = client_as(planned_app, "leader").get("/leader/").get_data(as_text=True)
    assert "zf-warn-red" in html and "走访覆盖率" in html  # G4A/G4B lag far behind


def test_must_visit_villages_and_households_show_their_status_with_names_masked(web_campaign, planned, db_url, tmp_path):  # noqa: F811
    assignment, _must, summary, stops, days = planned
    must = pd.DataFrame({
        "rule": ["weak_village", "poor_household"], "entity_type": ["village", "household"],
        "entity_id": ["V1", "H-G1B-0"], "cadre_id": ["C1", "C1"], "team_id": ["T1", "T1"],
        "responsible_team_id": ["T1", "T1"], "joint": [False, False],
    })
    app = make_app(db_url, tmp_path, CAMPAIGN=web_campaign, PLAN=assignment, MUST_VISITS=must,
                   SCHEDULE=(stops, days), TODAY=TODAY, CAMPAIGN_START=START, CAMPAIGN_END=END)
    from geodata import store
    from web import db

    with app.app_context():
        store.submit_visits(db.engine(), [{"client_id": "v1", "entity_type": "village", "entity_id": "V1",
                                           "cadre_id": "C1", "visited_at": START + "T10:00", "outcome": "visited"}],
                            campaign_id=db.campaign_id())
    c = client_as(app, "leader")
    html = c.get("/leader/").get_data(as_text=True)
    name = web_campaign.households.set_index("household_id").loc["H-G1B-0", "head_name"]
    rules = re.search(r'<table class="zf-table zf-must-rules">.*?</table>', html, re.S).group(0)
    assert "<td>经济薄弱村（副处级以上干部）</td><td>1</td><td>1</td>" in rules  # the village visit is done
    assert "<td>建档立卡户（市县镇三级干部）</td><td>1</td><td>0</td>" in rules
    todo = re.search(r'<table class="zf-table zf-must-list">.*?</table>', html, re.S).group(0)
    assert name not in html and f"<td>{name[0]}{'*' * (len(name) - 1)}</td><td>干部甲</td>" in todo
    assert "东村" not in todo
    villages = {f["properties"]["village_id"]: f["properties"]
                for f in c.get("/api/coverage/map.geojson?layer=villages").get_json()["features"]}
    assert (villages["V1"]["village_visits_due"], villages["V1"]["village_visits_done"]) == (1, 1)
    assert villages["V2"]["village_visits_due"] == 0


# --- personal data by role --------------------------------------------------------------------


def test_leaders_get_names_and_phones_masked_in_pages_apis_and_exports(planned_app, web_campaign):  # noqa: F811
    from openpyxl import load_workbook

    seed_visits(planned_app, web_campaign)
    hh = web_campaign.households
    secrets = [str(v) for col in ("head_name", "phone", "address") for v in hh[col]]
    leader = client_as(planned_app, "leader")
    bodies = {p: leader.get(p).get_data(as_text=True) for p in (
        "/leader/", "/api/coverage", "/api/coverage/map.geojson?layer=grids",
        "/api/coverage/map.geojson?layer=villages", "/api/coverage/map.geojson?layer=households",
        "/api/layers/households.geojson", "/api/campaign")}
    for path, body in bodies.items():
        for value in secrets:
            assert value not in body, f"{path} leaks {value!r}"
    sheet = load_workbook(io.BytesIO(leader.get("/leader/missing.xlsx").data)).active
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert rows and all(r[0] in ("住户", "企业") for r in rows)
    cells = " ".join(str(v) for r in rows for v in r if v is not None)
    for value in secrets:
        assert value not in cells
    households = [r for r in rows if r[0] == "住户"]
    assert all(re.fullmatch(r".\*+", r[2]) and re.fullmatch(r"\d{3}\*{4}\d{4}", r[3]) for r in households)
    # the admin (like planners) sees them in full
    admin = load_workbook(io.BytesIO(client_as(planned_app, "admin").get("/leader/missing.xlsx").data)).active
    full = {r[2] for r in admin.iter_rows(min_row=2, values_only=True) if r[0] == "住户"}
    assert full and full <= set(hh["head_name"])


def test_a_cadre_gets_no_campaign_layers_and_only_their_own_households(planned_app, planned, web_campaign):  # noqa: F811
    c = client_as(planned_app, "cadre2")
    assert c.get("/api/layers/households.geojson").status_code == 403
    assert c.get("/api/coverage").status_code == 403
    html = c.get("/cadre/").get_data(as_text=True)
    stops = planned[3]
    mine = set(stops.loc[stops["cadre_id"] == "C2", "entity_id"])
    hh = web_campaign.households
    for r in hh.itertuples():
        if r.household_id not in mine:
            assert r.head_name not in html and r.phone not in html


def test_pages_switch_to_english(planned_app):  # noqa: F811
    cadre = client_as(planned_app, "cadre1").get("/cadre/?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in cadre
    for text in ("Route of the day", "Record the visit", "Not at home", "Phone or WeChat visit", "Housing and land"):
        assert text in cadre
    leader = client_as(planned_app, "leader").get("/leader/?lang=en").get_data(as_text=True)
    assert "Progress against the deadline" in leader and "Weekly figures" in leader


def test_the_site_runs_on_postgresql_accounts_visits_and_coverage(web_campaign, planned, tmp_path):  # noqa: F811
    from visit_factories import new_pg_db

    from web import auth

    url = new_pg_db()  # skips without PostgreSQL binaries
    assignment, must, summary, stops, days = planned
    app = make_app(url, tmp_path, CAMPAIGN=web_campaign, PLAN=assignment, MUST_VISITS=must,
                   SCHEDULE=(stops, days), TODAY=TODAY, CAMPAIGN_START=START, CAMPAIGN_END=END)
    assert app.config["DATABASE_URL"].startswith("postgresql+psycopg://")
    with app.app_context():
        auth.create_account("cadre1", "cadre1-pass", role="cadre", cadre_id="C1")
        auth.create_account("leader", "leader-pass", role="leader")
    cadre = client_as(app, "cadre1")
    date, day = day_of(planned, "C1")
    first = day.iloc[0]
    r = post(cadre, "/cadre/visit", entity_type=first["entity_type"], entity_id=first["entity_id"], date=date,
             outcome="visited", client_id="pg-1")
    assert r.status_code == 303
    got = client_as(app, "leader").get("/api/coverage").get_json()
    from web import db

    db.engine(app).dispose()  # close the pool's connections before the server goes
    assert got["totals"]["households_covered"] == 1
