"""`zoufang schedule` and `zoufang route`: the plan file's new layers and one cadre's day in every format."""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET

import pyogrio
import pytest
from click.testing import CliRunner

from zoufang.cli import main

GPX = "{http://www.topografix.com/GPX/1/1}"
#: GPX 1.1 schema (gpx.xsd): child order of the elements we write
GPX_ORDER = {
    "gpx": ["metadata", "wpt", "rte", "trk", "extensions"],
    "metadata": ["name", "desc", "author", "copyright", "link", "time", "keywords", "bounds", "extensions"],
    "wpt": ["ele", "time", "magvar", "geoidheight", "name", "cmt", "desc", "src", "link", "sym", "type", "fix", "sat",
            "hdop", "vdop", "pdop", "ageofdgpsdata", "dgpsid", "extensions"],
    "rte": ["name", "cmt", "desc", "src", "link", "number", "type", "extensions", "rtept"],
}
GPX_ORDER["rtept"] = GPX_ORDER["wpt"]


@pytest.fixture(scope="module")
def scheduled(tmp_path_factory):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from factories import good_layers

    from geodata.io import write_layers

    tmp = tmp_path_factory.mktemp("route")
    camp = write_layers(good_layers(), tmp / "campaign.gpkg")
    plan = tmp / "plan.gpkg"
    runner = CliRunner()
    r = runner.invoke(main, ["assign", str(camp), "-o", str(plan), "--time-limit", "5", "--workers", "1"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(main, ["schedule", str(camp), str(plan), "--start", "2026-03-02", "--end", "2026-03-31",
                             "--workers", "1", "--iterations", "50"])
    assert r.exit_code == 0, r.output
    assert "checker: every schedule rule holds" in r.output
    days = pyogrio.read_dataframe(plan, layer="days")
    busiest = days.sort_values(["stops", "cadre_id"], ascending=[False, True]).iloc[0]
    return camp, plan, str(busiest["cadre_id"]), str(busiest["date"]), r.output


def route(scheduled, tmp_path, fmt, *extra):
    camp, plan, cadre, date, _ = scheduled
    out = tmp_path / f"day.{fmt}"
    r = CliRunner().invoke(main, ["route", str(plan), "--cadre", cadre, "--date", date, "--format", fmt,
                                  "-o", str(out), *extra])
    assert r.exit_code == 0, r.output
    return out.read_text(encoding="utf-8")


def test_schedule_adds_stops_and_days_and_prints_the_summary(scheduled):
    _, plan, _, _, output = scheduled
    layers = {name for name, _ in pyogrio.list_layers(plan)}
    assert {"assignment", "must_visits", "stops", "days", "shortfall", "schedule_info"} <= layers
    stops = pyogrio.read_dataframe(plan, layer="stops")
    for col in ("cadre_id", "team_id", "date", "seq", "entity_type", "entity_id", "arrive", "depart", "travel_s",
                "travel_m", "reason"):
        assert col in stops
    assert set(stops.geometry.geom_type) == {"Point"}
    days = pyogrio.read_dataframe(plan, layer="days")
    assert set(days.geometry.geom_type) == {"LineString"}
    assert "cadre-days" in output and "utilisation" in output


def test_gpx_is_gpx_1_1_with_waypoints_and_the_route(scheduled, tmp_path):
    text = route(scheduled, tmp_path, "gpx")
    root = ET.fromstring(text.encode("utf-8"))
    assert root.tag == GPX + "gpx" and root.get("version") == "1.1" and root.get("creator")

    def check(el):
        name = el.tag.replace(GPX, "")
        order = GPX_ORDER.get(name)
        if order is None:
            return
        kids = [k.tag.replace(GPX, "") for k in el]
        assert all(k in order for k in kids), (name, kids)
        assert [order.index(k) for k in kids] == sorted(order.index(k) for k in kids), (name, kids)
        if name in ("wpt", "rtept"):
            assert -90 <= float(el.get("lat")) <= 90 and -180 <= float(el.get("lon")) <= 180
        for k in el:
            check(k)

    check(root)
    wpts = root.findall(GPX + "wpt")
    assert wpts and len(root.find(GPX + "rte").findall(GPX + "rtept")) == len(wpts) + 2
    assert re.search(r"张\d+", text)  # the cadre's own file names the households


def test_csv_and_geojson_carry_no_personal_data_unless_asked(scheduled, tmp_path):
    text = route(scheduled, tmp_path, "csv")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows and "name" not in rows[0] and "phone" not in rows[0]
    assert not re.search(r"张\d+|138\d{8}", text)
    gj = json.loads(route(scheduled, tmp_path, "geojson"))
    assert gj["type"] == "FeatureCollection"
    assert gj["features"][-1]["geometry"]["type"] == "LineString"
    assert "phone" not in gj["features"][0]["properties"]
    with_names = route(scheduled, tmp_path, "csv", "--with-personal-data")
    assert re.search(r"张\d+", with_names) and "phone" in with_names.splitlines()[0]


def test_walk_sheet_is_chinese_self_contained_html_with_a_map(scheduled, tmp_path):
    html = route(scheduled, tmp_path, "html")
    assert "走访工作单" in html and "走访结果" in html and "已发联系卡" in html and "反映问题" in html
    assert "<svg" in html and "<polyline" in html
    assert not re.search(r"""(src|href)\s*=\s*["']?https?:""", html)  # no external assets
    assert "<script" not in html


def test_route_for_a_day_without_visits_says_which_days_exist(scheduled, tmp_path):
    _, plan, cadre, _, _ = scheduled
    r = CliRunner().invoke(main, ["route", str(plan), "--cadre", cadre, "--date", "2026-01-01", "-o",
                                  str(tmp_path / "x.gpx")])
    assert r.exit_code == 1 and "no route for cadre" in r.output and "its dates" in r.output


def test_gpx_validates_against_the_shipped_gpx_1_1_schema(scheduled, tmp_path):
    from planner.export import validate_gpx

    text = route(scheduled, tmp_path, "gpx")
    assert validate_gpx(text) == []
    # the schema check is real: an element out of order, a latitude out of range, a broken file
    assert any("cmt" in p and "not expected" in p for p in validate_gpx(text.replace("<cmt>", "<sym>x</sym><cmt>", 1)))
    assert any("lat" in p for p in validate_gpx(re.sub(r'lat="[-0-9.]+"', 'lat="123.000000"', text, count=1)))
    assert validate_gpx(text[: len(text) // 2])[0].startswith("line ")
    camp, plan, cadre, date, _ = scheduled
    r = CliRunner().invoke(main, ["route", str(plan), "--cadre", cadre, "--date", date, "-o",
                                  str(tmp_path / "x.gpx"), "--check"])
    assert r.exit_code == 0 and "valid against the GPX 1.1 schema" in r.output
    r = CliRunner().invoke(main, ["route", str(plan), "--cadre", cadre, "--date", date, "-o",
                                  str(tmp_path / "x.csv"), "--check"])
    assert r.exit_code == 2 and "gpx files only" in r.output


def test_pdf_walk_sheet_has_the_map_the_ordered_list_and_chinese_text(scheduled, tmp_path):
    from pypdf import PdfReader

    camp, plan, cadre, date, _ = scheduled
    out = tmp_path / "day.pdf"
    r = CliRunner().invoke(main, ["route", str(plan), "--cadre", cadre, "--date", date, "-o", str(out)])
    assert r.exit_code == 0, r.output
    reader = PdfReader(out)
    assert 1 <= len(reader.pages) <= 4
    text = "\n".join(page.extract_text() for page in reader.pages)
    for words in ("走访工作单", "走访结果", "已发联系卡", "反映问题及诉求", "走访干部签字", "计划时间"):
        assert words in text, words
    stops = pyogrio.read_dataframe(plan, layer="stops", read_geometry=False)
    day = stops[(stops["cadre_id"] == cadre) & (stops["date"] == date)]
    assert len(day) >= 2
    compact = re.sub(r"\s+", "", text)
    for eid, arrive in zip(day["entity_id"], day["arrive"]):  # every stop, with its planned time
        assert eid in compact and arrive in compact, eid
    assert re.search(r"张\d+", text)  # the cadre's own form names the households
    assert reader.pages[0].images, "page 1 carries the map"
    from planner.export.pdfsheet import cjk_font

    if cjk_font()[1] is not None:  # a CJK TrueType font is on this machine: it is embedded (subset)
        fonts = [f.get_object() for f in reader.pages[0]["/Resources"]["/Font"].values()]
        assert any("/FontDescriptor" in f and "/FontFile2" in f["/FontDescriptor"].get_object() for f in fonts)


def test_pdf_without_a_cjk_font_falls_back_to_the_cid_font_with_a_warning(scheduled, monkeypatch):
    import io

    from pypdf import PdfReader

    from planner.export import day_sheet, to_pdf
    from planner.export import pdfsheet

    _, plan, cadre, date, _ = scheduled
    stops = pyogrio.read_dataframe(plan, layer="stops")
    days = pyogrio.read_dataframe(plan, layer="days")
    sheet = day_sheet(stops, days, cadre_id=cadre, date=date)
    monkeypatch.setattr(pdfsheet, "CJK_FONTS", ())
    monkeypatch.delenv("ZOUFANG_CJK_FONT", raising=False)
    pdfsheet.cjk_font.cache_clear()
    try:
        with pytest.warns(pdfsheet.FontWarning, match="STSong-Light"):
            data = to_pdf(sheet)
    finally:
        pdfsheet.cjk_font.cache_clear()
    reader = PdfReader(io.BytesIO(data))
    fonts = [f.get_object().get("/BaseFont") for f in reader.pages[0]["/Resources"]["/Font"].values()]
    assert any("STSong-Light" in str(f) for f in fonts)


def test_schedule_replans_from_an_outcomes_file(scheduled, tmp_path):
    import shutil

    camp, plan, _, _, _ = scheduled
    copy = tmp_path / "plan.gpkg"
    shutil.copy(plan, copy)
    stops = pyogrio.read_dataframe(copy, layer="stops", read_geometry=False)
    past = stops[(stops["date"] <= "2026-03-04") & (stops["mode"] == "visit")]
    rows = ["entity_type,entity_id,outcome", f"{past['entity_type'].iat[0]},{past['entity_id'].iat[0]},已走访",
            f"{past['entity_type'].iat[1]},{past['entity_id'].iat[1]},不在家"]
    outcomes = tmp_path / "outcomes.csv"
    outcomes.write_text("\n".join(rows) + "\n", encoding="utf-8")
    r = CliRunner().invoke(main, ["schedule", str(camp), str(copy), "--end", "2026-03-31", "--outcomes",
                                  str(outcomes), "--today", "2026-03-04", "--workers", "1", "--iterations", "50"])
    assert r.exit_code == 0, r.output
    assert "checker: every schedule rule holds" in r.output
    after = pyogrio.read_dataframe(copy, layer="stops", read_geometry=False)
    kept = after[after["date"] <= "2026-03-04"][["cadre_id", "date", "seq", "entity_id"]].reset_index(drop=True)
    before = stops[stops["date"] <= "2026-03-04"][["cadre_id", "date", "seq", "entity_id"]].reset_index(drop=True)
    assert kept.equals(before)
    bad = tmp_path / "bad.csv"
    bad.write_text("entity_id,outcome\nH0001,maybe\n", encoding="utf-8")
    r = CliRunner().invoke(main, ["schedule", str(camp), str(copy), "--end", "2026-03-31", "--outcomes", str(bad),
                                  "--today", "2026-03-04", "--workers", "1"])
    assert r.exit_code == 1 and "maybe" in r.output


def test_the_schedule_summary_names_the_rule_and_numbers_behind_a_shortfall(scheduled, tmp_path):
    """A deadline too tight for the work: the command's summary lists each shortfall reason with
    an example of its numbers (the ``detail`` column of the ``shortfall`` layer), not only a count."""
    import shutil

    camp, plan, *_ = scheduled
    tight = tmp_path / "tight.gpkg"
    shutil.copy(plan, tight)
    r = CliRunner().invoke(main, ["schedule", str(camp), str(tight), "--start", "2026-03-02", "--end", "2026-03-02",
                                  "--workers", "1", "--iterations", "20"])
    assert r.exit_code == 0, r.output
    assert "NOT before the deadline" in r.output and "shortfall by reason:" in r.output
    short = pyogrio.read_dataframe(tight, layer="shortfall", read_geometry=False)
    assert len(short) and short["detail"].notna().any()
    shown = [line.strip()[len("e.g. "):] for line in r.output.splitlines() if line.strip().startswith("e.g. ")]
    assert shown and all(d in set(short["detail"].dropna()) for d in shown)
