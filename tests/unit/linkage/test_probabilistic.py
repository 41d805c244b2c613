from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from ansim.cli import app
from ansim.demo import generate_world
from ansim.demo._run import demo_spec
from ansim.errors import InvalidSpecError, LinkageError
from ansim.governance import KEY_FILE, PassphraseKeyFile
from ansim.identity import LEGACY_FIELD_LEVEL_SPEC, LinkageSecret, prepare
from ansim.ingest import ingest_file, load_ingested
from ansim.linkage import (
    BlockingRule,
    LinkageConfig,
    link,
    link_exact,
    link_fuzzy,
    link_probabilistic,
    match_files,
    quality_against_truth,
)
from ansim.packages import Part, open_package, read_part, seal_part
from ansim.services import TrialProject

DATASETS = ("gyeonggi_cases", "kostat_register", "snu_cohort")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], dict, pa.Table]:
    out = tmp_path_factory.mktemp("world")
    files = generate_world(10_000, 11, out / "world")
    secret = LinkageSecret.generate()
    identity, serials = [], {}
    for name in DATASETS:
        spec = demo_spec(name)
        result = ingest_file(spec, files.datasets[name], out / "ingest")
        _, records = load_ingested(result.directory)
        parts = prepare(spec, records, secret, out / "prep", project="test")
        identity.append(parts.identity)
        serials[name] = pq.read_table(parts.serial_map)
    return identity, serials, pacsv.read_csv(files.truth)


def _parts(paths: list[Path]) -> list[Part]:
    return [read_part(p, "identity") for p in paths]


def test_probabilistic_beats_exact_across_three_sources(world: tuple) -> None:
    paths, serials, truth = world
    parts = _parts(paths)
    probabilistic = link_probabilistic(parts)
    exact = link_exact(parts)
    q = quality_against_truth(probabilistic.table, serials, truth)
    q_exact = quality_against_truth(exact.table, serials, truth)
    assert q.f1 > q_exact.f1
    assert q.precision > 0.99
    assert q.recall > 0.99
    report = probabilistic.report
    assert report.method == "probabilistic"
    assert 0.99 < report.estimates["estimated_precision"] <= 1.0
    assert report.blocking["candidate_pairs"] > 0
    weights = report.model["fields"]["bf_rrn"]
    assert weights[0]["weight"] > 10 > weights[-1]["weight"]  # exact RRN vs unrelated RRN


def test_link_map_has_match_weights_and_only_encoded_inputs(world: tuple) -> None:
    paths, _, _ = world
    linkmap = link_probabilistic(_parts(paths))
    table = linkmap.table
    assert table.column_names == ["serial", "dataset", "person_id", "match_weight"]
    weights = table["match_weight"].drop_null().to_numpy()
    assert weights.size > 0
    assert (weights > 0).all()  # every accepted link has positive log-odds at p >= 0.5
    singles = table.filter(pa.compute.is_null(table["match_weight"]))
    counts = table.group_by("person_id").aggregate([([], "count_all")])
    in_clusters = set(counts.filter(pa.compute.greater(counts["count_all"], 1))["person_id"])
    assert not set(singles["person_id"].to_pylist()) & in_clusters


def test_one_to_one_assignments_never_join_two_records_of_a_source(world: tuple) -> None:
    paths, serials, truth = world
    parts = _parts(paths)
    for assignment in ("greedy", "optimal"):
        linkmap = link(parts, LinkageConfig(assignment=assignment))
        table = linkmap.table
        per = table.group_by(["person_id", "dataset"]).aggregate([([], "count_all")])
        assert max(per["count_all"].to_pylist()) == 1
        assert quality_against_truth(table, serials, truth).precision > 0.99


def test_fuzzy_links_on_record_level_filters(world: tuple) -> None:
    paths, serials, truth = world
    linkmap = link_fuzzy(_parts(paths), LinkageConfig(fuzzy_threshold=0.85))
    assert linkmap.report.method == "fuzzy"
    assert quality_against_truth(linkmap.table, serials, truth).f1 > 0.97


def test_tokens_only_parts_still_link_probabilistically(world: tuple) -> None:
    paths, serials, truth = world
    parts = [
        Part(p.dataset, p.kind, p.project,
             p.table.select([c for c in p.table.column_names if not c.startswith(("bf_", "clk"))]))
        for p in _parts(paths)
    ]  # fmt: skip
    linkmap = link_probabilistic(parts)
    assert set(linkmap.report.model["fields"]) == {
        "token_rrn", "token_name_birth_sex", "token_name_phone"
    }  # fmt: skip
    assert quality_against_truth(linkmap.table, serials, truth).precision > 0.99


