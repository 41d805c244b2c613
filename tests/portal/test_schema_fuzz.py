"""Schemathesis against the portal's public API, and property tests on its real tables: no 5xx."""

from __future__ import annotations

import shutil
import tempfile
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansim.portal import RateLimit, create_app
from tests.unit.portal.tables import publish_all

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import schemathesis
    from fastapi.testclient import TestClient

_HOME = Path(tempfile.mkdtemp(prefix="ansim-portal-fuzz-"))
publish_all(_HOME)
_APP = create_app(_HOME, RateLimit(per_minute=1_000_000, burst=1_000_000))
schema = schemathesis.openapi.from_asgi("/openapi.json", _APP)


@pytest.fixture(scope="module", autouse=True)
def _cleanup() -> object:
    yield None
    shutil.rmtree(_HOME, ignore_errors=True)


def test_the_schema_lists_the_public_api() -> None:
    paths = set(_APP.openapi()["paths"])
    public = {"/public/tables", "/public/tables/{table_id}", "/public/geo/gyeonggi-sigungu.geojson"}
    assert public | {"/openapi/statisticsData.do", "/openapi/tables/{table_id}/items"} <= paths


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_no_request_makes_the_portal_fail(case: schemathesis.Case) -> None:
    response = case.call()
    assert response.status_code < 500, (case.method, case.path, response.text[:200])
    assert "Traceback" not in response.text


_IDS = st.sampled_from(["cases-rate", "weekly-cases", "health-vaccination", "none"])
_TEXT = st.text(max_size=12)
_CLIENT = TestClient(_APP)


@given(table_id=_IDS, texts=st.lists(_TEXT, min_size=5, max_size=5))
@settings(max_examples=60, deadline=None, database=None)
def test_real_tables_under_arbitrary_parameters_never_fail(table_id: str, texts: list[str]) -> None:
    lang, form, page, rows, kind = texts
    answers = [
        _CLIENT.get(f"/public/tables/{table_id}", params={"lang": lang}),
        _CLIENT.get(f"/public/tables/{table_id}/data", params={"format": form}),
        _CLIENT.get(
            f"/openapi/tables/{table_id}/items",
            params={"pageNo": page, "numOfRows": rows, "type": kind},
        ),
        _CLIENT.get("/public", params={"q": form, "sigungu": page, "period": rows, "lang": lang}),
    ]
    assert all(a.status_code < 500 for a in answers), [a.status_code for a in answers]


@given(
    tbl=st.sampled_from(["DT_ANSIM_001", "DT_ANSIM_002", "DT_ANSIM_003", "x"]),
    method=st.sampled_from(["getList", "getMeta", ""]),
    params=st.dictionaries(
        st.sampled_from(
            [
                "objL1",
                "objL2",
                "itmId",
                "prdSe",
                "startPrdDe",
                "endPrdDe",
                "newEstPrdCnt",
                "type",
                "format",
                "jsonVD",
            ]
        ),
        st.text(max_size=500),  # past the longest value read: the KOSIS error, not a 422
    ),
)
@settings(max_examples=60, deadline=None, database=None)
def test_kosis_under_arbitrary_parameters_answers_rows_or_a_kosis_error(
    tbl: str, method: str, params: dict[str, str]
) -> None:
    query = {"method": method, "orgId": "941", "tblId": tbl, **params}
    answer = _CLIENT.get("/openapi/statisticsData.do", params=query)
    assert answer.status_code < 500
    body = answer.json()
    assert isinstance(body, list) or set(body) == {"err", "errMsg"}
