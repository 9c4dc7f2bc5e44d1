"""Road network and travel matrices (geodata.network) on hand-made street grids."""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point

from geodata.errors import CRSError
from geodata.network import (
    NetworkWarning,
    build_network,
    clear_cache,
    network_from_campaign_roads,
    snap_points,
    travel_matrix,
)

CRS = "EPSG:32631"
WALK = 4.5 / 3.6  # m/s
RESIDENTIAL = 30 / 3.6


def up(seconds):
    """Matrix seconds are whole seconds rounded up."""
    return np.ceil(np.asarray(seconds) - 1e-9).astype(int)


def grid(n=5, step=100.0, highway="residential", extra=()):
    """Streets every ``step`` m, vertices at every crossing, as ``n`` horizontal + ``n`` vertical ways."""
    rows = []
    for i in range(n):
        c = i * step
        rows.append({"highway": highway, "oneway": None, "geometry": LineString([(k * step, c) for k in range(n)])})
        rows.append({"highway": highway, "oneway": None, "geometry": LineString([(c, k * step) for k in range(n)])})
    rows.extend(extra)
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS)


@pytest.fixture(autouse=True)
def _fresh_cache():
    clear_cache()
    yield
    clear_cache()


def one(net, a, b, mode):
    m = travel_matrix(net, [Point(a)], [Point(b)], mode=mode)
    return int(m.seconds[0, 0]), int(m.metres[0, 0])


def test_grid_shortest_path_known_exactly():
    net = build_network(grid())
    m = travel_matrix(net, [Point(0, 0), Point(400, 400)], [Point(300, 200), Point(0, 0)], mode="walk", origin_ids=["a", "b"])
    assert m.metres.tolist() == [[500, 0], [300, 800]]
    assert m.seconds.tolist() == [[400, 0], [240, 640]]  # 4.5 km/h
    assert m.origin_ids == ("a", "b") and m.destination_ids == (0, 1)
    assert m.seconds.dtype.kind == "i" and not m.estimated.any()
    # the networkx graph agrees: 25 crossings, 40 street segments both ways
    g = net.to_networkx("walk")
    assert g.number_of_nodes() == 25 and g.number_of_edges() == 80
    node = {(d["x"], d["y"]): i for i, d in g.nodes(data=True)}
    assert nx.shortest_path_length(g, node[(0.0, 0.0)], node[(300.0, 200.0)], weight="length") == 500


def test_ways_connect_only_at_shared_vertices():
    # two lines crossing at (50, 0) without a vertex there, and one touching at a shared vertex
    roads = gpd.GeoDataFrame(
        {"highway": ["residential"] * 3},
        geometry=[LineString([(0, 0), (100, 0)]), LineString([(50, -50), (50, 50)]), LineString([(100, 0), (100, 80)])],
        crs=CRS,
    )
    g = build_network(roads).to_networkx("walk")
    assert g.number_of_nodes() == 5
    assert sorted(len(c) for c in nx.weakly_connected_components(g)) == [2, 3]


def test_points_prefer_the_main_component_when_it_is_near():
    fragment = {"highway": "track", "oneway": None, "geometry": LineString([(100, -30), (300, -30)])}
    net = build_network(grid(extra=[fragment]))
    # 5 m from the cut-off track, 35 m from the grid: joins the grid
    assert one(net, (200, -35), (200, 0), "drive") == (up(35 / WALK), 35)
    s = snap_points(net, np.array([[200.0, -30.0]]), mode="drive")  # even a point on the track
    assert s.distance.tolist() == [30.0] and s.xy.tolist() == [[200.0, 0.0]]


def test_oneway_respected_for_drive_not_walk():
    bottom = LineString([(k * 100.0, 0) for k in range(5)])
    roads = grid()
    roads.loc[roads.geometry.geom_equals(bottom), "oneway"] = "yes"  # west → east only
    net = build_network(roads)
    assert one(net, (0, 0), (100, 0), "drive") == (up(100 / RESIDENTIAL), 100)
    assert one(net, (100, 0), (0, 0), "drive") == (up(300 / RESIDENTIAL), 300)  # around the block
    assert one(net, (100, 0), (0, 0), "walk") == (80, 100)
    roads.loc[roads.geometry.geom_equals(bottom), "oneway"] = "-1"  # now east → west only
    net = build_network(roads)
    assert one(net, (100, 0), (0, 0), "drive")[1] == 100
    assert one(net, (0, 0), (100, 0), "drive")[1] == 300


