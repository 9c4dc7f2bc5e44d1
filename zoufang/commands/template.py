import click

from geodata.template import write_template


@click.command("template")
@click.argument("path", type=click.Path(dir_okay=False))
def command(path):
    """Write an empty campaign GeoPackage (every layer and column) to PATH."""
    out = write_template(path)
    click.echo(f"wrote the campaign template {out} (layers: towns, villages, grids, households, "
               "enterprises, teams, cadres, roads; see README 'The campaign file')")
