"""Travel-time and distance matrices between sets of points, cached.

A trip is: walk the straight access leg from the point to where it snaps onto
the road, travel the road network in the chosen mode, walk the access leg to
the destination. Pairs closer to each other than to the road (straight line ≤
the two access legs) may instead walk straight across (× detour factor) when
that is faster. Whatever cannot be routed — no roads at all, or no connection
between the two snapped positions — is estimated as straight-line distance ×
detour factor at the mode's fallback speed, with a :class:`NetworkWarning`.
"""

from __future__ import annotations

import hashlib
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from scipy.spatial.distance import cdist

from geodata.network import speeds as _speeds
from geodata.network.graph import RoadNetwork
from geodata.network.routing import network_times
from geodata.network.snap import snap_quietly
from geodata.network.warn import NetworkWarning

# --- integer scaling: the one place where seconds and metres become ints --------
#: matrix units per second and per metre (whole seconds, whole metres), as in planner.routing.units
SECONDS_SCALE = 1
METRES_SCALE = 1
#: matrices are int32: 68 years, 2,147 km
MATRIX_DTYPE = np.int32


def to_int_units(seconds: np.ndarray, metres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Float seconds and metres → the matrix's integer units.

    Seconds are rounded **up** (a schedule that fits in integer seconds fits in
    exact time too), metres to the nearest unit — the routing model's convention.
    """
    out = []
    for values, scale, rounding in ((seconds, SECONDS_SCALE, "up"), (metres, METRES_SCALE, "nearest")):
        scaled = np.asarray(values, dtype=float) * scale
        scaled = np.ceil(scaled - 1e-9) if rounding == "up" else np.rint(scaled)
        if not np.isfinite(scaled).all():
            raise ValueError("non-finite travel time or distance reached the integer matrix")
        if scaled.size and scaled.max() > np.iinfo(MATRIX_DTYPE).max:
            raise OverflowError(f"travel value {scaled.max():.0f} does not fit {np.dtype(MATRIX_DTYPE).name}")
        out.append(np.maximum(scaled, 0).astype(MATRIX_DTYPE))
    return out[0], out[1]


@dataclass(frozen=True, eq=False)
class Matrix:
    """Travel from each origin (rows) to each destination (columns). Arrays are read-only."""

    #: whole seconds, int
    seconds: np.ndarray
    #: whole metres along the fastest route (access legs included), int
    metres: np.ndarray
    origin_ids: tuple
    destination_ids: tuple
    mode: str
    #: True where the value is a straight-line estimate (no roads / not connected)
    estimated: np.ndarray
    #: metres from each origin / destination to where it joins the road (NaN without roads)
    origin_snap_m: np.ndarray
    destination_snap_m: np.ndarray
    #: the warnings raised while computing it (raised again on every cache hit)
    notes: tuple[str, ...] = ()

    @property
    def shape(self) -> tuple[int, int]:
        return self.seconds.shape


_CACHE: OrderedDict[str, Matrix] = OrderedDict()
#: matrices kept in memory, at most this many and this many bytes (least recently used dropped first;
#: the newest is always kept)
CACHE_SIZE = 32
CACHE_BYTES = 1 << 30


def clear_cache() -> None:
    """Forget every in-memory matrix."""
    _CACHE.clear()


def travel_matrix(
    network: RoadNetwork,
    origins,
    destinations=None,
    *,
    mode: str,
    origin_ids=None,
    destination_ids=None,
    cache_dir: str | Path | None = None,
) -> Matrix:
    """Seconds and metres from every origin to every destination in ``mode`` (``walk``/``drive``).

    ``origins``/``destinations``: a GeoSeries/GeoDataFrame of points (ids from
    the index; reprojected to the network's CRS), a sequence of shapely points
    or an ``(n, 2)`` array of coordinates in the network's CRS (ids 0..n-1).
    ``destinations=None`` means the origins. The result is cached in memory by
    a hash of network, points, ids and mode (the identical object comes back),
    and also under ``cache_dir`` when given. Warnings are :class:`NetworkWarning`.
    """
    _speeds.check_mode(mode)
    xo, ido = _points(origins, origin_ids, network)
    xd, idd = (xo, ido) if destinations is None and destination_ids is None else _points(
        origins if destinations is None else destinations, destination_ids, network
    )
    key = _key(network, mode, xo, ido, xd, idd)
    hit = _CACHE.get(key)
    if hit is None and cache_dir is not None:
        hit = _load(Path(cache_dir), key, mode, ido, idd)
    if hit is not None:
        _CACHE[key] = hit
        _CACHE.move_to_end(key)
        for note in hit.notes:
            warnings.warn(note, NetworkWarning, stacklevel=2)
        return hit
    secs, metres, estimated, snap_o, snap_d, notes = _compute(network, mode, xo, ido, xd, idd)
    secs, metres = to_int_units(secs, metres)
    for a in (secs, metres, estimated, snap_o, snap_d):
        a.flags.writeable = False
    result = Matrix(secs, metres, ido, idd, mode, estimated, snap_o, snap_d, tuple(notes))
    _CACHE[key] = result
    _trim_cache()
    if cache_dir is not None:
        _save(Path(cache_dir), key, result)
    for note in notes:
        warnings.warn(note, NetworkWarning, stacklevel=2)
    return result


def _trim_cache() -> None:
    def size(m: Matrix) -> int:
        return m.seconds.nbytes + m.metres.nbytes + m.estimated.nbytes

    total = sum(size(m) for m in _CACHE.values())
    while len(_CACHE) > 1 and (len(_CACHE) > CACHE_SIZE or total > CACHE_BYTES):
        total -= size(_CACHE.popitem(last=False)[1])


def _points(obj, ids, network: RoadNetwork) -> tuple[np.ndarray, tuple]:
    if isinstance(obj, gpd.GeoDataFrame):
        obj = obj.geometry
    if isinstance(obj, gpd.GeoSeries):
        if obj.crs is not None and network.crs is not None and not network.crs.equals(obj.crs):
            obj = obj.to_crs(network.crs)
        default_ids = obj.index.tolist()
        obj = obj.to_numpy()
    else:
        default_ids = None
    arr = np.asarray(obj, dtype=object if not isinstance(obj, np.ndarray) or obj.dtype == object else float)
    if arr.dtype == object and (arr.ndim == 1 and (arr.size == 0 or isinstance(arr[0], shapely.Geometry))):
        if arr.size and not (shapely.get_type_id(arr) == 0).all():
            raise ValueError("origins and destinations must be Point geometries")
        xy = shapely.get_coordinates(arr) if arr.size else np.zeros((0, 2))
        if len(xy) != len(arr):
            raise ValueError("origins and destinations must be non-empty points")
    else:
        xy = np.asarray(obj, dtype=float).reshape(-1, 2)
    if not np.isfinite(xy).all():
        raise ValueError("point coordinates must be finite")
    if ids is None:
        ids = default_ids if default_ids is not None else range(len(xy))
    ids = tuple(ids)
    if len(ids) != len(xy):
        raise ValueError(f"{len(ids)} ids for {len(xy)} points")
    return xy, ids


def _key(network, mode, xo, ido, xd, idd) -> str:
    h = hashlib.sha1(f"{network.fingerprint}|{mode}".encode())
    for xy, ids in ((xo, ido), (xd, idd)):
        h.update(np.ascontiguousarray(xy, dtype=float).tobytes())
        h.update(repr(ids).encode())
        h.update(b"|")
    return h.hexdigest()


def _compute(network, mode, xo, ido, xd, idd):
    straight = cdist(xo, xd) if len(xo) and len(xd) else np.zeros((len(xo), len(xd)))
    fallback_mps = network.fallback_kmh[mode] / 3.6
    est_m = straight * network.detour_factor
    est_s = est_m / fallback_mps
    notes: list[str] = []
    mg = network.mode_graph(mode)
    if mg.tree is None:
        if len(xo) and len(xd):
            what = "no roads were given" if network.empty else f"no road in the network is usable for {mode}"
            notes.append(
                f"{what}: {mode} travel times are straight-line distance × {network.detour_factor:g} "
                f"at {network.fallback_kmh[mode]:g} km/h"
            )
        nan_o, nan_d = np.full(len(xo), np.nan), np.full(len(xd), np.nan)
        return est_s, est_m, np.ones(straight.shape, bool), nan_o, nan_d, notes
    allxy = np.vstack([xo, xd])
    uniq, first, inv = np.unique(allxy, axis=0, return_index=True, return_inverse=True)
    inv = inv.ravel()
    all_ids = ido + idd
    snapped, message = snap_quietly(network, uniq, mode=mode, ids=[all_ids[i] for i in first])
    if message:
        notes.append(message)
    o, d = inv[: len(xo)], inv[len(xo):]
    road_s, road_m = network_times(network, mode, snapped.segment, snapped.fraction, o, d)
    walk_mps = network.access_kmh / 3.6
    acc = snapped.distance
    secs = acc[o][:, None] / walk_mps + road_s + acc[d][None, :] / walk_mps
    metres = acc[o][:, None] + road_m + acc[d][None, :]
    # neighbours off the road walk straight across when that is faster
    across = straight <= acc[o][:, None] + acc[d][None, :]
    across_m = straight * network.detour_factor
    across_s = across_m / walk_mps
    use = across & (across_s < secs)
    secs = np.where(use, across_s, secs)
    metres = np.where(use, across_m, metres)
    same = o[:, None] == d[None, :]
    secs[same] = 0.0
    metres[same] = 0.0
    lost = ~np.isfinite(secs)
    if lost.any():
        notes.append(
            f"{int(lost.sum())} of {lost.size} origin–destination pairs are not connected by {mode} roads; "
            f"using straight-line distance × {network.detour_factor:g} at {network.fallback_kmh[mode]:g} km/h"
        )
        secs = np.where(lost, est_s, secs)
        metres = np.where(lost, est_m, metres)
    return secs, metres, lost, acc[o].copy(), acc[d].copy(), notes


_ARRAYS = ("seconds", "metres", "estimated", "origin_snap_m", "destination_snap_m")


def _load(folder: Path, key: str, mode: str, ido: tuple, idd: tuple) -> Matrix | None:
    path = folder / f"{mode}-{key}.npz"
    if not path.exists():
        return None
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in _ARRAYS + ("notes",)}
    for k in _ARRAYS:
        arrays[k].flags.writeable = False
    return Matrix(arrays["seconds"], arrays["metres"], ido, idd, mode, arrays["estimated"],
                  arrays["origin_snap_m"], arrays["destination_snap_m"], tuple(str(n) for n in arrays["notes"]))


def _save(folder: Path, key: str, m: Matrix) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{m.mode}-{key}.tmp.npz"
    np.savez_compressed(tmp, notes=np.array(m.notes, dtype=str), **{k: getattr(m, k) for k in _ARRAYS})
    tmp.replace(folder / f"{m.mode}-{key}.npz")
