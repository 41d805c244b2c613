"""Sending parts as sealed packages and receiving them into a party's working directory."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pyarrow.parquet as pq

from ansim._atomic import atomic_file_set
from ansim.errors import IntegrityError
from ansim.packages._keys import PartyKeyStore
from ansim.packages._parts import part_label
from ansim.packages._seal import (
    PACKAGE_SUFFIX,
    open_package_to,
    read_package_header,
    seal_file,
)

__all__ = ["introduce", "packages_in", "receive_inbox", "receive_packages", "seal_part"]


def seal_part(part: Path, *, sender: PartyKeyStore, recipient: str, out_dir: Path) -> Path:
    """Seal a prepared part file (identity, content or link map) for ``recipient``.

    The project, kind and dataset are read from the part's own metadata (a link map, which has
    no kind, is sealed as kind ``linkmap`` under the project its label names).

    Args:
        part: The part's Parquet file.
        sender: The sender's key store.
        recipient: The receiving party.
        out_dir: Where the package is written (e.g. the recipient's inbox).

    Returns:
        The package file.

    Raises:
        IntegrityError: The file is not a part or names no project.
    """
    try:
        schema = pq.read_schema(part)
    except (OSError, ValueError) as e:
        raise IntegrityError(f"cannot read part {part.name}: {e}") from e
    label = part_label(schema)
    if not label.project:
        raise IntegrityError(f"{part.name} names no project: cannot seal it")
    return seal_file(  # the file as it is, in chunks: no second copy of the table in memory
        part,
        sender=sender,
        recipient=recipient,
        project=label.project,
        kind=label.kind or "linkmap",
        dataset=label.dataset,
        out_dir=out_dir,
    )


def receive_packages(
    packages: Sequence[Path], receiver: PartyKeyStore, *, project: str, kind: str, out_dir: Path
) -> list[Path]:
    """Verify and open packages, writing each verified table as ``<out_dir>/<dataset>.parquet``.

    Nothing lands until every package is verified (each is decrypted in chunks into a staging
    folder); one bad package refuses the batch.

    Args:
        packages: Package files (``*.ansim``).
        receiver: The receiving party's key store.
        project: The project expected.
        kind: The kind of content expected (``identity``, ``content`` or ``linkmap``).
        out_dir: The receiver's working directory for opened parts.

    Returns:
        The opened part files, in the order of ``packages``.

    Raises:
        IntegrityError: A package is not a package, fails verification, or two packages carry
            the same dataset.
        AccessDenied: A package is addressed to another party or its sender is not trusted.
    """
    for path in packages:
        if path.suffix != PACKAGE_SUFFIX:
            raise IntegrityError(f"{path.name} is not a sealed package ({PACKAGE_SUFFIX})")
    # one package at a time, decrypted in chunks into a staging folder; all land together
    with atomic_file_set(out_dir, f"received-{kind}") as staging:
        opening = staging / ".opening"
        opening.mkdir()
        names = []
        for k, path in enumerate(packages):
            header = open_package_to(
                path, receiver, project=project, kind=kind, target=opening / f"{k}.parquet"
            )
            names.append(header.dataset or header.kind)
        if len(set(names)) != len(names):
            raise IntegrityError("two packages carry the same dataset: remove the older one")
        for k, name in enumerate(names):
            (opening / f"{k}.parquet").rename(staging / f"{name}.parquet")
        opening.rmdir()
    return [out_dir / f"{name}.parquet" for name in names]


def packages_in(inbox: Path, kind: str) -> list[Path]:
    """The packages of one kind in an inbox (by the kind their unverified header states).

    Sorted by dataset, then file name, so that runs are repeatable.

    Opening verifies each one fully, so a package whose header lies is still refused.

    Example:
        >>> import tempfile
        >>> packages_in(Path(tempfile.mkdtemp()), "identity")
        []
    """
    headers = {p: read_package_header(p) for p in inbox.glob(f"*{PACKAGE_SUFFIX}")}
    found = [p for p, header in headers.items() if header.kind == kind]
    return sorted(found, key=lambda p: (headers[p].dataset, p.name))


def receive_inbox(
    inbox: Path, receiver: PartyKeyStore, *, project: str, kind: str, out_dir: Path
) -> list[Path]:
    """Open every package of one kind in an inbox (see :func:`receive_packages`).

    Packages are picked by the kind their header states and then fully verified, so a package
    whose header lies is still refused.

    Args:
        inbox: Directory holding ``*.ansim`` packages.
        receiver: The receiving party's key store.
        project: The project expected.
        kind: The kind of content to open (other kinds are left for another call).
        out_dir: The receiver's working directory for opened parts.

    Returns:
        The opened part files, sorted by dataset (see :func:`packages_in`).
    """
    packages = packages_in(inbox, kind)
    return receive_packages(packages, receiver, project=project, kind=kind, out_dir=out_dir)


def introduce(stores: Sequence[PartyKeyStore]) -> None:
    """Make every store trust every other one (for demos and tests).

    In a deployment each party imports the others' public keys after checking their
    fingerprints out of band (``ansim keys trust``).

    Example:
        >>> import tempfile
        >>> root = Path(tempfile.mkdtemp())
        >>> a, b = (PartyKeyStore.create(root / n, n) for n in ("a", "b"))
        >>> introduce([a, b])
        >>> b.trusted("a") == a.public
        True
    """
    for store in stores:
        for other in stores:
            if other.party != store.party:
                store.trust(other.public)
