"""Plain-data routing problem and result.

A day of visits is a :class:`RoutingProblem`: locations are the rows of two
integer matrices (travel ``durations`` and travel ``distances``), stops are
visits at a location with service time, time windows and demand, and vehicle
groups (:class:`Vehicles`) say where and when each vehicle starts and ends.
Every time and duration is an integer number of the problem's time unit and
every distance an integer number of its distance unit; :mod:`.units` is the one
place that says which units (seconds and metres in the product) and how to
turn floats into them.

:class:`RouteResult` is what :func:`planner.routing.solve_routes` returns. It is
immutable and uses only indices into the problem (stop ``i`` is
``problem.stops[i]``; vehicle ``k`` is the ``k``-th vehicle when the groups in
``problem.vehicles`` are expanded in order).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

Status = Literal["feasible", "partial", "no_solution"]
"""``feasible``: every required stop is routed; ``partial``: some required
stops are unassigned (each with a reason); ``no_solution``: nothing routed."""


@dataclass(frozen=True)
class Stop:
    """One visit.

    ``time_windows`` are closed intervals in which service must *start*; an
    empty tuple means any time within the vehicle's shift. ``penalty`` makes the
    stop optional: ``None`` means required, an integer is the objective cost of
    leaving the stop out (a prize for visiting it).
    """

    location: int
    service: int = 0
    time_windows: tuple[tuple[int, int], ...] = ()
    demand: int = 0
    penalty: int | None = None
    name: str = ""

    def __post_init__(self) -> None:
        windows = tuple((int(a), int(b)) for a, b in self.time_windows)
        object.__setattr__(self, "time_windows", windows)
        if self.service < 0 or self.demand < 0:
            raise ValueError("service and demand must be non-negative")
        if self.penalty is not None and self.penalty < 0:
            raise ValueError("penalty must be non-negative")
        for early, late in windows:
            if early > late:
                raise ValueError(f"empty time window ({early}, {late})")
        for (_, late), (early, _) in zip(windows, windows[1:]):
            if early <= late:
                raise ValueError("time windows must be sorted and disjoint")

    @property
    def required(self) -> bool:
        return self.penalty is None


@dataclass(frozen=True)
class Vehicles:
    """A group of ``count`` identical vehicles (or walking teams).

    ``capacity`` ``None`` means unlimited. The shift is ``[shift_start,
    shift_end]``: a vehicle leaves ``start_location`` no earlier than
    ``shift_start`` and is back at ``end_location`` (default: the start) no
    later than ``shift_end``; ``max_duration`` bounds end minus start.
    ``fixed_cost`` is charged per vehicle used.
    """

    count: int = 1
    capacity: int | None = None
    start_location: int = 0
    end_location: int | None = None
    shift_start: int = 0
    shift_end: int | None = None
    max_duration: int | None = None
    fixed_cost: int = 0
    name: str = ""

    def __post_init__(self) -> None:
        if self.count < 0:
            raise ValueError("count must be non-negative")
        if self.capacity is not None and self.capacity < 0:
            raise ValueError("capacity must be non-negative")
        if self.shift_end is not None and self.shift_end < self.shift_start:
            raise ValueError("shift_end before shift_start")

    @property
    def end(self) -> int:
        return self.start_location if self.end_location is None else self.end_location


@dataclass(frozen=True, eq=False)
class RoutingProblem:
    """A day's routing problem. Matrices are square, integer, non-negative.

    The objective is ``distance_cost * distance + duration_cost * duration``
    summed over routes (duration includes waiting), plus fixed vehicle costs,
    plus the penalties of optional stops left out.
    """

    durations: np.ndarray
    distances: np.ndarray
    stops: tuple[Stop, ...]
    vehicles: tuple[Vehicles, ...]
    distance_cost: int = 1
    duration_cost: int = 0
    name: str = ""

    def __post_init__(self) -> None:
        durations = _frozen_matrix(self.durations, "durations")
        distances = _frozen_matrix(self.distances, "distances")
        if durations.shape != distances.shape:
            raise ValueError("durations and distances differ in shape")
        object.__setattr__(self, "durations", durations)
        object.__setattr__(self, "distances", distances)
        object.__setattr__(self, "stops", tuple(self.stops))
        object.__setattr__(self, "vehicles", tuple(self.vehicles))
        n = durations.shape[0]
        for stop in self.stops:
            if not 0 <= stop.location < n:
                raise ValueError(f"stop location {stop.location} not in matrix")
        for group in self.vehicles:
            for loc in (group.start_location, group.end):
                if not 0 <= loc < n:
                    raise ValueError(f"vehicle location {loc} not in matrix")
        if self.distance_cost < 0 or self.duration_cost < 0:
            raise ValueError("costs must be non-negative")

    @property
    def num_locations(self) -> int:
        return int(self.durations.shape[0])

    @property
    def fleet(self) -> tuple[Vehicles, ...]:
        """One entry per vehicle: the groups expanded in order."""
        return tuple(g for g in self.vehicles for _ in range(g.count))


def _frozen_matrix(values: object, what: str) -> np.ndarray:
    matrix = np.array(values, dtype=np.int64, copy=True)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"{what} must be a square matrix")
    if (matrix < 0).any():
        raise ValueError(f"{what} must be non-negative")
    matrix.setflags(write=False)
    return matrix


@dataclass(frozen=True)
class Visit:
    """A stop on a route: reach it at ``arrival``, wait, serve from ``start``
    to ``departure``."""

    stop: int
    arrival: int
    start: int
    departure: int


@dataclass(frozen=True)
class Route:
    vehicle: int
    visits: tuple[Visit, ...]
    start_time: int
    end_time: int
    distance: int
    duration: int
    load: int

    @property
    def stops(self) -> tuple[int, ...]:
        return tuple(v.stop for v in self.visits)


@dataclass(frozen=True)
class Unassigned:
    stop: int
    reason: str


@dataclass(frozen=True)
class RouteResult:
    routes: tuple[Route, ...]
    unassigned: tuple[Unassigned, ...]
    total_distance: int
    total_duration: int
    objective: int
    status: Status
    engine: str
    runtime: float
    notes: tuple[str, ...] = field(default=())

    @property
    def vehicles_used(self) -> int:
        return len(self.routes)
