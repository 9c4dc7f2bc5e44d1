"""Issue 6 item 6 at the repository level: 50 threads post 2,000 visits through
``geodata.store.submit_visits`` (with retries and malformed records), on SQLite (WAL) and PostgreSQL.

Afterwards: every good visit is stored exactly once, every bad one was answered
with an error every time, and the coverage figures (the store's pre-aggregated
counters) equal a recount from the raw records and from the clients' own truth.
The same load through the HTTP API is ``test_concurrency_http.py``.
"""

from __future__ import annotations

import time

import pytest

from geodata import store
from visit_factories import check_outcome, client_workload, new_db, new_pg_db, run_clients, synthetic_campaign


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
