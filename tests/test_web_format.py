"""Dates and numbers in Chinese conventions (web.i18n, Babel), English kept English."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from conftest_web import (  # noqa: F401  (fixtures)
    client_as,
    db_template,
    db_url,
    planned,
    planned_app,
    web_campaign,
    web_plan,
)
from web.i18n import (
    format_count,
    format_date,
    format_date_range,
    format_datetime,
    format_number,
    format_percent,
    format_time,
    format_value,
)

DAY = dt.date(2026, 11, 25)  # a Wednesday


@pytest.mark.parametrize("value", [DAY, dt.datetime(2026, 11, 25, 14, 5), pd.Timestamp("2026-11-25"),
                                   "2026-11-25", "2026-11-25T14:05:00"])
def test_dates_in_both_languages_from_any_date_like_value(value):
    assert format_date(value, lang="zh") == "2026年11月25日"
    assert format_date(value, "short", lang="zh") == "11月25日"
    assert format_date(value, "weekday", lang="zh") == "周三"
    assert format_date(value, "day", lang="zh") == "11月25日周三"
    assert format_date(value, lang="en") == "Nov 25, 2026"
    assert format_date(value, "short", lang="en") == "Nov 25"
    assert format_date(value, "weekday", lang="en") == "Wed"


def test_times_are_24_hour_and_ranges_short_within_a_year():
    at = dt.datetime(2026, 11, 25, 14, 5)
    assert format_time(at) == "14:05" and format_time(dt.time(9, 3)) == "09:03"
    assert format_datetime(at, lang="zh") == "2026年11月25日 14:05"
    assert format_datetime(at, lang="en") == "Nov 25, 2026 14:05"
    assert format_date_range(DAY, DAY + dt.timedelta(days=6), lang="zh") == "11月25日 – 12月1日"
    assert format_date_range(dt.date(2026, 12, 28), dt.date(2027, 1, 3), lang="zh") == "2026年12月28日 – 2027年1月3日"
    assert format_date(None) == "" and format_datetime(None) == "" and format_date(float("nan")) == ""


def test_numbers_counts_and_percentages():
    for lang in ("zh", "en"):
        assert format_number(299714, lang=lang) == "299,714"
        assert format_number(1234567.0, lang=lang) == "1,234,567"  # a whole float is a count
        assert format_number(-1234, lang=lang) == "-1,234"
        assert format_number(12.5, lang=lang) == "12.5"
        assert format_percent(0.875, lang=lang) == "87.5%"
        assert format_percent(0.12345, 2, lang=lang) == "12.35%"
        assert format_percent(1, 0, lang=lang) == "100%"
    assert format_count(299714, lang="zh") == "29.97万" and format_count(99999, lang="zh") == "99,999"
    assert format_count(299714, lang="en") == "299.7K"
    assert format_number("n/a") == "n/a" and format_number(None) == "" and format_percent(float("nan")) == ""
    with pytest.raises(ValueError, match="long, short, weekday, day"):
        format_date(DAY, "full")


def test_the_leader_page_writes_dates_and_numbers_in_the_visitors_language(planned_app):  # noqa: F811
    planned_app.config["TODAY"] = "2026-03-04"
    c = client_as(planned_app, "leader")
    zh = c.get("/leader/").get_data(as_text=True)
    assert "2026年3月4日 周三" in zh  # as of
    assert "2026年3月2日 – 2026年3月31日" in zh  # the campaign's dates
    assert '<b id="zf-coverage">0.0%</b>' in zh
    assert "2026-03" not in zh.split("<script")[0].split("</h1>")[0]  # no ISO dates in the heading
    en = c.get("/leader/?lang=en").get_data(as_text=True)
    assert "Mar 4, 2026 Wed" in en and "Mar 2, 2026 – Mar 31, 2026" in en
    assert '<html lang="en">' in en and '<html lang="zh-CN">' in zh  # what static/js/format.js reads
    assert "js/format.js" in zh


def test_the_cadre_day_and_the_problem_pages_write_chinese_dates(planned_app, web_campaign):  # noqa: F811
    import re

    from test_web_field import seed_visits

    seed_visits(planned_app, web_campaign)
    day = client_as(planned_app, "cadre1").get("/cadre/").get_data(as_text=True)
    options = re.findall(r'<option value="(\d{4})-(\d\d)-(\d\d)"[^>]*>(\d+)月(\d+)日周([一二三四五六日])</option>', day)
    assert options, "the day picker shows 3月4日周三-style dates"
    weekdays = "一二三四五六日"
    for y, m, d, m2, d2, wd in options:
        assert (int(m), int(d)) == (int(m2), int(d2)) and weekdays[dt.date(int(y), int(m), int(d)).weekday()] == wd
    listing = client_as(planned_app, "planner").get("/problems/").get_data(as_text=True)
    assert re.search(r"<td>2026年3月\d+日</td>", listing) and not re.search(r"<td>2026-03-\d\d</td>", listing)
    first = re.search(r'href="(/problems/\d+)"', listing).group(1)
    detail = client_as(planned_app, "planner").get(first).get_data(as_text=True)
    assert re.search(r"2026年3月\d+日 \d\d:\d\d", detail)  # raised at: date and 24-hour time


def test_values_of_unknown_kind_are_formatted_by_what_they_look_like():
    assert format_value("2026-03-02", lang="zh") == "2026年3月2日"
    assert format_value("2026-03-02T08:30:00", lang="en") == "Mar 2, 2026 08:30"
    assert format_value(123456, lang="zh") == "123,456" and format_value("-7", lang="zh") == "-7"
    assert format_value("12.5%", lang="zh") == "12.5%" and format_value("OPTIMAL") == "OPTIMAL"
    assert format_value(None) == ""
