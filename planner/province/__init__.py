"""Province scale (issue 7): a province planned as many county problems on Dask.

Counties are nearly independent planning problems. City-level teams that span
counties first get their villages from a small city-level problem; then each
county is solved with :func:`planner.assign.assign` as its own Dask task (a
``LocalCluster`` by default, or an existing scheduler), and the county plans
are stacked into one plan with ``county_id`` on every row. A county that
fails is named with its reason; the others still finish.

Public API::

    with dask_client(workers=2) as client:            # or scheduler="tcp://host:8786"
        plan = plan_province(campaign, rules, client=client, time_limit=60, seed=0,
                             progress=lambda ev: ...)
    plan.assignment        # county_id, entity_type, entity_id, team_id, cadre_id
    plan.failures          # CountyFailure(county_id, name, kind, reason, attempts)
    sched = schedule_province(campaign, plan.assignment, plan.must_visits, schedule_rules,
                              start=..., end=..., client=client)   # the same, for the schedule
"""

from planner.province.city import CityPlan, CityPlanError, assign_city_teams
from planner.province.county import check_county, solve_county
from planner.province.dask_runner import dask_client, run_counties
from planner.province.load import load_province
from planner.province.plan import plan_province, province_jobs
from planner.province.result import CountyFailure, CountyOutcome, ProvincePlan
from planner.province.schedule import ProvinceSchedule, schedule_province
from planner.province.split import (CountyJob, Membership, ProvinceDataError, is_province, jobs_from_folder,
                                    membership, split_campaign)

__all__ = [
    "CityPlan", "CityPlanError", "CountyFailure", "CountyJob", "CountyOutcome", "Membership", "ProvinceDataError",
    "ProvincePlan", "ProvinceSchedule", "assign_city_teams", "check_county", "dask_client", "is_province", "jobs_from_folder",
    "load_province", "membership", "plan_province", "province_jobs", "run_counties", "schedule_province", "solve_county", "split_campaign",
]
