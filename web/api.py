"""The JSON API (/api/): campaign layers as GeoJSON for the maps.

``GET /api/layers/<name>.geojson?bbox=west,south,east,north&zoom=Z&agg=grid|village&limit=N``
    One layer (towns, villages, grids, roads, households, enterprises) as a
    FeatureCollection in WGS-84, only public columns (see
    :data:`web.data.PUBLIC_COLUMNS`). Point layers come as counts per village
    or grid at low zoom and as points when zoomed in; see
    :func:`web.data.query_layer` for the foreign members.
``GET /api/campaign``
    Name, extent, feature counts and teams (with their map colours).
``GET /api/jobs/<id>``
    A background planning run: ``{id, kind, state, progress, message, result, error}``
    (planners and admins; started by ``POST /planner/run``).
``GET /api/coverage``
    Coverage totals and by town, village and grid (:func:`planner.coverage.coverage`
    of the stored visits; aggregates only) for leaders, planners and admins.
``GET /api/coverage/map.geojson?layer=grids|villages|heat|households&bbox=``
    The leader map's layers: grids and villages with their coverage (villages
    with their must-visit status), households not yet covered counted per grid
    (``heat``), households as covered / not covered points (ids only; in the
    bbox, at most ``API_MAX_FEATURES``).

Access: every signed-in role reaches ``/api/``; each endpoint narrows it
(cadres get only ``/api/campaign``). Anonymous requests get 401.
"""

from __future__ import annotations

import gzip

from flask import Blueprint, current_app, jsonify, request, url_for

from web import coverage_map as covmap
from web import jobs
from web.auth import require_role, roles_allowed
from web.data import (
    LayerQueryError,
    MAP_LAYERS,
    NoCampaignError,
    UnknownLayerError,
    Zoom,
    get_data,
    parse_bbox,
    query_layer,
)
from web.maps import team_colours

bp = Blueprint("api", __name__, url_prefix="/api")
# Each endpoint will check its own roles once accounts exist; the API as a
# whole is open to every signed-in role.
bp.before_request(require_role("planner", "cadre", "leader", "admin"))

GEOJSON = "application/geo+json"
#: responses larger than this are gzip-compressed for clients that accept it
#: (GeoJSON shrinks about fivefold: it matters on a slow intranet link)
GZIP_MIN_BYTES = 2048


@bp.route("/")
def index():
    return jsonify({
        "campaign": url_for("api.campaign"),
        "layers": {name: url_for("api.layer", name=name) for name in MAP_LAYERS},
    })


@bp.route("/campaign")
def campaign():
    data = get_data()
    colours = team_colours(data.teams)
    summary = data.summary()
    summary["teams"] = [
        {"team_id": tid, "name": name, "colour": colours[tid]} for tid, name in data.teams.items()
    ]
    return jsonify(summary)


@bp.route("/layers/<name>.geojson")
@roles_allowed("planner", "leader")
def layer(name: str):
    data = get_data()
    args = request.args
    try:
        zoom = float(args["zoom"]) if args.get("zoom") else None
    except ValueError:
        raise LayerQueryError(f"zoom must be a number, got {args['zoom']!r}") from None
    max_features = int(current_app.config["API_MAX_FEATURES"])
    try:
        limit = min(int(args.get("limit", max_features)), max_features)
    except ValueError:
        raise LayerQueryError(f"limit must be a whole number, got {args['limit']!r}") from None
    if limit < 1:
        raise LayerQueryError(f"limit must be at least 1, got {limit}")
    collection = query_layer(
        data,
        name,
        bbox=parse_bbox(args.get("bbox")),
        zoom=zoom,
        agg=args.get("agg") or None,
        limit=limit,
        zooms=Zoom.from_config(current_app.config),
    )
    response = current_app.json.response(collection)
    response.mimetype = GEOJSON
    return response


@bp.route("/jobs/<job_id>")
@roles_allowed("planner")
def job(job_id: str):
    found = jobs.get(job_id)
    if found is None:
        return jsonify(error=f"no job {job_id}"), 404
    return jsonify(found.to_dict())


def _records(frame) -> list[dict]:
    import json

    return json.loads(frame.to_json(orient="records", force_ascii=False))


@bp.route("/coverage")
@roles_allowed("leader", "planner")
def coverage():
    from web.leader import current_coverage

    cov = current_coverage()
    return jsonify({
        "totals": cov.totals,
        "by_town": _records(cov.by_town),
        "by_village": _records(cov.by_village),
        "by_grid": _records(cov.by_grid),
    })


