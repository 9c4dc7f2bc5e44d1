"""Import the files offices really have into one layer of a campaign.

* CSV / Excel (.xlsx) lists of households, enterprises, teams or cadres, with
  longitude/latitude columns for the point layers. Column names are matched to
  the schema: the canonical English names, the Chinese terms of the schema
  (户主姓名, 联系电话, 经度, 纬度, ...), common variants, and any explicit
  ``--columns old=new`` mapping.
* GeoJSON, Shapefile (also zipped), GeoPackage layers for any layer.
* OpenStreetMap files (.osm / .osm.pbf, read offline): roads for ``roads``,
  residential buildings as one household each for ``households``.

Coordinates in WGS-84, CGCS2000, GCJ-02 (Amap/Tencent), BD-09 (Baidu) or any
EPSG code are converted to WGS-84. Rows are never dropped: a row whose
coordinates cannot be read keeps an empty geometry, which validation reports.
"""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import Point

from geodata.crs import geoseries_to_wgs84, parse_crs, to_wgs84_lonlat
from geodata.errors import CampaignReadError, ImportFormatError
from geodata.io import read_layer
from geodata.schema import LAYERS

TABLE_SUFFIXES = (".csv", ".xlsx", ".xlsm", ".xls")
OSM_SUFFIXES = (".osm", ".pbf")

LON_NAMES = ("lon", "lng", "long", "longitude", "x", "经度", "东经", "gps经度", "坐标x")
LAT_NAMES = ("lat", "latitude", "y", "纬度", "北纬", "gps纬度", "坐标y")

#: header variants seen in office spreadsheets → canonical column (beyond the schema's own Chinese terms)
HEADER_ALIASES = {
    "户主": "head_name", "户主名": "head_name", "姓名": "name", "户主姓名": "head_name",
    "电话": "phone", "手机": "phone", "手机号": "phone", "联系方式": "phone", "联系电话": "phone",
    "住址": "address", "家庭住址": "address", "地址": "address",
    "人口": "members", "家庭人口数": "members", "人口数": "members", "家庭成员数": "members",
    "是否建档立卡": "poor", "是否建档立卡户": "poor", "贫困户": "poor", "建档立卡": "poor",
    "状态": "status", "类型": "kind", "户编号": "household_id", "户号": "household_id",
    "网格": "grid_id", "网格号": "grid_id", "村": "village_id", "村编号": "village_id",
    "是否列统": "listed", "列统": "listed", "规上企业": "listed", "企业编号": "enterprise_id",
    "单位": "unit", "工作组": "team_id", "工作组编号": "team_id", "级别": "level", "职务级别": "rank",
    "干部编号": "cadre_id",
}


def parse_column_map(text: str | None) -> dict[str, str]:
    """``"户主=head_name, 电话=phone"`` → mapping; raises ImportFormatError on bad syntax."""
    if not text:
        return {}
    out = {}
    for part in re.split(r"[,，;]", text):
        part = part.strip()
        if not part:
            continue
        if "=" not in part:
            raise ImportFormatError(f"--columns item {part!r} is not old=new (e.g. --columns 户主=head_name,电话=phone)")
        old, new = (s.strip() for s in part.split("=", 1))
        out[old] = new
    return out


def import_layer(source: str | Path, layer: str, *, crs=None, columns: dict[str, str] | None = None,
                 source_layer: str | None = None, lon: str | None = None, lat: str | None = None):
    """Read ``source`` as campaign layer ``layer`` → a frame in WGS-84 with canonical column names."""
    if layer not in LAYERS:
        raise CampaignReadError(f"unknown layer {layer!r}: use one of {', '.join(LAYERS)}")
    source = Path(source)
    if not source.exists():
        raise CampaignReadError(f"{source}: no such file")
    suffix = source.suffix.lower()
    spec = LAYERS[layer]
    if suffix in OSM_SUFFIXES:
        return _from_osm(source, layer)
    if suffix in TABLE_SUFFIXES:
        frame = _read_table(source, sheet=source_layer)
        frame = _rename(frame, layer, columns or {})
        if spec.geometry is None:
            return frame
        if spec.geometry != "Point":
            raise ImportFormatError(
                f"{source.name}: a table can only give point layers or tables; {layer!r} needs "
                f"{spec.geometry} shapes: import it from GeoJSON, Shapefile or GeoPackage")
        return _points_from_table(frame, source, crs=crs or "wgs84", lon=lon, lat=lat)
    frame = read_layer(source, source_layer)
    frame = _rename(frame, layer, columns or {})
    if spec.geometry is None:
        return pd.DataFrame(frame.drop(columns="geometry", errors="ignore"))
    if not isinstance(frame, gpd.GeoDataFrame):
        return _points_from_table(pd.DataFrame(frame), source, crs=crs or "wgs84", lon=lon, lat=lat)
    declared = crs if crs is not None else frame.crs
    if declared is None:
        raise ImportFormatError(
            f"{source.name}: the file declares no coordinate system; pass --crs wgs84|cgcs2000|gcj02|bd09|EPSG:N")
    geoms = geoseries_to_wgs84(frame.geometry, declared)
    return gpd.GeoDataFrame(frame.drop(columns=frame.geometry.name), geometry=geoms.values, crs=4326)


