"""Where an installation's two root secrets live: the master key and the audit signing key.

One :class:`KeyProvider` interface, two backends:

- :class:`PassphraseKeyFile` — both secrets in one file encrypted under a passphrase
  (scrypt, a memory-hard KDF, then AES-256-GCM; both from ``cryptography``). It is for
  development and small trials: the file says so, and the passphrase comes from
  ``$ANSIM_KEY_PASSPHRASE``, never from the file system beside the store (the demo's
  throwaway passphrase file is the one exception, and it is labelled as such).
- :class:`EnvKeyProvider` — both secrets given by the environment (a container's secret
  store): ``$ANSIM_MASTER_KEY`` and ``$ANSIM_AUDIT_KEY``, 64 hex digits each.

A missing key is an error: an installation that already holds data never gets a fresh key.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Protocol, runtime_checkable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from ansim._atomic import write_bytes_atomic
from ansim.errors import AccessDenied, InvalidSpecError

__all__ = [
    "DEMO_PASSPHRASE_FILE",
    "KEY_FILE",
    "EnvKeyProvider",
    "KeyProvider",
    "PassphraseKeyFile",
    "default_key_provider",
]

_KEY_BYTES = 32
_PURPOSES = ("master", "audit_signing")
_FORMAT = "ansim passphrase key file v1"
_LABEL = b"ansim key file v1\x00"
KEY_FILE = Path("keys") / "keys.ansim"
"""Where a home keeps its passphrase-encrypted key file (relative to the home)."""
DEMO_PASSPHRASE_FILE = Path("keys") / "DEMO-ONLY-passphrase"
"""Written by ``ansim demo`` only: the demo's throwaway passphrase (never in a deployment)."""
_MIN_PASSPHRASE = 12
_SCRYPT = {"n": 2**15, "r": 8, "p": 1}  # 32 MiB per derivation


@runtime_checkable
class KeyProvider(Protocol):
    """Gives the installation's root secrets to governance (and to nobody else).

    ``secret("master")`` wraps project data keys; ``secret("audit_signing")`` is the
    Ed25519 seed that signs audit checkpoints. A KMS backend implements the same members.
    """

    @property
    def description(self) -> str:
        """What backend this is (shown to operators; never a secret)."""
        ...

    def secret(self, purpose: str) -> bytes:
        """The 32-byte secret for ``purpose`` (``master`` or ``audit_signing``)."""
        ...


def _checked_purpose(purpose: str) -> str:
    if purpose not in _PURPOSES:
        raise InvalidSpecError(f"no key for {purpose!r}: keys are {list(_PURPOSES)}")
    return purpose


def _kdf(salt: bytes, params: dict[str, int]) -> Scrypt:
    return Scrypt(salt=salt, length=_KEY_BYTES, n=params["n"], r=params["r"], p=params["p"])


