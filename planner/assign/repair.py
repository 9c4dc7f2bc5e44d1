"""Balance repair that never breaks a territory's pieces apart.

Moves hand a boundary block (one unit, or a whole village/town for a team
that takes them whole) to a team it touches, only when the donor's piece
stays connected without it (the block's neighbours in the donor still reach
one another inside the donor): no move ever adds a piece to any territory.
When single moves stall, swaps exchange two touching blocks, and ejection
chains pass load along a path of touching teams from an overloaded team to
an underloaded one (each link a connectivity-keeping move). Detached pieces
are first handed whole to a touching team. The objective is the model's
balance band and compactness plus a quadratic pull towards each team's share
(so load flows downhill through chains of teams); cut edges are not counted,
since the moves keep every territory in its pieces by themselves.
"""

from __future__ import annotations

import time
from collections import deque

import numpy as np

from planner.assign.regions import neighbours
from planner.assign.rules import Rules
from planner.assign.units import OBJ_SCALE, UnitArrays


class _State:
    def __init__(self, ua: UnitArrays, rules: Rules, team: np.ndarray, allowed: np.ndarray):
        self.ua, self.rules, self.team, self.allowed = ua, rules, team, allowed
        T = ua.n_teams
        self.nbrs = neighbours(ua)
        self.load = np.bincount(team, weights=ua.workload, minlength=T).astype(float)
        self.target = ua.target_load().astype(float)
        tol = rules.balance.tolerance
        tol = 0.8 * tol  # a margin inside the band, so that max/mean stays within it
        self.hi, self.lo = np.floor(self.target * (1 + tol)), np.ceil(self.target * (1 - tol))
        band = rules.balance.tolerance  # the rules' own band (keeps_band)
        self.band_hi, self.band_lo = np.floor(self.target * (1 + band)), np.ceil(self.target * (1 - band))
        self.w_b = round(rules.balance.weight * OBJ_SCALE / 60.0)
        self.w_c = rules.compactness.weight * OBJ_SCALE / 1000.0
        self.w_e = round(rules.contiguity.weight * OBJ_SCALE)
        self.vil = ua.unit_village
        q = [rules.quotas.for_level(lv) for lv in ua.team_level]
        self.qmin = np.array([x.min_villages or 0 for x in q])
        self.qmax = np.array([x.max_villages if x.max_villages is not None else 10**9 for x in q])
        self.held: dict[tuple[int, int], int] = {}
        for u in range(ua.n_units):
            if self.vil[u] >= 0:
                k = (int(team[u]), int(self.vil[u]))
                self.held[k] = self.held.get(k, 0) + 1
        self.n_vill = np.zeros(T, int)
        for (t, _v) in self.held:
            self.n_vill[t] += 1
        self.coarse = ua.team_granularity != ua.level
        self.groups = {g: ua.group_of(g) for g in ("village", "town")}
        self.members = {g: {} for g in self.groups}
        for g, grp in self.groups.items():
            for u, k in enumerate(grp.tolist()):
                self.members[g].setdefault(k, []).append(u)

    #: the model's own terms only (polish): no quadratic pull towards the shares, cut edges counted
    exact = False
    #: the rules' balance band held as a ratchet (polish at scale): see :meth:`keeps_band`
    hold = False

    def keeps_band(self, block, d) -> bool:
        """Whether giving ``block`` to team d keeps every team it touches inside the rules' band, or
        no further outside it than now (the LNS steps' ratchet, :func:`planner.assign.model.band_hold`)."""
        lo, hi = self.band_lo, self.band_hi
        for t, x in self.shift(block, d).items():
            now, new = self.load[t], self.load[t] + x
            if max(0.0, new - hi[t], lo[t] - new) > max(0.0, now - hi[t], lo[t] - now) + 1e-9:
                return False
        return True

    def pen(self, t, ld):
        tg = max(self.target[t], 1.0)
        pull = 0.0 if self.exact else (ld - self.target[t]) ** 2 / tg
        return self.w_b * (max(0.0, ld - self.hi[t]) + max(0.0, self.lo[t] - ld) + pull)

    def group(self, g, u):
        return np.array(self.members[g][int(self.groups[g][u])])

    def whole_groups(self, block, g):
        """Is the block a union of whole groups at granularity g?"""
        keys = {int(k) for k in self.groups[g][block]}
        return sum(len(self.members[g][k]) for k in keys) == len(block)

    def blocks(self, u):
        """Blocks that unit u may leave its team in: itself (or its group for a coarse team),
        and its whole village when every unit of it is in the same team."""
        s = int(self.team[u])
        out = []
        if self.coarse[s]:
            out.append(self.group(self.ua.team_granularity[s], u))
        else:
            out.append(np.array([u]))
            if self.ua.level == "grid" and self.vil[u] >= 0:
                v = self.group("village", u)
                if len(v) > 1 and (self.team[v] == s).all():
                    out.append(v)
        return out

    def cut_off(self, block):
        """The block with every piece its removal would cut off its team (all but the heaviest
        piece of the rest): a connected block whose removal keeps the team connected."""
        s = int(self.team[block[0]])
        inb = set(block.tolist())
        rest = {v for b in block for v in self.nbrs[b] if self.team[v] == s and v not in inb}
        comps, seen = [], set(inb)
        for r in rest:
            if r in seen:
                continue
            comp, queue = [r], deque([r])
            seen.add(r)
            while queue:
                x = queue.popleft()
                for y in self.nbrs[x]:
                    if y not in seen and self.team[y] == s:
                        seen.add(y)
                        comp.append(y)
                        queue.append(y)
            comps.append(comp)
        if len(comps) < 2:
            return None
        comps.sort(key=lambda c: -float(self.ua.workload[c].sum()))
        return np.array(list(block) + [v for c in comps[1:] for v in c])

    def touches(self, block, d):
        return any(self.team[v] == d for b in block for v in self.nbrs[b])

    def keeps_connected(self, block, s):
        """Do the block's neighbours in team s still reach one another without the block?"""
        inb = set(block.tolist())
        nb = {v for b in block for v in self.nbrs[b] if v not in inb and self.team[v] == s}
        if len(nb) <= 1:
            return True
        start = next(iter(nb))
        seen, queue = {start}, deque([start])
        left = len(nb) - 1
        while queue and left:
            x = queue.popleft()
            for y in self.nbrs[x]:
                if y in seen or y in inb or self.team[y] != s:
                    continue
                seen.add(y)
                if y in nb:
                    left -= 1
                queue.append(y)
        return left == 0

    def legal(self, block, d, relax_min: bool = False):
        """Hard rules and connectivity of giving ``block`` (all of one team) to team d."""
        s = int(self.team[block[0]])
        if s == d or not self.allowed[block, d].all() or (self.team[block] != s).any():
            return False
        ua = self.ua
        for x in (d, s):  # a coarse team gives and takes whole villages/towns only
            if self.coarse[x] and not self.whole_groups(block, ua.team_granularity[x]):
                return False
        if self.load[s] - ua.workload[block].sum() <= 0 and (self.team == s).sum() == len(block):
            return False  # never empties a team
        vs = {int(v) for v in self.vil[block] if v >= 0}
        lost = sum(1 for v in vs if self.held.get((s, v), 0) == int((self.vil[block] == v).sum()))
        gain = sum(1 for v in vs if self.held.get((d, v), 0) == 0)
        if (self.n_vill[s] - lost < self.qmin[s] and not relax_min) or self.n_vill[d] + gain > self.qmax[d]:
            return False
        return self.touches(block, d) and self.keeps_connected(block, s)

    def shift(self, block, d) -> dict[int, float]:
        """Team → workload change of giving ``block`` (units of one or more teams) to team d."""
        dl: dict[int, float] = {}
        for b in block:
            sb = int(self.team[b])
            dl[sb] = dl.get(sb, 0.0) - float(self.ua.workload[b])
        w = -sum(dl.values())
        dl[d] = dl.get(d, 0.0) + w
        return dl

    def delta(self, block, d):
        """Objective change of giving ``block`` (units of one or more teams) to team d."""
        dl = self.shift(block, d)
        db = sum(self.pen(t, self.load[t] + x) - self.pen(t, self.load[t]) for t, x in dl.items())
        if not self.exact:
            return db + self.w_c * float(self.ua.dist_m[block, d].sum() - self.ua.dist_m[block, self.team[block]].sum())
        # the model's own terms: integer compactness cost per unit, and cut edges (each edge leaving
        # the block is cut after the move unless its other end is in d)
        dc = float(np.round(self.w_c * self.ua.dist_m[block, d]).sum()
                   - np.round(self.w_c * self.ua.dist_m[block, self.team[block]]).sum())
        inb = set(block.tolist())
        de = 0
        for b in block:
            tb = self.team[b]
            for v in self.nbrs[b]:
                if v not in inb:
                    de += int(self.team[v] != d) - int(self.team[v] != tb)
        dc += self.w_e * de
        return db + dc

    def apply(self, block, d):
        for b in block:
            s = int(self.team[b])
            self.load[s] -= float(self.ua.workload[b])
            self.load[d] += float(self.ua.workload[b])
            v = int(self.vil[b])
            if v >= 0:
                self.held[s, v] -= 1
                if self.held[s, v] == 0:
                    del self.held[s, v]
                    self.n_vill[s] -= 1
                if self.held.get((d, v), 0) == 0:
                    self.n_vill[d] += 1
                self.held[d, v] = self.held.get((d, v), 0) + 1
            self.team[b] = d

    def gather(self, d):
        """Whole villages (groups) touching coarse team d and held only by fine teams, each of
        which stays connected without its part: (group, d) moves with several donors."""
        g = self.ua.team_granularity[d]
        grp = self.groups[g]
        out, seen = [], set()
        for u in np.flatnonzero(self.team == d):
            for v in self.nbrs[u]:
                k = int(grp[v])
                if self.team[v] == d or k in seen:
                    continue
                seen.add(k)
                block = np.array(self.members[g][k])
                srcs = set(self.team[block].tolist())
                if d in srcs or any(self.coarse[x] for x in srcs) or not self.allowed[block, d].all():
                    continue
                if any(not self.keeps_connected(block[self.team[block] == x], x)
                       or (self.team == x).sum() == (self.team[block] == x).sum() for x in srcs):
                    continue
                vs = {int(x) for x in self.vil[block] if x >= 0}
                gain = sum(1 for x in vs if self.held.get((d, x), 0) == 0)
                if self.n_vill[d] + gain > self.qmax[d]:
                    continue
                out.append((block, d))
        return out

    def boundary_moves(self, s, relax_min: bool = False):
        """(block, receiver) pairs of team s that keep every rule and connectivity."""
        out, seen = [], set()
        for u in np.flatnonzero(self.team == s):
            rec = {int(self.team[v]) for v in self.nbrs[u]} - {s}
            if not rec:
                continue
            for block in self.blocks(int(u)):
                key = tuple(sorted(block.tolist()))
                for d in rec:
                    if (key, d) in seen:
                        continue
                    seen.add((key, d))
                    if self.legal(block, d, relax_min):
                        out.append((block, d))
                    elif not self.keeps_connected(block, s):
                        big = self.cut_off(block)
                        if big is not None and self.legal(big, d):
                            out.append((big, d))
        return out


