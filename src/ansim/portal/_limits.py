"""Per-client rate limits of the public portal: a token bucket per client.

The buckets live in a small SQLite file of the deployment home,
``<home>/portal/rate-limits.sqlite`` (WAL, one UPSERT per request), so the limits hold across
the worker processes of one server; :class:`MemoryBucketStore` keeps them in the process
(tests, or while the file cannot be used).

No key is needed: an anonymous client (one address) gets ``per_minute`` requests a minute
with bursts of ``burst``. A client that sends a registered API key in the ``X-API-Key`` header gets
the higher keyed limits, counted per key. Keys are never stored: ``<home>/portal/api-keys.sha256``
lists their SHA-256 digests, one a line. (A key in the URL, as KOSIS's ``apiKey`` or
data.go.kr's ``serviceKey``, is not read: URLs end up in logs.)
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import os
import re
import secrets
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from fastapi import Request

from ansim._atomic import write_text_atomic
from ansim.errors import InvalidSpecError

__all__ = [
    "API_KEY_HEADER",
    "BucketStore",
    "MemoryBucketStore",
    "RateLimit",
    "SqliteBucketStore",
    "TokenBuckets",
    "api_key_digest",
    "api_keys_file",
    "issue_api_key",
    "rate_limits_file",
]

_LOG = logging.getLogger(__name__)

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


def rate_limits_file(home: Path) -> Path:
    """Where a home keeps its portal's token buckets (shared by its server's workers)."""
    return home / "portal" / "rate-limits.sqlite"


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


class BucketStore(Protocol):
    """Where the token buckets live: one call per request takes a token for a client."""

    def take(self, client: str, rate: float, size: float) -> float | None:
        """Take a token from ``client``'s bucket (``size`` tokens, refilled ``rate`` a second).

        Returns:
            None when a token was taken, else the seconds until one is back.
        """
        ...  # pragma: no cover - a protocol


class MemoryBucketStore:
    """The buckets in this process (the longest idle forgotten beyond ``max_clients``).

    Example:
        >>> now = [0.0]
        >>> store = MemoryBucketStore(clock=lambda: now[0])
        >>> [store.take("a", 1.0, 2.0) for _ in range(3)]
        [None, None, 1.0]
    """

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, max_clients: int = 10_000
    ) -> None:
        self._clock = clock
        self._max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, client: str, rate: float, size: float) -> float | None:
        """See :meth:`BucketStore.take`."""
        with self._lock:
            now = self._clock()
            tokens, then = self._buckets.pop(client, (size, now))
            tokens = min(size, tokens + max(0.0, now - then) * rate)
            waited = None if tokens >= 1 else (1 - tokens) / rate
            self._buckets[client] = (tokens - 1 if waited is None else tokens, max(then, now))
            while len(self._buckets) > self._max_clients:
                self._buckets.popitem(last=False)
        return waited


_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS buckets "
    "(client TEXT PRIMARY KEY, tokens REAL NOT NULL, at REAL NOT NULL, "
    "granted INTEGER NOT NULL) WITHOUT ROWID"
)
# One statement per request: the refill, the take and the answer. SQLite evaluates every SET
# expression over the row as it was, so "granted" and "tokens" see the same refilled count;
# "granted" says whether this request took a token (the count alone cannot tell).
_REFILLED = "min(:size, tokens + max(0.0, :now - at) * :rate)"
_TAKE = f"""
INSERT INTO buckets (client, tokens, at, granted) VALUES (:client, :size - 1, :now, 1)
ON CONFLICT (client) DO UPDATE SET
    tokens = CASE WHEN {_REFILLED} >= 1 THEN {_REFILLED} - 1 ELSE {_REFILLED} END,
    granted = {_REFILLED} >= 1,
    at = max(at, :now)
RETURNING tokens, granted
"""  # noqa: S608 - a constant expression, no input in the text
_BUSY_SECONDS = 1.0
"""Longest wait for another worker's write (the event loop waits with it)."""
_RETRY_SECONDS = 60.0
"""How long an unusable file is left alone before it is tried again."""
_PRUNE_EVERY = 1024
"""Requests between two sweeps of the buckets idle long enough to be full again."""


