"""The visits / problems / warnings / reports API (web.visits_api): tokens, batches, roles, masking."""

from __future__ import annotations

import io
import shutil

import pytest
from openpyxl import load_workbook

from geodata import store

CADRE = ("c01", "pw-c01")


@pytest.fixture(scope="module")
def site_files(tmp_path_factory):
    """The campaign (loaded once) and a database file with the accounts (copied per test:
    password hashing is slow on purpose)."""
    from factories import good_layers
    from geodata import load_campaign
    from geodata.io import write_layers

    folder = tmp_path_factory.mktemp("site")
    campaign = load_campaign(write_layers(good_layers(), folder / "campaign.gpkg"))
    url = f"sqlite:///{folder / 'template.sqlite'}"
    store.upgrade(url)
    engine = store.make_engine(url)
    from werkzeug.security import generate_password_hash

    with store.session_scope(engine) as s:  # cheap hashes: the tests log in often
        for user, password, role, cadre in [(*CADRE, "cadre", "C01"), ("c02", "pw-c02", "cadre", "C02"),
                                            ("boss", "pw-boss", "leader", None), ("plan", "pw-plan", "planner", None)]:
            s.add(store.Account(username=user, role=role, cadre_id=cadre, active=True,
                                password_hash=generate_password_hash(password, method="pbkdf2:sha256:1000")))
    engine.dispose()
    return campaign, folder / "template.sqlite"


def plan(campaign):
    """Village V11's households to cadre C01, all others to C02 (teams by town)."""
    import pandas as pd

    g, h = campaign.grids, campaign.households
    rows = [{"entity_type": "grid", "entity_id": gid, "team_id": "TM3" if v.startswith("V1") else "TM4",
             "cadre_id": None} for gid, v in zip(g["grid_id"], g["village_id"])]
    rows += [{"entity_type": "household", "entity_id": hid, "team_id": "TM3" if v.startswith("V1") else "TM4",
              "cadre_id": "C01" if v == "V11" else "C02"} for hid, v in zip(h["household_id"], h["village_id"])]
    return pd.DataFrame(rows)


@pytest.fixture
def app(tmp_path, site_files):
    from web import create_app

    campaign, template = site_files
    shutil.copy(template, tmp_path / "site.sqlite")
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "CAMPAIGN": campaign, "PLAN": plan(campaign),
                      "DATABASE_URL": f"sqlite:///{tmp_path / 'site.sqlite'}", "TODAY": "2026-03-20",
                      "CAMPAIGN_START": "2026-03-01", "CAMPAIGN_END": "2026-03-31", "CAMPAIGN_KEY": "cz"})
    yield app
    from web import db

    db.engine(app).dispose()


def token(client, user, password):
    r = client.post("/api/token", json={"username": user, "password": password})
    assert r.status_code == 200, r.json
    return {"Authorization": f"Bearer {r.json['token']}"}


def visit(cid, hid="H0001", cadre="C01", outcome="visited", problems=None, day=2):
    rec = {"client_id": cid, "entity_type": "household", "entity_id": hid, "cadre_id": cadre,
           "visited_at": f"2026-03-{day:02d}T10:00:00+08:00", "outcome": outcome}
    if problems:
        rec["problems"] = problems
    return rec


PROBLEM = [{"client_id": "p1", "category": "medical_health", "level": "town", "description": "看病远"}]


def test_anonymous_requests_get_401_and_bad_credentials_no_token(app):
    c = app.test_client()
    assert c.post("/api/visits", json=[]).status_code == 401
    assert c.get("/api/problems").status_code == 401
    assert c.get("/api/warnings").status_code == 401
    assert c.post("/api/token", json={"username": "c01", "password": "nope"}).status_code == 401
    assert c.post("/api/token", data="x").status_code == 400
    r = c.get("/api/problems", headers={"Authorization": "Bearer forged"})
    assert r.status_code == 401 and "token" in r.json["error"]


def test_a_revoked_token_stops_working(app):
    c = app.test_client()
    h = token(c, *CADRE)
    assert c.get("/api/problems", headers=h).status_code == 200
    assert c.delete("/api/token", headers=h).status_code == 204
    assert c.get("/api/problems", headers=h).status_code == 401
    assert c.delete("/api/token").status_code == 401


