"""Local search on the model's own objective: the polish of the warm start.

Moves hand a block (one unit, or a whole village/town for a team that takes
them whole) to another team and keep every hard rule. Whole detached pieces
are moved too. A quadratic pull towards each team's share lets load flow
through chains of teams that are all outside the balance band.
"""

from __future__ import annotations

import numpy as np

from planner.assign.rules import Rules
from planner.assign.units import UnitArrays


def local_search(ua: UnitArrays, rules: Rules, cand: list[np.ndarray], team: np.ndarray, *,
                 max_passes: int = 30, time_budget: float = 10.0, boundary_only: bool = False) -> np.ndarray:
    """Boundary moves on the model's own objective (balance band, distance, cut edges).

    A move gives a block — one unit, or a whole village/town for a team that
    takes them whole — to a candidate team that holds a touching unit. Moves
    keep every hard rule: exactly one team, whole groups for coarse teams and
    the village quotas. Stops at a local optimum, after ``max_passes`` or
    ``time_budget`` seconds.
    """
    import time

    from planner.assign.units import OBJ_SCALE

    t_end = time.perf_counter() + time_budget
    U, T = ua.n_units, ua.n_teams
    team = team.copy()
    if (team < 0).any():
        return team
    allowed = np.zeros((U, T), bool)
    for u in range(U):
        allowed[u, cand[u]] = True
    w_c = rules.compactness.weight * OBJ_SCALE / 1000.0
    w_b = round(rules.balance.weight * OBJ_SCALE / 60.0)
    # boundary moves keep territories in one piece by themselves: there the cut edges are not
    # counted, so load can flow across a chain of teams
    w_e = 0 if boundary_only else round(rules.contiguity.weight * OBJ_SCALE)
    w_i = round(rules.contiguity.detached_weight * OBJ_SCALE)
    target = ua.target_load()
    tol = rules.balance.tolerance
    hi = np.floor(target * (1 + tol))
    lo = np.ceil(target * (1 - tol))
    load = np.bincount(team, weights=ua.workload, minlength=T).astype(float)
    nbrs: list[list[int]] = [[] for _ in range(U)]
    for i, j in ua.edges:
        nbrs[int(i)].append(int(j))
        nbrs[int(j)].append(int(i))
    mates = np.zeros(U, int)  # touching units of the same team
    for i, j in ua.edges:
        if team[i] == team[j]:
            mates[i] += 1
            mates[j] += 1
    vil = ua.unit_village
    qmin = np.array([rules.quotas.for_level(lv).min_villages or 0 for lv in ua.team_level])
    qmax = np.array([rules.quotas.for_level(lv).max_villages if rules.quotas.for_level(lv).max_villages is not None
                     else 10**9 for lv in ua.team_level])
    # villages held per team: count of units per (team, village)
    held: dict[tuple[int, int], int] = {}
    for u in range(U):
        if vil[u] >= 0:
            held[team[u], vil[u]] = held.get((team[u], vil[u]), 0) + 1
    n_vill = np.zeros(T, int)
    for (t, _v) in held:
        n_vill[t] += 1
    groups = {g: ua.group_of(g) for g in ("village", "town")}
    coarse = ua.team_granularity != ua.level

    tgt = np.maximum(target, 1.0)

    def pen(t, ld):
        # the model's band penalty, plus a quadratic pull towards the share: it lets load flow
        # downhill through teams that are all outside the band (a chain of single moves)
        return w_b * (max(0.0, ld - hi[t]) + max(0.0, lo[t] - ld) + (ld - target[t]) ** 2 / tgt[t])

    def block_of(u):
        t = team[u]
        if coarse[t]:
            grp = groups[ua.team_granularity[t]]
            return np.flatnonzero(grp == grp[u])
        return np.array([u])

    def apply_move(block, dst):
        in_block = set(block.tolist())
        for b in block:
            for v in nbrs[b]:
                if v in in_block:
                    continue
                if team[v] == team[b]:
                    mates[v] -= 1
                    mates[b] -= 1
                if team[v] == dst:
                    mates[v] += 1
                    mates[b] += 1
        for b in block:
            src = team[b]
            load[src] -= ua.workload[b]
            load[dst] += ua.workload[b]
            if vil[b] >= 0:
                v = vil[b]
                held[src, v] -= 1
                if held[src, v] == 0:
                    del held[src, v]
                    n_vill[src] -= 1
                if held.get((dst, v), 0) == 0:
                    n_vill[dst] += 1
                held[dst, v] = held.get((dst, v), 0) + 1
            team[b] = dst

    def move_delta(block, dst):
        """Objective change of giving ``block`` to ``dst``, or None when a hard rule forbids it."""
        if not allowed[block, dst].all():
            return None
        srcs = team[block]
        if (srcs == dst).all():
            return None
        if coarse[dst]:
            grp = groups[ua.team_granularity[dst]]
            members = np.flatnonzero(grp == grp[block[0]])
            if len(members) != len(block) or not np.array_equal(np.sort(members), np.sort(block)):
                return None
        d_load: dict[int, float] = {}
        lost: dict[int, int] = {}
        vs: dict[tuple[int, int], int] = {}
        for b in block:
            sb = int(team[b])
            if sb == dst:
                continue
            d_load[sb] = d_load.get(sb, 0.0) - ua.workload[b]
            d_load[dst] = d_load.get(dst, 0.0) + ua.workload[b]
            if vil[b] >= 0:
                vs[sb, vil[b]] = vs.get((sb, vil[b]), 0) + 1
        for (sb, v), k in vs.items():
            if coarse[sb]:
                grp = groups[ua.team_granularity[sb]]
                if (team[grp == grp[block[0]]] == sb).sum() != sum(1 for b in block if team[b] == sb):
                    return None
            if held.get((sb, v), 0) == k:
                lost[sb] = lost.get(sb, 0) + 1
        gain = len({v for (_sb, v) in vs if held.get((dst, v), 0) == 0})
        for sb, n in lost.items():
            if n_vill[sb] - n < qmin[sb]:
                return None
        if n_vill[dst] + gain > qmax[dst]:
            return None
        d_bal = sum(pen(t, load[t] + dl) - pen(t, load[t]) for t, dl in d_load.items())
        d_com = sum(round(w_c * ua.dist_m[b, dst]) - round(w_c * ua.dist_m[b, team[b]]) for b in block)
        in_block = set(block.tolist())
        d_cut = 0
        d_iso = 0
        gained: dict[int, int] = {}
        lost_m: dict[int, int] = {}
        for b in block:
            outside_dst = 0
            for v in nbrs[b]:
                if v in in_block:
                    continue
                same_src = team[v] == team[b]
                d_cut += int(same_src) - int(team[v] == dst)
                if same_src:
                    lost_m[v] = lost_m.get(v, 0) + 1
                if team[v] == dst:
                    gained[v] = gained.get(v, 0) + 1
                    outside_dst += 1
            after = outside_dst + sum(1 for v in nbrs[b] if v in in_block)
            d_iso += int(after == 0) - int(mates[b] == 0)
        for v, k in lost_m.items():
            d_iso += int(mates[v] - k == 0) - int(mates[v] == 0)
        for v, k in gained.items():
            d_iso += int(mates[v] + k == 0) - int(mates[v] == 0)
        return d_bal + d_com + w_e * d_cut + w_i * d_iso

    vgroup = groups["village"] if ua.level == "grid" else None
    for _ in range(max_passes):
        improved = False
        for u in range(U):
            if time.perf_counter() > t_end:
                return team
            src = team[u]
            targets = {team[v] for v in nbrs[u]} - {src}
            if not boundary_only or mates[u] == 0:
                targets |= set(cand[u].tolist()) - {src}
            if not targets:
                continue
            blocks = [block_of(u)]
            if vgroup is not None:
                whole = np.flatnonzero(vgroup == vgroup[u])
                if len(whole) != len(blocks[0]):
                    blocks.append(whole)
            done = False
            for block in blocks:
                for dst in targets:
                    delta = move_delta(block, int(dst))
                    if delta is not None and delta < 0:
                        apply_move(block, int(dst))
                        improved = done = True
                        break
                if done:
                    break
        # detached pieces: move a whole piece (not the team's largest) to a touching team
        for block in _minor_pieces(ua, team):
            if time.perf_counter() > t_end:
                return team
            touching = {int(team[v]) for b in block for v in nbrs[b]} - {int(team[block[0]])}
            best = None
            for dst in touching:
                delta = move_delta(block, dst)
                if delta is not None and delta < 0 and (best is None or delta < best[0]):
                    best = (delta, dst)
            if best is not None:
                apply_move(block, best[1])
                improved = True
        if not improved:
            break
    return team


