"""``zoufang schedule``: every cadre's days to the deadline, each day's route optimised (走访日程)."""

from __future__ import annotations

import datetime as dt
import json
import sys
import warnings
from pathlib import Path

import click

SCHEDULE_LAYERS = ("stops", "days", "shortfall", "schedule_info")


def read_plan(path):
    """The ``assignment`` and ``must_visits`` tables of a plan file."""
    import pyogrio

    from geodata.errors import CampaignReadError

    try:
        assignment = pyogrio.read_dataframe(path, layer="assignment", read_geometry=False)
    except Exception as exc:  # pyogrio raises several kinds for missing files / layers
        raise CampaignReadError(f"cannot read the plan {path}: {exc}") from None
    try:
        must = pyogrio.read_dataframe(path, layer="must_visits", read_geometry=False)
    except Exception:
        must = None
    return assignment, must


def write_schedule(plan, path) -> None:
    """Add (or replace) the schedule layers of the plan file; other layers are kept."""
    import pyogrio

    frames = {"stops": plan.stops, "days": plan.days, "shortfall": plan.shortfall, "schedule_info": plan.info_frame()}
    for layer, frame in frames.items():
        frame = frame.copy()
        for col in frame.columns:
            if col != "geometry" and (frame[col].dtype == object or str(frame[col].dtype).startswith("str")):
                frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
        pyogrio.write_dataframe(frame, path, layer=layer, driver="GPKG")


def _date(ctx, param, value):
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date YYYY-MM-DD") from None


@click.command("schedule")
@click.argument("campaign", type=click.Path(exists=True, dir_okay=True))
@click.argument("plan_path", metavar="PLAN.gpkg", type=click.Path(exists=True, dir_okay=False))
@click.option("--start", default=None, callback=_date,
              help="First day of the campaign (YYYY-MM-DD); not needed with --outcomes.")
@click.option("--end", required=True, callback=_date, help="Deadline: last day of visits (YYYY-MM-DD).")
@click.option("--rules", "rules_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Campaign rules (TOML) with a [schedule] section; defaults: planner/rules_default.toml.")
@click.option("--time-limit", type=float, default=0.5, show_default=True, help="Route search limit per cadre-day (s).")
@click.option("--iterations", type=int, default=300, show_default=True,
              help="Route search iterations per cadre-day (0: time limit only; iterations make runs repeatable).")
