"""``zoufang check``: a plan made elsewhere (drawn by hand in a GIS, edited, older) checked
against the campaign's hard rules and reviewed as zoufang reviews its own plans."""

from __future__ import annotations

import json
import sys

import click


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
    from geodata import load_campaign
    from planner.assign import load_rules
    from planner.assign.review import PlanInputError, check_given_plan, read_given_plan
    from zoufang.commands.assign import write_plan

    rules = load_rules(rules_path)
    camp = load_campaign(campaign)
    try:
        assignment, mv = read_given_plan(plan, camp)
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
