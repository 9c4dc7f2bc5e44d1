"""The leader's coverage roll-up on PostgreSQL at province scale (issue 7, items 3-4). Not a test.

Default (``python scripts/bench_coverage_pg.py``): the **app schema** of
``geodata.store`` (migration 0002, PostGIS when the server has it). ``--households``
places (default 5,000,000) in ``--counties`` counties (default 50) of 10 towns × 10
villages × 4 grids, written by SQL into ``areas`` / ``places``; 60 % of them given an
``entity_counters`` row (visited in bulk); ``area_counters`` built by
:func:`geodata.store.rebuild_area_counters` (timed); ``--visits`` single visits
(default 500) through :func:`geodata.store.submit_visits`, each its own transaction
(what the area counters add to recording a visit), and a check that the counters
kept equal a rebuild; then :func:`geodata.store.rollup` for one county (its county,
town and village rows) and for the province (county rows) and
:func:`geodata.store.totals`, ``--repeat`` times (default 30, random counties), the
median and the worst printed, next to :func:`geodata.store.places_in_view` (a 1 km
box) and :func:`geodata.store.coverage_in_polygon` (a village's outline).

Measured 2026-11-25 (default options, throwaway PostgreSQL 15 + PostGIS 3.3, 2 cores
shared, load average 10-12 during the run): load 248 s, rebuild 50 s (25,550 counter
rows); a visit through ``submit_visits`` median 7.5 ms, worst 160 ms; kept counters
equal a rebuild; county roll-up median 10.8 ms, worst 27.9 ms (≤ 300 ms: met); province
roll-up median 6.7 ms, worst 11.7 ms (≤ 2 s: met); totals 3.0 / 6.3 ms; places in a 1 km
view 16.9 / 89.8 ms; coverage in a village's polygon 12.1 / 68.8 ms (30 runs each).

``--import``: the time :func:`geodata.store.import_campaign` takes for a synthetic
province (``planner.province.synthetic.make_province``, 4 counties, about 205,000
households and 10,000 enterprises) on SQLite and on the throwaway PostgreSQL server,
and for a second import of the same files (skipped by the fingerprint). Measured
2026-11-25 at load average 7 (two runs): SQLite 7.4-7.7 s, PostgreSQL + PostGIS
12.3-15.5 s for 215,258 places; again: ≤ 0.01 s.

``--own-tables``: the earlier protocol, kept for its README figures, described next.

Question: can a county roll-up answer in ≤ 300 ms and the province roll-up in
≤ 2 s with 5 million household rows? Approach measured here: **pre-aggregated
counts kept up to date on each visit** — an ``area_counts`` row per village,
town and county (households, visited households, visits), moved by a trigger
when a household's counter row changes — so a roll-up reads a few hundred
small rows instead of scanning millions. The tables are this benchmark's own
(a sketch for issue 7 item 3's shared database, not the app's schema in
``geodata.store``):

    households(household_id, village_id, town_id, county_id)        5,000,000 rows
    household_counts(household_id, visits, visited, last_at)        one per household
    area_counts(level, area_id, county_id, households, visited, visits)  villages + towns + counties

Protocol: a throwaway server (``tests/visit_factories.postgres_server``: initdb
+ pg_ctl, fsync off) or ``--db URL``; ``--households`` rows (default 5,000,000)
in ``--counties`` counties (default 50) of 10 towns × 10 villages; 60 % of the
households visited in bulk, then ``area_counts`` built by one GROUP BY (the
rebuild); the trigger installed; ``--visits`` single visits (default 500), each
its own transaction, timed (the cost the trigger adds to recording a visit);
then each query run ``--repeat`` times (default 30, random counties), the
median and the worst printed, next to the same answers by scanning the
household tables (run 3 times).

    python scripts/bench_coverage_pg.py
    python scripts/bench_coverage_pg.py --db postgresql://user@host/db --households 5000000
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SCHEMA = """
CREATE TABLE households (household_id text PRIMARY KEY, village_id text NOT NULL, town_id text NOT NULL,
                         county_id text NOT NULL);
CREATE TABLE household_counts (household_id text PRIMARY KEY REFERENCES households, visits int NOT NULL DEFAULT 0,
                               visited int NOT NULL DEFAULT 0, last_at timestamptz);
CREATE TABLE area_counts (level text NOT NULL, area_id text NOT NULL, county_id text NOT NULL,
                          households int NOT NULL, visited int NOT NULL DEFAULT 0, visits int NOT NULL DEFAULT 0,
                          PRIMARY KEY (level, area_id));
