"""Validation a planner can act on.

:func:`validate_layers` checks raw campaign layers against :mod:`geodata.schema`
and against each other, collects *every* finding (layer, feature id, rule,
message, fix) and returns them together with the cleaned layers: normalised
columns, WGS-84 checked, projected into one metric CRS, with grid/village/town
ids derived spatially where they were missing. It never raises on bad data.

Rules (the ``rule`` of each finding):
missing_layer, empty_layer, missing_column, missing_id, duplicate_id, wrong_geometry,
empty_geometry, invalid_geometry, missing_crs, unknown_crs, swapped_coordinates,
outside_region, grid_overlap, village_overlap, outside_grids, on_boundary,
in_several_grids, unknown_grid, unknown_village, unknown_town, unknown_county, unknown_team,
grid_outside_villages, team_without_cadres, bad_base, unknown_<column>,
bad_<column>, grid_mismatch (warning), village_mismatch (warning).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from geodata.crs import geoseries_to_wgs84, metric_crs_for, parse_crs
from geodata.errors import CRSError
from geodata.findings import Collector, Report
from geodata.normalise import clean_id, normalise_layer
from geodata.schema import LAYERS, POINT_LAYERS

#: overlaps smaller than this (m²) are slivers from digitising and ignored
OVERLAP_TOLERANCE_M2 = 1.0
#: a point closer than this (m) to a grid boundary is "on the boundary"
BOUNDARY_TOLERANCE_M = 0.05
#: points farther than this (m) from the villages' extent are "outside the region"
REGION_MARGIN_M = 5_000.0


@dataclass(frozen=True)
class Validated:
    report: Report
    #: cleaned layers in ``crs`` (metric); absent layers are missing
    layers: dict
    crs: CRS | None


def validate_layers(raw: dict, *, crs=None, fix: bool = False, source: str = "") -> Validated:
    """Check raw layers (as read by :func:`geodata.io.read_layers`)."""
    out = Collector()
    declared = None
    if crs is not None:
        declared = parse_crs(crs)  # CRSError for an unknown value: the caller's input, not data
    layers: dict = {}
    for name, layer in LAYERS.items():
        if name not in raw:
            if layer.required:
                out.error(name, "missing_layer", f"the required layer {name!r} ({layer.zh}) is missing",
                          f"add a layer named {name!r} with columns {', '.join(c.name for c in layer.columns)} "
                          "(`zoufang template FILE.gpkg` writes an empty one)")
            continue
        frame = _check_columns(name, raw[name], out)
        if frame is None:
            continue
        if layer.required and len(frame) == 0:
            out.error(name, "empty_layer", f"the required layer {name!r} ({layer.zh}) has no features",
                      f"fill in the {name} (see README 'The campaign file')")
        frame = normalise_layer(name, frame, out)
        _check_ids(name, frame, out)
        if layer.geometry is not None:
            frame = _check_geometry(name, frame, out, fix=fix)
            frame = _to_wgs84(name, frame, out, declared)
        layers[name] = frame

    _check_coordinates(layers, out)
    metric = _metric_crs(layers)
    if metric is not None:
        for name in list(layers):
            if isinstance(layers[name], gpd.GeoDataFrame) and layers[name].crs is not None:
                layers[name] = layers[name].to_crs(metric)
    _check_tables(layers, out)
    if metric is not None:
        _check_overlaps(layers, "grids", "grid_overlap", out)
        _check_overlaps(layers, "villages", "village_overlap", out)
        _derive_grid_villages(layers, out)
        _derive_village_towns(layers, out)
        _check_town_counties(layers, out)
        for name in POINT_LAYERS:
            _check_points_in_grids(layers, name, out)
        _team_bases(layers, metric, out)
    return Validated(out.report(source), layers, metric)


# --- columns, ids ---------------------------------------------------------------------------


def _check_columns(name, frame, out: Collector):
    layer = LAYERS[name]
    frame = frame.copy()
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in layer.required_columns if c not in frame.columns]
    for col in missing:
        spec = layer.column(col)
        close = difflib.get_close_matches(col, [c for c in frame.columns if c != "geometry"], n=1)
        hint = f"; did you mean {close[0]!r}? rename it" if close else ""
        out.error(name, "missing_column", f"required column {col!r} ({spec.zh}) is missing{hint}",
                  f"add the column {col!r}: {spec.doc}", column=col)
    for col in (c for c in layer.columns if c.derivable and c.name not in frame.columns):
        frame[col.name] = None
    if layer.id_column in missing:
        return None
    return frame


def _check_ids(name, frame, out: Collector):
    id_col = LAYERS[name].id_column
    if id_col is None:
        return
    ids = frame[id_col]
    for pos in np.flatnonzero(ids.isna().to_numpy()):
        out.error(name, "missing_id", f"row {pos + 1} has no {id_col}", f"give every feature a unique {id_col}",
                  f"row {pos + 1}")
    counts = ids.dropna().value_counts()
    for value, n in counts[counts > 1].items():
        out.error(name, "duplicate_id", f"{id_col} {value!r} is used by {n} features",
                  f"make every {id_col} unique (each {name[:-1]} once)", value, count=int(n))


def _ids(frame, name):
    id_col = LAYERS[name].id_column
    if id_col and id_col in frame.columns:
        return [v if v is not None else f"row {i + 1}" for i, v in enumerate(frame[id_col].tolist())]
    return [f"row {i + 1}" for i in range(len(frame))]


# --- geometry --------------------------------------------------------------------------------

_GEOM_FAMILY = {"Polygon": ("Polygon", "MultiPolygon"), "Point": ("Point",), "LineString": ("LineString", "MultiLineString")}


def _check_geometry(name, frame, out: Collector, *, fix: bool):
    layer = LAYERS[name]
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.name not in frame.columns:
        out.error(name, "wrong_geometry", f"layer {name!r} has no geometry; it needs {layer.geometry} features",
                  f"save {name!r} as a {layer.geometry} layer (for CSV/Excel use `zoufang import` with lon/lat columns)")
        return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([None] * len(frame)), crs=None)
    ids = _ids(frame, name)
    geoms = frame.geometry.to_numpy()
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    for i in np.flatnonzero(missing):
        out.error(name, "empty_geometry", "the feature has no geometry (empty or null)",
                  "draw its shape/location or delete the row", ids[i])
    types = shapely.get_type_id(geoms)
    allowed = _GEOM_FAMILY[layer.geometry]
    type_names = np.array(["Point", "LineString", "LinearRing", "Polygon", "MultiPoint", "MultiLineString",
                           "MultiPolygon", "GeometryCollection"])
    for i in np.flatnonzero(~missing):
        tname = type_names[types[i]] if types[i] >= 0 else "None"
        if tname not in allowed:
            out.error(name, "wrong_geometry", f"geometry is a {tname}, expected {' or '.join(allowed)}",
                      f"redraw it as a {layer.geometry}", ids[i])
    invalid = ~missing & ~shapely.is_valid(geoms)
    if invalid.any():
        reasons = shapely.is_valid_reason(geoms[invalid])
        new = geoms.copy()
        for i, reason in zip(np.flatnonzero(invalid), reasons):
            if fix:
                repaired = _make_valid(geoms[i], layer.geometry)
                before, after = shapely.area(geoms[i]), shapely.area(repaired)
                out.fixed(name, "invalid_geometry", f"invalid geometry ({reason}) repaired with make_valid",
                          f"check the repaired shape (area {before:.6g} → {after:.6g} in layer units)", ids[i],
                          reason=reason)
                new[i] = repaired
            else:
                out.error(name, "invalid_geometry", f"invalid geometry: {reason}",
                          "fix the shape in your GIS, or run `zoufang validate --fix` to repair it with make_valid",
                          ids[i], reason=reason)
        frame = frame.copy()
        frame[frame.geometry.name] = gpd.GeoSeries(new, index=frame.index, crs=frame.crs)
    return frame


def _make_valid(geom, family):
    fixed = shapely.make_valid(geom)
    if family == "Polygon" and fixed.geom_type == "GeometryCollection":
        polys = [g for g in fixed.geoms if g.geom_type in ("Polygon", "MultiPolygon")]
        fixed = shapely.union_all(polys) if polys else fixed
    return fixed


def _to_wgs84(name, frame, out: Collector, declared):
    crs = frame.crs
    source = crs if crs is not None else declared
    if source is None:
        out.error(name, "missing_crs", f"layer {name!r} has no coordinate system",
                  "assign one in your GIS, or pass --crs wgs84|cgcs2000|gcj02|bd09|EPSG:N")
        return frame.set_crs(None, allow_override=True) if frame.crs is not None else frame
    try:
        wgs = geoseries_to_wgs84(frame.geometry, source)
    except (CRSError, Exception) as exc:  # pyproj raises several types for unusable CRSs
        out.error(name, "unknown_crs", f"coordinate system {str(source)[:80]!r} cannot be converted to WGS-84 ({exc})",
                  "re-save the layer in WGS-84 (EPSG:4326) or CGCS2000 (EPSG:4490)")
        return frame.set_crs(None, allow_override=True)
    result = gpd.GeoDataFrame(frame.drop(columns=frame.geometry.name), geometry=wgs.values, crs=4326, index=frame.index)
    return result


# --- coordinates -----------------------------------------------------------------------------


def _check_coordinates(layers, out: Collector):
    """Swapped latitude/longitude and points far outside the campaign's region (WGS-84)."""
    region = None
    for area_layer in ("villages", "towns", "grids"):
        f = layers.get(area_layer)
        if f is not None and f.crs is not None and not f.empty:
            g = f.geometry[~(f.geometry.isna() | f.geometry.is_empty)]
            if len(g) and np.all(np.abs(g.total_bounds[[1, 3]]) <= 90):
                region = g.total_bounds
                break
    for name, frame in list(layers.items()):
        if not isinstance(frame, gpd.GeoDataFrame) or frame.crs is None or frame.empty:
            continue
        if LAYERS[name].geometry != "Point":
            b = frame.total_bounds
            if np.isfinite(b).all() and (abs(b[1]) > 90 or abs(b[3]) > 90):
                out.error(name, "swapped_coordinates", "latitudes beyond ±90°: longitude and latitude look swapped",
                          "swap the X and Y columns (X = longitude/经度, Y = latitude/纬度) and import again")
            continue
        ok = ~(frame.geometry.isna() | frame.geometry.is_empty)
        x = np.full(len(frame), np.nan)
        y = np.full(len(frame), np.nan)
        x[ok.to_numpy()] = frame.geometry[ok].x.to_numpy()
        y[ok.to_numpy()] = frame.geometry[ok].y.to_numpy()
        ids = _ids(frame, name)
        if region is not None:
            mx = REGION_MARGIN_M / 111_000.0
            minx, miny, maxx, maxy = region[0] - mx, region[1] - mx, region[2] + mx, region[3] + mx
            inside = (x >= minx) & (x <= maxx) & (y >= miny) & (y <= maxy)
            swapped = (y >= minx) & (y <= maxx) & (x >= miny) & (x <= maxy)
        else:
            inside = np.abs(y) <= 90
            swapped = (np.abs(x) <= 90) & (np.abs(y) > 90)
        bad = ok.to_numpy() & ~inside
        for i in np.flatnonzero(bad):
            if swapped[i]:
                out.error(name, "swapped_coordinates",
                          f"at ({x[i]:.6f}, {y[i]:.6f}) longitude and latitude look swapped",
                          "swap X/Y (X = longitude/经度, Y = latitude/纬度) for this feature", ids[i])
            else:
                out.error(name, "outside_region",
                          f"at ({x[i]:.6f}, {y[i]:.6f}), outside the campaign's region"
                          + (f" ({region[0]:.4f}..{region[2]:.4f} E, {region[1]:.4f}..{region[3]:.4f} N)" if region is not None else ""),
                          "check the coordinates and their coordinate system (--crs)", ids[i])
        if bad.any():
            frame = frame.copy()
            geom = frame.geometry.to_numpy().copy()
            geom[bad] = None  # kept as a finding; excluded from the spatial checks below
            layers[name] = frame.set_geometry(gpd.GeoSeries(geom, index=frame.index, crs=frame.crs))


