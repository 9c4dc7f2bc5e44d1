"""Leader pages (/leader/): coverage from the stored visits, progress against
the deadline with a forecast, red/yellow warnings and the weekly figures.

Every figure is :mod:`planner.coverage` / :mod:`planner.problems` /
:mod:`planner.reports` over the visits and problems in the app database;
this module only gathers the frames and renders. Leaders see aggregates;
where a household is named (the must-visit list), its name and phone are
masked.
"""

from __future__ import annotations

import datetime as dt
import math
import threading

import numpy as np
import pandas as pd
from flask import Blueprint, abort, current_app, render_template, send_file, url_for
from flask_login import current_user

from geodata import store
from web import db, maps, plans, scope
from web.auth import require_role
from web.data import get_data
from web.i18n import format_date, format_percent, get_language
from web.i18n import gettext as _

bp = Blueprint("leader", __name__, url_prefix="/leader")
bp.before_request(require_role("leader", "admin"))

#: weeks shown in the weekly figures table
WEEKS = 6
#: rows of the warnings and the open must-visits shown on the page (the rest are counted)
SHOWN_ROWS = 50


# --- the figures (also used by the API) -------------------------------------------


def as_of() -> dt.date:
    """Today in the campaign's time zone (``TODAY`` in the config pins it, for tests and demos)."""
    fixed = current_app.config.get("TODAY")
    return dt.date.fromisoformat(str(fixed)) if fixed else plans.today()


def visits() -> pd.DataFrame:
    """The stored visits the account may see (its counties: :func:`web.scope.restrict`).

    The campaign's visits are read once and kept by the app; later calls read
    only the visits stored since (150,000 visits took 2 s to read, on every
    leader page view). Visits are never changed or deleted: when the count does
    not add up all are read again. Callers must not modify the frame."""
    return scope.restrict(_campaign_visits())


_VISITS_LOCK = threading.Lock()


def _campaign_visits() -> pd.DataFrame:
    from sqlalchemy import func, select

    V = store.Visit
    cid = db.campaign_id()
    slot = current_app.extensions.setdefault("zoufang.leader.visits", {})
    with _VISITS_LOCK, db.session() as s:
        n, last = s.execute(select(func.count(V.id), func.max(V.id)).where(V.campaign_id == cid)).one()
        kept = slot.get("frame") if slot.get("campaign") == cid else None
        if kept is not None and slot.get("last") == last and len(kept) == n:
            return kept
        if kept is not None and slot.get("last") is not None and last is not None and last > slot["last"]:
            # the columns and types of store.visits_frame, for the new rows only
            q = (select(V.id, V.client_id, V.entity_type, V.entity_id, V.cadre_id, V.visited_at, V.outcome, V.lon, V.lat,
                        V.contact_card, V.recorded_by)
                 .where(V.campaign_id == cid, V.id > slot["last"]).order_by(V.id))
            new = pd.DataFrame.from_records([tuple(r) for r in s.execute(q)], columns=store.visits.VISIT_COLUMNS)
            new["visited_at"] = pd.to_datetime(new["visited_at"])
            frame = pd.concat([kept, new], ignore_index=True) if len(kept) else new
            if len(frame) != n:  # not append-only after all: read everything
                frame = store.visits_frame(s, campaign_id=cid)
        else:
            frame = store.visits_frame(s, campaign_id=cid)
        slot.update(campaign=cid, last=last, frame=frame)
        return frame


def problems() -> pd.DataFrame:
    with db.session() as s:
        return scope.restrict(store.problems_frame(s, campaign_id=db.campaign_id()))


def visits_key() -> tuple:
    """(campaign, number of visits, last visit id): changes whenever a visit is
    stored, so figures computed from the visits can be kept until then."""
    from sqlalchemy import func, select

    with db.session() as s:
        n, last = s.execute(select(func.count(store.Visit.id), func.max(store.Visit.id))
                            .where(store.Visit.campaign_id == db.campaign_id())).one()
    return (db.campaign_id(), n, last)


