"""``zoufang plan-province``: a province (or any campaign with counties) planned county by county on Dask."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

#: layers of a province plan file: the four of ``zoufang assign`` (with county_id) and two more
PROVINCE_LAYERS = ("assignment", "must_visits", "teams_summary", "plan_info", "counties", "city_teams")


def is_county_folder(path: str | Path) -> bool:
    """A folder of county campaign files (not a campaign folder of layer files)."""
    p = Path(path)
    return p.is_dir() and not any(f.stem == "villages" for f in p.iterdir())


def wants_province(path: str | Path) -> bool:
    """Whether CAMPAIGN is a province: a folder of county files, or a campaign with a ``counties``
    layer or ``towns.county_id`` values (``zoufang assign`` hands such campaigns to plan-province)."""
    p = Path(path)
    if p.is_dir():
        return is_county_folder(p) or any(f.stem == "counties" for f in p.iterdir())
    if p.suffix.lower() != ".gpkg":
        return False
    import pyogrio

    try:
        names = {str(n) for n, _ in pyogrio.list_layers(p)}
        if "counties" in names:
            return True
        if "towns" in names and "county_id" in pyogrio.read_info(p, layer="towns")["fields"]:
            towns = pyogrio.read_dataframe(p, layer="towns", columns=["county_id"], read_geometry=False)
            return bool(towns["county_id"].notna().any())
    except Exception:  # unreadable here: let the loader report it
        return False
    return False


def write_province_plan(plan, path: str | Path) -> None:
    """Write the province plan's tables to one GeoPackage (replacing the file)."""
    import pyogrio

    from zoufang.commands.assign import write_plan

    write_plan(plan, path)
    for layer in ("counties", "city_teams"):
        frame = getattr(plan, layer).copy()
        for col in frame.columns:
            if frame[col].dtype == object or str(frame[col].dtype).startswith("str"):
                frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
        pyogrio.write_dataframe(frame, path, layer=layer, driver="GPKG")


class _CountyBar:
    """A tqdm bar counting counties done (or one line per county when stderr is not a terminal)."""

    def __init__(self, enabled: bool, quiet: bool):
        self.enabled, self.quiet, self.bar = enabled, quiet, None

    def __call__(self, ev: dict):
        if self.quiet:
            return
        if not self.enabled:
            if ev["status"] != "retrying":
                click.echo(f"  [{ev['done']}/{ev['total']}] county {ev['county_id']} ({ev['name']}): {ev['status']}",
                           err=True)
            else:
                click.echo(f"  county {ev['county_id']} ({ev['name']}): {ev.get('kind')}, retrying", err=True)
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=ev["total"], unit="county", desc="counties", file=sys.stderr, leave=False)
        self.bar.n = ev["done"]
        self.bar.set_postfix({"last": f"{ev['county_id']} {ev['status']}"}, refresh=False)
        self.bar.refresh()

    def close(self):
        if self.bar is not None:
            self.bar.close()


def run(campaign: str, output: str, *, rules_path=None, workers: int = 2, scheduler: str | None = None,
        time_limit: float = 60.0, seed: int = 0, retries: int = 2, city_time_limit: float = 10.0,
        as_json: bool = False, previous: str | None = None) -> int:
    """Plan, write, print; returns the exit code (0 every county planned, 1 some failed)."""
    from planner.assign import load_rules
    from planner.province import dask_client, jobs_from_folder, load_province, plan_province

    rules = load_rules(rules_path)
    kwargs = {}
    if previous:
        from zoufang.commands.assign import read_previous

        kwargs["previous"] = read_previous(previous)
    if is_county_folder(campaign):
        kwargs["jobs"] = jobs_from_folder(campaign)
    else:
        kwargs["campaign"], kwargs["failed"] = load_province(campaign)
    bar = _CountyBar(enabled=not as_json and sys.stderr.isatty(), quiet=as_json)
    where = scheduler or f"a local cluster of {workers} worker(s)"
    if not as_json:
        click.echo(f"planning counties on {where} ({time_limit:g} s per county, seed {seed}) ...", err=True)
    try:
        with dask_client(workers=workers, scheduler=scheduler) as client:
            plan = plan_province(rules=rules, client=client, time_limit=time_limit, seed=seed, retries=retries,
                                 city_time_limit=city_time_limit, progress=bar, **kwargs)
    finally:
        bar.close()
    write_province_plan(plan, output)
    info = plan.plan_info
    if as_json:
        click.echo(json.dumps({
            "output": str(output), "status": info["status"], "counties": info["counties"],
            "counties_planned": info["counties_planned"], "households": info["households"],
            "households_unplanned": info["households_unplanned"],
            "wall_time": info["wall_time"], "city_villages": info["city_villages"],
            "failures": [{"county_id": f.county_id, "name": f.name, "kind": f.kind, "reason": f.reason,
                          "attempts": f.attempts} for f in plan.failures],
        }, ensure_ascii=False, indent=2))
    else:
        click.echo(f"plan written to {output}")
        click.echo(f"  {info['counties_planned']} of {info['counties']} counties planned, {info['households']} "
                   f"households, {info['wall_time']:.1f} s; {info['city_villages']} village(s) given to city teams "
                   f"that span counties")
        for f in plan.failures:
            click.secho(f"  {f}", fg="red", err=True)
        if plan.failures:
            click.secho(f"  {len(plan.failures)} county(ies) failed: their {info['households_unplanned']} households "
                        f"are not in the plan; fix them and plan again", fg="red", err=True)
    return 0 if plan.ok else 1


@click.command("plan-province")
@click.argument("campaign", type=click.Path(exists=True, dir_okay=True))
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False),
              help="Plan file to write (GeoPackage), county_id on every row.")
@click.option("--rules", "rules_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Campaign rules (TOML); defaults: planner/rules_default.toml.")
@click.option("--workers", type=int, default=2, show_default=True,
              help="Processes of the local Dask cluster (one thread each, one county at a time each).")
@click.option("--scheduler", default=None, help="An existing Dask scheduler, e.g. tcp://HOST:8786 (no local cluster).")
@click.option("--time-limit", type=float, default=60.0, show_default=True,
              help="Solver time limit per county, in seconds of CP-SAT's deterministic clock.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Random seed (same seed, same plan on 1 or many workers).")
@click.option("--retries", type=int, default=2, show_default=True,
              help="Attempts again for a county whose worker was lost or that found no plan in time.")
@click.option("--city-time-limit", type=float, default=10.0, show_default=True,
              help="Time limit of the city-level problem (city teams that span counties).")
@click.option("--previous", type=click.Path(exists=True, dir_okay=False), default=None,
              help="An earlier plan: each county changes as little of it as the rules allow.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def command(campaign, output, rules_path, workers, scheduler, time_limit, seed, retries, city_time_limit, previous,
            as_json):
    """Plan a province: CAMPAIGN with counties (a `counties` layer or towns.county_id),
    or a folder holding one campaign file per county.

    City-level teams without a county first get their villages (quota from the
    rules) from a small city-level problem; then every county is planned as its
    own problem, as Dask tasks on a local cluster (--workers) or an existing
    scheduler (--scheduler). Writes one plan with county_id on every row plus
    a `counties` table (status and reason of each county). Exits 1 when some
    county failed (it is named, with its reason; the others are in the plan).
    """
    sys.exit(run(campaign, output, rules_path=rules_path, workers=workers, scheduler=scheduler,
                 time_limit=time_limit, seed=seed, retries=retries, city_time_limit=city_time_limit,
                 as_json=as_json, previous=previous))
