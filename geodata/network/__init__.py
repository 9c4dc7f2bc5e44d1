"""Road network and travel-time / distance matrices.

Build a :class:`RoadNetwork` from a ``roads`` frame (:func:`build_network`,
:func:`network_from_campaign_roads`, :func:`network_from_osm`), then ask
:func:`travel_matrix` for seconds and metres between points in ``walk`` or
``drive`` mode. Default speeds are in :mod:`geodata.network.speeds`. Every
estimate that is not a road route raises a :class:`NetworkWarning`.

Example::

    net = network_from_campaign_roads(campaign.roads)
    m = travel_matrix(net, campaign.households, mode="walk")
    m.seconds[i, j], m.metres[i, j]
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
