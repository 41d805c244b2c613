"""The audit chain: hash-linked events with Ed25519-signed checkpoints.

Each event carries the hash of the one before it; each append is covered by a signed checkpoint
(sequence number and hash) in the store, and the newest one is also kept as the *signed head*
beside the signing key. :meth:`AuditLog.verify` recomputes everything and names the first event
that was edited, deleted, inserted or moved, or says where the log was truncated.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ansim._atomic import write_bytes_atomic, write_text_atomic
from ansim.errors import IntegrityError, InvalidSpecError
from ansim.governance._store import MetadataStore
from ansim.governance._tables import audit_checkpoints, audit_events

__all__ = [
    "AuditEvent",
    "AuditLog",
    "AuditReport",
    "AuditSigner",
    "load_public_key",
    "object_hash",
    "read_head_file",
]

GENESIS = "0" * 64


def object_hash(data: bytes) -> str:
    """SHA-256 of an object as recorded in events (files, tables, outputs).

    Example:
        >>> object_hash(b"")[:12]
        'e3b0c44298fc'
    """
    return hashlib.sha256(data).hexdigest()


def now_utc() -> str:
    """The current time as an ISO 8601 UTC string (microseconds)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class AuditEvent:
    """One recorded action.

    Attributes:
        seq: Position in the chain, from 1.
        at: When (ISO 8601 UTC).
        actor: Who (user id, or ``system``).
        role: In which role.
        project: The project, if any.
        purpose: The project's purpose, if any.
        action: What was done (``approve_dataset``, ``combine``, ``access_denied``, …).
        objects: Names of the objects involved and their SHA-256 hashes or counts (no values).
        prev_hash: Hash of the previous event.
        hash: Hash of this event.
    """

    seq: int
    at: str
    actor: str
    role: str
    project: str | None
    purpose: str | None
    action: str
    objects: Mapping[str, Any]
    prev_hash: str
    hash: str

    def computed_hash(self) -> str:
        """Recompute this event's hash from its content and the previous hash."""
        body = {
            "seq": self.seq, "at": self.at, "actor": self.actor, "role": self.role,
            "project": self.project, "purpose": self.purpose, "action": self.action,
            "objects": dict(self.objects), "prev": self.prev_hash,
        }  # fmt: skip
        canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def load_public_key(path: Path) -> Ed25519PublicKey:
    """Read an Ed25519 public key (PEM) from ``path``.

    Raises:
        InvalidSpecError: The file is missing or holds no Ed25519 public key.
    """
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as e:
        raise InvalidSpecError(f"{path} is not a readable PEM public key") from e
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidSpecError(f"{path} is not an Ed25519 public key")
    return key


def read_head_file(path: Path) -> dict[str, Any]:
    """Read a signed head handed out earlier (``seq``, ``hash``, ``signature``).

    Raises:
        InvalidSpecError: The file is missing or is not a signed head.
    """
    try:
        head = json.loads(path.read_text(encoding="utf-8"))
        seq = int(head["seq"])
        parsed: dict[str, Any] = {"seq": seq, "hash": str(head["hash"]),
                                  "signature": str(head["signature"])}  # fmt: skip
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise InvalidSpecError(f"{path} is not a signed audit head") from e
    if seq < 1:
        raise InvalidSpecError(f"{path} is not a signed audit head")
    return parsed | {"key_fingerprint": head.get("key_fingerprint")}


def _checkpoint_message(seq: int, event_hash: str) -> bytes:
    return f"ansim audit checkpoint v1\n{seq}\n{event_hash}".encode("ascii")


