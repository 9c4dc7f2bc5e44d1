"""Campaign schedule (走访日程) and daily routes: which day each visit happens, by whom, in what order.

A two-level plan: the campaign level (:mod:`.sweep`) gives every visit a
cadre-day (grids and villages kept together, must-visits early, joint visits
on one day at one appointment, at most N teams per village per day); the day
level (:mod:`.day`) orders each cadre-day with :func:`planner.routing.solve_routes`
on walking/driving times from :mod:`geodata.network`. What does not fit before
the deadline is reported in ``shortfall``, never dropped.

Public API::

    rules = load_schedule_rules("rules.toml")          # the [schedule] section
    plan = schedule(campaign, assignment, must_visits, rules,
                    start=date(2026, 3, 2), end=date(2026, 4, 30),
                    time_limit=0.5, iterations=300, seed=0, workers=2)
    plan.stops, plan.days, plan.shortfall, plan.info
    problems = check_schedule(plan, assignment, must_visits, rules)   # [] when every rule holds
    again = reschedule(campaign, assignment, must_visits, rules, stops=plan.stops, days=plan.days,
                       outcomes=outcomes, today=date(2026, 3, 13), end=date(2026, 4, 30))
"""

from planner.schedule.check import check_schedule
from planner.schedule.frames import Schedule
from planner.schedule.plan import schedule
from planner.schedule.replan import OUTCOMES, OutcomeError, normalise_outcomes, reschedule
from planner.schedule.rules import (
    ScheduleRules,
    ScheduleRulesError,
    ServiceMinutes,
    load_schedule_rules,
    schedule_rules_from_dict,
)

__all__ = [
    "OUTCOMES", "OutcomeError", "Schedule", "normalise_outcomes", "reschedule", "ScheduleRules", "ScheduleRulesError", "ServiceMinutes", "check_schedule", "load_schedule_rules",
    "schedule", "schedule_rules_from_dict",
]
