"""Issue 6 item 6 at the repository level: 50 threads post 2,000 visits through
``geodata.store.submit_visits`` (with retries and malformed records), on SQLite (WAL) and PostgreSQL.

Afterwards: every good visit is stored exactly once, every bad one was answered
with an error every time, and the coverage figures (the store's pre-aggregated
counters) equal a recount from the raw records and from the clients' own truth.
The same load through the HTTP API is ``test_concurrency_http.py``.
"""

from __future__ import annotations

import time
from collections import Counter

import pandas as pd
import pytest
from sqlalchemy import func, select

from geodata import store
from planner.coverage import coverage, visit_counts
from visit_factories import client_workload, new_db, new_pg_db, run_clients, synthetic_campaign


def check_outcome(engine, campaign_id, campaign, answers, truth):
    """The assertions shared with the HTTP test."""
    good_ids = {r["client_id"] for r in truth}
    created = Counter()
    for rec, res in answers:
        cid = rec.get("client_id")
        if cid in good_ids:
            assert res["status"] in ("created", "duplicate"), res
            created[cid] += res["status"] == "created"
        else:
            assert res["status"] == "error" and res["errors"], (rec, res)
    assert set(created) == good_ids
    assert set(created.values()) == {1}  # each good visit created by exactly one answer
    with store.session_scope(engine) as s:
        visits = store.visits_frame(s, campaign_id=campaign_id)
        counters = store.counters_frame(s, campaign_id=campaign_id)
        n_problems = s.scalar(select(func.count()).select_from(store.Problem))
        n_events = s.scalar(select(func.count()).select_from(store.ProblemEvent))
    assert len(visits) == len(truth) and set(visits["client_id"]) == good_ids
    assert visits["client_id"].is_unique
    expected_problems = sum(len(r.get("problems", ())) for r in truth)
    assert n_problems == n_events == expected_problems
    recount = visit_counts(visits)
    assert counters.equals(recount)
    t = pd.DataFrame(truth)
    t["visited_at"] = pd.to_datetime(t["visited_at"]).dt.tz_convert("Asia/Shanghai").dt.tz_localize(None)
    assert counters.drop(columns=["first_at", "last_at"]).equals(
        visit_counts(t).drop(columns=["first_at", "last_at"]))
    from_counters = coverage(campaign, counters=counters)
    from_records = coverage(campaign, visits)
    cols = ["entity_id", "covered", "how", "not_home_backlog", "visits"]
    assert from_counters.entities[cols].equals(from_records.entities[cols])
    assert from_counters.by_village.drop(columns=["must_visits_due", "must_visits_done"]).equals(
        from_records.by_village.drop(columns=["must_visits_due", "must_visits_done"]))
    return from_records


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_fifty_threads_two_thousand_visits_stored_exactly_once(backend, tmp_path):
    url = new_db(tmp_path) if backend == "sqlite" else new_pg_db()
    engine = store.make_engine(url, pool_size=20)
    with store.session_scope(engine) as s:
        cid = store.ensure_campaign(s, "load").id
    campaign = synthetic_campaign()
    plans, truth = client_workload(campaign)
    assert len(plans) == 50 and len(truth) == 2000
    t0 = time.perf_counter()
    answers = run_clients(plans, lambda batch: store.submit_visits(engine, batch, campaign_id=cid))
    elapsed = time.perf_counter() - t0
    cov = check_outcome(engine, cid, campaign, answers, truth)
    assert 0 < cov.totals["coverage"] < 1
    print(f"{backend}: {len(answers)} answers, {len(truth)} visits in {elapsed:.2f} s")
    engine.dispose()
