"""Contraction of the road graph: chains of segments through degree-2 vertices.

Most vertices of an OSM way are only there to draw a curve. Routing runs on
the *junctions* (vertices where other than two usable segments meet) joined by
*chains* (the runs of segments between them), which has ~10× fewer nodes; the
per-segment cumulative sums below still place a point anywhere on a chain.

Positions along a chain are given "in chain direction" (from its ``start`` to
its ``end`` junction); a segment drawn the other way has its forward and
backward times swapped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class Chains:
    #: contracted index of each network node, -1 for chain-interior or unused nodes
    node_id: np.ndarray
    #: number of junctions
    n_junctions: int
    #: chain ``c`` owns flat positions ``offset[c]:offset[c + 1]``
    offset: np.ndarray
    #: per chain: start and end junction (contracted ids), metres, seconds start→end and end→start (inf if not allowed)
    start: np.ndarray
    end: np.ndarray
    length: np.ndarray
    forward: np.ndarray
    backward: np.ndarray
    #: per network segment (-1 / 0 where unusable): chain, flat position ``chain_offset[chain] + k``, drawn along the chain?
    seg_chain: np.ndarray
    seg_flat: np.ndarray
    seg_along: np.ndarray
    #: per flat position (chain order): metres / seconds forward / seconds backward before it within its chain,
    #: the segment's own values, and whether it forbids each direction (counted before it within the chain)
    cum_length: np.ndarray
    cum_forward: np.ndarray
    cum_backward: np.ndarray
    own_length: np.ndarray
    own_forward: np.ndarray
    own_backward: np.ndarray
    no_forward: np.ndarray
    no_backward: np.ndarray
    cnt_no_forward: np.ndarray
    cnt_no_backward: np.ndarray


def build_chains(n_nodes: int, u: np.ndarray, v: np.ndarray, length: np.ndarray,
                 fwd: np.ndarray, bwd: np.ndarray, usable: np.ndarray) -> Chains:
    """Split the usable segments into chains between junctions."""
    deg = np.bincount(u[usable], minlength=n_nodes) + np.bincount(v[usable], minlength=n_nodes)
    junction = deg != 2
    ends = np.concatenate([u[usable], v[usable]])
    segs = np.concatenate([usable, usable])
    order = np.argsort(ends, kind="stable")
    ptr = np.concatenate([[0], np.cumsum(np.bincount(ends, minlength=n_nodes))]).tolist()
    incident = segs[order].tolist()
    ul, vl, is_junction = u.tolist(), v.tolist(), junction.tolist()
    seen = np.zeros(len(u), bool)
    flat_seg: list[int] = []
    flat_along: list[bool] = []
    chain_start: list[int] = []
    chain_end: list[int] = []
    offsets = [0]

    def walk(node: int, s: int) -> None:
        chain_start.append(node)
        while True:
            seen[s] = True
            along = ul[s] == node
            flat_seg.append(s)
            flat_along.append(along)
            node = vl[s] if along else ul[s]
            if is_junction[node]:
                break
            a, b = incident[ptr[node]], incident[ptr[node] + 1]
            s = b if a == s else a
        chain_end.append(node)
        offsets.append(len(flat_seg))

    for node in np.flatnonzero(junction & (deg > 0)).tolist():
        for i in range(ptr[node], ptr[node + 1]):
            if not seen[incident[i]]:
                walk(node, incident[i])
    for s in usable.tolist():  # rings with no junction: make one
        if not seen[s]:
            is_junction[ul[s]] = True
            junction[ul[s]] = True
            walk(ul[s], s)

    node_id = np.full(n_nodes, -1, np.int64)
    node_id[junction & (deg > 0)] = np.arange(int((junction & (deg > 0)).sum()))
    fs = np.array(flat_seg, np.int64)
    fa = np.array(flat_along, bool)
    off = np.array(offsets, np.int64)
    n_chains = len(chain_start)
    chain_of = np.repeat(np.arange(n_chains), np.diff(off))
    own_len = length[fs]
    own_f = np.where(fa, fwd[fs], bwd[fs])
    own_b = np.where(fa, bwd[fs], fwd[fs])
    no_f, no_b = ~np.isfinite(own_f), ~np.isfinite(own_b)

    def before(values):
        c = np.cumsum(values)
        start = (c - values)[off[:-1]] if n_chains else np.zeros(0)
        return c - values - np.repeat(start, np.diff(off))

    def total(values):
        return np.add.reduceat(values, off[:-1]) if n_chains else np.zeros(0)

    f0, b0 = np.where(no_f, 0.0, own_f), np.where(no_b, 0.0, own_b)
    seg_chain = np.full(len(u), -1, np.int64)
    seg_flat = np.zeros(len(u), np.int64)
    seg_along = np.zeros(len(u), bool)
    seg_chain[fs], seg_flat[fs], seg_along[fs] = chain_of, np.arange(len(fs)), fa
    return Chains(
        node_id=node_id,
        n_junctions=int((junction & (deg > 0)).sum()),
        offset=off,
        start=node_id[np.array(chain_start, np.int64)],
        end=node_id[np.array(chain_end, np.int64)],
        length=total(own_len),
        forward=np.where(total(no_f.astype(np.int64)) > 0, np.inf, total(f0)),
        backward=np.where(total(no_b.astype(np.int64)) > 0, np.inf, total(b0)),
        seg_chain=seg_chain, seg_flat=seg_flat, seg_along=seg_along,
        cum_length=before(own_len), cum_forward=before(f0), cum_backward=before(b0),
        own_length=own_len, own_forward=f0, own_backward=b0,
        no_forward=no_f, no_backward=no_b,
        cnt_no_forward=before(no_f.astype(np.int64)), cnt_no_backward=before(no_b.astype(np.int64)),
    )
