"""``solve_routes``: one entry point over the engine adapters.

Steps:

1. Stops that no vehicle could serve even alone (demand above every capacity,
   time windows out of reach of every shift) are set aside with that reason.
2. With ``engine="auto"``, a one-vehicle problem of at most
   :data:`planner.routing._exact.MAX_STOPS` required stops is solved exactly
   by enumerating every order (:mod:`._exact`); if no order serves them all,
   PyVRP's repair search (step 4) decides what to leave out.
3. Otherwise the engine searches with required stops as hard constraints and
   optional stops (``penalty`` set) as prize-collecting.
4. If that search ends without a feasible plan (the day cannot fit every
   required stop), a repair search treats required stops as optional with a
   prize larger than any travel cost, so it drops as few as it must; those
   are reported as unassigned with a reason. The repair search gets
   ``repair_share * time_limit`` more seconds (only in this case).
5. Times are recomputed from the integer matrices and every route is checked
   (:mod:`.schedule`). A violation in a plan the engine called feasible is a
   bug and raises ``RuntimeError``; if even the repair search ends without a
   feasible plan, the violating routes are dropped and their stops reported.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence

from . import _exact, _ortools, _pyvrp
from ._raw import RawSolution
from .model import Route, RouteResult, RoutingProblem, Unassigned
from .schedule import solo_reason, timeline

ENGINES = ("pyvrp", "ortools")
_UNSCHEDULED = "no feasible schedule found in the time limit for the route it was on"
_READOUT_MARGIN = 0.1  # seconds kept for stopping workers and building the result


def solve_routes(
    problem: RoutingProblem,
    *,
    time_limit: float,
    seed: int = 0,
    engine: str = "auto",
    workers: int | None = None,
    max_iterations: int | None = None,
    repair_share: float = 0.25,
) -> RouteResult:
    """Plan the routes of one day.

    ``engine``: ``"auto"`` (exact enumeration for a one-vehicle day of at most
    :data:`planner.routing._exact.MAX_STOPS` required stops, else PyVRP),
    ``"pyvrp"`` or ``"ortools"``.
    ``workers``: parallel PyVRP searches (default: up to 2, the CPU count).
    ``max_iterations``: optional extra stop for PyVRP (per search), for
    reproducible short runs. OR-Tools ignores both.
    """
    if time_limit <= 0:
        raise ValueError("time_limit must be positive")
    name = "pyvrp" if engine == "auto" else engine
    if name not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; expected auto, {', '.join(ENGINES)}")
    if workers is None:
        workers = max(1, min(2, os.cpu_count() or 1))
    started = time.perf_counter()

    set_aside: dict[int, str] = {}
    for idx in range(len(problem.stops)):
        reason = solo_reason(problem, idx)
        if reason is not None:
            set_aside[idx] = reason
    candidates = [i for i in range(len(problem.stops)) if i not in set_aside]

    def run(force_all: bool, seconds: float) -> RawSolution:
        if name == "pyvrp":
            return _pyvrp.solve(
                problem,
                candidates,
                force_all=force_all,
                time_limit=seconds,
                seed=seed,
                workers=workers,
                max_iterations=max_iterations,
            )
        return _ortools.solve(
            problem, candidates, force_all=force_all, time_limit=seconds, seed=seed
        )

    if engine == "auto" and _exact.applicable(problem, candidates):
        raw = _exact.solve(problem, candidates)
        if raw is not None:  # None: no order serves them all; PyVRP's repair search drops the fewest
            return _assemble(problem, raw, set_aside, candidates, "exact", time.perf_counter() - started, raw.notes)
    # the whole call, set-up and read-out included, should fit in time_limit
    budget = time_limit - (time.perf_counter() - started) - _READOUT_MARGIN * min(1.0, time_limit)
    raw = run(True, max(0.01, budget))
    notes = list(raw.notes)
    if not raw.feasible and name == "pyvrp":  # OR-Tools stops are soft already
        notes.append("no plan serves every required stop; repair search drops the fewest")
        raw = run(False, max(0.5, repair_share * time_limit))
        notes.extend(raw.notes)
    runtime = time.perf_counter() - started
    return _assemble(problem, raw, set_aside, candidates, name, runtime, tuple(notes))


def _assemble(
    problem: RoutingProblem,
    raw: RawSolution,
    set_aside: dict[int, str],
    candidates: Sequence[int],
    engine: str,
    runtime: float,
    notes: tuple[str, ...],
) -> RouteResult:
    group_first = []
    first = 0
    for g in problem.vehicles:
        group_first.append(first)
        first += g.count
    used_in_group = [0] * len(problem.vehicles)

    routes = []
    unschedulable: list[int] = []
    for rr in raw.routes:
        if not rr.stops:
            continue
        group = problem.vehicles[rr.group]
        tl = timeline(problem, group, rr.stops, start_time=rr.start_time)
        if tl.violations and raw.feasible:
            raise RuntimeError(f"{engine} returned an infeasible route: {'; '.join(tl.violations)}")
        if tl.violations:  # the repair search ran out of time: drop the route
            unschedulable.extend(rr.stops)
            continue
        vehicle = group_first[rr.group] + used_in_group[rr.group]
        used_in_group[rr.group] += 1
        routes.append(
            Route(
                vehicle=vehicle,
                visits=tl.visits,
                start_time=tl.start_time,
                end_time=tl.end_time,
                distance=tl.distance,
                duration=tl.end_time - tl.start_time,
                load=tl.load,
            )
        )
    routes.sort(key=lambda r: r.vehicle)

    served = [s for r in routes for s in r.stops]
    if len(served) != len(set(served)):
        raise RuntimeError(f"{engine} visited a stop twice")
    served_set = set(served)
    unassigned = [Unassigned(i, reason) for i, reason in sorted(set_aside.items())]
    dropped = [i for i in candidates if i not in served_set]
    unassigned.extend(
        Unassigned(i, _UNSCHEDULED if i in unschedulable else _drop_reason(problem, i))
        for i in dropped
    )
    unassigned.sort(key=lambda u: u.stop)

    missing_required = [u for u in unassigned if problem.stops[u.stop].required]
    if not missing_required:
        status = "feasible"
    else:
        status = "partial" if routes else "no_solution"

    total_distance = sum(r.distance for r in routes)
    total_duration = sum(r.duration for r in routes)
    objective = problem.distance_cost * total_distance + problem.duration_cost * total_duration
    objective += sum(problem.fleet[r.vehicle].fixed_cost for r in routes)
    objective += sum(problem.stops[u.stop].penalty or 0 for u in unassigned)
    return RouteResult(
        routes=tuple(routes),
        unassigned=tuple(unassigned),
        total_distance=total_distance,
        total_duration=total_duration,
        objective=objective,
        status=status,
        engine=engine,
        runtime=runtime,
        notes=notes,
    )


def _drop_reason(problem: RoutingProblem, idx: int) -> str:
    stop = problem.stops[idx]
    if not stop.required:
        return (
            f"optional stop left out: serving it costs more than its penalty {stop.penalty} "
            "or no vehicle has room for it"
        )
    capacity = [g.capacity for g in problem.vehicles if g.count > 0]
    demand = sum(s.demand for s in problem.stops if s.required)
    if capacity and None not in capacity:
        total = sum(g.capacity * g.count for g in problem.vehicles if g.count > 0)
        if demand > total:
            return f"day is full: required demand {demand} exceeds the fleet's capacity {total}"
    return "day is full: no vehicle's shift and time windows have room for it besides the other stops"
