"""The portal as ``ansim serve`` serves it: mounted in the hub's app, public, errors as JSON."""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

from ansim.server import create_app
from tests.server.conftest import POLICY, TODAY, build_deployment
from tests.unit.portal.tables import publish_all

with warnings.catch_warnings():  # starlette asks for httpx2, which is not installed here
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def test_the_hub_serves_the_portal_without_login() -> None:
    with tempfile.TemporaryDirectory(prefix="ansim-portal-hub-") as scratch:
        home = Path(scratch) / "home"
        build_deployment(home)
        publish_all(home)
        client = TestClient(create_app(home, secure_cookies=False, today=TODAY, policy=POLICY))
        listed = client.get("/public/tables").json()
        assert {t["id"] for t in listed} == {"cases-rate", "health-vaccination", "weekly-cases"}
        page = client.get("/public/tables/cases-rate")
        assert page.status_code == 200 and 'id="map"' in page.text
        assert "content-security-policy" in page.headers
        missing = client.get("/public/tables/no-such-table")
        assert missing.status_code == 404 and "error" in missing.json()
        kosis = client.get(
            "/openapi/statisticsData.do",
            params={"method": "getList", "orgId": "941", "tblId": "DT_ANSIM_003",
                    "format": "json", "jsonVD": "Y"},
        )  # fmt: skip
        assert [r["DT"] for r in kosis.json()] == ["61.2", "x"]
        assert client.get("/public?lang=en").status_code == 200
        assert client.get("/public/geo/gyeonggi-sigungu.geojson").status_code == 200
