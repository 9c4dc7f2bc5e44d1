"""Why a team's workload is outside the balance band (均衡), in words for the plan's summary.

The question a planner asks of an overloaded team is "why not give a village to
the neighbour?". :func:`why_out_of_band` tries every single hand-over across the
team's boundary: each block it could give (or, when it is below the band, take),
a whole village or town for a team that takes them whole, a unit otherwise, to
or from each touching team, and checks what a plan must keep: both territories
stay in one piece each, the other team stays inside its band, eligibility
(towns' own teams) and the village quotas hold, and the team itself lands inside
its band. It names the single hand-over that would do (the search then missed or
traded it), or says what stops each one, with the numbers. Swaps and chains of
hand-overs are not tried: "no single hand-over" is what it claims.
"""

from __future__ import annotations

from collections import Counter
from typing import NamedTuple

import numpy as np

from planner.assign.regions import neighbours
from planner.assign.rules import Rules
from planner.assign.units import UnitArrays


#: what stops a single hand-over (the ``kind`` of :func:`band_reason` after "no_single_handover:")
STOPS = {
    "go to a team that may not work there": "ineligible",
    "split a village for a team that takes them whole": "splits_village",
    "split a town for a team that takes them whole": "splits_village",
    "put a team over its village quota": "over_quota",
    "put a team under its village quota": "under_quota",
    "push the taking team above the band": "taker_over_band",
    "leave the giving team below the band": "giver_under_band",
    "not be enough to reach the band": "not_enough",
    "cut the giving team's territory in two": "cuts_giver",
}


class Reason(NamedTuple):
    """Why a soft goal is bent for one team: ``kind`` (a short code a page can translate) and
    ``text`` (the whole reason in English, with the numbers)."""

    kind: str
    text: str


def why_out_of_band(ua: UnitArrays, team: np.ndarray, t: int, rules: Rules) -> str:
    """Why team ``t`` (above or below the band) was left there; see the module doc."""
    return band_reason(ua, team, t, rules).text


def band_reason(ua: UnitArrays, team: np.ndarray, t: int, rules: Rules) -> Reason:
    """:func:`why_out_of_band` with its kind: ``handover_missed`` (a single hand-over would do),
    ``isolated`` (no team touches it) or ``no_single_handover:STOP`` (STOP: what stops most of
    them, a value of :data:`STOPS`)."""
    tol = rules.balance.tolerance
    tgt = np.maximum(ua.target_load(), 1.0)
    load = np.bincount(team, weights=ua.workload, minlength=ua.n_teams).astype(float)
    over = load[t] > tgt[t] * (1 + tol)
    nb = neighbours(ua)
    stops: Counter = Counter()
    examples: dict[str, str] = {}
    tried = 0
    # over: t gives a block of its own to a touching team; under: t takes one from a touching team
    owners = [t] if over else sorted({int(team[v]) for u in np.flatnonzero(team == t) for v in nb[u]} - {t})
    for owner in owners:
        for block in _boundary_blocks(ua, team, owner, t if not over else None, nb):
            takers = [t] if not over else sorted({int(team[v]) for u in block for v in nb[u]} - {t})
            for taker in takers:
                tried += 1
                why = _blocked(ua, rules, team, block, owner, taker, load, tgt, tol)
                if why is None:
                    return Reason("handover_missed", (
                        f"handing {_name(ua, block)} from {ua.team_ids[owner]} to {ua.team_ids[taker]} would "
                        f"bring it inside the band with every rule kept; the search did not keep that move "
                        f"(it traded it for compactness or contiguity elsewhere, or ran out of time)"))
                stops[why[0]] += 1
                examples.setdefault(why[0], why[1])
    if not tried:
        return Reason("isolated", "no other team touches its territory")
    parts = [f"{n} would {reason} (e.g. {examples[reason]})" for reason, n in stops.most_common()]
    verb = "give" if over else "take"
    main = STOPS.get(stops.most_common(1)[0][0], "other")
    return Reason(f"no_single_handover:{main}", (
        f"no single hand-over across its boundary fixes it: of the {tried} it could {verb} "
        f"(a {'block' if ua.team_granularity[t] == ua.level else ua.team_granularity[t]} to or from a touching "
        f"team), " + "; ".join(parts)))


