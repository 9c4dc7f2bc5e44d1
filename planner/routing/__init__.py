"""Daily route optimisation: plain-data problem in, immutable result out.

Public API::

    solve_routes(problem, *, time_limit, seed=0, engine="auto", workers=None,
                 max_iterations=None, repair_share=0.25) -> RouteResult

with :class:`RoutingProblem`, :class:`Stop`, :class:`Vehicles` describing the
day and :class:`RouteResult`, :class:`Route`, :class:`Visit`,
:class:`Unassigned` describing the plan. Units: :mod:`planner.routing.units`.
Solomon VRPTW instances: :mod:`planner.routing.solomon`.
"""

from .model import (
    Route,
    RouteResult,
    RoutingProblem,
    Status,
    Stop,
    Unassigned,
    Vehicles,
    Visit,
)
from .schedule import timeline
from .solve import ENGINES, solve_routes

__all__ = [
    "ENGINES",
    "Route",
    "RouteResult",
    "RoutingProblem",
    "Status",
    "Stop",
    "Unassigned",
    "Vehicles",
    "Visit",
    "solve_routes",
    "timeline",
]
