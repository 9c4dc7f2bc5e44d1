"""Road network and travel-time / distance matrices.

Build a :class:`RoadNetwork` from a ``roads`` frame (:func:`build_network`,
:func:`network_from_campaign_roads`, :func:`network_from_osm`), then ask
:func:`travel_matrix` for seconds and metres between points in ``walk`` or
``drive`` mode::

    net = network_from_campaign_roads(campaign.roads)
    m = travel_matrix(net, campaign.households, mode="walk")
    m.seconds[i, j], m.metres[i, j], m.estimated[i, j]

How a trip is computed:

* speeds per ``highway`` class and mode: :mod:`geodata.network.speeds`
  (overridable with ``build_network(..., speeds=...)``); one-way streets count
  in ``drive`` only; a ``maxspeed`` below the class speed caps it;
* each point walks (4.5 km/h) the straight line to its snap position on the
  nearest road usable in the mode — preferring the main (largest strongly
  connected) component when it is within the snap threshold (500 m) or when
  every road is farther than that; points beyond the threshold are named in a
  warning;
* the road part is scipy Dijkstra on the graph contracted to junctions, with
  every snap position splitting its road, so partial segments count exactly;
* pairs closer to each other than to the road may walk straight across
  (× detour factor 1.3) when that is faster;
* no roads, or no connection: straight line × 1.3 at the mode's fallback speed
  (walk 4.5, drive 30 km/h), flagged in ``Matrix.estimated`` and warned.

Every estimate raises a :class:`NetworkWarning` (also on a cache hit).
Matrices hold whole seconds (rounded up) and whole metres (:func:`to_int_units`).
"""

from geodata.network.graph import ModeGraph, RoadNetwork, build_network, network_from_campaign_roads, network_from_osm
from geodata.network.matrix import Matrix, clear_cache, to_int_units, travel_matrix
from geodata.network.snap import Snapped, snap_points
from geodata.network.speeds import (
    DEFAULT_DETOUR_FACTOR,
    DEFAULT_FALLBACK_KMH,
    DEFAULT_SNAP_THRESHOLD_M,
    DEFAULT_SPEEDS_KMH,
    MODES,
    WALK_KMH,
)
from geodata.network.warn import NetworkWarning

__all__ = [
    "DEFAULT_DETOUR_FACTOR",
    "DEFAULT_FALLBACK_KMH",
    "DEFAULT_SNAP_THRESHOLD_M",
    "DEFAULT_SPEEDS_KMH",
    "MODES",
    "WALK_KMH",
    "Matrix",
    "ModeGraph",
    "NetworkWarning",
    "RoadNetwork",
    "Snapped",
    "build_network",
    "clear_cache",
    "network_from_campaign_roads",
    "network_from_osm",
    "snap_points",
    "to_int_units",
    "travel_matrix",
]
