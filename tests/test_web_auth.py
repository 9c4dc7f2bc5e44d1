"""Accounts, roles and CSRF: log-in, the home of each role, every route
refused (403) to the roles it is not for, forms refused without their token,
and the admin pages."""

from __future__ import annotations

import pytest

from conftest_web import (  # noqa: F401  (fixtures)
    ACCOUNTS,
    anon,
    app,
    client_as,
    csrf_token,
    db_template,
    db_url,
    login,
    planned,
    planned_app,
    web_campaign,
    web_plan,
)

ROLES = ("anonymous", "planner", "cadre1", "cadre2", "leader", "admin")
PAGE, API = "page", "api"

#: (method, path, kind, {account allowed in: status}); every other signed-in
#: account gets 403, the anonymous visitor a redirect to /login (pages) or 401 (API).
#: cadre1 is cadre C1; cadre2 (C2) may not open C1's day.
ROUTES = [
    ("GET", "/planner/", PAGE, {"planner": 302, "admin": 302}),
    ("GET", "/planner/map", PAGE, {"planner": 200, "admin": 200}),
    ("GET", "/planner/plan", PAGE, {"planner": 200, "admin": 200}),
    ("GET", "/planner/upload", PAGE, {"planner": 200, "admin": 200}),
    ("GET", "/planner/download/plan.gpkg", PAGE, {"planner": 200, "admin": 200}),
    ("GET", "/planner/download/teams.xlsx", PAGE, {"planner": 200, "admin": 200}),
    ("POST", "/planner/move", PAGE, {"planner": 422, "admin": 422}),  # G1A → T1 splits a village
    ("POST", "/planner/run", PAGE, {"planner": 400, "admin": 400}),  # a bad time limit: nothing starts
    ("POST", "/planner/upload", PAGE, {"planner": 400, "admin": 400}),  # no file
    ("POST", "/planner/upload/nosuchtoken/use", PAGE, {"planner": 404, "admin": 404}),
    ("GET", "/cadre/?cadre_id=C1", PAGE, {"cadre1": 200, "admin": 200}),
    ("GET", "/cadre/route.gpx?cadre_id=C1", PAGE, {"cadre1": 200, "admin": 200}),
    ("GET", "/cadre/sheet?cadre_id=C1", PAGE, {"cadre1": 200, "admin": 200}),
    ("GET", "/cadre/sheet.pdf?cadre_id=C1", PAGE, {"cadre1": 200, "admin": 200}),
    ("POST", "/cadre/visit", PAGE, {"cadre1": 303, "admin": 303}),
    ("GET", "/leader/", PAGE, {"leader": 200, "admin": 200}),
    ("GET", "/leader/missing.xlsx", PAGE, {"leader": 200, "admin": 200}),
    ("GET", "/leader/part/weekly", PAGE, {"leader": 200, "admin": 200}),
    ("GET", "/leader/part/rollup", PAGE, {"leader": 200, "admin": 200}),
    ("GET", "/admin/", PAGE, {"admin": 200}),
    ("POST", "/admin/accounts", PAGE, {"admin": 303}),
    ("POST", "/admin/accounts/999", PAGE, {"admin": 404}),
    ("GET", "/password", PAGE, {r: 200 for r in ROLES[1:]}),
    ("GET", "/api/", API, {r: 200 for r in ROLES[1:]}),
    ("GET", "/api/campaign", API, {r: 200 for r in ROLES[1:]}),
    ("GET", "/api/layers/grids.geojson", API, {"planner": 200, "leader": 200, "admin": 200}),
    ("GET", "/api/layers/households.geojson", API, {"planner": 200, "leader": 200, "admin": 200}),
    ("GET", "/api/coverage", API, {"planner": 200, "leader": 200, "admin": 200}),
    ("GET", "/api/coverage/map.geojson?layer=grids", API, {"planner": 200, "leader": 200, "admin": 200}),
    ("GET", "/api/coverage/shapes.geojson?layer=grids", API, {"planner": 200, "leader": 200, "admin": 200}),
    ("GET", "/api/coverage/figures.json?layer=villages", API, {"planner": 200, "leader": 200, "admin": 200}),
    ("GET", "/api/jobs/nosuchjob", API, {"planner": 404, "admin": 404}),
]


def _form(path: str, stops) -> dict:
    if path == "/planner/move":
        return {"grid_id": "G1A", "team_id": "T1"}
    if path == "/cadre/visit":
        first = stops[stops["cadre_id"] == "C1"].iloc[0]
        return {"entity_type": first["entity_type"], "entity_id": first["entity_id"], "outcome": "visited",
                "cadre_id": "C1"}
    if path == "/admin/accounts":
        return {"username": "new-user", "password": "long-enough", "role": "leader"}
    if path == "/planner/run":
        return {"time_limit": "soon"}
    return {}