def test_a_batch_with_bad_records_and_a_resend(app):
    c = app.test_client()
    h = token(c, *CADRE)
    batch = [visit("v1", problems=PROBLEM), visit("v2", hid="H9999"), visit("v3", cadre="C02"),
             {"client_id": "v4", "entity_type": "household", "entity_id": "H0002", "outcome": "not_home",
              "visited_at": "2026-03-02T11:00:00"}]  # cadre_id filled in: the token's cadre
    r = c.post("/api/visits", json={"visits": batch}, headers=h)
    assert r.status_code == 200
    res = r.json["results"]
    assert [x["status"] for x in res] == ["created", "error", "error", "created"]
    assert res[1]["errors"] == ["entity_id: no household 'H9999' in this campaign"]
    assert "only their own visits" in res[2]["errors"][0]
    assert (r.json["created"], r.json["duplicate"], r.json["error"]) == (2, 0, 2)
    again = c.post("/api/visits", json=batch, headers=h).json
    assert [x["status"] for x in again["results"]] == ["duplicate", "error", "error", "duplicate"]
    assert again["results"][0]["visit_id"] == res[0]["visit_id"]
    from web import db

    with app.app_context(), db.session() as s:
        assert s.query(store.Visit).count() == 2
        assert {v.recorded_by for v in s.query(store.Visit)} == {"c01"}


def test_a_phone_restores_its_own_visits(app):
    c = app.test_client()
    h1, h2 = token(c, *CADRE), token(c, "c02", "pw-c02")
    rec = {**visit("v1", problems=PROBLEM), "survey": {"head_name": "张1", "members": 3}}
    c.post("/api/visits", json=[rec], headers=h1)
    c.post("/api/visits", json=[visit("w1", hid="H0100", cadre="C02")], headers=h2)
    [mine] = c.get("/api/visits", headers=h1).json["visits"]
    assert (mine["client_id"], mine["survey"], len(mine["problem_ids"])) == ("v1", {"head_name": "张1", "members": 3}, 1)
    assert len(c.get("/api/visits", headers=token(c, "plan", "pw-plan")).json["visits"]) == 2
    assert c.get("/api/visits?since=2999-01-01T00:00", headers=h1).json["visits"] == []
    assert c.get("/api/visits?since=soon", headers=h1).status_code == 400
    assert c.get("/api/visits", headers=token(c, "boss", "pw-boss")).status_code == 403


def test_batch_shape_errors(app):
    c = app.test_client()
    h = token(c, *CADRE)
    assert c.post("/api/visits", json={"visit": []}, headers=h).status_code == 400
    assert c.post("/api/visits", data="not json", headers=h).status_code == 400
    assert c.post("/api/visits", json=[{}] * (store.MAX_BATCH + 1), headers=h).status_code == 413
    hl = token(c, "boss", "pw-boss")
    assert c.post("/api/visits", json=[visit("x")], headers=hl).status_code == 403  # leaders do not record


def test_problem_flow_over_the_api(app):
    c = app.test_client()
    h1, h2, hp = token(c, *CADRE), token(c, "c02", "pw-c02"), token(c, "plan", "pw-plan")
    pid = c.post("/api/visits", json=[visit("v1", problems=PROBLEM)], headers=h1).json["results"][0]["problem_ids"][0]
    p = c.get(f"/api/problems/{pid}", headers=h1).json
    assert (p["status"], p["owner_cadre_id"], p["allowed_actions"]) == ("open", "C01", ["assign", "handover"])
    assert p["target"] == "张1（V11组1号）"  # the visiting cadre sees the name
    assert c.post(f"/api/problems/{pid}/start", headers=h1).status_code == 409
    assert c.post(f"/api/problems/{pid}/assign", headers=h2).status_code == 403  # not C02's
    assert c.get("/api/problems", headers=h2).json["problems"] == []  # nor in C02's list
    r = c.post(f"/api/problems/{pid}/handover", json={"to_owner": "C02", "to_unit": "镇卫生院", "note": "转办"},
               headers=hp)
    assert r.status_code == 200 and r.json["owner_cadre_id"] == "C02" and r.json["status"] == "assigned"
    assert c.post(f"/api/problems/{pid}/handover", json={"to_owner": "C99"}, headers=hp).status_code == 400
    for action in ("start", "solve", "reject", "assign", "start", "solve", "confirm"):
        r = c.post(f"/api/problems/{pid}/{action}", headers=h2)
        assert r.status_code == 200, (action, r.json)
    p = c.get(f"/api/problems/{pid}", headers=hp).json
    assert p["status"] == "confirmed" and p["reopened"] == 1 and p["allowed_actions"] == []
    assert [x["action"] for x in p["history"]] == ["create", "handover", "start", "solve", "reject", "assign",
                                                  "start", "solve", "confirm"]
    assert p["history"][1]["actor"] == "plan" and p["history"][1]["to_unit"] == "镇卫生院"
    assert c.get("/api/problems/999", headers=hp).status_code == 404


