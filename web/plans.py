"""The site's current plan: assignment, must-visits, team summary and schedule.

Loaded once per app from ``PLAN_PATH`` (a plan GeoPackage from ``zoufang
assign`` / ``zoufang schedule``, or written by the site) or from frames in the
config (``PLAN``: the assignment table, ``MUST_VISITS``, ``SCHEDULE``: a
``(stops, days)`` pair). A background run or a hand edit replaces it with
:func:`set_plan`, which also refreshes the map data (:mod:`web.data`).

Thin: the rules, checks and exports are :mod:`planner`'s; this module keeps
the current frames and writes files.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd
from flask import Flask, current_app, has_app_context

_EXTENSION = "zoufang.plan"
_LOCK = threading.Lock()
MV_COLUMNS = ["rule", "entity_type", "entity_id", "cadre_id", "team_id", "responsible_team_id", "joint"]


@dataclass(frozen=True)
class PlanState:
    assignment: pd.DataFrame | None = None
    must_visits: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=MV_COLUMNS))
    teams_summary: pd.DataFrame | None = None
    #: the schedule's ``stops`` and ``days`` (GeoDataFrames), or None
    stops: object = None
    days: object = None
    info: dict = field(default_factory=dict)
    path: str | None = None
    #: the soft goals (planner.assign.review.soft_goals_frame), or None
    soft_goals: pd.DataFrame | None = None

    @property
    def planned(self) -> bool:
        return self.assignment is not None

    @property
    def scheduled(self) -> bool:
        return self.stops is not None and self.days is not None and len(self.days) > 0


def _read_layer(path, layer, geometry=False):
    import pyogrio

    try:
        if layer not in {name for name, _ in pyogrio.list_layers(path)}:
            return None
        return pyogrio.read_dataframe(path, layer=layer, read_geometry=geometry)
    except Exception:
        return None


def read_plan_file(path) -> PlanState:
    from web.data import read_plan

    assignment = read_plan(path)
    mv = _read_layer(path, "must_visits")
    summary = _read_layer(path, "teams_summary")
    stops = _read_layer(path, "stops", geometry=True)
    days = _read_layer(path, "days", geometry=True)
    infos = []
    for layer in ("plan_info", "schedule_info"):
        frame = _read_layer(path, layer)
        infos.append(dict(zip(frame["key"], frame["value"])) if frame is not None and {"key", "value"} <= set(
            frame.columns) else {})
    return PlanState(assignment=assignment, must_visits=mv if mv is not None else PlanState().must_visits,
                     teams_summary=summary, stops=stops, days=days, info=merged_info(*infos), path=str(path),
                     soft_goals=_read_layer(path, "soft_goals"))


def merged_info(plan_info: dict, schedule_info: dict) -> dict:
    """The assignment's facts and the schedule's in one dict; a schedule fact the assignment
    also has (``wall_time``, ``seed``, ``rules``) is kept as ``schedule_KEY``."""
    out = dict(plan_info)
    for k, v in schedule_info.items():
        out[f"schedule_{k}" if k in plan_info and not str(k).startswith("schedule_") else k] = v
    return out


def load(config) -> PlanState:
    if config.get("PLAN") is not None:
        sched = config.get("SCHEDULE")
        mv = config.get("MUST_VISITS")
        return PlanState(assignment=config["PLAN"], must_visits=mv if mv is not None else PlanState().must_visits,
                         teams_summary=config.get("TEAMS_SUMMARY"),
                         stops=sched[0] if sched else None, days=sched[1] if sched else None)
    if config.get("PLAN_PATH"):
        return read_plan_file(config["PLAN_PATH"])
    return PlanState()


def get_plan(app: Flask | None = None) -> PlanState:
    app = app or current_app._get_current_object()
    state = app.extensions.get(_EXTENSION)
    if state is None:
        with _LOCK:
            state = app.extensions.get(_EXTENSION)
            if state is None:
                state = load(app.config)
                app.extensions[_EXTENSION] = state
    return state


def set_plan(state: PlanState, app: Flask | None = None) -> PlanState:
    """Make ``state`` the site's plan and recolour the map's grids."""
    from web import data

    app = app or current_app._get_current_object()
    with _LOCK:
        app.extensions[_EXTENSION] = state
        data.replace_plan(app, state.assignment)
    return state


def work_folder(key: str, name: str, app: Flask | None = None) -> Path:
    """``config[key]``, else ``name`` beside the campaign file, else in the instance folder."""
    app = app or current_app._get_current_object()
    if app.config.get(key):
        folder = Path(app.config[key])
    elif app.config.get("CAMPAIGN_PATH"):
        folder = Path(app.config["CAMPAIGN_PATH"]).resolve().parent / name
    else:
        folder = Path(app.instance_path) / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def plan_folder(app: Flask | None = None) -> Path:
    """Where the site writes plans: ``PLAN_FOLDER``, else ``zoufang-plans/`` beside the campaign."""
    return work_folder("PLAN_FOLDER", "zoufang-plans", app)


def write_plan_file(state: PlanState, path) -> Path:
    """The plan's layers in one GeoPackage (replacing the file)."""
    import pyogrio

    path = Path(path)
    if path.exists():
        path.unlink()
    frames = {"assignment": state.assignment, "must_visits": state.must_visits,
              "teams_summary": state.teams_summary}
    if state.info:
        frames["plan_info"] = pd.DataFrame([(str(k), str(v)) for k, v in state.info.items()], columns=["key", "value"])
    if state.soft_goals is not None:
        frames["soft_goals"] = state.soft_goals
    for layer, frame in frames.items():
        if frame is None:
            continue
        pyogrio.write_dataframe(_plain(pd.DataFrame(frame)), path, layer=layer, driver="GPKG")
    for layer, frame in (("stops", state.stops), ("days", state.days)):
        if frame is not None and len(frame):
            pyogrio.write_dataframe(_plain(frame), path, layer=layer, driver="GPKG")
    return path


