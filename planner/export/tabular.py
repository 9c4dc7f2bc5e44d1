"""GeoJSON and CSV of a day, for other tools: no names or phones unless ``personal=True``."""

from __future__ import annotations

import io
import json

from planner.export.sheet import PERSONAL_COLUMNS, DaySheet

COLUMNS = ("seq", "mode", "arrive", "depart", "entity_type", "entity_id", "village_id", "village", "address", "kind",
           "reason", "reason_zh", "must", "joint", "partners", "travel_m", "lon", "lat")


def _columns(personal: bool) -> list[str]:
    cols = list(COLUMNS)
    if personal:
        cols[6:6] = list(PERSONAL_COLUMNS)
    return cols


def to_csv(sheet: DaySheet, *, personal: bool = False) -> str:
    """CSV (UTF-8 with BOM, so Excel opens the Chinese text), one row per stop."""
    frame = sheet.stops[_columns(personal)].copy()
    frame.insert(0, "date", sheet.date)
    frame.insert(0, "cadre_id", sheet.cadre_id)
    buf = io.StringIO()
    frame.to_csv(buf, index=False)
    return "\ufeff" + buf.getvalue()


def to_geojson(sheet: DaySheet, *, personal: bool = False) -> str:
    """A FeatureCollection: one Point per stop (phone visits without geometry) and the route LineString."""
    feats = []
    for r in sheet.stops[_columns(personal)].to_dict("records"):
        props = {k: (v.item() if hasattr(v, "item") else v) for k, v in r.items() if k not in ("lon", "lat")}
        props.update(cadre_id=sheet.cadre_id, date=sheet.date)
        geom = None if r["mode"] == "phone" else {"type": "Point", "coordinates": [r["lon"], r["lat"]]}
        feats.append({"type": "Feature", "geometry": geom, "properties": props})
    if sheet.route:
        feats.append({"type": "Feature", "geometry": {"type": "LineString", "coordinates": [list(p) for p in sheet.route]},
                      "properties": {"cadre_id": sheet.cadre_id, "date": sheet.date, "kind": "route",
                                     **{k: (v.item() if hasattr(v, "item") else v) for k, v in sheet.totals.items()}}})
    return json.dumps({"type": "FeatureCollection", "features": feats}, ensure_ascii=False, indent=1)
