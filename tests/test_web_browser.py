"""The campaign map in a real browser: Debian's chromium driven by Playwright.

Only what a browser shows is checked here (Leaflet starts, the layers are
fetched and drawn, nothing is requested from another host); the rest is in
test_web.py. Never downloads a browser: without /usr/bin/chromium it skips.
"""

from __future__ import annotations

import os
import threading

import pytest
from werkzeug.serving import make_server

from conftest_web import (  # noqa: F401  (fixtures)
    ACCOUNTS,
    HOUSEHOLDS_PER_GRID,
    app,
    db_template,
    db_url,
    planned,
    planned_app,
    web_campaign,
    web_plan,
)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SCREENSHOT = "/tmp/zoufang_map.png"
SCREENSHOT_ZOOMED = "/tmp/zoufang_map_zoomed.png"
SCREENSHOT_CADRE = "/tmp/zoufang_cadre_390.png"
SCREENSHOT_CADRE_SAVED = "/tmp/zoufang_cadre_390_saved.png"
SCREENSHOT_LEADER = "/tmp/zoufang_leader.png"
SCREENSHOT_PLAN = "/tmp/zoufang_plan_job.png"
PHONE = {"width": 390, "height": 844}

pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM),
    reason=f"{CHROMIUM} not installed (apt-get install chromium); browser builds are never downloaded",
)


def _serve(app):  # noqa: F811
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


@pytest.fixture
def live_server(app):  # noqa: F811
    """The app on a free port of 127.0.0.1, served from a thread."""
    server, thread = _serve(app)
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def planned_server(planned_app):  # noqa: F811
    server, thread = _serve(planned_app)
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


class Watch:
    """Failed requests, requests to other hosts and page errors of one page."""

    def __init__(self, page, base):
        self.failed, self.foreign, self.errors = [], [], []
        page.on("request", lambda r: None if r.url.startswith((base + "/", "data:")) else self.foreign.append(r.url))
        page.on("response", lambda r: r.status >= 400 and self.failed.append(f"{r.status} {r.url}"))
        page.on("requestfailed", lambda r: self.failed.append(f"{r.failure} {r.url}"))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))

    def check(self):
        assert self.foreign == [], f"requests to other hosts: {self.foreign}"
        assert self.failed == [], f"failed requests: {self.failed}"
        assert self.errors == [], f"page errors: {self.errors}"