def _plain(frame):
    frame = frame.copy()
    for col in frame.columns:
        if col != "geometry" and (frame[col].dtype == object or str(frame[col].dtype).startswith("str")):
            frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
    return frame


# --- the soft goals: per team balance and contiguity, and why --------------------


def review(campaign, state: PlanState, rules) -> PlanState:
    """``state`` with the soft goals and, in ``teams_summary``, each team's load against its
    share, pieces and reasons (:mod:`planner.assign.review`): as the plan file has them, else
    (an older file, a hand edit) computed from its assignment. A plan that does not cover the
    campaign's units keeps what it had."""
    from planner.assign.review import NOTE_COLUMNS, review_plan, soft_goals_frame

    summary = state.teams_summary
    if not state.planned or (summary is not None and set(NOTE_COLUMNS) <= set(summary.columns)
                             and state.soft_goals is not None):
        return state
    try:
        summary, goals = review_plan(campaign, state.assignment, state.must_visits, rules,
                                     ua=unit_arrays(campaign, rules) if has_app_context() else None)
    except ValueError:
        return state
    return replace(state, teams_summary=summary, soft_goals=soft_goals_frame(goals))


def moved_from(previous: pd.DataFrame, assignment: pd.DataFrame) -> dict:
    """What a run kept close to ``previous`` changed: grids, households and enterprises now
    with another team (``moved_grids``, ``moved_households``, ``moved_enterprises``) and the
    planning units new to the plan (``new_grids``)."""
    def teams(frame, kind):
        rows = frame[frame["entity_type"] == kind]
        return pd.Series(rows["team_id"].astype(str).to_numpy(), index=rows["entity_id"].astype(str))

    out = {}
    for kind, key in (("grid", "moved_grids"), ("household", "moved_households"), ("enterprise", "moved_enterprises")):
        old, new = teams(previous, kind), teams(assignment, kind)
        both = new.index.intersection(old.index)
        out[key] = int((old.reindex(both) != new.reindex(both)).sum())
        if kind == "grid":
            out["new_grids"] = int(len(new.index.difference(old.index)))
    return out


