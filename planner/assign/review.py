"""The soft goals of a plan (软目标: balance, compactness, contiguity, must-visits by the
responsible team, stability) and, for each team that bends one, why, as far as the data
tells: for the plan :func:`planner.assign.assign` returns and for any plan given as an
assignment table (:func:`review_plan`: a plan edited by hand, an old plan file).

Each reason has a ``kind`` (a short code, see :func:`pieces_reason` and
:func:`planner.assign.why.band_reason`) that a page can put in the reader's language, and
the whole reason in English with its numbers. ``teams_summary`` carries them per team
(``balance_reason``, ``balance_note``, ``contiguity_reason``, ``contiguity_note``; empty
where the team keeps the goal), so a plan file explains itself.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geodata.errors import ZoufangError
from planner.assign.result import SoftGoal
from planner.assign.units import OBJ_SCALE
from planner.assign.why import Reason, band_reason

NOTE_COLUMNS = ("balance_reason", "balance_note", "contiguity_reason", "contiguity_note")


def outside_band(ratio, tol: float):
    """Whether a load / share ratio (a number or an array) lies outside the balance band ±``tol``
    (the summary's ratios are rounded: a hair's margin keeps a team on the edge inside)."""
    return (ratio > 1 + tol + 1e-9) | (ratio < 1 - tol - 1e-9)


def workload_max_mean(summary: pd.DataFrame) -> float:
    """Workload max/mean per cadre (工作量 最大/平均) of a plan's ``teams_summary``: the most a
    cadre carries (a team's hours over its cadres) against the mean workload of all cadres (all
    hours over all cadres), i.e. the largest load / share when shares follow the cadres. Teams
    without cadres left out; 0.0 when no team has any."""
    active = summary[summary["cadres"] > 0]
    hours, cadres = active["hours"].astype(float), active["cadres"].astype(float)
    mean = hours.sum() / cadres.sum() if len(active) else 0.0
    return float((hours / cadres).max() / mean) if mean > 0 else 0.0


def joint_as_bool(mv: pd.DataFrame) -> pd.DataFrame:
    """``mv`` with its ``joint`` column as booleans (read from a file it is text or numbers)."""
    if "joint" not in mv or mv["joint"].dtype == bool:
        return mv
    return mv.assign(joint=mv["joint"].astype(str).str.lower().isin(["true", "1", "1.0"]))


def review_plan(campaign, assignment: pd.DataFrame, must_visits: pd.DataFrame | None,
                rules, ua=None) -> tuple[pd.DataFrame, tuple[SoftGoal, ...]]:
    """The teams summary (with the reasons) and soft goals of a plan given as its assignment
    table (grid rows used; a unit goes to the team holding most of its grids), as
    :func:`planner.assign.assign` reports them for its own plans (without what its search
    steps found, which held for the plans they saw). ``ua``: the campaign's unit arrays under
    these rules (:func:`planner.assign.units.build_units`), when the caller keeps them (most of
    the time at county scale: 4.5 of 5.1 s measured on 300,000 households)."""
    from planner.assign.check import contiguity
    from planner.assign.frames import teams_summary
    from planner.assign.plan import _previous_units
    from planner.assign.units import build_units

    ua = build_units(campaign, rules) if ua is None else ua
    team = _previous_units(ua, assignment)
    if (team < 0).any():
        missing = ua.unit_ids[team < 0][:5].tolist()
        raise ValueError(f"{int((team < 0).sum())} unit(s) have no team in the plan "
                         f"(e.g. {', '.join(map(str, missing))})")
    mv = must_visits if must_visits is not None else pd.DataFrame(columns=["team_id", "joint"])
    mv = joint_as_bool(mv)
    summary = teams_summary(campaign, ua, team, assignment, mv, rules, contiguity(team, ua.edges, ua.n_teams))
    return with_reasons(ua, rules, team, summary, mv, None, cadres=campaign.cadres)


def with_reasons(ua, rules, team, summary: pd.DataFrame, mv, prev, mended: dict | None = None,
                 banded: dict | None = None, *, cadres: pd.DataFrame | None = None,
                 ) -> tuple[pd.DataFrame, tuple[SoftGoal, ...]]:
    """``summary`` with each team's reasons (:data:`NOTE_COLUMNS`) and the plan's soft goals.
    ``mended`` / ``banded``: what the search's mending and band steps found per team index;
    ``cadres``: the campaign's cadres (to tell which joint must-visits the cadres force)."""
    tol = rules.balance.tolerance
    notes = {c: [None] * len(summary) for c in NOTE_COLUMNS}
    for k, r in enumerate(summary.itertuples()):
        t = ua_index(ua, r.team_id)
        if r.cadres > 0 and outside_band(r.load_ratio, tol):
            why = band_reason(ua, team, t, rules)
            notes["balance_reason"][k] = why.kind
            notes["balance_note"][k] = why.text + _band_note((banded or {}).get(t), rules)
        if r.pieces > 1:
            why = pieces_reason(ua, team, t, rules)
            notes["contiguity_reason"][k] = why.kind
            notes["contiguity_note"][k] = why.text + _mend_note((mended or {}).get(t), rules)
    summary = summary.assign(**{c: pd.Series(v, index=summary.index, dtype=object) for c, v in notes.items()})
    return summary, _soft_goals(ua, rules, team, summary, mv, prev, cadres)