def _read_table(path: Path, *, sheet=None) -> pd.DataFrame:
    try:
        if path.suffix.lower() == ".csv":
            for enc in ("utf-8-sig", "gb18030"):
                try:
                    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding=enc)
                except UnicodeDecodeError:
                    continue
            raise ImportFormatError(f"{path.name}: cannot decode the CSV (tried UTF-8 and GB18030)")
        return pd.read_excel(path, sheet_name=sheet or 0, dtype=str, keep_default_na=False)
    except (ValueError, OSError, KeyError) as exc:
        raise CampaignReadError(f"{path}: cannot be read as a table ({str(exc).splitlines()[0] if str(exc) else exc})") from exc
    except Exception as exc:  # openpyxl raises its own types for corrupt workbooks
        raise CampaignReadError(f"{path}: cannot be read as a table ({type(exc).__name__}: {exc})") from exc


def _norm_header(h) -> str:
    return re.sub(r"[\s_\-（）()：:]", "", str(h)).lower()


#: public names: a CSV (UTF-8 or GB18030) or Excel sheet as text columns; a header normalised for matching
read_table = _read_table
norm_header = _norm_header


def _rename(frame, layer: str, explicit: dict[str, str]):
    """Map headers to canonical names: explicit map, exact names, the schema's Chinese terms, aliases."""
    spec = LAYERS[layer]
    canon = {c.name for c in spec.columns}
    lookup = {}
    for c in spec.columns:
        lookup[_norm_header(c.zh)] = c.name
    for k, v in HEADER_ALIASES.items():
        if v in canon:
            lookup.setdefault(_norm_header(k), v)
    if "name" in canon:
        lookup[_norm_header("名称")] = "name"
    mapping = {}
    for col in frame.columns:
        if col == "geometry":
            continue
        if col in explicit:
            mapping[col] = explicit[col]
        elif str(col).strip() in canon:
            mapping[col] = str(col).strip()
        elif _norm_header(col) in lookup and lookup[_norm_header(col)] not in mapping.values():
            mapping[col] = lookup[_norm_header(col)]
    unknown_targets = [v for k, v in explicit.items() if k not in frame.columns]
    if unknown_targets:
        missing = [k for k in explicit if k not in frame.columns]
        raise ImportFormatError(f"--columns names {', '.join(map(repr, missing))}, not in the file "
                                f"(columns: {', '.join(map(str, frame.columns))})")
    return frame.rename(columns=mapping)


def _find(frame, names, explicit):
    if explicit:
        if explicit not in frame.columns:
            raise ImportFormatError(f"column {explicit!r} not found (columns: {', '.join(map(str, frame.columns))})")
        return explicit
    norm = {_norm_header(c): c for c in frame.columns}
    for n in names:
        if _norm_header(n) in norm:
            return norm[_norm_header(n)]
    return None


def _points_from_table(frame: pd.DataFrame, source: Path, *, crs, lon=None, lat=None) -> gpd.GeoDataFrame:
    lon_col, lat_col = _find(frame, LON_NAMES, lon), _find(frame, LAT_NAMES, lat)
    if lon_col is None or lat_col is None:
        raise ImportFormatError(
            f"{source.name}: no longitude/latitude columns found (looked for {', '.join(LON_NAMES[:4])}/经度 and "
            f"{', '.join(LAT_NAMES[:3])}/纬度; columns: {', '.join(map(str, frame.columns))}); "
            "name them with --lon COLUMN --lat COLUMN")
    x = pd.to_numeric(frame[lon_col].astype(str).str.strip().str.replace("，", ".", regex=False), errors="coerce").to_numpy(float)
    y = pd.to_numeric(frame[lat_col].astype(str).str.strip().str.replace("，", ".", regex=False), errors="coerce").to_numpy(float)
    ok = np.isfinite(x) & np.isfinite(y)
    wx, wy = np.full_like(x, np.nan), np.full_like(y, np.nan)
    parse_crs(crs)  # a clear error for an unknown --crs before any work
    if ok.any():
        wx[ok], wy[ok] = to_wgs84_lonlat(x[ok], y[ok], crs)
    geoms = [Point(a, b) if good else None for a, b, good in zip(wx, wy, ok)]
    rest = frame.drop(columns=[lon_col, lat_col])
    return gpd.GeoDataFrame(rest.reset_index(drop=True), geometry=geoms, crs=4326)


def _from_osm(source: Path, layer: str):
    from geodata import osm

    if layer == "roads":
        roads = osm.read_roads(source, network="all")
        return roads
    if layer == "households":
        b = osm.read_buildings(source)
        if "residential" in b.columns:
            b = b[b["residential"].astype(bool)]
        pts = b.geometry.representative_point()
        ids = b["osm_id"].astype(str) if "osm_id" in b.columns else pd.Series(range(len(b))).astype(str)
        return gpd.GeoDataFrame({"household_id": ("osm" + ids).to_numpy(),
                                 "address": b.get("name", pd.Series([None] * len(b))).to_numpy()},
                                geometry=pts.to_numpy(), crs=b.crs).to_crs(4326)
    raise ImportFormatError(f"{source.name}: from an OpenStreetMap file zoufang imports 'roads' or 'households' "
                            f"(one per residential building), not {layer!r}")
