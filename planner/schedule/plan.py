"""``schedule()``: an assignment → every cadre's days to the deadline, each day routed.

Steps: visits (:mod:`.tasks`) → campaign level (:mod:`.sweep`) → day level
(:mod:`.day`, in parallel by :mod:`.run`) → joint visits settled (a group
whose member did not fit its day leaves every member's day) → repair
rounds (what did not fit is placed again on the remaining room, existing
visits kept; a day the router found full takes no more, and a visit is not
placed again on a date it failed, so each round moves it on, up to
:data:`REPAIR_ROUNDS`) → frames (:mod:`.frames`). What still does not fit is
the *shortfall*, each visit with its reason (the rule) and its numbers;
nothing is dropped silently.
"""

from __future__ import annotations

import datetime as dt
import gc
import time
import warnings
from collections.abc import Callable

import pandas as pd

from geodata.network import NetworkWarning
from planner.schedule.calendar import campaign_dates
from planner.schedule.day import DayJob, DayResult
from planner.schedule.frames import Schedule, build_schedule
from planner.schedule.rules import ScheduleRules
from planner.schedule.run import REGIONAL_ROADS, RegionalNetworks, route_days

#: repair rounds at most (each moves what the routing could not hold to another date; usually 1-3 suffice)
REPAIR_ROUNDS = 6
#: a team base farther than this (metres) outside the box of its team's visits does not widen the team's road area
REGION_BASE_MAX_M = 50_000
from planner.schedule.sweep import Day, Sweep
from planner.schedule.tasks import build_tasks


def team_starts(campaign) -> dict[str, tuple[float, float]]:
    """Team base (驻点) in the campaign CRS, for teams that have one."""
    teams = campaign.teams
    out = {}
    if "base_x" in teams and "base_y" in teams:
        for tid, x, y in zip(teams["team_id"].astype(str), teams["base_x"], teams["base_y"]):
            if pd.notna(x) and pd.notna(y):
                out[tid] = (float(x), float(y))
    return out


def schedule(campaign, assignment: pd.DataFrame, must_visits: pd.DataFrame | None, rules: ScheduleRules, *,
             start: dt.date, end: dt.date, time_limit: float = 0.5, iterations: int | None = 300, seed: int = 0,
             workers: int = 1, network=None, progress: Callable[[str, int, int], None] | None = None) -> Schedule:
    """Plan every visit of the assignment between ``start`` and ``end`` (inclusive).

    ``time_limit`` (s) and ``iterations`` bound each day's route search
    (iterations make it reproducible: same seed, same schedule).
    ``workers`` > 1 routes days in that many processes. ``network``: a
    :class:`geodata.network.RoadNetwork` (default: from ``campaign.roads``).
    ``progress(phase, done, total)`` is called as days are routed.
    Straight-line travel estimates raise one :class:`NetworkWarning` each.
    """
    t0 = time.perf_counter()
    tasks = build_tasks(campaign, assignment, must_visits, rules)
    return plan_tasks(campaign, tasks, rules, dates=campaign_dates(start, end), time_limit=time_limit,
                      iterations=iterations, seed=seed, workers=workers, network=network, progress=progress, t0=t0)


def plan_tasks(campaign, tasks: pd.DataFrame, rules: ScheduleRules, *, dates: list[dt.date], time_limit: float,
               iterations: int | None, seed: int, workers: int, network=None, progress=None,
               pending=None, frozen=None, t0: float | None = None) -> Schedule:
    """Schedule the ``pending`` rows of ``tasks`` (default: all) on ``dates``.

    ``frozen``: an earlier schedule's ``(stops, days)`` that stay as they are
    (re-planning); their sessions count towards the weekly cap.
    """
    t0 = time.perf_counter() if t0 is None else t0
    # a county's campaign, tasks and frames are millions of long-lived objects: kept out of the garbage
    # collector's full passes while the days are routed (each pass walked them all: seconds per pass)
    gc.freeze()
    try:
        return _plan_tasks(campaign, tasks, rules, dates=dates, time_limit=time_limit, iterations=iterations,
                           seed=seed, workers=workers, network=network, progress=progress, pending=pending,
                           frozen=frozen, t0=t0)
    finally:
        gc.unfreeze()


