"""The half-monthly summary table (群众入户调查问题建议汇总表, seeds 004 appendix 5):
problems raised in the period by category, solved (已解决) / pending (待解决) /
subtotal (小计), one sheet for the whole campaign (合计), one per town and one
per village that raised problems in the period.

Layout as in the seeds: 项目 | 具体内容 | 已解决（个） | 待解决（个） | 小计（个）;
困难需求 first (its 合计 row), then 意见建议 by topic (房屋土地 … 其他方面),
then the overall 合计. A problem counts as solved when it was solved (or
confirmed) by the end of the period.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from openpyxl import Workbook

from geodata.store.vocab import CATEGORY_CHINESE
from planner.problems import category_counts
from planner.reports import _excel as X
from planner.reports.weekly import _in_period, _place

SUGGESTION_CATEGORIES = ("housing_land", "medical_health", "education_culture", "safety_governance", "employment",
                         "social_security", "other")
#: first cell of each data row (rows 5..): the seeds' wording
ROW_LABELS = ["困难需求"] + ["意见建议"] * len(SUGGESTION_CATEGORIES) + ["合 计"]
FIRST_DATA_ROW = 5


def summary_table(problems: pd.DataFrame, *, end: dt.date) -> pd.DataFrame:
    """The table body: rows 困难需求, the 7 topics, 合计; columns item, content, solved, pending, subtotal."""
    c = category_counts(problems, as_of=pd.Timestamp(end) + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1))
    c = c.set_index("category")
    rows = [("困难需求", "合 计", *c.loc["difficulty"])]
    rows += [("意见建议", CATEGORY_CHINESE[k], *c.loc[k]) for k in SUGGESTION_CATEGORIES]
    tot = c.sum()
    rows.append(("合 计", "", tot["solved"], tot["pending"], tot["subtotal"]))
    out = pd.DataFrame(rows, columns=["item", "content", "solved", "pending", "subtotal"])
    for col in ("solved", "pending", "subtotal"):
        out[col] = out[col].astype(int)
    return out


def summary_workbook(campaign, problems: pd.DataFrame, *, start: dt.date, end: dt.date,
                     campaign_name: str = "") -> Workbook:
    """Sheets 合计, each town, each village with problems raised from ``start`` to ``end``."""
    p = problems[_in_period(problems["created_at"], start, end)].copy()
    p = p.join(_place(campaign, p["entity_type"], p["entity_id"].astype(str)))
    towns = getattr(campaign, "towns", None)
    tname = (towns.set_index(towns["town_id"].astype(str))["name"] if towns is not None and len(towns)
             else pd.Series(dtype=object))
    vil = campaign.villages.set_index(campaign.villages["village_id"].astype(str))
    wb = Workbook()
    used: set = set()
    first = True

    def sheet(label, frame, town="", village=""):
        nonlocal first
        if first:
            ws = wb.active
            ws.title = X.sheet_name(label, used)
            first = False
        else:
            ws = wb.create_sheet(X.sheet_name(label, used))
        _write(ws, summary_table(frame, end=end), campaign_name=campaign_name, town=town, village=village,
               start=start, end=end)

    sheet("合计", p)
    for town_id in sorted(campaign.villages["town_id"].astype(str).unique()):
        name = str(tname.get(town_id, town_id))
        sheet(name, p[p["town_id"] == town_id], town=name)
    for village_id, group in p.dropna(subset=["village_id"]).groupby("village_id", sort=True):
        v = vil.loc[village_id]
        town = str(tname.get(str(v["town_id"]), v["town_id"]))
        sheet(str(v["name"]), group, town=town, village=str(v["name"]))
    return wb


def _write(ws, table: pd.DataFrame, *, campaign_name, town, village, start, end) -> None:
    X.title(ws, 1, "群众入户调查问题建议汇总表", 5)
    for j, (label, value) in enumerate([("市（区）", campaign_name), ("镇（街道）", town), ("村（社区）", village)]):
        ws.cell(2, 1 + 2 * j, label)
        ws.cell(2, 2 + 2 * j, value)
    ws.cell(3, 1, f"统计时段：{X.period_text(start, end)}")
    X.header(ws, 4, ["项 目", "具体内容", "已解决\n（个）", "待解决\n（个）", "小计\n（个）"])
    r = FIRST_DATA_ROW
    for row in table.itertuples(index=False):
        X.cells(ws, r, [row.item, row.content, row.solved, row.pending, row.subtotal],
                bold=row.item == "合 计" or row.content == "合 计")
        r += 1
    n = len(SUGGESTION_CATEGORIES)
    ws.merge_cells(start_row=FIRST_DATA_ROW + 1, start_column=1, end_row=FIRST_DATA_ROW + n, end_column=1)
    ws.merge_cells(start_row=r - 1, start_column=1, end_row=r - 1, end_column=2)
    X.widths(ws, [14, 16, 12, 12, 12, 14])
