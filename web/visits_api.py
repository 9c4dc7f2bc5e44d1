"""The visits and problems API (/api/, issue 6): phone clients sync visits,
cadres and planners move problems along, everyone sees warnings, reports download.

A phone client trades its user name and password for a bearer token
(``POST /api/token``) and sends ``Authorization: Bearer TOKEN``; pages of this
site use their log-in session instead (and send the CSRF token in
``X-CSRFToken`` on POST). Anything else gets 401.

``POST /api/token`` ``{"username", "password"}``
    → ``{"token", "token_type": "Bearer", "expires_in_days", "role", "cadre_id"}``; 401 on bad credentials.
``DELETE /api/token`` (with the token) → 204; the token stops working (a phone signs out).
``POST /api/visits`` a list of visit records, or ``{"visits": [...]}``
    (fields: :mod:`geodata.store.validate`; at most :data:`geodata.store.MAX_BATCH`)
    → 200 ``{"results": [{index, client_id, status: created|duplicate|error, visit_id, problem_ids, errors}],
    "created", "duplicate", "error"}``. Idempotent by ``client_id``: re-send a
    batch whose answer was lost and nothing is stored twice. Good records are
    stored even when others fail. A cadre records only their own visits
    (``cadre_id`` defaults to theirs); planners and admins record anyone's.
``GET /api/visits?since=ISO``
    The visits recorded since then: a cadre's own (survey included, to restore a
    phone), everyone's for planners and admins; leaders 403.
``GET /api/problems?status=&owner=&entity_id=``
    Problems (a cadre: those they own or raised); household names masked unless
    the user is a planner or admin or the cadre who owns/raised the problem.
``GET /api/problems/<id>``  one problem with its history and the actions allowed next.
``POST /api/problems/<id>/<action>`` ``{"to_owner", "to_unit", "note", "due_date"}``
    action: assign, start, solve, confirm, reject, handover → the problem;
    409 for a step the status flow forbids, 403 for a cadre who does not own it.
``GET /api/warnings?today=YYYY-MM-DD&unit=village``
    Red/yellow warnings: problems near/past due, and units of ``unit`` (grid,
    village, town, team) behind schedule; with counts by unit and by owner.
``GET /api/reports/<kind>.xlsx?from=YYYY-MM-DD&to=YYYY-MM-DD``
    weekly | summary | problems as Excel (leaders get the problem lists masked).
"""

from __future__ import annotations

import datetime as dt
import io

import pandas as pd
from flask import Blueprint, Flask, current_app, g, jsonify, request, send_file
from flask_login import current_user

from geodata import store
from web import db, scope
from web.auth import User, csrf

bp = Blueprint("visits_api", __name__, url_prefix="/api")

_NAMES = "zoufang.visits_api.names"
WRITE_ROLES = ("cadre", "planner", "admin")
REPORT_ROLES = ("planner", "leader", "admin")


class ApiError(Exception):
    def __init__(self, status: int, message: str, **extra):
        super().__init__(message)
        self.status, self.message, self.extra = status, message, extra


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError):
    return jsonify(error=exc.message, **exc.extra), exc.status


@bp.before_request
def _authenticate():
    """Bearer token first, else the log-in session (with its CSRF check on writes), else 401."""
    if request.endpoint == "visits_api.token":  # (the log-in itself; DELETE /api/token needs the token)
        return None
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        with db.session() as s:
            acc = store.account_for_token(s, header[7:].strip())
            user = User.from_account(acc) if acc is not None else None
        if user is None:
            return jsonify(error="invalid, expired or revoked token: get a new one from POST /api/token"), 401
        g.api_user = user
        return None
    if current_user.is_authenticated:
        if request.method not in ("GET", "HEAD", "OPTIONS") and current_app.config.get("WTF_CSRF_ENABLED", True):
            csrf.protect()
        g.api_user = current_user._get_current_object()
        return None
    return jsonify(error="sign in first, or send a token from POST /api/token"), 401


def _user() -> User:
    return g.api_user


def _need(*roles: str) -> User:
    user = _user()
    if user.role != "admin" and user.role not in roles:
        raise ApiError(403, f"forbidden for your role ({user.role})")
    return user


def _json():
    body = request.get_json(silent=True)
    if body is None:
        raise ApiError(400, "send a JSON body (Content-Type: application/json)")
    return body


