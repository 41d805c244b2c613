"""Crypto-shredding: after destruction the project's files are unreadable and its record stays."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
from pathlib import Path

import pyarrow as pa
import pytest
import sqlalchemy as sa

from ansim.engine import Engine
from ansim.errors import AccessDenied, EngineError
from ansim.governance import Governance, Operation
from ansim.governance._tables import project_keys
from tests.unit.governance.conftest import APPLICATION, PROJECT

MARKER = "PLAINTEXT-MARKER-서울"


def _fill(gov: Governance, store: Path) -> None:
    with gov.open_hub_store("hubop", PROJECT, store, write=True) as engine:
        engine.create_table(
            "linked_cases", pa.table({"note": [f"{MARKER}{i}" for i in range(500)]})
        )


def test_destroyed_project_files_are_unreadable(gov: Governance, tmp_path: Path) -> None:
    store = tmp_path / "hub" / "hub.duckdb"
    _fill(gov, store)
    assert MARKER.encode() not in store.read_bytes()  # encrypted at rest
    backup = tmp_path / "backup.duckdb"
    shutil.copy(store, backup)  # a copy made before destruction, e.g. a backup tape
    with gov.store.engine.connect() as c:
        wrapped = bytes(c.execute(sa.select(project_keys.c.wrapped)).scalar_one())
    certificate = gov.destroy("admin", PROJECT, "on request of the custodians")
    if gov.store.dialect == "sqlite":  # the wrapped key's bytes are gone from the files too
        database = Path(str(gov.store.engine.url.database))
        for path in (database, database.with_name(database.name + "-wal")):
            assert not path.exists() or wrapped not in path.read_bytes()

    assert not store.exists()
    with gov.store.engine.connect() as c:
        row = c.execute(sa.select(project_keys)).one()
    assert row.wrapped is None and row.destroyed_at
    with pytest.raises(AccessDenied):
        gov.open_hub_store("analyst", PROJECT, backup)
    with pytest.raises(EngineError, match="cannot open the encrypted store"):
        Engine(backup, read_only=True, encryption_key=bytes(32))
    with pytest.raises(EngineError):
        Engine(backup, read_only=True)
    assert MARKER.encode() not in backup.read_bytes()

    assert certificate.key_ids and certificate.files[0]["bytes"] > 0
    assert certificate.record_kept_until == "2029-06-01"
    assert gov.audit.signer.verify_bytes(certificate.signed_bytes(), certificate.signature)
    forged = dataclasses.replace(certificate, reason="end of period")
    assert not gov.audit.signer.verify_bytes(forged.signed_bytes(), certificate.signature)
    written = json.loads((gov.home / "certificates" / f"{PROJECT}.json").read_text())
    assert written["signature"] == certificate.signature
    assert gov.verify_audit().ok


def test_the_processing_record_outlives_the_data(gov: Governance, tmp_path: Path) -> None:
    _fill(gov, tmp_path / "hub.duckdb")
    gov.destroy("admin", PROJECT, "on request")
    record = gov.project(PROJECT)
    assert record["status"] == "destroyed"
    assert record["retain_record_until"] == dt.date(2029, 6, 1)
    with pytest.raises(AccessDenied, match="destroyed"):
        gov.authorize("linker", PROJECT, Operation.RUN_LINKAGE)
    with pytest.raises(AccessDenied):
        gov.destroy("admin", PROJECT, "twice")
    paths = gov.export_records("admin", PROJECT, tmp_path / "records")
    csv_text = paths[0].read_text(encoding="utf-8-sig")
    assert "destroy_project" in csv_text and "approve_dataset" in csv_text
    five = json.loads(paths[2].read_text())
    assert five["safe_projects"]["status"] == "destroyed"
    assert five["safe_settings"]["audit_chain_verified"] is True
    assert five["safe_people"]["linkage_and_hub_roles_held_by_one_person"] == []


def test_projects_past_their_period_are_destroyed(gov: Governance, tmp_path: Path) -> None:
    gov.create_project("admin", dataclasses.replace(APPLICATION, project="later",
                       period_end=dt.date(2027, 12, 31)))  # fmt: skip
    assert gov.destroy_expired("admin") == []
    gov.close()
    after = Governance(gov.home, url=str(gov.store.engine.url.render_as_string(False)),
                       today=dt.date(2027, 1, 1))  # fmt: skip
    done = after.destroy_expired("admin")
    assert [c.project for c in done] == [PROJECT]
    assert after.project("later")["status"] == "active"
    assert done[0].reason == "end of processing period"
    after.close()
