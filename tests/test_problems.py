"""planner.problems: the status flow as data, due dates, red/yellow warning thresholds."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from planner.coverage import coverage
from planner.problems import (
    IllegalTransition,
    WarningRules,
    allowed_actions,
    category_counts,
    due_date,
    next_status,
    problem_warnings,
    unit_warnings,
    warnings_by,
)
from visit_factories import TINY_VISITS, tiny


def test_the_happy_path_and_reopening():
    s = "open"
    for action, expect in [("assign", "assigned"), ("start", "in_progress"), ("solve", "solved"),
                           ("reject", "open"), ("handover", "assigned"), ("start", "in_progress"),
                           ("solve", "solved"), ("confirm", "confirmed")]:
        s = next_status(s, action, level="town")
        assert s == expect


@pytest.mark.parametrize("status, action", [
    ("open", "start"), ("open", "confirm"), ("assigned", "confirm"), ("in_progress", "assign"),
    ("solved", "handover"), ("confirmed", "reject"), ("confirmed", "handover"), ("open", "solve"),
])
def test_illegal_steps(status, action):
    with pytest.raises(IllegalTransition, match=f"status '{status}'"):
        next_status(status, action, level="department")


def test_allowed_actions_for_buttons():
    assert allowed_actions("open", level="town") == ["assign", "handover"]
    assert allowed_actions("open", level="on_spot") == ["assign", "solve", "handover"]
    assert allowed_actions("solved", level="town") == ["confirm", "reject"]
    assert allowed_actions("confirmed", level="town") == []


def test_due_dates_by_level():
    d = dt.date(2026, 3, 1)
    assert due_date(d, "town") == dt.date(2026, 3, 16)
    assert due_date(d, "policy", due_days={"policy": 10}) == dt.date(2026, 3, 11)


def _problems():
    return pd.DataFrame({
        "problem_id": [1, 2, 3, 4, 5, 6],
        "entity_type": "household", "entity_id": ["H1", "H2", "H3", "H4", "H5", "H6"],
        "category": ["medical_health", "difficulty", "other", "employment", "housing_land", "other"],
        "status": ["open", "in_progress", "assigned", "solved", "open", "open"],
        "owner_cadre_id": ["C1", "C1", "C2", "C2", "C3", "C3"],
        "due_date": pd.to_datetime(["2026-03-09", "2026-03-10", "2026-03-13", "2026-03-01", "2026-03-14", None]),
        "solved_at": pd.to_datetime([None, None, None, "2026-03-02", None, None]),
    })


def test_problem_warning_thresholds():
    w = problem_warnings(_problems(), today="2026-03-10")
    got = {(r.problem_id, r.colour, r.days) for r in w.itertuples()}
    # 1: one day late → red; 2: due today → yellow (0 days left); 3: 3 days left → yellow (at the threshold);
    # 4: solved → no warning; 5: 4 days left → none; 6: no due date → none
    assert got == {(1, "red", 1), (2, "yellow", 0), (3, "yellow", -3)}
    assert w.iloc[0]["colour"] == "red" and "超期 1 天" in w.iloc[0]["message"] and "医疗卫生" in w.iloc[0]["message"]
    w2 = problem_warnings(_problems(), today="2026-03-10", rules=WarningRules(yellow_days=0))
    assert set(w2["problem_id"]) == {1, 2}
    by_owner = warnings_by(w, "owner").set_index("owner")
    assert by_owner.loc["C1"].tolist() == [1, 1] and by_owner.loc["C2"].tolist() == [0, 1]


def test_unit_warnings_against_a_straight_line_schedule():
    t = tiny()
    visits = pd.DataFrame(TINY_VISITS)[["entity_type", "entity_id", "cadre_id", "visited_at", "outcome"]]
    cov = coverage(t, visits)
    # halfway through the campaign (expected 50 %): every village is at 50 % → no warning
    assert len(unit_warnings(cov.by_village, unit="village", today="2026-03-16", start="2026-03-01",
                             end="2026-03-31")) == 0
    # 70 % expected: 20 points behind is yellow (not more than red_gap 0.20)
    w = unit_warnings(cov.by_village, unit="village", today="2026-03-22", start="2026-03-01", end="2026-03-31")
    assert set(w["colour"]) == {"yellow"} and w["days"].tolist() == [20, 20, 20]
    # the deadline passed: 50 points behind is red
    w = unit_warnings(cov.by_town, unit="town", today="2026-04-02", start="2026-03-01", end="2026-03-31")
    assert w["colour"].tolist() == ["red", "red"] and "落后 50 个百分点" in w.iloc[0]["message"]
    # before the grace period, no warnings
    assert len(unit_warnings(cov.by_grid, unit="grid", today="2026-03-01", start="2026-03-01",
                             end="2026-03-31")) == 0


def test_warning_rules_are_checked():
    with pytest.raises(ValueError, match="yellow_gap"):
        WarningRules(yellow_gap=0.3, red_gap=0.2)


def test_category_counts_as_of():
    c = category_counts(_problems(), as_of="2026-03-05").set_index("category")
    assert len(c) == 8 and c.loc["employment"].tolist() == [1, 0, 1] and c.loc["other"].tolist() == [0, 2, 2]
    c = category_counts(_problems(), as_of="2026-03-01").set_index("category")
    assert c.loc["employment"].tolist() == [0, 1, 1]
