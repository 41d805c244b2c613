"""HEAD on the public pages and API: the headers of GET, no body (not 405)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from fastapi import Request

from ansim.portal import RateLimit, create_app
from ansim.portal._rendering import Rendering
from tests.unit.portal.tables import publish_all

with warnings.catch_warnings():  # starlette asks for httpx2, which is not installed here
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

PUBLIC = [
    "/public",
    "/public?lang=en",
    "/public/tables",
    "/public/tables/cases-rate",
    "/public/tables/cases-rate/data?format=csv",
    "/public/tables/cases-rate/data?format=xlsx",
    "/public/geo/gyeonggi-sigungu.geojson",
    "/public/static/plotly.min.js",
    "/public/static/portal.js",
    "/openapi/statisticsData.do?method=getList&orgId=941&tblId=DT_ANSIM_001&format=json&jsonVD=Y",
]


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    publish_all(tmp_path)
    return TestClient(create_app(tmp_path, RateLimit(per_minute=100_000, burst=10_000)))


@pytest.mark.parametrize("path", PUBLIC)
def test_head_answers_like_get_without_a_body(client: TestClient, path: str) -> None:
    got = client.get(path, headers={"Accept-Encoding": "identity"})
    head = client.head(path, headers={"Accept-Encoding": "identity"})
    assert got.status_code == head.status_code == 200
    assert got.content and head.content == b""
    for name in ("content-type", "etag", "cache-control"):
        assert head.headers.get(name) == got.headers.get(name)
    assert head.headers["content-length"] == str(len(got.content))


def test_head_of_a_compressed_page_gives_the_compressed_length(client: TestClient) -> None:
    got = client.get("/public/tables/cases-rate", headers={"Accept-Encoding": "gzip"})
    head = client.head("/public/tables/cases-rate", headers={"Accept-Encoding": "gzip"})
    assert head.headers["content-encoding"] == got.headers["content-encoding"] == "gzip"
    assert head.headers["etag"] == got.headers["etag"] and head.content == b""


def test_head_of_an_unknown_table_is_404_not_405(client: TestClient) -> None:
    assert client.head("/public/tables/no-such-table").status_code == 404


def test_head_twins_stay_out_of_the_openapi_schema(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert paths["/public/tables/{table_id}"].keys() == {"get"}


def _request(method: str) -> Request:
    return Request({"type": "http", "method": method, "path": "/", "headers": []})


def test_a_rendering_answers_head_with_the_get_headers_and_no_body() -> None:
    rendering = Rendering.html("<p>확진자</p>" * 10)
    got, head = (
        rendering.response(request=_request("GET")),
        rendering.response(request=_request("HEAD")),
    )
    assert got.body and head.body == b""
    assert head.headers["content-length"] == got.headers["content-length"] == str(len(got.body))
    assert head.headers["etag"] == got.headers["etag"]
