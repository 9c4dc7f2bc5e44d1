"""Capacitated p-median (CPMP) with the assignment planner's structure, for the benchmark.

The closest classical problem to balanced territory design: open ``p`` medians
among ``n`` nodes, give every node (demand ``q_i``) to one open median, keep
each median's demand within its capacity ``Q_j``, minimise the sum of
distances. The same structure as :func:`planner.assign.assign`:

1. candidate restriction: each node may only go to its ``k`` nearest nodes;
2. warm start: capacitated k-medians (regret assignment, then re-centring);
3. CP-SAT on the restricted x/y model from the warm start;
4. large-neighbourhood search: free one median and its nearest medians with
   their customers, re-solve that sub-problem with CP-SAT, keep improvements.

``plain_cpsat`` and ``plain_highs`` solve the plain full x/y model (the
references in ``shared/bench/pmedcap/README.md``). Distances: integers
(truncated for the Osman-Christofides set, ×100 rounded otherwise); objectives
are recomputed in the original units from the assignment.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ortools.sat.python import cp_model


@dataclass(frozen=True)
class Instance:
    name: str
    xy: np.ndarray
    cap: np.ndarray
    demand: np.ndarray
    p: int
    truncate: bool

    @property
    def n(self) -> int:
        return len(self.xy)

    def dist(self) -> np.ndarray:
        d = np.hypot(self.xy[:, None, 0] - self.xy[None, :, 0], self.xy[:, None, 1] - self.xy[None, :, 1])
        return np.floor(d) if self.truncate else d

    def int_dist(self) -> np.ndarray:
        d = self.dist()
        return d.astype(np.int64) if self.truncate else np.round(d * 100).astype(np.int64)

    def value(self, median_of: np.ndarray) -> float:
        d = self.dist()
        return float(d[np.arange(self.n), median_of].sum())

    def feasible(self, median_of: np.ndarray) -> bool:
        meds = np.unique(median_of)
        load = np.bincount(median_of, weights=self.demand, minlength=self.n)
        return len(meds) <= self.p and bool((load[meds] <= self.cap[meds] + 1e-9).all())


def read_instance(path: Path) -> Instance:
    nums = Path(path).read_text().split()
    n, p = int(nums[0]), int(nums[1])
    a = np.array(nums[2:2 + 4 * n], dtype=float).reshape(n, 4)
    return Instance(Path(path).stem, a[:, :2], a[:, 2], a[:, 3], p, truncate=Path(path).parent.name == "oc")


@dataclass(frozen=True)
class CpmpResult:
    value: float | None
    median_of: np.ndarray | None
    status: str
    bound: float | None  # in original units; valid only without candidate restriction
    wall: float
    first: float | None


# ----------------------------------------------------------------------------- warm start


def warm_start(inst: Instance, *, seed: int = 0, rounds: int = 20) -> np.ndarray | None:
    """Capacitated k-medians: spread medians, regret assignment with capacities, re-centre, repeat."""
    rng = np.random.default_rng(seed)
    d = inst.dist()
    n, p = inst.n, inst.p
    meds = [int(rng.integers(n))]
    while len(meds) < p:  # farthest-point spread, weighted by demand
        far = (d[:, meds].min(axis=1) * inst.demand)
        meds.append(int(np.argmax(far)))
    best, best_val = None, np.inf
    for _ in range(rounds):
        assign = _regret_assign(inst, d, np.array(meds))
        if assign is None:
            # grow capacity: swap the smallest-capacity median for the largest free node
            free = np.setdiff1d(np.arange(n), meds)
            meds[int(np.argmin(inst.cap[meds]))] = int(free[np.argmax(inst.cap[free])])
            continue
        val = inst.value(assign)
        if val < best_val - 1e-9:
            best, best_val = assign, val
        else:
            break
        new = []
        for m in np.unique(assign):
            members = np.flatnonzero(assign == m)
            need = inst.demand[members].sum()
            cost = d[np.ix_(members, members)].sum(axis=0)
            ok = inst.cap[members] >= need
            new.append(int(members[np.argmin(np.where(ok, cost, np.inf))]) if ok.any() else int(m))
        meds = list(dict.fromkeys(new))
        while len(meds) < p:
            meds.append(int(np.argmax(d[:, meds].min(axis=1))))
    return best


def _regret_assign(inst: Instance, d: np.ndarray, meds: np.ndarray) -> np.ndarray | None:
    left = inst.cap[meds].astype(float).copy()
    out = np.full(inst.n, -1)
    order = np.argsort(-(np.sort(d[:, meds], axis=1)[:, min(1, len(meds) - 1)] - d[:, meds].min(axis=1)), kind="stable")
    for i in order:
        for k in np.argsort(d[i, meds], kind="stable"):
            if left[k] >= inst.demand[i]:
                left[k] -= inst.demand[i]
                out[i] = meds[k]
                break
        else:
            return None
    return out


# ----------------------------------------------------------------------------- CP-SAT models


def _solve_xy(inst: Instance, dint: np.ndarray, cand: list[np.ndarray], *, time_limit: float, workers: int,
              seed: int, hint: np.ndarray | None = None, fixed_open: set | None = None,
              p_sub: int | None = None, nodes: np.ndarray | None = None) -> tuple:
    """The x/y model over ``nodes`` (default all) with per-node candidate medians."""
    nodes = np.arange(inst.n) if nodes is None else nodes
    m = cp_model.CpModel()
    med_set = sorted({int(j) for i in nodes for j in cand[i]})
    y = {j: m.new_bool_var(f"y[{j}]") for j in med_set}
    x = {(int(i), int(j)): m.new_bool_var(f"x[{i},{j}]") for i in nodes for j in cand[i]}
    for i in nodes:
        m.add_exactly_one(x[int(i), int(j)] for j in cand[i])
    by_med: dict[int, list] = {j: [] for j in med_set}
    for (i, j), v in x.items():
        by_med[j].append((i, v))
        m.add_implication(v, y[j])
    for j, items in by_med.items():
        m.add(sum(int(inst.demand[i]) * v for i, v in items) <= int(inst.cap[j]) * y[j])
    m.add(sum(y.values()) == (inst.p if p_sub is None else p_sub))
    m.minimize(sum(int(dint[i, j]) * v for (i, j), v in x.items()))
    if hint is not None:
        for (i, j), v in x.items():
            m.add_hint(v, int(hint[i] == j))
        opened = set(hint[nodes].tolist())
        for j, v in y.items():
            m.add_hint(v, int(j in opened))
    s = cp_model.CpSolver()
    s.parameters.max_time_in_seconds = float(time_limit)
    s.parameters.num_workers = int(workers)
    s.parameters.random_seed = int(seed)

    class _First(cp_model.CpSolverSolutionCallback):
        def __init__(self):
            super().__init__()
            self.t0, self.first = time.perf_counter(), None

        def on_solution_callback(self):
            if self.first is None:
                self.first = time.perf_counter() - self.t0

    cb = _First()
    st = s.solve(m, cb)
    if st not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None, s.status_name(st), None, cb.first
    out = {}
    for (i, j), v in x.items():
        if s.boolean_value(v):
            out[i] = j
    return out, s.status_name(st), s.best_objective_bound, cb.first


def solve_cpmp(inst: Instance, *, time_limit: float, workers: int = 2, seed: int = 0, k: int = 20,
               main_share: float = 0.3, hood: int = 4, step: float = 2.0) -> CpmpResult:
    """The planner's structure on one instance (see the module docstring)."""
    t0 = time.perf_counter()
    d = inst.dist()
    dint = inst.int_dist()
    k = min(k, inst.n)
    if inst.n <= 200:  # small: the whole model from the warm start beats LNS steps
        main_share = 1.0
    near = np.argsort(d, axis=1, kind="stable")[:, :k]
    warm = warm_start(inst, seed=seed)
    cand = [np.unique(np.concatenate([near[i], [warm[i]] if warm is not None else []]).astype(int))
            for i in range(inst.n)]
    first = 0.0 if warm is not None else None
    out, status, bound, f = _solve_xy(inst, dint, cand, time_limit=max(1.0, time_limit * main_share),
                                      workers=workers, seed=seed, hint=warm)
    cur = warm
    if out is not None:
        sol = np.array([out[i] for i in range(inst.n)])
        if cur is None or inst.value(sol) <= inst.value(cur):
            cur = sol
        first = first if first is not None else f
    full_k = k >= inst.n
    if status == "OPTIMAL" and full_k:
        return CpmpResult(inst.value(cur), cur, "OPTIMAL", _unscale(inst, bound), time.perf_counter() - t0, first)
    rng = np.random.default_rng(seed)
    deadline = t0 + time_limit
    med_d = None
    while cur is not None and deadline - time.perf_counter() > 0.5:
        meds = np.unique(cur)
        med_d = d[np.ix_(meds, meds)]
        c = int(rng.integers(len(meds)))
        group = meds[np.argsort(med_d[c], kind="stable")[:hood]]
        nodes = np.flatnonzero(np.isin(cur, group))
        sub_cand = [np.array([], int)] * inst.n
        for i in nodes:
            sub_cand[i] = np.intersect1d(cand[i], nodes)
            if cur[i] not in sub_cand[i]:
                sub_cand[i] = np.append(sub_cand[i], cur[i])
        limit = min(step, deadline - time.perf_counter())
        res, _st, _b, _f = _solve_xy(inst, dint, sub_cand, time_limit=limit, workers=workers,
                                     seed=int(rng.integers(1 << 30)), hint=cur, p_sub=len(group), nodes=nodes)
        if res is not None:
            new = cur.copy()
            for i, j in res.items():
                new[i] = j
            if inst.feasible(new) and inst.value(new) < inst.value(cur) - 1e-9:
                cur = new
    return CpmpResult(None if cur is None else inst.value(cur), cur, "FEASIBLE" if cur is not None else "UNKNOWN",
                      _unscale(inst, bound) if full_k else None, time.perf_counter() - t0, first)