def _soft_goals(ua, rules, team, summary, mv, prev, cadres=None) -> tuple[SoftGoal, ...]:
    goals = []
    tol = rules.balance.tolerance
    active = summary[summary["cadres"] > 0]
    ratio = active["load_ratio"].to_numpy()
    out_band = active[active["balance_note"].notna()]
    mm = workload_max_mean(summary)
    goals.append(SoftGoal(
        "balance", bool(len(out_band)), 0.0,
        f"workload per cadre max/mean {mm:.3f}; team load / share from {ratio.min():.3f} to {ratio.max():.3f} "
        f"(spread {ratio.max() - ratio.min():.3f}, band ±{tol:.0%}); {len(out_band)} team(s) outside the band",
        tuple(f"team {r.team_id} ({r.level}): {r.hours} h vs share {r.target_hours} h ({r.load_ratio:.3f}) — "
              f"{r.balance_note}" for r in out_band.itertuples()),
    ))
    d = ua.dist_m[np.arange(ua.n_units), team] / 1000
    goals.append(SoftGoal("compactness", False, 0.0,
                          f"mean distance unit → team base {d.mean():.2f} km, max {d.max():.2f} km"))
    broken = summary[summary["pieces"] > 1]
    goals.append(SoftGoal("contiguity", bool(len(broken)), 0.0,
                          f"{len(broken)} of {int((summary['units'] > 0).sum())} team territories are not contiguous",
                          tuple(f"team {r.team_id}: {r.pieces} pieces — {r.contiguity_note}"
                                for r in broken.itertuples())))
    joint = int(mv["joint"].sum()) if len(mv) else 0
    rows = joint_breakdown(cadres, rules, mv) if cadres is not None and joint else []
    forced = sum(r["forced"] for r in rows)
    goals.append(SoftGoal(
        "must_visit_own_team", bool(joint), 0.0,
        f"{joint} of {len(mv)} must-visits are joint visits by a cadre of another team"
        + (f": {forced} because the responsible team has no cadre the rule asks for, {joint - forced} because its "
           f"qualifying cadres reached their caps (max_per_cadre, [quotas] max_must_visits_per_cadre)" if rows else ""),
        tuple(f"{r['rule']}: {r['joint']} of {r['total']} joint; {r['forced']} where the responsible team has no "
              f"{r['needs']}" for r in rows if r["joint"])))
    if prev is not None:
        moved = (prev >= 0) & (prev != team)
        gone = prev < 0
        goals.append(SoftGoal("stability", bool(moved.any()), 0.0,
                              f"{int(moved.sum())} {ua.level}(s) and {int(ua.households[moved].sum())} households "
                              f"moved to another team; {int(gone.sum())} {ua.level}(s) had no (remaining) team before"))
    return tuple(goals)


