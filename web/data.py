"""The web app's one door to campaign data.

Everything the site shows comes through :func:`get_data`, which loads the
campaign (and the optional plan) once per app and keeps it, with the layers
the browser needs already in WGS-84 and already stripped to their public
columns. Pages and the JSON API never touch a raw :class:`~geodata.Campaign`
frame, so personal data cannot leak by accident: a column reaches the browser
only if :data:`PUBLIC_COLUMNS` names it.

Configuration read here (see :func:`web.create_app`):

``CAMPAIGN``
    A ready :class:`~geodata.Campaign` (tests, notebooks); wins over the path.
``CAMPAIGN_PATH``
    A campaign GeoPackage, read with :func:`geodata.load_campaign`.
``PLAN`` / ``PLAN_PATH``
    The assignment table (a DataFrame) or a plan GeoPackage with an
    ``assignment`` layer: ``entity_type`` (grid | household | enterprise),
    ``entity_id``, ``team_id``, ``cadre_id``.
``TILE_CRS``
    ``"wgs84"`` (default) or ``"gcj02"``: the datum of the configured tile
    server. Chinese commercial tiles (Amap, Tencent) are drawn in GCJ-02, so
    our WGS-84 layers are shifted to GCJ-02 for display to sit on them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from flask import Flask, current_app, has_request_context

from geodata.campaign import Campaign
from geodata.errors import CampaignReadError
from geodata.schema import LAYERS

#: The columns of each layer the map API serves to every role allowed to use
#: it. Household names, phone numbers, addresses and poverty status are
#: personal data: they never go through the map API; pages that show them
#: check the role (planner/admin in full, the visiting cadre for their own
#: stops, leaders masked).
PUBLIC_COLUMNS: dict[str, tuple[str, ...]] = {
    "towns": ("town_id", "name"),
    "villages": ("village_id", "name", "town_id", "kind", "weak", "resettlement"),
    "grids": ("grid_id", "village_id"),
    "roads": ("highway", "name"),
    "households": ("household_id", "grid_id", "village_id", "status"),
    "enterprises": ("enterprise_id", "name", "grid_id", "village_id", "listed"),
}
#: Layers served by the API, in drawing order (bottom first).
MAP_LAYERS = ("towns", "villages", "grids", "roads", "households", "enterprises")
#: Point layers: served as points when zoomed in, as counts per unit otherwise.
POINT_LAYERS = ("households", "enterprises")
#: Units point layers are counted by, coarsest first.
AGGREGATION_LEVELS = ("town", "village", "grid")
#: Road classes kept at low zoom (OSM ``highway`` values).
MAJOR_HIGHWAYS = frozenset(
    "motorway trunk primary secondary tertiary motorway_link trunk_link "
    "primary_link secondary_link tertiary_link".split()
)
#: Coordinates sent to the browser are rounded to this many decimals (~0.1 m).
COORD_DECIMALS = 6
#: Lines and polygons are simplified for the map with this tolerance (metres,
#: topology kept): it drops most vertices of surveyed boundaries and OSM
#: ways, with no change visible even at zoom 19. The API serves maps, not
#: survey data.
SIMPLIFY_METRES = 1.0

_EXTENSION = "zoufang.data"
_LOCK = threading.Lock()


class NoCampaignError(RuntimeError):
    """The app was started without a campaign (no ``CAMPAIGN``/``CAMPAIGN_PATH``)."""


class LayerQueryError(ValueError):
    """A bad layer request (unknown layer, malformed bbox, bad zoom): the
    message says what was wrong and what is allowed."""


class UnknownLayerError(LayerQueryError, LookupError):
    """The requested layer is not one the API serves."""


@dataclass(frozen=True)
class Zoom:
    """Which zoom levels show what. Point layers are counted by town below
    ``village``, by village below ``grid``, by grid below ``points``, and are
    points from ``points`` on. Roads below ``all_roads`` are only the major
    classes."""

    village: int = 11
    grid: int = 13
    points: int = 16
    all_roads: int = 14

    @classmethod
    def from_config(cls, config) -> Zoom:
        return cls(
            village=int(config.get("ZOOM_VILLAGE_COUNTS", cls.village)),
            grid=int(config.get("ZOOM_GRID_COUNTS", cls.grid)),
            points=int(config.get("ZOOM_POINTS", cls.points)),
            all_roads=int(config.get("ZOOM_ALL_ROADS", cls.all_roads)),
        )

    def aggregation(self, zoom: float | None) -> str | None:
        """The aggregation level for point layers at ``zoom`` (None: points)."""
        if zoom is None or zoom >= self.points:
            return None
        if zoom >= self.grid:
            return "grid"
        return "village" if zoom >= self.village else "town"


@dataclass
class CampaignData:
    """A campaign ready for the web: public WGS-84 layers, counts, teams."""

    campaign: Campaign
    #: the assignment table, or None without a plan
    plan: pd.DataFrame | None
    #: layer name → public GeoDataFrame in WGS-84 (``team_id`` added when planned)
    layers: dict[str, gpd.GeoDataFrame]
    #: (point layer, level) → counts per unit at the unit's representative point
    counts: dict[tuple[str, str], gpd.GeoDataFrame]
    #: team_id → name, in the campaign's order
    teams: dict[str, str]
    #: (west, south, east, north) in WGS-84
    bounds: tuple[float, float, float, float]
    #: what is derived from these data once and served many times (serialised
    #: map layers, see :mod:`web.coverage_map`); dies with the data when a new
    #: plan or campaign replaces them
    cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def name(self) -> str:
        return self.campaign.name

    def summary(self) -> dict:
        """Counts per layer and the extent: what the pages' headers show."""
        return {
            "name": self.name,
            "bounds": list(self.bounds),
            "counts": {name: int(len(gdf)) for name, gdf in self.layers.items()},
            "teams": len(self.teams),
            "planned": self.plan is not None,
        }


