"""A proven lower bound on the planner's objective: the LP relaxation of the CP-SAT model.

The model of :mod:`planner.assign.model` is relaxed term by term, with the same
integer coefficients, and solved with HiGHS (``highspy``):

* ``x[u,t]`` in [0, 1] for each unit's candidate teams, ``Σ_t x[u,t] = 1``
  (units split fractionally among their candidate teams);
* layered linkage (a coarse team takes whole villages/towns): ``x[u,t] = x[r,t]``
  for every unit ``u`` of the group of ``r``;
* village quotas: ``take[v,t] ≥ x[u,t]``, ``min ≤ Σ_v take[v,t] ≤ max``;
* balance band: ``load_t − over_t ≤ ⌊share·(1+tol)⌋``, ``load_t + under_t ≥ ⌈share·(1−tol)⌉``;
* contiguity (cut edges): ``same[e,t] ≤ x[i,t]``, ``same[e,t] ≤ x[j,t]``;
  ``Σ_t same[e,t] ≤ 1``; objective ``w_e (E − Σ same)``;
* extra pieces (detached units): only the pieces the map's parts force, which every plan pays:
  a team working in k parts that touch nowhere has at least k − 1 extra pieces
  (``y[t,p] ≥ x[u,t]`` for each unit u of part p, ``z[t] ≥ Σ_p y[t,p] − 1``, cost ``w·z[t]``).
  The model's own depth-label rows (``x[u,t] ≤ Σ_{v touching u, nearer a root} x[v,t] + brk[u]``)
  are not used: with any labels they charge some one-piece territory (one without a label root)
  an extra piece, so they bound the labelled model, not the pieces of every plan (a row of six
  grids, labelled by a plan in pieces: 2,422 against a true optimum of 300; see
  ``tests/test_assign_bound.py``);
* stability (with a previous plan): ``w_s·households·(1 − x[u,prev])``.

Every feasible plan of the model is a feasible point of the LP with at most the same
objective value (its true extra pieces at least those its parts force), so the LP optimum is a
lower bound on the optimum over every plan, hence
on the objective of any plan the planner returns (the planner reports the
objective of its plan in this same model: the candidate-restricted model, see
:func:`planner.assign.construct.candidates`). The bound is computed by weak duality from
HiGHS's row duals and the model's own arrays (valid for any duals, so also when
the time limit stops HiGHS early, and immune to its tolerances); the objective
is integer, so the bound is rounded up.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from planner.assign.units import OBJ_SCALE


@dataclass(frozen=True)
class LPBound:
    """The LP relaxation's optimum (``bound``, objective units) and what it is made of."""

    bound: float | None  # None when HiGHS did not prove the LP optimal in time
    status: str
    terms: dict  # soft goal → its part of the LP optimum (objective units)
    seconds: float
    columns: int
    rows: int
    #: the LP's primal x: unit, team and value per candidate pair (for rounding into a plan)
    x_unit: np.ndarray | None = None
    x_team: np.ndarray | None = None
    x_value: np.ndarray | None = None


class _Rows:
    """Sparse rows collected in CSR form for ``Highs.addRows``."""

    def __init__(self):
        self.lo: list[float] = []
        self.hi: list[float] = []
        self.starts: list[int] = []
        self.idx: list[np.ndarray] = []
        self.val: list[np.ndarray] = []
        self.nnz = 0

    def add(self, cols, vals, lo: float, hi: float) -> None:
        cols = np.asarray(cols, dtype=np.int32)
        self.starts.append(self.nnz)
        self.idx.append(cols)
        self.val.append(np.asarray(vals, dtype=np.float64))
        self.lo.append(lo)
        self.hi.append(hi)
        self.nnz += len(cols)

    def add_many(self, cols: np.ndarray, vals: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> None:
        """Rows of equal length k: ``cols`` and ``vals`` of shape (n, k)."""
        n, k = cols.shape
        self.starts.extend((self.nnz + k * np.arange(n)).tolist())
        self.idx.append(cols.ravel().astype(np.int32))
        self.val.append(vals.ravel().astype(np.float64))
        self.lo.extend(np.broadcast_to(lo, n).tolist())
        self.hi.extend(np.broadcast_to(hi, n).tolist())
        self.nnz += n * k


def _quiet_highs(highspy):
    """A ``Highs`` object, without the banner its first construction in a process prints on the C
    stdout (it would corrupt ``zoufang assign --json``)."""
    import os
    import sys

    sys.stdout.flush()
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # no real stdout (e.g. captured): nothing to hide
        return highspy.Highs()
    saved = os.dup(fd)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), fd)
            return highspy.Highs()
    finally:
        os.dup2(saved, fd)
        os.close(saved)


