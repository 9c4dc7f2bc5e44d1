"""Default travel speeds per OSM ``highway`` class, and parsing of OSM tags.

Speeds are in km/h. A mode's table maps a highway class to a speed; a class
missing from the table uses the ``"*"`` entry if there is one and is not
usable in that mode otherwise. A speed of ``None`` or ``<= 0`` makes a class
unusable. Override tables with ``build_network(..., speeds={"drive": {...}})``;
overrides are merged over these defaults.

Walking (``walk``): 4.5 km/h on everything except motorways and trunk roads
(and their links), and except ways that are not roads at all (construction,
proposed, abandoned, platform, raceway, ...).

Driving (``drive``): motorway 90, trunk 70, primary 60, secondary 50,
tertiary 40, unclassified / residential / road 30, living_street / service /
track 15 km/h; a ``*_link`` road gets its parent class's speed. Footways,
paths, steps, pedestrian streets, cycleways, bridleways and every class not
listed are not drivable. An OSM ``maxspeed`` lower than the class speed caps it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

import numpy as np
import pandas as pd

MODES = ("walk", "drive")

#: walking speed, also used for every access leg (point ↔ road) and off-road walk
WALK_KMH = 4.5

#: ways tagged ``highway`` that are not (yet / any more) roads
NOT_ROUTABLE = frozenset(
    {"construction", "proposed", "abandoned", "disused", "platform", "raceway", "bus_guideway", "escape", "rest_area", "services"}
)
NOT_WALKABLE = frozenset({"motorway", "motorway_link", "trunk", "trunk_link"})

_DRIVE = {
    "motorway": 90.0,
    "trunk": 70.0,
    "primary": 60.0,
    "secondary": 50.0,
    "tertiary": 40.0,
    "unclassified": 30.0,
    "residential": 30.0,
    "road": 30.0,
    "living_street": 15.0,
    "service": 15.0,
    "track": 15.0,
}
for _parent in ("motorway", "trunk", "primary", "secondary", "tertiary"):
    _DRIVE[f"{_parent}_link"] = _DRIVE[_parent]

_WALK: dict[str, float | None] = {"*": WALK_KMH}
_WALK.update({c: None for c in NOT_WALKABLE | NOT_ROUTABLE})

#: the default speed tables, km/h per highway class (``"*"`` = any other class)
DEFAULT_SPEEDS_KMH: Mapping[str, Mapping[str, float | None]] = {"walk": _WALK, "drive": _DRIVE}

#: straight-line fallback speed per mode (no roads, or no connection), km/h
DEFAULT_FALLBACK_KMH: Mapping[str, float] = {"walk": WALK_KMH, "drive": 30.0}

#: straight-line distance × this ≈ road distance, for the straight-line fallback
DEFAULT_DETOUR_FACTOR = 1.3

#: points farther than this from any usable road get a warning (metres)
DEFAULT_SNAP_THRESHOLD_M = 500.0


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ValueError(f"unknown travel mode {mode!r}; expected one of {MODES}")
    return mode


def speed_tables(speeds: Mapping[str, Mapping[str, float | None]] | None) -> dict[str, dict[str, float | None]]:
    """The default tables with ``speeds`` merged over them (validated)."""
    out = {m: dict(DEFAULT_SPEEDS_KMH[m]) for m in MODES}
    for mode, table in (speeds or {}).items():
        check_mode(mode)
        for cls, kmh in table.items():
            if kmh is not None and not (isinstance(kmh, (int, float)) and math.isfinite(kmh)):
                raise ValueError(f"speed for {mode}/{cls} must be a number of km/h or None, got {kmh!r}")
            out[mode][str(cls)] = None if kmh is None or kmh <= 0 else float(kmh)
    return out


def class_speeds(highway: np.ndarray, table: Mapping[str, float | None]) -> np.ndarray:
    """km/h per element of ``highway`` (NaN where the class is not usable)."""
    default = table.get("*")
    uniq, inv = np.unique(highway.astype(str), return_inverse=True)
    vals = np.array(
        [
            np.nan if (v := table.get(c, default)) is None else v
            for c in uniq
        ],
        dtype=float,
    )
    return vals[inv] if len(uniq) else np.zeros(0)


def normalise_highway(values) -> np.ndarray:
    """Lower-case stripped strings; a list value (OSM multi-tag) uses its first item."""
    def one(v):
        if isinstance(v, (list, tuple, np.ndarray)):
            v = v[0] if len(v) else ""
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return ""
        return str(v).split(";")[0].strip().lower()

    return np.array([one(v) for v in values], dtype=object)


_TRUE = {"yes", "true", "1", "y", "t"}
_REVERSE = {"-1", "reverse"}


def parse_oneway(values, highway: np.ndarray, junction=None) -> np.ndarray:
    """+1 (one-way along the geometry), -1 (against it) or 0 (both ways).

    A missing value on a motorway or a roundabout means one-way, as in OSM.
    """
    out = np.zeros(len(highway), dtype=np.int8)
    for i, v in enumerate(values if values is not None else [None] * len(highway)):
        if isinstance(v, (bool, np.bool_)):
            out[i] = 1 if v else 0
            continue
        missing = v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA
        s = "" if missing else str(v).strip().lower()
        if s in _TRUE:
            out[i] = 1
        elif s in _REVERSE:
            out[i] = -1
        elif s == "" and (
            highway[i] == "motorway"
            or (junction is not None and str(junction[i]).strip().lower() in ("roundabout", "circular"))
        ):
            out[i] = 1
    return out


_MAXSPEED = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(km/h|kmh|kph|mph|knots)?\s*$")


def parse_maxspeed(values) -> np.ndarray:
    """km/h from OSM ``maxspeed`` values (``50``, ``50 km/h``, ``30 mph``); NaN if absent or symbolic."""
    if values is None:
        return np.zeros(0)
    out = np.full(len(values), np.nan)
    for i, v in enumerate(values):
        if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
            continue
        if isinstance(v, (int, float, np.integer, np.floating)):
            out[i] = float(v) if v > 0 else np.nan
            continue
        m = _MAXSPEED.match(str(v).split(";")[0])
        if m:
            kmh = float(m.group(1)) * (1.609344 if m.group(2) == "mph" else 1.852 if m.group(2) == "knots" else 1.0)
            out[i] = kmh if kmh > 0 else np.nan
    return out
