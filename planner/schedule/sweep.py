"""Campaign level: which cadre-day holds each visit (a greedy sweep over the dates).

Date by date, in order:

1. **Joint visits first** (must-visits early, 联合走访): each pending group of
   visits to one entity is placed on the first date on which every cadre of
   the group is free, the session fits the place (daytime for villages and
   enterprises, evening/weekend for urban communities), the village stays
   within ``max_teams_per_village_day`` teams (访民不扰民; a joint visit counts
   as its host, the responsible team) and the cadre's
   ``max_villages_per_day``, and each cadre's day has room. The group gets
   one appointment time ``T`` (the latest of the members' earliest arrival
   estimates); every member must start the visit in ``[T, T + joint_window]``.
2. **Each cadre's own visits**, in the cadre's sweep order (village, grid,
   along a Hilbert curve; must-visits first), villages already in the day
   first, until the day's estimated minutes reach ``fill`` × the session.

Minutes are *estimates* (straight line × detour at walking speed inside a
village, driving speed between villages; pessimistic for appointments); the
day-level routing computes the real times and the repair round re-places
what did not fit.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from geodata.network.speeds import DEFAULT_DETOUR_FACTOR, WALK_KMH
from planner.schedule.calendar import HOLDS, Session, absent, sessions_on, week_of
from planner.schedule.rules import ScheduleRules

WALK_M_PER_MIN = WALK_KMH * 1000 / 60
DRIVE_M_PER_MIN = 30 * 1000 / 60
#: minutes to park and walk to the door when driving to another village
DRIVE_OVERHEAD_MIN = 5
#: appointments are estimated with this safety factor on travel
APPOINTMENT_SAFETY = 1.6
#: separates a shortfall reason (a short category) from its numbers (the ``detail`` column of ``shortfall``)
DETAIL = " | "


@dataclass
class Day:
    """One cadre's session on one date (mutable while the sweep runs)."""

    cadre: str
    date: dt.date
    session: Session
    start_xy: tuple[float, float]
    start_village: str | None
    tasks: list[int] = field(default_factory=list)
    windows: dict[int, tuple[int, int]] = field(default_factory=dict)
    used: float = 0.0  # minutes: travel from the start + service so far (return not included)
    last_xy: tuple[float, float] | None = None
    last_village: str | None = None
    villages: list[str] = field(default_factory=list)
    appt_free: float = 0.0  # minutes after midnight when the next appointment may start
    full: bool = False  # the routing dropped a visit of this day: the repair rounds add nothing more to it


