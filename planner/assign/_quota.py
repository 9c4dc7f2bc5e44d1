"""Shared bookkeeping of the constructive starts: the village quota (a team that takes whole
villages holds at most ``max_villages`` of them) and the block of units a team takes at once."""

from __future__ import annotations

import numpy as np

from planner.assign.rules import Rules
from planner.assign.units import UnitArrays


class VillageQuota:
    """How many villages each team holds, against its level's ``max_villages``."""

    def __init__(self, ua: UnitArrays, rules: Rules):
        self.ua = ua
        self.qmax = [rules.quotas.for_level(lv).max_villages for lv in ua.team_level]
        self.n_vill = np.zeros(len(ua.team_level), int)
        self.held: set = set()

    def _new(self, us, t) -> set:
        return {int(v) for v in self.ua.unit_village[us] if v >= 0 and (t, int(v)) not in self.held}

    def fits(self, us, t) -> bool:
        """Would team ``t`` stay within its quota when it takes units ``us``?"""
        return self.qmax[t] is None or self.n_vill[t] + len(self._new(us, t)) <= self.qmax[t]

    def take(self, us, t) -> None:
        new = self._new(us, t)
        self.held.update((t, v) for v in new)
        self.n_vill[t] += len(new)


def unit_block(ua: UnitArrays, groups: dict, u: int, t: int) -> np.ndarray:
    """The units team ``t`` takes with unit ``u``: ``u`` alone, or its whole village/town."""
    g = ua.team_granularity[t]
    if g == ua.level:
        return np.array([u])
    grp = groups[g]
    return np.flatnonzero(grp == grp[u])