def unit_arrays(campaign, rules, app: Flask | None = None):
    """The campaign's unit arrays under ``rules`` (planner.assign.units.build_units), kept for the
    app's current campaign and rules: a hand edit is reviewed without rebuilding them (4.5 s on a
    county of 300,000 households)."""
    import json

    from planner.assign.units import build_units

    app = app or current_app._get_current_object()
    key = json.dumps(rules.to_dict(), sort_keys=True, default=str)
    with _LOCK:
        kept = app.extensions.get("zoufang.units")
    if kept is not None and kept[0] is campaign and kept[1] == key:
        return kept[2]
    ua = build_units(campaign, rules)
    with _LOCK:
        app.extensions["zoufang.units"] = (campaign, key, ua)
    return ua


def reviewed_plan(campaign, rules, app: Flask | None = None) -> PlanState:
    """The site's plan, reviewed (:func:`review`) once and kept."""
    app = app or current_app._get_current_object()
    state = get_plan(app)
    new = review(campaign, state, rules)
    if new is not state:
        with _LOCK:
            if app.extensions.get(_EXTENSION) is state:
                app.extensions[_EXTENSION] = new
    return new


# --- the plans the site has made (a run, a hand edit): compare, and make one current ---------

#: the names the site gives its plan files (see planner.run / planner.move)
PLAN_FILE = re.compile(r"^plan-\d{8}-\d{6}-[0-9a-f]{4}\.gpkg$")


def plan_history(tol: float, app: Flask | None = None) -> list[dict]:
    """The site's plan files, newest first, each with its key figures: when, how it was made
    (run or hand edit, rules), status, objective, gap, workload max/mean per cadre, teams outside
    the band (``tol`` unless the plan's rules say otherwise), territories in pieces, moved grids."""
    from planner.assign.review import outside_band, workload_max_mean

    out = []
    for path in _plan_files(app):
        info = {}
        frame = _read_layer(path, "plan_info")
        if frame is not None and {"key", "value"} <= set(frame.columns):
            info = dict(zip(frame["key"], frame["value"]))
        summary = _read_layer(path, "teams_summary")
        made = (dt.datetime.strptime(path.name[5:20], "%Y%m%d-%H%M%S") if PLAN_FILE.match(path.name)
                else dt.datetime.fromtimestamp(path.stat().st_mtime).replace(microsecond=0))
        row = {"name": path.name, "made": made, "loaded": not PLAN_FILE.match(path.name),
               "status": info.get("status"), "objective": _number(info.get("objective")),
               "gap": _number(info.get("gap")), "edited": info.get("edited"), "uploaded": info.get("uploaded"),
               "moved_grids": _number(info.get("moved_grids")), "rules_source": info.get("rules_source"),
               "seed": info.get("seed"), "max_mean": None, "outside": None, "pieces": None}
        band = plan_tolerance(info, tol)
        if summary is not None and {"hours", "cadres", "load_ratio", "pieces"} <= set(summary.columns):
            active = summary[summary["cadres"] > 0]
            row["max_mean"] = workload_max_mean(summary) or None
            row["outside"] = int(outside_band(active["load_ratio"], band).sum())
            row["pieces"] = int((summary["pieces"] > 1).sum())
        out.append(row)
    return out


def plan_tolerance(info: dict, default: float) -> float:
    """The balance tolerance a plan was made with (the rules in its plan_info), else ``default``."""
    import json

    try:
        return float(json.loads(info["rules"])["balance"]["tolerance"])
    except (KeyError, TypeError, ValueError):
        return default


def _plan_files(app: Flask | None = None) -> list[Path]:
    """The site's plan files, newest first, then the plan file the site was started with."""
    app = app or current_app._get_current_object()
    files = [p for p in sorted(plan_folder(app).glob("plan-*.gpkg"), reverse=True) if PLAN_FILE.match(p.name)]
    start = app.config.get("PLAN_PATH")
    if start and Path(start).exists() and Path(start).resolve() not in {p.resolve() for p in files}:
        files.append(Path(start))
    return files


def _number(value):
    try:
        return None if value in (None, "", "None") else float(value)
    except (TypeError, ValueError):
        return None


