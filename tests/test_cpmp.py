"""The capacitated p-median solver (planner.assign.cpmp*): small instances it must solve exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from planner.assign.cpmp import Instance, read_instance, solve_cpmp
from planner.assign.cpmp_lns import polish, transport_assign
from planner.assign.cpmp_mip import solve_arrays

PMEDCAP = Path(__file__).resolve().parents[2] / "shared" / "bench" / "pmedcap"


def _line_instance() -> Instance:
    """Two tight groups of three on a line, capacity for exactly one group each (p = 2).

    The optimum opens the middle node of each group: cost 2 + 2 = 4 (unit gaps, truncated distances).
    """
    xy = np.array([[0, 0], [1, 0], [2, 0], [10, 0], [11, 0], [12, 0]], float)
    return Instance("line", xy, cap=np.full(6, 3.0), demand=np.ones(6), p=2, truncate=True)


def _brute_force(inst: Instance) -> float:
    """Every choice of medians, every assignment: the exact optimum of a tiny instance."""
    import itertools

    d = inst.dist()
    best = np.inf
    for meds in itertools.combinations(range(inst.n), inst.p):
        for choice in itertools.product(meds, repeat=inst.n):
            m = np.array(choice)
            if inst.feasible(m):
                best = min(best, inst.value(m))
    return best


def test_mip_solves_a_hand_made_instance_to_its_optimum():
    inst = _line_instance()
    n = inst.n
    pi, pj = np.repeat(np.arange(n), n), np.tile(np.arange(n), n)
    res = solve_arrays(pair_i=pi, pair_j=pj, cost=inst.dist()[pi, pj], demand=inst.demand, cap=inst.cap, p=2,
                       time_limit=10, integer_costs=True)
    assert res.status == "Optimal"
    assert res.objective == pytest.approx(4.0)
    assert sorted(np.unique(res.median_of).tolist()) == [1, 4]


def test_solver_matches_brute_force_on_a_small_random_instance():
    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 50, size=(7, 2))
    demand = rng.integers(1, 6, size=7).astype(float)
    inst = Instance("rand7", xy, cap=np.full(7, 12.0), demand=demand, p=3, truncate=True)
    res = solve_cpmp(inst, time_limit=3, workers=1, seed=0, k=inst.n)
    assert inst.feasible(res.median_of)
    assert res.value == pytest.approx(_brute_force(inst))


def test_capacity_binds_the_assignment():
    """Five customers next to median 0 but room for three: two must go to the far median."""
    d = np.array([[0, 9], [1, 9], [1, 9], [1, 9], [1, 9], [9, 0]], float)
    full = np.zeros((6, 6))
    full[:, 0], full[:, 5] = d[:, 0], d[:, 1]
    meds = np.array([0, 5])
    cap = np.array([3.0, 0, 0, 0, 0, 10.0])
    out = polish(full, np.ones(6), cap, transport_assign(full, np.ones(6), cap, meds, k=2), k=2)
    assert np.bincount(out, minlength=6)[0] == 3
    assert np.bincount(out, minlength=6)[5] == 3


def test_read_instance_rejects_a_short_file(tmp_path):
    f = tmp_path / "bad.txt"
    f.write_text("3 1\n0 0 10 1\n1 1 10 1\n")
    with pytest.raises(ValueError, match="bad.txt"):
        read_instance(f)


@pytest.mark.skipif(not (PMEDCAP / "instances" / "oc" / "cpmp01.txt").exists(), reason="shared pmedcap set absent")
@pytest.mark.parametrize("name,optimum", [("cpmp01", 713), ("cpmp05", 664)])
def test_osman_christofides_instances_reach_their_published_optimum(name, optimum):
    inst = read_instance(PMEDCAP / "instances" / "oc" / f"{name}.txt")
    res = solve_cpmp(inst, time_limit=5, workers=1, seed=0, k=inst.n)
    m = res.median_of
    assert len(m) == inst.n  # each node assigned exactly once
    assert len(np.unique(m)) == inst.p  # p medians
    load = np.bincount(m, weights=inst.demand, minlength=inst.n)
    assert (load <= inst.cap + 1e-9).all()  # capacities respected
    assert res.value == optimum


def test_bad_time_limit_and_bad_p_are_explained(tmp_path):
    with pytest.raises(ValueError, match="time_limit"):
        solve_cpmp(_line_instance(), time_limit=0)
    f = tmp_path / "p_too_big.txt"
    f.write_text("2 3\n0 0 10 1\n1 1 10 1\n")
    with pytest.raises(ValueError, match="p = 3"):
        read_instance(f)


@pytest.mark.skipif(not (PMEDCAP / "instances" / "oc" / "cpmp01.txt").exists(), reason="shared pmedcap set absent")
def test_two_processes_prove_the_optimum_of_a_small_instance():
    """The whole MIP in the worker process, the search in this one: the optimum, proved, with its bound."""
    inst = read_instance(PMEDCAP / "instances" / "oc" / "cpmp02.txt")
    res = solve_cpmp(inst, time_limit=20, workers=2, seed=1, k=inst.n)
    assert inst.feasible(res.median_of)
    assert res.value == 740
    assert res.status == "OPTIMAL" and res.bound == pytest.approx(740)
    assert res.wall < 20 + 3


def test_knapsacks_match_brute_force():
    """The vectorised 0-1 knapsack DP of the Lagrangian placement against every subset, row by row."""
    import itertools

    from planner.assign.cpmp_lagr import knapsacks

    rng = np.random.default_rng(5)
    red = rng.normal(-1, 2, size=(40, 7))
    weight = rng.integers(1, 9, size=(40, 7))
    cap = rng.integers(0, 20, size=40)
    value, chosen = knapsacks(red, weight, cap)
    for j in range(40):
        best = min(sum(red[j, t] for t in s) for r in range(8) for s in itertools.combinations(range(7), r)
                   if sum(weight[j, t] for t in s) <= cap[j])
        assert value[j] == pytest.approx(best)
        assert red[j, chosen[j]].sum() == pytest.approx(best)
        assert weight[j, chosen[j]].sum() <= cap[j]


def test_lagrangian_placement_comes_close_to_its_relaxation():
    """150 random customers, 30 medians: from a k-means++ start the Lagrangian heuristic ends feasible,
    within 5 % of its own relaxation value (measured: 1.9 %, after 181 steps) and well below the start (-26 %)."""
    import time

    from planner.assign.cpmp_lagr import place
    from planner.assign.cpmp_lns import assign_fixed, seed_medians

    rng = np.random.default_rng(7)
    xy = rng.uniform(0, 100, size=(150, 2))
    demand = rng.integers(1, 20, size=150).astype(float)
    inst = Instance("rand150", xy, cap=np.full(150, 1.25 * demand.sum() / 30), demand=demand, p=30, truncate=False)
    d = inst.dist()

    def assign(meds):
        return assign_fixed(d, demand, inst.cap, meds, k=10, integer=False, time_limit=2)

    start = assign(seed_medians(d, demand, inst.p, np.random.default_rng(0)))
    sol, value, info = place(d, demand, inst.cap, inst.p, t_end=time.perf_counter() + 60, max_iter=400, assign=assign,
                             start=start)
    assert info["iterations"] <= 400  # it may hand over early once it has settled
    assert inst.feasible(sol) and len(np.unique(sol)) == inst.p
    assert value == pytest.approx(inst.value(sol))
    assert value <= 1.05 * info["relaxation"]
    assert value < 0.9 * inst.value(start)


def test_pack_rounds_opens_p_medians_that_do_not_share_customers():
    """Three customers; candidates 0 and 2 both want {0, 1}, candidate 1 wants {1, 2}. The first round opens
    0 (the best); 2 and 1 overlap it. The second round, over the customers left, gives 1 customer 2 and
    opens it: never the duplicate 2."""
    from planner.assign.cpmp_lagr import pack_rounds

    nb = np.array([[0, 1], [1, 2], [0, 1]])
    red = np.array([[-3.0, -3.0], [-2.5, -2.5], [-2.95, -2.95]])
    weight = np.ones((3, 2), int)
    out = pack_rounds(red, weight, np.full(3, 2), nb, 2, 3)
    assert sorted(out.tolist()) == [0, 1]


def test_lagrangian_placement_only_where_its_tables_stay_small():
    """p3038 (3-5 customers per median) uses it; fnl4461 with p = 20 (223 per median, capacity 14,025)
    would need a 42 GB knapsack table and must not; small instances keep capacitated Lloyd."""
    from planner.assign.cpmp_lns import use_lagrangian

    assert use_lagrangian(3038, 600, np.full(3038, 321.0))
    assert use_lagrangian(3038, 1000, np.full(3038, 191.0))
    assert not use_lagrangian(4461, 20, np.full(4461, 14025.0))
    assert not use_lagrangian(402, 40, np.full(402, 300.0))


def test_swap_rest_moves_misplaced_medians_and_remembers_where_it_failed():
    """Two groups of five on a line with their medians at the ends: the moves bring each median to its
    group's middle (cost 2 x (2 + 1 + 1 + 2) = 12), after which both medians rest at that level."""
    from planner.assign.cpmp_lns import swap_rest

    xy = np.array([[x, 0.0] for x in (0, 1, 2, 3, 4, 100, 101, 102, 103, 104)])
    inst = Instance("two-groups", xy, cap=np.full(10, 5.0), demand=np.ones(10), p=2, truncate=False)
    d = inst.dist()
    cur = np.array([0] * 5 + [5] * 5)
    rest: dict = {}
    import time

    out = swap_rest(d, inst.demand, inst.cap, cur, rng=np.random.default_rng(0), t_end=time.perf_counter() + 30,
                    h=2, rest=rest)
    assert inst.feasible(out)
    assert inst.value(out) == pytest.approx(12.0)
    assert sorted(np.unique(out).tolist()) == [2, 7]
    assert rest == {2: 2, 7: 2}