def joint_breakdown(cadres: pd.DataFrame, rules, mv: pd.DataFrame) -> list[dict]:
    """Per must-visit rule: must-visits (``total``), joint ones (``joint``: the visiting cadre is
    of another team than the responsible one) and of these ``forced``: the responsible team has
    no cadre that meets the slot (the visiting cadre's level for a levels rule, e.g. a town
    team has no city-level cadre for a poor household's city visit; ``min_rank`` otherwise), so
    a joint visit is the only way whatever the plan. The other joint ones are the caps' doing."""
    from geodata.schema import RANKS, rank_index

    position = {r: i for i, r in enumerate(RANKS)}
    cad = cadres.assign(cadre_id=cadres["cadre_id"].astype(str), team_id=cadres["team_id"].astype(str))
    level_of = cad.set_index("cadre_id")["level"].astype(str)
    rank = cad["rank"].astype(str).map(lambda r: position.get(r, -1))
    team_levels = cad.groupby("team_id")["level"].agg(lambda v: set(v.astype(str)))
    team_rank = rank.groupby(cad["team_id"]).max()
    out = []
    for rule in rules.must_visit:
        m = mv[mv["rule"] == rule.name]
        j = m[m["joint"].astype(bool)]
        resp = j["responsible_team_id"].astype(str)
        if rule.levels:
            need = j["cadre_id"].astype(str).map(level_of)
            has = [lv in team_levels.get(t, set()) for t, lv in zip(resp, need)]
            needs = f"cadre of the level asked ({', '.join(rule.levels)}: a team has cadres of its own level)"
        else:
            has = (resp.map(team_rank).fillna(-1) >= rank_index(rule.min_rank)).tolist()
            needs = f"cadre of rank ≥ {rule.min_rank}"
        out.append({"rule": rule.name, "total": len(m), "joint": len(j), "forced": int(len(j) - sum(has)),
                    "needs": needs})
    return out


def soft_goals_frame(goals) -> pd.DataFrame:
    """The soft goals as a table for the plan file (``soft_goals`` layer): one row per goal
    (``detail`` empty) and one per team that bends it."""
    rows = []
    for g in goals:
        rows.append((g.name, bool(g.bent), g.summary, None))
        rows.extend((g.name, bool(g.bent), g.summary, d) for d in g.details)
    return pd.DataFrame(rows, columns=["goal", "bent", "summary", "detail"])


def ua_index(ua, team_id) -> int:
    return int(np.flatnonzero(ua.team_ids == team_id)[0])


def _why_pieces(ua, team, t, rules) -> str:
    """Why team t's territory is not in one piece, as far as the data tells."""
    return pieces_reason(ua, team, t, rules).text


