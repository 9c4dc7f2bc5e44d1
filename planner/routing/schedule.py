"""Timelines of routes, computed and checked independently of the engines.

The engines only decide which vehicle visits which stops in which order (and
when it leaves); every time in a :class:`~planner.routing.model.RouteResult`
is recomputed here from the problem's integer matrices, and every route is
checked against capacity, time windows, shift and maximum duration.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .model import RoutingProblem, Stop, Vehicles, Visit


@dataclass(frozen=True)
class Timeline:
    visits: tuple[Visit, ...]
    start_time: int
    end_time: int
    distance: int
    load: int
    violations: tuple[str, ...]


def earliest_service(stop: Stop, arrival: int) -> int | None:
    """Earliest service start at or after ``arrival`` inside a window, if any."""
    if not stop.time_windows:
        return arrival
    for early, late in stop.time_windows:
        if arrival <= late:
            return max(arrival, early)
    return None


def timeline(
    problem: RoutingProblem,
    vehicle: Vehicles,
    stops: Sequence[int],
    *,
    start_time: int | None = None,
) -> Timeline:
    """Forward pass with waiting: leave at ``start_time`` (default shift start),
    serve each stop as early as its windows allow. Lists every violation."""
    dur, dist = problem.durations, problem.distances
    begin = vehicle.shift_start if start_time is None else max(start_time, vehicle.shift_start)
    violations: list[str] = []
    visits: list[Visit] = []
    here, clock, distance, load = vehicle.start_location, begin, 0, 0
    for idx in stops:
        stop = problem.stops[idx]
        arrival = clock + int(dur[here, stop.location])
        distance += int(dist[here, stop.location])
        start = earliest_service(stop, arrival)
        if start is None:
            violations.append(f"stop {idx}: arrival {arrival} after its last time window")
            start = arrival
        clock = start + stop.service
        load += stop.demand
        visits.append(Visit(stop=idx, arrival=arrival, start=start, departure=clock))
        here = stop.location
    end = clock + int(dur[here, vehicle.end])
    distance += int(dist[here, vehicle.end])
    if vehicle.shift_end is not None and end > vehicle.shift_end:
        violations.append(f"back at {end} after shift end {vehicle.shift_end}")
    if vehicle.max_duration is not None and end - begin > vehicle.max_duration:
        violations.append(f"duration {end - begin} above maximum {vehicle.max_duration}")
    if vehicle.capacity is not None and load > vehicle.capacity:
        violations.append(f"load {load} above capacity {vehicle.capacity}")
    return Timeline(tuple(visits), begin, end, distance, load, tuple(violations))


def solo_reason(problem: RoutingProblem, idx: int) -> str | None:
    """Why stop ``idx`` cannot be served even alone by any vehicle (else None)."""
    stop = problem.stops[idx]
    groups = [g for g in problem.vehicles if g.count > 0]
    if not groups:
        return "no vehicle available"
    fits = [g for g in groups if g.capacity is None or stop.demand <= g.capacity]
    if not fits:
        return f"demand {stop.demand} exceeds every vehicle's capacity"
    for group in fits:
        reach = int(problem.durations[group.start_location, stop.location])
        starts = {group.shift_start}
        starts.update(e - reach for e, _ in stop.time_windows if e - reach > group.shift_start)
        for start in sorted(starts):
            if not timeline(problem, group, [idx], start_time=start).violations:
                return None
    # the numbers behind it, after " | " (the schedule's shortfall layer splits reason and detail
    # there), in the product's unit (seconds: planner.routing.units) shown as minutes / clock times
    group = fits[0]
    reach = int(problem.durations[group.start_location, stop.location])
    end = group.end_location if group.end_location is not None else group.start_location
    back = int(problem.durations[stop.location, end])
    windows = ", ".join(f"{_clock(a)}-{_clock(b)}" for a, b in stop.time_windows) or "any time"
    shift = f"{_clock(group.shift_start)}-{_clock(group.shift_end) if group.shift_end is not None else 'open'}"
    return ("cannot be reached and served within its time windows and any vehicle's shift | "
            f"travel {reach / 60:.0f} min there and {back / 60:.0f} min back, service {stop.service / 60:.0f} min, "
            f"service may start {windows}, shift {shift}")


def _clock(t: int) -> str:
    """A time of day (seconds since midnight, the product's unit) as HH:MM."""
    t = int(t)
    return f"{t // 3600:02d}:{t % 3600 // 60:02d}"
