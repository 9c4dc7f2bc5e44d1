"""Exports of one cadre's day (今日走访路线): GPX 1.1, GeoJSON, CSV and the printable walk sheet (走访工作单, HTML and PDF).

Public API::

    sheet = day_sheet(stops, days, cadre_id="C0001", date="2026-03-02", campaign=campaign)
    to_gpx(sheet)                      # the cadre's own: names and phones included
    validate_gpx(text)                 # [] when valid against the shipped GPX 1.1 schema (lxml, offline)
    to_html(sheet)                     # printable walk sheet in Chinese, inline SVG map, no external assets
    to_pdf(sheet)                      # the same walk sheet as PDF bytes (reportlab, CJK font embedded, offline)
    to_geojson(sheet, personal=False)  # for other tools: no names or phones unless personal=True
    to_csv(sheet, personal=False)
"""

from planner.export.gpx import to_gpx, validate_gpx
from planner.export.pdfsheet import to_pdf
from planner.export.sheet import DaySheet, NoSuchDay, day_sheet
from planner.export.tabular import to_csv, to_geojson
from planner.export.walksheet import to_html

__all__ = ["DaySheet", "NoSuchDay", "day_sheet", "to_csv", "to_geojson", "to_gpx", "to_html", "to_pdf", "validate_gpx"]
