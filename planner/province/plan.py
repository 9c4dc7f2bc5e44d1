"""``plan_province(...) -> ProvincePlan``: a province planned county by county.

Steps: campaign → county of every village and team (:mod:`.split`) → the
city-level problem for city teams that span counties (:mod:`.city`) → one
job per county with those villages fixed → every county solved as a Dask task
(:mod:`.dask_runner`; one by one in this process when no client is given) →
the county plans stacked into one plan, ``county_id`` on every row, every
failed county named with its reason.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import pandas as pd

from planner.province.city import CityPlan, assign_city_teams
from planner.province.county import with_county
from planner.province.dask_runner import run_counties
from planner.province.result import CountyFailure, CountyOutcome, ProvincePlan
from planner.province.split import CountyJob, membership, split_campaign

COUNTY_COLUMNS = ["county_id", "name", "status", "failure", "reason", "attempts", "households", "grids", "teams",
                  "solver_status", "objective", "gap", "time_limit", "wall_time", "cpu_time", "worker", "start_rss_mb",
                  "peak_rss_mb"]


def province_jobs(campaign, rules, *, city_time_limit: float = 10.0, seed: int = 0) -> tuple[list[CountyJob], CityPlan]:
    """Split ``campaign`` into county jobs after giving the spanning city teams their villages."""
    member = membership(campaign)
    city = assign_city_teams(campaign, member, rules, time_limit=city_time_limit, seed=seed)
    return split_campaign(campaign, member=member, city=city.villages), city


def plan_province(campaign=None, rules=None, *, jobs: Sequence[CountyJob] | None = None, client=None,
                  time_limit: float = 60.0, seed: int = 0, solver_workers: int = 1, retries: int = 2,
                  city_time_limit: float = 10.0, progress: Callable[[dict], None] | None = None,
                  assign_options: dict | None = None, failed: Sequence[CountyFailure] = (),
                  previous: pd.DataFrame | None = None) -> ProvincePlan:
    """Plan every county of a province; one plan with ``county_id`` on every row.

    Give a province ``campaign`` (split by its ``counties`` / ``towns.county_id``)
    or ready ``jobs`` (e.g. :func:`planner.province.jobs_from_folder`).
    ``client``: a ``distributed.Client`` (see :func:`planner.province.dask_client`);
    None solves the counties one by one here. ``time_limit``: seconds per county
    on CP-SAT's deterministic clock, so the same ``seed`` gives the same plan on
    1 or many workers. ``progress`` gets ``{"done", "total", "county_id", "name",
    "status"}`` as counties finish. Raises
    :class:`~planner.province.split.ProvinceDataError` when the campaign cannot be
    split and :class:`~planner.province.city.CityPlanError` when the city teams
    cannot get their villages; a county's own failure never raises: it is in
    ``failures`` and ``counties``. ``failed``: counties that failed before
    planning (e.g. bad data found by :func:`planner.province.load_province`),
    reported with the others. ``previous``: the ``assignment`` of an earlier plan
    (province or county); each county then moves as few households as the rules allow.
    """
    if rules is None:
        from planner.assign import default_rules

        rules = default_rules()
    t0 = time.perf_counter()
    city = None
    if jobs is None:
        if campaign is None:
            raise TypeError("plan_province() needs a campaign or jobs")
        jobs, city = province_jobs(campaign, rules, city_time_limit=city_time_limit, seed=seed)
    if previous is not None:
        jobs = [with_previous(job, previous) for job in jobs]
    failed = list(failed)
    total = len(jobs) + len(failed)
    for i, f in enumerate(failed):
        if progress is not None:
            progress({"done": i + 1, "total": total, "county_id": f.county_id, "name": f.name, "status": "failed"})

    def shifted(ev):
        progress({**ev, "done": ev["done"] + len(failed), "total": total})

    outcomes = run_counties(jobs, rules, client=client, time_limit=time_limit, seed=seed,
                            solver_workers=solver_workers, retries=retries,
                            progress=shifted if progress is not None else None, assign_options=assign_options)
    outcomes = sorted(list(outcomes) + [CountyOutcome(f.county_id, f.name, None, f, 0.0, 0.0, "-", f.attempts)
                                        for f in failed], key=lambda o: o.county_id)
    return merge(outcomes, city=city, rules=rules, wall_time=time.perf_counter() - t0,
                 options={"seed": seed, "time_limit": time_limit, "solver_workers": solver_workers, "retries": retries})


def with_previous(job: CountyJob, previous: pd.DataFrame) -> CountyJob:
    """The job with the earlier plan's grid rows of its county (by grid, else by county_id)."""
    from dataclasses import replace

    grid_rows = previous[previous["entity_type"] == "grid"]
    if job.campaign is not None:
        keep = grid_rows["entity_id"].astype(str).isin(set(job.campaign.grids["grid_id"].astype(str)))
    elif "county_id" in grid_rows:
        keep = grid_rows["county_id"].astype(str) == job.county_id
    else:
        keep = pd.Series(True, index=grid_rows.index)
    rows = grid_rows[keep].drop(columns=["county_id"], errors="ignore").reset_index(drop=True)
    return replace(job, frames={**job.frames, "previous": rows})


