"""Cadre pages (/cadre/), phone-first: today's route, the ordered stops, GPX
and the printable walk sheet, and a form per stop to record the visit's
outcome and the problems raised.

A cadre account sees only its own cadre's days and the households on them
(names and phones in full: they knock on those doors); an admin may open any
cadre's day with ``?cadre_id=``. Visits are stored with
:func:`geodata.store.submit_visits` (idempotent by the form's client id, so
a double tap stores one visit).
"""

from __future__ import annotations

import datetime as dt
import uuid

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from geodata import store
from geodata.store.vocab import CATEGORIES, CATEGORY_CHINESE, LEVEL_CHINESE, LEVELS, OUTCOME_CHINESE, OUTCOMES
from web import db, maps, plans
from web.auth import require_role
from web.data import get_data
from web.i18n import get_language
from web.i18n import gettext as _

bp = Blueprint("cadre", __name__, url_prefix="/cadre")
bp.before_request(require_role("cadre", "admin"))

#: English labels of the outcomes and categories (translated by web.i18n)
OUTCOME_LABELS = {"visited": "Visited", "not_home": "Not at home", "refused": "Refused", "phone": "Phone or WeChat visit"}
CATEGORY_LABELS = {
    "difficulty": "Difficulty needs", "housing_land": "Housing and land", "medical_health": "Medical and health",
    "education_culture": "Education and culture", "safety_governance": "Safety and governance",
    "employment": "Employment and entrepreneurship", "social_security": "Social security", "other": "Other",
}
LEVEL_LABELS = {"on_spot": "Solved on the spot", "town": "Town or village", "department": "County or city department",
                "policy": "Policy level"}
STOP_COLOURS = {"visited": "#2ca02c", "phone": "#2ca02c", "not_home": "#ff7f0e", "refused": "#7f7f7f", None: "#1f77b4"}


def _label(table: dict, key: str, zh: dict) -> str:
    return zh.get(key, key) if get_language() == "zh" else table.get(key, key)


def _cadre_id() -> str:
    """The cadre whose day is shown: the account's own; an admin may pick one."""
    asked = request.values.get("cadre_id")
    own = current_user.cadre_id
    if current_user.role == "admin":
        cadre = asked or own
        if not cadre:
            abort(400, description="an admin names the cadre: ?cadre_id=")
        return str(cadre)
    if not own:
        abort(403)
    if asked and asked != own:
        abort(403)
    return str(own)


def _cadre_days(state, cadre_id: str) -> list[str]:
    if not state.scheduled:
        return []
    d = state.days
    return sorted(set(d.loc[d["cadre_id"].astype(str) == cadre_id, "date"].astype(str)))


def _today() -> str:
    fixed = current_app.config.get("TODAY")
    return str(fixed) if fixed else plans.today().isoformat()


def _pick_date(dates: list[str]) -> str | None:
    """The asked date, else today, else the next day with visits, else the last one."""
    asked = request.args.get("date")
    if asked:
        return asked
    if not dates:
        return None
    today = _today()
    later = [d for d in dates if d >= today]
    return later[0] if later else dates[-1]


def _sheet(cadre_id: str, date: str):
    from planner.export import NoSuchDay, day_sheet

    state = plans.get_plan()
    if not state.scheduled:
        return None
    try:
        return day_sheet(state.stops, state.days, cadre_id=cadre_id, date=date, campaign=get_data().campaign)
    except NoSuchDay:
        return None


def _recorded(cadre_id: str, entity_ids) -> dict:
    """The latest outcome this cadre recorded for each entity."""
    ids = list({str(i) for i in entity_ids})
    if not ids:
        return {}
    V = store.Visit
    with db.session() as s:
        rows = s.execute(select(V.entity_id, V.outcome, V.visited_at).where(
            V.campaign_id == db.campaign_id(), V.cadre_id == cadre_id, V.entity_id.in_(ids)).order_by(V.visited_at)).all()
    return {eid: {"outcome": o, "at": at} for eid, o, at in rows}


