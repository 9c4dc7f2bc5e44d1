"""Frozen results of :func:`planner.assign.assign`."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class SoftGoal:
    """One soft goal's outcome: ``bent`` when the plan gives up some of it."""

    name: str
    bent: bool
    penalty: float  # objective units
    summary: str  # in words, with numbers
    details: tuple[str, ...] = ()


@dataclass(frozen=True)
class Assignment:
    #: entity_type (grid | household | enterprise), entity_id, team_id, cadre_id
    assignment: pd.DataFrame
    #: rule, entity_type, entity_id, cadre_id, team_id, responsible_team_id, joint
    must_visits: pd.DataFrame
    #: per team: units, households, enterprises, hours, must_visits, compactness_km, pieces ...
    teams_summary: pd.DataFrame
    #: status, objective, bound, gap, wall_time, first_solution_time, seed, rules, ...
    plan_info: dict
    soft_goals: tuple[SoftGoal, ...]

    @property
    def status(self) -> str:
        return self.plan_info["status"]

    def bent_goals(self) -> list[SoftGoal]:
        return [g for g in self.soft_goals if g.bent]

    def plan_info_frame(self) -> pd.DataFrame:
        """``plan_info`` as a key/value table (values as text) for the plan file."""
        import json

        rows = [(k, v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str))
                for k, v in self.plan_info.items()]
        return pd.DataFrame(rows, columns=["key", "value"])
