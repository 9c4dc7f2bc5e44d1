"""Issue 6 item 6 through the HTTP API: the site served by waitress (16 threads) on SQLite (WAL)
and on a throwaway PostgreSQL server; 50 concurrent clients, each with its own token, post 2,000
visits in batches, with lost answers re-sent, old batches re-synced and malformed records.

Afterwards every good visit is stored exactly once, every bad record was answered with an error
each time, and the coverage figures equal a recount from the raw records (``check_outcome``).
"""

from __future__ import annotations

import logging
import threading
import time

import pytest
import requests

from geodata import store
from visit_factories import check_outcome, client_workload, new_db, new_pg_db, run_clients


CADRES = [f"C{i:02d}" for i in range(1, 13)]


@pytest.fixture(scope="module")
def campaign(tmp_path_factory):
    from factories import good_layers
    from geodata import load_campaign
    from geodata.io import write_layers

    return load_campaign(write_layers(good_layers(), tmp_path_factory.mktemp("http") / "campaign.gpkg"))


def serve(app):
    """The app on a free port of 127.0.0.1 (waitress, 16 threads) → (base URL, stop). The loop
    runs in short rounds so that ``stop`` ends it and closes every channel from its own thread."""
    from waitress import create_server

    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "task queue depth" is the point here
    server = create_server(app, host="127.0.0.1", port=0, threads=16, ident="zoufang-test")
    stopping = threading.Event()

    def run():
        while not stopping.is_set():
            server.asyncore.loop(timeout=0.05, map=server._map, use_poll=True, count=1)
        server.task_dispatcher.shutdown()
        for channel in list(server._map.values()):
            channel.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    port = server.socket.getsockname()[1]

    def stop():
        stopping.set()
        thread.join(timeout=10)
        assert not thread.is_alive()

    return f"http://127.0.0.1:{port}", stop


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_fifty_http_clients_two_thousand_visits(backend, tmp_path, campaign):
    from web import create_app

    url = new_db(tmp_path) if backend == "sqlite" else new_pg_db()
    engine = store.make_engine(url)
    with store.session_scope(engine) as s:  # cheap hashes: 12 accounts, made fast for the test
        for cadre in CADRES:
            s.add(store.Account(username=cadre.lower(), role="cadre", cadre_id=cadre, active=True,
                                password_hash=_quick_hash(f"pw-{cadre}")))
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "CAMPAIGN": campaign, "DATABASE_URL": url,
                      "CAMPAIGN_KEY": "load"})
    plans, truth = client_workload(campaign, cadres=CADRES)
    base, stop = serve(app)
    try:
        tokens = {}
        for cadre in CADRES:
            r = requests.post(f"{base}/api/token", json={"username": cadre.lower(), "password": f"pw-{cadre}"},
                              timeout=30)
            assert r.status_code == 200, r.text
            tokens[cadre] = r.json()["token"]
        local = threading.local()
        sessions = []

        def post(batch):
            if not hasattr(local, "session"):
                local.session = requests.Session()
                sessions.append(local.session)
            cadre = next((r["cadre_id"] for r in batch if isinstance(r, dict) and "cadre_id" in r), CADRES[0])
            r = local.session.post(f"{base}/api/visits", json={"visits": batch}, timeout=60,
                                   headers={"Authorization": f"Bearer {tokens[cadre]}"})
            assert r.status_code == 200, r.text
            return r.json()["results"]

        # one anonymous and one garbled request on the side: refused, nothing stored
        assert requests.post(f"{base}/api/visits", json=truth[:1], timeout=30).status_code == 401
        assert requests.post(f"{base}/api/visits", data=b"{not json", timeout=30,
                             headers={"Authorization": f"Bearer {tokens['C01']}",
                                      "Content-Type": "application/json"}).status_code == 400
        t0 = time.perf_counter()
        answers = run_clients(plans, post)
        elapsed = time.perf_counter() - t0
        for session in sessions:
            session.close()
    finally:
        stop()
    from web import db

    with app.app_context():
        cid = db.campaign_id()
    db.engine(app).dispose()
    cov = check_outcome(engine, cid, campaign, answers, truth)
    assert 0 < cov.totals["coverage"] < 1
    print(f"http {backend}: {len(answers)} answers, {len(truth)} visits in {elapsed:.2f} s")
    engine.dispose()


def _quick_hash(password: str) -> str:
    from werkzeug.security import generate_password_hash

    return generate_password_hash(password, method="pbkdf2:sha256:1000")
