"""Rate limits per client (429 in each API's own shape) and cached renderings' invalidation."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from ansim.errors import InvalidSpecError
from ansim.portal import (
    API_KEY_HEADER,
    RateLimit,
    api_key_digest,
    api_keys_file,
    create_app,
    publish,
)
from tests.unit.portal.tables import cases_by_sigungu_sex, publish_all

with warnings.catch_warnings():  # starlette asks for httpx2, which is not installed here
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

KOSIS = "/openapi/statisticsData.do?method=getList&orgId=941&tblId=DT_ANSIM_001&format=json"
_TIGHT = RateLimit(per_minute=1, burst=2, keyed_per_minute=1, keyed_burst=5,
                   key_digests=frozenset({api_key_digest("good-key")}))  # fmt: skip


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    publish_all(tmp_path)
    return TestClient(create_app(tmp_path, _TIGHT))


def _exhaust(client: TestClient, path: str) -> None:
    for _ in range(2):
        assert client.get(path).status_code == 200


def test_kosis_answers_429_in_kosis_shape(client: TestClient) -> None:
    _exhaust(client, KOSIS)
    answer = client.get(KOSIS)
    assert answer.status_code == 429 and answer.json() == {
        "err": "40", "errMsg": "호출가능한 조회건수를 초과하였습니다."
    }  # fmt: skip


@pytest.mark.parametrize("kind", ["json", "xml"])
def test_data_go_kr_answers_429_in_its_envelope(client: TestClient, kind: str) -> None:
    path = f"/openapi/tables/cases-rate/items?type={kind}"
    _exhaust(client, path)
    answer = client.get(path)
    assert answer.status_code == 429
    if kind == "json":
        assert answer.json()["response"]["header"]["resultCode"] == "22"
    else:
        assert "<resultCode>22</resultCode>" in answer.text


def test_pages_and_plain_data_answer_429_with_retry_after(client: TestClient) -> None:
    _exhaust(client, "/public/tables")
    for path in ("/public/tables", "/public", "/public/tables/cases-rate/data"):
        answer = client.get(path)
        assert answer.status_code == 429 and int(answer.headers["retry-after"]) >= 1
        assert "error" in answer.json()
    assert client.get("/public/static/plotly.min.js").status_code == 200  # assets not limited


def test_a_registered_api_key_gets_the_higher_limit(client: TestClient) -> None:
    _exhaust(client, KOSIS)
    good = {API_KEY_HEADER: "good-key"}
    assert [client.get(KOSIS, headers=good).status_code for _ in range(6)] == [200] * 5 + [429]
    assert client.get(KOSIS, headers={API_KEY_HEADER: "made-up"}).status_code == 429


def test_keys_are_read_from_the_home_as_digests(tmp_path: Path) -> None:
    (tmp_path / "portal").mkdir()
    (tmp_path / "portal" / "api-keys.sha256").write_text(api_key_digest("k") + "\n", "utf-8")
    assert RateLimit.for_home(tmp_path).key_digests == {api_key_digest("k")}
    assert RateLimit.for_home(tmp_path / "none").key_digests == frozenset()
    with pytest.raises(InvalidSpecError, match="SHA-256"):
        RateLimit(key_digests=frozenset({"k"}))


def test_a_publish_invalidates_the_cached_pages(tmp_path: Path) -> None:
    table = cases_by_sigungu_sex()
    publish(table, tmp_path)
    client = TestClient(create_app(tmp_path, RateLimit(per_minute=10_000, burst=1000)))
    before = client.get("/public/tables/cases-rate").text
    assert client.get("/public/tables/cases-rate").text == before  # served from the cache
    renamed = type(table)(**{**vars(table), "title_ko": "새 제목"})
    publish(renamed, tmp_path)
    assert "새 제목" in client.get("/public/tables/cases-rate").text
    assert "새 제목" in client.get("/public").text
    assert client.get("/public/tables").json()[0]["title"] == "새 제목"
    (tmp_path / "release" / "public" / "cases-rate.json").unlink()
    assert client.get("/public/tables/cases-rate").status_code == 404
    assert client.get("/public/tables").json() == []


def test_a_revisit_gets_304_until_a_publish_changes_the_page(tmp_path: Path) -> None:
    table = cases_by_sigungu_sex()
    publish(table, tmp_path)
    client = TestClient(create_app(tmp_path, RateLimit(per_minute=10_000, burst=1000)))
    for path in ("/public/tables/cases-rate", "/public/tables/cases-rate/data?format=csv", KOSIS):
        first = client.get(path)
        tag = first.headers["etag"]
        again = client.get(path, headers={"If-None-Match": tag})
        assert (again.status_code, again.content) == (304, b"")
    page = "/public/tables/cases-rate"
    tag = client.get(page).headers["etag"]
    publish(type(table)(**{**vars(table), "title_ko": "바뀐 제목"}), tmp_path)
    changed = client.get(page, headers={"If-None-Match": tag})
    assert changed.status_code == 200 and "바뀐 제목" in changed.text
    assert changed.headers["etag"] != tag


def test_cli_issues_a_key_the_portal_then_honours(tmp_path: Path) -> None:
    from typer.testing import CliRunner  # noqa: PLC0415 - only this test drives the CLI

    from ansim.cli import app  # noqa: PLC0415

    answer = CliRunner().invoke(app, ["portal", "issue-key", "--home", str(tmp_path)])
    assert answer.exit_code == 0
    key = answer.output.split()[-1]
    assert key.startswith("ansim_pk_") and key not in api_keys_file(tmp_path).read_text("utf-8")
    publish_all(tmp_path)
    limit = RateLimit.for_home(tmp_path)
    client = TestClient(create_app(tmp_path, type(limit)(**{**vars(limit), "burst": 1})))
    assert client.get(KOSIS).status_code == 200
    assert client.get(KOSIS).status_code == 429
    assert client.get(KOSIS, headers={API_KEY_HEADER: key}).status_code == 200


def test_large_renderings_are_sent_gzipped_to_clients_that_accept_it(tmp_path: Path) -> None:
    publish(cases_by_sigungu_sex(), tmp_path)
    client = TestClient(create_app(tmp_path, RateLimit(per_minute=10_000, burst=1000)))
    path = "/public/tables/cases-rate"
    plain = client.get(path, headers={"Accept-Encoding": "identity"})
    packed = client.get(path, headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in plain.headers
    assert packed.headers["content-encoding"] == "gzip" and packed.text == plain.text
    assert int(packed.headers["content-length"]) < len(plain.content) // 3
    assert packed.headers["etag"] != plain.headers["etag"]


def test_static_assets_are_compressed_and_cached_by_browsers(tmp_path: Path) -> None:
    client = TestClient(create_app(tmp_path))
    for path in ("/public/static/plotly.min.js", "/public/geo/gyeonggi-sigungu.geojson"):
        answer = client.get(path, headers={"Accept-Encoding": "gzip"})
        assert answer.headers["content-encoding"] == "gzip"
        assert answer.headers["cache-control"] == "public, max-age=86400"
        assert int(answer.headers["content-length"]) < len(answer.content) // 3


def test_open_data_may_be_read_by_any_site_pages_not_framed(tmp_path: Path) -> None:
    publish_all(tmp_path)
    client = TestClient(create_app(tmp_path, RateLimit(per_minute=10_000, burst=1000)))
    for path in ("/public/tables", KOSIS, "/public/tables/cases-rate/data?format=csv"):
        assert client.get(path).headers["access-control-allow-origin"] == "*"
    page = client.get("/public/tables/cases-rate")
    assert "access-control-allow-origin" not in page.headers
