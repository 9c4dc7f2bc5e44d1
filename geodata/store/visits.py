"""Recording visits (留痕) in batches, idempotent by the client's id, and
reading them back as frames for :mod:`planner.coverage` and the reports.

``record_visits(session, batch, campaign_id=...)`` → one result per record, in
order: ``{"index", "client_id", "status": "created" | "duplicate" | "error",
"visit_id", "problem_ids", "errors"}``. A record already stored (same
``client_id`` in the campaign) is answered ``duplicate`` with its stored id and
changes nothing; a bad record is answered ``error`` with every fault and the
good ones are stored. New visits bump :class:`EntityCounter` in the same
transaction, in one sorted pass (a fixed lock order: no deadlocks between
batches on PostgreSQL), and then the coverage of their grid, village, town and
county in ``area_counters`` (:func:`geodata.store.areas.bump_area_counters`,
again sorted) when the campaign's places are imported.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections import defaultdict

import pandas as pd
from sqlalchemy import case, func, select
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from geodata.store.areas import bump_area_counters
from geodata.store.engine import session_scope
from geodata.store.models import CampaignRow, EntityCounter, Problem, ProblemEvent, Visit, utcnow
from geodata.store.validate import CleanVisit, clean_visit
from geodata.store.vocab import DEFAULT_DUE_DAYS, OUTCOMES

#: Most records one batch may hold (a phone syncs a day's work at a time).
MAX_BATCH = 1000


def ensure_campaign(session: Session, key: str, *, name: str | None = None, campaign_path=None, plan_path=None,
                    start_date: dt.date | None = None, end_date: dt.date | None = None) -> CampaignRow:
    """The campaign row ``key``, created (or its given fields updated) as needed; safe when
    several requests create the same campaign at once (insert-or-nothing, then read)."""
    row = session.scalar(select(CampaignRow).where(CampaignRow.key == key))
    if row is None:
        insert = _statements(session.connection().dialect.name)["insert"]
        session.execute(insert(CampaignRow.__table__).values(key=key, name=name or key, created_at=utcnow())
                        .on_conflict_do_nothing(index_elements=["key"]))
        row = session.scalar(select(CampaignRow).where(CampaignRow.key == key))
    for attr, val in (("name", name), ("campaign_path", campaign_path), ("plan_path", plan_path),
                      ("start_date", start_date), ("end_date", end_date)):
        if val is not None:
            setattr(row, attr, str(val) if attr.endswith("_path") else val)
    session.flush()
    return row


class _ProblemClash(Exception):
    """A problem's client id is already used by another visit."""


_STMTS: dict = {}


def _statements(dialect: str) -> dict:
    """The three statements of a batch, built once per dialect (compiled once, then cached)."""
    if dialect not in _STMTS:
        if dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        elif dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:  # pragma: no cover
            raise NotImplementedError(f"database {dialect!r} is not supported (SQLite or PostgreSQL)")
        v, p, c = Visit.__table__, Problem.__table__, EntityCounter.__table__
        up = insert(c)
        ex = up.excluded
        _STMTS[dialect] = {
            "insert": insert,
            "visit": insert(v).on_conflict_do_nothing(index_elements=["campaign_id", "client_id"])
            .returning(v.c.id),
            "problem": insert(p).on_conflict_do_nothing(index_elements=["campaign_id", "client_id"])
            .returning(p.c.id),
            "event": ProblemEvent.__table__.insert(),
            "counter": up.on_conflict_do_update(
                index_elements=["campaign_id", "entity_type", "entity_id"],
                set_={
                    **{k: c.c[k] + ex[k] for k in ("visits", *OUTCOMES)},
                    "first_at": case((c.c.first_at <= ex.first_at, c.c.first_at), else_=ex.first_at),
                    "last_at": case((c.c.last_at >= ex.last_at, c.c.last_at), else_=ex.last_at),
                }).returning(*(c.c[k] for k in ("visits", *OUTCOMES))),
        }
    return _STMTS[dialect]


