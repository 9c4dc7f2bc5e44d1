"""Routing many cadre-days, in parallel worker processes when asked.

Days are independent once the campaign level has placed the visits, so they
are grouped by cadre into chunks and sent to a ``ProcessPoolExecutor``; the
road network is handed to each worker once (fork) and each day returns plain
data (:class:`~planner.schedule.day.DayResult`). On a large network (more
than :data:`REGIONAL_ROADS` segments) each team's days are routed on the
roads of the team's own area (:class:`RegionalNetworks`).
"""

from __future__ import annotations

import concurrent.futures as futures
import gc
import math
import multiprocessing
from collections.abc import Callable

from planner.schedule.day import DayJob, DayResult, route_cadre

#: above this many road segments, each team routes on the roads of its own area (see RegionalNetworks)
REGIONAL_ROADS = 5_000
#: metres of road kept around a team's area, and the grid its area is snapped to
REGION_MARGIN_M = 3_000
REGION_TILE_M = 10_000

_NETWORK = None
_OPTIONS: dict = {}


class RegionalNetworks:
    """Road networks cut to each team's area (its visits and base, plus a margin), built on first use.

    Travel matrices on a whole county's network cost about sources × nodes;
    a team's visits only need the roads around them. Areas are snapped
    outwards to a ``tile`` grid so that neighbouring teams share one network.
    Each worker keeps the last few networks (jobs come grouped by area).
    """

    def __init__(self, roads, boxes: dict, cadre_team: dict, *, margin: float = REGION_MARGIN_M,
                 tile: float = REGION_TILE_M, keep: int = 4):
        self.roads, self.cadre_team, self.keep = roads, cadre_team, keep
        self.areas = {}
        for team, (minx, miny, maxx, maxy) in boxes.items():
            self.areas[team] = (math.floor((minx - margin) / tile) * tile, math.floor((miny - margin) / tile) * tile,
                                math.ceil((maxx + margin) / tile) * tile, math.ceil((maxy + margin) / tile) * tile)
        self._cache: dict = {}

    def region_of(self, cadre_id: str) -> str:
        area = self.areas.get(self.cadre_team.get(cadre_id))
        return "" if area is None else "%012.0f %012.0f %012.0f %012.0f" % area

    def for_cadre(self, cadre_id: str):
        import shapely

        from geodata.network import network_from_campaign_roads

        key = self.region_of(cadre_id)
        net = self._cache.get(key)
        if net is None:
            area = self.areas.get(self.cadre_team.get(cadre_id), (0.0, 0.0, 0.0, 0.0))
            idx = self.roads.sindex.query(shapely.box(*area), predicate="intersects")
            net = network_from_campaign_roads(self.roads.iloc[sorted(idx)])
            if len(self._cache) >= self.keep:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = net
        return net


def _init(network, options):
    global _NETWORK, _OPTIONS
    _NETWORK, _OPTIONS = network, options
    # the forked worker shares the parent's memory (the whole campaign): keep the garbage collector from
    # walking those objects, which would cost time and copy every page it touches
    gc.freeze()


def _chunk(jobs: list[DayJob]) -> list[DayResult]:
    return _by_cadre(_NETWORK, jobs, _OPTIONS)


def _by_cadre(network, jobs: list[DayJob], options: dict) -> list[DayResult]:
    out: list[DayResult] = []
    k = 0
    while k < len(jobs):
        j = k
        while j < len(jobs) and jobs[j].cadre_id == jobs[k].cadre_id:
            j += 1
        net = network.for_cadre(jobs[k].cadre_id) if isinstance(network, RegionalNetworks) else network
        out.extend(route_cadre(net, jobs[k:j], **options))
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
    regional = isinstance(network, RegionalNetworks)
    for k, job in enumerate(jobs):  # jobs are sorted by cadre (by team first when regional): keep them together
        unit = network.region_of(job.cadre_id) if regional else job.cadre_id
        if len(current) >= chunk_days and unit != last:
            chunks.append(current)
            current = []
        current.append(k)
        last = unit
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
