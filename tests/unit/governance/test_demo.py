"""The demo runs under a governed project, and its whole history verifies."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from ansim.cli import app
from ansim.demo import DemoRun, run_demo
from ansim.demo._run import ANALYST, CHECKER, CHECKER2, HUB_OPERATOR, PROJECT
from ansim.engine import Engine
from ansim.errors import EngineError
from ansim.governance import Governance
from ansim.governance._tables import audit_events


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    return run_demo(people=1500, seed=3, out=tmp_path_factory.mktemp("demo"))


def test_the_demo_project_is_approved_keyed_and_verified(demo: DemoRun) -> None:
    assert demo.governance is not None
    gov = Governance(demo.governance)
    record = gov.project(PROJECT)
    assert set(record["approvals"].values()) == {"approved"}
    assert len(record["approvals"]) == 3
    assert record["key"]["key_id"] and record["key"]["destroyed_at"] is None
    # the four public tables, each through the release path (and, in a world large enough for
    # the analyst's rates to pass the checks, the workspace bundle)
    outputs = record["outputs"]
    assert len(outputs) >= 4
    for output in outputs:
        assert output["status"] == "released" and output["author"] == ANALYST
        assert output["reviewer"] in {CHECKER, CHECKER2}
    actions = [e.action for e in gov.audit.events(PROJECT)]
    expected = ["create_project", "issue_key", "approve_dataset", "submit_parts", "run_linkage",
                "combine", "key_use", "review_output", "release_output"]  # fmt: skip
    assert set(expected) <= set(actions)
    assert actions.count("approve_dataset") == 3 and actions.count("submit_parts") == 3
    assert gov.verify_audit().ok
    gov.close()
    result = CliRunner().invoke(app, ["audit", "verify", "--home", str(demo.governance)])
    assert result.exit_code == 0 and "verified" in result.output


def test_the_demo_hub_store_is_encrypted(demo: DemoRun) -> None:
    with pytest.raises(EngineError, match="without a key"):
        Engine(demo.hub_store, read_only=True)
    assert b"linked_" not in demo.hub_store.read_bytes()  # not even the table names


def test_destroying_the_demo_project_removes_the_hub_data(demo: DemoRun, tmp_path: Path) -> None:
    # on a copy: the module's other tests read the original
    copy = tmp_path / "demo"
    shutil.copytree(demo.out, copy)
    assert demo.governance is not None
    gov = Governance(copy / "governance")
    with gov.store.engine.begin() as c:  # the copy's files live elsewhere: repoint them
        c.execute(sa.text("update project_files set path = replace(path, :a, :b)"),
                  {"a": str(demo.out.resolve()), "b": str(copy.resolve())})  # fmt: skip
    certificate = gov.destroy("admin.kostat", PROJECT, "end of the demo")
    removed = {Path(str(f["path"])).name for f in certificate.files}
    assert "hub.duckdb" in removed
    assert not (copy / "hub" / "hub.duckdb").exists()
    assert not list((copy / "hub" / "inbox").glob("*.ansim"))
    assert not list((copy / "hub" / "received").glob("*.parquet"))
    assert (demo.hub_store).exists()
    with pytest.raises(PermissionError):
        gov.open_hub_store(HUB_OPERATOR, PROJECT, copy / "hub" / "hub.duckdb")
    with gov.store.engine.connect() as c:  # the processing record stays
        assert c.execute(sa.select(sa.func.count()).select_from(audit_events)).scalar()
    assert gov.verify_audit().ok
    gov.close()