def test_leaders_see_problems_masked(app):
    c = app.test_client()
    c.post("/api/visits", json=[visit("v1", problems=PROBLEM)], headers=token(c, *CADRE))
    r = c.get("/api/problems", headers=token(c, "boss", "pw-boss"))
    [p] = r.json["problems"]
    assert p["target"] == "张*（村11）"
    assert "张1" not in r.get_data(as_text=True) and "13800000001" not in r.get_data(as_text=True)


def test_warnings_by_unit_and_owner(app):
    c = app.test_client()
    h1 = token(c, *CADRE)
    late = [{"client_id": "p-late", "category": "other", "level": "town", "description": "x",
             "due_date": "2026-03-10"}]
    soon = [{"client_id": "p-soon", "category": "other", "level": "town", "description": "y",
             "due_date": "2026-03-22"}]
    c.post("/api/visits", json=[visit("v1", problems=late), visit("v2", hid="H0002", problems=soon)], headers=h1)
    w = c.get("/api/warnings?unit=town", headers=token(c, "boss", "pw-boss")).json
    assert w["today"] == "2026-03-20" and w["schedule"] == {"start": "2026-03-01", "end": "2026-03-31"}
    assert [(x["colour"], x["days"]) for x in w["problems"]] == [("red", 10), ("yellow", -2)]
    # 19 of 30 days gone (63 %), 2 of 168 entities covered: both towns red
    assert [x["colour"] for x in w["units"]] == ["red", "red"]
    assert w["by_owner"] == [{"owner": "C01", "red": 1, "yellow": 1}]
    assert c.get("/api/warnings?unit=street", headers=h1).status_code == 400
    mine = c.get("/api/warnings", headers=h1).json
    assert len(mine["problems"]) == 2 and mine["units"] == []


def test_report_downloads(app):
    c = app.test_client()
    c.post("/api/visits", json=[visit("v1", problems=PROBLEM)], headers=token(c, *CADRE))
    hl = token(c, "boss", "pw-boss")
    r = c.get("/api/reports/summary.xlsx?from=2026-03-01&to=2026-03-15", headers=hl)
    assert r.status_code == 200 and "attachment" in r.headers["Content-Disposition"]
    ws = load_workbook(io.BytesIO(r.data))["合计"]
    assert [ws.cell(7, c).value for c in (2, 3, 4, 5)] == ["医疗卫生", 0, 1, 1]
    r = c.get("/api/reports/problems.xlsx?from=2026-03-01&to=2026-03-15", headers=hl)
    assert load_workbook(io.BytesIO(r.data))["干部1"]["B6"].value == "张*（村11）"  # masked for leaders
    r = c.get("/api/reports/problems.xlsx?from=2026-03-01&to=2026-03-15", headers=token(c, "plan", "pw-plan"))
    assert load_workbook(io.BytesIO(r.data))["干部1"]["B6"].value == "张1（V11组1号）"
    assert c.get("/api/reports/weekly.xlsx?from=2026-03-01&to=2026-03-07", headers=hl).status_code == 200
    assert c.get("/api/reports/weekly.xlsx?from=March", headers=hl).status_code == 400
    assert c.get("/api/reports/nope.xlsx?from=2026-03-01&to=2026-03-07", headers=hl).status_code == 404
    assert c.get("/api/reports/weekly.xlsx?from=2026-03-01&to=2026-03-07",
                 headers=token(c, *CADRE)).status_code == 403


