import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from ansim.cli import app
from ansim.demo import DemoRun, demo_spec
from ansim.errors import AnsimError
from ansim.governance import KEY_FILE, Governance, PassphraseKeyFile
from ansim.packages import PartyKeyStore
from ansim.services import Hub, TrialProject

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


PASSPHRASE = "a long test passphrase"  # noqa: S105 -- a throwaway test installation's


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from ansim.cli import main; main()", *args],
        capture_output=True, text=True, check=False, env={**os.environ, **env},
    )  # fmt: skip


def _logged_in_as(monkeypatch: pytest.MonkeyPatch, user: str) -> None:
    """Stand in for ``ansim login``: the acting user the server would vouch for.

    The login itself (token stored, ``/api/me`` asked) is tested against a real server in
    ``test_governance_cli.py``; here the governed local commands' own checks are under test.
    """
    for module in ("ansim.cli._custodian", "ansim.cli._linkage"):
        monkeypatch.setattr(f"{module}.acting_user", lambda: user)


def test_step_by_step_commands(
    demo_run: DemoRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Custodians prepare, seal and send; the linkage unit takes sealed packages only."""
    world = demo_run.world.datasets
    datasets = ("gyeonggi_cases", "kostat_register")
    root = tmp_path / "t"
    governance = root / "governance"
    keys = PassphraseKeyFile.create(governance / KEY_FILE, PASSPHRASE)
    TrialProject.create(root, "t", {d: demo_spec(d).custodian for d in datasets}, keys=keys).close()
    env = {"ANSIM_KEY_PASSPHRASE": PASSPHRASE}
    home = ["--home", str(governance), "--project", "t"]

    def ok(*args: str) -> str:
        result = runner.invoke(app, list(args), env=env)
        assert result.exit_code == 0, (result.output, result.exception)
        return result.output

    ok("project", "init", "--out", str(tmp_path / "keys"), "--name", "t")
    inboxes = {"linkage_unit": root / "linkage_unit" / "inbox", "hub": root / "hub" / "inbox"}
    for dataset in datasets:
        party = demo_spec(dataset).custodian
        mine = root / "custodians" / party
        ok("ingest", "--spec", str(SPECS / f"{dataset}.yaml"), "--input", str(world[dataset]),
           "--out", str(tmp_path / "ingest"))  # fmt: skip
        _logged_in_as(monkeypatch, f"officer.{party}")
        ok("custodian", "prepare", "--ingested", str(tmp_path / "ingest" / dataset),
           "--secret", str(tmp_path / "keys" / "linkage.key"), "--out", str(mine),
           "--keys", str(mine / "keys"), *home)  # fmt: skip
        ok("custodian", "send", "--prepared", str(mine), "--dataset", dataset,
           *(f"--to={p}={inbox}" for p, inbox in inboxes.items()), *home)  # fmt: skip
    unit = root / "linkage_unit"
    plain = _cli("linkage", "match", "--identity",
                 str(root / "custodians" / "kostat" / "identity" / "kostat_register.parquet"),
                 "--out", str(unit), "--keys", str(unit / "keys"), *home, env=env)  # fmt: skip
    assert plain.returncode == 2 and "not a sealed package" in plain.stderr, plain.stderr
    assert "Traceback" not in plain.stderr
    _logged_in_as(monkeypatch, "operator.linkage")
    ok("linkage", "match", "--inbox", str(inboxes["linkage_unit"]), "--out", str(unit),
       "--keys", str(unit / "keys"), *home)  # fmt: skip
    (linkmap,) = (unit / "outbox" / "hub").glob("*.ansim")
    store = root / "hub" / "hub.duckdb"
    gov = Governance(governance, keys=keys)
    try:
        hub_keys = PartyKeyStore.open(root / "hub" / "keys", passphrase=None)
        hub = Hub(gov, "t", root / "hub", hub_keys, store)
        with pytest.raises(AnsimError, match="not a sealed package"):
            hub.receive("operator.hub", [root / "custodians" / "kostat" / "content"
                                         / "kostat_register.parquet"])  # fmt: skip
        packages = [*sorted(inboxes["hub"].glob("*.ansim")), linkmap]
        linked = hub.combine("operator.hub", hub.receive("operator.hub", packages))
        assert linked.persons > 0
    finally:
        gov.close()
    gov = Governance(governance, keys=keys)
    try:
        actions = [e.action for e in gov.audit.events("t")]
        assert actions.count("submit_parts") == 2 and "access_denied" not in actions
        assert gov.verify_audit().ok
    finally:
        gov.close()


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


def test_audit_verify_pins_the_key_by_fingerprint(demo_run: DemoRun) -> None:
    assert demo_run.governance is not None
    home = ["audit", "verify", "--home", str(demo_run.governance)]
    unpinned = runner.invoke(app, home, env={"COLUMNS": "200"})
    assert unpinned.exit_code == 0 and "not pinned" in unpinned.output
    gov = Governance(demo_run.governance)
    fingerprint = gov.audit.signer.fingerprint
    gov.close()
    custodian_head = demo_run.out / "custodians" / "kostat" / "audit" / "audit-head.json"
    pinned = runner.invoke(
        app, [*home, "--pin", fingerprint, "--head", str(custodian_head)], env={"COLUMNS": "200"}
    )
    assert pinned.exit_code == 0, pinned.output
    assert f"pinned audit key: {fingerprint}" in pinned.output
    wrong = runner.invoke(app, [*home, "--pin", "0" * 64])
    assert wrong.exit_code != 0 and "not the pinned key" in str(wrong.exception)