def merge(outcomes: Sequence[CountyOutcome], *, city: CityPlan | None, rules, wall_time: float,
          options: dict) -> ProvincePlan:
    """Stack the county plans (in county order) and name every failure."""
    from planner.assign.review import soft_goals_frame

    parts = {"assignment": [], "must_visits": [], "teams_summary": [], "soft_goals": []}
    rows = []
    for o in outcomes:
        p = o.plan
        if p is not None:
            for name in parts:
                frame = soft_goals_frame(p.soft_goals) if name == "soft_goals" else getattr(p, name)
                parts[name].append(with_county(frame, o.county_id))
        info = p.plan_info if p is not None else {}
        grids = int((p.assignment["entity_type"] == "grid").sum()) if p is not None else None
        rows.append({
            "county_id": o.county_id, "name": o.name, "status": "ok" if o.ok else "failed",
            "failure": o.failure.kind if o.failure else None, "reason": o.failure.reason if o.failure else None,
            "attempts": o.attempts, "households": o.households, "grids": grids,
            "teams": int((p.teams_summary["units"] > 0).sum()) if p is not None else None,
            "solver_status": info.get("status"), "objective": info.get("objective"), "gap": info.get("gap"),
            "time_limit": o.time_limit, "wall_time": round(o.wall_time, 3), "cpu_time": round(o.cpu_time, 3),
            "worker": o.worker, "start_rss_mb": round(o.start_rss_mb, 1), "peak_rss_mb": round(o.peak_rss_mb, 1),
        })
    frames = {name: _concat(fs) for name, fs in parts.items()}
    failures = tuple(o.failure for o in outcomes if o.failure is not None)
    n_ok = len(outcomes) - len(failures)
    info = {
        "status": "OK" if not failures else ("PARTIAL" if n_ok else "FAILED"),
        "counties": len(outcomes), "counties_planned": n_ok, "counties_failed": [f.county_id for f in failures],
        "failures": [str(f) for f in failures], "wall_time": round(wall_time, 3),
        "households": int((frames["assignment"]["entity_type"] == "household").sum()) if len(frames["assignment"]) else 0,
        # households of the failed counties, not in this plan (0 when their data could not be read)
        "households_unplanned": int(sum(o.households for o in outcomes if not o.ok)),
        "city_status": city.status if city is not None else None,
        "city_objective": city.objective if city is not None else None,
        "city_villages": len(city.villages) if city is not None else 0,
        **options, "rules_source": rules.source, "rules": rules.to_dict(),
    }
    table = city.table if city is not None else pd.DataFrame(
        columns=["team_id", "county_id", "village_id", "town_id", "households", "must_visit", "distance_km"])
    return ProvincePlan(frames["assignment"], frames["must_visits"], frames["teams_summary"],
                        pd.DataFrame(rows, columns=COUNTY_COLUMNS), table.reset_index(drop=True), info, failures,
                        frames["soft_goals"])


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if len(f.columns)]
    if not frames:
        return pd.DataFrame({"county_id": pd.Series(dtype=object)})
    non_empty = [f for f in frames if len(f)] or frames[:1]
    return pd.concat(non_empty, ignore_index=True)