#: datums of tile servers we can draw on
TILE_CRS_VALUES = ("wgs84", "gcj02")


def init_app(app: Flask) -> None:
    """Check the data settings and register the (lazily loaded) data slot."""
    tile_crs = app.config.get("TILE_CRS") or "wgs84"
    if tile_crs not in TILE_CRS_VALUES:
        raise ValueError(
            f"TILE_CRS must be {' or '.join(repr(v) for v in TILE_CRS_VALUES)}, not {tile_crs!r} "
            "(Tianditu and CGCS2000 tiles are 'wgs84'; Amap and Tencent are 'gcj02')"
        )
    app.extensions.setdefault(_EXTENSION, None)


def get_data(app: Flask | None = None, *, scoped: bool = True) -> CampaignData:
    """The app's campaign data, loaded on first use and kept for the app's life.

    Inside a request (and unless ``scoped=False``) it is the part of the campaign the
    request's account may see: its counties only for a county or city account
    (:func:`web.scope.view`); app-wide caches must ask for ``scoped=False``."""
    app = app or current_app._get_current_object()
    data = app.extensions.get(_EXTENSION)
    if data is None:
        with _LOCK:
            data = app.extensions.get(_EXTENSION)
            if data is None:
                data = load(app.config)
                app.extensions[_EXTENSION] = data
    if scoped and has_request_context():
        from web.scope import view

        return view(app, data)
    return data


def replace_plan(app: Flask, plan: pd.DataFrame | None) -> CampaignData:
    """Rebuild the app's map data for a new plan (same campaign)."""
    data = get_data(app, scoped=False)
    if plan is not None:
        plan = _normalise_plan(plan)
    new = prepare(data.campaign, plan, shift=_display_shift(app.config.get("TILE_CRS") or "wgs84"))
    app.extensions[_EXTENSION] = new
    return new


def load(config) -> CampaignData:
    """Build :class:`CampaignData` from an app config (see module docstring)."""
    campaign = config.get("CAMPAIGN")
    if campaign is None:
        path = config.get("CAMPAIGN_PATH")
        if not path:
            raise NoCampaignError(
                "no campaign configured: start the site with `zoufang serve CAMPAIGN.gpkg`"
            )
        campaign = read_campaign(path)
    plan = config.get("PLAN")
    if plan is None and config.get("PLAN_PATH"):
        plan = read_plan(config["PLAN_PATH"])
    if plan is not None:
        plan = _normalise_plan(plan)
    shift = _display_shift(config.get("TILE_CRS") or "wgs84")
    return prepare(campaign, plan, shift=shift)