"""

LOAD = """
INSERT INTO households
SELECT 'H' || lpad(i::text, 8, '0'),
       'K' || lpad((v / {vpc})::text, 3, '0') || 'T' || lpad(((v % {vpc}) / 10)::text, 2, '0') || 'V' || (v % 10),
       'K' || lpad((v / {vpc})::text, 3, '0') || 'T' || lpad(((v % {vpc}) / 10)::text, 2, '0'),
       'K' || lpad((v / {vpc})::text, 3, '0')
FROM (SELECT i, (i - 1) / {hpv} AS v FROM generate_series(1, {n}) AS i) s;
INSERT INTO household_counts (household_id, visits, visited, last_at)
SELECT household_id, CASE WHEN r < 0.6 THEN 1 ELSE 0 END, CASE WHEN r < 0.6 THEN 1 ELSE 0 END,
       CASE WHEN r < 0.6 THEN now() END
FROM (SELECT household_id, random() AS r FROM households) s;
CREATE INDEX households_county ON households (county_id);
"""

REBUILD = """
TRUNCATE area_counts;
INSERT INTO area_counts (level, area_id, county_id, households, visited, visits)
SELECT 'village', h.village_id, min(h.county_id), count(*), count(*) FILTER (WHERE c.visited > 0), sum(c.visits)
FROM households h JOIN household_counts c USING (household_id) GROUP BY h.village_id;
INSERT INTO area_counts (level, area_id, county_id, households, visited, visits)
SELECT 'town', left(area_id, 7), min(county_id), sum(households), sum(visited), sum(visits)
FROM area_counts WHERE level = 'village' GROUP BY left(area_id, 7);
INSERT INTO area_counts (level, area_id, county_id, households, visited, visits)
SELECT 'county', county_id, county_id, sum(households), sum(visited), sum(visits)
FROM area_counts WHERE level = 'village' GROUP BY county_id;
CREATE INDEX IF NOT EXISTS area_counts_county ON area_counts (county_id, level);
ANALYZE;
"""

# kept up to date on each visit: the household's village, town and county rows move with its counter row
TRIGGER = """
CREATE FUNCTION area_counts_on_visit() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE h households%ROWTYPE;
BEGIN
  SELECT * INTO h FROM households WHERE household_id = NEW.household_id;
  UPDATE area_counts
     SET visits = visits + (NEW.visits - OLD.visits),
         visited = visited + (CASE WHEN NEW.visited > 0 THEN 1 ELSE 0 END)
                           - (CASE WHEN OLD.visited > 0 THEN 1 ELSE 0 END)
   WHERE (level, area_id) IN (('village', h.village_id), ('town', h.town_id), ('county', h.county_id));
  RETURN NEW;
