"""The release path over HTTP: submissions listed, reviewed twice, released to the portal."""

from __future__ import annotations

from collections.abc import Callable

from ansim.governance import Governance
from ansim.portal import Cell, PublishedTable, TableMetadata
from ansim.release import Candidate, ReleaseKind, ReleaseService

from .conftest import P1, TODAY, Site


def _submitted(site: Site) -> str:
    table = PublishedTable(
        id="p1-counts", title_ko="소득분위별 인원", title_en="Persons by income band",
        org_id="ANSIM", tbl_id="DT_P1_001", topic="health", period="2026", period_type="Y",
        unit="명", dimensions=("income_band",), labels=({"Q1": "1분위", "Q2": "2분위"},),
        items={"persons": "인원"},
        cells=(Cell(("Q1",), "persons", 40.0), Cell(("Q2",), "persons", None, "suppressed")),
        metadata=TableMetadata(
            custodians=("kostat",), project="", purpose="statistics", reference_period="2026",
            protection_method="threshold 10, x", release_date="1970-01-01", approvers=("-",),
        ),
    )  # fmt: skip
    cells = {"Q1": frozenset(f"p{i}" for i in range(40))}
    candidate = Candidate(
        ReleaseKind.PORTAL_TABLE, "persons by income band", {"t.csv": b"band,n\nQ1,40\nQ2,x\n"},
        cells, 10,
    ).with_portal(table)  # fmt: skip
    gov = Governance(site.home, today=TODAY)
    try:
        workspace = site.home / "hub" / P1 / "workspace"
        service = ReleaseService(gov, P1, workspace, portal_home=site.home)
        return service.submit("analyst", candidate).id
    finally:
        gov.close()


def test_two_checkers_approve_and_one_releases_to_the_portal(fresh: Callable[[], Site]) -> None:
    site = fresh()
    release = _submitted(site)
    url = f"/api/projects/{P1}/releases"
    listed = site.login("analyst").get(url, params={"queue": True})
    assert listed.status_code == 200, listed.text
    ((item,),) = [listed.json()]
    assert item["id"] == release and item["status"] == "submitted"
    assert "p1" not in str(item["files"]) and "cells" not in item  # no member ids leave
    assert site.login("outsider").get(url).status_code == 404
    own = site.login("analyst").post(f"{url}/{release}/reviews", json={"decision": "approve"})
    assert own.status_code == 403
    checker, checker2 = site.login("checker"), site.login("checker2")
    first = checker.post(f"{url}/{release}/reviews", json={"decision": "approve"})
    assert first.status_code == 200 and first.json()["status"] == "submitted"
    again = checker.post(f"{url}/{release}/reviews", json={"decision": "approve"})
    assert again.status_code == 403 and "independent" in again.json()["error"]
    assert checker.post(f"{url}/{release}/release").status_code == 403  # not yet approved
    assert (
        checker2.post(f"{url}/{release}/reviews", json={"decision": "approve"}).json()["status"]
        == "approved"
    )
    assert site.anonymous().get("/public/tables").json() == []
    done = checker.post(f"{url}/{release}/release")
    assert done.status_code == 200, done.text
    assert done.json()["portal"] == ["p1-counts"] and done.json()["audit"]["passed"]
    (shown,) = site.anonymous().get("/public/tables").json()
    assert shown["id"] == "p1-counts"
    rows = site.anonymous().get("/public/tables/p1-counts/data").json()
    assert [r["value"] for r in rows] == [40.0, None]
    assert site.login("admin").get("/api/audit/verify").json()["ok"]
    assert site.login("checker").post(f"{url}/rel-x/release").status_code == 422
