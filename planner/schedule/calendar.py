"""The campaign calendar (走访日历): which sessions each date offers, who is available.

A *session* is one stretch of visiting on one date: ``day`` (working days,
daytime: villages, enterprises, village committees), ``evening`` (working
days after work: urban communities, 白天家里没人) or ``weekend`` (weekends
and holidays, daytime: urban communities). A cadre works at most one session
per date and at most ``max_sessions_per_week`` per ISO week.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from planner.schedule.rules import ScheduleRules

SESSION_KINDS = ("day", "evening", "weekend")
#: which task sessions (see planner.schedule.tasks) each session kind may hold
#: (``evening``/``weekend``: revisits after a miss in another window, see planner.schedule.replan)
HOLDS = {"day": ("day", "phone"), "evening": ("community", "evening", "phone"),
         "weekend": ("community", "weekend", "phone")}


@dataclass(frozen=True)
class Session:
    kind: str
    start: int  # minutes after midnight
    end: int

    @property
    def minutes(self) -> int:
        return self.end - self.start


def is_working_day(date: dt.date, rules: ScheduleRules) -> bool:
    if date in rules.extra_workdays:
        return True
    return date.isoweekday() in rules.working_weekdays and date not in rules.holidays


def sessions_on(date: dt.date, rules: ScheduleRules) -> tuple[Session, ...]:
    """The sessions a date offers (empty on a day off without community weekends)."""
    if is_working_day(date, rules):
        return (Session("day", rules.day_start, rules.day_end),
                Session("evening", rules.community_evening_start, rules.community_evening_end))
    if rules.community_weekends:
        return (Session("weekend", rules.community_weekend_start, rules.community_weekend_end),)
    return ()


def campaign_dates(start: dt.date, end: dt.date) -> list[dt.date]:
    if end < start:
        raise ValueError(f"the campaign ends ({end}) before it starts ({start})")
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


def absent(rules: ScheduleRules) -> set[tuple[str, dt.date]]:
    """(cadre_id, date) pairs on which a cadre is away (请假/出差)."""
    out = set()
    for a in rules.absences:
        for d in campaign_dates(a.start, a.end):
            out.add((a.cadre_id, d))
    return out


def week_of(date: dt.date) -> tuple[int, int]:
    iso = date.isocalendar()
    return iso[0], iso[1]