END $$;
CREATE TRIGGER area_counts_on_visit AFTER UPDATE OF visits, visited ON household_counts
FOR EACH ROW EXECUTE FUNCTION area_counts_on_visit();
"""

VISIT = """
UPDATE household_counts SET visits = visits + 1, visited = 1, last_at = now() WHERE household_id = %s
"""

COUNTY_ROLLUP = """
SELECT level, area_id, households, visited, visits FROM area_counts WHERE county_id = %s ORDER BY level, area_id
"""
PROVINCE_ROLLUP = """
SELECT area_id, households, visited, visits, sum(households) OVER () AS total, sum(visited) OVER () AS total_visited
FROM area_counts WHERE level = 'county' ORDER BY area_id
"""
COUNTY_SCAN = """
SELECT h.village_id, count(*), count(*) FILTER (WHERE c.visited > 0), sum(c.visits)
FROM households h JOIN household_counts c USING (household_id) WHERE h.county_id = %s GROUP BY h.village_id
"""
PROVINCE_SCAN = """
SELECT h.county_id, count(*), count(*) FILTER (WHERE c.visited > 0), sum(c.visits)
FROM households h JOIN household_counts c USING (household_id) GROUP BY h.county_id
"""


def server_url(db: str | None) -> str:
    """A libpq URL of a fresh database: ``--db`` as given, or a new one on a throwaway server."""
    if db:
        return db.replace("postgresql+psycopg://", "postgresql://")
    sys.path.insert(0, str(ROOT / "tests"))
    from visit_factories import postgres_server

    import psycopg

    server, reason = postgres_server()
    if server is None:
        sys.exit(f"no PostgreSQL server: {reason}")
    server = server.replace("postgresql+psycopg://", "postgresql://")
    name = "bench_" + uuid.uuid4().hex[:8]
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{server}/{name}"


def timed(conn, sql, args=(), *, repeat=1) -> list[float]:
    out = []
    for _ in range(repeat):
        a = args() if callable(args) else args
        t = time.perf_counter()
        conn.execute(sql, a).fetchall()
        out.append(time.perf_counter() - t)
    return out


def own_tables_main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--own-tables", action="store_true")
    ap.add_argument("--db", default=None, help="an empty database to use (default: a throwaway server)")
    ap.add_argument("--households", type=int, default=5_000_000)
    ap.add_argument("--counties", type=int, default=50)
    ap.add_argument("--visits", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    import psycopg

    rng = random.Random(args.seed)
    villages_per_county = 100
    hpv = max(1, args.households // (args.counties * villages_per_county))
    url = server_url(args.db)
    with psycopg.connect(url, autocommit=True) as conn:
        t = time.perf_counter()
        conn.execute(SCHEMA)
        for stmt in LOAD.format(n=args.households, hpv=hpv, vpc=villages_per_county).split(";\n"):
            if stmt.strip():
                conn.execute(stmt)
        load_s = time.perf_counter() - t
        t = time.perf_counter()
        for stmt in REBUILD.split(";\n"):
            if stmt.strip():
                conn.execute(stmt)
        rebuild_s = time.perf_counter() - t
        conn.execute(TRIGGER)
        areas = conn.execute("SELECT level, count(*) FROM area_counts GROUP BY level ORDER BY level").fetchall()
        counties = [r[0] for r in conn.execute("SELECT area_id FROM area_counts WHERE level = 'county'").fetchall()]
        print(f"loaded {args.households:,} households in {len(counties)} counties in {load_s:.1f} s; "
              f"area_counts rebuilt in {rebuild_s:.1f} s ({', '.join(f'{n} {lv} rows' for lv, n in areas)})", flush=True)

        # visits through the trigger, each its own transaction
        n_h = args.households
        ids = [f"H{rng.randint(1, n_h):08d}" for _ in range(args.visits)]
        before = conn.execute("SELECT visited, visits FROM area_counts WHERE level = 'county' AND area_id = "
                              "(SELECT county_id FROM households WHERE household_id = %s)", (ids[0],)).fetchone()
        lat = []
        for hid in ids:
            t = time.perf_counter()
            conn.execute(VISIT, (hid,))
            lat.append(time.perf_counter() - t)
        after = conn.execute("SELECT visited, visits FROM area_counts WHERE level = 'county' AND area_id = "
                             "(SELECT county_id FROM households WHERE household_id = %s)", (ids[0],)).fetchone()
        print(f"recording a visit (counter row + trigger on village, town, county rows): median "
              f"{statistics.median(lat) * 1000:.2f} ms, worst {max(lat) * 1000:.1f} ms over {len(lat)} visits "
              f"(one county's visited, visits moved {tuple(before)} → {tuple(after)})", flush=True)
        # the counts kept by the trigger equal a recount
        kept = conn.execute("SELECT area_id, visited, visits FROM area_counts WHERE level = 'county' "
                            "ORDER BY area_id").fetchall()
        recount = conn.execute("SELECT h.county_id, count(*) FILTER (WHERE c.visited > 0), sum(c.visits)::int "
                               "FROM households h JOIN household_counts c USING (household_id) "
                               "GROUP BY h.county_id ORDER BY 1").fetchall()
        print(f"kept counts equal a full recount: {[tuple(r) for r in kept] == [tuple(r) for r in recount]}",
              flush=True)

        def pick():
            return (rng.choice(counties),)

        res = {
            "county roll-up (pre-aggregated)": (timed(conn, COUNTY_ROLLUP, pick, repeat=args.repeat), 0.3),
            "province roll-up (pre-aggregated)": (timed(conn, PROVINCE_ROLLUP, repeat=args.repeat), 2.0),
            "county roll-up (scan)": (timed(conn, COUNTY_SCAN, pick, repeat=3), 0.3),
            "province roll-up (scan)": (timed(conn, PROVINCE_SCAN, repeat=3), 2.0),
        }
        for name, (times, target) in res.items():
            med = statistics.median(times)
            print(f"{name:<36} median {med * 1000:9.1f} ms, worst {max(times) * 1000:9.1f} ms "
                  f"(target ≤ {target * 1000:.0f} ms: {'met' if max(times) <= target else 'MISSED'})", flush=True)
    if args.db is None:
        server = url.rsplit("/", 1)[0]
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{url.rsplit("/", 1)[1]}"')


# --- the app schema (default) ------------------------------------------------------------------------

APP_LOAD = """
INSERT INTO areas (campaign_id, level, area_id, parent_id, county_id, name, minx, miny, maxx, maxy)
SELECT 1, 'county', k, NULL, k, k, 0, 0, 0, 0 FROM (SELECT 'K' || lpad(c::text, 3, '0') AS k
  FROM generate_series(0, {counties} - 1) c) s;
