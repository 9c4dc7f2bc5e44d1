"""Reading and writing campaign files, layer by layer.

A campaign source is one of
* a GeoPackage (``.gpkg``) whose layers are named as in :mod:`geodata.schema`;
* a folder holding ``<layer>.geojson`` / ``<layer>.shp`` / ``<layer>.gpkg`` /
  ``<layer>.csv`` files;
* a ``.zip`` of such a folder (shapefiles are usually sent zipped).

:func:`read_layers` returns the raw frames (no cleaning); anything that makes
the input unreadable as a whole raises :class:`CampaignReadError` (exit 2 in
the CLI). Per-feature problems are the validator's job.
"""

from __future__ import annotations

import tempfile
import warnings
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
from pyogrio.errors import DataSourceError, DataLayerError

from geodata.errors import CampaignReadError
from geodata.schema import LAYERS

VECTOR_SUFFIXES = (".gpkg", ".geojson", ".json", ".shp", ".csv")


def list_layers(path: str | Path) -> list[str]:
    """Names of the layers in a GeoPackage or campaign folder/zip."""
    path = Path(path)
    with _opened(path) as src:
        if src.is_dir():
            return sorted({p.stem for p in src.iterdir() if p.suffix.lower() in VECTOR_SUFFIXES})
        return [str(name) for name, _ in pyogrio.list_layers(src)]


def read_layers(path: str | Path, *, layers: list[str] | None = None) -> dict[str, gpd.GeoDataFrame | pd.DataFrame]:
    """Read the campaign layers present in ``path`` (only the known ones, or ``layers``).

    Returns ``{layer name: frame}``; table layers without geometry come back as
    plain DataFrames. A layer missing from the file is simply absent from the
    dict (the validator reports required ones).
    """
    path = Path(path)
    if not path.exists():
        raise CampaignReadError(f"{path}: no such file or folder")
    wanted = set(layers) if layers is not None else set(LAYERS)
    out = {}
    with _opened(path) as src:
        if src.is_dir():
            files = {p.stem: p for p in sorted(src.iterdir()) if p.suffix.lower() in VECTOR_SUFFIXES}
            for name in sorted(wanted & set(files)):
                out[name] = _read_one(files[name], None, name)
        else:
            if src.suffix.lower() not in (".gpkg", ".sqlite", ".geojson", ".json", ".shp"):
                raise CampaignReadError(
                    f"{path}: not a campaign file; give a GeoPackage (.gpkg), a folder of "
                    "GeoJSON/Shapefile layers, or a .zip of one (run `zoufang template FILE.gpkg` for a template)"
                )
            try:
                present = [str(name) for name, _ in pyogrio.list_layers(src)]
            except (DataSourceError, OSError) as exc:
                raise CampaignReadError(f"{path}: cannot be read as a GeoPackage ({_short(exc)})") from exc
            for name in sorted(wanted & set(present)):
                out[name] = _read_one(src, name, name)
    return out


def read_layer(path: str | Path, layer: str | None = None) -> gpd.GeoDataFrame | pd.DataFrame:
    """Read one layer of a vector file (GeoPackage layer, GeoJSON, Shapefile, zip)."""
    path = Path(path)
    if not path.exists():
        raise CampaignReadError(f"{path}: no such file")
    with _opened(path) as src:
        if src.is_dir():
            candidates = [p for p in src.rglob("*") if p.suffix.lower() in (".shp", ".geojson", ".json", ".gpkg")]
            if layer:
                named = [p for p in candidates if p.stem == layer]
                candidates = named or candidates
            if len(candidates) != 1:
                raise CampaignReadError(
                    f"{path}: expected one vector file inside, found {len(candidates)} "
                    f"({', '.join(p.name for p in candidates) or 'none'}); name the layer"
                )
            return _read_one(candidates[0], None, layer or candidates[0].stem)
        if layer is not None and src.suffix.lower() == ".gpkg":
            present = [str(n) for n, _ in pyogrio.list_layers(src)]
            if layer not in present:
                raise CampaignReadError(f"{path}: no layer {layer!r} (layers: {', '.join(present)})")
            return _read_one(src, layer, layer)
        return _read_one(src, None, layer or src.stem)


def write_layers(layers: dict[str, gpd.GeoDataFrame | pd.DataFrame], path: str | Path, *, mode: str = "w") -> Path:
    """Write frames as layers of one GeoPackage. ``mode="w"`` replaces the file;
    ``mode="a"`` adds or replaces the given layers and keeps the others."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if mode == "w" and path.exists():
        path.unlink()
    for name, frame in layers.items():
        write_layer(frame, path, name)
    return path


def write_layer(frame, path: str | Path, name: str) -> None:
    """Write (or replace) one layer of a GeoPackage; plain DataFrames become attribute tables."""
    path = Path(path)
    kwargs = {}
    if path.exists() and name in {str(n) for n, _ in pyogrio.list_layers(path)}:
        kwargs["layer_options"] = {"OVERWRITE": "YES"}
    with warnings.catch_warnings():
        # GDAL warns about writing a layer without geometry; that is intended for tables.
        warnings.simplefilter("ignore", RuntimeWarning)
        if isinstance(frame, gpd.GeoDataFrame):
            pyogrio.write_dataframe(frame, path, layer=name, driver="GPKG", append=False, **kwargs)
        else:
            pyogrio.write_dataframe(pd.DataFrame(frame), path, layer=name, driver="GPKG", append=False, **kwargs)


def _read_one(path: Path, layer: str | None, label: str):
    try:
        if path.suffix.lower() == ".csv":
            return pd.read_csv(path, dtype=str, keep_default_na=False)
        info = pyogrio.read_info(path, layer=layer)
        frame = pyogrio.read_dataframe(path, layer=layer)
    except (DataSourceError, DataLayerError, OSError, ValueError) as exc:
        raise CampaignReadError(f"{path}: layer {label!r} cannot be read ({_short(exc)})") from exc
    if info.get("geometry_type") is None and "geometry" in getattr(frame, "columns", []):
        frame = pd.DataFrame(frame.drop(columns="geometry"))
    elif not isinstance(frame, gpd.GeoDataFrame):
        frame = pd.DataFrame(frame)
    return frame


class _opened:
    """Context manager: a zip is extracted to a temporary folder, anything else passes through."""

    def __init__(self, path: Path):
        self.path = path
        self._tmp = None

    def __enter__(self) -> Path:
        if self.path.suffix.lower() == ".zip":
            if not zipfile.is_zipfile(self.path):
                raise CampaignReadError(f"{self.path}: not a valid zip file")
            self._tmp = tempfile.TemporaryDirectory(prefix="zoufang-")
            with zipfile.ZipFile(self.path) as zf:
                zf.extractall(self._tmp.name)
            root = Path(self._tmp.name)
            entries = [p for p in root.iterdir() if not p.name.startswith(("__MACOSX", "."))]
            if len(entries) == 1 and entries[0].is_dir():
                root = entries[0]
            return root
        return self.path

    def __exit__(self, *exc):
        if self._tmp is not None:
            self._tmp.cleanup()


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
