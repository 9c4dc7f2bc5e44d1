"""Shortest travel times between snapped points, with scipy's Dijkstra.

Each distinct snapped position becomes a node of its own, splitting its
segment, so the partial segment on either side counts exactly and two points
on the same segment reach each other along it. Times come from
:func:`scipy.sparse.csgraph.dijkstra` run from every distinct origin position;
the metres of each fastest path are summed along the shortest-path tree.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import csr_array
from scipy.sparse.csgraph import dijkstra

from geodata.network.graph import RoadNetwork

#: fractions this close to a segment end snap onto the end node
_END_EPS = 1e-9
#: Dijkstra rows held in memory at once: sources per batch × nodes ≤ this
_BATCH_CELLS = 2_000_000


def network_times(
    network: RoadNetwork, mode: str, seg: np.ndarray, fraction: np.ndarray, origins: np.ndarray, destinations: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Seconds and metres on the road between snapped positions.

    ``seg``/``fraction`` describe every snapped point; ``origins`` and
    ``destinations`` index into them. Unconnected pairs are ``inf``.
    """
    mg = network.mode_graph(mode)
    node_of, n_total, (a, b, secs, metres) = _split_graph(network, mg, seg, fraction)
    graph = csr_array((secs, (a, b)), shape=(n_total, n_total))
    lengths = csr_array((metres, (a, b)), shape=(n_total, n_total))
    sources, src_inv = np.unique(node_of[origins], return_inverse=True)
    targets = node_of[destinations]
    uniform = _uniform_speed(secs, metres)
    out_s = np.empty((len(sources), len(targets)))
    out_m = np.empty_like(out_s)
    batch = max(1, _BATCH_CELLS // max(n_total, 1))
    for start in range(0, len(sources), batch):
        chunk = sources[start:start + batch]
        if uniform is None:
            dist, pred = dijkstra(graph, directed=True, indices=chunk, return_predecessors=True)
            out_m[start:start + batch] = _tree_sums(pred, lengths)[:, targets]
        else:
            dist = dijkstra(graph, directed=True, indices=chunk)
        out_s[start:start + batch] = dist[:, targets]
    if uniform is not None:
        out_m = out_s * uniform
    out_m[~np.isfinite(out_s)] = np.inf
    return out_s[src_inv], out_m[src_inv]


def _split_graph(network, mg, seg, fraction):
    """Node of each point, node count, and the directed edges (from, to, seconds, metres)."""
    n = network.n_nodes
    u, v = network.seg_u[seg], network.seg_v[seg]
    inner = (fraction > _END_EPS) & (fraction < 1 - _END_EPS)
    node_of = np.where(fraction <= _END_EPS, u, v).astype(np.int64)
    # distinct inner positions → new nodes n, n+1, ...; sorted by segment then fraction
    pos = np.stack([seg[inner].astype(float), fraction[inner]], axis=1)
    uniq, inv = np.unique(pos, axis=0, return_inverse=True)
    node_of[inner] = n + inv.ravel()
    useg, ufrac = uniq[:, 0].astype(np.int64), uniq[:, 1]
    new = n + np.arange(len(uniq))
    # pieces: end-or-previous point → point, and last point → segment end
    first = np.ones(len(uniq), bool)
    first[1:] = useg[1:] != useg[:-1]
    last = np.ones(len(uniq), bool)
    last[:-1] = first[1:]
    prev_node = np.where(first, network.seg_u[useg], np.roll(new, 1))
    prev_frac = np.where(first, 0.0, np.roll(ufrac, 1))
    p_seg = np.concatenate([useg, useg[last]])
    p_from = np.concatenate([prev_node, new[last]])
    p_to = np.concatenate([new, network.seg_v[useg[last]]])
    p_share = np.concatenate([ufrac - prev_frac, 1.0 - ufrac[last]])
    whole = np.setdiff1d(mg.usable, useg)
    e_seg = np.concatenate([whole, p_seg])
    e_from = np.concatenate([network.seg_u[whole], p_from])
    e_to = np.concatenate([network.seg_v[whole], p_to])
    e_share = np.concatenate([np.ones(len(whole)), p_share])
    fwd = mg.seconds_forward[e_seg] * e_share
    bwd = mg.seconds_backward[e_seg] * e_share
    length = network.seg_length[e_seg] * e_share
    a = np.concatenate([e_from, e_to])
    b = np.concatenate([e_to, e_from])
    secs = np.concatenate([fwd, bwd])
    metres = np.concatenate([length, length])
    ok = np.isfinite(secs)
    a, b, secs, metres = a[ok], b[ok], secs[ok], metres[ok]
    # parallel edges: keep the fastest (a sparse matrix would add them up)
    order = np.lexsort((secs, b, a))
    a, b, secs, metres = a[order], b[order], secs[order], metres[order]
    keep = np.ones(len(a), bool)
    keep[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    secs = np.maximum(secs[keep], 1e-9)  # an explicit 0 would read as "no edge"
    return node_of, n + len(uniq), (a[keep], b[keep], secs, metres[keep])


def _uniform_speed(secs: np.ndarray, metres: np.ndarray) -> float | None:
    """metres per second if every edge has the same speed (then metres = seconds × speed)."""
    if len(secs) == 0:
        return 1.0
    speed = metres / secs
    lo, hi = speed.min(), speed.max()
    return float(np.median(speed)) if hi - lo <= 1e-9 * hi else None


def _tree_sums(pred: np.ndarray, lengths: csr_array) -> np.ndarray:
    """Metres from each row's source to every node along its shortest-path tree.

    Pointer jumping: each node holds its distance to an ancestor, and every round
    doubles how far up the ancestor is, so ~log2(depth) vectorised rounds.
    """
    rows, cols = pred.shape
    node = np.broadcast_to(np.arange(cols), pred.shape)
    has = pred >= 0
    anc = np.where(has, pred, node)
    acc = np.zeros(pred.shape)
    acc[has] = lengths[pred[has], node[has]]
    while True:
        nxt = np.take_along_axis(anc, anc, axis=1)
        if np.array_equal(nxt, anc):
            return acc
        acc += np.take_along_axis(acc, anc, axis=1)
        anc = nxt
