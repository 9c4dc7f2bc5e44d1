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

from conftest_web import HOUSEHOLDS_PER_GRID, app, web_campaign, web_plan  # noqa: F401  (fixtures)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SCREENSHOT = "/tmp/zoufang_map.png"
SCREENSHOT_ZOOMED = "/tmp/zoufang_map_zoomed.png"

pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM),
    reason=f"{CHROMIUM} not installed (apt-get install chromium); browser builds are never downloaded",
)


@pytest.fixture
def live_server(app):  # noqa: F811
    """The app on a free port of 127.0.0.1, served from a thread."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_map_page_draws_the_campaign_in_chromium_without_other_hosts(live_server):
    from playwright.sync_api import sync_playwright

    failed, foreign, errors = [], [], []

    def on_response(response):
        if response.status >= 400:
            failed.append(f"{response.status} {response.url}")

    def on_request(request):
        if not request.url.startswith((live_server + "/", "data:")):
            foreign.append(request.url)

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="zh-CN")
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

            # Zoomed in, households become points (no more counts).
            loads = page.evaluate("() => zoufangMap.loads")
            page.evaluate(
                "() => { const m = window[document.querySelector('.folium-map').id];"
                " m.setView(m.getCenter(), 17, {animate: false}); }"
            )
            page.wait_for_function(f"() => zoufangMap.loads > {loads}", timeout=20_000)
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
        finally:
            browser.close()

    assert foreign == [], f"requests to other hosts: {foreign}"
    assert failed == [], f"failed requests: {failed}"
    assert errors == [], f"page errors: {errors}"
