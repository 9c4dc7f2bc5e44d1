"""Exact engine for small one-vehicle days: every visiting order, evaluated at once with numpy.

A cadre's day is often short (half the cadre-days of the demo county hold at
most four in-person visits). For such a day starting PyVRP costs more than the
answer: :func:`solve` enumerates all ``n!`` orders (``n`` ≤ :data:`MAX_STOPS`),
computes each order's timeline with waiting, the best departure time and the
objective, and returns the best feasible order, which is optimal.

Timeline of an order (all integers): with ``A_k`` the arrival at its ``k``-th
stop when leaving at time 0 without waiting and ``C`` the return time in the
same case (travel plus service), leaving at ``t`` serves stop ``k`` at
``A_k + max(t, W_k)`` where ``W_k = max_{j≤k}(e_j − A_j)`` (``e`` the window
openings), and returns at ``C + max(t, W_n)``. So the order is feasible iff
``W_k ≤ l_k − A_k`` for every ``k`` and some ``t`` in ``[shift_start,
min(min_k(l_k − A_k), shift_end − C)]`` exists; its duration ``C + max(0,
W_n − t)`` is least at ``t* = min(t_max, max(shift_start, W_n))``.

Only problems this covers are taken (``None`` otherwise, and the caller uses
PyVRP): one vehicle, every stop required, at most one time window per stop,
no capacity limit that binds.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from ._raw import RawRoute, RawSolution
from .model import RoutingProblem

#: at most this many stops are solved by enumeration (7! = 5,040 orders; 8! would cost more than PyVRP)
MAX_STOPS = 7
_FAR = 10**15


@lru_cache(maxsize=None)
def _orders(n: int) -> np.ndarray:
    return np.array(list(itertools.permutations(range(n))), dtype=np.int64).reshape(-1, n)


def applicable(problem: RoutingProblem, stops: Sequence[int]) -> bool:
    """Whether :func:`solve` takes this problem (see the module docstring)."""
    if len(stops) > MAX_STOPS or len(problem.vehicles) != 1 or problem.vehicles[0].count != 1:
        return False
    g = problem.vehicles[0]
    chosen = [problem.stops[i] for i in stops]
    if any(not s.required or len(s.time_windows) > 1 for s in chosen):
        return False
    return g.capacity is None or sum(s.demand for s in chosen) <= g.capacity


def solve(problem: RoutingProblem, stops: Sequence[int]) -> RawSolution | None:
    """The optimal route serving every stop in ``stops``, or ``None`` when no order is feasible
    (the caller's repair search then decides what to leave out) or the problem is not covered."""
    if not applicable(problem, stops):
        return None
    stops = list(stops)
    if not stops:
        return RawSolution((), True, ("exact: no stops",))
    g = problem.vehicles[0]
    n = len(stops)
    dur, dist = problem.durations, problem.distances
    loc = np.array([problem.stops[i].location for i in stops], dtype=np.int64)
    svc = np.array([problem.stops[i].service for i in stops], dtype=np.int64)
    early = np.array([s.time_windows[0][0] if s.time_windows else -_FAR for s in (problem.stops[i] for i in stops)])
    late = np.array([s.time_windows[0][1] if s.time_windows else _FAR for s in (problem.stops[i] for i in stops)])

    perm = _orders(n)  # (P, n) positions into ``stops``
    at = loc[perm]
    first_d, first_m = dur[g.start_location, at[:, 0]], dist[g.start_location, at[:, 0]]
    mid_d, mid_m = dur[at[:, :-1], at[:, 1:]], dist[at[:, :-1], at[:, 1:]]
    last_d, last_m = dur[at[:, -1], g.end], dist[at[:, -1], g.end]
    s = svc[perm]
    # arrival at the k-th stop leaving at 0 without waiting
    legs = np.concatenate([first_d[:, None], mid_d + s[:, :-1]], axis=1)
    arrive = np.cumsum(legs, axis=1)
    back = arrive[:, -1] + s[:, -1] + last_d  # C
    slack = late[perm] - arrive  # l_k - A_k
    wait = np.maximum.accumulate(early[perm] - arrive, axis=1)  # W_k
    t_max = np.minimum(slack.min(axis=1), (g.shift_end if g.shift_end is not None else _FAR) - back)
    w_n = wait[:, -1]
    ok = (wait <= slack).all(axis=1) & (t_max >= g.shift_start)
    t_best = np.minimum(t_max, np.maximum(g.shift_start, w_n))
    duration = back + np.maximum(0, w_n - t_best)
    if g.shift_end is not None:
        ok &= back + np.maximum(t_best, w_n) <= g.shift_end
    if g.max_duration is not None:
        ok &= duration <= g.max_duration
    if not ok.any():
        return None
    distance = first_m + mid_m.sum(axis=1) + last_m
    cost = problem.distance_cost * distance + problem.duration_cost * duration
    cost = np.where(ok, cost, np.iinfo(np.int64).max)
    best = int(np.argmin(cost))  # ties: the first order in lexicographic order
    route = RawRoute(group=0, stops=tuple(stops[k] for k in perm[best]), start_time=int(t_best[best]))
    return RawSolution((route,), True, (f"exact: best of {len(perm):,} orders",))