@bp.route("/token", methods=["POST"])
def token():
    body = request.get_json(silent=True) or {}
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        raise ApiError(400, "send {\"username\": ..., \"password\": ...}")
    with db.session() as s:
        acc = store.authenticate(s, username.strip(), password)
        if acc is None:
            raise ApiError(401, "wrong user name or password")
        tok = store.issue_token(s, acc)
        out = {"token": tok, "token_type": "Bearer", "expires_in_days": store.accounts.TOKEN_DAYS,
               "role": acc.role, "cadre_id": acc.cadre_id}
    return jsonify(out)


@bp.route("/token", methods=["DELETE"])
def revoke_token():
    """Sign a phone out: the bearer token of this request stops working."""
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("bearer "):
        raise ApiError(400, "send the token to revoke as Authorization: Bearer TOKEN")
    with db.session() as s:
        store.revoke_token(s, header[7:].strip())
    return "", 204


def _known(app: Flask) -> dict:
    """Ids a record may name: the campaign's households, enterprises, villages and cadres."""
    names = _names(app)
    return names["known"]


def _names(app: Flask) -> dict:
    slot = app.extensions.get(_NAMES)
    if slot is None:
        from web.data import get_data

        c = get_data(app, scoped=False).campaign  # kept for the app: every county (web.scope filters)
        villages = dict(zip(c.villages["village_id"].astype(str), c.villages["name"].astype(str)))
        hh = c.households
        col = lambda name: hh[name].astype(object).where(hh[name].notna(), None) if name in hh else [None] * len(hh)  # noqa: E731
        households = {h: (n, a, villages.get(str(v), str(v))) for h, n, a, v in zip(
            hh["household_id"].astype(str), col("head_name"), col("address"), hh["village_id"].astype(str))}
        ent = c.enterprises if c.enterprises is not None else pd.DataFrame(columns=["enterprise_id", "name"])
        enterprises = dict(zip(ent["enterprise_id"].astype(str), ent["name"].astype(str)))
        slot = {
            "villages": villages, "households": households, "enterprises": enterprises,
            "known": {"household": set(households), "enterprise": set(enterprises), "village": set(villages),
                      "cadre": set(c.cadres["cadre_id"].astype(str))},
        }
        app.extensions[_NAMES] = slot
    return slot


@bp.route("/visits", methods=["POST"])
def post_visits():
    user = _need(*WRITE_ROLES)
    body = _json()
    batch = body.get("visits") if isinstance(body, dict) else body
    if not isinstance(batch, list):
        raise ApiError(400, "send a list of visits, or {\"visits\": [...]}")
    if len(batch) > store.MAX_BATCH:
        raise ApiError(413, f"a batch holds at most {store.MAX_BATCH} visits, got {len(batch)}; send it in parts")
    answers: list[dict | None] = [None] * len(batch)
    todo, where = [], []
    sc = scope.current_scope()
    for i, rec in enumerate(batch):
        if isinstance(rec, dict) and not sc.whole and not scope.allows(str(rec.get("entity_type")),
                                                                         rec.get("entity_id"), sc):
            cid = rec.get("client_id")
            answers[i] = {"index": i, "client_id": cid if isinstance(cid, str) else None, "status": "error",
                          "visit_id": None, "problem_ids": [],
                          "errors": [f"entity_id: {rec.get('entity_type')} {rec.get('entity_id')} is in another "
                                     "county, outside your account's scope"]}
            continue
        if user.role == "cadre" and isinstance(rec, dict):
            if rec.get("cadre_id") in (None, ""):
                rec = {**rec, "cadre_id": user.cadre_id}
            elif rec.get("cadre_id") != user.cadre_id:
                cid = rec.get("client_id")
                answers[i] = {"index": i, "client_id": cid if isinstance(cid, str) else None, "status": "error",
                              "visit_id": None, "problem_ids": [],
                              "errors": [f"cadre_id: a cadre records only their own visits "
                                         f"(you are {user.cadre_id}, the record says {rec.get('cadre_id')!r})"]}
                continue
        todo.append(rec)
        where.append(i)
    if todo:
        results = store.submit_visits(db.engine(), todo, campaign_id=db.campaign_id(),
                                      recorded_by=user.username, known=_known(current_app._get_current_object()))
        for i, res in zip(where, results):
            answers[i] = {**res, "index": i}
    counts = {k: sum(1 for a in answers if a["status"] == k) for k in ("created", "duplicate", "error")}
    return jsonify(results=answers, **counts)


