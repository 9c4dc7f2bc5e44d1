"""``zoufang serve``: options reach the app, the campaign loads at start."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from conftest_web import web_campaign, web_files, web_plan  # noqa: F401  (fixtures)
from zoufang.cli import main
from zoufang.commands import serve as serve_module


@pytest.fixture
def started(monkeypatch):
    """Calls of the server runner, instead of serving forever."""
    calls = []
    monkeypatch.setattr(serve_module, "_run", lambda app, **kw: calls.append((app, kw)))
    monkeypatch.delenv("ZOUFANG_SECRET_KEY", raising=False)
    return calls


def test_serve_loads_the_campaign_and_plan_then_serves_on_host_and_port(web_files, started):  # noqa: F811
    campaign_path, plan_path = web_files
    result = CliRunner().invoke(main, [
        "serve", str(campaign_path), "--plan", str(plan_path), "--host", "0.0.0.0", "--port", "5055",
        "--language", "en",
    ])
    assert result.exit_code == 0, result.output
    assert "4 villages, 8 grids, 36 households; plan" in result.output
    assert "http://127.0.0.1:5055/" in result.output
    [(app, kw)] = started
    assert kw == {"host": "0.0.0.0", "port": 5055, "threads": 4, "dev": False}
    assert app.config["CAMPAIGN_PATH"] == str(campaign_path)
    assert app.config["PLAN_PATH"] == str(plan_path)
    assert app.config["LANGUAGE"] == "en" and app.config["TILE_URL"] is None
    assert app.config["SECRET_KEY"] != "dev" and len(app.config["SECRET_KEY"]) == 64
    assert app.config["DATABASE_URL"] == f"sqlite:///{campaign_path.resolve().with_name('zoufang.sqlite')}"
    # the first admin account was created and its password printed once
    [line] = [x for x in result.output.splitlines() if "first admin account" in x]
    password = line.split("admin / ")[1].split()[0]
    client = app.test_client()
    assert client.get("/planner/map").status_code == 302  # to /login
    login_page = client.get("/login").get_data(as_text=True)
    token = login_page.split('name="csrf_token" value="')[1].split('"')[0]
    assert client.post("/login", data={"username": "admin", "password": password, "csrf_token": token}).status_code == 302
    page = client.get("/planner/map")
    assert page.status_code == 200 and '<html lang="en">' in page.get_data(as_text=True)


def test_serve_uses_the_database_given_and_keeps_its_accounts(web_files, started, tmp_path):  # noqa: F811
    campaign_path, _plan = web_files
    db = tmp_path / "site.sqlite"
    first = CliRunner().invoke(main, ["serve", str(campaign_path), "--db", str(db)])
    assert first.exit_code == 0, first.output
    assert f"app database sqlite:///{db}" in first.output and "first admin account" in first.output
    again = CliRunner().invoke(main, ["serve", str(campaign_path), "--db", f"sqlite:///{db}"])
    assert again.exit_code == 0 and "first admin account" not in again.output
    assert [app.config["DATABASE_URL"] for app, _kw in started] == [f"sqlite:///{db}", f"sqlite:///{db}"]


def test_serve_refuses_a_missing_campaign_file(tmp_path, started):
    result = CliRunner().invoke(main, ["serve", str(tmp_path / "nowhere.gpkg")])
    assert result.exit_code == 2
    assert "does not exist" in result.output
    assert started == []


def test_serve_reports_an_unreadable_campaign_without_a_traceback(tmp_path, started):
    broken = tmp_path / "broken.gpkg"
    broken.write_text("not a geopackage")
    result = CliRunner().invoke(main, ["serve", str(broken)])
    assert result.exit_code in (1, 2), result.output
    assert "error:" in result.output and "Traceback" not in result.output
    assert started == []


def test_demo_accounts_are_created_once_per_role_and_printed(web_files, web_campaign, started, capsys):  # noqa: F811
    from zoufang.commands.demo import DEMO_ACCOUNTS, demo_accounts
    from zoufang.commands.serve import make_app

    campaign_path, plan_path = web_files
    app = make_app(campaign_path, plan_path, db_url="sqlite://",
                   before_serving=lambda a: demo_accounts(a, web_campaign, plan_path))
    out = capsys.readouterr().out
    for name, (password, role) in DEMO_ACCOUNTS.items():
        assert f"{name} / {password}" in out
    assert "first admin account" not in out  # the demo's admin is the first
    client = app.test_client()
    token = client.get("/login").get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    r = client.post("/login", data={"username": "cadre", "password": "cadre-demo", "csrf_token": token})
    assert r.headers["Location"] == "/cadre/"
    with app.app_context():
        from web import auth

        assert auth.count_accounts() == 4
        demo_accounts(app, web_campaign, plan_path)  # a restart keeps them
        assert auth.count_accounts() == 4
