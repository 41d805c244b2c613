"""Schemathesis against the server's OpenAPI schema: no input makes it answer 5xx."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.server.conftest import POLICY, TODAY, Site, build_deployment

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import schemathesis

from ansim.server import create_app

_HOME = Path(__import__("tempfile").mkdtemp(prefix="ansim-fuzz-")) / "home"
build_deployment(_HOME)
_APP = create_app(_HOME, secure_cookies=False, today=TODAY, policy=POLICY)
_SITE = Site(_HOME, _APP, {})
_HEADERS = [
    {"Authorization": f"Bearer {_SITE.token(user).headers['Authorization'].split()[1]}"}
    for user in ("admin", "analyst")
]
schema = schemathesis.openapi.from_asgi("/openapi.json", _APP)


@pytest.fixture(scope="module", autouse=True)
def _cleanup() -> object:
    yield None
    shutil.rmtree(_HOME.parent, ignore_errors=True)


@schema.parametrize()
@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_no_request_makes_the_server_fail(case: schemathesis.Case) -> None:
    for headers in (*_HEADERS, {}):
        response = case.call(headers=headers)
        assert response.status_code < 500, (case.method, case.path, response.text[:200])
        assert "Traceback" not in response.text