INSERT INTO areas (campaign_id, level, area_id, parent_id, county_id, name, minx, miny, maxx, maxy)
SELECT 1, 'town', k || 'T' || lpad(t::text, 2, '0'), k, k, NULL, 0, 0, 0, 0
FROM (SELECT 'K' || lpad(c::text, 3, '0') AS k FROM generate_series(0, {counties} - 1) c) s,
     generate_series(0, 9) t;
INSERT INTO areas (campaign_id, level, area_id, parent_id, county_id, name, minx, miny, maxx, maxy, geom_wkb)
SELECT 1, 'village', v, left(v, 7), left(v, 4), NULL, x, y, x + 0.01, y + 0.01,
       ST_AsBinary(ST_MakeEnvelope(x, y, x + 0.01, y + 0.01, 4326))
FROM (SELECT 'K' || lpad((i / 100)::text, 3, '0') || 'T' || lpad(((i % 100) / 10)::text, 2, '0') || 'V' || (i % 10) AS v,
             110 + (i % 100) * 0.01 AS x, 30 + (i / 100) * 0.01 AS y
      FROM generate_series(0, {counties} * 100 - 1) i) s;
INSERT INTO places (campaign_id, entity_type, entity_id, county_id, town_id, village_id, grid_id, lon, lat, team_id,
                    phone_ok)
SELECT 1, 'household', 'H' || lpad(i::text, 8, '0'), left(v, 4), left(v, 7), v, v || 'G' || (i % 4),
       110 + (vi % 100) * 0.01 + random() * 0.01, 30 + (vi / 100) * 0.01 + random() * 0.01, left(v, 7) || 'W', false
FROM (SELECT i, vi, 'K' || lpad((vi / 100)::text, 3, '0') || 'T' || lpad(((vi % 100) / 10)::text, 2, '0') || 'V'
             || (vi % 10) AS v
      FROM (SELECT i, ((i - 1) / {hpv}) % ({counties} * 100) AS vi FROM generate_series(1, {n}) i) a) s;
INSERT INTO entity_counters (campaign_id, entity_type, entity_id, visits, visited, phone, not_home, refused, first_at,
                             last_at)
