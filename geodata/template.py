"""An empty campaign GeoPackage with every layer and column typed as in the schema."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd

from geodata.io import write_layers
from geodata.schema import LAYERS

_DTYPES = {"str": object, "int": "int64", "float": "float64", "bool": bool}


def template_layers() -> dict:
    layers = {}
    for name, layer in LAYERS.items():
        cols = {c.name: pd.Series(dtype=_DTYPES[c.dtype]) for c in layer.columns}
        if layer.geometry is None:
            layers[name] = pd.DataFrame(cols)
        else:
            layers[name] = gpd.GeoDataFrame(cols, geometry=gpd.GeoSeries([], crs=4326), crs=4326)
    return layers


def write_template(path: str | Path) -> Path:
    """Write the empty template (WGS-84) to ``path``; tables have no geometry.

    GDAL needs a geometry type for an empty spatial layer, so the layer's
    geometry type is passed explicitly.
    """
    import pyogrio

    path = Path(path)
    if path.exists():
        path.unlink()
    for name, frame in template_layers().items():
        layer = LAYERS[name]
        if layer.geometry is None:
            write_layers({name: frame}, path, mode="a")
        else:
            pyogrio.write_dataframe(frame, path, layer=name, driver="GPKG", geometry_type=layer.geometry)
    return path
