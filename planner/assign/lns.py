"""Large-neighbourhood search over adjacent territories.

Each step picks a team (mostly one of those furthest outside the balance band)
and the teams whose territories touch it (at most
``max_teams``), cuts out a sub-problem of just their units and teams (the
rest of the plan stays as it is; the teams keep their full-problem workload
shares), re-solves it with CP-SAT from the current plan as a hint, and keeps
the result when the sub-problem's objective improves. Every soft goal of the
full objective that the step can change is in the sub-problem's objective,
so an improvement there is one of the whole plan. A step that would add a
piece to a territory of the neighbourhood is rejected (with ``trade_pieces``:
unless it brings the neighbourhood's furthest team closer to the balance band). At scale the
steps keep contiguity as a hard constraint through depth labels of the current plan; those also
forbid a territory to move sideways or off the unit nearest its base, so a step centred on a team
outside the band that improves nothing is solved again with contiguity soft and kept when the
pieces do not grow or the neighbourhood's furthest team comes closer to the band. Coarse teams
only take villages/towns lying wholly inside the sub-problem, so every hard rule holds.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from planner.assign import model as _model
from planner.assign.seeding import components
from planner.assign.units import OBJ_SCALE, subproblem
from planner.assign.why import touching_group_sets


def improve(data: _model.ModelData, team: np.ndarray, objective: float | None, *, deadline: float,
            workers: int, seed: int, progress=None, t0: float, max_teams: int = 6,
            step_time: float = 1.5, steps: int | None = None,
            trade_pieces: bool = False, margin: float = 1.0,
            imports: bool | None = None, soft_retry: bool = True,
            soft_share: float = 0.5, det_budget: float | None = None,
            hold_band: bool = False) -> tuple[np.ndarray, float | None, dict]:
    """Improve ``team`` until ``deadline`` (or, when ``steps`` is given, for exactly that many
    steps of ``step_time / 2`` deterministic seconds each; or, when ``det_budget`` is given, until
    the steps have spent that many of CP-SAT's deterministic seconds: most steps are proven
    optimal long before their limit, so a budget makes many more steps than a count). ``trade_pieces``: accept a step
    that adds a piece to a territory when it brings the neighbourhood's furthest team closer to
    the balance band (otherwise only a soft retry may). ``margin``: the steps aim at a band of ``margin`` × the
    rules' tolerance (as the repair does), so that the most loaded team ends inside the rules'
    band and max/mean workload within the tolerance; the returned objective is then approximate
    (the caller re-evaluates the plan in the full model). ``imports``: a team above the band in a
    part of the map with no room may draw a team of another part into it (:func:`_importer`;
    default: at scale); that team then becomes a candidate of the units it takes (``data.cand``
    grows, and the returned info counts the units in ``lns_candidates_widened``). ``soft_retry``:
    when a hard-contiguity step centred on a team outside the band improves nothing, the same
    neighbourhood is solved again with contiguity soft (twice the time), kept if no territory
    gains a piece or the neighbourhood's furthest team comes closer to the band (the current
    plan's depth labels also forbid reshaping a territory sideways or without its root, which
    balancing a team may need); such retries take at most
    ``soft_share`` of the search's time (of its steps when deterministic). ``hold_band``: every
    step holds the rules' balance band as a ratchet (:func:`planner.assign.model.band_hold`: a team
    inside it stays inside, one outside only comes closer), whatever the distance a trade would
    save; without it the rules' weights may trade a team's band for distance, and at scale such
    trades chained into plans with several teams far outside the band (joined county: a village
    team went from inside the band to 1.145 in the first half of the search, and the steps that
    brought it back cut 13 territories into pieces)."""

    ua = data.ua
    rules = data.rules
    band_tol = rules.balance.tolerance  # the rules' own band (the steps aim at ``margin`` × it)
    if margin != 1.0:
        rules = dataclasses.replace(rules, balance=dataclasses.replace(
            rules.balance, tolerance=rules.balance.tolerance * margin))
        data = dataclasses.replace(data, rules=rules)
    rng = np.random.default_rng(seed)
    team = team.copy()
    max_steps = steps
    counted = max_steps is not None or det_budget is not None  # deterministic: never asks the clock
    det_used = 0.0
    steps = kept = 0
    failed = np.zeros(ua.n_teams, int)  # steps centred on a team that changed nothing
    gained = 0.0
    widened = imported = soft_steps = soft_kept = 0
    spent = {"setup": 0.0, "hard": 0.0, "soft": 0.0}  # seconds per kind of work
    lns_t0 = time.perf_counter()
    if imports is None:  # at scale (small instances: the whole model moves load between parts)
        imports = ua.n_units > 1000
    part = components(ua.edges, ua.n_units) if imports else None
    while ((steps < max_steps) if max_steps is not None else (det_used < det_budget - 1e-3) if counted
           else (deadline - time.perf_counter() > 1.0)):
        steps += 1
        tick = time.perf_counter()
        t = _pick_team(data, team, rng, failed, over_first=not trade_pieces)
        hood = _neighbour_teams(ua.edges, team, t, rng, max_teams)
        # a team above the band whose steps failed, in a part of the map whose teams are full:
        # a team of another part may open a piece here (see _importer)
        imp = None if trade_pieces or failed[t] < 1 or part is None else _importer(data, team, t, part, hood)
        if imp is not None:
            s_team, root, p_in = imp
            hood = np.union1d(hood, _neighbour_teams(ua.edges, team, s_team, rng, 3))
        free, sub_ua, sub_cand, cur, tpos = _cut_out(
            data, team, hood, None if imp is None else (s_team, (part == p_in) & ua.eligible[:, s_team]))
        prev = None
        if data.previous is not None:
            p = data.previous[free]
            prev = np.array([tpos.get(int(x), -1) for x in p])
        extra = None if imp is None else {tpos[int(s_team)]: int(np.flatnonzero(free == root)[0])}
        connect = None if trade_pieces else _depth_labels(sub_ua, cur, sub_cand, extra)
        sub = _model.ModelData(sub_ua, data.rules, sub_cand, previous=prev, connect=connect, reference=cur,
                               load_bounds=_model.band_hold(sub_ua, cur, band_tol) if hold_band else None)
        if not counted:
            limit = min(step_time, deadline - time.perf_counter() - 0.5)
            if limit <= 0.3:
                break
        else:
            limit = step_time / 2 if max_steps is not None else max(0.05, min(step_time / 2, det_budget - det_used))
        before, _ = _model.plan_objective(sub, cur)  # (what CP-SAT with the plan fixed would give)
        # the hard-contiguity step first; for a team outside the band, then the same neighbourhood
        # with contiguity soft (the depth labels of the current plan also forbid reshaping a
        # territory sideways, which balancing may need): kept if no territory gains a piece, or
        # if the neighbourhood's furthest team comes closer to the band
        # (at most ``soft_share`` of the search's time: many teams out of band early on are the
        # hard steps' work)
        soft = (soft_retry and connect is not None and failed[t] >= 1 and _outside(data, team, t)
                and (soft_steps <= soft_share * steps if counted  # (deterministic: counted)
                     else spent["soft"] <= soft_share * (time.perf_counter() - lns_t0)))
        kept_step = False
        spent["setup"] += time.perf_counter() - tick
        for conn in ([connect, None] if soft else [connect]):
            tick = time.perf_counter()
            if conn is None and connect is not None:
                if not counted:
                    limit = min(2 * step_time, deadline - time.perf_counter() - 0.5)
                    if limit <= 0.3:
                        break
                sub = dataclasses.replace(sub, connect=None)
                soft_steps += 1
            # (deterministic steps on one worker: CP-SAT's interleaved search over two proves a
            # step's optimum far later on its clock; measured on the demo: 6 steps against 249)
            out = _model.solve(sub, time_limit=limit, workers=1 if counted else workers, seed=seed + steps,
                               hint_plan=cur, progress=None, phase="lns", deterministic=counted)
            # charged: CP-SAT's deterministic time and the building of the step's model, which that
            # clock does not see (measured on the demo: 0.3 ms of wall time per unit-team pair)
            det_used += out.det_time + 3e-4 * sum(len(c) for c in sub.cand)
            spent["soft" if conn is None and connect is not None else "hard"] += time.perf_counter() - tick
            if out.team_of_unit is None or out.objective >= before - 1e-9:
                continue
            trial = team.copy()
            trial[free] = hood[out.team_of_unit]
            opened = int(imp is not None and (trial[part == p_in] == s_team).any())  # a piece in another part
            trade = trade_pieces or (conn is None and connect is not None)  # (a soft retry may trade)
            if _pieces(ua, trial, hood) > _pieces(ua, team, hood) + opened and (
                    not trade or _worst(data, trial, hood) >= _worst(data, team, hood)):
                continue  # connectivity is only traded for a team brought back towards the band
            team = trial
            failed[hood] = 0
            if opened:  # the importing team is now a candidate of the units it took (the model's own)
                for u in np.flatnonzero((trial == s_team) & (part == p_in)):
                    if s_team not in data.cand[u]:
                        data.cand[u] = np.union1d(data.cand[u], [s_team])
                        widened += 1
                imported += 1
            gained += before - out.objective
            kept += 1
            soft_kept += conn is None and connect is not None
            kept_step = True
            if progress is not None:
                progress({"phase": "lns", "elapsed": time.perf_counter() - t0,
                          "objective": None if objective is None else objective - gained, "bound": None})
            break
        if not kept_step:
            failed[t] += 1
    best = None if objective is None else objective - gained
    return team, best, {"lns_steps": steps, "lns_improvements": kept, "lns_imports": imported,
                        "lns_soft_steps": soft_steps, "lns_soft_improvements": soft_kept,
                        "lns_candidates_widened": widened,
                        "lns_seconds": {k: round(v, 1) for k, v in spent.items()}}


def _cut_out(data: _model.ModelData, team: np.ndarray, hood: np.ndarray, widen: tuple | None = None):
    """The sub-problem of the teams ``hood``: their units (``free``), the sub-problem's arrays,
    candidates (each unit's candidates among ``hood``, whole groups for coarse teams) and current
    plan, and the team → position map. ``widen`` = (team, unit mask): that team also becomes a
    candidate of the masked units.

    Only the step's units and teams are looked at (the whole county's candidates closed over
    groups in each step took 40 % of the search's time on a county, measured): a coarse team of
    ``hood`` keeps a village (town) only where it is a candidate of all its units, as in
    :func:`planner.assign.construct.close_groups`, and a unit outside the step, which keeps its
    own team (never one of ``hood``), makes its group lost to every coarse team of the step."""
    ua = data.ua
    hood = np.asarray(hood)
    free = np.flatnonzero(np.isin(team, hood))
    pos = np.full(ua.n_teams, -1)
    pos[hood] = np.arange(len(hood))
    keep = np.zeros((len(free), len(hood)), bool)  # free unit × position in hood
    for i, u in enumerate(free):
        p = pos[data.cand[u]]
        keep[i, p[p >= 0]] = True
    if widen is not None:
        keep[widen[1][free], pos[widen[0]]] = True
    counts = {}  # granularity → (units per group, the step's units' groups); +1: no group counts as one, as in close_groups
    for j, t in enumerate(hood.tolist()):
        g = ua.team_granularity[t]
        if g == ua.level:
            continue
        if g not in counts:
            group = ua.group_of(g) + 1
            counts[g] = (np.bincount(group), group[free])
        size, mine = counts[g]
        keep[:, j] &= (np.bincount(mine[keep[:, j]], minlength=len(size)) == size)[mine]
    by_id = np.argsort(hood, kind="stable")  # (each unit's candidates in team order, as before)
    tpos = {int(x): i for i, x in enumerate(hood)}
    sub_ua = subproblem(ua, free, hood)
    sub_cand = [by_id[np.flatnonzero(row[by_id])] for row in keep]
    cur = pos[team[free]]
    return free, sub_ua, sub_cand, cur, tpos


def _candidate_of(cand: list[np.ndarray], t: int) -> np.ndarray:
    """Mask of the units whose candidate teams ``cand`` include team ``t``."""
    return np.array([t in c for c in cand], bool)


def _whole_objective(data: _model.ModelData, plan: np.ndarray) -> float:
    """The whole plan's objective at the rules' weights (its true extra pieces counted)."""
    return _model.plan_objective(dataclasses.replace(data, reference=plan), plan)[0]


def mend_pieces(data: _model.ModelData, team: np.ndarray, *, deadline: float, workers: int, seed: int,
                step_time: float = 2.0, max_teams: int = 9, wide_teams: int = 14, wide_factor: float = 3.0,
                sets: int = 3, deterministic: bool = False, hold_band: bool = False) -> tuple[np.ndarray, dict, dict]:
    """Try to join each territory in pieces: one CP-SAT step per such team over the team and
    the teams touching its pieces (up to ``max_teams`` in all, those sharing the most edges
    first), in which that team's territory must be one piece (hard contiguity from a single root,
    in its largest piece) and every other territory keeps the connectivity of the search's steps;
    when that finds no cheaper plan, a second step over two rings of teams around it (up to
    ``wide_teams``, ``wide_factor`` × the time): load can then pass through a ring of teams to
    make room for the join (on the joined county's captured plan it joined 2 of the 5 teams the
    first step left in pieces, each lowering the objective); for a team that takes whole villages
    (or towns) and is still in pieces, then a step for each of its ``sets`` nearest connected sets
    of them inside its band that it may take (:func:`planner.assign.why.touching_group_sets`),
    imposed as :func:`rescue_band`'s other village sets are (on a joined county's finished plan
    it joined one more such team, objective 1,024,332 → 1,015,180). A step is kept when it lowers the
    objective (the rules' own band; ``hold_band``: a step also holds that band as a ratchet, as
    :func:`improve`'s do). Teams with the smallest detached pieces first; until
    ``deadline`` (``deterministic``: every such team, ``step_time`` deterministic seconds each).

    Returns the plan, a summary (``mend_tried``, ``mend_joined``, ``mend_wide_joined``,
    ``mend_set_joined``) and per
    team index the last step's evidence: ``joined`` (bool), ``status`` (CP-SAT's), ``cost``
    (objective units the joined territory would add, when not joined and a plan was found),
    ``teams`` (the step's size)."""
    ua = data.ua
    team = team.copy()
    evidence: dict[int, dict] = {}
    rng = np.random.default_rng(seed)
    wide_joined = 0

    def minor(t):  # workload outside the team's largest piece (0 when in one piece)
        mine = np.flatnonzero(team == t)
        e = ua.edges[(team[ua.edges[:, 0]] == t) & (team[ua.edges[:, 1]] == t)]
        lab = components(e, ua.n_units)[mine]
        w = np.bincount(lab, weights=ua.workload[mine])
        return float(w.sum() - w.max()) if len(np.unique(lab)) > 1 else 0.0

    def step(t: int, hood: np.ndarray, factor: float, k: int) -> dict | None:
        free, sub_ua, sub_cand, cur, tpos = _cut_out(data, team, hood)
        connect = _depth_labels(sub_ua, cur, sub_cand)
        st = tpos[int(t)]
        mine = np.flatnonzero(cur == st)
        e = sub_ua.edges[(cur[sub_ua.edges[:, 0]] == st) & (cur[sub_ua.edges[:, 1]] == st)]
        lab = components(e, sub_ua.n_units)
        w = np.bincount(lab[mine], weights=sub_ua.workload[mine])
        drop = mine[lab[mine] != int(np.argmax(w))]  # outside the largest piece: no root there
        one_root = cur.copy()
        one_root[drop] = -1
        connect[st] = _depth_labels(sub_ua, one_root, sub_cand)[st]
        sub = _model.ModelData(sub_ua, data.rules, sub_cand, connect=connect, reference=cur,
                               load_bounds=_model.band_hold(sub_ua, cur, data.rules.balance.tolerance)
                               if hold_band else None)
        before, _ = _model.plan_objective(sub, cur)
        limit = factor * step_time if deterministic else min(factor * step_time, deadline - time.perf_counter() - 0.3)
        if limit <= 0.3:
            return None
        out = _model.solve(sub, time_limit=limit, workers=1 if deterministic else workers, seed=seed + k,
                           progress=None, phase="mend", deterministic=deterministic)
        ev = {"joined": False, "status": out.status, "teams": len(hood), "cost": None}
        if out.team_of_unit is not None:
            if out.objective < before - 1e-9:
                team[free] = hood[out.team_of_unit]
                ev["joined"] = True
            else:
                ev["cost"] = float(out.objective - before)
        return ev

    def village_step(t: int, k: int) -> dict | None:
        """Team t of whole villages given each of its ``sets`` nearest connected sets of villages
        inside its band in turn (the teams holding them and the teams around it re-solved, each
        keeping the connectivity of the search's steps and held by the band): kept when the whole
        plan's objective falls. The evidence of the cheapest (or the joining) try, or None."""
        nonlocal team
        found = _touching_sets(data, team, t, sets)
        if not found:
            return None
        before = _whole_objective(data, team)
        held = _model.band_hold(ua, team, data.rules.balance.tolerance) if hold_band else None
        best = None
        for i, groups in enumerate(found):
            limit = step_time if deterministic else min(step_time, deadline - time.perf_counter() - 0.3)
            if limit <= 0.3:
                break
            hood, free, sub_ua, sub_cand, start = _swap_step(data, team, int(t), groups, rng, wide_teams)
            sub = _model.ModelData(sub_ua, data.rules, sub_cand, connect=_depth_labels(sub_ua, start, sub_cand),
                                   reference=start,
                                   load_bounds=None if held is None else {j: held[int(x)] for j, x in enumerate(hood)})
            out = _model.solve(sub, time_limit=limit, workers=1 if deterministic else workers,
                               seed=seed + 1000 * k + i, progress=None, phase="mend", deterministic=deterministic)
            ev = {"joined": False, "status": out.status, "teams": len(hood), "cost": None}
            if out.team_of_unit is not None:
                trial = team.copy()
                trial[free] = hood[out.team_of_unit]
                after = _whole_objective(data, trial)
                if after < before - 1e-9:
                    team = trial
                    ev["joined"] = True
                    return ev
                ev["cost"] = float(after - before)
            if best is None or (ev["cost"] is not None and (best["cost"] is None or ev["cost"] < best["cost"])):
                best = ev
        return best

    set_joined = 0
    order = sorted((m, t) for t in range(ua.n_teams) if (m := minor(t)) > 0)
    for k, (_, t) in enumerate(order):
        if not deterministic and deadline - time.perf_counter() < 0.6:
            break
        if minor(t) == 0:  # joined by an earlier step
            continue
        a, b = team[ua.edges[:, 0]], team[ua.edges[:, 1]]
        shared: dict[int, int] = {}
        for x in np.concatenate([b[(a == t) & (b != t)], a[(b == t) & (a != t)]]).tolist():
            shared[x] = shared.get(x, 0) + 1
        around = sorted(shared, key=lambda x: (-shared[x], x))[: max_teams - 1]
        hood = np.sort(np.array([t] + around, int))
        ev = step(t, hood, 1.0, 2 * k)
        if ev is not None and not ev["joined"] and wide_teams > len(hood):
            wide = _neighbour_teams(ua.edges, team, t, rng, wide_teams)
            if len(wide) > len(hood):
                got = step(t, wide, wide_factor, 2 * k + 1)
                if got is not None:
                    wide_joined += got["joined"]
                    # (not joined: the reasons quote the cheaper join found)
                    if got["joined"] or ev["cost"] is None or (got["cost"] is not None and got["cost"] < ev["cost"]):
                        ev = got
        if ev is not None and not ev["joined"] and ua.team_granularity[t] != ua.level:
            got = village_step(t, 2 * k + 1)
            if got is not None:
                set_joined += got["joined"]
                if got["joined"] or ev["cost"] is None or (got["cost"] is not None and got["cost"] < ev["cost"]):
                    ev = got
        if ev is not None:
            evidence[int(t)] = ev
    joined = sum(ev["joined"] for ev in evidence.values())
    return team, {"mend_tried": len(evidence), "mend_joined": joined, "mend_wide_joined": wide_joined,
                  "mend_set_joined": set_joined}, evidence


def rescue_band(data: _model.ModelData, team: np.ndarray, *, deadline: float, workers: int, seed: int,
                step_time: float = 1.5, max_teams: int = 14, boost: float = 100.0, piece_boost: float = 100.0,
                aim: float = 1.0, above_until: float | None = None, trade_below: bool = True,
                deterministic: bool = False, steps: int | None = None) -> tuple[np.ndarray, dict, dict]:
    """Bring the teams still outside the balance band back into it where the search left them out
    (mostly teams that take whole villages: another choice of villages means a chain of hand-overs
    that no ordinary step sees, as its distance costs more there than the minutes outside).
    One step per such team, furthest out first, over it and the teams around it (``max_teams``,
    two rings), in which a minute outside the band weighs ``boost`` and an extra piece
    ``piece_boost`` times the rules' weights (so the two keep the rules' ratio by default, and
    compactness and cut edges come after both) and the band is ``aim`` × the tolerance: for a team
    that takes whole villages, first with each of its two nearest connected sets of villages inside
    its band (:func:`_touching_sets`), then each of its two cheapest other sets (:func:`_village_sets`,
    which may lie apart) imposed; then with the search's hard contiguity; then with contiguity soft
    (twice the time). A step is kept when fewer minutes lie outside the rules' band,
    summed over all teams, and either those minutes and the territories' real extra pieces, at the
    rules' weights, fall together (a piece so added is held by the band; the plan's reasons say so)
    or the plan's whole objective falls (its compactness and cut edges too). Every step
    holds the band as a ratchet for all its teams (:func:`planner.assign.model.band_hold`): no
    team is pushed out of the band, or further out, to bring another in (fewer minutes outside in
    all could still raise max/mean workload). Teams above the band first (they set max/mean).

    ``trade_below=False``: a team below the band gets no step that may cut a territory (neither the
    soft one nor village sets imposed without the search's contiguity): only a team above the band
    (it sets max/mean workload) may trade pieces for it.

    Until ``deadline``; a team above the band (it sets max/mean workload) until ``above_until``
    when that is later (``deterministic``: ``steps`` steps of ``step_time`` deterministic seconds).
    Returns the plan, a summary (``band_rescue_steps``, ``band_rescue_kept``) and, per team index
    whose steps kept nothing, what they found: ``minutes`` outside the band then, ``steps`` solved,
    ``inside`` (the fewest extra pieces of a plan found with the team inside the band, or None),
    ``boost``."""
    ua = data.ua
    rules = data.rules
    tol = rules.balance.tolerance
    sub_rules = dataclasses.replace(
        rules, balance=dataclasses.replace(rules.balance, weight=rules.balance.weight * boost, tolerance=tol * aim),
        contiguity=dataclasses.replace(rules.contiguity, detached_weight=rules.contiguity.detached_weight * piece_boost))
    target = np.maximum(ua.target_load(), 1.0)
    lo, hi = np.ceil(target * (1 - tol)), np.floor(target * (1 + tol))
    # the model's weights: per minute outside the band, per extra piece
    w_b, w_i = rules.balance.weight * OBJ_SCALE / 60.0, rules.contiguity.detached_weight * OBJ_SCALE

    def outside(plan):  # minutes outside the rules' band, per team
        load = np.bincount(plan, weights=np.trunc(ua.workload), minlength=ua.n_teams)
        return np.maximum(0, load - hi) + np.maximum(0, lo - load)

    rng = np.random.default_rng(seed)
    team = team.copy()
    failed = np.zeros(ua.n_teams, bool)
    evidence: dict[int, dict] = {}
    n = kept = 0

    def pays(trial, gain, added):  # see above: fewer minutes outside, worth the pieces or a cheaper plan
        return bool(gain > 0 and (w_b * gain > w_i * added or _whole_objective(data, trial) < now))

    while True:
        out = outside(team)
        out[failed] = 0
        if not out.any() or (steps is not None and n >= steps):
            break
        # above the band first (those set max/mean workload), furthest out first
        above = np.bincount(team, weights=np.trunc(ua.workload), minlength=ua.n_teams) > hi
        t = int(np.argmax(out / target + 10.0 * (above & (out > 0))))
        until = max(deadline, above_until) if above_until is not None and above[t] else deadline
        hood = _neighbour_teams(ua.edges, team, t, rng, max_teams)
        free, sub_ua, sub_cand, cur, tpos = _cut_out(data, team, hood)
        connect = _depth_labels(sub_ua, cur, sub_cand)
        tries = [(hood, free, sub_ua, sub_cand, cur, connect, 1.0)]
        soft = trade_below or above[t]  # (may this team's steps cut territories?)
        if ua.team_granularity[t] != ua.level:  # whole villages: other sets of villages for it, first
            # its nearest connected sets first (on a joined county's plan, city team TM009 came inside the
            # band in 4 runs of 4 with them and in none of 4 with the cheapest sets only: those are apart,
            # and the plans found with them cut 2-3 more territories than the rules' weights allow)
            sets = _touching_sets(data, team, t, 2)
            sets += [v for v in _village_sets(data, team, t, lo[t], hi[t])
                     if not any(set(v.tolist()) == set(w.tolist()) for w in sets)]
            swaps = [_swap_step(data, team, t, villages, rng, max_teams) for villages in sets]
            tries[:0] = [(h, f, su, sc, st, None if soft else _depth_labels(su, st, sc), 2.0) for h, f, su, sc, st in swaps]
        if soft:
            tries.append((hood, free, sub_ua, sub_cand, cur, None, 2.0))
        done = False
        ev = {"minutes": int(out[t]), "inside": None, "steps": 0, "boost": boost}  # inside: pieces it adds
        now = _whole_objective(data, team)
        held = _model.band_hold(ua, team, tol)  # (the step's teams hold all their units: loads as in the plan)
        for hood, free, sub_ua, sub_cand, cur, conn, factor in tries:
            limit = factor * step_time if deterministic else min(factor * step_time, until - time.perf_counter() - 0.3)
            if limit <= 0.3:
                break
            n += 1
            sub = _model.ModelData(sub_ua, sub_rules, sub_cand, connect=conn, reference=cur,
                                   load_bounds={i: held[int(x)] for i, x in enumerate(hood)})
            res = _model.solve(sub, time_limit=limit, workers=1 if deterministic else workers, seed=seed + n,
                               hint_plan=cur if all(c in sc for c, sc in zip(cur, sub_cand)) else None,
                               progress=None, phase="band", deterministic=deterministic)
            if res.team_of_unit is None:
                continue
            trial = team.copy()
            trial[free] = hood[res.team_of_unit]
            # kept when fewer minutes lie outside the band and the rules' own weights of those
            # minutes and of the territories' real pieces (not the step's depth labels) fall
            gain = outside(team).sum() - outside(trial).sum()
            added = _pieces(ua, trial, hood) - _pieces(ua, team, hood)
            ev["steps"] += 1
            if outside(trial)[t] == 0 and (ev["inside"] is None or added < ev["inside"]):
                ev["inside"] = int(added)
            if pays(trial, gain, added):
                team = trial
                kept += 1
                done = True
                break
        if not done:
            failed[t] = True
            evidence[t] = ev
        if not deterministic and deadline - time.perf_counter() < 0.6 and not (above & (out > 0) & ~failed).any():
            break
    return team, {"band_rescue_steps": n, "band_rescue_kept": kept}, evidence


def _village_sets(data: _model.ModelData, team: np.ndarray, t: int, lo: float, hi: float,
                  *, nearest: int = 24, keep: int = 2) -> list[np.ndarray]:
    """For a team that takes whole villages (or towns), the ``keep`` cheapest other sets of them
    (within its quota, of the ``nearest`` groups it may take, by mean distance to its base) whose
    workload lies inside its band, nearest its share first among equally cheap ones: a chain of
    hand-overs no single step of the search proposes. Each set as the indices of its groups."""
    from itertools import combinations

    ua = data.ua
    group = ua.group_of(ua.team_granularity[t])
    ok = _candidate_of(data.cand, t)
    inside = group >= 0  # (-1: in no village)
    g_of, n_g = group[inside], int(group.max()) + 1 if inside.any() else 0
    size = np.bincount(g_of, minlength=n_g)
    whole = (np.bincount(g_of, weights=ok[inside], minlength=n_g) == size) & (size > 0)
    gids = np.flatnonzero(whole)
    if not len(gids):
        return []
    cost = np.bincount(g_of, weights=np.round(ua.dist_m[inside, t]), minlength=n_g)[gids]
    mean = np.bincount(g_of, weights=ua.dist_m[inside, t], minlength=n_g)[gids] / size[gids]
    load = np.bincount(g_of, weights=np.trunc(ua.workload[inside]), minlength=n_g)[gids]
    order = np.argsort(mean, kind="stable")[:nearest]
    q = data.rules.quotas.for_level(ua.team_level[t])
    low = max(1, q.min_villages or 1) if ua.team_granularity[t] == "village" else 1
    high = min(3, q.max_villages or 3) if ua.team_granularity[t] == "village" else 3
    now = set(np.unique(group[team == t]).tolist())
    share = (lo + hi) / 2
    found = []
    for k in range(low, high + 1):
        for combo in combinations(order.tolist(), k):
            w = load[list(combo)].sum()
            if lo <= w <= hi and set(gids[list(combo)].tolist()) != now:
                found.append((cost[list(combo)].sum(), abs(w - share), gids[list(combo)]))
    found.sort(key=lambda f: (f[0], f[1]))
    return [f[2] for f in found[:keep]]


def _touching_sets(data: _model.ModelData, team: np.ndarray, t: int, k: int) -> list[np.ndarray]:
    """For a team that takes whole villages (or towns): its ``k`` nearest connected sets of them
    inside its band that it may take (:func:`planner.assign.why.touching_group_sets`), other than
    the set it holds, each as the indices of its groups."""
    found, _ = touching_group_sets(data.ua, int(t), data.rules, may_take=_candidate_of(data.cand, t))
    group = data.ua.group_of(data.ua.team_granularity[t])
    now = set(np.unique(group[team == t]).tolist())
    return [g for g, _m in found if set(g.tolist()) != now][:k]


def _swap_step(data: _model.ModelData, team: np.ndarray, t: int, groups: np.ndarray, rng, max_teams: int):
    """The sub-problem in which team ``t`` takes exactly the groups (villages or towns) ``groups``:
    ``t``, the teams holding them and the teams around ``t`` (up to ``max_teams``, more when the
    holders need it), each unit of those groups only to ``t`` and no other unit to it."""
    ua = data.ua
    group = ua.group_of(ua.team_granularity[t])
    take = np.isin(group, groups)
    hood = np.union1d(_neighbour_teams(ua.edges, team, t, rng, max_teams), np.unique(team[take]))
    free, sub_ua, sub_cand, cur, tpos = _cut_out(data, team, hood)
    st = tpos[int(t)]
    sub_cand = [np.array([st]) if take[u] else c[c != st] for u, c in zip(free, sub_cand)]
    # the step's start (its hint, and the plan its depth labels follow, so that t's new villages are
    # not counted as pieces cut off from its old root): t on its new villages, its old units to their
    # nearest other candidate team
    start = cur.copy()
    for i, u in enumerate(free):
        if take[u]:
            start[i] = st
        elif cur[i] == st and len(sub_cand[i]):
            start[i] = int(sub_cand[i][np.argmin(ua.dist_m[u, hood[sub_cand[i]]])])
    return hood, free, sub_ua, sub_cand, start


def _importer(data, team: np.ndarray, t: int, part: np.ndarray, hood: np.ndarray) -> tuple | None:
    """For team ``t`` above the band: when the teams of its neighbourhood in its part of the map
    have no room (each at or above its share), of the four teams of one other part nearest this
    part that work at unit level and may work here, the one with the most room, with the unit of
    the part nearest its base (its new root; the team may shed load at home in the same step).
    Load can then leave the part, which no step inside it can do. None when there is room or no
    such team exists."""
    ua = data.ua
    tol = data.rules.balance.tolerance
    load = np.bincount(team, weights=ua.workload, minlength=ua.n_teams)
    ratio = load / np.maximum(ua.target_load(), 1.0)
    if ratio[t] <= 1 + tol:
        return None
    mine = team == t
    p = int(np.bincount(part[mine], weights=ua.workload[mine]).argmax())
    local = [int(x) for x in hood if x != t and (part[team == x] == p).any()]
    if local and min(ratio[local]) < 1.0:
        return None  # a team here has room: ordinary steps can pass load to it
    in_p = np.flatnonzero(part == p)
    free_here = in_p[np.isin(team[in_p], hood)]
    near = []  # (distance from its base to the part, team, root) of teams working at unit level elsewhere
    for s in range(ua.n_teams):
        home = np.unique(part[team == s])
        if s in hood or ua.team_granularity[s] != ua.level or len(home) != 1 or home[0] == p:
            continue  # (a team works in two parts of the map at most)
        ok = free_here[ua.eligible[free_here, s]]
        if len(ok):
            r = int(ok[np.argmin(ua.dist_m[ok, s])])
            near.append((float(ua.dist_m[r, s]), s, r))
    # of the few nearest (a team sent far from its base would be no plan), the one with most room
    near = sorted(near)[:4]
    if not near:
        return None
    _, s, r = min(near, key=lambda n: (ratio[n[1]], n[0]))
    return (s, r, p)


def _depth_labels(ua, team: np.ndarray, cand: list[np.ndarray],
                  extra_root: dict[int, int] | None = None) -> dict[int, dict[int, int]]:
    """Per team of a sub-problem: depth labels for the model's hard contiguity. Roots (0) are one
    unit per connected piece of its territory (the unit nearest the team's base); the territory's
    units are labelled breadth first inside the territory, then the other candidate units of the
    team breadth first from there. The current plan meets the constraint, and no step can add a
    piece to any territory, except at an ``extra_root`` (team → unit): one more root, where the
    team may open a piece."""
    import heapq

    from planner.assign.seeding import components

    e = ua.edges[team[ua.edges[:, 0]] == team[ua.edges[:, 1]]]
    lab = components(e, ua.n_units)
    nbrs: list[list[int]] = [[] for _ in range(ua.n_units)]
    for i, j in ua.edges.tolist():
        nbrs[i].append(j)
        nbrs[j].append(i)
    out: dict[int, dict[int, int]] = {}
    for t in range(ua.n_teams):
        mine = np.flatnonzero(team == t)
        ok = _candidate_of(cand, t)
        d: dict[int, int] = {}
        heap = []
        for piece in np.unique(lab[mine]):
            us = mine[lab[mine] == piece]
            r = int(us[np.argmin(ua.dist_m[us, t])])
            heap.append((0, 0, r))
        if extra_root and t in extra_root:
            heap.append((0, 0, int(extra_root[t])))
        heapq.heapify(heap)
        # inside the territory first (phase 0), then outside it (phase 1)
        while heap:
            phase, du, u = heapq.heappop(heap)
            if u in d:
                continue
            d[u] = du
            for v in nbrs[u]:
                if v in d or not ok[v]:
                    continue
                heapq.heappush(heap, (0 if team[v] == t and phase == 0 else 1, du + 1, v))
        out[t] = d
    return out


def _outside(data: _model.ModelData, team: np.ndarray, t: int) -> bool:
    """Whether team t's workload is outside the (step's) balance band."""
    ua = data.ua
    load = float(ua.workload[team == t].sum())
    share = max(float(ua.target_load()[t]), 1.0)
    return abs(load / share - 1) > data.rules.balance.tolerance


def _pick_team(data: _model.ModelData, team: np.ndarray, rng, failed: np.ndarray, over_first: bool = False) -> int:
    """The neighbourhood's centre: one of the three teams furthest outside the balance band
    (``over_first``: above it first, they set max/mean workload) that has not failed twice since
    its neighbourhood last changed (a step there can do the most); else any team."""
    ua = data.ua
    ratio = np.bincount(team, weights=ua.workload, minlength=ua.n_teams) / np.maximum(ua.target_load(), 1.0)
    tol = data.rules.balance.tolerance
    over, under = ratio - 1 - tol, 1 - tol - ratio
    dev = np.where(over > 0, 1 + over, np.maximum(under, 0) - (under <= 0)) if over_first else np.abs(ratio - 1) - tol
    dev[np.bincount(team, minlength=ua.n_teams) == 0] = -1
    dev[failed >= 2] = -1
    worst = np.argsort(-dev, kind="stable")[:3]
    worst = worst[dev[worst] > 0]
    if len(worst) and rng.random() < 0.8:
        return int(rng.choice(worst))
    return int(rng.choice(np.unique(team)))


def _worst(data: _model.ModelData, team: np.ndarray, teams: np.ndarray) -> float:
    """How far the furthest of the given teams is outside the balance band (0 when none is)."""
    ua = data.ua
    ratio = np.bincount(team, weights=ua.workload, minlength=ua.n_teams)[teams] / np.maximum(
        ua.target_load()[teams], 1.0)
    return round(max(0.0, float(np.abs(ratio - 1).max()) - data.rules.balance.tolerance), 4)


def _pieces(ua, team: np.ndarray, teams: np.ndarray) -> int:
    """Connected pieces of the given teams' territories, added up."""
    from planner.assign.seeding import components

    mine = np.isin(team, teams)
    e = ua.edges[mine[ua.edges[:, 0]] & (team[ua.edges[:, 0]] == team[ua.edges[:, 1]])]
    lab = components(e, ua.n_units)
    return len(np.unique(lab[mine]))


def _neighbour_teams(edges: np.ndarray, team: np.ndarray, t: int, rng, max_teams: int) -> np.ndarray:
    """Team t and the teams around it, breadth first over the teams' touching graph (each ring in
    random order) up to ``max_teams``: the teams touching t, then the teams touching those. A team
    in pieces in several parts of the map links those parts, so load can pass from one part to
    another through it."""
    a, b = team[edges[:, 0]], team[edges[:, 1]]
    cut = a != b
    pairs = np.unique(np.sort(np.column_stack([a[cut], b[cut]]), axis=1), axis=0)
    touch: dict[int, list[int]] = {}
    for x, y in pairs.tolist():
        touch.setdefault(x, []).append(y)
        touch.setdefault(y, []).append(x)
    hood, ring = [t], [t]
    while ring and len(hood) < max_teams:
        nxt = sorted({y for x in ring for y in touch.get(x, ()) if y not in hood})
        nxt = list(rng.permutation(nxt)) if nxt else []
        take = nxt[: max_teams - len(hood)]
        hood += [int(y) for y in take]
        ring = take
    return np.sort(np.array(hood, dtype=int))
