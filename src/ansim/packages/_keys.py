"""Per-party key stores: a party's own private keys and the public keys of parties it trusts.

Each party (a custodian, the linkage unit, the hub) keeps one store, a directory::

    <store>/party.json            its name and public keys (safe to hand to others)
    <store>/private.key           its X25519 (decryption) and Ed25519 (signing) private keys, 0600,
                                  optionally encrypted under a passphrase (scrypt, AES-256-GCM)
    <store>/trusted/<party>.json  public keys of the parties it exchanges packages with
    <store>/received/<id>         package ids it has opened (refuses a replayed package)

Private keys never leave the store: they appear in no ``repr``, log or error message.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ansim._atomic import write_bytes_atomic, write_text_atomic
from ansim.errors import AccessDenied, InvalidSpecError

__all__ = ["PartyKeyStore", "PartyPublicKeys"]

_PARTY = re.compile(r"^[a-z][a-z0-9_\-]{0,62}$")
_KEY_BYTES = 32


def _check_party(name: str) -> str:
    if not _PARTY.match(name):
        raise InvalidSpecError(
            f"party name {name!r} must be lower-case letters, digits, '_' or '-' (start: a letter)"
        )
    return name


@dataclass(frozen=True)
class PartyPublicKeys:
    """A party's public keys: what others need to seal packages for it and verify its packages.

    Attributes:
        party: The party's name (``gyeonggi``, ``linkage_unit``, ``hub``, …).
        encryption: Raw X25519 public key (32 bytes).
        signing: Raw Ed25519 public key (32 bytes).
    """

    party: str
    encryption: bytes
    signing: bytes

    def __post_init__(self) -> None:
        _check_party(self.party)
        if len(self.encryption) != _KEY_BYTES or len(self.signing) != _KEY_BYTES:
            raise InvalidSpecError(f"public keys of {self.party!r} must be 32 bytes each")

    @property
    def fingerprint(self) -> str:
        """Short SHA-256 fingerprint of both keys (to compare out of band)."""
        return hashlib.sha256(self.encryption + self.signing).hexdigest()[:32]

    def to_json(self) -> str:
        """JSON form (``party``, ``encryption`` and ``signing`` in hex)."""
        return json.dumps(
            {
                "party": self.party,
                "encryption": self.encryption.hex(),
                "signing": self.signing.hex(),
            }
        )

    @classmethod
    def from_json(cls, text: str) -> PartyPublicKeys:
        """Parse the JSON form written by :meth:`to_json`."""
        try:
            raw = json.loads(text)
            return cls(
                str(raw["party"]), bytes.fromhex(raw["encryption"]), bytes.fromhex(raw["signing"])
            )
        except (ValueError, KeyError, TypeError) as e:
            raise InvalidSpecError(f"not a public-key file: {type(e).__name__}") from None

    def encryption_key(self) -> X25519PublicKey:
        """The X25519 public key object."""
        return X25519PublicKey.from_public_bytes(self.encryption)

    def signing_key(self) -> Ed25519PublicKey:
        """The Ed25519 public key object."""
        return Ed25519PublicKey.from_public_bytes(self.signing)


class PartyKeyStore:
    """One party's key store (see the module docstring for its layout).

    Example:
        >>> import tempfile
        >>> root = Path(tempfile.mkdtemp())
        >>> unit = PartyKeyStore.create(root / "unit", "linkage_unit")
        >>> hub = PartyKeyStore.create(root / "hub", "hub")
        >>> unit.trust(hub.public)
        >>> unit.trusted("hub") == hub.public, repr(unit)
        (True, "PartyKeyStore('linkage_unit', <private keys redacted>)")
    """

    __slots__ = ("_decrypt", "_sign", "public", "root")

    def __init__(self, root: Path, decrypt: X25519PrivateKey, sign: Ed25519PrivateKey, party: str):
        self.root = root
        self._decrypt = decrypt
        self._sign = sign
        raw = (Encoding.Raw, PublicFormat.Raw)
        self.public = PartyPublicKeys(
            party,
            decrypt.public_key().public_bytes(*raw),
            sign.public_key().public_bytes(*raw),
        )

    @property
    def party(self) -> str:
        """The party this store belongs to."""
        return self.public.party

    @classmethod
    def create(cls, root: Path, party: str, *, passphrase: bytes | None = None) -> PartyKeyStore:
        """Create a store with fresh keys; refuses to overwrite an existing one.

        Args:
            root: The store's directory.
            party: The party's name.
            passphrase: If given, the private keys are stored encrypted under a key derived
                from it (scrypt, AES-256-GCM); otherwise in clear in a 0600 file.

        Raises:
            InvalidSpecError: A store already exists at ``root``, or the name is invalid.
        """
        _check_party(party)
        if (root / "private.key").exists():
            raise InvalidSpecError(
                f"a key store already exists at {root}: open it, or choose another directory"
            )
        store = cls(root, X25519PrivateKey.generate(), Ed25519PrivateKey.generate(), party)
        private = store._decrypt.private_bytes_raw() + store._sign.private_bytes_raw()
        text = private.hex() if passphrase is None else _wrap(private, passphrase)
        write_bytes_atomic(text.encode("ascii") + b"\n", root / "private.key", mode=0o600)
        write_text_atomic(store.public.to_json(), root / "party.json")
        return store

    @classmethod
    def open(cls, root: Path, *, passphrase: bytes | None = None) -> PartyKeyStore:
        """Open an existing store.

        Args:
            root: The store's directory.
            passphrase: The passphrase, if the store was created with one.

        Raises:
            InvalidSpecError: No readable store at ``root``, or a passphrase is needed.
            AccessDenied: The passphrase is wrong.
        """
        try:
            public = PartyPublicKeys.from_json((root / "party.json").read_text("utf-8"))
            text = (root / "private.key").read_text("ascii").strip()
            raw = _unwrap(text, passphrase, root) if text.startswith("{") else bytes.fromhex(text)
        except (OSError, ValueError, KeyError) as e:
            if isinstance(e, InvalidSpecError | AccessDenied):
                raise
            raise InvalidSpecError(
                f"no readable key store at {root}: create one with 'ansim keys init'"
            ) from e
        if len(raw) != 2 * _KEY_BYTES:
            raise InvalidSpecError(f"the private key file in {root} is damaged")
        store = cls(
            root,
            X25519PrivateKey.from_private_bytes(raw[:_KEY_BYTES]),
            Ed25519PrivateKey.from_private_bytes(raw[_KEY_BYTES:]),
            public.party,
        )
        if store.public != public:
            raise InvalidSpecError(
                f"the key store at {root} has mismatched public and private keys"
            )
        return store

    def trust(self, keys: PartyPublicKeys) -> None:
        """Record another party's public keys (after checking their fingerprint out of band)."""
        if keys.party == self.party:
            raise InvalidSpecError("a party does not need to trust itself")
        write_text_atomic(keys.to_json(), self.root / "trusted" / f"{keys.party}.json")

    def trusted(self, party: str) -> PartyPublicKeys:
        """The public keys of a trusted party.

        Raises:
            AccessDenied: The party is not trusted by this store.
        """
        path = self.root / "trusted" / f"{_check_party(party)}.json"
        if not path.is_file():
            raise AccessDenied(
                f"{self.party} does not trust {party!r}: import its public keys with "
                "'ansim keys trust' after checking their fingerprint"
            )
        keys = PartyPublicKeys.from_json(path.read_text("utf-8"))
        if keys.party != party:
            raise AccessDenied(f"the trusted key file for {party!r} names another party")
        return keys

    def sign(self, data: bytes | memoryview) -> bytes:
        """Ed25519 signature of ``data`` by this party."""
        return self._sign.sign(data)

    def exchange(self, peer: X25519PublicKey) -> bytes:
        """X25519 shared secret with a peer's (ephemeral) public key."""
        return self._decrypt.exchange(peer)

    def seen(self, package_id: str) -> bool:
        """Whether a package with this id was opened here before."""
        return (self.root / "received" / package_id).exists()

    def mark_seen(self, package_id: str) -> None:
        """Remember that a package was opened (so a replay is refused)."""
        write_text_atomic("", self.root / "received" / package_id)

    def __repr__(self) -> str:
        return f"PartyKeyStore({self.party!r}, <private keys redacted>)"

    __str__ = __repr__


