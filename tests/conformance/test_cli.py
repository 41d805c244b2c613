"""``ansim link --engine``: the same seeded outputs on every engine; a clear error otherwise."""

import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from ansim.cli import app
from ansim.engine import QueryEngine

runner = CliRunner()
SPECS = Path(__file__).parents[2] / "src" / "ansim" / "demo" / "specs"


def _link(world: dict, out: Path, *options: str) -> None:
    files = world["files"]
    result = runner.invoke(
        app,
        [
            "link",
            "--spec", str(SPECS / "gyeonggi_cases.yaml"), str(files["gyeonggi_cases"]),
            "--spec", str(SPECS / "kostat_register.yaml"), str(files["kostat_register"]),
            "--out", str(out), "--seed", "4", *options,
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output


def test_link_on_an_engine_writes_the_same_link_map(
    engine: QueryEngine, world: dict, tmp_path: Path
) -> None:
    _link(world, tmp_path / "default")
    _link(world, tmp_path / "engine", "--engine", engine.kind)
    expected = pq.read_table(tmp_path / "default" / "linkmap.parquet")
    assert pq.read_table(tmp_path / "engine" / "linkmap.parquet").equals(expected)
    report = (tmp_path / "engine" / "linkage_report.json").read_text("utf-8")
    assert report == (tmp_path / "default" / "linkage_report.json").read_text("utf-8")


@pytest.mark.parametrize("command", [["link"], ["demo"]])
def test_unknown_engine_is_a_clear_error(command: list[str], tmp_path: Path) -> None:
    files = ["--spec", "a.yaml", "a.csv", "--spec", "b.yaml", "b.csv"]
    args = [*command, *(files if command == ["link"] else []), "--out", "o", "--engine", "oracle"]
    proc = subprocess.run(
        [sys.executable, "-c", "from ansim.cli import main; main()", *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "src")},
    )
    assert proc.returncode == 2, proc.stderr
    assert "error: unknown engine 'oracle'" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "o").exists()
