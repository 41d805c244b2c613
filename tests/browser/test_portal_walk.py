"""The public walk in Debian's Chromium: catalogue, a table page with chart and map, a download."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from playwright.sync_api import expect

from ansim.portal import RateLimit, create_app
from tests.unit.portal.tables import publish_all


def test_catalogue_to_table_page_with_chart_map_and_download(
    serve, browser, screenshot, tmp_path: Path
) -> None:
    tables = {t.id: t for t in publish_all(tmp_path)}
    url = serve(create_app(tmp_path, RateLimit(per_minute=10_000, burst=1000)))
    page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    elsewhere: list[str] = []  # no CDN: every request goes to the portal itself
    page.on("request", lambda r: None if r.url.startswith(url) else elsewhere.append(r.url))

    page.goto(url + "/public")
    assert page.locator("#tables li").count() == 3
    screenshot(page, "portal-catalogue")
    page.get_by_role("link", name="인구 10만 명당 확진자 (시군·성별)").click()
    page.wait_for_url("**/public/tables/cases-rate**")

    # the map: the grey layer draws all 31 si/gun, the values layer those with a released value
    # (locator waits, not wait_for_function: the page's CSP forbids the eval it polls with)
    page.locator("#map .choroplethlocation").nth(30).wait_for(state="attached", timeout=30_000)
    layers = page.locator("#map .trace.choropleth")
    assert layers.nth(0).locator("path.choroplethlocation").count() == 31
    assert layers.nth(1).locator("path.choroplethlocation").count() == 31  # men: none withheld
    # the chart: one bar per si/gun, the numbers as released
    page.wait_for_selector("#chart .bars .point")
    assert page.locator("#chart .bars .point").count() == 31
    shown = set(page.locator("#chart .bartext").all_text_contents())
    released = {c.shown() for c in tables["cases-rate"].cells if c.keys[1] == "M"}
    assert shown == released

    page.select_option("#slice", index=1)  # women: 6 si/gun suppressed, drawn grey only
    women = page.locator("#map .trace.choropleth").nth(1).locator("path.choroplethlocation")
    expect(women).to_have_count(25)
    assert page.locator("#cells tbody tr").count() == 62
    screenshot(page, "portal-table")

    with page.expect_download() as info:
        page.get_by_role("link", name="CSV").click()
    text = Path(info.value.path()).read_text("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 62 and rows[0]["sigungu_name"] == "수원시"
    assert errors == [] and elsewhere == []
    page.close()


def test_dp_table_page_draws_a_time_series_in_english(serve, browser, tmp_path: Path) -> None:
    publish_all(tmp_path)
    url = serve(create_app(tmp_path, RateLimit(per_minute=10_000, burst=1000)))
    page = browser.new_page()
    page.goto(url + "/public/tables/weekly-cases?lang=en")
    page.wait_for_selector("#series .scatterlayer .trace")
    assert page.locator("#series .scatterlayer .trace").count() == 6  # 3 lines, 3 intervals
    page.wait_for_selector("#chart .bars .point")
    assert page.locator("#chart .scatterlayer .trace path.js-line").count() == 3  # intervals
    assert page.locator("h1").inner_text() == "Confirmed cases per week (differential privacy)"
    page.close()
