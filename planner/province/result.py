"""Frozen results of :func:`planner.province.plan_province`."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pandas as pd

#: why a county has no plan; the ones a retry can help are marked in :data:`RETRYABLE`
FAILURE_KINDS = ("data", "infeasible", "no_plan", "worker_lost", "error")
#: kinds worth another attempt: the worker died under the task, or the solver ran out of time
RETRYABLE = ("worker_lost", "no_plan")


@dataclass(frozen=True)
class CountyFailure:
    """A county without a plan: which one, what kind of failure, why, after how many attempts."""

    county_id: str
    name: str
    kind: str  # one of FAILURE_KINDS
    reason: str
    attempts: int = 1

    def __str__(self) -> str:
        tries = f" after {self.attempts} attempts" if self.attempts > 1 else ""
        return f"county {self.county_id} ({self.name}) failed [{self.kind}]{tries}: {self.reason}"


@dataclass(frozen=True)
class CountyOutcome:
    """One county's run, as a worker returns it: the plan (``plan``, an
    :class:`planner.assign.Assignment`) or ``failure``, and where and how long it ran."""

    county_id: str
    name: str
    plan: object | None
    failure: CountyFailure | None
    wall_time: float
    #: peak resident memory of the process while it ran this county (MiB; on Linux the
    #: peak is reset when the county starts, elsewhere it is the process's peak so far)
    peak_rss_mb: float
    worker: str
    attempts: int = 1
    households: int = 0
    time_limit: float = 0.0
    #: CPU seconds of the process spent on this county (all its threads)
    cpu_time: float = 0.0
    #: resident memory when the county started (MiB)
    start_rss_mb: float = 0.0
    #: warnings raised while planning it (e.g. travel times estimated without roads)
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.plan is not None


@dataclass(frozen=True)
class ProvincePlan:
    """One plan for the whole province, ``county_id`` on every row.

    ``assignment``, ``must_visits`` and ``teams_summary`` are the county plans'
    frames stacked in county order; ``counties`` has one row per county (status,
    failure kind and reason, attempts, wall time, worker, peak memory, solver
    status, objective, gap); ``city_teams`` the villages the city-level problem
    gave to the city teams that span counties. A county that failed is in
    ``counties`` and ``failures``, never silently missing.
    """

    assignment: pd.DataFrame
    must_visits: pd.DataFrame
    teams_summary: pd.DataFrame
    counties: pd.DataFrame
    city_teams: pd.DataFrame
    plan_info: dict
    failures: tuple[CountyFailure, ...]
    #: the county plans' soft goals (see planner.assign.review.soft_goals_frame), ``county_id`` on each row
    soft_goals: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["goal", "bent", "summary", "detail", "county_id"]))

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def status(self) -> str:
        return self.plan_info["status"]

    def plan_info_frame(self) -> pd.DataFrame:
        """``plan_info`` as a key/value table (values as text) for the plan file."""
        rows = [(k, v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str))
                for k, v in self.plan_info.items()]
        return pd.DataFrame(rows, columns=["key", "value"])