def sign_in(page, base, user):
    page.goto(base + "/login")
    page.fill('input[name="username"]', user)
    page.fill('input[name="password"]', ACCOUNTS[user][0])
    page.click('button[type="submit"]')
    page.wait_for_load_state("networkidle")  # the home page has loaded its data: nothing left in flight


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def test_map_page_draws_the_campaign_in_chromium_without_other_hosts(live_server, browser):
    failed, foreign, errors = [], [], []

    def on_response(response):
        if response.status >= 400:
            failed.append(f"{response.status} {response.url}")

    def on_request(request):
        if not request.url.startswith((live_server + "/", "data:")):
            foreign.append(request.url)

    if True:
        page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="zh-CN")
        try:
            sign_in(page, live_server, "planner")
            page.on("request", on_request)
            page.on("response", on_response)
            page.on("requestfailed", lambda r: failed.append(f"{r.failure} {r.url}"))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: m.type == "error" and errors.append(m.text))

            page.goto(live_server + "/planner/map")
            page.wait_for_selector('.folium-map[data-zf-loaded="1"]', timeout=20_000)
            zoom = page.evaluate("() => window[document.querySelector('.folium-map').id].getZoom()")

            # Leaflet drew one SVG path per village, must-visit ones marked,
            # and one per grid; households are counts per grid at this zoom.
            assert page.locator("path.zf-village").count() == 4
            assert page.locator("path.zf-village.zf-weak").count() == 1
            assert page.locator("path.zf-village.zf-resettlement").count() == 1
            assert page.locator("path.zf-grid").count() == 8
            assert 13 <= zoom < 16, zoom
            counts = page.locator(".zf-count-households .zf-count").all_inner_texts()
            assert sorted(int(c) for c in counts) == sorted(HOUSEHOLDS_PER_GRID.values())
            assert page.locator("path.zf-household").count() == 0
            assert page.locator(".leaflet-control-layers").inner_text().count("网格") == 1
            page.screenshot(path=SCREENSHOT)

            # Zoomed in, households become points (no more counts). Wait for the
            # opening fitBounds animation to end first: its transitionend would
            # otherwise set the zoom back after our setView.
            page.wait_for_function(
                "() => !window[document.querySelector('.folium-map').id]._animatingZoom", timeout=20_000)
            loads = page.evaluate("() => zoufangMap.loads")
            page.evaluate(
                "() => { const m = window[document.querySelector('.folium-map').id];"
                " m.setView(m.getCenter(), 17, {animate: false}); }"
            )
            # generous: the test machine is shared and chromium may wait long for a core
            page.wait_for_function(f"() => zoufangMap.loads > {loads}", timeout=45_000)
            page.wait_for_selector('.folium-map[data-zf-loaded="1"]', timeout=20_000)
            assert page.locator("path.zf-household").count() > 0
            assert page.locator(".zf-count-households").count() == 0

            # A popup names the grid and its team.
            spot = page.evaluate(
                """() => {
                  const r = document.querySelector('.folium-map').getBoundingClientRect();
                  for (const p of document.querySelectorAll('path.zf-household')) {
                    const b = p.getBoundingClientRect();
                    if (b.width > 0 && b.left > r.left + 300 && b.right < r.right - 300
                        && b.top > r.top + 100 && b.bottom < r.bottom - 100) {
                      return {x: b.left + b.width / 2, y: b.top + b.height / 2};
                    }
                  }
                  return null;
                }"""
            )
            assert spot is not None, "no household drawn in the middle of the map"
            page.mouse.click(spot["x"], spot["y"])
            popup = page.locator(".leaflet-popup-content").inner_text(timeout=5_000)
            page.screenshot(path=SCREENSHOT_ZOOMED)
            assert "住户" in popup and "网格" in popup and "工作组" in popup
            page.wait_for_load_state("networkidle")  # the popup may pan the map and reload layers
        finally:
            foreign, failed, errors = list(foreign), list(failed), list(errors)
            page.close()

    assert foreign == [], f"requests to other hosts: {foreign}"
    assert failed == [], f"failed requests: {failed}"
    assert errors == [], f"page errors: {errors}"


#: the RGBA of the leader map's canvas at the centre of the first grid
GRID_PIXEL = """() => {
  const m = zoufangLeaderMap.map, layer = zoufangLeaderMap.layers.grids.getLayers()[0].getLayers()[0];
  const p = m.latLngToContainerPoint(layer.getCenter());
  const canvas = m.getContainer().querySelector('.leaflet-overlay-pane canvas');
  const r = canvas.getBoundingClientRect(), c = m.getContainer().getBoundingClientRect();
  const k = canvas.width / r.width;
  const x = Math.round((p.x + c.left - r.left) * k), y = Math.round((p.y + c.top - r.top) * k);
  return Array.from(canvas.getContext('2d').getImageData(x, y, 1, 1).data);
}"""


def _no_sideways_scroll(page):
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width} px wide on a {PHONE['width']} px phone"


