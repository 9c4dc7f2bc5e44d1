"""The household survey form (群众入户调查表, seeds 004 appendix 3) as a page (/visits/):
record a visit with its outcome, the form's fields and the problems raised, and read a
visit back (留痕).

- ``/visits/new?entity_type=household&entity_id=H1`` (GET form, POST store) — a cadre for a
  household or enterprise assigned to them (plan or schedule), a planner/admin for anyone
  (naming the cadre). The form carries a client id made when it is shown, so a double
  submit or a re-sent form stores one visit.
- ``/visits/<id>`` the record as the seeds' form; household names and phones only for the
  visiting cadre and planners/admins.
"""

from __future__ import annotations

import datetime as dt
import uuid

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from geodata import store
from geodata.store.validate import CAMPAIGN_TZ
from geodata.store.vocab import (
    CATEGORIES,
    CATEGORY_CHINESE,
    LEVEL_CHINESE,
    LEVELS,
    OPINION_TOPICS,
    OUTCOME_CHINESE,
    OUTCOMES,
    SURVEY_FIELDS,
)
from web import db, scope
from web.auth import require_role
from web.problems import tr
from web.visits_api import _names

bp = Blueprint("visits", __name__, url_prefix="/visits", template_folder="templates")
bp.before_request(require_role("cadre", "planner", "admin"))
#: problem rows on the form
PROBLEM_ROWS = 3


def _assigned_cadre(entity_type: str, entity_id: str) -> str | None:
    from web.plans import get_plan

    state = get_plan()
    a = state.assignment
    if a is None or "cadre_id" not in a:
        return None
    row = a[(a["entity_type"] == entity_type) & (a["entity_id"].astype(str) == entity_id)]
    return str(row.iloc[0]["cadre_id"]) if len(row) and row.iloc[0]["cadre_id"] is not None else None


def _on_schedule(cadre_id: str, entity_type: str, entity_id: str) -> bool:
    from web.plans import get_plan

    stops = get_plan().stops
    if stops is None or not len(stops):
        return False
    m = ((stops["cadre_id"].astype(str) == cadre_id) & (stops["entity_type"] == entity_type)
         & (stops["entity_id"].astype(str) == entity_id))
    return bool(m.any())


def _may_record(entity_type: str, entity_id: str) -> bool:
    if current_user.role in ("planner", "admin"):
        return True
    cid = current_user.cadre_id
    return _assigned_cadre(entity_type, entity_id) == cid or _on_schedule(cid, entity_type, entity_id)


def _entity(entity_type: str, entity_id: str) -> dict:
    names = _names(current_app._get_current_object())
    if entity_type == "household" and entity_id in names["households"]:
        head, address, village = names["households"][entity_id]
        return {"label": f"{head or entity_id}（{address or village}）", "head_name": head, "address": address,
                "village": village}
    if entity_type == "enterprise" and entity_id in names["enterprises"]:
        return {"label": names["enterprises"][entity_id]}
    abort(404)


def _now() -> dt.datetime:
    return dt.datetime.now(CAMPAIGN_TZ).replace(tzinfo=None)


def _context(**extra):
    from web.data import get_data

    c = get_data().campaign.cadres
    return dict(tr=tr, outcomes=OUTCOMES, outcome_zh=OUTCOME_CHINESE, survey_fields=SURVEY_FIELDS,
                topics=OPINION_TOPICS, categories=CATEGORIES, category_zh=CATEGORY_CHINESE, levels=LEVELS,
                level_zh=LEVEL_CHINESE, problem_rows=PROBLEM_ROWS,
                cadres=dict(zip(c["cadre_id"].astype(str), c["name"].astype(str))), **extra)


def _record_from_form(form, entity_type: str, entity_id: str) -> dict:
    cadre = current_user.cadre_id if current_user.role == "cadre" else (form.get("cadre_id") or "")
    rec = {"client_id": form.get("client_id") or uuid.uuid4().hex, "entity_type": entity_type,
           "entity_id": entity_id, "cadre_id": cadre, "outcome": form.get("outcome"),
           "visited_at": form.get("visited_at") or _now().isoformat(timespec="minutes"),
           "contact_card": form.get("contact_card") == "1"}
    survey = {}
    for key in SURVEY_FIELDS:
        if key == "opinions":
            ops = {t: form[f"opinion_{t}"].strip() for t in OPINION_TOPICS if form.get(f"opinion_{t}", "").strip()}
            if ops:
                survey["opinions"] = ops
        elif key == "members":
            if form.get("members", "").strip():
                try:
                    survey["members"] = int(form["members"])
                except ValueError:
                    survey["members"] = form["members"]  # refused by the store with a clear message
        elif form.get(key, "").strip():
            survey[key] = form[key].strip()
    if survey:
        rec["survey"] = survey
    if form.get("notes", "").strip():
        rec["notes"] = form["notes"].strip()
    problems = []
    for i in range(PROBLEM_ROWS):
        desc = form.get(f"problem_{i}_description", "").strip()
        if desc:
            problems.append({"client_id": f"{rec['client_id']}-{i + 1}", "description": desc,
                             "category": form.get(f"problem_{i}_category") or "other",
                             "level": form.get(f"problem_{i}_level") or "town",
                             **({"suggestion": form[f"problem_{i}_suggestion"].strip()}
                                if form.get(f"problem_{i}_suggestion", "").strip() else {})})
    if problems:
        rec["problems"] = problems
    return rec


@bp.route("/new", methods=["GET", "POST"])
def new():
    etype = request.values.get("entity_type", "household")
    eid = request.values.get("entity_id", "")
    if etype not in ("household", "enterprise"):
        abort(400)
    scope.check_entity(etype, eid)
    entity = _entity(etype, eid)
    if not _may_record(etype, eid):
        abort(403)
    if request.method == "POST":
        rec = _record_from_form(request.form, etype, eid)
        [res] = store.submit_visits(db.engine(), [rec], campaign_id=db.campaign_id(),
                                    recorded_by=current_user.username,
                                    known=_names(current_app._get_current_object())["known"])
        if res["status"] == "error":
            flash(f"{tr('Not saved')}: {'; '.join(res['errors'])}", "error")
            return render_template("problems/visit_form.html", **_context(
                entity=entity, entity_type=etype, entity_id=eid, form=request.form,
                client_id=rec["client_id"])), 422
        flash(tr("Saved"))
        return redirect(url_for("visits.show", visit_id=res["visit_id"]), 303)
    prefill = {"head_name": entity.get("head_name") or "", "address": entity.get("address") or ""}
    return render_template("problems/visit_form.html", **_context(
        entity=entity, entity_type=etype, entity_id=eid, form=prefill, client_id=uuid.uuid4().hex))


@bp.route("/<int:visit_id>")
def show(visit_id: int):
    with db.session() as s:
        v = s.get(store.Visit, visit_id)
        if v is None or v.campaign_id != db.campaign_id():
            abort(404)
        if current_user.role == "cadre" and v.cadre_id != current_user.cadre_id:
            abort(404)
        scope.check_visit(v)
        visit = {c: getattr(v, c) for c in ("id", "client_id", "entity_type", "entity_id", "cadre_id", "visited_at",
                                            "outcome", "contact_card", "survey", "notes", "recorded_by")}
        problems = [{"id": p.id, "category": p.category, "level": p.level, "description": p.description,
                     "suggestion": p.suggestion, "status": p.status} for p in v.problems]
    entity = _entity(visit["entity_type"], visit["entity_id"])
    return render_template("problems/visit_show.html", **_context(v=visit, entity=entity, problems=problems))


def init_app(app) -> None:
    app.register_blueprint(bp)
