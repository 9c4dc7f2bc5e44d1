"""The independent checker on a good plan and on bad plans derived from it, one defect each."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from planner.assign import assign, check_plan, default_rules
from planner.assign.synthetic import make_campaign


@pytest.fixture(scope="module")
def small():
    """2 towns × 4 villages × 4 grids, ~640 households, 7 teams (just enough for every rule)."""
    campaign = make_campaign(seed=1)
    rules = default_rules()
    plan = assign(campaign, rules, time_limit=2, workers=1, seed=0, lns=False)
    return campaign, rules, plan


def test_a_plan_from_assign_passes(small):
    campaign, rules, plan = small
    assert check_plan(campaign, plan.assignment, plan.must_visits, rules) == []


def _bad(plan, defect):
    a = plan.assignment.copy()
    mv = plan.must_visits.copy()
    hh = a.index[a["entity_type"] == "household"]
    grids = a.index[a["entity_type"] == "grid"]
    if defect == "household left out":
        a = a.drop(hh[0])
    elif defect == "grid twice":
        a = pd.concat([a, a.loc[[grids[0]]]])
    elif defect == "household with another team than its grid":
        other = next(t for t in a["team_id"].unique() if t != a.at[hh[0], "team_id"])
        a.at[hh[0], "team_id"] = other
    elif defect == "household with a cadre of another team":
        other = a.loc[hh][a.loc[hh, "team_id"] != a.at[hh[0], "team_id"]].iloc[0]["cadre_id"]
        a.at[hh[0], "cadre_id"] = other
    elif defect == "household without cadre":
        a.at[hh[0], "cadre_id"] = None
    elif defect == "unknown team":
        a.at[grids[0], "team_id"] = "NOPE"
    elif defect == "must-visit dropped":
        mv = mv[mv["rule"] != "weak_village"]
    elif defect == "poor household missing a level":
        first = mv[mv["rule"] == "poor_household"].index[0]
        mv = mv.drop(first)
    return a, mv


@pytest.mark.parametrize("defect, match", [
    ("household left out", "household\\(s\\) have no team"),
    ("grid twice", "grid\\(s\\) have more than one team"),
    ("household with another team than its grid", "not with the team of their grid"),
    ("household with a cadre of another team", "cadre from another team"),
    ("household without cadre", "no responsible cadre"),
    ("unknown team", "unknown team"),
    ("must-visit dropped", "weak_village.*not met"),
    ("poor household missing a level", "poor_household.*not met"),
])
def test_checker_names_each_defect(small, defect, match):
    campaign, rules, plan = small
    a, mv = _bad(plan, defect)
    problems = check_plan(campaign, a, mv, rules)
    assert problems, defect
    assert any(pd.Series(problems).str.contains(match)), problems


def test_checker_sees_a_split_village_of_a_city_team(small):
    campaign, rules, plan = small
    a = plan.assignment.copy()
    city = plan.teams_summary.query("level == 'city' and units > 0")["team_id"].iloc[0]
    city_grids = a.index[(a["entity_type"] == "grid") & (a["team_id"] == city)]
    other = plan.teams_summary.query("level == 'town'")["team_id"].iloc[0]
    a.at[city_grids[0], "team_id"] = other
    problems = check_plan(campaign, a, plan.must_visits, rules)
    assert any("split although city teams take whole villages" in p for p in problems)


def test_checker_sees_a_quota_breach(small):
    campaign, rules, plan = small
    a = plan.assignment.copy()
    city = plan.teams_summary.query("level == 'city'")["team_id"].iloc[0]
    grids = a["entity_type"] == "grid"
    a.loc[grids & (a["team_id"] == city), "team_id"] = "T01W1"
    problems = check_plan(campaign, a, plan.must_visits, rules)
    assert any("< min_villages 1" in p for p in problems)


def test_checker_sees_too_few_households_for_a_cadre(small):
    campaign, rules, plan = small
    rules = dataclasses.replace(rules, quotas=dataclasses.replace(rules.quotas, cadre_min_households=5))
    assert check_plan(campaign, plan.assignment, plan.must_visits, rules) == []
    a = plan.assignment.copy()
    team = plan.teams_summary.sort_values("households").iloc[-1]["team_id"]
    hh = a.index[(a["entity_type"] == "household") & (a["team_id"] == team)]
    cadres = sorted(a.loc[hh, "cadre_id"].unique())
    a.loc[hh, "cadre_id"] = cadres[0]  # one cadre takes everything, the others none
    problems = check_plan(campaign, a, plan.must_visits, rules)
    assert any("have < 5" in p for p in problems)


def test_why_a_team_is_outside_the_band_names_the_blocking_rule():
    """A row of units split between two teams, the western one above the band: when handing
    its easternmost unit over brings both inside the band, the reason names that hand-over;
    when it would not be enough, the reason says so; the middle unit is never offered (it would
    cut the row in two)."""
    import numpy as np

    from planner.assign import default_rules
    from planner.assign.synthetic import make_campaign
    from planner.assign.units import build_units
    from planner.assign.why import band_reason, why_out_of_band

    campaign = make_campaign(towns=(1, 1), villages=(1, 1), grids=(8, 1), households_per_grid=10,
                             city_teams=0, county_teams=0, town_teams_per_town=2, base_share=0.0, seed=0)
    rules = default_rules()
    tol = rules.balance.tolerance
    ua = build_units(campaign, rules)
    order = np.argsort(ua.xy[:, 0])  # the units from west to east
    tgt = ua.target_load()
    seen = set()
    for k in range(1, ua.n_units):
        team = np.ones(ua.n_units, int)
        team[order[:k]] = 0
        ratio = np.bincount(team, weights=ua.workload, minlength=2) / tgt
        if ratio[0] <= 1 + tol:
            continue
        w = ua.workload[order[k - 1]]
        after = (ratio[0] - w / tgt[0], ratio[1] + w / tgt[1])
        why = why_out_of_band(ua, team, 0, rules)
        kind = band_reason(ua, team, 0, rules).kind
        if 1 - tol <= after[0] <= 1 + tol and 1 - tol <= after[1] <= 1 + tol:
            assert f"handing grid {ua.unit_ids[order[k - 1]]} from {ua.team_ids[0]} to {ua.team_ids[1]}" in why
            assert kind == "handover_missed"
            seen.add("fix")
        elif after[0] > 1 + tol:
            assert why.startswith("no single hand-over") and "not be enough to reach the band" in why, why
            assert kind == "no_single_handover:not_enough"
            assert "of the 1 it could give" in why  # only its easternmost unit touches team 1
            seen.add("short")
    assert seen == {"fix", "short"}  # both cases happened on this row


def test_why_a_territory_is_in_pieces_names_the_balance_band():
    """A row of six grids, two town teams of equal shares: A holds grids 1, 2 and 6, B grids 3-5.
    A's piece on grid 6 touches only B; handing it over would leave A at about 2/3 of its share
    and put B at about 4/3. The contiguity report says so, with the weights to change."""
    import numpy as np

    from planner.assign.review import _why_pieces, pieces_reason

    rules, ua, order = _row(villages=1, grids=6, city_teams=0, town_teams=2)
    team = np.ones(ua.n_units, int)
    team[order[[0, 1, 5]]] = 0
    why = _why_pieces(ua, team, 0, rules)
    assert pieces_reason(ua, team, 0, rules).kind == "balance_band"
    assert why.startswith("the balance band holds it in pieces"), why
    assert "would leave it at 0.6" in why and "above the band" in why and ua.team_ids[1] in why
    assert "detached_weight" in why


@pytest.mark.parametrize("loads, forced", [([50, 100, 50, 100], False), ([60, 100, 90, 50], True)])
def test_why_a_whole_village_team_is_in_pieces_says_whether_the_rules_force_it(loads, forced):
    """Four villages in a row, a city team (whole villages, 1-3 of them) and a town team of equal
    shares (150 minutes each, band 143-157). Loads 50/100/50/100: touching pairs (V1+V2 ...) fit the
    band, so the city team's pieces are the objective's choice, not the rules'. Loads 60/100/90/50:
    only V1+V3 fits (they do not touch; no connected set of 1-3 does), so the rules force them."""
    import dataclasses

    import numpy as np

    from planner.assign.review import _why_pieces, pieces_reason
    from planner.assign.why import touching_groups_in_band

    rules, ua, order = _row(villages=4, grids=1, city_teams=1, town_teams=1)
    wl = np.zeros(ua.n_units)
    wl[order] = loads
    ua = dataclasses.replace(ua, workload=wl)
    city = int(np.flatnonzero(ua.team_granularity == "village")[0])
    assert np.allclose(ua.target_load(), 150.0)
    found, exhaustive = touching_groups_in_band(ua, city, rules)
    assert exhaustive
    team = np.full(ua.n_units, 1 - city)
    team[order[[0, 2]]] = city  # V1 + V3: 150 or 140 minutes, two pieces
    why = _why_pieces(ua, team, city, rules)
    assert pieces_reason(ua, team, city, rules) == ("rules_force" if forced else "objective_choice", why)
    if forced:
        assert found is None
        assert "the rules force the pieces" in why, why
    else:
        assert found is not None and found[1] == 150.0
        row = ua.village_ids[ua.unit_village[order]].tolist()  # the villages west to east
        i, j = sorted(row.index(v) for v in found[0])
        assert j == i + 1  # two villages that touch (V1+V2, V2+V3 or V3+V4)
        assert "the rules alone do not force the pieces" in why, why


def _row(*, villages, grids, city_teams, town_teams):
    """One town of ``villages`` villages of ``grids`` grids in a row, 30 households a grid, no
    must-visit kinds, teams of 4 cadres each: the default rules, the units and their order west to
    east."""
    import numpy as np

    from planner.assign import default_rules
    from planner.assign.synthetic import make_campaign
    from planner.assign.units import build_units

    campaign = make_campaign(towns=(1, 1), villages=(villages, 1), grids=(grids, 1), households_per_grid=30,
                             city_teams=city_teams, county_teams=0, town_teams_per_town=town_teams,
                             cadres_per_team=(4, 4), weak_share=0.0, community_share=0.0, poor_share=0.0,
                             enterprise_per_household=0.0, seed=1)
    rules = default_rules()
    ua = build_units(campaign, rules)
    return rules, ua, np.argsort(ua.xy[:, 0])
