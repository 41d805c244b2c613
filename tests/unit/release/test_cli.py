"""``ansim release table/queue/review/publish`` and ``disclose table --project``: one path."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ansim.cli import app
from ansim.errors import AccessDenied
from ansim.release import ReleaseService, ReleaseStatus

from .conftest import PROJECT, Project

runner = CliRunner()


def _as(monkeypatch: pytest.MonkeyPatch, user: str) -> None:
    """Stand in for ``ansim login`` (tested against a real server elsewhere)."""
    monkeypatch.setattr("ansim.cli._release.acting_user", lambda: user)
    monkeypatch.setattr("ansim.cli._acting.acting_user", lambda: user)


def _run(project: Project, *args: str) -> str:
    where = ["--project", PROJECT, "--store", str(project.store), "--home", str(project.home)]
    result = runner.invoke(app, [*args, *where])
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def test_release_table_is_a_candidate_published_only_after_two_approvals(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    _as(monkeypatch, "analyst")
    printed = _run(project, "release", "table")
    assert "submitted as rel-0001" in printed
    assert not list(project.tmp.glob("*.csv")) and not (project.tmp / "out").exists()
    _as(monkeypatch, "analyst")
    where = ["--project", PROJECT, "--store", str(project.store), "--home", str(project.home)]
    own = runner.invoke(app, ["release", "review", "rel-0001", *where])
    assert isinstance(own.exception, AccessDenied)
    _as(monkeypatch, "checker")
    early = runner.invoke(
        app, ["release", "publish", "rel-0001", "--out", str(project.tmp / "o"), *where]
    )
    assert isinstance(early.exception, AccessDenied) and not (project.tmp / "o").exists()
    assert "1/2 approvals" in _run(project, "release", "review", "rel-0001")
    _as(monkeypatch, "checker2")
    assert "approved (2/2" in _run(project, "release", "review", "rel-0001", "--comment", "ok")
    assert "rel-0001 rate_table approved" in _run(project, "release", "queue")
    vetted = ReleaseService(project.gov, PROJECT, project.workspace).audit("rel-0001")
    assert vetted.passed and vetted.cells > 0  # vetted against the ledger before submission
    _as(monkeypatch, "checker")
    out = project.tmp / "out"
    _run(project, "release", "publish", "rel-0001", "--out", str(out))
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


def test_disclose_table_with_a_project_is_submitted_to_its_release_path(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    _as(monkeypatch, "analyst")
    out = project.tmp / "t"
    data = _records(project.tmp / "t.csv")
    args = ["disclose", "table", "--input", str(data), "--by", "si,sex", "--threshold", "11",
            "--out", str(out), "--contributor", "person"]  # fmt: skip
    printed = _run(project, *args)
    assert "submitted as rel-0001" in printed
    service = ReleaseService(project.gov, PROJECT, project.workspace)
    (submitted,) = service.queue()
    assert submitted.unit == "person" and submitted.author == "analyst"
    assert service.files("rel-0001")["table.csv"] == (out / "table.csv").read_bytes()
    missing = runner.invoke(app, [*args[:-2], "--project", PROJECT, "--home", str(project.home)])
    assert "--contributor" in str(missing.exception)