def _plan_tasks(campaign, tasks, rules, *, dates, time_limit, iterations, seed, workers, network, progress, pending,
                frozen, t0) -> Schedule:
    if network is None:
        network = _network(campaign, tasks)
    sweep = Sweep(tasks, dates, rules, team_starts(campaign))
    if frozen is not None:
        sweep.count_frozen(frozen[1])
    unplaced = sweep.run(tasks["task"].to_numpy() if pending is None else pending)
    t_sweep = time.perf_counter() - t0
    opts = {"time_limit": time_limit, "iterations": iterations, "seed": seed,
            "walk_within_village": rules.walk_within_village, "drive_between_villages": rules.drive_between_villages}
    ctx = _Ctx(sweep, tasks, network, opts, workers, progress)
    ctx.route(sorted(sweep.days), required_all=True, phase="routing")
    ctx.settle_joint(unplaced)
    # repair rounds: what did not fit goes to the remaining room, existing visits stay. The sweep's minutes
    # are estimates, so a visit (or a joint visit) the routing could not hold on a date is not placed on that
    # date again: each round moves it to another day with room, up to the deadline.
    unplaced.update(ctx.dropped)
    ctx.dropped.clear()
    # the sweep found no date for these: a later round tries them again only when one of the cadre's days
    # changed (the router's real times can leave more room than the estimate); else it cannot do better
    no_date: set[int] = set()
    changed_cadres: set[str] = set()
    for _ in range(REPAIR_ROUNDS):
        retry = _retry(unplaced, no_date, changed_cadres, sweep)
        if not retry:
            break
        for i in retry:
            del unplaced[i]
            if i in sweep.placed_on:
                sweep.banned.add((i, sweep.placed_on.pop(i)))
        before = {k: list(d.tasks) for k, d in sweep.days.items()}
        for key, day in sweep.days.items():
            res = ctx.results.get(key)
            if res is not None:
                day.used = (res.end - res.start) / 60.0
                day.last_xy, day.last_village = day.start_xy, day.start_village
                day.appt_free = res.end / 60.0
        again = sweep.run(pd.Index(sorted(retry)).to_numpy())
        changed = sorted(k for k, d in sweep.days.items() if before.get(k) != d.tasks)
        ctx.route(changed, required_all=False, phase="repair", old=before)
        no_date.update(again)
        changed_cadres = {k[0] for k in changed}
        for i, why in again.items():
            # the sweep's reason when it says which rule and numbers; else the router's, more precise
            unplaced[i] = why if why.startswith(("joint", "no room left")) else retry[i]
        ctx.settle_joint(unplaced)
        for i, why in ctx.dropped.items():
            unplaced.setdefault(i, why)
        ctx.dropped.clear()
        if not changed:
            break
    for i, why in ctx.dropped.items():
        unplaced.setdefault(i, why)
    notes = sorted({n for r in ctx.results.values() for n in r.notes})
    if notes:
        warnings.warn(f"travel on part of the routes is estimated or off the road network ({len(notes)} distinct "
                      f"note(s) from the road network, e.g. {notes[0]!r}); see info['notes']",
                      NetworkWarning, stacklevel=2)
    timing = {"wall_time": time.perf_counter() - t0, "sweep_time": t_sweep, "route_time": ctx.route_time}
    return build_schedule(campaign, tasks, sweep, ctx.results, unplaced, rules, dates=dates, timing=timing,
                          notes=tuple(notes), seed=seed, time_limit=time_limit, iterations=iterations, frozen=frozen)


def _retry(unplaced: dict[int, str], no_date: set[int], changed_cadres: set[str], sweep: Sweep) -> dict[int, str]:
    """The unplaced visits a repair round places again: not those without a cadre, and not those the sweep
    found no date for unless their cadre's days changed; a joint visit with all its members or not at all."""
    pick = {i for i, why in unplaced.items() if not why.startswith("no cadre")
            and (i not in no_date or sweep.cadre[i] in changed_cadres)}
    groups = {int(sweep.group[i]) for i in pick if sweep.group[i] >= 0}
    if groups:
        pick |= {i for i in unplaced if sweep.group[i] >= 0 and int(sweep.group[i]) in groups}
    return {i: unplaced[i] for i in sorted(pick)}


def _network(campaign, tasks: pd.DataFrame):
    """The campaign's road network, or one per team's area when the network is large."""
    from geodata.network import network_from_campaign_roads

    roads = campaign.roads
    if roads is None or len(roads) <= REGIONAL_ROADS:
        return network_from_campaign_roads(roads)
    if roads.crs is not None and not roads.crs.is_projected:
        roads = roads.to_crs(campaign.crs)
    g = tasks.groupby("team_id")
    boxes = {t: [x0, y0, x1, y1] for t, x0, y0, x1, y1 in zip(
        g["x"].min().index, g["x"].min(), g["y"].min(), g["x"].max(), g["y"].max())}
    for team, base in team_starts(campaign).items():
        if team in boxes:
            b = boxes[team]
            # a base far from every visit of its team (a wrong coordinate, another county) would pull a whole
            # county's roads into the team's area: it stays outside, and its travel is estimated with a warning
            off = max(b[0] - base[0], base[0] - b[2], b[1] - base[1], base[1] - b[3], 0.0)
            if off <= REGION_BASE_MAX_M:
                boxes[team] = [min(b[0], base[0]), min(b[1], base[1]), max(b[2], base[0]), max(b[3], base[1])]
    cadre_team = dict(zip(tasks["cadre_id"], tasks["team_id"]))
    return RegionalNetworks(roads, {k: tuple(v) for k, v in boxes.items()}, cadre_team)


