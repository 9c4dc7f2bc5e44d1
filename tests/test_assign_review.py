"""The soft goals of any plan (planner.assign.review): the reasons a plan file carries per
team, and the review of a plan given only as its assignment table (an older file, a hand
edit), checked on the demo campaign (108 grids, 15,971 households)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from planner.assign import assign, default_rules
from planner.assign.review import NOTE_COLUMNS, review_plan, soft_goals_frame, workload_max_mean


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    pytest.importorskip("geodata.demo")
    from geodata import load_campaign
    from geodata.demo import build_demo

    campaign = load_campaign(build_demo(tmp_path_factory.mktemp("demo") / "demo.gpkg"))
    plan = assign(campaign, default_rules(), time_limit=4, workers=2, seed=0)
    return campaign, plan


def test_each_team_that_bends_a_goal_carries_its_reason_and_no_other_does(demo):
    _campaign, plan = demo
    s = plan.teams_summary
    tol = default_rules().balance.tolerance
    outside = (s["cadres"] > 0) & ((s["load_ratio"] > 1 + tol + 1e-9) | (s["load_ratio"] < 1 - tol - 1e-9))
    assert (s["balance_note"].notna() == outside).all() and (s["balance_reason"].notna() == outside).all()
    split = s["pieces"] > 1
    assert split.any()  # the demo's Kotka islands lend teams at least
    assert (s["contiguity_note"].notna() == split).all() and (s["contiguity_reason"].notna() == split).all()
    kinds = {"map_parts", "rules_force", "no_set_found", "objective_choice", "whole_neighbours", "balance_band",
             "own_town", "traded"}
    assert set(s.loc[split, "contiguity_reason"]) <= kinds
    assert all(k.split(":")[0] in {"handover_missed", "isolated", "no_single_handover"}
               for k in s.loc[outside, "balance_reason"])
    # the soft goals table of the plan file: one row per goal, one per team bending it, as printed
    goals = soft_goals_frame(plan.soft_goals)
    contiguity = goals[goals["goal"] == "contiguity"]
    assert len(contiguity) == 1 + int(split.sum())
    for r in s[split].itertuples():
        assert any(d.startswith(f"team {r.team_id}: {r.pieces} pieces — {r.contiguity_note}")
                   for d in contiguity["detail"].dropna())


def test_reviewing_a_plan_from_its_assignment_gives_what_assign_reported(demo):
    campaign, plan = demo
    summary, goals = review_plan(campaign, plan.assignment, plan.must_visits, default_rules())
    cols = ["team_id", "units", "households", "enterprises", "hours", "target_hours", "load_ratio", "pieces",
            "must_visits", "joint_must_visits", *NOTE_COLUMNS]
    pd.testing.assert_frame_equal(summary[cols].reset_index(drop=True), plan.teams_summary[cols].reset_index(drop=True))
    assert [(g.name, g.bent, g.summary, g.details) for g in goals] == [
        (g.name, g.bent, g.summary, g.details) for g in plan.soft_goals]


def test_a_hand_edit_is_reviewed_on_its_own_territories(demo):
    campaign, plan = demo
    a = plan.assignment.copy()
    grids = a[a["entity_type"] == "grid"]
    # a town team's grid that touches another town team: hand it over
    s = plan.teams_summary.set_index("team_id")
    town = set(s.index[s["level"] == "town"])
    from planner.assign.units import build_units

    ua = build_units(campaign, default_rules())
    team_of = dict(zip(grids["entity_id"].astype(str), grids["team_id"].astype(str)))
    unit_team = np.array([team_of[str(g)] for g in ua.unit_ids])
    moves = [(int(i), int(j)) for i, j in ua.edges if unit_team[i] != unit_team[j]
             and unit_team[i] in town and unit_team[j] in town]
    i, j = moves[0]
    grid, giver, taker = str(ua.unit_ids[i]), unit_team[i], unit_team[j]
    rows = (a["entity_type"] == "grid") & (a["entity_id"].astype(str) == grid)
    a.loc[rows, "team_id"] = taker
    summary, goals = review_plan(campaign, a, plan.must_visits, default_rules())
    got = summary.set_index("team_id")
    minutes = float(ua.workload[i]) / 60
    assert got.loc[giver, "hours"] == pytest.approx(s.loc[giver, "hours"] - minutes, abs=0.1)
    assert got.loc[taker, "hours"] == pytest.approx(s.loc[taker, "hours"] + minutes, abs=0.1)
    others = [t for t in s.index if t not in (giver, taker)]
    pd.testing.assert_frame_equal(got.loc[others, ["hours", "load_ratio", "pieces"]],
                                  s.loc[others, ["hours", "load_ratio", "pieces"]])
    # the giver's pieces, counted here on the grids' adjacency without the planner's code
    import networkx as nx

    g = nx.Graph()
    mine = {k for k in range(ua.n_units) if unit_team[k] == giver and k != i}
    g.add_nodes_from(mine)
    g.add_edges_from((int(p), int(q)) for p, q in ua.edges if p in mine and q in mine)
    assert got.loc[giver, "pieces"] == nx.number_connected_components(g)
    assert (got["contiguity_note"].notna() == (got["pieces"] > 1)).all()


def test_a_plan_that_leaves_a_grid_out_is_refused_with_the_grid_named(demo):
    campaign, plan = demo
    a = plan.assignment
    first = a[a["entity_type"] == "grid"].iloc[0]["entity_id"]
    with pytest.raises(ValueError, match=str(first)):
        review_plan(campaign, a[a["entity_id"] != first], plan.must_visits, default_rules())


def test_a_joint_must_visit_is_forced_only_when_the_responsible_team_has_no_cadre_the_rule_asks_for():
    from planner.assign.review import joint_breakdown

    rules = default_rules()
    cadres = pd.DataFrame({"cadre_id": ["a1", "a2", "b1", "b2", "c1"], "team_id": ["A", "A", "B", "B", "C"],
                           "level": ["town", "town", "city", "town", "county"],
                           "rank": ["staff", "section", "deputy_division", "staff", "division"]})
    mv = pd.DataFrame([
        # a poor household of team A: its city and county visits can only be by other teams,
        # its town visit could have been A's own (a cap's doing when it is not)
        ("poor_household", "H1", "b1", "B", "A", True), ("poor_household", "H1", "c1", "C", "A", True),
        ("poor_household", "H1", "a1", "A", "A", False),
        ("poor_household", "H2", "b1", "B", "A", True), ("poor_household", "H2", "c1", "C", "A", True),
        ("poor_household", "H2", "b2", "B", "A", True),
        # listed enterprises: A has nobody of rank ≥ deputy_division, B has
        ("listed_enterprise", "E1", "b1", "B", "A", True), ("listed_enterprise", "E2", "c1", "C", "B", True),
    ], columns=["rule", "entity_id", "cadre_id", "team_id", "responsible_team_id", "joint"])
    got = {r["rule"]: r for r in joint_breakdown(cadres, rules, mv)}
    assert (got["poor_household"]["total"], got["poor_household"]["joint"], got["poor_household"]["forced"]) == (6, 5, 4)
    assert (got["listed_enterprise"]["joint"], got["listed_enterprise"]["forced"]) == (2, 1)
    assert got["weak_village"]["joint"] == 0


def test_on_the_demo_every_joint_must_visit_is_explained(demo):
    _campaign, plan = demo
    goal = next(g for g in plan.soft_goals if g.name == "must_visit_own_team")
    mv = plan.must_visits
    joint = int(mv["joint"].sum())
    assert joint > 0 and goal.summary.startswith(f"{joint} of {len(mv)} must-visits are joint")
    poor = int((mv["rule"] == "poor_household").sum())
    # a poor household needs a cadre of each of three levels; a team's cadres share one level
    assert f"poor_household: {2 * poor // 3} of {poor} joint; {2 * poor // 3} where" in " | ".join(goal.details)


def test_workload_max_mean_is_against_the_mean_of_all_cadres_not_of_teams():
    # a 3-cadre team at 0.90 of its share, two 10-cadre teams at 1.04 and the rest: per cadre
    # 9.0, 10.4 and x h; the mean over all cadres is the total over the cadres (= the share's
    # basis), so the largest load / share (1.04) is max/mean; a mean over teams would weigh the
    # small team like the big ones and give more
    s = pd.DataFrame({"team_id": ["A", "B", "C", "D"], "cadres": [3, 10, 10, 0],
                      "hours": [27.0, 104.0, 0.0, 0.0]})
    total = 10.0 * 23  # every cadre's share: 10 h
    s.loc[2, "hours"] = total - 27.0 - 104.0  # C: 99 h
    assert workload_max_mean(s) == pytest.approx(10.4 / 10.0)
    per_team = s["hours"][:3] / s["cadres"][:3]
    assert per_team.max() / per_team.mean() > 1.05  # what a mean over teams would report
    assert workload_max_mean(s.assign(cadres=0)) == 0.0  # no cadres: nothing to compare
