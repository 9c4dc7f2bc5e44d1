"""Integer units of the routing problem: the one place that scales.

Both engines work on integers, so :class:`~planner.routing.model.RoutingProblem`
holds integers only:

* time, time windows, service and travel durations: whole **seconds**
  (``TIME_UNIT_SECONDS``),
* distances: whole **metres** (``DISTANCE_UNIT_METRES``).

The adapters pass these integers to PyVRP and OR-Tools unchanged. Callers with
floats (kilometres, minutes, Euclidean benchmark coordinates) convert them
here and nowhere else:

* :func:`scaled_duration` rounds **up**, so that a route that is on time in
  the integer model is on time in exact arithmetic too (rounding down could
  make a late arrival look punctual);
* :func:`scaled_distance` rounds to nearest: distance is only a cost, and the
  caller reports the distance recomputed from the routes anyway.

The Solomon benchmark (unit-less Euclidean coordinates, times in the same
unit) uses ``BENCHMARK_SCALE``: one benchmark unit becomes 1000 integer units.
For coordinates whose squared distances are integers the helpers
:func:`ceil_sqrt_scaled` and :func:`round_sqrt_scaled` are exact (no float
error at all).
"""

from __future__ import annotations

import math

TIME_UNIT_SECONDS = 1
DISTANCE_UNIT_METRES = 1
BENCHMARK_SCALE = 1000


def scaled_duration(value: float, scale: int = 1) -> int:
    """``value * scale`` rounded up to an integer (durations, times)."""
    return int(math.ceil(value * scale - 1e-9))


def scaled_distance(value: float, scale: int = 1) -> int:
    """``value * scale`` rounded to the nearest integer (distances, costs)."""
    return int(round(value * scale))


def ceil_sqrt_scaled(squared: int, scale: int) -> int:
    """Exactly ``ceil(sqrt(squared) * scale)`` for integers ``squared >= 0``."""
    m = squared * scale * scale
    root = math.isqrt(m)
    return root if root * root == m else root + 1


def round_sqrt_scaled(squared: int, scale: int) -> int:
    """Exactly ``round(sqrt(squared) * scale)`` (half up) for integers."""
    m = squared * scale * scale
    root = math.isqrt(m)
    # sqrt(m) >= root + 1/2  <=>  m >= root^2 + root + 1/4  <=>  m > root^2 + root
    return root + 1 if m > root * root + root else root
