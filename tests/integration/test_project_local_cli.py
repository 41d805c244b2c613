"""Governance commands that run locally: `project init`, `project bootstrap`, `audit verify`."""

from __future__ import annotations

import stat
from pathlib import Path

from typer.testing import CliRunner

from ansim.cli import app
from ansim.errors import AccessDenied

runner = CliRunner()


def _run(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def test_project_init_still_writes_the_custodians_linkage_secret(tmp_path: Path) -> None:
    _run("project", "init", "--out", str(tmp_path), "--name", "p1")
    assert len((tmp_path / "linkage.key").read_text().strip()) == 64
    assert stat.S_IMODE((tmp_path / "linkage.key").stat().st_mode) == 0o600


def test_verify_without_a_home_says_what_to_do(tmp_path: Path) -> None:
    result = runner.invoke(app, ["audit", "verify", "--home", str(tmp_path / "none")])
    assert result.exit_code != 0
    assert "bootstrap" in str(result.exception)


def test_bootstrap_prints_a_one_time_password_once_and_refuses_a_second_time(
    tmp_path: Path,
) -> None:
    home = str(tmp_path / "gov")
    made = _run("project", "bootstrap", "--admin", "admin", "--home", home)
    (line,) = [x for x in made.splitlines() if "one-time password" in x]
    assert len(line.rsplit(maxsplit=1)[-1]) >= 12
    again = runner.invoke(app, ["project", "bootstrap", "--admin", "mallory", "--home", home])
    assert isinstance(again.exception, AccessDenied)
    assert "one-time password" not in again.output
    assert "verified" in _run("audit", "verify", "--home", home)
