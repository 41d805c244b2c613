"""The custodian and package commands, end to end on a small file (CLI over the library)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from ansim.cli import app
from ansim.governance import KEY_FILE, PassphraseKeyFile
from ansim.services import TrialProject

runner = CliRunner()
SPEC = """
dataset: register
custodian: kostat
record_id: id
columns:
  name: {type: string, role: direct_identifier, kind: korean_name}
  rrn: {type: string, role: direct_identifier, kind: rrn}
  birth_date: {type: date, role: quasi_identifier}
  sex: {type: category, role: quasi_identifier, values: [M, F]}
  income_band: {type: category, role: sensitive, values: [Q1, Q2]}
"""
DATA = (
    "id,name,rrn,birth_date,sex,income_band\n"
    "1,김민준,800522-1234564,1980-05-22,M,Q1\n"
    "2,이서연,,1990-01-02,F,Q2\n"
)


PASSPHRASE = "ANSIM_KEY_PASSPHRASE"  # noqa: S105 -- the variable's name
ENV = {PASSPHRASE: "a long test passphrase"}  # every key store is protected


def _ok(*args: str) -> str:
    result = runner.invoke(app, list(args), env=ENV)
    assert result.exit_code == 0, result.output
    return result.output


def test_prepare_seal_and_open(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the acting user ``ansim login`` would prove (the login is tested in test_governance_cli)
    monkeypatch.setattr("ansim.cli._custodian.acting_user", lambda: "officer.kostat")
    (tmp_path / "spec.yaml").write_text(SPEC, encoding="utf-8")
    (tmp_path / "data.csv").write_text(DATA, encoding="utf-8")
    t = str(tmp_path)
    _ok("ingest", "--spec", f"{t}/spec.yaml", "--input", f"{t}/data.csv", "--out", f"{t}/ing")
    _ok("project", "init", "--out", f"{t}/secret", "--name", "p1")
    _ok("custodian", "encoding", "--out", f"{t}/enc.yaml", "--name", "p1-enc", "--version", "2")
    for party in ("kostat", "linkage_unit", "hub"):
        _ok("keys", "init", "--party", party, "--store", f"{t}/keys/{party}")
    for store, other in (("kostat", "linkage_unit"), ("kostat", "hub"), ("linkage_unit", "kostat")):
        _ok(
            "keys",
            "trust",
            "--public",
            f"{t}/keys/{other}/party.json",
            "--store",
            f"{t}/keys/{store}",
        )
    keys = PassphraseKeyFile.create(tmp_path / "gov" / "governance" / KEY_FILE, ENV[PASSPHRASE])
    TrialProject.create(tmp_path / "gov", "p1", {"register": "kostat"}, keys=keys).close()
    _ok("custodian", "prepare", "--ingested", f"{t}/ing/register", "--secret",
        f"{t}/secret/linkage.key", "--project", "p1", "--out", f"{t}/prep",
        "--home", f"{t}/gov/governance",
        "--encoding", f"{t}/enc.yaml", "--keys", f"{t}/keys/kostat",
        "--token", "rrn", "--token", "nbs=korean_name+birth_date+sex")  # fmt: skip
    report = json.loads((tmp_path / "prep/reports/register.prepare.json").read_text())
    assert report["encoding"] == {"name": "p1-enc", "version": 2}
    assert report["tokens"] == ["rrn", "nbs"]
    assert report["identifier_checks"]["rrn"]["check_digit_valid"] == 1
    outbox = tmp_path / "prep" / "outbox"
    assert len(list((outbox / "linkage_unit").glob("*.ansim"))) == 1
    args = ["package", "open", "--inbox", str(outbox / "linkage_unit"),
            "--store", f"{t}/keys/linkage_unit", "--project", "p1", "--kind", "identity",
            "--out", f"{t}/got"]  # fmt: skip
    _ok(*args)
    table = pq.read_table(tmp_path / "got" / "register.parquet")
    assert {"serial", "token_rrn", "bf_name", "clk"} <= set(table.column_names)
    # a second opening is a replay: refused with a clear message and exit code 2
    code = "import sys; from ansim.cli import main; sys.argv = ['ansim', *sys.argv[1:]]; main()"
    env = {**os.environ, **ENV}
    again = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=False, env=env
    )
    assert again.returncode == 2
    assert "replay is refused" in again.stderr
    assert "scrypt" in (tmp_path / "keys" / "hub" / "private.key").read_text()
