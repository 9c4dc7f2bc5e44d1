"""A planning run on the site for a campaign with counties (issue 7 item 2): every county
planned as its own problem, the job's message counting the counties done, and a county
that fails named in the job's error with nothing made current."""

from __future__ import annotations

import dataclasses
import json
import time

import pytest

from planner.assign import check_plan, default_rules
from planner.province.synthetic import make_province


@pytest.fixture(scope="module")
def province():
    return make_province(counties=3, households_per_grid=4)


def make_site(tmp_path, campaign):
    from web import create_app

    return create_app({"TESTING": True, "SECRET_KEY": "t", "WTF_CSRF_ENABLED": False, "CAMPAIGN": campaign,
                       "DATABASE_URL": f"sqlite:///{tmp_path / 'site.sqlite'}",
                       "PLAN_FOLDER": str(tmp_path / "plans"), "UPLOAD_FOLDER": str(tmp_path / "up")})


def run_plan(app, campaign):
    """``_run_plan`` as the job thread runs it, with the reports it makes."""
    from web.planner import _run_plan

    reports = []
    with app.app_context():
        result = _run_plan(lambda progress=None, message=None: reports.append((progress, message)),
                           campaign, default_rules(), None, time_limit=1.0, seed=0, start=None, end=None)
    return result, reports


def test_a_campaign_with_counties_is_planned_county_by_county(tmp_path, province):
    from web import plans
    from web.planner import has_counties

    assert has_counties(province)
    app = make_site(tmp_path, province)
    result, reports = run_plan(app, province)
    counted = [m for _, m in reports if m and m.startswith("counties:")]
    assert counted == ["counties:1/3", "counties:2/3", "counties:3/3"]
    progress = [p for p, _ in reports if p is not None]
    assert progress == sorted(progress) and progress[-1] <= 1.0
    assert result["violations"] == [] and result["households"] == len(province.households)
    with app.app_context():
        state = plans.get_plan()
        a = state.assignment
        assert set(a["county_id"]) == {"K1", "K2", "K3"}  # one plan, county on every row
        hh = a[a["entity_type"] == "household"]
        assert hh["entity_id"].is_unique and len(hh) == len(province.households)
        assert check_plan(province, a, state.must_visits, default_rules()) == []


def test_a_failing_county_fails_the_run_by_name_and_keeps_the_old_plan(tmp_path, province):
    from web import jobs, plans

    k3 = set(province.teams.loc[province.teams["county_id"] == "K3", "team_id"])
    broken = dataclasses.replace(province, cadres=province.cadres[~province.cadres["team_id"].isin(k3)]
                                 .reset_index(drop=True))
    app = make_site(tmp_path, broken)
    with pytest.raises(jobs.JobError, match="K3"):
        run_plan(app, broken)
    with app.app_context():
        assert plans.get_plan().assignment is None  # nothing made current


def test_the_job_page_shows_the_counties_done(tmp_path, province):
    """Through the site: POST /planner/run answers a job id; the job ends done with the plan."""
    from web import auth

    app = make_site(tmp_path, province)
    with app.app_context():
        auth.ensure_account("p", "pw", role="planner")
    c = app.test_client()
    c.post("/login", data={"username": "p", "password": "pw"})
    r = c.post("/planner/run", data={"time_limit": "1", "seed": "0"}, headers={"Accept": "application/json"})
    assert r.status_code == 202
    url = r.get_json()["url"]
    for _ in range(600):
        job = c.get(url).get_json()
        if job["state"] in ("done", "failed"):
            break
        time.sleep(0.1)
    assert job["state"] == "done", job
    assert job["message"] == "counties:3/3"
    page = c.get("/planner/plan").get_data(as_text=True)
    assert '"counties": ' + json.dumps("已规划区县") in page  # the label the page's script shows beside "3/3"
