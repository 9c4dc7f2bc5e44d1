"""Planner pages (/planner/): the campaign map, upload and validation, the
assignment and scheduling run (a background job the page polls), the team
table, moving a grid by hand with the hard rules re-checked, downloads."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import time
import uuid
import warnings
from dataclasses import replace
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user
import pandas as pd
from werkzeug.utils import secure_filename

from geodata.errors import ZoufangError
from planner.assign.review import outside_band, workload_max_mean
from web import jobs, maps, plans, scope
from web.auth import require_role
from web.data import POINT_LAYERS, get_data
from web.i18n import ZH, get_language, messages
from web.i18n import gettext as _

bp = Blueprint("planner", __name__, url_prefix="/planner")
bp.before_request(require_role("planner", "admin"))


@bp.context_processor
def _scope_flags():
    # the tabs to pages only an account that sees the whole campaign may open
    from web.data import NoCampaignError

    try:
        return {"whole_campaign": scope.current_scope().whole}
    except NoCampaignError:  # no campaign yet: nothing to scope
        return {"whole_campaign": True}

#: layers loaded once; the others are reloaded for the view on every move
STATIC_LAYERS = ("towns", "villages", "grids")
#: what a plan made elsewhere may be uploaded as (see planner.assign.review.read_given_plan)
PLAN_UPLOAD_SUFFIXES = (".gpkg", ".csv", ".xlsx")
#: accepted campaign uploads
UPLOAD_SUFFIXES = (".gpkg", ".geojson", ".json", ".zip", ".xlsx", ".csv")
MAX_TIME_LIMIT = 600.0


@bp.route("/")
def home():
    return redirect(url_for("planner.map_page"))


@bp.route("/map")
def map_page():
    """Villages (must-visit ones outlined), grids coloured by team, towns,
    roads, and households counted by grid until zoomed in."""
    data = get_data()
    config = current_app.config
    cmap = maps.campaign_map(
        data, tile_url=config.get("TILE_URL"), tile_attribution=config.get("TILE_ATTRIBUTION")
    )
    parts = cmap.render_parts()
    colours = maps.team_colours(data.teams)
    js_config = {
        "lang": get_language(),
        "layers": {
            name: {
                "url": url_for("api.layer", name=name),
                "dynamic": name not in STATIC_LAYERS,
                "points": name in POINT_LAYERS,
            }
            for name in data.layers
        },
        "teams": {tid: {"name": data.teams[tid], "colour": colours[tid]} for tid in data.teams},
        "colours": {
            "unassigned": maps.UNASSIGNED_COLOUR,
            "weak": maps.WEAK_COLOUR,
            "resettlement": maps.RESETTLEMENT_COLOUR,
        },
        # every message is offered; campaign_map.js picks what it needs
        "labels": messages(ZH),
        "moveUrl": url_for("planner.plan_page") if data.plan is not None else None,
        "focusTeam": request.args.get("team") if request.args.get("team") in data.teams else None,
        "teamFacts": _team_facts(data) if data.plan is not None else {},
    }
    legend_teams = [(data.teams[tid], colours[tid]) for tid in data.teams] if data.plan is not None else []
    return render_template(
        "planner/map.html",
        folium=parts,
        js_config=js_config,
        summary=data.summary(),
        legend_teams=legend_teams,
        colours=js_config["colours"],
    )


def _team_facts(data) -> dict[str, dict]:
    """Per team: load / share, outside the band or not, pieces and why (for the grids' popups)."""
    rules = _rules()
    state = plans.reviewed_plan(get_data(scoped=False).campaign, rules)
    table = plans.teams_table(data.campaign, state)
    if "load_ratio" not in table:
        return {}
    tol = rules.balance.tolerance
    out = {}
    for r in table.to_dict("records"):
        ratio = None if r["load_ratio"] is None else float(r["load_ratio"])
        out[r["team_id"]] = {
            "ratio": ratio, "pieces": int(r["pieces"] or 1),
            "outside": bool(ratio is not None and r["cadres"] > 0 and outside_band(ratio, tol)),
            "why": [plans.reason_text(r.get(f"{g}_reason"), _) for g in ("balance", "contiguity")
                    if r.get(f"{g}_reason")],
        }
    return out


# --- upload and validation ------------------------------------------------------


def _upload_folder() -> Path:
    """``UPLOAD_FOLDER``, else ``zoufang-uploads/`` beside the campaign."""
    return plans.work_folder("UPLOAD_FOLDER", "zoufang-uploads")


def _prune_uploads() -> int:
    """Remove campaign uploads older than ``UPLOAD_KEEP_HOURS`` (default 24) that are not the
    site's campaign (validated but never used: the report that offered them is long gone); how many."""
    keep_s = float(current_app.config.get("UPLOAD_KEEP_HOURS", 24)) * 3600
    current = current_app.config.get("CAMPAIGN_PATH")
    current = Path(current).resolve() if current else None
    removed = 0
    for sub in _upload_folder().iterdir():
        if not sub.is_dir() or time.time() - sub.stat().st_mtime < keep_s:
            continue
        if current is not None and current.is_relative_to(sub.resolve()):
            continue
        shutil.rmtree(sub, ignore_errors=True)
        removed += 1
    return removed


def _drop_upload(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


@bp.route("/upload", methods=["GET", "POST"])
def upload():
    """Upload a campaign file → the validation report (every finding, with its fix)."""
    if request.method == "GET":
        return render_template("planner/upload.html", section="planner")
    scope.require_whole_campaign()  # a new campaign file replaces every county's
    file = request.files.get("campaign")
    if file is None or not file.filename:
        flash(_("Choose a campaign file first."))
        return render_template("planner/upload.html", section="planner"), 400
    suffix = Path(file.filename).suffix.lower()
    # the file keeps its own (often Chinese) name: it becomes the campaign's name
    stem = Path(file.filename.replace("\\", "/")).stem.lstrip(".").strip() or "campaign"
    if suffix not in UPLOAD_SUFFIXES:
        flash(_("Unsupported file type; upload one of: %(types)s", types=", ".join(UPLOAD_SUFFIXES)))
        return render_template("planner/upload.html", section="planner"), 400
    _prune_uploads()
    token = uuid.uuid4().hex[:12]
    folder = _upload_folder() / token
    folder.mkdir()
    path = folder / (stem[:100] + suffix)
    file.save(path)
    from geodata.errors import ZoufangError
    from geodata.load import check_campaign

    try:
        checked = check_campaign(path)
    except ZoufangError as exc:
        _drop_upload(folder)  # (nothing in it can be used)
        return render_template("planner/report.html", section="planner", filename=file.filename, error=str(exc),
                               report=None, counts={}, token=None, severity_names=severity_names()), 422
    report = checked.report
    if not report.ok:  # the report lists every finding; the file cannot be used, so it is not kept
        _drop_upload(folder)
    counts = {layer: len(frame) for layer, frame in checked.layers.items()}
    return render_template("planner/report.html", section="planner", filename=file.filename, error=None,
                           report=report, counts=counts, token=token if report.ok else None,
                           severity_names=severity_names())


@bp.route("/upload/<token>/use", methods=["POST"])
def use_upload(token: str):
    """Make a validated upload the site's campaign (the current plan is dropped)."""
    from web import data

    scope.require_whole_campaign()
    folder = _upload_folder() / secure_filename(token)
    found = [p for p in folder.glob("*") if p.is_file()] if folder.is_dir() else []
    if not found:
        abort(404)
    current_app.config.update(CAMPAIGN=None, CAMPAIGN_PATH=str(found[0]), PLAN=None, PLAN_PATH=None)
    current_app.extensions[data._EXTENSION] = None
    current_app.extensions.pop(plans._EXTENSION, None)
    current_app.extensions["zoufang.db"]["campaign_id"] = None
    get_data()  # load now: errors show here
    flash(_("The uploaded campaign is now the site's campaign."))
    return redirect(url_for("planner.plan_page"))


# --- the plan: run, review, edit, download -----------------------------------------


def _rules():
    from planner.assign import load_rules

    rules = current_app.config.get("RULES")
    return rules if rules is not None else load_rules(current_app.config.get("RULES_PATH"))


def _schedule_rules():
    from planner.schedule import load_schedule_rules

    rules = current_app.config.get("SCHEDULE_RULES")
    return rules if rules is not None else load_schedule_rules(current_app.config.get("RULES_PATH"))


@bp.route("/plan")
def plan_page():
    data = get_data()
    state = plans.reviewed_plan(get_data(scoped=False).campaign, _rules())
    job = jobs.get(request.args["job"]) if request.args.get("job") else None
    job = job or jobs.latest("plan")
    table = plans.teams_table(data.campaign, state)
    rules = _rules()
    tol = plans.plan_tolerance(state.info, rules.balance.tolerance)
    grids = data.layers["grids"][["grid_id", "village_id", "team_id"]].sort_values("grid_id")
    today = plans.today()
    return render_template(
        "planner/plan.html", section="planner", state=state, job=job.to_dict() if job else None,
        table=table.to_dict("records"), grids=grids.to_dict("records"), teams=data.teams,
        colours=maps.team_colours(data.teams), default_start=today.isoformat(), chosen_grid=request.args.get("grid"),
        default_end=(today + dt.timedelta(days=59)).isoformat(), info=_info_lines(state), job_states=job_states(),
        gap_note=_("The gap is measured against a lower bound that does not see contiguity (a linear relaxation), "
                   "so it overstates the room left in the plan (see the README's performance section).") if state.info.get("gap") else "",
        level_names=level_names(), goals=_goal_lines(table, state, tol, get_data(scoped=False).campaign, rules),
        tol=tol, soft=[(f"{sec}.{key}", round(getattr(getattr(rules, sec), key) * scale, 6), soft_labels()[(sec, key)])
                       for sec, key, scale in SOFT_SETTINGS],
        reason=lambda kind: plans.reason_text(kind, _),
    )


def soft_labels() -> dict[tuple[str, str], str]:
    return {("balance", "tolerance"): _("Balance band (± % of the share)"),
            ("balance", "weight"): _("Per hour outside the band"),
            ("compactness", "weight"): _("Per km from the base"),
            ("contiguity", "weight"): _("Per cut edge between teams"),
            ("contiguity", "detached_weight"): _("Per extra piece of a territory"),
            ("stability", "weight_per_household"): _("Per household moved (keeping close)")}


def job_states() -> dict[str, str]:
    return {"queued": _("Waiting"), "running": _("Running"), "done": _("Done"), "failed": _("Failed"),
            "assign": _("Assigning teams"), "schedule": _("Scheduling days"), "counties": _("Counties planned")}


def severity_names() -> dict[str, str]:
    return {"error": _("Error"), "warning": _("Warning"), "fixed": _("Fixed")}


def _goal_lines(table, state, tol: float, campaign=None, rules=None) -> list[dict]:
    """The soft goals (软目标) in the reader's language, from the teams table: balance,
    contiguity, compactness, must-visits by the responsible team; ``bent`` when the plan gives
    up some of the goal."""
    if "load_ratio" not in table or not len(table):
        return []
    t = table[table["cadres"] > 0]
    ratio = t["load_ratio"].astype(float)
    outside = int(outside_band(ratio, tol).sum())
    mm = workload_max_mean(table)
    broken = int((table["pieces"].fillna(1).astype(int) > 1).sum())
    active = int((table["grids"] > 0).sum())
    lines = [
        {"name": _("Balance"), "bent": outside > 0,
         "text": _("workload per cadre max/mean %(mm)s; load / share from %(lo)s to %(hi)s (band ±%(tol)s); "
                   "%(n)s team(s) outside the band", mm=f"{mm:.3f}", lo=f"{ratio.min():.3f}", hi=f"{ratio.max():.3f}",
                   tol=f"{tol:.0%}", n=outside)},
        {"name": _("Contiguity"), "bent": broken > 0,
         "text": _("%(n)s of %(m)s team territories are not in one piece", n=broken, m=active)},
    ]
    shown = set(table["team_id"])  # the teams of the reader's scope
    s = state.teams_summary
    s = s[s["team_id"].astype(str).isin(shown)] if s is not None and "team_id" in s else None
    if s is not None and {"compactness_km", "max_distance_km", "units"} <= set(s.columns) and s["units"].sum() > 0:
        km = float((s["compactness_km"] * s["units"]).sum() / s["units"].sum())
        lines.append({"name": _("Compactness"), "bent": False,
                      "text": _("mean distance from a grid to its team's base %(km)s km, at most %(max)s km",
                                km=f"{km:.2f}", max=f"{float(s['max_distance_km'].max()):.2f}")})
    if "moved_grids" in state.info:  # a run kept close to the plan before it
        n = {k: int(float(state.info.get(k) or 0)) for k in ("moved_grids", "moved_households", "moved_enterprises",
                                                             "new_grids")}
        lines.append({"name": _("Stability"), "bent": n["moved_grids"] > 0,
                      "text": _("%(grids)s grid(s), %(households)s household(s) and %(enterprises)s enterprise(s) "
                                "moved to another team since the previous plan; %(new)s new grid(s)",
                                grids=n["moved_grids"], households=n["moved_households"],
                                enterprises=n["moved_enterprises"], new=n["new_grids"])})
    mv = state.must_visits
    whose = "responsible_team_id" if "responsible_team_id" in mv else "team_id"  # the must-visits in these territories
    mv = mv[mv[whose].astype(str).isin(shown)] if len(mv) and whose in mv else mv
    if len(mv) and "joint" in mv:
        from planner.assign.review import joint_as_bool, joint_breakdown

        mv = joint_as_bool(mv)
        joint = int(mv["joint"].sum())
        text = _("%(n)s of %(m)s must-visits are joint visits with a cadre of another team", n=joint, m=len(mv))
        if joint and campaign is not None and {"cadre_id", "responsible_team_id"} <= set(mv.columns):
            forced = sum(r["forced"] for r in joint_breakdown(campaign.cadres, rules, mv))
            text += _("; %(forced)s of them because the responsible team has no cadre the rule asks for "
                      "(e.g. a poor household needs cadres of the city, county and town levels)", forced=forced)
        lines.append({"name": _("Must-visits by the responsible team"), "bent": joint > 0, "text": text})
    return lines


def _info_lines(state) -> list[tuple[str, str]]:
    """The plan's key facts, labelled for people."""
    labels = {"status": _("Solver status"), "gap": _("Gap to the bound"), "wall_time": _("Assignment time (s)"),
              "schedule_wall_time": _("Scheduling time (s)"),
              "cadre_days": _("Cadre-days"), "stops": _("Stops"), "first_visit": _("First visit"),
              "last_visit": _("Last visit"), "shortfall_visits": _("Visits not fitting before the deadline")}
    out = []
    for key, label in labels.items():
        if key not in state.info or state.info[key] in (None, ""):
            continue
        value = state.info[key]
        try:
            if key == "gap":
                value = f"{float(value):.1%}"
            elif key in ("wall_time", "schedule_wall_time"):
                value = f"{float(value):.1f}"
        except (TypeError, ValueError):
            pass
        out.append((label, str(value)))
    return out


def level_names() -> dict[str, str]:
    return {"city": _("City level"), "county": _("County level"), "town": _("Town level")}


def _parse_date(text):
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        abort(400, description=f"{text!r} is not a date YYYY-MM-DD")


@bp.route("/run", methods=["POST"])
def run():
    """Start assignment (and scheduling when dates are given) in the background."""
    wants_json = request.accept_mimetypes.best == "application/json" or request.is_json
    busy = jobs.running("plan")
    if busy is not None:
        if wants_json:
            return jsonify(job_id=busy.id, url=url_for("api.job", job_id=busy.id), state=busy.state), 409
        flash(_("A planning run is already going on."))
        return redirect(url_for("planner.plan_page", job=busy.id))
    form = request.get_json(silent=True) or request.form
    try:
        time_limit = min(max(float(form.get("time_limit") or 30), 1.0), MAX_TIME_LIMIT)
        seed = int(form.get("seed") or 0)
    except ValueError:
        abort(400, description="time_limit and seed must be numbers")
    start, end = _parse_date(form.get("start")), _parse_date(form.get("end"))
    if (start is None) != (end is None) or (start and end < start):
        abort(400, description="give both a start and an end date (end not before start) to schedule")
    scope.require_whole_campaign()  # a run plans the whole campaign
    campaign = get_data().campaign
    from planner.assign import RulesError

    try:
        rules = run_rules(_rules(), form)
    except RulesError as exc:
        abort(400, description=str(exc))
    srules = _schedule_rules() if start else None
    # keep close to the current plan (--previous): only what the changed data or rules need moves
    keep = str(form.get("keep") or "").lower() in ("1", "on", "true", "yes")
    # the same plan for the same seed and data whatever the load (the limit on CP-SAT's deterministic clock)
    deterministic = str(form.get("deterministic") or "").lower() in ("1", "on", "true", "yes")
    current = plans.get_plan()
    previous = current.assignment if keep and current.planned else None
    # CP-SAT's threads (SOLVER_WORKERS; default 2 or the cores there are): on the demo at 30 s, 2 gave
    # 59,822 and 1 gave 69,310 (one run each); the site's requests still get their share of the CPU
    workers = int(current_app.config.get("SOLVER_WORKERS") or min(2, os.cpu_count() or 1))
    job = jobs.start("plan", lambda report: _run_plan(report, campaign, rules, srules, time_limit=time_limit,
                                                      seed=seed, start=start, end=end, previous=previous,
                                                      workers=workers, deterministic=deterministic),
                     owner=current_user.username)
    if wants_json:
        return jsonify(job_id=job.id, url=url_for("api.job", job_id=job.id), state=job.state), 202
    return redirect(url_for("planner.plan_page", job=job.id))


#: the soft goals' settings a run may change (section, key) and the form's scale for each
SOFT_SETTINGS = (("balance", "tolerance", 100.0), ("balance", "weight", 1.0), ("compactness", "weight", 1.0),
                 ("contiguity", "weight", 1.0), ("contiguity", "detached_weight", 1.0),
                 ("stability", "weight_per_household", 1.0))


def run_rules(rules, form):
    """``rules`` with the soft goals' settings of the run form (``balance.tolerance`` in percent,
    the weights as in the rules file) in place of the rules file's; checked by the rules file's
    own validation, so a bad value is refused with the section and key named. The other rules
    (must-visits, quotas, workload, units) stay."""
    from planner.assign import RulesError, rules_from_dict

    over: dict[str, dict] = {}
    for section, key, scale in SOFT_SETTINGS:
        raw = form.get(f"{section}.{key}")
        if raw is None or str(raw).strip() == "":
            continue
        try:
            value = float(raw) / scale
        except ValueError:
            raise RulesError(f"[{section}] {key} = {raw!r}: must be a number") from None
        if value != getattr(getattr(rules, section), key):
            over.setdefault(section, {})[key] = value
    if not over:
        return rules
    rules_from_dict(over, source="the run form")  # raises RulesError naming each bad value
    return replace(rules, **{sec: replace(getattr(rules, sec), **vals) for sec, vals in over.items()},
                   source=f"{rules.source} + the run form's " + ", ".join(
                       f"[{sec}] {k} = {v:g}" for sec, vals in over.items() for k, v in vals.items()))


def _run_plan(report, campaign, rules, srules, *, time_limit, seed, start, end, previous=None, workers=1,
              deterministic=False):
    """The background run: assign (as close to ``previous`` as the rules allow, when given),
    check, schedule, write the plan file, make it current."""
    from planner.assign import InfeasibleError, NoPlanError, assign, check_plan

    report(0.01, "assign")
    t0 = time.perf_counter()
    share = 0.7 if start else 0.95
    if has_counties(campaign):
        plan = _plan_counties(report, campaign, rules, time_limit=time_limit, seed=seed, share=share,
                              previous=previous)
    else:
        stop = _ticker(lambda: report(share * min((time.perf_counter() - t0) / time_limit, 0.99), "assign"))
        try:
            plan = assign(campaign, rules, time_limit=time_limit, workers=workers, seed=seed, previous=previous,
                          deterministic=deterministic)
        except InfeasibleError as exc:
            raise jobs.JobError("; ".join(exc.conflicts)) from None
        except NoPlanError as exc:
            raise jobs.JobError(str(exc)) from None
        finally:
            stop()
    from planner.assign.review import soft_goals_frame

    violations = check_plan(campaign, plan.assignment, plan.must_visits, rules)
    info = {k: v for k, v in plan.plan_info.items() if isinstance(v, (str, int, float, type(None)))}
    info["rules"] = json.dumps(plan.plan_info.get("rules") or rules.to_dict(), ensure_ascii=False, default=str)
    info["rules_source"] = rules.source
    goals = plan.soft_goals if isinstance(plan.soft_goals, pd.DataFrame) else soft_goals_frame(plan.soft_goals)
    if previous is not None:
        info.update(plans.moved_from(previous, plan.assignment))
    state = plans.PlanState(assignment=plan.assignment, must_visits=plan.must_visits,
                            teams_summary=plan.teams_summary, info=info, soft_goals=goals)
    notes = []
    if start:
        from planner.schedule import schedule

        report(share, "schedule")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            sched = schedule(campaign, plan.assignment, plan.must_visits, srules, start=start, end=end,
                             time_limit=0.2, iterations=100, seed=seed, workers=1,
                             progress=lambda phase, done, total: report(share + (0.97 - share) * done / max(total, 1),
                                                                       "schedule"))
        notes = [str(w.message) for w in caught]
        sinfo = {k: v for k, v in sched.info.items() if isinstance(v, (str, int, float, type(None)))}
        state = replace(state, stops=sched.stops, days=sched.days, info=plans.merged_info(info, sinfo))
    path = plans.plan_folder() / f"plan-{dt.datetime.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:4]}.gpkg"
    plans.write_plan_file(state, path)
    plans.set_plan(replace(state, path=str(path)))
    a = plan.assignment
    return {
        "status": plan.status, "violations": violations, "notes": notes, "path": path.name,
        "grids": int((a["entity_type"] == "grid").sum()), "households": int((a["entity_type"] == "household").sum()),
        "teams": int(a.loc[a["entity_type"] == "grid", "team_id"].nunique()),
        "must_visits": int(len(plan.must_visits)),
        "stops": int(len(state.stops)) if state.stops is not None else None,
        "wall_time": round(time.perf_counter() - t0, 2),
    }


def has_counties(campaign) -> bool:
    """Whether the campaign has counties (a ``counties`` layer or ``towns.county_id``): it is then
    planned county by county, as ``zoufang assign`` hands such a campaign to ``plan-province``."""
    if campaign.counties is not None and len(campaign.counties):
        return True
    towns = campaign.towns
    return towns is not None and "county_id" in towns and bool(towns["county_id"].notna().any())


def _plan_counties(report, campaign, rules, *, time_limit, seed, share, previous=None):
    """Every county as its own problem (:func:`planner.province.plan_province`), the job's
    message counting the counties done (``counties:3/8``). ``PROVINCE_WORKERS`` > 1 in the
    app's config runs them on a local Dask cluster of that many processes; by default they
    run one after another in this job's thread. A county that fails fails the run, named with
    its reason: a plan missing a county's households is never made current."""
    from contextlib import nullcontext

    from planner.province import dask_client, plan_province
    from planner.province.city import CityPlanError
    from planner.province.split import ProvinceDataError

    def progress(ev):
        report(share * ev["done"] / max(ev["total"], 1), f"counties:{ev['done']}/{ev['total']}")

    workers = int(current_app.config.get("PROVINCE_WORKERS", 1) or 1)
    try:
        with dask_client(workers=workers) if workers > 1 else nullcontext() as client:
            plan = plan_province(campaign, rules, client=client, time_limit=time_limit, seed=seed, previous=previous,
                                 progress=progress)
    except (ProvinceDataError, CityPlanError) as exc:
        raise jobs.JobError(str(exc)) from None
    if plan.failures:
        raise jobs.JobError("; ".join(str(f) for f in plan.failures))
    return plan


def _ticker(tick, every: float = 0.25):
    import threading

    done = threading.Event()

    def loop():
        while not done.wait(every):
            tick()

    threading.Thread(target=loop, daemon=True).start()
    return done.set


@bp.route("/move", methods=["POST"])
def move():
    """Move a grid to another team: the hard rules are re-checked and every
    violation shown; the move is saved only when asked and no rule breaks."""
    from planner.assign import check_plan

    state = plans.get_plan()
    if not state.planned:
        flash(_("No plan yet: run the assignment first."))
        return redirect(url_for("planner.plan_page"))
    grid_id, team_id = request.form.get("grid_id", ""), request.form.get("team_id", "")
    scope.check_area("grid", grid_id)
    if team_id not in get_data(scoped=False).teams:
        abort(400, description=f"unknown team {team_id!r}")
    if team_id not in get_data().teams:
        abort(403, description=f"team {team_id} is outside your scope")
    data = get_data(scoped=False)  # the move is checked against the whole campaign's rules
    try:
        moved = plans.move_grid(data.campaign, state.assignment, grid_id, team_id)
    except KeyError:
        abort(400, description=f"grid {grid_id!r} is not in the plan")
    old = state.assignment
    old_team = str(old.loc[(old["entity_type"] == "grid") & (old["entity_id"].astype(str) == grid_id), "team_id"].iloc[0])
    rules = _rules()
    violations = check_plan(data.campaign, moved, state.must_visits, rules)
    households = int(((moved["entity_type"] == "household") & (moved["team_id"] == team_id)).sum()
                     - ((old["entity_type"] == "household") & (old["team_id"].astype(str) == team_id)).sum())
    # the soft goals of both plans: load against share and pieces of the two teams, before and after
    before = plans.reviewed_plan(data.campaign, rules)
    after = plans.review(data.campaign, replace(before, assignment=moved, teams_summary=None, soft_goals=None), rules)
    if request.form.get("confirm") == "1" and not violations and old_team != team_id:
        path = plans.plan_folder() / f"plan-{dt.datetime.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:4]}.gpkg"
        # the schedule was made for the old teams: it is dropped with the move
        new = replace(after, stops=None, days=None, path=str(path),
                      info={**state.info, "edited": f"grid {grid_id}: {old_team} → {team_id}"})
        plans.write_plan_file(new, path)
        plans.set_plan(new)
        flash(_("Grid %(grid)s moved to %(team)s.", grid=grid_id, team=data.teams[team_id]))
        return redirect(url_for("planner.plan_page"))
    status = 200 if not violations else 422
    effect = []
    tables = [plans.teams_table(data.campaign, st).set_index("team_id") for st in (before, after)]
    for tid in dict.fromkeys((old_team, team_id)):
        rows = [t.loc[tid] for t in tables]
        if all("load_ratio" in r for r in rows):
            effect.append({"team_id": tid, "before": rows[0].to_dict(), "after": rows[1].to_dict()})
    return render_template("planner/move.html", section="planner", grid_id=grid_id, team_id=team_id,
                           old_team=old_team, teams=data.teams, violations=violations, households=households,
                           same=old_team == team_id, had_schedule=state.scheduled, effect=effect,
                           tol=rules.balance.tolerance, reason=lambda kind: plans.reason_text(kind, _)), status


@bp.route("/plans")
def plans_page():
    """The plans the site has made (runs and hand edits), newest first, side by side: the
    figures to choose between them, and a button to make an earlier one current again."""
    scope.require_whole_campaign()  # the plans are the whole campaign's
    state = plans.get_plan()
    rows = plans.plan_history(_rules().balance.tolerance)
    return render_template("planner/plans.html", section="planner", rows=rows,
                           current=Path(state.path).name if state.path else None)


@bp.route("/plans/upload", methods=["POST"])
def upload_plan():
    """A plan made elsewhere (an office's table of grid → team, a GeoPackage drawn in a GIS):
    completed, checked against the hard rules and reviewed (zoufang check); kept with the plans
    made when every hard rule holds, else refused with each broken rule."""
    from planner.assign.review import PlanInputError, check_given_plan, read_given_plan, soft_goals_frame

    scope.require_whole_campaign()
    file = request.files.get("plan")
    suffix = Path(file.filename).suffix.lower() if file is not None and file.filename else ""
    if suffix not in PLAN_UPLOAD_SUFFIXES:
        flash(_("Upload a plan as one of: %(types)s", types=", ".join(PLAN_UPLOAD_SUFFIXES)))
        return redirect(url_for("planner.plans_page")), 303
    folder = _upload_folder() / uuid.uuid4().hex[:12]
    folder.mkdir()
    path = folder / ("plan" + suffix)
    file.save(path)
    campaign = get_data(scoped=False).campaign
    rules = _rules()
    try:
        assignment, mv = read_given_plan(path, campaign)
        checked, violations, completed = check_given_plan(campaign, assignment, mv, rules)
    except (PlanInputError, ZoufangError) as exc:
        return render_template("planner/plan_upload.html", section="planner", filename=file.filename,
                               error=str(exc), violations=[]), 422
    finally:  # read: a plan that holds is kept with the plans made (below), else refused
        _drop_upload(folder)
    if violations:
        return render_template("planner/plan_upload.html", section="planner", filename=file.filename,
                               error=None, violations=violations), 422
    info = {k: v for k, v in checked.plan_info.items() if isinstance(v, (str, int, float, type(None)))}
    info.update(uploaded=file.filename, completed=completed,
                rules=json.dumps(checked.plan_info["rules"], ensure_ascii=False, default=str))
    state = plans.PlanState(assignment=checked.assignment, must_visits=checked.must_visits,
                            teams_summary=checked.teams_summary, info=info,
                            soft_goals=soft_goals_frame(checked.soft_goals))
    out = plans.plan_folder() / f"plan-{dt.datetime.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:4]}.gpkg"
    plans.write_plan_file(state, out)
    flash(_("%(file)s: every hard rule holds; kept as %(name)s below (make it current to use it).",
            file=file.filename, name=out.name))
    return redirect(url_for("planner.plans_page")), 303


@bp.route("/plans/<name>/use", methods=["POST"])
def use_plan(name):
    scope.require_whole_campaign()
    try:
        plans.use_plan_file(name, get_data(scoped=False).campaign)
    except KeyError:
        abort(404)
    except ValueError as exc:
        flash(str(exc))
        return redirect(url_for("planner.plans_page"))
    flash(_("%(name)s is the current plan again.", name=name))
    return redirect(url_for("planner.plan_page"))


@bp.route("/download/plan.gpkg")
def download_plan():
    scope.require_whole_campaign()  # the plan file holds every county
    state = plans.get_plan()
    if not state.planned:
        abort(404)
    path = plans.plan_folder() / f"download-{uuid.uuid4().hex[:8]}.gpkg"
    plans.write_plan_file(state, path)
    payload = path.read_bytes()
    path.unlink(missing_ok=True)
    return Response(payload, mimetype="application/geopackage+sqlite3",
                    headers={"Content-Disposition": f'attachment; filename="{get_data().name}-plan.gpkg"'})


@bp.route("/download/teams.xlsx")
def download_teams():
    state = plans.get_plan()
    if not state.planned:
        abort(404)
    data = get_data()
    payload = plans.team_lists_xlsx(data.campaign, state, masked=not current_user.sees_personal_data)
    import io

    return send_file(io.BytesIO(payload), as_attachment=True, download_name=f"{data.name}-teams.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
