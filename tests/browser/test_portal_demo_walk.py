"""The public walk over a real small demo deployment in Debian's Chromium (``ansim serve``'s app).

The demo's own flow releases its five public tables through the release path; the server over
its folder is what ``ansim serve --home`` runs. The walk opens the catalogue, then the DP table
(si/gun × week, every cell released with its interval): for the week shown first and another,
the map draws and colours Gyeonggi's 31 si/gun and the bars' numbers are the released
``portal.json``'s; the CSV download holds every cell. Every table's English page is English
(only the Korean title line and the language switch, marked ``lang="ko"``, and the Korean
gloss of a legal term, as in ``statistics (통계작성)``, are Korean) and its
table view shows exactly the released numbers (a small world: most rate and uptake cells are
``x``).
"""

from __future__ import annotations

import csv
import io
import re
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ansim.demo import run_demo
from ansim.portal import PublishedTable
from ansim.server import create_app

PEOPLE = 1500
HANGUL = re.compile("[\uac00-\ud7a3]")
_GLOSS = re.compile(r"(?<=[A-Za-z]) \([\uac00-\ud7a3 ]+\)")  # "statistics (통계작성)": a gloss
# the page's text outside elements marked Korean (the other-language title, the switch)
_TEXT_NOT_KOREAN = """() => {
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const out = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (parent.closest('[lang="ko"]') || parent.closest('script')) continue;
    out.push(node.textContent);
  }
  return out.join(' ');
}"""


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's deployment (a small world) with its released public tables."""
    out = tmp_path_factory.mktemp("portal-walk") / "demo"
    run_demo(people=PEOPLE, seed=7, out=out)
    return out


def _released(home: Path, name: str) -> PublishedTable:
    """The portal table the release path released into ``release/<name>/portal.json``."""
    return PublishedTable.from_json((home / "release" / name / "portal.json").read_text("utf-8"))


def _page(browser: Any, url: str) -> tuple[Any, list[str], list[str]]:
    page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error"
            and not m.text.startswith("Failed to load resource") else None)  # fmt: skip
    elsewhere: list[str] = []  # no CDN: every request goes to the server itself
    page.on("request", lambda r: None if r.url.startswith(url) else elsewhere.append(r.url))
    # a failed request is told by its address (the console's message does not name it);
    # the server's own pages declare no icon, so Chromium's /favicon.ico is not the portal's
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400
            and r.url != f"{url}/favicon.ico" else None)  # fmt: skip
    return page, errors, elsewhere


def test_demo_dp_page_shows_the_released_numbers_on_the_map_of_31_si_gun(
    demo_home: Path, serve, browser, screenshot
) -> None:
    table = _released(demo_home, "dp")
    url = serve(create_app(demo_home, secure_cookies=False))
    page, errors, elsewhere = _page(browser, url)

    page.goto(url + "/public")
    assert page.locator("#tables li").count() == 5
    page.get_by_role("link", name=table.title_ko).click()
    page.wait_for_url(f"**/public/tables/{table.id}**")
    layers = page.locator("#map .trace.choropleth")
    _wait_until(page, lambda: layers.count() == 2)  # the grey 31 si/gun, then the values
    texts = page.locator("#chart .bartext")
    for index in (None, 0):  # the view shown first, then the first week
        if index is not None:
            page.select_option("#slice", index=index)
        week = page.locator("#slice option:checked").inner_text().split(" · ")[-1]
        cells = [c for c in table.cells if c.keys[1] == week]
        assert len(cells) == 31 and all(c.value is not None for c in cells)
        expected = Counter(c.shown() for c in cells)
        _wait_until(page, lambda e=expected: Counter(texts.all_text_contents()) == e)
        assert layers.nth(0).locator("path.choroplethlocation").count() == 31
        assert layers.nth(1).locator("path.choroplethlocation").count() == 31
        names = set(page.locator("#chart .xtick text").all_text_contents())
        assert names == {table.labels[0][c.keys[0]] for c in cells}  # the 31 si/gun by name
    screenshot(page, "portal-demo-dp")

    with page.expect_download() as info:
        page.get_by_role("link", name="CSV").click()
    rows = list(csv.DictReader(io.StringIO(Path(info.value.path()).read_text("utf-8-sig"))))
    assert len(rows) == len(table.cells)
    assert {r["sigungu"] for r in rows} == {c.keys[0] for c in table.cells}
    assert len({r["sigungu"] for r in rows}) == 31
    assert errors == [] and elsewhere == []
    page.close()


@pytest.mark.parametrize(
    "name",
    ["cases-per-100k", "support-uptake", "health-by-vaccination", "dp", "dp-support-month"],
)
def test_demo_table_pages_in_english_are_english(
    demo_home: Path, serve, browser, screenshot, name: str
) -> None:
    table = _released(demo_home, name)
    url = serve(create_app(demo_home, secure_cookies=False))
    page, errors, elsewhere = _page(browser, url)
    page.goto(f"{url}/public/tables/{table.id}?lang=en")
    page.wait_for_selector("#chart .main-svg", timeout=30_000)
    assert page.locator("h1").inner_text() == table.title_en
    text = _GLOSS.sub("", page.evaluate(_TEXT_NOT_KOREAN))
    assert HANGUL.findall(text) == [], _around_hangul(text)
    values = page.locator("#cells tbody tr td.num").all_text_contents()
    assert Counter(values) == Counter(c.shown() for c in table.cells)  # the released numbers
    screenshot(page, f"portal-demo-{name}-en")
    assert errors == [] and elsewhere == []
    page.close()


def _wait_until(page: Any, done: Callable[[], bool], seconds: float = 30) -> None:
    """Poll ``done`` from Python (the pages' CSP forbids the eval of ``wait_for_function``)."""
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() > deadline:
            pytest.fail("the page did not reach the expected state")
        page.wait_for_timeout(100)


def _around_hangul(text: str) -> str:
    return " | ".join(m.group(0) for m in re.finditer(".{0,20}[\uac00-\ud7a3]+.{0,20}", text))


def test_demo_register_links_each_released_table_to_its_page(
    demo_home: Path, serve, browser, screenshot
) -> None:
    url = serve(create_app(demo_home, secure_cookies=False))
    page, errors, elsewhere = _page(browser, url)
    page.goto(url + "/register?lang=en")
    listed = page.locator("ul.released-tables a")
    assert listed.count() == 5
    table = _released(demo_home, "health-by-vaccination")
    screenshot(page, "portal-demo-register-en")
    page.get_by_role("link", name=table.title_en).click()
    page.wait_for_url(f"**/public/tables/{table.id}?lang=en")
    assert page.locator("h1").inner_text() == table.title_en
    assert errors == [] and elsewhere == []
    page.close()
