"""``zoufang report``: a database with visits to the small good campaign → Excel files with the right cells."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from geodata import store
from visit_factories import new_db
from zoufang.cli import main


def _visit(cid, hid, cadre, day, outcome="visited", problems=None):
    rec = {"client_id": cid, "entity_type": "household", "entity_id": hid, "cadre_id": cadre,
           "visited_at": f"2026-03-{day:02d}T10:00:00", "outcome": outcome}
    if problems:
        rec["problems"] = problems
    return rec


@pytest.fixture
def db(tmp_path, campaign_file):
    url = new_db(tmp_path)
    eng = store.make_engine(url)
    with store.session_scope(eng) as s:
        cid = store.ensure_campaign(s, "cz", name="常州试点", campaign_path=campaign_file).id
    batch = [
        _visit("a", "H0001", "C01", 2, problems=[{"client_id": "pa", "category": "safety_governance",
                                                   "description": "路灯坏了", "level": "on_spot"}]),
        _visit("b", "H0002", "C01", 3),
        _visit("c", "H0003", "C05", 3, "not_home"),
        _visit("d", "H0041", "C02", 9, problems=[{"client_id": "pd", "category": "difficulty",
                                                   "description": "需要助学金"}]),
    ]
    store.submit_visits(eng, batch, campaign_id=cid)
    with store.session_scope(eng) as s:
        pa = s.query(store.Problem).filter_by(client_id="pa").one().id
        store.transition_problem(s, pa, "solve", actor="C01", at=dt.datetime(2026, 3, 2, 11))
    eng.dispose()
    return url


def test_weekly_summary_and_problem_lists(db, tmp_path):
    runner = CliRunner()
    out = tmp_path / "w.xlsx"
    r = runner.invoke(main, ["report", "weekly", "--from", "2026-03-01", "--to", "2026-03-07", "-o", str(out),
                             "--db", db])
    assert r.exit_code == 0, r.output
    assert "weekly report 2026-03-01..2026-03-07 written" in r.output
    ws = load_workbook(out)["按工作组"]
    total = [ws.cell(ws.max_row, c).value for c in range(1, 8)]
    assert total == ["合计", None, 2, 2, 0, 1, 1]  # C01 and C05 went out (C05 found nobody home); H0041 is next week
    out = tmp_path / "s.xlsx"
    r = runner.invoke(main, ["report", "summary", "--from", "2026-03-01", "--to", "2026-03-15", "-o", str(out),
                             "--db", db])
    assert r.exit_code == 0, r.output
    ws = load_workbook(out)["合计"]
    assert ws["B2"].value == "常州试点"
    assert [ws.cell(5, c).value for c in (3, 4, 5)] == [0, 1, 1]  # 困难需求
    assert [ws.cell(9, c).value for c in (2, 3, 4, 5)] == ["平安治理", 1, 0, 1]
    assert [ws.cell(13, c).value for c in (3, 4, 5)] == [1, 1, 2]
    out = tmp_path / "p.xlsx"
    r = runner.invoke(main, ["report", "problems", "--from", "2026-03-01", "--to", "2026-03-15", "-o", str(out),
                             "--db", db, "--mask"])
    assert r.exit_code == 0, r.output
    wb = load_workbook(out)
    assert wb.sheetnames == ["汇总", "干部1", "干部2"]
    assert wb["干部1"]["B6"].value == "张*（村11）" and wb["干部1"]["C6"].value == "路灯坏了"


@pytest.mark.parametrize("args, message", [
    (["--from", "2026-03-09", "--to", "2026-03-01"], "is before --from"),  # reversed period
    (["--from", "March", "--to", "2026-03-01"], "expected YYYY-MM-DD"),  # not a date
    (["--from", "2026-03-01", "--to", "2026-03-09", "--campaign-key", "nope"], "no campaign 'nope'"),
])
def test_bad_input_is_a_message_not_a_traceback(db, tmp_path, args, message):
    r = CliRunner().invoke(main, ["report", "summary", *args, "-o", str(tmp_path / "x.xlsx"), "--db", db])
    assert r.exit_code != 0 and message in r.output
    assert not (tmp_path / "x.xlsx").exists()


def test_a_missing_database_is_reported(tmp_path):
    r = CliRunner().invoke(main, ["report", "weekly", "--from", "2026-03-01", "--to", "2026-03-07",
                                  "-o", str(tmp_path / "x.xlsx"), "--db", str(tmp_path / "none.sqlite")])
    assert r.exit_code == 1 and "no database at" in r.output
    assert not (tmp_path / "none.sqlite").exists()


def test_the_database_beside_the_campaign_is_the_default(tmp_path, campaign_file, monkeypatch):
    import shutil

    from geodata.store.engine import ENV_URL

    monkeypatch.delenv(ENV_URL, raising=False)
    url = new_db(tmp_path, name="elsewhere.sqlite")
    eng = store.make_engine(url)
    with store.session_scope(eng) as s:
        store.ensure_campaign(s, "cz", name="常州试点")
    eng.dispose()
    shutil.copy(tmp_path / "elsewhere.sqlite", campaign_file.with_name("zoufang.sqlite"))
    r = CliRunner().invoke(main, ["report", "summary", "--from", "2026-03-01", "--to", "2026-03-15",
                                  "-o", str(tmp_path / "s.xlsx"), "--campaign", str(campaign_file)])
    assert r.exit_code == 0, r.output
    assert load_workbook(tmp_path / "s.xlsx")["合计"]["B2"].value == "常州试点"


def test_weekly_with_the_plan_gives_each_team_its_coverage(db, tmp_path, campaign_file):
    import pandas as pd
    import pyogrio

    from geodata import load_campaign

    camp = load_campaign(campaign_file)
    hh = camp.households
    plan = pd.DataFrame({"entity_type": "household", "entity_id": hh["household_id"].astype(str),
                         "team_id": ["TM3" if v.startswith("V1") else "TM4" for v in hh["village_id"]],
                         "cadre_id": "C01"})
    pyogrio.write_dataframe(plan, tmp_path / "plan.gpkg", layer="assignment", driver="GPKG")
    out = tmp_path / "w.xlsx"
    r = CliRunner().invoke(main, ["report", "weekly", "--from", "2026-03-01", "--to", "2026-03-07", "-o", str(out),
                                  "--db", db, "--plan", str(tmp_path / "plan.gpkg")])
    assert r.exit_code == 0, r.output
    rows = {ws_row[0].value: [c.value for c in ws_row] for ws_row in load_workbook(out)["按工作组"].iter_rows(min_row=4)}
    assert rows["镇1工作组"][7] == pytest.approx(2 / 80)  # H0001, H0002 of town 1's 80 households (no enterprise rows in this plan)
    assert rows["镇2工作组"][7] == 0
