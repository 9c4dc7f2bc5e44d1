"""PyVRP adapter: every call into PyVRP lives here.

The problem is translated to :class:`pyvrp.ProblemData` directly (locations
are the matrix rows; one depot per distinct vehicle start/end location; one
vehicle type per :class:`~planner.routing.model.Vehicles` group; a stop with
several time windows becomes a mutually exclusive client group with one
client per window). Searches run PyVRP's iterated local search; with
``workers > 1`` that many independent searches with different seeds run in
parallel processes until the same deadline and the best solution is kept
(ties go to the lowest worker, so the result depends only on the seed and on
how far each search gets in the time). The searches are ``pyvrp.solve`` with
one change: balanced initial penalties (:func:`initial_penalties`) instead of
PyVRP's 50 000 per unit of time warp or excess load.
"""

from __future__ import annotations

import concurrent.futures as futures
import multiprocessing
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyvrp
from pyvrp import IteratedLocalSearchParams
from pyvrp.exceptions import PenaltyBoundWarning
from pyvrp.search import LocalSearch, NeighbourhoodParams, PerturbationManager, compute_neighbours
from pyvrp.stop import MaxIterations, MaxRuntime, MultipleCriteria

from ._raw import RawRoute, RawSolution
from .model import RoutingProblem

_SEED_STRIDE = 7919  # worker k searches with seed + k * _SEED_STRIDE
# Rounds of cooperation: after each, every worker restarts from the best
# solution so far. Measured on 8 hard Solomon instances at 10 s: 3 rounds were
# no better than 1 (-0.02% vs -0.10% mean gap), so the searches run
# independently until the deadline.
_ROUNDS = 1


@dataclass(frozen=True)
class _Translation:
    data: pyvrp.ProblemData
    client_stop: tuple[int, ...]  # PyVRP client index -> stop index
    type_group: tuple[int, ...]  # PyVRP vehicle type -> problem.vehicles index


def big_penalty(problem: RoutingProblem) -> int:
    """A prize larger than any plan's travel cost: leaving out a required stop
    (in repair mode) must never pay off."""
    n = problem.num_locations
    travel = int(problem.distances.max(initial=0)) * problem.distance_cost
    horizon = max(
        [int(problem.durations.max(initial=0)) * (len(problem.stops) + 1)]
        + [g.shift_end - g.shift_start for g in problem.vehicles if g.shift_end is not None]
    )
    fleet = sum(g.count for g in problem.vehicles)
    bound = (len(problem.stops) + 2 * fleet) * travel + fleet * horizon * problem.duration_cost
    bound += sum(g.fixed_cost * g.count for g in problem.vehicles) + n
    return min(max(bound + 1, 1), 10**12)


def translate(problem: RoutingProblem, stops: Sequence[int], *, force_all: bool) -> _Translation:
    """ProblemData for the given stops. ``force_all``: required stops are hard
    constraints; otherwise they get :func:`big_penalty` as prize (repair)."""
    n = problem.num_locations
    locations = [pyvrp.Location(x=0, y=0, name=str(i)) for i in range(n)]
    depot_locs = sorted({g.start_location for g in problem.vehicles} | {g.end for g in problem.vehicles})
    depot_index = {loc: i for i, loc in enumerate(depot_locs)}
    depots = [pyvrp.Depot(location=loc) for loc in depot_locs]

    with_load = any(problem.stops[i].demand for i in stops) or any(
        g.capacity is not None for g in problem.vehicles
    )
    total_demand = sum(problem.stops[i].demand for i in stops)
    big = big_penalty(problem)

    clients: list[pyvrp.Client] = []
    client_stop: list[int] = []
    groups: list[pyvrp.ClientGroup] = []
    for idx in stops:
        stop = problem.stops[idx]
        hard = stop.required and force_all
        prize = 0 if hard else (big if stop.required else int(stop.penalty or 0))
        windows = stop.time_windows or ((0, None),)
        group = None
        if len(windows) > 1:
            group = len(groups)
            groups.append(pyvrp.ClientGroup(required=hard))
        for early, late in windows:
            kwargs = {} if late is None else {"tw_late": int(late)}
            if group is not None:
                groups[group].add_client(len(clients))
            clients.append(
                pyvrp.Client(
                    location=stop.location,
                    delivery=[stop.demand] if with_load else [],
                    service_duration=stop.service,
                    tw_early=int(early),
                    prize=prize,
                    required=hard and group is None,
                    group=group,
                    name=str(idx),
                    **kwargs,
                )
            )
            client_stop.append(idx)

    vehicle_types = []
    type_group = []
    for gi, g in enumerate(problem.vehicles):
        if g.count == 0:
            continue
        kwargs = {}
        if g.shift_end is not None:
            kwargs["tw_late"] = g.shift_end
        if g.max_duration is not None:
            kwargs["shift_duration"] = g.max_duration
        capacity = g.capacity if g.capacity is not None else total_demand
        vehicle_types.append(
            pyvrp.VehicleType(
                num_available=g.count,
                capacity=[capacity] if with_load else [],
                start_depot=depot_index[g.start_location],
                end_depot=depot_index[g.end],
                fixed_cost=g.fixed_cost,
                tw_early=g.shift_start,
                unit_distance_cost=problem.distance_cost,
                unit_duration_cost=problem.duration_cost,
                name=str(gi),
                **kwargs,
            )
        )
        type_group.append(gi)

    data = pyvrp.ProblemData(
        locations=locations,
        clients=clients,
        depots=depots,
        vehicle_types=vehicle_types,
        distance_matrices=[np.asarray(problem.distances, dtype=np.int64)],
        duration_matrices=[np.asarray(problem.durations, dtype=np.int64)],
        groups=groups,
    )
    return _Translation(data, tuple(client_stop), tuple(type_group))


