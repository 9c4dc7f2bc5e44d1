"""Problems (问题) and warnings (红黄预警): the status flow, due dates, and
which problems and units are late.

The status flow itself is data in :mod:`geodata.store.vocab` (the store
enforces it in every transaction); this module re-exports it for callers
and reasons over frames:

- :func:`problem_warnings`: each unfinished problem (open, assigned, in
  progress) past its due date is **red**, due within ``yellow_days`` **yellow**.
- :func:`unit_warnings`: a grid / village / town / team whose coverage trails a
  straight-line schedule from the campaign start to its deadline by more than
  ``red_gap`` is **red**, by more than ``yellow_gap`` **yellow**.
- :func:`warnings_by` groups either by unit or owner for the warnings page.

Pure: frames in, frames out.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geodata.store.vocab import (
    ACTIONS,
    CATEGORIES,
    CATEGORY_CHINESE,
    DEFAULT_DUE_DAYS,
    LEVELS,
    OPEN_STATUSES,
    SOLVED_STATUSES,
    STATUSES,
    TRANSITIONS,
    IllegalTransition,
    next_status,
)
from planner.coverage import expected_share

WARNING_COLUMNS = ["kind", "colour", "unit", "unit_id", "owner", "problem_id", "days", "message"]
COLOURS = ("red", "yellow")


@dataclass(frozen=True)
class WarningRules:
    """Thresholds of the red/yellow warnings (defaults: a campaign office's usual practice)."""

    #: an unfinished problem due within this many days is yellow
    yellow_days: int = 3
    #: coverage this far (share of all entities) behind the schedule is yellow / red
    yellow_gap: float = 0.10
    red_gap: float = 0.20
    #: no unit warning before this share of the campaign's time has passed
    grace: float = 0.05

    def __post_init__(self):
        if not 0 <= self.yellow_gap <= self.red_gap:
            raise ValueError(f"need 0 <= yellow_gap ({self.yellow_gap}) <= red_gap ({self.red_gap})")
        if self.yellow_days < 0:
            raise ValueError(f"yellow_days must be >= 0, got {self.yellow_days}")


def allowed_actions(status: str, *, level: str) -> list[str]:
    """The actions a problem in ``status`` may take next (for buttons on a page)."""
    out = []
    for a in ACTIONS:
        try:
            next_status(status, a, level=level)
        except IllegalTransition:
            continue
        out.append(a)
    return out


def due_date(raised: dt.date, level: str, *, due_days: dict | None = None) -> dt.date:
    """The default due date of a problem raised on ``raised`` at ``level``."""
    days = {**DEFAULT_DUE_DAYS, **(due_days or {})}
    return raised + dt.timedelta(days=int(days[level]))


def problem_warnings(problems: pd.DataFrame, *, today, rules: WarningRules = WarningRules()) -> pd.DataFrame:
    """Red / yellow warnings for unfinished problems (:data:`WARNING_COLUMNS`),
    red first, most overdue first. ``days``: days past due (negative: days left)."""
    today = pd.Timestamp(today).normalize()
    p = problems[problems["status"].isin(OPEN_STATUSES) & problems["due_date"].notna()].copy()
    if not len(p):
        return pd.DataFrame(columns=WARNING_COLUMNS)
    late = (today - pd.to_datetime(p["due_date"]).dt.normalize()).dt.days.astype(int)
    p["days"] = late
    p["colour"] = np.where(late > 0, "red", np.where(late >= -rules.yellow_days, "yellow", None))
    p = p[p["colour"].notna()]
    cat = p["category"].map(CATEGORY_CHINESE).fillna(p["category"])
    msg = np.where(p["colour"] == "red", "问题已超期 " + p["days"].astype(str) + " 天",
                   "问题距办理期限还有 " + (-p["days"]).astype(str) + " 天")
    out = pd.DataFrame({
        "kind": "problem", "colour": p["colour"], "unit": p["entity_type"], "unit_id": p["entity_id"].astype(str),
        "owner": p["owner_cadre_id"], "problem_id": p["problem_id"], "days": p["days"],
        "message": [f"{m}（{c}）" for m, c in zip(msg, cat)],
    })
    return _sort(out)


def unit_warnings(by_unit: pd.DataFrame, *, unit: str, today, start, end,
                  rules: WarningRules = WarningRules()) -> pd.DataFrame:
    """Red / yellow warnings for units of one kind (``unit`` in grid, village,
    town, team) whose coverage trails the schedule; ``by_unit`` is a by-unit
    frame of :class:`planner.coverage.Coverage`. ``days`` holds the gap in
    percentage points."""
    share = expected_share(today, start=start, end=end)
    key = f"{unit}_id"
    if share < rules.grace or not len(by_unit):
        return pd.DataFrame(columns=WARNING_COLUMNS)
    total = by_unit["households"] + by_unit["enterprises"]
    b = by_unit[total > 0]
    gap = share - b["coverage"].to_numpy()
    colour = np.where(gap > rules.red_gap, "red", np.where(gap > rules.yellow_gap, "yellow", None))
    keep = colour != None  # noqa: E711  (numpy element-wise)
    b, gap, colour = b[keep], gap[keep], colour[keep]
    out = pd.DataFrame({
        "kind": "coverage", "colour": colour, "unit": unit, "unit_id": b[key].astype(str).to_numpy(),
        "owner": None, "problem_id": None, "days": np.round(gap * 100).astype(int),
        "message": [f"走访覆盖率 {c:.0%}，按进度应达 {share:.0%}，落后 {g * 100:.0f} 个百分点"
                    for c, g in zip(b["coverage"], gap)],
    })
    return _sort(out)


def _sort(frame: pd.DataFrame) -> pd.DataFrame:
    order = frame["colour"].map({"red": 0, "yellow": 1})
    return (frame.assign(_o=order).sort_values(["_o", "days"], ascending=[True, False], kind="stable")
            .drop(columns="_o").reset_index(drop=True)[WARNING_COLUMNS])


def warnings_by(warnings: pd.DataFrame, by: str) -> pd.DataFrame:
    """Counts of red and yellow warnings per ``by`` (``unit_id`` or ``owner``)."""
    if not len(warnings):
        return pd.DataFrame(columns=[by, "red", "yellow"])
    t = pd.crosstab(warnings[by], warnings["colour"])
    for c in COLOURS:
        if c not in t:
            t[c] = 0
    t = t[list(COLOURS)].reset_index()
    t.columns.name = None
    return t.sort_values(["red", "yellow"], ascending=False, kind="stable").reset_index(drop=True)


def category_counts(problems: pd.DataFrame, *, as_of=None) -> pd.DataFrame:
    """Solved (已解决) / pending (待解决) / subtotal (小计) per category, every
    category a row (the summary table's body). A problem counts as solved when
    its status is solved or confirmed and (with ``as_of``) it was solved by then."""
    p = problems
    solved = p["status"].isin(SOLVED_STATUSES)
    if as_of is not None and len(p):
        solved &= pd.to_datetime(p["solved_at"]) <= pd.Timestamp(as_of)
    t = pd.DataFrame({"category": p["category"], "solved": solved.astype(int), "pending": (~solved).astype(int)})
    g = t.groupby("category")[["solved", "pending"]].sum().reindex(list(CATEGORIES), fill_value=0)
    g["subtotal"] = g["solved"] + g["pending"]
    g.index.name = "category"
    return g.astype(int).reset_index()


__all__ = [
    "ACTIONS", "CATEGORIES", "LEVELS", "STATUSES", "TRANSITIONS", "WARNING_COLUMNS", "IllegalTransition",
    "WarningRules", "allowed_actions", "category_counts", "due_date", "next_status", "problem_warnings",
    "unit_warnings", "warnings_by",
]