class PassphraseKeyFile:
    """Both root secrets in a file encrypted under a passphrase (for development).

    Args:
        path: The key file.
        passphrase: Its passphrase.

    Raises:
        InvalidSpecError: No key file (create one with :meth:`create`), or not a key file.
        AccessDenied: The passphrase is wrong or the file was altered.

    Example:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "keys.ansim"
        >>> made = PassphraseKeyFile.create(path, "correct horse")
        >>> PassphraseKeyFile(path, "correct horse").secret("master") == made.secret("master")
        True
        >>> PassphraseKeyFile(path, "wrong")
        Traceback (most recent call last):
        ...
        ansim.errors.AccessDenied: the key file passphrase is wrong, or the key file was altered
    """

    def __init__(self, path: Path, passphrase: str) -> None:
        if not path.is_file():
            raise InvalidSpecError(
                f"no key file at {path}: the master key is missing (restore it from your "
                "backup; a new installation creates it with 'ansim project bootstrap')"
            )
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            if raw["format"] != _FORMAT:
                raise ValueError(raw["format"])
            salt, nonce = bytes.fromhex(raw["salt"]), bytes.fromhex(raw["nonce"])
            sealed = bytes.fromhex(raw["ciphertext"])
            params = {k: int(raw["scrypt"][k]) for k in ("n", "r", "p")}
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise InvalidSpecError(f"{path} is not an Ansim key file") from e
        key = _kdf(salt, params).derive(passphrase.encode("utf-8"))
        try:
            plain = AESGCM(key).decrypt(nonce, sealed, _LABEL)
        except InvalidTag as e:
            raise AccessDenied(
                "the key file passphrase is wrong, or the key file was altered"
            ) from e
        self._secrets = dict(zip(_PURPOSES, (plain[:32], plain[32:64]), strict=True))
        self.path = path

    @classmethod
    def create(cls, path: Path, passphrase: str) -> PassphraseKeyFile:
        """Write a new key file with fresh secrets (refuses to overwrite one).

        Raises:
            InvalidSpecError: The file exists, or the passphrase is shorter than 12 characters.
        """
        if path.exists():
            raise InvalidSpecError(f"{path} exists: a key file is never overwritten")
        if len(passphrase) < _MIN_PASSPHRASE:
            raise InvalidSpecError("a key file passphrase needs at least 12 characters")
        salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
        key = _kdf(salt, _SCRYPT).derive(passphrase.encode("utf-8"))
        plain = secrets.token_bytes(_KEY_BYTES * len(_PURPOSES))
        body = {
            "format": _FORMAT,
            "warning": "development key store: for production supply the keys from the "
            "environment or a KMS",
            "kdf": "scrypt",
            "scrypt": _SCRYPT,
            "salt": salt.hex(),
            "nonce": nonce.hex(),
            "ciphertext": AESGCM(key).encrypt(nonce, plain, _LABEL).hex(),
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(path.parent, 0o700)
        write_bytes_atomic(json.dumps(body, indent=2).encode(), path, mode=0o600)
        return cls(path, passphrase)

    @property
    def description(self) -> str:
        """What backend this is."""
        return f"passphrase key file {self.path} (development only)"

    def secret(self, purpose: str) -> bytes:
        """The 32-byte secret for ``purpose``."""
        return self._secrets[_checked_purpose(purpose)]

    def __repr__(self) -> str:
        return f"PassphraseKeyFile({str(self.path)!r})"


class EnvKeyProvider:
    """Both root secrets from environment variables (64 hex digits each).

    Args:
        master: Variable holding the master key.
        audit: Variable holding the audit signing key's seed.

    Raises:
        InvalidSpecError: A variable is unset or not 64 hex digits.
    """

    def __init__(self, master: str = "ANSIM_MASTER_KEY", audit: str = "ANSIM_AUDIT_KEY") -> None:
        self._secrets = {}
        for purpose, variable in zip(_PURPOSES, (master, audit), strict=True):
            text = os.environ.get(variable, "")
            try:
                value = bytes.fromhex(text.strip())
            except ValueError:
                value = b""
            if len(value) != _KEY_BYTES:
                raise InvalidSpecError(f"set {variable} to 64 hex digits (the {purpose} key)")
            self._secrets[purpose] = value
        self.variables = (master, audit)

    @property
    def description(self) -> str:
        """What backend this is."""
        return f"environment ({', '.join(self.variables)})"

    def secret(self, purpose: str) -> bytes:
        """The 32-byte secret for ``purpose``."""
        return self._secrets[_checked_purpose(purpose)]

    def __repr__(self) -> str:
        return f"EnvKeyProvider({self.variables!r})"


def default_key_provider(home: Path, *, new_installation: bool) -> KeyProvider:
    """The key provider of a home: the environment's keys, else its passphrase key file.

    The passphrase is ``$ANSIM_KEY_PASSPHRASE`` (or, in a demo home only, the demo's
    labelled throwaway passphrase file). The key file is created only for a new installation.

    Raises:
        InvalidSpecError: No keys and no passphrase, or an existing installation lacks its key.
    """
    if os.environ.get("ANSIM_MASTER_KEY"):
        return EnvKeyProvider()
    passphrase = os.environ.get("ANSIM_KEY_PASSPHRASE")
    demo = home / DEMO_PASSPHRASE_FILE
    if not passphrase and demo.is_file():
        passphrase = demo.read_text(encoding="utf-8").strip()
    if not passphrase:
        raise InvalidSpecError(
            "no keys: set ANSIM_KEY_PASSPHRASE (the key file's passphrase) or "
            "ANSIM_MASTER_KEY and ANSIM_AUDIT_KEY"
        )
    path = home / KEY_FILE
    if not path.is_file() and new_installation:
        return PassphraseKeyFile.create(path, passphrase)
    return PassphraseKeyFile(path, passphrase)
