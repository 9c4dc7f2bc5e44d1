"""OR-Tools adapter: every call into the OR-Tools routing library lives here.

The routing API moved between releases (``ortools.constraint_solver.pywrapcp``
up to 9.x, ``ortools.routing`` later); :func:`_api` finds whichever is
installed. Model: one node per stop plus start/end nodes per vehicle, arc cost
``distance_cost * distance``, a time dimension (travel + service at the tail,
waiting allowed) with windows on the cumul variables (several windows: the
gaps are removed), a load dimension when there are demands, and a disjunction
per stop (penalty = the stop's, or for a required stop ``big_penalty`` so it is
dropped only when it cannot fit). First solution PARALLEL_CHEAPEST_INSERTION,
then guided local search until the time limit.
"""

from __future__ import annotations

from collections.abc import Sequence

from ._pyvrp import big_penalty
from ._raw import RawRoute, RawSolution
from .model import RoutingProblem


def _api():
    try:  # OR-Tools >= 9.12 also ships this; later releases only this
        from ortools.routing import enums_pb2, parameters_pb2, pywraprouting

        return pywraprouting, enums_pb2, parameters_pb2
    except ImportError:  # pragma: no cover - older releases
        from ortools.constraint_solver import pywrapcp, routing_enums_pb2

        return pywrapcp, routing_enums_pb2, None


def solve(
    problem: RoutingProblem,
    stops: Sequence[int],
    *,
    force_all: bool,
    time_limit: float,
    seed: int,
) -> RawSolution:
    """Route the given stops. ``force_all`` is accepted for symmetry with the
    PyVRP adapter: required stops are always soft here (with a prize larger
    than any plan's travel cost), so a plan is found even when not all fit."""
    del force_all, seed  # OR-Tools' search is deterministic for a given run length
    if not stops:
        return RawSolution((), True)
    wrap, enums, _ = _api()
    fleet = [(gi, g) for gi, g in enumerate(problem.vehicles) for _ in range(g.count)]
    n_stops = len(stops)
    # node i < n_stops is stops[i]; starts and ends come from the manager
    locations = [problem.stops[s].location for s in stops]
    starts_loc = [g.start_location for _, g in fleet]
    ends_loc = [g.end for _, g in fleet]
    node_loc = locations + starts_loc + ends_loc
    starts = [n_stops + k for k in range(len(fleet))]
    ends = [n_stops + len(fleet) + k for k in range(len(fleet))]
    manager = wrap.RoutingIndexManager(len(node_loc), len(fleet), starts, ends)
    routing = wrap.RoutingModel(manager)

    dist, dur = problem.distances, problem.durations
    service = [problem.stops[s].service for s in stops] + [0] * (2 * len(fleet))

    def arc_cost(i: int, j: int) -> int:
        a, b = manager.IndexToNode(i), manager.IndexToNode(j)
        return problem.distance_cost * int(dist[node_loc[a], node_loc[b]])

    def transit(i: int, j: int) -> int:
        a, b = manager.IndexToNode(i), manager.IndexToNode(j)
        return service[a] + int(dur[node_loc[a], node_loc[b]])

    cost_cb = routing.RegisterTransitCallback(arc_cost)
    routing.SetArcCostEvaluatorOfAllVehicles(cost_cb)
    time_cb = routing.RegisterTransitCallback(transit)
    horizon = max(
        [g.shift_end for _, g in fleet if g.shift_end is not None]
        + [w[-1][1] + problem.stops[s].service for s in stops for w in [problem.stops[s].time_windows] if w]
        + [0]
    )
    horizon = max(horizon, int(dur.max(initial=0)) * (n_stops + 2) + sum(service))
    routing.AddDimension(time_cb, horizon, horizon, False, "time")
    time_dim = routing.GetDimensionOrDie("time")
    if problem.duration_cost:
        time_dim.SetSpanCostCoefficientForAllVehicles(problem.duration_cost)

    for node, s in enumerate(stops):
        windows = problem.stops[s].time_windows
        if not windows:
            continue
        var = time_dim.CumulVar(manager.NodeToIndex(node))
        var.SetRange(windows[0][0], windows[-1][1])
        for (_, late), (early, _) in zip(windows, windows[1:]):
            if early - late > 1:
                var.RemoveInterval(late + 1, early - 1)

    for k, (_, g) in enumerate(fleet):
        end_limit = g.shift_end if g.shift_end is not None else horizon
        time_dim.CumulVar(routing.Start(k)).SetRange(g.shift_start, end_limit)
        time_dim.CumulVar(routing.End(k)).SetRange(g.shift_start, end_limit)
        if g.max_duration is not None:
            time_dim.SetSpanUpperBoundForVehicle(g.max_duration, k)
        if g.fixed_cost:
            routing.SetFixedCostOfVehicle(g.fixed_cost, k)
        routing.AddVariableMinimizedByFinalizer(time_dim.CumulVar(routing.Start(k)))
        routing.AddVariableMinimizedByFinalizer(time_dim.CumulVar(routing.End(k)))

    demands = [problem.stops[s].demand for s in stops] + [0] * (2 * len(fleet))
    if any(demands) and any(g.capacity is not None for _, g in fleet):
        total = sum(demands)
        caps = [g.capacity if g.capacity is not None else total for _, g in fleet]

        def load(i: int) -> int:
            return demands[manager.IndexToNode(i)]

        load_cb = routing.RegisterUnaryTransitCallback(load)
        routing.AddDimensionWithVehicleCapacity(load_cb, 0, caps, True, "load")

    big = big_penalty(problem)
    for node, s in enumerate(stops):
        stop = problem.stops[s]
        penalty = big if stop.required else int(stop.penalty or 0)
        routing.AddDisjunction([manager.NodeToIndex(node)], penalty)

    params = wrap.DefaultRoutingSearchParameters()
    params.first_solution_strategy = enums.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
    params.local_search_metaheuristic = enums.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    seconds = max(0.01, float(time_limit))
    params.time_limit.seconds = int(seconds)
    params.time_limit.nanos = int((seconds - int(seconds)) * 1e9)
    solution = routing.SolveWithParameters(params)
    if solution is None:
        return RawSolution((), False, ("ortools: no solution found",))

    routes = []
    for k, (gi, _) in enumerate(fleet):
        index = routing.Start(k)
        start_time = solution.Min(time_dim.CumulVar(index))
        visited = []
        index = solution.Value(routing.NextVar(index))
        while not routing.IsEnd(index):
            visited.append(stops[manager.IndexToNode(index)])
            index = solution.Value(routing.NextVar(index))
        if visited:
            routes.append(RawRoute(group=gi, stops=tuple(visited), start_time=int(start_time)))
    served = {s for r in routes for s in r.stops}
    feasible = all(s in served for s in stops if problem.stops[s].required)
    return RawSolution(tuple(routes), feasible, (f"ortools: objective {solution.ObjectiveValue()}",))