def _metric_crs(layers):
    for name in ("households", "villages", "grids", "towns", "enterprises"):
        f = layers.get(name)
        if f is None or f.crs is None or f.empty:
            continue
        c = f.geometry[~(f.geometry.isna() | f.geometry.is_empty)]
        if not len(c):
            continue
        pts = c.representative_point()
        try:
            return metric_crs_for(pts.x.to_numpy(), pts.y.to_numpy())
        except CRSError:
            continue
    return None


# --- tables ----------------------------------------------------------------------------------


def _check_tables(layers, out: Collector):
    teams, cadres = layers.get("teams"), layers.get("cadres")
    if teams is None or cadres is None:
        return
    team_ids = set(teams["team_id"].dropna())
    for cid, tid in zip(_ids(cadres, "cadres"), cadres["team_id"].tolist()):
        if tid is None:
            out.error("cadres", "unknown_team", "the cadre has no team_id", "put the cadre in a team", cid)
        elif tid not in team_ids:
            out.error("cadres", "unknown_team", f"team_id {tid!r} is not in the teams layer",
                      f"use one of the team ids ({_sample(team_ids)}) or add the team", cid, team_id=tid)
    staffed = set(cadres["team_id"].dropna())
    for tid in sorted(team_ids - staffed):
        out.error("teams", "team_without_cadres", "the team has no cadres",
                  "add its cadres to the cadres layer (team_id = this id) or remove the team", tid)