@bp.route("/")
def home():
    cadre_id = _cadre_id()
    state = plans.get_plan()
    dates = _cadre_days(state, cadre_id)
    date = _pick_date(dates)
    sheet = _sheet(cadre_id, date) if date else None
    if date and request.args.get("date") and sheet is None:
        abort(404)
    stops = sheet.stops.to_dict("records") if sheet is not None else []
    done = _recorded(cadre_id, [s["entity_id"] for s in stops])
    for s in stops:
        s["recorded"] = done.get(s["entity_id"])
        s["client_id"] = uuid.uuid4().hex
    outcomes = [(o, _label(OUTCOME_LABELS, o, OUTCOME_CHINESE)) for o in OUTCOMES]
    categories = [(c, _label(CATEGORY_LABELS, c, CATEGORY_CHINESE)) for c in CATEGORIES]
    levels = [(lv, _label(LEVEL_LABELS, lv, LEVEL_CHINESE)) for lv in LEVELS]
    return render_template(
        "cadre/today.html", section="cadre", cadre_id=cadre_id, date=date, dates=dates, sheet=sheet, stops=stops,
        outcomes=outcomes, categories=categories, levels=levels, planned=state.planned,
        map_parts=_day_map(sheet, done) if sheet is not None and stops else None,
        outcome_names=dict(outcomes), not_today=bool(date and date != _today()),
        admin_cadre=cadre_id if current_user.role == "admin" else None,
    )


def _day_map(sheet, done) -> dict:
    """The day's route and numbered stops (a cadre's own few dozen stops are
    drawn in the page; nothing else of the campaign is)."""
    import folium

    pts = [(r.lat, r.lon) for r in sheet.stops.itertuples()]
    m = folium.Map(location=pts[0], tiles=None, zoom_start=16, control_scale=True)
    tile_url = current_app.config.get("TILE_URL")
    if tile_url:
        folium.TileLayer(tiles=tile_url, attr=current_app.config.get("TILE_ATTRIBUTION") or _("Base map"),
                         name=_("Base map"), max_zoom=19).add_to(m)
    lats, lons = [p[0] for p in pts], [p[1] for p in pts]
    _base_layers(m, (min(lons), min(lats), max(lons), max(lats)))
    if sheet.route:
        folium.PolyLine([(lat, lon) for lon, lat in sheet.route], color="#b71c1c", weight=3, opacity=0.8,
                        dash_array="6 4").add_to(m)
    for r in sheet.stops.itertuples():
        outcome = (done.get(r.entity_id) or {}).get("outcome")
        colour = STOP_COLOURS.get(outcome, STOP_COLOURS[None])
        folium.Marker(
            (r.lat, r.lon),
            icon=folium.DivIcon(html=f'<a class="zf-stop-pin" href="#stop-{r.seq}" style="background:{colour}">'
                                     f'{r.seq}</a>', icon_size=(26, 26), icon_anchor=(13, 13)),
        ).add_to(m)
    m.fit_bounds([[min(lats), min(lons)], [max(lats), max(lons)]], padding=(40, 40))
    maps.offline(m)
    root = m.get_root()
    root.render()
    return {"header": root.header.render(), "html": root.html.render(), "script": root.script.render()}


#: how far around the day's stops the base map's villages, grids and roads reach (degrees, ~1 km)
BASE_MARGIN = 0.01


def _base_layers(m, bbox) -> None:
    """The campaign's own geography around the day (village and grid outlines,
    roads: public data) as the base map, so the map reads offline without tiles."""
    import folium
    import shapely

    data = get_data()
    west, south, east, north = bbox
    area = shapely.box(west - BASE_MARGIN, south - BASE_MARGIN, east + BASE_MARGIN, north + BASE_MARGIN)
    styles = {
        "villages": {"color": "#555", "weight": 2, "fill": False},
        "grids": {"color": "#999", "weight": 1, "dashArray": "4 3", "fill": False},
        "roads": {"color": "#b0a27a", "weight": 3},
    }
    for name, style in styles.items():
        gdf = data.layers.get(name)
        if gdf is None or not len(gdf):
            continue
        near = gdf.iloc[sorted(gdf.sindex.query(area, predicate="intersects"))]
        if len(near):
            folium.GeoJson(near[["geometry"]].to_json(), style_function=lambda _f, s=style: s,
                           interactive=False).add_to(m)