def lp_bound(data, *, time_limit: float = 30.0, threads: int = 1, solver: str = "choose",
             options: dict | None = None) -> LPBound:
    """The LP relaxation of the model of ``data`` (a :class:`planner.assign.model.ModelData`),
    solved with HiGHS within ``time_limit`` seconds."""
    import highspy

    t0 = time.perf_counter()
    ua, rules = data.ua, data.rules
    U, T = ua.n_units, ua.n_teams
    inf = highspy.kHighsInf

    # ---- columns: x, same, over/under, take, part-forced pieces
    cost: list[np.ndarray] = []
    lb: list[np.ndarray] = []
    ub: list[np.ndarray] = []
    ncol = 0

    def cols(n: int, c, lo=0.0, hi=1.0) -> np.ndarray:
        nonlocal ncol
        cost.append(np.broadcast_to(np.asarray(c, float), n).copy())
        lb.append(np.broadcast_to(np.asarray(lo, float), n).copy())
        ub.append(np.broadcast_to(np.asarray(hi, float), n).copy())
        out = np.arange(ncol, ncol + n)
        ncol += n
        return out

    xu = np.concatenate([np.full(len(c), u) for u, c in enumerate(data.cand)]).astype(int)
    xt = np.concatenate([np.asarray(c, int) for c in data.cand]).astype(int)
    w_c = rules.compactness.weight * OBJ_SCALE / 1000.0
    c_x = np.round(w_c * ua.dist_m[xu, xt])
    offset = 0.0
    if data.previous is not None:  # stability: w·hh·(1 − x[u, prev])
        w_s = rules.stability.weight_per_household * OBJ_SCALE
        prev = np.asarray(data.previous)
        moved = (prev[xu] >= 0) & (prev[xu] == xt)
        w_m = np.round(w_s * ua.households[xu])
        c_x = c_x - np.where(moved, w_m, 0.0)
        offset += float(w_m[moved].sum())
    lo_x = np.zeros(len(xu))
    if data.fixed is not None:  # LNS sub-problems: some units fixed
        f = np.asarray(data.fixed)
        lo_x = ((f[xu] >= 0) & (f[xu] == xt)).astype(float)
    xcol = cols(len(xu), c_x, lo_x, 1.0)
    key = {(int(u), int(t)): int(c) for u, t, c in zip(xu, xt, xcol)}
    rows = _Rows()

    # exactly one team per unit
    for u in range(U):
        cs = [key[u, int(t)] for t in data.cand[u]]
        rows.add(cs, np.ones(len(cs)), 1.0, 1.0)

    # layered linkage: x[u,t] = x[r,t] inside a group of a coarse team
    units_of: list[list[int]] = [[] for _ in range(T)]
    for u, t in zip(xu.tolist(), xt.tolist()):
        units_of[t].append(u)
    for t in range(T):
        g = ua.team_granularity[t]
        if g == ua.level:
            continue
        group = ua.group_of(g)
        rep: dict[int, int] = {}
        for u in units_of[t]:
            r = rep.setdefault(int(group[u]), u)
            if r != u:
                rows.add([key[u, t], key[r, t]], [1.0, -1.0], 0.0, 0.0)

    # village quotas
    for t in range(T):
        q = rules.quotas.for_level(ua.team_level[t])
        if q.min_villages is None and q.max_villages is None:
            continue
        by_village: dict[int, list[int]] = {}
        for u in units_of[t]:
            if ua.unit_village[u] >= 0:
                by_village.setdefault(int(ua.unit_village[u]), []).append(u)
        tk = cols(len(by_village), 0.0)
        for c, (v, us) in zip(tk, by_village.items()):
            for u in us:
                rows.add([c, key[u, t]], [1.0, -1.0], 0.0, inf)
        rows.add(tk, np.ones(len(tk)), float(q.min_villages) if q.min_villages is not None else -inf,
                 float(q.max_villages) if q.max_villages is not None else inf)

    # balance band
    target = ua.target_load()
    tol = rules.balance.tolerance
    total = float(ua.workload.sum())
    w_b = float(int(round(rules.balance.weight * OBJ_SCALE / 60.0)))
    over = cols(T, w_b, 0.0, total)
    under = cols(T, w_b, 0.0, total)
    for t in range(T):
        cs = [key[u, t] for u in units_of[t]]
        wl = ua.workload[units_of[t]].astype(float)
        rows.add(cs + [over[t]], np.concatenate([wl, [-1.0]]), -inf, float(np.floor(target[t] * (1 + tol))))
        rows.add(cs + [under[t]], np.concatenate([wl, [1.0]]), float(np.ceil(target[t] * (1 - tol))), inf)

    # contiguity: same[e,t] ≤ x[i,t], x[j,t]; Σ_t same[e,t] ≤ 1; cost −w_e each (+ w_e·E constant)
    w_e = float(int(round(rules.contiguity.weight * OBJ_SCALE)))
    nbrs: list[list[int]] = [[] for _ in range(U)]
    pairs = []
    for e, (i, j) in enumerate(ua.edges.tolist()):
        nbrs[i].append(j)
        nbrs[j].append(i)
        for t in np.intersect1d(data.cand[i], data.cand[j]).tolist():
            pairs.append((e, i, j, t))
    offset += w_e * len(ua.edges)
    if pairs:
        pe, pi, pj, pt = (np.array(a, int) for a in zip(*pairs))
        scol = cols(len(pairs), -w_e)
        xi = np.array([key[i, t] for i, t in zip(pi.tolist(), pt.tolist())])
        xj = np.array([key[j, t] for j, t in zip(pj.tolist(), pt.tolist())])
        one = np.ones((len(pairs), 2))
        one[:, 1] = -1.0
        rows.add_many(np.column_stack([scol, xi]), one, np.full(len(pairs), -inf), np.zeros(len(pairs)))
        rows.add_many(np.column_stack([scol, xj]), one, np.full(len(pairs), -inf), np.zeros(len(pairs)))
        order = np.argsort(pe, kind="stable")
        bounds = np.flatnonzero(np.diff(pe[order])) + 1
        for grp in np.split(order, bounds):
            if len(grp) > 1:
                rows.add(scol[grp], np.ones(len(grp)), -inf, 1.0)
    else:
        scol = np.zeros(0, int)

    # extra pieces: those the map's parts force (valid for any plan; see the module docstring)
    w_i = float(int(round(rules.contiguity.detached_weight * OBJ_SCALE)))
    bcol = np.zeros(0, int)
    if rules.contiguity.detached_weight > 0:
        # a team working in k parts that touch nowhere has at least k − 1 extra pieces:
        # y[t,p] ≥ x[u,t] for u in part p, z[t] ≥ Σ_p y[t,p] − 1, cost w_i·z[t]
        from planner.assign.seeding import components

        part = components(ua.edges, U)
        for t in range(T):
            us = np.asarray(units_of[t], int)
            parts_t = np.unique(part[us]) if len(us) else us
            if len(parts_t) < 2:
                continue
            ycol = cols(len(parts_t), 0.0)
            zc = cols(1, w_i, 0.0, float(len(parts_t) - 1))
            bcol = np.concatenate([bcol, zc])
            where = np.searchsorted(parts_t, part[us])
            rows.add_many(np.column_stack([[key[int(u), t] for u in us], ycol[where]]),
                          np.tile([1.0, -1.0], (len(us), 1)), np.full(len(us), -inf), np.zeros(len(us)))
            rows.add(np.concatenate([zc, ycol]), np.concatenate([[1.0], -np.ones(len(ycol))]), -1.0, inf)

    h = _quiet_highs(highspy)
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(max(1.0, time_limit - (time.perf_counter() - t0))))
    h.setOptionValue("threads", int(threads))
    h.setOptionValue("random_seed", 0)
    h.setOptionValue("solver", solver)
    for k, v in (options or {}).items():
        h.setOptionValue(k, v)
    c = np.concatenate(cost)
    h.addVars(len(c), np.concatenate(lb), np.concatenate(ub))
    h.changeColsCost(len(c), np.arange(len(c), dtype=np.int32), c)
    h.addRows(len(rows.lo), np.array(rows.lo), np.array(rows.hi), rows.nnz,
              np.array(rows.starts, dtype=np.int32), np.concatenate(rows.idx).astype(np.int32),
              np.concatenate(rows.val))
    h.changeObjectiveOffset(offset)
    h.run()
    status = h.modelStatusToString(h.getModelStatus())
    n_rows = len(rows.lo)
    sol = h.getSolution()
    y = np.asarray(sol.row_dual, float)
    if len(y) != n_rows or not np.isfinite(y).all():  # no duals at all (e.g. stopped in presolve)
        return LPBound(None, status, {}, round(time.perf_counter() - t0, 3), len(c), n_rows)
    # weak duality with HiGHS's row duals y (any y gives a valid bound; at the optimum it is the
    # LP value): Σ_rows y·(L or U) + Σ_cols min over [l, u] of (c − Aᵀy)·x, computed here from the
    # model's own arrays, so solver tolerances cannot make the bound too high
    from scipy.sparse import csr_matrix

    A = csr_matrix((np.concatenate(rows.val), np.concatenate(rows.idx),
                    np.array(rows.starts + [rows.nnz])), shape=(n_rows, len(c)))
    lo_r, hi_r = np.array(rows.lo), np.array(rows.hi)
    y = np.where((y > 0) & ~np.isfinite(lo_r), 0.0, y)
    y = np.where((y < 0) & ~np.isfinite(hi_r), 0.0, y)
    row_part = np.where(y > 0, y * np.where(np.isfinite(lo_r), lo_r, 0.0),
                        y * np.where(np.isfinite(hi_r), hi_r, 0.0)).sum()
    r = c - A.T @ y
    col_lo, col_hi = np.concatenate(lb), np.concatenate(ub)
    col_part = np.where(r > 0, r * col_lo, r * col_hi).sum()
    value = float(row_part + col_part + offset)
    x = np.asarray(sol.col_value, float)
    terms = {
        "compactness": float(np.round(w_c * ua.dist_m[xu, xt]) @ x[xcol]),
        "balance": float(w_b * (x[over].sum() + x[under].sum())),
        "contiguity": float(w_e * (len(ua.edges) - x[scol].sum())),
        "detached": float(w_i * x[bcol].sum()) if len(bcol) else 0.0,
    }
    # the objective is integer: the bound rounds up (a hair of float error allowed)
    bound = float(math.ceil(value - 1e-6 * max(1.0, abs(value))))
    return LPBound(bound, status, terms, round(time.perf_counter() - t0, 3), len(c), n_rows,
                   xu, xt, x[xcol])