def pieces_reason(ua, team, t, rules) -> Reason:
    """:func:`_why_pieces` with its kind: ``map_parts`` (parts of the map that touch nowhere),
    ``rules_force`` / ``no_set_found`` / ``objective_choice`` (a team of whole villages: no
    touching set fits, none found, or one fits and the weights chose pieces),
    ``whole_neighbours`` (its stray pieces touch only teams of whole villages that cannot take
    them), ``balance_band``, ``own_town`` or ``traded``."""
    mine = np.flatnonzero(team == t)
    whole = _components(ua.edges, ua.n_units)
    parts = len(np.unique(whole[mine]))
    pieces = len(np.unique(_components(ua.edges[team[ua.edges[:, 0]] == team[ua.edges[:, 1]]], ua.n_units)[mine]))
    if parts == pieces:
        where = []
        for c in np.unique(whole[mine]):
            us = mine[whole[mine] == c]
            towns = sorted(set(ua.town_ids[ua.unit_town[us]].tolist()))
            where.append(f"{len(us)} {ua.level}(s) in the part of town(s) {', '.join(towns[:3])}"
                         f"{' …' if len(towns) > 3 else ''} ({int((whole == c).sum())} {ua.level}s)")
        return Reason("map_parts", (
            f"its units lie in {parts} parts of the map that touch nowhere (separate components of the "
            f"adjacency graph: {'; '.join(where)}): each team is placed in one part with its whole "
            f"share, and where a part's workload does not match the shares placed there (within the "
            f"balance band) a team is lent to a near part; the planner places the teams so that as few "
            f"are lent as it finds (not proven the fewest)"
        ))
    if ua.team_granularity[t] != ua.level:
        from planner.assign.why import touching_groups_in_band

        g = ua.team_granularity[t]
        found, exhaustive = touching_groups_in_band(ua, t, rules)
        head = f"it takes whole {g}s ([units] {ua.team_level[t]}; {parts} map part(s), {pieces} pieces)"
        if found is None and exhaustive:
            return Reason("rules_force", (
                f"{head} and no set of touching {g}s it may take lies inside its balance band within its "
                f"quota (every connected set tried): the rules force the pieces"
            ))
        if found is None:
            return Reason("no_set_found", (
                f"{head} and no set of touching {g}s it may take inside its balance band within its quota "
                f"was found (sets grown from each {g} by its nearest touching ones; not proven that none exists)"
            ))
        ids, minutes = found
        return Reason("objective_choice", (
            f"{head}; touching {g}s inside its balance band within its quota exist (e.g. "
            f"{', '.join(ids[:4])}{' …' if len(ids) > 4 else ''}: {minutes / 60:.0f} h), so the rules alone do "
            f"not force the pieces: the search gave those {g}s to other teams, finding no plan with them together "
            f"that costs less in the rules' weighted penalties as a whole (the teams' balance and pieces, "
            f"distances, cut edges; not proven)"
        ))
    # the smaller pieces: which teams enclose them
    lab = _components(ua.edges[team[ua.edges[:, 0]] == team[ua.edges[:, 1]]], ua.n_units)
    own = np.unique(lab[mine])
    main = max(own, key=lambda p: (ua.workload[lab == p].sum(), -p))
    around = set()
    for i, j in ua.edges.tolist():
        for a, b in ((i, j), (j, i)):
            if team[a] == t and lab[a] != main and team[b] != t:
                around.add(int(team[b]))
    if around and all(ua.team_granularity[x] != ua.level for x in around):
        rules_bent = []
        piece = np.flatnonzero((team == t) & (lab != main))
        tgt = ua.target_load()
        for x in sorted(around):
            grp = ua.group_of(ua.team_granularity[x])
            block = np.flatnonzero(np.isin(grp, grp[piece]))  # it would take the pieces' villages whole
            load = float(ua.workload[(team == x) | np.isin(np.arange(ua.n_units), block)].sum())
            vill = len(set(ua.unit_village[(team == x) | np.isin(np.arange(ua.n_units), block)].tolist()) - {-1})
            q = rules.quotas.for_level(ua.team_level[x])
            why = []
            if q.max_villages is not None and vill > q.max_villages:
                why.append(f"{vill} villages > quota {q.max_villages}")
            if load > tgt[x] * (1 + rules.balance.tolerance):
                why.append(f"load {load / max(tgt[x], 1.0):.2f} × share")
            if (team[block] != t).any():
                why.append("the villages are shared with other teams")
            rules_bent.append(f"{ua.team_ids[x]} ({ua.team_level[x]}: {', '.join(why) or 'it could'})")
        if all("it could" not in r for r in rules_bent):
            return Reason("whole_neighbours", (
                f"its smaller piece(s) touch only teams that take whole {ua.team_granularity[min(around)]}s, and "
                f"none can take them: {'; '.join(rules_bent)}"
            ))
    # the smaller pieces given to a touching team: what that would do to the band
    piece = np.flatnonzero((team == t) & (lab != main))
    w = float(ua.workload[piece].sum())
    tgt = np.maximum(ua.target_load(), 1.0)
    load = np.bincount(team, weights=ua.workload, minlength=ua.n_teams)
    tol = rules.balance.tolerance
    takers = sorted(x for x in around if ua.team_granularity[x] == ua.level and ua.eligible[piece, x].all())
    out = [(x, (load[x] + w) / tgt[x]) for x in takers]
    left = (load[t] - w) / tgt[t]  # t's load ratio without its smaller pieces
    if out and (left < 1 - tol or all(r > 1 + tol for _, r in out)):
        what = [f"{ua.team_ids[x]} at {r:.2f} × share" for x, r in out[:3]]
        return Reason("balance_band", (
            f"the balance band holds it in pieces: its smaller piece(s) ({len(piece)} {ua.level}(s), {w / 60:.0f} h) "
            + (f"would leave it at {left:.2f} × share" if left < 1 - tol else "")
            + (" and " if left < 1 - tol and all(r > 1 + tol for _, r in out) else "")
            + (f"would put a touching team above the band ({', '.join(what)})" if all(r > 1 + tol for _, r in out)
            else "")
            + f"; the rules weigh an hour outside the band ({rules.balance.weight:g}) above an extra piece "
            f"({rules.contiguity.detached_weight:g}): raise [contiguity] detached_weight to prefer one piece"
        ))
    if ua.team_town[t] >= 0 and not takers:
        return Reason("own_town", "it may only take units of its own town, and the balance band pulled in a "
                                  "detached part")
    return Reason("traded", (
        "the solver traded it for balance or compactness (see the penalties); a longer run "
        "may join it"
    ))


