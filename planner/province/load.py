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
import numpy as np
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


def _maps(layers: dict) -> dict:
    def column_map(layer, col):
        frame = layers.get(layer)
        if frame is None or col not in frame or _ID[layer] not in frame:
            return pd.Series(dtype=object)
        ok = frame[col].notna() & frame[_ID[layer]].notna()
        return pd.Series(frame.loc[ok, col].astype(str).to_numpy(), index=frame.loc[ok, _ID[layer]].astype(str))

    m = {"town_c": column_map("towns", "county_id"), "vil_t": column_map("villages", "town_id"),
         "grid_v": column_map("grids", "village_id"), "team_c": column_map("teams", "county_id"),
         "team_t": column_map("teams", "town_id"), "cadre_t": column_map("cadres", "team_id")}
    for layer in ("households", "enterprises"):
        m[f"{layer}_g"] = column_map(layer, "grid_id")
        m[f"{layer}_v"] = column_map(layer, "village_id")
    for k, v in m.items():  # a duplicated id (itself an error) keeps its first row
        m[k] = v[~v.index.duplicated()]
    return m


def _counties_of(layers: dict, maps: dict, layer: str, ids: pd.Series) -> pd.Series:
    """County id of each feature id of ``layer`` (NaN where it cannot tell), by ids, then by polygon."""
    ids = ids.astype(str).reset_index(drop=True)
    town_c = maps["town_c"]

    def by_village(vids):
        return vids.map(maps["vil_t"]).map(town_c)

    def team_county(tids):
        return tids.map(maps["team_c"]).fillna(tids.map(maps["team_t"]).map(town_c))

    if layer == "counties":
        out = ids.astype(object)
    elif layer == "towns":
        out = ids.map(town_c)
    elif layer == "villages":
        out = by_village(ids)
    elif layer == "grids":
        out = by_village(ids.map(maps["grid_v"]))
    elif layer in ("households", "enterprises"):
        out = by_village(ids.map(maps[f"{layer}_g"]).map(maps["grid_v"])).fillna(
            by_village(ids.map(maps[f"{layer}_v"])))
    elif layer == "teams":
        out = team_county(ids)
    elif layer == "cadres":
        out = team_county(ids.map(maps["cadre_t"]))
    else:
        out = pd.Series([None] * len(ids), dtype=object)
    counties, frame = layers.get("counties"), layers.get(layer)
    todo = out.isna().to_numpy()
    if todo.any() and counties is not None and isinstance(frame, gpd.GeoDataFrame) and _ID[layer] in frame:
        geom = frame.drop_duplicates(_ID[layer]).set_index(frame.drop_duplicates(_ID[layer])[_ID[layer]].astype(str))
        pts = geom.geometry.reindex(ids[todo].to_numpy())
        ok = pts.notna().to_numpy() & ~pts.is_empty.to_numpy()
        if ok.any():
            pt = gpd.GeoDataFrame(geometry=pts[ok].representative_point().to_numpy(), crs=frame.crs)
            hit = gpd.sjoin(pt, counties[["county_id", "geometry"]].to_crs(frame.crs), how="left", predicate="within")
            hit = hit[~hit.index.duplicated()]["county_id"].reindex(range(int(ok.sum())))
            fill = out.to_numpy(dtype=object)
            fill[np.flatnonzero(todo)[ok]] = hit.to_numpy(dtype=object)
            out = pd.Series(fill, dtype=object)
    known = set(counties["county_id"].astype(str)) if counties is not None else set(town_c.to_numpy())
    return out.where(out.isin(known))


def _tracer(layers: dict):
    """``county_of(layer, feature_id)`` over the validated layers (None when it cannot tell)."""
    maps = _maps(layers)

    def county_of(layer, fid):
        if fid is None or layer not in _ID:
            return None
        cid = _counties_of(layers, maps, layer, pd.Series([fid])).iloc[0]
        return None if pd.isna(cid) else str(cid)

    county_of.maps = maps
    return county_of


def _drop_counties(layers: dict, county_of, drop: set[str]) -> dict:
    """The layers without the rows of the dropped counties."""
    out = {}
    for name, frame in layers.items():
        if name not in _ID or frame is None or _ID[name] not in frame:
            out[name] = frame
            continue
        cids = _counties_of(layers, county_of.maps, name, frame[_ID[name]])
        out[name] = frame[~cids.isin(drop).to_numpy()].reset_index(drop=True)
    return out
