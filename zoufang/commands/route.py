"""``zoufang route``: one cadre's day as GPX, GeoJSON, CSV or the printable walk sheet (今日走访路线)."""

from __future__ import annotations

from pathlib import Path

import click

FORMATS = ("gpx", "geojson", "csv", "html", "pdf")


def read_schedule(plan_path):
    """The ``stops`` and ``days`` layers and the ``schedule_info`` table of a scheduled plan file."""
    import json

    import pyogrio

    from geodata.errors import CampaignReadError

    try:
        stops = pyogrio.read_dataframe(plan_path, layer="stops")
        days = pyogrio.read_dataframe(plan_path, layer="days")
        info = pyogrio.read_dataframe(plan_path, layer="schedule_info", read_geometry=False)
    except Exception as exc:  # pyogrio raises several kinds for missing files / layers
        raise CampaignReadError(f"cannot read the schedule of {plan_path} (run `zoufang schedule` first): {exc}") from None
    meta = {}
    for k, v in zip(info["key"], info["value"]):
        try:
            meta[k] = json.loads(v)
        except (TypeError, ValueError):
            meta[k] = v
    return stops, days, meta


@click.command("route")
@click.argument("plan_path", metavar="PLAN.gpkg", type=click.Path(exists=True, dir_okay=False))
@click.option("--cadre", "cadre_id", required=True, help="Cadre id (干部编码).")
@click.option("--date", "date", required=True, help="Date of the route (YYYY-MM-DD).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="Output format (default: from the file's extension).")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="File to write.")
@click.option("--campaign", type=click.Path(exists=True), default=None,
              help="Campaign file for names and addresses (default: the one the schedule was made from).")
@click.option("--with-personal-data", is_flag=True,
              help="Put household names and phones in csv/geojson too (gpx, html and pdf, the cadre's own, always have "
                   "them).")
@click.option("--check", is_flag=True,
              help="gpx: validate the file against the GPX 1.1 schema shipped with zoufang; exit 1 if it is not valid.")
def command(plan_path, cadre_id, date, fmt, output, campaign, with_personal_data, check):
    """Write CADRE's route on DATE from a scheduled PLAN.gpkg: gpx (GPX 1.1 waypoints and route), geojson, csv,
    html or pdf (the printable walk sheet in Chinese with the day's map)."""
    from geodata import load_campaign
    from planner.export import day_sheet, to_csv, to_geojson, to_gpx, to_html, to_pdf, validate_gpx

    fmt = fmt or Path(output).suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise click.UsageError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)} (or give -o with that extension)")
    stops, days, meta = read_schedule(plan_path)
    camp_path = campaign or meta.get("campaign")
    camp = load_campaign(camp_path) if camp_path and Path(camp_path).exists() else None
    if camp is None:
        click.secho("note: campaign file not found: the route has ids but no names or addresses", fg="yellow", err=True)
    sheet = day_sheet(stops, days, cadre_id=cadre_id, date=date, campaign=camp)
    if check and fmt != "gpx":
        raise click.UsageError(f"--check validates gpx files only, not {fmt}")
    if fmt == "pdf":
        import warnings

        from planner.export.pdfsheet import FontWarning

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", FontWarning)
            data = to_pdf(sheet)
        for w in caught:
            click.secho(f"note: {w.message}", fg="yellow", err=True)
        Path(output).write_bytes(data)
    else:
        text = {"gpx": lambda: to_gpx(sheet), "html": lambda: to_html(sheet),
                "csv": lambda: to_csv(sheet, personal=with_personal_data),
                "geojson": lambda: to_geojson(sheet, personal=with_personal_data)}[fmt]()
        Path(output).write_text(text, encoding="utf-8")
        if check:
            problems = validate_gpx(text)
            if problems:
                for p in problems[:20]:
                    click.secho(f"GPX schema: {p}", fg="red", err=True)
                raise click.ClickException(f"{output} is not valid GPX 1.1 ({len(problems)} problem(s) listed above)")
            click.echo(f"{output}: valid against the GPX 1.1 schema")
    click.echo(f"{fmt} written to {output}: {cadre_id} on {date}, {len(sheet.stops)} stops, "
               f"{sheet.start}-{sheet.end}")