@pytest.fixture(scope="module")
def matrix(planned, web_campaign, db_template, tmp_path_factory):  # noqa: F811
    """Every route asked by every role, on one app (logging in once per role)."""
    import shutil

    from conftest_web import PLAN_RULES, make_app
    from planner.assign import rules_from_dict

    tmp = tmp_path_factory.mktemp("matrix")
    shutil.copyfile(db_template, tmp / "db.sqlite")
    assignment, must, summary, stops, days = planned
    app = make_app(f"sqlite:///{tmp / 'db.sqlite'}", tmp, CAMPAIGN=web_campaign, PLAN=assignment,  # noqa: F811
                   MUST_VISITS=must, TEAMS_SUMMARY=summary, SCHEDULE=(stops, days),
                   RULES=rules_from_dict(PLAN_RULES), TODAY="2026-03-04")
    clients = {"anonymous": app.test_client()}
    for role in ROLES[1:]:
        clients[role] = client_as(app, role)
    got = {}
    for method, path, _kind, _allowed in ROUTES:
        for role, c in clients.items():
            if method == "GET":
                r = c.get(path)
            else:
                r = c.post(path, data={**_form(path, stops), "csrf_token": csrf_token(c)})
            got[(method, path, role)] = (r.status_code, r.headers.get("Location", ""), r.get_data()[:300].decode(errors="replace"))
    return got


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("method, path, kind, allowed", ROUTES, ids=[f"{m} {p}" for m, p, *_ in ROUTES])
def test_each_route_admits_only_its_roles(matrix, method, path, kind, allowed, role):
    status, location, body = matrix[(method, path, role)]
    if role in allowed:
        assert status == allowed[role], body
    elif role == "anonymous":
        if kind == API:
            assert status == 401 and "sign in" in body
        else:
            assert status == 302 and "/login" in location
    else:
        assert status == 403, body


def test_forbidden_pages_say_so_in_chinese(planned_app):  # noqa: F811
    response = client_as(planned_app, "cadre1").get("/leader/")
    assert response.status_code == 403
    assert "您的角色无权访问此页面" in response.get_data(as_text=True)
    api = client_as(planned_app, "cadre1").get("/api/coverage")
    assert api.status_code == 403 and api.get_json()["error"] == "forbidden for your role"


# --- log-in ---------------------------------------------------------------------


@pytest.mark.parametrize("user, home", [
    ("planner", "/planner/"), ("cadre1", "/cadre/"), ("leader", "/leader/"), ("admin", "/admin/"),
])
def test_root_sends_each_role_to_its_home(app, user, home):  # noqa: F811
    response = client_as(app, user).get("/")
    assert response.status_code == 302 and response.headers["Location"] == home


def test_root_sends_an_anonymous_visitor_to_login(anon):  # noqa: F811
    response = anon.get("/")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    page = anon.get("/login")
    assert page.status_code == 200 and "登录" in page.get_data(as_text=True)


def test_login_returns_to_the_page_asked_for_but_never_to_another_site(anon):  # noqa: F811
    first = anon.get("/planner/map")
    assert first.headers["Location"] == "/login?next=/planner/map"
    token = csrf_token(anon)
    ok = anon.post("/login?next=/planner/map", data={"username": "planner", "password": "planner-pass",
                                                      "csrf_token": token})
    assert ok.headers["Location"] == "/planner/map"
    anon.post("/logout", data={"csrf_token": csrf_token(anon)})
    evil = anon.post("/login?next=//evil.example/x", data={"username": "planner", "password": "planner-pass",
                                                           "csrf_token": csrf_token(anon)})
    assert evil.headers["Location"] == "/planner/"


def test_wrong_password_is_refused_and_the_password_is_stored_hashed(anon, app):  # noqa: F811
    response = anon.post("/login", data={"username": "planner", "password": "nope", "csrf_token": csrf_token(anon)})
    assert response.status_code == 401 and "用户名或密码错误" in response.get_data(as_text=True)
    assert anon.get("/planner/map").status_code == 302
    from sqlalchemy import select

    from geodata import store
    from web import db

    with app.app_context(), db.session() as s:
        stored = s.scalar(select(store.Account.password_hash).where(store.Account.username == "planner"))
    assert "planner-pass" not in stored and stored.startswith(("scrypt:", "pbkdf2:"))


def test_logout_ends_the_session(app):  # noqa: F811
    c = client_as(app, "planner")
    assert c.get("/planner/map").status_code == 200
    assert c.post("/logout", data={"csrf_token": csrf_token(c)}).status_code == 302
    assert c.get("/planner/map").status_code == 302


# --- CSRF ---------------------------------------------------------------------------