def use_plan_file(name: str, campaign, app: Flask | None = None) -> PlanState:
    """Make the site's plan file ``name`` the current plan again. Raises KeyError when there is
    no such file, ValueError when its grids are not the campaign's (another campaign's plan)."""
    path = next((p for p in _plan_files(app) if p.name == name), None)
    if path is None:
        raise KeyError(name)
    state = read_plan_file(path)
    if not state.planned:
        raise ValueError(f"{name} holds no assignment")
    a = state.assignment
    planned = set(a.loc[a["entity_type"] == "grid", "entity_id"].astype(str))
    grids = set(campaign.grids["grid_id"].astype(str))
    if planned != grids:
        raise ValueError(f"{name} is not a plan of this campaign: {len(grids - planned)} of its grids have no team "
                         f"there and {len(planned - grids)} of the plan's grids are not in it")
    return set_plan(state, app)


# --- hand edits ----------------------------------------------------------------


def move_grid(campaign, assignment: pd.DataFrame, grid_id: str, team_id: str) -> pd.DataFrame:
    """The assignment with ``grid_id`` (and its households and enterprises)
    given to ``team_id``; each of them goes to the new team's cadre holding
    the fewest households so far."""
    a = assignment.copy()
    a["entity_id"] = a["entity_id"].astype(str)
    a["team_id"] = a["team_id"].astype(str)
    cadres = campaign.cadres[campaign.cadres["team_id"].astype(str) == team_id]["cadre_id"].astype(str).tolist()
    grid_rows = (a["entity_type"] == "grid") & (a["entity_id"] == grid_id)
    if not grid_rows.any():
        raise KeyError(f"grid {grid_id!r} is not in the plan")
    a.loc[grid_rows, "team_id"] = team_id
    members = set()
    for etype, frame, idcol in (("household", campaign.households, "household_id"),
                                ("enterprise", campaign.enterprises, "enterprise_id")):
        if frame is None or not len(frame):
            continue
        ids = set(frame.loc[frame["grid_id"].astype(str) == grid_id, idcol].astype(str))
        members |= {(etype, i) for i in ids}
    rows = a[[(t, i) in members for t, i in zip(a["entity_type"], a["entity_id"])]].index
    load = a[(a["entity_type"] == "household") & a["cadre_id"].isin(cadres)]["cadre_id"].value_counts()
    load = {c: int(load.get(c, 0)) for c in cadres}
    for k in rows:
        a.at[k, "team_id"] = team_id
        if cadres:
            c = min(cadres, key=lambda c: (load[c], c))
            a.at[k, "cadre_id"] = c
            if a.at[k, "entity_type"] == "household":
                load[c] += 1
        else:
            a.at[k, "cadre_id"] = None
    return a


def teams_table(campaign, state: PlanState) -> pd.DataFrame:
    """Per team: name, level, cadres, grids, villages, households, enterprises,
    must-visits (from the plan's summary when it has one)."""
    teams = campaign.teams.copy()
    teams["team_id"] = teams["team_id"].astype(str)
    a = state.assignment
    out = pd.DataFrame({"team_id": teams["team_id"], "name": teams["name"].astype(str),
                        "level": teams["level"].astype(str) if "level" in teams else ""})
    cad = campaign.cadres["team_id"].astype(str).value_counts()
    out["cadres"] = out["team_id"].map(cad).fillna(0).astype(int)
    if a is None:
        for col in ("grids", "villages", "households", "enterprises", "must_visits"):
            out[col] = 0
        return out
    a = a.astype({"entity_id": str, "team_id": str})
    g = a[a["entity_type"] == "grid"]
    gv = campaign.grids.set_index(campaign.grids["grid_id"].astype(str))["village_id"].astype(str)
    out["grids"] = out["team_id"].map(g["team_id"].value_counts()).fillna(0).astype(int)
    vil = g.assign(v=g["entity_id"].map(gv)).groupby("team_id")["v"].nunique()
    out["villages"] = out["team_id"].map(vil).fillna(0).astype(int)
    for etype, col in (("household", "households"), ("enterprise", "enterprises")):
        n = a[a["entity_type"] == etype]["team_id"].value_counts()
        out[col] = out["team_id"].map(n).fillna(0).astype(int)
    mv = state.must_visits
    n = mv["team_id"].astype(str).value_counts() if len(mv) and "team_id" in mv else pd.Series(dtype=int)
    out["must_visits"] = out["team_id"].map(n).fillna(0).astype(int)
    summary = state.teams_summary
    if summary is not None and len(summary):
        # load against share, pieces and the reasons (see review), where the summary has them
        s = summary.assign(team_id=summary["team_id"].astype(str)).drop_duplicates("team_id").set_index("team_id")
        for col in REVIEW_COLUMNS:
            if col in s:
                out[col] = out["team_id"].map(s[col]).astype(object).where(lambda v: v.notna(), None)
    return out