_SCRYPT = {"n": 2**15, "r": 8, "p": 1}


def _passphrase_key(passphrase: bytes, salt: bytes, params: dict[str, int]) -> bytes:
    return Scrypt(salt=salt, length=32, n=params["n"], r=params["r"], p=params["p"]).derive(
        passphrase
    )


def _wrap(private: bytes, passphrase: bytes) -> str:
    """The private keys encrypted under a passphrase (scrypt, AES-256-GCM), as JSON."""
    salt, nonce = os.urandom(16), os.urandom(12)
    sealed = AESGCM(_passphrase_key(passphrase, salt, _SCRYPT)).encrypt(nonce, private, b"ansim")
    wrapped = {"kdf": "scrypt", **_SCRYPT, "salt": salt.hex(), "nonce": nonce.hex()}
    return json.dumps(wrapped | {"ciphertext": sealed.hex()})


def _unwrap(text: str, passphrase: bytes | None, root: Path) -> bytes:
    if passphrase is None:
        raise InvalidSpecError(
            f"the key store at {root} is passphrase-protected: give its passphrase "
            "(ANSIM_KEY_PASSPHRASE for the command line)"
        )
    wrapped = json.loads(text)
    params = {k: int(wrapped[k]) for k in _SCRYPT}
    key = _passphrase_key(passphrase, bytes.fromhex(wrapped["salt"]), params)
    try:
        return AESGCM(key).decrypt(
            bytes.fromhex(wrapped["nonce"]), bytes.fromhex(wrapped["ciphertext"]), b"ansim"
        )
    except InvalidTag:
        raise AccessDenied(f"wrong passphrase for the key store at {root}") from None
