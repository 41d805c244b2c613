"""Schemathesis against the portal's public API: no input makes it answer 5xx."""

from __future__ import annotations

import shutil
import tempfile
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from ansim.portal import RateLimit, create_app
from tests.unit.portal.tables import publish_all

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import schemathesis

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
