"""``ansim project …`` and ``ansim audit verify`` drive the same governance service."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from ansim.cli import app

runner = CliRunner()


def _ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_project_lifecycle_and_audit_verify(tmp_path: Path) -> None:
    home = ["--home", str(tmp_path / "gov")]
    _ok("project", "bootstrap", "--admin", "admin", "--org", "KOSTAT", *home)
    for user in ("off", "hubop"):
        _ok("project", "user", "--as", "admin", user, "--name", user, "--org", "x", *home)
    _ok("project", "create", "--as", "admin", "p1", "--title", "T", "--purpose", "statistics",
        "--description", "rates", "--dataset", "cases=gyeonggi", "--start", "2020-01-01",
        "--end", "2099-12-31", *home)  # fmt: skip
    _ok("project", "member", "--as", "admin", "p1", "off", "custodian_officer",
        "--custodian", "gyeonggi", *home)  # fmt: skip
    _ok("project", "member", "--as", "admin", "p1", "hubop", "hub_operator", *home)
    assert "issued" in _ok("project", "key", "--as", "admin", "p1", *home)
    denied = runner.invoke(app, ["project", "approve", "--as", "hubop", "p1", "cases", *home])
    assert denied.exit_code != 0 and isinstance(denied.exception, PermissionError)
    _ok("project", "approve", "--as", "off", "p1", "cases", *home)
    assert '"cases": "approved"' in _ok("project", "show", "p1", *home)
    _ok("project", "records", "--as", "admin", "p1", "--out", str(tmp_path / "rec"), *home)
    assert (tmp_path / "rec" / "p1_processing_record.csv").is_file()
    assert (tmp_path / "rec" / "p1_five_safes.json").is_file()
    assert "verified" in _ok("audit", "verify", *home)
    assert '"action": "approve_dataset"' in _ok("audit", "events", "--project", "p1", *home)
    assert "record kept until" in _ok("project", "destroy", "--as", "admin", "p1", *home)
    assert "verified" in _ok("audit", "verify", *home)

    with sqlite3.connect(tmp_path / "gov" / "governance.db") as db:
        db.execute("update audit_events set actor = 'mallory' where seq = 4")
    # through the real entry point: exit code 2 and the first bad event named
    done = subprocess.run(
        [sys.executable, "-c", "from ansim.cli import main; main()", "audit", "verify", *home],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "event 4" in done.stderr


def test_project_init_still_writes_the_custodians_linkage_secret(tmp_path: Path) -> None:
    _ok("project", "init", "--out", str(tmp_path), "--name", "p1")
    assert len((tmp_path / "linkage.key").read_text().strip()) == 64
    assert (tmp_path / "linkage.key").stat().st_mode & 0o777 == 0o600


def test_verify_without_a_home_says_what_to_do(tmp_path: Path) -> None:
    result = runner.invoke(app, ["audit", "verify", "--home", str(tmp_path / "none")])
    assert result.exit_code != 0
    assert "bootstrap" in str(result.exception)
