"""planner.reports: the cell values of the three Excel reports on the tiny campaign, with the
data recorded through geodata.store (see visit_factories.TINY_VISITS for the hand count)."""

from __future__ import annotations

import datetime as dt

import pytest
from openpyxl import load_workbook

from geodata import store
from planner.reports import (
    mask_name,
    mask_phone,
    mask_survey,
    problem_list_workbook,
    summary_workbook,
    weekly_figures,
    weekly_workbook,
)
from visit_factories import TINY_VISITS, new_db, tiny

D = dt.date


def record_tiny(url):
    """TINY_VISITS stored; p2 solved on the spot 03-05; p1 handed to 镇卫生院, solved 03-12, confirmed 03-13;
    p3 assigned; p4 open."""
    eng = store.make_engine(url)
    with store.session_scope(eng) as s:
        cid = store.ensure_campaign(s, "tiny").id
    store.submit_visits(eng, TINY_VISITS, campaign_id=cid)
    with store.session_scope(eng) as s:
        pid = {p.client_id: p.id for p in s.query(store.Problem)}
        T = store.transition_problem
        T(s, pid["p2"], "solve", actor="C3", at=dt.datetime(2026, 3, 5, 12))
        T(s, pid["p1"], "handover", actor="planner", to_unit="镇卫生院", at=dt.datetime(2026, 3, 3, 9))
        T(s, pid["p1"], "start", actor="C1", at=dt.datetime(2026, 3, 4, 9))
        T(s, pid["p1"], "solve", actor="C1", at=dt.datetime(2026, 3, 12, 9))
        T(s, pid["p1"], "confirm", actor="C1", at=dt.datetime(2026, 3, 13, 9))
        T(s, pid["p3"], "assign", actor="C2", at=dt.datetime(2026, 3, 11, 9))
    with store.session_scope(eng) as s:
        frames = store.visits_frame(s, campaign_id=cid), store.problems_frame(s, campaign_id=cid)
    eng.dispose()
    return frames


@pytest.fixture(scope="module")
def frames(tmp_path_factory):
    return record_tiny(new_db(tmp_path_factory.mktemp("reports")))


def _rows(ws, first, ncols):
    return [[ws.cell(r, c).value for c in range(1, ncols + 1)] for r in range(first, ws.max_row + 1)]


def test_weekly_figures(frames):
    t = tiny()
    visits, problems = frames
    fig = weekly_figures(t, visits, problems, start=D(2026, 3, 1), end=D(2026, 3, 7), assignment=t.assignment)
    assert fig.total == {"cadres": 3, "households": 4, "enterprises": 1, "problems_collected": 3,
                         "problems_solved": 1, "coverage": 5 / 12}
    team = fig.by_team.set_index("team_id")
    assert team.loc["A", ["cadres", "households", "enterprises", "problems_collected", "problems_solved"]].tolist() \
        == [2, 3, 0, 1, 0]
    assert team.loc["B", ["cadres", "households", "enterprises", "problems_collected", "problems_solved"]].tolist() \
        == [1, 1, 1, 2, 1]
    assert team.loc["A", "coverage"] == 3 / 8
    v = fig.by_village.set_index("village_id")
    assert v.loc["V2", ["cadres", "households", "problems_collected", "coverage"]].tolist() == [2, 0, 0, 0.0]
    assert v.loc["V3", ["cadres", "households", "enterprises", "problems_collected", "problems_solved"]].tolist() \
        == [1, 1, 1, 2, 1]
    town = fig.by_town.set_index("town_id")
    assert town.loc["T1", ["cadres", "households", "problems_collected", "coverage"]].tolist() == [2, 3, 1, 3 / 8]


def test_weekly_workbook_cells(frames, tmp_path):
    t = tiny()
    fig = weekly_figures(t, *frames, start=D(2026, 3, 1), end=D(2026, 3, 7), assignment=t.assignment)
    path = tmp_path / "weekly.xlsx"
    weekly_workbook(fig, campaign_name="某县").save(path)
    wb = load_workbook(path)
    assert wb.sheetnames == ["按工作组", "按镇村"]
    ws = wb["按工作组"]
    assert ws["A1"].value == "某县大走访情况周报（按工作组）"
    assert ws["A2"].value == "统计时段：2026年03月01日至2026年03月07日"
    assert [c.value for c in ws[3]] == ["工作组", "派出单位", "干部走访人数", "走访户数", "走访企业数", "收集问题数",
                                        "解决问题数", "累计覆盖率"]
    assert _rows(ws, 4, 8) == [
        ["一镇工作组", "一镇", 2, 3, 0, 1, 0, 0.375],
        ["县工作组", "县民政局", 1, 1, 1, 2, 1, 0.5],
        ["合计", None, 3, 4, 1, 3, 1, pytest.approx(5 / 12)],
    ]
    assert ws["H4"].number_format == "0.0%"
    assert _rows(wb["按镇村"], 4, 8) == [
        ["一镇", "小计", 2, 3, 0, 1, 0, 0.375],
        ["一镇", "一村", 2, 3, 0, 1, 0, 0.5],
        ["一镇", "二社区", 2, 0, 0, 0, 0, 0.0],
        ["二镇", "小计", 1, 1, 1, 2, 1, 0.5],
        ["二镇", "三村", 1, 1, 1, 2, 1, 0.5],
        ["合计", None, 3, 4, 1, 3, 1, pytest.approx(5 / 12)],
    ]


