"""``ansim link`` for practitioners: seeded runs, saved models, scored pairs, explanations."""

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from ansim.cli import app
from ansim.demo import DemoRun
from ansim.linkage import LinkageConfig, LinkageModel

runner = CliRunner()
SPECS = Path(__file__).parents[2] / "src" / "ansim" / "demo" / "specs"
PAIR_COLUMNS = [
    "serial_l",
    "dataset_l",
    "serial_r",
    "dataset_r",
    "match_weight",
    "match_probability",
]


def _link(demo_run: DemoRun, out: Path, *options: str) -> str:
    world = demo_run.world.datasets
    result = runner.invoke(
        app,
        [
            "link",
            "--spec", str(SPECS / "gyeonggi_cases.yaml"), str(world["gyeonggi_cases"]),
            "--spec", str(SPECS / "kostat_register.yaml"), str(world["kostat_register"]),
            "--out", str(out), *options,
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def trained(demo_run: DemoRun, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("trained")
    output = _link(demo_run, out, "--seed", "4", "--pairs", "--save-model", str(out / "model.json"))
    assert "estimated false links" in output
    return out


def test_seeded_runs_give_identical_outputs(
    demo_run: DemoRun, trained: Path, tmp_path: Path
) -> None:
    _link(demo_run, tmp_path, "--seed", "4", "--pairs")
    for name in ("linkmap.parquet", "pairs.parquet", "serials/gyeonggi_cases.parquet"):
        assert pq.read_table(tmp_path / name).equals(pq.read_table(trained / name)), name
    first = json.loads((trained / "linkage_report.json").read_text())
    again = json.loads((tmp_path / "linkage_report.json").read_text())
    assert first["persons"] == again["persons"]
    assert first["estimates"] == again["estimates"]


def test_pairs_file_has_the_stable_columns_and_no_identifiers(trained: Path) -> None:
    pairs = pq.read_table(trained / "pairs.parquet")
    model = LinkageModel.load(trained / "model.json")
    assert pairs.column_names[:6] == PAIR_COLUMNS
    levels = [c for c in pairs.column_names if c.startswith("level_")]
    assert len(levels) == len(model.weights.comparisons)
    assert len(pairs.column_names) == 6 + len(levels)  # nothing else: no token, filter, value
    probability = pairs["match_probability"].to_numpy()
    assert probability.min() >= LinkageConfig().pairs_floor
    assert (pairs["serial_l"].to_numpy() != pairs["serial_r"].to_numpy()).all()


def test_saved_model_round_trips_and_reapplies_identically(
    demo_run: DemoRun, trained: Path, tmp_path: Path
) -> None:
    model = LinkageModel.load(trained / "model.json")
    assert LinkageModel.from_json(model.to_json()) == model
    assert model.versions["format"] == 1
    _link(demo_run, tmp_path, "--seed", "4", "--model", str(trained / "model.json"))
    assert pq.read_table(tmp_path / "linkmap.parquet").equals(
        pq.read_table(trained / "linkmap.parquet")
    )


def test_model_has_no_impossible_or_unordered_levels(trained: Path) -> None:
    model = LinkageModel.load(trained / "model.json").weights
    for f, comparison in enumerate(model.comparisons):
        weights = model.level_weights(f)
        assert all(a >= b - 1e-9 for a, b in itertools.pairwise(weights)), comparison
        assert comparison.column != "bf_sex"  # the default encoding keeps sex in the CLK only


def test_explain_shows_a_waterfall_ending_at_the_match_weight(trained: Path) -> None:
    result = runner.invoke(
        app,
        ["linkage", "explain", "--pairs", str(trained / "pairs.parquet"),
         "--model", str(trained / "model.json"), "--row", "0"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    best = pq.read_table(trained / "pairs.parquet").slice(0, 1).to_pylist()[0]
    assert "prior" in result.output
    assert f"{best['match_weight']:+8.3f}" in result.output.splitlines()[-2]


def test_explain_as_json_sums_to_the_match_weight(trained: Path) -> None:
    result = runner.invoke(
        app,
        ["linkage", "explain", "--pairs", str(trained / "pairs.parquet"),
         "--model", str(trained / "model.json"), "--row", "1", "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    pair = pq.read_table(trained / "pairs.parquet").slice(1, 1).to_pylist()[0]
    assert shown["match_weight"] == pair["match_weight"]
    assert shown["steps"][0]["label"].startswith("prior")
    assert sum(s["weight"] for s in shown["steps"]) == pytest.approx(pair["match_weight"], abs=1e-6)
    assert set(shown["levels"]) == {c for c in pair if c.startswith("level_")}
    assert not {"serial_l", "serial_r"} & set(shown)  # an explanation names no record


def test_sweep_of_the_pairs_file(trained: Path) -> None:
    args = ["linkage", "sweep", "--pairs", str(trained / "pairs.parquet")]
    result = runner.invoke(app, [*args, "--threshold", "0.5", "--threshold", "0.99", "--json"])
    assert result.exit_code == 0, result.output
    low, high = json.loads(result.output)
    probability = pq.read_table(trained / "pairs.parquet")["match_probability"].to_numpy()
    assert low["pairs"] == int((probability >= np.float32(0.5)).sum())
    assert high["pairs"] <= low["pairs"]
    assert high["precision"] >= low["precision"]
    assert high["recall"] <= low["recall"]
    text = runner.invoke(app, args)
    assert text.exit_code == 0 and "precision" in text.output
    bad = runner.invoke(app, [*args, "--threshold", "1.5"])
    assert bad.exit_code != 0


def test_report_estimates_have_intervals(trained: Path) -> None:
    estimates = json.loads((trained / "linkage_report.json").read_text())["estimates"]
    for key in ("precision", "recall", "false_links", "missed_links"):
        value = estimates[key]
        assert value["low"] <= value["point"] <= value["high"], key
    assert estimates["threshold_sweep"][0]["threshold"] == 0.5


def test_report_explains_every_count_it_shows(trained: Path) -> None:
    report = json.loads((trained / "linkage_report.json").read_text())
    notes = report["notes"]
    counts = {"records", "persons", "persons_by_sources", "linked_pairs", "cluster_sizes", "edges"}
    assert counts <= set(notes)
    for key in notes:  # every note is about a count the report holds
        section, _, name = key.partition(".")
        assert section in report, key
        assert not name or name in report[section], key


@pytest.mark.parametrize("text", ["{not json", "[]", '{"versions": {"format": 99}}'])
def test_bad_model_file_is_a_clear_error(text: str, tmp_path: Path) -> None:
    (tmp_path / "m.json").write_text(text)
    args = ["linkage", "match", "--identity", "a.parquet", "--identity", "b.parquet",
            "--out", "o", "--model", "m.json"]  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-c", "from ansim.cli import main; main()", *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "src")},
    )
    assert proc.returncode == 2, proc.stderr
    assert "error:" in proc.stderr
    assert "model file" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "o").exists()  # nothing written


def test_config_example_is_a_valid_config() -> None:
    result = runner.invoke(app, ["linkage", "config", "--example"])
    assert result.exit_code == 0, result.output
    assert LinkageConfig.from_yaml_text(result.output) == LinkageConfig()


def test_unsealed_trial_mode_links_the_same_as_the_sealed_run(
    demo_run: DemoRun, trained: Path, tmp_path: Path
) -> None:
    """--unsealed only skips the packages: a seeded run gives the same link map and serials."""
    output = _link(demo_run, tmp_path, "--seed", "4", "--pairs", "--unsealed")
    assert "persons" in output
    for name in ("linkmap.parquet", "pairs.parquet", "serials/kostat_register.parquet"):
        assert pq.read_table(tmp_path / name).equals(pq.read_table(trained / name)), name
    assert not list(tmp_path.rglob("*.ansim"))  # nothing of the trial installation is kept


def test_link_help_names_the_unsealed_trial_mode() -> None:
    result = runner.invoke(app, ["link", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "--unsealed" in result.output and "Trial mode" in result.output