def test_match_files_writes_the_report_and_config_round_trips(world: tuple, tmp_path: Path) -> None:
    paths, _, _ = world
    rules = (BlockingRule("token_rrn"), BlockingRule("bf_name", "lsh", bands=6, bits=12))
    config = LinkageConfig(blocking=rules, match_probability=0.9, assignment="greedy")
    again = LinkageConfig.from_yaml_text(config.to_yaml())
    assert again == config
    linkmap = match_files(paths, tmp_path, again)
    assert (tmp_path / "linkage_report.json").exists()
    names = [p["rule"] for p in linkmap.report.blocking["passes"]]
    assert names == ["equal(token_rrn)", "lsh(bf_name,6x12)"]
    with pytest.raises(InvalidSpecError, match="unknown"):
        LinkageConfig.from_yaml_text("methd: exact")
    with pytest.raises(InvalidSpecError, match="method"):
        LinkageConfig(method="magic")


def test_a_single_part_is_deduplicated_and_no_part_refused(world: tuple) -> None:
    paths, serials, truth = world
    register = _parts(paths)[1]
    linkmap = link_probabilistic([register])
    assert set(linkmap.table["dataset"].to_pylist()) == {"kostat_register"}
    own = truth.filter(pc.equal(truth["dataset"], "kostat_register"))
    q = quality_against_truth(linkmap.table, {"kostat_register": serials["kostat_register"]}, own)
    assert q.true_pairs > 0
    assert q.recall > 0.9  # duplicates within the one dataset are found
    with pytest.raises(LinkageError, match="at least one"):
        link_probabilistic([])
    with pytest.raises(LinkageError, match="cannot deduplicate"):
        link([register], LinkageConfig(assignment="greedy"))


PASSPHRASE = "a long test passphrase"  # noqa: S105 -- a throwaway test installation's


