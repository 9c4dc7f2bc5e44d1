"""The campaign in the shared database, and the roll-up API that reads it.

``ensure_imported(app)`` puts the app's campaign and plan into the database's
``areas`` / ``places`` / ``area_counters`` / ``plan_must_visits`` / ``plan_stops``
(:func:`geodata.store.import_campaign`), once: the import is skipped when the stored
fingerprints (SHA-256 of the campaign file, or of the in-memory campaign's ids; a
hash of the plan's assignment, must-visits and stops) are unchanged, so restarting
``zoufang serve --db postgresql://…`` or starting a second web process on the same
database writes nothing. A new plan (a planner's run or move) changes only the plan's
fingerprint: the next request updates the places whose team changed and replaces
the plan rows, without importing the campaign again.

``GET /api/coverage/rollup?level=county|town|village|grid&county=ID``
    Coverage per area from the pre-aggregated ``area_counters`` (leaders, planners,
    admins): ``{"level", "areas": [{area_id, name, parent_id, county_id, households,
    households_covered, enterprises, enterprises_covered, not_home_backlog, visits,
    coverage}], "totals": {...}}``, restricted to the account's counties
    (:mod:`web.scope`); a ``county`` outside them is 403.
``GET /api/places.geojson?bbox=west,south,east,north&type=household|enterprise&limit=N``
    Households / enterprises in the view from the database (PostGIS ``&&`` on the GiST
    index when present): ids, grid, village, team and ``covered`` only, no personal
    column; the account's counties only; ``total``/``truncated`` as the layers API.
``GET /api/coverage/polygon?level=village&id=ID``
    Households and enterprises inside that area's outline and how many are covered
    (PostGIS ``ST_Intersects`` when present); 403 for an area in another county.
``GET /api/stops?cadre=ID&date=YYYY-MM-DD``
    A cadre's planned stops for the day from ``plan_stops``, in route order, with the
    visits recorded at each place so far (ids, times, travel, position; no name or
    phone). Cadres, leaders, planners: a cadre account may ask only for its own
    stops (``cadre`` defaults to it); a county or city account gets 403 for a cadre
    whose stops all lie in other counties, and only the stops in its counties.
    Without ``date``: the cadre's planned dates.
``GET /api/must_visits?county=ID&cadre=ID``
    The plan's must-visits (必访) with their visit status (``done``: covered by a
    visit, from ``entity_counters``), the account's counties only (403 for a county
    outside them); a cadre account gets its own must-visits.
"""

from __future__ import annotations

import hashlib
import threading

import pandas as pd
from flask import Blueprint, Flask, current_app, jsonify, request

from geodata import store
from web import db, plans, scope
from web.auth import require_role

bp = Blueprint("shared_db", __name__, url_prefix="/api")
bp.before_request(require_role("leader", "planner"))
#: the plan's stops and must-visits: cadres too (each sees their own)
plan_bp = Blueprint("shared_plan", __name__, url_prefix="/api")
plan_bp.before_request(require_role("cadre", "leader", "planner"))
_EXTENSION = "zoufang.shared"
_LOCK = threading.Lock()


def fingerprint(app: Flask) -> str:
    """The campaign's part of the import, as a hash (the campaign file's bytes, or the
    in-memory campaign's ids)."""
    from web.data import get_data

    data = get_data(app, scoped=False)
    h = hashlib.sha256()
    path = app.config.get("CAMPAIGN_PATH")
    if app.config.get("CAMPAIGN") is None and path:
        h.update(store.file_fingerprint(path).encode())
    else:
        c = data.campaign
        for frame, col in ((c.villages, "village_id"), (c.grids, "grid_id"), (c.households, "household_id")):
            h.update(pd.util.hash_pandas_object(frame[col].astype(str), index=False).to_numpy().tobytes())
    return h.hexdigest()


