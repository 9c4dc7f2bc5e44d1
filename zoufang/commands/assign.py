"""``zoufang assign``: every unit, household and enterprise to one team and cadre (分组包干)."""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

import click

PLAN_LAYERS = ("assignment", "must_visits", "teams_summary", "plan_info", "soft_goals")


def _load_campaign(path: str):
    from geodata import load_campaign

    return load_campaign(path)


def write_plan(plan, path: str | Path) -> None:
    """Write the plan's tables to a GeoPackage (replacing the file): :data:`PLAN_LAYERS`."""
    import pandas as pd
    import pyogrio

    from planner.assign.review import soft_goals_frame

    path = Path(path)
    if path.exists():
        path.unlink()
    frames = {
        "assignment": plan.assignment, "must_visits": plan.must_visits,
        "teams_summary": plan.teams_summary, "plan_info": plan.plan_info_frame(),
        "soft_goals": plan.soft_goals if isinstance(plan.soft_goals, pd.DataFrame) else soft_goals_frame(plan.soft_goals),
    }
    for layer, frame in frames.items():
        frame = frame.copy()
        for col in frame.columns:
            if frame[col].dtype == object or str(frame[col].dtype).startswith("str"):
                frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
        pyogrio.write_dataframe(frame, path, layer=layer, driver="GPKG")


def read_previous(path: str | Path):
    """The ``assignment`` table of an earlier plan file."""
    import pyogrio

    from geodata.errors import CampaignReadError

    try:
        return pyogrio.read_dataframe(path, layer="assignment", read_geometry=False)
    except Exception as exc:  # pyogrio raises several kinds for missing files / layers
        raise CampaignReadError(f"cannot read the previous plan {path}: {exc}") from None


class _Bar:
    """A tqdm bar over the time limit, ticking by wall clock, showing the best objective."""

    def __init__(self, time_limit: float, enabled: bool):
        self.enabled = enabled
        self.time_limit = time_limit
        self.best = None
        self.phase = "start"
        self._stop = threading.Event()
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=round(time_limit), unit="s", desc="solving", file=sys.stderr, leave=False)
            self.t0 = time.perf_counter()
            self.thread = threading.Thread(target=self._tick, daemon=True)
            self.thread.start()

    def __call__(self, event: dict):
        self.phase = event.get("phase", self.phase)
        if event.get("objective") is not None:
            self.best = event["objective"]

    def _tick(self):
        while not self._stop.wait(0.5):
            el = min(time.perf_counter() - self.t0, self.time_limit)
            self.bar.n = round(el)
            post = {"phase": self.phase}
            if self.best is not None:
                post["objective"] = f"{self.best:.0f}"
            self.bar.set_postfix(post, refresh=False)
            self.bar.refresh()

    def close(self):
        if self.enabled:
            self._stop.set()
            self.thread.join()
            self.bar.close()


@click.command("assign")
@click.argument("campaign", type=click.Path(exists=True, dir_okay=True))
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False), help="Plan file to write (GeoPackage).")
@click.option("--rules", "rules_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Campaign rules (TOML); defaults: planner/rules_default.toml.")
@click.option("--time-limit", type=float, default=60.0, show_default=True, help="Solver time limit in seconds.")
@click.option("--workers", type=int, default=2, show_default=True, help="CP-SAT worker threads.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option("--deterministic", is_flag=True,
              help="Measure the time limit on CP-SAT's deterministic clock: the same seed gives the same plan "
                   "on any machine load (the wall time then differs from the limit).")
