"""planner.province: a province planned county by county on a 2-worker LocalCluster equals the
counties planned one by one; a broken county fails alone, by name; a lost worker is retried;
progress reaches N/N; the city-level problem gives spanning city teams their villages."""

from __future__ import annotations

import dataclasses
import os
import sys

import cloudpickle
import pandas as pd
import pytest

from planner.assign import assign, check_plan, default_rules
from planner.province import (ProvinceDataError, assign_city_teams, dask_client, membership, plan_province,
                              solve_county, split_campaign)
from planner.province.synthetic import make_province

# the crashing solve below is sent to the workers by value (they cannot import this test module)
cloudpickle.register_pickle_by_value(sys.modules[__name__])

TIME_LIMIT = 1.0


@pytest.fixture(scope="module")
def client():
    with dask_client(workers=2) as c:
        yield c


@pytest.fixture(scope="module")
def province():
    return make_province(counties=4)


def one_by_one(province, rules, *, seed=0):
    """The same counties, each planned on its own with assign(), stacked with county_id."""
    frames = []
    for job in split_campaign(province):
        plan = assign(job.campaign, rules, time_limit=TIME_LIMIT, workers=1, seed=seed, deterministic=True)
        a = plan.assignment.copy()
        a.insert(0, "county_id", job.county_id)
        frames.append(a)
    return pd.concat(frames, ignore_index=True)


def test_two_worker_cluster_plan_equals_counties_planned_one_by_one(client, province):
    rules = default_rules()
    events = []
    plan = plan_province(province, rules, client=client, time_limit=TIME_LIMIT, seed=0, progress=events.append)
    assert plan.ok and plan.status == "OK"
    pd.testing.assert_frame_equal(plan.assignment, one_by_one(province, rules))
    for frame in (plan.assignment, plan.must_visits, plan.teams_summary):
        assert frame["county_id"].notna().all()
        assert list(frame.columns)[0] == "county_id"
    assert set(plan.assignment["county_id"]) == {"K1", "K2", "K3", "K4"}
    assert len(plan.assignment.query("entity_type == 'household'")) == len(province.households)
    # progress counts counties done up to N/N
    finals = [e for e in events if e["status"] != "retrying"]
    assert [e["done"] for e in finals] == [1, 2, 3, 4]
    assert finals[-1]["total"] == 4
    assert list(plan.counties["status"]) == ["ok"] * 4
    # same seed in this process (one by one, plan_province without a client): the same plan
    local = plan_province(province, rules, client=None, time_limit=TIME_LIMIT, seed=0)
    for name in ("assignment", "must_visits", "teams_summary"):
        pd.testing.assert_frame_equal(getattr(plan, name), getattr(local, name), obj=name)


def no_cadres_in_k3(p):
    """K3's teams lose their cadres: bad data."""
    k3 = set(p.teams.loc[p.teams["county_id"] == "K3", "team_id"])
    return dataclasses.replace(p, cadres=p.cadres[~p.cadres["team_id"].isin(k3)].reset_index(drop=True)), "data", \
        "no cadres"


def no_senior_for_k3_weak_villages(p):
    """Every K3 village is weak but K3 has no deputy-division cadre: infeasible rules."""
    villages = p.villages.copy()
    villages.loc[villages["village_id"].str.startswith("K3"), "weak"] = True
    cadres = p.cadres.copy()
    cadres.loc[cadres["team_id"].str.startswith("K3"), "rank"] = "staff"
    return dataclasses.replace(p, villages=villages, cadres=cadres), "infeasible", "weak"


