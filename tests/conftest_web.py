"""Fixtures of the web tests: a tiny campaign, its plan, the app and a client.

Not a conftest pytest loads by itself: the web test modules import the
fixtures they use (``from conftest_web import app, client``).

The campaign ("web_small") is four 1 km square villages in a 2 km town in
EPSG:32631, each village cut into two grids (8 grids). Grid k (0-based, in
order G1A, G1B, G2A, ...) holds k + 1 households: 36 in all. Village V1 is
economically weak, V2 a resettlement community. Two teams; the plan gives the
grids of V1 and V2 to T1 and those of V3 and V4 to T2, and moves one
household of G1A to T2 by itself. Every household has a made-up name, phone
and address, which no response may contain.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from pyproj import CRS

from geodata.campaign import Campaign

CRS_METRIC = CRS.from_epsg(32631)
X0, Y0 = 500_000.0, 5_000_000.0
#: village id → (column, row) of its 1 km square, weak, resettlement, kind
VILLAGES = {
    "V1": (0, 0, True, False, "village"),
    "V2": (1, 0, False, True, "community"),
    "V3": (0, 1, False, False, "village"),
    "V4": (1, 1, False, False, "village"),
}
GRIDS = [f"G{v[1:]}{half}" for v in VILLAGES for half in "AB"]
HOUSEHOLDS_PER_GRID = {g: k + 1 for k, g in enumerate(GRIDS)}
N_HOUSEHOLDS = sum(HOUSEHOLDS_PER_GRID.values())  # 36
PLAN_TEAMS = {g: ("T1" if g[1] in "12" else "T2") for g in GRIDS}
MOVED_HOUSEHOLD = "H-G1A-0"  # planned to T2 although its grid is T1's


def _square(col, row, size=1000.0, dx=0.0):
    x, y = X0 + col * 1000.0 + dx, Y0 + row * 1000.0
    return shapely.box(x, y, x + size, y + size)


def build_campaign() -> Campaign:
    towns = gpd.GeoDataFrame(
        {"town_id": ["T01"], "name": ["测试镇"]},
        geometry=[shapely.box(X0, Y0, X0 + 2000, Y0 + 2000)], crs=CRS_METRIC,
    )
    villages = gpd.GeoDataFrame(
        {
            "village_id": list(VILLAGES),
            "name": ["东村", "西社区", "南村", "北村"],
            "town_id": ["T01"] * 4,
            "kind": [v[4] for v in VILLAGES.values()],
            "weak": [v[2] for v in VILLAGES.values()],
            "resettlement": [v[3] for v in VILLAGES.values()],
        },
        geometry=[_square(c, r) for c, r, *_ in VILLAGES.values()], crs=CRS_METRIC,
    )
    grid_rows, grid_geoms = [], []
    for vid, (c, r, *_) in VILLAGES.items():
        for i, half in enumerate("AB"):
            grid_rows.append({"grid_id": f"G{vid[1:]}{half}", "village_id": vid})
            x, y = X0 + c * 1000.0 + i * 500.0, Y0 + r * 1000.0
            grid_geoms.append(shapely.box(x, y, x + 500, y + 1000))
    grids = gpd.GeoDataFrame(grid_rows, geometry=grid_geoms, crs=CRS_METRIC)

    rows, points = [], []
    n = 0
    for grid, geom in zip(grids["grid_id"], grids.geometry):
        minx, miny, _, _ = geom.bounds
        for j in range(HOUSEHOLDS_PER_GRID[grid]):
            n += 1
            rows.append({
                "household_id": f"H-{grid}-{j}",
                "address": f"保密路{n}号",
                "head_name": f"户主秘名{n:02d}",
                "phone": f"1390000{n:04d}",
                "members": 1 + j % 4,
                "poor": j == 0,
                "status": ("resident", "vacant", "rental", "away")[j % 4],
                "grid_id": grid,
                "village_id": grids.loc[grids["grid_id"] == grid, "village_id"].item(),
            })
            points.append(shapely.Point(minx + 100 + 40 * (j % 8), miny + 100 + 100 * (j // 8)))
    households = gpd.GeoDataFrame(rows, geometry=points, crs=CRS_METRIC)

    enterprises = gpd.GeoDataFrame(
        {
            "enterprise_id": ["E1", "E2"],
            "name": ["红星农机厂", "绿野合作社"],
            "listed": [True, False],
            "grid_id": ["G1A", "G4B"],
            "village_id": ["V1", "V4"],
        },
        geometry=[shapely.Point(X0 + 250, Y0 + 900), shapely.Point(X0 + 1750, Y0 + 1900)],
        crs=CRS_METRIC,
    )
    roads = gpd.GeoDataFrame(
        {"highway": ["primary", "residential"], "name": ["中心大道", "东村巷"]},
        geometry=[
            shapely.LineString([(X0 - 100, Y0 + 1000), (X0 + 2100, Y0 + 1000)]),
            shapely.LineString([(X0 + 500, Y0 + 50), (X0 + 500, Y0 + 950)]),
        ],
        crs=CRS_METRIC,
    )
    teams = pd.DataFrame({
        "team_id": ["T1", "T2"], "name": ["第一工作组", "第二工作组"],
        "level": ["county", "town"], "unit": ["县委办", "镇政府"],
    })
    cadres = pd.DataFrame({
        "cadre_id": ["C1", "C2"], "team_id": ["T1", "T2"], "name": ["干部甲", "干部乙"],
        "level": ["county", "town"], "rank": ["section", "staff"],
    })
    return Campaign(
        crs=CRS_METRIC, villages=villages, grids=grids, households=households,
        enterprises=enterprises, teams=teams, cadres=cadres, towns=towns, roads=roads,
        name="web_small",
    )


def build_plan() -> pd.DataFrame:
    rows = [
        {"entity_type": "grid", "entity_id": g, "team_id": t, "cadre_id": "C" + t[1]}
        for g, t in PLAN_TEAMS.items()
    ]
    rows.append({"entity_type": "household", "entity_id": MOVED_HOUSEHOLD, "team_id": "T2", "cadre_id": "C2"})
    return pd.DataFrame(rows)


def write_campaign(campaign: Campaign, path) -> None:
    import pyogrio

    for name in ("towns", "villages", "grids", "households", "enterprises", "roads"):
        pyogrio.write_dataframe(campaign.layer(name), path, layer=name)
    for name in ("teams", "cadres"):
        pyogrio.write_dataframe(campaign.layer(name), path, layer=name)


def personal_values(campaign: Campaign) -> list[str]:
    """Every personal value in the campaign, as it could appear in a response."""
    hh = campaign.households
    return [str(v) for col in ("head_name", "phone", "address") for v in hh[col]]


@pytest.fixture(scope="session")
def web_campaign() -> Campaign:
    return build_campaign()


@pytest.fixture(scope="session")
def web_plan() -> pd.DataFrame:
    return build_plan()


@pytest.fixture(scope="session")
def web_files(tmp_path_factory, web_campaign, web_plan):
    """(campaign.gpkg, plan.gpkg) written from the fixtures."""
    import pyogrio

    folder = tmp_path_factory.mktemp("web_gpkg")
    campaign_path, plan_path = folder / "campaign.gpkg", folder / "plan.gpkg"
    write_campaign(web_campaign, campaign_path)
    pyogrio.write_dataframe(web_plan, plan_path, layer="assignment")
    return campaign_path, plan_path


#: test accounts: user name → (password, role, cadre_id)
ACCOUNTS = {
    "planner": ("planner-pass", "planner", None),
    "leader": ("leader-pass", "leader", None),
    "admin": ("admin-pass", "admin", None),
    "cadre1": ("cadre1-pass", "cadre", "C1"),
    "cadre2": ("cadre2-pass", "cadre", "C2"),
}
#: the planned campaign's calendar (see ``planned``)
START, END, TODAY = "2026-03-02", "2026-03-31", "2026-03-04"


@pytest.fixture(scope="session")
def db_template(tmp_path_factory):
    """A migrated SQLite database holding :data:`ACCOUNTS` (copied per test:
    migrating and hashing passwords once keeps the tests fast)."""
    from geodata import store

    path = tmp_path_factory.mktemp("web_db") / "template.sqlite"
    engine = store.make_engine(path)
    store.upgrade(engine)
    from werkzeug.security import generate_password_hash

    with store.session_scope(engine) as s:
        for name, (password, role, cadre) in ACCOUNTS.items():
            acc = store.create_account(s, name, password, role=role, cadre_id=cadre)
            # a cheap hash for the tests' many log-ins (the site's own accounts keep Werkzeug's default)
            acc.password_hash = generate_password_hash(password, method="pbkdf2:sha256:1000")
    engine.dispose()
    return path


@pytest.fixture
def db_url(db_template, tmp_path):
    import shutil

    path = tmp_path / "zoufang.sqlite"
    shutil.copyfile(db_template, path)
    return f"sqlite:///{path}"


def make_app(db_url, tmp_path, **config):
    from web import create_app

    return create_app({
        "TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": db_url,
        "PLAN_FOLDER": str(tmp_path / "plans"), "UPLOAD_FOLDER": str(tmp_path / "uploads"), **config,
    })


@pytest.fixture
def app(web_campaign, web_plan, db_url, tmp_path):
    return make_app(db_url, tmp_path, CAMPAIGN=web_campaign, PLAN=web_plan)


def csrf_token(client) -> str:
    """The session's CSRF token, read from the log-in form."""
    import re

    html = client.get("/login").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def login(client, username: str):
    """Sign ``client`` in as one of :data:`ACCOUNTS`; returns the client."""
    response = client.post("/login", data={
        "username": username, "password": ACCOUNTS[username][0], "csrf_token": csrf_token(client),
    })
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return client


