"""Per-client rate limits of the public portal: an in-process token bucket per client.

No key is needed: an anonymous client (one address) gets ``per_minute`` requests a minute with
bursts of ``burst``. A client that sends a registered API key in the ``X-API-Key`` header gets
the higher keyed limits, counted per key. Keys are never stored: ``<home>/portal/api-keys.sha256``
lists their SHA-256 digests, one a line. (A key in the URL, as KOSIS's ``apiKey`` or
data.go.kr's ``serviceKey``, is not read: URLs end up in logs.)
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import Request

from ansim._atomic import write_text_atomic
from ansim.errors import InvalidSpecError

__all__ = [
    "API_KEY_HEADER",
    "RateLimit",
    "TokenBuckets",
    "api_key_digest",
    "api_keys_file",
    "issue_api_key",
]

API_KEY_HEADER = "X-API-Key"
_DIGEST = re.compile(r"^[0-9a-f]{64}$")


def api_key_digest(key: str) -> str:
    """The digest under which an API key is registered.

    Example:
        >>> api_key_digest("demo-key")[:12]
        'c48a01f49fd0'
    """
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def api_keys_file(home: Path) -> Path:
    """Where a home registers its portal API keys (digests only)."""
    return home / "portal" / "api-keys.sha256"


def issue_api_key(home: Path) -> str:
    """A new random API key, registered under ``home`` by its digest; shown only this once.

    Example:
        >>> import tempfile
        >>> home = Path(tempfile.mkdtemp())
        >>> key = issue_api_key(home)
        >>> RateLimit.for_home(home).key_digests == {api_key_digest(key)}
        True
    """
    key = "ansim_pk_" + secrets.token_urlsafe(32)
    path = api_keys_file(home)
    known = path.read_text("utf-8") if path.is_file() else ""
    write_text_atomic(known + api_key_digest(key) + "\n", path)
    return key


@dataclass(frozen=True)
class RateLimit:
    """Requests per minute and burst sizes, for anonymous clients and for API keys.

    Attributes:
        per_minute: Sustained requests a minute for an anonymous client (one address).
        burst: Requests an anonymous client may make at once.
        keyed_per_minute: Sustained requests a minute for a registered API key.
        keyed_burst: Requests at once for a registered API key.
        key_digests: SHA-256 digests of the registered keys (see :func:`api_key_digest`).
        max_clients: Buckets kept; the longest idle are forgotten beyond this.

    Example:
        >>> RateLimit(per_minute=0)
        Traceback (most recent call last):
        ...
        ansim.errors.InvalidSpecError: rate limits and bursts must be positive
    """

    per_minute: int = 600
    burst: int = 200
    keyed_per_minute: int = 6000
    keyed_burst: int = 600
    key_digests: frozenset[str] = field(default_factory=frozenset)
    max_clients: int = 10_000

    def __post_init__(self) -> None:
        sizes = (self.per_minute, self.burst, self.keyed_per_minute, self.keyed_burst)
        if min(sizes) < 1 or self.max_clients < 1:
            raise InvalidSpecError("rate limits and bursts must be positive")
        if not all(_DIGEST.match(d) for d in self.key_digests):
            raise InvalidSpecError("API keys are registered as lower-case SHA-256 hex digests")

    @classmethod
    def for_home(cls, home: Path) -> RateLimit:
        """The default limits with the keys registered in ``<home>/portal/api-keys.sha256``."""
        path = api_keys_file(home)
        lines = path.read_text("utf-8").split() if path.is_file() else []
        return cls(key_digests=frozenset(line.strip().lower() for line in lines))


class TokenBuckets:
    """One token bucket per client: a request takes a token; tokens refill at the set rate."""

    def __init__(self, limit: RateLimit, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def _client(self, request: Request) -> tuple[str, bool]:
        key = request.headers.get(API_KEY_HEADER)
        if key:
            digest = api_key_digest(key)
            if any(hmac.compare_digest(digest, known) for known in self.limit.key_digests):
                return "key:" + digest, True
        host = request.client.host if request.client else "unknown"
        return "ip:" + host, False

    def take(self, request: Request) -> float | None:
        """Take a token for the request's client.

        Returns:
            None when the request may go ahead, else the seconds until a token is back.
        """
        client, keyed = self._client(request)
        return self.take_for(client, keyed=keyed)

    def take_for(self, client: str, *, keyed: bool = False) -> float | None:
        """Take a token for ``client`` (see :meth:`take`).

        Example:
            >>> now = [0.0]
            >>> buckets = TokenBuckets(RateLimit(per_minute=60, burst=2), clock=lambda: now[0])
            >>> [buckets.take_for("a") for _ in range(3)]
            [None, None, 1.0]
            >>> now[0] = 1.0
            >>> buckets.take_for("a"), buckets.take_for("b")
            (None, None)
        """
        rate = (self.limit.keyed_per_minute if keyed else self.limit.per_minute) / 60
        size = float(self.limit.keyed_burst if keyed else self.limit.burst)
        now = self._clock()
        tokens, then = self._buckets.pop(client, (size, now))
        tokens = min(size, tokens + (now - then) * rate)
        waited = None if tokens >= 1 else (1 - tokens) / rate
        self._buckets[client] = (tokens - 1 if waited is None else tokens, now)
        while len(self._buckets) > self.limit.max_clients:
            self._buckets.popitem(last=False)
        return waited
