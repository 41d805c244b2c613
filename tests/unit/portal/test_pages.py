"""The portal's pages: table page (chart, map, series, table, metadata), catalogue, downloads."""

from __future__ import annotations

import csv
import io
import json
import re
import warnings
from pathlib import Path

import openpyxl
import pytest

from ansim.portal import Cell, RateLimit, create_app, figures, publish, table_shape
from tests.unit.portal.tables import (
    cases_by_sigungu_sex,
    health_by_vaccination,
    publish_all,
    weekly_cases_dp,
)

with warnings.catch_warnings():  # starlette asks for httpx2, which is not installed here
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

_PLENTY = RateLimit(per_minute=100_000, burst=10_000)


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    publish_all(tmp_path)
    return TestClient(create_app(tmp_path, _PLENTY))


def _figures(page: str) -> dict[str, object]:
    found = re.search(r'<script type="application/json" id="figures">(.*?)</script>', page, re.S)
    assert found is not None
    data: dict[str, object] = json.loads(found.group(1))
    return data


def test_shapes_find_the_si_gun_and_period_dimensions() -> None:
    assert table_shape(cases_by_sigungu_sex()).region == 0
    weekly = table_shape(weekly_cases_dp())
    assert (weekly.period, weekly.region, weekly.axis) == (0, 1, 1)
    assert table_shape(health_by_vaccination()).region is None


def test_figures_hold_only_released_numbers_and_the_31_si_gun() -> None:
    table = cases_by_sigungu_sex()
    drawn = figures(table)
    released = {c.value for c in table.cells if c.value is not None}
    assert [v["label"] for v in drawn["views"]] == [
        "10만 명당 확진자 · 남",
        "10만 명당 확진자 · 여",
    ]
    female = drawn["views"][1]
    base, values = drawn["map_base"], female["map"]
    assert len(base["locations"]) == 31 and set(base["z"]) == {0}
    assert set(values["z"]) <= released and len(values["z"]) == 31 - 6  # 6 suppressed
    bar = female["bar"][0]
    assert "x" in bar["text"] and set(bar["y"]) - {None} <= released
    assert drawn["series"] == []


def test_dp_table_has_error_bars_and_a_time_series() -> None:
    drawn = figures(weekly_cases_dp())
    assert len(drawn["views"]) == 3  # one per week
    assert drawn["first"] == 2  # the busiest week is shown first
    bar, interval = drawn["views"][0]["bar"]
    assert bar["y"] == [20.0, 21.0, 22.0] and bar["x"] == ["수원시", "성남시", "의정부시"]
    assert interval["x"] == ["수원시", "수원시", None, "성남시", "성남시", None, "의정부시",
                             "의정부시", None]  # fmt: skip
    assert interval["y"] == [15.5, 24.5, None, 16.5, 25.5, None, 17.5, 26.5, None]
    (series,) = drawn["series"]
    lines = [t for t in series["traces"] if t["mode"] == "lines+markers"]
    assert [t["name"] for t in lines] == ["수원시", "성남시", "의정부시"]
    assert lines[0]["x"] == ["2021년 1주", "2021년 2주", "2021년 3주"]
    assert lines[0]["y"] == [20.0, 21.0, 22.0]
    assert len(series["traces"]) == 6  # with each line's intervals


def test_a_table_without_si_gun_gets_grouped_bars() -> None:
    table = health_by_vaccination()
    two_way = type(table)(**{
        **vars(table),
        "dimensions": ("vaccinated", "health"),
        "labels": ({"Y": "접종", "N": "미접종"}, {str(h): f"{h}점" for h in range(1, 6)}),
        "cells": tuple(Cell((v, str(h)), "good", float(10 * h + (v == "Y")), "rounded")
                       for v in ("Y", "N") for h in range(1, 6)),
    })  # fmt: skip
    shape = table_shape(two_way)
    assert (shape.axis, shape.group, shape.region) == (1, 0, None)  # 5 scores on x, 2 groups
    (view,) = figures(two_way)["views"]
    assert [t["name"] for t in view["bar"]] == ["접종", "미접종"]
    assert view["bar"][0]["x"] == ["1점", "2점", "3점", "4점", "5점"]
    assert view["bar"][0]["y"] == [11.0, 21.0, 31.0, 41.0, 51.0] and view["map"] is None


