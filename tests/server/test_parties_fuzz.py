"""Schemathesis on the linkage unit's and the hub's routes, as their own parties: never a 5xx.

The deployment holds sealed packages uploaded by its custodians, so a generated request may
really link or combine; the callers are the linkage unit, the hub operator and an analyst.
"""

from __future__ import annotations

import shutil
import tempfile
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from ansim.server import create_app
from tests.server.conftest import POLICY, TODAY, Site
from tests.server.test_pages_flow import _sealed_trial

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import schemathesis

_ROOT = Path(tempfile.mkdtemp(prefix="ansim-parties-fuzz-"))
_HOME = _ROOT / "home"
_PACKAGES = _sealed_trial(_HOME)
_APP = create_app(_HOME, secure_cookies=False, today=TODAY, policy=POLICY)
_SITE = Site(_HOME, _APP, {})
for _officer, _sealed in _PACKAGES.items():
    for _package in _sealed:
        _SITE.login(_officer).post(
            "/api/projects/p1/packages",
            files={"package": (_package.name, _package.read_bytes(), "application/octet-stream")},
        )
_HEADERS = [
    {"Authorization": f"Bearer {_SITE.token(user).headers['Authorization'].split()[1]}"}
    for user in ("operator.linkage", "operator.hub", "analyst")
]
schema = schemathesis.openapi.from_asgi("/openapi.json", _APP).include(
    path_regex=r"^/api/projects/\{project\}/(linkage/runs|hub/)"
)


@pytest.fixture(scope="module", autouse=True)
def _cleanup() -> object:
    yield None
    shutil.rmtree(_ROOT, ignore_errors=True)


def test_the_party_routes_are_fuzzed() -> None:
    assert len(list(schema.get_all_operations())) == 4


@schema.parametrize()
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_no_request_makes_a_party_route_fail(case: schemathesis.Case) -> None:
    for headers in (*_HEADERS, {}):
        response = case.call(headers=headers)
        assert response.status_code < 500, (case.method, case.path, response.text[:200])
        assert "Traceback" not in response.text and str(_ROOT) not in response.text


@pytest.mark.parametrize(
    "body",
    [{"method": ""}, {"method": "x" * 200}, {"method": 5}, {"method": None}, [], "exact",
     {"method": "exact", "extra": {"deep": [1, 2]}}, {"method": "../../etc/passwd"}],
)  # fmt: skip
def test_hostile_bodies_on_the_real_project_are_refused_cleanly(body: object) -> None:
    for headers in _HEADERS:
        client = _SITE.anonymous()
        for method, path in (("POST", "/api/projects/p1/linkage/runs"),
                             ("POST", "/api/projects/p1/hub/combine")):  # fmt: skip
            response = client.request(method, path, json=body, headers=headers)
            assert response.status_code < 500, (body, path, response.text[:200])
            assert str(_ROOT) not in response.text and "Traceback" not in response.text
