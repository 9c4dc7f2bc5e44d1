"""The CP-SAT territory model: every unit to exactly one team.

Fixed order: data → variables → constraints → objective → solve → extract.

Variables, named by index:
  x[u,t]      unit u goes to team t (only for t in the unit's candidates)
  take[v,t]   team t holds some unit of village v (quota teams only)
  over[t], under[t]   minutes of team t's workload above / below its balance band
  same[e,t]   both ends of adjacency edge e are in team t (contiguity)
  brk[u]      unit u starts an extra piece of its territory: it is not its team's root and no
              touching unit of its team has a smaller depth label (graph distance from the team's
              root, or from the nearest-to-base unit of each part of the map the root cannot
              reach); each extra piece of a territory costs ≥ 1, a piece without holes in its
              labels exactly 1
Hard contiguity (LNS steps, ``ModelData.connect``): a unit of a listed team needs a touching
unit of the team with a smaller depth label (labels from the current plan, see
:func:`planner.assign.lns._depth_labels`), so no territory gains a piece.
Business rules that may conflict are guarded by enforcement literals
(``rule:<name>``) so an infeasible model can be explained with
``sufficient_assumptions_for_infeasibility``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from ortools.sat.python import cp_model

from planner.assign.rules import Rules
from planner.assign.units import OBJ_SCALE, UnitArrays

STATUS_NAMES = {
    cp_model.OPTIMAL: "OPTIMAL", cp_model.FEASIBLE: "FEASIBLE", cp_model.INFEASIBLE: "INFEASIBLE",
    cp_model.MODEL_INVALID: "MODEL_INVALID", cp_model.UNKNOWN: "UNKNOWN",
}


@dataclass(frozen=True)
class ModelData:
    """Everything the model needs, as arrays and integers."""

    ua: UnitArrays
    rules: Rules
    cand: list[np.ndarray]  # per unit: candidate team indices
    previous: np.ndarray | None = None  # (U,) previous team index or -1
    fixed: np.ndarray | None = None  # (U,) team index to fix, -1 = free (LNS)
    #: team index → {unit: depth label}, roots at 0: each unit of the team needs a touching unit
    #: of it with a smaller label (hard), so the team has at most as many pieces as roots (LNS)
    connect: dict | None = None
    #: (U,) a plan (team index per unit) whose territories set the depth labels of the detached
    #: term: each of its pieces is one label root, so the term counts exactly its extra pieces
    #: (and at least the extra pieces of any plan); without it, one root per team (its candidate
    #: unit nearest its base), and a contiguous territory may still pay for a unit
    reference: np.ndarray | None = None
    #: team index → (lo, hi): hard bounds on the team's workload in the model's whole minutes (LNS
    #: steps at scale: a team inside the balance band stays inside it, one outside comes no further out)
    load_bounds: dict | None = None


@dataclass
class _Vars:
    model: cp_model.CpModel
    x: dict
    take: dict
    over: dict
    under: dict
    same: dict
    brk: dict
    depth: dict  # team → {unit: graph distance from the team's root within its candidates}
    literals: dict  # rule name → enforcement literal
    terms: dict = field(default_factory=dict)  # soft goal name → linear expression (objective units)


@dataclass(frozen=True)
class SolveOutcome:
    status: str
    team_of_unit: np.ndarray | None
    objective: float | None
    bound: float | None
    wall_time: float
    first_solution_time: float | None
    soft: dict  # soft goal → objective units
    conflicts: tuple[str, ...] = ()
    det_time: float = 0.0  # CP-SAT's deterministic seconds spent (the same on every run of a deterministic solve)


def build(data: ModelData, *, assume: bool = False) -> _Vars:
    """Build the model. ``assume=True`` turns rule literals into assumptions (to explain infeasibility)."""
    ua, rules = data.ua, data.rules
    U, T = ua.n_units, ua.n_teams
    m = cp_model.CpModel()

    # ---- variables
    x = {(u, int(t)): m.new_bool_var(f"x[{u},{t}]") for u in range(U) for t in data.cand[u]}
    teams_of = data.cand
    units_of: list[list[int]] = [[] for _ in range(T)]
    for (u, t) in x:
        units_of[t].append(u)
    literals: dict[str, cp_model.IntVar] = {}

    def lit(name: str):
        if name not in literals:
            literals[name] = m.new_bool_var(f"rule:{name}")
        return literals[name]

    # ---- constraints: exactly one team per unit (the definition of a plan, never relaxed)
    for u in range(U):
        m.add_exactly_one(x[u, int(t)] for t in teams_of[u])
    if data.fixed is not None:
        for u in np.flatnonzero(data.fixed >= 0):
            m.add(x[int(u), int(data.fixed[u])] == 1)

    # layered linkage: a coarse team takes whole villages / towns
    for t in range(T):
        g = ua.team_granularity[t]
        if g == ua.level:
            continue
        group = ua.group_of(g)
        rep: dict[int, int] = {}
        for u in units_of[t]:
            r = rep.setdefault(int(group[u]), u)
            if r != u:
                m.add(x[u, t] == x[r, t]).only_enforce_if(lit(f"units.{ua.team_level[t]}={g}"))

    # quotas: villages per team by team level
    take = {}
    for t in range(T):
        q = rules.quotas.for_level(ua.team_level[t])
        if q.min_villages is None and q.max_villages is None:
            continue
        by_village: dict[int, list[int]] = {}
        for u in units_of[t]:
            if ua.unit_village[u] >= 0:
                by_village.setdefault(int(ua.unit_village[u]), []).append(u)
        for v, us in by_village.items():
            tv = m.new_bool_var(f"take[{v},{t}]")
            for u in us:
                m.add_implication(x[u, t], tv)
            m.add(sum(x[u, t] for u in us) >= 1).only_enforce_if(tv)
            take[v, t] = tv
        n = sum(take[v, t] for v in by_village)
        if q.min_villages is not None:
            m.add(n >= q.min_villages).only_enforce_if(lit(f"quotas.{ua.team_level[t]}.min_villages"))
        if q.max_villages is not None:
            m.add(n <= q.max_villages).only_enforce_if(lit(f"quotas.{ua.team_level[t]}.max_villages"))

    # balance band (soft): lo ≤ load + under, load − over ≤ hi
    target = ua.target_load()
    tol = rules.balance.tolerance
    total = int(ua.workload.sum())
    over, under = {}, {}
    for t in range(T):
        load = sum(int(ua.workload[u]) * x[u, t] for u in units_of[t])
        over[t] = m.new_int_var(0, total, f"over[{t}]")
        under[t] = m.new_int_var(0, total, f"under[{t}]")
        m.add(load - over[t] <= int(np.floor(target[t] * (1 + tol))))
        m.add(load + under[t] >= int(np.ceil(target[t] * (1 - tol))))
        if data.load_bounds and t in data.load_bounds:
            lo, hi = data.load_bounds[t]
            m.add_linear_constraint(load, int(lo), int(hi))

    # contiguity (soft): same[e,t] ≤ x[i,t], x[j,t]; iso[u] when no touching unit shares u's team
    same = {}
    nbrs: list[list[int]] = [[] for _ in range(U)]
    for e, (i, j) in enumerate(ua.edges):
        i, j = int(i), int(j)
        nbrs[i].append(j)
        nbrs[j].append(i)
        common = sorted(set(map(int, teams_of[i])) & set(map(int, teams_of[j])))
        for t in common:
            s = m.new_bool_var(f"same[{e},{t}]")
            m.add_implication(s, x[i, t])
            m.add_implication(s, x[j, t])
            same[e, t] = s
        if len(common) > 1:  # implied by exactly-one, but it gives the LP a sound bound
            m.add_at_most_one(same[e, t] for t in common)
    if data.connect:
        _connect(m, data, x, units_of, nbrs)
    brk, depth = {}, {}
    if rules.contiguity.detached_weight > 0:
        for t in range(T):
            depth[t] = _depths(units_of[t], nbrs, ua.dist_m[:, t], x, t,
                               None if data.reference is None else np.flatnonzero(data.reference == t))
        brk = {u: m.new_bool_var(f"brk[{u}]") for u in range(U)}
        for t in range(T):
            d = depth[t]
            for u in units_of[t]:
                if d[u] < 0:  # the team's root
                    continue
                closer = [x[v, t] for v in nbrs[u] if (v, t) in x and d[v] < d[u]]
                m.add(x[u, t] <= sum(closer) + brk[u])


    # ---- objective: named soft goals, all in objective units (OBJ_SCALE × weight × measure)
    terms = {}
    w_c = rules.compactness.weight * OBJ_SCALE / 1000.0  # per metre
    terms["compactness"] = sum(int(round(w_c * ua.dist_m[u, t])) * v for (u, t), v in x.items())
    w_b = rules.balance.weight * OBJ_SCALE / 60.0  # per minute
    terms["balance"] = int(round(w_b)) * sum(over.values()) + int(round(w_b)) * sum(under.values())
    w_e = int(round(rules.contiguity.weight * OBJ_SCALE))
    terms["contiguity"] = w_e * (len(ua.edges) - sum(same.values()))
    w_i = int(round(rules.contiguity.detached_weight * OBJ_SCALE))
    terms["detached"] = w_i * sum(brk.values()) if brk else 0
    if data.previous is not None:
        w_s = rules.stability.weight_per_household * OBJ_SCALE
        moved = []
        for u in range(U):
            p = int(data.previous[u])
            if p >= 0 and (u, p) in x:
                moved.append(int(round(w_s * ua.households[u])) * (1 - x[u, p]))
        terms["stability"] = sum(moved)
    m.minimize(sum(terms.values()))

    for name, lv in literals.items():
        if assume:
            m.add_assumption(lv)
        else:
            m.add(lv == 1)
    return _Vars(m, x, take, over, under, same, brk, depth, literals, terms)


def band_hold(ua: UnitArrays, team: np.ndarray, tolerance: float) -> dict[int, tuple[int, int]]:
    """``ModelData.load_bounds`` that hold each team of ``team`` (a plan of ``ua``'s units) to the
    balance band ``tolerance`` as a ratchet: a team inside the band stays inside it, a team outside
    may only come closer (its bounds widen to its current load). The plan itself meets them."""
    wl = np.trunc(ua.workload).astype(np.int64)
    load = np.bincount(team, weights=wl, minlength=ua.n_teams).astype(np.int64)
    target = ua.target_load()
    lo = np.ceil(target * (1 - tolerance)).astype(np.int64)
    hi = np.floor(target * (1 + tolerance)).astype(np.int64)
    return {t: (int(min(lo[t], load[t])), int(max(hi[t], load[t]))) for t in range(ua.n_teams)}


def plan_objective(data: ModelData, team: np.ndarray) -> tuple[int, dict]:
    """The model's objective of a plan (team index per unit) and its terms, in numpy: what
    :func:`solve` with ``fixed=team`` returns, the detached term labelled by the plan itself
    (``reference`` = the plan: each extra piece of a territory costs exactly once), without a
    solver call. The plan must meet the model's hard rules."""
    from planner.assign.seeding import components

    ua, rules = data.ua, data.rules
    team = np.asarray(team, int)
    U, T = ua.n_units, ua.n_teams
    wl = np.trunc(ua.workload).astype(np.int64)
    load = np.bincount(team, weights=wl, minlength=T).astype(np.int64)
    target, tol = ua.target_load(), rules.balance.tolerance
    out = np.maximum(0, load - np.floor(target * (1 + tol))) + np.maximum(0, np.ceil(target * (1 - tol)) - load)
    terms = {}
    w_c = rules.compactness.weight * OBJ_SCALE / 1000.0
    terms["compactness"] = int(np.round(w_c * ua.dist_m[np.arange(U), team]).sum())
    terms["balance"] = int(round(rules.balance.weight * OBJ_SCALE / 60.0)) * int(out.sum())
    same = team[ua.edges[:, 0]] == team[ua.edges[:, 1]] if len(ua.edges) else np.zeros(0, bool)
    terms["contiguity"] = int(round(rules.contiguity.weight * OBJ_SCALE)) * int((~same).sum())
    if rules.contiguity.detached_weight > 0:
        lab = components(ua.edges[same], U)
        pieces = len(np.unique(team * (int(lab.max()) + 1 if U else 1) + lab))
        terms["detached"] = int(round(rules.contiguity.detached_weight * OBJ_SCALE)) * (pieces - len(np.unique(team)))
    else:
        terms["detached"] = 0
    if data.previous is not None:
        w_s = rules.stability.weight_per_household * OBJ_SCALE
        prev = np.asarray(data.previous)
        ok = np.array([p >= 0 and p in data.cand[u] for u, p in enumerate(prev.tolist())], bool)
        moved = ok & (team != prev)
        terms["stability"] = int(sum(int(round(w_s * h)) for h in ua.households[moved]))
    return sum(terms.values()), terms


def _connect(m: cp_model.CpModel, data: ModelData, x: dict, units_of: list[list[int]], nbrs) -> None:
    """Hard contiguity for the teams of ``data.connect`` (team → {unit: depth label}): a unit of
    team t that is not one of its roots (depth 0) needs a touching unit of t with a smaller
    depth, so every unit of t is linked to a root by a path inside t (t has at most as many
    pieces as roots). Units without a label are closed to t."""
    for t, depth in data.connect.items():
        t = int(t)
        for u in units_of[t]:
            du = depth.get(u)
            if du == 0:
                continue
            closer = [x[v, t] for v in nbrs[u] if (v, t) in x and du is not None
                      and depth.get(v) is not None and depth[v] < du]
            if closer:
                m.add_bool_or(closer).only_enforce_if(x[u, t])
            else:
                m.add(x[u, t] == 0)


def hint(v: _Vars, data: ModelData, team_of_unit: np.ndarray) -> None:
    """Give CP-SAT a complete hint from a plan (unit → team)."""
    ua = data.ua
    for (u, t), var in v.x.items():
        v.model.add_hint(var, int(team_of_unit[u] == t))
    held = set(zip(ua.unit_village.tolist(), team_of_unit.tolist()))
    for (vil, t), var in v.take.items():
        v.model.add_hint(var, int((vil, t) in held))
    loads = np.bincount(team_of_unit, weights=ua.workload, minlength=ua.n_teams)
    target, tol = ua.target_load(), data.rules.balance.tolerance
    for t in range(ua.n_teams):
        v.model.add_hint(v.over[t], int(max(0, loads[t] - np.floor(target[t] * (1 + tol)))))
        v.model.add_hint(v.under[t], int(max(0, np.ceil(target[t] * (1 - tol)) - loads[t])))
    for (e, t), var in v.same.items():
        i, j = ua.edges[e]
        v.model.add_hint(var, int(team_of_unit[i] == t and team_of_unit[j] == t))
    if v.brk:
        nb = _nbrs(ua)
        for u, var in v.brk.items():
            t = int(team_of_unit[u])
            d = v.depth.get(t, {})
            du = d.get(u, np.inf)
            ok = du < 0 or any(team_of_unit[w] == t and d.get(w, np.inf) < du for w in nb[u])
            v.model.add_hint(var, int(not ok))


def _nbrs(ua) -> list[list[int]]:
    out: list[list[int]] = [[] for _ in range(ua.n_units)]
    for i, j in ua.edges:
        out[int(i)].append(int(j))
        out[int(j)].append(int(i))
    return out


def _depths(units: list[int], nbrs, dist_to_base, x, t, territory=None) -> dict[int, float]:
    """Depth labels of team ``t``'s candidate units for the detached term: a unit needs a touching
    unit of its team with a smaller label, or it starts an extra piece. The team's root is
    labelled −1 (exempt).

    Without ``territory``: breadth-first graph distance within the candidates from the root (the
    candidate unit nearest the base). With ``territory`` (the team's units in a reference plan):
    each piece of it is labelled breadth first from its unit nearest the base (the root's piece's
    from −1, the others from 0), then the other candidates breadth first from there. Either way,
    each part of the candidates the labels cannot reach (another part of the map) is labelled from
    its own unit nearest the base, from 0: a piece there costs one unit like any other extra piece,
    not one per unit."""
    import heapq

    d = {u: np.inf for u in units}
    if not units:
        return d
    by_dist = sorted(units, key=lambda u: (dist_to_base[u], u))
    mine = set(int(u) for u in territory if int(u) in d) if territory is not None else set()
    heap = []
    if mine:
        seen: set[int] = set()
        roots = []
        for start in (u for u in by_dist if u in mine):  # one root per piece, nearest the base first
            if start in seen:
                continue
            roots.append(start)
            stack = [start]
            seen.add(start)
            while stack:
                u = stack.pop()
                for v in nbrs[u]:
                    if v in mine and v not in seen:
                        seen.add(v)
                        stack.append(v)
        heap = [(0, -1 if k == 0 else 0, r) for k, r in enumerate(roots)]
    for start in by_dist:
        if not heap:
            if d[start] != np.inf:
                continue
            heap = [(0, -1 if all(v == np.inf for v in d.values()) else 0, start)]
        # inside the territory first (phase 0), then the other candidates (phase 1)
        while heap:
            phase, du, u = heapq.heappop(heap)
            if d[u] != np.inf:
                continue
            d[u] = du
            for v in nbrs[u]:
                if (v, t) in x and d[v] == np.inf:
                    heapq.heappush(heap, (0 if phase == 0 and v in mine else 1, max(du, 0) + 1, v))
    return d


class _Progress(cp_model.CpSolverSolutionCallback):
    def __init__(self, progress, t0, phase):
        super().__init__()
        self._progress, self._t0, self._phase = progress, t0, phase
        self.first = None

    def on_solution_callback(self):
        now = time.perf_counter() - self._t0
        if self.first is None:
            self.first = now
        if self._progress is not None:
            self._progress({"phase": self._phase, "elapsed": now, "objective": self.objective_value,
                            "bound": self.best_objective_bound})


def solve(data: ModelData, *, time_limit: float, workers: int, seed: int, hint_plan=None,
          progress=None, phase: str = "solve", deterministic: bool = False,
          fixed: np.ndarray | None = None) -> SolveOutcome:
    """Build, solve and extract. On INFEASIBLE, re-solve with assumptions to name the conflicting rules."""
    t0 = time.perf_counter()
    v = build(data)
    if hint_plan is not None:
        hint(v, data, hint_plan)
    if fixed is not None:  # evaluate a given plan: every x fixed
        for (u, t), var in v.x.items():
            v.model.add(var == int(fixed[u] == t))
    solver = cp_model.CpSolver()
    p = solver.parameters
    p.num_workers = int(workers)
    p.random_seed = int(seed)
    if deterministic:
        # stop on CP-SAT's deterministic clock, so the same seed gives the same plan on any load
        p.max_deterministic_time = float(time_limit)
        p.max_time_in_seconds = 20.0 * float(time_limit) + 10.0
        p.interleave_search = workers > 1
    else:
        p.max_time_in_seconds = float(time_limit)
    cb = _Progress(progress, t0, phase)
    st = solver.solve(v.model, cb)
    wall = time.perf_counter() - t0
    status = STATUS_NAMES.get(st, str(st))
    if st in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        team = np.full(data.ua.n_units, -1)
        for (u, t), var in v.x.items():
            if solver.boolean_value(var):
                team[u] = t
        soft = {k: (solver.value(e) if not isinstance(e, int) else e) for k, e in v.terms.items()}
        return SolveOutcome(status, team, solver.objective_value, solver.best_objective_bound, wall, cb.first, soft,
                            det_time=solver.response_proto.deterministic_time)
    conflicts: tuple[str, ...] = ()
    if st == cp_model.INFEASIBLE:
        conflicts = explain(data, time_limit=max(5.0, time_limit / 2), seed=seed)
    return SolveOutcome(status, None, None, None, wall, cb.first, {}, conflicts,
                        det_time=solver.response_proto.deterministic_time)


def explain(data: ModelData, *, time_limit: float, seed: int) -> tuple[str, ...]:
    """Names of rule literals that together make the model infeasible (may be empty if none is to blame)."""
    v = build(data, assume=True)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = float(time_limit)
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = int(seed)
    st = solver.solve(v.model)
    if st != cp_model.INFEASIBLE:
        return ()
    core = set(solver.sufficient_assumptions_for_infeasibility())
    return tuple(sorted(name for name, lv in v.literals.items() if lv.index in core))
