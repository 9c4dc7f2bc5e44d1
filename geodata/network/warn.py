"""The warning class of the network package."""

from __future__ import annotations


class NetworkWarning(UserWarning):
    """Travel times are estimates: no roads, unreachable pairs, points far from a road."""


def describe_ids(ids, positions, *, limit: int = 20) -> str:
    """``a, b, c … and 12 more`` for the ``ids`` at ``positions`` (positions if ``ids`` is None)."""
    names = [str(ids[i]) if ids is not None else f"#{i}" for i in positions[:limit]]
    more = len(positions) - limit
    return ", ".join(names) + (f" … and {more} more" if more > 0 else "")