def _team_bases(layers, metric, out: Collector):
    teams = layers.get("teams")
    if teams is None:
        return
    teams = teams.copy()
    lon = pd.to_numeric(teams.get("base_lon"), errors="coerce") if "base_lon" in teams else pd.Series(np.nan, index=teams.index)
    lat = pd.to_numeric(teams.get("base_lat"), errors="coerce") if "base_lat" in teams else pd.Series(np.nan, index=teams.index)
    ids = _ids(teams, "teams")
    for i, (a, b) in enumerate(zip(lon.isna(), lat.isna())):
        if a != b:
            out.error("teams", "bad_base", "only one of base_lon/base_lat is given",
                      "give both (WGS-84 degrees) or neither", ids[i])
    from pyproj import Transformer

    tr = Transformer.from_crs(4326, metric, always_xy=True)
    has = (~lon.isna() & ~lat.isna()).to_numpy()
    bx, by = np.full(len(teams), np.nan), np.full(len(teams), np.nan)
    if has.any():
        bx[has], by[has] = tr.transform(lon.to_numpy(dtype=float)[has], lat.to_numpy(dtype=float)[has])
    teams["base_x"], teams["base_y"] = bx, by
    layers["teams"] = teams


def _sample(values, n=5):
    vals = sorted(map(str, values))
    return ", ".join(vals[:n]) + (", ..." if len(vals) > n else "")


