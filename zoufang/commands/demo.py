"""``zoufang demo``: build the demo campaign from real OpenStreetMap geography, plan it, serve its map."""

from __future__ import annotations

import time
from pathlib import Path

import click


@click.command("demo")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="demo-out", show_default=True,
              help="Folder for demo.gpkg (the campaign) and plan.gpkg (its plan).")
@click.option("--seed", type=int, default=None, help="Seed of the generated attributes (default: the documented one).")
@click.option("--time-limit", type=float, default=20.0, show_default=True, help="Time limit of the assignment solver (s of CP-SAT's deterministic clock).")
@click.option("--no-plan", is_flag=True, help="Only build the campaign.")
@click.option("--weeks", type=int, default=8, show_default=True,
              help="Length of the demo campaign: it starts today and ends this many weeks later.")
@click.option("--no-serve", is_flag=True, help="Do not start the web site.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=5000, show_default=True)
@click.pass_context
def command(ctx, out_dir, seed, time_limit, no_plan, weeks, no_serve, host, port):
    """Build the demo campaign (Andorra's parishes as towns + Karhula, Kotka as an urban town),
    assign it to teams, schedule every cadre's days from today, and serve it on HOST:PORT."""
    from geodata import load_campaign
    from geodata.demo import DEFAULT_SEED, build_demo

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    campaign_path = out / "demo.gpkg"
    t0 = time.perf_counter()
    click.echo("[1/4] building the demo campaign from OpenStreetMap data (© OpenStreetMap contributors, ODbL) ...")
    build_demo(campaign_path, seed=DEFAULT_SEED if seed is None else seed)
    campaign = load_campaign(campaign_path)
    click.echo(f"      {campaign_path}: {len(campaign.towns) if campaign.towns is not None else 0} towns, "
               f"{len(campaign.villages)} villages, {len(campaign.grids)} grids, {len(campaign.households):,} households, "
               f"{len(campaign.enterprises)} enterprises, {len(campaign.teams)} teams, {len(campaign.cadres)} cadres, "
               f"{0 if campaign.roads is None else len(campaign.roads):,} roads ({time.perf_counter() - t0:.1f} s)")
    plan_path = None
    if not no_plan:
        plan_path = _plan(campaign, out / "plan.gpkg", time_limit=time_limit)
        _schedule(ctx, campaign_path, plan_path, weeks=weeks)
    if no_serve:
        click.echo(f"done. Serve it with: zoufang serve {campaign_path}" + (f" --plan {plan_path}" if plan_path else ""))
        return
    from zoufang.commands.serve import serve

    click.echo(f"[4/4] serving the map on http://{host}:{port}/ (Ctrl+C stops)")
    serve(campaign_path, plan_path, host=host, port=port,
          before_serving=lambda app: demo_accounts(app, campaign, plan_path))


#: demo accounts: user name → (password, role); the cadre account is linked to a cadre of the plan
DEMO_ACCOUNTS = {
    "planner": ("planner-demo", "planner"),
    "cadre": ("cadre-demo", "cadre"),
    "leader": ("leader-demo", "leader"),
    "admin": ("admin-demo", "admin"),
}


def demo_accounts(app, campaign, plan_path=None) -> dict[str, tuple[str, str]]:
    """Create the demo accounts (one per role) in the app database, unless they
    exist, and print them. The cadre account is the first cadre with work in the plan."""
    from web import auth

    cadre_id = _demo_cadre(campaign, plan_path)
    with app.app_context():
        for name, (password, role) in DEMO_ACCOUNTS.items():
            auth.ensure_account(name, password, role=role, cadre_id=cadre_id if role == "cadre" else None,
                                display_name=f"demo {role}")
    click.echo("      demo accounts (user / password):")
    for name, (password, role) in DEMO_ACCOUNTS.items():
        extra = f", cadre {cadre_id}" if role == "cadre" else ""
        click.echo(f"        {role:8s} {name} / {password}{extra}")
    return DEMO_ACCOUNTS


def _demo_cadre(campaign, plan_path) -> str:
    """A cadre with households in the plan (else the campaign's first cadre)."""
    if plan_path is not None:
        import pyogrio

        try:
            a = pyogrio.read_dataframe(plan_path, layer="assignment", read_geometry=False)
            held = a.loc[a["entity_type"] == "household", "cadre_id"].dropna().astype(str)
            if len(held):
                return held.value_counts().index[0]
        except Exception:  # the plan file is optional for the accounts
            pass
    return str(campaign.cadres["cadre_id"].iloc[0])


def _schedule(ctx, campaign_path: Path, plan_path: Path, *, weeks: int) -> None:
    """Schedule the demo from today, so the cadre's "today" page has a route."""
    import datetime as dt

    from zoufang.commands.schedule import command as schedule_command

    start = dt.date.today()
    end = start + dt.timedelta(weeks=weeks)
    click.echo(f"[3/4] scheduling every cadre's days {start} .. {end} and routing each day on the roads ...")
    ctx.invoke(schedule_command, campaign=str(campaign_path), plan_path=str(plan_path), start=start, end=end)


def _plan(campaign, plan_path: Path, *, time_limit: float):
    from planner.assign import assign, check_plan, default_rules
    from zoufang.commands.assign import write_plan

    click.echo(f"[2/4] assigning grids, households and enterprises to teams (CP-SAT, {time_limit:g} s of its "
               "deterministic clock: the same plan on every run) ...")
    rules = default_rules()
    plan = assign(campaign, rules, time_limit=time_limit, workers=2, seed=0, deterministic=True)
    problems = check_plan(campaign, plan.assignment, plan.must_visits, rules)
    if problems:  # assign() refuses such plans; say so loudly if it ever happens
        raise click.ClickException("the plan breaks hard rules:\n  " + "\n  ".join(problems))
    write_plan(plan, plan_path)
    info = plan.plan_info
    gap = "n/a" if info["gap"] is None else f"{info['gap']:.2%}"
    click.echo(f"      {plan_path}: status {info['status']}, gap {gap}, {len(plan.must_visits)} must-visits, "
               f"checker: every hard rule holds ({info['wall_time']:.1f} s)")
    for g in plan.soft_goals:
        click.echo(f"      [{'bent' if g.bent else 'kept'}] {g.name}: {g.summary}")
    return plan_path
