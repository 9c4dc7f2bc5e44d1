"""The words of visits and problems: allowed values, their Chinese terms, and
the problem status flow (访办一体), as data that the store enforces and
:mod:`planner.problems` reasons with.

Sources: seeds 004 appendices 3 (household survey form, 群众入户调查表), 4
(problem list, 党员干部走访收集问题清单) and 5 (summary table, 群众入户调查问题建议汇总表).
"""

from __future__ import annotations

#: What a visit is about.
ENTITY_TYPES = ("household", "enterprise", "village")
ENTITY_CHINESE = {"household": "农户/住户", "enterprise": "企业", "village": "村/社区"}

#: Outcome of one visit (走访结果).
OUTCOMES = ("visited", "not_home", "refused", "phone")
OUTCOME_CHINESE = {"visited": "入户走访", "not_home": "不在家", "refused": "拒访", "phone": "电话/微信走访"}

#: Fields of the household survey form (群众入户调查表, seeds 004 appendix 3).
SURVEY_FIELDS = {
    "head_name": "户主姓名",
    "phone": "联系电话",
    "members": "家庭成员数",
    "address": "家庭住址",
    "income": "家庭收入情况（家境情况）",
    "poverty_cause": "致贫原因及现状（贫困户填写）",
    "needs": "困难需求（贫困户填写）",
    "opinions": "意见建议（对居住、就医、教育、文化、平安、社保等）",
    "handling": "意见建议处理落实情况",
}
#: Topics of the ``opinions`` field (a mapping topic → text).
OPINION_TOPICS = {
    "housing": "居住", "medical": "就医", "education": "教育", "culture": "文化",
    "safety": "平安", "social_security": "社保", "other": "其他",
}
#: Survey fields that are personal data (masked for leaders).
PERSONAL_FIELDS = ("head_name", "phone")

#: Problem categories: the rows of the summary table (seeds 004 appendix 5).
CATEGORIES = ("difficulty", "housing_land", "medical_health", "education_culture", "safety_governance",
              "employment", "social_security", "other")
CATEGORY_CHINESE = {
    "difficulty": "困难需求", "housing_land": "房屋土地", "medical_health": "医疗卫生",
    "education_culture": "教育文化", "safety_governance": "平安治理", "employment": "就业创业",
    "social_security": "社会保障", "other": "其他方面",
}

#: The level that must solve a problem (分级负责).
LEVELS = ("on_spot", "town", "department", "policy")
LEVEL_CHINESE = {"on_spot": "即知即办", "town": "镇村层面", "department": "县市部门", "policy": "政策层面"}
#: Days from raising to the due date when the record gives none (rules as data; override per call).
DEFAULT_DUE_DAYS = {"on_spot": 1, "town": 15, "department": 30, "policy": 90}

#: Problem statuses, in flow order.
STATUSES = ("open", "assigned", "in_progress", "solved", "confirmed")
STATUS_CHINESE = {"open": "待交办", "assigned": "已交办", "in_progress": "办理中", "solved": "已解决待确认",
                  "confirmed": "群众满意已销号"}
#: Statuses in which a problem still needs work (warnings apply).
OPEN_STATUSES = ("open", "assigned", "in_progress")
#: Statuses counted as solved (已解决) in reports.
SOLVED_STATUSES = ("solved", "confirmed")

#: action → {from status: to status}. ``solve`` from open/assigned only for
#: on-the-spot problems (即知即办), see :data:`ON_SPOT_ONLY`.
TRANSITIONS = {
    "assign": {"open": "assigned"},
    "start": {"assigned": "in_progress"},
    "solve": {"in_progress": "solved", "open": "solved", "assigned": "solved"},
    "confirm": {"solved": "confirmed"},  # the household is satisfied: 销号
    "reject": {"solved": "open"},  # the household is not satisfied: reopened
    "handover": {"open": "assigned", "assigned": "assigned", "in_progress": "assigned"},
}
ACTIONS = tuple(TRANSITIONS)
ACTION_CHINESE = {"create": "登记", "assign": "交办", "start": "开始办理", "solve": "办结", "confirm": "群众确认满意",
                  "reject": "群众不满意退回", "handover": "移交"}
#: (action, from status) pairs allowed only for level ``on_spot``.
ON_SPOT_ONLY = {("solve", "open"), ("solve", "assigned")}


class IllegalTransition(ValueError):
    """A problem cannot take this action in its status."""


def next_status(status: str, action: str, *, level: str) -> str:
    """The status after ``action``, or :class:`IllegalTransition` saying what is allowed."""
    if action not in TRANSITIONS:
        raise IllegalTransition(f"unknown action {action!r}; actions are {', '.join(ACTIONS)}")
    to = TRANSITIONS[action].get(status)
    if to is None or ((action, status) in ON_SPOT_ONLY and level != "on_spot"):
        allowed = [a for a in ACTIONS if status in TRANSITIONS[a]
                   and not ((a, status) in ON_SPOT_ONLY and level != "on_spot")]
        raise IllegalTransition(
            f"a problem in status {status!r} ({STATUS_CHINESE.get(status, '?')}) cannot take action {action!r}"
            f" (level {level!r}); allowed: {', '.join(allowed) or 'nothing (closed)'}")
    return to