# --- spatial relations (metric CRS) -----------------------------------------------------------


def _valid_geoms(frame):
    g = frame.geometry.to_numpy()
    return ~(shapely.is_missing(g) | shapely.is_empty(g)) & shapely.is_valid(g)


def _check_overlaps(layers, name, rule, out: Collector):
    frame = layers.get(name)
    if frame is None or frame.empty:
        return
    ok = _valid_geoms(frame)
    geoms = frame.geometry.to_numpy()
    ids = _ids(frame, name)
    idx = np.flatnonzero(ok)
    tree = shapely.STRtree(geoms[idx])
    left, right = tree.query(geoms[idx], predicate="intersects")
    keep = left < right
    left, right = idx[left[keep]], idx[right[keep]]
    if not len(left):
        return
    areas = shapely.area(shapely.intersection(geoms[left], geoms[right]))
    for a, b, area in zip(left, right, areas):
        if area > OVERLAP_TOLERANCE_M2:
            out.error(name, rule, f"overlaps {name[:-1]} {ids[b]} by {area:,.0f} m²",
                      f"redraw the shared boundary so each place belongs to one {name[:-1]} (不交叉)", ids[a],
                      other=str(ids[b]), area_m2=float(area))


def _derive_grid_villages(layers, out: Collector):
    grids, villages = layers.get("grids"), layers.get("villages")
    if grids is None or villages is None:
        return
    village_ids = set(villages["village_id"].dropna())
    gids = _ids(grids, "grids")
    grids = grids.copy()
    derived = grids["village_id"].tolist()
    gok, vok = _valid_geoms(grids), _valid_geoms(villages)
    vgeoms = villages.geometry.to_numpy()
    vtree = shapely.STRtree(vgeoms)
    for i, g in enumerate(grids.geometry.to_numpy()):
        given = derived[i]
        if given is not None and given not in village_ids:
            out.error("grids", "unknown_village", f"village_id {given!r} is not in the villages layer",
                      f"use one of ({_sample(village_ids)}) or leave it empty to derive it", gids[i])
            continue
        if not gok[i]:
            continue
        cand = [j for j in vtree.query(g, predicate="intersects") if vok[j]]
        if not cand:
            out.error("grids", "grid_outside_villages", "the grid lies in no village",
                      "draw the grid inside its village or add the village", gids[i])
            continue
        shares = shapely.area(shapely.intersection(g, vgeoms[cand]))
        best = cand[int(np.argmax(shares))]
        best_id = villages["village_id"].iloc[best]
        if given is None:
            derived[i] = best_id
        elif given != best_id and shares.max() > 0.5 * shapely.area(g):
            out.warn("grids", "village_mismatch",
                     f"village_id is {given!r} but the grid lies mostly in village {best_id!r}",
                     "check the grid's village_id", gids[i])
    grids["village_id"] = pd.array(derived, dtype=object)
    layers["grids"] = grids