def read_campaign(path) -> Campaign:
    """Read, normalise and validate a campaign file (:func:`geodata.load_campaign`)."""
    from geodata import load_campaign

    return load_campaign(path)


def read_plan(path) -> pd.DataFrame:
    """The ``assignment`` layer of a plan GeoPackage, as a plain table."""
    import pyogrio

    try:
        return pyogrio.read_dataframe(path, layer="assignment", read_geometry=False)
    except Exception as exc:
        raise CampaignReadError(f"cannot read the assignment layer of plan {path}: {exc}") from exc


def _normalise_plan(plan: pd.DataFrame) -> pd.DataFrame:
    needed = ["entity_type", "entity_id", "team_id"]
    missing = [c for c in needed if c not in plan.columns]
    if missing:
        raise CampaignReadError(
            f"plan assignment table lacks column(s) {', '.join(missing)}; "
            "expected entity_type, entity_id, team_id, cadre_id"
        )
    plan = pd.DataFrame(plan).copy()
    for col in ("entity_type", "entity_id", "team_id"):
        plan[col] = plan[col].astype(str)
    return plan


def _display_shift(tile_crs: str):
    """The coordinate function applied to WGS-84 layers for display, or None.

    GCJ-02 tiles (Amap, Tencent; Tianditu is CGCS2000 ≈ WGS-84 and needs none)
    sit 100–700 m away from true WGS-84 positions inside China, so with such
    tiles our layers must be shifted the same way.
    """
    if tile_crs != "gcj02":  # checked against TILE_CRS_VALUES by init_app
        return None
    from geodata.crs import wgs84_to_gcj02

    def shift(coords: np.ndarray) -> np.ndarray:
        lon, lat = wgs84_to_gcj02(coords[:, 0], coords[:, 1])
        return np.column_stack([lon, lat])

    return shift


def prepare(campaign: Campaign, plan: pd.DataFrame | None = None, *, shift=None) -> CampaignData:
    """Public WGS-84 layers, team ids from the plan and counts per unit."""
    grid_team = _plan_teams(plan, "grid")
    layers: dict[str, gpd.GeoDataFrame] = {}
    for name in MAP_LAYERS:
        frame = campaign.layer(name)
        if frame is None:
            continue
        gdf = _public(frame, name)
        if name not in POINT_LAYERS and SIMPLIFY_METRES > 0:
            gdf = gdf.set_geometry(
                shapely.simplify(gdf.geometry.values, SIMPLIFY_METRES, preserve_topology=True)
            )
        if name == "grids":
            gdf["team_id"] = gdf["grid_id"].map(grid_team) if plan is not None else None
        elif name in POINT_LAYERS:
            gdf["team_id"] = _entity_teams(gdf, name, plan, grid_team)
        if name == "villages":
            for flag in ("weak", "resettlement"):
                gdf[flag] = _as_bool(gdf[flag]) if flag in gdf else False
        layers[name] = _to_web(gdf, shift)
    counts = {}
    for name in POINT_LAYERS:
        if name not in layers:
            continue
        for level in AGGREGATION_LEVELS:
            counts[(name, level)] = _counts(campaign, layers[name], level, grid_team, shift)
    teams = {
        str(row.team_id): str(row.name)
        for row in campaign.teams[["team_id", "name"]].itertuples(index=False)
    }
    for gdf in [*layers.values(), *counts.values()]:
        gdf.sindex  # build the spatial indexes now, not in the first requests
    west, south, east, north = home_bounds(layers["villages"])
    data = CampaignData(
        campaign=campaign,
        plan=plan,
        layers=layers,
        counts=counts,
        teams=teams,
        bounds=(float(west), float(south), float(east), float(north)),
    )
    from web import coverage_map

    coverage_map.warm(data)  # the leader map's outlines, serialised now rather than in a page view
    return data


