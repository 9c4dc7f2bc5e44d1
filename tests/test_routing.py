"""Tests of planner.routing: tiny instances with brute-forced optima, constraints,
unassigned stops, both engines, determinism, the Solomon parser and checker."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest

from planner.routing import RouteResult, RoutingProblem, Stop, Vehicles, solve_routes
from planner.routing.solomon import check, read_solomon, to_problem
from planner.routing.units import ceil_sqrt_scaled, round_sqrt_scaled

SOLOMON = Path(__file__).resolve().parents[2] / "shared" / "bench" / "solomon"
ENGINES = ["pyvrp", "ortools"]


def _matrix(points: list[tuple[int, int]], scale: int = 10) -> np.ndarray:
    return np.array(
        [[ceil_sqrt_scaled((ax - bx) ** 2 + (ay - by) ** 2, scale) for bx, by in points] for ax, ay in points]
    )


def _problem(points, stops, vehicles, **kw) -> RoutingProblem:
    m = _matrix(points)
    return RoutingProblem(durations=m, distances=m, stops=tuple(stops), vehicles=tuple(vehicles), **kw)


def _verify(problem: RoutingProblem, result: RouteResult) -> None:
    """Independent check of every constraint and of the reported figures."""
    fleet = problem.fleet
    seen = []
    total = 0
    for route in result.routes:
        v = fleet[route.vehicle]
        here, clock, load, dist = v.start_location, route.start_time, 0, 0
        assert clock >= v.shift_start
        for visit in route.visits:
            stop = problem.stops[visit.stop]
            arrival = clock + int(problem.durations[here, stop.location])
            dist += int(problem.distances[here, stop.location])
            assert visit.arrival == arrival
            assert visit.start >= arrival
            if stop.time_windows:
                assert any(a <= visit.start <= b for a, b in stop.time_windows), (visit, stop)
            assert visit.departure == visit.start + stop.service
            clock, here, load = visit.departure, stop.location, load + stop.demand
            seen.append(visit.stop)
        end = clock + int(problem.durations[here, v.end])
        dist += int(problem.distances[here, v.end])
        assert route.end_time == end
        assert route.distance == dist
        if v.shift_end is not None:
            assert end <= v.shift_end
        if v.max_duration is not None:
            assert end - route.start_time <= v.max_duration
        if v.capacity is not None:
            assert load <= v.capacity
        total += dist
    assert total == result.total_distance
    assert len(seen) == len(set(seen))
    unassigned = {u.stop for u in result.unassigned}
    assert unassigned.isdisjoint(seen)
    assert unassigned | set(seen) == set(range(len(problem.stops)))
    assert all(u.reason for u in result.unassigned)
    assert len({r.vehicle for r in result.routes}) == len(result.routes) == result.vehicles_used


def _brute_force(problem: RoutingProblem) -> int:
    """Optimal total distance over all splits of all orders into the fleet's
    routes (identical vehicles), checked with an independent forward pass."""
    v = problem.vehicles[0]
    k = v.count
    n = len(problem.stops)
    best = math.inf

    def route_cost(order):
        here, clock, load, dist = v.start_location, v.shift_start, 0, 0
        for i in order:
            s = problem.stops[i]
            clock += int(problem.durations[here, s.location])
            dist += int(problem.distances[here, s.location])
            starts = [max(clock, a) for a, b in s.time_windows if clock <= b] if s.time_windows else [clock]
            if not starts:
                return None
            clock = starts[0] + s.service
            load += s.demand
            here = s.location
        clock += int(problem.durations[here, v.end])
        dist += int(problem.distances[here, v.end])
        if (v.shift_end is not None and clock > v.shift_end) or (v.capacity is not None and load > v.capacity):
            return None
        return dist

    for perm in itertools.permutations(range(n)):
        for cuts in itertools.combinations_with_replacement(range(n + 1), k - 1):
            bounds = (0, *cuts, n)
            total = 0
            for a, b in zip(bounds, bounds[1:]):
                c = route_cost(perm[a:b]) if b > a else 0
                if c is None:
                    break
                total += c
            else:
                best = min(best, total)
    return int(best)


POINTS = [(0, 0), (10, 2), (12, 9), (3, 11), (-6, 8), (-9, -4), (2, -10)]


def _tw_problem(count: int = 2) -> RoutingProblem:
    windows = [(0, 400), (150, 300), (0, 250), (200, 500), (0, 180), (300, 600)]
    stops = [Stop(location=i + 1, service=20, time_windows=(w,), demand=3) for i, w in enumerate(windows)]
    return _problem(POINTS, stops, [Vehicles(count=count, capacity=10, shift_start=0, shift_end=800)])


@pytest.mark.parametrize("engine", ENGINES)
def test_tiny_optimum_matches_brute_force(engine):
    problem = _tw_problem()
    result = solve_routes(problem, time_limit=1.0, seed=3, engine=engine, workers=1)
    _verify(problem, result)
    assert result.status == "feasible"
    assert not result.unassigned
    assert result.engine == engine
    assert result.total_distance == _brute_force(problem)


@pytest.mark.parametrize("engine", ENGINES)
def test_capacity_forces_a_second_vehicle(engine):
    stops = [Stop(location=i + 1, demand=4) for i in range(6)]
    problem = _problem(POINTS, stops, [Vehicles(count=3, capacity=8)])
    result = solve_routes(problem, time_limit=1.0, engine=engine, workers=1)
    _verify(problem, result)
    assert result.vehicles_used == 3
    assert all(r.load <= 8 for r in result.routes)
    assert result.total_distance == _brute_force(problem)


@pytest.mark.parametrize("engine", ENGINES)
def test_full_day_reports_unassigned_with_reasons(engine):
    # one walker, 8 hours; five visits of 2 hours each cannot all fit
    hour = 3600
    m = np.full((6, 6), 300)
    np.fill_diagonal(m, 0)
    stops = [Stop(location=i + 1, service=2 * hour) for i in range(5)]
    problem = RoutingProblem(
        durations=m, distances=m, stops=tuple(stops), vehicles=(Vehicles(count=1, shift_start=8 * hour, shift_end=16 * hour),)
    )
    result = solve_routes(problem, time_limit=1.0, engine=engine, workers=1)
    _verify(problem, result)
    assert result.status == "partial"
    assert len(result.routes[0].visits) == 3
    assert len(result.unassigned) == 2
    assert all("day is full" in u.reason for u in result.unassigned)


@pytest.mark.parametrize("engine", ENGINES)
def test_impossible_stops_are_set_aside(engine):
    stops = [
        Stop(location=1, demand=2),
        Stop(location=2, demand=50),  # above every capacity
        Stop(location=3, time_windows=((5, 10),)),  # unreachable in time
        Stop(location=4, penalty=0),  # optional and worth nothing
    ]
    problem = _problem(POINTS, stops, [Vehicles(count=2, capacity=10, shift_end=1000)])
    result = solve_routes(problem, time_limit=1.0, engine=engine, workers=1)
    _verify(problem, result)
    reasons = {u.stop: u.reason for u in result.unassigned}
    assert set(reasons) == {1, 2, 3}
    assert "capacity" in reasons[1]
    assert "time window" in reasons[2]
    assert "optional" in reasons[3]
    assert result.status == "partial"
    assert [r.stops for r in result.routes] == [(0,)]


@pytest.mark.parametrize("engine", ENGINES)
def test_optional_stop_with_high_penalty_is_served(engine):
    stops = [Stop(location=1), Stop(location=6, penalty=10_000)]
    problem = _problem(POINTS, stops, [Vehicles(count=1)])
    result = solve_routes(problem, time_limit=1.0, engine=engine, workers=1)
    _verify(problem, result)
    assert result.status == "feasible" and not result.unassigned


@pytest.mark.parametrize("engine", ENGINES)
def test_multiple_time_windows_and_separate_end(engine):
    stops = [
        Stop(location=1, service=10, time_windows=((0, 5), (500, 600))),  # first window unreachable
        Stop(location=2, service=10, time_windows=((0, 300),)),
    ]
    vehicles = [Vehicles(count=1, start_location=0, end_location=5, shift_start=50, shift_end=2000, max_duration=900)]
    problem = _problem(POINTS, stops, vehicles)
    result = solve_routes(problem, time_limit=1.0, engine=engine, workers=1)
    _verify(problem, result)
    assert result.status == "feasible"
    first = next(v for v in result.routes[0].visits if v.stop == 0)
    assert 500 <= first.start <= 600


def test_same_seed_same_result():
    problem = _tw_problem(count=3)
    runs = [solve_routes(problem, time_limit=20.0, seed=7, workers=1, max_iterations=3000) for _ in range(2)]
    assert runs[0].routes == runs[1].routes
    assert runs[0].total_distance == runs[1].total_distance


def test_ortools_same_seed_same_result():
    problem = _tw_problem(count=3)
    runs = [solve_routes(problem, time_limit=0.5, seed=7, engine="ortools") for _ in range(2)]
    assert runs[0].routes == runs[1].routes


def test_parallel_searches_are_deterministic():
    problem = _tw_problem(count=3)
    runs = [solve_routes(problem, time_limit=20.0, seed=5, workers=2, max_iterations=2000) for _ in range(2)]
    _verify(problem, runs[0])
    assert runs[0].routes == runs[1].routes
    assert runs[0].total_distance == _brute_force(problem)


def test_bad_inputs_are_rejected():
    with pytest.raises(ValueError):
        Stop(location=0, time_windows=((10, 5),))
    with pytest.raises(ValueError):
        RoutingProblem(durations=np.zeros((2, 3)), distances=np.zeros((2, 3)), stops=(), vehicles=())
    with pytest.raises(ValueError):
        solve_routes(_tw_problem(), time_limit=1.0, engine="gurobi")


def test_exact_scaling_helpers():
    for sq in range(0, 5000):
        exact = math.sqrt(sq) * 1000
        assert ceil_sqrt_scaled(sq, 1000) >= exact
        assert ceil_sqrt_scaled(sq, 1000) - exact < 1
        assert abs(round_sqrt_scaled(sq, 1000) - exact) <= 0.5


@pytest.mark.skipif(not SOLOMON.is_dir(), reason="shared Solomon benchmark not beside the repo")
def test_solomon_c101_parse_and_check():
    inst = read_solomon(SOLOMON / "instances" / "C101.txt")
    assert inst.name == "C101"
    assert (inst.num_vehicles, inst.capacity, inst.num_customers) == (25, 200, 100)
    assert (inst.x[0], inst.y[0], inst.due[0]) == (40, 50, 1236)
    assert (inst.x[1], inst.y[1], inst.demand[1], inst.ready[1], inst.due[1], inst.service[1]) == (45, 68, 10, 912, 967, 90)
    problem = to_problem(inst)
    assert len(problem.stops) == 100 and problem.fleet[0].capacity == 200
    solo = check(inst, [[c] for c in range(1, 26)] + [list(range(26, 101))])
    assert not solo.feasible  # 75 customers on one route break capacity and windows
    result = solve_routes(problem, time_limit=2.0, seed=1, workers=1)
    res = check(inst, [[s + 1 for s in r.stops] for r in result.routes])
    assert res.feasible, res.problems
    assert res.distance >= 828.93  # BKS 828.94 (distance-only)
    assert res.distance < 828.94 * 1.05
    broken = [[s + 1 for s in r.stops] for r in result.routes]
    broken[0] = list(reversed(broken[0]))
    assert not check(inst, broken).feasible


# --- exact enumeration of small one-vehicle days (engine "auto") -------------------------------------------


def _one_vehicle_day(seed: int, n: int, windows: bool) -> RoutingProblem:
    rng = np.random.default_rng(seed)
    pts = [(0, 0)] + [tuple(int(v) for v in rng.integers(-10, 10, 2)) for _ in range(n)]
    m = _matrix(pts)
    # asymmetric travel times (one-way streets, uphill): durations differ from distances
    dur = m + rng.integers(0, 40, m.shape) * (m > 0)
    stops = []
    for i in range(n):
        tw = ()
        if windows and i % 2 == 0:
            a = int(rng.integers(100, 700))
            tw = ((a, a + int(rng.integers(100, 400))),)
        stops.append(Stop(location=i + 1, service=int(rng.integers(10, 60)), time_windows=tw))
    return RoutingProblem(dur, m, tuple(stops), (Vehicles(1, shift_start=50, shift_end=2500),),
                          distance_cost=0, duration_cost=1)


def _best_duration(problem: RoutingProblem) -> int:
    """Least route duration (waiting included) over every order and every departure minute, by brute force."""
    v = problem.vehicles[0]
    best = math.inf
    for order in itertools.permutations(range(len(problem.stops))):
        for leave in range(v.shift_start, 1500, 1):
            here, clock, ok = 0, leave, True
            for i in order:
                s = problem.stops[i]
                clock += int(problem.durations[here, s.location])
                if s.time_windows:
                    a, b = s.time_windows[0]
                    if clock > b:
                        ok = False
                        break
                    clock = max(clock, a)
                clock += s.service
                here = s.location
            clock += int(problem.durations[here, 0])
            if ok and clock <= v.shift_end:
                best = min(best, clock - leave)
    return int(best)


@pytest.mark.parametrize("seed", range(4))
def test_exact_engine_finds_the_least_duration_with_windows_and_waiting(seed):
    problem = _one_vehicle_day(seed, 5, windows=True)
    result = solve_routes(problem, time_limit=1.0, seed=0, workers=1)
    _verify(problem, result)
    assert result.engine == "exact" and result.status == "feasible"
    assert result.total_duration == _best_duration(problem)
    # and PyVRP on the same day is never better
    other = solve_routes(problem, time_limit=1.0, seed=0, engine="pyvrp", workers=1, max_iterations=200)
    assert result.objective <= other.objective


def test_exact_engine_hands_over_large_or_overfull_days_to_pyvrp():
    big = _one_vehicle_day(7, 9, windows=False)
    assert solve_routes(big, time_limit=1.0, workers=1, max_iterations=50).engine == "pyvrp"
    small = _one_vehicle_day(8, 5, windows=False)
    tight = RoutingProblem(small.durations, small.distances, small.stops,
                           (Vehicles(1, shift_start=0, shift_end=250),), distance_cost=0, duration_cost=1)
    result = solve_routes(tight, time_limit=1.0, workers=1, max_iterations=50)
    _verify(tight, result)
    # no order serves them all: PyVRP's repair search drops the fewest, each with a reason
    assert result.engine == "pyvrp" and result.status == "partial" and result.unassigned


def test_an_unreachable_stop_says_the_numbers_behind_it():
    """A stop two hours away whose service must start by 09:00, for a shift from 08:00: no vehicle
    can serve it, and the reason carries the travel, service, window and shift (after " | ",
    where the schedule's shortfall layer splits reason from detail)."""
    from planner.routing.model import RoutingProblem, Stop, Vehicles
    from planner.routing.schedule import solo_reason

    d = np.array([[0, 7200], [7200, 0]])
    stop = Stop(location=1, service=3600, time_windows=((8 * 3600, 9 * 3600),))
    far = RoutingProblem(durations=d, distances=d, stops=(stop,),
                         vehicles=(Vehicles(count=1, start_location=0, shift_start=8 * 3600, shift_end=17 * 3600),))
    reason, _, detail = solo_reason(far, 0).partition(" | ")
    assert reason == "cannot be reached and served within its time windows and any vehicle's shift"
    assert detail == ("travel 120 min there and 120 min back, service 60 min, service may start 08:00-09:00, "
                      "shift 08:00-17:00")
    near = RoutingProblem(durations=d // 8, distances=d, stops=(stop,), vehicles=far.vehicles)
    assert solo_reason(near, 0) is None  # 15 min away: served at 08:15
