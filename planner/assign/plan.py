"""``assign(campaign, rules, ...) -> Assignment``: the planner's entry point.

Steps: campaign → unit arrays → pre-checks → candidates → constructive warm
start → CP-SAT (then large-neighbourhood search when time remains) → frames
(cadres, must-visits) → independent check → report.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping

import numpy as np
import pandas as pd

from geodata.errors import ZoufangError
from planner.assign import model as _model
from planner.assign.check import check_plan, contiguity
from planner.assign.construct import candidates, construct, grow
from planner.assign.regions import grow_balanced
from planner.assign.repair import polish, repair
from planner.assign.localsearch import local_search, score
from planner.assign.explain import InfeasibleError, describe_literal, precheck
from planner.assign.frames import assignment_frame, responsible_teams, teams_summary
from planner.assign.mustvisit import plan_must_visits
from planner.assign.result import Assignment
from planner.assign.review import with_reasons
from planner.assign.rules import Rules
from planner.assign.units import OBJ_SCALE, UnitArrays, build_units, centred_on


class NoPlanError(ZoufangError, RuntimeError):
    """The solver found no plan within the time limit (the rules may still be feasible)."""


def assign(campaign, rules: Rules, *, time_limit: float = 60.0, workers: int = 2, seed: int = 0,
           previous: pd.DataFrame | None = None, progress=None, candidates_k: int = 10,
           lns: bool = True, deterministic: bool = False, warm_start: str = "grow",
           main_share: float = 0.4, lns_step: float = 1.5, mend_share: float = 0.15, band_share: float = 0.08,
           fixed: Mapping[str, str] | None = None) -> Assignment:
    """Assign every unit (and so every household and enterprise) to exactly one team.

    ``previous``: the ``assignment`` frame of an earlier plan (only its grid
    rows are used); the plan then moves as few households as the rules allow.
    ``progress``: called with a dict (``phase``, ``elapsed``, ``objective``,
    ``bound``) from the solver thread. ``candidates_k``: how many nearest
    teams each unit may go to (all teams when ≥ the number of teams).
    ``deterministic``: measure time limits on CP-SAT's deterministic clock
    (same seed → same plan whatever the machine load; wall time may differ).
    ``fixed``: grid_id → team_id; each such grid's unit goes to that team, and a
    team named here takes nothing else (a province's city teams, given their
    villages first by the city-level problem: :mod:`planner.province`).
    Raises :class:`InfeasibleError` (with the conflicting rules and numbers)
    or :class:`NoPlanError`; never returns a plan that fails :func:`check_plan`.
    """
    t0 = time.perf_counter()
    timings: dict[str, float] = {}

    def lap(name: str):
        timings[name] = round(time.perf_counter() - t0 - sum(timings.values()), 3)

    ua = build_units(campaign, rules)
    # teams without cadres cannot be responsible for anything
    no_cadre = ua.team_cadres == 0
    if no_cadre.any():
        ua.eligible[:, no_cadre] = False
    if fixed:
        _fix_units(ua, fixed)
    conflicts = precheck(campaign, ua, rules)
    if conflicts:
        raise InfeasibleError(conflicts)
    prev = _previous_units(ua, previous) if previous is not None else None
    lap("units")
    _emit(progress, "construct", t0)
    cand = candidates(ua, k=candidates_k, extra=[prev] if prev is not None else [])
    if prev is not None:  # the old plan itself (completed greedily) is the warm start
        warm = construct(ua, rules, cand, previous=prev)
        cand = candidates(ua, k=candidates_k, extra=[warm, prev])
    t_warm = None
    mend_evidence: dict = {}
    band_evidence: dict = {}
    if prev is None:  # constructions polished by local search or the connectivity-keeping repair; the best starts the solver
        starts = []
        ls_budget = (0.1 if ua.n_units > 1000 else 0.05) * time_limit
        if deterministic:  # stop on passes only, never on the clock
            ls_budget = float("inf")
        allowed_all = [np.flatnonzero(ua.eligible[u]) for u in range(ua.n_units)]
        for make in (_grow_repaired, grow, construct):
            if starts and (starts[0][2][:2] == (0, 0) or ua.n_units > 1000):
                # the contiguous start bends no team, or the instance is large: there the
                # solver cannot mend a start whose territories are in pieces
                break
            w = make(ua, rules, cand)
            hard_ok = _meets_hard_rules(ua, rules, allowed_all if make is _grow_repaired else cand, w)
            if t_warm is None and hard_ok:  # a first plan, before polishing
                t_warm = time.perf_counter() - t0
                _emit(progress, "construct", t0, score(ua, rules, w))
            if (w >= 0).all():
                if make is not _grow_repaired:
                    w = local_search(ua, rules, cand, w, time_budget=ls_budget)
                else:
                    w = repair(ua, rules, w, time_budget=ls_budget)
                    if ua.n_units > 1000:  # then a descent on the model's own terms
                        w = polish(ua, rules, w, time_budget=ls_budget)
                # the solver is hinted with the start of the best objective (it balances small
                # instances best from there); the plan's pieces are looked after at the end
                starts.append((score(ua, rules, w), len(starts), _quality(ua, rules, w), w))
        if not starts:
            starts = [(0.0, 0, (), construct(ua, rules, cand))]
        warm = min(starts, key=lambda s: s[:2])[3]
        cand = candidates(ua, k=candidates_k, extra=[warm])

    warm_ok = _meets_hard_rules(ua, rules, cand, warm)
    if warm_ok:
        _emit(progress, "warm start", t0, score(ua, rules, warm))
        t_warm = t_warm if t_warm is not None else time.perf_counter() - t0
    lap("warm_start")

    data = _model.ModelData(ua, rules, cand, previous=prev)
    # keep time for the cadre split, must-visits and the checker (about 1 s per 40,000 households)
    # (measured: 5.8 s for 300,000 households; the estimate keeps half as much again)
    post = min(0.25 * time_limit, 1.0 + len(campaign.households) / 40_000)
    deadline = t0 + time_limit - post
    # at scale the whole model rarely beats the start in its share: most time goes to LNS
    share = min(main_share, 0.1) if ua.n_units > 1000 else main_share

    # a deterministic run never asks the wall clock how much time is left (same seed → same plan under any load)
    def left(used: float = 0.0) -> float:
        return time_limit - post - used if deterministic else deadline - time.perf_counter()

    main_limit = max(1.0, left()) * (share if lns else 1.0)
    if ua.n_units > 1000 and warm_ok and lns and prev is None:
        # at scale the whole model finds nothing better than the start in its share (measured on the
        # county benchmark: no solution in 10% of 120 s); the start meets every hard rule, so the
        # model is feasible and LNS gets all the time
        main_limit = 0.0
        out = _model.SolveOutcome("NOT_RUN", None, None, None, 0.0, None, {})
    else:
        out = _model.solve(data, time_limit=main_limit, workers=workers, seed=seed, hint_plan=warm,
                           progress=progress, phase="solve", deterministic=deterministic)
    if out.status == "INFEASIBLE" and candidates_k < ua.n_teams:
        # the candidate restriction may be to blame: repair with every allowed team
        cand = candidates(ua, k=ua.n_teams)
        data = _model.ModelData(ua, rules, cand, previous=prev)
        out = _model.solve(data, time_limit=max(1.0, left(main_limit)), workers=workers,
                           seed=seed, hint_plan=warm, progress=progress, phase="repair",
                           deterministic=deterministic)
    if out.status == "INFEASIBLE":
        words = [describe_literal(c, ua, rules) for c in out.conflicts] or [
            "the layered linkage, quotas and town restrictions cannot all hold together "
            "(CP-SAT proved it; no single rule literal was named)"]
        raise InfeasibleError(words)
    # the proven lower bound: the LP relaxation of this same model (HiGHS), a few seconds at scale
    from planner.assign.bound import lp_bound

    # (when the search moves the bases halfway, the bound is of the model with the final bases)
    lp = None if lns and _recentre(ua, prev) else lp_bound(data, time_limit=min(30.0, max(1.0, 0.2 * time_limit)))
    team = out.team_of_unit
    status, objective, bound = out.status, out.objective, out.bound
    first = min(x for x in (out.first_solution_time, t_warm) if x is not None) if (
        out.first_solution_time is not None or t_warm is not None) else None
    lns_info = {}
    lp_widened = 0  # candidates widened by the search when the bound was computed
    lp_future = None  # the bound, when HiGHS still solves it beside the search
    if team is None and warm_ok:  # CP-SAT found nothing in its share: go on from the warm start
        team, status, objective = warm.copy(), "FEASIBLE_WARM_START", None
    elif (team is not None and warm_ok and prev is None and status != "OPTIMAL"
          and _quality(ua, rules, warm) < _quality(ua, rules, team)):
        # CP-SAT's plan in its share is worse than its start (balance or pieces): LNS goes on from the start
        team, objective = warm.copy(), None
        lns_info["lns_start"] = "warm start"
    if team is not None and lns and status != "OPTIMAL" and (deterministic or deadline - time.perf_counter() > 1.0):
        from planner.assign.lns import improve

        reserve = 0.05 * time_limit
        # at scale the search runs in two halves: between them each seeded base moves to the
        # geometric median of its team's territory (a location-allocation round with contiguity:
        # the second half reshapes the territories round the new bases)
        halves = [0.5, 0.5] if _recentre(ua, prev) else [1.0]
        lns_t0 = time.perf_counter()
        # at scale the last part of the search tries to join each territory in pieces (see
        # mend_pieces; on small instances the steps that may trade pieces for balance do better
        # with that time: measured on the demo)
        mend_time = mend_share * time_limit if prev is None and ua.n_units > 1000 else 0.0
        # then the teams still outside the balance band get steps of their own (see rescue_band;
        # on the demo, noise: max/mean 1.050-1.062 with or without them, five runs each)
        band_time = band_share * time_limit if prev is None and ua.n_units > 1000 else 0.0
        mend_time += band_time
        # at scale three teams a step: CP-SAT proves most such steps optimal in well under a second, so
        # the search makes 4-5 times the steps of six-team ones (joined county: 385 against 49-80; see
        # the README's performance section); with so many steps, soft retries at half of them traded
        # more pieces for balance (12 territories in pieces against 8 at a tenth, joined county, seed 0)
        hood_teams, soft_share = (3, 0.1) if ua.n_units > 1000 else (6, 0.5)
        # at scale the steps hold the band as a ratchet (see improve): a team inside it stays inside
        hold = ua.n_units > 1000
        # at scale the start's teams outside the band first get the band steps (see rescue_band): measured on a
        # joined county's start, 15 s of them left no team above the band (14 outside → 6), where 15 s of
        # three- or six-team search steps left 2-3 above (14 → 12 / 9); the search then keeps the band by its ratchet.
        # Only a team above the band may trade pieces there (trade_below=False): traced on joined seed 0, the
        # start's band steps cut 16 territories (13 outside → 9) when every team might, which the search then
        # carried to its end (17 in pieces before the mending); with teams below the band held to the search's
        # contiguity, 4 (13 → 6), and 6 in pieces at the end against 8
        start_band = band_share * time_limit if hold and prev is None else 0.0
        # deterministic: the search's share of CP-SAT's deterministic clock (what the wall-clock run
        # would give it: the limit less the solve, the reserve and the steps at the end)
        det_lns = max(1.0, left(main_limit) - reserve - mend_time - start_band) if deterministic else None
        if start_band > 0:
            from planner.assign.lns import rescue_band

            before_band = team
            team, got, _ = rescue_band(
                data, team, deadline=min(deadline - reserve - mend_time, time.perf_counter() + start_band),
                workers=workers, seed=seed + 5, step_time=lns_step, deterministic=deterministic, trade_below=False,
                steps=int(start_band / lns_step) if deterministic else None)
            lns_info.update({"start_" + k: v for k, v in got.items()})
            if (team != before_band).any():
                objective = None
            lns_t0 = time.perf_counter()  # (the search's halves share what is left)
        for i, part_share in enumerate(halves):
            if i:
                ua = centred_on(ua, team)
                data = dataclasses.replace(data, ua=ua)
                # the territories first follow their new bases where single moves pay
                team = polish(ua, rules, team, allowed=_allowed(ua, data.cand), hold_band=hold,
                              time_budget=float("inf") if deterministic else 0.02 * time_limit)
                objective = None
                lns_info["bases_recentred"] = int((~ua.team_base_given).sum())
                # the bases are final now: the bound of this model is computed here, inside the
                # search's time (on a joined county HiGHS takes ~20 s; after the search it overran
                # the time limit); a step widening the candidates later makes it computed again
                # (HiGHS's own time: up to 0.3 of the limit, as the joined county needs ~22 s)
                lp_limit = min(45.0, max(1.0, 0.3 * time_limit))
                lp_widened = lns_info.get("lns_candidates_widened", 0)
                if deterministic:
                    lp = lp_bound(data, time_limit=lp_limit)
                else:
                    # HiGHS in a thread (it lets go of the GIL while it solves): waited for up to
                    # 6 % of the limit (the islands county: 4-5 s), else the search goes on beside it
                    # (a joined county's 18-24 s LP: the search ran at ~2/3 speed instead of not at
                    # all) and its result is taken after the search
                    from concurrent.futures import ThreadPoolExecutor, TimeoutError as _Timeout

                    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lp-bound")
                    # (beside the search it may take until the search's end: a joined county's LP
                    # took 25-27 s there in one session and over 36 s in the next, and stopped
                    # early its duals gave half the bound; until the end of the mending and band steps
                    # too: with them at 23 % of the limit a joined county's LP stopped at 36 s in three
                    # runs of three, and its bound gave gaps of 30-57 % instead of 20-23 %)
                    lp_limit = max(lp_limit, deadline - reserve - time.perf_counter() - 1.0)
                    lp_future = pool.submit(lp_bound, dataclasses.replace(data, cand=[c.copy() for c in data.cand]),
                                            time_limit=lp_limit)
                    pool.shutdown(wait=False)
                    try:
                        lp = lp_future.result(timeout=0.06 * time_limit)
                        lp_future = None
                    except _Timeout:
                        lp = None
            end = deadline - reserve - mend_time if i == len(halves) - 1 else (
                lns_t0 + part_share * (deadline - reserve - mend_time - lns_t0))
            team, objective, got = improve(data, team, objective, deadline=end, workers=workers,
                                           seed=seed + 1000 * i, progress=progress, t0=t0, step_time=lns_step,
                                           max_teams=hood_teams, soft_share=soft_share,
                                           det_budget=None if det_lns is None else part_share * det_lns,
                                           # small instances: CP-SAT balances best when it may cut a
                                           # territory for it; at scale contiguity is hard in each step
                                           # (only a soft retry for a team outside the band may trade)
                                           trade_pieces=ua.n_units <= 1000,
                                           # at scale the steps aim inside the band (max/mean ≤ 1 + tol)
                                           margin=1.0 if ua.n_units <= 1000 else 0.8, hold_band=hold)
            _add_info(lns_info, got)
        if mend_time > 0:
            from planner.assign.lns import mend_pieces, rescue_band

            # the teams still outside the band first: their steps may cut territories (a piece held
            # by the band, when the rules' weights say so); then the mending, which holds the band as
            # a ratchet, joins what it can of those and the search's pieces (mending before the band
            # steps left their pieces: on a joined county's finished plan, 12 s of mending after them
            # joined 3 of 11 territories and lowered the objective by 2.5 %)
            if not deterministic and _quality(ua, rules, team)[3] == 0:
                band_time = 0.0  # every team is inside the band: the mending and search keep that time
            before_band = team
            # (a team above the band, which sets max/mean workload, may use most of the mending's time
            # too: a city team of whole villages, TM009 of the joined county, gets four tries of 3, 3,
            # 1.5 and 3 s, and in 8 % of 120 s it came inside the band in some runs and not in others)
            team, got, band_evidence = rescue_band(
                data, team, deadline=deadline - reserve - (mend_time - band_time), workers=workers, seed=seed + 11,
                step_time=lns_step, deterministic=deterministic,
                above_until=deadline - reserve - max(3.0, 0.3 * (mend_time - band_time)),
                steps=int(band_time / lns_step) if deterministic else None)
            lns_info.update(got)
            if (team != before_band).any():
                objective = None
            before_mend = team
            team, got, mend_evidence = mend_pieces(data, team, deadline=deadline - reserve,
                                                   workers=workers, seed=seed + 7, step_time=lns_step,
                                                   deterministic=deterministic, hold_band=hold)
            lns_info.update(got)
            if (team != before_mend).any():
                objective = None
            if not deterministic and deadline - reserve - time.perf_counter() > 2.0:
                # the mending steps ended early (most are proven in well under a second): the
                # search goes on with the time left (its steps hold the band and add no piece)
                team, objective, got = improve(data, team, objective, deadline=deadline - reserve,
                                               workers=workers, seed=seed + 2000, progress=progress, t0=t0,
                                               max_teams=hood_teams, soft_share=soft_share, step_time=lns_step,
                                               trade_pieces=False, margin=0.8, hold_band=hold)
                _add_info(lns_info, got)
    if lp_future is not None:  # the bound computed beside the search
        lp = lp_future.result()
    if lp is None or lns_info.get("lns_candidates_widened", 0) > lp_widened:
        # (the bases moved, or LNS let teams of other parts of the map take units beyond their
        # candidates: the model whose objective is reported changed, so its LP bound is computed now)
        lp = lp_bound(data, time_limit=min(30.0, max(1.0, 0.2 * time_limit)))
    if team is not None and prev is None:
        # the solver may have traded contiguity or balance away: repair (connectivity-keeping
        # moves) and keep the best of the repaired plan and the warm start
        allowed = _allowed(ua, cand)
        fixed_up = repair(ua, rules, team, allowed=allowed, time_budget=max(1.0, 0.05 * time_limit))
        options = [(_quality(ua, rules, team), 0, team), (_quality(ua, rules, fixed_up), 1, fixed_up)]
        if warm_ok:
            options.append((_quality(ua, rules, warm), 2, warm))
        best = min(options, key=lambda o: o[:2])
        if best[1] != 0:
            team = best[2].copy()
            objective = None
            lns_info["final_repair"] = ["repaired solver plan", "warm start"][best[1] - 1]
        if ua.n_units > 1000:  # a last descent on the model's own terms (single connectivity-keeping moves)
            polished = polish(ua, rules, team, allowed=allowed, hold_band=True,  # (deterministic: up to its passes)
                              time_budget=float("inf") if deterministic else max(1.0, 0.02 * time_limit))
            if (polished != team).any():
                team, objective = polished, None
                lns_info["final_polish"] = True
    if team is not None and (lns_info.get("lns_improvements") or objective is None
                             or rules.contiguity.detached_weight > 0):
        # the exact objective of the final plan: its detached term counts the plan's own extra
        # pieces (the model's depth labels taken from the plan itself, see
        # planner.assign.model._depths; in numpy: what CP-SAT with the plan fixed gives, see
        # tests/test_assign_contiguity.py), where CP-SAT's own labels (one root per team, its unit
        # nearest its base) may charge a territory in one piece for a piece
        final, final_terms = _model.plan_objective(dataclasses.replace(data, reference=team), team)
        if _meets_hard_rules(ua, rules, data.cand, team):
            objective = float(final)
            lns_info["soft_penalties_final"] = final_terms
            # CP-SAT's bound is of its labelled model, which may charge the best plan an extra
            # piece it does not have: only bounds that hold for every plan's true pieces are kept
            bound = None
    lap("solve")
    if team is None:
        raise NoPlanError(f"no plan found within {time_limit:.0f} s (status {out.status}); "
                          f"raise --time-limit or --workers")

    assignment = assignment_frame(campaign, ua, team)
    lap("cadres")
    resp = responsible_teams(campaign, assignment)
    team_xy = {tid: ua.team_base[i] for i, tid in enumerate(ua.team_ids)}
    mv = plan_must_visits(campaign, rules, resp, team_xy)
    lap("must_visits")
    if mv.shortfall:
        raise InfeasibleError([f"{mv.shortfall} must-visit slot(s) cannot be given a qualifying cadre within "
                               f"max_per_cadre and [quotas] max_must_visits_per_cadre"])
    problems = check_plan(campaign, assignment, mv.rows, rules)
    lap("check")
    if problems and status == "FEASIBLE_WARM_START":
        raise NoPlanError(f"no plan found within {time_limit:.0f} s and the warm start breaks a rule: {problems[0]}")
    if problems:  # a bug in the model: never hand out a plan that breaks a hard rule
        raise AssertionError("plan fails the checker:\n" + "\n".join(problems))

    pieces = contiguity(team, ua.edges, ua.n_teams)
    summary = teams_summary(campaign, ua, team, assignment, mv.rows, rules, pieces)
    # (the evidence of a step that tried to join a territory holds only for the plan it saw)
    summary, soft = with_reasons(ua, rules, team, summary, mv.rows, prev,
                                 {t: ev for t, ev in mend_evidence.items() if not ev["joined"]} if not lns_info.get(
                                     "final_repair") else {},
                                 band_evidence if not lns_info.get("final_repair") else {}, cadres=campaign.cadres)
    wall = time.perf_counter() - t0
    # the best of three proven lower bounds on the model's optimum (all of the same
    # candidate-restricted model whose objective is reported): CP-SAT's own, the LP relaxation
    # (every soft goal relaxed, see planner.assign.bound) and the compactness-only bound (each
    # unit at its nearest allowed team, every other soft goal at 0; over every allowed team, so
    # it also bounds the model without the candidate restriction)
    w_c = rules.compactness.weight * OBJ_SCALE / 1000.0
    relax = float(np.round(w_c * np.where(ua.eligible, ua.dist_m, np.inf)).min(axis=1).sum())
    bounds = {"relaxation (compactness only)": relax}
    if bound is not None:
        bounds["cp-sat"] = float(bound)
    if lp.bound is not None:
        bounds["LP relaxation (HiGHS)"] = lp.bound
    bound_source, bound = max(bounds.items(), key=lambda kv: kv[1])
    gap = None
    if objective is not None and bound is not None:
        gap = max(0.0, objective - bound) / max(abs(objective), 1e-9)
    solver_status = status
    if status == "OPTIMAL" and not (gap is not None and gap <= 0.0):
        # CP-SAT proved the optimum of its labelled model only (see above): optimal is claimed
        # when a bound valid for every plan meets the objective
        status = "FEASIBLE"
    info = {
        "status": status, "solver_status": solver_status, "objective": objective, "bound": bound, "bound_source": bound_source, "gap": gap,
        "bounds": bounds, "lp_bound_status": lp.status, "lp_bound_seconds": lp.seconds,
        "lp_bound_terms": {k: round(v, 1) for k, v in lp.terms.items()},
        "bound_covers": ("the LP relaxation covers compactness, balance, cut edges, stability; extra pieces "
                         "only as far as the map's parts force them (a team in k parts: k − 1); a bound of the "
                         "candidate-restricted model whose objective is reported"),
        "wall_time": round(wall, 3),
        "first_solution_time": first, "seed": seed, "workers": workers, "time_limit": time_limit,
        "deterministic": bool(deterministic),
        "candidates_k": candidates_k, "units_level": ua.level, "units": ua.n_units, "teams": ua.n_teams,
        "objective_scale": OBJ_SCALE, "soft_penalties": out.soft, "rules_source": rules.source,
        "rules": rules.to_dict(), "timings": timings, **lns_info,
    }
    return Assignment(assignment, mv.rows, summary, info, soft)


def _quality(ua: UnitArrays, rules: Rules, team: np.ndarray) -> tuple:
    """Plans compared: the furthest any team is outside the balance band (to 1%), then fewest
    teams bent (outside the band or in more pieces than the map forces), fewest avoidable extra
    pieces, fewest teams outside the band, the largest load ratio, and the model's objective
    (approximately)."""
    from planner.assign.seeding import components

    part = components(ua.edges, ua.n_units)
    pieces = contiguity(team, ua.edges, ua.n_teams)
    extra = sum(max(0, pieces[t] - len(np.unique(part[team == t]))) for t in range(ua.n_teams))
    load = np.bincount(team, weights=ua.workload, minlength=ua.n_teams)
    tgt = np.maximum(ua.target_load(), 1.0)
    ratio = load / tgt
    tol = rules.balance.tolerance
    outside = (ratio > 1 + tol + 1e-9) | (ratio < 1 - tol - 1e-9)
    broken = np.array([pieces[t] > len(np.unique(part[team == t])) for t in range(ua.n_teams)])
    worst = round(max(0.0, float(ratio.max()) - 1 - tol, 1 - tol - float(ratio.min())), 2)
    return (worst, int((outside | broken).sum()), extra, int(outside.sum()), round(float(ratio.max()), 3),
            score(ua, rules, team))


def _allowed(ua: UnitArrays, cand) -> np.ndarray:
    """(U, T) bool: each unit's candidate teams."""
    allowed = np.zeros((ua.n_units, ua.n_teams), bool)
    for u in range(ua.n_units):
        allowed[u, cand[u]] = True
    return allowed