class AuditSigner:
    """The Ed25519 key that signs checkpoints, and the signed head kept beside the log.

    The private key comes from the installation's :class:`~ansim.governance.KeyProvider`, never
    from a file beside the log; only the public key (``signing.pub``) and the head
    (``head.json``) are written to ``directory``. A verifier built with :meth:`verifier` from a
    *pinned* public key ignores ``signing.pub``, so a log rewritten and re-signed under a
    substituted key fails verification.

    Args:
        directory: Holds ``signing.pub`` and ``head.json``.
        private_key: The signing key; without it the signer only verifies, with the public key
            in ``directory``.

    Example:
        >>> import tempfile
        >>> signer = AuditSigner(Path(tempfile.mkdtemp()), Ed25519PrivateKey.generate())
        >>> signer.valid(1, "ab", signer.sign(1, "ab"))
        True
        >>> len(signer.fingerprint)
        64
    """

    def __init__(self, directory: Path, private_key: Ed25519PrivateKey | None = None) -> None:
        self.directory = directory
        self._private = private_key
        pub_path = directory / "signing.pub"
        if private_key is not None:
            public_key = private_key.public_key()
            pem = public_key.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            if not pub_path.is_file() or pub_path.read_bytes() != pem:
                write_bytes_atomic(pem, pub_path)
        else:
            if not pub_path.is_file():
                raise InvalidSpecError(
                    f"no audit public key at {pub_path}: is this the right home?"
                )
            public_key = load_public_key(pub_path)
        self._set_public(public_key)

    @classmethod
    def verifier(cls, directory: Path, public_key: Ed25519PublicKey) -> AuditSigner:
        """A verify-only signer trusting ``public_key`` (pinned), not the key in ``directory``."""
        signer = cls.__new__(cls)
        signer.directory = directory
        signer._private = None
        signer._set_public(public_key)
        return signer

    def _set_public(self, public_key: Ed25519PublicKey) -> None:
        self.public_key = public_key
        raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.fingerprint = hashlib.sha256(raw).hexdigest()
        self.key_id = self.fingerprint[:16]

    def sign(self, seq: int, event_hash: str) -> str:
        """Sign a checkpoint; returns the signature in hex."""
        if self._private is None:
            raise InvalidSpecError("this audit signer has the public key only: it cannot sign")
        return self._private.sign(_checkpoint_message(seq, event_hash)).hex()

    def sign_bytes(self, data: bytes) -> str:
        """Sign other records (destruction certificates); returns the signature in hex."""
        if self._private is None:
            raise InvalidSpecError("this audit signer has the public key only: it cannot sign")
        return self._private.sign(data).hex()

    def verify_bytes(self, data: bytes, signature: str) -> bool:
        """Whether ``signature`` is this key's signature of ``data``."""
        try:
            self.public_key.verify(bytes.fromhex(signature), data)
        except (InvalidSignature, ValueError):
            return False
        return True

    def valid(self, seq: int, event_hash: str, signature: str) -> bool:
        """Whether ``signature`` is this key's signature of the checkpoint."""
        try:
            self.public_key.verify(bytes.fromhex(signature), _checkpoint_message(seq, event_hash))
        except (InvalidSignature, ValueError):
            return False
        return True

    def write_head(self, seq: int, event_hash: str, signature: str) -> None:
        """Keep the newest signed checkpoint outside the store (detects truncation)."""
        head = {"seq": seq, "hash": event_hash, "signature": signature, "key_id": self.key_id,
                "key_fingerprint": self.fingerprint}  # fmt: skip
        write_text_atomic(json.dumps(head), self.directory / "head.json")

    def read_head(self) -> dict[str, Any] | None:
        """The signed head, or ``None`` before the first event."""
        path = self.directory / "head.json"
        if not path.is_file():
            return None
        head: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return head


@dataclass(frozen=True)
class AuditReport:
    """The result of verifying the chain.

    Attributes:
        ok: Whether every check passed.
        events: Events read.
        checkpoints: Signed checkpoints checked.
        first_bad: Sequence number of the first bad event (or where the log was cut).
        problem: What is wrong, or ``""``.
    """

    ok: bool
    events: int
    checkpoints: int
    first_bad: int | None = None
    problem: str = ""

    def raise_for_problem(self) -> None:
        """Raise :class:`IntegrityError` if verification failed."""
        if not self.ok:
            raise IntegrityError(f"audit log failed verification: {self.problem}")


