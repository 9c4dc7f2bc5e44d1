"""The demo campaign (演示走访活动), built from the real geography shipped in ``geodata/data/``.

Andorra stands in for a county (县): its six readable parishes are towns (镇),
its place nodes give villages (行政村) and communities (社区), households are
placed along residential streets around each settlement. Karhula (Kotka) is one
more town of urban communities whose households live in the real residential
buildings. Every village is split into 2-8 grids (网格). Names, phones and
flags are made up, drawn from ``numpy.random.default_rng(seed)``: the same seed
gives the same layers.

Map data © OpenStreetMap contributors, ODbL 1.0 (see ``geodata/data/README.md``).

Usage::

    from geodata.demo import build_demo
    build_demo(Path("demo.gpkg"))
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio

from geodata import schema

from ._andorra import andorra_region
from ._assemble import finish, region_layers
from ._kotka import kotka_region

__all__ = ["ATTRIBUTION", "DATA_DIR", "DEFAULT_SEED", "LAYER_ORDER", "build_demo", "demo_layers"]

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
DEFAULT_SEED = 20170301
ATTRIBUTION = "© OpenStreetMap contributors, ODbL 1.0"
#: Layers written by :func:`build_demo`, in order (names from :mod:`geodata.schema`).
LAYER_ORDER = ("towns", "villages", "grids", "households", "enterprises", "teams", "cadres", "roads")


def demo_layers(*, seed: int = DEFAULT_SEED, data_dir: Path = DATA_DIR) -> dict[str, pd.DataFrame]:
    """The demo campaign's layers in memory: GeoDataFrames in WGS-84, ``teams``/``cadres`` plain DataFrames."""
    rng = np.random.default_rng(seed)
    regions = [andorra_region(Path(data_dir) / "andorra.osm.pbf", rng), kotka_region(Path(data_dir) / "kotka.osm.pbf", rng)]
    parts, first_town = [], 1
    for region in regions:
        parts.append(region_layers(region, rng, first_town=first_town))
        first_town += len(region.towns)
    return finish(parts, [r.roads for r in regions], rng)


def build_demo(out: Path, *, seed: int = DEFAULT_SEED, data_dir: Path = DATA_DIR) -> Path:
    """Write the demo campaign GeoPackage to ``out`` (replaced if it exists) and return its path.

    Layers: towns, villages, grids, households, enterprises, teams, cadres,
    roads (EPSG:4326; teams and cadres are attribute tables without geometry).
    The file's metadata carries the OpenStreetMap attribution (``ATTRIBUTION``).
    """
    out = Path(out)
    layers = demo_layers(seed=seed, data_dir=data_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    dataset = {
        "ATTRIBUTION": ATTRIBUTION,
        "DESCRIPTION": f"zoufang demo campaign (seed {seed}): Andorra's parishes and Karhula (Kotka); made-up households, enterprises, teams and cadres",
    }
    for i, name in enumerate(LAYER_ORDER):
        layer = schema.LAYERS[name]
        pyogrio.write_dataframe(
            layers[name], out, layer=name, driver="GPKG",
            dataset_metadata=dataset if i == 0 else None,
            layer_metadata={"DESCRIPTION": f"{layer.zh}: {layer.doc}"},
        )
    return out
