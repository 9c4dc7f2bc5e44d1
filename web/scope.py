"""County scoping of accounts (县级账号只看本县): one mechanism for every route.

An account has a scope (``accounts.scope_level`` / ``scope_id`` / ``scope_counties``):

``province`` (or none)  the whole campaign (省级; every account created before scopes existed)
``city``                its counties (市级): ``scope_counties`` (comma-separated), or when that
                        is empty the campaign's counties whose id starts with ``scope_id``
                        (GB/T 2260 codes: county 320412 lies in city 3204)
``county``              the county ``scope_id`` (县级)

How routes are scoped, all through this module:

* :func:`web.data.get_data` returns, inside a request, :func:`view` of the campaign
  for the request's user: a :class:`~web.data.CampaignData` built from the
  counties in scope only (villages, grids, households, enterprises, teams of those
  counties, the plan's rows for them). Every map layer, coverage figure, leader page,
  planner page and export that reads the campaign through ``get_data`` is therefore
  filtered with no code of its own. The view is built once per set of counties and
  kept with the app's data.
* rows from the database (visits, problems) go through :func:`restrict` (keeps the
  rows whose household / enterprise / village is in scope);
* a request naming one thing by id calls :func:`check_entity` / :func:`check_area`
  / :func:`check_problem` / :func:`check_visit`: 403 when it exists in the campaign
  but in another county (404 stays 404);
* what only a provincial account may do (upload a new campaign, plan the whole
  campaign, download the whole plan) calls :func:`require_whole_campaign`.

A campaign without counties is one county: scopes do not narrow it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace

import pandas as pd
from flask import abort, current_app, g, has_request_context
from flask_login import current_user

from geodata.store.accounts import SCOPE_LEVELS  # noqa: F401  (re-exported: the levels an account may have)
_EXTENSION = "zoufang.scope"
_LOCK = threading.Lock()


@dataclass(frozen=True)
class Scope:
    """What part of the campaign an account sees: ``counties`` None = all of it."""

    level: str = "province"
    scope_id: str | None = None
    counties: frozenset | None = None

    @property
    def whole(self) -> bool:
        return self.counties is None

    def allows_county(self, county_id) -> bool:
        return self.counties is None or (county_id is not None and str(county_id) in self.counties)


WHOLE = Scope()


def scope_of(user, all_counties) -> Scope:
    """The :class:`Scope` of ``user`` (anything with ``scope_level``, ``scope_id``,
    ``scope_counties``) in a campaign whose counties are ``all_counties``."""
    level = getattr(user, "scope_level", None) or "province"
    sid = getattr(user, "scope_id", None)
    if level == "province" or not all_counties:
        return WHOLE
    if level == "county":
        return Scope("county", sid, frozenset([str(sid)]))
    listed = [c.strip() for c in (getattr(user, "scope_counties", None) or "").split(",") if c.strip()]
    counties = listed or [c for c in all_counties if str(c).startswith(str(sid))]
    return Scope("city", sid, frozenset(map(str, counties)))


def request_user():
    """The request's account: a bearer token's (the visits API) or the log-in session's."""
    user = g.get("api_user") if has_request_context() else None
    if user is not None:
        return user
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user._get_current_object()
    return None


def _slot(app):
    return app.extensions.setdefault(_EXTENSION, {"data": None, "views": {}, "index": None})


def _index(app, data) -> dict:
    """county of every village / grid / town / household / enterprise of the full campaign (kept per data)."""
    slot = _slot(app)
    if slot["data"] is not data:
        with _LOCK:
            if slot["data"] is not data:
                from geodata.store.areas import village_counties

                c = data.campaign
                v_county = village_counties(c, strict=False)  # a village in no county: no county account sees it
                counties = sorted(set(v_county.dropna()))
                vc = v_county.to_dict()
                idx = {"counties": counties, "village": vc}
                idx["grid"] = dict(zip(c.grids["grid_id"].astype(str), c.grids["village_id"].astype(str).map(vc)))
                idx["town"] = dict(zip(c.villages["town_id"].astype(str), c.villages["village_id"].astype(str).map(vc)))
                for et, frame, col in (("household", c.households, "household_id"),
                                       ("enterprise", c.enterprises, "enterprise_id")):
                    if frame is not None and len(frame):
                        idx[et] = dict(zip(frame[col].astype(str), frame["village_id"].astype(str).map(vc)))
                    else:
                        idx[et] = {}
                idx["county"] = {k: k for k in counties}
                slot.update(data=data, index=idx, views={})
    return slot["index"]


def current_scope(app=None) -> Scope:
    app = app or current_app._get_current_object()
    user = request_user()
    if user is None:
        return WHOLE
    from web.data import get_data

    return scope_of(user, _index(app, get_data(app, scoped=False))["counties"])


def county_of(entity_type: str, entity_id, app=None):
    """The county of a campaign entity (``None`` unknown or a campaign without counties); raises KeyError if unknown."""
    app = app or current_app._get_current_object()
    from web.data import get_data

    idx = _index(app, get_data(app, scoped=False))
    table = idx.get(entity_type)
    if table is None or str(entity_id) not in table:
        raise KeyError(f"no {entity_type} {entity_id!r} in this campaign")
    return table[str(entity_id)]


