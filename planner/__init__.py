"""planner: pure planning functions (assignment, schedule, routes, coverage).

Data in, data out: no Flask, no database sessions, no printing. The main entry
points::

    from planner import assign, default_rules, check_plan
    plan = assign(campaign, default_rules(), time_limit=60, workers=2, seed=0)
    assert check_plan(campaign, plan.assignment, plan.must_visits, default_rules()) == []

Scheduling lives in :mod:`planner.schedule`, daily routes in
:mod:`planner.routing`, coverage in :mod:`planner.coverage`, problems and
warnings in :mod:`planner.problems`, reports in :mod:`planner.reports`,
province-scale planning in :mod:`planner.province`.
"""

from planner.assign import (Assignment, InfeasibleError, NoPlanError, Rules, RulesError, SoftGoal, assign, check_plan,
                            default_rules, load_rules)

__all__ = ["Assignment", "InfeasibleError", "NoPlanError", "Rules", "RulesError", "SoftGoal", "assign", "check_plan",
           "default_rules", "load_rules"]
