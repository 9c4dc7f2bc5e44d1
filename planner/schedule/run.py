"""Routing many cadre-days, in parallel worker processes when asked.

Days are independent once the campaign level has placed the visits, so they
are grouped by cadre into chunks and sent to a ``ProcessPoolExecutor``; the
road network is handed to each worker once (fork) and each day returns plain
data (:class:`~planner.schedule.day.DayResult`).
"""

from __future__ import annotations

import concurrent.futures as futures
import multiprocessing
from collections.abc import Callable

from planner.schedule.day import DayJob, DayResult, route_cadre

_NETWORK = None
_OPTIONS: dict = {}


def _init(network, options):
    global _NETWORK, _OPTIONS
    _NETWORK, _OPTIONS = network, options


def _chunk(jobs: list[DayJob]) -> list[DayResult]:
    return _by_cadre(_NETWORK, jobs, _OPTIONS)


def _by_cadre(network, jobs: list[DayJob], options: dict) -> list[DayResult]:
    out: list[DayResult] = []
    k = 0
    while k < len(jobs):
        j = k
        while j < len(jobs) and jobs[j].cadre_id == jobs[k].cadre_id:
            j += 1
        out.extend(route_cadre(network, jobs[k:j], **options))
        k = j
    return out


def route_days(network, jobs: list[DayJob], *, options: dict, workers: int = 1,
               progress: Callable[[int], None] | None = None, chunk_days: int = 40) -> list[DayResult]:
    """Route every job; results in the order of ``jobs``. ``progress(n)`` after each ``n`` days."""
    if not jobs:
        return []
    if workers <= 1 or len(jobs) < 2 * chunk_days:
        out: list[DayResult] = []
        k = 0
        while k < len(jobs):
            j = k
            while j < len(jobs) and jobs[j].cadre_id == jobs[k].cadre_id:
                j += 1
            out.extend(_by_cadre(network, jobs[k:j], options))
            if progress:
                progress(j - k)
            k = j
        return out
    chunks: list[list[int]] = []
    current: list[int] = []
    last = None
    for k, job in enumerate(jobs):  # jobs are sorted by cadre: keep a cadre's days together
        if len(current) >= chunk_days and job.cadre_id != last:
            chunks.append(current)
            current = []
        current.append(k)
        last = job.cadre_id
    if current:
        chunks.append(current)
    ctx = multiprocessing.get_context("fork") if "fork" in multiprocessing.get_all_start_methods() else None
    results: list[DayResult | None] = [None] * len(jobs)
    with futures.ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init,
                                     initargs=(network, options)) as pool:
        todo = {pool.submit(_chunk, [jobs[k] for k in ch]): ch for ch in chunks}
        for fut in futures.as_completed(todo):
            ch = todo[fut]
            for k, res in zip(ch, fut.result()):
                results[k] = res
            if progress:
                progress(len(ch))
    return results  # type: ignore[return-value]
