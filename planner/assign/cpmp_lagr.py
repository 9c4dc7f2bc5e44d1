"""Median placement for large capacitated p-median instances: a Lagrangian heuristic.

The assignment rows ``sum_j x_ij = 1`` are relaxed with multipliers
``lambda_i``. What is left splits by median: each candidate median ``j``
solves a 0-1 knapsack (capacity ``Q_j``) over its ``K`` nearest
customers with reduced costs ``d_ij - lambda_i`` (only the negative ones
matter), and the ``p`` medians with the most negative knapsack values open::

    L(lambda) = sum_i lambda_i + sum of the p smallest rho_j,
    rho_j = min { sum_i (d_ij - lambda_i) x_ij : sum_i q_i x_ij <= Q_j, x binary }

Subgradient steps on ``lambda`` (Polyak steps towards the smaller of the
best solution value and 1.05 x the best relaxation value, halved after 8
steps without a better relaxation) move the open set towards medians that can *serve* their
surroundings within capacity, which is what Lloyd-type construction misses
when only 3-5 customers fit one median. Every few steps the relaxation is
turned into a solution: ``p`` medians whose knapsacks overlap little
(:func:`pack_rounds`; the plain ``p`` best overlap heavily until the multipliers
have converged), and the customers go to those medians by the
transportation problem plus repair and polish of :mod:`planner.assign.cpmp_lns`.

The knapsacks are solved exactly by dynamic programming over capacity,
vectorised over all medians at once (numpy). With each median's knapsack
restricted to its ``K`` nearest customers the value is *not* a valid lower
bound for the whole problem, so it is used only to steer.
"""

from __future__ import annotations

import time

import numpy as np