def current_coverage(visit_frame: pd.DataFrame | None = None):
    """:func:`planner.coverage.coverage` of the site's campaign, plan and stored visits.

    Without ``visit_frame`` the result is kept until a visit is added or the
    plan changes (the map asks for several layers per view: one computation)."""
    from planner.coverage import coverage

    state = plans.get_plan()
    data = get_data()
    if visit_frame is not None:
        return coverage(data.campaign, visit_frame, assignment=state.assignment, must_visits=state.must_visits)
    key = visits_key()
    slot = current_app.extensions.setdefault("zoufang.coverage", {})
    if slot.get("key") != key or slot.get("state") is not state or slot.get("data") is not data:
        value = coverage(data.campaign, visits(), assignment=state.assignment, must_visits=state.must_visits)
        slot.update(key=key, state=state, data=data, value=value)
    return slot["value"]


def campaign_dates(visit_frame: pd.DataFrame | None = None) -> tuple[dt.date, dt.date]:
    """Start and deadline: config ``CAMPAIGN_START``/``CAMPAIGN_END``, else the
    campaign row, else the schedule's, else from the first visit for 60 days."""
    cfg = current_app.config
    if cfg.get("CAMPAIGN_START") and cfg.get("CAMPAIGN_END"):
        return dt.date.fromisoformat(str(cfg["CAMPAIGN_START"])), dt.date.fromisoformat(str(cfg["CAMPAIGN_END"]))
    with db.session() as s:
        row = s.get(store.CampaignRow, db.campaign_id())
        if row is not None and row.start_date and row.end_date:
            return row.start_date, row.end_date
    info = plans.get_plan().info
    if info.get("start") and info.get("end"):
        try:
            return dt.date.fromisoformat(str(info["start"])), dt.date.fromisoformat(str(info["end"]))
        except ValueError:
            pass
    if visit_frame is None:
        from sqlalchemy import func, select

        with db.session() as s:  # the first visit, without reading them all
            first = s.scalar(select(func.min(store.Visit.visited_at)).where(store.Visit.campaign_id == db.campaign_id()))
        first = pd.Timestamp(first).date() if first is not None else as_of()
    else:
        v = visit_frame
        first = pd.to_datetime(v["visited_at"]).min().date() if len(v) else as_of()
    return first, first + dt.timedelta(days=60)


def forecast(cov, *, start: dt.date, end: dt.date, today: dt.date, window: int = 14) -> dict:
    """Pace (entities covered per day over the last ``window`` days, or since the
    start when shorter) and the finish date at that pace."""
    covered_at = pd.to_datetime(cov.entities["covered_at"]).dropna()
    total = len(cov.entities)
    covered = int(cov.entities["covered"].sum())
    days = max((today - start).days + 1, 1)
    span = min(window, days)
    since = pd.Timestamp(today - dt.timedelta(days=span - 1))
    recent = int((covered_at >= since).sum()) if len(covered_at) else 0
    pace = recent / span
    remaining = total - covered
    if remaining <= 0:
        finish = covered_at.max().date() if len(covered_at) else today
    elif pace > 0:
        finish = today + dt.timedelta(days=math.ceil(remaining / pace))
    else:
        finish = None
    return {"pace": round(pace, 1), "remaining": remaining, "finish": finish,
            "late": finish is None or finish > end, "days_left": (end - today).days}


