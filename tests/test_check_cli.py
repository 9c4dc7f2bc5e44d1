"""``zoufang check``: a plan made elsewhere (here: the grids of a zoufang plan, as a GIS
would hand them back, then edited) checked and reviewed on the demo campaign."""

from __future__ import annotations

import json

import pyogrio
import pytest
from click.testing import CliRunner

from zoufang.cli import main


@pytest.fixture(scope="module")
def demo_plan(tmp_path_factory):
    pytest.importorskip("geodata.demo")
    from geodata import load_campaign
    from geodata.demo import build_demo
    from planner.assign import assign, default_rules

    folder = tmp_path_factory.mktemp("check")
    path = build_demo(folder / "demo.gpkg")
    campaign = load_campaign(path)
    plan = assign(campaign, default_rules(), time_limit=4, workers=2, seed=0)
    return folder, path, campaign, plan


def grids_only(plan, path, **moves):
    g = plan.assignment[plan.assignment["entity_type"] == "grid"][["entity_type", "entity_id", "team_id"]].copy()
    for grid, team in moves.items():
        g.loc[g["entity_id"] == grid, "team_id"] = team
    pyogrio.write_dataframe(g, path, layer="assignment", driver="GPKG")
    return path


def run(*args):
    return CliRunner().invoke(main, ["check", *map(str, args)], catch_exceptions=False)


def test_a_plan_of_grids_is_completed_checked_and_scored_like_zoufangs_own(demo_plan):
    folder, campaign_path, campaign, plan = demo_plan
    out = folder / "checked.gpkg"
    res = run(campaign_path, grids_only(plan, folder / "hand.gpkg"), "-o", out)
    assert res.exit_code == 0, res.output
    assert "completed from the grids' teams" in res.output and "checker: every hard rule holds" in res.output
    assert f"objective {plan.plan_info['objective']:,.0f} by the rules' weights" in res.output
    for g in plan.soft_goals:
        assert f"[{'bent' if g.bent else 'kept'}] {g.name}: {g.summary}" in res.output
    a = pyogrio.read_dataframe(out, layer="assignment", read_geometry=False)
    assert (a["entity_type"] == "household").sum() == len(campaign.households)
    assert a.loc[a["entity_type"] == "household", "cadre_id"].notna().all()
    ts = pyogrio.read_dataframe(out, layer="teams_summary", read_geometry=False)
    assert list(ts["pieces"]) == list(plan.teams_summary["pieces"])
    assert {"soft_goals", "must_visits", "plan_info"} <= {n for n, _ in pyogrio.list_layers(out)}


def test_a_hand_edit_that_splits_a_whole_village_team_breaks_a_hard_rule(demo_plan):
    folder, campaign_path, campaign, plan = demo_plan
    a = plan.assignment
    s = plan.teams_summary.set_index("team_id")
    city = s.index[(s["level"] == "city") & (s["units"] > 1)][0]
    grids = a[(a["entity_type"] == "grid") & (a["team_id"] == city)]["entity_id"].tolist()
    village = campaign.grids.set_index("grid_id").loc[grids, "village_id"]
    grid = next(g for g in grids if (village == village[g]).sum() > 1)  # a grid of a village of several grids
    other = s.index[s["level"] == "town"][0]
    res = run(campaign_path, grids_only(plan, folder / "split.gpkg", **{grid: other}))
    assert res.exit_code == 1, res.output
    assert "hard rule(s) broken" in res.output and "whole villages" in res.output


def test_json_output(demo_plan):
    folder, campaign_path, _campaign, plan = demo_plan
    res = run(campaign_path, grids_only(plan, folder / "j.gpkg"), "--json")
    assert res.exit_code == 0
    got = json.loads(res.output)
    assert got["violations"] == [] and got["completed"] is True
    assert got["objective"] == plan.plan_info["objective"]
    assert {g["name"] for g in got["soft_goals"]} >= {"balance", "compactness", "contiguity"}