def solve(
    problem: RoutingProblem,
    stops: Sequence[int],
    *,
    force_all: bool,
    time_limit: float,
    seed: int,
    workers: int = 1,
    max_iterations: int | None = None,
) -> RawSolution:
    """Best of ``workers`` parallel PyVRP searches, each until the deadline.

    Worker 0 runs in this process, the others in spawned processes (so a
    calling script needs the usual ``if __name__ == "__main__"`` guard; if
    the worker processes fail, the result of worker 0 is used). The time
    is cut into ``_ROUNDS`` rounds; after each round every worker continues
    from the best solution found so far by any of them (with a new seed)."""
    if not stops:
        return RawSolution((), True)
    tr = translate(problem, stops, force_all=force_all)
    start = time.monotonic()
    n = max(1, workers)
    epochs = _ROUNDS
    best = None  # (cost key, routes)
    history = []
    failures: list[str] = []
    pool = None
    try:
        if n > 1:
            ctx = multiprocessing.get_context("spawn")
            pool = futures.ProcessPoolExecutor(max_workers=n - 1, mp_context=ctx)
        for e in range(epochs):
            deadline = start + time_limit * (e + 1) / epochs
            init = None if best is None else best[1]
            seeds = [seed + (k + e * n) * _SEED_STRIDE for k in range(n)]
            others = [
                pool.submit(_search, tr.data, deadline, s, max_iterations, init, k + 1) for k, s in enumerate(seeds[1:])
            ] if pool else []
            results = [_search(tr.data, deadline, seeds[0], max_iterations, init, 0)]
            for future in others:
                try:
                    results.append(future.result())
                except (futures.process.BrokenProcessPool, OSError) as exc:
                    # e.g. a script without the ``if __name__ == "__main__"``
                    # guard that spawn needs: keep the searches that did run
                    failures.append(f"parallel search failed ({type(exc).__name__}); kept the others")
            for k, (cost, feasible, routes, iters) in enumerate(results):
                key = (not feasible, cost)
                history.append((e, k, feasible, cost, iters))
                if best is None or key < best[0]:
                    best = (key, routes)
    finally:
        if pool is not None:  # results are in; let the workers exit on their own
            pool.shutdown(wait=False, cancel_futures=True)
    (infeasible, cost), routes = best
    raw_routes = tuple(
        RawRoute(
            group=tr.type_group[vt],
            stops=tuple(tr.client_stop[c] for c in visits),
            start_time=st,
        )
        for vt, visits, st in routes
    )
    notes = (
        f"pyvrp: {n} search(es) x {epochs} round(s), (round, worker, feasible, cost, iterations): {history}",
        *dict.fromkeys(failures),
    )
    return RawSolution(raw_routes, not infeasible, notes)


def search_params(worker: int = 0) -> pyvrp.SolveParams:
    """PyVRP parameters of the adapter's searches: PyVRP's defaults (the
    neighbourhood sizes 20/30 and late-acceptance history 100 that we tried
    were no better on Solomon at 10 s); what differs from ``pyvrp.solve`` is
    the initial penalties (:func:`initial_penalties`)."""
    del worker  # every worker uses the same parameters, with its own seed
    return pyvrp.SolveParams(ils=IteratedLocalSearchParams(), neighbourhood=NeighbourhoodParams())


