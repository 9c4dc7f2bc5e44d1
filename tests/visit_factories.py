"""Fixtures for the visits / problems / coverage / reports tests (issue 6).

``tiny()``: a hand-made campaign small enough that every expected figure is
counted by hand in the tests (see the table in ``TINY_VISITS``); plain
DataFrames, no geometry. ``postgres_url()``: a throwaway PostgreSQL server
(initdb + pg_ctl into a temp folder on a free 127.0.0.1 port), started once
per test run; ``None`` with the reason when the binaries are absent.
"""

from __future__ import annotations

import atexit
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from types import SimpleNamespace

import pandas as pd


def tiny() -> SimpleNamespace:
    """2 towns, 3 villages, 4 grids, 10 households, 2 enterprises, 2 teams, 3 cadres."""
    towns = pd.DataFrame({"town_id": ["T1", "T2"], "name": ["一镇", "二镇"]})
    villages = pd.DataFrame({"village_id": ["V1", "V2", "V3"], "name": ["一村", "二社区", "三村"],
                             "town_id": ["T1", "T1", "T2"], "kind": ["village", "community", "village"],
                             "weak": [False, True, False]})
    grids = pd.DataFrame({"grid_id": ["G1", "G2", "G3", "G4"], "village_id": ["V1", "V1", "V2", "V3"]})
    hgrid = ["G1", "G1", "G1", "G2", "G2", "G3", "G3", "G4", "G4", "G4"]
    gv = dict(zip(grids.grid_id, grids.village_id))
    households = pd.DataFrame({
        "household_id": [f"H{i}" for i in range(1, 11)], "grid_id": hgrid, "village_id": [gv[g] for g in hgrid],
        "status": ["resident", "resident", "vacant", "away", "resident", "resident", "resident", "resident",
                   "resident", "vacant"],
        "head_name": [f"王{n}" for n in "一二三四五六七八九十"],
        "phone": [f"1390000000{i}" for i in range(10)],
        "address": [f"{gv[g]}路{i}号" for i, g in enumerate(hgrid, 1)],
    })
    enterprises = pd.DataFrame({"enterprise_id": ["E1", "E2"], "name": ["甲厂", "乙公司"], "grid_id": ["G1", "G4"],
                                "village_id": ["V1", "V3"], "listed": [False, True]})
    teams = pd.DataFrame({"team_id": ["A", "B"], "name": ["一镇工作组", "县工作组"], "level": ["town", "county"],
                          "unit": ["一镇", "县民政局"]})
    cadres = pd.DataFrame({"cadre_id": ["C1", "C2", "C3"], "team_id": ["A", "A", "B"],
                           "name": ["李明", "赵强", "孙丽"], "level": ["town", "town", "county"],
                           "rank": ["staff", "section", "deputy_division"]})
    cadre_of = {"H1": "C1", "H2": "C1", "H3": "C1", "H4": "C2", "H5": "C2", "H6": "C2", "H7": "C2",
                "H8": "C3", "H9": "C3", "H10": "C3", "E1": "C1", "E2": "C3"}
    team_of_grid = {"G1": "A", "G2": "A", "G3": "A", "G4": "B"}
    rows = [{"entity_type": "grid", "entity_id": g, "team_id": t, "cadre_id": None} for g, t in team_of_grid.items()]
    rows += [{"entity_type": "household", "entity_id": h, "team_id": team_of_grid[g], "cadre_id": cadre_of[h]}
             for h, g in zip(households.household_id, hgrid)]
    rows += [{"entity_type": "enterprise", "entity_id": e, "team_id": team_of_grid[g], "cadre_id": cadre_of[e]}
             for e, g in zip(enterprises.enterprise_id, enterprises.grid_id)]
    assignment = pd.DataFrame(rows)
    must_visits = pd.DataFrame({
        "rule": ["weak_village", "listed_enterprise"], "entity_type": ["village", "enterprise"],
        "entity_id": ["V2", "E2"], "cadre_id": ["C3", "C3"], "team_id": ["B", "B"],
        "responsible_team_id": ["A", "B"], "joint": [True, False]})
    return SimpleNamespace(towns=towns, villages=villages, grids=grids, households=households,
                           enterprises=enterprises, teams=teams, cadres=cadres, assignment=assignment,
                           must_visits=must_visits, name="tiny")


def _v(cid, etype, eid, cadre, at, outcome, problems=()):
    rec = {"client_id": cid, "entity_type": etype, "entity_id": eid, "cadre_id": cadre,
           "visited_at": f"2026-03-{at}", "outcome": outcome}
    if problems:
        rec["problems"] = list(problems)
    return rec


