"""What an engine adapter hands back before times are recomputed."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RawRoute:
    group: int  # index into problem.vehicles
    stops: tuple[int, ...]  # indices into problem.stops, in visiting order
    start_time: int  # when the vehicle leaves its start location


@dataclass(frozen=True)
class RawSolution:
    routes: tuple[RawRoute, ...]
    feasible: bool  # every forced stop routed and no constraint violated
    notes: tuple[str, ...] = ()
