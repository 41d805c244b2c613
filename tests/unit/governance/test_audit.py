"""The audit chain: any edited, deleted, inserted, reordered or truncated event is detected."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from ansim.governance import AuditEvent, AuditLog, AuditSigner, MetadataStore
from ansim.governance._tables import audit_checkpoints, audit_events
from tests.unit.governance.conftest import fresh_postgres_database

Tamper = Callable[[sa.Connection, int, int], int]  # (connection, k, n) → expected first bad


def _log(url: str, home: Path, n: int) -> AuditLog:
    log = AuditLog(MetadataStore(url), AuditSigner(home, Ed25519PrivateKey.generate()))
    for i in range(n):
        log.append(actor=f"user{i % 3}", role="analyst", action="query", project="p1",
                   purpose="statistics", objects={"table": f"{i:064x}", "rows": i})  # fmt: skip
    return log


def _row(c: sa.Connection, seq: int) -> dict[str, object]:
    return dict(c.execute(sa.select(audit_events).where(audit_events.c.seq == seq)).one()._mapping)


def edit(c: sa.Connection, k: int, n: int) -> int:
    c.execute(audit_events.update().where(audit_events.c.seq == k).values(actor="mallory"))
    return k


def edit_objects(c: sa.Connection, k: int, n: int) -> int:
    objects = json.dumps({"table": "f" * 64, "rows": -1})
    c.execute(audit_events.update().where(audit_events.c.seq == k).values(objects=objects))
    return k


def delete(c: sa.Connection, k: int, n: int) -> int:
    c.execute(audit_events.delete().where(audit_events.c.seq == k))
    return k


def delete_with_checkpoint(c: sa.Connection, k: int, n: int) -> int:
    c.execute(audit_checkpoints.delete().where(audit_checkpoints.c.seq == k))
    return delete(c, k, n)


def insert(c: sa.Connection, k: int, n: int) -> int:
    """Shift events k… up by one and insert a well-formed forged event at k."""
    for seq in range(n, k - 1, -1):
        c.execute(audit_events.update().where(audit_events.c.seq == seq).values(seq=seq + 1))
    prev = "0" * 64 if k == 1 else str(_row(c, k - 1)["hash"])
    forged = AuditEvent(k, "2026-01-01T00:00:00+00:00", "mallory", "analyst", "p1",
                        "statistics", "query", {}, prev, "")  # fmt: skip
    c.execute(audit_events.insert().values(
        seq=k, at=forged.at, actor=forged.actor, role=forged.role, project_id="p1",
        purpose="statistics", action="query", objects="{}", prev_hash=prev,
        hash=forged.computed_hash(),
    ))  # fmt: skip
    return k


def reorder(c: sa.Connection, k: int, n: int) -> int:
    """Swap the contents of events k and k+1 (their sequence numbers stay)."""
    j = k + 1 if k < n else k - 1
    a, b = _row(c, k), _row(c, j)
    for target, source in ((k, b), (j, a)):
        values = {key: v for key, v in source.items() if key != "seq"}
        c.execute(audit_events.update().where(audit_events.c.seq == target).values(**values))
    return min(k, j)


def truncate(c: sa.Connection, k: int, n: int) -> int:
    c.execute(audit_events.delete().where(audit_events.c.seq >= k))
    c.execute(audit_checkpoints.delete().where(audit_checkpoints.c.seq >= k))
    return k


def rewrite(c: sa.Connection, k: int, n: int) -> int:
    """Edit event k and recompute every hash after it: only the signatures catch this."""
    rows = [_row(c, s) for s in range(1, n + 1)]
    prev = "0" * 64 if k == 1 else str(rows[k - 2]["hash"])
    for row in rows[k - 1 :]:
        event = AuditEvent(
            int(row["seq"]), str(row["at"]),
            "mallory" if row["seq"] == k else str(row["actor"]), str(row["role"]),
            row["project_id"], row["purpose"], str(row["action"]),  # type: ignore[arg-type]
            json.loads(str(row["objects"])), prev, "",
        )  # fmt: skip
        prev = event.computed_hash()
        c.execute(audit_events.update().where(audit_events.c.seq == event.seq).values(
            actor=event.actor, prev_hash=event.prev_hash, hash=prev))  # fmt: skip
    return k


TAMPERS = [edit, edit_objects, delete, delete_with_checkpoint, insert, reorder, truncate, rewrite]


def _check(log: AuditLog, tamper: Tamper, k: int, n: int) -> None:
    assert log.verify().ok
    with log.store.engine.begin() as c:
        expected = tamper(c, k, n)
    report = log.verify()
    assert not report.ok
    assert report.first_bad == expected, report.problem
    assert f"event {expected}" in report.problem or "truncated" in report.problem


@settings(max_examples=60, deadline=None)
@given(n=st.integers(2, 9), data=st.data())
def test_any_tampering_is_detected_and_located(n: int, data: st.DataObject) -> None:
    tamper = data.draw(st.sampled_from(TAMPERS))
    k = data.draw(st.integers(1, n))
    with tempfile.TemporaryDirectory() as home:
        log = _log("sqlite://", Path(home), n)
        _check(log, tamper, k, n)
        log.store.close()


@pytest.mark.parametrize("tamper", TAMPERS, ids=lambda t: t.__name__)
def test_tampering_is_detected_on_postgresql(
    tamper: Tamper, postgres_server: str, tmp_path: Path
) -> None:
    log = _log(fresh_postgres_database(postgres_server), tmp_path, 5)
    _check(log, tamper, 3, 5)
    log.store.close()


def test_a_clean_chain_verifies_and_names_its_counts(tmp_path: Path) -> None:
    log = _log(f"sqlite:///{tmp_path / 'g.db'}", tmp_path / "audit", 4)
    report = log.verify()
    assert (report.ok, report.events, report.checkpoints, report.problem) == (True, 4, 4, "")
    report.raise_for_problem()


def test_deleting_the_last_event_with_its_checkpoint_is_truncation(tmp_path: Path) -> None:
    log = _log("sqlite://", tmp_path, 3)
    with log.store.engine.begin() as c:
        truncate(c, 3, 3)
    report = log.verify()
    assert report.first_bad == 3 and "truncated" in report.problem


def test_a_missing_or_forged_head_is_detected(tmp_path: Path) -> None:
    log = _log("sqlite://", tmp_path, 3)
    head = json.loads((tmp_path / "head.json").read_text())
    (tmp_path / "head.json").write_text(json.dumps(head | {"seq": 2}))
    assert "forged" in log.verify().problem
    (tmp_path / "head.json").unlink()
    assert not log.verify().ok


def test_a_foreign_signing_key_is_refused(tmp_path: Path) -> None:
    log = _log("sqlite://", tmp_path / "a", 3)
    other = AuditLog(log.store, AuditSigner(tmp_path / "b", Ed25519PrivateKey.generate()))
    (tmp_path / "b" / "head.json").write_bytes((tmp_path / "a" / "head.json").read_bytes())
    report = other.verify()
    assert not report.ok and report.first_bad == 1