def _own_entity(cadre_id: str, entity_type: str, entity_id: str) -> bool:
    """Whether the entity is on one of the cadre's days (or, unscheduled, in the cadre's plan)."""
    state = plans.get_plan()
    if state.scheduled:
        s = state.stops
        mine = s[(s["cadre_id"].astype(str) == cadre_id) & (s["entity_type"] == entity_type)
                 & (s["entity_id"].astype(str) == entity_id)]
        return len(mine) > 0
    return False


@bp.route("/visit", methods=["POST"])
def record_visit():
    cadre_id = _cadre_id()
    form = request.form
    etype, eid = form.get("entity_type", ""), form.get("entity_id", "")
    if not _own_entity(cadre_id, etype, eid):
        abort(403)
    record = {
        "client_id": form.get("client_id") or uuid.uuid4().hex,
        "entity_type": etype, "entity_id": eid, "cadre_id": cadre_id,
        "visited_at": _now().isoformat(timespec="seconds"),
        "outcome": form.get("outcome"),
        "contact_card": form.get("contact_card") == "1",
    }
    if form.get("notes", "").strip():
        record["notes"] = form["notes"].strip()
    if form.get("problem_description", "").strip():
        record["problems"] = [{
            "client_id": record["client_id"] + "-1", "category": form.get("problem_category") or "other",
            "level": form.get("problem_level") or "town", "description": form["problem_description"].strip(),
        }]
    [result] = store.submit_visits(db.engine(), [record], campaign_id=db.campaign_id(),
                                   recorded_by=current_user.username)
    date = form.get("date") or ""
    back = url_for("cadre.home", date=date or None,
                   cadre_id=cadre_id if current_user.role == "admin" else None) + f"#stop-{form.get('seq', '')}"
    if result["status"] == "error":
        flash(_("Not saved: %(errors)s", errors="; ".join(result["errors"])), "error")
        return redirect(back, 303)
    flash(_("Saved: %(outcome)s", outcome=_label(OUTCOME_LABELS, record["outcome"], OUTCOME_CHINESE)))
    return redirect(back, 303)


def _now() -> dt.datetime:
    from geodata.store.validate import CAMPAIGN_TZ

    return dt.datetime.now(CAMPAIGN_TZ).replace(tzinfo=None)


def _day_sheet():
    """The signed-in cadre's (or the chosen cadre's) walk sheet for ``?date=`` (default: the
    day :func:`_pick_date` picks), with the cadre and date; 404 when there is none."""
    cadre_id = _cadre_id()
    date = request.args.get("date") or _pick_date(_cadre_days(plans.get_plan(), cadre_id))
    sheet = _sheet(cadre_id, date) if date else None
    if sheet is None:
        abort(404)
    return sheet, cadre_id, date


@bp.route("/route.gpx")
def gpx():
    from planner.export import to_gpx

    sheet, cadre_id, date = _day_sheet()
    return Response(to_gpx(sheet), mimetype="application/gpx+xml",
                    headers={"Content-Disposition": f'attachment; filename="route-{cadre_id}-{date}.gpx"'})


@bp.route("/sheet")
def walk_sheet():
    from planner.export import to_html

    sheet, _cadre, _date = _day_sheet()
    return Response(to_html(sheet), mimetype="text/html")


@bp.route("/sheet.pdf")
def walk_sheet_pdf():
    from planner.export import to_pdf

    sheet, cadre_id, date = _day_sheet()
    return Response(to_pdf(sheet), mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="walk-sheet-{cadre_id}-{date}.pdf"'})

