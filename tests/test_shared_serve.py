"""``zoufang serve --db URL`` imports the campaign's areas and places once (issue 7 item 3)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from conftest_web import web_campaign, web_files, web_plan  # noqa: F401  (fixtures)
from geodata import store
from test_shared_db import _pg_url
from zoufang.cli import main
from zoufang.commands import serve as serve_module


@pytest.fixture
def started(monkeypatch):
    calls = []
    monkeypatch.setattr(serve_module, "_run", lambda app, **kw: calls.append((app, kw)))
    monkeypatch.delenv("ZOUFANG_SECRET_KEY", raising=False)
    yield calls
    from web import db

    for app, _kw in calls:  # close the apps' pooled connections (PostgreSQL)
        db.engine(app).dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgis"])
def test_serve_with_db_imports_once_and_a_restart_writes_nothing(web_files, started, tmp_path, backend):  # noqa: F811
    campaign_path, plan_path = web_files
    url = f"sqlite:///{tmp_path / 'shared.sqlite'}" if backend == "sqlite" else _pg_url(postgis=True)
    first = CliRunner().invoke(main, ["serve", str(campaign_path), "--plan", str(plan_path), "--db", url])
    assert first.exit_code == 0, first.output
    assert "households and enterprises into the database" in first.output
    again = CliRunner().invoke(main, ["serve", str(campaign_path), "--plan", str(plan_path), "--db", url])
    assert again.exit_code == 0, again.output
    assert "campaign already in the database (same files): nothing imported" in again.output
    engine = store.make_engine(url)
    with engine.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM places WHERE entity_type = 'household'")).scalar()
        teams = conn.execute(text("SELECT count(*) FROM places WHERE team_id IS NOT NULL")).scalar()
        fp = conn.execute(text("SELECT import_fingerprint FROM campaigns")).scalar()
    engine.dispose()
    assert n == 36 and teams > 0 and len(fp) == 64
    app = started[-1][0]
    client = app.test_client()
    assert client.get("/api/coverage/rollup").status_code == 401  # signed out: sign in first (JSON)


def test_serve_without_db_imports_nothing_unless_asked(web_files, started, tmp_path):  # noqa: F811
    campaign_path, _plan = web_files
    out = CliRunner().invoke(main, ["serve", str(campaign_path)]).output
    assert "into the database" not in out
    out = CliRunner().invoke(main, ["serve", str(campaign_path), "--import"]).output
    assert "households and enterprises into the database" in out or "nothing imported" in out
