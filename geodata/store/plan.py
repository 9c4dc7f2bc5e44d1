"""The plan's must-visits (必访) and schedule (日程) in the app database, and the queries that read them.

:func:`geodata.store.import_campaign` fills, from the plan file's ``must_visits`` and
``stops`` layers (replacing the campaign's earlier rows, in the import's transaction):

* ``plan_must_visits``: rule, place (entity type and id), cadre, team, county;
* ``plan_stops``: per cadre and date the stops in route order (``seq``), with the
  planned arrival and departure ("HH:MM"), travel from the previous place, the
  reason (assigned, must_visit:RULE, ...), the county and the WGS-84 position.

Public columns only: names, phones and addresses stay in the campaign file.
Visits and problems are not touched (they name places by id).

Queries: :func:`cadre_stops` (a cadre's stops for a date, on the
``(campaign_id, cadre_id, date, seq)`` index) and :func:`must_visits_status` (a
county's must-visits with their visit status from ``entity_counters``).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.orm import Session

from geodata.store.areas import ImportDataError
from geodata.store.models import EntityCounter, Place, PlanMustVisit, PlanStop

MUST_VISIT_COLUMNS = ["rule", "entity_type", "entity_id", "cadre_id", "team_id", "county_id"]
STOP_COLUMNS = ["cadre_id", "team_id", "date", "seq", "entity_type", "entity_id", "mode", "arrive", "depart",
                "travel_s", "travel_m", "reason", "county_id", "lon", "lat"]


class PlanDataError(ImportDataError):
    """The plan's must-visits or stops cannot be imported as they are (the message says what and how to fix it)."""


def _text(values) -> list:
    return [None if v is None or (isinstance(v, float) and np.isnan(v)) or pd.isna(v) else str(v) for v in values]


def _require(frame: pd.DataFrame, layer: str, columns) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise PlanDataError(f"the plan's {layer} layer lacks column(s) {', '.join(missing)}: write the plan again "
                            "with `zoufang assign` / `zoufang schedule`")


def county_lookup(areas: pd.DataFrame, places: pd.DataFrame) -> dict[str, dict]:
    """entity type → {entity id → county id} for households and enterprises (``places``)
    and villages and grids (``areas``), from the frames of :func:`geodata.store.campaign_rows`."""
    out: dict[str, dict] = {}
    for level in ("village", "grid"):
        sub = areas[areas["level"] == level]
        out[level] = dict(zip(sub["area_id"], sub["county_id"]))
    for et in ("household", "enterprise"):
        sub = places[places["entity_type"] == et]
        out[et] = dict(zip(sub["entity_id"], sub["county_id"]))
    return out


def referenced(places: pd.DataFrame, must_visits, stops) -> pd.DataFrame:
    """The rows of ``places`` that ``must_visits`` or ``stops`` name (what :func:`county_lookup`
    and the stops' positions need; a county has hundreds of thousands of places)."""
    ids = set()
    for frame in (must_visits, stops):
        if frame is not None and len(frame) and "entity_id" in frame:
            ids.update(frame["entity_id"].astype(str))
    return places[places["entity_id"].isin(ids)]


def _counties(frame: pd.DataFrame, lookup: dict) -> list:
    if "county_id" in frame and frame["county_id"].notna().all():  # a province plan names the county on every row
        return _text(frame["county_id"])
    given = _text(frame["county_id"]) if "county_id" in frame else [None] * len(frame)
    return [c if c is not None else lookup.get(et, {}).get(eid)
            for c, et, eid in zip(given, frame["entity_type"].astype(str), frame["entity_id"].astype(str))]


