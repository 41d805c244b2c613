"""Project data keys, wrapped by a master key from a key store (file, environment, HSM/KMS).

A project's data key encrypts its hub store. Only the *wrapped* key (AES-256-GCM under the master
key, bound to the project id) is kept in the metadata store; destroying it is crypto-shredding.
The custodians' linkage secret is a different key that the hub never holds.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path
from typing import Protocol, runtime_checkable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ansim._atomic import write_bytes_atomic
from ansim.errors import IntegrityError, InvalidSpecError

__all__ = ["EnvKeyStore", "FileKeyStore", "KeyStore", "MasterKeyStore", "ProjectKey"]

_KEY_BYTES = 32
_NONCE_BYTES = 12
_WRAP_LABEL = b"ansim project data key v1\x00"


class ProjectKey:
    """A project's 256-bit data key; ``repr``/``str`` never show it.

    Example:
        >>> key = ProjectKey.generate()
        >>> repr(key)
        'ProjectKey(<redacted>)'
        >>> len(key.key_id)
        16
    """

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        if len(key) != _KEY_BYTES:
            raise InvalidSpecError(f"a project data key must be {_KEY_BYTES} bytes long")
        self._key = key

    @classmethod
    def generate(cls) -> ProjectKey:
        """A fresh key from the operating system's CSPRNG."""
        return cls(secrets.token_bytes(_KEY_BYTES))

    @property
    def key(self) -> bytes:
        """The raw key (give it to the engine only)."""
        return self._key

    @property
    def key_id(self) -> str:
        """A public fingerprint naming the key in records (reveals nothing about it)."""
        return hashlib.sha256(b"ansim key id\x00" + self._key).hexdigest()[:16]

    def __repr__(self) -> str:
        return "ProjectKey(<redacted>)"

    __str__ = __repr__


@runtime_checkable
class KeyStore(Protocol):
    """Where the master key lives. An HSM or cloud KMS implements these three members.

    ``wrap`` and ``unwrap`` bind the wrapped key to the project id, so a wrapped key copied to
    another project does not unwrap.
    """

    @property
    def master_key_id(self) -> str:
        """A public fingerprint of the master key."""
        ...

    def wrap(self, project: str, key: ProjectKey) -> bytes:
        """Encrypt a data key for storage."""
        ...

    def unwrap(self, project: str, wrapped: bytes) -> ProjectKey:
        """Decrypt a stored data key (raises ``IntegrityError`` if it does not authenticate)."""
        ...


class _AesGcmKeyStore:
    """AES-256-GCM key wrapping under an in-process master key."""

    def __init__(self, master: bytes) -> None:
        if len(master) != _KEY_BYTES:
            raise InvalidSpecError(f"a master key must be {_KEY_BYTES} bytes (64 hex digits)")
        self._aead = AESGCM(master)
        self._id = hashlib.sha256(b"ansim master key id\x00" + master).hexdigest()[:16]

    @property
    def master_key_id(self) -> str:
        return self._id

    def wrap(self, project: str, key: ProjectKey) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, key.key, _WRAP_LABEL + project.encode())

    def unwrap(self, project: str, wrapped: bytes) -> ProjectKey:
        nonce, sealed = wrapped[:_NONCE_BYTES], wrapped[_NONCE_BYTES:]
        try:
            return ProjectKey(self._aead.decrypt(nonce, sealed, _WRAP_LABEL + project.encode()))
        except InvalidTag as e:
            raise IntegrityError(
                f"the data key of project {project!r} does not unwrap: wrong master key, or the "
                "wrapped key was altered or belongs to another project"
            ) from e

    def __repr__(self) -> str:
        return f"{type(self).__name__}(master_key_id={self._id!r})"


class MasterKeyStore(_AesGcmKeyStore):
    """Key wrapping under the master key of a :class:`~ansim.governance.KeyProvider`."""


class FileKeyStore(_AesGcmKeyStore):
    """A master key in a file readable by its owner only (created on first use).

    Args:
        path: The key file (64 hex digits).
        create: Create a fresh master key if the file does not exist (never the default: a
            missing master key is an error).

    Example:
        >>> import tempfile
        >>> store = FileKeyStore(Path(tempfile.mkdtemp()) / "master.key", create=True)
        >>> key = ProjectKey.generate()
        >>> store.unwrap("p1", store.wrap("p1", key)).key == key.key
        True
    """

    def __init__(self, path: Path, *, create: bool = False) -> None:
        if not path.is_file():
            if not create:
                raise InvalidSpecError(f"no master key file at {path}")
            write_bytes_atomic(
                secrets.token_bytes(_KEY_BYTES).hex().encode() + b"\n", path, mode=0o600
            )
        try:
            master = bytes.fromhex(path.read_text(encoding="ascii").strip())
        except (OSError, UnicodeDecodeError, ValueError) as e:
            raise InvalidSpecError(f"{path} is not a readable master key file") from e
        super().__init__(master)
        self.path = path


class EnvKeyStore(_AesGcmKeyStore):
    """A master key given in an environment variable as 64 hex digits (for containers).

    Args:
        variable: The variable's name.
    """

    def __init__(self, variable: str = "ANSIM_MASTER_KEY") -> None:
        text = os.environ.get(variable)
        if not text:
            raise InvalidSpecError(f"set {variable} to a 64-hex-digit master key")
        try:
            master = bytes.fromhex(text.strip())
        except ValueError as e:
            raise InvalidSpecError(f"{variable} must hold 64 hex digits") from e
        super().__init__(master)
        self.variable = variable
