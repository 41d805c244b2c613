"""The linkage unit's report in Chromium: served by the server, Plotly from its local route.

The demo (a small world) links and receives the hub's subgroup rates; its linkage-unit operator
logs in and opens the report page: every chart draws, the page's content-security policy lets
its one inline script run (by hash) and nothing is fetched from another host.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ansim.demo import run_demo
from ansim.demo._accounts import issue_demo_accounts
from ansim.demo._run import PROJECT
from ansim.server import create_app


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    out = tmp_path_factory.mktemp("report-walk") / "demo"
    run_demo(people=1000, seed=7, out=out)
    issue_demo_accounts(out / "governance", out)
    accounts = json.loads((out / "demo-accounts.json").read_text(encoding="utf-8"))
    return out, next(a for a in accounts if a["role"] == "linkage_unit_operator")


def test_the_report_page_draws_its_charts_offline_of_any_cdn(
    demo_home: tuple[Path, dict[str, str]],
    serve: Callable[[Any], str],
    browser: Any,
    screenshot: Callable[[Any, str], Path],
) -> None:
    home, account = demo_home
    url = serve(create_app(home))
    page = browser.new_page()
    problems: list[str] = []

    def console(message: Any) -> None:
        if message.type == "error" and not message.location["url"].endswith("/favicon.ico"):
            problems.append(f"{message.text} {message.location['url']}")

    page.on("console", console)
    page.on("pageerror", lambda e: problems.append(str(e)))
    hosts: set[str] = set()
    page.on("request", lambda r: hosts.add(r.url.split("/")[2]))
    page.goto(f"{url}/login")
    page.fill("#user", account["user"])
    page.fill("#password", account["password"])
    page.get_by_role("button", name="로그인").click()
    page.goto(f"{url}/projects/{PROJECT}/linkage")
    page.get_by_role("link", name="차트가 있는 보고서").click()
    page.wait_for_selector("#fig-weights .main-svg", timeout=60_000)
    assert page.locator(".js-plotly-plot").count() >= 8
    assert "집단별 연계율" in page.content() and 'data-table="rates:sex"' in page.content()
    assert problems == []  # no CSP refusal, no script error
    assert hosts == {url.split("/")[2]}
    screenshot(page, "linkage-report")
    page.close()