# --- the pages (/problems/) ---------------------------------------------------------

def login(app, user, password):
    import re

    c = app.test_client()
    form = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").get_data(as_text=True))
    r = c.post("/login", data={"username": user, "password": password,
                               **({"csrf_token": form.group(1)} if form else {})})
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    return c


@pytest.fixture
def pages(app):
    app.config["WTF_CSRF_ENABLED"] = False
    c = app.test_client()
    c.post("/api/visits", json=[visit("v1", problems=PROBLEM)], headers=token(c, *CADRE))
    return app


def test_problem_pages_walk_a_problem_to_its_close(pages):
    c = login(pages, *CADRE)
    html = c.get("/problems/").get_data(as_text=True)
    assert "看病远" in html and "张1（V11组1号）" in html and "待交办" in html
    r = c.get("/problems/1")
    assert r.status_code == 200 and "办理记录" in r.get_data(as_text=True)
    r = c.post("/problems/1/start", follow_redirects=True)  # not allowed from open
    assert "未保存" in r.get_data(as_text=True)
    r = c.post("/problems/1/handover", data={"to_unit": "镇卫生院", "note": "请镇卫生院处理"}, follow_redirects=True)
    html = r.get_data(as_text=True)
    assert "已保存" in html and "镇卫生院" in html and "已交办" in html
    for action in ("start", "solve", "confirm"):
        assert c.post(f"/problems/1/{action}").status_code == 303
    html = c.get("/problems/1").get_data(as_text=True)
    assert "群众满意已销号" in html and "已销号，无后续操作。" in html
    assert html.count("<tr>") == 5 + 1  # header + create, handover, start, solve, confirm


def test_problem_pages_by_role(pages):
    boss = login(pages, "boss", "pw-boss")
    html = boss.get("/problems/").get_data(as_text=True)
    assert "张*（村11）" in html and "张1" not in html
    assert boss.post("/problems/1/assign").status_code == 403
    assert "下一步" in boss.get("/problems/1").get_data(as_text=True)
    other = login(pages, "c02", "pw-c02")
    assert other.get("/problems/1").status_code == 404  # not theirs
    assert other.post("/problems/1/assign").status_code == 403
    assert other.get("/problems/reports").status_code == 403
    assert pages.test_client().get("/problems/").status_code == 302  # anonymous → /login
    r = boss.get("/problems/reports")
    assert r.status_code == 200 and "已脱敏" in r.get_data(as_text=True)
    r = boss.get("/api/reports/summary.xlsx?from=2026-03-01&to=2026-03-31")  # the form's target, by session
    assert r.status_code == 200


def test_warnings_page(pages):
    boss = login(pages, "boss", "pw-boss")
    html = boss.get("/problems/warnings?unit=town").get_data(as_text=True)
    assert 'id="zf-unit-warnings"' in html and "镇1" in html and "落后" in html
    assert boss.get("/problems/warnings?unit=street").status_code == 400
    html = login(pages, *CADRE).get("/problems/warnings?lang=en").get_data(as_text=True)
    assert "Units behind schedule" not in html and "Problems near or past due" in html


def test_api_writes_from_a_page_session_need_the_csrf_token(app):
    import re

    c = login(app, *CADRE)
    r = c.post("/api/visits", json=[visit("v9")])
    assert r.status_code == 400 and "CSRF" in r.json["error"]
    assert c.get("/api/problems").status_code == 200  # reads need none
    page = c.get("/cadre/").get_data(as_text=True)  # any page of the site carries the token
    tok = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = c.post("/api/visits", json=[visit("v9")], headers={"X-CSRFToken": tok})
    assert r.status_code == 200 and r.json["created"] == 1


# --- the household survey form (/visits/) -------------------------------------------------

@pytest.fixture
def survey_app(pages):
    return pages


