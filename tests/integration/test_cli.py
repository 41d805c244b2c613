import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from ansim.cli import app
from ansim.demo import DemoRun

runner = CliRunner()
SPECS = Path(__file__).parents[2] / "src" / "ansim" / "demo" / "specs"


def test_link_command_writes_stable_outputs(demo_run: DemoRun, tmp_path: Path) -> None:
    world = demo_run.world.datasets
    out = tmp_path / "link"
    result = runner.invoke(
        app,
        [
            "link",
            "--spec", str(SPECS / "gyeonggi_cases.yaml"), str(world["gyeonggi_cases"]),
            "--spec", str(SPECS / "kostat_register.yaml"), str(world["kostat_register"]),
            "--out", str(out),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    linkmap = pq.read_table(out / "linkmap.parquet")
    assert linkmap.column_names == ["serial", "dataset", "person_id"]
    assert set(linkmap["dataset"].to_pylist()) == {"gyeonggi_cases", "kostat_register"}
    for dataset in ("gyeonggi_cases", "kostat_register"):
        serials = pq.read_table(out / "serials" / f"{dataset}.parquet")
        assert serials.column_names == ["record_id", "serial"]
    assert "persons" in result.output


def test_step_by_step_commands(demo_run: DemoRun, tmp_path: Path) -> None:
    world = demo_run.world.datasets
    ok = runner.invoke(app, ["project", "init", "--out", str(tmp_path / "keys"), "--name", "t"])
    assert ok.exit_code == 0, ok.output
    identity, content = [], []
    for dataset in ("gyeonggi_cases", "kostat_register"):
        args = ["ingest", "--spec", str(SPECS / f"{dataset}.yaml"), "--input", str(world[dataset])]
        ok = runner.invoke(app, [*args, "--out", str(tmp_path / "ingest")])
        assert ok.exit_code == 0, ok.output
        ok = runner.invoke(
            app,
            [
                "custodian", "prepare", "--ingested", str(tmp_path / "ingest" / dataset),
                "--secret", str(tmp_path / "keys" / "linkage.key"), "--project", "t",
                "--out", str(tmp_path / "custodian"),
            ],
        )  # fmt: skip
        assert ok.exit_code == 0, ok.output
        identity += ["--identity", str(tmp_path / "custodian" / "identity" / f"{dataset}.parquet")]
        content += ["--content", str(tmp_path / "custodian" / "content" / f"{dataset}.parquet")]
    ok = runner.invoke(app, ["linkage", "match", *identity, "--out", str(tmp_path / "unit")])
    assert ok.exit_code == 0, ok.output
    store = tmp_path / "hub.duckdb"
    ok = runner.invoke(
        app,
        ["hub", "combine", *content, "--linkmap", str(tmp_path / "unit" / "linkmap.parquet"),
         "--store", str(store)],
    )  # fmt: skip
    assert ok.exit_code == 0, ok.output
    table = tmp_path / "table.csv"
    ok = runner.invoke(app, ["release", "table", "--store", str(store), "--out", str(table)])
    assert ok.exit_code == 0, ok.output
    assert table.read_text(encoding="utf-8-sig").startswith("sigungu_code,")


@pytest.mark.parametrize(
    "args",
    [
        ["ingest", "--spec", "missing.yaml", "--input", "x.csv", "--out", "o"],
        ["linkage", "match", "--identity", "nope.parquet", "--out", "o"],
    ],
)
def test_errors_are_clear_and_exit_2(args: list[str], tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", "from ansim.cli import main; main()", *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 2
    assert "error:" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_link_with_no_landed_rows_is_an_error_and_leaves_no_folder(tmp_path: Path) -> None:
    spec = tmp_path / "a.yaml"
    spec.write_text(
        "dataset: a\ncustodian: x\nrecord_id: record_id\ncolumns:\n"
        "  name: {type: string, role: direct_identifier, kind: korean_name}\n",
        encoding="utf-8",
    )
    spec_b = tmp_path / "b.yaml"
    spec_b.write_text(spec.read_text(encoding="utf-8").replace("dataset: a", "dataset: b"))
    data = tmp_path / "a.csv"
    data.write_text("record_id,name\n", encoding="utf-8")
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-c", "from ansim.cli import main; main()", "link",
         "--spec", str(spec), str(data), "--spec", str(spec_b), str(data), "--out", str(out)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "error:" in done.stderr and "Traceback" not in done.stderr
    assert not out.exists()
