"""Weekly figures (每周汇总, seeds 004 §7): per team (工作组 / 派出单位) and per
town → village: cadres who visited (干部走访人数), households visited (走访户数),
enterprises visited, problems collected (汇总问题数), problems solved (解决问题数),
and the coverage reached by the period's end.

A visit counts for the households / enterprises figure when it covers its
entity by :func:`planner.coverage.covering_visits`' rules; a cadre counts
when they made any visit. Problems count for the team of the cadre who raised
them (谁走访、谁处理), and for the village of their household; "solved" means
solved (or confirmed) within the period.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
from openpyxl import Workbook

from geodata.store.vocab import SOLVED_STATUSES
from planner.coverage import CoverageRules, coverage, covering_visits
from planner.reports import _excel as X

FIGURES = ["cadres", "households", "enterprises", "problems_collected", "problems_solved", "coverage"]
FIGURES_ZH = ["干部走访人数", "走访户数", "走访企业数", "收集问题数", "解决问题数", "累计覆盖率"]


@dataclass(frozen=True)
class WeeklyFigures:
    start: dt.date
    end: dt.date
    by_team: pd.DataFrame  # team_id, name, unit, FIGURES
    by_village: pd.DataFrame  # town_id, town, village_id, village, FIGURES (a row per village)
    by_town: pd.DataFrame  # town_id, town, FIGURES
    total: dict


def _in_period(ts: pd.Series, start, end) -> pd.Series:
    t = pd.to_datetime(ts)
    return (t >= pd.Timestamp(start)) & (t < pd.Timestamp(end) + pd.Timedelta(days=1))


def _place(campaign, entity_type: pd.Series, entity_id: pd.Series) -> pd.DataFrame:
    """village_id and town_id of each (entity_type, entity_id)."""
    hv = campaign.households.set_index(campaign.households["household_id"].astype(str))["village_id"].astype(str)
    ent = campaign.enterprises
    ev = (ent.set_index(ent["enterprise_id"].astype(str))["village_id"].astype(str) if ent is not None and len(ent)
          else pd.Series(dtype=object))
    eid = entity_id.astype(str)
    village = pd.Series(None, index=entity_id.index, dtype=object)
    village[entity_type == "household"] = hv.reindex(eid[entity_type == "household"]).to_numpy()
    village[entity_type == "enterprise"] = ev.reindex(eid[entity_type == "enterprise"]).to_numpy()
    village[entity_type == "village"] = eid[entity_type == "village"]
    vt = campaign.villages.set_index(campaign.villages["village_id"].astype(str))["town_id"].astype(str)
    return pd.DataFrame({"village_id": village, "town_id": vt.reindex(village).to_numpy()}, index=entity_id.index)


def weekly_figures(campaign, visits: pd.DataFrame, problems: pd.DataFrame, *, start: dt.date, end: dt.date,
                   assignment: pd.DataFrame | None = None, rules: CoverageRules = CoverageRules()) -> WeeklyFigures:
    """The figures for visits and problems from ``start`` to ``end`` (both days included)."""
    v = visits.copy()
    v["entity_id"] = v["entity_id"].astype(str)
    v["visited_at"] = pd.to_datetime(v["visited_at"])
    cov = coverage(campaign, v, assignment=assignment, rules=rules,
                   as_of=pd.Timestamp(end) + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1))
    v["covering"] = covering_visits(campaign, v, rules=rules).to_numpy() if len(v) else []
    v = v[_in_period(v["visited_at"], start, end)]
    v = v.join(_place(campaign, v["entity_type"], v["entity_id"]))
    cad = campaign.cadres.set_index(campaign.cadres["cadre_id"].astype(str))["team_id"].astype(str)
    v["team_id"] = cad.reindex(v["cadre_id"].astype(str)).to_numpy()
    p = problems.copy()
    p["entity_id"] = p["entity_id"].astype(str)
    p = p.join(_place(campaign, p["entity_type"], p["entity_id"]))
    p["team_id"] = cad.reindex(p["raised_by"].astype(str)).to_numpy()
    p["collected"] = _in_period(p["created_at"], start, end)
    p["solved"] = p["status"].isin(SOLVED_STATUSES) & _in_period(p["solved_at"], start, end)

    def figures(key):
        cv = v[v["covering"].astype(bool)]
        out = pd.DataFrame({
            "cadres": v.groupby(key)["cadre_id"].nunique(),
            "households": cv[cv["entity_type"] == "household"].groupby(key)["entity_id"].nunique(),
            "enterprises": cv[cv["entity_type"] == "enterprise"].groupby(key)["entity_id"].nunique(),
            "problems_collected": p[p["collected"]].groupby(key).size(),
            "problems_solved": p[p["solved"]].groupby(key).size(),
        })
        return out

    teams = campaign.teams.copy()
    teams["team_id"] = teams["team_id"].astype(str)
    by_team = teams.set_index("team_id")[["name"] + (["unit"] if "unit" in teams else [])]
    by_team = by_team.join(figures("team_id")).fillna(0)
    tcov = cov.by_team.set_index("team_id")["coverage"] if len(cov.by_team) else pd.Series(dtype=float)
    by_team["coverage"] = tcov.reindex(by_team.index).fillna(0.0)
    by_team = by_team.reset_index()

    vil = campaign.villages.copy()
    vil["village_id"] = vil["village_id"].astype(str)
    vil["town_id"] = vil["town_id"].astype(str)
    towns = getattr(campaign, "towns", None)
    tname = (towns.set_index(towns["town_id"].astype(str))["name"] if towns is not None and len(towns)
             else pd.Series(dtype=object))
    by_village = vil.set_index("village_id")[["town_id", "name"]].rename(columns={"name": "village"})
    by_village = by_village.join(figures("village_id")).fillna(0)
    by_village["coverage"] = cov.by_village.set_index("village_id")["coverage"].reindex(by_village.index).fillna(0.0)
    by_village.insert(1, "town", tname.reindex(by_village["town_id"]).fillna(by_village["town_id"]).to_numpy())
    by_village = by_village.reset_index().sort_values(["town_id", "village_id"], kind="stable")
    by_village = by_village[["town_id", "town", "village_id", "village", *FIGURES]].reset_index(drop=True)

    by_town = pd.DataFrame(index=pd.Index(sorted(vil["town_id"].unique()), name="town_id"))
    by_town["town"] = tname.reindex(by_town.index).fillna(pd.Series(by_town.index, index=by_town.index))
    by_town = by_town.join(figures("town_id")).fillna(0)
    by_town["coverage"] = cov.by_town.set_index("town_id")["coverage"].reindex(by_town.index).fillna(0.0)
    by_town = by_town.reset_index()

    cv = v[v["covering"].astype(bool)]
    total = {
        "cadres": int(v["cadre_id"].nunique()),
        "households": int(cv[cv["entity_type"] == "household"]["entity_id"].nunique()),
        "enterprises": int(cv[cv["entity_type"] == "enterprise"]["entity_id"].nunique()),
        "problems_collected": int(p["collected"].sum()), "problems_solved": int(p["solved"].sum()),
        "coverage": cov.totals["coverage"],
    }
    for f in (by_team, by_village, by_town):
        for c in FIGURES[:-1]:
            f[c] = f[c].astype(int)
    return WeeklyFigures(start, end, by_team, by_village, by_town, total)


def weekly_workbook(fig: WeeklyFigures, *, campaign_name: str = "") -> Workbook:
    """Two sheets: 按工作组 (per team) and 按镇村 (town subtotals, then their villages), each with a 合计 row."""
    wb = Workbook()
    ws = wb.active
    ws.title = "按工作组"
    cols = ["工作组", "派出单位", *FIGURES_ZH]
    X.title(ws, 1, f"{campaign_name}大走访情况周报（按工作组）".strip(), len(cols))
    ws.cell(2, 1, f"统计时段：{X.period_text(fig.start, fig.end)}")
    X.header(ws, 3, cols)
    r = 4
    for row in fig.by_team.itertuples(index=False):
        X.cells(ws, r, [row.name, getattr(row, "unit", "") or "", *(getattr(row, f) for f in FIGURES)])
        ws.cell(r, len(cols)).number_format = "0.0%"
        r += 1
    X.cells(ws, r, ["合计", "", *(fig.total[f] for f in FIGURES)], bold=True)
    ws.cell(r, len(cols)).number_format = "0.0%"
    X.widths(ws, [18, 16] + [12] * len(FIGURES))

    ws = wb.create_sheet("按镇村")
    cols = ["镇（街道）", "村（社区）", *FIGURES_ZH]
    X.title(ws, 1, f"{campaign_name}大走访情况周报（按镇村）".strip(), len(cols))
    ws.cell(2, 1, f"统计时段：{X.period_text(fig.start, fig.end)}")
    X.header(ws, 3, cols)
    r = 4
    towns = fig.by_town.set_index("town_id")
    for town_id, group in fig.by_village.groupby("town_id", sort=True):
        t = towns.loc[town_id]
        X.cells(ws, r, [t["town"], "小计", *(t[f] for f in FIGURES)], bold=True)
        ws.cell(r, len(cols)).number_format = "0.0%"
        r += 1
        for row in group.itertuples(index=False):
            X.cells(ws, r, [row.town, row.village, *(getattr(row, f) for f in FIGURES)])
            ws.cell(r, len(cols)).number_format = "0.0%"
            r += 1
    X.cells(ws, r, ["合计", "", *(fig.total[f] for f in FIGURES)], bold=True)
    ws.cell(r, len(cols)).number_format = "0.0%"
    X.widths(ws, [14, 14] + [12] * len(FIGURES))
    return wb
