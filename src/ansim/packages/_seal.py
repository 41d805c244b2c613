r"""Sealed packages: a Parquet table encrypted for its recipient and signed by its sender.

Layout of a package file (``<package id>.ansim``)::

    b"ANSIMPKG\x01"  | header length (4 bytes, big-endian) | header (JSON, UTF-8)
    | ciphertext (AES-256-GCM, the header as associated data) | Ed25519 signature (64 bytes)

The header names the format, package id, project, kind of content, dataset, sender, recipient,
the sender's signing-key fingerprint, an ephemeral X25519 public key and the GCM nonce. The
content key is HKDF-SHA256 of the X25519 exchange between the ephemeral key and the recipient's
key, so only the recipient can decrypt; the signature covers everything before it, so nobody but
the sender can have made or altered the package. The receiver checks, in this order, that the
package is addressed to it, comes from a party it trusts, carries that party's valid signature,
belongs to the expected project and kind, was not opened before, and decrypts intact; only then
is the Parquet read. The header holds no secret and no record value.

Sealing and receiving a part file stream its content in chunks (AES-GCM through the
library's incremental interface gives the same bytes as the one-shot call), so a party holds
one copy of a package in memory, not the table, its Parquet bytes and ciphertext at once: at a
million people the identity part is about a gigabyte of Bloom filters.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ansim._atomic import write_bytes_atomic
from ansim.errors import AccessDenied, IntegrityError
from ansim.packages._keys import PartyKeyStore
from ansim.packages._parts import part_label

__all__ = [
    "PACKAGE_SUFFIX",
    "PackageHeader",
    "SealedPackage",
    "open_package",
    "open_package_to",
    "read_package_header",
    "seal_file",
    "seal_table",
]

PACKAGE_SUFFIX = ".ansim"
_MAGIC = b"ANSIMPKG\x01"
_FORMAT = 1
_SIGNATURE_BYTES = 64
_TAG_BYTES = 16
_CHUNK = 16 << 20  # bytes encrypted or decrypted at a time
_MAX_HEADER = 64 * 1024
_ID = re.compile(r"^[0-9a-f]{32}$")
_KINDS = ("identity", "content", "linkmap", "ciphertexts", "key_share")  # the last two: issue 17


@dataclass(frozen=True)
class PackageHeader:
    """The clear-text header of a sealed package (no secret, no record value).

    Attributes:
        package_id: Random 128-bit id (hex), unique per package.
        project: The project the content belongs to.
        kind: ``identity``, ``content`` or ``linkmap``.
        dataset: The dataset the content was prepared from (empty for a link map).
        sender: The sending party.
        recipient: The party it is encrypted for.
        sender_fingerprint: Fingerprint of the sender's public keys.
        created: UTC time of sealing (ISO 8601).
    """

    package_id: str
    project: str
    kind: str
    dataset: str
    sender: str
    recipient: str
    sender_fingerprint: str
    created: str


@dataclass(frozen=True)
class SealedPackage:
    """A package opened and verified by its recipient."""

    header: PackageHeader
    table: pa.Table


def _content_key(shared: bytes, ephemeral: bytes, recipient: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=ephemeral + recipient, info=b"ansim/package/v1"
    ).derive(shared)


def seal_table(
    table: pa.Table,
    *,
    sender: PartyKeyStore,
    recipient: str,
    project: str,
    kind: str,
    dataset: str,
    out_dir: Path,
) -> Path:
    """Encrypt a table for ``recipient``, sign it as ``sender`` and write the package.

    Args:
        table: The content (its schema metadata travels with it).
        sender: The sender's key store (it must trust ``recipient``).
        recipient: The party the package is for.
        project: The project it belongs to.
        kind: ``identity``, ``content`` or ``linkmap``.
        dataset: The dataset it was prepared from ("" for a link map).
        out_dir: Where the package file is written.

    Returns:
        The package file, ``<out_dir>/<package id>.ansim``.

    Raises:
        AccessDenied: The sender does not trust the recipient.
        IntegrityError: ``kind`` is not a known kind of package.
    """
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    with buffer.getbuffer() as plain:
        return _seal(
            [plain], len(plain), sender=sender, recipient=recipient, project=project,
            kind=kind, dataset=dataset, out_dir=out_dir,
        )  # fmt: skip


def seal_file(
    part: Path,
    *,
    sender: PartyKeyStore,
    recipient: str,
    project: str,
    kind: str,
    dataset: str,
    out_dir: Path,
) -> Path:
    """Seal a Parquet file as it is (read in chunks; see :func:`seal_table` for the rest).

    Raises:
        AccessDenied: The sender does not trust the recipient.
        IntegrityError: ``kind`` is not a known kind of package, or the file cannot be read.
    """
    try:
        size = part.stat().st_size
        with part.open("rb") as f:
            return _seal(
                _chunks(f), size, sender=sender, recipient=recipient, project=project,
                kind=kind, dataset=dataset, out_dir=out_dir,
            )  # fmt: skip
    except OSError as e:
        raise IntegrityError(f"cannot read part {part.name}: {e.strerror}") from e


def _chunks(f: io.BufferedReader) -> Iterator[bytes]:
    while chunk := f.read(_CHUNK):
        yield chunk


def _seal(
    plain: Iterable[bytes | memoryview],
    size: int,
    *,
    sender: PartyKeyStore,
    recipient: str,
    project: str,
    kind: str,
    dataset: str,
    out_dir: Path,
) -> Path:
    """Write ``size`` bytes of ``plain`` (in pieces) as a package: one buffer, filled in place."""
    if kind not in _KINDS:
        raise IntegrityError(f"unknown package kind {kind!r}: use one of {', '.join(_KINDS)}")
    peer = sender.trusted(recipient)
    ephemeral = X25519PrivateKey.generate()
    ephemeral_public = ephemeral.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    key = _content_key(ephemeral.exchange(peer.encryption_key()), ephemeral_public, peer.encryption)
    nonce = os.urandom(12)
    package_id = secrets.token_hex(16)
    header = {
        "format": _FORMAT,
        "package_id": package_id,
        "project": project,
        "kind": kind,
        "dataset": dataset,
        "sender": sender.party,
        "recipient": recipient,
        "sender_fingerprint": sender.public.fingerprint,
        "recipient_fingerprint": peer.fingerprint,
        "created": _utc_now(),
        "ephemeral_key": ephemeral_public.hex(),
        "nonce": nonce.hex(),
        "cipher": "X25519-HKDF-SHA256/AES-256-GCM/Ed25519",
    }
    head = json.dumps(header, ensure_ascii=False, sort_keys=True).encode("utf-8")
    prefix = _MAGIC + len(head).to_bytes(4, "big") + head
    # prefix | ciphertext | GCM tag | signature: the same bytes as AESGCM(key).encrypt
    body = bytearray(len(prefix) + size + _TAG_BYTES + _SIGNATURE_BYTES)
    with memoryview(body) as view:
        view[: len(prefix)] = prefix
        encryptor = Cipher(algorithms.AES(key), modes.GCM(nonce)).encryptor()
        encryptor.authenticate_additional_data(prefix)
        at = len(prefix)
        for piece in plain:
            out = encryptor.update(piece)
            if at + len(out) > len(prefix) + size:
                raise IntegrityError("the part changed while it was sealed: seal it again")
            view[at : at + len(out)] = out
            at += len(out)
        encryptor.finalize()
        if at != len(prefix) + size:
            raise IntegrityError("the part changed while it was sealed: seal it again")
        view[at : at + _TAG_BYTES] = encryptor.tag
        view[-_SIGNATURE_BYTES:] = sender.sign(view[:-_SIGNATURE_BYTES])
    return write_bytes_atomic(body, out_dir / f"{package_id}{PACKAGE_SUFFIX}")


def _utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _split(data: bytes, name: str) -> tuple[memoryview, dict[str, object], memoryview, memoryview]:
    """Prefix (magic, length, header), parsed header, ciphertext and signature (views)."""
    if not data.startswith(_MAGIC) or len(data) < len(_MAGIC) + 4 + _SIGNATURE_BYTES:
        raise IntegrityError(f"{name} is not an Ansim sealed package")
    size = int.from_bytes(data[len(_MAGIC) : len(_MAGIC) + 4], "big")
    end = len(_MAGIC) + 4 + size
    if size > _MAX_HEADER or end > len(data) - _SIGNATURE_BYTES:
        raise IntegrityError(f"{name}: damaged package header")
    try:
        header = json.loads(data[len(_MAGIC) + 4 : end].decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise IntegrityError(f"{name}: damaged package header") from None
    if not isinstance(header, dict) or header.get("format") != _FORMAT:
        raise IntegrityError(f"{name}: unsupported package format")
    view = memoryview(data)
    return view[:end], header, view[end:-_SIGNATURE_BYTES], view[-_SIGNATURE_BYTES:]


def _public_header(header: dict[str, object], name: str) -> PackageHeader:
    try:
        fields = {f: str(header[f]) for f in PackageHeader.__dataclass_fields__}
    except KeyError as e:
        raise IntegrityError(f"{name}: the package header lacks {e.args[0]!r}") from None
    if not _ID.match(fields["package_id"]):
        raise IntegrityError(f"{name}: malformed package id")
    return PackageHeader(**fields)


def read_package_header(path: Path) -> PackageHeader:
    """The clear-text header of a package, unverified (to route it; never trust it alone).

    Raises:
        IntegrityError: Not a readable package.
    """
    try:
        data = path.read_bytes()
    except OSError as e:
        raise IntegrityError(f"cannot read package {path.name}: {e.strerror}") from e
    _, header, _, _ = _split(data, path.name)
    return _public_header(header, path.name)


def open_package(path: Path, receiver: PartyKeyStore, *, project: str, kind: str) -> SealedPackage:
    """Verify and decrypt a package addressed to ``receiver``.

    Args:
        path: The package file.
        receiver: The recipient's key store (it must trust the sender).
        project: The project the receiver expects.
        kind: The kind of content the receiver expects.

    Returns:
        The verified header and the table.

    Raises:
        AccessDenied: The package is addressed to another party, or its sender is not trusted.
        IntegrityError: The package was altered, is not signed by its sender, belongs to another
            project or kind, was opened before (replay), or does not decrypt.
    """
    header, raw, prefix, ciphertext = _verified(path, receiver, project=project, kind=kind)
    table = _decrypt(receiver, raw, prefix, ciphertext, path.name)
    _check_label(header, table.schema, path.name)
    receiver.mark_seen(header.package_id)
    return SealedPackage(header, table)


def open_package_to(
    path: Path, receiver: PartyKeyStore, *, project: str, kind: str, target: Path
) -> PackageHeader:
    """Verify a package and decrypt its Parquet content, in chunks, into ``target``.

    Write ``target`` where nobody reads it yet (a staging folder): the content is checked
    as a whole only at the end, and ``target`` is removed if it does not decrypt intact.

    Args:
        path: The package file.
        receiver: The recipient's key store (it must trust the sender).
        project: The project the receiver expects.
        kind: The kind of content the receiver expects.
        target: The file the content is written to.

    Returns:
        The verified header.

    Raises:
        AccessDenied: See :func:`open_package`.
        IntegrityError: See :func:`open_package`.
    """
    name = path.name
    header, raw, prefix, ciphertext = _verified(path, receiver, project=project, kind=kind)
    try:
        _decrypt_to(receiver, raw, prefix, ciphertext, name, target)
        try:
            schema = pq.read_schema(target)
        except (OSError, pa.ArrowInvalid):
            raise IntegrityError(f"{name}: the content does not decrypt intact: refused") from None
        _check_label(header, schema, name)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    receiver.mark_seen(header.package_id)
    return header


def _verified(
    path: Path, receiver: PartyKeyStore, *, project: str, kind: str
) -> tuple[PackageHeader, dict[str, object], memoryview, memoryview]:
    """Every check before decryption (see :func:`open_package`); the parts to decrypt."""
    name = path.name
    try:
        data = path.read_bytes()
    except OSError as e:
        raise IntegrityError(f"cannot read package {name}: {e.strerror}") from e
    prefix, raw, ciphertext, signature = _split(data, name)
    header = _public_header(raw, name)
    if header.recipient != receiver.party:
        raise AccessDenied(
            f"{name} is addressed to {header.recipient!r}, not to {receiver.party!r}: "
            "it was sent to the wrong party"
        )
    if raw.get("recipient_fingerprint") != receiver.public.fingerprint:
        raise AccessDenied(f"{name} was sealed for other keys of {receiver.party!r}")
    sender = receiver.trusted(header.sender)
    try:
        sender.signing_key().verify(signature, memoryview(data)[:-_SIGNATURE_BYTES])
    except InvalidSignature:
        raise IntegrityError(
            f"{name}: the signature of {header.sender!r} does not verify: the package was "
            "altered or not made by that party; ask the sender to send it again"
        ) from None
    if header.sender_fingerprint != sender.fingerprint:
        raise IntegrityError(f"{name}: sender fingerprint does not match the trusted keys")
    if header.project != project:
        raise IntegrityError(
            f"{name} belongs to project {header.project!r}, not {project!r}: refused"
        )
    if header.kind != kind:
        raise IntegrityError(f"{name} holds a {header.kind} package, not the {kind} expected")
    if receiver.seen(header.package_id):
        raise IntegrityError(
            f"{name}: package {header.package_id} was already received: a replay is refused"
        )
    return header, raw, prefix, ciphertext


def _check_label(header: PackageHeader, schema: pa.Schema, name: str) -> None:
    label = part_label(schema)
    for what, said, expected in (
        ("project", label.project, header.project),
        ("dataset", label.dataset, header.dataset),
    ):
        if said and said != expected:
            raise IntegrityError(f"{name}: the content's {what} disagrees with the package header")


def _key_and_nonce(receiver: PartyKeyStore, raw: dict[str, object]) -> tuple[bytes, bytes]:
    ephemeral = bytes.fromhex(str(raw["ephemeral_key"]))
    nonce = bytes.fromhex(str(raw["nonce"]))
    shared = receiver.exchange(X25519PublicKey.from_public_bytes(ephemeral))
    return _content_key(shared, ephemeral, receiver.public.encryption), nonce


def _decrypt_to(  # noqa: PLR0917 -- one step of open_package_to
    receiver: PartyKeyStore,
    raw: dict[str, object],
    prefix: memoryview,
    ciphertext: memoryview,
    name: str,
    target: Path,
) -> None:
    """Decrypt in chunks into ``target``; the GCM tag is checked at the end (then raises)."""
    try:
        if len(ciphertext) < _TAG_BYTES:
            raise ValueError(name)
        key, nonce = _key_and_nonce(receiver, raw)
        tag = bytes(ciphertext[-_TAG_BYTES:])
        decryptor = Cipher(algorithms.AES(key), modes.GCM(nonce, tag)).decryptor()
        decryptor.authenticate_additional_data(prefix)
        body = ciphertext[:-_TAG_BYTES]
        with target.open("wb") as f:
            for at in range(0, len(body), _CHUNK):
                f.write(decryptor.update(body[at : at + _CHUNK]))
            decryptor.finalize()
            f.flush()
            os.fsync(f.fileno())
    except (KeyError, ValueError, InvalidTag):
        raise IntegrityError(f"{name}: the content does not decrypt intact: refused") from None


def _decrypt(
    receiver: PartyKeyStore,
    raw: dict[str, object],
    prefix: memoryview,
    ciphertext: memoryview,
    name: str,
) -> pa.Table:
    try:
        key, nonce = _key_and_nonce(receiver, raw)
        plain = AESGCM(key).decrypt(nonce, ciphertext, prefix)
        return pq.read_table(pa.BufferReader(plain))
    except (KeyError, ValueError, InvalidTag, pa.ArrowInvalid):
        raise IntegrityError(f"{name}: the content does not decrypt intact: refused") from None