class _Ctx:
    """Routing state shared by the rounds: results per (cadre, date), visits dropped by the router."""

    def __init__(self, sweep: Sweep, tasks, network, opts, workers, progress):
        self.sweep, self.tasks, self.network, self.opts = sweep, tasks, network, opts
        self.workers, self.progress = workers, progress
        self.results: dict[tuple, DayResult] = {}
        self.dropped: dict[int, str] = {}
        self.route_time = 0.0
        self.service_s = tasks["service_s"].to_numpy().astype(int)

    def job(self, day: Day, required: set[int] | None) -> DayJob:
        s, t = self.sweep, day.tasks
        return DayJob(
            cadre_id=day.cadre, date=day.date.isoformat(), session=day.session.kind,
            shift=(day.session.start * 60, day.session.end * 60), start_xy=tuple(day.start_xy),
            start_village=day.start_village, tasks=tuple(t),
            xy=tuple((float(s.x[i]), float(s.y[i])) for i in t), village=tuple(str(s.village[i]) for i in t),
            service=tuple(int(self.service_s[i]) for i in t),
            phone=tuple(s.cls[i] == "phone" for i in t),
            window=tuple((day.windows[i][0] * 60, day.windows[i][1] * 60) if i in day.windows else None for i in t),
            required=() if required is None else tuple(i in required for i in t),
        )

    def route(self, keys, *, required_all: bool, phase: str, old: dict | None = None) -> None:
        jobs, prev = [], {}
        if isinstance(self.network, RegionalNetworks):  # a team's days together: one area network each
            keys = sorted(keys, key=lambda k: (self.network.region_of(k[0]), k[0], k[1]))
        for key in keys:
            day = self.sweep.days[key]
            if required_all or old is None:
                req = None
            else:
                res = self.results.get(key)
                req = {v.task for v in res.visits} if res is not None else set()
                prev[key] = res
            jobs.append(self.job(day, req))
        total = len(jobs)
        count = [0]

        def tick(n):
            count[0] += n
            if self.progress:
                self.progress(phase, count[0], total)

        if self.progress:
            self.progress(phase, 0, total)
        t0 = time.perf_counter()
        results = route_days(self.network, jobs, options=self.opts, workers=self.workers, progress=tick)
        self.route_time += time.perf_counter() - t0
        for key, job, res in zip(keys, jobs, results):
            keep_old = prev.get(key)
            if job.required and keep_old is not None:
                lost = {i for i, r in zip(job.tasks, job.required) if r} - {v.task for v in res.visits}
                if lost:  # the re-route lost a visit it had: keep the old day, the new visits do not fit
                    day = self.sweep.days[key]
                    new = [i for i in day.tasks if i not in {v.task for v in keep_old.visits}]
                    for i in new:
                        self.dropped[i] = "day is full: no room besides the visits already planned"
                    day.tasks = [i for i in day.tasks if i not in new]
                    day.full = True
                    res = keep_old
            self.results[key] = res
            for i, why in res.dropped:
                self.dropped[i] = _plain(why)
            day = self.sweep.days[key]
            gone = {i for i, _ in res.dropped}
            if gone:
                day.tasks = [i for i in day.tasks if i not in gone]
                day.full = True  # the estimate was too optimistic for this day: the repair goes elsewhere

    def settle_joint(self, unplaced: dict[int, str]) -> None:
        """A joint visit happens with all its cadres or not at all on that day."""
        group = self.sweep.group
        for _ in range(3):
            missing = {int(group[i]) for i in list(self.dropped) + list(unplaced) if group[i] >= 0}
            if not missing:
                return
            touched = []
            for key, day in self.sweep.days.items():
                out = [i for i in day.tasks if group[i] >= 0 and int(group[i]) in missing]
                if out:
                    day.tasks = [i for i in day.tasks if i not in out]
                    for i in out:
                        day.windows.pop(i, None)
                        unplaced[i] = "joint visit: a partner's day could not hold the appointment"
                    touched.append(key)
            for i in list(self.dropped):
                if group[i] >= 0 and int(group[i]) in missing:
                    unplaced[i] = "joint visit: " + self.dropped.pop(i)
            if not touched:
                return
            keep = [k for k in touched if self.sweep.days[k].tasks]
            for k in touched:
                if not self.sweep.days[k].tasks:
                    self.results.pop(k, None)
                    self.sweep.drop_day(k)
            old = {k: None for k in keep}
            self.route(keep, required_all=False, phase="joint", old=old)


def _plain(reason: str) -> str:
    if reason.startswith("optional stop left out"):
        return "day is full: no room besides the visits already planned"
    return reason