@bp.route("/visits")
def get_visits():
    """The visits recorded since ``since`` (ISO date-time, by recording time): a cadre's
    own (with their survey forms, to restore a phone), everyone's for planners/admins."""
    user = _need(*WRITE_ROLES)
    since = None
    if request.args.get("since"):
        try:
            since = dt.datetime.fromisoformat(request.args["since"])
        except ValueError:
            raise ApiError(400, f"since: expected an ISO date-time, got {request.args['since']!r}") from None
    from sqlalchemy import select

    V = store.Visit
    q = select(V).where(V.campaign_id == db.campaign_id()).order_by(V.id)
    if user.role == "cadre":
        q = q.where(V.cadre_id == user.cadre_id)
    if since is not None:
        q = q.where(V.recorded_at >= since)
    with db.session() as s:
        rows = [{"visit_id": v.id, "client_id": v.client_id, "entity_type": v.entity_type, "entity_id": v.entity_id,
                 "cadre_id": v.cadre_id, "visited_at": v.visited_at.isoformat(), "outcome": v.outcome,
                 "lon": v.lon, "lat": v.lat, "contact_card": v.contact_card, "survey": v.survey, "notes": v.notes,
                 "recorded_at": v.recorded_at.isoformat(), "problem_ids": [p.id for p in v.problems]}
                for v in s.scalars(q.limit(10000))]
    sc = scope.current_scope()
    if not sc.whole:
        rows = [r for r in rows if scope.allows(r["entity_type"], r["entity_id"], sc)]
    return jsonify(visits=rows)


def _may_see_names(user: User, row) -> bool:
    if user.role in ("planner", "admin"):
        return True
    return user.role == "cadre" and user.cadre_id in (row["owner_cadre_id"], row["raised_by"])


def _target(names: dict, entity_type: str, entity_id: str, *, full: bool) -> str:
    from planner.reports import mask_name

    if entity_type == "household":
        name, address, village = names["households"].get(entity_id, (None, None, ""))
        if full:
            return f"{name or entity_id}（{address or village}）"
        return f"{mask_name(name) or '住户'}（{village}）"
    if entity_type == "enterprise":
        return names["enterprises"].get(entity_id, entity_id)
    return names["villages"].get(entity_id, entity_id)


def _problem_json(row, user: User, names: dict) -> dict:
    from planner.problems import allowed_actions

    def val(v):
        if v is None or (isinstance(v, float) and v != v) or v is pd.NaT:
            return None
        if isinstance(v, pd.Timestamp):
            return v.isoformat()
        return v.item() if hasattr(v, "item") else v

    out = {k: val(row[k]) for k in ("problem_id", "client_id", "visit_id", "entity_type", "entity_id", "category",
                                    "level", "description", "suggestion", "status", "raised_by", "owner_cadre_id",
                                    "owner_unit", "created_at", "updated_at", "solved_at", "confirmed_at",
                                    "reopened")}
    out["due_date"] = pd.Timestamp(row["due_date"]).date().isoformat() if pd.notna(row["due_date"]) else None
    out["target"] = _target(names, row["entity_type"], str(row["entity_id"]), full=_may_see_names(user, row))
    out["allowed_actions"] = allowed_actions(row["status"], level=row["level"])
    return out


def _problems_for(user: User) -> pd.DataFrame:
    with db.session() as s:
        p = scope.restrict(store.problems_frame(s, campaign_id=db.campaign_id()))
    if user.role == "cadre":
        p = p[(p["owner_cadre_id"] == user.cadre_id) | (p["raised_by"] == user.cadre_id)]
    return p


@bp.route("/problems")
def problems():
    user = _user()
    p = _problems_for(user)
    for arg, col in (("status", "status"), ("owner", "owner_cadre_id"), ("entity_id", "entity_id"),
                     ("category", "category")):
        if request.args.get(arg):
            p = p[p[col].astype(str) == request.args[arg]]
    names = _names(current_app._get_current_object())
    return jsonify(problems=[_problem_json(r, user, names) for _, r in p.iterrows()])


@bp.route("/problems/<int:problem_id>")
def problem(problem_id: int):
    user = _user()
    scope.check_problem(problem_id)
    p = _problems_for(user)
    p = p[p["problem_id"] == problem_id]
    if not len(p):
        raise ApiError(404, f"no problem {problem_id}")
    with db.session() as s:
        history = store.problem_history(s, problem_id)
    for h in history:
        h["at"] = h["at"].isoformat()
    out = _problem_json(p.iloc[0], user, _names(current_app._get_current_object()))
    out["history"] = history
    return jsonify(out)