def record_visits(session: Session, batch, *, campaign_id: int, recorded_by: str | None = None, known=None,
                  due_days: dict | None = None, now: dt.datetime | None = None) -> list[dict]:
    """Store the good records of ``batch`` (a list of visit dicts, see
    :mod:`geodata.store.validate`) and answer each; the caller commits."""
    if not isinstance(batch, list):
        raise TypeError("a batch is a list of visit records")
    if len(batch) > MAX_BATCH:
        raise ValueError(f"a batch holds at most {MAX_BATCH} visits, got {len(batch)}; send it in parts")
    due_days = {**DEFAULT_DUE_DAYS, **(due_days or {})}
    results: list[dict] = []
    todo: list[tuple[dict, CleanVisit]] = []
    seen: dict[str, dict] = {}
    repeats: list[tuple[dict, dict]] = []
    for i, rec in enumerate(batch):
        visit, errors = clean_visit(rec, known=known, now=now)
        cid = rec.get("client_id") if isinstance(rec, dict) else None
        res = {"index": i, "client_id": cid if isinstance(cid, str) else None, "status": "error",
               "visit_id": None, "problem_ids": [], "errors": errors}
        results.append(res)
        if visit is None:
            continue
        if visit.client_id in seen:  # the same record twice in one batch: answered like the first
            repeats.append((res, seen[visit.client_id]))
            continue
        seen[visit.client_id] = res
        todo.append((res, visit))
    conn = session.connection()
    st = _statements(conn.dialect.name)
    common = dict(campaign_id=campaign_id, recorded_by=recorded_by, due_days=due_days, st=st)
    try:  # fast path: the whole batch under one savepoint
        with conn.begin_nested():
            created = [_store_one(conn, v, res, **common) for res, v in todo]
    except (IntegrityError, DataError, _ProblemClash):
        # some record is refused by the database: again, each under its own savepoint
        created = []
        for res, v in todo:
            try:
                with conn.begin_nested():
                    created.append(_store_one(conn, v, res, **common))
            except (IntegrityError, DataError, _ProblemClash) as exc:
                reason = exc.args[0] if isinstance(exc, _ProblemClash) else f"refused by the database: {exc.orig}"
                res.update(status="error", visit_id=None, problem_ids=[], errors=[reason])
                created.append(None)
    for res, first in repeats:
        res.update(status="duplicate" if first["status"] != "error" else "error", visit_id=first["visit_id"],
                   problem_ids=first["problem_ids"], errors=first["errors"])
    _bump_counters(conn, campaign_id, [v for v in created if v is not None], st)
    return results


def _store_one(conn, v: CleanVisit, res: dict, *, campaign_id: int, recorded_by, due_days, st):
    """Insert one visit and its problems; the visit when new, else ``None`` (answered duplicate)."""
    vid = conn.execute(st["visit"], dict(
        campaign_id=campaign_id, client_id=v.client_id, entity_type=v.entity_type, entity_id=v.entity_id,
        cadre_id=v.cadre_id, visited_at=v.visited_at, outcome=v.outcome, lon=v.lon, lat=v.lat,
        contact_card=v.contact_card, survey=v.survey, notes=v.notes, recorded_at=utcnow(),
        recorded_by=recorded_by)).scalar()
    if vid is None:  # stored before: answer with what is there
        vid = conn.execute(select(Visit.id).where(Visit.campaign_id == campaign_id,
                                                  Visit.client_id == v.client_id)).scalar()
        pids = list(conn.execute(select(Problem.id).where(Problem.visit_id == vid).order_by(Problem.id)).scalars())
        res.update(status="duplicate", visit_id=vid, problem_ids=pids, errors=[])
        return None
    pids = []
    for p in v.problems:
        due = p.due_date or (v.visited_at.date() + dt.timedelta(days=int(due_days[p.level])))
        pid = conn.execute(st["problem"], dict(
            campaign_id=campaign_id, client_id=p.client_id, visit_id=vid, entity_type=v.entity_type,
            entity_id=v.entity_id, category=p.category, level=p.level, description=p.description,
            suggestion=p.suggestion, status="open", raised_by=v.cadre_id, owner_cadre_id=v.cadre_id,
            owner_unit=None, due_date=due, created_at=v.visited_at, updated_at=v.visited_at, solved_at=None,
            confirmed_at=None, reopened=0)).scalar()
        if pid is None:
            raise _ProblemClash(f"problem client_id {p.client_id!r} is already used by another visit")
        conn.execute(st["event"], dict(problem_id=pid, at=v.visited_at, actor=v.cadre_id, action="create",
                                       from_status=None, to_status="open", from_owner=None, to_owner=v.cadre_id,
                                       to_unit=None, note=None))
        pids.append(pid)
    res.update(status="created", visit_id=vid, problem_ids=pids, errors=[])
    return v


def _bump_counters(conn, campaign_id: int, visits: list[CleanVisit], st) -> None:
    """One upsert per entity, in sorted order (a fixed lock order across concurrent batches)."""
    if not visits:
        return
    groups: dict[tuple[str, str], list[CleanVisit]] = defaultdict(list)
    for v in visits:
        groups[(v.entity_type, v.entity_id)].append(v)
    rows = []
    for (etype, eid), vs in sorted(groups.items()):
        counts = {o: sum(1 for v in vs if v.outcome == o) for o in OUTCOMES}
        times = [v.visited_at for v in vs]
        rows.append(dict(campaign_id=campaign_id, entity_type=etype, entity_id=eid, visits=len(vs),
                         first_at=min(times), last_at=max(times), **counts))
    changes = []
    for row in rows:
        after = dict(zip(("visits", *OUTCOMES), conn.execute(st["counter"], row).one()))
        before = {k: after[k] - row[k] for k in after}
        changes.append((row["entity_type"], row["entity_id"], before, after))
    # the areas' pre-aggregated coverage moves in the same transaction (geodata.store.areas)
    bump_area_counters(conn, campaign_id, changes)


