"""Shortest travel times between snapped points, with scipy's Dijkstra.

Routing runs on the contracted graph (:mod:`geodata.network.contract`). Each
distinct snapped position becomes a node of its own, splitting its chain, so
the partial segment on either side counts exactly and two points on the same
chain reach each other along it. Times come from
:func:`scipy.sparse.csgraph.dijkstra` run from every distinct origin position;
the metres of each fastest path are summed along the shortest-path tree.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import csr_array
from scipy.sparse.csgraph import dijkstra

from geodata.network.contract import Chains
from geodata.network.graph import RoadNetwork

#: fractions this close to a segment end count as the end
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
    chains = network.mode_graph(mode).chains
    node_of, n_total, (a, b, secs, metres) = _split_graph(chains, seg, fraction)
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
    return out_s[src_inv.ravel()], out_m[src_inv.ravel()]


def _split_graph(ch: Chains, seg: np.ndarray, fraction: np.ndarray):
    """Node of each point, node count, and the directed edges (from, to, seconds, metres)."""
    n = ch.n_junctions
    g = ch.seg_flat[seg]
    o = np.where(ch.seg_along[seg], fraction, 1.0 - fraction)
    c = ch.seg_chain[seg]
    first, last = ch.offset[c], ch.offset[c + 1] - 1
    # one spelling per place: the end of a segment is the start of the next one
    step = (o >= 1 - _END_EPS) & (g < last)
    g, o = np.where(step, g + 1, g), np.where(step, 0.0, o)
    o = np.where(o <= _END_EPS, 0.0, np.where(o >= 1 - _END_EPS, 1.0, o))
    at_start = (g == first) & (o == 0.0)
    at_end = (g == last) & (o == 1.0)
    node_of = np.where(at_start, ch.start[c], ch.end[c]).astype(np.int64)
    inner = ~(at_start | at_end)
    uniq, inv = np.unique(np.stack([g[inner].astype(float), o[inner]], axis=1), axis=0, return_inverse=True)
    node_of[inner] = n + inv.ravel()
    pg, po = uniq[:, 0].astype(np.int64), uniq[:, 1]
    pc = np.searchsorted(ch.offset, pg, side="right") - 1
    new = n + np.arange(len(uniq))
    begins = np.ones(len(uniq), bool)
    begins[1:] = pc[1:] != pc[:-1]
    finishes = np.ones(len(uniq), bool)
    finishes[:-1] = begins[1:]
    # pieces A → B along each chain that holds points: start/previous point → point, last point → end
    a_node = np.concatenate([np.where(begins, ch.start[pc], np.roll(new, 1)), new[finishes]])
    b_node = np.concatenate([new, ch.end[pc[finishes]]])
    a_g = np.concatenate([np.where(begins, ch.offset[pc], np.roll(pg, 1)), pg[finishes]])
    a_o = np.concatenate([np.where(begins, 0.0, np.roll(po, 1)), po[finishes]])
    b_g = np.concatenate([pg, ch.offset[pc[finishes] + 1] - 1])
    b_o = np.concatenate([po, np.ones(int(finishes.sum()))])
    lo = np.where(a_o < 1.0, a_g, a_g + 1)
    hi = np.where(b_o > 0.0, b_g, b_g - 1)
    pieces = []
    for cum, own, no, cnt in (
        (ch.cum_length, ch.own_length, None, None),
        (ch.cum_forward, ch.own_forward, ch.no_forward, ch.cnt_no_forward),
        (ch.cum_backward, ch.own_backward, ch.no_backward, ch.cnt_no_backward),
    ):
        value = (cum[b_g] + b_o * own[b_g]) - (cum[a_g] + a_o * own[a_g])
        if no is not None:
            blocked = (hi >= lo) & (cnt[hi] + no[hi] - cnt[lo] > 0)
            value = np.where(blocked, np.inf, value)
        pieces.append(value)
    p_len, p_fwd, p_bwd = pieces
    whole = np.setdiff1d(np.arange(len(ch.start)), pc)
    a_all = np.concatenate([ch.start[whole], a_node])
    b_all = np.concatenate([ch.end[whole], b_node])
    length = np.concatenate([ch.length[whole], p_len])
    fwd = np.concatenate([ch.forward[whole], p_fwd])
    bwd = np.concatenate([ch.backward[whole], p_bwd])
    a = np.concatenate([a_all, b_all])
    b = np.concatenate([b_all, a_all])
    secs = np.concatenate([fwd, bwd])
    metres = np.concatenate([length, length])
    ok = np.isfinite(secs) & (a != b)
    a, b, secs, metres = a[ok], b[ok], secs[ok], metres[ok]
    # parallel edges: keep the fastest (a sparse matrix would add them up)
    order = np.lexsort((secs, b, a))
    a, b, secs, metres = a[order], b[order], secs[order], metres[order]
    keep = np.ones(len(a), bool)
    keep[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    secs = np.maximum(secs[keep], 1e-9)  # an explicit 0 would read as "no edge"
    return node_of, n + len(uniq), (a[keep], b[keep], secs, np.maximum(metres[keep], 0.0))


def _uniform_speed(secs: np.ndarray, metres: np.ndarray) -> float | None:
    """metres per second if every edge has the same speed (then metres = seconds × speed)."""
    if len(secs) == 0:
        return 1.0
    speed = metres / secs
    lo, hi = speed.min(), speed.max()
    return float(np.median(speed)) if hi - lo <= 1e-6 * hi else None


def _tree_sums(pred: np.ndarray, lengths: csr_array) -> np.ndarray:
    """Metres from each row's source to every node along its shortest-path tree.

    Pointer jumping: each node holds its distance to an ancestor, and every round
    doubles how far up the ancestor is, so ~log2(depth) vectorised rounds.
    """
    node = np.broadcast_to(np.arange(pred.shape[1]), pred.shape)
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
