"""The English unit of a table: kept through portal.json and shown on the English page."""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

from ansim.portal import MemoryBucketStore, PublishedTable, create_app, publish
from ansim.portal._charts import figures
from ansim.portal._pages import table_page
from tests.unit.portal.tables import cases_by_sigungu_sex

with warnings.catch_warnings():  # starlette asks for httpx2, which is not installed here
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def _english() -> PublishedTable:
    return dataclasses.replace(cases_by_sigungu_sex(), unit_en="persons per 100,000")


def test_unit_en_survives_the_json_round_trip() -> None:
    table = _english()
    assert PublishedTable.from_json(table.to_json()).unit_en == "persons per 100,000"
    assert "unit_en" not in cases_by_sigungu_sex().to_json()  # written only when given


def test_the_english_page_shows_the_english_unit_and_the_korean_page_the_korean() -> None:
    table = _english()
    english, korean = table_page(table, "en"), table_page(table, "ko")
    assert "(Unit: persons per 100,000)" in english and "persons per 100,000" not in korean
    assert "(단위: 명)" in korean


def test_the_map_colour_bar_carries_the_unit_of_the_language() -> None:
    table = _english()
    titles = {trace["colorbar"]["title"]["text"] for trace in _traces(figures(table, "en"))}
    assert titles == {"persons per 100,000"}


def _traces(figure: object) -> list[dict[str, object]]:
    if isinstance(figure, dict):
        found = [figure] if "colorbar" in figure else []
        return found + [t for v in figure.values() for t in _traces(v)]
    if isinstance(figure, list):
        return [t for v in figure for t in _traces(v)]
    return []


def test_the_english_page_links_downloads_and_api_calls_in_english(tmp_path: Path) -> None:
    import html  # noqa: PLC0415 - only this test reads links out of a page
    import re  # noqa: PLC0415

    publish(_english(), tmp_path)
    client = TestClient(create_app(tmp_path, None, MemoryBucketStore()))
    english, korean = (client.get(f"/public/tables/cases-rate?lang={lang}").text
                       for lang in ("en", "ko"))  # fmt: skip
    assert "lang=en" not in korean.split('id="downloads"')[1]
    links = [
        html.unescape(h)
        for h in re.findall(r'href="(/public/tables/cases-rate/data[^"]*)"', english)
    ]
    assert len(links) == 3 and all(link.endswith("&lang=en") for link in links)
    csv = client.get(links[0]).text
    assert "Suwon-si" in csv and "persons per 100,000" in csv and "수원시" not in csv
    assert english.count("&amp;lang=en</code>") == 2  # the KOSIS and data.go.kr calls
