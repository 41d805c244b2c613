"""Root keys behind a KeyProvider; audit attacks: re-signing with a substituted key, rollback."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from ansim.cli import app
from ansim.errors import AccessDenied, InvalidSpecError
from ansim.governance import (
    KEY_FILE,
    AuditLog,
    AuditSigner,
    EnvKeyProvider,
    Governance,
    PassphraseKeyFile,
    read_head_file,
)
from ansim.governance._tables import audit_checkpoints, audit_events
from tests.unit.governance.conftest import PROJECT, populated


def test_the_key_file_is_encrypted_and_needs_its_passphrase(tmp_path: Path) -> None:
    path = tmp_path / "keys.ansim"
    made = PassphraseKeyFile.create(path, "a long passphrase")
    text = path.read_text()
    assert path.stat().st_mode & 0o777 == 0o600
    assert "development" in text
    for purpose in ("master", "audit_signing"):
        assert made.secret(purpose).hex() not in text
    assert PassphraseKeyFile(path, "a long passphrase").secret("master") == made.secret("master")
    with pytest.raises(AccessDenied):
        PassphraseKeyFile(path, "another passphrase")
    with pytest.raises(InvalidSpecError):
        PassphraseKeyFile.create(path, "a long passphrase")  # never overwritten
    with pytest.raises(InvalidSpecError):
        PassphraseKeyFile.create(tmp_path / "short.ansim", "short")


def test_an_altered_key_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "keys.ansim"
    PassphraseKeyFile.create(path, "a long passphrase")
    text = path.read_text()
    i = text.index('"ciphertext": "') + 20
    flipped = "0" if text[i] != "0" else "1"
    path.write_text(text[:i] + flipped + text[i + 1 :])
    with pytest.raises(AccessDenied):
        PassphraseKeyFile(path, "a long passphrase")


def test_environment_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANSIM_MASTER_KEY", "11" * 32)
    monkeypatch.delenv("ANSIM_AUDIT_KEY", raising=False)
    with pytest.raises(InvalidSpecError, match="ANSIM_AUDIT_KEY"):
        EnvKeyProvider()
    monkeypatch.setenv("ANSIM_AUDIT_KEY", "zz" * 32)
    with pytest.raises(InvalidSpecError):
        EnvKeyProvider()
    monkeypatch.setenv("ANSIM_AUDIT_KEY", "22" * 32)
    assert EnvKeyProvider().secret("audit_signing") == bytes.fromhex("22" * 32)


def test_no_signing_key_or_master_key_is_written_beside_the_store(tmp_path: Path) -> None:
    gov = populated(tmp_path / "home", "sqlite://")
    secrets = [gov.keys.secret("master"), gov.keys.secret("audit_signing")]
    gov.close()
    for path in (tmp_path / "home").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for secret in secrets:
                assert secret not in data and secret.hex().encode() not in data, path


def test_a_missing_master_key_is_an_error(tmp_path: Path) -> None:
    home = tmp_path / "home"
    gov = populated(home, f"sqlite:///{tmp_path / 'store.db'}")
    gov.close()
    (home / KEY_FILE).unlink()
    with pytest.raises(InvalidSpecError, match="master key is missing"):
        Governance(home, url=f"sqlite:///{tmp_path / 'store.db'}")
    assert not (home / KEY_FILE).exists()  # no fresh key was made


def _rewrite_with_own_key(gov: Governance) -> None:
    """An attacker with write access to the store and the audit folder rewrites history."""
    events = gov.audit.events()
    with gov.store.engine.begin() as connection:
        connection.execute(sa.delete(audit_checkpoints))
        connection.execute(sa.delete(audit_events))
    forged = AuditLog(gov.store, AuditSigner(gov.audit.signer.directory,
                                             Ed25519PrivateKey.generate()))  # fmt: skip
    for e in events:
        actor = "mallory" if e.action == "approve_dataset" else e.actor
        forged.append(actor=actor, role=e.role, action=e.action, project=e.project,
                      purpose=e.purpose, objects=e.objects)  # fmt: skip


def test_a_log_re_signed_with_a_substituted_key_fails_against_the_pinned_key(
    tmp_path: Path,
) -> None:
    gov = populated(tmp_path / "home", "sqlite://")
    pinned = gov.audit.signer.public_key
    fingerprint = gov.audit.signer.fingerprint
    _rewrite_with_own_key(gov)
    directory = gov.audit.signer.directory
    beside = AuditSigner(directory)  # whoever trusts the public key beside the log
    assert AuditLog(gov.store, beside).verify().ok  # ... is fooled by the rewrite
    assert beside.fingerprint != fingerprint  # which the published fingerprint shows
    report = gov.verify_audit(pinned=pinned)
    assert not report.ok and report.first_bad == 1
    assert not gov.verify_audit().ok  # the governance key itself is not the substituted one
    gov.close()


def test_a_rollback_to_an_older_signed_state_is_detected_by_a_handed_out_head(
    tmp_path: Path,
) -> None:
    home, db = tmp_path / "home", tmp_path / "store.db"
    gov = populated(home, f"sqlite:///{db}", approve=False)
    gov.store.flush()
    gov.close()
    saved = tmp_path / "saved"
    shutil.copytree(home, saved / "home")
    shutil.copy(db, saved / "store.db")
    gov = Governance(home, url=f"sqlite:///{db}")
    gov.approve("officer", PROJECT, "cases")
    head = gov.export_head(tmp_path / "custodian" / "audit-head.json")
    gov.store.flush()
    gov.close()
    # the attacker restores the older database and the older head beside it
    shutil.rmtree(home)
    shutil.copytree(saved / "home", home)
    shutil.copy(saved / "store.db", db)
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    gov = Governance(home, url=f"sqlite:///{db}")
    assert gov.verify_audit().ok  # consistent on its own: only an outside head tells
    report = gov.verify_audit(head=read_head_file(head))
    assert not report.ok and "rolled back" in report.problem
    forged = read_head_file(head) | {"seq": 1}
    assert "not signed" in gov.verify_audit(head=forged).problem
    gov.close()


def test_audit_verify_command_pins_the_key_and_checks_the_head(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    gov = populated(home, f"sqlite:///{home / 'governance.db'}")
    fingerprint = gov.audit.signer.fingerprint
    gov.close()
    runner = CliRunner()
    head = tmp_path / "head.json"
    done = runner.invoke(app, ["audit", "head", "--home", str(home), "--out", str(head)])
    assert done.exit_code == 0, done.output
    args = ["audit", "verify", "--home", str(home), "--head", str(head)]
    ok = runner.invoke(app, [*args, "--fingerprint", fingerprint])
    assert ok.exit_code == 0, ok.output
    assert fingerprint in ok.output and "verified" in ok.output
    unpinned = runner.invoke(app, args)
    assert unpinned.exit_code == 0 and "not pinned" in unpinned.output
    wrong = runner.invoke(app, [*args, "--fingerprint", "ab" * 32])
    assert wrong.exit_code != 0 and "substituted" in str(wrong.exception)