SELECT 1, 'household', entity_id, 1, 1, 0, 0, 0, now(), now() FROM places WHERE random() < 0.6;
ANALYZE
"""


def app_main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", default=None, help="an empty database to use (default: a throwaway server)")
    ap.add_argument("--households", type=int, default=5_000_000)
    ap.add_argument("--counties", type=int, default=50)
    ap.add_argument("--visits", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    import datetime as dt

    import shapely
    from sqlalchemy import text

    from geodata import store

    rng = random.Random(args.seed)
    url = server_url(args.db)
    store.upgrade(url)
    engine = store.make_engine(url)
    with engine.connect() as conn:
        postgis = store.has_postgis(conn)
    if not postgis:
        print("note: no PostGIS on this server: spatial queries use the plain lon/lat columns", flush=True)
    hpv = max(1, args.households // (args.counties * 100))
    t = time.perf_counter()
    with store.session_scope(engine) as s:
        cid = store.ensure_campaign(s, "bench", name="bench").id
        assert cid == 1
        for stmt in APP_LOAD.format(n=args.households, hpv=hpv, counties=args.counties).split(";\n"):
            if stmt.strip():
                s.execute(text(stmt))
    load_s = time.perf_counter() - t
    t = time.perf_counter()
    with store.session_scope(engine) as s:
        rows = store.rebuild_area_counters(s, campaign_id=1)
    rebuild_s = time.perf_counter() - t
    print(f"loaded {args.households:,} places in {args.counties} counties in {load_s:.1f} s (PostGIS: {postgis}); "
          f"area_counters rebuilt in {rebuild_s:.1f} s ({rows:,} rows)", flush=True)

    ids = [f"H{rng.randint(1, args.households):08d}" for _ in range(args.visits)]
    lat = []
    for i, hid in enumerate(ids):
        rec = {"client_id": f"b{i}", "entity_type": "household", "entity_id": hid, "cadre_id": "C1",
               "visited_at": dt.datetime(2026, 3, 2, 10).isoformat(), "outcome": "visited"}
        t = time.perf_counter()
        res = store.submit_visits(engine, [rec], campaign_id=1)
        lat.append(time.perf_counter() - t)
        assert res[0]["status"] == "created", res
    print(f"recording a visit through submit_visits (visit + entity counter + 4 area counters, one transaction): "
          f"median {statistics.median(lat) * 1000:.2f} ms, worst {max(lat) * 1000:.1f} ms over {len(lat)} visits",
          flush=True)
    with store.session_scope(engine) as s:
        kept = store.rollup(s, campaign_id=1, levels=("county",))
    with store.session_scope(engine) as s:
        store.rebuild_area_counters(s, campaign_id=1)
        recount = store.rollup(s, campaign_id=1, levels=("county",))
    print(f"kept counters equal a rebuild: {kept.equals(recount)}", flush=True)

    counties = kept["area_id"].tolist()
    res = {}

    def run(name, fn, target, repeat=args.repeat):
        times = []
        for _ in range(repeat):
            with store.session_scope(engine) as s:
                t = time.perf_counter()
                fn(s)
                times.append(time.perf_counter() - t)
        res[name] = (times, target)

    run("county roll-up (county, towns, villages)",
        lambda s: store.rollup(s, campaign_id=1, levels=("county", "town", "village"), county_ids=[rng.choice(counties)]),
        0.3)
    run("province roll-up (every county)", lambda s: store.rollup(s, campaign_id=1, levels=("county",)), 2.0)
    run("province totals", lambda s: store.totals(s, campaign_id=1), 2.0)

    def view(s):
        k = rng.randrange(args.counties * 100)
        x, y = 110 + (k % 100) * 0.01, 30 + (k // 100) * 0.01
        return store.places_in_view(s, campaign_id=1, bbox=(x, y, x + 0.01, y + 0.01), limit=20000)

    run("places in a 1 km view", view, None)

    def poly(s):
        v = rng.randrange(args.counties * 100)
        vid = f"K{v // 100:03d}T{(v % 100) // 10:02d}V{v % 10}"
        g = store.area_geometry(s, campaign_id=1, level="village", area_id=vid)
        return store.coverage_in_polygon(s, campaign_id=1, polygon=shapely.buffer(g, -0.001))

    run("coverage in a village's polygon", poly, None)
    for name, (times, target) in res.items():
        med = statistics.median(times)
        verdict = "" if target is None else \
            f" (target ≤ {target * 1000:.0f} ms: {'met' if max(times) <= target else 'MISSED'})"
        print(f"{name:<42} median {med * 1000:9.1f} ms, worst {max(times) * 1000:9.1f} ms{verdict}", flush=True)
    engine.dispose()
    if args.db is None:
        import psycopg

        server = url.rsplit("/", 1)[0]
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{url.rsplit("/", 1)[1]}"')


def import_main(argv=None):
    """Time store.import_campaign on SQLite and PostgreSQL (see the module doc, ``--import``)."""
    import tempfile

    sys.path.insert(0, str(ROOT))
    from geodata import store
    from planner.province.synthetic import make_province

    camp = make_province(counties=4, villages=(4, 4), grids=(4, 4), households_per_grid=200)
    folder = tempfile.mkdtemp(prefix="zoufang-bench-import-")
    for name, url in (("SQLite", f"sqlite:///{folder}/bench.sqlite"), ("PostgreSQL", None)):
        if url is None:
            url = server_url(None).replace("postgresql://", "postgresql+psycopg://")
        store.upgrade(url)
        engine = store.make_engine(url)
        with engine.connect() as conn:
            postgis = store.has_postgis(conn)
        for attempt in ("first", "again"):
            t = time.perf_counter()
            with store.session_scope(engine) as s:
                res = store.import_campaign(s, "bench", camp, fingerprint="same-files")
            print(f"{name}{' + PostGIS' if postgis else ''}: {attempt} import {res['status']} "
                  f"{res.get('places', 0):,} places in {time.perf_counter() - t:.2f} s", flush=True)
        engine.dispose()
    import shutil

    shutil.rmtree(folder, ignore_errors=True)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if "--import" in argv:
        import_main(argv)
    elif "--own-tables" in argv:
        own_tables_main(argv)
    else:
        app_main(argv)


if __name__ == "__main__":
    main()
