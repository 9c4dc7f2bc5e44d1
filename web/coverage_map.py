"""The leader's coverage map layers, serialised once and served as kept bytes.

At county scale (3,000 grids, 1,100 villages, 300,000 households) building the
choropleth's GeoJSON on every request cost 0.3–0.5 s per layer, and three layers
were asked for at once. The map's layers are split by how often they change:

``shapes`` (grids, villages)
    Outlines and ids (villages with their name and must-visit flags), no
    figures: they change only when the campaign or the plan is replaced. Built
    once per :class:`web.data.CampaignData` (kept in its ``cache``).
``figures`` (grids, villages)
    Coverage per unit as columns (``ids`` and one list per figure, in the
    same order), built from the kept coverage (:func:`web.leader.current_coverage`):
    a few tens of kB, rebuilt only when a visit is stored.
``heat``
    Households not yet covered, counted per grid at its representative point.

Each is a :class:`Payload`: the bytes, their gzip and an ETag (a hash of the
bytes). The page puts the ETag in the layer's URL (``?v=``); a request whose
``v`` is the current ETag is answered with ``Cache-Control: private,
max-age=…, immutable`` so a reload takes it from the browser's cache without
asking; any other request revalidates (``no-cache``; 304 on a matching
``If-None-Match``). The browser joins shapes and figures by id.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import threading
from dataclasses import dataclass

import numpy as np
import shapely
from flask import Request, Response, current_app

#: Decimals of the coordinates sent for the choropleth: 5 is about 1 m, finer
#: than the 1 m the outlines are simplified to (web.data.SIMPLIFY_METRES).
SHAPE_DECIMALS = 5
#: Decimals of the coverage ratios (0.1234 → 12.34 %).
RATIO_DECIMALS = 4
#: Figures per unit sent to the map, in this order.
FIGURES = ("households", "households_covered", "enterprises", "enterprises_covered", "not_home_backlog",
           "coverage", "must_visits_due", "must_visits_done")
#: Layers with shapes and figures.
UNIT_LAYERS = ("grids", "villages")
#: A year: versioned URLs never change content.
IMMUTABLE_SECONDS = 365 * 24 * 3600

_LOCK = threading.Lock()


@dataclass(frozen=True)
class Payload:
    """Serialised bytes ready to send, their gzip and ETag."""

    body: bytes
    gzipped: bytes
    etag: str
    mimetype: str

    @classmethod
    def of(cls, body: bytes, mimetype: str) -> Payload:
        return cls(body=body, gzipped=gzip.compress(body, compresslevel=6),
                   etag=hashlib.blake2b(body, digest_size=10).hexdigest(), mimetype=mimetype)

    def response(self, request: Request) -> Response:
        """200 with the (gzipped when accepted) bytes, or 304 when the client has them."""
        versioned = request.args.get("v") == self.etag
        if self.etag in request.if_none_match:
            response = Response(status=304)
        elif "gzip" in request.accept_encodings:
            response = Response(self.gzipped, mimetype=self.mimetype)
            response.headers["Content-Encoding"] = "gzip"
        else:
            response = Response(self.body, mimetype=self.mimetype)
        response.set_etag(self.etag)
        response.vary.add("Accept-Encoding")
        response.cache_control.private = True
        if versioned:
            response.cache_control.max_age = IMMUTABLE_SECONDS
            response.cache_control.immutable = True
        else:
            response.cache_control.no_cache = True
        return response


def _kept(cache: dict, key, build) -> Payload:
    value = cache.get(key)
    if value is None:
        with _LOCK:
            value = cache.get(key)
            if value is None:
                value = build()
                cache[key] = value
    return value


# --- shapes (per campaign data) -----------------------------------------------------------


def shapes(data, layer: str) -> Payload:
    """Outlines of ``grids`` or ``villages`` as GeoJSON, without figures."""
    if layer not in UNIT_LAYERS:
        raise ValueError(f"shapes are served for {' and '.join(UNIT_LAYERS)}, not {layer!r}")
    return _kept(data.cache, ("coverage_map.shapes", layer), lambda: _build_shapes(data, layer))


def warm(data) -> None:
    """Build the shapes of ``data`` now (0.5 s for a county): called when the data are prepared."""
    for layer in UNIT_LAYERS:
        if layer in data.layers:
            shapes(data, layer)


def _build_shapes(data, layer: str) -> Payload:
    gdf = data.layers[layer]
    key = layer[:-1] + "_id"
    geoms = shapely.transform(gdf.geometry.values, lambda c: np.round(c, SHAPE_DECIMALS))
    texts = shapely.to_geojson(geoms)
    if layer == "villages":
        props = [{"village_id": i, "name": n, "weak": bool(w), "resettlement": bool(r)}
                 for i, n, w, r in zip(gdf["village_id"], gdf["name"].astype(str), gdf["weak"], gdf["resettlement"])]
    else:
        props = [{key: i} for i in gdf[key]]
    features = ",".join(
        '{"type":"Feature","properties":%s,"geometry":%s}' % (json.dumps(p, ensure_ascii=False), g)
        for p, g in zip(props, texts) if g is not None
    )
    body = '{"type":"FeatureCollection","layer":"%s","key":"%s","features":[%s]}' % (layer, key, features)
    return Payload.of(body.encode(), "application/geo+json")


# --- figures and heat (per coverage computation) ------------------------------------------


def _coverage_cache(cov) -> dict:
    """A cache that lives as long as ``cov`` is the app's current coverage."""
    slot = current_app.extensions.setdefault("zoufang.coverage_map", {})
    with _LOCK:
        if slot.get("cov") is not cov:
            slot.clear()
            slot.update(cov=cov, cache={})
        return slot["cache"]