#: The tiny campaign's visits. Expected: households covered H1, H7, H8 in
#: person, H3 (vacant), H4 (away) by phone; H5's phone visit does not count
#: (resident); H2 not at home (backlog); H6 refused; E2 covered, E1's phone
#: visit does not count; must-visit V2 visited by C1, not the planned C3 (not
#: done); E2 by C3 (done).
TINY_VISITS = [
    _v("v01", "household", "H1", "C1", "02T09:00:00", "visited",
       [{"client_id": "p1", "category": "medical_health", "level": "town", "description": "村卫生室缺医生",
         "suggestion": "协调镇卫生院派医生"}]),
    _v("v02", "household", "H2", "C1", "02T09:40:00", "not_home"),
    _v("v03", "household", "H3", "C1", "03T10:00:00", "phone"),
    _v("v04", "household", "H4", "C2", "03T10:00:00", "phone"),
    _v("v05", "household", "H5", "C2", "03T11:00:00", "phone"),
    _v("v06", "household", "H6", "C2", "04T15:00:00", "refused"),
    _v("v07", "household", "H7", "C2", "04T15:30:00", "not_home"),
    _v("v08", "household", "H8", "C3", "05T09:00:00", "visited",
       [{"client_id": "p2", "category": "difficulty", "level": "on_spot", "description": "低保申请表不会填"}]),
    _v("v09", "enterprise", "E2", "C3", "05T14:00:00", "visited",
       [{"client_id": "p4", "category": "employment", "level": "policy", "description": "招工难，希望出台用工补贴"}]),
    _v("v10", "village", "V2", "C1", "06T14:00:00", "visited"),
    _v("v11", "enterprise", "E1", "C1", "06T16:00:00", "phone"),
    _v("v12", "household", "H7", "C2", "10T19:30:00", "visited",
       [{"client_id": "p3", "category": "housing_land", "level": "department", "description": "危房改造补助未到位"}]),
]


def new_db(tmp_path, name="zoufang.sqlite") -> str:
    from geodata import store

    url = f"sqlite:///{tmp_path / name}"
    store.upgrade(url)
    return url


# --- a throwaway PostgreSQL server -------------------------------------------------

_PG: dict = {}