def test_a_si_gun_dimension_may_hold_a_gyeonggi_total() -> None:
    table = health_by_vaccination()
    regions = {"41000": "경기도", "41110": "수원시"}
    with_total = type(table)(**{
        **vars(table), "dimensions": ("sigungu",), "labels": (regions,),
        "cells": (Cell(("41000",), "good", 50.0), Cell(("41110",), "good", 60.0)),
    })  # fmt: skip
    assert table_shape(with_total).region == 0
    (view,) = figures(with_total)["views"]
    assert view["bar"][0]["x"] == ["경기도", "수원시"]
    assert view["map"]["locations"] == ["41110"]  # the total is charted, not mapped


@pytest.mark.parametrize("make", [cases_by_sigungu_sex, weekly_cases_dp, health_by_vaccination])
def test_every_number_in_a_figure_was_released(make: object) -> None:
    table = make()  # type: ignore[operator]  # a table builder
    released = {v for c in table.cells for v in (c.value, c.ci_low, c.ci_high) if v is not None}
    drawn = figures(table)
    traces = [t for v in drawn["views"] for t in [*v["bar"], *([v["map"]] if v["map"] else [])]]
    traces += [t for s in drawn["series"] for t in s["traces"]]
    numbers = {n for t in traces for key in ("y", "z") for n in t.get(key, []) if n is not None}
    assert numbers and numbers <= released


def test_table_page_shows_chart_map_table_protection_and_metadata(client: TestClient) -> None:
    page = client.get("/public/tables/cases-rate").text
    for part in ('id="chart"', 'id="map"', 'id="cells"', 'id="metadata"', "/public/static/"):
        assert part in page
    assert 'lang="ko"' in page and "인구 10만 명당 확진자" in page
    for fact in ("제공기관", "과제", "목적", "기준 기간", "단위", "보호 방법", "공표일", "승인"):
        assert f"<dt>{fact}</dt>" in page
    assert "gyeonggi, kostat" in page and "checker.kostat, checker.gyeonggi" in page
    assert page.count('class="badge suppressed"') == 6 and 'class="badge rounded"' in page
    assert page.count('<td class="num">x</td>') == 6
    assert 'id="series"' not in page  # no period dimension
    assert len(_figures(page)["views"]) == 2  # type: ignore[arg-type]  # a list of views
    assert "/register" in page and 'href="/public?project=covid-support&amp;lang=ko"' in page


def test_dp_page_shows_error_bars_and_series(client: TestClient) -> None:
    page = client.get("/public/tables/weekly-cases").text
    assert 'id="series"' in page and page.count('class="ci"') == 9 and "[15.5, 24.5]" in page
    assert 'id="map"' in page


def test_table_without_si_gun_has_no_map(client: TestClient) -> None:
    page = client.get("/public/tables/health-vaccination").text
    assert 'id="chart"' in page and 'id="map"' not in page


def test_english_switch_by_query_and_cookie(client: TestClient) -> None:
    english = client.get("/public/tables/cases-rate?lang=en")
    assert 'lang="en"' in english.text and "<dt>Approved by</dt>" in english.text
    assert "Suwon-si" in english.text and english.cookies.get("ansim_lang") == "en"
    assert 'lang="en"' in client.get("/public/tables/cases-rate").text  # the cookie stays
    assert 'html lang="ko"' in client.get("/public?lang=ko").text


def test_figures_json_cannot_close_the_script(tmp_path: Path) -> None:
    table = cases_by_sigungu_sex()
    hostile = type(table)(**{**vars(table), "items": {"rate": "</script><b>x"}})
    publish(hostile, tmp_path)
    page = TestClient(create_app(tmp_path, _PLENTY)).get("/public/tables/cases-rate").text
    assert "</script><b>" not in page
    assert _figures(page)["views"][0]["label"].startswith("</script>")  # type: ignore[index]


def test_catalogue_json_is_the_stable_form(client: TestClient) -> None:
    listed = client.get("/public/tables").json()
    assert [t["id"] for t in listed] == ["cases-rate", "health-vaccination", "weekly-cases"]
    for entry in listed:
        assert {"id", "title", "org_id", "tbl_id"} <= set(entry)


