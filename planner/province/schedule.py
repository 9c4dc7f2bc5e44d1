"""A province's schedule, county by county on Dask (走访日程 at province scale).

:func:`schedule_province` takes a province campaign and its province plan
(``assignment`` and ``must_visits`` with ``county_id``), cuts each county's
campaign (roads clipped to the county, 2 km around it), and runs
:func:`planner.schedule.schedule` for each county as a Dask task with the same
failure handling, retries and progress as the assignment
(:func:`planner.province.run_counties`). The county schedules are stacked with
``county_id`` on every row. Same seed and ``iterations`` → same schedule on 1 or
many workers (the day routing stops on iterations; keep ``time_limit`` generous).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace

import pandas as pd

from geodata.errors import ZoufangError
from planner.province.county import _worker_name, peak_rss_mb, reset_peak_rss, with_county
from planner.province.dask_runner import run_counties
from planner.province.result import CountyFailure, CountyOutcome
from planner.province.split import CountyJob, membership, split_campaign

#: metres of road kept around each county (routes may leave it briefly)
ROAD_MARGIN_M = 2000.0


@dataclass(frozen=True)
class ProvinceSchedule:
    """The county schedules stacked, ``county_id`` on every row; failed counties named."""

    stops: pd.DataFrame
    days: pd.DataFrame
    shortfall: pd.DataFrame
    cadres: pd.DataFrame
    counties: pd.DataFrame
    info: dict
    failures: tuple[CountyFailure, ...]

    @property
    def ok(self) -> bool:
        return not self.failures

    def info_frame(self) -> pd.DataFrame:
        """``info`` as a key/value table (values as text) for the plan file."""
        import json

        rows = [(k, v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str))
                for k, v in self.info.items()]
        return pd.DataFrame(rows, columns=["key", "value"])


def schedule_jobs(campaign, assignment: pd.DataFrame, must_visits: pd.DataFrame | None) -> list[CountyJob]:
    """One job per county with its campaign (roads clipped) and its rows of the plan."""
    member = membership(campaign)
    # city teams that span counties go where the plan put them
    grids = assignment[(assignment["entity_type"] == "grid") & assignment["team_id"].isin(member.spanning)]
    village_of = dict(zip(campaign.grids["grid_id"].astype(str), campaign.grids["village_id"].astype(str)))
    city = {village_of[str(g)]: str(t) for g, t in zip(grids["entity_id"], grids["team_id"])}
    jobs = []
    for job in split_campaign(campaign, member=member, city=city):
        frames = {"assignment": _rows(assignment, job.county_id)}
        if must_visits is not None:
            frames["must_visits"] = _rows(must_visits, job.county_id)
        sub = replace(job.campaign, roads=_clip_roads(campaign, job.campaign))
        jobs.append(replace(job, campaign=sub, fixed={}, frames=frames))
    return jobs


def schedule_province(campaign, assignment: pd.DataFrame, must_visits: pd.DataFrame | None, rules, *, start, end,
                      client=None, time_limit: float = 0.5, iterations: int | None = 300, seed: int = 0,
                      retries: int = 2, progress: Callable[[dict], None] | None = None) -> ProvinceSchedule:
    """Schedule every county of the province plan (``assignment`` / ``must_visits`` with ``county_id``)."""
    t0 = time.perf_counter()
    jobs = schedule_jobs(campaign, assignment, must_visits)
    outcomes = run_counties(jobs, rules, client=client, time_limit=time_limit, seed=seed, retries=retries,
                            progress=progress, solve=schedule_county,
                            assign_options={"start": start, "end": end, "iterations": iterations})
    parts: dict[str, list] = {"stops": [], "days": [], "shortfall": [], "cadres": []}
    rows = []
    for o in outcomes:
        if o.plan is not None:
            for name in parts:
                parts[name].append(with_county(getattr(o.plan, name), o.county_id))
        info = o.plan.info if o.plan is not None else {}
        rows.append({"county_id": o.county_id, "name": o.name, "status": "ok" if o.ok else "failed",
                     "failure": o.failure.kind if o.failure else None,
                     "reason": o.failure.reason if o.failure else None, "attempts": o.attempts,
                     "stops": len(o.plan.stops) if o.plan is not None else None,
                     "shortfall": len(o.plan.shortfall) if o.plan is not None else None,
                     "cadre_days": info.get("cadre_days"), "wall_time": round(o.wall_time, 3),
                     "cpu_time": round(o.cpu_time, 3), "worker": o.worker, "peak_rss_mb": round(o.peak_rss_mb, 1),
                     "notes": " | ".join(o.notes) or None})
    failures = tuple(o.failure for o in outcomes if o.failure is not None)
    frames = {k: (pd.concat(v, ignore_index=True) if v else pd.DataFrame({"county_id": pd.Series(dtype=object)}))
              for k, v in parts.items()}
    info = {"status": "OK" if not failures else ("PARTIAL" if len(failures) < len(outcomes) else "FAILED"),
            "counties": len(outcomes), "counties_failed": [f.county_id for f in failures],
            "failures": [str(f) for f in failures], "start": str(start), "end": str(end), "seed": seed,
            "iterations": iterations, "time_limit": time_limit, "wall_time": round(time.perf_counter() - t0, 3)}
    return ProvinceSchedule(frames["stops"], frames["days"], frames["shortfall"], frames["cadres"],
                            pd.DataFrame(rows), info, failures)


def schedule_county(job: CountyJob, rules, *, time_limit: float, seed: int, solver_workers: int = 1,
                    assign_options: dict | None = None, attempt: int = 1) -> CountyOutcome:
    """Schedule one county (the Dask task); never raises for the county's own trouble."""
    from planner.schedule import schedule

    t0, c0 = time.perf_counter(), time.process_time()
    start_rss = reset_peak_rss()
    opts = dict(assign_options or {})
    plan = failure = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            must = job.frames.get("must_visits")
            plan = schedule(job.campaign, _without_county(job.frames["assignment"]),
                            _without_county(must) if must is not None else None, rules,
                            start=opts["start"], end=opts["end"], time_limit=time_limit,
                            iterations=opts.get("iterations", 300), seed=seed, workers=solver_workers)
        except ZoufangError as exc:
            failure = CountyFailure(job.county_id, job.name, "data", str(exc), attempt)
        except Exception as exc:  # a bug or an unexpected input: named, never swallowed
            failure = CountyFailure(job.county_id, job.name, "error", f"{type(exc).__name__}: {exc}", attempt)
    notes = tuple(dict.fromkeys(str(w.message).splitlines()[0] for w in caught))
    return CountyOutcome(job.county_id, job.name, plan if failure is None else None, failure,
                         time.perf_counter() - t0, peak_rss_mb(), _worker_name(), attempt,
                         len(job.campaign.households), time_limit, time.process_time() - c0, start_rss, notes)


def _rows(frame: pd.DataFrame, county_id: str) -> pd.DataFrame:
    return frame[frame["county_id"].astype(str) == county_id].reset_index(drop=True)


def _without_county(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=["county_id"], errors="ignore").reset_index(drop=True)


def _clip_roads(campaign, county):
    roads = campaign.roads
    if roads is None or not len(roads):
        return None
    if county.counties is not None and len(county.counties):
        area = county.counties.geometry.union_all()
    else:
        area = county.villages.geometry.union_all().envelope
    hit = roads.sindex.query(area.buffer(ROAD_MARGIN_M), predicate="intersects")
    return roads.iloc[sorted(hit)].reset_index(drop=True)
