"""Benchmark: how long a 1,000 × 1,000 travel matrix takes.

On the real Andorra OSM network (geodata/data/andorra.osm.pbf, UTM 31N) when
the OSM reader geodata/osm.py is there, else on a synthetic 100 × 100 street
grid. Prints the machine, the network size, and the time of the walk and drive
matrices (scipy Dijkstra), plus networkx's time for a few sources, extrapolated.

    /work/venv/bin/python scripts/bench_network.py [--points 1000] [--seed 0] [--synthetic]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
from shapely.geometry import LineString

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from geodata.network import NetworkWarning, build_network, clear_cache, network_from_osm, travel_matrix  # noqa: E402


def machine() -> str:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.node()} · {cpu} · {os.cpu_count()} cores visible · Python {platform.python_version()} · {platform.system()}"


def synthetic_grid(n: int = 100, step: float = 100.0) -> gpd.GeoDataFrame:
    rows = []
    for i in range(n):
        c = i * step
        hw = "primary" if i % 10 == 0 else "residential"
        rows.append({"highway": hw, "geometry": LineString([(k * step, c) for k in range(n)])})
        rows.append({"highway": hw, "geometry": LineString([(c, k * step) for k in range(n)])})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:32631")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--synthetic", action="store_true", help="use the 100×100 grid even if the OSM reader exists")
    args = ap.parse_args()
    print("machine:", machine())
    t = time.perf_counter()
    pbf = REPO / "geodata" / "data" / "andorra.osm.pbf"
    if not args.synthetic and importlib.util.find_spec("geodata.osm") is not None and pbf.exists():
        source = "Andorra OSM (EPSG:32631)"
        net = network_from_osm(pbf, crs="EPSG:32631")
    else:
        source = "synthetic 100×100 street grid"
        net = build_network(synthetic_grid())
    print(f"network: {source}: {net.n_nodes:,} nodes, {net.n_segments:,} segments, built in {time.perf_counter() - t:.2f} s")
    rng = np.random.default_rng(args.seed)
    # points near the roads: random vertices, nudged up to 30 m
    pts = net.nodes[rng.choice(net.n_nodes, args.points, replace=False)] + rng.uniform(-30, 30, (args.points, 2))
    for mode in ("walk", "drive"):
        clear_cache()
        t = time.perf_counter()
        mg = net.mode_graph(mode)  # speeds, snapping index, main component, contraction (once per network)
        print(f"{mode}: mode graph prepared in {time.perf_counter() - t:.2f} s "
              f"({mg.chains.n_junctions:,} junctions, {len(mg.chains.start):,} chains)")
        t = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", NetworkWarning)
            m = travel_matrix(net, pts, mode=mode)
        dt = time.perf_counter() - t
        t = time.perf_counter()
        assert travel_matrix(net, pts, mode=mode) is m
        hit = time.perf_counter() - t
        print(f"{mode}: {m.shape[0]:,} × {m.shape[1]:,} matrix in {dt:.2f} s (cache hit {hit * 1000:.1f} ms); "
              f"{int(m.estimated.sum()):,} estimated pairs; median {np.median(m.seconds) / 60:.1f} min, "
              f"{np.median(m.metres) / 1000:.2f} km; warnings: {len(caught)}")
    g = net.to_networkx("drive")
    sample = rng.choice(net.n_nodes, 10, replace=False)
    t = time.perf_counter()
    for s in sample:
        nx.single_source_dijkstra(g, int(s), weight="seconds")
    per = (time.perf_counter() - t) / len(sample)
    print(f"networkx single_source_dijkstra (drive, full tree with paths): {per * 1000:.0f} ms per source "
          f"→ ~{per * args.points:.0f} s for {args.points:,} sources")


if __name__ == "__main__":
    main()
