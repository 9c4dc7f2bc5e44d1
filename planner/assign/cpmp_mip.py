"""The capacitated p-median x/y MIP with HiGHS, over any set of customers and candidate pairs.

One builder serves the whole model (``plain_highs``, the restricted model), the
sub-problems of the large-neighbourhood search and the generalised assignment
(GAP) with fixed medians. Everything it needs travels as plain arrays, so a
worker process can solve it (:func:`solve_arrays`).

Model (local indices): binary ``x_e`` for each candidate pair ``e = (i, j)``,
binary ``y_j`` for each candidate median ``j``::

    min  sum_e c_e x_e
    s.t. sum_{e: i(e)=i} x_e = 1                 every customer exactly once
         sum_{e: j(e)=j} q_i x_e <= Q_j y_j       capacity of an open median
         x_e <= y_j(e)                            the strong (disaggregated) link
         sum_j y_j = p                            exactly p medians

``open_fixed`` fixes ``y = 1`` on the given medians and drops the ``p`` row:
that is the GAP of assigning customers to medians already chosen.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class MipResult:
    median_of: np.ndarray | None  # local median index per local customer
    status: str
    objective: float | None
    bound: float | None
    wall: float


def solve_arrays(*, pair_i: np.ndarray, pair_j: np.ndarray, cost: np.ndarray, demand: np.ndarray,
                 cap: np.ndarray, p: int | None, time_limit: float, threads: int = 1, seed: int = 0,
                 hint: np.ndarray | None = None, open_fixed: bool = False, integer_costs: bool = False,
                 cutoff: float | None = None, exchange: str | None = None) -> MipResult:
    """Solve the model above.

    ``pair_i`` (customer, 0..n_c-1) and ``pair_j`` (median, 0..n_m-1) list the
    candidate pairs with their costs; ``demand`` is per customer, ``cap`` per
    candidate median. ``hint`` (median per customer, local) is passed to HiGHS
    as a starting solution when it is consistent with the pairs. With
    ``integer_costs`` HiGHS stops as soon as the gap is below one unit.

    ``exchange`` (a folder) links the MIP to a search running beside it: HiGHS
    takes ``best.npy`` (median per customer) as a user solution whenever the
    file changes, and writes each improving solution of its own to ``mip.npy``.
    """
    import time

    import highspy
    from scipy.sparse import csc_matrix

    t0 = time.perf_counter()
    pair_i = np.asarray(pair_i, np.int64)
    pair_j = np.asarray(pair_j, np.int64)
    n_c, n_m, n_e = len(demand), len(cap), len(pair_i)
    inf = highspy.kHighsInf
    # columns: x_0..x_{E-1}, y_0..y_{M-1}; rows: assign (n_c), capacity (n_m), link (E), [p]
    e = np.arange(n_e)
    n_link = 0 if open_fixed else n_e  # with every y fixed to 1 the link rows are void
    ym = np.arange(n_m)
    rows = [pair_i, n_c + pair_j, n_c + ym]
    cols = [e, e, n_e + ym]
    vals = [np.ones(n_e), np.asarray(demand, float)[pair_i], -np.asarray(cap, float)]
    if n_link:
        rows += [n_c + n_m + e, n_c + n_m + e]
        cols += [e, n_e + pair_j]
        vals += [np.ones(n_e), -np.ones(n_e)]
    n_rows = n_c + n_m + n_link
    lo = np.concatenate([np.ones(n_c), np.full(n_m + n_link, -inf)])
    hi = np.concatenate([np.ones(n_c), np.zeros(n_m + n_link)])
    if not open_fixed:
        rows.append(np.full(n_m, n_rows))
        cols.append(n_e + ym)
        vals.append(np.ones(n_m))
        n_rows += 1
        lo = np.append(lo, p)
        hi = np.append(hi, p)
    a = csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                   shape=(n_rows, n_e + n_m))
    a.sort_indices()
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n_e + n_m, n_rows
    lp.col_cost_ = np.concatenate([np.asarray(cost, float), np.zeros(n_m)])
    lp.col_lower_ = np.concatenate([np.zeros(n_e), np.ones(n_m) if open_fixed else np.zeros(n_m)])
    lp.col_upper_ = np.ones(n_e + n_m)
    lp.row_lower_, lp.row_upper_ = lo, hi
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = n_e + n_m, n_rows
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = a.indptr, a.indices, a.data
    lp.integrality_ = [highspy.HighsVarType.kInteger] * (n_e + n_m)
    from planner.assign.bound import _quiet_highs

    h = _quiet_highs(highspy)  # (without the banner the first Highs() of a process prints on stdout)
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", max(0.05, float(time_limit)))
    h.setOptionValue("threads", int(threads))
    h.setOptionValue("random_seed", int(seed) % (1 << 31))
    h.setOptionValue("mip_rel_gap", 1e-7)
    if integer_costs:
        h.setOptionValue("mip_abs_gap", 1 - 1e-6)
    if cutoff is not None:
        h.setOptionValue("objective_bound", float(cutoff))
    h.passModel(lp)
    key = pair_i * n_m + pair_j
    order = np.argsort(key)

    def column(median_of) -> np.ndarray | None:
        """The x/y column vector of a solution given as a median per customer, if it uses listed pairs."""
        median_of = np.asarray(median_of, np.int64)
        want = np.arange(n_c) * n_m + median_of
        pos = np.searchsorted(key[order], want)
        if not ((pos < n_e).all() and (key[order][np.minimum(pos, n_e - 1)] == want).all()):
            return None
        col = np.zeros(n_e + n_m)
        col[order[pos]] = 1.0
        col[n_e + np.unique(median_of)] = 1.0
        return col

    if hint is not None:
        col = column(hint)
        if col is not None:
            sol = highspy.HighsSolution()
            sol.col_value = col
            sol.value_valid = True
            h.setSolution(sol)
    if exchange is not None:
        import os
        from pathlib import Path

        folder = Path(exchange)
        seen = {"mtime": 0.0}

        def offer(e):  # the search's best solution, when it changed
            f = folder / "best.npy"
            try:
                mtime = f.stat().st_mtime
                if mtime <= seen["mtime"]:
                    return
                seen["mtime"] = mtime
                col = column(np.load(f))
            except (OSError, ValueError):
                return
            if col is not None:
                e.data_in.setSolution(col)

        def found(e):  # HiGHS's own improving solution, for the search
            x = np.asarray(e.data_out.mip_solution)[:n_e] > 0.5
            med = np.full(n_c, -1)
            med[pair_i[x]] = pair_j[x]
            if (med >= 0).all():
                tmp = folder / "mip.tmp.npy"
                np.save(tmp, med)
                os.replace(tmp, folder / "mip.npy")

        h.cbMipUserSolution.subscribe(offer)
        h.cbMipImprovingSolution.subscribe(found)
    h.run()
    status = h.modelStatusToString(h.getModelStatus())
    info = h.getInfo()
    wall = time.perf_counter() - t0
    bound = float(info.mip_dual_bound) if np.isfinite(info.mip_dual_bound) else None
    if info.primal_solution_status != 2:  # kSolutionStatusFeasible
        return MipResult(None, status, None, bound, wall)
    x = np.asarray(h.getSolution().col_value)[:n_e] > 0.5
    med = np.full(n_c, -1)
    med[pair_i[x]] = pair_j[x]
    if (med < 0).any():
        return MipResult(None, status, None, bound, wall)
    return MipResult(med, status, float(info.objective_function_value), bound, wall)
