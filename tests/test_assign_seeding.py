"""Seeded bases: the capacitated location-allocation that moves each seed to its share."""

from __future__ import annotations

import numpy as np

from planner.assign.seeding import balance_centres, geometric_median, transport


def _lattice(n=20, step=100.0):
    gx, gy = np.meshgrid(np.arange(n) * step, np.arange(n) * step)
    return np.column_stack([gx.ravel(), gy.ravel()])


def test_geometric_median_is_the_median_not_the_mean():
    pts = np.array([[0.0, 0.0], [1.0, 0.0], [10.0, 0.0]])
    z = geometric_median(pts, np.ones(3), pts.mean(axis=0))
    assert np.allclose(z, [1.0, 0.0], atol=1e-2)
    # weights count: a heavy point pulls the median onto itself
    z = geometric_median(pts, np.array([1.0, 1.0, 5.0]), pts.mean(axis=0))
    assert np.allclose(z, [10.0, 0.0], atol=1e-2)


def test_transport_gives_each_team_its_share():
    xy = _lattice()
    work = np.full(len(xy), 10.0)
    share = work.sum() * np.array([1.0, 1.0, 4.0]) / 6
    centres = np.array([[300.0, 950.0], [1000.0, 950.0], [1600.0, 950.0]])
    rows, cols, x, cost = transport(xy, work, np.ones((len(xy), 3), bool), share, centres, tol=0.0)
    load = np.bincount(cols, weights=work[rows] * x, minlength=3)
    assert np.allclose(load, share, rtol=1e-6)
    assert np.allclose(np.bincount(rows, weights=x, minlength=len(xy)), 1.0)  # every unit whole
    assert cost > 0


def test_balanced_centres_shorten_the_split_for_unequal_shares():
    """Evenly spread seeds (what k-means gives equal areas) make the large team reach far for
    its share; the re-centred seeds give the same balanced split at a much lower distance, and
    a seed with a given base stays where it is."""
    xy = _lattice()
    work = np.full(len(xy), 10.0)
    allowed = np.ones((len(xy), 4), bool)
    share = work.sum() * np.array([1.0, 1.0, 1.0, 5.0]) / 8
    start = np.array([[475.0, 475.0], [1425.0, 475.0], [475.0, 1425.0], [1425.0, 1425.0]])
    free = np.array([False, True, True, True])
    out = balance_centres(xy, work, allowed, share, start, free)
    before = transport(xy, work, allowed, share, start)[3]
    after = transport(xy, work, allowed, share, out)[3]
    assert after < 0.9 * before, (before, after)
    assert np.allclose(out[0], start[0])  # the given base is kept
    assert (np.abs(out[1:] - start[1:]).max(axis=1) > 100).all()
    # the large team's seed moves towards the middle, where its share lies
    assert np.hypot(*(out[3] - 950.0)) < np.hypot(*(start[3] - 950.0)) - 200