@bp.route("/problems/<int:problem_id>/<action>", methods=["POST"])
def problem_action(problem_id: int, action: str):
    user = _need(*WRITE_ROLES)
    scope.check_problem(problem_id)
    body = request.get_json(silent=True) or {}
    due = None
    if body.get("due_date"):
        try:
            due = dt.date.fromisoformat(str(body["due_date"]))
        except ValueError:
            raise ApiError(400, f"due_date: expected YYYY-MM-DD, got {body['due_date']!r}") from None
    to_owner = body.get("to_owner") or None
    if to_owner is not None and to_owner not in _known(current_app._get_current_object())["cadre"]:
        raise ApiError(400, f"to_owner: no cadre {to_owner!r} in this campaign")
    try:
        with db.session() as s:
            store.transition_problem(
                s, problem_id, action, actor=user.username,
                actor_cadre_id=user.cadre_id if user.role == "cadre" else None, to_owner=to_owner,
                to_unit=body.get("to_unit") or None, note=body.get("note") or None, due_date=due)
    except store.ProblemNotFound as exc:
        raise ApiError(404, str(exc)) from None
    except store.NotOwner as exc:
        raise ApiError(403, str(exc)) from None
    except store.IllegalTransition as exc:
        raise ApiError(409, str(exc)) from None
    return problem(problem_id)


def _today() -> dt.date:
    if request.args.get("today"):
        try:
            return dt.date.fromisoformat(request.args["today"])
        except ValueError:
            raise ApiError(400, f"today: expected YYYY-MM-DD, got {request.args['today']!r}") from None
    from web.leader import as_of

    return as_of()


def warnings_data(user: User, *, today: dt.date, unit: str = "village") -> dict:
    """Problem and unit warnings as JSON-ready lists, with counts by unit and by owner."""
    from planner.problems import problem_warnings, unit_warnings, warnings_by

    if unit not in ("grid", "village", "town", "team"):
        raise ApiError(400, f"unit: one of grid, village, town, team, not {unit!r}")
    pw = problem_warnings(_problems_for(user), today=today)
    uw = pd.DataFrame()
    schedule = None
    if user.role != "cadre":
        from web.leader import campaign_dates, current_coverage, visits

        v = visits()
        start, end = campaign_dates(v)
        schedule = {"start": start.isoformat(), "end": end.isoformat()}
        uw = unit_warnings(current_coverage(v).by(unit), unit=unit, today=today, start=start, end=end)

    def rows(frame):
        return [{k: (None if pd.isna(v) else (v.item() if hasattr(v, "item") else v)) for k, v in r.items()}
                for r in frame.to_dict("records")]

    allw = pd.concat([pw, uw], ignore_index=True) if len(uw) else pw
    return {
        "today": today.isoformat(), "schedule": schedule, "problems": rows(pw), "units": rows(uw),
        "by_unit": rows(warnings_by(allw, "unit_id")) if len(allw) else [],
        "by_owner": rows(warnings_by(pw, "owner")) if len(pw) else [],
    }


@bp.route("/warnings")
def warnings():
    return jsonify(warnings_data(_user(), today=_today(), unit=request.args.get("unit", "village")))


def report_bytes(kind: str, *, start: dt.date, end: dt.date, mask: bool) -> bytes:
    from planner import reports
    from web.data import get_data
    from web.leader import problems as problem_frame
    from web.leader import visits
    from web.plans import get_plan

    wb = reports.workbook(kind, get_data().campaign, visits(), problem_frame(), start=start, end=end,
                          assignment=get_plan().assignment, campaign_name=db.campaign_key(), mask=mask)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@bp.route("/reports/<kind>.xlsx")
def report(kind: str):
    from planner.reports import FILE_NAMES, KINDS

    user = _need(*REPORT_ROLES)
    if kind not in KINDS:
        raise ApiError(404, f"no report {kind!r}; reports are {', '.join(KINDS)}")
    try:
        start = dt.date.fromisoformat(request.args.get("from", ""))
        end = dt.date.fromisoformat(request.args.get("to", ""))
    except ValueError:
        raise ApiError(400, "give from=YYYY-MM-DD and to=YYYY-MM-DD") from None
    if end < start:
        raise ApiError(400, f"to ({end}) is before from ({start})")
    data = report_bytes(kind, start=start, end=end, mask=user.role not in ("planner", "admin"))
    return send_file(io.BytesIO(data), as_attachment=True,
                     download_name=f"{FILE_NAMES[kind]}_{start:%Y%m%d}-{end:%Y%m%d}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def init_app(app: Flask) -> None:
    """Register the API (token-authenticated, so exempt from the forms' CSRF check;
    session-authenticated writes are checked in :func:`_authenticate`)."""
    csrf.exempt(bp)
    app.register_blueprint(bp)