@pytest.fixture
def client(app):
    """A planner's client (planners see every page of the foundation)."""
    return login(app.test_client(), "planner")


@pytest.fixture
def anon(app):
    return app.test_client()


# --- a planned and scheduled campaign -------------------------------------------


#: rules of the test campaign: no must-visit rule (it has no senior cadre)
PLAN_RULES = {"must_visit": []}


@pytest.fixture(scope="session")
def planned(web_campaign):
    """(assignment, must_visits, teams_summary, stops, days) from
    :func:`planner.assign.assign` and :func:`planner.schedule.schedule` on the
    test campaign, once per session (about half a second)."""
    import datetime as dt
    import warnings

    from planner.assign import assign, rules_from_dict
    from planner.schedule import load_schedule_rules, schedule

    plan = assign(web_campaign, rules_from_dict(PLAN_RULES), time_limit=5, workers=1, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # straight-line travel estimates on the toy roads
        sched = schedule(web_campaign, plan.assignment, plan.must_visits, load_schedule_rules(None),
                         start=dt.date.fromisoformat(START), end=dt.date.fromisoformat(END),
                         time_limit=0.2, iterations=50, seed=0, workers=1)
    return plan.assignment, plan.must_visits, plan.teams_summary, sched.stops, sched.days


@pytest.fixture
def planned_app(web_campaign, planned, db_url, tmp_path):
    from planner.assign import rules_from_dict

    assignment, must, summary, stops, days = planned
    return make_app(db_url, tmp_path, CAMPAIGN=web_campaign, PLAN=assignment, MUST_VISITS=must,
                    TEAMS_SUMMARY=summary, SCHEDULE=(stops, days), RULES=rules_from_dict(PLAN_RULES),
                    TODAY=TODAY, CAMPAIGN_START=START, CAMPAIGN_END=END)


def client_as(app, username: str):
    return login(app.test_client(), username)
