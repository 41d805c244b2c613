"""``ansim privacy synthesize --mechanism aim`` and ``budget`` for an AIM spec, on a plain file."""

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
name: cohort
rho: 1.0
seed: 5
iterations: 200
person: person_id
columns:
  region: [r1, r2, r3]
  sex: [M, F]
  income: {edges: [0, 5000, 10000, 15000]}
"""


def _input(tmp_path: Path) -> Path:
    rng = np.random.default_rng(2)
    n = 2000
    sex = rng.choice(["M", "F"], n)
    table = pa.table({
        "person_id": np.repeat(np.arange(n // 2), 2),  # two rows per person: one is kept
        "region": rng.choice(["r1", "r2", "r3"], n),
        "sex": sex,
        "income": np.where(sex == "M", rng.integers(0, 20000, n), rng.integers(0, 8000, n)),
    })  # fmt: skip
    pq.write_table(table, tmp_path / "rows.parquet")
    (tmp_path / "synth.yaml").write_text(SPEC)
    return tmp_path / "rows.parquet"


def test_synthesize_with_aim_writes_extract_report_and_utility(tmp_path: Path) -> None:
    rows = _input(tmp_path)
    out = tmp_path / "synthetic"
    result = runner.invoke(
        app, ["privacy", "synthesize", "--spec", str(tmp_path / "synth.yaml"), "--input",
              str(rows), "--out", str(out), "--rho", "0.5", "--mechanism", "aim"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "with AIM" in " ".join(result.output.split())  # the console wraps long paths
    table = pq.read_table(out / "synthetic.parquet")
    assert table.column_names == ["region", "sex", "income"]
    assert set(table["income"].to_pylist()) <= {"0-4999", "5000-9999", "10000-14999", "15000+"}
    meta = json.loads((out / "synthesis.json").read_text())
    assert meta["method"] == "aim"
    assert meta["mechanism"].startswith("AIM synthetic data")
    assert meta["rho"] <= 0.5 + 1e-12
    assert meta["rho_measured"] <= meta["rho"] * (1 + 1e-12)
    assert len(meta["rounds"]) >= 1 and meta["annealed"] >= 0  # rounds until the budget is spent
    assert meta["budget"]["rho_total"] == 0.5
    utility = json.loads((out / "utility.json").read_text())
    assert utility["tvd_3way"]["marginals"] == 1


def test_budget_prices_an_aim_spec_without_data(tmp_path: Path) -> None:
    (tmp_path / "aim.yaml").write_text(SPEC + "method: aim\nrounds: 30\nmarginals: 4\n")
    result = runner.invoke(app, ["privacy", "budget", "--spec", str(tmp_path / "aim.yaml")])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    assert plan["method"] == "aim" and plan["rho"] <= 1.0
    assert plan["measurements"]["max_selections"] == 4
    assert plan["measurements"]["rounds_T"] == 30


def test_an_unknown_mechanism_exits_2_with_an_error_line(tmp_path: Path) -> None:
    rows = _input(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "src")}
    result = subprocess.run(
        [sys.executable, "-c", "from ansim.cli import main; main()", "privacy", "synthesize",
         "--spec", "synth.yaml", "--input", str(rows), "--out", "o", "--mechanism", "pgm"],
        capture_output=True, text=True, cwd=tmp_path, check=False, env=env,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.startswith("error: --mechanism 'pgm': give mst or aim")
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "o").exists()
