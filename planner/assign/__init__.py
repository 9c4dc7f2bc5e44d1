"""Team assignment (分组包干): every unit, household and enterprise to exactly one
team and cadre, the must-visit rules (四个必到) met, quotas kept; balanced,
compact and contiguous territories as soft goals. OR-Tools CP-SAT.

Public API::

    rules = load_rules("rules.toml")          # or default_rules()
    plan = assign(campaign, rules, time_limit=60, workers=2, seed=0)
    problems = check_plan(campaign, plan.assignment, plan.must_visits, rules)
"""

from planner.assign.check import check_plan
from planner.assign.explain import InfeasibleError
from planner.assign.plan import NoPlanError, assign
from planner.assign.result import Assignment, SoftGoal
from planner.assign.rules import MustVisitRule, Rules, RulesError, default_rules, load_rules, rules_from_dict

__all__ = [
    "Assignment", "InfeasibleError", "MustVisitRule", "NoPlanError", "Rules", "RulesError", "SoftGoal",
    "assign", "check_plan", "default_rules", "load_rules", "rules_from_dict",
]