def test_oneway_inside_a_split_segment():
    roads = gpd.GeoDataFrame(
        {"highway": ["residential"] * 3, "oneway": ["yes", None, None]},
        geometry=[LineString([(0, 0), (100, 0)]), LineString([(100, 0), (100, 100), (0, 100)]),
                  LineString([(0, 100), (0, 0)])], crs=CRS,
    )
    net = build_network(roads)
    assert one(net, (20, 0), (80, 0), "drive")[1] == 60  # along the one-way piece
    assert one(net, (80, 0), (20, 0), "drive")[1] == 20 + 300 + 20  # the long way round
    assert one(net, (80, 0), (20, 0), "walk")[1] == 60


def test_walk_and_drive_speeds_and_overrides():
    net = build_network(grid())
    assert one(net, (0, 0), (400, 0), "walk") == (320, 400)
    assert one(net, (0, 0), (400, 0), "drive") == (48, 400)  # residential 30 km/h
    faster = build_network(grid(), speeds={"drive": {"residential": 60}, "walk": {"residential": 3.6}})
    assert one(faster, (0, 0), (400, 0), "drive") == (24, 400)
    assert one(faster, (0, 0), (400, 0), "walk") == (400, 400)
    primary = build_network(grid(highway="primary"))
    assert one(primary, (0, 0), (400, 0), "drive") == (24, 400)  # 60 km/h


def test_footway_walkable_not_drivable_and_motorway_not_walkable():
    diagonal = {"highway": "footway", "oneway": None, "geometry": LineString([(0, 0), (400, 400)])}
    net = build_network(grid(extra=[diagonal]))
    assert one(net, (0, 0), (400, 400), "walk")[1] == round(400 * 2**0.5)
    assert one(net, (0, 0), (400, 400), "drive")[1] == 800
    motorway = {"highway": "motorway", "oneway": "no", "geometry": LineString([(0, 0), (400, 400)])}
    net = build_network(grid(extra=[motorway]))
    assert one(net, (0, 0), (400, 400), "walk")[1] == 800
    assert one(net, (0, 0), (400, 400), "drive") == (up(400 * 2**0.5 / 25), round(400 * 2**0.5))


def test_maxspeed_caps_class_speed_and_mixed_speeds_sum_metres():
    roads = grid(highway="primary")
    roads["maxspeed"] = None
    roads.loc[0, "maxspeed"] = "100"  # the bottom street y=0: no faster than its class
    net = build_network(roads)
    assert one(net, (0, 0), (400, 0), "drive") == (24, 400)
    roads.loc[0, "maxspeed"] = "50"
    net = build_network(roads)
    assert one(net, (0, 0), (400, 0), "drive") == (29, 400)  # 50 km/h beats 600 m round at 60 (36 s)
    roads.loc[0, "maxspeed"] = "20 mph"  # 32 km/h: 45 s, so round the block
    net = build_network(roads)
    assert one(net, (0, 0), (400, 0), "drive") == (36, 600)


def test_snapping_onto_the_middle_of_an_edge_counts_the_partial_edge():
    net = build_network(grid())
    s = snap_points(net, np.array([[150.0, 10.0], [400.0, 250.0]]), mode="walk")
    assert s.distance.tolist() == pytest.approx([10, 0])
    np.testing.assert_allclose(s.xy, [[150, 0], [400, 250]])
    assert one(net, (150, 10), (0, 0), "walk") == (128, 160)  # 10 m access + 150 m of road
    assert one(net, (120, 0), (180, 0), "walk")[1] == 60  # both on the same segment
    assert one(net, (180, 0), (120, 0), "drive") == (up(60 / RESIDENTIAL), 60)


def test_far_points_warn_with_ids_and_walk_straight_to_the_road():
    net = build_network(grid())
    far = gpd.GeoSeries([Point(200, -1000), Point(200, 0)], index=["hh-far", "hh-near"], crs=CRS)
    with pytest.warns(NetworkWarning, match=r"1 point\(s\) are more than 500 m .*hh-far"):
        m = travel_matrix(net, far, mode="walk")
    assert m.metres[0, 1] == 1000 and m.seconds[0, 1] == 800
    assert m.origin_snap_m.tolist() == [1000, 0] and m.destination_snap_m.tolist() == [1000, 0]
    assert not m.estimated.any()