def _minor_pieces(ua: UnitArrays, team: np.ndarray) -> list[np.ndarray]:
    """Every connected piece of a territory except its largest one."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    e = ua.edges[team[ua.edges[:, 0]] == team[ua.edges[:, 1]]]
    g = coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(ua.n_units, ua.n_units))
    _, lab = connected_components(g, directed=False)
    out = []
    for t in np.unique(team):
        pieces = np.unique(lab[team == t])
        if len(pieces) < 2:
            continue
        sizes = [(ua.workload[lab == p].sum(), p) for p in pieces]
        sizes.sort(reverse=True)
        out += [np.flatnonzero(lab == p) for _, p in sizes[1:]]
    return out


def score(ua: UnitArrays, rules: Rules, team: np.ndarray) -> float:
    """The model's objective for a plan, approximately (detached units counted as units with no
    touching unit of their team): used to pick the better warm start."""
    from planner.assign.units import OBJ_SCALE

    load = np.bincount(team, weights=ua.workload, minlength=ua.n_teams)
    target, tol = ua.target_load(), rules.balance.tolerance
    out = np.maximum(0, load - np.floor(target * (1 + tol))) + np.maximum(0, np.ceil(target * (1 - tol)) - load)
    bal = round(rules.balance.weight * OBJ_SCALE / 60.0) * out.sum()
    com = np.round(rules.compactness.weight * OBJ_SCALE / 1000.0 * ua.dist_m[np.arange(ua.n_units), team]).sum()
    same = team[ua.edges[:, 0]] == team[ua.edges[:, 1]]
    cut = round(rules.contiguity.weight * OBJ_SCALE) * int((~same).sum())
    mates = np.zeros(ua.n_units, int)
    np.add.at(mates, ua.edges[same].ravel(), 1)
    det = round(rules.contiguity.detached_weight * OBJ_SCALE) * int((mates == 0).sum())
    return float(bal + com + cut + det)
