"""`zoufang assign`: plan file layers, summary, --json, --previous, exit 1 on infeasible rules."""

from __future__ import annotations

import json

import pyogrio
import pytest
from click.testing import CliRunner

from planner.assign.synthetic import make_campaign
from zoufang.cli import main
from zoufang.commands import assign as assign_cmd


@pytest.fixture
def campaign_file(tmp_path, monkeypatch):
    """A campaign path whose loading is replaced by a synthetic campaign (keeps the test fast)."""
    campaigns = {"ok": make_campaign(seed=21), "weak": make_campaign(towns=(2, 2), weak_share=1.0,
                                                                      community_share=0.0, seed=22)}
    monkeypatch.setattr(assign_cmd, "_load_campaign", lambda path: campaigns[path.rsplit("/", 1)[-1].split(".")[0]])
    for name in campaigns:
        (tmp_path / f"{name}.gpkg").write_bytes(b"")
    return tmp_path


def run(*args):
    return CliRunner().invoke(main, ["assign", *map(str, args)], catch_exceptions=False)


def test_assign_writes_the_plan_layers_and_a_summary_that_the_file_keeps(campaign_file, tmp_path):
    out = tmp_path / "plan.gpkg"
    res = run(campaign_file / "ok.gpkg", "-o", out, "--time-limit", 2, "--workers", 1, "--seed", 3)
    assert res.exit_code == 0, res.output
    assert "checker: every hard rule holds" in res.output
    assert "[bent]" in res.output or "[kept]" in res.output
    layers = {name for name, _ in pyogrio.list_layers(out)}
    assert layers == {"assignment", "must_visits", "teams_summary", "plan_info", "soft_goals"}
    # the soft goals as printed, and each team's reason where it bends one
    goals = pyogrio.read_dataframe(out, layer="soft_goals", read_geometry=False)
    heads = goals[goals["detail"].isna()]
    assert set(heads["goal"]) >= {"balance", "compactness", "contiguity", "must_visit_own_team"}
    for g in heads.itertuples():
        assert f"[{'bent' if g.bent else 'kept'}] {g.goal}: {g.summary}" in res.output
    ts = pyogrio.read_dataframe(out, layer="teams_summary", read_geometry=False)
    split = ts["pieces"] > 1
    assert (ts["contiguity_note"].notna() == split).all() and (ts["contiguity_reason"].notna() == split).all()
    outside = (ts["cadres"] > 0) & ((ts["load_ratio"] > 1.05 + 1e-9) | (ts["load_ratio"] < 0.95 - 1e-9))
    assert (ts["balance_note"].notna() == outside).all()
    assert len(goals[goals["goal"] == "contiguity"]) == 1 + int(split.sum())
    a = pyogrio.read_dataframe(out, layer="assignment", read_geometry=False)
    assert set(a["entity_type"]) == {"grid", "household", "enterprise"}
    assert {"entity_type", "entity_id", "team_id", "cadre_id"} <= set(a.columns)
    mv = pyogrio.read_dataframe(out, layer="must_visits", read_geometry=False)
    assert {"rule", "entity_type", "entity_id", "cadre_id", "team_id"} <= set(mv.columns)
    info = pyogrio.read_dataframe(out, layer="plan_info", read_geometry=False).set_index("key")["value"]
    assert info["seed"] == "3" and info["status"] in ("OPTIMAL", "FEASIBLE")


def test_deterministic_assign_writes_the_same_plan_twice(campaign_file, tmp_path):
    plans = []
    for name in ("a", "b"):
        out = tmp_path / f"{name}.gpkg"
        res = run(campaign_file / "ok.gpkg", "-o", out, "--time-limit", 1, "--seed", 4, "--deterministic")
        assert res.exit_code == 0, res.output
        info = pyogrio.read_dataframe(out, layer="plan_info", read_geometry=False).set_index("key")["value"]
        assert info["deterministic"].lower() == "true"
        plans.append(pyogrio.read_dataframe(out, layer="assignment", read_geometry=False))
    assert plans[0].equals(plans[1])


def test_assign_json_and_previous(campaign_file, tmp_path):
    first = tmp_path / "first.gpkg"
    assert run(campaign_file / "ok.gpkg", "-o", first, "--time-limit", 1, "--workers", 1).exit_code == 0
    res = run(campaign_file / "ok.gpkg", "-o", tmp_path / "second.gpkg", "--time-limit", 2, "--workers", 1,
              "--previous", first, "--json")
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output)
    assert summary["checker"] == "ok"
    names = {g["name"] for g in summary["soft_goals"]}
    assert "stability" in names


def test_infeasible_rules_exit_1_with_the_numbers(campaign_file, tmp_path):
    res = CliRunner().invoke(main, ["assign", str(campaign_file / "weak.gpkg"), "-o", str(tmp_path / "p.gpkg"),
                                    "--time-limit", "1"])
    assert res.exit_code == 1
    assert "weak_village" in res.output and "only 3 such cadre(s)" in res.output
    assert not (tmp_path / "p.gpkg").exists()


def test_infeasible_rules_as_json(campaign_file, tmp_path):
    res = CliRunner().invoke(main, ["assign", str(campaign_file / "weak.gpkg"), "-o", str(tmp_path / "p.gpkg"),
                                    "--json"])
    assert res.exit_code == 1
    assert json.loads(res.output)["status"] == "INFEASIBLE"


def test_bad_rules_file_exits_1(campaign_file, tmp_path):
    bad = tmp_path / "rules.toml"
    bad.write_text("[balance]\ntolerance = 3\n")
    res = CliRunner().invoke(main, ["assign", str(campaign_file / "ok.gpkg"), "-o", str(tmp_path / "p.gpkg"),
                                    "--rules", str(bad)])
    assert res.exit_code == 1
    assert "tolerance = 3" in res.output
