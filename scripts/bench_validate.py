"""Benchmark: reading and validating a county-sized campaign file (not a test).

Protocol: the county of ``scripts/bench_assign.py`` (the demo's Andorra towns
replicated side by side: ~3,000 grids, 300,000 households), written to a
GeoPackage in WGS-84; then timed: read_layers, validate_layers (every rule),
and load_campaign (read + validate + derive). Prints one line per step and the
findings count (0 expected).

    python scripts/bench_validate.py [--households 300000] [--copies 34]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import tempfile
import time
from pathlib import Path


def _county(copies, households):
    spec = importlib.util.spec_from_file_location("bench_assign", Path(__file__).with_name("bench_assign.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.county_campaign(copies=copies, households=households)


def write_county(path: Path, *, copies: int = 34, households: int = 300_000):
    """Write the benchmark county to a campaign GeoPackage in WGS-84 → (Campaign, path)."""
    from geodata.io import write_layers
    from geodata.validate import _make_valid

    c = _county(copies, households)
    layers = {name: getattr(c, name).to_crs(4326) for name in ("towns", "villages", "grids", "households", "enterprises")}
    # dissolving shifted copies leaves slivers that become self-intersections in WGS-84: repair them here,
    # so the file is a valid campaign (the validator reports such rings; see `zoufang validate --fix`)
    layers["towns"]["geometry"] = [_make_valid(g, "Polygon") for g in layers["towns"].geometry]
    layers["teams"] = c.teams.drop(columns=["base_x", "base_y"])
    layers["cadres"] = c.cadres
    write_layers(layers, path)
    return c, path


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--households", type=int, default=300_000)
    ap.add_argument("--copies", type=int, default=34)
    args = ap.parse_args(argv)

    from geodata import load_campaign
    from geodata.io import read_layers
    from geodata.validate import validate_layers

    c, path = write_county(Path(tempfile.mkdtemp()) / "county.gpkg", copies=args.copies, households=args.households)
    print(f"county file {path}: {len(c.grids):,} grids, {len(c.households):,} households, "
          f"{len(c.teams)} teams, {len(c.cadres):,} cadres; {path.stat().st_size / 1e6:.0f} MB")
    t = time.perf_counter()
    raw = read_layers(path)
    t_read = time.perf_counter() - t
    t = time.perf_counter()
    report = validate_layers(raw).report
    t_val = time.perf_counter() - t
    t = time.perf_counter()
    load_campaign(path)
    t_load = time.perf_counter() - t
    print(f"read_layers     {t_read:6.1f} s")
    print(f"validate_layers {t_val:6.1f} s  ({report.summary()})")
    print(f"load_campaign   {t_load:6.1f} s  (read + validate + derive)")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
