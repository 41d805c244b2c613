"""The decryption key, split so that no single party can decrypt.

TenSEAL (SEAL) has no threshold decryption, so the secret key itself is escrowed:

1. The secret contexts (CKKS and BFV secret keys) are encrypted with AES-256-GCM under a fresh
   random 256-bit escrow key; the associated data binds the ciphertext to the key id, the
   threshold and the named holders.
2. The escrow key is split k-of-n with Shamir's secret sharing over GF(2^128) as implemented by
   PyCryptodome (``Crypto.Protocol.SecretSharing.Shamir``, 16-byte secrets): its two 16-byte
   halves are shared with independent random polynomials, so holder *i* gets the two shares at
   index *i*. Fewer than k shares say nothing about either half.
3. Each holder's share travels sealed for that holder (``ansim.packages``: X25519 + AES-256-GCM,
   Ed25519-signed by the issuer), and the issuer keeps nothing but the escrow.

Reconstruction (:class:`~ansim.encrypted.DecryptionCeremony`) needs k holders to hand in their
shares; a wrong or mixed-up share yields a wrong escrow key, which AES-GCM refuses. This is a
key-escrow split, not threshold decryption: during the ceremony the reconstructed key exists in
the ceremony's memory, for the decryption of final aggregates only, and is then dropped.
"""

from __future__ import annotations

import io
import json
import os
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from Crypto.Protocol.SecretSharing import Shamir
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ansim._atomic import write_bytes_atomic
from ansim.errors import AccessDenied, IntegrityError, InvalidSpecError
from ansim.packages import PartyKeyStore, label_part, open_package, seal_table

__all__ = ["KeyEscrow", "KeyHolder", "KeyShare", "open_share", "seal_shares", "split_key"]

_HALF = 16


@dataclass(frozen=True)
class KeyHolder:
    """A named party holding one share of the decryption key.

    Attributes:
        user: The governance user who hands the share in (their roles are checked then).
        party: The party whose key store the share is sealed for.
        dataset: For a custodian officer, the dataset they speak for; None for an output
            checker.
    """

    user: str
    party: str
    dataset: str | None = None

    def __post_init__(self) -> None:
        """Check the names."""
        if not self.user or not self.party:
            raise InvalidSpecError("a key holder needs a user and a party")


@dataclass(frozen=True)
class KeyShare:
    """One holder's share: index and the two 16-byte Shamir shares of the escrow key."""

    key_id: str
    holder: str
    index: int
    share: bytes

    def __post_init__(self) -> None:
        """Check the share's shape."""
        if len(self.share) != 2 * _HALF or self.index < 1:
            raise IntegrityError("a key share is malformed: ask its holder for the sealed one")

    def __repr__(self) -> str:  # the share itself is secret
        return f"KeyShare({self.key_id}, {self.holder!r}, index={self.index})"


@dataclass(frozen=True)
class KeyEscrow:
    """The encrypted secret contexts, which k of the named holders can open together.

    Attributes:
        key_id: Random id of these keys.
        threshold: k, the shares needed (at least 2).
        holders: The n named holders, in share-index order (index = position + 1).
        public: Fingerprint of each scheme's public context.
        nonce: AES-GCM nonce.
        sealed: AES-256-GCM ciphertext of the secret contexts.
    """

    key_id: str
    threshold: int
    holders: tuple[KeyHolder, ...]
    public: tuple[tuple[str, str], ...]
    nonce: bytes
    sealed: bytes

    def __post_init__(self) -> None:
        """Check the threshold: no single party may decrypt."""
        _check_threshold(self.threshold, self.holders)

    def associated_data(self) -> bytes:
        """What the ciphertext is bound to: key id, threshold, holders and public keys."""
        return json.dumps(
            {
                "key_id": self.key_id,
                "threshold": self.threshold,
                "holders": [[h.user, h.party, h.dataset] for h in self.holders],
                "public": [list(p) for p in self.public],
            },
            sort_keys=True,
        ).encode("utf-8")

    def holder(self, user: str) -> tuple[int, KeyHolder]:
        """The share index and holder entry of ``user``.

        Raises:
            AccessDenied: ``user`` holds no share of these keys.
        """
        for i, h in enumerate(self.holders, start=1):
            if h.user == user:
                return i, h
        raise AccessDenied(f"{user!r} holds no share of decryption key {self.key_id}")

    def save(self, path: Path) -> Path:
        """Write the escrow (it holds no usable secret without k shares)."""
        head = self.associated_data()
        body = len(head).to_bytes(4, "big") + head + self.nonce + self.sealed
        return write_bytes_atomic(body, path)

    @classmethod
    def load(cls, path: Path) -> KeyEscrow:
        """Read an escrow written by :meth:`save`.

        Raises:
            IntegrityError: The file is not a readable escrow.
        """
        try:
            data = path.read_bytes()
            size = int.from_bytes(data[:4], "big")
            head = json.loads(data[4 : 4 + size])
            rest = data[4 + size :]
            return cls(
                head["key_id"],
                int(head["threshold"]),
                tuple(KeyHolder(*h) for h in head["holders"]),
                tuple((str(a), str(b)) for a, b in head["public"]),
                rest[:12],
                rest[12:],
            )
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise IntegrityError(f"{path.name} is not a readable key escrow") from e

    def open(self, shares: Sequence[KeyShare]) -> dict[str, bytes]:
        """Reconstruct the escrow key from ``shares`` and decrypt the secret contexts.

        Raises:
            AccessDenied: Fewer than k distinct holders' shares.
            IntegrityError: A share is wrong, altered or for other keys.
        """
        indices = {s.index for s in shares}
        if len(indices) != len(shares) or len(indices) < self.threshold:
            raise AccessDenied(
                f"decryption key {self.key_id} needs shares of {self.threshold} distinct "
                f"holders, {len(indices)} given"
            )
        if any(s.key_id != self.key_id for s in shares):
            raise IntegrityError("a share belongs to other keys")
        halves = [
            Shamir.combine([(s.index, s.share[part * _HALF : (part + 1) * _HALF]) for s in shares])
            for part in (0, 1)
        ]
        try:
            plain = AESGCM(halves[0] + halves[1]).decrypt(
                self.nonce, self.sealed, self.associated_data()
            )
        except InvalidTag:
            raise IntegrityError(
                f"the shares do not reconstruct decryption key {self.key_id}: one is wrong or "
                "altered"
            ) from None
        table = pq.read_table(io.BytesIO(plain))
        return dict(
            zip(
                table.column("scheme").to_pylist(), table.column("context").to_pylist(), strict=True
            )
        )


