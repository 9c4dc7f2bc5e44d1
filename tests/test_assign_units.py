"""Geometry → arrays: units, adjacency, workload, bases; and the CPMP benchmark solver on a tiny case."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from planner.assign import default_rules, rules_from_dict
from planner.assign.construct import candidates, close_groups, grow
from planner.assign.synthetic import make_campaign
from planner.assign.units import build_units, subproblem

PMEDCAP = Path(__file__).resolve().parents[2] / "shared" / "bench" / "pmedcap"


def test_grid_units_touch_along_edges_not_corners():
    campaign = make_campaign(towns=(1, 1), villages=(1, 1), grids=(2, 2), households_per_grid=5, seed=0)
    ua = build_units(campaign, default_rules())
    assert ua.n_units == 4
    # a 2×2 block: 4 shared edges, the 2 diagonals only meet at a corner
    assert len(ua.edges) == 4


def test_workload_counts_status_poor_and_enterprises():
    campaign = make_campaign(towns=(1, 1), villages=(1, 1), grids=(1, 1), households_per_grid=30, seed=1)
    rules = rules_from_dict({"workload": {"resident": 1, "vacant": 1, "rental": 1, "away": 1, "poor_extra": 100,
                                          "enterprise": 1000}})
    ua = build_units(campaign, rules)
    hh = campaign.households
    expected = len(hh) + 100 * int(hh["poor"].sum()) + 1000 * len(campaign.enterprises)
    assert ua.workload.sum() == expected


def test_village_base_level_groups_grids():
    campaign = make_campaign(seed=2)
    ua = build_units(campaign, rules_from_dict({"units": {"base": "village"}}))
    assert ua.n_units == len(campaign.villages)
    assert ua.households.sum() == len(campaign.households)


def test_teams_without_base_get_seed_points_inside_the_map():
    campaign = make_campaign(base_share=0.0, seed=3)
    ua = build_units(campaign, default_rules())
    assert not ua.team_base_given.any()
    lo, hi = ua.xy.min(axis=0), ua.xy.max(axis=0)
    assert ((ua.team_base >= lo - 1) & (ua.team_base <= hi + 1)).all()


def test_coarse_team_candidates_cover_whole_villages_only():
    campaign = make_campaign(towns=(2, 2), seed=4)
    ua = build_units(campaign, default_rules())
    cand = candidates(ua, k=3)
    for t in np.flatnonzero(ua.team_granularity == "village"):
        has = np.array([t in c for c in cand])
        for v in np.unique(ua.unit_village):
            members = ua.unit_village == v
            assert has[members].all() or not has[members].any()
    # removing a team from one unit of a village removes it from the whole village
    t = int(np.flatnonzero(ua.team_granularity == "village")[0])
    u = next(u for u, c in enumerate(cand) if t in c)
    cut = [c if i != u else c[c != t] for i, c in enumerate(cand)]
    closed = close_groups(ua, cut)
    assert not any(t in closed[i] for i in np.flatnonzero(ua.unit_village == ua.unit_village[u]))


def test_region_growing_gives_every_unit_a_team():
    campaign = make_campaign(towns=(2, 2), seed=5)
    ua = build_units(campaign, default_rules())
    team = grow(ua, default_rules(), candidates(ua, k=5))
    assert (team >= 0).all()


def test_subproblem_keeps_full_shares_and_local_edges():
    campaign = make_campaign(towns=(2, 1), seed=6)
    ua = build_units(campaign, default_rules())
    units = np.arange(10)
    teams = np.array([0, 2])
    sub = subproblem(ua, units, teams)
    assert sub.n_units == 10 and sub.n_teams == 2
    assert np.allclose(sub.target_load(), ua.target_load()[teams])
    assert (sub.edges < 10).all()


@pytest.mark.skipif(not (PMEDCAP / "instances" / "oc" / "cpmp01.txt").exists(), reason="shared pmedcap set absent")
def test_cpmp_solver_gives_a_feasible_solution_near_the_optimum():
    from planner.assign.cpmp import read_instance, solve_cpmp

    inst = read_instance(PMEDCAP / "instances" / "oc" / "cpmp01.txt")
    res = solve_cpmp(inst, time_limit=3, workers=1, seed=0, k=inst.n)
    assert inst.feasible(res.median_of)
    assert res.value <= 713 * 1.10  # the published optimum is 713


def test_a_search_step_s_candidates_are_the_whole_problem_s_closed_over_villages():
    """``lns._cut_out`` looks only at the step's units and teams; its candidates must be what closing
    the whole county's candidates over villages gives (each unit outside the step held by its own
    team): a coarse team of the step keeps a village only where it may take every grid of it, and a
    village partly held outside the step is lost to it. Hypothesis over steps of 1-6 teams (in any
    order), plans and widened candidates, on a layout where coarse teams straddle villages."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from planner.assign import model as _model
    from planner.assign.lns import _cut_out

    campaign = make_campaign(towns=(2, 2), villages=(2, 2), grids=(2, 2), city_teams=2, county_teams=3, seed=6)
    rules = default_rules()
    ua = build_units(campaign, rules)
    cand = candidates(ua, k=5)
    data = _model.ModelData(ua, rules, cand)
    assert (ua.team_granularity != "grid").sum() >= 4

    @settings(max_examples=60, deadline=None)
    @given(st.data())
    def check(draw):
        team = np.array([draw.draw(st.sampled_from(c.tolist())) for c in cand])
        hood = np.array(draw.draw(st.lists(st.sampled_from(sorted(set(team.tolist()))), min_size=1, max_size=6,
                                           unique=True)))
        widen = None
        if draw.draw(st.booleans()):
            widen = (int(hood[0]), np.array(draw.draw(st.lists(st.booleans(), min_size=ua.n_units,
                                                               max_size=ua.n_units))))
        free, sub_ua, sub_cand, cur, tpos = _cut_out(data, team, hood, widen)
        # the reference: every unit's candidates, widened, closed over groups in the whole problem
        full = []
        for u in range(ua.n_units):
            if team[u] in hood:
                c = np.intersect1d(cand[u], hood)
                full.append(np.union1d(c, [widen[0]]) if widen is not None and widen[1][u] else c)
            else:
                full.append(np.array([team[u]]))
        full = close_groups(ua, full)
        assert free.tolist() == np.flatnonzero(np.isin(team, hood)).tolist()
        assert [hood[c].tolist() for c in sub_cand] == [full[u].tolist() for u in free]
        assert hood[cur].tolist() == team[free].tolist() and tpos == {int(x): i for i, x in enumerate(hood)}
        assert sub_ua.n_units == len(free) and sub_ua.n_teams == len(hood)

    check()