def initial_penalties(data: pyvrp.ProblemData) -> tuple[list[float], float, float]:
    """Penalties that start the search balanced: one unit of excess load or
    time warp costs about what travelling an average edge costs per unit of
    average demand or average travel time. (PyVRP 0.14 starts at the midpoint
    of [min_penalty, max_penalty] = 50 000, far too high for integer data at a
    scale of 1000 per unit; the penalty manager then needs tens of thousands
    of iterations to bring it down.)"""
    dist = np.asarray(data.distance_matrix(0), dtype=float)
    dur = np.asarray(data.duration_matrix(0), dtype=float)
    vt = data.vehicle_types()
    unit_cost = max(vt[0].unit_distance_cost, 1) if vt else 1
    avg_cost = max(float(dist.mean()) * unit_cost, 1.0)
    avg_dur = max(float(dur.mean()), 1.0)
    loads = []
    for dim in range(data.num_load_dimensions):
        demand = [c.delivery[dim] + c.pickup[dim] for c in data.clients()]
        loads.append(avg_cost / max(float(np.mean(demand)) if demand else 1.0, 1.0))
    return loads, avg_cost / avg_dur, avg_cost / max(float(dist.mean()), 1.0)


def _ils(data, stop, seed, params, init):
    """``pyvrp.solve`` with :func:`initial_penalties` instead of PyVRP's."""
    rng = pyvrp.RandomNumberGenerator(seed=seed)
    neighbours = compute_neighbours(data, params.neighbourhood)
    ls = LocalSearch(data, rng, neighbours, PerturbationManager(params.perturbation))
    for op in params.operators:
        if op.supports(data):
            ls.add_operator(op(data))
    pm = pyvrp.PenaltyManager(initial_penalties(data), params.penalty)
    if init is None:
        init = ls(pyvrp.Solution.make_random(data, rng), pm.max_cost_evaluator(), exhaustive=True)
    algo = pyvrp.IteratedLocalSearch(data, pm, ls, init, params.ils)
    return algo.run(stop, collect_stats=False, display=False)


def _search(data, deadline, seed, max_iterations, init_routes, worker=0):
    """One PyVRP search until ``deadline`` (time.monotonic, shared by processes
    on one machine), optionally from given routes. Returns plain, picklable
    values."""
    remaining = max(0.0, deadline - time.monotonic())
    criteria = [MaxRuntime(remaining)]
    if max_iterations is not None:
        criteria.append(MaxIterations(max_iterations))
    init = None
    if init_routes is not None:
        init = pyvrp.Solution(data, [pyvrp.Route(data, visits, vt) for vt, visits, _ in init_routes])
    with warnings.catch_warnings():
        # an over-full day makes the penalties hit their bound; the caller
        # sees the infeasible result and runs the repair search instead
        warnings.simplefilter("ignore", PenaltyBoundWarning)
        result = _ils(data, MultipleCriteria(criteria), seed, search_params(worker), init)
    best = result.best
    routes = [
        (
            route.vehicle_type(),
            [a.idx for a in route.schedule() if a.type == pyvrp.ActivityType.CLIENT],
            int(route.start_time()),
        )
        for route in best.routes()
    ]
    cost = int(best.distance_cost() + best.duration_cost() + best.fixed_vehicle_cost())
    cost += int(best.uncollected_prizes())
    return cost, bool(best.is_feasible()), routes, int(result.num_iterations)


def plain(problem: RoutingProblem, *, time_limit: float, seed: int) -> RawSolution:
    """PyVRP as it comes: ``pyvrp.solve(data, stop=MaxRuntime(time_limit),
    seed=seed)`` with default parameters, one process, every stop required.
    For benchmarking the adapter against; not used by ``solve_routes``."""
    tr = translate(problem, range(len(problem.stops)), force_all=True)
    result = pyvrp.solve(tr.data, stop=MaxRuntime(time_limit), seed=seed, display=False)
    routes = tuple(
        RawRoute(
            group=tr.type_group[route.vehicle_type()],
            stops=tuple(
                tr.client_stop[a.idx] for a in route.schedule() if a.type == pyvrp.ActivityType.CLIENT
            ),
            start_time=int(route.start_time()),
        )
        for route in result.best.routes()
    )
    notes = (f"plain pyvrp: seed {seed}, iterations {result.num_iterations}",)
    return RawSolution(routes, bool(result.best.is_feasible()), notes)
