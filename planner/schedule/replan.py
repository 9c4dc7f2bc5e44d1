"""Re-planning (重新排程) from visit outcomes: the rest of the campaign planned again.

Inputs: the earlier schedule's ``stops`` and ``days``, the visit outcomes so
far (``entity_type``, ``entity_id``, optional ``cadre_id``, ``outcome``:
visited | not_home | refused | phone; Chinese words accepted) and ``today``.

* Stops dated up to and including ``today`` stay exactly as they are
  (visits already made and today's routes are never moved).
* Visited, refused and phone-visited visits are done.
* A visit recorded ``not_home`` (不在家) gets a revisit in another time window:
  after a daytime miss in the evening or at a weekend, after an evening miss
  at a weekend, after a weekend miss on an evening. After the second miss a
  vacant or away household (空关户/人户分离) is visited by phone instead.
* Everything else not yet visited is planned again from ``today + 1``.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from geodata.errors import ZoufangError
from planner.schedule.calendar import campaign_dates
from planner.schedule.frames import Schedule
from planner.schedule.plan import plan_tasks
from planner.schedule.tasks import build_tasks

OUTCOMES = ("visited", "not_home", "refused", "phone")
OUTCOME_WORDS = {"已走访": "visited", "走访": "visited", "不在家": "not_home", "拒访": "refused",
                 "电话": "phone", "微信": "phone", "电话/微信": "phone", "not at home": "not_home",
                 "phone-visited": "phone", "phone_visited": "phone"}
#: revisit windows: the session class of the revisit after a miss in a session of each kind
REVISIT_CLASS = {"day": "community", "evening": "weekend", "weekend": "evening"}
#: a revisit's group numbers start here (apart from the first visits' groups)
REVISIT_GROUP_OFFSET = 1_000_000


class OutcomeError(ZoufangError, ValueError):
    """The outcomes table cannot be read; ``problems`` lists each bad row."""

    def __init__(self, message: str, problems=()):
        super().__init__(message)
        self.problems = list(problems)


def normalise_outcomes(outcomes: pd.DataFrame) -> pd.DataFrame:
    """entity_type (default household), entity_id, cadre_id (may be empty), outcome in :data:`OUTCOMES`."""
    o = outcomes.copy()
    if "entity_id" not in o or "outcome" not in o:
        raise OutcomeError("the outcomes table needs the columns entity_id and outcome "
                           f"(got {', '.join(map(str, o.columns))})")
    if "entity_type" not in o:
        o["entity_type"] = "household"
    if "cadre_id" not in o:
        o["cadre_id"] = ""
    o["entity_id"] = o["entity_id"].astype(str)
    o["cadre_id"] = o["cadre_id"].fillna("").astype(str)
    raw = o["outcome"].astype(str).str.strip()
    o["outcome"] = raw.map(lambda v: OUTCOME_WORDS.get(v, OUTCOME_WORDS.get(v.lower(), v.lower())))
    bad = o[~o["outcome"].isin(OUTCOMES)]
    if len(bad):
        problems = [f"row {i + 2}: outcome {raw[i]!r} (allowed: {', '.join(OUTCOMES)}, 已走访/不在家/拒访/电话/微信)"
                    for i in bad.index[:20]]
        raise OutcomeError(f"{len(bad)} outcome(s) not understood:\n  " + "\n  ".join(problems), problems)
    return o[["entity_type", "entity_id", "cadre_id", "outcome"]]


def reschedule(campaign, assignment: pd.DataFrame, must_visits: pd.DataFrame | None, rules, *,
               stops: pd.DataFrame, days: pd.DataFrame, outcomes: pd.DataFrame, today: dt.date, end: dt.date,
               time_limit: float = 0.5, iterations: int | None = 300, seed: int = 0, workers: int = 1,
               network=None, progress=None) -> Schedule:
    """Plan again from ``today + 1`` to ``end``; see the module docstring."""
    o = normalise_outcomes(outcomes)
    tasks = build_tasks(campaign, assignment, must_visits, rules)
    key = tasks["entity_type"] + "/" + tasks["entity_id"].astype(str)
    resp = tasks["reason"].str.contains("assigned")
    resp_cadre = dict(zip(key[resp], tasks.loc[resp, "cadre_id"]))
    o["key"] = o["entity_type"] + "/" + o["entity_id"]
    o["cadre_id"] = np.where(o["cadre_id"] == "", o["key"].map(resp_cadre).fillna(""), o["cadre_id"])
    o["ck"] = o["cadre_id"] + "|" + o["key"]
    misses = o[o["outcome"] == "not_home"].groupby("ck").size()
    done = set(o.loc[o["outcome"] != "not_home", "ck"])

    iso = today.isoformat()
    keep_stops = stops[stops["date"].astype(str) <= iso]
    keep_days = days[days["date"].astype(str) <= iso]
    ck = tasks["cadre_id"] + "|" + key
    kept_ck = set(keep_stops["cadre_id"].astype(str) + "|" + keep_stops["entity_type"] + "/"
                  + keep_stops["entity_id"].astype(str))
    last_session = dict(zip(keep_stops["cadre_id"].astype(str) + "|" + keep_stops["entity_type"] + "/"
                            + keep_stops["entity_id"].astype(str), keep_stops["session"]))

    tasks = tasks.copy()
    pending = []
    status = _statuses(campaign)
    for i, c in enumerate(ck):
        if c in done:
            continue
        n_miss = int(misses.get(c, 0))
        if n_miss == 0:
            if c in kept_ck:
                continue  # planned up to today (today's route): stays put
            pending.append(i)
            continue
        # not at home: a revisit in another window, or a phone visit after the second miss
        eid = tasks.at[i, "entity_id"]
        if n_miss >= 2 and tasks.at[i, "entity_type"] == "household" and status.get(eid) in ("vacant", "away"):
            tasks.at[i, "session"] = "phone"
            tasks.at[i, "reason"] = f"revisit:phone_after_{n_miss}_misses;" + _was(tasks.at[i, "reason"])
            tasks.at[i, "group"] = -1
            tasks.at[i, "must"] = False
        else:
            tasks.at[i, "session"] = REVISIT_CLASS.get(last_session.get(c, "day"), "community")
            tasks.at[i, "reason"] = f"revisit:not_home_{n_miss};" + _was(tasks.at[i, "reason"])
            if tasks.at[i, "group"] >= 0:
                tasks.at[i, "group"] = REVISIT_GROUP_OFFSET + tasks.at[i, "group"]
        pending.append(i)
    # a revisit group needs at least two members still pending; else the cadre goes alone
    g = tasks.loc[pending, "group"]
    alone = g[(g >= REVISIT_GROUP_OFFSET) & g.map(g.value_counts()).lt(2)].index
    tasks.loc[alone, "group"] = -1
    # first visits whose group lost members to the kept stops visit alone too
    g = tasks.loc[pending, "group"]
    first = g[(g >= 0) & (g < REVISIT_GROUP_OFFSET)]
    full = tasks.loc[tasks["group"] >= 0].groupby("group").size()
    partial = first[first.map(first.value_counts()) < first.map(full)].index
    tasks.loc[partial, "group"] = -1
    tasks["phone"] = tasks["session"].eq("phone")

    dates = campaign_dates(today + dt.timedelta(days=1), end)
    return plan_tasks(campaign, tasks, rules, dates=dates, time_limit=time_limit, iterations=iterations, seed=seed,
                      workers=workers, network=network, progress=progress, pending=np.array(pending, dtype=int),
                      frozen=(keep_stops, keep_days))


def _statuses(campaign) -> dict:
    hh = campaign.households
    if "status" not in hh:
        return {}
    return dict(zip(hh["household_id"].astype(str), hh["status"].fillna("resident").astype(str)))


def _was(reason: str) -> str:
    """The first visit's reason inside a revisit's: ``assigned`` becomes ``responsible`` (counted once)."""
    return str(reason).replace("assigned+joint", "responsible").replace("assigned", "responsible")