def repair(ua: UnitArrays, rules: Rules, team: np.ndarray, *, allowed: np.ndarray | None = None,
           time_budget: float = 10.0, max_passes: int = 50, chain_depth: int = 6) -> np.ndarray:
    """Balance (and compactness) improved by connectivity-keeping moves; see the module doc.
    ``allowed``: (U, T) teams each unit may go to (default: the eligible ones)."""
    t_end = time.perf_counter() + time_budget
    team = team.copy()
    if (team < 0).any():
        return team
    st = _State(ua, rules, team, ua.eligible if allowed is None else allowed)
    _join_pieces(st)
    T = ua.n_teams
    for _ in range(max_passes):
        improved = False
        # single moves, most loaded teams first
        for s in np.argsort(-(st.load / np.maximum(st.target, 1.0)), kind="stable"):
            if time.perf_counter() > t_end:
                return st.team
            improved |= _best_move(st, int(s))
        if improved:
            continue
        # stalled: ejection chains from the most overloaded teams, then swaps
        ratio = st.load / np.maximum(st.target, 1.0)
        for s in np.argsort(-ratio, kind="stable")[: max(1, T // 5)]:
            if time.perf_counter() > t_end:
                return st.team
            if _chain(st, int(s), chain_depth) or _swap(st, int(s)):
                improved = True
        if not improved:
            break
    return st.team


def polish(ua: UnitArrays, rules: Rules, team: np.ndarray, *, allowed: np.ndarray | None = None,
           time_budget: float = 5.0, max_passes: int = 20, hold_band: bool = False) -> np.ndarray:
    """Descent on the model's own objective (balance band, with the repair's margin inside it;
    compactness; cut edges) by the repair's connectivity-keeping moves: each pass gives every
    team's best improving boundary block to a touching team. No territory gains a piece and
    every hard rule holds, as in :func:`repair`. ``hold_band``: no move pushes a team out of the
    rules' balance band or further out (as the search's steps at scale)."""
    t_end = time.perf_counter() + time_budget
    team = team.copy()
    if (team < 0).any():
        return team
    st = _State(ua, rules, team, ua.eligible if allowed is None else allowed)
    st.exact = True
    st.hold = hold_band
    for _ in range(max_passes):
        improved = False
        for s in range(ua.n_teams):
            if time.perf_counter() > t_end:
                return st.team
            improved |= _best_move(st, s)
        if not improved:
            break
    return st.team


def _best_move(st: _State, s: int) -> bool:
    """Apply team s's best improving boundary move (a whole village/town gathered, for a team
    that takes them whole); whether there was one."""
    best = None
    for block, d in st.boundary_moves(s) + (st.gather(s) if st.coarse[s] else []):
        dl = st.delta(block, d)
        if dl < -1e-9 and (best is None or dl < best[0]) and (not st.hold or st.keeps_band(block, d)):
            best = (dl, block, d)
    if best is not None:
        st.apply(best[1], best[2])
    return best is not None


def _join_pieces(st: _State) -> None:
    """Hand every detached piece whole to a touching team (a team keeps its heaviest piece in
    each part of the map: pieces in parts that touch nowhere are the geography's doing).

    The pieces are found again after every hand-over: a piece handed to a team may join two
    of its pieces, and a label found before that would cut the joined piece in two again.
    Each hand-over takes one piece from its team and merges it into a piece of the receiver,
    so the number of pieces falls every time and the loop ends."""
    from planner.assign.seeding import components

    ua = st.ua
    part = components(ua.edges, ua.n_units)
    stuck: set[tuple[int, ...]] = set()
    while True:
        e = ua.edges[st.team[ua.edges[:, 0]] == st.team[ua.edges[:, 1]]]
        lab = components(e, ua.n_units)
        best: dict[tuple[int, int], tuple[float, int]] = {}
        w = np.bincount(lab, weights=ua.workload, minlength=ua.n_units)
        for piece in np.unique(lab):
            u = int(np.flatnonzero(lab == piece)[0])
            k = (int(st.team[u]), int(part[u]))
            if k not in best or w[piece] > best[k][0]:
                best[k] = (float(w[piece]), int(piece))
        keep = {p for _, p in best.values()}
        moved = False
        for piece in np.unique(lab):
            if piece in keep:
                continue
            block = np.flatnonzero(lab == piece)
            if tuple(block.tolist()) in stuck:
                continue
            s = int(st.team[block[0]])
            opts = []
            for d in {int(st.team[v]) for b in block for v in st.nbrs[b]} - {s}:
                if st.allowed[block, d].all() and not st.coarse[d] and not st.coarse[s]:
                    opts.append((st.delta(block, d), d))
            if opts:
                st.apply(block, min(opts)[1])
                moved = True
                break
            stuck.add(tuple(block.tolist()))
        if not moved:
            return


def _chain(st: _State, s: int, depth: int) -> bool:
    """Ejection chain: pass load from team s along touching teams to one below its share."""
    excess = st.load[s] - st.target[s]
    if excess <= 0:
        return False
    prev: dict[int, tuple[int, np.ndarray] | None] = {s: None}
    carry = {s: excess}  # load each team of the chain should pass on: what it was handed
    frontier = [s]
    for _ in range(depth):
        nxt = []
        for a in frontier:
            moves: dict[int, tuple[float, np.ndarray]] = {}
            for block, d in st.boundary_moves(a):
                if d in prev:
                    continue
                fit = abs(float(st.ua.workload[block].sum()) - carry[a])
                if d not in moves or fit < moves[d][0]:
                    moves[d] = (fit, block)
            for d, (_fit, block) in moves.items():
                prev[d] = (a, block)
                carry[d] = float(st.ua.workload[block].sum())
                nxt.append(d)
                if st.load[d] < st.target[d] and _try_path(st, prev, d):
                    return True
        frontier = nxt
        if not frontier:
            break
    return False


def _try_path(st: _State, prev, end: int) -> bool:
    path = []
    d = end
    while prev[d] is not None:
        a, block = prev[d]
        path.append((block, d))
        d = a
    path.reverse()
    teams = {int(st.team[b[0]]) for b, _ in path} | {d for _, d in path}
    before = sum(st.pen(t, st.load[t]) for t in teams) + st.w_c * sum(
        float(st.ua.dist_m[b, st.team[b[0]]].sum()) for b, _ in path)
    done = []
    for block, d in path:
        if not st.legal(block, d):
            break
        src = int(st.team[block[0]])
        st.apply(block, d)
        done.append((block, src, d))
    else:
        after = sum(st.pen(t, st.load[t]) for t in teams) + st.w_c * sum(
            float(st.ua.dist_m[b, d].sum()) for b, d in path)
        if after < before - 1e-9:
            return True
    for block, src, _d in reversed(done):
        st.apply(block, src)
    return False


def _swap(st: _State, s: int) -> bool:
    """Exchange a block of team s for a touching block of a neighbour when it helps."""
    for block, d in st.boundary_moves(s, relax_min=True):
        w1 = float(st.ua.workload[block].sum())
        base_d = st.delta(block, d)
        st.apply(block, d)
        best = None
        for b2, d2 in st.boundary_moves(d):
            if d2 != s or set(b2.tolist()) & set(block.tolist()):
                continue
            w2 = float(st.ua.workload[b2].sum())
            if w2 >= w1:
                continue
            vs = {int(v) for v in st.vil[b2] if v >= 0}
            if st.n_vill[s] + sum(1 for v in vs if st.held.get((s, v), 0) == 0) < st.qmin[s]:
                continue
            dl = base_d + st.delta(b2, s)
            if dl < -1e-9 and (best is None or dl < best[0]):
                best = (dl, b2)
        if best is not None:
            st.apply(best[1], s)
            return True
        st.apply(block, s)
    return False