def must_visit_rows(must_visits: pd.DataFrame | None, lookup: dict) -> pd.DataFrame:
    """The ``plan_must_visits`` rows (no campaign_id) of the plan's ``must_visits`` layer."""
    if must_visits is None or not len(must_visits):
        return pd.DataFrame(columns=MUST_VISIT_COLUMNS)
    mv = pd.DataFrame(must_visits)
    _require(mv, "must_visits", ("rule", "entity_type", "entity_id"))
    return pd.DataFrame({
        "rule": mv["rule"].astype(str).to_numpy(), "entity_type": mv["entity_type"].astype(str).to_numpy(),
        "entity_id": mv["entity_id"].astype(str).to_numpy(),
        "cadre_id": _text(mv["cadre_id"]) if "cadre_id" in mv else None,
        "team_id": _text(mv["team_id"]) if "team_id" in mv else None,
        "county_id": _counties(mv, lookup),
    }, columns=MUST_VISIT_COLUMNS)


def stop_rows(stops, lookup: dict, places: pd.DataFrame) -> pd.DataFrame:
    """The ``plan_stops`` rows (no campaign_id) of the plan's ``stops`` layer: WGS-84
    positions from its point geometry, else from the place's position in ``places``."""
    if stops is None or not len(stops):
        return pd.DataFrame(columns=STOP_COLUMNS)
    _require(pd.DataFrame(stops), "stops", ("cadre_id", "date", "seq", "entity_type", "entity_id"))
    geom = getattr(stops, "geometry", None) if "geometry" in getattr(stops, "columns", ()) else None
    lon = lat = None
    if geom is not None and getattr(stops, "crs", None) is not None and geom.notna().all():
        g = stops.to_crs(4326).geometry
        lon, lat = np.round(g.x.to_numpy(float), 7), np.round(g.y.to_numpy(float), 7)
    s = pd.DataFrame(stops).drop(columns=["geometry"], errors="ignore")
    if lon is None:
        pos = places.set_index(["entity_type", "entity_id"])[["lon", "lat"]]
        pos = pos[~pos.index.duplicated()]
        k = pd.MultiIndex.from_arrays([s["entity_type"].astype(str), s["entity_id"].astype(str)])
        lon, lat = pos["lon"].reindex(k).to_numpy(), pos["lat"].reindex(k).to_numpy()
    try:
        dates = [dt.date.fromisoformat(str(d)[:10]) for d in s["date"]]
    except ValueError as exc:
        raise PlanDataError(f"the plan's stops layer has a date that is not YYYY-MM-DD ({exc}): "
                            "write the schedule again with `zoufang schedule`") from None
    county = _counties(s, lookup)
    if "village_id" in s:  # a stop at a household names its village: the surest county
        vc = [lookup["village"].get(v) for v in s["village_id"].astype(str)]
        county = [c if c is not None else v for c, v in zip(county, vc)]

    def ints(col):
        return [None if pd.isna(v) else int(v) for v in s[col]] if col in s else None

    return pd.DataFrame({
        "cadre_id": s["cadre_id"].astype(str).to_numpy(),
        "team_id": _text(s["team_id"]) if "team_id" in s else None,
        "date": dates, "seq": s["seq"].astype(int).to_numpy(),
        "entity_type": s["entity_type"].astype(str).to_numpy(), "entity_id": s["entity_id"].astype(str).to_numpy(),
        "mode": _text(s["mode"]) if "mode" in s else None,
        "arrive": _text(s["arrive"]) if "arrive" in s else None,
        "depart": _text(s["depart"]) if "depart" in s else None,
        "travel_s": ints("travel_s"), "travel_m": ints("travel_m"),
        "reason": _text(s["reason"]) if "reason" in s else None,
        "county_id": county, "lon": lon, "lat": lat,
    }, columns=STOP_COLUMNS)


def replace_plan_rows(conn, campaign_id: int, must_visits: pd.DataFrame, stops: pd.DataFrame, insert_rows) -> dict:
    """Replace the campaign's ``plan_must_visits`` and ``plan_stops`` (the caller's transaction)."""
    for table in (PlanMustVisit, PlanStop):
        conn.execute(delete(table).where(table.campaign_id == campaign_id))
    insert_rows(conn, PlanMustVisit.__table__, must_visits, campaign_id)
    insert_rows(conn, PlanStop.__table__, stops, campaign_id)
    return {"must_visits": len(must_visits), "stops": len(stops)}


