"""Infeasible rules in words, with numbers.

Two sources: :func:`precheck` (counting arguments before any solving:
supply of qualifying cadres against demand, quotas against villages, units
no team may take) and the rule literals CP-SAT names in
``sufficient_assumptions_for_infeasibility`` (:func:`describe_literal`).
"""

from __future__ import annotations

from itertools import combinations

import numpy as np

from geodata.errors import ZoufangError
from planner.assign.mustvisit import demands, qualifies, slot_groups
from planner.assign.rules import Rules
from planner.assign.units import UnitArrays


class InfeasibleError(ZoufangError, RuntimeError):
    """The hard rules cannot all hold; ``conflicts`` says which and why, with numbers."""

    def __init__(self, conflicts):
        self.conflicts = list(conflicts)
        super().__init__("the rules cannot all be met:\n  - " + "\n  - ".join(self.conflicts))


def precheck(campaign, ua: UnitArrays, rules: Rules) -> list[str]:
    """Conflicts found by counting, before solving (empty when none is found)."""
    out: list[str] = []
    # units that no team may take
    none = np.flatnonzero(~ua.eligible.any(axis=1))
    if len(none):
        towns = sorted({str(s) for s in ua.town_ids[ua.unit_town[none]]})
        out.append(
            f"{len(none)} {ua.level}(s) in town(s) {towns[:5]} have no team allowed to take them "
            f"(teams with cadres: {int((ua.team_cadres > 0).sum())}; town teams only take their own town "
            f"when [units] town_teams_in_own_town = true) — e.g. {[str(s) for s in ua.unit_ids[none[:3]]]}"
        )
    empty = ua.team_ids[ua.team_cadres == 0]
    if len(empty) == ua.n_teams:
        out.append("no team has any cadre: every household needs a responsible cadre")
    # village quotas
    n_vill = len(ua.village_ids)
    total_min = 0
    for level in ("city", "county", "town"):
        q = rules.quotas.for_level(level)
        n_t = int(((ua.team_level == level) & (ua.team_cadres > 0)).sum())
        if q.min_villages:
            total_min += n_t * q.min_villages
            if n_t * q.min_villages > n_vill:
                out.append(f"[quotas.{level}] min_villages = {q.min_villages}: {n_t} {level} teams need at least "
                           f"{n_t * q.min_villages} villages, but the campaign has only {n_vill}")
    coarse = [lv for lv in ("city", "county", "town") if rules.units.granularity(lv) in ("village", "town")]
    if total_min > n_vill and all(rules.quotas.for_level(lv).min_villages is None or lv in coarse for lv in coarse) and len(coarse) > 1:
        out.append(f"the village minimums of all team levels add up to {total_min} villages held whole, "
                   f"but the campaign has only {n_vill}")
    maxes = [rules.quotas.for_level(lv).max_villages for lv in set(ua.team_level)]
    if maxes and all(m is not None for m in maxes):
        cap = sum(rules.quotas.for_level(lv).max_villages * int(((ua.team_level == lv) & (ua.team_cadres > 0)).sum())
                  for lv in set(ua.team_level))
        if cap < n_vill:
            out.append(f"every team level has max_villages, together at most {cap} villages, "
                       f"but the campaign has {n_vill} that all need a team")
    out += _must_visit_supply(campaign, rules)
    return out


def _must_visit_supply(campaign, rules: Rules) -> list[str]:
    """Hall's condition on every set of slot kinds: demand ≤ what the qualifying cadres can take."""
    cad = campaign.cadres.reset_index(drop=True)
    cap_all = rules.quotas.max_must_visits_per_cadre
    kinds = []  # (label, demand, qualifying mask, per-cadre cap, rule)
    for d in demands(campaign, rules):
        for kind, need in slot_groups(d.rule):
            n = len(d.entity_ids)
            if n == 0:
                continue
            q = qualifies(cad, kind)
            kinds.append((d.rule, kind, n, need, q))
            label = kind.replace("rank>=", "rank ≥ ").replace("level=", "level ")
            n_q = int(q.sum())
            if n_q < need:
                out_msg = (f"{d.rule.describe()}: {n} {d.rule.entity}(s) need {need} distinct cadre(s) of {label} "
                           f"each, but only {n_q} such cadre(s) exist")
                return [out_msg]
            supply = n_q * min(d.rule.max_per_cadre, cap_all)
            if n * need > supply:
                return [f"{d.rule.describe()}: {n} {d.rule.entity}(s) need {n * need} visits by cadres of {label}, "
                        f"but only {n_q} such cadre(s) exist × at most {min(d.rule.max_per_cadre, cap_all)} each "
                        f"(max_per_cadre / [quotas] max_must_visits_per_cadre) = {supply}"]
    out = []
    for size in range(2, min(len(kinds), 6) + 1):
        for combo in combinations(range(len(kinds)), size):
            need = sum(kinds[i][2] * kinds[i][3] for i in combo)
            per = np.zeros(len(cad))
            for i in combo:
                rule, _, n, _, q = kinds[i]
                per += q * min(rule.max_per_cadre, n)
            supply = int(np.minimum(per, cap_all).sum())
            if need > supply:
                names = ", ".join(f"'{kinds[i][0].name}' ({kinds[i][1]}: {kinds[i][2] * kinds[i][3]})" for i in combo)
                out.append(f"must-visit rules {names} together need {need} cadre visits, but the cadres qualifying for "
                           f"them can take at most {supply} (each ≤ {cap_all} in all, [quotas] max_must_visits_per_cadre)")
                return out
    return out


def describe_literal(name: str, ua: UnitArrays, rules: Rules) -> str:
    """A rule literal's name (``quotas.city.max_villages``) in words, with the numbers involved."""
    parts = name.split(".")
    if parts[0] == "units":
        level, gran = parts[1].split("=")
        n = int((ua.team_level == level).sum())
        return f"[units] {level} = '{gran}': the {n} {level} team(s) take whole {gran}s"
    if parts[0] == "quotas":
        level, key = parts[1], parts[2]
        n = int((ua.team_level == level).sum())
        val = getattr(rules.quotas.for_level(level), key)
        word = "at least" if key.startswith("min") else "at most"
        return (f"[quotas.{level}] {key} = {val}: each of the {n} {level} team(s) holds {word} {val} villages "
                f"({len(ua.village_ids)} villages in the campaign)")
    return name
