"""Exact linkage without a linkage unit: private set intersection (OpenMined PSI).

OpenMined's PSI is ECDH-based (P-256): the client sends its keys hashed to the curve and
blinded with its secret exponent; the server returns them raised to its own secret exponent
together with its own keys under that exponent (the *setup*); the client unblinds and compares.
Neither side can invert what it receives: every element is a key hashed to the curve under an
exponent the receiver does not know. With the ``RAW`` data structure the result is exact (no
false positives). Only serialised protocol messages cross between the two custodians.

Two uses:

- :func:`overlap_size`: the client learns the size of the overlap and nothing else; the
  server learns the size of the client's set.
- :func:`joined_serials`: both custodians learn which of *their own* records are in the
  overlap (one PSI run each way) and nothing about the other's other records; each numbers
  its overlapping records by the order of ``HMAC-SHA256(k, key)`` under a key ``k`` derived
  from the custodians' shared linkage secret, so both give the same record the same number
  without ever exchanging it. That number, a position in a keyed random order fresh for each
  project, is the joined serial the hub receives with each content part: the hub learns the
  overlap and which content rows belong together, never a key, a token or a non-overlapping
  record. (The custodians learning their own records' membership is inherent in a two-party
  PSI that reveals the intersection; use :func:`overlap_size` when even that is too much.)
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ansim.errors import InvalidSpecError, LinkageError
from ansim.identity import LinkageSecret

__all__ = ["PsiTranscript", "joined_serials", "overlap_size"]

_FPR = 1e-9


def _psi() -> Any:
    try:
        import private_set_intersection.python as psi  # noqa: PLC0415 - native, lazy
    except ImportError as e:  # pragma: no cover - a dependency of the package
        raise InvalidSpecError(
            "encrypted linkage needs OpenMined PSI: pip install 'openmined-psi==2.0.6'"
        ) from e
    return psi


@dataclass
class PsiTranscript:
    """The serialised messages that crossed between the two custodians (for audit and tests).

    Attributes:
        messages: Each message in order: the client's request, the server's setup and response.
    """

    messages: list[bytes]

    @property
    def bytes_sent(self) -> int:
        """Total size of the messages."""
        return sum(len(m) for m in self.messages)


def _run(
    server_keys: Sequence[str], client_keys: Sequence[str], *, reveal: bool,
    transcript: PsiTranscript | None,
) -> Any:  # fmt: skip
    """One PSI run: the client's indices in the overlap (``reveal``) or the overlap's size."""
    psi = _psi()
    if not server_keys or not client_keys:
        return [] if reveal else 0
    try:
        client = psi.client.CreateWithNewKey(reveal)
        request = client.CreateRequest(list(client_keys)).SerializeToString()
        server = psi.server.CreateWithNewKey(reveal)
        setup = server.CreateSetupMessage(
            _FPR, len(client_keys), list(server_keys), psi.DataStructure.RAW
        ).SerializeToString()
        response = server.ProcessRequest(psi.Request.FromString(request)).SerializeToString()
        if transcript is not None:
            transcript.messages += [request, setup, response]
        parsed_setup, parsed = psi.ServerSetup.FromString(setup), psi.Response.FromString(response)
        if reveal:
            return client.GetIntersection(parsed_setup, parsed)
        return client.GetIntersectionSize(parsed_setup, parsed)
    except RuntimeError as e:
        raise LinkageError(f"private set intersection failed: {e}") from e


def _unique(keys: Sequence[str], side: str) -> list[str]:
    if any(not k for k in keys):
        raise InvalidSpecError(f"{side}: a key is empty; quarantine such records first")
    return list(dict.fromkeys(keys))


def overlap_size(
    server_keys: Sequence[str],
    client_keys: Sequence[str],
    *,
    transcript: PsiTranscript | None = None,
) -> int:
    """How many distinct keys the two custodians share; the client learns only this number.

    Example:
        >>> overlap_size(["123", "456", "789"], ["456", "000", "789"])
        2
    """
    server = _unique(server_keys, "server")
    client = _unique(client_keys, "client")
    return int(_run(server, client, reveal=False, transcript=transcript))


def _order_key(secret: LinkageSecret, project: str) -> bytes:
    return secret.derive(f"psi-order/{project}")


def _numbered(keys: Sequence[str], overlap: set[int], key: bytes) -> np.ndarray:
    """Per record, its joined serial (position in the keyed order) or -1."""
    distinct = list(dict.fromkeys(keys))
    members = sorted(
        (hmac.new(key, distinct[i].encode("utf-8"), hashlib.sha256).digest(), distinct[i])
        for i in overlap
    )
    number = {k: n for n, (_, k) in enumerate(members)}
    return np.array([number.get(k, -1) for k in keys], dtype=np.int64)


def joined_serials(
    keys_a: Sequence[str],
    keys_b: Sequence[str],
    secret: LinkageSecret,
    project: str,
    *,
    transcript: PsiTranscript | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Joined serials for two custodians' records, by PSI in both directions.

    Args:
        keys_a: Custodian A's standardised exact keys, one per record (duplicates share one).
        keys_b: Custodian B's.
        secret: The custodians' shared linkage secret (the hub never has it).
        project: The project (the keyed order is fresh per project).
        transcript: Collects the messages that crossed.

    Returns:
        Per record of A and of B, its joined serial (0..overlap-1), or -1 outside the overlap.

    Example:
        >>> s = LinkageSecret.generate()
        >>> a, b = joined_serials(["1", "2", "3"], ["3", "9", "1"], s, "p")
        >>> sorted(a.tolist()) == sorted(b.tolist()) == [-1, 0, 1]
        True
    """
    distinct_a, distinct_b = _unique(keys_a, "A"), _unique(keys_b, "B")
    in_a = set(_run(distinct_b, distinct_a, reveal=True, transcript=transcript))  # A is client
    in_b = set(_run(distinct_a, distinct_b, reveal=True, transcript=transcript))  # B is client
    if len(in_a) != len(in_b):
        raise LinkageError("the two PSI runs disagree on the overlap size: run them again")
    key = _order_key(secret, project)
    return _numbered(keys_a, in_a, key), _numbered(keys_b, in_b, key)
