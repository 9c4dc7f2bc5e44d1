from pathlib import Path

import click

from geodata.crs import CRS_CHOICES
from geodata.io import read_layers, write_layers
from geodata.validate import validate_layers


@click.command("validate")
@click.argument("path", type=click.Path())
@click.option("--crs", help=f"coordinate system of layers that declare none: {', '.join(CRS_CHOICES)} or EPSG:N")
@click.option("--fix", is_flag=True, help="repair invalid geometries with make_valid and write a fixed copy")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="where --fix writes (default FILE.fixed.gpkg)")
@click.option("--json", "as_json", is_flag=True, help="print the findings as JSON")
def command(path, crs, fix, output, as_json):
    """Check a campaign file and list every problem found (layer, id, rule, fix).

    Exit status: 0 usable, 1 data errors, 2 unreadable input.
    """
    raw = read_layers(path)
    checked = validate_layers(raw, crs=crs, fix=fix, source=str(path))
    report = checked.report
    if as_json:
        click.echo(report.to_json())
    else:
        for f in report.findings:
            colour = {"error": "red", "warning": "yellow", "fixed": "cyan"}[f.severity]
            click.secho(str(f), fg=colour)
        counts = {layer: len(frame) for layer, frame in checked.layers.items()}
        click.echo(", ".join(f"{n} {layer}" for layer, n in counts.items()))
        verdict = "usable" if report.ok else "NOT usable"
        click.secho(f"{path}: {report.summary()}: the campaign is {verdict}", fg="green" if report.ok else "red", bold=True)
    if fix and report.by_rule("invalid_geometry"):
        out = Path(output) if output else Path(path).with_suffix(".fixed.gpkg")
        fixed = {name: raw[name] for name in raw}
        for name, frame in checked.layers.items():
            if hasattr(frame, "geometry") and name in raw and hasattr(raw[name], "geometry"):
                fixed[name] = raw[name].set_geometry(frame.geometry.to_crs(raw[name].crs or 4326).values)
        write_layers(fixed, out)
        if not as_json:
            click.echo(f"repaired copy written to {out}")
    raise SystemExit(0 if report.ok else 1)
