"""Reference runs for benchmarks: the engines as they come, without the
adapter's search strategy (parallel searches, tuned parameters, repair)."""

from __future__ import annotations

from . import _pyvrp
from ._raw import RawRoute, RawSolution
from .model import RoutingProblem

__all__ = ["RawRoute", "RawSolution", "plain_pyvrp"]


def plain_pyvrp(problem: RoutingProblem, *, time_limit: float, seed: int = 0) -> RawSolution:
    """``pyvrp.solve(data, stop=MaxRuntime(time_limit), seed=seed)`` on the
    problem translated as by the adapter; routes are returned unchecked."""
    return _pyvrp.plain(problem, time_limit=time_limit, seed=seed)
