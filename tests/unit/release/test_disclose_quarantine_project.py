"""``disclose table --project`` on a damaged file: readable rows are submitted, the rest listed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ansim.cli import app
from ansim.release import ReleaseService

from .conftest import PROJECT, Project

runner = CliRunner()


def test_submitted_table_counts_the_rows_it_set_aside(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ansim.cli._release.acting_user", lambda: "analyst")
    monkeypatch.setattr("ansim.cli._acting.acting_user", lambda: "analyst")
    data = project.tmp / "t.csv"
    rows = ["person,si,sex", *(f"p{i:05d},s{i % 3},{'FM'[i % 2]}" for i in range(60))]
    rows[10:10] = ["p99998,s1", 'p99999,s2,"F']  # a short row and an unclosed quote
    data.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = project.tmp / "t"
    result = runner.invoke(app, [
        "disclose", "table", "--input", str(data), "--by", "si,sex", "--threshold", "11",
        "--out", str(out), "--contributor", "person", "--project", PROJECT,
        "--store", str(project.store), "--home", str(project.home),
    ])  # fmt: skip
    assert result.exit_code == 0, (result.output, result.exception)
    assert "2 of 62 rows could not be read" in result.output.replace("\n", " ")
    service = ReleaseService(project.gov, PROJECT, project.workspace)
    report = json.loads(service.files("rel-0001")["report.json"])
    assert (report["rows_read"], report["rows_used"], report["rows_quarantined"]) == (62, 60, 2)
    listed = Path(out / "quarantine.csv").read_text(encoding="utf-8").splitlines()
    assert [line.split(",")[0] for line in listed[1:]] == ["11", "12"]
    assert "p9999" not in "".join(listed)