def progress_svg(frame: pd.DataFrame, *, total: int, today: dt.date, finish: dt.date | None,
                 pace: float = 0.0, width: int = 640, height: int = 220) -> str:
    """The progress chart as inline SVG (no script, prints): covered so far,
    the straight-line schedule to the deadline, today's mark and, dotted, the
    current pace carried on to the deadline."""
    from html import escape

    if not len(frame) or total <= 0:
        return ""
    pad_l, pad_r, pad_t, pad_b = 44, 10, 10, 26
    n = len(frame)
    w, h = width - pad_l - pad_r, height - pad_t - pad_b

    def xy(i, v):
        return pad_l + (w * i / max(n - 1, 1)), pad_t + h * (1 - v / total)

    dates = [d.date() for d in pd.to_datetime(frame["date"])]
    upto = [i for i, d in enumerate(dates) if d <= today]
    expected = " ".join("%.1f,%.1f" % xy(i, v) for i, v in enumerate(frame["expected"]))
    covered = " ".join("%.1f,%.1f" % xy(i, frame["covered"].iat[i]) for i in upto)
    parts = [f'<svg class="zf-chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(_("Progress"))}">',
             f'<line x1="{pad_l}" y1="{pad_t + h}" x2="{pad_l + w}" y2="{pad_t + h}" stroke="#999"/>',
             f'<line x1="{pad_l}" y1="{pad_t}" x2="{pad_l}" y2="{pad_t + h}" stroke="#999"/>']
    for frac in (0.5, 1.0):
        y = pad_t + h * (1 - frac)
        parts.append(f'<text x="{pad_l - 4}" y="{y + 4:.0f}" text-anchor="end" font-size="11">{format_percent(frac, 0)}</text>')
    parts.append(f'<polyline class="zf-expected" points="{expected}" fill="none" stroke="#999" stroke-dasharray="5 4"/>')
    if covered:
        parts.append(f'<polyline class="zf-covered" points="{covered}" fill="none" stroke="#b71c1c" stroke-width="2.5"/>')
    if upto:
        x, _y = xy(upto[-1], 0)
        parts.append(f'<line x1="{x:.1f}" y1="{pad_t}" x2="{x:.1f}" y2="{pad_t + h}" stroke="#1f77b4" stroke-dasharray="2 3"/>')
        if pace > 0 and upto[-1] < n - 1:
            now = int(frame["covered"].iat[upto[-1]])
            reach = min(total, now + pace * (n - 1 - upto[-1]))
            x0, y0 = xy(upto[-1], now)
            x1, y1 = xy(n - 1, reach)
            parts.append(f'<line class="zf-forecast-line" x1="{x0:.1f}" y1="{y0:.1f}" x2="{x1:.1f}" y2="{y1:.1f}" '
                         f'stroke="{"#2ca02c" if reach >= total else "#b71c1c"}" stroke-dasharray="1 4" stroke-width="2"/>')
    parts.append(f'<text x="{pad_l}" y="{height - 6}" font-size="11">{escape(format_date(dates[0], "short"))}</text>')
    parts.append(f'<text x="{pad_l + w}" y="{height - 6}" font-size="11" text-anchor="end">'
                 f'{escape(format_date(dates[-1], "short"))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def rollup(cov) -> list[dict]:
    """Town → village → grid, each with its figures (nested lists of dicts)."""
    # One to_dict per frame, then grouped in Python: a boolean filter per
    # village cost 4 s at county scale (1,100 villages, 3,000 grids).
    grids: dict = {}
    for g in cov.by_grid.to_dict("records"):
        grids.setdefault(g["village_id"], []).append(g)
    villages: dict = {}
    for v in cov.by_village.to_dict("records"):
        v["grids"] = grids.get(v["village_id"], [])
        villages.setdefault(v["town_id"], []).append(v)
    out = []
    for town in cov.by_town.to_dict("records"):
        town["villages"] = villages.get(town["town_id"], [])
        out.append(town)
    return out


def weekly(campaign, visit_frame, problem_frame, *, start: dt.date, today: dt.date, weeks: int = WEEKS) -> list[dict]:
    """The weekly figures of the last ``weeks`` weeks (Monday to Sunday), newest first."""
    from planner.reports.weekly import weekly_figures

    monday = today - dt.timedelta(days=today.weekday())
    assignment = plans.get_plan().assignment
    # A week's figures depend on the visits up to its Sunday (coverage as of then)
    # and the problems: each week is kept until those change, so a visit recorded
    # today recomputes this week only (each week is a coverage computation: 1-2 s
    # at county scale). Kept per campaign and plan (compared by identity).
    slot = current_app.extensions.setdefault("zoufang.leader.weeks", {})
    if slot.get("campaign") is not campaign or slot.get("assignment") is not assignment or len(slot.get("rows", ())) > 256:
        slot.clear()
        slot.update(campaign=campaign, assignment=assignment, rows={})
    at = pd.to_datetime(visit_frame["visited_at"]).to_numpy() if len(visit_frame) else None
    ids = visit_frame["visit_id"].to_numpy() if len(visit_frame) and "visit_id" in visit_frame else None
    pkey = _problems_key(problem_frame)
    rows = []
    for k in range(weeks):
        a = monday - dt.timedelta(weeks=k)
        b = a + dt.timedelta(days=6)
        if b < start:
            break
        if at is None:
            upto = (0,)
        elif ids is None:
            upto = None  # no ids to tell the visits apart: never kept
        else:
            mine = ids[at < np.datetime64(b + dt.timedelta(days=1))]
            upto = (len(mine), int(mine.max()) if len(mine) else 0, int(mine.sum()))
        key = (a, b, upto, pkey)
        row = slot["rows"].get(key) if upto is not None else None
        if row is None:
            f = weekly_figures(campaign, visit_frame, problem_frame, start=a, end=b, assignment=assignment)
            row = {"start": a, "end": b, **f.total}
            if upto is not None:
                slot["rows"][key] = row
        rows.append(row)
    return rows


def must_visit_list(cov, *, masked: bool) -> list[dict]:
    """Each must-visit (四个必到) with its place and status; household names masked for leaders."""
    from planner.reports.privacy import mask_name

    mv = cov.must_visits
    if not len(mv):
        return []
    campaign = get_data().campaign
    names = {"village": campaign.villages.set_index(campaign.villages["village_id"].astype(str))["name"].astype(str)}
    hh = campaign.households
    if "head_name" in hh:
        names["household"] = hh.set_index(hh["household_id"].astype(str))["head_name"].astype(str)
    ent = campaign.enterprises
    if ent is not None and len(ent):
        names["enterprise"] = ent.set_index(ent["enterprise_id"].astype(str))["name"].astype(str)
    cadres = campaign.cadres.set_index(campaign.cadres["cadre_id"].astype(str))["name"].astype(str)
    out = []
    for r in mv.to_dict("records"):
        name = names.get(r["entity_type"], pd.Series(dtype=str)).get(str(r["entity_id"]), "")
        if masked and r["entity_type"] == "household":
            name = mask_name(name) or ""
        out.append({**r, "name": name, "cadre": cadres.get(str(r["cadre_id"]), str(r["cadre_id"]))})
    return out


def must_rules(must: list[dict]) -> list[dict]:
    """Due and done must-visits per rule, with the rule's Chinese words."""
    from planner.export.sheet import REASON_ZH

    out: dict[str, dict] = {}
    for m in must:
        r = out.setdefault(m["rule"], {"rule": m["rule"], "words": REASON_ZH.get(m["rule"], m["rule"]), "due": 0,
                                       "done": 0})
        r["due"] += 1
        r["done"] += bool(m["done"])
    return list(out.values())


# --- the page ---------------------------------------------------------------------


def _kept(name: str, key: tuple, compute, *, of=()):
    """``compute()``, kept per app until ``key`` changes or one of the objects
    ``of`` is replaced (compared by identity): e.g. the roll-up's 4,000 rows,
    rendered once per coverage computation and language."""
    slot = current_app.extensions.setdefault(f"zoufang.leader.{name}", {})
    if slot.get("key") != key or len(slot.get("of", ())) != len(of) or any(
            a is not b for a, b in zip(slot["of"], of)):
        slot.update(key=key, of=tuple(of), value=compute())
    return slot["value"]


def _problems_key(p: pd.DataFrame) -> tuple:
    """Changes when a problem is added or changes status (its ``updated_at`` moves)."""
    if not len(p):
        return (0,)
    return (len(p), int(p["problem_id"].max()), str(p["updated_at"].max()),
            int(pd.util.hash_pandas_object(p[["status", "updated_at"]], index=False).sum()))


@bp.route("/")
def home():
    from planner.problems import problem_warnings, unit_warnings

    data = get_data()
    p = problems()
    cov = current_coverage()  # kept until a visit: the visits are read only then
    today = as_of()
    start, end = campaign_dates()
    from planner.coverage import progress

    prog = progress(cov, start=start, end=end)
    fc = forecast(cov, start=start, end=end, today=today)
    # overdue problems first, then villages, then grids; red before yellow in each
    parts = [problem_warnings(p, today=today) if len(p) else None,
             unit_warnings(cov.by_village, unit="village", today=today, start=start, end=end),
             unit_warnings(cov.by_grid, unit="grid", today=today, start=start, end=end)]
    parts = [w for w in parts if w is not None and len(w)]
    warn = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["colour"])
    warn_counts = {c: int((warn["colour"] == c).sum()) for c in ("red", "yellow")}
    must = must_visit_list(cov, masked=True)
    vnames = data.campaign.villages.set_index(data.campaign.villages["village_id"].astype(str))["name"].astype(str)
    solved = int(p["status"].isin(("solved", "confirmed")).sum()) if len(p) else 0

    return render_template(
        "leader/index.html", section="leader", totals=cov.totals, start=start, end=end, today=today,
        forecast=fc, chart=progress_svg(prog, total=len(cov.entities), today=today, finish=fc["finish"], pace=fc["pace"]),
        parts={name: url_for("leader.part", name=name) for name in PARTS},
        warnings=warn.head(SHOWN_ROWS).to_dict("records"), warnings_more=max(len(warn) - SHOWN_ROWS, 0),
        warn_counts=warn_counts, vnames=vnames,
        must_rules=must_rules(must), must_todo=[m for m in must if not m["done"]][:SHOWN_ROWS],
        must_more=max(sum(not m["done"] for m in must) - SHOWN_ROWS, 0),
        problems_total=len(p), problems_solved=solved,
        map_config={"urls": _layer_urls(data, cov), "points_zoom": int(current_app.config["ZOOM_POINTS"]) - 1,
                    "colours": {"covered": COVERED_COLOUR, "missing": MISSING_COLOUR},
                    "labels": {"heat": _("Heat map of households not yet covered"), "grids": _("Coverage by grid"), "villages": _("Coverage by village"),
                               "points": _("Households covered / not covered"), "coverage": _("Coverage"),
                               "households": _("Households"), "not_home": _("Not at home"), "grid": _("Grid"),
                               "part_failed": _("Could not load this part of the page; reload to try again.")}},
        map_html=_coverage_map_parts(data), colour_names={"red": _("Red"), "yellow": _("Yellow")},
        unit_names={"grid": _("Grid"), "village": _("Village"), "town": _("Town"), "team": _("Team"),
                    "household": _("Household"), "enterprise": _("Enterprise")},
    )


