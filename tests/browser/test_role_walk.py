"""Every demo role's walk in Chromium: log in with the one-time password, change it, open the
role's page, do one thing there, log out; a screenshot of each page is kept.

The demo's own flow (a small world) makes the deployment; then each custodian prepares and
seals its dataset again on its own machine (fresh serials and packages, as for a new delivery).
The server requires one-time passwords to be changed first, as a shared deployment would. In
order: the administrator registers a user, each custodian officer approves their dataset and
uploads its two sealed packages, the linkage unit links them and seals the link map, the hub
operator combines, the analyst makes a crosstab and submits it, two output checkers approve it
and the second releases it; the public register then lists it.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from ansim.demo import run_demo
from ansim.demo._accounts import issue_demo_accounts
from ansim.demo._run import PROJECT
from ansim.governance import Governance
from ansim.identity import LinkageSecret
from ansim.packages import PartyKeyStore
from ansim.server import create_app
from ansim.services import Custodian

PEOPLE = 1000


def _html(page: Page) -> str:
    """The page's HTML once the navigation a click started has loaded (content() read during
    the load can come back empty)."""
    page.wait_for_load_state("load")
    return page.content()


NEW_PASSWORD = "a changed demo walk password"  # noqa: S105  # a test account's new password
ORDER = ("administrator", "custodian_officer", "linkage_unit_operator", "hub_operator",
         "analyst", "output_checker")  # fmt: skip


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, str]]]:
    """The demo's deployment and its accounts (one-time passwords)."""
    out = tmp_path_factory.mktemp("walk") / "demo"
    run_demo(people=PEOPLE, seed=7, out=out)
    _seal_again(out)
    issue_demo_accounts(out / "governance", out)
    accounts = json.loads((out / "demo-accounts.json").read_text(encoding="utf-8"))
    return out, sorted(accounts, key=lambda a: ORDER.index(a["role"]))


def _seal_again(out: Path) -> None:
    """Each custodian prepares and seals its ingested dataset again (custodian service)."""
    gov = Governance(out / "governance")
    try:
        for home in sorted((out / "custodians").iterdir()):
            shutil.rmtree(home / "outbox", ignore_errors=True)
            custodian = Custodian(gov, PROJECT, home, PartyKeyStore.open(home / "keys"))
            secret = LinkageSecret.load(home / "secrets" / "linkage.key")
            officer = f"officer.{home.name}"
            for ingested in sorted((home / "ingest").iterdir()):
                parts = custodian.prepare(officer, ingested, secret, out=home / "again")
                custodian.seal(officer, parts)
    finally:
        gov.close()


def _log_in(page: Any, url: str, user: str, password: str) -> None:
    page.goto(f"{url}/login")
    page.fill("#user", user)
    page.fill("#password", password)
    page.get_by_role("button", name="로그인").click()


def _first_login(page: Any, url: str, account: dict[str, str]) -> None:
    """The one-time password opens the password form only; then log in with the new one."""
    _log_in(page, url, account["user"], account["password"])
    assert page.url.endswith("/password")
    page.fill("#old", account["password"])
    page.fill("#new", NEW_PASSWORD)
    page.get_by_role("button", name="비밀번호 변경").click()
    assert "/login" in page.url and "비밀번호가 바뀌었습니다" in _html(page)
    _log_in(page, url, account["user"], NEW_PASSWORD)
    assert page.url.endswith("/home")


def _notice(page: Any) -> str:
    return str(page.locator("p.notice").inner_text())


def _administrator(page: Any, account: dict[str, str], state: dict[str, Any]) -> None:
    page.get_by_role("link", name="열기").click()
    assert page.url.endswith("/admin") and "감사 기록 검증" in _html(page)
    page.fill("#nu-user", "visitor.walk")
    page.fill("#nu-name", "Walk Visitor")
    page.get_by_role("button", name="등록", exact=True).click()
    assert "사용자가 등록되었습니다" in _html(page)