def _public(frame: gpd.GeoDataFrame, name: str) -> gpd.GeoDataFrame:
    cols = [c for c in PUBLIC_COLUMNS[name] if c in frame.columns]
    gdf = gpd.GeoDataFrame(frame[cols].copy(), geometry=frame.geometry.values, crs=frame.crs)
    id_col = LAYERS[name].id_column
    if id_col and id_col in gdf:
        gdf[id_col] = gdf[id_col].astype(str)
    return gdf.reset_index(drop=True)


def _as_bool(series: pd.Series) -> pd.Series:
    return series.fillna(False).astype(bool)


def _plan_teams(plan: pd.DataFrame | None, entity_type: str) -> dict[str, str]:
    if plan is None:
        return {}
    rows = plan[plan["entity_type"] == entity_type]
    return dict(zip(rows["entity_id"], rows["team_id"]))


def _entity_teams(gdf, name, plan, grid_team) -> pd.Series:
    """Team of each point: its own assignment row, else its grid's team."""
    if plan is None:
        return pd.Series([None] * len(gdf), index=gdf.index, dtype=object)
    own = _plan_teams(plan, name.removesuffix("s"))
    id_col = LAYERS[name].id_column
    team = gdf[id_col].map(own)
    if "grid_id" in gdf:
        team = team.fillna(gdf["grid_id"].astype(str).map(grid_team))
    return team.astype(object).where(team.notna(), None)


def _to_web(gdf: gpd.GeoDataFrame, shift=None) -> gpd.GeoDataFrame:
    """WGS-84, display shift applied, coordinates rounded; index rebuilt for sindex."""
    out = gdf.to_crs(4326)
    geoms = out.geometry.values
    if shift is not None:
        geoms = shapely.transform(geoms, shift)
    geoms = shapely.transform(geoms, lambda c: np.round(c, COORD_DECIMALS))
    return out.set_geometry(gpd.GeoSeries(geoms, index=out.index, crs=4326))


def _counts(campaign, points: gpd.GeoDataFrame, level: str, grid_team, shift) -> gpd.GeoDataFrame:
    """How many features of ``points`` lie in each unit of ``level``, placed at
    the unit's representative point (computed in the metric CRS). Towns are the
    towns layer's polygons, or the union of their villages when it is absent."""
    unit_col = f"{level}_id"
    villages = campaign.villages
    if level == "grid":
        units = campaign.grids
    elif level == "village":
        units = villages
    elif campaign.towns is not None and len(campaign.towns):
        units = campaign.towns
    else:
        units = villages[["town_id", villages.geometry.name]].dissolve(by="town_id", as_index=False)
    if level == "town":
        town_of = dict(zip(villages["village_id"].astype(str), villages["town_id"].astype(str)))
        keys = points["village_id"].astype(str).map(town_of)
    else:
        keys = points[unit_col].astype(str)
    n = keys.value_counts()
    frame = pd.DataFrame({unit_col: units[unit_col].astype(str).values})
    frame["count"] = frame[unit_col].map(n).fillna(0).astype(int)
    if level == "grid":
        frame["village_id"] = units["village_id"].astype(str).values
        team = frame["grid_id"].map(grid_team).astype(object)
        frame["team_id"] = team.where(team.notna(), None)
    elif "name" in units:
        frame["name"] = units["name"].astype(str).values
    gdf = gpd.GeoDataFrame(frame, geometry=units.geometry.representative_point().values, crs=units.crs)
    gdf = gdf[gdf["count"] > 0].reset_index(drop=True)
    return _to_web(gdf, shift)


# ----------------------------------------------------------------------------
# Queries (the API's layer endpoint)


def parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    """``"west,south,east,north"`` in WGS-84 degrees (Leaflet's
    ``map.getBounds().toBBoxString()``) → a tuple, or None when absent."""
    if text is None or text == "":
        return None
    parts = text.split(",")
    try:
        west, south, east, north = (float(p) for p in parts)
    except ValueError:
        raise LayerQueryError(
            f"bbox must be four numbers 'west,south,east,north' in degrees, got {text!r}"
        ) from None
    if not (west <= east and south <= north and -90 <= south and north <= 90):
        raise LayerQueryError(
            f"bbox {text!r} is not west,south,east,north with west ≤ east and south ≤ north"
        )
    return west, south, east, north


