"""``zoufang schedule-province``: each county's schedule of a province plan, as Dask tasks."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from zoufang.commands.province import _CountyBar
from zoufang.commands.schedule import _date


@click.command("schedule-province")
@click.argument("campaign", type=click.Path(exists=True, dir_okay=True))
@click.argument("plan_path", metavar="PLAN.gpkg", type=click.Path(exists=True, dir_okay=False))
@click.option("--start", required=True, callback=_date, help="First day of the campaign (YYYY-MM-DD).")
@click.option("--end", required=True, callback=_date, help="Deadline: last day of visits (YYYY-MM-DD).")
@click.option("--rules", "rules_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Campaign rules (TOML) with a [schedule] section; defaults: planner/rules_default.toml.")
@click.option("--time-limit", type=float, default=2.0, show_default=True,
              help="Route search limit per cadre-day (s); keep it generous: --iterations stops the search.")
@click.option("--iterations", type=int, default=300, show_default=True,
              help="Route search iterations per cadre-day (same seed and iterations, same schedule).")
@click.option("--workers", type=int, default=2, show_default=True, help="Processes of the local Dask cluster.")
@click.option("--scheduler", default=None, help="An existing Dask scheduler, e.g. tcp://HOST:8786.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def command(campaign, plan_path, start, end, rules_path, time_limit, iterations, workers, scheduler, seed, as_json):
    """Schedule every county of a province plan (from `zoufang plan-province`) between --start and --end.

    Each county is scheduled as its own problem, as a Dask task. Adds the
    layers stops, days, shortfall (county_id on every row), schedule_info and
    schedule_counties (status and reason of each county) to PLAN.gpkg. Exits 1
    when some county failed (named, with its reason).
    """
    import pyogrio

    from planner.province import dask_client, load_province, schedule_province
    from planner.schedule import load_schedule_rules
    from zoufang.commands.schedule import read_plan, write_schedule

    rules = load_schedule_rules(rules_path)
    camp, failed = load_province(campaign)
    assignment, must = read_plan(plan_path)
    if "county_id" not in assignment.columns:
        raise click.UsageError(f"{plan_path} is not a province plan (no county_id): run `zoufang plan-province`")
    bar = _CountyBar(enabled=not as_json and sys.stderr.isatty(), quiet=as_json)
    try:
        with dask_client(workers=workers, scheduler=scheduler) as client:
            sched = schedule_province(camp, assignment, must, rules, start=start, end=end, client=client,
                                      time_limit=time_limit, iterations=iterations or None, seed=seed, progress=bar)
    finally:
        bar.close()
    sched.info["campaign"] = str(Path(campaign).resolve())
    write_schedule(sched, plan_path)
    counties = sched.counties.copy()
    for col in counties.columns:
        if counties[col].dtype == object:
            counties[col] = counties[col].astype(object).where(counties[col].notna(), None)
    pyogrio.write_dataframe(counties, plan_path, layer="schedule_counties", driver="GPKG")
    failures = list(failed) + list(sched.failures)
    if as_json:
        click.echo(json.dumps({"status": sched.info["status"] if not failed else "PARTIAL",
                               "counties": sched.info["counties"], "stops": len(sched.stops),
                               "shortfall": len(sched.shortfall),
                               "failures": [{"county_id": f.county_id, "name": f.name, "kind": f.kind,
                                             "reason": f.reason} for f in failures]}, ensure_ascii=False, indent=2))
    else:
        click.echo(f"schedule written to {plan_path} (layers stops, days, shortfall, schedule_info, schedule_counties)")
        click.echo(f"  {sched.info['counties'] - len(sched.failures)} of {sched.info['counties']} counties scheduled: "
                   f"{len(sched.stops):,} stops, {len(sched.shortfall):,} visits not before the deadline; "
                   f"{sched.info['wall_time']:.1f} s")
        for f in failures:
            click.secho(f"  {f}", fg="red", err=True)
    sys.exit(1 if failures else 0)