class SqliteBucketStore:
    """The buckets in a SQLite file, shared by every process that opens it.

    A request is one UPSERT that refills the client's bucket, takes a token when there is one
    and returns the count (WAL, ``synchronous=NORMAL``: a lost bucket after a power cut only
    gives a client a fresh burst). The clock is wall time, the same in every process. A bucket
    idle long enough to be full again is deleted (as good as kept) when a process opens the
    file and every 1,024 requests, so client addresses do not stay long. If the file
    cannot be used (not writable, locked beyond a second) the store counts in this process
    (:class:`MemoryBucketStore`, logged) for a minute, then tries the file again: meanwhile the
    limit holds per process only.

    Example:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "limits.sqlite"
        >>> now = [100.0]
        >>> one, two = (SqliteBucketStore(path, clock=lambda: now[0]) for _ in range(2))
        >>> one.take("a", 1.0, 2.0), two.take("a", 1.0, 2.0), one.take("a", 1.0, 2.0)
        (None, None, 1.0)
        >>> now[0] = 101.0
        >>> two.take("a", 1.0, 2.0), one.take("a", 1.0, 2.0)
        (None, 1.0)
    """

    def __init__(
        self, path: Path, clock: Callable[[], float] = time.time, idle_after: float = 3600.0
    ) -> None:
        self.path = path
        self._clock = clock
        self._idle_after = idle_after
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._pid = -1
        self._fallback = MemoryBucketStore(clock)
        self._retry_at: float | None = None
        self._taken = 0

    def _connect(self) -> sqlite3.Connection:
        if self._db is None or self._pid != os.getpid():  # a forked worker opens its own
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=_BUSY_SECONDS, isolation_level=None,
                                 check_same_thread=False)  # fmt: skip
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(_SCHEMA)
            self._db, self._pid = db, os.getpid()
            self._sweep(db)  # what a quiet portal left behind
        return self._db

    def take(self, client: str, rate: float, size: float) -> float | None:
        """See :meth:`BucketStore.take`."""
        if self._retry_at is not None and time.monotonic() < self._retry_at:
            return self._fallback.take(client, rate, size)
        now = self._clock()
        try:
            with self._lock:
                db = self._connect()
                params = {"client": client, "size": size, "rate": rate, "now": now}
                tokens, granted = db.execute(_TAKE, params).fetchone()
                self._taken += 1
                if self._taken % _PRUNE_EVERY == 0:
                    self._sweep(db)
        except (sqlite3.Error, OSError) as error:
            _LOG.warning(
                "portal rate limits: %s unusable (%s); counted per process for a minute",
                self.path, type(error).__name__,
            )  # fmt: skip
            self.close()
            self._retry_at = time.monotonic() + _RETRY_SECONDS
            return self._fallback.take(client, rate, size)
        self._retry_at = None
        return None if granted else (1 - float(tokens)) / rate

    def _sweep(self, db: sqlite3.Connection) -> None:
        """Delete the buckets idle long enough to be full again (client addresses included)."""
        db.execute("DELETE FROM buckets WHERE at < ?", (self._clock() - self._idle_after,))

    def close(self) -> None:
        """Close this process's connection (a later take opens it again)."""
        with self._lock:
            if self._db is not None:
                with contextlib.suppress(sqlite3.Error):  # a broken connection
                    self._db.close()
                self._db = None


class TokenBuckets:
    """One token bucket per client: a request takes a token; tokens refill at the set rate.

    Args:
        limit: The rates and bursts, and the registered API keys.
        clock: The in-process store's clock (when ``store`` is not given).
        store: Where the buckets live (default: in this process).
    """

    def __init__(
        self,
        limit: RateLimit,
        clock: Callable[[], float] = time.monotonic,
        store: BucketStore | None = None,
    ) -> None:
        self.limit = limit
        self.store = store if store is not None else MemoryBucketStore(clock, limit.max_clients)

    @classmethod
    def for_home(cls, home: Path, limit: RateLimit) -> TokenBuckets:
        """Buckets kept in ``<home>/portal/rate-limits.sqlite``: shared by the server's workers.

        A bucket is deleted once idle long enough to be full again, so the file stays small.
        """
        slowest = max(limit.burst / limit.per_minute, limit.keyed_burst / limit.keyed_per_minute)
        return cls(limit, store=SqliteBucketStore(rate_limits_file(home), idle_after=60 * slowest))

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
        return self.store.take(client, rate, size)