def test_survey_form_records_a_visit_with_its_problems_once(survey_app):
    c = login(survey_app, *CADRE)
    r = c.get("/visits/new?entity_type=household&entity_id=H0003")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "群众入户调查表" in html and 'value="张3"' in html  # prefilled for the cadre
    import re

    client_id = re.search(r'name="client_id" value="([0-9a-f]+)"', html).group(1)
    form = {"client_id": client_id, "entity_type": "household", "entity_id": "H0003", "outcome": "visited",
            "contact_card": "1", "head_name": "张3", "phone": "13800000003", "members": "4", "income": "务农，年收入约3万",
            "opinion_medical": "看病远", "opinion_education": "校车少",
            "problem_0_description": "村口路灯不亮", "problem_0_category": "safety_governance", "problem_0_level": "on_spot",
            "problem_1_description": "希望增加公交班次", "problem_1_category": "other", "problem_1_level": "department",
            "problem_1_suggestion": "转交县交通局", "visited_at": "2026-03-05T10:30"}
    r = c.post("/visits/new", data=form)
    assert r.status_code == 303
    show = c.get(r.headers["Location"]).get_data(as_text=True)
    assert "务农，年收入约3万" in show and "就医：看病远" in show and "村口路灯不亮" in show and "✓" in show
    assert c.post("/visits/new", data=form).status_code == 303  # a double submit stores nothing new
    from web import db

    with survey_app.app_context(), db.session() as s:
        [v] = s.query(store.Visit).filter_by(entity_id="H0003").all()
        assert v.survey["members"] == 4 and v.survey["opinions"] == {"medical": "看病远", "education": "校车少"}
        assert sorted(p.level for p in v.problems) == ["department", "on_spot"]


def test_survey_form_refusals(survey_app):
    c = login(survey_app, *CADRE)
    assert c.get("/visits/new?entity_type=household&entity_id=H0100").status_code == 403  # C02's household
    assert c.get("/visits/new?entity_type=household&entity_id=H9999").status_code == 404
    r = c.post("/visits/new", data={"entity_type": "household", "entity_id": "H0003", "outcome": "visited",
                                    "members": "many"})
    assert r.status_code == 422 and "survey.members" in r.get_data(as_text=True)
    assert login(survey_app, "boss", "pw-boss").get("/visits/new?entity_id=H0003").status_code == 403
    planner = login(survey_app, "plan", "pw-plan")
    r = planner.post("/visits/new", data={"entity_type": "household", "entity_id": "H0100", "cadre_id": "C02",
                                          "outcome": "not_home"})
    assert r.status_code == 303
    vid = r.headers["Location"].rsplit("/", 1)[-1]
    assert c.get(f"/visits/{vid}").status_code == 404  # C02's visit is not C01's to read


#: (method, path, {role: status}); anonymous: 401 for /api/, a redirect to /login for pages
MATRIX = [
    ("GET", "/api/problems", {"cadre": 200, "leader": 200, "planner": 200}),
    ("GET", "/api/warnings", {"cadre": 200, "leader": 200, "planner": 200}),
    ("POST", "/api/visits", {"cadre": 200, "leader": 403, "planner": 200}),
    ("POST", "/api/problems/1/assign", {"cadre": 200, "leader": 403, "planner": 409}),
    ("GET", "/api/reports/weekly.xlsx?from=2026-03-01&to=2026-03-07", {"cadre": 403, "leader": 200, "planner": 200}),
    ("GET", "/problems/", {"cadre": 200, "leader": 200, "planner": 200}),
    ("GET", "/problems/1", {"cadre": 200, "leader": 200, "planner": 200}),
    ("GET", "/problems/warnings", {"cadre": 200, "leader": 200, "planner": 200}),
    ("GET", "/problems/reports", {"cadre": 403, "leader": 200, "planner": 200}),
    ("GET", "/visits/new?entity_type=household&entity_id=H0001", {"cadre": 200, "leader": 403, "planner": 200}),
]
USERS = {"cadre": CADRE, "leader": ("boss", "pw-boss"), "planner": ("plan", "pw-plan")}


def test_each_route_admits_only_its_roles(pages):
    clients = {role: login(pages, *cred) for role, cred in USERS.items()}
    clients["anonymous"] = pages.test_client()
    for method, path, allowed in MATRIX:
        for role, c in clients.items():  # cadre first: its assign makes the planner's a 409
            r = c.get(path) if method == "GET" else c.post(path, json=[])
            if role == "anonymous":
                expected = 401 if path.startswith("/api/") else 302
            else:
                expected = allowed[role]
            assert r.status_code == expected, (method, path, role, r.status_code)