def plan_fingerprint(app: Flask) -> str:
    """The plan's part of the import (assignment, must-visits, stops), as a hash: a new
    plan on the same campaign updates teams and plan rows only."""
    from web.data import get_data

    data = get_data(app, scoped=False)
    h = hashlib.sha256()
    if data.plan is not None and len(data.plan):
        cols = [c for c in ("entity_type", "entity_id", "team_id", "cadre_id") if c in data.plan]
        h.update(pd.util.hash_pandas_object(data.plan[cols].astype(str), index=False).to_numpy().tobytes())
    state = plans.get_plan(app)
    for name, frame in (("must_visits", state.must_visits), ("stops", state.stops)):
        h.update(name.encode())
        if frame is not None and len(frame):
            plain = pd.DataFrame(frame).drop(columns=["geometry"], errors="ignore")
            h.update(pd.util.hash_pandas_object(plain.astype(str), index=False).to_numpy().tobytes())
    return h.hexdigest()


def ensure_imported(app: Flask | None = None) -> dict:
    """Import the campaign and plan into the database unless already there (see module doc)."""
    from web.data import get_data

    app = app or current_app._get_current_object()
    data = get_data(app, scoped=False)
    slot = app.extensions.setdefault(_EXTENSION, {"data": None, "result": None})
    if slot["data"] is data:
        return slot["result"]
    with _LOCK:
        if slot["data"] is not data:
            from planner.coverage import CoverageRules

            rules = CoverageRules()
            state = plans.get_plan(app)
            with db.session(app) as s:
                result = store.import_campaign(
                    s, db.campaign_key(app), data.campaign, data.plan, must_visits=state.must_visits,
                    stops=state.stops, fingerprint=fingerprint(app), plan_fingerprint=plan_fingerprint(app),
                    campaign_path=app.config.get("CAMPAIGN_PATH"), plan_path=app.config.get("PLAN_PATH"),
                    phone_ok_statuses=rules.phone_ok_statuses, phone_ok_enterprise=rules.phone_ok_enterprise)
            slot.update(data=data, result=result)
    return slot["result"]


@bp.route("/coverage/rollup")
def rollup():
    level = request.args.get("level", "county")
    if level not in store.areas.LEVELS:
        return jsonify(error=f"level must be one of {', '.join(store.areas.LEVELS)}, not {level!r}"), 400
    ensure_imported()
    sc = scope.current_scope()
    counties = None if sc.whole else sorted(sc.counties)
    county = request.args.get("county")
    if county:
        scope.check_area("county", county)
        counties = [county]
    with db.session() as s:
        frame = store.rollup(s, campaign_id=db.campaign_id(), levels=(level,), county_ids=counties)
        totals = store.totals(s, campaign_id=db.campaign_id(), county_ids=counties)
    frame = frame.astype(object).where(frame.notna(), None)
    return jsonify(level=level, areas=frame.to_dict("records"), totals=totals)


@bp.route("/places.geojson")
def places():
    from web.data import LayerQueryError, parse_bbox

    try:
        bbox = parse_bbox(request.args.get("bbox"))
    except LayerQueryError as exc:
        return jsonify(error=str(exc)), 400
    if bbox is None:
        return jsonify(error="give bbox=west,south,east,north (degrees, WGS-84)"), 400
    etype = request.args.get("type") or None
    if etype not in (None, *store.areas.PLACE_TYPES):
        return jsonify(error=f"type must be household or enterprise, not {etype!r}"), 400
    most = int(current_app.config.get("API_MAX_FEATURES", 20000))
    try:
        limit = min(int(request.args.get("limit", most)), most)
    except ValueError:
        return jsonify(error=f"limit must be a whole number, got {request.args['limit']!r}"), 400
    ensure_imported()
    sc = scope.current_scope()
    with db.session() as s:
        frame = store.places_in_view(s, campaign_id=db.campaign_id(), bbox=bbox, entity_type=etype,
                                     county_ids=None if sc.whole else sorted(sc.counties), limit=limit + 1)
    truncated = len(frame) > limit
    frame = frame.head(limit)
    props = ["entity_type", "entity_id", "county_id", "village_id", "grid_id", "team_id", "covered"]
    features = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [r["lon"], r["lat"]]},
                 "properties": {k: (bool(r[k]) if k == "covered" else r[k]) for k in props}}
                for r in frame.astype(object).where(frame.notna(), None).to_dict("records")]
    response = current_app.json.response({"type": "FeatureCollection", "features": features,
                                          "truncated": truncated})
    response.mimetype = "application/geo+json"
    return response


