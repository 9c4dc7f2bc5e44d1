"""Counties as Dask tasks: a local cluster or an existing scheduler, retries, progress.

:func:`dask_client` opens a ``LocalCluster`` of ``workers`` processes with one
thread each (CP-SAT runs one thread per county; the parallelism is across
counties), or connects to an existing scheduler (``tcp://HOST:8786``).
:func:`run_counties` submits one task per county and collects every outcome:

* a county's own failure (bad data, infeasible rules, a bug) comes back as a
  value from :func:`~planner.province.county.solve_county` and is final;
* ``no_plan`` (no plan within the time limit) is run again with twice the time
  limit, ``retries`` times at most;
* a lost worker (the scheduler gives up with ``KilledWorker`` after
  ``allowed_failures`` deaths under the task, its scattered data is lost with a
  worker, or the connection drops) is submitted again with its data sent
  again, ``retries`` times at most, then reported as ``worker_lost``.

Outcomes are returned in job order whatever order they finish in, and a
progress callback gets ``{"done", "total", "county_id", "name", "status"}``
each time a county is final (``status``: ok | failed) or retried (``retrying``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import contextmanager

from planner.province.county import solve_county
from planner.province.result import RETRYABLE, CountyFailure, CountyOutcome
from planner.province.split import CountyJob

#: exceptions (by class name) that mean the worker, not the county, failed
_LOST = ("KilledWorker", "CommClosedError", "FutureCancelledError", "CancelledError", "OSError", "TimeoutError")


@contextmanager
def dask_client(*, workers: int = 2, scheduler: str | None = None, allowed_failures: int = 1,
                memory_limit: str | float | int = "auto"):
    """A ``distributed.Client``: on ``scheduler`` when given, else on a new ``LocalCluster`` of
    ``workers`` processes × 1 thread (closed on exit). ``allowed_failures``: how many workers may
    die under one task before the scheduler gives up on it (local clusters only)."""
    import dask
    from distributed import Client, LocalCluster

    if scheduler:
        client = Client(scheduler)
        try:
            yield client
        finally:
            client.close()
        return
    with dask.config.set({"distributed.scheduler.allowed-failures": int(allowed_failures)}):
        cluster = LocalCluster(n_workers=int(workers), threads_per_worker=1, processes=True,
                               dashboard_address=":0", memory_limit=memory_limit)
    try:
        client = Client(cluster)
        try:
            yield client
        finally:
            client.close()
    finally:
        cluster.close()


def run_counties(jobs: Sequence[CountyJob], rules, *, client=None, time_limit: float, seed: int,
                 solver_workers: int = 1, retries: int = 2, progress: Callable[[dict], None] | None = None,
                 assign_options: dict | None = None, solve: Callable = solve_county,
                 in_flight: int | None = None) -> list[CountyOutcome]:
    """Solve every county; ``client=None`` runs them one by one in this process.
    ``in_flight``: counties sent to the cluster at a time (default 2 per worker thread)."""
    opts = dict(time_limit=time_limit, seed=seed, solver_workers=solver_workers, assign_options=assign_options)
    tracker = _Tracker(jobs, progress)
    if client is None:
        for i, job in enumerate(jobs):
            attempt, limit = 1, float(time_limit)
            while True:
                out = solve(job, rules, **{**opts, "time_limit": limit}, attempt=attempt)
                nxt = _next_try(out.failure, attempt, retries, limit)
                if nxt is None:
                    tracker.final(i, out)
                    break
                tracker.retrying(i, out.failure.kind)
                attempt, limit = attempt + 1, nxt
        return tracker.results()
    return _run_dask(client, jobs, rules, opts, retries, tracker, solve, in_flight)


def _run_dask(client, jobs, rules, opts, retries, tracker, solve, in_flight=None) -> list[CountyOutcome]:
    """Submit the counties biggest first (the longest jobs first shortens the tail), at most
    ``in_flight`` at a time (default 2 per worker thread), so the cluster holds only the
    counties it is working on; collect each outcome as it comes."""
    from distributed import as_completed

    if in_flight is None:
        in_flight = 2 * max(1, sum(client.nthreads().values()))
    order = sorted(range(len(jobs)), key=lambda i: (-jobs[i].households, i))
    rules_f = client.scatter(rules, broadcast=True, hash=False)
    meta: dict = {}

    def submit(i: int, attempt: int, limit: float):
        nonlocal rules_f
        if attempt > 1:  # data scattered to a lost worker is gone with it: send the rules again too
            rules_f = client.scatter(rules, broadcast=True, hash=False)
        job_f = client.scatter(jobs[i], hash=False)
        key = f"county-{jobs[i].county_id}-attempt{attempt}-{id(tracker)}"
        fut = client.submit(solve, job_f, rules_f, **{**opts, "time_limit": limit}, attempt=attempt,
                            key=key, pure=False)
        meta[fut.key] = (i, attempt, limit, job_f)
        return fut

    queue = iter(order)
    first = [submit(i, 1, float(opts["time_limit"])) for _, i in zip(range(in_flight), queue)]
    pending = as_completed(first, raise_errors=False)
    for fut in pending:
        i, attempt, limit, job_f = meta.pop(fut.key)
        infra = fut.status != "finished"
        if not infra:
            out = fut.result()
        else:
            exc = fut.exception()
            kind = "worker_lost" if type(exc).__name__ in _LOST else "error"
            reason = (f"the worker running it was lost ({type(exc).__name__}: {exc})" if kind == "worker_lost"
                      else f"{type(exc).__name__}: {exc}")
            job = jobs[i]
            out = CountyOutcome(job.county_id, job.name, None, CountyFailure(job.county_id, job.name, kind, reason,
                                                                          attempt),
                                0.0, 0.0, "?", attempt, job.households, limit)
        fut.release()
        job_f.release()
        # solve_county never raises: an exception here came from the cluster (a lost worker, lost
        # scattered data, a dropped connection), so another attempt may help whatever its type
        nxt = _next_try(out.failure, attempt, retries, limit, infra=infra)
        if nxt is None:
            tracker.final(i, out)
            following = next(queue, None)
            if following is not None:
                pending.add(submit(following, 1, float(opts["time_limit"])))
        else:
            tracker.retrying(i, out.failure.kind)
            pending.add(submit(i, attempt + 1, nxt))
    rules_f.release()
    return tracker.results()


def _next_try(failure: CountyFailure | None, attempt: int, retries: int, limit: float, *,
              infra: bool = False) -> float | None:
    """The time limit of the next attempt, or None when the outcome is final."""
    if failure is None or (failure.kind not in RETRYABLE and not infra) or attempt > retries:
        return None
    return limit * 2 if failure.kind == "no_plan" else limit


class _Tracker:
    def __init__(self, jobs, progress):
        self.jobs, self.progress = jobs, progress
        self.out: list[CountyOutcome | None] = [None] * len(jobs)
        self.done = 0

    def final(self, i: int, outcome: CountyOutcome):
        self.out[i] = outcome
        self.done += 1
        self._emit(i, "ok" if outcome.ok else "failed")

    def retrying(self, i: int, kind: str):
        self._emit(i, "retrying", kind=kind)

    def _emit(self, i, status, **extra):
        if self.progress is not None:
            job = self.jobs[i]
            self.progress({"done": self.done, "total": len(self.jobs), "county_id": job.county_id,
                           "name": job.name, "status": status, **extra})

    def results(self) -> list[CountyOutcome]:
        missing = [self.jobs[i].county_id for i, o in enumerate(self.out) if o is None]
        if missing:  # pragma: no cover - every job ends final above
            raise AssertionError(f"counties without an outcome: {missing}")
        return list(self.out)