def _check_town_counties(layers, out: Collector):
    towns, counties = layers.get("towns"), layers.get("counties")
    if towns is None or counties is None or "county_id" not in towns.columns:
        return
    known = set(counties["county_id"].dropna())
    for tid, cid in zip(_ids(towns, "towns"), towns["county_id"].tolist()):
        if cid is not None and cid not in known:
            out.error("towns", "unknown_county", f"county_id {cid!r} is not in the counties layer",
                      f"use one of ({_sample(known)}) or add the county", tid)


def _derive_village_towns(layers, out: Collector):
    villages, towns = layers.get("villages"), layers.get("towns")
    if villages is None:
        return
    villages = villages.copy()
    vids = _ids(villages, "villages")
    town_ids = set(towns["town_id"].dropna()) if towns is not None else set()
    values = villages["town_id"].tolist()
    if towns is not None:
        tgeoms = towns.geometry.to_numpy()
        tree = shapely.STRtree(tgeoms)
        tok = _valid_geoms(towns)
    for i, (given, g) in enumerate(zip(values, villages.geometry.to_numpy())):
        if given is not None:
            if towns is not None and given not in town_ids:
                out.error("villages", "unknown_town", f"town_id {given!r} is not in the towns layer",
                          f"use one of ({_sample(town_ids)}) or add the town", vids[i])
            continue
        if towns is None or g is None or shapely.is_empty(g) or not shapely.is_valid(g):
            out.error("villages", "missing_column", "the village has no town_id and there is no towns layer to derive it from",
                      "fill town_id, or add a towns layer", vids[i])
            continue
        cand = [j for j in tree.query(g, predicate="intersects") if tok[j]]
        if not cand:
            out.error("villages", "unknown_town", "the village has no town_id and lies in no town",
                      "fill town_id or draw the village inside its town", vids[i])
            continue
        shares = shapely.area(shapely.intersection(g, tgeoms[cand]))
        values[i] = towns["town_id"].iloc[cand[int(np.argmax(shares))]]
    villages["town_id"] = pd.array(values, dtype=object)
    layers["villages"] = villages


