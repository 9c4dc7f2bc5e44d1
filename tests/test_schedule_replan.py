"""Re-planning from visit outcomes: kept visits stay, not-at-home households come back in another window."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from geodata.network import NetworkWarning
from planner.assign import assign, default_rules
from planner.assign.synthetic import make_campaign
from planner.schedule import OutcomeError, check_schedule, load_schedule_rules, normalise_outcomes, reschedule, schedule

START, END, TODAY = dt.date(2026, 3, 2), dt.date(2026, 3, 27), dt.date(2026, 3, 6)
OPTS = {"time_limit": 2, "iterations": 60, "seed": 0, "workers": 1}


@pytest.fixture(scope="module")
def first():
    camp = make_campaign(towns=(2, 1), villages=(2, 1), grids=(2, 2), households_per_grid=12, seed=3)
    plan = assign(camp, default_rules(), time_limit=5, workers=1, seed=0)
    rules = load_schedule_rules()
    with pytest.warns(NetworkWarning):
        sched = schedule(camp, plan.assignment, plan.must_visits, rules, start=START, end=END, **OPTS)
    return camp, plan, rules, sched


def test_replanning_keeps_done_visits_and_revisits_the_not_at_home_in_another_window(first):
    camp, plan, rules, sched = first
    s = sched.stops
    past = s[(s["date"] <= TODAY.isoformat()) & (s["mode"] == "visit") & (s["reason"] == "assigned")
             & (s["entity_type"] == "household")]
    status = dict(zip(camp.households["household_id"], camp.households["status"].fillna("resident")))
    away = past[past["entity_id"].map(status).isin(["vacant", "away"])]
    home = past[past["entity_id"].map(status).eq("resident")]
    visited, missed = home.iloc[0], home.iloc[1]
    rows = [(visited.entity_id, "已走访"), (missed.entity_id, "不在家")]
    if len(away):
        rows += [(away.iloc[0].entity_id, "not_home"), (away.iloc[0].entity_id, "not_home")]
    outcomes = pd.DataFrame(rows, columns=["entity_id", "outcome"])
    with pytest.warns(NetworkWarning):
        again = reschedule(camp, plan.assignment, plan.must_visits, rules, stops=sched.stops, days=sched.days,
                           outcomes=outcomes, today=TODAY, end=END, **OPTS)
    cols = ["cadre_id", "date", "seq", "entity_id", "arrive", "depart"]
    kept = again.stops[again.stops["date"] <= TODAY.isoformat()][cols].reset_index(drop=True)
    pd.testing.assert_frame_equal(kept, s[s["date"] <= TODAY.isoformat()][cols].reset_index(drop=True))
    later = again.stops[again.stops["date"] > TODAY.isoformat()]
    assert visited.entity_id not in set(later["entity_id"])
    rv = later[later["entity_id"] == missed.entity_id]
    sf = again.shortfall[again.shortfall["entity_id"] == missed.entity_id]
    assert len(rv) + len(sf) == 1
    if len(rv):
        assert rv["reason"].iat[0].startswith("revisit:not_home_1") and rv["session"].iat[0] != missed.session
    if len(away):
        ph = later[later["entity_id"] == away.iloc[0].entity_id]
        assert len(ph) == 1 and ph["mode"].iat[0] == "phone" and "phone_after_2" in ph["reason"].iat[0]
    assert check_schedule(again, plan.assignment, plan.must_visits, rules, campaign=camp) == []


def test_unknown_outcomes_are_listed_with_their_rows():
    with pytest.raises(OutcomeError, match="row 3: outcome 'maybe'"):
        normalise_outcomes(pd.DataFrame({"entity_id": ["H1", "H2"], "outcome": ["visited", "maybe"]}))
