"""The plan in the shared database: import, plan-only updates and the plan queries.

Protocol:

1. **Import** (SQLite by default, ``--postgres`` for a throwaway PostgreSQL server as the
   tests start one, or ``--url URL``): a synthetic 2-county province
   (:func:`planner.province.synthetic.make_province`, about 160,000 households and
   enterprises) is imported with a grid-level plan (``store.import_campaign``), then a new
   plan with one grid moved (:func:`web.plans.move_grid`), the same plan again (skipped), a
   plan with every grid moved, and a forced full import.
2. **Queries** (``--postgres`` only, ``--queries``): 2,000,000 stops (20,000 cadres × 40
   days), 500,000 must-visits and 500,000 visit counters written with ``generate_series``,
   then the median of 15 runs of a cadre's day (``store.cadre_stops``), a cadre's
   must-visits and a county's must-visits with their status (``store.must_visits_status``).

    python scripts/bench_plan_db.py                      # import on SQLite
    python scripts/bench_plan_db.py --postgres --queries # import and queries on PostgreSQL

Measured (2 cores, load 2.6-3.5): full import 3.2-4.8 s on SQLite, 6.0-9.7 s on
PostgreSQL; one grid moved 0.85 s / 0.6-0.9 s; every grid moved 1.6 s / 5.2-6.4 s. Queries
(load ~2.7): a cadre's day 1.5 ms, a cadre's must-visits 2.3 ms, a county's 25,000
must-visits with status 0.45 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
import warnings
from pathlib import Path


def bench_import(url: str) -> None:
    import pandas as pd

    from geodata import store
    from planner.province.synthetic import make_province
    from web.plans import move_grid

    t = time.perf_counter()
    camp = make_province(counties=2, villages=(8, 4), grids=(4, 4), households_per_grid=150)
    n = len(camp.households) + len(camp.enterprises)
    print(f"province: {n:,} households and enterprises, {len(camp.grids)} grids ({time.perf_counter() - t:.1f} s)")
    g = camp.grids
    teams = camp.teams["team_id"].astype(str).tolist()
    plan = pd.DataFrame({"entity_type": "grid", "entity_id": g["grid_id"].astype(str),
                         "team_id": [teams[i % len(teams)] for i in range(len(g))], "cadre_id": None})
    store.upgrade(url)
    engine = store.make_engine(url)

    def timed(label, plan, plan_fingerprint, force=False):
        t = time.perf_counter()
        with store.session_scope(engine) as s:
            res = store.import_campaign(s, "bench", camp, plan, fingerprint="camp",
                                        plan_fingerprint=plan_fingerprint, force=force)
        changed = res.get("places_changed", res.get("places"))
        print(f"{label}: {time.perf_counter() - t:.2f} s ({res['status']}, places written: {changed})")

    timed("full import", plan, "p1", force=True)
    moved = move_grid(camp, plan, str(g.grid_id.iloc[0]), teams[-1])
    timed("new plan, one grid moved", moved, "p2")
    timed("the same plan again", moved, "p2")
    shifted = plan.assign(team_id=[teams[(i + 1) % len(teams)] for i in range(len(g))])
    timed("new plan, every grid moved", shifted, "p3")
    timed("full import again", shifted, "p3", force=True)
    engine.dispose()


def bench_queries(url: str) -> None:
    from sqlalchemy import text

    from geodata import store

    store.upgrade(url)
    engine = store.make_engine(url)
    stops, cadres, days, counties, mv = 2_000_000, 20_000, 40, 20, 500_000
    t = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO campaigns (key, name, created_at) VALUES ('q', 'q', now())"))
        cid = conn.execute(text("SELECT id FROM campaigns WHERE key = 'q'")).scalar_one()
        conn.execute(text(
            "INSERT INTO plan_stops (campaign_id, cadre_id, team_id, date, seq, entity_type, entity_id, mode, arrive,"
            " depart, travel_s, travel_m, reason, county_id, lon, lat) "
            f"SELECT {cid}, 'C' || (i % {cadres}), 'T' || (i % {cadres} / 5), DATE '2026-03-02' + (i / {cadres}) % {days},"
            f" i / ({cadres}*{days}), 'household', 'H' || i, 'visit', '09:00', '09:30', 120, 800, 'assigned',"
            f" 'K' || (i % {cadres}) % {counties}, 119.9, 31.7 FROM generate_series(0, {stops}-1) AS i"))
        conn.execute(text(
            "INSERT INTO plan_must_visits (campaign_id, rule, entity_type, entity_id, cadre_id, team_id, county_id) "
            f"SELECT {cid}, 'poor_household', 'household', 'H' || (i * 4), 'C' || (i % {cadres}), 'T1',"
            f" 'K' || (i % {cadres}) % {counties} FROM generate_series(0, {mv}-1) AS i"))
        conn.execute(text(
            "INSERT INTO entity_counters (campaign_id, entity_type, entity_id, visits, visited, phone, not_home, refused) "
            f"SELECT {cid}, 'household', 'H' || (i * 12), 1, 1, 0, 0, 0 FROM generate_series(0, {mv}-1) AS i"))
        conn.execute(text("ANALYZE"))
    print(f"rows: {stops:,} stops ({cadres:,} cadres x {days} days), {mv:,} must-visits, {mv:,} visit counters, "
          f"{counties} counties; written in {time.perf_counter() - t:.0f} s")

    def median_ms(f, n=15):
        ts, r = [], None
        for _ in range(n):
            t = time.perf_counter()
            r = f()
            ts.append(time.perf_counter() - t)
        return statistics.median(ts) * 1000, r

    with store.session_scope(engine) as s:
        ms, df = median_ms(lambda: store.cadre_stops(s, campaign_id=cid, cadre_id="C777", date="2026-03-10"))
        print(f"a cadre's day: {ms:.1f} ms median, {len(df)} stops")
        ms, df = median_ms(lambda: store.must_visits_status(s, campaign_id=cid, cadre_id="C777"))
        print(f"a cadre's must-visits: {ms:.1f} ms median, {len(df)} rows")
        ms, df = median_ms(lambda: store.must_visits_status(s, campaign_id=cid, county_ids=["K7"]), n=5)
        print(f"a county's must-visits with status: {ms:.0f} ms median, {len(df):,} rows, {int(df['done'].sum()):,} done")
    engine.dispose()


def _throwaway_postgres() -> str:
    """A new database on the throwaway PostgreSQL server the tests use."""
    from sqlalchemy import create_engine, text

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from visit_factories import postgres_server

    server, reason = postgres_server()
    if not server:
        sys.exit(f"no PostgreSQL server: {reason}")
    eng = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    name = "bench_" + uuid.uuid4().hex[:8]
    with eng.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    eng.dispose()
    return f"{server}/{name}"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", help="database URL (default: a temporary SQLite file)")
    ap.add_argument("--postgres", action="store_true", help="a throwaway PostgreSQL server, as the tests start one")
    ap.add_argument("--queries", action="store_true", help="also the plan queries at 2 M stops (PostgreSQL only)")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    if args.postgres:
        url = _throwaway_postgres()
    else:
        url = args.url or f"sqlite:///{Path(tempfile.mkdtemp(prefix='zoufang-bench-plan-db-')) / 'app.sqlite'}"
    print(f"database: {url.split('@')[-1]}")
    bench_import(url)
    if args.queries:
        if not url.startswith("postgresql"):
            sys.exit("--queries needs PostgreSQL (--postgres or --url postgresql://...)")
        bench_queries(_throwaway_postgres() if args.postgres else url)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
