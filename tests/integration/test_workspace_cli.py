"""``ansim workspace …`` end to end on a copy of the demo's governance home and hub store."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ansim.cli import app
from ansim.demo import DemoRun
from ansim.errors import AccessDenied

runner = CliRunner()
PROJECT = "gyeonggi-covid-demo"
BY_SEX = "SELECT person_id, sex FROM kostat_register"
DETAILED = "SELECT person_id, sigungu_code, sex, age FROM kostat_register"


@pytest.fixture
def copied(demo_run: DemoRun, tmp_path: Path) -> tuple[Path, Path]:
    assert demo_run.governance is not None
    home = shutil.copytree(demo_run.governance, tmp_path / "governance")
    store = tmp_path / "hub" / "hub.duckdb"
    store.parent.mkdir()
    shutil.copy(demo_run.hub_store, store)
    return home, store


def _run(home: Path, store: Path, *args: str) -> str:
    result = runner.invoke(
        app, ["workspace", *args, "--home", str(home), "--project", PROJECT, "--store", str(store)]
    )
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def test_analyst_to_release_through_the_cli(copied: tuple[Path, Path], tmp_path: Path) -> None:
    home, store = copied
    analyst = ("--as", "analyst.snu")
    assert "kostat_register" in _run(home, store, "views", *analyst)
    assert "rows)" in _run(
        home, store, "query", "SELECT count(*) AS n FROM kostat_register", *analyst
    )
    hostile = runner.invoke(
        app,
        ["workspace", "query", "SELECT * FROM read_csv('/etc/passwd')", "--as", "analyst.snu",
         "--home", str(home), "--project", PROJECT, "--store", str(store)],
    )  # fmt: skip
    assert isinstance(hostile.exception, AccessDenied)
    assert "passes" in _run(home, store, "crosstab", BY_SEX, "--by", "sex", *analyst)
    held = _run(home, store, "crosstab", DETAILED, "--by", "sigungu_code", "--by", "age", *analyst)
    assert "held by the checks" in held and "threshold" in held
    assert "submitted" in _run(home, store, "submit", "out-0001", *analyst)
    assert "held" in _run(home, store, "submit", "out-0002", *analyst)
    queue = _run(home, store, "outputs", "--queue")
    assert "out-0001" in queue and "out-0002" not in queue
    _run(home, store, "review", "out-0001", "--as", "checker.kostat", "--comment", "ok")
    assert "approved" in _run(home, store, "review", "out-0001", "--as", "checker.gyeonggi")
    bundle = tmp_path / "bundle"
    _run(home, store, "release", "out-0001", "--as", "checker.kostat", "--out", str(bundle))
    results = json.loads((bundle / "results.json").read_text())
    assert results["results"]["out-0001"]["status"] == "pass"
    assert (bundle / "SHA256SUMS").is_file()
    mine = runner.invoke(
        app,
        ["workspace", "review", "out-0002", "--as", "analyst.snu", "--home", str(home),
         "--project", PROJECT, "--store", str(store)],
    )  # fmt: skip
    assert isinstance(mine.exception, AccessDenied)
