"""Load a province campaign file so that a county with bad data fails alone.

:func:`geodata.load_campaign` refuses a whole file when any feature is bad. A
province is many offices' data: :func:`load_province` validates the file,
traces every error to the county it lies in (by ids: household → grid →
village → town → county, team → county, cadre → team; else by the county
polygon holding the feature), drops those counties, validates the rest again
and returns it with one ``data`` failure per dropped county, naming its errors.
Errors that belong to no county (a missing layer or column, a feature in no
county) still refuse the file, as ``load_campaign`` does.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd

from geodata.load import campaign_from_validated, check_campaign
from geodata.validate import validate_layers
from planner.province.result import CountyFailure

#: id column per layer
_ID = {"counties": "county_id", "towns": "town_id", "villages": "village_id", "grids": "grid_id",
       "households": "household_id", "enterprises": "enterprise_id", "teams": "team_id", "cadres": "cadre_id"}


def load_province(path: str | Path, *, crs=None):
    """``(campaign, failures)``: the campaign of the counties whose data is valid, and a
    :class:`CountyFailure` (kind ``data``) for each county with data errors."""
    name = Path(path).stem
    checked = check_campaign(path, crs=crs)
    if checked.report.ok:
        return campaign_from_validated(checked, name=name), []
    layers = checked.layers
    county_of = _tracer(layers)
    bad: dict[str, list] = {}
    for f in checked.report.errors:
        cid = county_of(f.layer, f.feature_id)
        if cid is None:
            campaign_from_validated(checked, name=name)  # raises ValidationError listing every error
        bad.setdefault(cid, []).append(f)
    kept = _drop_counties(layers, county_of, set(bad))
    campaign = campaign_from_validated(validate_layers(kept, source=str(path)), name=name)
    names = {}
    if layers.get("counties") is not None:
        names = dict(zip(layers["counties"]["county_id"].astype(str), layers["counties"]["name"].astype(str)))
    failures = []
    for cid in sorted(bad):
        fs = bad[cid]
        more = f" ... and {len(fs) - 5} more" if len(fs) > 5 else ""
        failures.append(CountyFailure(cid, names.get(cid, cid), "data",
                                      f"{len(fs)} data error(s): " + "; ".join(str(f) for f in fs[:5]) + more))
    return campaign, failures


def _tracer(layers: dict):
    """``county_of(layer, feature_id)`` over the validated layers (None when it cannot tell)."""

    def column_map(layer, col):
        frame = layers.get(layer)
        if frame is None or col not in frame or _ID[layer] not in frame:
            return {}
        ok = frame[col].notna() & frame[_ID[layer]].notna()
        return dict(zip(frame.loc[ok, _ID[layer]].astype(str), frame.loc[ok, col].astype(str)))

    town_c = column_map("towns", "county_id")
    vil_t = column_map("villages", "town_id")
    grid_v = column_map("grids", "village_id")
    team_c = column_map("teams", "county_id")
    team_t = column_map("teams", "town_id")
    cadre_t = column_map("cadres", "team_id")
    point_g = {layer: column_map(layer, "grid_id") for layer in ("households", "enterprises")}
    point_v = {layer: column_map(layer, "village_id") for layer in ("households", "enterprises")}
    counties = layers.get("counties")
    known = set(counties["county_id"].astype(str)) if counties is not None else set(town_c.values())

    def by_village(vid):
        return town_c.get(vil_t.get(vid)) if vid is not None else None

    def by_polygon(layer, fid):
        frame = layers.get(layer)
        if counties is None or frame is None or not isinstance(frame, gpd.GeoDataFrame) or _ID[layer] not in frame:
            return None
        rows = frame[frame[_ID[layer]].astype(str) == fid]
        rows = rows[rows.geometry.notna() & ~rows.geometry.is_empty]
        if not len(rows):
            return None
        pt = rows.geometry.iloc[[0]].representative_point()
        hit = counties[counties.geometry.contains(pt.iloc[0])]
        return str(hit["county_id"].iloc[0]) if len(hit) else None

    def county_of(layer, fid):
        if fid is None:
            return None
        fid = str(fid)
        cid = None
        if layer == "counties":
            cid = fid
        elif layer == "towns":
            cid = town_c.get(fid)
        elif layer == "villages":
            cid = by_village(fid)
        elif layer == "grids":
            cid = by_village(grid_v.get(fid))
        elif layer in point_g:
            cid = by_village(grid_v.get(point_g[layer].get(fid))) or by_village(point_v[layer].get(fid))
        elif layer == "teams":
            cid = team_c.get(fid) or town_c.get(team_t.get(fid))
        elif layer == "cadres":
            tid = cadre_t.get(fid)
            cid = (team_c.get(tid) or town_c.get(team_t.get(tid))) if tid else None
        if cid is None and layer not in ("teams", "cadres"):
            cid = by_polygon(layer, fid)
        return cid if cid in known else None

    return county_of


def _drop_counties(layers: dict, county_of, drop: set[str]) -> dict:
    """The layers without the rows of the dropped counties."""
    out = {}
    for name, frame in layers.items():
        if name not in _ID or frame is None or _ID[name] not in frame:
            out[name] = frame
            continue
        ids = frame[_ID[name]].astype(str)
        cids = pd.Series([county_of(name, i) for i in ids], index=frame.index)
        out[name] = frame[~cids.isin(drop)].reset_index(drop=True)
    return out
