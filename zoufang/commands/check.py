"""``zoufang check``: a plan made elsewhere (drawn by hand in a GIS, edited, older) checked
against the campaign's hard rules and reviewed as zoufang reviews its own plans."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

#: headers of the grid and team columns in an office's table (normalised: no spaces, _ - or brackets)
GRID_HEADERS = ("gridid", "grid", "entityid", "网格", "网格编码", "网格编号", "网格号", "网格id", "网格代码")
TEAM_HEADERS = ("teamid", "team", "工作组", "工作组编码", "工作组编号", "工作组id", "工作组名称", "包干工作组", "责任工作组")


def _grid_table(path, campaign):
    """A CSV or Excel table of grid → team (ids, or the teams' names as in the teams layer) as an
    assignment of grids; exits 2 naming the columns found when it has no grid or team column."""
    import pandas as pd

    from geodata.importers import norm_header, read_table

    frame = read_table(Path(path))
    cols = {norm_header(c): c for c in frame.columns}
    grid = next((cols[h] for h in GRID_HEADERS if h in cols), None)
    team = next((cols[h] for h in TEAM_HEADERS if h in cols), None)
    if grid is None or team is None:
        click.secho(f"error: {path}: needs a grid column ({' / '.join(['grid_id', '网格编码'])}) and a team column "
                    f"({' / '.join(['team_id', '工作组编码', '工作组'])}); columns found: "
                    f"{', '.join(map(str, frame.columns)) or 'none'}", fg="red", err=True)
        sys.exit(2)
    teams = campaign.teams
    by_name = dict(zip(teams["name"].astype(str).str.strip(), teams["team_id"].astype(str))) if "name" in teams else {}
    ids = set(teams["team_id"].astype(str))
    value = frame[team].astype(str).str.strip()
    value = value.where(value.isin(ids), value.map(by_name).fillna(value))  # a team's name stands for its id
    return pd.DataFrame({"entity_type": "grid", "entity_id": frame[grid].astype(str).str.strip(), "team_id": value})


@click.command("check")
@click.argument("campaign", type=click.Path(exists=True, dir_okay=False))
@click.argument("plan", type=click.Path(exists=True, dir_okay=False))
@click.option("--rules", "rules_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Campaign rules (TOML); defaults: planner/rules_default.toml.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write the checked plan here, completed (cadres, must-visits) and with its review "
                   "(teams_summary with the reasons, soft_goals, plan_info).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def command(campaign, plan, rules_path, output, as_json):
    """Check PLAN (a GeoPackage with an `assignment` layer, or a CSV / Excel table of grid →
    team) against CAMPAIGN's hard rules and report its soft goals, with each team's reasons,
    and its objective by the rules' weights.

    A plan of grids only (entity_type = grid, entity_id, team_id: e.g. territories drawn by
    hand in QGIS; or an office's table with columns 网格编码 and 工作组编码 / 工作组, the team's
    id or its name) is completed first: every household and enterprise goes to its grid's team
    and one of its cadres, and the must-visit cadres are chosen, as `zoufang assign` does.
    The objective can be compared with that of any other plan checked the same way, e.g. a
    plan of `zoufang assign` on the same campaign and rules (lower is better). Exits 1 when a
    hard rule breaks, 2 when PLAN cannot be read as a plan of CAMPAIGN.
    """
    import pyogrio

    from geodata import load_campaign
    from planner.assign import load_rules
    from planner.assign.review import PlanInputError, check_given_plan
    from zoufang.commands.assign import write_plan

    rules = load_rules(rules_path)
    camp = load_campaign(campaign)
    if Path(plan).suffix.lower() in (".csv", ".xlsx", ".xlsm", ".xls"):  # an office's table: grid → team
        assignment, mv = _grid_table(plan, camp), None
    else:
        layers = {name for name, _ in pyogrio.list_layers(plan)}
        if "assignment" not in layers:
            click.secho(f"error: {plan} has no assignment layer (a plan needs one row per grid: entity_type = grid, "
                        f"entity_id, team_id); layers found: {', '.join(sorted(layers)) or 'none'}", fg="red", err=True)
            sys.exit(2)
        assignment = pyogrio.read_dataframe(plan, layer="assignment", read_geometry=False)
        mv = pyogrio.read_dataframe(plan, layer="must_visits", read_geometry=False) if "must_visits" in layers else None
    try:
        checked, violations, completed = check_given_plan(camp, assignment, mv, rules)
    except PlanInputError as exc:
        click.secho(f"error: {plan}: {exc}", fg="red", err=True)
        sys.exit(2)
    info = checked.plan_info
    if output:
        write_plan(checked, output)
    if as_json:
        click.echo(json.dumps({
            "plan": str(plan), "completed": completed, "violations": violations, "objective": info["objective"],
            "objective_terms": info["soft_penalties_final"], "output": output,
            "soft_goals": [{"name": g.name, "bent": g.bent, "summary": g.summary, "details": list(g.details)}
                           for g in checked.soft_goals]}, ensure_ascii=False, indent=2, default=str))
    else:
        a = checked.assignment
        n = {k: int((a["entity_type"] == k).sum()) for k in ("grid", "household", "enterprise")}
        click.echo(f"{plan}: {n['grid']} grids, {n['household']:,} households, {n['enterprise']:,} enterprises, "
                   f"{len(checked.must_visits):,} must-visits"
                   + (" (households, enterprises and must-visit cadres completed from the grids' teams)"
                      if completed else ""))
        if violations:
            click.secho(f"  {len(violations)} hard rule(s) broken:", fg="red")
            for v in violations:
                click.secho(f"    - {v}", fg="red")
        else:
            click.echo("  checker: every hard rule holds")
        terms = ", ".join(f"{k} {v / info['objective_scale']:,.0f}" for k, v in info["soft_penalties_final"].items())
        click.echo(f"  objective {info['objective']:,.0f} by the rules' weights ({terms}; in the rules' units): "
                   f"lower is better; compare with other plans checked the same way"
                   + (f" ({info['teams_without_base']} team(s) without a base measured from the centre of their "
                      f"territory)" if info["teams_without_base"] else ""))
        for g in checked.soft_goals:
            click.echo(f"  [{'bent' if g.bent else 'kept'}] {g.name}: {g.summary}")
            for d in g.details[:5]:
                click.echo(f"      {d}")
            if len(g.details) > 5:
                click.echo(f"      ... and {len(g.details) - 5} more" + (" (every one in the output's soft_goals layer)"
                                                                       if output else " (-o writes them all)"))
        if output:
            click.echo(f"checked plan written to {output}")
    sys.exit(1 if violations else 0)
