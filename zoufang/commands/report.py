"""``zoufang report weekly|summary|problems``: the campaign office's Excel reports (issue 6).

- ``weekly``    the weekly figures per team and per town/village (每周汇总)
- ``summary``   the half-monthly summary table by town/village (群众入户调查问题建议汇总表, 附件5)
- ``problems``  each cadre's problem list (党员干部走访收集问题清单, 附件4)

Visits and problems come from the app database (``--db``, default
``$ZOUFANG_DATABASE_URL``, else ``zoufang.sqlite`` beside ``--campaign`` as
``zoufang serve`` keeps it); places, cadres and teams from the campaign file
(``--campaign``, default: the one the database recorded).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from geodata.errors import ZoufangError

KINDS = ("weekly", "summary", "problems")  # planner.reports.KINDS (not imported: --help stays fast)


class ReportError(ZoufangError, ValueError):
    """The report cannot be made from what was given (no database, no campaign, bad dates)."""


def _date(ctx, param, value):
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"expected YYYY-MM-DD, got {value!r}") from None


def _default_db(campaign_path) -> str:
    import os

    from geodata.store.engine import DEFAULT_FILE, ENV_URL

    if os.environ.get(ENV_URL):
        return os.environ[ENV_URL]
    if campaign_path:
        return "sqlite:///" + str(Path(campaign_path).resolve().with_name(DEFAULT_FILE))
    return f"sqlite:///{DEFAULT_FILE}"


def _open_db(url: str):
    from sqlalchemy.engine import make_url

    from geodata import store

    url = store.normalise_url(url)
    u = make_url(url)
    if u.get_backend_name() == "sqlite" and u.database not in (None, "", ":memory:") \
            and not Path(u.database).exists():
        raise ReportError(f"no database at {u.database} (give --db or set {store.engine.ENV_URL})")
    engine = store.make_engine(url)
    if store.current(engine) is None:
        raise ReportError(f"the database {u.render_as_string(hide_password=True)} holds no zoufang tables")
    return engine


def _campaign_row(session, key: str | None):
    from sqlalchemy import select

    from geodata.store import CampaignRow

    rows = session.scalars(select(CampaignRow).order_by(CampaignRow.id)).all()
    if key is not None:
        rows = [r for r in rows if r.key == key]
        if not rows:
            raise ReportError(f"no campaign {key!r} in the database")
    if not rows:
        raise ReportError("the database holds no campaign yet (no visit was recorded)")
    if len(rows) > 1:
        raise ReportError("the database holds several campaigns: choose one with --campaign-key "
                          f"({', '.join(r.key for r in rows)})")
    return rows[0]


def build_report(kind: str, *, start: dt.date, end: dt.date, db: str, campaign_path=None, plan_path=None,
                 campaign_key: str | None = None, mask: bool = False):
    """The report's openpyxl workbook (what the command saves and the web site sends)."""
    from geodata import load_campaign, store
    from planner import reports

    if kind not in KINDS:
        raise ReportError(f"unknown report {kind!r}; reports are {', '.join(KINDS)}")
    if end < start:
        raise ReportError(f"--to ({end}) is before --from ({start})")
    engine = _open_db(db)
    try:
        with store.session_scope(engine) as s:
            row = _campaign_row(s, campaign_key)
            campaign_path = campaign_path or row.campaign_path
            plan_path = plan_path or row.plan_path
            name = row.name or row.key
            visits = store.visits_frame(s, campaign_id=row.id)
            problems = store.problems_frame(s, campaign_id=row.id)
    finally:
        engine.dispose()
    if not campaign_path:
        raise ReportError("which campaign file? give --campaign (the database recorded none)")
    campaign = load_campaign(campaign_path)
    assignment = None
    if kind == "weekly" and plan_path:
        from zoufang.commands.assign import read_previous

        assignment = read_previous(plan_path)
    return reports.workbook(kind, campaign, visits, problems, start=start, end=end, assignment=assignment,
                            campaign_name=name, mask=mask)


@click.command("report")
@click.argument("kind", type=click.Choice(KINDS))
@click.option("--from", "start", required=True, callback=_date, help="First day (YYYY-MM-DD).")
@click.option("--to", "end", required=True, callback=_date, help="Last day, included (YYYY-MM-DD).")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Excel file to write (.xlsx).")
@click.option("--db", default=None, help="App database URL or SQLite file (default: $ZOUFANG_DATABASE_URL, else "
                                         "zoufang.sqlite beside --campaign, as `zoufang serve` keeps it, else in "
                                         "the working folder).")
@click.option("--campaign", "campaign_path", type=click.Path(exists=True, path_type=Path), default=None,
              help="Campaign file (default: the one recorded in the database).")
@click.option("--plan", "plan_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Plan file from `zoufang assign` (teams' coverage in the weekly report).")
@click.option("--campaign-key", default=None, help="Which campaign, when the database holds several.")
@click.option("--mask", is_flag=True, help="Mask household names and leave out addresses (for leaders).")
def command(kind, start, end, output, db, campaign_path, plan_path, campaign_key, mask):
    """Write the KIND report (weekly, summary or problems) for --from .. --to to an Excel file."""
    wb = build_report(kind, start=start, end=end, db=db or _default_db(campaign_path), campaign_path=campaign_path,
                      plan_path=plan_path, campaign_key=campaign_key, mask=mask)
    wb.save(output)
    click.echo(f"{kind} report {start}..{end} written to {output} ({len(wb.sheetnames)} sheet(s))")
