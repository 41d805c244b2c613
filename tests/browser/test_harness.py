"""The harness itself: Chromium renders a page the live server serves, and a screenshot is kept."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import HTMLResponse


def test_chromium_renders_a_served_page(serve, browser, screenshot) -> None:
    app = FastAPI()

    @app.get("/", response_class=HTMLResponse)
    def home() -> str:
        return "<!doctype html><html lang='ko'><body><h1 id='t'>안심</h1></body></html>"

    url = serve(app)
    page = browser.new_page()
    page.goto(url + "/")
    assert page.locator("#t").inner_text() == "안심"
    assert screenshot(page, "harness").stat().st_size > 0
    page.close()
