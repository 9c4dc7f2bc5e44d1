"""An independent schedule checker: the rules re-read from the frames alone.

:func:`check_schedule` knows nothing of how the schedule was built; it reads
``stops``, ``days`` and ``shortfall`` with the assignment, the must-visits,
the rules (and the villages' kinds when the campaign is given) and lists
every broken rule in words. An empty list means every rule holds.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from planner.schedule.calendar import absent, sessions_on, week_of


def check_schedule(plan, assignment: pd.DataFrame, must_visits: pd.DataFrame | None, rules, *,
                   campaign=None, limit: int = 50) -> list[str]:
    """Every problem found (at most ``limit`` per rule), or ``[]``."""
    stops, days, short = plan.stops, plan.days, plan.shortfall
    problems: list[str] = []

    def report(rule: str, items: list[str]) -> None:
        for item in items[:limit]:
            problems.append(f"{rule}: {item}")
        if len(items) > limit:
            problems.append(f"{rule}: ... and {len(items) - limit} more")

    # 1. every household and enterprise exactly once: visited by its cadre, or in the shortfall
    a = assignment[assignment["entity_type"].isin(["household", "enterprise"])]
    key = ["entity_type", "entity_id"]
    seen = stops[stops["reason"].str.contains("assigned")][key + ["cadre_id"]]
    miss = short[short["purpose"].str.contains("assigned")][key + ["cadre_id"]]
    both = pd.concat([seen.assign(src="stops"), miss.assign(src="shortfall")], ignore_index=True)
    counts = both.groupby(key).size()
    want = a.set_index(key).index
    lost = want.difference(counts.index)
    report("coverage", [f"{t} {e} is neither in stops nor in the shortfall" for t, e in lost])
    twice = counts[counts > 1]
    report("coverage", [f"{t} {e} appears {n} times" for (t, e), n in twice.items()])
    cad = a.set_index(key)["cadre_id"].astype(str)
    got = both.set_index(key)["cadre_id"].astype(str)
    common = got.index.intersection(cad.index)
    wrong = [f"{t} {e} visited by {got.loc[(t, e)]!s}, responsible cadre {cad.loc[(t, e)]}"
             for t, e in common if (got.loc[(t, e)] != cad.loc[(t, e)]) is True]
    report("responsible cadre", wrong)

    # 2. every must-visit cadre at its entity (or in the shortfall)
    if must_visits is not None and len(must_visits):
        mv = must_visits[key + ["cadre_id"]].astype(str)
        have = pd.concat([stops[key + ["cadre_id"]], short[key + ["cadre_id"]]]).astype(str)
        merged = mv.merge(have.drop_duplicates(), how="left", indicator=True)
        gone = merged[merged["_merge"] == "left_only"]
        report("must-visit", [f"{r.cadre_id} at {r.entity_type} {r.entity_id} is neither in stops nor in the shortfall"
                              for r in gone.itertuples()])

    # 3. sessions: the date offers the session, times inside it, the place suits it
    kinds = None
    if campaign is not None:
        kinds = dict(zip(campaign.villages["village_id"].astype(str), campaign.villages["kind"].astype(str)))
    bad_session, bad_time, bad_place = [], [], []
    for r in days.itertuples():
        date = dt.date.fromisoformat(r.date)
        offer = {s.kind: s for s in sessions_on(date, rules)}
        s = offer.get(r.session)
        if s is None:
            bad_session.append(f"{r.cadre_id} on {r.date}: no {r.session} session that date")
            continue
        start, end = _minutes(r.start), _minutes(r.end)
        if start < s.start or end > s.end:
            bad_time.append(f"{r.cadre_id} on {r.date}: {r.start}-{r.end} outside the {r.session} session")
    for r in stops.itertuples():
        if r.mode == "phone" or kinds is None or r.entity_type != "household" or r.reason.startswith("revisit"):
            continue
        community = kinds.get(str(r.village_id)) == "community"
        if community and r.session == "day":
            bad_place.append(f"{r.cadre_id} visits community household {r.entity_id} in the daytime on {r.date}")
        if not community and r.session != "day":
            bad_place.append(f"{r.cadre_id} visits village household {r.entity_id} in the {r.session} on {r.date}")
    report("session", bad_session)
    report("working hours", bad_time)
    report("community evenings / village daytime", bad_place)

    # 4. one session per cadre and date, the weekly cap, absences
    dup = days.groupby(["cadre_id", "date"]).size()
    report("one session a day", [f"{c} has {n} sessions on {d}" for (c, d), n in dup[dup > 1].items()])
    weeks = days.assign(week=[week_of(dt.date.fromisoformat(d)) for d in days["date"]]).groupby(["cadre_id", "week"]).size()
    report("sessions per week", [f"{c} works {n} sessions in week {w[1]} of {w[0]}"
                                 for (c, w), n in weeks[weeks > rules.max_sessions_per_week].items()])
    away = absent(rules)
    report("absences", [f"{r.cadre_id} is scheduled on {r.date} while away" for r in days.itertuples()
                        if (r.cadre_id, dt.date.fromisoformat(r.date)) in away])

    # 5. joint visits: one date, starts within the window
    j = stops[stops["joint_group"] >= 0]
    bad_joint = []
    for g, grp in j.groupby("joint_group"):
        if grp["date"].nunique() > 1:
            bad_joint.append(f"group {g} ({grp['entity_id'].iat[0]}) spread over dates {sorted(set(grp['date']))}")
        elif grp["start_s"].max() - grp["start_s"].min() > rules.joint_window_minutes * 60:
            bad_joint.append(f"group {g} ({grp['entity_id'].iat[0]}) starts {grp['start'].min() if 'start' in grp else ''}"
                             f"{(grp['start_s'].max() - grp['start_s'].min()) // 60} min apart")
    report("joint visit", bad_joint)

    # 6. at most N teams per village per day (a joint visit counts as its host team)
    host = stops[(stops["mode"] == "visit") & ~(stops["reason"].str.startswith("must_visit") & (stops["joint_group"] >= 0))]
    per = host.groupby(["village_id", "date"])["team_id"].nunique()
    report("teams per village per day", [f"{n} teams in village {v} on {d}" for (v, d), n in
                                         per[per > rules.max_teams_per_village_day].items()])

    # 7. each day's times add up: seq 1..n, travel before arrival, service after the start
    bad_seq = []
    for (c, d), grp in stops.sort_values("seq").groupby(["cadre_id", "date"]):
        if list(grp["seq"]) != list(range(1, len(grp) + 1)):
            bad_seq.append(f"{c} on {d}: seq {list(grp['seq'])}")
            continue
        prev = None
        for r in grp.itertuples():
            if r.depart_s != r.start_s + r.service_s or r.start_s < r.arrive_s:
                bad_seq.append(f"{c} on {d}: stop {r.seq} times do not add up")
            if prev is not None and r.arrive_s < prev + r.travel_s:
                bad_seq.append(f"{c} on {d}: stop {r.seq} reached before leaving the previous one plus travel")
            prev = r.depart_s
    report("timeline", bad_seq)
    return problems


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)