# --- reading ------------------------------------------------------------------------------------------------


def _date(value) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"date must be YYYY-MM-DD, got {value!r}") from None


def cadre_stops(session: Session, *, campaign_id: int, cadre_id: str, date, county_ids=None) -> pd.DataFrame:
    """A cadre's stops on ``date`` in route order (:data:`STOP_COLUMNS` plus ``visits``,
    the visits recorded at that place so far), restricted to ``county_ids`` when given."""
    p, c = PlanStop, EntityCounter
    q = (select(*(getattr(p, col) for col in STOP_COLUMNS), func.coalesce(c.visits, 0))
         .select_from(p.__table__.outerjoin(c.__table__, and_(c.campaign_id == p.campaign_id,
                                                              c.entity_type == p.entity_type,
                                                              c.entity_id == p.entity_id)))
         .where(p.campaign_id == campaign_id, p.cadre_id == str(cadre_id), p.date == _date(date)))
    if county_ids is not None:
        q = q.where(p.county_id.in_(list(county_ids)))
    df = pd.DataFrame(session.execute(q.order_by(p.seq)).all(), columns=[*STOP_COLUMNS, "visits"])
    df["visits"] = df["visits"].astype("int64")
    return df


def cadre_counties(session: Session, *, campaign_id: int, cadre_id: str) -> set:
    """The counties a cadre's stops lie in (on any date): what scoping checks."""
    p = PlanStop
    return set(session.scalars(select(p.county_id).where(p.campaign_id == campaign_id, p.cadre_id == str(cadre_id))
                               .distinct()))


def cadre_dates(session: Session, *, campaign_id: int, cadre_id: str) -> list[str]:
    """The dates (ISO) a cadre has stops on, in order."""
    p = PlanStop
    return [d.isoformat() for d in session.scalars(select(p.date).where(p.campaign_id == campaign_id,
                                                                        p.cadre_id == str(cadre_id))
                                                   .distinct().order_by(p.date))]


MUST_VISIT_STATUS_COLUMNS = [*MUST_VISIT_COLUMNS, "visits", "visited", "phone", "not_home", "last_at", "done"]


def must_visits_status(session: Session, *, campaign_id: int, county_ids=None, cadre_id: str | None = None
                       ) -> pd.DataFrame:
    """The plan's must-visits (of ``county_ids`` / of one cadre when given) with their
    visit counts from ``entity_counters`` and ``done``: visited in person, a phone visit
    where a call covers the place (``places.phone_ok``), or a village visited.
    Like :func:`planner.coverage.coverage` from counters, "done" counts anyone's visit."""
    m, c, p = PlanMustVisit, EntityCounter, Place
    done = or_(func.coalesce(c.visited, 0) > 0, and_(func.coalesce(c.phone, 0) > 0, func.coalesce(p.phone_ok, False)))
    q = (select(*(getattr(m, col) for col in MUST_VISIT_COLUMNS), func.coalesce(c.visits, 0),
                func.coalesce(c.visited, 0), func.coalesce(c.phone, 0), func.coalesce(c.not_home, 0), c.last_at, done)
         .select_from(m.__table__
                      .outerjoin(c.__table__, and_(c.campaign_id == m.campaign_id, c.entity_type == m.entity_type,
                                                   c.entity_id == m.entity_id))
                      .outerjoin(p.__table__, and_(p.campaign_id == m.campaign_id, p.entity_type == m.entity_type,
                                                   p.entity_id == m.entity_id)))
         .where(m.campaign_id == campaign_id))
    if county_ids is not None:
        q = q.where(m.county_id.in_(list(county_ids)))
    if cadre_id is not None:
        q = q.where(m.cadre_id == str(cadre_id))
    df = pd.DataFrame(session.execute(q.order_by(m.county_id, m.rule, m.entity_type, m.entity_id)).all(),
                      columns=MUST_VISIT_STATUS_COLUMNS)
    for col in ("visits", "visited", "phone", "not_home"):
        df[col] = df[col].astype("int64")
    df["done"] = df["done"].astype(bool)
    return df