@bp.route("/coverage/map.geojson")
@roles_allowed("leader", "planner")
def coverage_map():
    from web.leader import current_coverage

    data = get_data()
    cov = current_coverage()
    name = request.args.get("layer", "grids")
    if name in ("grids", "villages"):
        key = name[:-1] + "_id"
        gdf = data.layers[name][[key, "geometry"] + (["name", "weak", "resettlement"] if name == "villages" else [])]
        figures = cov.by(name[:-1]).set_index(key)[["households", "households_covered", "enterprises",
                                                    "enterprises_covered", "not_home_backlog", "coverage",
                                                    "must_visits_due", "must_visits_done"]]
        gdf = gdf.join(figures, on=key)
        if name == "villages":
            mv = cov.must_visits
            mv = mv[mv["entity_type"] == "village"] if len(mv) else mv
            due = mv.groupby("entity_id").size() if len(mv) else {}
            done = mv[mv["done"].astype(bool)].groupby("entity_id").size() if len(mv) else {}
            gdf["village_visits_due"] = gdf[key].map(due).fillna(0).astype(int)
            gdf["village_visits_done"] = gdf[key].map(done).fillna(0).astype(int)
        collection = gdf.to_geo_dict(na="null", drop_id=True)
    elif name == "heat":
        # households not yet covered, counted per grid at the grid's representative point:
        # a heat map that stays small at county scale (kept until the next visit)
        return covmap.heat(cov, data).response(request)
    elif name == "households":
        pts = data.layers["households"][["household_id", "grid_id", "geometry"]]
        bbox = parse_bbox(request.args.get("bbox"))
        if bbox is not None:
            import shapely

            pts = pts.iloc[sorted(pts.sindex.query(shapely.box(*bbox), predicate="intersects"))]
        ent = cov.entities
        covered = ent[ent["entity_type"] == "household"].set_index("entity_id")["covered"]
        pts = pts.assign(covered=pts["household_id"].map(covered).fillna(False).astype(bool))
        limit = int(current_app.config["API_MAX_FEATURES"])
        total = len(pts)
        collection = pts.iloc[:limit].to_geo_dict(na="null", drop_id=True)
        collection.update(total=total, truncated=total > limit)
    else:
        raise LayerQueryError(f"layer must be grids, villages, heat or households, not {name!r}")
    collection["layer"] = name
    response = current_app.json.response(collection)
    response.mimetype = GEOJSON
    return response


@bp.route("/coverage/shapes.geojson")
@roles_allowed("leader", "planner")
def coverage_shapes():
    """Outlines of the leader map's units (``layer=grids|villages``), ids and
    village flags only; kept per campaign (see :mod:`web.coverage_map`)."""
    name = request.args.get("layer", "grids")
    if name not in covmap.UNIT_LAYERS:
        raise LayerQueryError(f"layer must be grids or villages, not {name!r}")
    return covmap.shapes(get_data(), name).response(request)


@bp.route("/coverage/figures.json")
@roles_allowed("leader", "planner")
def coverage_figures():
    """Coverage per grid or village (``layer=grids|villages``) as columns, to
    join with the shapes by id; kept until the next visit."""
    from web.leader import current_coverage

    name = request.args.get("layer", "grids")
    if name not in covmap.UNIT_LAYERS:
        raise LayerQueryError(f"layer must be grids or villages, not {name!r}")
    return covmap.figures(current_coverage(), name).response(request)


@bp.after_request
def _cache_and_compress(response):
    # The data do not change while the app runs: an ETag lets the browser
    # revalidate (304, no body) instead of downloading a layer again.
    if response.status_code == 200 and not response.direct_passthrough:
        response.add_etag(weak=True)  # gzip makes other bytes of the same data
        response.make_conditional(request)
        if response.cache_control.max_age is None:  # kept payloads with a versioned URL say how long
            response.cache_control.no_cache = True  # revalidate every time
    if (
        response.status_code == 200
        and not response.direct_passthrough
        and "gzip" in request.accept_encodings
        and "Content-Encoding" not in response.headers
        and (response.content_length or 0) >= GZIP_MIN_BYTES
    ):
        response.set_data(gzip.compress(response.get_data(), compresslevel=5))
        response.headers["Content-Encoding"] = "gzip"
        response.vary.add("Accept-Encoding")
    return response


@bp.errorhandler(UnknownLayerError)
def _unknown_layer(exc):
    return jsonify(error=str(exc)), 404


@bp.errorhandler(LayerQueryError)
def _bad_query(exc):
    return jsonify(error=str(exc)), 400


@bp.errorhandler(NoCampaignError)
def _no_campaign(exc):
    return jsonify(error=str(exc)), 503


def not_found(exc):
    """JSON 404 for any /api/ URL (registered on the app: an unmatched URL
    belongs to no blueprint, so a blueprint handler would never see it)."""
    return jsonify(error="not found"), 404