@pytest.mark.parametrize("breaking", [no_cadres_in_k3, no_senior_for_k3_weak_villages])
def test_county_with_broken_data_fails_alone_with_its_name(client, province, breaking):
    broken, kind, words = breaking(province)
    events = []
    plan = plan_province(broken, default_rules(), client=client, time_limit=TIME_LIMIT, seed=0,
                         progress=events.append)
    assert plan.status == "PARTIAL" and not plan.ok
    (failure,) = plan.failures
    assert (failure.county_id, failure.name, failure.kind) == ("K3", "县K3", kind)
    assert words in failure.reason
    assert failure.attempts == 1  # bad data and infeasible rules are not retried
    assert "K3" in str(failure) and "县K3" in str(failure)
    assert set(plan.assignment["county_id"]) == {"K1", "K2", "K4"}
    row = plan.counties.set_index("county_id").loc["K3"]
    assert row["status"] == "failed" and row["failure"] == kind
    assert plan.plan_info["counties_failed"] == ["K3"]
    k3 = int(broken.households["household_id"].str.startswith("K3").sum())
    assert plan.plan_info["households_unplanned"] == k3
    assert plan.plan_info["households"] + k3 == len(broken.households)
    assert events[-1]["done"] == events[-1]["total"] == 4


def crash_k2_on_first_attempt(job, rules, **kwargs):
    """Kills the worker process under county K2 on its first attempt (a lost worker)."""
    if job.county_id == "K2" and kwargs.get("attempt") == 1:
        os._exit(1)
    return solve_county(job, rules, **kwargs)


def test_lost_worker_is_retried_and_the_county_planned(province):
    from planner.province import run_counties

    jobs = split_campaign(province)[:2]
    events = []
    with dask_client(workers=2, allowed_failures=0) as c:
        out = run_counties(jobs, default_rules(), client=c, time_limit=TIME_LIMIT, seed=0, retries=1,
                           progress=events.append, solve=crash_k2_on_first_attempt)
    assert [o.county_id for o in out] == ["K1", "K2"]
    assert all(o.ok for o in out), [o.failure for o in out]
    assert out[1].attempts == 2
    # K2 is retried; K1 may be too, when it waited on the lost worker
    assert any(e["status"] == "retrying" and e["county_id"] == "K2" and e["kind"] == "worker_lost" for e in events)


def test_lost_worker_without_retries_is_reported_by_name(province):
    from planner.province import run_counties

    jobs = [j for j in split_campaign(province) if j.county_id == "K2"]
    with dask_client(workers=1, allowed_failures=0) as c:
        (out,) = run_counties(jobs, default_rules(), client=c, time_limit=TIME_LIMIT, seed=0, retries=0,
                              solve=crash_k2_on_first_attempt)
    assert not out.ok
    assert (out.failure.kind, out.failure.county_id, out.failure.name) == ("worker_lost", "K2", "县K2")
    assert "KilledWorker" in out.failure.reason


def test_city_teams_that_span_counties_take_their_quota_in_one_county():
    p = make_province(counties=4, spanning_city_teams=2)
    p = dataclasses.replace(p, teams=p.teams.iloc[::-1].reset_index(drop=True))  # spanning teams first
    rules = default_rules()
    m = membership(p)
    assert m.spanning == ("CITYX02", "CITYX01")
    city = assign_city_teams(p, m, rules, time_limit=5, seed=0)
    t = city.table
    assert set(t["team_id"]) == {"CITYX01", "CITYX02"}
    assert t["village_id"].is_unique  # each village to at most one city team
    assert (t.groupby("team_id")["county_id"].nunique() == 1).all()  # one county per city team
    q = rules.quotas.city
    assert t.groupby("team_id").size().between(q.min_villages, q.max_villages).all()
    # the county jobs carry the city team and its fixed villages
    jobs = {j.county_id: j for j in split_campaign(p, member=m, city=city.villages)}
    for job in jobs.values():  # every team with its own cadres, in its own county
        assert set(job.campaign.cadres["team_id"]) == set(job.campaign.teams["team_id"])
        assert set(job.campaign.teams["county_id"].dropna()) <= {job.county_id}
    for team_id, cid in t.groupby("team_id")["county_id"].first().items():
        assert team_id in set(jobs[cid].campaign.teams["team_id"])
        assert set(jobs[cid].fixed.values()) >= {team_id}
        others = [k for k in jobs if k != cid]
        assert all(team_id not in set(jobs[k].campaign.teams["team_id"]) for k in others)


