"""Capacitated p-median (CPMP): instances, the solver's entry point, references and the benchmark suite.

The closest classical problem to balanced territory design: open ``p`` medians
among ``n`` nodes, give every node (demand ``q_i``) to one open median, keep
each median's demand within its capacity ``Q_j``, minimise the sum of
distances. :func:`solve_cpmp` runs the matheuristic of
:mod:`planner.assign.cpmp_lns` (construction by capacitated Lloyd with a
min-cost-flow assignment, or on large instances with few customers per
median the Lagrangian placement of :mod:`planner.assign.cpmp_lagr`; median
moves, exact HiGHS neighbourhoods, the whole MIP on small instances; two
processes). The MIP itself is :mod:`planner.assign.cpmp_mip`.

``plain_cpsat`` and ``plain_highs`` solve the plain full x/y model (the
references in ``shared/bench/pmedcap/README.md``). Distances are truncated to
integers for the Osman-Christofides set and exact otherwise (CP-SAT needs
integers: ×100 rounded); objectives are recomputed in the original units from
the assignment.
"""

from __future__ import annotations

import time
import dataclasses
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
        from planner.assign.cpmp_lns import distance_matrix

        return distance_matrix(self.xy, self.truncate)

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
    """One instance file: ``n p``, then ``n`` lines of ``x y capacity demand`` (see the pmedcap README).

    Distances are truncated to integers for the Osman-Christofides set (a file in a folder ``oc``).
    """
    path = Path(path)
    try:
        nums = path.read_text().split()
        n, p = int(nums[0]), int(nums[1])
        a = np.array(nums[2:2 + 4 * n], dtype=float)
    except (OSError, ValueError, IndexError) as e:
        raise ValueError(f"{path}: not a capacitated p-median file ({e}); expected 'n p' then n lines "
                         f"'x y capacity demand'") from None
    if len(a) != 4 * n:
        raise ValueError(f"{path}: expected {4 * n} numbers after 'n p' = '{n} {p}', found {len(a)}; "
                         f"the file is cut short or n is wrong")
    if not 1 <= p <= n:
        raise ValueError(f"{path}: p = {p} must be between 1 and n = {n}")
    a = a.reshape(n, 4)
    return Instance(path.stem, a[:, :2], a[:, 2], a[:, 3], p, truncate=path.parent.name == "oc")


@dataclass(frozen=True)
class CpmpResult:
    value: float | None
    median_of: np.ndarray | None
    status: str
    bound: float | None  # in original units; valid only without candidate restriction
    wall: float
    first: float | None


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


def solve_cpmp(inst: Instance, *, time_limit: float, workers: int = 2, seed: int = 0, k: int = 30) -> CpmpResult:
    """The matheuristic of :mod:`planner.assign.cpmp_lns` on one instance.

    ``k``: candidate medians per customer in the whole-model MIP (instances up
    to ``cpmp_lns.MIP_MAX_N`` customers); with ``k >= n`` an optimal MIP
    answer is a proof and its bound is reported.
    """
    from planner.assign.cpmp_lns import run

    if time_limit <= 0:
        raise ValueError(f"time_limit must be positive, got {time_limit}")
    t0 = time.perf_counter()
    out = run(inst.dist(), inst.demand, inst.cap, inst.p, time_limit=time_limit, workers=workers, seed=seed, k=k,
              integer=inst.truncate, xy=inst.xy)
    med = out["median_of"]
    return CpmpResult(None if med is None else inst.value(med), med, out["status"], out["bound"],
                      time.perf_counter() - t0, out["first"])


def _unscale(inst, bound):
    if bound is None:
        return None
    return float(bound) if inst.truncate else float(bound) / 100.0


def plain_cpsat(inst: Instance, *, time_limit: float, workers: int = 2, seed: int = 0, k: int | None = None) -> CpmpResult:
    """The plain x/y model with CP-SAT, every pair (or each customer's ``k`` nearest medians), no start."""
    t0 = time.perf_counter()
    if k is None or k >= inst.n:
        cand = [np.arange(inst.n)] * inst.n
    else:
        cand = list(np.sort(np.argsort(inst.dist(), axis=1, kind="stable")[:, :k], axis=1))
    out, status, bound, first = _solve_xy(inst, inst.int_dist(), cand, time_limit=time_limit, workers=workers, seed=seed)
    sol = None if out is None else np.array([out[i] for i in range(inst.n)])
    return CpmpResult(None if sol is None else inst.value(sol), sol, status,
                      _unscale(inst, bound) if k is None or k >= inst.n else None, time.perf_counter() - t0, first)