BODY = ["困难需求", "房屋土地", "医疗卫生", "教育文化", "平安治理", "就业创业", "社会保障", "其他方面", "合计"]


def _body(ws):
    """{row label: [solved, pending, subtotal]} of a summary sheet (rows 5-13)."""
    out = {}
    for r in range(5, 14):
        label = "合计" if r == 13 else ("困难需求" if r == 5 else ws.cell(r, 2).value)
        out[label] = [ws.cell(r, c).value for c in (3, 4, 5)]
    return out


def test_summary_table_cells(frames, tmp_path):
    t = tiny()
    _, problems = frames
    path = tmp_path / "summary.xlsx"
    summary_workbook(t, problems, start=D(2026, 3, 1), end=D(2026, 3, 15), campaign_name="某县").save(path)
    wb = load_workbook(path)
    assert wb.sheetnames == ["合计", "一镇", "二镇", "一村", "二社区", "三村"]
    ws = wb["合计"]
    assert ws["A1"].value == "群众入户调查问题建议汇总表"
    assert [ws.cell(2, c).value for c in range(1, 7)] == ["市（区）", "某县", "镇（街道）", None, "村（社区）", None]
    assert [c.value for c in ws[4]][:5] == ["项 目", "具体内容", "已解决\n（个）", "待解决\n（个）", "小计\n（个）"]
    assert [ws.cell(r, 1).value for r in (5, 6, 13)] == ["困难需求", "意见建议", "合 计"]
    assert ws.cell(5, 2).value == "合 计"
    assert "A6:A12" in {str(m) for m in ws.merged_cells.ranges}
    body = _body(ws)
    assert list(body) == BODY
    assert body == {"困难需求": [1, 0, 1], "房屋土地": [0, 1, 1], "医疗卫生": [1, 0, 1], "教育文化": [0, 0, 0],
                    "平安治理": [0, 0, 0], "就业创业": [0, 1, 1], "社会保障": [0, 0, 0], "其他方面": [0, 0, 0],
                    "合计": [2, 2, 4]}
    town = _body(wb["一镇"])
    assert wb["一镇"]["D2"].value == "一镇" and town["医疗卫生"] == [1, 0, 1] and town["合计"] == [1, 1, 2]
    assert _body(wb["三村"])["合计"] == [1, 1, 2] and wb["三村"]["F2"].value == "三村"


def test_summary_counts_solved_as_of_the_period_end(frames, tmp_path):
    t = tiny()
    path = tmp_path / "summary.xlsx"
    summary_workbook(t, frames[1], start=D(2026, 3, 1), end=D(2026, 3, 11)).save(path)
    body = _body(load_workbook(path)["合计"])
    assert body["医疗卫生"] == [0, 1, 1]  # p1 was solved on 03-12
    assert body["合计"] == [1, 3, 4]


def test_problem_lists_per_cadre(frames, tmp_path):
    t = tiny()
    path = tmp_path / "problems.xlsx"
    problem_list_workbook(t, frames[1], start=D(2026, 3, 1), end=D(2026, 3, 15)).save(path)
    wb = load_workbook(path)
    assert wb.sheetnames == ["汇总", "李明", "赵强", "孙丽"]
    assert _rows(wb["汇总"], 4, 5) == [["李明", "一镇工作组", 1, 1, 0], ["赵强", "一镇工作组", 1, 0, 1],
                                     ["孙丽", "县工作组", 2, 1, 1]]
    ws = wb["孙丽"]
    assert ws["A1"].value == "党员干部走访收集问题清单"
    assert ws["A2"].value == "（个人填写，交本单位汇总）"
    assert ws["A3"].value == "走访人：孙丽（C3，县工作组）"
    assert [c.value for c in ws[5]][:4] == ["序号", "走访对象", "反映问题或意见建议", "办理意见"]
    assert _rows(ws, 6, 10) == [
        [1, "王八（V3路8号）", "低保申请表不会填", None, "困难需求", "即知即办", "已解决待确认", "孙丽", "2026-03-06",
         "2026-03-05"],
        [2, "乙公司", "招工难，希望出台用工补贴", None, "就业创业", "政策层面", "待交办", "孙丽", "2026-06-03",
         "2026-03-05"],
    ]
    ws = wb["李明"]
    assert [ws.cell(6, c).value for c in (2, 4, 7)] == ["王一（V1路1号）", "协调镇卫生院派医生（已交办：镇卫生院）",
                                                       "群众满意已销号"]


def test_masked_problem_lists_hold_no_names_or_addresses(frames, tmp_path):
    t = tiny()
    path = tmp_path / "problems.xlsx"
    problem_list_workbook(t, frames[1], start=D(2026, 3, 1), end=D(2026, 3, 15), mask=True).save(path)
    wb = load_workbook(path)
    assert wb["孙丽"]["B6"].value == "王*（三村）"
    text = " ".join(str(c.value) for ws in wb for row in ws.iter_rows() for c in row if c.value is not None)
    for h in t.households.itertuples():
        assert h.head_name not in text and h.phone not in text and h.address not in text


def test_masking():
    assert mask_name("王小明") == "王**" and mask_name("李") == "李*" and mask_name(None) is None
    assert mask_phone("13812345678") == "138****5678" and mask_phone("12345") == "***45"
    assert mask_survey({"head_name": "张三", "phone": "13900000000", "address": "一村1号", "income": "务农"}) == \
        {"head_name": "张*", "phone": "139****0000", "income": "务农"}