def _recentre(ua: UnitArrays, prev) -> bool:
    """Whether the search re-centres seeded bases halfway (at scale, without a previous plan,
    when some team has a seeded base)."""
    return ua.n_units > 1000 and prev is None and bool((~ua.team_base_given).any())


def _add_info(total: dict, got: dict) -> None:
    """Counts of the search's runs added up (seconds per kind of work too)."""
    for k, v in got.items():
        if isinstance(v, dict):
            sub = total.setdefault(k, {})
            for kk, vv in v.items():
                sub[kk] = round(sub.get(kk, 0) + vv, 1)
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            total[k] = total.get(k, 0) + v
        else:
            total[k] = v


def _grow_repaired(ua: UnitArrays, rules: Rules, cand) -> np.ndarray:
    """Balanced region growing on the adjacency graph (connected pieces by construction)."""
    return grow_balanced(ua, rules)


def _meets_hard_rules(ua: UnitArrays, rules: Rules, cand, team: np.ndarray) -> bool:
    """The model's hard rules on a unit → team plan (candidates, whole groups, village quotas)."""
    if (team < 0).any() or any(team[u] not in cand[u] for u in range(ua.n_units)):
        return False
    for t in range(ua.n_teams):
        mine = team == t
        g = ua.team_granularity[t]
        if g != ua.level and mine.any():
            grp = ua.group_of(g)
            if not np.isin(grp, grp[mine]).sum() == mine.sum():
                return False
        q = rules.quotas.for_level(ua.team_level[t])
        n = len(set(ua.unit_village[mine & (ua.unit_village >= 0)].tolist()))
        if (q.min_villages is not None and n < q.min_villages) or (q.max_villages is not None and n > q.max_villages):
            return False
    return True


