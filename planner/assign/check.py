"""The independent checker: every hard rule, recomputed from the campaign frames.

It reads only the campaign, the plan's frames and the rules — never the
solver's arrays — so a bug in the model cannot hide a broken plan. The tests
and the CLI run it on every plan; :func:`planner.assign.assign` refuses to
return a plan it rejects.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geodata.schema import rank_index
from planner.assign.mustvisit import ENTITY_ID, matching
from planner.assign.rules import Rules


def check_plan(campaign, assignment: pd.DataFrame, must_visits: pd.DataFrame, rules: Rules,
               *, limit: int = 50) -> list[str]:
    """Every hard-rule violation of a plan, in words (empty list = valid plan)."""
    problems: list[str] = []

    def add(msg: str):
        if len(problems) < limit:
            problems.append(msg)

    teams = campaign.teams.set_index(campaign.teams["team_id"].astype(str))
    cadres = campaign.cadres.set_index(campaign.cadres["cadre_id"].astype(str))
    cadre_team = cadres["team_id"].astype(str)
    villages = campaign.villages.set_index(campaign.villages["village_id"].astype(str))
    grids = campaign.grids
    g_village = pd.Series(grids["village_id"].astype(str).to_numpy(), index=grids["grid_id"].astype(str).to_numpy())
    g_town = g_village.map(villages["town_id"].astype(str))

    a = assignment.copy()
    a["entity_id"] = a["entity_id"].astype(str)
    a["team_id"] = a["team_id"].astype(str)

    # 1. exactly one team per grid, household, enterprise; nothing left out, nothing unknown
    grid_team = None
    for etype, frame, idcol in (("grid", grids, "grid_id"), ("household", campaign.households, "household_id"),
                                ("enterprise", campaign.enterprises, "enterprise_id")):
        ids = frame[idcol].astype(str) if frame is not None and len(frame) else pd.Series([], dtype=str)
        rows = a[a["entity_type"] == etype]
        counts = rows["entity_id"].value_counts()
        missing = sorted(set(ids) - set(counts.index))
        if missing:
            add(f"{len(missing)} {etype}(s) have no team (e.g. {missing[:3]})")
        twice = counts[counts > 1]
        if len(twice):
            add(f"{len(twice)} {etype}(s) have more than one team (e.g. {list(twice.index[:3])})")
        extra = sorted(set(counts.index) - set(ids))
        if extra:
            add(f"{len(extra)} {etype} id(s) in the plan are not in the campaign (e.g. {extra[:3]})")
        bad_team = rows[~rows["team_id"].isin(teams.index)]
        if len(bad_team):
            add(f"{len(bad_team)} {etype} row(s) name an unknown team (e.g. {bad_team['team_id'].iloc[0]})")
        one = rows.drop_duplicates("entity_id").set_index("entity_id")
        if etype == "grid":
            grid_team = one["team_id"]
            continue
        # follows its grid's team, and one cadre of that team
        if len(ids):
            g = frame.set_index(frame[idcol].astype(str))["grid_id"].astype(str)
            expect = g.map(grid_team)
            got = one["team_id"].reindex(expect.index)
            off = expect.index[(expect != got).to_numpy()]
            if len(off):
                add(f"{len(off)} {etype}(s) are not with the team of their grid (e.g. {list(off[:3])})")
            cad = one["cadre_id"].reindex(expect.index) if "cadre_id" in one else pd.Series(index=expect.index, dtype=object)
            no_cadre = cad.isna()
            if no_cadre.any():
                add(f"{int(no_cadre.sum())} {etype}(s) have no responsible cadre (e.g. {list(cad.index[no_cadre][:3])})")
            cad = cad[~no_cadre].astype(str)
            unknown = ~cad.isin(cadres.index)
            if unknown.any():
                add(f"{int(unknown.sum())} {etype}(s) name an unknown cadre (e.g. {cad[unknown].iloc[0]})")
            wrong = cad[~unknown].map(cadre_team) != got.reindex(cad[~unknown].index)
            if wrong.any():
                add(f"{int(wrong.sum())} {etype}(s) have a cadre from another team than the responsible one "
                    f"(e.g. {list(wrong.index[wrong.to_numpy()][:3])})")
    if grid_team is None:
        return problems
    gt = pd.DataFrame({"team": grid_team.reindex(g_village.index), "village": g_village, "town": g_town})

    # 2. layered linkage: whole villages / towns; town teams in their own town
    for level in ("city", "county", "town"):
        gran = rules.units.granularity(level)
        lvl_teams = teams.index[teams["level"].astype(str) == level]
        sub = gt[gt["team"].isin(lvl_teams)]
        if gran in ("village", "town"):
            key = "village" if gran == "village" else "town"
            held = sub.groupby(key).size()
            allg = gt.groupby(key).size()
            split = held[held != allg.reindex(held.index)]
            if len(split):
                add(f"{len(split)} {key}(s) are split although {level} teams take whole {key}s "
                    f"([units] {level} = '{gran}'; e.g. {list(split.index[:3])})")
        if level == "town" and rules.units.town_teams_in_own_town and "town_id" in teams:
            home = teams["town_id"].reindex(sub["team"]).to_numpy()
            bad = sub[pd.notna(home) & (sub["town"].to_numpy() != home.astype(str))]
            if len(bad):
                add(f"{len(bad)} grid(s) are held by a town team outside its own town (e.g. {list(bad.index[:3])})")

    # 3. quotas: villages per team
    n_vill = gt.groupby("team")["village"].nunique()
    for tid, row in teams.iterrows():
        q = rules.quotas.for_level(str(row["level"]))
        n = int(n_vill.get(tid, 0))
        if q.min_villages is not None and n < q.min_villages:
            add(f"team {tid} ({row['level']}) holds {n} villages < min_villages {q.min_villages}")
        if q.max_villages is not None and n > q.max_villages:
            add(f"team {tid} ({row['level']}) holds {n} villages > max_villages {q.max_villages}")

    # 4. cadre minimum households when the team has enough
    hh = a[a["entity_type"] == "household"]
    per_cadre = hh["cadre_id"].astype(str).value_counts()
    hh_team = hh["team_id"].value_counts()
    n_cad = cadre_team.value_counts()
    qmin = rules.quotas.cadre_min_households
    for tid, h in hh_team.items():
        n = int(n_cad.get(tid, 0))
        if n and h >= qmin * n:
            low = [c for c in cadres.index[cadre_team == tid] if per_cadre.get(c, 0) < qmin]
            if low:
                add(f"team {tid} has {h} households for {n} cadres, yet cadre(s) {low[:3]} have < {qmin}")

    # 5. must-visit rules
    mv = must_visits.copy()
    mv["entity_id"] = mv["entity_id"].astype(str)
    mv["cadre_id"] = mv["cadre_id"].astype(str)
    unknown = ~mv["cadre_id"].isin(cadres.index)
    if unknown.any():
        add(f"{int(unknown.sum())} must-visit row(s) name an unknown cadre")
    mv = mv[~unknown]
    rank = cadres["rank"].astype(str).map(rank_index)
    level = cadres["level"].astype(str)
    for rule in rules.must_visit:
        frame = {"village": campaign.villages, "household": campaign.households,
                 "enterprise": campaign.enterprises}[rule.entity]
        ids = set() if frame is None or not len(frame) else set(frame[ENTITY_ID[rule.entity]].astype(str)[matching(frame, rule)])
        rows = mv[mv["rule"] == rule.name]
        by_entity = rows.groupby("entity_id")["cadre_id"].apply(list)
        unmet = []
        for eid in ids:
            cs = by_entity.get(eid, [])
            if len(set(cs)) != len(cs):
                unmet.append(eid)
            elif rule.levels:
                if not set(rule.levels) <= set(level.reindex(cs)):
                    unmet.append(eid)
            elif int((rank.reindex(cs) >= rank_index(rule.min_rank)).sum()) < rule.count:
                unmet.append(eid)
        if unmet:
            add(f"{rule.describe()}: {len(unmet)} of {len(ids)} not met (e.g. {sorted(unmet)[:3]})")
        stray = set(rows["entity_id"]) - ids
        if stray:
            add(f"rule '{rule.name}' lists {len(stray)} entities it does not select (e.g. {sorted(stray)[:3]})")
        load = rows.drop_duplicates(["entity_id", "cadre_id"])["cadre_id"].value_counts()
        if len(load) and load.max() > rule.max_per_cadre:
            add(f"rule '{rule.name}': cadre {load.idxmax()} has {int(load.max())} > max_per_cadre {rule.max_per_cadre}")
    total = mv.drop_duplicates(["rule", "entity_id", "cadre_id"])["cadre_id"].value_counts()
    cap = rules.quotas.max_must_visits_per_cadre
    if len(total) and total.max() > cap:
        add(f"cadre {total.idxmax()} has {int(total.max())} must-visits > max_must_visits_per_cadre {cap}")
    if {"team_id", "cadre_id"} <= set(mv.columns) and len(mv):
        wrong = mv["cadre_id"].map(cadre_team) != mv["team_id"].astype(str)
        if wrong.any():
            add(f"{int(wrong.sum())} must-visit row(s) give a team_id that is not the cadre's team")
    return problems


def contiguity(assignment_units: np.ndarray, edges: np.ndarray, n_teams: int) -> list[int]:
    """Number of connected pieces of each team's territory on the unit adjacency graph."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    U = len(assignment_units)
    if len(edges):
        keep = assignment_units[edges[:, 0]] == assignment_units[edges[:, 1]]
        e = edges[keep]
    else:
        e = np.zeros((0, 2), int)
    g = coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(U, U))
    _, lab = connected_components(g, directed=False)
    pieces = [0] * n_teams
    for t in range(n_teams):
        pieces[t] = len(np.unique(lab[assignment_units == t]))
    return pieces