def _check_points_in_grids(layers, name, out: Collector):
    """一户不漏 starts here: every household/enterprise strictly inside exactly one grid."""
    pts, grids = layers.get(name), layers.get("grids")
    if pts is None or grids is None or pts.empty:
        return
    pts = pts.copy()
    ids = _ids(pts, name)
    gids = grids["grid_id"].tolist()
    grid_set = set(g for g in gids if g is not None)
    gvill = dict(zip(gids, grids["village_id"].tolist()))
    ggeoms = grids.geometry.to_numpy()
    gok = _valid_geoms(grids)
    tree = shapely.STRtree(np.where(gok, ggeoms, None))
    pgeoms = pts.geometry.to_numpy()
    pok = ~(shapely.is_missing(pgeoms) | shapely.is_empty(pgeoms))
    p_idx, g_idx = tree.query(pgeoms, predicate="intersects")  # includes points on a boundary
    hits: dict[int, list[int]] = {}
    for p, g in zip(p_idx, g_idx):
        hits.setdefault(int(p), []).append(int(g))
    boundary = shapely.boundary(ggeoms)
    grid_col, village_col = pts["grid_id"].tolist(), pts["village_id"].tolist()
    unit = "household" if name == "households" else "enterprise"
    for i in range(len(pts)):
        given = grid_col[i]
        if given is not None and given not in grid_set:
            out.error(name, "unknown_grid", f"grid_id {given!r} is not in the grids layer",
                      f"use an existing grid id ({_sample(grid_set)}) or leave it empty to derive it", ids[i])
        if not pok[i]:
            continue
        found = hits.get(i, [])
        on_edge = [g for g in found if shapely.distance(pgeoms[i], boundary[g]) <= BOUNDARY_TOLERANCE_M]
        inside = [g for g in found if g not in on_edge]
        if not found:
            dist, nearest = _nearest(tree, pgeoms[i], gids)
            out.error(name, "outside_grids",
                      f"the {unit} lies in no grid (nearest: {nearest}, {dist:,.0f} m away)",
                      "draw a grid that covers it, or correct its location (一户不漏: every "
                      f"{unit} must belong to a grid)", ids[i], nearest=nearest, distance_m=dist)
            continue
        if on_edge and not inside:
            out.error(name, "on_boundary",
                      f"the {unit} lies on the boundary of grid(s) {', '.join(gids[g] for g in on_edge)}",
                      "move the point inside one grid or set its grid_id", ids[i])
            if given is None:
                continue
        if len(inside) > 1:
            out.error(name, "in_several_grids",
                      f"the {unit} lies in {len(inside)} overlapping grids ({', '.join(gids[g] for g in inside)})",
                      "fix the grid overlap (see grid_overlap) so it belongs to one grid", ids[i])
        spatial = gids[inside[0]] if inside else None
        if given is None:
            grid_col[i] = spatial
        elif spatial is not None and given != spatial and given in grid_set:
            out.warn(name, "grid_mismatch", f"grid_id is {given!r} but the point lies in grid {spatial!r}",
                     "check the location or the grid_id (the grid_id given is kept)", ids[i])
        gid = grid_col[i]
        if gid is not None and gid in gvill:
            if village_col[i] is None:
                village_col[i] = gvill[gid]
            elif village_col[i] != gvill[gid]:
                out.warn(name, "village_mismatch",
                         f"village_id is {village_col[i]!r} but its grid {gid} is in village {gvill[gid]!r}",
                         "check the village_id (the grid's village is used)", ids[i])
                village_col[i] = gvill[gid]
    pts["grid_id"] = pd.array(grid_col, dtype=object)
    pts["village_id"] = pd.array(village_col, dtype=object)
    layers[name] = pts


def _nearest(tree, geom, gids):
    idx = tree.nearest(geom)
    if idx is None:
        return float("nan"), "none"
    dist = float(shapely.distance(geom, tree.geometries[idx]))
    return dist, str(gids[int(idx)])


__all__ = ["Validated", "validate_layers", "clean_id"]