@bp.route("/coverage/polygon")
def polygon_coverage():
    level, area_id = request.args.get("level", "village"), request.args.get("id", "")
    if level not in store.areas.LEVELS:
        return jsonify(error=f"level must be one of {', '.join(store.areas.LEVELS)}, not {level!r}"), 400
    scope.check_area(level, area_id)
    ensure_imported()
    sc = scope.current_scope()
    with db.session() as s:
        poly = store.area_geometry(s, campaign_id=db.campaign_id(), level=level, area_id=area_id)
        if poly is None:
            return jsonify(error=f"no {level} {area_id!r} with an outline in this campaign"), 404
        figures = store.coverage_in_polygon(s, campaign_id=db.campaign_id(), polygon=poly,
                                            county_ids=None if sc.whole else sorted(sc.counties))
    return jsonify(level=level, id=area_id, **figures)


def _rows(frame: pd.DataFrame) -> list[dict]:
    frame = frame.astype(object).where(frame.notna(), None)
    for col in ("date", "last_at"):
        if col in frame:
            frame[col] = [None if v is None else v.isoformat() for v in frame[col]]
    return frame.to_dict("records")


def _own_cadre(cadre: str | None) -> tuple[str | None, object]:
    """The cadre asked for (a cadre account: its own only) or an error response."""
    user = scope.request_user()
    if user is not None and user.role == "cadre":
        own = user.cadre_id
        if not own:
            return None, (jsonify(error="this cadre account is not linked to a cadre: ask an admin to set it"), 403)
        if cadre and cadre != own:
            return None, (jsonify(error=f"a cadre account sees only its own stops ({own}), not {cadre}'s"), 403)
        return own, None
    return cadre, None


@plan_bp.route("/stops")
def stops():
    cadre, error = _own_cadre(request.args.get("cadre") or None)
    if error:
        return error
    if not cadre:
        return jsonify(error="give cadre=ID (the cadre whose stops to show)"), 400
    date = request.args.get("date") or None
    ensure_imported()
    sc = scope.current_scope()
    with db.session() as s:
        cid = db.campaign_id()
        if not sc.whole:
            counties = store.cadre_counties(s, campaign_id=cid, cadre_id=cadre)
            if counties and not counties & sc.counties:
                return jsonify(error=f"cadre {cadre} works outside your counties"), 403
        if date is None:
            return jsonify(cadre=cadre, dates=store.cadre_dates(s, campaign_id=cid, cadre_id=cadre))
        try:
            frame = store.cadre_stops(s, campaign_id=cid, cadre_id=cadre, date=date,
                                      county_ids=None if sc.whole else sorted(sc.counties))
        except ValueError as exc:
            return jsonify(error=str(exc)), 400
    return jsonify(cadre=cadre, date=date, stops=_rows(frame))


@plan_bp.route("/must_visits")
def must_visits():
    user = scope.request_user()
    cadre = request.args.get("cadre") or None
    if user is not None and user.role == "cadre":
        cadre, error = _own_cadre(cadre)
        if error:
            return error
    sc = scope.current_scope()
    counties = None if sc.whole else sorted(sc.counties)
    county = request.args.get("county") or None
    if county:
        scope.check_area("county", county)
        counties = [county]
    ensure_imported()
    with db.session() as s:
        frame = store.must_visits_status(s, campaign_id=db.campaign_id(), county_ids=counties, cadre_id=cadre)
    return jsonify(must_visits=_rows(frame), total=len(frame), done=int(frame["done"].sum()))


def init_app(app: Flask) -> None:
    """Register the roll-up and plan APIs (nothing is imported until one is asked for, or
    ``zoufang serve --db`` imports at start)."""
    app.register_blueprint(bp)
    app.register_blueprint(plan_bp)