def _band_note(ev: dict | None, rules) -> str:
    """What the band steps over the team found (see lns.rescue_band), or ''."""
    if not ev or not ev["steps"]:
        return ""
    per_piece = rules.contiguity.detached_weight / max(rules.balance.weight, 1e-9) * 60.0
    if ev["inside"] is None:
        return (f"; {ev['steps']} band step(s) over it and the teams around it (an hour outside the band weighing "
                f"{ev.get('boost', 100):g} times more) found no plan with it inside the band in their time")
    if ev["inside"] <= 0:
        return (f"; a band step found a plan with it inside the band, but it put more minutes of other teams "
                f"outside it")
    return (f"; a band step found a plan with it inside the band that cuts {ev['inside']} more territory "
            f"piece(s): the rules weigh an extra piece ({rules.contiguity.detached_weight:g}) as {per_piece:.0f} "
            f"minutes outside the band, and it was {ev['minutes']} minutes outside: raise [balance] weight to "
            f"prefer the band")


def _mend_note(ev: dict | None, rules) -> str:
    """What the step that tried to join the territory found (see lns.mend_pieces), or ''."""
    if not ev:
        return ""
    step = (f"; a search step that re-solved it with the {ev['teams'] - 1} team(s) around it, its territory "
            f"forced into one piece, ")
    if ev["cost"] is not None:
        return step + (f"found that one piece costs {ev['cost'] / OBJ_SCALE:.0f} more in the rules' weighted "
                       f"penalties than this plan ({'proven for that step' if ev['status'] == 'OPTIMAL' else 'the best it found'}; "
                       f"an extra piece weighs {rules.contiguity.detached_weight:g})")
    if ev["status"] == "INFEASIBLE":
        return step + "proved that no plan of those teams keeps the hard rules with it in one piece"
    return step + "found no plan in its time"


def _components(edges, n):
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    g = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
    return connected_components(g, directed=False)[1]


class PlanInputError(ZoufangError, ValueError):
    """A plan table that cannot be read as a plan of this campaign (what, where, how to fix)."""


