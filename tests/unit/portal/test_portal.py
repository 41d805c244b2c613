from __future__ import annotations

import csv
import io
import re
import warnings
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansim.errors import InvalidSpecError

with warnings.catch_warnings():  # starlette asks for httpx2, which is not installed here
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient
from ansim.portal import (
    Cell,
    PublishedTable,
    TableMetadata,
    create_app,
    kosis_rows,
    load_published,
    publish,
    safe_csv,
)

KOSIS_FIELDS = [
    "ORG_ID", "TBL_ID", "TBL_NM", "PRD_SE", "PRD_DE", "C1", "C1_NM", "C2", "C2_NM",
    "ITM_ID", "ITM_NM", "UNIT_NM", "DT",
]  # fmt: skip


def _table(value: float = 12.5, table_id: str = "cases-rate") -> PublishedTable:
    return PublishedTable(
        id=table_id,
        title_ko="확진자 10만 명당",
        title_en="Cases per 100,000",
        org_id="941",
        tbl_id="DT_ANSIM_001",
        topic="covid",
        period="2021",
        period_type="Y",
        unit="명",
        dimensions=("sigungu", "sex"),
        labels=({"41110": "수원시", "41610": "광주시"}, {"M": "남", "F": "여"}),
        items={"rate": "10만 명당 확진자"},
        cells=(
            Cell(("41110", "M"), "rate", value),
            Cell(("41610", "F"), "rate", None, "suppressed"),
        ),
        metadata=TableMetadata(
            ("gyeonggi", "kostat"),
            "demo",
            "statistics",
            "2021",
            "threshold 10",
            "2026-12-02",
            ("checker.kostat",),
        ),
    )


def test_round_trip_and_publish(tmp_path: Path) -> None:
    table = _table()
    assert PublishedTable.from_json(table.to_json()) == table
    publish(table, tmp_path)
    assert load_published(tmp_path) == {"cases-rate": table}


@pytest.mark.parametrize("text", ["", "{}", "[]", '{"id": 1}', "null"])
def test_invalid_files_are_refused(text: str) -> None:
    with pytest.raises(InvalidSpecError):
        PublishedTable.from_json(text)


def test_cell_referring_to_unknown_category_is_refused() -> None:
    with pytest.raises(InvalidSpecError, match="without a label"):
        PublishedTable(**{**vars(_table()), "cells": (Cell(("41999", "M"), "rate", 1.0),)})


_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


@given(st.text() | st.from_regex(r"[-+=@][0-9a-z.()|]{0,6}", fullmatch=True))
def test_csv_never_starts_a_cell_with_a_formula(text: str) -> None:
    parsed = list(csv.reader(io.StringIO(safe_csv([{"label": text}]), newline="")))
    cell = parsed[1][0] if len(parsed) > 1 and parsed[1] else ""
    # A bare signed number (-0, +1.5) is not a formula and stays a number; any other cell
    # that a spreadsheet would run as a formula is neutralised.
    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")) or _PLAIN_NUMBER.fullmatch(cell)


def test_kosis_rows_have_the_kosis_fields_and_mark_suppression() -> None:
    rows = kosis_rows(_table())
    assert [list(r) for r in rows] == [KOSIS_FIELDS, KOSIS_FIELDS]
    assert [r["DT"] for r in rows] == ["12.5", "x"]


def test_routes_serve_only_published_numbers_and_a_publish_invalidates(tmp_path: Path) -> None:
    publish(_table(), tmp_path)
    client = TestClient(create_app(tmp_path))
    listed = client.get("/public/tables").json()
    assert [(t["id"], t["org_id"], t["tbl_id"]) for t in listed] == [
        ("cases-rate", "941", "DT_ANSIM_001")
    ]
    page = client.get("/public/tables/cases-rate")
    assert page.status_code == 200 and "plotly.min.js" in page.text and "12.5" in page.text
    assert client.get("/public/static/plotly.min.js").status_code == 200
    assert client.get("/public/tables/nope").status_code == 404
    geo = client.get("/public/geo/gyeonggi-sigungu.geojson").json()
    assert len(geo["features"]) == 31
    url = (
        "/openapi/statisticsData.do?method=getList&orgId=941&tblId=DT_ANSIM_001"
        "&format=json&jsonVD=Y"
    )
    assert [r["DT"] for r in client.get(url).json()] == ["12.5", "x"]
    assert client.get("/openapi/statisticsData.do?method=getList").json()["err"] == "20"
    csv_text = client.get("/public/tables/cases-rate/data?format=csv").text
    assert "12.5" in csv_text
    publish(_table(value=99.0), tmp_path)
    assert [r["DT"] for r in client.get(url).json()] == ["99", "x"]


def test_data_go_kr_envelope_pages_and_reports_no_data(tmp_path: Path) -> None:
    publish(_table(), tmp_path)
    client = TestClient(create_app(tmp_path))
    body = client.get("/openapi/tables/cases-rate/items?numOfRows=1&pageNo=2").json()["response"]
    assert body["header"] == {"resultCode": "00", "resultMsg": "NORMAL SERVICE."}
    assert set(body["body"]) == {"items", "numOfRows", "pageNo", "totalCount"}
    assert (body["body"]["totalCount"], body["body"]["pageNo"]) == (2, 2)
    assert [i["value"] for i in body["body"]["items"]["item"]] == [None]
    missing = client.get("/openapi/tables/none/items").json()["response"]["header"]
    assert missing["resultCode"] == "03"


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_a_published_number_is_finite(bad: float) -> None:
    with pytest.raises(InvalidSpecError, match="finite"):
        Cell(("41110", "M"), "rate", bad)
    with pytest.raises(InvalidSpecError, match="finite"):
        Cell(("41110", "M"), "rate", 1.0, "dp", bad, 2.0)
    text = _table().to_json().replace('"value": 12.5', '"value": NaN')
    with pytest.raises(InvalidSpecError):
        PublishedTable.from_json(text)