@click.option("--previous", type=click.Path(exists=True, dir_okay=False), default=None,
              help="An earlier plan: change as little of it as the rules allow.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def command(campaign, output, rules_path, time_limit, workers, seed, deterministic, previous, as_json):
    """Assign every household and enterprise of CAMPAIGN to exactly one team and cadre.

    Meets the must-visit rules (四个必到) and quotas of the rules file, balances
    workload, keeps territories compact and contiguous, and writes the plan
    (assignment, must_visits, teams_summary, plan_info) to OUTPUT. Exits 1 with
    the conflicting rules and their numbers when the rules cannot all hold.

    A campaign with counties (a `counties` layer or towns.county_id), or a
    folder of county files, is planned county by county on Dask as
    `zoufang plan-province` does (--workers then counts Dask processes).
    """
    from planner.assign import InfeasibleError, assign, check_plan, load_rules
    from zoufang.commands import province

    if province.wants_province(campaign):  # counties: each planned as its own problem on Dask
        sys.exit(province.run(campaign, output, rules_path=rules_path, workers=workers, time_limit=time_limit,
                              seed=seed, as_json=as_json, previous=previous))
    rules = load_rules(rules_path)
    camp = _load_campaign(campaign)
    prev = read_previous(previous) if previous else None
    bar = _Bar(time_limit, enabled=not as_json and sys.stderr.isatty())
    if not bar.enabled and not as_json:
        click.echo(f"solving (time limit {time_limit:g} s{' of CP-SAT’s deterministic clock' if deterministic else ''}, "
                   f"{workers} worker(s), seed {seed}) ...", err=True)
    try:
        plan = assign(camp, rules, time_limit=time_limit, workers=workers, seed=seed, previous=prev, progress=bar,
                      deterministic=deterministic)
    except InfeasibleError as exc:
        bar.close()
        if as_json:
            click.echo(json.dumps({"status": "INFEASIBLE", "conflicts": exc.conflicts}, ensure_ascii=False, indent=2))
        else:
            click.secho("infeasible: the rules cannot all be met:", fg="red", err=True)
            for c in exc.conflicts:
                click.secho(f"  - {c}", fg="red", err=True)
        sys.exit(1)
    finally:
        bar.close()
    problems = check_plan(camp, plan.assignment, plan.must_visits, rules)
    if problems:  # pragma: no cover - assign() already refuses such plans
        click.secho("checker rejected the plan:\n  " + "\n  ".join(problems), fg="red", err=True)
        sys.exit(3)
    write_plan(plan, output)
    info = plan.plan_info
    summary = {
        "output": str(output), "status": info["status"], "objective": info["objective"], "bound": info["bound"],
        "gap": info["gap"], "wall_time": info["wall_time"], "first_solution_time": info["first_solution_time"],
        "seed": seed, "teams": int((plan.teams_summary["units"] > 0).sum()),
        "grids": int((plan.assignment["entity_type"] == "grid").sum()),
        "households": int((plan.assignment["entity_type"] == "household").sum()),
        "enterprises": int((plan.assignment["entity_type"] == "enterprise").sum()),
        "must_visits": len(plan.must_visits), "checker": "ok",
        "soft_goals": [{"name": g.name, "bent": g.bent, "summary": g.summary, "details": list(g.details)}
                       for g in plan.soft_goals],
    }
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2, default=str))
        return
    gap = "n/a" if info["gap"] is None else f"{info['gap']:.2%}"
    click.echo(f"plan written to {output}")
    click.echo(f"  status {info['status']}, objective {info['objective']}, bound {info['bound']}, gap {gap}, "
               f"{info['wall_time']:.1f} s (first plan at {info['first_solution_time'] or 0:.1f} s)")
    if info.get("bound_source"):
        # the bound's source says how much of the gap is the bound's weakness (contiguity unseen)
        click.echo(f"  bound: {info['bound_source']}; {info.get('bound_covers') or 'see plan_info'}")
    click.echo(f"  {summary['grids']} grids, {summary['households']} households, {summary['enterprises']} enterprises "
               f"→ {summary['teams']} teams; {summary['must_visits']} must-visits; checker: every hard rule holds")
    for g in plan.soft_goals:
        mark = "bent" if g.bent else "kept"
        click.echo(f"  [{mark}] {g.name}: {g.summary}")
        for d in g.details[:5]:
            click.echo(f"      {d}")
        if len(g.details) > 5:
            click.echo(f"      ... and {len(g.details) - 5} more (every one in the plan file's soft_goals layer)")