def _blocked(ua, rules, team, block, owner, taker, load, tgt, tol) -> tuple[str, str] | None:
    """The first rule a hand-over of ``block`` from ``owner`` to ``taker`` breaks, as (reason,
    example), or None when it breaks none and brings both teams inside their bands."""
    w = float(ua.workload[block].sum())
    name = _name(ua, block)
    if not ua.eligible[block, taker].all():
        return "go to a team that may not work there", f"{name} → {ua.team_ids[taker]}"
    g = ua.team_granularity[taker]
    if g != ua.level:
        grp = ua.group_of(g)
        whole = np.isin(grp, grp[block])
        if not np.isin(np.flatnonzero(whole), np.concatenate([block, np.flatnonzero(team == taker)])).all():
            return (f"split a {g} for a team that takes them whole",
                    f"{name} → {ua.team_ids[taker]} ({ua.team_level[taker]})")
    q = rules.quotas.for_level(ua.team_level[taker])
    if q.max_villages is not None:
        vil = set(ua.unit_village[(team == taker) & (ua.unit_village >= 0)].tolist()) | set(
            ua.unit_village[block][ua.unit_village[block] >= 0].tolist())
        if len(vil) > q.max_villages:
            return (f"put a team over its village quota", f"{ua.team_ids[taker]} would hold {len(vil)} villages, "
                    f"quota {q.max_villages}")
    q = rules.quotas.for_level(ua.team_level[owner])
    if q.min_villages is not None:
        rest = (team == owner) & ~np.isin(np.arange(ua.n_units), block)
        if len(set(ua.unit_village[rest & (ua.unit_village >= 0)].tolist())) < q.min_villages:
            return "put a team under its village quota", f"{ua.team_ids[owner]} below {q.min_villages} villages"
    ratio_taker = (load[taker] + w) / tgt[taker]
    if ratio_taker > 1 + tol:
        return ("push the taking team above the band",
                f"{name} ({w / 60:.0f} h) → {ua.team_ids[taker]} at {ratio_taker:.3f} × share")
    ratio_owner = (load[owner] - w) / tgt[owner]
    if ratio_owner < 1 - tol:
        return ("leave the giving team below the band",
                f"{ua.team_ids[owner]} at {ratio_owner:.3f} × share without {name} ({w / 60:.0f} h)")
    if ratio_owner > 1 + tol or ratio_taker < 1 - tol:
        short = owner if ratio_owner > 1 + tol else taker
        return ("not be enough to reach the band",
                f"{name} ({w / 60:.0f} h) leaves {ua.team_ids[short]} at "
                f"{ratio_owner if short == owner else ratio_taker:.3f} × share")
    if _pieces(ua, team, owner, drop=block) > _pieces(ua, team, owner):
        return "cut the giving team's territory in two", f"{ua.team_ids[owner]} without {name}"
    return None


def _boundary_blocks(ua, team, owner, toward, nb) -> list[np.ndarray]:
    """The blocks ``owner`` could hand over across its boundary (to ``toward`` only, when given):
    its whole villages/towns when it takes them whole, else its units."""
    mine = np.flatnonzero(team == owner)
    edge = [u for u in mine if any(team[v] != owner and (toward is None or team[v] == toward) for v in nb[u])]
    g = ua.team_granularity[owner]
    if g == ua.level and (toward is None or ua.team_granularity[toward] == ua.level):
        return [np.array([u]) for u in edge]
    gg = g if g != ua.level else ua.team_granularity[toward]
    grp = ua.group_of(gg)
    return [mine[grp[mine] == k] for k in sorted(set(grp[edge].tolist()))]


def _pieces(ua, team, t, drop=None) -> int:
    from planner.assign.seeding import components

    mine = team == t
    if drop is not None:
        mine = mine.copy()
        mine[drop] = False
    e = ua.edges[mine[ua.edges[:, 0]] & mine[ua.edges[:, 1]]]
    lab = components(e, ua.n_units)
    return len(np.unique(lab[mine]))


def _name(ua, block: np.ndarray) -> str:
    vil = sorted(set(ua.unit_village[block].tolist()))
    if ua.level != "grid" or len(block) == 1:
        return f"{ua.level} {ua.unit_ids[block[0]]}" if len(block) == 1 else f"{len(block)} {ua.level}s"
    if len(vil) == 1 and vil[0] >= 0 and (ua.unit_village == vil[0]).sum() == len(block):
        return f"village {ua.village_ids[vil[0]]}"
    return f"{len(block)} grids"