def _unscale(inst, bound):
    if bound is None:
        return None
    return float(bound) if inst.truncate else float(bound) / 100.0


def plain_cpsat(inst: Instance, *, time_limit: float, workers: int = 2, seed: int = 0) -> CpmpResult:
    t0 = time.perf_counter()
    cand = [np.arange(inst.n)] * inst.n
    out, status, bound, first = _solve_xy(inst, inst.int_dist(), cand, time_limit=time_limit, workers=workers, seed=seed)
    sol = None if out is None else np.array([out[i] for i in range(inst.n)])
    return CpmpResult(None if sol is None else inst.value(sol), sol, status, _unscale(inst, bound),
                      time.perf_counter() - t0, first)


def plain_highs(inst: Instance, *, time_limit: float, workers: int = 2, seed: int = 0) -> CpmpResult:
    """The plain x/y MIP with HiGHS (``pip install highspy``)."""
    import highspy
    from scipy.sparse import coo_matrix

    t0 = time.perf_counter()
    n = inst.n
    d = inst.dist()
    nx = n * n
    cost = np.concatenate([d.ravel(), np.zeros(n)])
    rows, cols, vals, lo, hi = [], [], [], [], []
    r = 0
    for i in range(n):  # sum_j x_ij = 1
        rows += [r] * n; cols += list(i * n + np.arange(n)); vals += [1.0] * n; lo.append(1); hi.append(1); r += 1
    for j in range(n):  # sum_i q_i x_ij - Q_j y_j <= 0
        rows += [r] * (n + 1); cols += list(np.arange(n) * n + j) + [nx + j]
        vals += list(inst.demand) + [-inst.cap[j]]; lo.append(-highspy.kHighsInf); hi.append(0); r += 1
    rows += [r] * n; cols += list(nx + np.arange(n)); vals += [1.0] * n; lo.append(inst.p); hi.append(inst.p); r += 1
    for i in range(n):  # x_ij <= y_j
        for j in range(n):
            rows += [r, r]; cols += [i * n + j, nx + j]; vals += [1.0, -1.0]; lo.append(-highspy.kHighsInf); hi.append(0); r += 1
    a = coo_matrix((vals, (rows, cols)), shape=(r, nx + n)).tocsc()
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit))
    h.setOptionValue("threads", int(workers))
    h.setOptionValue("random_seed", int(seed))
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = nx + n, r
    lp.col_cost_ = cost
    lp.col_lower_ = np.zeros(nx + n)
    lp.col_upper_ = np.ones(nx + n)
    lp.row_lower_, lp.row_upper_ = np.array(lo, float), np.array(hi, float)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = a.indptr, a.indices, a.data
    lp.integrality_ = [highspy.HighsVarType.kInteger] * (nx + n)
    h.passModel(lp)
    h.run()
    status = h.modelStatusToString(h.getModelStatus())
    sol = np.array(h.getSolution().col_value)
    if len(sol) != nx + n or not np.isfinite(sol).all():
        return CpmpResult(None, None, status, None, time.perf_counter() - t0, None)
    med = np.argmax(sol[:nx].reshape(n, n), axis=1)
    info = h.getInfo()
    return CpmpResult(inst.value(med), med, status, float(info.mip_dual_bound), time.perf_counter() - t0, None)


