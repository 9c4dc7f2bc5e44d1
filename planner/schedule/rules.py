"""Schedule rules (走访日程规则): the ``[schedule]`` section of the campaign rules file.

The defaults live at the end of ``planner/rules_default.toml`` and are
documented there; a rules file only needs the keys that differ. Unknown keys
and bad values are collected and reported together in one
:class:`ScheduleRulesError` (a :class:`planner.assign.RulesError`).

Load with :func:`load_schedule_rules` (a path or ``None`` for the defaults) or
:func:`schedule_rules_from_dict` (the ``[schedule]`` table as a dict, e.g.
``planner.assign.load_rules(path).extra["schedule"]``).
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from geodata.schema import HOUSEHOLD_STATUSES
from planner.assign.rules import DEFAULT_RULES_PATH, RulesError

START_AT = ("base", "village_committee")


class ScheduleRulesError(RulesError):
    """The ``[schedule]`` section is invalid; ``problems`` lists every problem."""


@dataclass(frozen=True)
class ServiceMinutes:
    """Minutes per visit by household status, the poor-household extra and enterprises."""

    resident: float = 30
    rental: float = 20
    away: float = 20
    vacant: float = 10
    poor_extra: float = 30
    enterprise: float = 45

    def household(self, status: str, *, poor: bool) -> float:
        return getattr(self, status) + (self.poor_extra if poor else 0)


@dataclass(frozen=True)
class Absence:
    cadre_id: str
    start: dt.date
    end: dt.date


@dataclass(frozen=True)
class ScheduleRules:
    """Validated ``[schedule]`` rules; times are minutes after midnight."""

    working_weekdays: tuple[int, ...] = (1, 2, 3, 4, 5)
    holidays: tuple[dt.date, ...] = ()
    extra_workdays: tuple[dt.date, ...] = ()
    day_start: int = 8 * 60 + 30
    day_end: int = 17 * 60 + 30
    community_evening_start: int = 18 * 60 + 30
    community_evening_end: int = 21 * 60
    community_weekends: bool = True
    community_weekend_start: int = 9 * 60
    community_weekend_end: int = 17 * 60
    max_sessions_per_week: int = 5
    fill: float = 0.85
    absences: tuple[Absence, ...] = ()
    must_visit_days: int = 10
    joint_window_minutes: int = 15
    village_meeting_minutes: float = 60
    start_at: str = "base"
    drive_between_villages: bool = True
    walk_within_village: bool = True
    max_villages_per_day: int = 2
    max_teams_per_village_day: int = 2
    phone_statuses: tuple[str, ...] = ("vacant",)
    service_minutes: ServiceMinutes = ServiceMinutes()

    def to_dict(self) -> dict:
        """Plain JSON-able dict (for ``plan_info``)."""
        out = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name == "service_minutes":
                v = {g.name: getattr(v, g.name) for g in fields(v)}
            elif f.name == "absences":
                v = [{"cadre_id": a.cadre_id, "from": a.start.isoformat(), "to": a.end.isoformat()} for a in v]
            elif f.name in ("holidays", "extra_workdays"):
                v = [d.isoformat() for d in v]
            elif f.name.endswith(("_start", "_end")):
                v = f"{v // 60:02d}:{v % 60:02d}"
            elif isinstance(v, tuple):
                v = list(v)
            out[f.name] = v
        return out


def load_schedule_rules(path: str | Path | None = None) -> ScheduleRules:
    """The ``[schedule]`` section of ``path`` over the defaults (``None``: the defaults alone)."""
    defaults = _read(DEFAULT_RULES_PATH).get("schedule", {})
    if path is None:
        return schedule_rules_from_dict(defaults, source="defaults")
    own = _read(Path(path)).get("schedule", {})
    if not isinstance(own, dict):
        raise ScheduleRulesError(f"invalid rules ({path}): [schedule] must be a table", ["[schedule] must be a table"])
    merged = dict(defaults)
    for key, value in own.items():
        if key == "service_minutes" and isinstance(value, dict):
            merged[key] = {**defaults.get(key, {}), **value}
        else:
            merged[key] = value
    return schedule_rules_from_dict(merged, source=str(path))


def _read(path: Path) -> dict:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ScheduleRulesError(f"rules file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScheduleRulesError(f"rules file {path} is not valid TOML: {exc}") from None


def schedule_rules_from_dict(data: dict, *, source: str = "dict") -> ScheduleRules:
    """Validate the ``[schedule]`` table; missing keys take the defaults."""
    problems: list[str] = []
    known = {f.name for f in fields(ScheduleRules)}
    kwargs: dict[str, Any] = {}

    def bad(key, value, msg):
        problems.append(f"[schedule] {key} = {value!r}: {msg}")

    for key, value in data.items():
        if key not in known:
            problems.append(f"[schedule] unknown key '{key}' (allowed: {', '.join(sorted(known))})")
            continue
        if key == "working_weekdays":
            ok = isinstance(value, list) and all(isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= 7 for d in value)
            if not ok or len(set(value)) != len(value):
                bad(key, value, "must be a list of distinct weekdays 1 (Monday) .. 7 (Sunday)")
            else:
                kwargs[key] = tuple(sorted(value))
        elif key in ("holidays", "extra_workdays"):
            dates = [_date(v) for v in value] if isinstance(value, list) else [None]
            if None in dates:
                bad(key, value, "must be a list of dates 'YYYY-MM-DD'")
            else:
                kwargs[key] = tuple(sorted(dates))
        elif key.endswith(("_start", "_end")) and key != "start_at":
            minutes = _hhmm(value)
            if minutes is None:
                bad(key, value, "must be a time 'HH:MM' (00:00 .. 24:00)")
            else:
                kwargs[key] = minutes
        elif key in ("community_weekends", "drive_between_villages", "walk_within_village"):
            if not isinstance(value, bool):
                bad(key, value, "must be true or false")
            else:
                kwargs[key] = value
        elif key in ("max_sessions_per_week", "must_visit_days", "max_villages_per_day", "max_teams_per_village_day",
                     "joint_window_minutes"):
            low = 0 if key in ("must_visit_days", "joint_window_minutes") else 1
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                bad(key, value, f"must be a whole number ≥ {low}")
            elif key == "max_sessions_per_week" and value > 7:
                bad(key, value, "a week has 7 days")
            else:
                kwargs[key] = value
        elif key == "fill":
            if not _num(value) or not 0 < value <= 1:
                bad(key, value, "must be a number in (0, 1]")
            else:
                kwargs[key] = float(value)
        elif key == "village_meeting_minutes":
            if not _num(value) or value <= 0:
                bad(key, value, "must be a number > 0")
            else:
                kwargs[key] = value
        elif key == "start_at":
            if value not in START_AT:
                bad(key, value, f"must be one of {', '.join(START_AT)}")
            else:
                kwargs[key] = value
        elif key == "phone_statuses":
            if not isinstance(value, list) or any(v not in HOUSEHOLD_STATUSES for v in value):
                bad(key, value, f"must be a list of household statuses ({', '.join(HOUSEHOLD_STATUSES)})")
            else:
                kwargs[key] = tuple(value)
        elif key == "absences":
            kwargs[key] = _absences(value, problems)
        elif key == "service_minutes":
            kwargs[key] = _service(value, problems)
    for a, b, what in (("day_start", "day_end", "day"), ("community_evening_start", "community_evening_end", "evening"),
                       ("community_weekend_start", "community_weekend_end", "weekend")):
        lo = kwargs.get(a, getattr(ScheduleRules, a))
        hi = kwargs.get(b, getattr(ScheduleRules, b))
        if lo >= hi:
            problems.append(f"[schedule] {a} must be before {b} (the {what} session is empty)")
    if problems:
        raise ScheduleRulesError(
            f"invalid rules ({source}): {len(problems)} problem(s):\n  - " + "\n  - ".join(problems), problems
        )
    return ScheduleRules(**kwargs)


def _num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _date(v) -> dt.date | None:
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    try:
        return dt.date.fromisoformat(str(v))
    except ValueError:
        return None


def _hhmm(v) -> int | None:
    if isinstance(v, dt.time):
        return v.hour * 60 + v.minute
    try:
        h, m = str(v).split(":")
        minutes = int(h) * 60 + int(m)
    except ValueError:
        return None
    return minutes if 0 <= int(m) < 60 and 0 <= minutes <= 24 * 60 else None


def _absences(value, problems: list[str]) -> tuple[Absence, ...]:
    if not isinstance(value, list):
        problems.append("[schedule] absences must be a list of { cadre_id = ..., from = date, to = date }")
        return ()
    out = []
    for i, item in enumerate(value):
        label = f"[schedule] absences #{i + 1}"
        if not isinstance(item, dict) or set(item) - {"cadre_id", "from", "to"}:
            problems.append(f"{label}: must be {{ cadre_id = ..., from = date, to = date }}, got {item!r}")
            continue
        start, end = _date(item.get("from")), _date(item.get("to", item.get("from")))
        if not item.get("cadre_id") or start is None or end is None or end < start:
            problems.append(f"{label}: needs cadre_id and dates from ≤ to, got {item!r}")
            continue
        out.append(Absence(str(item["cadre_id"]), start, end))
    return tuple(out)


def _service(value, problems: list[str]) -> ServiceMinutes:
    if not isinstance(value, dict):
        problems.append("[schedule.service_minutes] must be a table")
        return ServiceMinutes()
    known = {f.name for f in fields(ServiceMinutes)}
    kwargs = {}
    for key, v in value.items():
        if key not in known:
            problems.append(f"[schedule.service_minutes] unknown key '{key}' (allowed: {', '.join(sorted(known))})")
        elif not _num(v) or v < 0:
            problems.append(f"[schedule.service_minutes] {key} = {v!r}: must be a number ≥ 0")
        else:
            kwargs[key] = v
    return ServiceMinutes(**kwargs)