def test_neighbours_off_the_road_walk_straight_across():
    net = build_network(grid())
    with pytest.warns(NetworkWarning, match="more than 500 m"):
        m = travel_matrix(net, [Point(200, -1000), Point(230, -1040)], mode="walk")
    assert m.metres[0, 1] == round(50 * 1.3)


def test_disconnected_pairs_fall_back_with_a_counted_warning():
    island = {"highway": "residential", "oneway": None, "geometry": LineString([(5000, 0), (5100, 0)])}
    net = build_network(grid(extra=[island]))
    pts = [Point(0, 0), Point(100, 0), Point(5000, 0)]
    with pytest.warns(NetworkWarning, match="4 of 9 origin–destination pairs are not connected by walk roads"):
        m = travel_matrix(net, pts, mode="walk")
    assert m.estimated.tolist() == [[False, False, True], [False, False, True], [True, True, False]]
    assert m.metres[0, 2] == round(5000 * 1.3)
    assert m.seconds[0, 2] == up(5000 * 1.3 / WALK)
    assert np.all(m.seconds >= 0)


@pytest.mark.parametrize("roads", [None, gpd.GeoDataFrame({"highway": []}, geometry=[], crs=CRS)])
def test_no_roads_fall_back_to_straight_line_with_warning(roads):
    net = build_network(roads)
    with pytest.warns(NetworkWarning, match=r"no roads were given: drive travel times are straight-line distance × 1.3 at 30 km/h"):
        m = travel_matrix(net, [Point(0, 0)], [Point(300, 400)], mode="drive")
    assert m.metres.tolist() == [[650]] and m.seconds.tolist() == [[78]]
    assert np.isnan(m.origin_snap_m).all()
    assert m.estimated.all()
    with pytest.warns(NetworkWarning, match="no roads were given: walk"):
        assert travel_matrix(net, [Point(0, 0)], [Point(300, 400)], mode="walk").seconds[0, 0] == 520


def test_no_drivable_road_falls_back_with_warning():
    net = build_network(grid(highway="footway"))
    with pytest.warns(NetworkWarning, match="no road in the network is usable for drive"):
        travel_matrix(net, [Point(0, 0)], [Point(100, 0)], mode="drive")


def test_walk_matrix_is_symmetric_on_an_undirected_network():
    rng = np.random.default_rng(1)
    net = build_network(grid(n=6))
    pts = rng.uniform(-50, 550, size=(30, 2))
    m = travel_matrix(net, pts, mode="walk")
    np.testing.assert_array_equal(m.seconds, m.seconds.T)
    np.testing.assert_array_equal(m.metres, m.metres.T)
    assert (np.diag(m.seconds) == 0).all()


def random_town(rng, n=7, step=100.0):
    """A jittered street grid of mixed classes and one-ways, each street bent twice."""
    xy = {(i, j): (i * step + rng.uniform(-20, 20), j * step + rng.uniform(-20, 20)) for i in range(n) for j in range(n)}
    classes = ["primary", "secondary", "residential", "service"]
    rows = []
    for i in range(n):
        for j in range(n):
            for di, dj in ((1, 0), (0, 1)):
                if i + di < n and j + dj < n:
                    a, b = np.array(xy[i, j]), np.array(xy[i + di, j + dj])
                    bends = [a + (b - a) * t + rng.uniform(-8, 8, 2) for t in (0.3, 0.6)]  # chain-interior vertices
                    rows.append({"highway": classes[rng.integers(4)], "oneway": ["yes", "-1", None, None][rng.integers(4)],
                                 "geometry": LineString([a, *bends, b])})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS)


def reference(g: nx.DiGraph, sources, targets):
    """Seconds and metres by networkx (NaN where unreachable)."""
    secs = np.full((len(sources), len(targets)), np.nan)
    metres = secs.copy()
    for i, a in enumerate(sources):
        pred, dist = nx.dijkstra_predecessor_and_distance(g, int(a), weight="seconds")
        for j, b in enumerate(targets):
            if b in dist:
                secs[i, j], node = dist[b], int(b)
                metres[i, j] = 0.0
                while node != a:
                    metres[i, j] += g.edges[pred[node][0], node]["length"]
                    node = pred[node][0]
    return secs, metres


