"""The release path's submissions as the hub's release service makes them, and ``disclose table``.

``ansim release table/queue/review/publish`` and ``disclose table --project`` are clients of
the hub's server (``tests/server/test_submissions_cli.py`` runs them against a live one); the
server's routes call :class:`ansim.services.Release`, tested here as a library.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ansim.cli import app
from ansim.disclosure import read_microdata
from ansim.errors import AccessDenied
from ansim.release import RateTableSpec, ReleaseService, ReleaseStatus
from ansim.services import Release, TableRequest

from .conftest import PROJECT, Project

runner = CliRunner()


def test_a_rate_table_is_a_candidate_published_only_after_two_approvals(
    project: Project,
) -> None:
    hub = Release(project.gov, PROJECT, project.store)
    released, submitted = hub.submit_rate_table("analyst", RateTableSpec())
    assert submitted.id == "rel-0001" and released.summary["cells"] > 0
    assert not list(project.tmp.glob("*.csv")) and not (project.tmp / "out").exists()
    service = hub.path()
    with pytest.raises(AccessDenied):
        service.approve("analyst", "rel-0001")
    with pytest.raises(AccessDenied):
        service.release("checker", "rel-0001", project.tmp / "o")
    assert not (project.tmp / "o").exists()
    service.approve("checker", "rel-0001")
    assert service.approve("checker2", "rel-0001", "ok").status == ReleaseStatus.APPROVED
    vetted = service.audit("rel-0001")
    assert vetted.passed and vetted.cells > 0  # vetted against the ledger before submission
    out = project.tmp / "out"
    service.release("checker", "rel-0001", out)
    with (out / "rates.csv").open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows and "status" not in rows[0]
    assert all(int(r["cases"]) >= 10 for r in rows if r["cases"] != "x")
    assert (out / "SHA256SUMS").is_file()
    service = ReleaseService(project.gov, PROJECT, project.workspace)
    assert service.get("rel-0001").status == ReleaseStatus.RELEASED
    assert [e["id"] for e in service.ledger.entries()] == ["rel-0001"]
    assert project.gov.verify_audit().ok


def _records(path: Path) -> Path:
    rows = ["person,si,sex"] + [
        f"p{i:05d},{('=HYPERLINK(1)', '@SUM(1)', 's3')[i % 3]},{'FM'[i % 2]}" for i in range(60)
    ]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_disclose_table_writes_one_symbol_safe_to_open(project: Project) -> None:
    out = project.tmp / "t"
    data = _records(project.tmp / "t.csv")
    result = runner.invoke(app, ["disclose", "table", "--input", str(data), "--by", "si,sex",
                                 "--threshold", "11", "--out", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    text = (out / "table.csv").read_text(encoding="utf-8")
    assert "'=HYPERLINK(1)" in text and "'@SUM(1)" in text
    with (out / "table.csv").open(encoding="utf-8", newline="") as f:
        cells = list(csv.DictReader(f))
    assert "status" not in cells[0]
    values = {c["value"] for c in cells}
    assert "x" in values and "60" in values  # the total, a pure number, unprefixed
    assert all(v == "x" or v.isdigit() for v in values)
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert {s["status"] for s in report["status"]} >= {"primary", "published"}


def test_a_protected_table_of_records_is_submitted_to_the_release_path(
    project: Project,
) -> None:
    records = read_microdata(_records(project.tmp / "t.csv"))
    ask = TableRequest((("si", "sex"),), "person", threshold=11)
    hub = Release(project.gov, PROJECT, project.store)
    protected, submitted = hub.submit_protected_table("analyst", records, ask)
    assert submitted.unit == "person" and submitted.author == "analyst"
    assert submitted.kind.value == "protected_table" and protected.summary()["primary"] > 0
    (queued,) = hub.path().queue()
    assert queued.id == submitted.id
    assert b"p00001" not in hub.path().files(submitted.id)["table.csv"]
    with pytest.raises(AccessDenied):
        hub.submit_protected_table("checker", records, ask)