@click.option("--workers", type=int, default=2, show_default=True, help="Worker processes routing days in parallel.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed (same seed, same schedule).")
@click.option("--outcomes", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Re-plan: visit outcomes so far (CSV or Excel: entity_type, entity_id, cadre_id, outcome = "
                   "visited | not_home | refused | phone). Stops up to --today stay; the rest is planned again.")
@click.option("--today", default=None, callback=_date,
              help="With --outcomes: the last day whose routes stay as they are (default: today's date).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def command(campaign, plan_path, start, end, rules_path, time_limit, iterations, workers, seed, outcomes, today,
            as_json):
    """Schedule every visit of PLAN.gpkg between --start and --end and route each cadre's day.

    Adds the layers stops, days, shortfall and schedule_info to PLAN.gpkg and
    prints the summary: cadre-days, utilisation, the last visit's date and what
    could not fit before the deadline (never dropped silently). Exits 3 when
    the independent checker finds a broken rule.
    """
    from geodata import load_campaign
    from geodata.network import NetworkWarning
    from planner.schedule import check_schedule, load_schedule_rules, schedule

    rules = load_schedule_rules(rules_path)
    camp = load_campaign(campaign)
    assignment, must = read_plan(plan_path)
    bar = _Progress(enabled=not as_json and sys.stderr.isatty())
    if not bar.enabled and not as_json:
        click.echo(f"scheduling {start or 'after ' + str(today or dt.date.today())} .. {end} ({workers} worker(s), "
                   f"seed {seed}) ...", err=True)
    opts = {"time_limit": time_limit, "iterations": iterations or None, "seed": seed, "workers": workers,
            "progress": bar}
    if outcomes is None and start is None:
        raise click.UsageError("give --start (or --outcomes to re-plan an existing schedule)")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", NetworkWarning)
        if outcomes is None:
            plan = schedule(camp, assignment, must, rules, start=start, end=end, **opts)
        else:
            from planner.schedule import reschedule
            from zoufang.commands.route import read_schedule

            stops, days, _ = read_schedule(plan_path)
            plan = reschedule(camp, assignment, must, rules, stops=stops, days=days, outcomes=_read_table(outcomes),
                              today=today or dt.date.today(), end=end, **opts)
    bar.close()
    problems = check_schedule(plan, assignment, must, rules, campaign=camp)
    plan.info["campaign"] = str(Path(campaign).resolve())  # `zoufang route` finds names and addresses there
    write_schedule(plan, plan_path)
    info = plan.info
    if as_json:
        out = {k: v for k, v in info.items() if k != "rules"}
        out["checker"] = problems or "ok"
        click.echo(json.dumps(out, ensure_ascii=False, indent=2, default=str))
    else:
        for w in caught:
            click.secho(f"warning: {w.message}", fg="yellow", err=True)
        _print(info, plan_path)
        if problems:
            click.secho("checker found broken rules:\n  " + "\n  ".join(problems[:30]), fg="red", err=True)
        else:
            click.echo("  checker: every schedule rule holds")
        if len(plan.shortfall):
            click.echo("  shortfall by reason:")
            short = plan.shortfall
            for reason, n in short["reason"].value_counts().items():
                click.echo(f"    {n:6d}  {reason}")
                if "detail" in short:  # the numbers behind it, e.g. "works 40 of the 40 sessions ..."
                    details = short.loc[short["reason"] == reason, "detail"].dropna()
                    if len(details):
                        click.echo(f"            e.g. {details.iloc[0]}")
            worst = plan.cadres.sort_values("shortfall_cadre_days", ascending=False).head(5)
            click.echo("  cadres short of most days: " + ", ".join(
                f"{r.cadre_id} ({r.shortfall} visits, {r.shortfall_cadre_days} days)" for r in worst.itertuples()))
    if problems:
        sys.exit(3)


def _read_table(path):
    import pandas as pd

    if str(path).lower().endswith((".xlsx", ".xls")):
        return pd.read_excel(path, dtype=str)
    return pd.read_csv(path, dtype=str, encoding="utf-8-sig")


def _print(info: dict, plan_path) -> None:
    click.echo(f"schedule written to {plan_path} (layers stops, days, shortfall, schedule_info)")
    click.echo(f"  {info['cadre_days']:,} cadre-days by {info['cadres_used']} of {info['cadres']} cadres, "
               f"utilisation {info['utilisation']:.0%} of the sessions used; travel {info['travel_km']:,} km")
    click.echo(f"  visits {info['first_visit']} .. {info['last_visit']} (deadline {info['end']}, "
               f"{info['working_days']} working days); {info['stops']:,} stops, {info['phone_visits']:,} by phone")
    click.echo(f"  households {info['households_scheduled']:,} of {info['households']:,}, enterprises "
               f"{info['enterprises_scheduled']} of {info['enterprises']}; {info['must_visit_stops']:,} must-visit "
               f"stops in {info['joint_groups']} joint visits, last on {info['last_must_visit']}"
               + (f" ({info['must_visits_late']:,} after {info['must_visit_deadline']}, the end of the first "
                  f"[schedule] must_visit_days working days)" if info.get("must_visit_deadline") else ""))
    if info["shortfall_visits"]:
        click.secho(f"  NOT before the deadline: {info['shortfall_households']:,} households, "
                    f"{info['shortfall_enterprises']} enterprises, {info['shortfall_must_visits']} must-visits "
                    f"({info['shortfall_visits']:,} visits): {info['shortfall_cadre_days']:,} more cadre-days needed "
                    f"by {info['shortfall_cadres']} cadres", fg="red")
    else:
        click.echo("  every visit fits before the deadline")
    click.echo(f"  {info['wall_time']:.1f} s (campaign level {info['sweep_time']:.1f} s, routing "
               f"{info['route_time']:.1f} s; {info['route_s_per_cadre']:.2f} s per cadre, slowest "
               f"{info['slowest_cadre']} {info['slowest_cadre_route_s']} s)")


class _Progress:
    """A tqdm bar over the cadre-days being routed (one bar per phase)."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.bar = None
        self.phase = None

    def __call__(self, phase: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        if phase != self.phase:
            if self.bar is not None:
                self.bar.close()
            self.bar = tqdm(total=total, unit="day", desc=phase, file=sys.stderr, leave=False)
            self.phase = phase
        self.bar.n = done
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