def query_layer(
    data: CampaignData,
    name: str,
    *,
    bbox: tuple[float, float, float, float] | None = None,
    zoom: float | None = None,
    agg: str | None = None,
    limit: int = 20000,
    zooms: Zoom = Zoom(),
) -> dict:
    """A GeoJSON FeatureCollection (a dict) of one layer.

    ``bbox`` keeps the features that intersect it. For point layers, ``agg``
    (``grid`` or ``village``) returns counts per unit instead of points;
    without ``agg``, ``zoom`` picks the level from ``zooms``. When more than
    ``limit`` points would be returned, they are counted by grid instead;
    other layers are cut at ``limit`` (``truncated: true``). Foreign members:
    ``layer``, ``aggregation`` (null for plain features), ``total`` (matches
    before any cut) and ``truncated``.
    """
    if name not in data.layers:
        raise UnknownLayerError(
            f"unknown layer {name!r}; this campaign serves {', '.join(data.layers)}"
        )
    if agg is not None and agg not in AGGREGATION_LEVELS:
        raise LayerQueryError(f"agg must be one of {', '.join(AGGREGATION_LEVELS)}, not {agg!r}")
    if agg is not None and name not in POINT_LAYERS:
        raise LayerQueryError(f"agg applies to the point layers ({', '.join(POINT_LAYERS)}), not {name!r}")
    if name in POINT_LAYERS and agg is None:
        agg = zooms.aggregation(zoom)

    gdf = data.counts[(name, agg)] if agg else data.layers[name]
    if name == "roads" and zoom is not None and zoom < zooms.all_roads and "highway" in gdf:
        gdf = gdf[gdf["highway"].isin(MAJOR_HIGHWAYS)]
    if bbox is not None:
        hits = gdf.sindex.query(shapely.box(*bbox), predicate="intersects")
        gdf = gdf.iloc[np.sort(hits)]
    total = len(gdf)
    truncated = False
    if total > limit:
        if name in POINT_LAYERS and agg is None:
            return query_layer(data, name, bbox=bbox, agg="grid", limit=limit, zooms=zooms)
        gdf = gdf.iloc[:limit]
        truncated = True
    collection = gdf.to_geo_dict(na="null", drop_id=True)
    collection.update(layer=name, aggregation=agg, total=total, truncated=truncated)
    return collection


#: villages farther apart than this (km) belong to separate areas of the map
_AREA_GAP_KM = 50.0


def home_bounds(villages: gpd.GeoDataFrame) -> tuple[float, float, float, float]:
    """The bounds (WGS-84) the maps open on: the villages' extent, or, when the
    campaign lies in separate areas far apart (the demo: Andorra and Kotka),
    the area with the most villages, so the first view shows the campaign
    instead of a continent. The other areas stay one zoom-out away."""

    from scipy.cluster.hierarchy import fcluster, linkage

    if len(villages) < 2:
        return tuple(float(v) for v in villages.total_bounds)
    c = villages.geometry.representative_point()
    xy = np.column_stack([c.x.to_numpy(), c.y.to_numpy()])
    if len(xy) > 4000:  # single linkage is O(n²): a regular sample finds the areas as well
        xy = xy[:: len(xy) // 4000 + 1]
    km = xy * np.array([111.32 * np.cos(np.radians(np.median(xy[:, 1]))), 110.57])
    labels = fcluster(linkage(km, method="single"), t=_AREA_GAP_KM, criterion="distance")
    if labels.max() == 1:
        return tuple(float(v) for v in villages.total_bounds)
    main = np.bincount(labels).argmax()
    sel = xy[labels == main]
    pad = 0.01
    return (float(sel[:, 0].min() - pad), float(sel[:, 1].min() - pad),
            float(sel[:, 0].max() + pad), float(sel[:, 1].max() + pad))
