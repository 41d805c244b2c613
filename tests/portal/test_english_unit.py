"""The English unit of a table: kept through portal.json and shown on the English page."""

from __future__ import annotations

import dataclasses

from ansim.portal import PublishedTable
from ansim.portal._charts import figures
from ansim.portal._pages import table_page
from tests.unit.portal.tables import cases_by_sigungu_sex


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
