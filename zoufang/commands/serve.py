"""``zoufang serve``: the web site for one campaign (and optionally its plan).

The app database (accounts, visits, problems) is ``--db URL`` (SQLite file
or PostgreSQL URL), by default ``zoufang.sqlite`` next to the campaign; its
migrations run at start. With ``--db`` (a shared server for many offices) the
campaign's areas and places and the plan's teams are also imported into it
(``areas``, ``places``, ``area_counters``: :mod:`web.shared`), once: a restart
with the same files writes nothing. ``--import/--no-import`` overrides that.
With no admin account yet, one named ``admin`` is created and its password
printed once.

Served by waitress (a production WSGI server, pure Python, also on Windows)
when it is installed, else by Flask's development server; ``--dev`` always
uses Flask's server with the debugger and reloader.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import click


@click.command("serve")
@click.argument("campaign", type=click.Path(exists=True, path_type=Path))
@click.option("--plan", "plan", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Plan GeoPackage (from `zoufang assign`, with the layers of `zoufang schedule`): "
                   "team territories, must-visits and the cadres' days.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0: every interface of this machine).")
@click.option("--port", type=int, default=5000, show_default=True)
@click.option("--tile-url", default=None,
              help="Tile server URL template, e.g. an intranet server http://tiles.local/{z}/{x}/{y}.png. "
                   "Default: none, the campaign's own geography is the base map (works offline).")
@click.option("--tile-crs", type=click.Choice(["wgs84", "gcj02"]), default="wgs84", show_default=True,
              help="Datum of the tiles: gcj02 for Amap/Tencent tiles (our layers are shifted to match).")
@click.option("--language", type=click.Choice(["zh", "en"]), default="zh", show_default=True,
              help="Default language of the pages (each visitor can switch).")
@click.option("--threads", type=int, default=4, show_default=True, help="Worker threads (waitress).")
@click.option("--db", "db_url", default=None,
              help="App database: a SQLite file or URL, or postgresql://user:pass@host/name. "
                   "Default: $ZOUFANG_DATABASE_URL, else zoufang.sqlite next to the campaign.")
@click.option("--import/--no-import", "import_places", default=None,
              help="Import the campaign's areas and places and the plan's teams into the database "
                   "(idempotent). Default: yes with --db, no otherwise.")
@click.option("--dev", is_flag=True, help="Flask's development server with debugger and reloader.")
def command(campaign, plan, host, port, tile_url, tile_crs, language, threads, db_url, import_places, dev):
    """Serve the planning site for CAMPAIGN (a campaign GeoPackage) on HOST:PORT."""
    serve(campaign, plan, host=host, port=port, tile_url=tile_url, tile_crs=tile_crs,
          language=language, threads=threads, dev=dev, db_url=db_url, import_places=import_places)


def make_app(campaign, plan=None, *, tile_url=None, tile_crs="wgs84", language="zh", db_url=None,
             before_serving=None, import_places=None):
    """The site for ``campaign`` with its data loaded, so that a broken file is
    reported here, at start, rather than on the first page view."""
    import os

    from geodata.store.engine import ENV_URL
    from web import create_app
    from web.data import get_data

    overrides = {
        "CAMPAIGN_PATH": str(campaign),
        "PLAN_PATH": str(plan) if plan else None,
        "TILE_URL": tile_url,
        "TILE_CRS": tile_crs,
        "LANGUAGE": language,
    }
    db_url = db_url or os.environ.get(ENV_URL)
    if db_url:
        overrides["DATABASE_URL"] = db_url
    app = create_app(overrides=overrides)
    if app.config["SECRET_KEY"] == "dev":
        # No ZOUFANG_SECRET_KEY set: a fresh key (sessions end at restart).
        app.config["SECRET_KEY"] = secrets.token_hex(32)
    data = get_data(app)
    counts = data.summary()["counts"]
    click.echo(
        f"campaign {data.name} ({campaign}): {counts.get('villages', 0)} villages, "
        f"{counts.get('grids', 0)} grids, {counts.get('households', 0):,} households"
        + (f"; plan {plan}: {len(data.teams)} teams" if plan else "; no plan")
    )
    click.echo(f"app database {_shown_url(app.config['DATABASE_URL'])} (migrated)")
    if import_places if import_places is not None else bool(db_url):
        _import_places(app)
    if before_serving is not None:
        before_serving(app)
    _first_admin(app)
    return app


def _import_places(app) -> None:
    """Areas, places and area counters into the database (skipped when the files are unchanged)."""
    import time

    from geodata.store import ImportDataError
    from web.shared import ensure_imported

    t = time.perf_counter()
    try:
        with app.app_context():
            res = ensure_imported(app)
    except ImportDataError as exc:
        raise click.ClickException(f"cannot import the campaign into the database: {exc}") from None
    if res["status"] == "unchanged":
        click.echo("campaign already in the database (same files): nothing imported")
    elif res["status"] == "plan_updated":
        click.echo(f"campaign already in the database; new plan: {res['places_changed']:,} households and "
                   f"enterprises changed team or cadre, {res['must_visits']:,} must-visits and {res['stops']:,} "
                   f"stops in {time.perf_counter() - t:.1f} s")
    else:
        click.echo(f"imported {res['areas']:,} areas and {res['places']:,} households and enterprises into the "
                   f"database in {time.perf_counter() - t:.1f} s ({res['counters']:,} area counters)")


def _shown_url(url: str) -> str:
    """The database URL without its password."""
    from sqlalchemy.engine import make_url

    from geodata.store import normalise_url

    return make_url(normalise_url(url)).render_as_string(hide_password=True)


def _first_admin(app) -> None:
    """With no admin account yet, create ``admin`` with a random password and print it once."""
    from web import auth

    with app.app_context():
        if auth.count_accounts("admin") == 0:
            password = secrets.token_urlsafe(9)
            if auth.ensure_account("admin", password, role="admin", display_name="管理员"):
                click.echo(f"created the first admin account: admin / {password} "
                           "(sign in at /login and change it; create the other accounts at /admin/)")


def serve(campaign, plan=None, *, host="127.0.0.1", port=5000, tile_url=None, tile_crs="wgs84",
          language="zh", threads=4, dev=False, db_url=None, before_serving=None, import_places=None):
    """Load the campaign and serve the site until interrupted. ``before_serving(app)``
    runs once the app is ready (the demo creates its accounts there)."""
    app = make_app(campaign, plan, tile_url=tile_url, tile_crs=tile_crs, language=language, db_url=db_url,
                   before_serving=before_serving, import_places=import_places)
    from web.leader import warm

    # The leader's first view needs the coverage and the map's figures: compute
    # them now (about 1 s at county scale) rather than in that view.
    click.echo(f"coverage and leader map prepared in {warm(app):.1f} s")
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    click.echo(f"zoufang site on http://{shown}:{port}/ (Ctrl+C stops)")
    _run(app, host=host, port=port, threads=threads, dev=dev)


def _run(app, *, host, port, threads, dev):
    if not dev:
        try:
            import waitress
        except ModuleNotFoundError:
            click.echo("(waitress not installed: using Flask's built-in server)")
        else:
            waitress.serve(app, host=host, port=port, threads=threads, ident="zoufang")
            return
    app.run(host=host, port=port, debug=dev, use_reloader=dev)
