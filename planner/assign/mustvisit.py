"""Must-visit rules (四个必到): which entities match, and which cadres visit them.

The cadre choice is a min-cost flow (exact and fast at county scale):
``(entity, slot group) → (rule, cadre) [cap 1] → cadre [cap max_per_cadre] → sink
[cap max_must_visits_per_cadre]``. A unit of flow on an arc to a cadre of a
responsible team costs the distance only; to any other team's cadre it costs
:data:`JOINT_COST` more (a joint visit with the responsible team). The arc
capacity 1 keeps the cadres of one entity distinct.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from ortools.graph.python import min_cost_flow

from geodata.schema import rank_index
from planner.assign.rules import MustVisitRule, Rules

#: cost of a joint visit (a cadre from another team) in km-equivalents
JOINT_COST = 1000
ENTITY_ID = {"village": "village_id", "household": "household_id", "enterprise": "enterprise_id"}


@dataclass(frozen=True)
class Demand:
    """The must-visit demand of one rule: entity ids, their responsible teams and places."""

    rule: MustVisitRule
    entity_ids: np.ndarray
    xy: np.ndarray  # (n, 2)


def matching(frame: pd.DataFrame, rule: MustVisitRule) -> np.ndarray:
    """Boolean mask of the rows of ``frame`` that the rule's ``where`` selects."""
    mask = np.ones(len(frame), bool)
    for col, val in rule.where:
        if col not in frame:
            series = pd.Series([None] * len(frame), index=frame.index, dtype=object)
        else:
            series = frame[col]
        if isinstance(val, bool):
            mask &= series.fillna(False).astype(bool).to_numpy() == val
        elif isinstance(val, list):
            mask &= series.astype(str).isin([str(v) for v in val]).to_numpy()
        else:
            mask &= (series.astype(str) == str(val)).to_numpy()
    return mask


def demands(campaign, rules: Rules) -> list[Demand]:
    out = []
    for rule in rules.must_visit:
        frame = {"village": campaign.villages, "household": campaign.households,
                 "enterprise": campaign.enterprises}[rule.entity]
        if frame is None or len(frame) == 0:
            out.append(Demand(rule, np.array([], dtype=object), np.zeros((0, 2))))
            continue
        sel = frame[matching(frame, rule)]
        geom = sel.geometry.representative_point() if rule.entity == "village" else sel.geometry
        xy = np.column_stack([geom.x.to_numpy(), geom.y.to_numpy()]) if len(sel) else np.zeros((0, 2))
        out.append(Demand(rule, sel[ENTITY_ID[rule.entity]].astype(str).to_numpy(), xy))
    return out


def qualifies(cadres: pd.DataFrame, slot: str) -> np.ndarray:
    """Mask of cadres meeting one slot (``rank>=R#k`` or ``level=L``)."""
    if slot.startswith("level="):
        return (cadres["level"].astype(str) == slot[6:]).to_numpy()
    need = rank_index(slot[len("rank>="):].split("#")[0])
    return cadres["rank"].astype(str).map(rank_index).to_numpy() >= need


def slot_groups(rule: MustVisitRule) -> list[tuple[str, int]]:
    """(slot kind, cadres needed): a rank rule is one group of ``count``; a level rule one group per level."""
    if rule.levels:
        return [(f"level={lv}", 1) for lv in rule.levels]
    return [(f"rank>={rule.min_rank}", rule.count)]


@dataclass(frozen=True)
class MustVisitPlan:
    rows: pd.DataFrame  # rule, entity_type, entity_id, cadre_id, team_id, responsible_team_id, joint
    shortfall: int  # slots that could not be filled (0 in any returned plan)


def plan_must_visits(campaign, rules: Rules, resp: dict[str, dict], team_xy: dict[str, np.ndarray],
                     *, k_teams: int = 8) -> MustVisitPlan:
    """Choose cadres for every must-visit slot.

    ``resp[entity_type][entity_id]`` is the tuple of responsible team ids (a
    village split between teams has several; the first is the main one).
    ``team_xy`` maps team id → base (metres). Candidate cadres: those of the
    responsible teams and of the ``k_teams`` nearest teams; the step is
    repeated with every qualifying cadre when that leaves a slot unfilled.
    """
    cad = campaign.cadres.reset_index(drop=True)
    cadre_ids = cad["cadre_id"].astype(str).to_numpy()
    cadre_team = cad["team_id"].astype(str).to_numpy()
    teams = np.array(sorted(team_xy))
    txy = np.array([team_xy[t] for t in teams]) if len(teams) else np.zeros((0, 2))
    dem = demands(campaign, rules)
    plan = _flow(dem, rules, resp, cadre_ids, cadre_team, cad, teams, txy, team_xy, k_teams)
    if plan.shortfall and k_teams < len(teams):
        plan = _flow(dem, rules, resp, cadre_ids, cadre_team, cad, teams, txy, team_xy, len(teams))
    return plan