_GRID = build_network(grid(n=4))
_coords = st.tuples(st.floats(-300, 600, allow_nan=False), st.floats(-300, 600, allow_nan=False))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_coords, min_size=1, max_size=8))
def test_walk_matrix_invariants(coords):
    pts = np.array(coords, dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NetworkWarning)  # hypothesis also draws points far off the grid
        m = travel_matrix(_GRID, pts, mode="walk")
    straight = np.hypot(*(pts[:, None, :] - pts[None, :, :]).transpose(2, 0, 1))
    np.testing.assert_array_equal(m.seconds, m.seconds.T)
    assert (np.diag(m.metres) == 0).all() and not m.estimated.any()
    assert (m.metres >= np.floor(straight) - 1).all()  # never shorter than the crow flies
    assert (np.abs(m.seconds - m.metres / WALK) <= 2).all()  # walking speed throughout


@pytest.mark.parametrize("seed", [7, 8])
def test_scipy_agrees_with_networkx_on_mixed_speeds_and_oneways(seed):
    # threshold 0: every node stays on its own roads instead of joining the main component
    net = build_network(random_town(np.random.default_rng(seed)), snap_threshold_m=0)
    g = net.to_networkx("drive")
    nodes = np.array([[g.nodes[k]["x"], g.nodes[k]["y"]] for k in g.nodes])
    with pytest.warns(NetworkWarning, match="pairs are not connected by drive roads"):
        m = travel_matrix(net, nodes, mode="drive")  # some corners are one-way dead ends
    rows = np.arange(0, len(nodes), 4)
    secs, metres = reference(g, rows, np.arange(len(nodes)))
    np.testing.assert_array_equal(m.estimated[rows], np.isnan(secs))
    ok = ~np.isnan(secs)
    np.testing.assert_array_equal(m.seconds[rows][ok], up(secs[ok]))
    np.testing.assert_array_equal(m.metres[rows][ok], np.rint(metres[ok]))


def test_points_inside_segments_agree_with_points_made_vertices():
    """Snapping splits chains exactly: same result as drawing each point into its road as a vertex."""
    rng = np.random.default_rng(3)
    roads = random_town(rng)
    net = build_network(roads, snap_threshold_m=1e-6)  # stay on the own road (points are ~1e-13 m off it)
    seg = rng.choice(net.n_segments, 60)
    seg[1] = seg[2] = seg[0]  # several points on one segment
    frac = rng.uniform(0.05, 0.95, 60)
    a, b = net.nodes[net.seg_u[seg]], net.nodes[net.seg_v[seg]]
    pts = a + (b - a) * frac[:, None]
    # reference network: every segment its own way, with the points inserted as vertices
    way = np.repeat(np.arange(len(roads)), [len(geom.coords) - 1 for geom in roads.geometry])
    assert len(way) == net.n_segments
    pieces = []
    for s in range(net.n_segments):
        on = np.flatnonzero(seg == s)
        inner = [tuple(pts[k]) for k in on[np.argsort(frac[on])]]
        row = roads.iloc[way[s]]
        pieces.append({"highway": row.highway, "oneway": row.oneway,
                       "geometry": LineString([tuple(net.nodes[net.seg_u[s]]), *inner, tuple(net.nodes[net.seg_v[s]])])})
    ref_net = build_network(gpd.GeoDataFrame(pieces, geometry="geometry", crs=CRS), snap_threshold_m=0)
    index = {tuple(np.round(xy, 3)): i for i, xy in enumerate(ref_net.nodes)}
    ids = np.array([index[tuple(np.round(p, 3))] for p in pts])
    for mode in ("walk", "drive"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NetworkWarning)  # one-way dead ends in drive
            m = travel_matrix(net, pts, mode=mode)
        secs, metres = reference(ref_net.to_networkx(mode), ids, ids)
        np.testing.assert_array_equal(m.estimated, np.isnan(secs))
        ok = ~np.isnan(secs)
        assert np.abs(m.seconds[ok] - up(secs[ok])).max() <= 1
        assert np.abs(m.metres[ok] - np.rint(metres[ok])).max() <= 1


