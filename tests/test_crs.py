"""Coordinate conversions against published reference coordinates."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod

from geodata.crs import (bd09_to_gcj02, bd09_to_wgs84, gcj02_to_bd09, gcj02_to_wgs84, metric_crs_for, parse_crs,
                         to_wgs84_lonlat, wgs84_to_bd09, wgs84_to_gcj02)
from geodata.errors import CRSError

GEOD = Geod(ellps="WGS84")

# (wgs lat, wgs lon, gcj lat, gcj lon): the reference pairs of googollee/eviltransform's test suite
WGS_GCJ = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),  # Shanghai
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),  # Shenzhen
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),  # Beijing
]
# wandergis/coordtransform's published example at Tiananmen (116.404, 39.915)
GCJ_TO_BD = ((116.404, 39.915), (116.41036949371029, 39.92133699351021))
BD_TO_GCJ = ((116.404, 39.915), (116.39762729119315, 39.90865673957631))
WGS_TO_GCJ_TAM = ((116.404, 39.915), (116.41024449916938, 39.91640428150164))


def metres(lon1, lat1, lon2, lat2):
    return GEOD.inv(lon1, lat1, lon2, lat2)[2]


@pytest.mark.parametrize("wlat,wlon,glat,glon", WGS_GCJ)
def test_wgs84_to_gcj02_matches_reference(wlat, wlon, glat, glon):
    lon, lat = wgs84_to_gcj02(wlon, wlat)
    assert metres(lon, lat, glon, glat) < 0.01


@pytest.mark.parametrize("wlat,wlon,glat,glon", WGS_GCJ)
def test_gcj02_to_wgs84_recovers_reference_within_1m(wlat, wlon, glat, glon):
    lon, lat = gcj02_to_wgs84(glon, glat)
    assert metres(lon, lat, wlon, wlat) < 1.0
    # and the offset itself is real: several hundred metres
    assert metres(glon, glat, wlon, wlat) > 100


def test_bd09_reference_points():
    lon, lat = gcj02_to_bd09(*GCJ_TO_BD[0])
    assert metres(lon, lat, *GCJ_TO_BD[1]) < 0.01
    lon, lat = bd09_to_gcj02(*BD_TO_GCJ[0])
    # the reference uses the one-step inverse; ours is iterated to the exact inverse (cm apart)
    assert metres(lon, lat, *BD_TO_GCJ[1]) < 0.1
    lon, lat = wgs84_to_gcj02(*WGS_TO_GCJ_TAM[0])
    assert metres(lon, lat, *WGS_TO_GCJ_TAM[1]) < 0.01


@settings(max_examples=200, deadline=None)
@given(st.floats(73.5, 134.7), st.floats(18.2, 53.5))
def test_round_trips_inside_china_below_1m(lon, lat):
    glon, glat = wgs84_to_gcj02(lon, lat)
    back = gcj02_to_wgs84(glon, glat)
    assert metres(lon, lat, *back) < 1.0
    blon, blat = wgs84_to_bd09(lon, lat)
    back = bd09_to_wgs84(blon, blat)
    assert metres(lon, lat, *back) < 1.0


def test_no_offset_outside_china():
    assert wgs84_to_gcj02(1.52, 42.5) == (1.52, 42.5)  # Andorra


def test_vectorised_arrays():
    lon = np.array([w[1] for w in WGS_GCJ])
    lat = np.array([w[0] for w in WGS_GCJ])
    glon, glat = to_wgs84_lonlat(*wgs84_to_gcj02(lon, lat), "gcj02")
    assert np.allclose(glon, lon, atol=1e-7) and np.allclose(glat, lat, atol=1e-7)


def test_cgcs2000_is_transformed_by_proj():
    lon, lat = to_wgs84_lonlat(119.95, 31.8, "cgcs2000")
    assert metres(float(lon), float(lat), 119.95, 31.8) < 1.0


@pytest.mark.parametrize("value", ["wgs84", "WGS-84", "EPSG:4326", "cgcs2000", "gcj02", "bd09", "EPSG:4547"])
def test_parse_crs_accepts_documented_names(value):
    assert parse_crs(value) is not None


def test_parse_crs_unknown_value_names_the_choices():
    with pytest.raises(CRSError, match="gcj02"):
        parse_crs("mars-coordinates-v2")


def test_metric_crs_is_the_utm_zone():
    assert metric_crs_for([119.5, 119.9], [31.8, 31.9]).to_epsg() == 32650
    assert metric_crs_for([1.5], [42.5]).to_epsg() == 32631