def check_given_plan(campaign, assignment: pd.DataFrame, must_visits: pd.DataFrame | None, rules):
    """A plan made elsewhere (drawn by hand in a GIS, edited, or an older file) as zoufang would
    report its own: returns ``(plan, violations, completed)``, ``plan`` an
    :class:`planner.assign.Assignment`.

    ``assignment`` needs a row per grid (``entity_type`` = grid, ``entity_id``, ``team_id``).
    When it has no household or enterprise rows, they are completed from their grids' teams
    (each given to a cadre of its team as :func:`planner.assign.assign` does), and when
    ``must_visits`` is None the must-visit cadres are chosen (``completed`` is then True).
    ``violations``: the independent checker's findings (empty when every hard rule holds).
    ``plan_info`` gives the plan's objective by the rules' weights, term by term, to compare
    with another plan checked the same way (a team without a base is measured from the centre
    of its territory: the objective :func:`planner.assign.assign` reports is measured from its
    own placement of those bases, so compare plans checked alike)."""
    from planner.assign import model as _model
    from planner.assign.check import check_plan
    from planner.assign.frames import assignment_frame, responsible_teams
    from planner.assign.mustvisit import plan_must_visits
    from planner.assign.plan import _previous_units
    from planner.assign.result import Assignment
    from planner.assign.units import build_units

    need = {"entity_type", "entity_id", "team_id"}
    if not need <= set(assignment.columns):
        raise PlanInputError(f"layer assignment: columns {sorted(need - set(assignment.columns))} are missing "
                             f"(a plan needs entity_type, entity_id, team_id on every grid row)")
    a = assignment.assign(entity_type=assignment["entity_type"].astype(str),
                          entity_id=assignment["entity_id"].astype(str), team_id=assignment["team_id"].astype(str))
    grids = a[a["entity_type"] == "grid"]
    known_grids = set(campaign.grids["grid_id"].astype(str))
    known_teams = set(campaign.teams["team_id"].astype(str))
    problems = []
    unknown = sorted(set(grids["entity_id"]) - known_grids)
    if unknown:
        problems.append(f"{len(unknown)} grid id(s) are not in the campaign (e.g. {', '.join(unknown[:5])}): "
                        f"fix the ids or drop those rows")
    missing = sorted(known_grids - set(grids["entity_id"]))
    if missing:
        problems.append(f"{len(missing)} grid(s) of the campaign have no row (e.g. {', '.join(missing[:5])}): "
                        f"give every grid a team")
    twice = sorted(grids["entity_id"][grids["entity_id"].duplicated()].unique())
    if twice:
        held = grids.groupby("entity_id")["team_id"].agg(lambda v: ", ".join(sorted(set(v))))
        problems.append(f"{len(twice)} grid(s) have more than one row (e.g. "
                        f"{'; '.join(f'{g} ({held[g]})' for g in twice[:5])}): one team per grid")
    bad_teams = sorted(set(grids["team_id"]) - known_teams)
    if bad_teams:
        problems.append(f"team id(s) {', '.join(bad_teams[:5])} are not in the campaign's teams layer")
    if problems:
        raise PlanInputError("layer assignment: " + "; ".join(problems))
    ua = build_units(campaign, rules)
    team = _previous_units(ua, grids)
    gteam = grids.set_index("entity_id")["team_id"]
    mixed = [str(ua.unit_ids[u]) for u in range(ua.n_units)
             if gteam.reindex(ua.grid_unit.index[ua.grid_unit.to_numpy() == u]).nunique() > 1]
    if mixed:
        raise PlanInputError(f"layer assignment: the grids of {len(mixed)} {ua.level}(s) are given to several teams "
                             f"(e.g. {', '.join(mixed[:5])}), but the rules plan whole {ua.level}s "
                             f"([units] base = \"{rules.units.base}\"): one team per {ua.level}")
    seeded = int((~ua.team_base_given).sum())
    if seeded:
        # a team without a base (驻点) is measured from the point of least total distance to its
        # territory's units (as the planner places it), so plans from anywhere compare alike
        from planner.assign.units import centred_on

        ua = centred_on(ua, team)
    completed = not (a["entity_type"] == "household").any()
    if completed:
        a = assignment_frame(campaign, ua, team)
    if must_visits is None:
        completed = True
        team_xy = {tid: ua.team_base[i] for i, tid in enumerate(ua.team_ids)}
        must_visits = plan_must_visits(campaign, rules, responsible_teams(campaign, a), team_xy).rows
    else:
        must_visits = joint_as_bool(must_visits)
    violations = check_plan(campaign, a, must_visits, rules)
    summary, goals = review_plan(campaign, a, must_visits, rules, ua=ua)
    cand = [np.flatnonzero(ua.eligible[u]) for u in range(ua.n_units)]
    objective, terms = _model.plan_objective(_model.ModelData(ua, rules, cand), team)
    info = {"status": "CHECKED" if not violations else "BREAKS_HARD_RULES", "objective": float(objective),
            "soft_penalties_final": terms, "objective_scale": OBJ_SCALE, "completed": completed,
            "hard_rule_violations": len(violations), "units_level": ua.level, "units": ua.n_units,
            "teams": ua.n_teams, "teams_without_base": seeded, "rules_source": rules.source,
            "rules": rules.to_dict()}
    return Assignment(a, must_visits, summary, info, goals), violations, completed