def _custodian_officer(page: Any, account: dict[str, str], state: dict[str, Any]) -> None:
    page.get_by_role("link", name="열기").click()
    assert "/custodian" in page.url and "보낸 패키지" in _html(page)
    page.get_by_role("button", name="승인", exact=True).first.click()
    assert "결정이 기록되었습니다" in _notice(page)
    outbox = state["home"] / "custodians" / account["user"].removeprefix("officer.") / "outbox"
    for package in sorted(outbox.glob("*/*.ansim")):
        page.set_input_files("#package", str(package))
        page.get_by_role("button", name="올리기").click()
        assert "봉인된 패키지를 받았습니다" in _notice(page)
    assert _html(page).count("수신됨, 열기 대기 중") == 2


def _linkage_unit_operator(page: Any, account: dict[str, str], state: dict[str, Any]) -> None:
    page.get_by_role("link", name="열기").click()
    assert "/linkage" in page.url and "품질 보고서" in _html(page)
    page.get_by_role("button", name="패키지를 열고 연계한 뒤").click(timeout=300_000)
    assert "연계를 실행했고" in _notice(page)


def _hub_operator(page: Any, account: dict[str, str], state: dict[str, Any]) -> None:
    page.get_by_role("link", name="열기").click()
    assert "/hub" in page.url
    page.get_by_role("button", name="패키지를 열고 결합하기").click(timeout=300_000)
    assert "결합된 데이터셋" in _html(page) and "linked_" in _html(page)


def _analyst(page: Any, account: dict[str, str], state: dict[str, Any]) -> None:
    page.get_by_role("link", name="열기").click()
    assert "/analyst" in page.url and "kostat_register" in _html(page)
    page.fill("#asql", "SELECT person_id, sex FROM kostat_register")
    page.fill("#by", "sex")
    page.get_by_role("button", name="교차표 만들기").click()
    assert "결과물로 저장되었습니다" in _notice(page)
    row = page.locator("tr", has=page.get_by_role("button", name="검토 요청")).last
    state["output"] = str(row.locator("code").inner_text())
    row.get_by_role("button", name="검토 요청").click()
    assert "심사를 요청했습니다" in _notice(page)


def _output_checker(page: Any, account: dict[str, str], state: dict[str, Any]) -> None:
    page.get_by_role("link", name="열기").click()
    assert "/checker" in page.url and "심사 대기열" in _html(page)
    page.get_by_role("link", name=state["output"]).first.click()
    assert "kostat_register" in page.locator("pre").inner_text()  # the SQL is shown
    state["screenshot"](page, f"walk-review-{account['user']}".replace(".", "-"))
    page.get_by_role("button", name="승인", exact=True).click()
    assert "심사가 기록되었습니다" in _notice(page)
    state["reviews"] = state.get("reviews", 0) + 1
    if state["reviews"] == 2:  # the second checker releases it
        page.get_by_role("link", name=state["output"]).first.click()
        page.get_by_role("button", name="반출").click()
        assert "결과물이 반출되었습니다" in _notice(page)


WALKS: dict[str, Callable[[Any, dict[str, str], dict[str, Any]], None]] = {
    "administrator": _administrator, "custodian_officer": _custodian_officer,
    "linkage_unit_operator": _linkage_unit_operator, "hub_operator": _hub_operator,
    "analyst": _analyst, "output_checker": _output_checker,
}  # fmt: skip


def test_every_demo_role_walks_its_page(
    demo_home: tuple[Path, list[dict[str, str]]],
    serve: Callable[[Any], str],
    browser: Any,
    screenshot: Callable[[Any, str], Path],
) -> None:
    home, accounts = demo_home
    url = serve(create_app(home, require_password_change=True))
    state: dict[str, Any] = {"home": home, "screenshot": screenshot}
    for account in accounts:
        context = browser.new_context(locale="ko-KR")
        page = context.new_page()
        page.set_default_timeout(60_000)
        _first_login(page, url, account)
        name = f"walk-{account['role']}-{account['user']}".replace(".", "-")
        screenshot(page, f"{name}-home")
        WALKS[account["role"]](page, account, state)
        screenshot(page, name)
        page.get_by_role("button", name="로그아웃").click()
        assert "/login" in page.url and "로그아웃되었습니다" in _notice(page)
        page.goto(f"{url}/home")
        assert "/login" in page.url  # the session is over
        context.close()
    public = browser.new_page()
    public.goto(f"{url}/register?lang=en")
    assert state["output"] in _html(public) and "Transparency register" in _html(public)
    screenshot(public, "walk-public-register")
    public.close()
