"""The campaign's areas and places in the app database, and the coverage roll-ups that read them.

A shared server (many county offices, one PostgreSQL) cannot keep each office's
campaign in a GeoPackage beside the web process, so a campaign and its plan are
imported once (:func:`import_campaign`, idempotent by a hash of the files):

* ``areas``: every county (县), town (镇), village (村) and grid (网格) with its parent,
  its county, its WGS-84 outline (WKB) and bounding box;
* ``places``: every household and enterprise with its county / town / village / grid,
  WGS-84 position, the plan's team and cadre, and whether a phone call covers it.
  **No personal column** (names, phones, addresses stay in the campaign file);
* ``area_counters``: per area, households and enterprises and how many are covered,
  the not-at-home backlog (不在家待回访) and the visits, rebuilt from
  ``entity_counters`` at import (:func:`rebuild_area_counters`) and then moved by
  :func:`bump_area_counters` in the same transaction as each new visit.

The leader's roll-ups (:func:`rollup`) read ``area_counters`` only: a county's
towns and villages are a few hundred rows whatever the number of households.
Spatial queries (:func:`places_in_view`, :func:`coverage_in_polygon`) use PostGIS
when present (:mod:`geodata.store.spatial`) and plain columns otherwise.

"Covered" follows :class:`planner.coverage.CoverageRules`: an in-person visit, or a
phone / WeChat visit where ``places.phone_ok`` (households whose status is in
``phone_ok_statuses``; enterprises when ``phone_ok_enterprise``).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import and_, bindparam, case, column, delete, func, insert, literal, or_, select, table, text, update
from sqlalchemy.orm import Session

from geodata.store.models import Area, AreaCounter, CampaignRow, EntityCounter, Place, utcnow
from geodata.store.spatial import has_postgis

#: area levels, coarsest first; each area's parent is the level before it
LEVELS = ("county", "town", "village", "grid")
PLACE_TYPES = ("household", "enterprise")
#: the defaults of planner.coverage.CoverageRules (geodata does not import planner)
PHONE_OK_STATUSES = ("vacant", "away")
COUNTER_FIGURES = ("households", "households_covered", "enterprises", "enterprises_covered", "not_home_backlog",
                   "visits")
CHUNK = 5000
#: above this many places changing team or cadre, PostgreSQL updates them through a temporary table
MANY_CHANGES = 1000


class ImportDataError(ValueError):
    """The campaign cannot be imported as it is (the message says what and how to fix it)."""


# --- building the rows from a campaign --------------------------------------------------------------------


def file_fingerprint(*paths) -> str:
    """SHA-256 over the bytes of the given files (``None`` entries skipped): what was imported."""
    h = hashlib.sha256()
    for p in paths:
        if p is None:
            h.update(b"\0none")
            continue
        h.update(str(Path(p).name).encode())
        with open(p, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def _str_or_none(values) -> list:
    return [None if v is None or (isinstance(v, float) and np.isnan(v)) or pd.isna(v) else str(v) for v in values]


def village_counties(campaign, *, strict: bool = True) -> pd.Series:
    """village_id → county_id (``None`` everywhere for a one-county campaign): by the
    village's town's ``county_id``, else by the county polygon holding the village.
    ``strict``: a village in no county of a multi-county campaign is an
    :class:`ImportDataError` (else it is left ``None``)."""
    villages = campaign.villages
    vid = villages["village_id"].astype(str).to_numpy()
    out = pd.Series([None] * len(vid), index=vid, dtype=object)
    towns = campaign.towns
    if towns is not None and len(towns) and "county_id" in towns:
        tc = pd.Series(_str_or_none(towns["county_id"]), index=towns["town_id"].astype(str).to_numpy())
        out[:] = tc.reindex(villages["town_id"].astype(str).to_numpy()).to_numpy(dtype=object)
    counties = campaign.counties
    missing = pd.isna(out.to_numpy())
    if missing.any() and counties is not None and len(counties) and counties.geometry.notna().any():
        import geopandas as gpd

        pts = gpd.GeoDataFrame({"i": np.flatnonzero(missing)},
                               geometry=villages.geometry[missing].representative_point().values, crs=villages.crs)
        hit = gpd.sjoin(pts, counties[["county_id", counties.geometry.name]].to_crs(villages.crs),
                        predicate="within", how="left").drop_duplicates("i")
        vals = out.to_numpy(dtype=object)
        vals[hit["i"].to_numpy()] = _str_or_none(hit["county_id"])
        out[:] = vals
    has_counties = (counties is not None and len(counties)) or out.notna().any()
    if strict and has_counties and out.isna().any():
        lost = out.index[out.isna()].tolist()
        raise ImportDataError(
            f"{len(lost)} village(s) belong to no county (e.g. {lost[:5]}): give their towns a county_id "
            "or draw the counties layer over them")
    return out


def _plan_owners(plan) -> tuple[dict, dict]:
    """``(grid → (team, cadre), (entity_type, entity_id) → (team, cadre))`` from the assignment table."""
    grid_team: dict[str, tuple] = {}
    own: dict[tuple[str, str], tuple] = {}
    if plan is not None and len(plan):
        p = pd.DataFrame(plan)
        cad = p["cadre_id"] if "cadre_id" in p else pd.Series([None] * len(p), index=p.index)
        for et, eid, team, cadre in zip(p["entity_type"].astype(str), p["entity_id"].astype(str),
                                        _str_or_none(p["team_id"]), _str_or_none(cad)):
            if et == "grid":
                grid_team[eid] = (team, cadre)
            else:
                own[(et, eid)] = (team, cadre)
    return grid_team, own


def place_owners(campaign, plan) -> pd.DataFrame:
    """Each household's and enterprise's team and cadre in ``plan`` (its own row, else its
    grid's): ``entity_type, entity_id, team_id, cadre_id``, as :func:`campaign_rows` puts them in ``places``."""
    grid_team, own = _plan_owners(plan)
    parts = []
    for et, frame, id_col in (("household", campaign.households, "household_id"),
                              ("enterprise", campaign.enterprises, "enterprise_id")):
        if frame is None or not len(frame):
            continue
        ids = frame[id_col].astype(str).to_numpy()
        tc = [own.get((et, i)) or grid_team.get(g) or (None, None)
              for i, g in zip(ids, frame["grid_id"].astype(str).to_numpy())]
        parts.append(pd.DataFrame({"entity_type": et, "entity_id": ids, "team_id": [t for t, _ in tc],
                                   "cadre_id": [c for _, c in tc]}))
    return (pd.concat(parts, ignore_index=True) if parts
            else pd.DataFrame(columns=["entity_type", "entity_id", "team_id", "cadre_id"]))


def campaign_rows(campaign, plan: pd.DataFrame | None = None, *,
                  phone_ok_statuses=PHONE_OK_STATUSES, phone_ok_enterprise: bool = False
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(areas, places)`` frames with the columns of the tables (no campaign_id)."""
    import shapely

    v_county = village_counties(campaign)
    villages = campaign.villages
    v_town = pd.Series(villages["town_id"].astype(str).to_numpy(), index=villages["village_id"].astype(str).to_numpy())
    areas = []

    def add(level, frame, id_col, parent, county, name_col="name"):
        if frame is None or not len(frame):
            return
        g = frame.to_crs(4326).geometry.values
        bounds = shapely.bounds(g)
        areas.append(pd.DataFrame({
            "level": level, "area_id": frame[id_col].astype(str).to_numpy(), "parent_id": parent, "county_id": county,
            "name": _str_or_none(frame[name_col]) if name_col in frame else None,
            "minx": bounds[:, 0], "miny": bounds[:, 1], "maxx": bounds[:, 2], "maxy": bounds[:, 3],
            "geom_wkb": shapely.to_wkb(g, output_dimension=2),
        }))

    if campaign.counties is not None and len(campaign.counties):
        c = campaign.counties
        add("county", c, "county_id", None, c["county_id"].astype(str).to_numpy())
    town_county = pd.Series(v_county.to_numpy(), index=v_town.to_numpy())
    town_county = town_county[~town_county.index.duplicated()]
    towns = campaign.towns
    if towns is None or not len(towns):  # towns drawn as the union of their villages
        towns = villages[["town_id", villages.geometry.name]].dissolve(by="town_id", as_index=False)
    tid = towns["town_id"].astype(str).to_numpy()
    add("town", towns, "town_id", town_county.reindex(tid).to_numpy(dtype=object),
        town_county.reindex(tid).to_numpy(dtype=object))
    vid = villages["village_id"].astype(str).to_numpy()
    add("village", villages, "village_id", v_town.to_numpy(), v_county.to_numpy())
    grids = campaign.grids
    g_village = grids["village_id"].astype(str).to_numpy()
    add("grid", grids, "grid_id", g_village, v_county.reindex(g_village).to_numpy(dtype=object), name_col="")
    area_frame = pd.concat(areas, ignore_index=True)
    if "county" not in set(area_frame["level"]) and v_county.notna().any():  # counties named only by towns.county_id
        ids = sorted(set(v_county.dropna()))
        area_frame = pd.concat([pd.DataFrame({"level": "county", "area_id": ids, "parent_id": None, "county_id": ids,
                                              "name": ids}), area_frame], ignore_index=True)

    grid_team, own = _plan_owners(plan)
    places = []
    for et, frame, id_col in (("household", campaign.households, "household_id"),
                              ("enterprise", campaign.enterprises, "enterprise_id")):
        if frame is None or not len(frame):
            continue
        ids = frame[id_col].astype(str).to_numpy()
        gid = frame["grid_id"].astype(str).to_numpy()
        vill = frame["village_id"].astype(str).to_numpy()
        pts = frame.to_crs(4326).geometry.values
        xy = shapely.get_coordinates(pts) if len(pts) and shapely.get_type_id(pts).max() == 0 else None
        lon = xy[:, 0] if xy is not None and len(xy) == len(pts) else shapely.get_x(shapely.centroid(pts))
        lat = xy[:, 1] if xy is not None and len(xy) == len(pts) else shapely.get_y(shapely.centroid(pts))
        if et == "household":
            status = frame["status"].fillna("resident").astype(str) if "status" in frame else None
            phone_ok = status.isin(phone_ok_statuses).to_numpy() if status is not None else np.zeros(len(ids), bool)
        else:
            phone_ok = np.full(len(ids), bool(phone_ok_enterprise))
        tc = [own.get((et, i)) or grid_team.get(g) or (None, None) for i, g in zip(ids, gid)]
        places.append(pd.DataFrame({
            "entity_type": et, "entity_id": ids, "county_id": v_county.reindex(vill).to_numpy(dtype=object),
            "town_id": v_town.reindex(vill).to_numpy(dtype=object), "village_id": vill, "grid_id": gid,
            "lon": np.round(lon, 7), "lat": np.round(lat, 7), "team_id": [t for t, _ in tc],
            "cadre_id": [c for _, c in tc], "phone_ok": phone_ok.astype(bool),
        }))
    place_frame = pd.concat(places, ignore_index=True) if places else pd.DataFrame(columns=[
        "entity_type", "entity_id", "county_id", "town_id", "village_id", "grid_id", "lon", "lat", "team_id",
        "cadre_id", "phone_ok"])
    return area_frame, place_frame


# --- importing ----------------------------------------------------------------------------------------------


def import_campaign(session: Session, key: str, campaign, plan: pd.DataFrame | None = None, *,
                    must_visits: pd.DataFrame | None = None, stops=None,
                    fingerprint: str | None = None, plan_fingerprint: str | None = None, name: str | None = None,
                    campaign_path=None, plan_path=None, force: bool = False, **rules) -> dict:
    """Put ``campaign`` (and ``plan``'s teams) into ``areas`` / ``places`` of campaign ``key``,
    rebuild its ``area_counters``, and put the plan's ``must_visits`` and schedule
    ``stops`` (the plan file's layers, :mod:`geodata.store.plan`) into
    ``plan_must_visits`` / ``plan_stops``; the caller commits.

    Idempotent. With ``fingerprint`` alone (a hash of everything imported): when it
    equals the stored one nothing is written (``{"status": "unchanged"}``). With
    ``plan_fingerprint`` too, ``fingerprint`` is the campaign's hash and
    ``plan_fingerprint`` the plan's (assignment, must-visits, stops): a new plan on an
    unchanged campaign only updates the places whose team or cadre changed and
    replaces the plan rows (``{"status": "plan_updated", "places_changed", ...}``;
    area counters do not depend on teams). Otherwise the campaign's areas, places,
    must-visits and stops are replaced in this transaction (visits, problems and entity
    counters stay: they name places by id). Returns ``{"status", "campaign_id",
    "areas", "places", "counters", "must_visits", "stops"}``."""
    from geodata.store import plan as plan_rows
    from geodata.store.visits import ensure_campaign

    row = ensure_campaign(session, key, name=name, campaign_path=campaign_path, plan_path=plan_path)
    if session.connection().dialect.name == "postgresql":  # one importer at a time per campaign
        session.execute(select(CampaignRow.id).where(CampaignRow.id == row.id).with_for_update())
        session.refresh(row)
    same_campaign = fingerprint is not None and row.import_fingerprint == fingerprint and not force
    if same_campaign and (plan_fingerprint is None or row.plan_fingerprint == plan_fingerprint):
        return {"status": "unchanged", "campaign_id": row.id}
    if same_campaign:
        return _import_plan_only(session, row, campaign, plan, must_visits, stops, plan_fingerprint)

    area_frame, place_frame = campaign_rows(campaign, plan, **rules)
    named = plan_rows.referenced(place_frame, must_visits, stops)
    lookup = plan_rows.county_lookup(area_frame, named)
    mv_frame = plan_rows.must_visit_rows(must_visits, lookup)  # checked before anything is deleted
    stop_frame = plan_rows.stop_rows(stops, lookup, named)
    conn = session.connection()
    for table in (AreaCounter, Place, Area):
        conn.execute(delete(table).where(table.campaign_id == row.id))
    _bulk_insert(conn, Area.__table__, area_frame, row.id)
    _bulk_insert(conn, Place.__table__, place_frame, row.id)
    counters = rebuild_area_counters(session, campaign_id=row.id)
    planned = plan_rows.replace_plan_rows(conn, row.id, mv_frame, stop_frame, _bulk_insert)
    row.import_fingerprint = fingerprint
    row.plan_fingerprint = plan_fingerprint
    row.imported_at = utcnow()
    session.flush()
    return {"status": "imported", "campaign_id": row.id, "areas": len(area_frame), "places": len(place_frame),
            "counters": counters, **planned}


def _import_plan_only(session: Session, row, campaign, plan, must_visits, stops, plan_fingerprint) -> dict:
    """A new plan on an imported campaign: update the places whose team or cadre changed
    and replace ``plan_must_visits`` / ``plan_stops`` (see :func:`import_campaign`)."""
    from geodata.store import plan as plan_rows

    conn = session.connection()
    p = Place.__table__
    current = pd.read_sql(select(p.c.id, p.c.entity_type, p.c.entity_id, p.c.county_id, p.c.lon, p.c.lat,
                                 p.c.team_id, p.c.cadre_id).where(p.c.campaign_id == row.id), conn)
    areas = pd.DataFrame(conn.execute(select(Area.level, Area.area_id, Area.county_id)
                                      .where(Area.campaign_id == row.id, Area.level.in_(("village", "grid"))))
                         .all(), columns=["level", "area_id", "county_id"])
    named = plan_rows.referenced(current, must_visits, stops)
    lookup = plan_rows.county_lookup(areas, named)
    mv_frame = plan_rows.must_visit_rows(must_visits, lookup)  # checked before anything is written
    stop_frame = plan_rows.stop_rows(stops, lookup, named)
    owners = place_owners(campaign, plan)
    merged = current.merge(owners, on=["entity_type", "entity_id"], how="left", suffixes=("_old", ""))
    differs = np.zeros(len(merged), dtype=bool)
    for col in ("team_id", "cadre_id"):  # None == None here (a plain != would call two missing values different)
        merged[col] = merged[col].astype(object).where(merged[col].notna(), None)
        differs |= (merged[col].fillna("\0").astype(str) != merged[f"{col}_old"].fillna("\0").astype(str)).to_numpy()
    changed = merged[differs]
    records = [{"b_id": int(i), "b_team": t, "b_cadre": c}
               for i, t, c in zip(changed["id"], changed["team_id"], changed["cadre_id"])]
    if conn.dialect.name == "postgresql" and len(records) > MANY_CHANGES:
        # many changes (a new plan): one UPDATE joined to a temporary table beats a statement per row
        conn.execute(text("CREATE TEMPORARY TABLE place_owner_changes (b_id integer PRIMARY KEY, "
                          "b_team varchar(64), b_cadre varchar(64))"))
        tmp = table("place_owner_changes", column("b_id"), column("b_team"), column("b_cadre"))
        for i in range(0, len(records), CHUNK):
            conn.execute(insert(tmp), records[i:i + CHUNK])
        conn.execute(text("UPDATE places SET team_id = c.b_team, cadre_id = c.b_cadre "
                          "FROM place_owner_changes c WHERE places.id = c.b_id"))
        conn.execute(text("DROP TABLE place_owner_changes"))
    elif records:
        stmt = update(p).where(p.c.id == bindparam("b_id")).values(team_id=bindparam("b_team"),
                                                                     cadre_id=bindparam("b_cadre"))
        for i in range(0, len(records), CHUNK):
            conn.execute(stmt, records[i:i + CHUNK])
    planned = plan_rows.replace_plan_rows(conn, row.id, mv_frame, stop_frame, _bulk_insert)
    row.plan_fingerprint = plan_fingerprint
    row.imported_at = utcnow()
    session.flush()
    return {"status": "plan_updated", "campaign_id": row.id, "places_changed": len(changed), **planned}


def _bulk_insert(conn, table, frame: pd.DataFrame, campaign_id: int) -> None:
    if not len(frame):
        return
    frame = frame.astype(object).where(frame.notna(), None)
    records = frame.to_dict("records")
    for r in records:
        r["campaign_id"] = campaign_id
        for k, v in r.items():
            if isinstance(v, np.generic):
                r[k] = v.item()
    for i in range(0, len(records), CHUNK):
        conn.execute(insert(table), records[i:i + CHUNK])


def _covered(p=Place, c=EntityCounter):
    return or_(func.coalesce(c.visited, 0) > 0, and_(func.coalesce(c.phone, 0) > 0, p.phone_ok))


def rebuild_area_counters(session: Session, *, campaign_id: int) -> int:
    """Recount ``area_counters`` of a campaign from ``places`` and ``entity_counters``; rows written."""
    conn = session.connection()
    conn.execute(delete(AreaCounter).where(AreaCounter.campaign_id == campaign_id))
    p, c = Place, EntityCounter
    covered = _covered()
    hh = p.entity_type == "household"
    one = literal(1)
    zero = literal(0)
    figures = [
        func.sum(case((hh, one), else_=zero)),
        func.sum(case((and_(hh, covered), one), else_=zero)),
        func.sum(case((~hh, one), else_=zero)),
        func.sum(case((and_(~hh, covered), one), else_=zero)),
        func.sum(case((and_(~covered, func.coalesce(c.not_home, 0) > 0), one), else_=zero)),
        func.sum(func.coalesce(c.visits, 0)),
    ]
    joined = p.__table__.outerjoin(c.__table__, and_(c.campaign_id == p.campaign_id, c.entity_type == p.entity_type,
                                                     c.entity_id == p.entity_id))
    total = 0
    cols = ["campaign_id", "level", "area_id", "county_id", *COUNTER_FIGURES]
    for level in LEVELS:
        col = getattr(p, f"{level}_id")
        q = (select(literal(campaign_id), literal(level), col, func.min(p.county_id), *figures)
             .select_from(joined).where(p.campaign_id == campaign_id, col.is_not(None)).group_by(col))
        res = conn.execute(insert(AreaCounter.__table__).from_select(cols, q))
        total += res.rowcount or 0
    return int(conn.execute(select(func.count()).select_from(AreaCounter)
                            .where(AreaCounter.campaign_id == campaign_id)).scalar())


def _state(visited, phone, not_home, phone_ok) -> tuple[bool, bool]:
    covered = visited > 0 or (phone > 0 and bool(phone_ok))
    return covered, (not covered and not_home > 0)


def bump_area_counters(conn, campaign_id: int, changes: list[tuple[str, str, dict, dict]]) -> None:
    """Move ``area_counters`` for entities whose counters went from ``old`` to ``new``
    (``changes``: ``(entity_type, entity_id, old, new)`` with visits / visited / phone /
    not_home). Called by :func:`geodata.store.visits.record_visits` in the visit's
    transaction; updates run in sorted order (one lock order for every batch)."""
    changes = [ch for ch in changes if ch[0] in PLACE_TYPES]
    if not changes:
        return
    by_type: dict[str, list[str]] = defaultdict(list)
    for et, eid in sorted({(et, eid) for et, eid, _, _ in changes}):
        by_type[et].append(eid)
    found = {}
    for et, ids in by_type.items():  # (campaign_id, entity_type, entity_id): the unique index
        for i in range(0, len(ids), 500):
            rows = conn.execute(select(Place.entity_type, Place.entity_id, Place.county_id, Place.town_id,
                                       Place.village_id, Place.grid_id, Place.phone_ok)
                                .where(Place.campaign_id == campaign_id, Place.entity_type == et,
                                       Place.entity_id.in_(ids[i:i + 500]))).all()
            for r in rows:
                found[(r[0], r[1])] = r
    if not found:
        return  # the campaign's places are not imported: nothing to keep up to date
    delta: dict[tuple[str, str], dict] = defaultdict(lambda: defaultdict(int))
    for et, eid, old, new in changes:
        r = found.get((et, eid))
        if r is None:
            continue
        c0, b0 = _state(old["visited"], old["phone"], old["not_home"], r.phone_ok)
        c1, b1 = _state(new["visited"], new["phone"], new["not_home"], r.phone_ok)
        d = {f"{et}s_covered": int(c1) - int(c0), "not_home_backlog": int(b1) - int(b0),
             "visits": new["visits"] - old["visits"]}
        for level, area in zip(LEVELS, (r.county_id, r.town_id, r.village_id, r.grid_id)):
            if area is None:
                continue
            for k, v in d.items():
                if v:
                    delta[(level, area)][k] += v
    t = AreaCounter
    for (level, area), d in sorted(delta.items()):
        d = {k: v for k, v in d.items() if v}
        if not d:
            continue
        conn.execute(update(t).where(t.campaign_id == campaign_id, t.level == level, t.area_id == area)
                     .values({k: getattr(t, k) + v for k, v in d.items()}))


# --- reading ------------------------------------------------------------------------------------------------

ROLLUP_COLUMNS = ["level", "area_id", "name", "parent_id", "county_id", *COUNTER_FIGURES, "coverage"]


def rollup(session: Session, *, campaign_id: int, levels=("county",), county_ids=None) -> pd.DataFrame:
    """Coverage per area of ``levels`` (from ``area_counters``, no scan of places),
    restricted to ``county_ids`` when given: the leader's roll-up.
    ``coverage`` = covered households and enterprises / all of them."""
    t, a = AreaCounter, Area
    q = (select(t.level, t.area_id, a.name, a.parent_id, t.county_id, *(getattr(t, f) for f in COUNTER_FIGURES))
         .select_from(t.__table__.outerjoin(a.__table__, and_(a.campaign_id == t.campaign_id, a.level == t.level,
                                                              a.area_id == t.area_id)))
         .where(t.campaign_id == campaign_id, t.level.in_(list(levels))))
    if county_ids is not None:
        q = q.where(t.county_id.in_(list(county_ids)))
    rows = session.execute(q.order_by(t.level, t.area_id)).all()
    df = pd.DataFrame(rows, columns=ROLLUP_COLUMNS[:-1])
    for f in COUNTER_FIGURES:
        df[f] = df[f].astype("int64")
    total = df["households"] + df["enterprises"]
    df["coverage"] = np.where(total > 0, (df["households_covered"] + df["enterprises_covered"]) / total.clip(lower=1),
                              0.0)
    df["level"] = pd.Categorical(df["level"], categories=list(LEVELS), ordered=True)
    return df.sort_values(["level", "area_id"]).reset_index(drop=True).assign(level=lambda d: d["level"].astype(str))


def totals(session: Session, *, campaign_id: int, county_ids=None) -> dict:
    """The campaign's (or those counties') totals, summed from the county rows
    (or the town rows of a campaign without counties)."""
    t = AreaCounter
    has_county = session.execute(select(t.area_id).where(t.campaign_id == campaign_id, t.level == "county")
                                 .limit(1)).first() is not None
    q = select(*(func.coalesce(func.sum(getattr(t, f)), 0) for f in COUNTER_FIGURES)).where(
        t.campaign_id == campaign_id, t.level == ("county" if has_county else "town"))
    if county_ids is not None:
        q = q.where(t.county_id.in_(list(county_ids)))
    return dict(zip(COUNTER_FIGURES, (int(v) for v in session.execute(q).one())))


PLACE_COLUMNS = ["entity_type", "entity_id", "county_id", "village_id", "grid_id", "team_id", "lon", "lat", "covered"]


def places_in_view(session: Session, *, campaign_id: int, bbox, county_ids=None, entity_type: str | None = None,
                   limit: int = 20000) -> pd.DataFrame:
    """Places in ``bbox`` = (west, south, east, north) WGS-84, at most ``limit``, with
    ``covered``: the map's points (public columns only, :data:`PLACE_COLUMNS`)."""
    p, c = Place, EntityCounter
    west, south, east, north = (float(v) for v in bbox)
    conn = session.connection()
    if has_postgis(conn):
        inside = text("places.geom && ST_MakeEnvelope(:w, :s, :e, :n, 4326)").bindparams(
            w=west, s=south, e=east, n=north)
    else:
        inside = and_(p.lon >= west, p.lon <= east, p.lat >= south, p.lat <= north)
    q = (select(p.entity_type, p.entity_id, p.county_id, p.village_id, p.grid_id, p.team_id, p.lon, p.lat,
                _covered())
         .select_from(p.__table__.outerjoin(c.__table__, and_(c.campaign_id == p.campaign_id,
                                                              c.entity_type == p.entity_type,
                                                              c.entity_id == p.entity_id)))
         .where(p.campaign_id == campaign_id, inside))
    if county_ids is not None:
        q = q.where(p.county_id.in_(list(county_ids)))
    if entity_type is not None:
        q = q.where(p.entity_type == entity_type)
    rows = session.execute(q.order_by(p.id).limit(int(limit))).all()
    df = pd.DataFrame(rows, columns=PLACE_COLUMNS)
    df["covered"] = df["covered"].astype(bool)
    return df


def area_geometry(session: Session, *, campaign_id: int, level: str, area_id: str):
    """The Shapely outline (WGS-84) of an area, or ``None``."""
    import shapely

    wkb = session.execute(select(Area.geom_wkb).where(Area.campaign_id == campaign_id, Area.level == level,
                                                      Area.area_id == str(area_id))).scalar()
    return None if wkb is None else shapely.from_wkb(wkb)


def coverage_in_polygon(session: Session, *, campaign_id: int, polygon, county_ids=None) -> dict:
    """Households and enterprises inside ``polygon`` (a Shapely geometry in WGS-84, e.g.
    a drawn area or :func:`area_geometry`) and how many are covered: ``{households,
    households_covered, enterprises, enterprises_covered, not_home_backlog, visits}``.
    PostGIS: ``ST_Intersects`` on the GiST index; else a bounding-box query and Shapely."""
    import shapely

    p, c = Place, EntityCounter
    conn = session.connection()
    covered = _covered()
    west, south, east, north = polygon.bounds
    q = (select(p.entity_type, p.lon, p.lat, covered, func.coalesce(c.not_home, 0), func.coalesce(c.visits, 0))
         .select_from(p.__table__.outerjoin(c.__table__, and_(c.campaign_id == p.campaign_id,
                                                              c.entity_type == p.entity_type,
                                                              c.entity_id == p.entity_id)))
         .where(p.campaign_id == campaign_id))
    postgis = has_postgis(conn)
    if postgis:
        q = q.where(text("ST_Intersects(places.geom, ST_GeomFromWKB(:wkb, 4326))").bindparams(
            wkb=shapely.to_wkb(polygon, output_dimension=2)))
    else:
        q = q.where(p.lon >= west, p.lon <= east, p.lat >= south, p.lat <= north)
    if county_ids is not None:
        q = q.where(p.county_id.in_(list(county_ids)))
    df = pd.DataFrame(session.execute(q).all(), columns=["entity_type", "lon", "lat", "covered", "not_home", "visits"])
    if not postgis and len(df):
        df = df[shapely.intersects_xy(polygon, df["lon"].to_numpy(float), df["lat"].to_numpy(float))]
    hh = df["entity_type"] == "household"
    cov = df["covered"].astype(bool)
    return {"households": int(hh.sum()), "households_covered": int((hh & cov).sum()),
            "enterprises": int((~hh).sum()), "enterprises_covered": int((~hh & cov).sum()),
            "not_home_backlog": int((~cov & (df["not_home"] > 0)).sum()), "visits": int(df["visits"].sum())}