def touching_group_sets(ua: UnitArrays, t: int, rules: Rules, may_take: np.ndarray | None = None) -> tuple[list, bool]:
    """For team ``t`` that takes whole villages (or towns): the sets of touching ones it may take
    (``may_take``: a mask of the units it may take, by default its eligible ones) whose workload
    lies inside its balance band and whose count meets its village quota, nearest its base (mean
    distance) first, each as ``(group indices, minutes)``; and whether the search was exhaustive.
    With a quota of at most 3 every connected set of 1-3 is tried (none found then proves there is
    none: the rules force the pieces); with more, sets grown from each one by its nearest touching
    neighbours (none found then proves nothing)."""
    g = ua.team_granularity[t]
    group = ua.group_of(g)
    inside = group >= 0
    n_g = int(group.max()) + 1 if inside.any() else 0
    if not n_g:
        return [], True
    ok = ua.eligible[:, t] if may_take is None else may_take
    size = np.bincount(group[inside], minlength=n_g)
    may = np.bincount(group[inside], weights=ok[inside], minlength=n_g) == size
    may &= size > 0
    load = np.bincount(group[inside], weights=np.trunc(ua.workload[inside]), minlength=n_g)
    dist = np.bincount(group[inside], weights=ua.dist_m[inside, t], minlength=n_g) / np.maximum(size, 1)
    tol = rules.balance.tolerance
    target = max(float(ua.target_load()[t]), 1.0)
    lo, hi = np.ceil(target * (1 - tol)), np.floor(target * (1 + tol))
    q = rules.quotas.for_level(ua.team_level[t])
    kmin = max(1, q.min_villages or 1) if g == "village" else 1
    kmax = (q.max_villages or n_g) if g == "village" else n_g
    adj: list[set] = [set() for _ in range(n_g)]
    gi, gj = group[ua.edges[:, 0]], group[ua.edges[:, 1]]
    for a, b in zip(gi.tolist(), gj.tolist()):
        if a >= 0 and b >= 0 and a != b and may[a] and may[b]:
            adj[a].add(b)
            adj[b].add(a)

    def fits(s) -> bool:
        return kmin <= len(s) <= kmax and lo <= load[list(s)].sum() <= hi

    candidates = np.flatnonzero(may)
    if kmax <= 3:  # every connected set of 1-3
        sets = {(int(a),) for a in candidates}
        sets |= {tuple(sorted((int(a), b))) for a in candidates for b in adj[a]}
        if kmax >= 3:
            sets |= {tuple(sorted(set(p) | {c})) for p in [s for s in sets if len(s) == 2]
                     for c in adj[p[0]] | adj[p[1]] if c not in p}
    else:  # grown from each one: its nearest touching neighbour that keeps it inside the band's top
        sets = set()
        for a in candidates:
            s, w = [int(a)], float(load[a])
            while w < lo and len(s) < kmax:
                nxt = [b for b in set().union(*(adj[x] for x in s)) - set(s) if w + load[b] <= hi]
                if not nxt:
                    break
                b = min(nxt, key=lambda b: (dist[b], b))
                s.append(b)
                w += load[b]
            sets.add(tuple(sorted(s)))
    found = sorted((float(dist[list(s)].mean()), s) for s in sets if fits(s))
    return [(np.array(s), float(load[list(s)].sum())) for _, s in found], kmax <= 3


def touching_groups_in_band(ua: UnitArrays, t: int, rules: Rules) -> tuple[tuple[list[str], float] | None, bool]:
    """The nearest of :func:`touching_group_sets` as ``(ids, minutes)`` or ``None``, and whether
    the search was exhaustive (``None`` then proves the rules force the pieces)."""
    found, exhaustive = touching_group_sets(ua, t, rules)
    if not found:
        return None, exhaustive
    best, minutes = found[0]
    g = ua.team_granularity[t]
    names = ua.village_ids if g == "village" and ua.level == "grid" else (
        ua.town_ids if g == "town" else ua.unit_ids)
    return ([str(names[k]) for k in best], minutes), exhaustive
