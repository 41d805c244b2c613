"""The project linkage secret: held by custodians, never by the linkage unit or the hub."""

from __future__ import annotations

import secrets
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ansim._atomic import write_bytes_atomic
from ansim.errors import InvalidSpecError

__all__ = ["LinkageSecret"]

_KEY_BYTES = 32


class LinkageSecret:
    """A 256-bit key for HMAC linkage tokens, shared by a project's custodians only.

    Its ``repr`` and ``str`` never show the key, so it cannot leak into logs or errors.

    Example:
        >>> secret = LinkageSecret.generate()
        >>> repr(secret)
        'LinkageSecret(<redacted>)'
    """

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        if len(key) != _KEY_BYTES:
            raise InvalidSpecError(f"a linkage secret must be {_KEY_BYTES} bytes long")
        self._key = key

    @classmethod
    def generate(cls) -> LinkageSecret:
        """A fresh random secret from the operating system's CSPRNG."""
        return cls(secrets.token_bytes(_KEY_BYTES))

    @classmethod
    def load(cls, path: Path) -> LinkageSecret:
        """Read a secret written by :meth:`save` (64 hex digits)."""
        try:
            text = path.read_text(encoding="ascii").strip()
            return cls(bytes.fromhex(text))
        except (OSError, UnicodeDecodeError, ValueError) as e:
            raise InvalidSpecError(
                f"{path} is not a readable linkage secret file: create one with "
                "'ansim project init'"
            ) from e

    def save(self, path: Path) -> Path:
        """Write the secret as hex, readable by its owner only (mode 0600)."""
        return write_bytes_atomic(self._key.hex().encode("ascii") + b"\n", path, mode=0o600)

    @property
    def key(self) -> bytes:
        """The raw key (use :meth:`derive` for a purpose-bound key instead)."""
        return self._key

    def derive(self, purpose: str) -> bytes:
        """A 256-bit key for one purpose (``tokens``, ``bloom``, …), derived with HKDF-SHA256.

        One project secret serves every purpose, yet a key for one purpose says nothing about
        the key for another: linkage tokens and Bloom-filter hashing never share a key.

        Example:
            >>> secret = LinkageSecret(bytes(32))
            >>> secret.derive("tokens") != secret.derive("bloom"), len(secret.derive("bloom"))
            (True, 32)
        """
        hkdf = HKDF(
            algorithm=hashes.SHA256(),
            length=_KEY_BYTES,
            salt=None,
            info=b"ansim/linkage/" + purpose.encode(),
        )
        return hkdf.derive(self._key)

    def __repr__(self) -> str:
        return "LinkageSecret(<redacted>)"

    __str__ = __repr__
