"""Destruction at the end of processing: crypto-shredding, file removal and the certificate."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from ansim._atomic import write_text_atomic

__all__ = ["RECORD_RETENTION_YEARS", "DestructionCertificate", "remove_files"]

RECORD_RETENTION_YEARS = 3
"""PIPA art. 28-4: the processing record is kept at least three years after processing ends."""


@dataclass(frozen=True)
class DestructionCertificate:
    """What was destroyed, when, by whom and why; signed by the audit key.

    Attributes:
        project: The project.
        reason: ``end of processing period`` or the request's reason.
        destroyed_at: When (ISO 8601 UTC).
        destroyed_by: The administrator.
        key_ids: Fingerprints of the destroyed data keys.
        files: Removed files: path, size and SHA-256 of the (encrypted) bytes removed.
        record_kept_until: The processing record is kept until this day.
        audit_event: Hash of the audit event that records the destruction.
        signature: Ed25519 signature (hex) of the certificate's other fields, by the audit key.
    """

    project: str
    reason: str
    destroyed_at: str
    destroyed_by: str
    key_ids: tuple[str, ...]
    files: tuple[dict[str, str | int], ...]
    record_kept_until: str
    audit_event: str
    signature: str = ""

    def signed_bytes(self) -> bytes:
        """The canonical bytes the signature covers (every field but the signature)."""
        body = asdict(self)
        body.pop("signature")
        return json.dumps(body, sort_keys=True, ensure_ascii=False).encode("utf-8")

    def write(self, path: Path) -> Path:
        """Write the certificate as JSON."""
        return write_text_atomic(json.dumps(asdict(self), ensure_ascii=False, indent=2), path)


def remove_files(paths: list[Path]) -> list[dict[str, str | int]]:
    """Delete files (and DuckDB's ``.wal`` beside a store), returning what was removed.

    Args:
        paths: Files to remove; missing ones are reported with size ``0``.

    Returns:
        One entry per file: ``path``, ``bytes``, ``sha256`` of the bytes removed.
    """
    removed: list[dict[str, str | int]] = []
    for path in paths:
        for candidate in (path, path.with_name(path.name + ".wal")):
            if not candidate.is_file():
                if candidate == path:
                    removed.append({"path": str(path), "bytes": 0, "sha256": ""})
                continue
            data = candidate.read_bytes()
            removed.append(
                {
                    "path": str(candidate),
                    "bytes": len(data),
                    "sha256": hashlib.sha256(data).hexdigest(),
                }
            )
            candidate.unlink()
    return removed


def retention_end(destroyed: dt.date) -> dt.date:
    """The last day the processing record must be kept (three years on; 29 Feb → 28 Feb)."""
    try:
        return destroyed.replace(year=destroyed.year + RECORD_RETENTION_YEARS)
    except ValueError:
        return destroyed.replace(year=destroyed.year + RECORD_RETENTION_YEARS, day=28)