def figures(cov, layer: str) -> Payload:
    """Coverage per grid or village as columns: ``{"layer", "key", "ids": [...], "<figure>": [...]}``."""
    if layer not in UNIT_LAYERS:
        raise ValueError(f"figures are served for {' and '.join(UNIT_LAYERS)}, not {layer!r}")
    return _kept(_coverage_cache(cov), ("figures", layer), lambda: _build_figures(cov, layer))


def _build_figures(cov, layer: str) -> Payload:
    unit = layer[:-1]
    key = unit + "_id"
    frame = cov.by(unit)
    out: dict = {"layer": layer, "key": key, "ids": frame[key].astype(str).tolist()}
    for col in FIGURES:
        values = frame[col].to_numpy()
        out[col] = (np.round(values.astype(float), RATIO_DECIMALS).tolist() if col == "coverage"
                    else values.astype(int).tolist())
    if layer == "villages":
        due, done = village_visits(cov)
        ids = frame[key].astype(str)
        out["village_visits_due"] = ids.map(due).fillna(0).astype(int).tolist()
        out["village_visits_done"] = ids.map(done).fillna(0).astype(int).tolist()
    return Payload.of(json.dumps(out, separators=(",", ":")).encode(), "application/json")


def village_visits(cov):
    """Must-visits of villages (四个必到: weak villages, resettlement communities)
    due and done, per village id (two Series; empty without must-visits)."""
    import pandas as pd

    mv = cov.must_visits
    if not len(mv):
        return pd.Series(dtype=int), pd.Series(dtype=int)
    mv = mv[mv["entity_type"] == "village"]
    due = mv.groupby(mv["entity_id"].astype(str)).size()
    done = mv[mv["done"].astype(bool)].groupby(mv["entity_id"].astype(str)).size()
    return due, done


def heat(cov, data) -> Payload:
    """Households not yet covered per grid, at the grid's representative point (GeoJSON points)."""
    return _kept(_coverage_cache(cov), ("heat", id(data)), lambda: _build_heat(cov, data))


def _build_heat(cov, data) -> Payload:
    counts = data.counts[("households", "grid")][["grid_id", "geometry"]]
    by_grid = cov.by_grid.set_index("grid_id")
    missing = counts["grid_id"].map(by_grid["households"] - by_grid["households_covered"]).fillna(0).astype(int)
    keep = missing.to_numpy() > 0
    xy = shapely.get_coordinates(counts.geometry.values[keep])
    features = ",".join(
        '{"type":"Feature","properties":{"grid_id":%s,"missing":%d},"geometry":{"type":"Point","coordinates":[%s,%s]}}'
        % (json.dumps(g, ensure_ascii=False), n, round(x, SHAPE_DECIMALS), round(y, SHAPE_DECIMALS))
        for g, n, (x, y) in zip(counts["grid_id"][keep], missing[keep], xy)
    )
    body = '{"type":"FeatureCollection","layer":"heat","features":[%s]}' % features
    return Payload.of(body.encode(), "application/geo+json")