def _check_threshold(threshold: int, holders: Sequence[KeyHolder]) -> None:
    if threshold < 2:  # noqa: PLR2004 - one share alone must never decrypt
        raise InvalidSpecError("the key threshold must be at least 2: no single party decrypts")
    if len(holders) < threshold:
        raise InvalidSpecError(f"{len(holders)} holders cannot meet a threshold of {threshold}")
    if len({h.user for h in holders}) != len(holders) or len({h.party for h in holders}) != len(
        holders
    ):
        raise InvalidSpecError("each key holder must be a different user and party")


def split_key(
    secrets_by_scheme: Mapping[str, bytes],
    public_by_scheme: Mapping[str, str],
    holders: Sequence[KeyHolder],
    threshold: int,
) -> tuple[KeyEscrow, list[KeyShare]]:
    """Escrow secret contexts under a fresh key split k-of-n among ``holders``.

    Args:
        secrets_by_scheme: Scheme name → serialised secret context.
        public_by_scheme: Scheme name → public-context fingerprint.
        holders: The named holders.
        threshold: k.

    Returns:
        The escrow and one share per holder (seal each for its holder, keep none).

    Raises:
        InvalidSpecError: k < 2, too few holders, or a holder named twice.

    Example:
        >>> holders = [KeyHolder("a", "pa"), KeyHolder("b", "pb"), KeyHolder("c", "pc")]
        >>> escrow, shares = split_key({"bfv": b"secret"}, {"bfv": "f"}, holders, 2)
        >>> escrow.open(shares[1:])["bfv"]
        b'secret'
    """
    _check_threshold(threshold, holders)
    table = pa.table(
        {"scheme": list(secrets_by_scheme), "context": list(secrets_by_scheme.values())},
        schema=pa.schema([("scheme", pa.string()), ("context", pa.large_binary())]),
    )
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    key = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(12)
    draft = KeyEscrow(
        secrets.token_hex(16), threshold, tuple(holders),
        tuple(sorted(public_by_scheme.items())), nonce, b"",
    )  # fmt: skip
    sealed = AESGCM(key).encrypt(nonce, buffer.getvalue(), draft.associated_data())
    escrow = KeyEscrow(draft.key_id, threshold, draft.holders, draft.public, nonce, sealed)
    parts = [
        Shamir.split(threshold, len(holders), key[i * _HALF : (i + 1) * _HALF]) for i in (0, 1)
    ]
    shares = [
        KeyShare(escrow.key_id, h.user, a[0], a[1] + b[1])
        for h, a, b in zip(holders, parts[0], parts[1], strict=True)
    ]
    return escrow, shares


def seal_shares(
    shares: Sequence[KeyShare],
    escrow: KeyEscrow,
    issuer: PartyKeyStore,
    project: str,
    out_dir: Path,
) -> dict[str, Path]:
    """Seal each share for its holder's party (signed by the issuer); holder user → package."""
    packages = {}
    for share in shares:
        _, holder = escrow.holder(share.holder)
        table = pa.table(
            {
                "key_id": [share.key_id],
                "holder": [share.holder],
                "index": pa.array([share.index], pa.int32()),
                "share": pa.array([share.share], pa.binary()),
            }
        )
        table = label_part(table, project=project)
        packages[share.holder] = seal_table(
            table, sender=issuer, recipient=holder.party, project=project,
            kind="key_share", dataset="", out_dir=out_dir / holder.party,
        )  # fmt: skip
    return packages


def open_share(path: Path, holder: PartyKeyStore, project: str) -> KeyShare:
    """A holder verifies and opens the sealed package of its share.

    Raises:
        AccessDenied: The package is not for this holder, or from an untrusted issuer.
        IntegrityError: It was altered, replayed or is not a key share.
    """
    row = open_package(path, holder, project=project, kind="key_share").table.to_pylist()
    if len(row) != 1:
        raise IntegrityError(f"{path.name} does not hold exactly one key share")
    r = row[0]
    return KeyShare(str(r["key_id"]), str(r["holder"]), int(r["index"]), bytes(r["share"]))