def _fix_units(ua: UnitArrays, fixed: Mapping[str, str]) -> None:
    """Restrict ``ua.eligible``: each fixed grid's unit only to its team, each fixed team only to its units."""
    grid_ids = list(fixed)
    unit = ua.grid_unit.reindex([str(g) for g in grid_ids]).to_numpy()
    team = pd.Series(np.arange(ua.n_teams), index=ua.team_ids).reindex([str(fixed[g]) for g in grid_ids]).to_numpy()
    unknown = [f"{g} → {fixed[g]}" for g, u, t in zip(grid_ids, unit, team) if pd.isna(u) or pd.isna(t)]
    if unknown:
        raise ValueError(f"fixed: unknown grid or team: {unknown[:5]}")
    pairs = pd.DataFrame({"u": unit.astype(int), "t": team.astype(int)}).drop_duplicates()
    twice = pairs[pairs["u"].duplicated()]
    if len(twice):
        raise ValueError(f"fixed: {ua.level}s given to two teams: {list(ua.unit_ids[twice['u'].to_numpy()][:5])}")
    u, t = pairs["u"].to_numpy(), pairs["t"].to_numpy()
    allowed = ua.eligible[u, t].copy()  # a fixed pair the rules forbid stays forbidden (and is reported)
    ua.eligible[:, np.unique(t)] = False
    ua.eligible[u, :] = False
    ua.eligible[u, t] = allowed


def _emit(progress, phase, t0, objective=None):
    if progress is not None:
        progress({"phase": phase, "elapsed": time.perf_counter() - t0, "objective": objective, "bound": None})


def _previous_units(ua: UnitArrays, previous: pd.DataFrame) -> np.ndarray:
    """Previous team index per unit (majority of its grids), -1 when none or the team is gone."""
    g = previous[previous["entity_type"] == "grid"]
    tidx = pd.Series(np.arange(ua.n_teams), index=ua.team_ids)
    unit = ua.grid_unit.reindex(g["entity_id"].astype(str)).to_numpy()
    team = tidx.reindex(g["team_id"].astype(str)).to_numpy()
    ok = ~(pd.isna(unit) | pd.isna(team))
    out = np.full(ua.n_units, -1)
    if ok.any():
        df = pd.DataFrame({"u": unit[ok].astype(int), "t": team[ok].astype(int)})
        top = df.groupby(["u", "t"]).size().reset_index(name="n").sort_values("n", ascending=False, kind="stable")
        top = top.drop_duplicates("u")
        out[top["u"].to_numpy()] = top["t"].to_numpy()
    return out