def test_ring_road_without_junctions():
    ring = [(100 * np.cos(t), 100 * np.sin(t)) for t in np.linspace(0, 2 * np.pi, 13)]
    roads = gpd.GeoDataFrame({"highway": ["residential"], "oneway": ["yes"]}, geometry=[LineString(ring)], crs=CRS)
    net = build_network(roads)
    side = 2 * 100 * np.sin(np.pi / 12)  # chord of one 30° step
    a, b = ring[1], ring[3]
    assert one(net, a, b, "walk")[1] == round(2 * side)
    assert one(net, b, a, "walk")[1] == round(2 * side)
    assert one(net, b, a, "drive")[1] == round(10 * side)  # one-way: the long way round
    mid = ((ring[1][0] + ring[2][0]) / 2, (ring[1][1] + ring[2][1]) / 2)
    assert one(net, mid, a, "drive")[1] == round(11.5 * side)


def test_cache_returns_the_identical_object_and_reads_from_disk(tmp_path: Path):
    net = build_network(grid())
    pts = [Point(0, 0), Point(150, 10), Point(400, 400)]
    first = travel_matrix(net, pts, mode="walk", cache_dir=tmp_path)
    assert travel_matrix(net, pts, mode="walk") is first
    assert travel_matrix(build_network(grid()), pts, mode="walk") is first  # same content, same key
    assert travel_matrix(net, pts, mode="drive") is not first
    assert travel_matrix(net, pts[:2], mode="walk") is not first
    with pytest.raises(ValueError):
        first.seconds[0, 0] = 1
    clear_cache()
    again = travel_matrix(net, pts, mode="walk", cache_dir=tmp_path)
    assert again is not first
    np.testing.assert_array_equal(again.seconds, first.seconds)
    np.testing.assert_array_equal(again.metres, first.metres)
    np.testing.assert_array_equal(again.destination_snap_m, [0, 10, 0])


def test_cache_hit_repeats_the_warning():
    net = build_network(None)
    with pytest.warns(NetworkWarning):
        first = travel_matrix(net, [Point(0, 0)], mode="walk")
    with pytest.warns(NetworkWarning, match="no roads were given"):
        assert travel_matrix(net, [Point(0, 0)], mode="walk") is first


def test_points_are_reprojected_and_geographic_roads_rejected_or_projected():
    roads = grid()
    net = build_network(roads)
    wgs = gpd.GeoSeries([Point(0, 0), Point(300, 200)], crs=CRS).to_crs(4326)
    assert travel_matrix(net, wgs, mode="walk").metres[0, 1] == 500
    with pytest.raises(CRSError):
        build_network(roads.to_crs(4326))
    projected = network_from_campaign_roads(roads.to_crs(4326))
    assert projected.crs.is_projected and projected.n_segments == 40


def test_bad_mode_and_bad_speed_are_rejected():
    with pytest.raises(ValueError, match="unknown travel mode"):
        travel_matrix(build_network(grid()), [Point(0, 0)], mode="bike")
    with pytest.raises(ValueError):
        build_network(grid(), speeds={"drive": {"primary": "fast"}})


@pytest.mark.skipif(importlib.util.find_spec("geodata.osm") is None, reason="geodata/osm.py not written yet")
def test_andorra_network_agrees_with_networkx():
    from geodata.network import network_from_osm

    path = Path(__file__).resolve().parents[1] / "geodata" / "data" / "andorra.osm.pbf"
    net = network_from_osm(path, crs="EPSG:32631", snap_threshold_m=0)  # points stay on their own vertex
    assert net.n_segments > 10_000
    rng = np.random.default_rng(0)
    for mode in ("walk", "drive"):
        g = net.to_networkx(mode)
        main = max(nx.strongly_connected_components(g), key=len)
        picks = rng.choice(sorted(main), 25, replace=False)
        m = travel_matrix(net, net.nodes[picks], mode=mode)
        assert not m.estimated.any()
        for i, a in enumerate(picks[:3]):
            pred, secs = nx.dijkstra_predecessor_and_distance(g, int(a), weight="seconds")
            for j, b in enumerate(picks):
                assert m.seconds[i, j] == up(secs[b])
                metres, node = 0.0, int(b)
                while node != a:
                    metres += g.edges[pred[node][0], node]["length"]
                    node = pred[node][0]
                assert abs(m.metres[i, j] - metres) <= 1
