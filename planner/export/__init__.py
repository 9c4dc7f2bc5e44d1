"""Exports of one cadre's day (今日走访路线): GPX 1.1, GeoJSON, CSV and the printable walk sheet (走访工作单).

Public API::

    sheet = day_sheet(stops, days, cadre_id="C0001", date="2026-03-02", campaign=campaign)
    to_gpx(sheet)                      # the cadre's own: names and phones included
    to_html(sheet)                     # printable walk sheet in Chinese, inline SVG map, no external assets
    to_geojson(sheet, personal=False)  # for other tools: no names or phones unless personal=True
    to_csv(sheet, personal=False)
"""

from planner.export.gpx import to_gpx
from planner.export.sheet import DaySheet, NoSuchDay, day_sheet
from planner.export.tabular import to_csv, to_geojson
from planner.export.walksheet import to_html

__all__ = ["DaySheet", "NoSuchDay", "day_sheet", "to_csv", "to_geojson", "to_gpx", "to_html"]
