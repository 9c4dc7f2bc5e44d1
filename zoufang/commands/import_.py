from pathlib import Path

import click

from geodata.crs import CRS_CHOICES
from geodata.importers import import_layer, parse_column_map
from geodata.io import read_layers, write_layer
from geodata.schema import LAYERS
from geodata.validate import validate_layers


@click.command("import")
@click.argument("campaign", type=click.Path(dir_okay=False))
@click.argument("layer", type=click.Choice(list(LAYERS)))
@click.argument("source", type=click.Path())
@click.option("--crs", help=f"coordinate system of SOURCE: {', '.join(CRS_CHOICES)} or EPSG:N "
              "(default: the file's own, or wgs84 for CSV/Excel)")
@click.option("--columns", help="rename columns, e.g. 户主=head_name,电话=phone")
@click.option("--lon", help="longitude column of a CSV/Excel file (default: recognised, e.g. lon, 经度)")
@click.option("--lat", help="latitude column of a CSV/Excel file (default: recognised, e.g. lat, 纬度)")
@click.option("--source-layer", help="layer of a GeoPackage source, or sheet of an Excel file")
@click.option("--json", "as_json", is_flag=True, help="print the validation findings as JSON")
def command(campaign, layer, source, crs, columns, lon, lat, source_layer, as_json):
    """Add or replace LAYER of the CAMPAIGN GeoPackage from SOURCE, then validate the campaign.

    SOURCE may be CSV, Excel (.xlsx), GeoJSON, Shapefile (or a .zip of one),
    GeoPackage, or an OpenStreetMap file (.osm/.osm.pbf: roads, or households at
    residential buildings). GCJ-02 and BD-09 coordinates are converted to WGS-84.
    """
    frame = import_layer(source, layer, crs=crs, columns=parse_column_map(columns),
                         source_layer=source_layer, lon=lon, lat=lat)
    write_layer(frame, campaign, layer)
    if not as_json:
        click.echo(f"{layer}: {len(frame)} rows imported from {Path(source).name} into {campaign}")
    report = validate_layers(read_layers(campaign), source=str(campaign)).report
    if as_json:
        click.echo(report.to_json())
    else:
        for f in report.findings:
            click.secho(str(f), fg={"error": "red", "warning": "yellow", "fixed": "cyan"}[f.severity])
        click.echo(f"{campaign}: {report.summary()}")
    raise SystemExit(0 if report.ok else 1)
