"""`zoufang demo`, the README's first command, end to end (without serving)."""

import pyogrio
from click.testing import CliRunner

from zoufang.cli import main


def test_demo_builds_plans_and_schedules_the_campaign(tmp_path):
    out = tmp_path / "demo-out"
    result = CliRunner().invoke(main, ["demo", "--out", str(out), "--no-serve", "--time-limit", "5", "--weeks", "3"])
    assert result.exit_code == 0, result.output
    assert "checker: every hard rule holds" in result.output
    assert "checker: every schedule rule holds" in result.output
    layers = {name for name, _ in pyogrio.list_layers(out / "plan.gpkg")}
    assert {"assignment", "must_visits", "teams_summary", "plan_info", "stops", "days", "shortfall"} <= layers
    households = pyogrio.read_dataframe(out / "demo.gpkg", layer="households", read_geometry=False)
    assignment = pyogrio.read_dataframe(out / "plan.gpkg", layer="assignment", read_geometry=False)
    given = assignment.loc[assignment["entity_type"] == "household", "entity_id"]
    assert len(households) >= 10_000
    assert sorted(given) == sorted(households["household_id"])  # every household exactly once
    stops = pyogrio.read_dataframe(out / "plan.gpkg", layer="stops", read_geometry=False)
    shortfall = pyogrio.read_dataframe(out / "plan.gpkg", layer="shortfall", read_geometry=False)
    planned = set(stops.loc[stops["entity_type"] == "household", "entity_id"])
    missing = set(shortfall.loc[shortfall["entity_type"] == "household", "entity_id"])
    assert planned | missing == set(households["household_id"])  # none dropped silently
