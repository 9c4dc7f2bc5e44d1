"""Each cadre's problem list (党员干部走访收集问题清单, seeds 004 appendix 4):
one sheet per cadre who raised problems in the period, with the seeds'
columns 序号 | 走访对象 | 反映问题或意见建议 | 办理意见, followed by the
tracking columns (类别, 办理层级, 当前状态, 责任人, 办理期限, 走访日期).

``mask=True`` (for leaders) shows a household only by its masked head's name
and village; otherwise the head's name and address.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from openpyxl import Workbook

from geodata.store.vocab import CATEGORY_CHINESE, LEVEL_CHINESE, STATUS_CHINESE
from planner.reports import _excel as X
from planner.reports.privacy import mask_name
from planner.reports.weekly import _in_period

COLUMNS = ["序号", "走访对象", "反映问题或意见建议", "办理意见", "类别", "办理层级", "当前状态", "责任人",
           "办理期限", "走访日期"]
FIRST_DATA_ROW = 6


def visit_targets(campaign, entity_types, entity_ids, *, mask: bool) -> list[str]:
    """How the list names who was visited (走访对象), for many problems at once:
    a household by its head and address (masked: the head's surname and the village),
    an enterprise by its name, a village by its name."""
    types = list(entity_types)
    ids = [str(x) for x in entity_ids]
    villages = dict(zip(campaign.villages["village_id"].astype(str), campaign.villages["name"].astype(str)))
    hh = campaign.households
    hh = hh[hh["household_id"].astype(str).isin({i for t, i in zip(types, ids) if t == "household"})]

    def col(name):
        return hh[name].astype(object).where(hh[name].notna(), None) if name in hh else [None] * len(hh)

    households = {h: (n, a, villages.get(str(v), str(v))) for h, n, a, v in zip(
        hh["household_id"].astype(str), col("head_name"), col("address"), hh["village_id"].astype(str))}
    ent = getattr(campaign, "enterprises", None)
    enterprises = (dict(zip(ent["enterprise_id"].astype(str), ent["name"].astype(str)))
                   if ent is not None and len(ent) else {})
    out = []
    for t, i in zip(types, ids):
        if t == "household":
            if i not in households:
                out.append(i)
                continue
            name, addr, village = households[i]
            out.append(f"{mask_name(name) or '住户'}（{village}）" if mask else f"{name or i}（{addr or village}）")
        elif t == "enterprise":
            out.append(enterprises.get(i, i))
        else:
            out.append(villages.get(i, i))
    return out


def visit_target(campaign, entity_type: str, entity_id: str, *, mask: bool) -> str:
    """:func:`visit_targets` for one problem."""
    return visit_targets(campaign, [entity_type], [entity_id], mask=mask)[0]


def _text(value) -> str | None:
    return None if value is None or (isinstance(value, float) and value != value) or value == "" else str(value)


def problem_list_workbook(campaign, problems: pd.DataFrame, *, start: dt.date, end: dt.date,
                          mask: bool = False) -> Workbook:
    """A first sheet 汇总 (one row per cadre), then one sheet per cadre."""
    p = problems[_in_period(problems["created_at"], start, end)].sort_values(["raised_by", "created_at",
                                                                               "problem_id"], kind="stable")
    p = p.assign(target=visit_targets(campaign, p["entity_type"], p["entity_id"], mask=mask))
    cad = campaign.cadres.set_index(campaign.cadres["cadre_id"].astype(str))
    teams = campaign.teams.set_index(campaign.teams["team_id"].astype(str))["name"]
    wb = Workbook()
    index = wb.active
    index.title = "汇总"
    used = {"汇总"}
    X.title(index, 1, "党员干部走访收集问题清单（汇总）", 5)
    index.cell(2, 1, f"走访时间：{X.period_text(start, end)}")
    X.header(index, 3, ["走访人", "所属工作组", "问题数", "已解决", "待解决"])
    r = 4
    for cadre_id, group in p.groupby("raised_by", sort=True):
        name = str(cad["name"].get(cadre_id, cadre_id))
        team = str(teams.get(str(cad["team_id"].get(cadre_id, "")), ""))
        solved = int(group["status"].isin(("solved", "confirmed")).sum())
        X.cells(index, r, [name, team, len(group), solved, len(group) - solved])
        r += 1
        ws = wb.create_sheet(X.sheet_name(name, used))
        _cadre_sheet(ws, campaign, group, name=name, cadre_id=cadre_id, team=team, start=start, end=end,
                     mask=mask, cad=cad)
    X.widths(index, [14, 18, 10, 10, 10])
    return wb


def _cadre_sheet(ws, campaign, group, *, name, cadre_id, team, start, end, mask, cad) -> None:
    X.title(ws, 1, "党员干部走访收集问题清单", len(COLUMNS))
    ws.cell(2, 1, "（个人填写，交本单位汇总）")
    ws.cell(3, 1, f"走访人：{name}（{cadre_id}，{team}）")
    ws.cell(4, 1, f"走访时间：{X.period_text(start, end)}")
    X.header(ws, 5, COLUMNS)
    for i, row in enumerate(group.itertuples(index=False), 1):
        handling = _text(row.suggestion) or ""
        if _text(row.owner_unit):
            handling = f"{handling}（已交办：{row.owner_unit}）"
        owner = str(cad["name"].get(row.owner_cadre_id, row.owner_cadre_id))
        due = pd.Timestamp(row.due_date).date().isoformat() if pd.notna(row.due_date) else ""
        X.cells(ws, FIRST_DATA_ROW + i - 1, [
            i, row.target, row.description,
            handling or None,
            CATEGORY_CHINESE.get(row.category, row.category), LEVEL_CHINESE.get(row.level, row.level),
            STATUS_CHINESE.get(row.status, row.status), owner, due, pd.Timestamp(row.created_at).date().isoformat(),
        ], align_left=(1, 2, 3))
    X.widths(ws, [6, 22, 36, 28, 10, 10, 14, 10, 12, 12])
