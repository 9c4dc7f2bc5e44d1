"""The campaign in the shared database, and the roll-up API that reads it.

``ensure_imported(app)`` puts the app's campaign and plan into the database's
``areas`` / ``places`` / ``area_counters`` (:func:`geodata.store.import_campaign`),
once: the import is skipped when the stored fingerprint (SHA-256 of the campaign
file, or of the in-memory campaign's ids, plus a hash of the plan's assignment)
is unchanged, so restarting ``zoufang serve --db postgresql://…`` or starting a
second web process on the same database writes nothing. A new plan (a planner's
run or move) makes a new fingerprint and the next roll-up imports again.

``GET /api/coverage/rollup?level=county|town|village|grid&county=ID``
    Coverage per area from the pre-aggregated ``area_counters`` (leaders, planners,
    admins): ``{"level", "areas": [{area_id, name, parent_id, county_id, households,
    households_covered, enterprises, enterprises_covered, not_home_backlog, visits,
    coverage}], "totals": {...}}``, restricted to the account's counties
    (:mod:`web.scope`); a ``county`` outside them is 403.
"""

from __future__ import annotations

import hashlib
import threading

import pandas as pd
from flask import Blueprint, Flask, current_app, jsonify, request

from geodata import store
from web import db, scope
from web.auth import require_role

bp = Blueprint("shared_db", __name__, url_prefix="/api")
bp.before_request(require_role("leader", "planner"))
_EXTENSION = "zoufang.shared"
_LOCK = threading.Lock()


def fingerprint(app: Flask) -> str:
    """What the import of this app's campaign and plan would write, as a hash."""
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
    if data.plan is not None and len(data.plan):
        cols = [c for c in ("entity_type", "entity_id", "team_id", "cadre_id") if c in data.plan]
        h.update(pd.util.hash_pandas_object(data.plan[cols].astype(str), index=False).to_numpy().tobytes())
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
            with db.session(app) as s:
                result = store.import_campaign(
                    s, db.campaign_key(app), data.campaign, data.plan, fingerprint=fingerprint(app),
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


def init_app(app: Flask) -> None:
    """Register the roll-up API (nothing is imported until a roll-up is asked for, or
    ``zoufang serve --db`` imports at start)."""
    app.register_blueprint(bp)
