"""Credentials: argon2id password hashes, API tokens hashed at rest, TOTP second factors.

Pure functions over the field's libraries (argon2-cffi, pyotp, ``secrets``); the account
tables that store their results are ``ansim.governance._accounts``'s.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from ansim.errors import InvalidSpecError

__all__ = ["IssuedToken", "PasswordPolicy", "issue_token", "token_digest", "totp_secret"]

_HASHER = PasswordHasher()  # argon2id with argon2-cffi's RFC 9106 low-memory profile
_TOKEN_PREFIX = "ansim_"  # noqa: S105  # a public prefix naming the token type, no secret


@dataclass(frozen=True)
class PasswordPolicy:
    """How passwords are checked and hashed (argon2id).

    Attributes:
        min_length: Shortest password accepted.
        time_cost: argon2id passes (default: RFC 9106's low-memory profile, as argon2-cffi).
        memory_kib: argon2id memory in KiB.
        parallelism: argon2id lanes.

    A hash records its own parameters, so passwords hashed under other settings still verify.

    Example:
        >>> policy = PasswordPolicy()
        >>> stored = policy.hash("a long enough password")
        >>> stored.startswith("$argon2id$")
        True
        >>> policy.verify(stored, "a long enough password"), policy.verify(stored, "guess")
        (True, False)
    """

    min_length: int = 12
    time_cost: int = 3
    memory_kib: int = 64 * 1024
    parallelism: int = 4

    def __post_init__(self) -> None:
        if self.min_length < 8:  # noqa: PLR2004  # NIST SP 800-63B's floor
            raise InvalidSpecError("min_length must be at least 8")
        if self.time_cost < 1 or self.parallelism < 1 or self.memory_kib < 8 * self.parallelism:
            raise InvalidSpecError("argon2id needs time_cost >= 1 and memory_kib >= 8 × lanes")

    def hash(self, password: str) -> str:
        """The argon2id hash to store (raises ``InvalidSpecError`` for a short password)."""
        if len(password) < self.min_length:
            raise InvalidSpecError(f"a password needs at least {self.min_length} characters")
        return _hasher(self.time_cost, self.memory_kib, self.parallelism).hash(password)

    def verify(self, stored: str, password: str) -> bool:
        """Whether ``password`` matches the stored hash (constant-time inside argon2)."""
        try:
            return _HASHER.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


@functools.cache
def _hasher(time_cost: int, memory_kib: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)


@dataclass(frozen=True)
class IssuedToken:
    """An API token as issued: the secret is shown once, only its digest is stored.

    Attributes:
        token: The bearer secret (give it to the user, never store or log it).
        digest: SHA-256 of the token, the only form kept at rest.
    """

    token: str
    digest: str

    def __repr__(self) -> str:
        return f"IssuedToken(digest={self.digest[:12]!r}…)"


def token_digest(token: str) -> str:
    """The stored form of an API token (SHA-256: tokens are 256-bit random, not guessable).

    Example:
        >>> issued = issue_token()
        >>> token_digest(issued.token) == issued.digest
        True
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token() -> IssuedToken:
    """A fresh 256-bit API token and its digest."""
    token = _TOKEN_PREFIX + secrets.token_urlsafe(32)
    return IssuedToken(token, token_digest(token))


def totp_secret() -> str:
    """A fresh base32 TOTP secret (RFC 6238, 160 bits) for an authenticator app.

    Example:
        >>> secret = totp_secret()
        >>> pyotp.TOTP(secret).verify(pyotp.TOTP(secret).now())
        True
    """
    return pyotp.random_base32(32)