def warm(app) -> float:
    """Compute what the first leader page view needs (read the visits, coverage,
    the map's figures and heat) now, e.g. when the site starts, instead of in
    that view (3-7 s at county scale). Returns the seconds it took."""
    import time

    t = time.perf_counter()
    with app.test_request_context("/leader/"):  # no account: the whole campaign
        data = get_data()
        _layer_urls(data, current_coverage())
    return time.perf_counter() - t


#: Sections of the leader page its JS fetches once the map is drawn: each is a
#: coverage computation (weekly) or thousands of rows (roll-up) that must not
#: hold the map back, above all after a visit, when nothing kept is current.
PARTS = ("weekly", "rollup")


@bp.route("/part/<name>")
def part(name: str):
    """One section of the leader page as an HTML fragment (see :data:`PARTS`)."""
    if name == "weekly":
        v, p = visits(), problems()
        start, _end = campaign_dates(v)
        rows = weekly(get_data().campaign, v, p, start=start, today=as_of())
        return render_template("leader/_weekly.html", weekly=rows)
    if name == "rollup":
        cov = current_coverage()
        return _kept("rollup", (get_language(),),
                     lambda: render_template("leader/_rollup.html", rollup=rollup(cov)), of=(cov,))
    abort(404, description=f"no part {name!r} of the leader page; there are {', '.join(PARTS)}")