def _pg_bin() -> str | None:
    for name in ("initdb", "pg_ctl"):
        if shutil.which(name) is None:
            break
    else:
        return os.path.dirname(shutil.which("initdb"))
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return os.path.dirname(found[-1]) if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres_server() -> tuple[str | None, str]:
    """``(server URL without database, "")`` or ``(None, reason)``; started once."""
    if "url" in _PG or "reason" in _PG:
        return _PG.get("url"), _PG.get("reason", "")
    bindir = _pg_bin()
    if bindir is None:
        _PG["reason"] = "PostgreSQL binaries (initdb, pg_ctl) are not installed: scripts/setup.sh --test installs them"
        return None, _PG["reason"]
    run_as: list[str] = []
    folder = tempfile.mkdtemp(prefix="zoufang-pg-")
    if os.geteuid() == 0:  # initdb refuses root: run the server as the postgres user
        import pwd

        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            _PG["reason"] = "running as root and there is no 'postgres' user to run the server as"
            return None, _PG["reason"]
        os.chown(folder, pw.pw_uid, pw.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    data = os.path.join(folder, "data")
    port = _free_port()
    subprocess.run(run_as + [f"{bindir}/initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8",
                             "--no-locale", "--no-sync"], check=True, capture_output=True)
    opts = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    subprocess.run(run_as + [f"{bindir}/pg_ctl", "-D", data, "-o", opts, "-l", os.path.join(folder, "log"), "-w",
                             "start"], check=True, capture_output=True)
    _PG["url"] = f"postgresql+psycopg://postgres@127.0.0.1:{port}"

    def stop():
        subprocess.run(run_as + [f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)

    atexit.register(stop)
    return _PG["url"], ""


def new_pg_db() -> str:
    """A fresh, migrated database on the throwaway server (skips the test when absent)."""
    import pytest
    from sqlalchemy import create_engine, text

    from geodata import store

    pytest.importorskip("psycopg", reason="the PostgreSQL driver psycopg (v3) is not installed")
    server, reason = postgres_server()
    if server is None:
        pytest.skip(reason)
    name = "t_" + uuid.uuid4().hex[:12]
    eng = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with eng.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    eng.dispose()
    url = f"{server}/{name}"
    store.upgrade(url)
    return url


# --- many clients at once (the concurrency tests) -----------------------------------

def synthetic_campaign(*, towns: int = 2, villages_per_town: int = 5, households_per_village: int = 160,
                       enterprises_per_village: int = 10) -> SimpleNamespace:
    """A plain-frame campaign large enough for 2,000 visits (1,600 households, 100 enterprises)."""
    trows, vrows, grows, hrows, erows = [], [], [], [], []
    for t in range(towns):
        trows.append({"town_id": f"T{t}", "name": f"镇{t}"})
        for v in range(villages_per_town):
            vid = f"V{t}{v}"
            vrows.append({"village_id": vid, "name": f"村{t}{v}", "town_id": f"T{t}", "kind": "village"})
            for g in range(2):
                grows.append({"grid_id": f"{vid}G{g}", "village_id": vid})
            for h in range(households_per_village):
                hrows.append({"household_id": f"{vid}H{h:03d}", "grid_id": f"{vid}G{h % 2}", "village_id": vid,
                              "status": ("vacant", "away", "resident", "resident", "resident")[h % 5]})
            for e in range(enterprises_per_village):
                erows.append({"enterprise_id": f"{vid}E{e}", "grid_id": f"{vid}G0", "village_id": vid})
    cadres = pd.DataFrame({"cadre_id": [f"C{i:02d}" for i in range(50)], "team_id": [f"K{i % 5}" for i in range(50)],
                           "name": [f"干部{i}" for i in range(50)]})
    return SimpleNamespace(towns=pd.DataFrame(trows), villages=pd.DataFrame(vrows), grids=pd.DataFrame(grows),
                           households=pd.DataFrame(hrows), enterprises=pd.DataFrame(erows), cadres=cadres,
                           teams=pd.DataFrame({"team_id": [f"K{i}" for i in range(5)],
                                               "name": [f"组{i}" for i in range(5)]}))


def client_workload(campaign, *, clients: int = 50, visits: int = 2000, bad_per_client: int = 3, seed: int = 0,
                    cadres: list[str] | None = None):
    """Per client: a list of batches to post (with retries and malformed records mixed in), and
    the good records (the truth every check compares with). Client ``c`` records as cadre
    ``cadres[c % len(cadres)]`` (default: C00, C01, ... one per client)."""
    import random

    rng = random.Random(seed)
    entities = ([("household", h) for h in campaign.households["household_id"]]
                + [("enterprise", e) for e in campaign.enterprises["enterprise_id"]])
    outcomes = ("visited", "visited", "visited", "not_home", "phone", "refused")
    per = visits // clients
    plans, truth = [], []
    for c in range(clients):
        cadre = cadres[c % len(cadres)] if cadres else f"C{c:02d}"
        good = []
        for k in range(per):
            etype, eid = rng.choice(entities)  # several cadres may visit one household: counters contend
            outcome = rng.choice(outcomes)
            rec = {"client_id": f"k{c:02d}-{k:03d}-{uuid.UUID(int=rng.getrandbits(128)).hex[:8]}",
                   "entity_type": etype, "entity_id": eid, "cadre_id": cadre,
                   "visited_at": f"2026-03-{1 + k % 28:02d}T{8 + k % 10:02d}:{rng.randrange(60):02d}:00+08:00",
                   "outcome": outcome}
            if outcome == "visited" and rng.random() < 0.15:
                rec["problems"] = [{"client_id": rec["client_id"] + "-p", "category": rng.choice(
                    ("difficulty", "housing_land", "medical_health", "other")), "description": "问题描述"}]
            good.append(rec)
        bad = [
            {"client_id": f"k{c:02d}-bad-outcome", "entity_type": "household", "entity_id": entities[0][1],
             "cadre_id": cadre, "visited_at": "2026-03-02T10:00:00", "outcome": "maybe"},
            {"client_id": f"k{c:02d}-bad-date", "entity_type": "household", "entity_id": entities[0][1],
             "cadre_id": cadre, "visited_at": "3月2日", "outcome": "visited"},
            {"entity_type": "enterprise", "entity_id": entities[-1][1], "cadre_id": cadre,
             "visited_at": "2026-03-02T10:00:00", "outcome": "visited"},  # no client id
        ][:bad_per_client]
        records = good + bad
        rng.shuffle(records)
        batches, i = [], 0
        while i < len(records):
            n = rng.randint(5, 15)
            batches.append(records[i:i + n])
            i += n
        sends = []
        for b in batches:
            sends.append(b)
            if rng.random() < 0.3:  # the answer was lost: the phone sends the batch again
                sends.append(b)
        sends.append(batches[0] + batches[-1])  # a sync after a restart re-sends old and new together
        plans.append(sends)
        truth.extend(good)
    return plans, truth


def run_clients(plans, post, *, threads: int | None = None) -> list[tuple[dict, dict]]:
    """Post every client's batches from its own thread, all starting at once;
    ``post(batch) -> results``. Returns (record, result) pairs of every answer."""
    import threading

    barrier = threading.Barrier(len(plans))
    answers: list[list] = [[] for _ in plans]
    errors: list[BaseException] = []

    def client(i):
        try:
            barrier.wait()
            for batch in plans[i]:
                results = post(batch)
                assert len(results) == len(batch)
                answers[i].extend(zip(batch, results))
        except BaseException as exc:  # reported by the caller
            errors.append(exc)

    ts = [threading.Thread(target=client, args=(i,)) for i in range(len(plans))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        raise errors[0]
    return [a for client_answers in answers for a in client_answers]


def check_outcome(engine, campaign_id, campaign, answers, truth):
    """Every good visit stored exactly once, every bad one answered with an error, the
    counters (and the coverage from them) equal to a recount from the raw records and from
    the clients' truth. Returns the coverage from the records."""
    from collections import Counter

    from sqlalchemy import func, select

    from geodata import store
    from planner.coverage import coverage, visit_counts

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
