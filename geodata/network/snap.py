"""Snapping points onto the nearest usable segment of a mode's network."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import shapely

from geodata.network.graph import RoadNetwork
from geodata.network.warn import NetworkWarning, describe_ids


@dataclass(frozen=True, eq=False)
class Snapped:
    """Where each point joins the network (arrays of the points' length).

    ``segment`` indexes the network's segments (-1 if the mode has no usable
    road); ``fraction`` is the position along it (0 at ``seg_u``, 1 at
    ``seg_v``); ``xy`` the snapped position; ``distance`` the straight
    access leg in metres; ``far`` marks points beyond the snap threshold.
    """

    segment: np.ndarray
    fraction: np.ndarray
    xy: np.ndarray
    distance: np.ndarray
    far: np.ndarray


def snap_points(network: RoadNetwork, xy: np.ndarray, *, mode: str, ids=None) -> Snapped:
    """Snap ``(n, 2)`` coordinates to the nearest segment usable in ``mode``.

    Points farther than ``network.snap_threshold_m`` get a
    :class:`NetworkWarning` naming them (``ids``, default positions); they still
    join at the nearest road, walking the straight line to it.
    """
    snapped, message = snap_quietly(network, xy, mode=mode, ids=ids)
    if message:
        warnings.warn(message, NetworkWarning, stacklevel=2)
    return snapped


def snap_quietly(network: RoadNetwork, xy: np.ndarray, *, mode: str, ids=None) -> tuple[Snapped, str | None]:
    """:func:`snap_points` returning the warning message instead of emitting it."""
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    n = len(xy)
    mg = network.mode_graph(mode)
    if mg.tree is None or n == 0:
        return Snapped(np.full(n, -1), np.zeros(n), xy.copy(), np.zeros(n), np.zeros(n, bool)), None
    points = shapely.points(xy)
    seg, dist = _nearest(mg.tree, mg.usable, points)
    if mg.main_tree is not None and len(mg.main) < len(mg.usable):
        # prefer the main component when it is near, or when every road is far: a
        # road fragment cut off from everything else is useless for getting anywhere
        main_seg, main_dist = _nearest(mg.main_tree, mg.main, points)
        threshold = network.snap_threshold_m
        prefer = (main_seg != seg) & ((main_dist <= threshold) | (dist > threshold))
        seg, dist = np.where(prefer, main_seg, seg), np.where(prefer, main_dist, dist)
    lines = network.segment_geometries(seg)
    along = shapely.line_locate_point(lines, points)
    length = network.seg_length[seg]
    fraction = np.clip(along / length, 0.0, 1.0)
    a, b = network.nodes[network.seg_u[seg]], network.nodes[network.seg_v[seg]]
    snapped = a + (b - a) * fraction[:, None]
    far = dist > network.snap_threshold_m
    message = None
    if far.any():
        message = (
            f"{int(far.sum())} point(s) are more than {network.snap_threshold_m:g} m from the {mode} road they join "
            f"(up to {dist.max():.0f} m); they walk the straight line to it: "
            + describe_ids(ids, np.flatnonzero(far))
        )
    return Snapped(seg, fraction, snapped, dist, far), message


def _nearest(tree: shapely.STRtree, index: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest segment (network index) and its distance, for each point."""
    (src, hit), dist = tree.query_nearest(points, return_distance=True, all_matches=False)
    seg = np.empty(len(points), np.int64)
    out = np.empty(len(points))
    seg[src], out[src] = index[hit], dist
    return seg, out