def allows(entity_type: str, entity_id, scope: Scope | None = None) -> bool:
    """True when the entity is in the scope (or unknown: the caller reports that)."""
    scope = scope or current_scope()
    if scope.whole:
        return True
    try:
        county = county_of(entity_type, entity_id)
    except KeyError:
        return True
    return county is not None and county in scope.counties


def _forbid(what: str):
    abort(403, description=f"{what} is outside your scope")


def check_entity(entity_type: str, entity_id) -> None:
    """403 when ``entity_type`` ``entity_id`` (household, enterprise, village, grid, town, county)
    lies in a county the request's user may not see."""
    if not allows(entity_type, entity_id):
        _forbid(f"{entity_type} {entity_id}")


check_area = check_entity


def check_problem(problem_id: int) -> None:
    """403 for a problem about a place in another county (404 left to the caller)."""
    from geodata import store
    from web import db

    if current_scope().whole:
        return
    with db.session() as s:
        row = s.get(store.Problem, int(problem_id))
        if row is None or row.campaign_id != db.campaign_id():
            return
        check_entity(row.entity_type, row.entity_id)


def check_visit(visit) -> None:
    check_entity(visit.entity_type, visit.entity_id)


def require_whole_campaign() -> None:
    """403 unless the user sees the whole campaign (a provincial account)."""
    if not current_scope().whole:
        abort(403, description="only an account that sees the whole campaign may do this")


def restrict(frame: pd.DataFrame, *, type_col: str = "entity_type", id_col: str = "entity_id",
             scope: Scope | None = None) -> pd.DataFrame:
    """The rows of ``frame`` (visits, problems, ...) whose entity is in the scope."""
    scope = scope or current_scope()
    if scope.whole or not len(frame):
        return frame
    app = current_app._get_current_object()
    from web.data import get_data

    idx = _index(app, get_data(app, scoped=False))
    county = pd.Series([None] * len(frame), index=frame.index, dtype=object)
    for et in frame[type_col].astype(str).unique():
        table = idx.get(et, {})
        mask = frame[type_col].astype(str) == et
        county[mask] = frame.loc[mask, id_col].astype(str).map(table)
    keep = county.isin(scope.counties)
    return frame[keep.to_numpy()]


# --- the campaign as one scope sees it ------------------------------------------------------


def view(app, data):
    """``data`` as the request's user sees it (``data`` itself for a provincial account)."""
    scope = current_scope(app)
    if scope.whole:
        return data
    idx = _index(app, data)
    if not idx["counties"]:
        return data
    slot = _slot(app)
    key = scope.counties
    got = slot["views"].get(key)
    if got is None:
        with _LOCK:
            got = slot["views"].get(key)
            if got is None:
                got = _build_view(app, data, key, idx)
                slot["views"][key] = got
    return got


def _build_view(app, data, counties: frozenset, idx: dict):
    from web.data import _display_shift, prepare

    c = data.campaign
    vc = idx["village"]

    def rows(frame, col, table):
        if frame is None:
            return None
        keep = frame[col].astype(str).map(table).isin(counties).to_numpy()
        return frame[keep].reset_index(drop=True)

    villages = rows(c.villages, "village_id", vc)
    village_ids = set(villages["village_id"].astype(str))
    towns = None
    if c.towns is not None:
        towns = c.towns[c.towns["town_id"].astype(str).isin(set(villages["town_id"].astype(str)))].reset_index(drop=True)
    county_layer = None
    if c.counties is not None:
        county_layer = c.counties[c.counties["county_id"].astype(str).isin(counties)].reset_index(drop=True)
    grids = c.grids[c.grids["village_id"].astype(str).isin(village_ids)].reset_index(drop=True)
    hh = c.households[c.households["village_id"].astype(str).isin(village_ids)].reset_index(drop=True)
    ent = c.enterprises
    if ent is not None and len(ent):
        ent = ent[ent["village_id"].astype(str).isin(village_ids)].reset_index(drop=True)
    plan = data.plan
    teams = c.teams
    if plan is not None:
        ids = {"grid": set(grids["grid_id"].astype(str)), "household": set(hh["household_id"].astype(str)),
               "enterprise": set(ent["enterprise_id"].astype(str)) if ent is not None and len(ent) else set(),
               "village": village_ids}
        keep = [eid in ids.get(et, ()) for et, eid in zip(plan["entity_type"].astype(str),
                                                          plan["entity_id"].astype(str))]
        plan = plan[keep].reset_index(drop=True)
    if "county_id" in teams:
        tc = teams["county_id"]
        teams = teams[tc.isna().to_numpy() | tc.astype(str).isin(counties).to_numpy()]
        if plan is not None:  # city teams (no county) only where they work in these counties
            working = set(plan["team_id"].astype(str))
            teams = teams[teams["county_id"].notna().to_numpy() | teams["team_id"].astype(str).isin(working).to_numpy()]
    elif plan is not None:
        teams = teams[teams["team_id"].astype(str).isin(set(plan["team_id"].astype(str)))]
    teams = teams.reset_index(drop=True)
    cadres = c.cadres[c.cadres["team_id"].astype(str).isin(set(teams["team_id"].astype(str)))].reset_index(drop=True)
    sub = replace(c, villages=villages, grids=grids, households=hh, enterprises=ent, towns=towns,
                  counties=county_layer, teams=teams, cadres=cadres,
                  name=c.name, warnings=())
    return prepare(sub, plan, shift=_display_shift(app.config.get("TILE_CRS") or "wgs84"))
