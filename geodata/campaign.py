"""The in-memory campaign: clean, validated frames in one metric CRS.

:class:`Campaign` is what planner/ and web/ consume. Build it with
:func:`geodata.load_campaign` (file → read → normalise → validate → derive).
Every frame has the canonical columns of :mod:`geodata.schema` (extra columns
kept), string ids, and geometry in ``crs`` (a projected metric CRS chosen from
the data: a UTM zone). ``teams`` and ``cadres`` are plain DataFrames; teams get
``base_x``/``base_y`` in the metric CRS when a base is given.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd
from pyproj import CRS


@dataclass(frozen=True)
class Campaign:
    crs: CRS
    villages: gpd.GeoDataFrame
    grids: gpd.GeoDataFrame
    households: gpd.GeoDataFrame
    enterprises: gpd.GeoDataFrame
    teams: pd.DataFrame
    cadres: pd.DataFrame
    towns: gpd.GeoDataFrame | None = None
    counties: gpd.GeoDataFrame | None = None
    roads: gpd.GeoDataFrame | None = None
    name: str = "campaign"
    #: non-fatal findings (warnings) from validation
    warnings: tuple = field(default_factory=tuple)

    def layer(self, name: str):
        return getattr(self, name)

    def to_wgs84(self, name: str) -> gpd.GeoDataFrame:
        """A copy of a spatial layer in WGS-84 (for web maps and GPX)."""
        return self.layer(name).to_crs(4326)
