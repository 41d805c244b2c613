"""Custodian preparation on an engine: the same four files as the in-memory path."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from ansim.cli import app
from ansim.demo._run import demo_spec
from ansim.engine import QueryEngine
from ansim.errors import IdentifierInContentError
from ansim.governance import KEY_FILE, PassphraseKeyFile
from ansim.identity import LinkageSecret, PreparedParts, prepare, prepare_on_engine
from ansim.ingest import ingest_file, load_ingested
from ansim.schema import DatasetSpec
from ansim.services import TrialProject

runner = CliRunner()
SECRET = LinkageSecret(bytes(range(32)))
PASSPHRASE = "ANSIM_KEY_PASSPHRASE"  # noqa: S105 -- the variable's name
ENV = {PASSPHRASE: "a long test passphrase"}


def _serials(count: int) -> list[str]:
    return [f"{i:032x}" for i in range(count)]


def _tables(parts: PreparedParts) -> list:
    return [pq.read_table(p) for p in (parts.identity, parts.content, parts.serial_map)]


@pytest.mark.parametrize("dataset", ["kostat_register", "gyeonggi_cases"])
def test_prepare_on_an_engine_equals_the_in_memory_prepare(
    engine: QueryEngine, world: dict, tmp_path: Path, dataset: str
) -> None:
    spec = demo_spec(dataset)
    ingested = ingest_file(spec, world["files"][dataset], tmp_path / "ingest").directory
    _, records = load_ingested(ingested)
    memory = prepare(
        spec, records, SECRET, tmp_path / "memory", project="p", chunk_rows=400,
        serial_source=_serials,
    )  # fmt: skip
    done: list[tuple[int, int]] = []
    on_engine = prepare_on_engine(
        engine, spec, ingested / "records.parquet", SECRET, tmp_path / engine.kind,
        project="p", chunk_rows=170, partitions=3, serial_source=_serials,
        progress=lambda d, t: done.append((d, t)), scratch=tmp_path / "scratch",
    )  # fmt: skip
    assert not any((tmp_path / "scratch").iterdir())  # the numbered copy is gone
    assert on_engine.records == memory.records == records.num_rows
    assert done == [(records.num_rows, records.num_rows)]
    for got, expected in zip(_tables(on_engine), _tables(memory), strict=True):
        assert got.schema.equals(expected.schema, check_metadata=True)
        assert got.equals(expected)
    assert json.loads(on_engine.report.read_text("utf-8")) == json.loads(
        memory.report.read_text("utf-8")
    )
    # the rows are the records' own (in-memory order is the file's; both sorted by record id)
    serial_map = pq.read_table(on_engine.serial_map)
    assert serial_map["record_id"].to_pylist() == records[spec.record_id].to_pylist()


SMALL = DatasetSpec.from_yaml_text("""
dataset: small
custodian: c
record_id: id
columns:
  name: {type: string, role: direct_identifier, kind: korean_name}
  birth_date: {type: date, role: quasi_identifier}
  note: {type: string, role: attribute}