#: headers of the grid and team columns in an office's table (normalised: no spaces, _ - or brackets)
GRID_HEADERS = ("gridid", "grid", "entityid", "网格", "网格编码", "网格编号", "网格号", "网格id", "网格代码")
TEAM_HEADERS = ("teamid", "team", "工作组", "工作组编码", "工作组编号", "工作组id", "工作组名称", "包干工作组", "责任工作组")


def read_given_plan(path, campaign) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """A plan file made elsewhere as ``(assignment, must_visits or None)`` for
    :func:`check_given_plan`: a GeoPackage's ``assignment`` (and ``must_visits``) layers, or a
    CSV / Excel table of grid → team (the team's id, or its name as in the teams layer; headers
    such as 网格编码 and 工作组编码 / 工作组). Raises :class:`PlanInputError` naming what is
    missing and what was found."""
    from pathlib import Path

    import pyogrio

    from geodata.importers import TABLE_SUFFIXES, norm_header, read_table

    path = Path(path)
    if path.suffix.lower() not in TABLE_SUFFIXES:
        try:
            layers = {name for name, _ in pyogrio.list_layers(path)}
        except Exception as exc:  # not a GeoPackage / GIS file at all
            raise PlanInputError(f"{path.name} cannot be read as a plan ({type(exc).__name__}): give a GeoPackage "
                                 f"with an assignment layer, or a CSV / Excel table of grid → team") from None
        if "assignment" not in layers:
            raise PlanInputError(f"{path.name} has no assignment layer (a plan needs one row per grid: entity_type "
                                 f"= grid, entity_id, team_id); layers found: {', '.join(sorted(layers)) or 'none'}")
        assignment = pyogrio.read_dataframe(path, layer="assignment", read_geometry=False)
        mv = pyogrio.read_dataframe(path, layer="must_visits", read_geometry=False) if "must_visits" in layers else None
        return assignment, mv

    frame = read_table(path)
    cols = {norm_header(c): c for c in frame.columns}
    grid = next((cols[h] for h in GRID_HEADERS if h in cols), None)
    team = next((cols[h] for h in TEAM_HEADERS if h in cols), None)
    if grid is None or team is None:
        raise PlanInputError(f"{path.name} needs a grid column (grid_id / 网格编码) and a team column (team_id / "
                             f"工作组编码 / 工作组); columns found: {', '.join(map(str, frame.columns)) or 'none'}")
    teams = campaign.teams
    by_name = dict(zip(teams["name"].astype(str).str.strip(), teams["team_id"].astype(str))) if "name" in teams else {}
    ids = set(teams["team_id"].astype(str))
    value = frame[team].astype(str).str.strip()
    value = value.where(value.isin(ids), value.map(by_name).fillna(value))  # a team's name stands for its id
    return pd.DataFrame({"entity_type": "grid", "entity_id": frame[grid].astype(str).str.strip(),
                         "team_id": value}), None
