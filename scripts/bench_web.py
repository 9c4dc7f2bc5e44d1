"""Benchmark: the leader's coverage map at county scale, in headless Chromium (not a test).

Protocol: the county of ``scripts/bench_validate.py`` (≈300,000 households,
2,992 grids) is written to a GeoPackage, the site is started on 127.0.0.1 with
a fresh SQLite app database (``zoufang.commands.serve.make_app``, werkzeug's
threaded server) and a leader account. Debian's chromium (Playwright,
``/usr/bin/chromium``) signs in, then the time from navigating to ``/leader/``
until the coverage map is drawn and its data loaded (``data-zf-loaded="1"`` on
the map) is measured ``--repeat`` times (median printed). The coverage API
(``GET /api/coverage``) is timed with the same session, ``--repeat`` times
after one warm-up call (median). The last line:

    map interactive X.XX s, coverage query Y ms at N households

    python scripts/bench_web.py [--households 300000] [--repeat 3]
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


def _write_county(path, households, copies):
    spec = importlib.util.spec_from_file_location("bench_validate", Path(__file__).with_name("bench_validate.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.write_county(path, copies=copies, households=households)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--households", type=int, default=300_000)
    ap.add_argument("--copies", type=int, default=34)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--port", type=int, default=5099)
    args = ap.parse_args(argv)

    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    from web.auth import ensure_account
    from zoufang.commands.serve import make_app

    tmp = Path(tempfile.mkdtemp(prefix="zoufang-bench-web-"))
    c, path = _write_county(tmp / "county.gpkg", args.households, args.copies)
    t = time.perf_counter()
    app = make_app(path, db_url=f"sqlite:///{tmp / 'app.sqlite'}")
    print(f"site loaded the campaign in {time.perf_counter() - t:.1f} s")
    ensure_account("leader", "leader-bench", role="leader", app=app)
    server = make_server("127.0.0.1", args.port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{args.port}"
    maps, queries = [], []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="zh-CN")
            page.goto(base + "/login")
            page.fill("input[name=username]", "leader")
            page.fill("input[name=password]", "leader-bench")
            page.click("button[type=submit]")
            page.wait_for_load_state()
            for _ in range(args.repeat):
                t = time.perf_counter()
                page.goto(base + "/leader/")
                page.wait_for_selector('.folium-map[data-zf-loaded="1"]', timeout=120_000)
                maps.append(time.perf_counter() - t)
            page.request.get(base + "/api/coverage")  # warm-up
            for _ in range(args.repeat):
                t = time.perf_counter()
                r = page.request.get(base + "/api/coverage")
                queries.append(time.perf_counter() - t)
                assert r.ok, r.status
            browser.close()
    finally:
        server.shutdown()
    print(f"leader map load: {', '.join(f'{m:.2f}' for m in maps)} s; coverage API: "
          f"{', '.join(f'{q * 1000:.0f}' for q in queries)} ms")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    print(f"map interactive {statistics.median(maps):.2f} s, coverage query {statistics.median(queries) * 1000:.0f} ms "
          f"at {len(c.households):,} households")


if __name__ == "__main__":
    main()