class Sweep:
    """The campaign-level plan under construction; see the module docstring."""

    def __init__(self, tasks: pd.DataFrame, dates: list[dt.date], rules: ScheduleRules, starts: dict[str, tuple]):
        self.t = tasks
        self.rules = rules
        self.dates = dates
        self.starts = starts  # team_id -> (x, y) base, or None
        self.x = tasks["x"].to_numpy(float)
        self.y = tasks["y"].to_numpy(float)
        self.village = tasks["village_id"].astype(str).to_numpy()
        self.cls = tasks["session"].to_numpy()
        self.service = tasks["service_s"].to_numpy() / 60.0
        self.team = tasks["team_id"].to_numpy()
        self.cadre = tasks["cadre_id"].to_numpy()
        self.group = tasks["group"].to_numpy()
        # a must-visit cadre joining another team's visit does not count as a team in the village:
        # the joint visit is one visit at the door, hosted by the responsible team
        self.host = ~tasks["reason"].str.startswith("must_visit").to_numpy() | (tasks["group"].to_numpy() < 0)
        self.days: dict[tuple[str, dt.date], Day] = {}
        self.village_teams: dict[tuple[str, dt.date], set] = defaultdict(set)
        self.week_count: dict[tuple[str, tuple], int] = defaultdict(int)
        self.absent = absent(rules)
        self.cadre_team = dict(zip(tasks["cadre_id"], tasks["team_id"]))
        self.vc: dict[str, tuple[float, float]] = {}
        for v, x, y, e in zip(self.village, self.x, self.y, tasks["entity_type"]):
            if e == "village":
                self.vc[v] = (x, y)
        self.placed_on: dict[int, dt.date] = {}
        # (task, date) pairs the day-level routing could not hold: the repair rounds try other dates
        self.banned: set[tuple[int, dt.date]] = set()
        # weekend sessions still to come in each date's week: evenings leave room for them
        self.weekend_left: dict[dt.date, int] = {}
        for d in dates:
            self.weekend_left[d] = sum(1 for e in dates if e > d and week_of(e) == week_of(d)
                                       and any(x.kind == "weekend" for x in sessions_on(e, rules)))

    # ------------------------------------------------------------------ estimates
    def travel(self, a: tuple | None, va: str | None, b: tuple, vb: str) -> float:
        if a is None:
            return 0.0
        d = math.hypot(a[0] - b[0], a[1] - b[1]) * DEFAULT_DETOUR_FACTOR
        walk = self.rules.walk_within_village and va == vb
        if walk or not self.rules.drive_between_villages:
            return d / WALK_M_PER_MIN
        return d / DRIVE_M_PER_MIN + DRIVE_OVERHEAD_MIN

    def _start(self, cadre: str, village: str, xy: tuple) -> tuple[tuple, str | None]:
        base = self.starts.get(self.cadre_team.get(cadre))
        if self.rules.start_at == "base" and base is not None:
            return base, None
        return self.vc.get(village, xy), village

    def _capacity(self, s: Session) -> float:
        return s.minutes * self.rules.fill

    # ------------------------------------------------------------------ days
    def free(self, cadre: str, date: dt.date) -> bool:
        return (cadre, date) not in self.absent and \
            self.week_count[(cadre, week_of(date))] < self.rules.max_sessions_per_week

    def evening_ok(self, cadre: str, date: dt.date) -> bool:
        """An evening (2.5 h) only when the week keeps room for its weekend days (8 h each)."""
        used = self.week_count[(cadre, week_of(date))]
        return used + 1 + self.weekend_left.get(date, 0) <= self.rules.max_sessions_per_week

    def open_day(self, cadre: str, date: dt.date, session: Session, village: str, xy: tuple) -> Day:
        start_xy, start_v = self._start(cadre, village, xy)
        day = Day(cadre, date, session, start_xy, start_v, last_xy=start_xy, last_village=start_v,
                  appt_free=session.start)
        self.days[(cadre, date)] = day
        self.week_count[(cadre, week_of(date))] += 1
        return day

    def count_frozen(self, days: pd.DataFrame) -> None:
        """Sessions of a kept (earlier) schedule count towards each cadre's weekly cap."""
        for cadre, date in zip(days["cadre_id"].astype(str), days["date"].astype(str)):
            self.week_count[(cadre, week_of(dt.date.fromisoformat(date)))] += 1

    def drop_day(self, key: tuple) -> None:
        day = self.days.pop(key)
        self.week_count[(day.cadre, week_of(day.date))] -= 1

    def can_enter(self, day: Day | None, team: str, village: str, date: dt.date) -> bool:
        if day is not None and village not in day.villages and len(day.villages) >= self.rules.max_villages_per_day:
            return False
        teams = self.village_teams[(village, date)]
        return team in teams or len(teams) < self.rules.max_teams_per_village_day

    def add(self, day: Day, i: int, window: tuple[int, int] | None = None, *, start_min: float | None = None) -> None:
        xy = (self.x[i], self.y[i])
        v = self.village[i]
        if self.cls[i] != "phone":
            if start_min is not None:
                day.used = max(day.used + self.travel(day.last_xy, day.last_village, xy, v),
                               start_min - day.session.start) + self.service[i]
            else:
                day.used += self.travel(day.last_xy, day.last_village, xy, v) + self.service[i]
            day.last_xy, day.last_village = xy, v
            if v not in day.villages:
                day.villages.append(v)
            if self.host[i]:
                self.village_teams[(v, day.date)].add(self.team[i])
        else:
            day.used += self.service[i]
        day.tasks.append(i)
        if window is not None:
            day.windows[i] = window
        self.placed_on[i] = day.date

    def fits(self, day: Day, i: int) -> bool:
        if day.full:
            return False
        xy = (self.x[i], self.y[i])
        extra = self.service[i]
        if self.cls[i] != "phone":
            extra += self.travel(day.last_xy, day.last_village, xy, self.village[i])
            back = self.travel(xy, self.village[i], day.start_xy, day.start_village)
        else:
            back = self.travel(day.last_xy, day.last_village, day.start_xy, day.start_village) if day.last_xy else 0
        return day.used + extra + back <= self._capacity(day.session)

    # ------------------------------------------------------------------ joint groups
    def place_group(self, members: list[int], date: dt.date, sessions: dict[str, Session]) -> bool:
        i0 = members[0]
        if self.banned and any((i, date) in self.banned for i in members):
            return False
        v, xy, service = self.village[i0], (self.x[i0], self.y[i0]), self.service[i0]
        kinds = [k for k in sessions if self.cls[i0] in HOLDS[k]]
        if not kinds:
            return False
        kind = "day" if "day" in kinds else kinds[0]
        session = sessions[kind]
        teams = {self.team[i] for i in members if self.host[i]} or {self.team[i] for i in members}
        if len(self.village_teams[(v, date)] | teams) > self.rules.max_teams_per_village_day:
            return False
        earliest = []
        for i in members:
            c = self.cadre[i]
            day = self.days.get((c, date))
            if day is None:
                if not self.free(c, date) or (kind == "evening" and not self.evening_ok(c, date)):
                    return False
                start_xy, start_v = self._start(c, v, xy)
                t = session.start + self.travel(start_xy, start_v, xy, v) * APPOINTMENT_SAFETY
                back = self.travel(xy, v, start_xy, start_v)
                used = 0.0
            else:
                if day.full or day.session.kind != kind or (v not in day.villages and
                                                len(day.villages) >= self.rules.max_villages_per_day):
                    return False
                t = day.appt_free + self.travel(day.last_xy, day.last_village, xy, v) * APPOINTMENT_SAFETY
                t = max(t, session.start + day.used)
                back = self.travel(xy, v, day.start_xy, day.start_village)
                used = day.used
            earliest.append((t, used, back))
        appt = math.ceil(max(e[0] for e in earliest))
        window = self.rules.joint_window_minutes
        for t, used, back in earliest:
            if appt + window + service + back > session.end:
                return False
            if max(used, appt - session.start) + service + back > self._capacity(session) + window:
                return False
        for i in members:
            c = self.cadre[i]
            day = self.days.get((c, date)) or self.open_day(c, date, session, v, xy)
            self.add(day, i, (appt, appt + window), start_min=appt)
            day.appt_free = appt + window + service
        return True

    # ------------------------------------------------------------------ own visits
    def fill(self, cadre: str, date: dt.date, sessions: dict[str, Session], pending: list[int],
             done: set[int]) -> None:
        day = self.days.get((cadre, date))
        todo = [i for i in pending if i not in done]
        if self.banned:
            todo = [i for i in todo if (i, date) not in self.banned]
        if not todo:
            return
        if day is None:
            if not self.free(cadre, date):
                return
            classes = {self.cls[i] for i in todo}
            kind = None
            for k in ("day", "evening", "weekend"):
                if k == "evening" and not self.evening_ok(cadre, date):
                    continue
                if k in sessions and (classes & set(HOLDS[k]) - {"phone"}):
                    kind = k
                    break
            if kind is None and "phone" in classes and "day" in sessions:
                kind = "day"
            if kind is None:
                return
            first = next((i for i in todo if self.cls[i] in HOLDS[kind]
                          and self.can_enter(None, self.team[i], self.village[i], date)), None)
            if first is None:
                return
            day = self.open_day(cadre, date, sessions[kind], self.village[first], (self.x[first], self.y[first]))
        holds = HOLDS[day.session.kind]
        here = [i for i in todo if self.village[i] in day.villages]
        rest = [i for i in todo if self.village[i] not in day.villages]
        for i in here + rest:
            if self.cls[i] not in holds or self.cls[i] == "phone":
                continue
            if not self.can_enter(day, self.team[i], self.village[i], date):
                continue
            if not self.fits(day, i):
                if self.village[i] in day.villages:
                    continue
                break
            self.add(day, i)
            done.add(i)
        if "phone" in holds:
            for i in todo:
                if self.cls[i] == "phone" and i not in done and self.fits(day, i):
                    self.add(day, i)
                    done.add(i)
        if not day.tasks:
            del self.days[(cadre, date)]
            self.week_count[(cadre, week_of(date))] -= 1

    def run(self, task_ids: np.ndarray) -> dict[int, str]:
        """Place ``task_ids``; returns the ones left unplaced with the reason."""
        ids = [int(i) for i in task_ids]
        groups: dict[int, list[int]] = defaultdict(list)
        own: dict[str, list[int]] = defaultdict(list)
        unplaced: dict[int, str] = {}
        for i in ids:
            if not self.cadre[i]:
                unplaced[i] = "no cadre is assigned to it in the plan"
            elif self.group[i] >= 0:
                groups[int(self.group[i])].append(i)
            else:
                own[self.cadre[i]].append(i)
        must = self.t["must"].to_numpy()
        for c in own:
            own[c].sort(key=lambda i: (not must[i], i))
        pending_groups = sorted(groups, key=lambda g: min(groups[g]))
        pending_groups.sort(key=lambda g: (self.village[groups[g][0]], min(groups[g])))
        done: set[int] = set()
        for date in self.dates:
            sessions = {s.kind: s for s in sessions_on(date, self.rules)}
            if not sessions:
                continue
            left = []
            for g in pending_groups:
                if not self.place_group(groups[g], date, sessions):
                    left.append(g)
            pending_groups = left
            for c in sorted(own):
                self.fill(c, date, sessions, own[c], done)
                own[c] = [i for i in own[c] if i not in done]
        for g in pending_groups:
            why = "joint visit: no date before the deadline on which all its cadres are free with room" + \
                DETAIL + self.group_detail(groups[g])
            for i in groups[g]:
                unplaced[i] = why
        for c, rest in own.items():
            if rest:
                used, possible = self.sessions_of(c)
                detail = f"{c} works {used} of the {possible} sessions it may work before the deadline " \
                         f"(at most {self.rules.max_sessions_per_week} a week, absences off); {len(rest)} visit(s) left"
                if used >= possible:
                    why = "no room left: every session of the responsible cadre (包户干部) before the deadline " \
                          "is used (visits stay with their cadre)"
                else:
                    why = "no room left in the cadre's sessions before the deadline"
                    detail += (f"; its free sessions do not take them (session kind, at most "
                               f"{self.rules.max_villages_per_day} villages a day and "
                               f"{self.rules.max_teams_per_village_day} teams a village a day)")
            for i in rest:
                unplaced[i] = why + DETAIL + detail
        return unplaced

    # ------------------------------------------------------------------ why a visit found no date
    def sessions_of(self, cadre: str) -> tuple[int, int]:
        """(sessions the cadre works, sessions it may work) on the campaign's dates: dates with a
        session, not absent, at most ``max_sessions_per_week`` a week (kept earlier sessions count)."""
        free: dict[tuple, int] = defaultdict(int)
        for d in self.dates:
            if (cadre, d) not in self.absent and sessions_on(d, self.rules):
                free[week_of(d)] += 1
        cap = self.rules.max_sessions_per_week
        used = sum(self.week_count[(cadre, w)] for w in free)
        return used, sum(min(cap, n) for n in free.values())

    def group_detail(self, members: list[int]) -> str:
        """Per date of the campaign, the first rule that kept the joint visit off it, counted."""
        i0 = members[0]
        v = self.village[i0]
        cadres = sorted({self.cadre[i] for i in members})
        n = {"dates": 0, "absent": 0, "week": 0, "village": 0, "busy": 0, "routing": 0, "room": 0}
        teams = {self.team[i] for i in members if self.host[i]} or {self.team[i] for i in members}
        for date in self.dates:
            kinds = [s.kind for s in sessions_on(date, self.rules) if self.cls[i0] in HOLDS[s.kind]]
            if not kinds:
                continue
            n["dates"] += 1
            days = [self.days.get((c, date)) for c in cadres]
            if any((i, date) in self.banned for i in members):
                n["routing"] += 1
            elif any((c, date) in self.absent for c in cadres):
                n["absent"] += 1
            elif any(d is None and not self.free(c, date) for c, d in zip(cadres, days)):
                n["week"] += 1
            elif len(self.village_teams[(v, date)] | teams) > self.rules.max_teams_per_village_day:
                n["village"] += 1
            elif any(d is not None and (d.full or d.session.kind not in kinds or (
                    v not in d.villages and len(d.villages) >= self.rules.max_villages_per_day)) for d in days):
                n["busy"] += 1
            else:
                n["room"] += 1
        return (f"{len(cadres)} cadres ({', '.join(cadres)}); of {n['dates']} dates with a session for it: "
                f"{n['absent']} a cadre absent, {n['week']} a cadre's {self.rules.max_sessions_per_week} sessions of "
                f"the week used, {n['busy']} a cadre's day full or in other villages, {n['room']} no room for the "
                f"appointment in a cadre's day, {n['village']} the village already had "
                f"{self.rules.max_teams_per_village_day} teams, {n['routing']} the routing could not hold it")