def knapsacks(red: np.ndarray, weight: np.ndarray, cap: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Minimise ``sum red[j, t] z[j, t]`` s.t. ``sum weight[j, t] z[j, t] <= cap[j]``, ``z`` binary, per row ``j``.

    ``weight`` and ``cap`` are non-negative integers. Returns the values (``<= 0``) and the chosen items
    (bool, shape of ``red``). Items with ``red >= 0`` are never chosen. Values are
    kept in float32 (half the memory traffic of the dynamic programme; they only steer the search)."""
    m, k = red.shape
    cmax = int(cap.max()) if m else 0
    wmax = int(weight.max()) if m else 0
    # columns 0..wmax-1 are +inf: a capacity below an item's weight reads +inf without a mask
    v = np.zeros((m, wmax + cmax + 1), np.float32)
    v[:, :wmax] = np.inf
    cols = np.arange(wmax, wmax + cmax + 1)
    keep = np.zeros((k, m, cmax + 1), bool)
    active = red < 0
    for t in range(k):
        rows = np.flatnonzero(active[:, t])
        if not len(rows):
            continue
        src = cols[None, :] - weight[rows, t][:, None]
        sub = v[rows]
        cand = np.take_along_axis(sub, src, axis=1)
        cand += red[rows, t][:, None].astype(np.float32)
        cur = sub[:, wmax:]
        better = cand < cur
        keep[t, rows] = better
        np.minimum(cur, cand, out=cur)
        v[rows] = sub
    c = np.minimum(cap.astype(np.int64), cmax)
    value = v[np.arange(m), wmax + c].astype(float)
    chosen = np.zeros((m, k), bool)
    left = c.copy()
    rows = np.arange(m)
    for t in range(k - 1, -1, -1):
        took = keep[t, rows, left]
        chosen[:, t] = took
        left = left - np.where(took, weight[:, t], 0)
    return value, chosen


def pack_rounds(red: np.ndarray, weight: np.ndarray, cap: np.ndarray, nb: np.ndarray, p: int, n: int) -> np.ndarray:
    """``p`` medians by rounds of greedy packing: the knapsacks are solved again over the customers no open
    median has taken yet, and the best non-overlapping ones open, until ``p`` are open."""
    taken = np.zeros(n, bool)
    is_open = np.zeros(len(nb), bool)
    out: list = []
    while len(out) < p:
        cand = np.flatnonzero(~is_open)
        r = red[cand].copy()
        r[taken[nb[cand]]] = 0.0  # a taken customer is worth nothing more
        rho, chosen = knapsacks(r, weight[cand], cap[cand])
        added = 0
        for t in np.argsort(rho, kind="stable").tolist():
            if len(out) == p or rho[t] >= 0:
                break
            mine = nb[cand[t]][chosen[t]]
            if not taken[mine].any():
                taken[mine] = True
                is_open[cand[t]] = True
                out.append(int(cand[t]))
                added += 1
        if not added:
            break
    if len(out) < p:  # nothing left to gain: the nearest-to-uncovered candidates fill up
        rest = np.flatnonzero(~is_open)
        score = -np.array([(~taken[nb[j]]).sum() for j in rest])
        out.extend(rest[np.argsort(score, kind="stable")[:p - len(out)]].tolist())
    return np.array(out)


def place(d: np.ndarray, demand: np.ndarray, cap: np.ndarray, p: int, *, t_end: float,
          assign, k: int | None = None, every: int = 10, start: np.ndarray | None = None,
          max_iter: int | None = None, log=None, verbose: bool = False) -> tuple[np.ndarray | None, float, dict]:
    """The Lagrangian heuristic until ``t_end``; returns the best solution (median per customer), its value
    and what it did.

    ``assign(meds) -> median_of | None`` turns an open set into a solution (capacitated assignment);
    ``start`` (a solution) sets the first step sizes; ``max_iter`` stops after that many steps (tests)."""
    n = len(d)
    per = n / p
    k = int(k or min(n, max(12, round(4 * per))))
    nb = np.argsort(d, axis=0, kind="stable")[:k].T  # nb[j]: the k nearest customers of candidate j
    dj = np.take_along_axis(d.T, nb, axis=1)
    q = np.round(demand).astype(np.int64)
    wq = q[nb]
    icap = np.floor(cap + 1e-9).astype(np.int64)
    # start: each customer worth the distance to its per-th nearest node (about the radius of a cluster)
    lam = np.sort(d, axis=1)[:, min(n - 1, int(np.ceil(per)))].astype(float)
    best, best_val = start, (np.inf if start is None else float(d[np.arange(n), start].sum()))
    seen: set = set()
    lb_best = -np.inf
    theta, stall = 1.0, 0
    it = tried = since_better = 0
    while time.perf_counter() < t_end and (max_iter is None or it < max_iter):
        red = dj - lam[nb]
        rho, chosen = knapsacks(red, wq, icap)
        open_ = np.argpartition(rho, p - 1)[:p]
        lb = lam.sum() + rho[open_].sum()
        if lb > lb_best + 1e-9:
            lb_best, stall = lb, 0
        else:
            stall += 1
            if stall >= 8:
                theta, stall = theta / 2, 0
        it += 1
        # how often each customer is served by the open medians' knapsacks (the subgradient is 1 - cover)
        cover = np.bincount(nb[open_][chosen[open_]], minlength=n)
        if it % every == 1 or every == 1:
            meds = np.sort(pack_rounds(red, wq, icap, nb, p, n))
            key = hash(meds.tobytes())
            if key not in seen and icap[meds].sum() >= q.sum():
                seen.add(key)
                tried += 1
                since_better += 1
                sol = assign(meds)
                if log and verbose:
                    log(f"try {it}: lb {lb:.1f} uncovered {(cover == 0).sum()} multi {(cover > 1).sum()} "
                        f"value {np.nan if sol is None else float(d[np.arange(n), sol].sum()):.1f}")
                if sol is not None:
                    val = float(d[np.arange(n), sol].sum())
                    if val < best_val - 1e-9:
                        best, best_val, since_better = sol, val, 0
                        if log:
                            log(f"lagrangian step {it}: solution {val:.2f} (relaxation {lb:.2f})")
        if theta < 1 / 64 and since_better >= 8:
            break  # the multipliers have settled and their solutions stopped improving: hand over
        g = 1.0 - cover
        norm = float((g * g).sum())
        if norm == 0:
            break
        target = min(best_val, 1.05 * max(lb_best, 1.0))
        lam = lam + theta * max(target - lb, 1e-6) / norm * g
    return best, best_val, dict(iterations=it, tried=tried, relaxation=lb_best, k=k)

