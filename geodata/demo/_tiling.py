"""Tiling helpers for the demo: Voronoi partitions, k-means grids, clearance from boundaries.

All geometry here is in a metric CRS. Everything is deterministic: k-means is a
small numpy implementation driven by the caller's ``numpy.random.Generator``.
"""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry


def kmeans(xy: np.ndarray, k: int, rng: np.random.Generator, *, weights: np.ndarray | None = None, iterations: int = 30) -> np.ndarray:
    """Centres of ``k`` clusters of the points ``xy`` (k-means++ seeding, Lloyd iterations).

    ``weights`` (e.g. households per building) weigh the points. Returns a
    ``(k', 2)`` array of distinct centres, ``k' <= k`` (fewer when the points have
    fewer distinct positions).
    """
    xy = np.asarray(xy, dtype=float)
    w = np.ones(len(xy)) if weights is None else np.asarray(weights, dtype=float)
    distinct = np.unique(xy, axis=0)
    k = min(k, len(distinct))
    if k <= 0:
        return np.zeros((0, 2))
    # k-means++ seeding on the distinct positions
    centres = [distinct[rng.integers(len(distinct))]]
    for _ in range(1, k):
        d2 = np.min(((distinct[:, None, :] - np.asarray(centres)[None, :, :]) ** 2).sum(-1), axis=1)
        if d2.sum() == 0:
            break
        centres.append(distinct[rng.choice(len(distinct), p=d2 / d2.sum())])
    c = np.asarray(centres)
    for _ in range(iterations):
        label = np.argmin(((xy[:, None, :] - c[None, :, :]) ** 2).sum(-1), axis=1)
        new = c.copy()
        for j in range(len(c)):
            m = label == j
            if m.any():
                new[j] = np.average(xy[m], axis=0, weights=w[m])
        if np.allclose(new, c, atol=0.01):
            c = new
            break
        c = new
    return np.unique(np.round(c, 3), axis=0)


def voronoi_tiles(area: BaseGeometry, seeds: np.ndarray) -> list[BaseGeometry]:
    """Split ``area`` into the Voronoi cells of ``seeds`` (one tile per seed, in seed order).

    Tiles may be empty when a seed lies far outside a concave ``area``; they
    tile ``area`` exactly (no gap, no overlap up to floating point).
    """
    seeds = np.asarray(seeds, dtype=float)
    if len(seeds) == 1:
        return [area]
    points = shapely.multipoints(seeds)
    envelope = shapely.box(*area.buffer(1000).bounds).union(shapely.box(*points.buffer(1000).bounds))
    cells = shapely.voronoi_polygons(points, extend_to=envelope, ordered=True)
    return [_polygonal(area.intersection(cell)) for cell in cells.geoms]


def _polygonal(geom: BaseGeometry) -> BaseGeometry:
    """Keep only the polygon parts of an intersection result (drops slivers of lines/points)."""
    parts = [g for g in shapely.get_parts(geom) if g.geom_type == "Polygon" and g.area > 0]
    if not parts:
        return shapely.Polygon()
    return parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)


def split_village(area: BaseGeometry, xy: np.ndarray, rng: np.random.Generator, *, k: int, weights: np.ndarray | None = None) -> list[BaseGeometry]:
    """Split a village into ``k`` grids (网格): k-means of its households, Voronoi cells clipped to it.

    Falls back on random points inside the village when it has too few
    households. Empty tiles are dropped; the result tiles ``area`` exactly.
    """
    seeds = kmeans(xy, k, rng, weights=weights) if len(xy) else np.zeros((0, 2))
    if len(seeds) < k:
        extra = random_points_in(area, k - len(seeds), rng)
        seeds = np.vstack([seeds, extra]) if len(seeds) else extra
    tiles = [t for t in voronoi_tiles(area, seeds) if not t.is_empty]
    return tiles


def random_points_in(area: BaseGeometry, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` uniform random points inside ``area`` (rejection sampling in its bounding box)."""
    minx, miny, maxx, maxy = area.bounds
    shapely.prepare(area)
    out = np.zeros((0, 2))
    while len(out) < n:
        cand = np.column_stack([rng.uniform(minx, maxx, 4 * n + 8), rng.uniform(miny, maxy, 4 * n + 8)])
        inside = shapely.contains_xy(area, cand[:, 0], cand[:, 1])
        out = np.vstack([out, cand[inside]])
    return out[:n]


def clearance(points: np.ndarray, polygons: np.ndarray) -> np.ndarray:
    """Distance of each point geometry to the boundary of its polygon (element-wise)."""
    return shapely.distance(points, shapely.boundary(polygons))
