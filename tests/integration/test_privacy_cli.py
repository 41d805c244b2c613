"""``ansim privacy budget``, ``release`` and ``synthesize`` on a plain file (no actor option)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from typer.testing import CliRunner

from ansim.cli import app

runner = CliRunner()
SPEC = """
name: incomes
rho: 1.0
person: person_id
keys: {region: sigungu, sex: [M, F]}
queries:
  - {name: people_by_region_sex, statistic: count, by: [region, sex]}
  - {name: mean_income, statistic: mean, column: income, lower: 0, upper: 10000,
     by: [region]}
"""


def _ansim(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "src")}
    return subprocess.run(
        [sys.executable, "-c", "from ansim.cli import main; main()", *args],
        capture_output=True, text=True, cwd=cwd, check=False, env=env,
    )  # fmt: skip


def _input(tmp_path: Path) -> Path:
    rng = np.random.default_rng(2)
    n = 2000
    table = pa.table({
        "person_id": np.repeat(np.arange(n // 2), 2),  # two rows per person: one is kept
        "region": rng.choice(["41110", "41820", "41800"], n),
        "sex": rng.choice(["M", "F"], n),
        "income": rng.integers(0, 20000, n),
    })  # fmt: skip
    pq.write_table(table, tmp_path / "rows.parquet")
    (tmp_path / "spec.yaml").write_text(SPEC)
    return tmp_path / "rows.parquet"


def test_trial_release_writes_tables_with_intervals_marked_not_for_publication(
    tmp_path: Path,
) -> None:
    rows = _input(tmp_path)
    result = runner.invoke(
        app, ["privacy", "release", "--spec", str(tmp_path / "spec.yaml"), "--input", str(rows),
              "--out", str(tmp_path / "out"), "--rho", "0.5"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.output.startswith("TRIAL (not reviewed, not for publication")
    out = tmp_path / "out" / "trial-not-for-publication"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [out.name]
    assert "not for publication" in (out / "NOT-FOR-PUBLICATION.txt").read_text()
    assert json.loads((out / "release.json").read_text())["trial"].startswith("not reviewed")
    lines = (out / "people_by_region_sex.csv").read_text().splitlines()
    assert lines[0] == '"region","sex","estimate","ci_low","ci_high"'
    assert len(lines) == 1 + 31 * 2
    meta = json.loads((out / "mean_income.json").read_text())
    assert meta["rho"] <= 0.25 + 1e-12
    assert meta["privacy_unit"].startswith("a person")
    report = json.loads((out / "release.json").read_text())
    assert report["budget"]["rho_total"] == 0.5


def test_release_without_a_project_or_a_trial_file_is_refused(tmp_path: Path) -> None:
    _input(tmp_path)
    result = _ansim(["privacy", "release", "--spec", "spec.yaml"], tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("error: give --project and --table")
    assert "Traceback" not in result.stderr


def test_project_release_with_a_file_or_out_folder_is_refused(tmp_path: Path) -> None:
    rows = _input(tmp_path)
    result = _ansim(
        ["privacy", "release", "--spec", "spec.yaml", "--project", "p1", "--table", "linked_t",
         "--input", str(rows), "--out", "o"],
        tmp_path,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.startswith("error: with --project the rows are the project's hub table")
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "o").exists()


def test_budget_prices_without_data(tmp_path: Path) -> None:
    _input(tmp_path)
    result = runner.invoke(app, ["privacy", "budget", "--spec", str(tmp_path / "spec.yaml")])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    assert plan["rho"] <= 1.0
    assert [q["cells"] for q in plan["queries"]] == [62, 31]


def test_no_user_name_option() -> None:
    for command in ("budget", "release", "synthesize"):
        help_text = runner.invoke(app, ["privacy", command, "--help"]).output
        assert "--as" not in help_text
        assert "--actor" not in help_text


def test_bad_spec_exits_2_with_an_error_line(tmp_path: Path) -> None:
    rows = _input(tmp_path)
    (tmp_path / "bad.yaml").write_text("name: x\nrho: 1\nqueries: [{name: q, statistic: mean}]\n")
    result = _ansim(
        ["privacy", "release", "--spec", "bad.yaml", "--input", str(rows), "--out", "o"],
        tmp_path,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error:")
    assert "Traceback" not in result.stderr


SYNTH_SPEC = """
name: cohort
rho: 1.0
seed: 5
iterations: 200
person: person_id
columns:
  region: sigungu
  sex: [M, F]
  income: {edges: [0, 5000, 10000, 15000]}
"""


def test_synthesize_writes_extract_report_and_utility(tmp_path: Path) -> None:
    rows = _input(tmp_path)
    (tmp_path / "synth.yaml").write_text(SYNTH_SPEC)
    out = tmp_path / "synthetic"
    result = runner.invoke(
        app, ["privacy", "synthesize", "--spec", str(tmp_path / "synth.yaml"), "--input",
              str(rows), "--out", str(out), "--rho", "0.5", "--seed", "9"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "synthesised" in result.output
    table = pq.read_table(out / "synthetic.parquet")
    assert table.column_names == ["region", "sex", "income"]
    assert set(table["income"].to_pylist()) <= {"0-4999", "5000-9999", "10000-14999", "15000+"}
    meta = json.loads((out / "synthesis.json").read_text())
    assert meta["rho"] <= 0.5 + 1e-12
    assert meta["seed"] == 9
    assert meta["budget"]["rho_total"] == 0.5
    assert meta["method"] == "mst"
    assert len(meta["domain"]["region"]) == 31
    utility = json.loads((out / "utility.json").read_text())
    assert set(utility) >= {"tvd_1way", "tvd_2way", "tvd_3way"}
    assert utility["tvd_3way"]["marginals"] == 1
    assert (out / "cohort.csv").read_text().splitlines()[0] == '"region","sex","income"'


def test_synthesize_bad_spec_exits_2_with_an_error_line(tmp_path: Path) -> None:
    rows = _input(tmp_path)
    (tmp_path / "bad.yaml").write_text("name: x\nrho: 1\ncolumns: {sex: [M, F]}\n")
    result = _ansim(
        ["privacy", "synthesize", "--spec", "bad.yaml", "--input", str(rows), "--out", "o"],
        tmp_path,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error:")
    assert "two columns" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "o").exists()


def test_budget_prices_a_synthesis_without_data(tmp_path: Path) -> None:
    (tmp_path / "synth.yaml").write_text(SYNTH_SPEC)
    result = runner.invoke(
        app, ["privacy", "budget", "--spec", str(tmp_path / "synth.yaml"), "--rho", "0.3"]
    )
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    assert plan["method"] == "mst"
    assert plan["rho"] <= 0.3
    assert plan["measurements"]["selection"]["rounds"] == 2
