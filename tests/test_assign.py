"""assign(): hard-rule invariants on hand-made, generated and demo campaigns; infeasibility
explained with numbers; same seed → same plan; --previous stability."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.assign import InfeasibleError, assign, check_plan, default_rules, rules_from_dict
from planner.assign.rules import LevelQuota
from planner.assign.synthetic import make_campaign
from planner.assign.units import build_units


def exactly_once(plan, campaign):
    a = plan.assignment
    for etype, frame, idcol in (("grid", campaign.grids, "grid_id"), ("household", campaign.households, "household_id"),
                                ("enterprise", campaign.enterprises, "enterprise_id")):
        ids = a.loc[a["entity_type"] == etype, "entity_id"]
        assert ids.is_unique
        assert set(ids) == set(frame[idcol].astype(str))


def test_small_campaign_plan_meets_every_hard_rule():
    campaign = make_campaign(seed=3)
    rules = default_rules()
    plan = assign(campaign, rules, time_limit=2, workers=1, seed=0, lns=False)
    exactly_once(plan, campaign)
    assert check_plan(campaign, plan.assignment, plan.must_visits, rules) == []
    assert plan.status in ("OPTIMAL", "FEASIBLE")
    info = plan.plan_info
    assert {"status", "objective", "bound", "gap", "wall_time", "seed", "rules"} <= set(info)
    assert {g.name for g in plan.soft_goals} >= {"balance", "compactness", "contiguity"}
    households = plan.assignment.query("entity_type == 'household'")
    assert households["cadre_id"].notna().all()


def test_town_teams_stay_in_their_town_and_city_teams_take_whole_villages():
    campaign = make_campaign(seed=4)
    plan = assign(campaign, default_rules(), time_limit=2, workers=1, seed=0, lns=False)
    grids = plan.assignment.query("entity_type == 'grid'").set_index("entity_id")["team_id"]
    g = campaign.grids.set_index("grid_id")
    town_of_team = campaign.teams.set_index("team_id")["town_id"]
    village_town = campaign.villages.set_index("village_id")["town_id"]
    for gid, team in grids.items():
        home = town_of_team.get(team)
        if isinstance(home, str):
            assert village_town[g.at[gid, "village_id"]] == home
    city = campaign.teams.query("level == 'city'")["team_id"]
    by_village = grids.groupby(g["village_id"].reindex(grids.index).to_numpy()).agg(set)
    for teams in by_village:
        if teams & set(city):
            assert len(teams) == 1


def test_lns_run_meets_every_hard_rule():
    campaign = make_campaign(towns=(2, 2), seed=5)
    rules = default_rules()
    plan = assign(campaign, rules, time_limit=3, workers=2, seed=1, candidates_k=4)
    assert check_plan(campaign, plan.assignment, plan.must_visits, rules) == []


def test_same_seed_gives_the_same_plan():
    campaign = make_campaign(seed=6)
    rules = default_rules()
    a = assign(campaign, rules, time_limit=0.5, workers=2, seed=7, deterministic=True)
    b = assign(campaign, rules, time_limit=0.5, workers=2, seed=7, deterministic=True)
    assert a.assignment.equals(b.assignment)
    assert a.must_visits.equals(b.must_visits)


def test_a_deterministic_search_spends_a_budget_of_cp_sat_clock_not_a_count_of_steps():
    """Deterministic search steps stop on the deterministic seconds CP-SAT reports (plus the
    model building it does not see), not on a step count: small steps proven optimal early leave
    budget for more steps than budget / step limit; and two runs give the same plan."""
    import importlib

    from planner.assign.construct import candidates, construct

    _model = importlib.import_module("planner.assign.model")
    lns = importlib.import_module("planner.assign.lns")
    campaign = make_campaign(towns=(2, 2), seed=5)
    rules = default_rules()
    ua = build_units(campaign, rules)
    cand = candidates(ua, k=6)
    start = construct(ua, rules, cand)
    runs = [lns.improve(_model.ModelData(ua, rules, [c.copy() for c in cand]), start, None, deadline=0.0,
                        workers=2, seed=3, t0=0.0, step_time=1.5, det_budget=3.0) for _ in range(2)]
    (a, _, info_a), (b, _, info_b) = runs
    assert info_a["lns_steps"] > 3.0 / (1.5 / 2)  # more than a count of full-limit steps would give
    assert np.array_equal(a, b) and info_a["lns_steps"] == info_b["lns_steps"]
    assert _model.plan_objective(_model.ModelData(ua, rules, cand), a)[0] <= \
        _model.plan_objective(_model.ModelData(ua, rules, cand), start)[0]


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    towns=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    villages=st.tuples(st.integers(1, 3), st.integers(1, 2)),
    grids=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    hh=st.integers(0, 25),
    city=st.integers(0, 2),
    county=st.integers(0, 2),
    town=st.integers(1, 2),
    seed=st.integers(0, 10_000),
)
def test_generated_campaigns_give_a_valid_plan_or_a_reason(towns, villages, grids, hh, city, county, town, seed):
    campaign = make_campaign(towns=towns, villages=villages, grids=grids, households_per_grid=hh, city_teams=city,
                             county_teams=county, town_teams_per_town=town, seed=seed)
    rules = default_rules()
    try:
        plan = assign(campaign, rules, time_limit=1, workers=1, seed=0, lns=False)
    except InfeasibleError as exc:
        assert exc.conflicts and all(any(ch.isdigit() for ch in c) or "rule" in c for c in exc.conflicts)
        return
    exactly_once(plan, campaign)
    assert check_plan(campaign, plan.assignment, plan.must_visits, rules) == []


# ----------------------------------------------------------------------------- infeasible rules


def test_too_few_senior_cadres_for_weak_villages_is_explained_with_numbers():
    # every village weak, one senior cadre per city/county team only, each senior takes ≤ 2
    campaign = make_campaign(towns=(2, 2), weak_share=1.0, community_share=0.0, seed=8)
    rules = default_rules()
    n_weak = int(campaign.villages["weak"].sum())
    with pytest.raises(InfeasibleError, match=rf"weak_village.*{n_weak} village\(s\) need {n_weak} visits.*only 3 such cadre"):
        assign(campaign, rules, time_limit=1, workers=1, seed=0)


def test_more_city_teams_than_villages_is_explained():
    campaign = make_campaign(towns=(1, 1), villages=(1, 2), city_teams=3, seed=9)
    with pytest.raises(InfeasibleError, match=r"min_villages = 1: 3 city teams need at least 3 villages, but the campaign has only 2"):
        assign(campaign, default_rules(), time_limit=1, workers=1, seed=0)


def test_conflict_found_by_the_solver_names_the_rules():
    # city teams take whole towns (4 villages each) but may hold at most 3 villages and at least 1
    campaign = make_campaign(towns=(2, 1), villages=(2, 2), city_teams=1, seed=10)
    base = default_rules()
    rules = dataclasses.replace(base, units=dataclasses.replace(base.units, city="town"))
    with pytest.raises(InfeasibleError) as exc:
        assign(campaign, rules, time_limit=3, workers=1, seed=0)
    text = "\n".join(exc.value.conflicts)
    assert "[units] city = 'town'" in text
    assert "min_villages = 1" in text and "max_villages = 3" in text


def test_no_team_for_a_town_is_explained():
    campaign = make_campaign(towns=(2, 1), city_teams=0, county_teams=0, seed=11)
    teams = campaign.teams[campaign.teams["town_id"] != "T02"]
    cadres = campaign.cadres[campaign.cadres["team_id"].isin(teams["team_id"])]
    campaign = dataclasses.replace(campaign, teams=teams, cadres=cadres)
    rules = rules_from_dict({"must_visit": []})
    with pytest.raises(InfeasibleError, match=r"16 grid\(s\) in town\(s\) \['T02'\] have no team allowed"):
        assign(campaign, rules, time_limit=1, workers=1, seed=0)


# ----------------------------------------------------------------------------- --previous


def test_removing_a_team_moves_only_its_units_and_their_neighbours():
    campaign = make_campaign(towns=(2, 1), villages=(2, 2), grids=(2, 2), city_teams=0, county_teams=0,
                             town_teams_per_town=3, seed=12)
    rules = rules_from_dict({"must_visit": [], "stability": {"weight_per_household": 50}})
    first = assign(campaign, rules, time_limit=2, workers=1, seed=0, lns=False)
    gone = "T01W2"
    smaller = dataclasses.replace(campaign, teams=campaign.teams[campaign.teams["team_id"] != gone],
                                  cadres=campaign.cadres[campaign.cadres["team_id"] != gone])
    second = assign(smaller, rules, time_limit=2, workers=1, seed=0, lns=False, previous=first.assignment)
    before = first.assignment.query("entity_type == 'grid'").set_index("entity_id")["team_id"]
    after = second.assignment.query("entity_type == 'grid'").set_index("entity_id")["team_id"]
    moved = before.index[(before != after.reindex(before.index)).to_numpy()]
    ua = build_units(campaign, rules)
    idx = {g: i for i, g in enumerate(ua.unit_ids)}
    gone_units = {idx[g] for g in before.index[before == gone]}
    near = set(gone_units)
    for i, j in ua.edges:
        if i in gone_units:
            near.add(int(j))
        if j in gone_units:
            near.add(int(i))
    assert gone_units and set(before[before == gone].index) <= set(moved)
    assert {idx[g] for g in moved} <= near
    stability = next(g for g in second.soft_goals if g.name == "stability")
    assert "moved" in stability.summary


# ----------------------------------------------------------------------------- the demo campaign


@pytest.fixture(scope="module")
def demo_campaign(tmp_path_factory):
    pytest.importorskip("geodata.demo")
    from geodata import load_campaign
    from geodata.demo import build_demo

    path = build_demo(tmp_path_factory.mktemp("demo") / "demo.gpkg")
    return load_campaign(path)


def test_demo_plan_covers_everyone_once_and_meets_the_must_visit_rules(demo_campaign):
    rules = default_rules()
    plan = assign(demo_campaign, rules, time_limit=4, workers=2, seed=0)
    exactly_once(plan, demo_campaign)
    assert check_plan(demo_campaign, plan.assignment, plan.must_visits, rules) == []
    poor = demo_campaign.households["poor"].astype(bool).sum()
    assert (plan.must_visits["rule"] == "poor_household").sum() == 3 * poor
    assert plan.teams_summary["households"].sum() == len(demo_campaign.households)
    assert np.isfinite(plan.teams_summary["load_ratio"]).all()