def test_city_team_prefers_a_must_visit_village_at_equal_distance():
    p = make_province(counties=2, spanning_city_teams=1)
    villages = p.villages.copy()
    villages["weak"] = False
    villages["resettlement"] = False
    target = "K2T01V02"
    villages.loc[villages["village_id"] == target, "weak"] = True
    teams = p.teams.copy()
    # base at the centre of the province: every village about as near
    x = villages.geometry.representative_point()
    teams.loc[teams["team_id"] == "CITYX01", ["base_x", "base_y"]] = [x.x.mean(), x.y.mean()]
    p = dataclasses.replace(p, villages=villages, teams=teams)
    city = assign_city_teams(p, membership(p), default_rules(), time_limit=5, seed=0)
    assert target in set(city.table["village_id"])


def test_things_in_no_county_are_named():
    p = make_province(counties=2)
    towns = p.towns.copy()
    towns.loc[0, "county_id"] = None
    no_poly = dataclasses.replace(p, towns=towns, counties=None)
    with pytest.raises(ProvinceDataError, match=r"2 village\(s\) belong to no county.*K1T01V01"):
        membership(no_poly)
    teams = p.teams.copy()
    teams.loc[teams["level"] == "county", "county_id"] = None
    teams.loc[teams["level"] == "county", ["base_x", "base_y"]] = [0.0, 0.0]
    with pytest.raises(ProvinceDataError, match=r"team\(s\) belong to no county.*K1CNTY01"):
        membership(dataclasses.replace(p, teams=teams))
    hh = p.households.copy()
    hh.loc[0, "grid_id"] = "NOWHERE"
    with pytest.raises(ProvinceDataError, match="1 households in no county's grid"):
        split_campaign(dataclasses.replace(p, households=hh))


def test_county_plans_meet_every_hard_rule(province):
    rules = default_rules()
    plan = plan_province(province, rules, time_limit=TIME_LIMIT, seed=0)
    for job in split_campaign(province):
        a = plan.assignment[plan.assignment["county_id"] == job.county_id].drop(columns="county_id")
        mv = plan.must_visits[plan.must_visits["county_id"] == job.county_id].drop(columns="county_id")
        assert check_plan(job.campaign, a.reset_index(drop=True), mv.reset_index(drop=True), rules) == []


def test_an_existing_scheduler_is_used_by_its_address(client, province):
    address = client.scheduler.address  # the module's cluster stands in for tcp://HOST:8786
    events = []
    with dask_client(scheduler=address) as other:
        assert other.scheduler.address == address
        plan = plan_province(province, default_rules(), client=other, time_limit=TIME_LIMIT, seed=0,
                             progress=events.append)
    assert plan.ok and events[-1]["done"] == events[-1]["total"] == 4
    assert set(plan.counties["worker"]) <= set(client.scheduler_info()["workers"])


def test_province_schedule_on_the_cluster_equals_counties_scheduled_one_by_one(client, province):
    import datetime as dt

    from geodata.network import NetworkWarning
    from planner.province.schedule import schedule_jobs, schedule_province
    from planner.schedule import check_schedule, load_schedule_rules, schedule

    plan = plan_province(province, default_rules(), time_limit=TIME_LIMIT, seed=0)
    rules = load_schedule_rules()
    opts = {"start": dt.date(2026, 3, 2), "end": dt.date(2026, 3, 20), "time_limit": 5.0, "iterations": 30,
            "seed": 0}
    events = []
    sched = schedule_province(province, plan.assignment, plan.must_visits, rules, client=client,
                              progress=events.append, **opts)
    assert sched.ok, sched.failures
    assert events[-1]["done"] == events[-1]["total"] == 4
    assert set(sched.stops["county_id"]) == {"K1", "K2", "K3", "K4"}
    assert sched.counties["notes"].str.contains("estimated").all()  # no roads: the workers' warnings are kept
    for job in schedule_jobs(province, plan.assignment, plan.must_visits):
        with pytest.warns(NetworkWarning):
            alone = schedule(job.campaign, job.frames["assignment"].drop(columns="county_id"),
                             job.frames["must_visits"].drop(columns="county_id"), rules, workers=1, **opts)
        mine = sched.stops[sched.stops["county_id"] == job.county_id].drop(columns="county_id")
        pd.testing.assert_frame_equal(mine.reset_index(drop=True), alone.stops.reset_index(drop=True))
        assert check_schedule(alone, job.frames["assignment"].drop(columns="county_id"),
                              job.frames["must_visits"].drop(columns="county_id"), rules) == []