def test_cli_match_takes_a_method_and_a_config(
    world: tuple, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``linkage match`` on sealed packages, as the trial project's linkage-unit operator.

    The acting user is the one ``ansim login`` proved (stood in for here; the login itself is
    tested against a real server in tests/integration/test_governance_cli.py).
    """
    paths, _, _ = world
    root = tmp_path / "trial"
    keys = PassphraseKeyFile.create(root / "governance" / KEY_FILE, PASSPHRASE)
    datasets = {name: demo_spec(name).custodian for name in DATASETS}
    trial = TrialProject.create(root, "test", datasets, keys=keys)
    trial.close()
    monkeypatch.setattr("ansim.cli._linkage.acting_user", lambda: trial.linker)
    governed = ["--project", "test", "--home", str(root / "governance"),
                "--keys", str(root / "linkage_unit" / "keys")]  # fmt: skip

    def identity(run: str) -> list[str]:  # fresh packages for each run (a replay is refused)
        sealed = [
            seal_part(path, sender=trial.keys[datasets[path.stem]], recipient="linkage_unit",
                      out_dir=tmp_path / "packages" / run)
            for path in paths
        ]  # fmt: skip
        return [a for p in sealed for a in ("--identity", str(p))]

    config = tmp_path / "linkage.yaml"
    config.write_text(LinkageConfig(method="fuzzy", fuzzy_threshold=0.9).to_yaml(), "utf-8")
    runner = CliRunner(env={"ANSIM_KEY_PASSPHRASE": PASSPHRASE})
    fuzzy = runner.invoke(app, ["linkage", "match", *identity("f"), "--config", str(config),
                                "--out", str(tmp_path / "fuzzy"), *governed])  # fmt: skip
    assert fuzzy.exit_code == 0, (fuzzy.output, fuzzy.exception)
    assert "fuzzy:" in fuzzy.output
    exact = runner.invoke(app, ["linkage", "match", *identity("e"), "--config", str(config),
                                "--method", "exact", "--out", str(tmp_path / "exact"),
                                *governed])  # fmt: skip
    assert exact.exit_code == 0, exact.output
    assert pq.read_table(tmp_path / "exact" / "linkmap.parquet").column_names == [
        "serial", "dataset", "person_id"
    ]  # fmt: skip
    default = runner.invoke(
        app, ["linkage", "match", *identity("p"), "--out", str(tmp_path / "p"), *governed]
    )
    assert "estimated precision" in default.output
    assert "match_weight" in pq.read_table(tmp_path / "p" / "linkmap.parquet").column_names


def test_same_parts_and_seed_give_an_identical_link_map_and_pairs(world: tuple) -> None:
    paths, _, _ = world
    config = LinkageConfig(seed=3)
    first = link(_parts(paths), config, pairs=True)
    again = link(_parts(paths), config, pairs=True)
    assert first.table.equals(again.table)
    assert first.pairs is not None and again.pairs is not None
    assert first.pairs.equals(again.pairs)
    assert first.model == again.model
    assert first.report.estimates == again.report.estimates


def test_a_configured_two_valued_field_without_bands_is_equal_or_not(tmp_path: Path) -> None:
    # the default encoding keeps sex inside the CLK: the old field-level spec has a bf_sex
    files = generate_world(3000, 11, tmp_path / "world")
    secret, paths = LinkageSecret.generate(), []
    for name in DATASETS[:2]:
        spec = demo_spec(name)
        _, records = load_ingested(
            ingest_file(spec, files.datasets[name], tmp_path / "ingest").directory
        )
        paths.append(
            prepare(spec, records, secret, tmp_path / "prep", project="test",
                    encoding=LEGACY_FIELD_LEVEL_SPEC).identity
        )  # fmt: skip
    config = LinkageConfig.from_yaml_text(
        "comparisons: [{column: bf_name}, {column: bf_birth_date}, {column: bf_sex}]"
    )
    linkmap = link(_parts(paths), config)
    assert linkmap.model is not None
    levels = {c.column: c.level_names for c in linkmap.model.weights.comparisons}
    assert levels["bf_sex"] == ("equal", "different")
    assert len(levels["bf_name"]) > 2  # a many-valued field keeps its Dice bands


def test_auto_blocking_keeps_the_standard_passes_where_they_lose_nothing(world: tuple) -> None:
    paths, _, _ = world
    auto = link(_parts(paths), LinkageConfig(blocking_mode="auto"))
    standard = link(_parts(paths), LinkageConfig(blocking_mode="standard"))
    assert auto.report.blocking["extra_passes_switched_on"] is False
    assert auto.report.blocking["candidate_pairs"] == standard.report.blocking["candidate_pairs"]
    assert auto.table.equals(standard.table)


def test_false_link_interval_holds_the_clusters_that_join_different_people(
    world: tuple,
) -> None:
    paths, serials, truth = world
    linkmap = link_probabilistic(_parts(paths))
    person = {
        (row["dataset"], str(row["record_id"])): row["person_id"] for row in truth.to_pylist()
    }
    located = {
        (name, serial): person[name, str(record)]
        for name, table in serials.items()
        for record, serial in zip(
            table["record_id"].to_pylist(), table["serial"].to_pylist(), strict=True
        )
    }
    found: dict[str, set[object]] = {}
    for row in linkmap.table.select(["serial", "dataset", "person_id"]).to_pylist():
        found.setdefault(row["person_id"], set()).add(located[row["dataset"], row["serial"]])
    false = sum(len(people) > 1 for people in found.values())
    interval = linkmap.report.estimates["false_links"]
    assert interval["low"] <= false <= interval["high"], (false, interval)


def test_pairs_and_model_stay_at_the_linkage_unit_only_the_link_map_is_sealed(
    world: tuple, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths, _, _ = world
    root = tmp_path / "trial"
    keys = PassphraseKeyFile.create(root / "governance" / KEY_FILE, PASSPHRASE)
    datasets = {name: demo_spec(name).custodian for name in DATASETS}
    trial = TrialProject.create(root, "test", datasets, keys=keys)
    trial.close()
    monkeypatch.setattr("ansim.cli._linkage.acting_user", lambda: trial.linker)
    sealed = [
        seal_part(path, sender=trial.keys[datasets[path.stem]], recipient="linkage_unit",
                  out_dir=tmp_path / "packages")
        for path in paths
    ]  # fmt: skip
    out = tmp_path / "unit"
    runner = CliRunner(env={"ANSIM_KEY_PASSPHRASE": PASSPHRASE})
    result = runner.invoke(
        app,
        ["linkage", "match", *[a for p in sealed for a in ("--identity", str(p))],
         "--out", str(out), "--pairs", "--save-model", str(out / "model.json"),
         "--project", "test", "--home", str(root / "governance"),
         "--keys", str(root / "linkage_unit" / "keys")],
    )  # fmt: skip
    assert result.exit_code == 0, (result.output, result.exception)
    assert (out / "pairs.parquet").exists() and (out / "model.json").exists()
    outgoing = sorted(p for p in (out / "outbox").rglob("*") if p.is_file())
    assert [p.parent.name for p in outgoing] == ["hub"]  # one package, for the hub
    package = open_package(outgoing[0], trial.keys["hub"], project="test", kind="linkmap")
    assert package.table.column_names == ["serial", "dataset", "person_id"]