def plain_highs(inst: Instance, *, time_limit: float, workers: int = 2, seed: int = 0, k: int | None = None) -> CpmpResult:
    """The plain x/y MIP with HiGHS, every pair (or each customer's ``k`` nearest medians), no start.

    Runs in a fresh process: HiGHS fixes its thread count the first time a process uses it."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        res = pool.submit(_plain_highs, inst, time_limit=time_limit, workers=workers, seed=seed, k=k).result()
    return dataclasses.replace(res, wall=time.perf_counter() - t0)


def _plain_highs(inst: Instance, *, time_limit: float, workers: int, seed: int, k: int | None) -> CpmpResult:
    from planner.assign.cpmp_mip import solve_arrays

    t0 = time.perf_counter()
    n = inst.n
    d = inst.dist()
    if k is None or k >= n:
        pi, pj = np.repeat(np.arange(n), n), np.tile(np.arange(n), n)
    else:
        pi, pj = np.repeat(np.arange(n), k), np.argsort(d, axis=1, kind="stable")[:, :k].ravel()
    res = solve_arrays(pair_i=pi, pair_j=pj, cost=d[pi, pj], demand=inst.demand, cap=inst.cap, p=inst.p,
                       time_limit=time_limit, threads=workers, seed=seed, integer_costs=inst.truncate)
    ok = res.median_of is not None
    return CpmpResult(inst.value(res.median_of) if ok else None, res.median_of, res.status,
                      res.bound if k is None or k >= n else None, time.perf_counter() - t0, None)


# ----------------------------------------------------------------------------- suite


SETS = {"oc": ("oc", "cpmp*.txt"), "sjc": ("sjc", "SJC*.dat"), "p3038": ("p3038", "p3038_*.dat"),
        "stefanello": ("stefanello", "*.txt")}


def run_suite(root: Path, set_name: str, *, time_limit: float, workers: int, seed: int, reference=(),
              instances=None, out=None) -> dict:
    import csv

    out = out or print
    best = {row["instance"]: row for row in csv.DictReader(open(Path(root) / "best_known.csv"))}
    folder, pattern = SETS[set_name]
    files = sorted(p for p in (Path(root) / "instances" / folder).glob(pattern) if p.stem in best)
    if instances:
        files = [f for f in files if f.stem in instances]
    # the references use every pair up to n = 500, and each customer's 20 nearest medians beyond
    # (as in the pmedcap README: the full model of n = 3,038 has 9.2 million pairs)
    ref_k = (lambda inst: None if inst.n <= 500 else 20)  # noqa: E731
    solvers = {"planner": lambda inst: solve_cpmp(inst, time_limit=time_limit, workers=workers, seed=seed,
                                                  k=inst.n if inst.n <= 100 else 30)}
    if "cpsat" in reference:
        solvers["cpsat"] = lambda inst: plain_cpsat(inst, time_limit=time_limit, workers=workers, seed=seed,
                                                    k=ref_k(inst))
    if "highs" in reference:
        solvers["highs"] = lambda inst: plain_highs(inst, time_limit=time_limit, workers=workers, seed=seed,
                                                    k=ref_k(inst))
    import os

    gaps: dict[str, list] = {s: [] for s in solvers}
    at_opt = {s: 0 for s in solvers}
    missing = {s: 0 for s in solvers}
    out(f"pmedcap {set_name}: {len(files)} instances, {time_limit:g} s each, {workers} workers, seed {seed}; "
        f"load average {os.getloadavg()[0]:.2f}")
    for f in files:
        inst = read_instance(f)
        bk = float(best[f.stem]["best_known"])
        for name, fn in solvers.items():
            res = fn(inst)
            ok = res.median_of is not None and inst.feasible(res.median_of)
            gap = (res.value - bk) / bk * 100 if ok else float("nan")
            gaps[name].append(gap)
            missing[name] += int(not ok)
            # published values are rounded to 2 decimals: within 0.01 counts as reaching them
            at_opt[name] += int(ok and res.value <= bk + 0.01)
            bound = "" if res.bound is None else f" bound {res.bound:.2f}"
            out(f"{f.stem:<12} n={inst.n:<5} p={inst.p:<5} {name:<8} {res.status:<20} value "
                f"{res.value if res.value is not None else float('nan'):>11.2f} best {bk:>11.2f} gap {gap:7.3f}% "
                f"time {res.wall:5.1f} s{bound} load {os.getloadavg()[0]:.2f}"
                f"{'' if ok else '  NO FEASIBLE SOLUTION'}", flush=True)
    summary = {}
    for name in solvers:
        g = np.array(gaps[name], float)
        summary[name] = float(np.nanmean(g)) if missing[name] < len(g) else float("nan")
        none = f", {missing[name]} without a solution (left out of the mean)" if missing[name] else ""
        out(f"{set_name} {name}: {at_opt[name]} of {len(g)} at the best-known value{none}; "
            f"mean gap {summary[name]:.2f}% over {len(g) - missing[name]} instances at {time_limit:g} s", flush=True)
    return summary
