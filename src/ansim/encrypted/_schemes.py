"""The homomorphic schemes of the encrypted mode and the project's public and secret keys.

Two schemes of Microsoft SEAL, through TenSEAL: **CKKS** (approximate arithmetic on real
numbers; amounts such as payments and turnover) and **BFV** (exact arithmetic on integers
modulo a prime; counts and indicators). Both pack thousands of values into one ciphertext
(batching), so the hub's work grows with the number of ciphertexts, not of records.

The parameters are fixed, named and checked: a polynomial degree of 8192 gives 128-bit security
for the coefficient moduli used here (SEAL's table: at most 218 bits at degree 8192).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ansim.errors import InvalidSpecError

__all__ = [
    "BFV",
    "CKKS",
    "ProjectCipherKeys",
    "Scheme",
    "SchemeParameters",
    "fingerprint",
    "public_context",
    "tenseal",
]

_MAX_COEFF_BITS = {4096: 109, 8192: 218, 16384: 438}  # SEAL's 128-bit security bounds


def tenseal() -> Any:
    """The TenSEAL module, imported lazily (it loads a native library).

    Raises:
        InvalidSpecError: TenSEAL is not installed.
    """
    try:
        import tenseal as ts  # noqa: PLC0415 - a native library, loaded only in encrypted mode
    except ImportError as e:  # pragma: no cover - a dependency of the package
        raise InvalidSpecError(
            "the encrypted mode needs TenSEAL: pip install 'tenseal==0.3.18'"
        ) from e
    return ts


class Scheme(StrEnum):
    """A homomorphic scheme: ``ckks`` (approximate reals) or ``bfv`` (exact integers)."""

    CKKS = "ckks"
    BFV = "bfv"


@dataclass(frozen=True)
class SchemeParameters:
    """Parameters of one scheme.

    Attributes:
        scheme: CKKS or BFV.
        poly_modulus_degree: SEAL's polynomial degree N; a ciphertext holds N/2 values.
        coeff_mod_bit_sizes: The coefficient modulus chain (CKKS; BFV uses SEAL's default).
        scale_bits: CKKS scale 2^bits: the fixed-point precision of encoded values.
        plain_modulus: BFV's plaintext modulus, a prime ≡ 1 mod 2N; sums are exact below it.

    Example:
        >>> CKKS.slots, BFV.slots
        (4096, 4096)
    """

    scheme: Scheme
    poly_modulus_degree: int
    coeff_mod_bit_sizes: tuple[int, ...] = ()
    scale_bits: int = 0
    plain_modulus: int = 0

    def __post_init__(self) -> None:
        """Check the security bound and each scheme's own parameters."""
        bound = _MAX_COEFF_BITS.get(self.poly_modulus_degree)
        if bound is None:
            raise InvalidSpecError(
                f"poly_modulus_degree must be one of {sorted(_MAX_COEFF_BITS)}, "
                f"not {self.poly_modulus_degree}"
            )
        if sum(self.coeff_mod_bit_sizes) > bound:
            raise InvalidSpecError(
                f"coefficient modulus of {sum(self.coeff_mod_bit_sizes)} bits exceeds the "
                f"128-bit security bound ({bound}) at degree {self.poly_modulus_degree}"
            )
        if self.scheme is Scheme.CKKS and (
            len(self.coeff_mod_bit_sizes) < 3 or not 20 <= self.scale_bits <= 60  # noqa: PLR2004
        ):
            raise InvalidSpecError("CKKS needs at least three moduli and a scale of 2^20..2^60")
        if self.scheme is Scheme.BFV and self.plain_modulus % (2 * self.poly_modulus_degree) != 1:
            raise InvalidSpecError("BFV's plain modulus must be ≡ 1 mod 2N for batching")

    @property
    def slots(self) -> int:
        """Values per ciphertext."""
        return self.poly_modulus_degree // 2

    def new_context(self) -> Any:
        """A fresh TenSEAL context with a new secret key, Galois keys for slot sums."""
        ts = tenseal()
        if self.scheme is Scheme.CKKS:
            ctx = ts.context(
                ts.SCHEME_TYPE.CKKS,
                poly_modulus_degree=self.poly_modulus_degree,
                coeff_mod_bit_sizes=list(self.coeff_mod_bit_sizes),
            )
            ctx.global_scale = 2.0**self.scale_bits
        else:
            ctx = ts.context(
                ts.SCHEME_TYPE.BFV,
                poly_modulus_degree=self.poly_modulus_degree,
                plain_modulus=self.plain_modulus,
            )
        ctx.generate_galois_keys()
        return ctx


CKKS = SchemeParameters(Scheme.CKKS, 8192, (60, 40, 40, 60), scale_bits=40)
"""CKKS at degree 8192, moduli 60+40+40+60 bits (200 ≤ 218), scale 2^40: one plaintext
multiplication (the hub's group mask) leaves 100 bits, room for sums up to about 2^59 units."""

BFV = SchemeParameters(Scheme.BFV, 8192, plain_modulus=1_099_511_922_689)
"""BFV at degree 8192 (SEAL's default moduli) with a 41-bit prime plain modulus
(1 099 511 922 689 ≡ 1 mod 16384): integer sums are exact below 1.0995e12."""


def _fingerprint(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:32]


@dataclass(frozen=True)
class ProjectCipherKeys:
    """A project's encryption keys for one scheme: the public context and the secret one.

    The public context (public key, relinearisation and Galois keys, no secret key) goes to
    custodians and the hub; the secret context is escrowed at once (``ansim.encrypted``'s
    :class:`KeyEscrow`) and never stored whole.

    Attributes:
        parameters: The scheme's parameters.
        public: The serialised public context.
        secret: The serialised context with its secret key.
    """

    parameters: SchemeParameters
    public: bytes
    secret: bytes

    @classmethod
    def generate(cls, parameters: SchemeParameters) -> ProjectCipherKeys:
        """Generate fresh keys.

        Example:
            >>> keys = ProjectCipherKeys.generate(BFV)
            >>> len(keys.fingerprint)
            32
        """
        ctx = parameters.new_context()
        secret = bytes(ctx.serialize(save_secret_key=True))
        ctx.make_context_public()
        return cls(parameters, bytes(ctx.serialize()), secret)

    @property
    def fingerprint(self) -> str:
        """Fingerprint of the public context (names the keys in packages and audit events)."""
        return _fingerprint(self.public)

    def __repr__(self) -> str:
        return f"ProjectCipherKeys({self.parameters.scheme.value}, {self.fingerprint})"


def public_context(data: bytes) -> Any:
    """Load a public context, refusing one that carries a secret key."""
    ctx = tenseal().context_from(data)
    if ctx.is_private():
        raise InvalidSpecError("this context holds a secret key: give parties the public one")
    return ctx


def fingerprint(data: bytes) -> str:
    """Fingerprint of a serialised public context."""
    return _fingerprint(data)