""")


def _small(path: Path, notes: list[str]) -> Path:
    rows = pa.table(
        {
            "id": pa.array([str(i) for i in range(len(notes))], pa.string()),
            "name": pa.array(["김민준"] * len(notes), pa.string()),
            "birth_date": pa.array([None] * len(notes), pa.date32()),
            "note": pa.array(notes, pa.string()),
        }
    )
    path.mkdir(parents=True)
    pq.write_table(rows, path / "records.parquet")
    return path / "records.parquet"


def test_the_scratch_copy_is_removed_when_the_work_fails(
    engine: QueryEngine, tmp_path: Path
) -> None:
    records = _small(tmp_path / "in", ["ok", "010-1234-5678"])
    with pytest.raises(IdentifierInContentError):
        prepare_on_engine(
            engine, SMALL, records, SECRET, tmp_path / "out", project="p",
            scratch=tmp_path / "scratch",
        )  # fmt: skip
    assert not any((tmp_path / "scratch").iterdir())


def test_no_records_make_the_same_empty_parts(engine: QueryEngine, tmp_path: Path) -> None:
    records = _small(tmp_path / "in", [])
    memory = prepare(SMALL, pq.read_table(records), SECRET, tmp_path / "m", project="p")
    parts = prepare_on_engine(engine, SMALL, records, SECRET, tmp_path / "e", project="p")
    assert parts.records == 0
    for got, expected in zip(_tables(parts), _tables(memory), strict=True):
        assert got.equals(expected)
        assert got.schema.equals(expected.schema, check_metadata=True)
    assert parts.report.read_text("utf-8") == memory.report.read_text("utf-8")


def test_an_identifier_in_content_stops_before_anything_is_written(
    engine: QueryEngine, tmp_path: Path
) -> None:
    records = _small(tmp_path / "in", ["ok", "call 010-1234-5678"])
    with pytest.raises(IdentifierInContentError, match="row 2"):
        prepare_on_engine(engine, SMALL, records, SECRET, tmp_path / "out", project="p")
    assert not any((tmp_path / "out").iterdir())  # no part, no scratch copy left


def _prepare_cli(root: Path, out: Path, *options: str) -> None:
    result = runner.invoke(
        app,
        ["custodian", "prepare", "--ingested", str(root / "ing" / "kostat_register"),
         "--secret", str(root / "secret" / "linkage.key"), "--project", "p1",
         "--out", str(out), "--home", str(root / "gov" / "governance"), *options],
        env=ENV,
    )  # fmt: skip
    assert result.exit_code == 0, result.output


def test_custodian_prepare_on_an_engine_writes_the_same_parts(
    engine: QueryEngine, world: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ansim.cli._custodian.acting_user", lambda: "officer.kostat")
    spec = demo_spec("kostat_register")
    ingest_file(spec, world["files"]["kostat_register"], tmp_path / "ing")
    result = runner.invoke(
        app, ["project", "init", "--out", str(tmp_path / "secret"), "--name", "p1"]
    )
    assert result.exit_code == 0, result.output
    keys = PassphraseKeyFile.create(tmp_path / "gov" / "governance" / KEY_FILE, ENV[PASSPHRASE])
    custodians = {"kostat_register": spec.custodian}
    TrialProject.create(tmp_path / "gov", "p1", custodians, keys=keys).close()
    _prepare_cli(tmp_path, tmp_path / "default")
    _prepare_cli(tmp_path, tmp_path / "engine", "--engine", engine.kind)
    name = "kostat_register.parquet"
    for part in ("identity", "content"):
        # serials are fresh random ones on every run: everything else is equal
        got = pq.read_table(tmp_path / "engine" / part / name).drop_columns("serial")
        expected = pq.read_table(tmp_path / "default" / part / name).drop_columns("serial")
        assert got.equals(expected)
    report = "reports/kostat_register.prepare.json"
    assert (tmp_path / "engine" / report).read_text("utf-8") == (
        tmp_path / "default" / report
    ).read_text("utf-8")


def test_custodian_prepare_with_an_unknown_engine_is_a_clear_error(tmp_path: Path) -> None:
    args = ["custodian", "prepare", "--ingested", "i", "--secret", "s", "--project", "p",
            "--out", "o", "--engine", "oracle"]  # fmt: skip
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


def test_a_scratch_copy_a_kill_left_is_removed_by_the_next_run(tmp_path: Path) -> None:
    from ansim.engine import Engine  # noqa: PLC0415 - DuckDB only, not the engine fixture

    spec = DatasetSpec.from_yaml_text(
        "dataset: d\ncustodian: c\nrecord_id: id\ncolumns:\n"
        "  id: {type: string, role: record_id}\n"
        "  name: {type: string, role: direct_identifier, kind: korean_name}\n"
    )
    records = tmp_path / "records.parquet"
    pq.write_table(pa.table({"id": ["1", "2"], "name": ["김민준", "이서연"]}), records)
    out = tmp_path / "out"
    left = out / ".d.scratch.999999999.abc.tmp"  # what a killed run (a dead pid) leaves
    left.mkdir(parents=True)
    (left / "records.parquet").write_bytes(records.read_bytes())
    with Engine() as engine:
        prepare_on_engine(engine, spec, records, LinkageSecret.generate(), out, project="p")
    assert not left.exists()
    assert not [p for p in out.iterdir() if p.name.startswith(".")]