def test_cadre_records_a_visit_on_a_390px_phone_and_the_leader_sees_coverage_change(planned_server, browser, planned):  # noqa: F811
    stops = planned[3]
    leader = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    lw = Watch(leader, planned_server)
    sign_in(leader, planned_server, "leader")
    leader.goto(planned_server + "/leader/")
    leader.wait_for_selector('.folium-map[data-zf-loaded="1"]', timeout=20_000)
    before = leader.inner_text("#zf-households-covered")
    assert before == "0"
    # drawn on a canvas (thousands of SVG paths are too slow at county scale): count and look at pixels
    assert leader.evaluate("() => zoufangLeaderMap.drawn") == {"grids": 8, "villages": 4, "mustVillages": 0}
    assert leader.locator(".folium-map .leaflet-overlay-pane canvas").count() == 1
    assert leader.locator(".folium-map .leaflet-overlay-pane svg path").count() == 0
    red = leader.evaluate(GRID_PIXEL)  # every grid is at 0 %: the ramp's red end, blended over the map
    assert red[3] > 0 and red[0] > red[1] + 40 and red[0] > red[2] + 40, red
    for url in leader.evaluate("() => Object.values(zoufangLeaderMap.config.urls)"):
        assert "/api/coverage/" in url  # layers come from the API, none is baked into the page
    leader.wait_for_selector('body[data-zf-parts="1"]', timeout=20_000)  # the sections fetched after the map
    assert leader.locator("tr.zf-grid").count() == 8 and leader.locator("table.zf-weekly tbody tr").count() >= 1
    assert leader.locator('.zf-part[aria-busy="true"]').count() == 0
    assert leader.evaluate("() => typeof L.heatLayer") == "function"  # the vendored leaflet.heat
    assert leader.evaluate("() => zoufangLeaderMap.heatPoints") == 8  # every grid has households to visit

    phone = browser.new_page(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN")
    pw = Watch(phone, planned_server)
    sign_in(phone, planned_server, "cadre1")
    assert phone.url.endswith("/cadre/")
    phone.wait_for_selector(".folium-map .leaflet-marker-icon", timeout=20_000)
    n_stops = phone.locator("li.zf-stop").count()
    dates = sorted(set(stops.loc[stops["cadre_id"] == "C1", "date"]))
    assert n_stops > 0 and phone.locator(".leaflet-marker-icon").count() == n_stops
    assert phone.locator(".zf-day-map").bounding_box()["width"] <= PHONE["width"]
    _no_sideways_scroll(phone)
    gpx = phone.locator("text=下载GPX轨迹")
    assert gpx.is_visible() and gpx.bounding_box()["x"] + gpx.bounding_box()["width"] <= PHONE["width"]
    phone.screenshot(path=SCREENSHOT_CADRE, full_page=False)

    first = phone.locator("li.zf-stop").first
    assert first.locator("details").get_attribute("open") is not None
    save = first.locator("button[type=submit]")
    box = save.bounding_box()
    assert box["height"] >= 44 and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]  # a thumb hits it
    first.locator("label.zf-choice", has_text="入户走访").tap()
    first.locator('textarea[name="problem_description"]').fill("村道路灯损坏")
    with phone.expect_navigation():
        save.tap()
    phone.wait_for_selector(".zf-flash", timeout=10_000)
    assert "已保存" in phone.inner_text(".zf-flash")
    assert "✔ 入户走访" in phone.locator("li.zf-stop").first.inner_text()
    _no_sideways_scroll(phone)
    phone.screenshot(path=SCREENSHOT_CADRE_SAVED, full_page=False)

    leader.reload()
    leader.wait_for_selector('.folium-map[data-zf-loaded="1"]', timeout=20_000)
    assert leader.inner_text("#zf-households-covered") == "1"
    leader.screenshot(path=SCREENSHOT_LEADER, full_page=True)
    assert dates  # the cadre had a scheduled day
    pw.check()
    lw.check()
    phone.close()
    leader.close()


