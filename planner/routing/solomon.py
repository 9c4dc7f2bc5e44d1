"""Solomon VRPTW instances: parser, conversion and an exact checker.

Conventions (see ``shared/bench/solomon/README.md``): travel time = distance =
unrounded Euclidean distance; service must start within ``[ready, due]``;
routes leave the depot at or after 0 and are back by the depot's ``due``;
load per route at most the capacity; at most the given number of routes;
objective total distance only.

:func:`to_problem` scales by :data:`~planner.routing.units.BENCHMARK_SCALE`
with travel *durations rounded up* (so integer-feasible means
exactly feasible) and *distances rounded to nearest* (a cost only).
:func:`check` verifies routes independently in exact arithmetic and
recomputes the distance in double precision.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal, localcontext
from pathlib import Path

import numpy as np

from .model import RoutingProblem, Stop, Vehicles
from .units import BENCHMARK_SCALE, ceil_sqrt_scaled, round_sqrt_scaled


@dataclass(frozen=True)
class SolomonInstance:
    name: str
    num_vehicles: int
    capacity: int
    x: tuple[int, ...]  # row 0 is the depot
    y: tuple[int, ...]
    demand: tuple[int, ...]
    ready: tuple[int, ...]
    due: tuple[int, ...]
    service: tuple[int, ...]

    @property
    def num_customers(self) -> int:
        return len(self.x) - 1

    def squared(self, i: int, j: int) -> int:
        return (self.x[i] - self.x[j]) ** 2 + (self.y[i] - self.y[j]) ** 2

    def distance(self, i: int, j: int) -> float:
        return math.sqrt(self.squared(i, j))


def read_solomon(path: str | Path) -> SolomonInstance:
    """Parse the standard Solomon text format (split on whitespace)."""
    lines = Path(path).read_text().splitlines()
    name = lines[0].strip()
    tokens = [line.split() for line in lines[1:]]
    fleet_at = next(i for i, t in enumerate(tokens) if t[:1] == ["NUMBER"])
    num_vehicles, capacity = (int(v) for v in tokens[fleet_at + 1])
    rows = [t for t in tokens[fleet_at + 2 :] if len(t) == 7 and t[0].isdigit()]
    cols = list(zip(*[[int(float(v)) for v in row] for row in rows]))
    ids = list(cols[0])
    if ids != list(range(len(ids))):
        raise ValueError(f"{path}: rows are not numbered 0..{len(ids) - 1}")
    return SolomonInstance(
        name=name,
        num_vehicles=num_vehicles,
        capacity=capacity,
        x=cols[1],
        y=cols[2],
        demand=cols[3],
        ready=cols[4],
        due=cols[5],
        service=cols[6],
    )


def to_problem(
    inst: SolomonInstance, *, scale: int = BENCHMARK_SCALE, round_durations_up: bool = True
) -> RoutingProblem:
    """Stop ``i`` is customer ``i + 1``; location 0 is the depot.

    ``round_durations_up=False`` rounds travel times to nearest like the
    distances (PyVRP's ``read(..., round_func="exact")``); time windows may then
    hold in the integer model but not exactly, so check the routes."""
    n = len(inst.x)
    sq = [[inst.squared(i, j) for j in range(n)] for i in range(n)]
    to_time = ceil_sqrt_scaled if round_durations_up else round_sqrt_scaled
    durations = np.array([[to_time(v, scale) for v in row] for row in sq], dtype=np.int64)
    distances = np.array([[round_sqrt_scaled(v, scale) for v in row] for row in sq], dtype=np.int64)
    stops = tuple(
        Stop(
            location=c,
            service=inst.service[c] * scale,
            time_windows=((inst.ready[c] * scale, inst.due[c] * scale),),
            demand=inst.demand[c],
            name=str(c),
        )
        for c in range(1, n)
    )
    vehicles = (
        Vehicles(
            count=inst.num_vehicles,
            capacity=inst.capacity,
            start_location=0,
            shift_start=inst.ready[0] * scale,
            shift_end=inst.due[0] * scale,
        ),
    )
    return RoutingProblem(
        durations=durations, distances=distances, stops=stops, vehicles=vehicles, name=inst.name
    )


@dataclass(frozen=True)
class Check:
    feasible: bool
    distance: float  # recomputed in double precision
    vehicles: int
    problems: tuple[str, ...]


def check(inst: SolomonInstance, routes: list[list[int]]) -> Check:
    """Verify routes (lists of customer numbers 1..n) exactly.

    Times are sums of square roots; they are compared in 60-digit decimal
    arithmetic, in which ``Decimal.sqrt`` is correctly rounded. A comparison
    could only go wrong if a time were within 1e-50 of a bound without equal
    to it, which sums of square roots of integers of this size do not do.
    """
    problems: list[str] = []
    routes = [list(r) for r in routes if r]
    seen = [c for r in routes for c in r]
    customers = set(range(1, len(inst.x)))
    if sorted(seen) != sorted(customers):
        missing = sorted(customers - set(seen))
        twice = sorted({c for c in seen if seen.count(c) > 1})
        extra = sorted(set(seen) - customers)
        problems.append(f"customers missing {missing[:10]}, repeated {twice[:10]}, unknown {extra[:10]}")
    if len(routes) > inst.num_vehicles:
        problems.append(f"{len(routes)} routes > {inst.num_vehicles} vehicles")
    total = 0.0
    with localcontext() as ctx:
        ctx.prec = 60
        for k, route in enumerate(routes):
            load = sum(inst.demand[c] for c in route if c in customers)
            if load > inst.capacity:
                problems.append(f"route {k}: load {load} > capacity {inst.capacity}")
            clock = Decimal(inst.ready[0])
            here = 0
            for c in route + [0]:
                if c not in customers and c != 0:
                    continue
                total += inst.distance(here, c)
                arrival = clock + Decimal(inst.squared(here, c)).sqrt()
                start = max(arrival, Decimal(inst.ready[c]))
                if start > inst.due[c]:
                    what = "depot" if c == 0 else f"customer {c}"
                    problems.append(f"route {k}: {what} reached at {float(start):.4f} > due {inst.due[c]}")
                clock = start + inst.service[c]
                here = c
    return Check(not problems, total, len(routes), tuple(problems))