def test_previous_plan_keeps_each_county_where_it_was(province):
    rules = default_rules()
    first = plan_province(province, rules, time_limit=TIME_LIMIT, seed=0)
    # a different seed with the first plan as previous: each county stays as it was (stability)
    again = plan_province(province, rules, time_limit=TIME_LIMIT, seed=5, previous=first.assignment)
    grids = lambda p: p.assignment.query("entity_type == 'grid'").set_index("entity_id")["team_id"]  # noqa: E731
    assert (grids(again) == grids(first).reindex(grids(again).index)).all()
    assert again.ok


def test_assign_fixed_grids_go_to_their_team_and_it_takes_nothing_else():
    from planner.assign.synthetic import make_campaign

    c = make_campaign(seed=4)
    village = c.villages["village_id"].iloc[-1]
    grids = c.grids.loc[c.grids["village_id"] == village, "grid_id"].tolist()
    rules = default_rules()
    plan = assign(c, rules, time_limit=2, workers=1, seed=0, lns=False, fixed={g: "CITY01" for g in grids})
    g = plan.assignment.query("entity_type == 'grid'").set_index("entity_id")["team_id"]
    assert set(g[g == "CITY01"].index) == set(grids)
    assert check_plan(c, plan.assignment, plan.must_visits, rules) == []
    with pytest.raises(ValueError, match="unknown grid or team"):
        assign(c, rules, time_limit=1, workers=1, fixed={"NOGRID": "CITY01"})


def test_city_teams_that_span_counties_keep_their_villages_in_the_province_plan(client):
    p = make_province(counties=4, spanning_city_teams=2)
    rules = default_rules()
    plan = plan_province(p, rules, client=client, time_limit=TIME_LIMIT, seed=0)
    assert plan.ok, plan.failures
    grids = plan.assignment.query("entity_type == 'grid'")
    village_of = p.grids.set_index("grid_id")["village_id"]
    for team_id, rows in plan.city_teams.groupby("team_id"):
        mine = grids[grids["team_id"] == team_id]
        assert set(village_of[mine["entity_id"]]) == set(rows["village_id"])
        assert set(mine["county_id"]) == set(rows["county_id"])
    assert len(plan.city_teams) == plan.plan_info["city_villages"] > 0
    summary = plan.teams_summary.set_index("team_id")
    assert set(plan.city_teams["team_id"]) <= set(summary.index)


def test_deterministic_assign_does_not_depend_on_the_clock(monkeypatch):
    """Same seed, same plan on a fast or a loaded machine: a county's plan must not depend on the
    wall clock when deterministic=True (counties run on busy Dask workers)."""
    import types

    from planner.assign import plan as plan_module
    from planner.assign.synthetic import make_campaign

    c = make_campaign(towns=(2, 2), seed=5)
    rules = default_rules()
    a = assign(c, rules, time_limit=3, workers=1, seed=1, deterministic=True)
    clock = {"t": 0.0}

    def slow():  # every reading of the clock 0.7 s later: a heavily loaded machine
        clock["t"] += 0.7
        return clock["t"]

    monkeypatch.setattr(plan_module, "time", types.SimpleNamespace(perf_counter=slow))
    b = assign(c, rules, time_limit=3, workers=1, seed=1, deterministic=True)
    pd.testing.assert_frame_equal(a.assignment, b.assignment)
    pd.testing.assert_frame_equal(a.must_visits, b.must_visits)
