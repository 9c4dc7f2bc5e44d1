"""planner.coverage on the tiny campaign: every figure counted by hand (see visit_factories.TINY_VISITS)."""

from __future__ import annotations

import pandas as pd
import pytest

from planner.coverage import CoverageRules, coverage, expected_share, progress, visit_counts
from visit_factories import TINY_VISITS, tiny


def _visits(records=TINY_VISITS) -> pd.DataFrame:
    return pd.DataFrame([{k: r[k] for k in ("client_id", "entity_type", "entity_id", "cadre_id", "visited_at",
                                            "outcome")} for r in records])


@pytest.fixture
def cov():
    t = tiny()
    return coverage(t, _visits(), assignment=t.assignment, must_visits=t.must_visits)


def test_entities_are_covered_by_the_rules(cov):
    e = cov.entities.set_index("entity_id")
    assert sorted(e.index[e.covered]) == ["E2", "H1", "H3", "H4", "H7", "H8"]
    assert e.loc["H1", "how"] == "in_person" and e.loc["H3", "how"] == "phone" and e.loc["H4", "how"] == "phone"
    assert not e.loc["H5", "covered"]  # a resident's phone call does not count
    assert not e.loc["E1", "covered"]  # nor an enterprise's
    assert e.loc["H2", "not_home_backlog"] and not e.loc["H7", "not_home_backlog"]  # H7 was found later
    assert e.loc["H6", "refused_only"]
    assert e.loc["H7", "covered_at"] == pd.Timestamp("2026-03-10 19:30")
    assert e.loc["H8", "team_id"] == "B" and e.loc["H2", "cadre_id"] == "C1"


def test_totals(cov):
    assert cov.totals == {"households": 10, "households_covered": 5, "enterprises": 2, "enterprises_covered": 1,
                          "not_home_backlog": 1, "refused": 1, "coverage": 0.5, "must_visits_due": 2,
                          "must_visits_done": 1}


def test_roll_up_by_village_town_team_grid(cov):
    v = cov.by_village.set_index("village_id")
    assert v.loc["V1", ["households", "households_covered", "households_in_person", "households_by_phone",
                        "enterprises", "enterprises_covered", "not_home_backlog", "refused",
                        "not_visited"]].tolist() == [5, 3, 1, 2, 1, 0, 1, 0, 2]
    assert v.loc["V1", "coverage"] == 0.5 and v.loc["V1", "household_coverage"] == 0.6
    assert v.loc["V2", ["refused", "must_visits_due", "must_visits_done"]].tolist() == [1, 1, 0]
    assert v.loc["V3", ["must_visits_due", "must_visits_done", "coverage"]].tolist() == [1, 1, 0.5]
    assert v.loc["V2", "name"] == "二社区" and v.loc["V2", "town_id"] == "T1"
    t = cov.by_town.set_index("town_id")
    assert t.loc["T1", ["households", "households_covered", "enterprises", "must_visits_due"]].tolist() == [7, 4, 1, 1]
    assert t.loc["T1", "name"] == "一镇"
    tm = cov.by_team.set_index("team_id")
    assert tm.loc["A", ["households", "households_covered", "enterprises"]].tolist() == [7, 4, 1]
    assert tm.loc["B", ["must_visits_due", "must_visits_done", "coverage"]].tolist() == [2, 1, 0.5]
    g = cov.by_grid.set_index("grid_id")
    assert g.loc["G2", ["households", "households_covered", "village_id"]].tolist() == [2, 1, "V1"]
    # the roll-ups add up to the totals
    for frame in (cov.by_grid, cov.by_village, cov.by_town, cov.by_team):
        assert frame["households_covered"].sum() == 5 and frame["enterprises"].sum() == 2


def test_must_visits_need_the_planned_cadre(cov):
    mv = cov.must_visits.set_index("entity_id")
    assert not mv.loc["V2", "done"]  # visited by C1, planned for C3
    assert mv.loc["E2", "done"] and mv.loc["E2", "done_at"] == pd.Timestamp("2026-03-05 14:00")
    assert mv.loc["V2", "town_id"] == "T1"


def test_counters_give_the_same_coverage_as_raw_visits(cov):
    t = tiny()
    from_counters = coverage(t, counters=visit_counts(_visits()), assignment=t.assignment)
    cols = ["entity_id", "covered", "how", "not_home_backlog", "refused_only", "visits"]
    assert from_counters.entities[cols].equals(cov.entities[cols])
    assert from_counters.by_village.drop(columns=["must_visits_due", "must_visits_done"]).equals(
        cov.by_village.drop(columns=["must_visits_due", "must_visits_done"]))


def test_as_of_counts_only_earlier_visits():
    t = tiny()
    early = coverage(t, _visits(), as_of="2026-03-04 23:59")
    assert early.totals["households_covered"] == 3  # H1, H3, H4
    assert early.totals["not_home_backlog"] == 2  # H2 and H7


def test_rules_can_let_phone_cover_enterprises():
    t = tiny()
    c = coverage(t, _visits(), rules=CoverageRules(phone_ok_enterprise=True, phone_ok_statuses=()))
    e = c.entities.set_index("entity_id")
    assert e.loc["E1", "covered"] and not e.loc["H3", "covered"]


def test_no_visits_means_nothing_covered():
    t = tiny()
    c = coverage(t)
    assert c.totals["coverage"] == 0 and c.by_village["not_visited"].tolist() == [6, 2, 4]
    assert len(c.by_team) == 0  # no plan given


def test_visit_counts_recount():
    vc = visit_counts(_visits()).set_index("entity_id")
    assert vc.loc["H7", ["visits", "visited", "not_home", "phone", "refused"]].tolist() == [2, 1, 1, 0, 0]
    assert vc.loc["H7", "first_at"] == pd.Timestamp("2026-03-04 15:30")
    assert len(visit_counts(_visits().iloc[:0])) == 0


def test_progress_and_expected_share(cov):
    p = progress(cov, start="2026-03-01", end="2026-03-11").set_index("date")
    assert p.loc["2026-03-03", "covered"] == 3 and p.loc["2026-03-11", "covered"] == 6
    assert p.loc["2026-03-01", "expected"] == 0 and p.loc["2026-03-11", "expected"] == 12
    assert expected_share("2026-03-06", start="2026-03-01", end="2026-03-11") == 0.5
    assert expected_share("2026-05-01", start="2026-03-01", end="2026-03-11") == 1.0
