"""Day level: order one cadre's session with :func:`planner.routing.solve_routes`.

A :class:`DayJob` is plain data (picklable, for worker processes): the start
point, the visits with their places, service seconds and appointment windows,
and the session. Travel comes from :func:`geodata.network.travel_matrix`:
walking between two places of the same village, driving otherwise (from and
to the base, between villages), as the rules say. Phone visits (电话走访) take
no travel: they follow the walk, back at the start.

:func:`route_cadre` computes the matrices of several days at once (one
:func:`~geodata.network.travel_matrix` call per mode for a cadre) and
:func:`route_day` returns a :class:`DayResult`: the ordered visits with
arrival/departure seconds after midnight, the visits that did not fit (with
the router's reason), the day's totals and the notes (fallback warnings).
"""

from __future__ import annotations

import dataclasses
import warnings
import weakref
from dataclasses import dataclass, replace

import numpy as np

from planner.routing import RoutingProblem, Stop, Vehicles, solve_routes


#: route search iterations of a day: min(iterations, max(MIN_ITERATIONS, ITERATIONS_PER_STOP × stops)).
#: Measured on 276 cadre-days of 8-25 visits of the 3-copy demo county against PyVRP at 3,000 iterations:
#: 10 iterations mean gap 0.003 % (max 0.17 %), 20: 0.001 % (0.17 %), 100: 0.000 % (0.02 %), at 13, 18 and
#: 65 ms per day. Days of at most 7 visits are solved exactly (planner.routing._exact).
MIN_ITERATIONS = 10
ITERATIONS_PER_STOP = 2


@dataclass(frozen=True)
class DayJob:
    cadre_id: str
    date: str  # ISO date
    session: str  # day | evening | weekend
    shift: tuple[int, int]  # seconds after midnight
    start_xy: tuple[float, float]
    start_village: str | None
    tasks: tuple[int, ...]
    xy: tuple[tuple[float, float], ...]
    village: tuple[str, ...]
    service: tuple[int, ...]  # seconds
    phone: tuple[bool, ...]
    window: tuple[tuple[int, int] | None, ...]  # seconds after midnight, appointment
    required: tuple[bool, ...] = ()  # empty: all required


@dataclass(frozen=True)
class PlannedVisit:
    task: int
    seq: int
    arrive: int  # seconds after midnight, at the door
    start: int  # service start (after waiting for an appointment)
    depart: int
    travel_s: int
    travel_m: int
    phone: bool


@dataclass(frozen=True)
class DayResult:
    cadre_id: str
    date: str
    session: str
    visits: tuple[PlannedVisit, ...]
    dropped: tuple[tuple[int, str], ...]
    start: int
    end: int
    travel_s: int
    travel_m: int
    path: tuple[tuple[float, float], ...]  # start, in-person stops in order, back at the start
    runtime: float
    notes: tuple[str, ...] = ()


#: network -> the same roads with one-way streets turned around (built once per network)
_REVERSED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def reversed_network(network):
    """The network with every one-way street turned around: its travel from A to B is the
    original's from B to A (snapping, access legs and the main component do not depend on
    direction), so one search from a place gives the times from everywhere back to it."""
    rev = _REVERSED.get(network)
    if rev is None:
        rev = dataclasses.replace(network, seg_oneway=-network.seg_oneway,
                                  fingerprint=f"{network.fingerprint}/reversed", _modes={})
        _REVERSED[network] = rev
    return rev


class Travel:
    """Walking and driving matrices between the places of a set of days (usually one cadre's).

    Walking: every pair (one search per place). Driving is only needed from and
    to a day's start (the team base) and between places of one day in
    different villages, so only those entries are computed: the start's row
    (one search), its column (one search on :func:`reversed_network`) and the
    places of the days that span villages; the rest of the drive matrix is
    never read. (Each drive search also sums metres along its tree: the most
    expensive part of a cadre's routing before.)
    """

    def __init__(self, network, jobs, *, walk_within_village: bool, drive_between_villages: bool):
        from geodata.network import travel_matrix

        index: dict[tuple[float, float], int] = {}
        for job in jobs:
            for xy in (job.start_xy, *job.xy):
                index.setdefault((float(xy[0]), float(xy[1])), len(index))
        self.index = index
        pts = np.array(list(index), float).reshape(-1, 2)
        self.walk = travel_matrix(network, pts, mode="walk")
        self.walk_within_village = walk_within_village
        self.drive = None
        if not drive_between_villages:
            return
        if not walk_within_village:
            m = travel_matrix(network, pts, mode="drive")
            self.drive = (m.seconds, m.metres)
            return
        key = lambda xy: index[(float(xy[0]), float(xy[1]))]  # noqa: E731
        starts = sorted({key(job.start_xy) for job in jobs})
        mixed: set[int] = set()
        for job in jobs:
            person = [k for k in range(len(job.tasks)) if not job.phone[k]]
            villages = {job.village[k] for k in person} | ({job.start_village} if job.start_village else set())
            if len(villages) > 1:
                mixed.update(key(job.xy[k]) for k in person)
        secs = np.zeros((len(pts), len(pts)), self.walk.seconds.dtype)
        metres = np.zeros_like(secs)
        out = travel_matrix(network, pts[starts], pts, mode="drive")
        back = travel_matrix(reversed_network(network), pts[starts], pts, mode="drive")
        secs[:, starts], metres[:, starts] = back.seconds.T, back.metres.T
        secs[starts, :], metres[starts, :] = out.seconds, out.metres
        if mixed:
            mm = sorted(mixed)
            between = travel_matrix(network, pts[mm], mode="drive")
            secs[np.ix_(mm, mm)], metres[np.ix_(mm, mm)] = between.seconds, between.metres
        self.drive = (secs, metres)

    def day(self, job: DayJob):
        """(in-person visit positions in ``job.tasks``, seconds, metres) with the start as row 0."""
        person = [k for k in range(len(job.tasks)) if not job.phone[k]]
        xy = [job.start_xy] + [job.xy[k] for k in person]
        idx = np.array([self.index[(float(a), float(b))] for a, b in xy])
        sub = np.ix_(idx, idx)
        if self.drive is None:
            return person, self.walk.seconds[sub], self.walk.metres[sub]
        v = np.array(["\0" if job.start_village is None else job.start_village]
                     + [job.village[k] for k in person], dtype=object)
        if self.walk_within_village:
            same = (v[:, None] == v[None, :]) & (v[:, None] != "\0")
        else:
            same = np.zeros((len(v), len(v)), bool)
        np.fill_diagonal(same, True)
        secs = np.where(same, self.walk.seconds[sub], self.drive[0][sub])
        metres = np.where(same, self.walk.metres[sub], self.drive[1][sub])
        return person, secs, metres


