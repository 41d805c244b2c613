"""What the party services share: parts received, file hashes for the audit, package routing."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ansim.errors import IntegrityError
from ansim.packages import PACKAGE_SUFFIX

__all__ = ["Received", "file_hashes", "require_packages"]


@dataclass(frozen=True)
class Received:
    """Parts a party verified and opened from sealed packages (see ``receive`` of each party).

    Only a party's ``receive`` makes one (or, for ``ansim link --unsealed`` trials only,
    ``LinkageUnit.accept_unsealed``, which says so in ``sealed`` and in the audit log).

    Attributes:
        project: The project the parts belong to.
        kind: ``identity`` (at the linkage unit) or ``content`` (at the hub).
        files: The opened parts, one per dataset.
        packages: The packages they came from (empty for an unsealed trial).
        linkmap: At the hub, the opened link map.
        sealed: Whether the parts arrived as sealed packages.
    """

    project: str
    kind: str
    files: tuple[Path, ...]
    packages: tuple[Path, ...] = ()
    linkmap: Path | None = None
    sealed: bool = True


def file_hashes(paths: Iterable[Path]) -> dict[str, str]:
    """File name → SHA-256 (hex), for audit events; read in blocks, so large files are fine.

    Example:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "empty.parquet"
        >>> _ = path.write_bytes(b"")
        >>> file_hashes([path])["empty.parquet"][:12]
        'e3b0c44298fc'
    """
    hashes = {}
    for path in sorted(paths):
        with path.open("rb") as f:
            hashes[path.name] = hashlib.file_digest(f, "sha256").hexdigest()
    return hashes


def require_packages(paths: Sequence[Path], party: str) -> list[Path]:
    """The paths, each checked to be a sealed package; a plain Parquet part is refused.

    Raises:
        IntegrityError: A path is not a sealed package (``*.ansim``) or does not exist.

    Example:
        >>> require_packages([Path("cases.parquet")], "the hub")
        Traceback (most recent call last):
        ...
        ansim.errors.IntegrityError: cases.parquet is not a sealed package: the hub accepts parts \
only as sealed packages (*.ansim, made by 'ansim custodian prepare --keys'); an unsealed \
Parquet part is refused
    """
    if not paths:
        raise IntegrityError(f"no package given: {party} receives parts as sealed packages")
    for path in paths:
        if path.suffix != PACKAGE_SUFFIX:
            raise IntegrityError(
                f"{path.name} is not a sealed package: {party} accepts parts only as sealed "
                f"packages (*{PACKAGE_SUFFIX}, made by 'ansim custodian prepare --keys'); an "
                "unsealed Parquet part is refused"
            )
        if not path.is_file():
            raise IntegrityError(f"no package {path.name} at {path.parent}")
    return list(paths)