#: reason kinds (planner.assign.review) → headline, in English (the pages translate them)
REASONS = {
    "map_parts": "Its grids lie in parts of the map that touch nowhere",
    "rules_force": "No set of touching villages within its quota and balance band: the rules force it",
    "no_set_found": "No set of touching villages within its quota and balance band was found",
    "objective_choice": "Touching villages within its quota and band exist; the search found no cheaper plan with them together",
    "whole_neighbours": "Its stray pieces touch only teams of whole villages that cannot take them",
    "balance_band": "The balance band holds it in pieces",
    "own_town": "It may only work in its own town",
    "traded": "The solver traded it for balance or compactness",
    "handover_missed": "A single hand-over would bring it inside the band; the search did not keep it",
    "isolated": "No other team touches its territory",
    "no_single_handover": "No single hand-over across its boundary fixes it",
}
#: joins a no_single_handover headline and its stop
BECAUSE = ": mostly because "
#: what stops a hand-over (the part after ':' of a no_single_handover kind) → English
STOPS = {
    "ineligible": "the other team may not work there",
    "splits_village": "it would split a village of a team that takes them whole",
    "over_quota": "it would put a team over its village quota",
    "under_quota": "it would put a team under its village quota",
    "taker_over_band": "it would push the taking team above the band",
    "giver_under_band": "it would leave the giving team below the band",
    "not_enough": "it would not be enough to reach the band",
    "cuts_giver": "it would cut the giving team's territory in two",
}


def reason_text(kind, translate=lambda m: m) -> str:
    """A reason kind in words (``translate``: the page's gettext), '' when none."""
    if not kind or not isinstance(kind, str):
        return ""
    head, _, stop = kind.partition(":")
    text = translate(REASONS.get(head, head))
    if stop:
        text += translate(BECAUSE) + translate(STOPS.get(stop, stop))
    return text


#: what :func:`teams_table` takes from the plan's teams summary
REVIEW_COLUMNS = ("hours", "target_hours", "load_ratio", "pieces", "balance_reason", "balance_note",
                  "contiguity_reason", "contiguity_note")


def team_lists_xlsx(campaign, state: PlanState, *, masked: bool) -> bytes:
    """Team lists (工作组名单) as an Excel workbook: a summary sheet and one
    sheet of households and enterprises per team. ``masked``: names and
    phones masked (for roles that may not see them)."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)  # streams rows: a county's lists in seconds
    ws = wb.create_sheet("汇总")
    table = teams_table(campaign, state)
    from web.i18n import ZH

    ws.append(header_row(ws, ["工作组编码", "工作组", "层级", "干部数", "网格数", "村/社区数", "住户数", "企业数", "必访数",
                              "工作量（小时）", "份额（小时）", "负荷比", "片数", "均衡说明", "连片说明"]))
    zh = lambda m: ZH.get(m, m)  # noqa: E731 (the workbook is in Chinese)
    for r in table.to_dict("records"):
        notes = [" — ".join(x for x in (reason_text(r.get(f"{g}_reason"), zh), r.get(f"{g}_note")) if x)
                 for g in ("balance", "contiguity")]
        ws.append([r["team_id"], r["name"], r["level"], r["cadres"], r["grids"], r["villages"], r["households"],
                   r["enterprises"], r["must_visits"], r.get("hours"), r.get("target_hours"), r.get("load_ratio"),
                   r.get("pieces"), *notes])
    if state.assignment is not None:
        rows = entity_rows(campaign, state.assignment, masked=masked)
        for r in table.itertuples(index=False):
            ws = wb.create_sheet(title=_sheet_title(f"{r.team_id} {r.name}"))
            ws.append(header_row(ws, ["类型", "编码", "名称/户主", "电话", "地址", "村/社区", "网格", "责任干部"]))
            for row in rows[rows["team_id"] == r.team_id].drop(columns="team_id").itertuples(index=False):
                ws.append(list(row))
    return _save(wb)


def header_row(ws, names) -> list:
    """Bold header cells for a write-only sheet."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    cells = []
    for name in names:
        cell = WriteOnlyCell(ws, value=name)
        cell.font = Font(bold=True)
        cells.append(cell)
    return cells