@pytest.mark.parametrize("user, path, form", [
    (None, "/login", {"username": "planner", "password": "planner-pass"}),  # log-in itself
    ("planner", "/logout", {}),
    ("planner", "/planner/run", {"time_limit": "1"}),
    ("planner", "/planner/move", {"grid_id": "G1A", "team_id": "T1"}),
    ("cadre1", "/cadre/visit", {"entity_type": "household", "entity_id": "H-G1A-1", "outcome": "visited"}),
    ("admin", "/admin/accounts", {"username": "x", "password": "long-enough", "role": "leader"}),
    ("admin", "/admin/accounts/1", {"active": "0"}),
    ("leader", "/password", {"password": "leader-pass", "new_password": "x" * 9, "new_password_again": "x" * 9}),
])
def test_a_post_without_its_csrf_token_is_refused(planned_app, user, path, form):  # noqa: F811
    from web import jobs

    c = client_as(planned_app, user) if user else planned_app.test_client()
    response = c.post(path, data=form)
    assert response.status_code == 400
    assert "表单已过期" in response.get_data(as_text=True)
    forged = c.post(path, data={**form, "csrf_token": "forged"})
    assert forged.status_code == 400
    with planned_app.app_context():
        assert jobs.latest("plan") is None  # nothing was started


def test_forms_carry_a_csrf_token(planned_app):  # noqa: F811
    for user, path in (("planner", "/planner/plan"), ("planner", "/planner/upload"), ("cadre1", "/cadre/"),
                       ("admin", "/admin/")):
        html = client_as(planned_app, user).get(path).get_data(as_text=True)
        forms = html.count('method="post"')  # GET forms (the date picker) change nothing
        assert forms > 0 and html.count('name="csrf_token"') == forms, path


# --- admin ----------------------------------------------------------------------------


def _post(c, path, **form):
    return c.post(path, data={**form, "csrf_token": csrf_token(c)})


def test_admin_creates_accounts_links_a_cadre_and_switches_one_off(planned_app):  # noqa: F811
    admin = client_as(planned_app, "admin")
    r = _post(admin, "/admin/accounts", username="wang", password="wang-pass-1", role="cadre", cadre_id="C2")
    assert r.status_code == 303
    page = admin.get("/admin/").get_data(as_text=True)
    assert "账号wang已创建" in page and "wang" in page
    wang = planned_app.test_client()
    assert _post(wang, "/login", username="wang", password="wang-pass-1").status_code == 302
    assert wang.get("/cadre/").status_code == 200
    assert wang.get("/cadre/?cadre_id=C1").status_code == 403

    from sqlalchemy import select

    from geodata import store
    from web import db

    with planned_app.app_context(), db.session() as s:
        wang_id = s.scalar(select(store.Account.id).where(store.Account.username == "wang"))
    assert _post(admin, f"/admin/accounts/{wang_id}", cadre_id="C1").status_code == 303
    assert wang.get("/cadre/?cadre_id=C1").status_code == 200  # relinked
    assert _post(admin, f"/admin/accounts/{wang_id}", active="0").status_code == 303
    assert wang.get("/cadre/").status_code == 302  # switched off: signed out
    again = planned_app.test_client()
    assert _post(again, "/login", username="wang", password="wang-pass-1").status_code == 401


@pytest.mark.parametrize("form, message", [
    ({"username": "x", "password": "short", "role": "leader"}, "密码至少需要8个字符"),
    ({"username": "x", "password": "long-enough", "role": "boss"}, "请选择角色"),
    ({"username": "x", "password": "long-enough", "role": "cadre"}, "走访干部账号必须关联一名干部"),
    ({"username": "x", "password": "long-enough", "role": "cadre", "cadre_id": "C99"}, "没有干部C99"),
    ({"username": "planner", "password": "long-enough", "role": "leader"}, "用户名planner已被占用"),
])
def test_admin_refuses_bad_accounts_with_a_reason(planned_app, form, message):  # noqa: F811
    admin = client_as(planned_app, "admin")
    _post(admin, "/admin/accounts", **form)
    assert message in admin.get("/admin/").get_data(as_text=True)


def test_a_user_changes_their_password_and_an_admin_resets_one(app):  # noqa: F811
    c = client_as(app, "leader")
    assert "修改密码" in c.get("/password").get_data(as_text=True)
    wrong = _post(c, "/password", password="nope", new_password="brand-new-1", new_password_again="brand-new-1")
    assert wrong.status_code == 400 and "当前密码错误" in wrong.get_data(as_text=True)
    differ = _post(c, "/password", password="leader-pass", new_password="brand-new-1", new_password_again="other-22")
    assert differ.status_code == 400 and "不一致" in differ.get_data(as_text=True)
    ok = _post(c, "/password", password="leader-pass", new_password="brand-new-1", new_password_again="brand-new-1")
    assert ok.status_code == 303
    fresh = app.test_client()
    assert _post(fresh, "/login", username="leader", password="leader-pass").status_code == 401
    assert _post(fresh, "/login", username="leader", password="brand-new-1").status_code == 302

    from sqlalchemy import select

    from geodata import store
    from web import db

    with app.app_context(), db.session() as s:
        leader_id = s.scalar(select(store.Account.id).where(store.Account.username == "leader"))
    admin = client_as(app, "admin")
    assert _post(admin, f"/admin/accounts/{leader_id}", password="reset-by-admin").status_code == 303
    again = app.test_client()
    assert _post(again, "/login", username="leader", password="reset-by-admin").status_code == 302
    assert app.test_client().get("/password").status_code == 302  # anonymous: to /login
