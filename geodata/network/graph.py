"""The road network: vertices shared by ways become nodes, way segments become edges.

:func:`build_network` turns an OSM-style ``roads`` frame into a
:class:`RoadNetwork`. Every vertex of every LineString is a node, and two ways
connect where they share a vertex (coordinates equal to the millimetre); an
edge is one straight segment between consecutive vertices. The network holds
both modes: :meth:`RoadNetwork.mode_graph` gives the per-mode travel times and
:meth:`RoadNetwork.to_networkx` a plain :class:`networkx.DiGraph` for inspection.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely
from pyproj import CRS
from scipy.sparse import csr_array
from scipy.sparse.csgraph import connected_components

from geodata.network import speeds as _speeds
from geodata.network.contract import Chains, build_chains

#: vertices closer than this are the same node (metres)
_NODE_TOLERANCE_M = 1e-3


@dataclass(frozen=True, eq=False)
class ModeGraph:
    """One mode's view of the network. Segment arrays are indexed like the network's."""

    mode: str
    #: seconds to traverse each segment along its geometry (u → v), inf if not allowed
    seconds_forward: np.ndarray
    #: seconds against the geometry (v → u), inf if not allowed
    seconds_backward: np.ndarray
    #: indices of the segments usable in this mode (either direction)
    usable: np.ndarray
    #: STRtree over the usable segments' geometries (tree index → ``usable`` index)
    tree: shapely.STRtree | None
    #: indices of the segments of the main component: the strongly connected
    #: component with the most road length (points prefer it when it is near)
    main: np.ndarray
    #: STRtree over the main component's segments (tree index → ``main`` index)
    main_tree: shapely.STRtree | None
    #: the contracted graph that routing runs on
    chains: Chains


@dataclass(frozen=True, eq=False)
class RoadNetwork:
    """A road network in a projected metric CRS.

    ``nodes`` is an ``(n, 2)`` array of coordinates; segment ``i`` goes from
    ``nodes[seg_u[i]]`` to ``nodes[seg_v[i]]``, is ``seg_length[i]`` metres long,
    has class ``seg_highway[i]``, ``seg_oneway[i]`` (+1 along, -1 against, 0 both)
    and ``seg_maxspeed[i]`` km/h (NaN if unknown).
    """

    crs: CRS | None
    nodes: np.ndarray
    seg_u: np.ndarray
    seg_v: np.ndarray
    seg_length: np.ndarray
    seg_highway: np.ndarray
    seg_oneway: np.ndarray
    seg_maxspeed: np.ndarray
    #: effective km/h per highway class, per mode (defaults merged with overrides)
    speeds_kmh: Mapping[str, Mapping[str, float | None]]
    #: walking speed of the access legs and of off-road walking, km/h
    access_kmh: float = _speeds.WALK_KMH
    #: straight-line fallback speed per mode, km/h
    fallback_kmh: Mapping[str, float] = field(default_factory=lambda: dict(_speeds.DEFAULT_FALLBACK_KMH))
    detour_factor: float = _speeds.DEFAULT_DETOUR_FACTOR
    snap_threshold_m: float = _speeds.DEFAULT_SNAP_THRESHOLD_M
    #: content hash of everything that changes a travel time
    fingerprint: str = ""
    _modes: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def n_nodes(self) -> int:
        return len(self.nodes)

    @property
    def n_segments(self) -> int:
        return len(self.seg_u)

    @property
    def empty(self) -> bool:
        return self.n_segments == 0

    def segment_geometries(self, idx: np.ndarray | None = None) -> np.ndarray:
        u, v = (self.seg_u, self.seg_v) if idx is None else (self.seg_u[idx], self.seg_v[idx])
        return shapely.linestrings(np.stack([self.nodes[u], self.nodes[v]], axis=1))

    def mode_graph(self, mode: str) -> ModeGraph:
        """Per-mode segment travel times and snapping index (computed once, cached)."""
        _speeds.check_mode(mode)
        if mode not in self._modes:
            self._modes[mode] = self._build_mode(mode)
        return self._modes[mode]

    def _build_mode(self, mode: str) -> ModeGraph:
        kmh = _speeds.class_speeds(self.seg_highway, self.speeds_kmh[mode])
        if mode == "drive":
            kmh = np.where(np.isnan(self.seg_maxspeed), kmh, np.fmin(kmh, self.seg_maxspeed))
        with np.errstate(divide="ignore", invalid="ignore"):
            secs = self.seg_length / (kmh / 3.6)
        secs = np.where(np.isfinite(secs), secs, np.inf)
        fwd, bwd = secs.copy(), secs.copy()
        if mode == "drive":
            bwd[self.seg_oneway == 1] = np.inf
            fwd[self.seg_oneway == -1] = np.inf
        usable = np.flatnonzero(np.isfinite(fwd) | np.isfinite(bwd))
        tree = shapely.STRtree(self.segment_geometries(usable)) if len(usable) else None
        main = self._main_component(usable, fwd, bwd)
        main_tree = shapely.STRtree(self.segment_geometries(main)) if len(main) else None
        chains = build_chains(self.n_nodes, self.seg_u, self.seg_v, self.seg_length, fwd, bwd, usable)
        return ModeGraph(mode, fwd, bwd, usable, tree, main, main_tree, chains)

    def _main_component(self, usable: np.ndarray, fwd: np.ndarray, bwd: np.ndarray) -> np.ndarray:
        if len(usable) == 0:
            return usable
        f, b = np.isfinite(fwd), np.isfinite(bwd)
        a = np.concatenate([self.seg_u[f], self.seg_v[b]])
        z = np.concatenate([self.seg_v[f], self.seg_u[b]])
        adj = csr_array((np.ones(len(a)), (a, z)), shape=(self.n_nodes, self.n_nodes))
        _, label = connected_components(adj, directed=True, connection="strong")
        lu, lv = label[self.seg_u[usable]], label[self.seg_v[usable]]
        inside = lu == lv
        if not inside.any():
            return usable[:0]
        total = np.bincount(lu[inside], weights=self.seg_length[usable][inside])
        return usable[inside & (lu == np.argmax(total))]

    def to_networkx(self, mode: str) -> nx.DiGraph:
        """The mode's graph: node attrs ``x``, ``y``; edge attrs ``length`` (m), ``seconds``, ``highway``.

        Parallel segments between the same two nodes keep the fastest one.
        """
        mg = self.mode_graph(mode)
        g = nx.DiGraph(mode=mode, crs=self.crs)
        g.add_nodes_from((i, {"x": x, "y": y}) for i, (x, y) in enumerate(self.nodes.tolist()))
        a = np.concatenate([self.seg_u, self.seg_v])
        b = np.concatenate([self.seg_v, self.seg_u])
        secs = np.concatenate([mg.seconds_forward, mg.seconds_backward])
        seg = np.concatenate([np.arange(self.n_segments)] * 2)
        ok = np.isfinite(secs)
        a, b, secs, seg = a[ok], b[ok], secs[ok], seg[ok]
        order = np.lexsort((secs, b, a))
        first = np.ones(len(order), bool)
        first[1:] = (a[order][1:] != a[order][:-1]) | (b[order][1:] != b[order][:-1])
        keep = order[first]
        g.add_edges_from(
            (int(x), int(y), {"length": float(self.seg_length[i]), "seconds": float(t), "highway": self.seg_highway[i]})
            for x, y, t, i in zip(a[keep], b[keep], secs[keep], seg[keep])
        )
        return g


def build_network(
    roads: gpd.GeoDataFrame | None,
    *,
    speeds: Mapping[str, Mapping[str, float | None]] | None = None,
    access_kmh: float = _speeds.WALK_KMH,
    fallback_kmh: Mapping[str, float] | None = None,
    detour_factor: float = _speeds.DEFAULT_DETOUR_FACTOR,
    snap_threshold_m: float = _speeds.DEFAULT_SNAP_THRESHOLD_M,
) -> RoadNetwork:
    """Build the network from LineStrings in a projected metric CRS.

    ``roads`` needs a ``highway`` column; ``oneway``, ``maxspeed`` and
    ``junction`` are used when present. ``None`` or an empty frame gives an
    empty network, whose travel matrices are straight-line estimates (with a
    :class:`~geodata.network.NetworkWarning`). ``speeds`` overrides the default
    km/h per mode and class, e.g. ``{"drive": {"primary": 50, "track": None}}``.
    """
    from geodata.errors import CRSError

    tables = _speeds.speed_tables(speeds)
    fallback = dict(_speeds.DEFAULT_FALLBACK_KMH) | dict(fallback_kmh or {})
    for name, value in [("access_kmh", access_kmh), ("detour_factor", detour_factor), *fallback.items()]:
        if not value > 0:
            raise ValueError(f"{name} must be positive, got {value!r}")
    crs = None
    if roads is not None and roads.crs is not None:
        crs = CRS.from_user_input(roads.crs)
        if not crs.is_projected:
            raise CRSError(f"roads must be in a projected metric CRS, not {crs.name}; call .to_crs() first")
    arrays = _segments(roads)
    fingerprint = _fingerprint(arrays, tables, access_kmh, fallback, detour_factor, snap_threshold_m)
    return RoadNetwork(
        crs, *arrays, speeds_kmh=tables, access_kmh=float(access_kmh), fallback_kmh=fallback,
        detour_factor=float(detour_factor), snap_threshold_m=float(snap_threshold_m), fingerprint=fingerprint,
    )


def _segments(roads: gpd.GeoDataFrame | None):
    """nodes, seg_u, seg_v, seg_length, seg_highway, seg_oneway, seg_maxspeed."""
    empty = (np.zeros((0, 2)), np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0),
             np.zeros(0, dtype=object), np.zeros(0, np.int8), np.zeros(0))
    if roads is None or len(roads) == 0:
        return empty
    if "highway" not in roads.columns:
        raise ValueError("roads need a 'highway' column (OSM highway class)")
    roads = roads[roads.geometry.notna() & ~roads.geometry.is_empty]
    roads = roads[roads.geom_type.isin(["LineString", "MultiLineString"])].explode(index_parts=False)
    roads = roads.reset_index(drop=True)
    if len(roads) == 0:
        return empty
    highway = _speeds.normalise_highway(roads["highway"].to_numpy())
    oneway = _speeds.parse_oneway(
        roads["oneway"].to_numpy() if "oneway" in roads else None, highway,
        roads["junction"].to_numpy() if "junction" in roads else None,
    )
    maxspeed = (_speeds.parse_maxspeed(roads["maxspeed"].to_numpy()) if "maxspeed" in roads
                else np.full(len(roads), np.nan))
    coords, line = shapely.get_coordinates(roads.geometry.to_numpy(), return_index=True)
    key = np.round(coords / _NODE_TOLERANCE_M).astype(np.int64)
    _, first, node_of = np.unique(key, axis=0, return_index=True, return_inverse=True)
    node_of = node_of.ravel()
    nodes = coords[first]
    same_line = line[1:] == line[:-1]
    u, v, ln = node_of[:-1][same_line], node_of[1:][same_line], line[:-1][same_line]
    keep = u != v
    u, v, ln = u[keep], v[keep], ln[keep]
    length = np.hypot(*(nodes[v] - nodes[u]).T)
    return nodes, u, v, length, highway[ln], oneway[ln], maxspeed[ln]


def _fingerprint(arrays, tables, access_kmh, fallback, detour, threshold) -> str:
    h = hashlib.sha1()
    nodes, u, v, length, highway, oneway, maxspeed = arrays
    for a in (nodes, u, v, length, oneway, maxspeed):
        h.update(np.ascontiguousarray(a).tobytes())
    h.update("\x1f".join(highway.tolist()).encode())
    h.update(repr((sorted((m, sorted(t.items())) for m, t in tables.items()),
                   float(access_kmh), sorted(fallback.items()), float(detour), float(threshold))).encode())
    return h.hexdigest()


def network_from_campaign_roads(roads: gpd.GeoDataFrame | None, **options) -> RoadNetwork:
    """The network of a campaign's ``roads`` layer (``None`` → empty network, straight-line estimates).

    Roads in a geographic CRS are projected to their UTM zone first.
    ``options`` are those of :func:`build_network`.
    """
    if roads is not None and roads.crs is not None and not CRS.from_user_input(roads.crs).is_projected:
        roads = roads.to_crs(roads.estimate_utm_crs())
    return build_network(roads, **options)


def network_from_osm(path, *, crs=None, network: str | None = None, **options) -> RoadNetwork:
    """Build from an OSM file through :func:`geodata.osm.read_roads`, projected to ``crs`` (default: UTM zone)."""
    from geodata.osm import read_roads  # the OSM reader lives in geodata/osm.py

    roads = read_roads(path) if network is None else read_roads(path, network=network)
    roads = roads.to_crs(crs if crs is not None else roads.estimate_utm_crs())
    return build_network(roads, **options)