def test_a_plan_that_is_not_one_of_this_campaign_is_refused_with_what_to_fix(demo_plan, tmp_path):
    folder, campaign_path, _campaign, plan = demo_plan
    g = plan.assignment[plan.assignment["entity_type"] == "grid"][["entity_type", "entity_id", "team_id"]]
    bad = g.iloc[1:].copy()  # the first grid left out
    bad.loc[bad.index[0], "entity_id"] = "G-NOWHERE"
    bad.loc[bad.index[1], "team_id"] = "TM-NONE"
    pyogrio.write_dataframe(bad, tmp_path / "bad.gpkg", layer="assignment", driver="GPKG")
    res = CliRunner().invoke(main, ["check", str(campaign_path), str(tmp_path / "bad.gpkg")])
    assert res.exit_code == 2
    out = res.output
    assert "G-NOWHERE" in out and str(g.iloc[0]["entity_id"]) in out and "TM-NONE" in out and "Traceback" not in out
    pyogrio.write_dataframe(g.rename(columns={"team_id": "team"}), tmp_path / "cols.gpkg", layer="assignment",
                            driver="GPKG")
    res = CliRunner().invoke(main, ["check", str(campaign_path), str(tmp_path / "cols.gpkg")])
    assert res.exit_code == 2 and "team_id" in res.output
    pyogrio.write_dataframe(g, tmp_path / "other.gpkg", layer="territories", driver="GPKG")
    res = CliRunner().invoke(main, ["check", str(campaign_path), str(tmp_path / "other.gpkg")])
    assert res.exit_code == 2 and "no assignment layer" in res.output and "territories" in res.output


def test_teams_without_a_base_are_measured_from_the_centre_of_their_territory(tmp_path):
    """Bases left empty: the planner places them; a check measures each such team from the point
    of least total distance to its territory, so the objective can only be lower than the one
    the planner reported for its own placement (every other term the same)."""
    from planner.assign import assign, default_rules
    from planner.assign.synthetic import make_campaign

    campaign = make_campaign(base_share=0.0, seed=5)
    for name in ("towns", "villages", "grids", "households", "enterprises", "teams", "cadres"):
        if campaign.layer(name) is not None:
            pyogrio.write_dataframe(campaign.layer(name), tmp_path / "c.gpkg", layer=name)
    plan = assign(campaign, default_rules(), time_limit=2, workers=1, seed=0)
    res = run(tmp_path / "c.gpkg", grids_only(plan, tmp_path / "p.gpkg"), "--json")
    assert res.exit_code == 0, res.output
    got = json.loads(res.output)
    reported = plan.plan_info["soft_penalties_final"]
    assert got["objective_terms"]["compactness"] <= reported["compactness"]
    assert {k: v for k, v in got["objective_terms"].items() if k != "compactness"} == {
        k: v for k, v in reported.items() if k != "compactness"}
    text = run(tmp_path / "c.gpkg", tmp_path / "p.gpkg").output
    assert f"{len(campaign.teams)} team(s) without a base measured from the centre of their territory" in text


def test_an_office_table_of_grids_and_team_names_is_checked_and_a_grid_given_twice_is_named(demo_plan, tmp_path):
    """The seeds' offices plan in spreadsheets: 网格编码 → 工作组 (the team's name), saved by Excel
    or as a GB18030 CSV. A grid on two rows (two teams at the same door) is named with both."""
    import pandas as pd

    _folder, campaign_path, campaign, plan = demo_plan
    names = dict(zip(campaign.teams["team_id"].astype(str), campaign.teams["name"].astype(str)))
    g = plan.assignment[plan.assignment["entity_type"] == "grid"]
    table = pd.DataFrame({"网格编码": g["entity_id"].astype(str), "工作组": g["team_id"].astype(str).map(names)})
    table.to_csv(tmp_path / "plan.csv", index=False, encoding="gb18030")
    res = run(campaign_path, tmp_path / "plan.csv")
    assert res.exit_code == 0, res.output
    assert f"objective {plan.plan_info['objective']:,.0f}" in res.output
    other = next(t for t in names if t != g.iloc[0]["team_id"])
    twice = pd.concat([table, table.iloc[[0]].assign(工作组=names[other])])
    twice.to_excel(tmp_path / "plan.xlsx", index=False)
    res = CliRunner().invoke(main, ["check", str(campaign_path), str(tmp_path / "plan.xlsx")])
    assert res.exit_code == 2
    pair = ", ".join(sorted([g.iloc[0]["team_id"], other]))
    assert f"{g.iloc[0]['entity_id']} ({pair})" in res.output
    pd.DataFrame({"地区": ["x"]}).to_csv(tmp_path / "wrong.csv", index=False)
    res = CliRunner().invoke(main, ["check", str(campaign_path), str(tmp_path / "wrong.csv")])
    assert res.exit_code == 2 and "网格编码" in res.output and "地区" in res.output