@bp.route("/missing.xlsx")
def missing_xlsx():
    """Households and enterprises not yet covered (Excel), names and phones
    masked unless the account may see them (admins)."""
    import io

    from openpyxl import Workbook

    data = get_data()
    cov = current_coverage()
    masked = not current_user.sees_personal_data
    ent = cov.entities[~cov.entities["covered"].astype(bool)]
    table = ent[["entity_type", "entity_id", "team_id", "not_home_backlog"]].assign(
        cadre_id=ent["cadre_id"] if "cadre_id" in ent else None)
    table["team_id"] = table["team_id"].astype(object).where(table["team_id"].notna(), "")
    rows = plans.entity_rows(data.campaign, table, masked=masked)
    backlog = dict(zip(zip(ent["entity_type"], ent["entity_id"]), ent["not_home_backlog"]))
    kinds = {"住户": "household", "企业": "enterprise"}
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("未覆盖")
    ws.append(plans.header_row(ws, ["类型", "编码", "户主/名称", "电话", "村/社区", "网格", "工作组", "不在家待回访"]))
    for r in rows.itertuples(index=False):
        ws.append([r.kind, r.entity_id, r.name, r.phone, r.village, r.grid_id, data.teams.get(r.team_id, ""),
                   "是" if backlog.get((kinds[r.kind], r.entity_id)) else ""])
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    return send_file(buf, as_attachment=True, download_name=f"{data.name}-not-covered.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


COVERED_COLOUR = "#2ca02c"
MISSING_COLOUR = "#d62728"


def _layer_urls(data, cov) -> dict:
    """The coverage map's layer URLs, each with the version (ETag) of what it
    serves now: unchanged layers come from the browser's cache on a reload."""
    from web import coverage_map as cm

    def url(endpoint, payload, **args):
        return url_for(endpoint, v=payload.etag, **args)

    return {
        "grid_shapes": url("api.coverage_shapes", cm.shapes(data, "grids"), layer="grids"),
        "village_shapes": url("api.coverage_shapes", cm.shapes(data, "villages"), layer="villages"),
        "grid_figures": url("api.coverage_figures", cm.figures(cov, "grids"), layer="grids"),
        "village_figures": url("api.coverage_figures", cm.figures(cov, "villages"), layer="villages"),
        "heat": url("api.coverage_map", cm.heat(cov, data), layer="heat"),
        "households": url_for("api.coverage_map", layer="households"),
    }


def _coverage_map_parts(data) -> dict:
    """A folium frame fitted to the campaign (layers come from ``/api/coverage/map.geojson``)."""
    import folium

    west, south, east, north = data.bounds
    # canvas, not one SVG path per grid: 4,000 paths were the slowest part of a county's load
    m = folium.Map(location=[(south + north) / 2, (west + east) / 2], tiles=None, zoom_start=13,
                   control_scale=False, prefer_canvas=True)  # leader_map.js adds a metric-only scale
    tile_url = current_app.config.get("TILE_URL")
    if tile_url:
        folium.TileLayer(tiles=tile_url, attr=current_app.config.get("TILE_ATTRIBUTION") or _("Base map"),
                         name=_("Base map"), max_zoom=19).add_to(m)
    m.fit_bounds([[south, west], [north, east]])
    maps.offline(m)
    maps.leaflet_only(m)
    root = m.get_root()
    root.render()
    return {"header": root.header.render(), "html": root.html.render(), "script": root.script.render(),
            "map_name": m.get_name()}
