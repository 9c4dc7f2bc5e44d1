"""The leader's coverage roll-up on PostgreSQL at province scale (issue 7, item 4). Not a test.

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


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
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


if __name__ == "__main__":
    main()