def _flow(dem, rules, resp, cadre_ids, cadre_team, cad, teams, txy, team_xy, k_teams) -> MustVisitPlan:
    C = len(cadre_ids)
    R = len(dem)
    # node layout: 0 = source, 1 = sink, cadres 2..2+C, (rule,cadre) 2+C.., then (entity, group)
    src, sink = 0, 1
    cadre_node = 2 + np.arange(C)
    rc_base = 2 + C
    next_node = rc_base + R * C
    tails, heads, caps, costs = [], [], [], []
    # cadre → sink and (rule, cadre) → cadre
    tails += list(cadre_node)
    heads += [sink] * C
    caps += [rules.quotas.max_must_visits_per_cadre] * C
    costs += [0] * C
    for r, d in enumerate(dem):
        tails += list(rc_base + r * C + np.arange(C))
        heads += list(cadre_node)
        caps += [min(d.rule.max_per_cadre, 10**9)] * C
        costs += [0] * C
    team_index = {t: i for i, t in enumerate(teams)}
    cad_by_team: dict[str, np.ndarray] = {t: np.flatnonzero(cadre_team == t) for t in teams}
    supplies = {}
    entity_nodes = []  # (node, rule idx, entity idx, group kind)
    total = 0
    for r, d in enumerate(dem):
        rule = d.rule
        for kind, need in slot_groups(rule):
            q = qualifies(cad, kind)
            q_teams = np.array([t for t in teams if q[cad_by_team[t]].any()])
            q_xy = np.array([team_xy[t] for t in q_teams]) if len(q_teams) else np.zeros((0, 2))
            for i, eid in enumerate(d.entity_ids):
                node = next_node
                next_node += 1
                entity_nodes.append((node, r, i, kind))
                supplies[node] = need
                total += need
                own = resp.get(rule.entity, {}).get(eid, ())
                if len(q_teams):
                    dd = np.hypot(*(q_xy - d.xy[i]).T)
                    near = q_teams[np.argsort(dd, kind="stable")[:k_teams]]
                else:
                    near = np.array([], dtype=object)
                chosen = list(dict.fromkeys(list(own) + list(near)))
                for t in chosen:
                    cs = cad_by_team.get(t, np.array([], int))
                    cs = cs[q[cs]]
                    if not len(cs):
                        continue
                    km = int(np.hypot(*(np.asarray(team_xy[t]) - d.xy[i])) / 1000)
                    cost = km + (0 if t in own else JOINT_COST)
                    tails += [node] * len(cs)
                    heads += list(rc_base + r * C + cs)
                    caps += [1] * len(cs)
                    costs += [cost] * len(cs)
    smcf = min_cost_flow.SimpleMinCostFlow()
    for node, s in supplies.items():
        tails.append(src)
        heads.append(node)
        caps.append(s)
        costs.append(0)
    arcs = smcf.add_arcs_with_capacity_and_unit_cost(
        np.asarray(tails, np.int32), np.asarray(heads, np.int32), np.asarray(caps, np.int64), np.asarray(costs, np.int64)
    )
    smcf.set_node_supply(src, total)
    smcf.set_node_supply(sink, -total)
    for n in range(2, next_node):
        smcf.set_node_supply(n, 0)
    status = smcf.solve_max_flow_with_min_cost()
    if status != smcf.OPTIMAL:
        raise RuntimeError(f"min-cost flow failed with status {status}")
    flows = smcf.flows(arcs)
    tails_a, heads_a = np.asarray(tails), np.asarray(heads)
    used = (flows > 0) & (tails_a >= rc_base + R * C) & (tails_a != src)
    node_info = {node: (r, i) for node, r, i, _ in entity_nodes}
    rows = []
    for a in np.flatnonzero(used):
        r, i = node_info[int(tails_a[a])]
        c = (int(heads_a[a]) - rc_base) - r * C
        d = dem[r]
        eid = d.entity_ids[i]
        own = resp.get(d.rule.entity, {}).get(eid, ())
        rows.append((d.rule.name, d.rule.entity, eid, cadre_ids[c], cadre_team[c],
                     own[0] if own else None, cadre_team[c] not in own))
    frame = pd.DataFrame(rows, columns=["rule", "entity_type", "entity_id", "cadre_id", "team_id",
                                        "responsible_team_id", "joint"])
    frame = frame.sort_values(["rule", "entity_id", "cadre_id"], kind="stable").reset_index(drop=True)
    return MustVisitPlan(frame, int(total - smcf.maximum_flow()))