def _retryable(exc: OperationalError) -> bool:
    code = getattr(exc.orig, "sqlstate", None)
    if code in ("40001", "40P01"):  # serialization failure, deadlock detected (PostgreSQL)
        return True
    return "database is locked" in str(exc.orig) or "deadlock" in str(exc.orig).lower()


def submit_visits(engine, batch, *, campaign_id: int, recorded_by: str | None = None, known=None,
                  due_days: dict | None = None, attempts: int = 6) -> list[dict]:
    """:func:`record_visits` in its own transaction, retried on a deadlock or a
    lock time-out (the whole batch again: idempotent by client id)."""
    for attempt in range(attempts):
        try:
            with session_scope(engine) as session:
                return record_visits(session, batch, campaign_id=campaign_id, recorded_by=recorded_by,
                                     known=known, due_days=due_days)
        except OperationalError as exc:
            if attempt == attempts - 1 or not _retryable(exc):
                raise
            time.sleep(random.uniform(0.01, 0.05) * 2 ** attempt)
    raise AssertionError("unreachable")  # pragma: no cover


VISIT_COLUMNS = ["visit_id", "client_id", "entity_type", "entity_id", "cadre_id", "visited_at", "outcome",
                 "lon", "lat", "contact_card", "recorded_by"]


def visits_frame(session: Session, *, campaign_id: int, start: dt.datetime | None = None,
                 end: dt.datetime | None = None) -> pd.DataFrame:
    """Visits as a frame (no survey text): :data:`VISIT_COLUMNS`, ``visited_at`` in [start, end)."""
    q = select(Visit.id, Visit.client_id, Visit.entity_type, Visit.entity_id, Visit.cadre_id, Visit.visited_at,
               Visit.outcome, Visit.lon, Visit.lat, Visit.contact_card, Visit.recorded_by
               ).where(Visit.campaign_id == campaign_id)
    if start is not None:
        q = q.where(Visit.visited_at >= start)
    if end is not None:
        q = q.where(Visit.visited_at < end)
    rows = session.execute(q.order_by(Visit.id)).all()
    df = pd.DataFrame(rows, columns=VISIT_COLUMNS)
    df["visited_at"] = pd.to_datetime(df["visited_at"])
    return df


COUNTER_COLUMNS = ["entity_type", "entity_id", "visits", *OUTCOMES, "first_at", "last_at"]


def counters_frame(session: Session, *, campaign_id: int) -> pd.DataFrame:
    """The pre-aggregated visit counts per entity (:data:`COUNTER_COLUMNS`)."""
    t = EntityCounter
    rows = session.execute(select(t.entity_type, t.entity_id, t.visits, *(getattr(t, o) for o in OUTCOMES),
                                  t.first_at, t.last_at).where(t.campaign_id == campaign_id)
                           .order_by(t.entity_type, t.entity_id)).all()
    df = pd.DataFrame(rows, columns=COUNTER_COLUMNS)
    for c in ("visits", *OUTCOMES):
        df[c] = df[c].astype("int64")
    for c in ("first_at", "last_at"):
        df[c] = pd.to_datetime(df[c]).astype("datetime64[ns]")
    return df


def rebuild_counters(session: Session, *, campaign_id: int) -> int:
    """Recount :class:`EntityCounter` from the visits (repair tool); returns rows written."""
    session.query(EntityCounter).filter(EntityCounter.campaign_id == campaign_id).delete()
    agg = session.execute(
        select(Visit.entity_type, Visit.entity_id, func.count(),
               *(func.sum(case((Visit.outcome == o, 1), else_=0)) for o in OUTCOMES),
               func.min(Visit.visited_at), func.max(Visit.visited_at))
        .where(Visit.campaign_id == campaign_id).group_by(Visit.entity_type, Visit.entity_id)).all()
    for et, eid, n, *rest in agg:
        counts = dict(zip(OUTCOMES, rest[:len(OUTCOMES)]))
        session.add(EntityCounter(campaign_id=campaign_id, entity_type=et, entity_id=eid, visits=n,
                                  first_at=rest[-2], last_at=rest[-1], **counts))
    session.flush()
    return len(agg)
