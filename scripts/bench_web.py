"""Benchmark: the leader's coverage map at county scale, in headless Chromium (not a test).

Protocol: the county of ``scripts/bench_validate.py`` (≈300,000 households,
2,992 grids, 1,122 villages) is written to a GeoPackage (``--county PATH``
keeps it for the next run), the site is started on 127.0.0.1 with a fresh
SQLite app database (``zoufang.commands.serve.make_app``, werkzeug's threaded
server) and a leader account. Debian's chromium (Playwright,
``/usr/bin/chromium``) signs in, then the time from navigating to ``/leader/``
until the coverage map is drawn with its data (``data-zf-loaded="1"`` on the
map: grids, villages and heat map drawn) is measured:

``first``       the first view after the site started (nothing computed or cached yet)
``repeat``      ``--repeat`` reloads in the same tab (the browser keeps what the
                server marked cacheable; the usual case: a leader opens the page again)
``cold``        ``--repeat`` loads in a new browser context each (no browser cache)
``after visit`` one load after a visit was stored (coverage and figures recomputed)

The page's slow sections (weekly figures, roll-up town → village → grid) are
fetched by the page once its map is drawn: they are not in X, but each load
waits for them before the next starts, and the timeline shows when they came
(``part_weekly``, ``part_rollup``, ``parts``).

For the last load of each kind the page's own timeline is printed (HTML
received, DOM ready, each layer fetched and drawn; ms since navigation). The
coverage API (``GET /api/coverage``) is timed with the same session,
``--repeat`` times after one warm-up call (median). The last line:

    map interactive X.XX s, coverage query Y ms at N households

X is the median of the ``repeat`` loads; the line before it gives the others.

``--visits N`` stores N visits first (a campaign under way: the coverage,
weekly figures and visits read from the database grow with them).

    python scripts/bench_web.py [--households 300000] [--repeat 3] [--visits 150000] [--county /tmp/county.gpkg]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LOADED = '.folium-map[data-zf-loaded="1"]'
TIMELINE = """() => {
  const n = performance.getEntriesByType('navigation')[0];
  const api = performance.getEntriesByType('resource').filter(e => e.name.includes('/api/'));
  return {html: Math.round(n.responseEnd), html_kb: Math.round(n.decodedBodySize / 1024),
          ttfb: Math.round(n.responseStart), dom: Math.round(n.domContentLoadedEventEnd),
          marks: (window.zoufangLeaderMap || {}).timings || {},
          fetched: api.map(e => [new URL(e.name).pathname.split('/').pop() + (new URL(e.name).searchParams.get('layer')
                                 ? ':' + new URL(e.name).searchParams.get('layer') : ''),
                                 Math.round(e.responseEnd - e.startTime), Math.round(e.transferSize / 1024)])};
}"""


def _write_county(path, households, copies):
    spec = importlib.util.spec_from_file_location("bench_validate", Path(__file__).with_name("bench_validate.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.write_county(path, copies=copies, households=households)


def _timeline(page) -> str:
    t = page.evaluate(TIMELINE)
    marks = t["marks"]
    steps = " ".join(f"{k}={v}" for k, v in sorted(marks.items(), key=lambda kv: kv[1]))
    fetched = ", ".join(f"{name} {ms} ms/{kb} kB" for name, ms, kb in t["fetched"])
    return (f"    HTML {t['html_kb']} kB: first byte {t['ttfb']} ms, received {t['html']} ms, DOM ready {t['dom']} ms\n"
            f"    requests (time/transferred; 0 kB: browser cache): {fetched or 'none'}\n"
            f"    map (ms): {steps}")


def _load(page, base) -> float:
    """Seconds until the map is drawn with its data; then waits for the rest of
    the page (the sections fetched after the map: weekly figures, roll-up)."""
    t = time.perf_counter()
    page.goto(base + "/leader/")
    page.wait_for_selector(LOADED, timeout=120_000)
    seconds = time.perf_counter() - t
    page.wait_for_selector('body[data-zf-parts="1"]', timeout=120_000)
    return seconds


def _sign_in(page, base):
    """Sign in without following the redirect to the leader's home: the first
    measured load must be the first view of the map."""
    import re

    html = page.request.get(base + "/login").text()
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    r = page.request.post(base + "/login", form={"username": "leader", "password": "leader-bench",
                                                 "csrf_token": token}, max_redirects=0)
    assert r.status in (302, 303), f"sign-in failed: HTTP {r.status}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--households", type=int, default=300_000)
    ap.add_argument("--copies", type=int, default=34)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--port", type=int, default=5099)
    ap.add_argument("--visits", type=int, default=0,
                    help="visits stored before the site is measured (households in file order, the last 14 days): "
                         "a campaign under way; default 0")
    ap.add_argument("--county", type=Path, default=None,
                    help="campaign GeoPackage to use; written there first when missing (default: a temporary file)")
    args = ap.parse_args(argv)

    from playwright.sync_api import sync_playwright
    from werkzeug.serving import WSGIRequestHandler, make_server

    from web.auth import ensure_account
    from zoufang.commands.serve import make_app

    tmp = Path(tempfile.mkdtemp(prefix="zoufang-bench-web-"))
    path = args.county or tmp / "county.gpkg"
    if not path.exists():
        _write_county(path, args.households, args.copies)
    t = time.perf_counter()
    app = make_app(path, db_url=f"sqlite:///{tmp / 'app.sqlite'}")
    print(f"site loaded the campaign in {time.perf_counter() - t:.1f} s")
    ensure_account("leader", "leader-bench", role="leader", app=app)
    WSGIRequestHandler.log_request = lambda *a, **k: None  # one line per request drowns the figures
    server = make_server("127.0.0.1", args.port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{args.port}"
    from web.data import get_data

    with app.app_context():
        n_households = len(get_data(app).campaign.households)
        ids = get_data(app).campaign.households["household_id"].astype(str)
        household = ids.iloc[-1]
    if args.visits:
        t = time.perf_counter()
        _seed_visits(app, list(ids.iloc[: min(args.visits, len(ids) - 1)]))
        print(f"stored {min(args.visits, len(ids) - 1):,} visits in {time.perf_counter() - t:.1f} s")
    from web.leader import warm

    # As `zoufang serve` does before it listens: the first view's coverage and map figures.
    print(f"start-up preparation (web.leader.warm) {warm(app):.1f} s")
    loads: dict[str, list[float]] = {"first": [], "repeat": [], "cold": [], "after visit": []}
    queries = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
            page = context.new_page()
            _sign_in(page, base)
            loads["first"].append(_load(page, base))
            print(f"first load {loads['first'][0]:.2f} s\n{_timeline(page)}")
            for _ in range(args.repeat):
                loads["repeat"].append(_load(page, base))
            print(f"repeat loads {', '.join(f'{x:.2f}' for x in loads['repeat'])} s (last:)\n{_timeline(page)}")
            for _ in range(args.repeat):
                ctx = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
                cold = ctx.new_page()
                _sign_in(cold, base)
                loads["cold"].append(_load(cold, base))
                line = _timeline(cold)
                ctx.close()
            print(f"cold loads (new browser context) {', '.join(f'{x:.2f}' for x in loads['cold'])} s (last:)\n{line}")
            _store_visit(app, household)
            loads["after visit"].append(_load(page, base))
            print(f"load after a new visit {loads['after visit'][0]:.2f} s\n{_timeline(page)}")
            page.request.get(base + "/api/coverage")  # warm-up
            for _ in range(args.repeat):
                t = time.perf_counter()
                r = page.request.get(base + "/api/coverage")
                queries.append(time.perf_counter() - t)
                assert r.ok, r.status
            browser.close()
    finally:
        server.shutdown()
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)  # the app database (and the county unless --county keeps it)
    print(f"coverage API: {', '.join(f'{q * 1000:.0f}' for q in queries)} ms")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    print("leader map: " + "; ".join(f"{k} {statistics.median(v):.2f} s" for k, v in loads.items() if v))
    print(f"map interactive {statistics.median(loads['repeat']):.2f} s, coverage query "
          f"{statistics.median(queries) * 1000:.0f} ms at {n_households:,} households")


def _seed_visits(app, household_ids: list[str], batch: int = 1000) -> None:
    """Visits to ``household_ids`` spread over the last 14 days (a campaign under way)."""
    import datetime as dt

    from geodata import store
    from geodata.store.validate import CAMPAIGN_TZ
    from web import db

    now = dt.datetime.now(CAMPAIGN_TZ).replace(tzinfo=None, second=0, microsecond=0) - dt.timedelta(hours=1)
    with app.app_context():
        for i in range(0, len(household_ids), batch):
            store.submit_visits(db.engine(), [
                {"client_id": f"bench-seed-{k}", "entity_type": "household", "entity_id": h, "cadre_id": "bench",
                 "visited_at": (now - dt.timedelta(minutes=(k * 7) % (14 * 24 * 60))).isoformat(timespec="minutes"),
                 "outcome": "visited" if k % 10 else "not_home"}
                for k, h in enumerate(household_ids[i:i + batch], start=i)], campaign_id=db.campaign_id())


def _store_visit(app, household_id: str) -> None:
    """A visit recorded now (as the cadres' phones send them during the campaign)."""
    import datetime as dt

    from geodata import store
    from geodata.store.validate import CAMPAIGN_TZ
    from web import db

    with app.app_context():
        now = (dt.datetime.now(CAMPAIGN_TZ) - dt.timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M")
        store.submit_visits(db.engine(), [{"client_id": "bench-visit", "entity_type": "household",
                                           "entity_id": household_id, "cadre_id": "bench",
                                           "visited_at": now, "outcome": "visited"}],
                            campaign_id=db.campaign_id())


if __name__ == "__main__":
    main()