class AuditLog:
    """Appends events to the store and verifies the chain.

    Args:
        store: The metadata store.
        signer: The checkpoint key and signed head.
    """

    def __init__(self, store: MetadataStore, signer: AuditSigner) -> None:
        self.store = store
        self.signer = signer

    def append(
        self,
        *,
        actor: str,
        role: str,
        action: str,
        project: str | None = None,
        purpose: str | None = None,
        objects: Mapping[str, Any] | None = None,
        connection: sa.Connection | None = None,
    ) -> AuditEvent:
        """Append one event and its signed checkpoint.

        Args:
            actor: Who acted.
            role: In which role.
            action: What was done.
            project: The project, if any.
            purpose: The project's purpose, if any.
            objects: Object names → hashes or counts (JSON-serialisable, no record values).
            connection: Append inside this transaction (so the event commits with the change).

        Returns:
            The appended event. With ``connection``, call :meth:`publish_head` after the
            transaction commits; without, the event is committed and published here.
        """
        if connection is None:
            with self.store.engine.begin() as own:
                event = self.append(
                    actor=actor, role=role, action=action, project=project,
                    purpose=purpose, objects=objects, connection=own,
                )  # fmt: skip
            self.publish_head()
            return event
        last = connection.execute(
            sa.select(audit_events.c.seq, audit_events.c.hash)
            .order_by(audit_events.c.seq.desc())
            .limit(1)
        ).first()
        seq, prev = (1, GENESIS) if last is None else (last.seq + 1, last.hash)
        body = json.loads(json.dumps(dict(objects or {}), sort_keys=True))
        at = now_utc()
        draft = AuditEvent(seq, at, actor, role, project, purpose, action, body, prev, "")
        digest = draft.computed_hash()
        connection.execute(
            audit_events.insert().values(
                seq=seq, at=at, actor=actor, role=role, project_id=project, purpose=purpose,
                action=action, objects=json.dumps(body, sort_keys=True, ensure_ascii=False),
                prev_hash=prev, hash=digest,
            )
        )  # fmt: skip
        signature = self.signer.sign(seq, digest)
        connection.execute(
            audit_checkpoints.insert().values(
                seq=seq, hash=digest, signature=signature, key_id=self.signer.key_id
            )
        )
        return dataclasses.replace(draft, hash=digest)

    def publish_head(self) -> None:
        """Copy the newest committed checkpoint to the signed head beside the signing key."""
        with self.store.engine.connect() as connection:
            last = connection.execute(
                sa.select(audit_checkpoints).order_by(audit_checkpoints.c.seq.desc()).limit(1)
            ).first()
        if last is not None:
            if not self.signer.valid(last.seq, last.hash, last.signature):
                raise IntegrityError("the newest audit checkpoint is not validly signed")
            self.signer.write_head(last.seq, last.hash, last.signature)

    def events(self, project: str | None = None) -> list[AuditEvent]:
        """Events in chain order (all, or one project's)."""
        query = sa.select(audit_events).order_by(audit_events.c.seq)
        if project is not None:
            query = query.where(audit_events.c.project_id == project)
        with self.store.engine.connect() as connection:
            rows = connection.execute(query).all()
        return [
            AuditEvent(
                r.seq,
                r.at,
                r.actor,
                r.role,
                r.project_id,
                r.purpose,
                r.action,
                json.loads(r.objects),
                r.prev_hash,
                r.hash,
            )
            for r in rows
        ]

    def verify(self, head: Mapping[str, Any] | None = None) -> AuditReport:
        """Check every event, every checkpoint signature and the signed head.

        Args:
            head: A signed head handed out earlier (to a custodian, to the public register):
                the log must still extend it, which detects a rollback to an older state
                even when the head beside the log was restored with it.

        Returns:
            ``ok`` with counts, or the first bad event and what is wrong with it.
        """
        events = self.events()
        with self.store.engine.connect() as connection:
            checkpoints = {r.seq: r for r in connection.execute(sa.select(audit_checkpoints))}
        prev, checked = GENESIS, 0
        for position, event in enumerate(events, start=1):
            bad = _check_event(event, position, prev)
            if bad is None:
                point = checkpoints.get(event.seq)
                if point is None:
                    bad = "is not covered by a signed checkpoint (appended outside Ansim)"
                elif point.hash != event.hash or not self.signer.valid(
                    event.seq, event.hash, point.signature
                ):
                    bad = "does not match its signed checkpoint (the chain was rewritten)"
                else:
                    checked += 1
            if bad is not None:
                return AuditReport(False, len(events), checked, position, f"event {position} {bad}")
            prev = event.hash
        report = self._check_head(events, checked)
        if report.ok and head is not None:
            return _check_extends(self.signer, events, checked, head)
        return report

    def _check_head(self, events: list[AuditEvent], checked: int) -> AuditReport:
        head = self.signer.read_head()
        if head is None:
            if events:
                return AuditReport(
                    False, len(events), checked, 1, "the signed head is missing: the log "
                    "cannot be shown complete (restore head.json from a copy)"
                )  # fmt: skip
            return AuditReport(True, 0, 0)
        seq, digest = int(head["seq"]), str(head["hash"])
        if not self.signer.valid(seq, digest, str(head["signature"])):
            return AuditReport(False, len(events), checked, seq, "the signed head is forged")
        if seq > len(events):
            return AuditReport(
                False, len(events), checked, len(events) + 1,
                f"the log was truncated: it ends at event {len(events)} but the signed head "
                f"is event {seq}",
            )  # fmt: skip
        if events[seq - 1].hash != digest:
            return AuditReport(
                False, len(events), checked, seq, f"event {seq} differs from the signed head"
            )
        return AuditReport(True, len(events), checked)


def _check_extends(
    signer: AuditSigner, events: list[AuditEvent], checked: int, head: Mapping[str, Any]
) -> AuditReport:
    """Whether the log still extends a signed head handed out earlier."""
    seq, digest = int(head["seq"]), str(head["hash"])
    if not signer.valid(seq, digest, str(head["signature"])):
        return AuditReport(
            False, len(events), checked, seq,
            "the given head is not signed by the pinned audit key",
        )  # fmt: skip
    if seq > len(events) or events[seq - 1].hash != digest:
        return AuditReport(
            False, len(events), checked, min(seq, len(events) + 1),
            f"the log no longer extends the given head (event {seq}): it was rolled back or "
            "rewritten after that head was handed out",
        )  # fmt: skip
    return AuditReport(True, len(events), checked)


def _check_event(event: AuditEvent, position: int, prev: str) -> str | None:
    if event.seq != position:
        return (
            f"has sequence number {event.seq}: an event was deleted or inserted before it"
            if event.seq > position
            else f"has sequence number {event.seq}: events were inserted or reordered"
        )
    if event.prev_hash != prev:
        return "does not follow the event before it (an event was deleted, inserted or moved)"
    if event.computed_hash() != event.hash:
        return "was edited after it was recorded (its hash does not match its content)"
    return None