# ----------------------------------------------------------------------------- suite


SETS = {"oc": ("oc", "cpmp*.txt"), "sjc": ("sjc", "SJC*.dat"), "p3038": ("p3038", "p3038_*.dat"),
        "stefanello": ("stefanello", "*.txt")}


def run_suite(root: Path, set_name: str, *, time_limit: float, workers: int, seed: int, reference=(),
              instances=None, out=print) -> dict:
    import csv

    best = {row["instance"]: row for row in csv.DictReader(open(Path(root) / "best_known.csv"))}
    folder, pattern = SETS[set_name]
    files = sorted(p for p in (Path(root) / "instances" / folder).glob(pattern) if p.stem in best)
    if instances:
        files = [f for f in files if f.stem in instances]
    solvers = {"planner": lambda inst: solve_cpmp(inst, time_limit=time_limit, workers=workers, seed=seed,
                                                  k=inst.n if inst.n <= 100 else 20)}
    if "cpsat" in reference:
        solvers["cpsat"] = lambda inst: plain_cpsat(inst, time_limit=time_limit, workers=workers, seed=seed)
    if "highs" in reference:
        solvers["highs"] = lambda inst: plain_highs(inst, time_limit=time_limit, workers=workers, seed=seed)
    gaps: dict[str, list] = {s: [] for s in solvers}
    at_opt = {s: 0 for s in solvers}
    for f in files:
        inst = read_instance(f)
        bk = float(best[f.stem]["best_known"])
        for name, fn in solvers.items():
            res = fn(inst)
            ok = res.median_of is not None and inst.feasible(res.median_of)
            gap = (res.value - bk) / bk * 100 if ok else float("nan")
            gaps[name].append(gap)
            at_opt[name] += int(ok and gap <= 1e-6)
            out(f"{f.stem:<16} n={inst.n:<5} p={inst.p:<5} {name:<8} {res.status:<9} value "
                f"{res.value if res.value is not None else float('nan'):>12.2f} best {bk:>12.2f} gap {gap:7.3f}% "
                f"time {res.wall:6.1f} s{'' if ok else '  INFEASIBLE/NONE'}")
    summary = {}
    for name in solvers:
        g = np.array(gaps[name], float)
        summary[name] = float(np.nanmean(g)) if len(g) else float("nan")
        out(f"{set_name} {name}: {at_opt[name]} of {len(g)} at the best-known value; "
            f"mean gap {summary[name]:.2f}% over {len(g)} instances at {time_limit:g} s")
    return summary
