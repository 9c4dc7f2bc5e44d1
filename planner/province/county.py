"""Solve one county: the function a Dask worker runs.

:func:`solve_county` never raises for a county's own trouble: bad data, rules
that cannot hold, no plan in time, or a bug show up as a
:class:`~planner.province.result.CountyFailure` in the returned
:class:`~planner.province.result.CountyOutcome`, so one county cannot take the
others down. Only the loss of the worker itself reaches the caller (as Dask's
``KilledWorker``), and the runner retries it.
"""

from __future__ import annotations

import inspect
import resource
import sys
import time

import pandas as pd

from geodata.errors import CampaignReadError, ValidationError
from planner.assign import InfeasibleError, NoPlanError, RulesError, assign
from planner.province.result import CountyFailure, CountyOutcome
from planner.province.split import CountyJob


def solve_county(job: CountyJob, rules, *, time_limit: float, seed: int, solver_workers: int = 1,
                 deterministic: bool = True, attempt: int = 1, assign_options: dict | None = None) -> CountyOutcome:
    """Plan one county with :func:`planner.assign.assign` and report how it went.

    ``deterministic`` measures the solver's time on CP-SAT's deterministic clock,
    so the same seed gives the same county plan on any worker and any load.
    """
    t0, c0 = time.perf_counter(), time.process_time()
    start_rss = reset_peak_rss()
    failure = None
    plan = None
    households = job.households
    campaign = job.campaign
    try:
        if campaign is None:
            from geodata import load_campaign

            campaign = load_campaign(job.source, name=job.county_id)
        households = len(campaign.households)
        problems = check_county(campaign, job)
        if problems:
            failure = ("data", "; ".join(problems))
        else:
            kwargs = dict(assign_options or {})
            if job.frames.get("previous") is not None:
                kwargs["previous"] = job.frames["previous"]
            if job.fixed:
                kwargs["fixed"] = fixed_grids(campaign, job.fixed)
                if "fixed" not in inspect.signature(assign).parameters:
                    raise RuntimeError("planner.assign.assign has no `fixed` option: city teams' villages "
                                       "cannot be fixed in a county solve")
            plan = assign(campaign, rules, time_limit=time_limit, workers=solver_workers, seed=seed,
                          deterministic=deterministic, **kwargs)
    except (ValidationError, CampaignReadError, RulesError) as exc:
        failure = ("data", _first_lines(str(exc)))
    except InfeasibleError as exc:
        failure = ("infeasible", "; ".join(exc.conflicts))
    except NoPlanError as exc:
        failure = ("no_plan", str(exc))
    except Exception as exc:  # a bug or an unexpected input: reported by name, never swallowed silently
        failure = ("error", f"{type(exc).__name__}: {_first_lines(str(exc))}")
    fail = None
    if failure is not None:
        plan = None
        fail = CountyFailure(job.county_id, job.name, failure[0], failure[1], attempt)
    return CountyOutcome(job.county_id, job.name, plan, fail, time.perf_counter() - t0, peak_rss_mb(),
                         _worker_name(), attempt, households, time_limit, time.process_time() - c0, start_rss)


def check_county(campaign, job: CountyJob) -> list[str]:
    """Data problems that make a county unplannable, in words (empty list = plannable)."""
    out = []
    if not len(campaign.grids):
        out.append("the county has no grids")
    if not len(campaign.teams):
        out.append("the county has no team (give teams.county_id, or town_id / a base inside the county)")
    elif not len(campaign.cadres):
        out.append(f"the county's {len(campaign.teams)} team(s) have no cadres")
    grids = set(campaign.grids["grid_id"].astype(str))
    villages = set(campaign.villages["village_id"].astype(str))
    lost = sorted(set(campaign.grids["village_id"].astype(str)) - villages)
    if lost:
        out.append(f"{len(lost)} grid village_id(s) are not villages of the county, e.g. {lost[:3]}")
    for layer in ("households", "enterprises"):
        frame = campaign.layer(layer)
        if frame is None or not len(frame):
            continue
        gid = frame["grid_id"]
        bad = frame.loc[gid.isna() | ~gid.astype(str).isin(grids)]
        if len(bad):
            idcol = "household_id" if layer == "households" else "enterprise_id"
            out.append(f"{len(bad)} {layer} have no grid of the county, e.g. {bad[idcol].astype(str).tolist()[:3]}")
    unknown = sorted(set(job.fixed) - villages)
    if unknown:
        out.append(f"the city-level plan fixes villages that are not in the county: {unknown[:3]}")
    return out


def fixed_grids(campaign, fixed_villages) -> dict[str, str]:
    """village_id → team_id  →  grid_id → team_id."""
    g = campaign.grids
    vil = g["village_id"].astype(str)
    keep = vil.isin(set(fixed_villages))
    return dict(zip(g.loc[keep, "grid_id"].astype(str), vil[keep].map(dict(fixed_villages))))


def peak_rss_mb() -> float:
    """Peak resident memory of this process (MiB): since the last :func:`reset_peak_rss` on Linux,
    over the process's life elsewhere."""
    hwm = _proc_status_mb("VmHWM")
    if hwm is not None:
        return hwm
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def reset_peak_rss() -> float:
    """Reset the process's peak-memory mark where the OS allows (Linux ``/proc/self/clear_refs``);
    returns the resident memory now (MiB)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass
    now = _proc_status_mb("VmRSS")
    return now if now is not None else peak_rss_mb()


def _proc_status_mb(field: str) -> float | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return "local"


def _first_lines(text: str, n: int = 6) -> str:
    lines = text.strip().splitlines()
    more = f" ... (+{len(lines) - n} lines)" if len(lines) > n else ""
    return " ".join(s.strip() for s in lines[:n]) + more


def with_county(frame: pd.DataFrame, county_id: str) -> pd.DataFrame:
    """``frame`` with ``county_id`` as its first column."""
    out = frame.copy()
    out.insert(0, "county_id", county_id)
    return out
