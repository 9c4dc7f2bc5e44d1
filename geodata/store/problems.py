"""A problem's life (访办一体): transitions, hand-overs (交办/移交) and history.

"Who visits, handles" (谁走访、谁处理): a problem raised in a visit is owned
by the visiting cadre until it is handed over; every step is one
:class:`ProblemEvent`. Steps follow :data:`geodata.store.vocab.TRANSITIONS`;
an illegal one raises :class:`IllegalTransition` and changes nothing. The row
is locked for the step (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's
``BEGIN IMMEDIATE`` already serialises writers), so two people acting on one
problem at once cannot both win.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from geodata.store.models import Problem, ProblemEvent
from geodata.store.validate import CAMPAIGN_TZ
from geodata.store.vocab import IllegalTransition, next_status


class ProblemNotFound(LookupError):
    """No problem with this id."""


class NotOwner(PermissionError):
    """A cadre acted on a problem somebody else owns."""


def _now() -> dt.datetime:
    return dt.datetime.now(CAMPAIGN_TZ).replace(tzinfo=None)


def transition_problem(session: Session, problem_id: int, action: str, *, actor: str,
                       actor_cadre_id: str | None = None, to_owner: str | None = None,
                       to_unit: str | None = None, due_date: dt.date | None = None, note: str | None = None,
                       at: dt.datetime | None = None) -> Problem:
    """Apply ``action`` (assign, start, solve, confirm, reject, handover) to a problem.

    ``actor``: who acts (an account name or cadre id, kept in the history).
    ``actor_cadre_id``: when a cadre acts, they must own the problem
    (:class:`NotOwner` otherwise); planners and admins pass ``None``.
    ``handover`` needs ``to_owner`` (a cadre) and/or ``to_unit`` (the town or
    department it goes to); ``assign`` may name them too (then it is also a
    hand-over). ``due_date`` may be reset by assign/handover.
    """
    q = select(Problem).where(Problem.id == problem_id)
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update()
    p = session.scalar(q)
    if p is None:
        raise ProblemNotFound(f"no problem {problem_id}")
    if actor_cadre_id is not None and actor_cadre_id != p.owner_cadre_id:
        raise NotOwner(f"problem {problem_id} is owned by cadre {p.owner_cadre_id!r}, not {actor_cadre_id!r}")
    if action == "handover" and not (to_owner or to_unit):
        raise IllegalTransition("a hand-over names the cadre (to_owner) or the unit (to_unit) that takes it")
    if action not in ("assign", "handover") and (to_owner or to_unit):
        raise IllegalTransition(f"{action!r} does not change the owner; use handover")
    new = next_status(p.status, action, level=p.level)
    at = at or _now()
    ev = ProblemEvent(problem_id=p.id, at=at, actor=actor, action=action, from_status=p.status, to_status=new,
                      from_owner=p.owner_cadre_id, to_owner=to_owner or p.owner_cadre_id, to_unit=to_unit,
                      note=note)
    if to_owner:
        p.owner_cadre_id = to_owner
    if to_unit:
        p.owner_unit = to_unit
    if due_date is not None:
        p.due_date = due_date
    if new == "solved":
        p.solved_at = at
    if action == "confirm":
        p.confirmed_at = at
    if action == "reject":
        p.solved_at = None
        p.reopened = (p.reopened or 0) + 1
    p.status = new
    p.updated_at = at
    session.add(ev)
    session.flush()
    return p


def problem_history(session: Session, problem_id: int) -> list[dict]:
    """Every step of a problem, oldest first."""
    rows = session.scalars(select(ProblemEvent).where(ProblemEvent.problem_id == problem_id)
                           .order_by(ProblemEvent.id)).all()
    return [{"at": e.at, "actor": e.actor, "action": e.action, "from_status": e.from_status,
             "to_status": e.to_status, "from_owner": e.from_owner, "to_owner": e.to_owner, "to_unit": e.to_unit,
             "note": e.note} for e in rows]


PROBLEM_COLUMNS = ["problem_id", "client_id", "visit_id", "entity_type", "entity_id", "category", "level",
                   "description", "suggestion", "status", "raised_by", "owner_cadre_id", "owner_unit", "due_date",
                   "created_at", "updated_at", "solved_at", "confirmed_at", "reopened"]


def problems_frame(session: Session, *, campaign_id: int, owner: str | None = None) -> pd.DataFrame:
    """Problems as a frame (:data:`PROBLEM_COLUMNS`), for :mod:`planner.problems` and the reports."""
    P = Problem
    q = select(P.id, P.client_id, P.visit_id, P.entity_type, P.entity_id, P.category, P.level, P.description,
               P.suggestion, P.status, P.raised_by, P.owner_cadre_id, P.owner_unit, P.due_date, P.created_at,
               P.updated_at, P.solved_at, P.confirmed_at, P.reopened).where(P.campaign_id == campaign_id)
    if owner is not None:
        q = q.where(P.owner_cadre_id == owner)
    df = pd.DataFrame(session.execute(q.order_by(P.id)).all(), columns=PROBLEM_COLUMNS)
    for c in ("created_at", "updated_at", "solved_at", "confirmed_at", "due_date"):
        df[c] = pd.to_datetime(df[c])
    return df