def test_planner_runs_the_assignment_and_watches_the_progress_bar(planned_server, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    watch = Watch(page, planned_server)
    sign_in(page, planned_server, "planner")
    page.goto(planned_server + "/planner/plan")
    page.fill('input[name="time_limit"]', "2")
    page.click("#zf-run button[type=submit]")
    page.wait_for_function("() => !document.getElementById('zf-job').hidden", timeout=10_000)
    assert "job=" in page.url  # a reload finds the run again
    page.wait_for_url("**/planner/plan?job=*", timeout=30_000)
    page.wait_for_selector('#zf-job[data-state="done"]', timeout=30_000)
    assert page.locator("#zf-job-bar").get_attribute("value") in ("1", "1.0")
    assert page.locator(".zf-teams-table tbody tr").count() == 2
    page.screenshot(path=SCREENSHOT_PLAN, full_page=True)
    watch.check()
    page.close()


def test_a_team_from_the_plan_table_opens_on_the_map_outlined_with_its_figures(planned_server, browser, planned):
    _a, _m, summary, _s, _d = planned
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    watch = Watch(page, planned_server)
    sign_in(page, planned_server, "planner")
    page.goto(planned_server + "/planner/plan")
    team = str(summary.iloc[0]["team_id"])
    page.click(f'tr[data-team="{team}"] a')
    page.wait_for_selector('.folium-map[data-zf-loaded="1"]', timeout=20_000)
    assert page.url.endswith(f"/planner/map?team={team}")
    grids = _a[_a["entity_type"] == "grid"]
    mine = int((grids["team_id"].astype(str) == team).sum())
    assert page.locator("path.zf-grid-focus").count() == mine
    assert page.locator("path.zf-grid-dim").count() == len(grids) - mine
    # the map is fitted to the team's territory, and a grid's popup gives the team's figures
    page.locator("path.zf-grid-focus").first.dispatch_event("click")  # (households may lie on top)
    page.wait_for_selector(".leaflet-popup-content", timeout=5_000)
    popup = page.locator(".leaflet-popup-content").inner_text()
    r = summary.iloc[0]
    assert "负荷比" in popup and f"{float(r['load_ratio']):.3f}" in popup and "片数" in popup
    watch.check()
    page.close()


@pytest.mark.parametrize("user, path", [("leader", "/leader/"), ("planner", "/planner/plan"), ("admin", "/admin/")])
def test_other_pages_fit_a_390px_phone(planned_server, browser, user, path):
    page = browser.new_page(viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN")
    watch = Watch(page, planned_server)
    sign_in(page, planned_server, user)
    page.goto(planned_server + path)
    page.wait_for_load_state("networkidle")
    _no_sideways_scroll(page)
    watch.check()
    page.close()


def test_the_browser_writes_dates_and_numbers_like_the_server(planned_server, browser):
    """static/js/format.js (Intl, built into Chromium) and web.i18n agree, in both languages."""
    from web.i18n import format_count, format_date, format_datetime, format_number, format_percent

    page = browser.new_page(locale="en-US")  # the page's <html lang>, not the browser's, decides
    watch = Watch(page, planned_server)
    sign_in(page, planned_server, "leader")
    for lang in ("zh", "en"):
        page.goto(f"{planned_server}/leader/?lang={lang}")
        # the page fetches its later parts after the map: leaving before they are in aborts them
        page.wait_for_selector('body[data-zf-parts="1"]', timeout=20_000)
        got = page.evaluate("""() => [zoufangFormat.date('2026-11-25'), zoufangFormat.date('2026-11-25', 'short'),
            zoufangFormat.date('2026-11-25', 'weekday'), zoufangFormat.date('2026-11-25', 'day'),
            zoufangFormat.datetime('2026-11-25T14:05:00'), zoufangFormat.number(299714), zoufangFormat.number(12.5),
            zoufangFormat.count(299714), zoufangFormat.percent(0.875), zoufangFormat.percent(0.12345, 2),
            zoufangFormat.percent(1, 0)]""")
        want = [format_date("2026-11-25", f, lang=lang) for f in ("long", "short", "weekday", "day")] + [
            format_datetime("2026-11-25T14:05:00", lang=lang), format_number(299714, lang=lang),
            format_number(12.5, lang=lang), format_count(299714, lang=lang), format_percent(0.875, lang=lang),
            format_percent(0.12345, 2, lang=lang), format_percent(1, 0, lang=lang)]
        assert got == want, lang
    assert got[0] == "Nov 25, 2026"
    watch.check()
    page.close()