@pytest.mark.parametrize(
    ("query", "ids"),
    [
        ("", {"cases-rate", "health-vaccination", "weekly-cases"}),
        ("q=건강", {"health-vaccination"}),
        ("q=WEEK+privacy", {"weekly-cases"}),
        ("topic=covid", {"cases-rate", "weekly-cases"}),
        ("sigungu=41830", {"cases-rate"}),
        ("sigungu=41110", {"cases-rate", "weekly-cases"}),
        ("period=2021-W02", {"weekly-cases"}),
        ("project=snu-cohort", {"health-vaccination"}),
        ("topic=covid&project=snu-cohort", set()),
    ],
)
def test_catalogue_page_searches_and_filters(client: TestClient, query: str, ids: set[str]) -> None:
    page = client.get(f"/public?{query}").text
    assert set(re.findall(r'href="/public/tables/([a-z-]+)\?', page)) == ids
    if not ids:
        assert "조건에 맞는 통계가 없습니다." in page


def test_downloads_csv_xlsx_json_hold_the_same_cells(client: TestClient) -> None:
    data = client.get("/public/tables/cases-rate/data").json()
    csv_response = client.get("/public/tables/cases-rate/data?format=csv")
    assert csv_response.headers["content-disposition"] == 'attachment; filename="cases-rate.csv"'
    rows = list(csv.DictReader(io.StringIO(csv_response.text.lstrip("\ufeff"))))
    xlsx = client.get("/public/tables/cases-rate/data?format=xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    grid = list(sheet.iter_rows(values_only=True))
    assert len(data) == len(rows) == len(grid) - 1 == 62
    assert [r["value"] for r in data] == [float(r["value"]) if r["value"] else None for r in rows]
    header = list(grid[0])
    assert [row[header.index("value")] for row in grid[1:]] == [r["value"] for r in data]
    assert client.get("/public/tables/cases-rate/data?format=pdf").status_code == 422


def test_xlsx_text_is_never_a_formula(tmp_path: Path) -> None:
    table = health_by_vaccination()
    publish(type(table)(**{**vars(table), "unit": "=HYPERLINK(1)"}), tmp_path)
    xlsx = TestClient(create_app(tmp_path, _PLENTY)).get(
        "/public/tables/health-vaccination/data?format=xlsx"
    )
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    units = {
        c.data_type for row in sheet.iter_rows(min_row=2) for c in row if c.value == "=HYPERLINK(1)"
    }
    assert units == {"s"}


def test_pages_allow_scripts_from_the_portal_only(client: TestClient) -> None:
    for path in ("/public", "/public/tables/cases-rate"):
        policy = client.get(path).headers["content-security-policy"]
        assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy
    page = client.get("/public/tables/cases-rate").text
    assert re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)", page) == []


def test_english_labels_when_the_table_gives_them(tmp_path: Path) -> None:
    table = health_by_vaccination()
    english = type(table)(**{**vars(table), "labels_en": ({"Y": "vaccinated"},),
                             "items_en": {"good": "share in good health"}})  # fmt: skip
    assert type(table).from_json(english.to_json()) == english
    assert "labels_en" not in table.to_json()  # optional fields appear only when given
    publish(english, tmp_path)
    client = TestClient(create_app(tmp_path, _PLENTY))
    page = client.get("/public/tables/health-vaccination?lang=en").text
    assert "<td>vaccinated</td>" in page and "<td>미접종</td>" in page  # Korean fallback
    assert "share in good health" in page
    assert "<td>접종</td>" in client.get("/public/tables/health-vaccination?lang=ko").text


def test_long_series_are_drawn_as_lines_without_markers() -> None:
    table = weekly_cases_dp()
    weeks = {f"2021-W{w:02d}": f"{w}주" for w in range(1, 53)}
    long = type(table)(**{
        **vars(table), "labels": (weeks, {"41110": "수원시"}),
        "cells": tuple(Cell((w, "41110"), "cases", 5.0, "dp", 1.0, 9.0) for w in weeks),
    })  # fmt: skip
    (series,) = figures(long)["series"]
    assert {t["mode"] for t in series["traces"]} == {"lines"}  # the line and its intervals
    assert figures(table)["series"][0]["traces"][0]["mode"] == "lines+markers"


def test_the_first_view_shown_has_a_released_number() -> None:
    table = cases_by_sigungu_sex()
    hidden = tuple(Cell(c.keys, c.item, None, "suppressed") if c.keys[1] == "M" else c
                   for c in table.cells)  # fmt: skip
    assert figures(type(table)(**{**vars(table), "cells": hidden}))["first"] == 1
    assert figures(table)["first"] == 0
