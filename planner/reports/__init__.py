"""Reports as Excel files in Simplified Chinese, shaped as the seeds' tables (seeds 004).

- :func:`weekly_figures` / :func:`weekly_workbook`: the weekly figures per unit (每周汇总)
- :func:`summary_table` / :func:`summary_workbook`: the half-monthly summary table (附件5)
- :func:`problem_list_workbook`: each cadre's problem list (附件4)

Pure: frames in (the campaign's, and visits / problems as read by
:mod:`geodata.store`), openpyxl workbooks out; the caller saves them.
"""

from planner.reports.privacy import mask_name, mask_phone, mask_survey
from planner.reports.problem_list import problem_list_workbook
from planner.reports.summary import summary_table, summary_workbook
from planner.reports.weekly import WeeklyFigures, weekly_figures, weekly_workbook

__all__ = ["WeeklyFigures", "mask_name", "mask_phone", "mask_survey", "problem_list_workbook", "summary_table",
           "summary_workbook", "weekly_figures", "weekly_workbook"]