def entity_rows(campaign, assignment: pd.DataFrame, *, masked: bool) -> pd.DataFrame:
    """One row per planned household and enterprise: kind (住户/企业), id, name,
    phone, address, village name, grid, cadre name, team_id (vectorised: a
    county's 300,000 households in seconds). ``masked``: names and phones
    masked, addresses dropped."""
    from planner.reports.privacy import mask_name, mask_phone

    a = assignment.astype({"entity_id": str, "team_id": str})
    a = a[a["entity_type"].isin(["household", "enterprise"])]
    hh = campaign.households
    h = pd.DataFrame({"entity_id": hh["household_id"].astype(str),
                      "name": hh["head_name"] if "head_name" in hh else "", "phone": hh["phone"] if "phone" in hh else "",
                      "address": hh["address"] if "address" in hh else "",
                      "village_id": hh["village_id"].astype(str), "grid_id": hh["grid_id"].astype(str)})
    h["entity_type"] = "household"
    parts = [h]
    ent = campaign.enterprises
    if ent is not None and len(ent):
        parts.append(pd.DataFrame({"entity_id": ent["enterprise_id"].astype(str), "name": ent["name"], "phone": "",
                                   "address": "", "village_id": ent["village_id"].astype(str),
                                   "grid_id": ent["grid_id"].astype(str), "entity_type": "enterprise"}))
    places = pd.concat(parts, ignore_index=True)
    out = a.merge(places, on=["entity_type", "entity_id"], how="inner")
    for col in ("name", "phone", "address"):
        out[col] = out[col].map(_text)
    if masked:
        is_hh = out["entity_type"] == "household"
        out.loc[is_hh, "name"] = out.loc[is_hh, "name"].map(lambda v: mask_name(v) or "")
        out["phone"] = out["phone"].map(lambda v: mask_phone(v) or "" if v else "")
        out["address"] = ""
    vil = campaign.villages.set_index(campaign.villages["village_id"].astype(str))["name"].astype(str)
    cad = campaign.cadres.set_index(campaign.cadres["cadre_id"].astype(str))["name"].astype(str)
    cadre = out["cadre_id"].astype(object) if "cadre_id" in out else pd.Series(None, index=out.index, dtype=object)
    return pd.DataFrame({
        "kind": out["entity_type"].map({"household": "住户", "enterprise": "企业"}),
        "entity_id": out["entity_id"], "name": out["name"], "phone": out["phone"], "address": out["address"],
        "village": out["village_id"].map(vil).fillna(""), "grid_id": out["grid_id"],
        "cadre": cadre.map(lambda c: "" if c is None or c != c else cad.get(str(c), str(c))),
        "team_id": out["team_id"],
    })


def _sheet_title(text: str) -> str:
    for ch in "[]:*?/\\":
        text = text.replace(ch, " ")
    return text[:31]


def _text(v) -> str:
    return "" if v is None or (isinstance(v, float) and v != v) else str(v)


def _save(wb) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def schedule_dates(state: PlanState) -> list[str]:
    if not state.scheduled:
        return []
    return sorted(set(state.days["date"].astype(str)))


def today() -> dt.date:
    from geodata.store.validate import CAMPAIGN_TZ

    return dt.datetime.now(CAMPAIGN_TZ).date()


__all__ = ["PlanState", "entity_rows", "get_plan", "header_row", "move_grid", "plan_folder", "read_plan_file", "set_plan",
           "team_lists_xlsx", "teams_table", "work_folder", "write_plan_file"]
