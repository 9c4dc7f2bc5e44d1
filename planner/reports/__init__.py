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

KINDS = ("weekly", "summary", "problems")
#: file names the web site offers the reports under
FILE_NAMES = {"weekly": "走访周报", "summary": "问题建议汇总表", "problems": "走访收集问题清单"}


def workbook(kind: str, campaign, visits, problems, *, start, end, assignment=None, campaign_name: str = "",
             mask: bool = False):
    """The ``kind`` report (weekly, summary, problems) as an openpyxl workbook.
    ``mask`` applies to the problem lists (the only report naming households)."""
    if kind == "weekly":
        fig = weekly_figures(campaign, visits, problems, start=start, end=end, assignment=assignment)
        return weekly_workbook(fig, campaign_name=campaign_name)
    if kind == "summary":
        return summary_workbook(campaign, problems, start=start, end=end, campaign_name=campaign_name)
    if kind == "problems":
        return problem_list_workbook(campaign, problems, start=start, end=end, mask=mask)
    raise ValueError(f"unknown report {kind!r}; reports are {', '.join(KINDS)}")


__all__ = ["FILE_NAMES", "KINDS", "WeeklyFigures", "workbook", "mask_name", "mask_phone", "mask_survey", "problem_list_workbook", "summary_table",
           "summary_workbook", "weekly_figures", "weekly_workbook"]
