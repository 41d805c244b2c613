"""The portal contract: portal.json is validated at submission and published on release."""

from __future__ import annotations

import hashlib
import json

import pytest

from ansim.errors import InvalidSpecError
from ansim.portal import Cell, PublishedTable, TableMetadata, load_published, public_dir
from ansim.release import Candidate, ReleaseKind, ReleaseService, ReleaseStatus

from .conftest import PROJECT, Project


def _table() -> PublishedTable:
    return PublishedTable(
        id="cases-by-sigungu", title_ko="시군별 확진자", title_en="Confirmed cases by si/gun",
        org_id="ansim", tbl_id="DT_TEST", topic="health", period="2021", period_type="Y",
        unit="명", dimensions=("sigungu",), labels=({"41110": "수원시", "41610": "광주시"},),
        items={"cases": "확진자"},
        cells=(Cell(("41110",), "cases", 50.0), Cell(("41610",), "cases", None, "suppressed")),
        metadata=TableMetadata(
            custodians=("gyeonggi",), project="draft", purpose="statistics",
            reference_period="2021", protection_method="threshold 10, suppressed x",
            release_date="2000-01-01", approvers=("nobody",),
        ),
    )  # fmt: skip


def _candidate(portal: bytes) -> Candidate:
    cells = {"41110 cases": frozenset(f"p{i}" for i in range(50))}
    return Candidate(
        ReleaseKind.PORTAL_TABLE, "cases", {"cases.csv": b"n\n50\n", "portal.json": portal},
        cells, 10,
    )  # fmt: skip


def test_an_invalid_portal_table_is_refused_at_submission(project: Project) -> None:
    service = ReleaseService(project.gov, PROJECT, project.workspace, portal_home=project.tmp)
    broken = json.loads(_table().to_json())
    broken["cells"][1]["value"] = 3.0  # a suppressed cell carrying its value
    with pytest.raises(InvalidSpecError, match="not a valid published table"):
        service.submit("analyst", _candidate(json.dumps(broken).encode()))
    with pytest.raises(InvalidSpecError, match="published table"):
        service.submit("analyst", _candidate(b"not json"))
    without = ReleaseService(project.gov, PROJECT, project.workspace)
    with pytest.raises(InvalidSpecError, match="no portal"):
        without.submit("analyst", _candidate(_table().to_json().encode()))
    assert service.all() == []


def test_the_release_fills_in_its_metadata_and_publishes_it(project: Project) -> None:
    service = ReleaseService(project.gov, PROJECT, project.workspace, portal_home=project.tmp)
    body = json.loads(_table().to_json())
    for key in ("project", "release_date", "approvers"):  # the release path sets these
        del body["metadata"][key]
    submitted = service.submit("analyst", _candidate(json.dumps(body).encode()))
    assert submitted.portal == "cases-by-sigungu"
    service.approve("checker", submitted.id)
    service.approve("checker2", submitted.id)
    assert load_published(project.tmp) == {}  # nothing on the portal before the release
    published = service.release("checker", submitted.id, project.tmp / "out")
    (path,) = published.portal
    assert path.parent == public_dir(project.tmp)
    table = load_published(project.tmp)["cases-by-sigungu"]
    assert table.metadata.project == PROJECT
    assert table.metadata.approvers == ("checker", "checker2")
    assert table.metadata.release_date == project.gov.today().isoformat()
    assert [c.shown() for c in table.cells] == ["50", "x"]
    (entry,) = service.ledger.entries()
    assert entry["portal"] == {
        "id": "cases-by-sigungu",
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
    }
    assert service.published_tables() == {"cases-by-sigungu": path.read_bytes()}
    assert service.get(submitted.id).status == ReleaseStatus.RELEASED
    assert json.loads((project.tmp / "out" / "portal.json").read_text())["metadata"]["approvers"]


def test_a_project_cannot_replace_another_projects_portal_table(project: Project) -> None:
    other = project.tmp / "release" / "public" / "cases-by-sigungu.json"
    other.parent.mkdir(parents=True)
    other.write_text(_table().to_json(), encoding="utf-8")  # metadata.project == "draft"
    service = ReleaseService(project.gov, PROJECT, project.workspace, portal_home=project.tmp)
    with pytest.raises(InvalidSpecError, match="another project"):
        service.submit("analyst", _candidate(_table().to_json().encode()))