def route_cadre(network, jobs, *, time_limit: float, iterations: int | None, seed: int,
                walk_within_village: bool = True, drive_between_villages: bool = True) -> list[DayResult]:
    """Route several days (usually one cadre's) sharing one travel computation."""
    import time as _time

    t0 = _time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        travel = Travel(network, jobs, walk_within_village=walk_within_village,
                        drive_between_villages=drive_between_villages)
    notes = tuple(dict.fromkeys(str(w.message) for w in caught))
    share = (_time.perf_counter() - t0) / max(len(jobs), 1)  # the travel matrices' time, shared by the days
    out = [route_day(travel, job, time_limit=time_limit, iterations=iterations, seed=seed) for job in jobs]
    out = [replace(r, runtime=r.runtime + share) for r in out]
    if notes and out:
        out[0] = replace(out[0], notes=notes)
    return out


def day_iterations(iterations: int | None, stops: int) -> int | None:
    """Route search iterations of a day of ``stops`` in-person visits (small days converge at once)."""
    return None if iterations is None else min(iterations, max(MIN_ITERATIONS, ITERATIONS_PER_STOP * stops))


def day_problem(travel: Travel, job: DayJob) -> tuple[list[int], RoutingProblem | None, np.ndarray, np.ndarray]:
    """(in-person visit positions, the day's routing problem or None without in-person visits, seconds, metres).

    One vehicle from the start and back; the shift ends early enough for the
    phone visits, which follow the walk."""
    person, secs, metres = travel.day(job)
    phone_s = sum(job.service[k] for k in range(len(job.tasks)) if job.phone[k])
    shift_start, shift_end = job.shift
    required = job.required or (True,) * len(job.tasks)
    stops = []
    for n, k in enumerate(person):
        w = job.window[k]
        stops.append(Stop(location=n + 1, service=int(job.service[k]), time_windows=(w,) if w else (),
                          penalty=None if required[k] else 10**7, name=str(job.tasks[k])))
    if not stops:
        return person, None, secs, metres
    problem = RoutingProblem(
        secs, metres, tuple(stops),
        (Vehicles(1, start_location=0, shift_start=shift_start, shift_end=max(shift_start, shift_end - phone_s)),),
        distance_cost=0, duration_cost=1, name=f"{job.cadre_id} {job.date}",
    )
    return person, problem, secs, metres


def route_day(travel: Travel, job: DayJob, *, time_limit: float, iterations: int | None, seed: int) -> DayResult:
    """Order the day's in-person visits; phone visits follow, back at the start."""
    import time as _time

    t0 = _time.perf_counter()
    person, problem, secs, metres = day_problem(travel, job)
    shift_start, shift_end = job.shift
    dropped: list[tuple[int, str]] = []
    visits: list[PlannedVisit] = []
    path = [tuple(job.start_xy)]
    clock, travel_s, travel_m, begin = shift_start, 0, 0, shift_start
    if problem is not None:
        its = day_iterations(iterations, len(problem.stops))
        res = solve_routes(problem, time_limit=time_limit, seed=seed, workers=1, max_iterations=its)
        dropped.extend((job.tasks[person[u.stop]], u.reason) for u in res.unassigned)
        if res.routes:
            route = res.routes[0]
            begin = route.start_time
            here = 0
            for seq, v in enumerate(route.visits, start=1):
                loc = v.stop + 1
                visits.append(PlannedVisit(job.tasks[person[v.stop]], seq, v.arrival, v.start, v.departure,
                                           int(secs[here, loc]), int(metres[here, loc]), False))
                path.append(tuple(job.xy[person[v.stop]]))
                travel_s += int(secs[here, loc])
                travel_m += int(metres[here, loc])
                here = loc
            travel_s += int(secs[here, 0])
            travel_m += int(metres[here, 0])
            clock = route.end_time
    path.append(tuple(job.start_xy))
    for k in range(len(job.tasks)):
        if job.phone[k]:
            if not visits and clock == shift_start:
                begin = shift_start
            if clock + job.service[k] > shift_end:
                dropped.append((job.tasks[k], "day is full: no time left for the phone visit"))
                continue
            visits.append(PlannedVisit(job.tasks[k], len(visits) + 1, clock, clock, clock + job.service[k], 0, 0, True))
            clock += job.service[k]
    return DayResult(job.cadre_id, job.date, job.session, tuple(visits), tuple(dropped), begin, clock,
                     travel_s, travel_m, tuple(path), _time.perf_counter() - t0)
