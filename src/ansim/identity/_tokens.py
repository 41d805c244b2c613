"""Linkage tokens (결합키): keyed HMAC-SHA256 over standardised identifier combinations."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from ansim.errors import InvalidSpecError
from ansim.identity._secret import LinkageSecret
from ansim.schema import IdentifierKind

__all__ = ["DEFAULT_RECIPES", "TokenRecipe", "make_tokens"]

_SEPARATOR = "\x1f"  # ASCII unit separator: cannot occur in a standardised value
_BLOCK = 64  # SHA-256 block size


@dataclass(frozen=True)
class TokenRecipe:
    """A combination of identifier kinds hashed into one linkage token.

    Args:
        name: Token name, also the identity part's column (``token_<name>``).
        kinds: The identifier kinds combined, in order.

    Example:
        >>> TokenRecipe("name_birth_sex", (IdentifierKind.KOREAN_NAME, IdentifierKind.BIRTH_DATE,
        ...     IdentifierKind.SEX)).column
        'token_name_birth_sex'
    """

    name: str
    kinds: tuple[IdentifierKind, ...]

    def __post_init__(self) -> None:
        if not self.name.isidentifier() or not self.name.islower():
            raise InvalidSpecError(f"token name {self.name!r} must be a lower-case identifier")
        if not self.kinds or len(set(self.kinds)) != len(self.kinds):
            raise InvalidSpecError(f"token {self.name!r} needs distinct identifier kinds")

    @property
    def column(self) -> str:
        """Column name of this token in an identity part."""
        return f"token_{self.name}"

    @classmethod
    def parse(cls, text: str) -> TokenRecipe:
        """A recipe from ``name=kind+kind…``, or the name of a default recipe alone.

        Example:
            >>> TokenRecipe.parse("name_phone=korean_name+phone").kinds
            (<IdentifierKind.KOREAN_NAME: 'korean_name'>, <IdentifierKind.PHONE: 'phone'>)
            >>> TokenRecipe.parse("rrn") == DEFAULT_RECIPES[0]
            True
        """
        name, _, kinds = text.strip().partition("=")
        if not kinds:
            known = {r.name: r for r in DEFAULT_RECIPES}
            if name not in known:
                raise InvalidSpecError(
                    f"unknown token {name!r}: give NAME=KIND+KIND or one of {sorted(known)}"
                )
            return known[name]
        try:
            parsed = tuple(IdentifierKind(k.strip()) for k in kinds.split("+"))
        except ValueError:
            allowed = ", ".join(k.value for k in IdentifierKind)
            raise InvalidSpecError(f"token {name!r}: kinds must be among {allowed}") from None
        return cls(name.strip(), parsed)


DEFAULT_RECIPES: tuple[TokenRecipe, ...] = (
    TokenRecipe("rrn", (IdentifierKind.RRN,)),
    TokenRecipe(
        "name_birth_sex",
        (IdentifierKind.KOREAN_NAME, IdentifierKind.BIRTH_DATE, IdentifierKind.SEX),
    ),
    TokenRecipe("name_phone", (IdentifierKind.KOREAN_NAME, IdentifierKind.PHONE)),
)
"""Tokens made when a spec has their identifiers: RRN; name + birth date + sex; name + phone."""


def make_tokens(
    recipe: TokenRecipe,
    standardised: Mapping[IdentifierKind, Sequence[str | None] | pa.Array],
    secret: LinkageSecret,
) -> pa.Array:
    """HMAC-SHA256 tokens for one recipe; a record missing any part gets no token (null).

    The key is the project secret's ``tokens`` key (HKDF); the recipe name is hashed too, so
    equal values under different recipes give unrelated tokens; a different project secret
    gives unlinkable tokens.

    Args:
        recipe: Which identifier kinds to combine.
        standardised: Standardised values by kind, one per record.
        secret: The project's linkage secret.

    Returns:
        32-byte tokens (``binary(32)``), one per record.

    Example:
        >>> secret = LinkageSecret(bytes(32))
        >>> recipe = TokenRecipe("rrn", (IdentifierKind.RRN,))
        >>> tokens = make_tokens(recipe, {IdentifierKind.RRN: ["8005221234567", None]}, secret)
        >>> len(tokens[0].as_py()), tokens[1].as_py()
        (32, None)
    """
    columns = [pa.array(standardised[kind], pa.string()) for kind in recipe.kinds]
    joined = pc.binary_join_element_wise(*columns, _SEPARATOR, null_handling="emit_null")
    messages = joined.cast(pa.binary()).to_pylist()
    # HMAC by hand from hashlib states (RFC 2104), so each token costs two C-level copies
    # instead of a Python-level hmac.HMAC.copy(); checked against hmac.new in the tests.
    key = secret.derive("tokens").ljust(_BLOCK, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
    inner.update((recipe.name + _SEPARATOR).encode())
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))
    inner_copy, outer_copy = inner.copy, outer.copy
    tokens: list[bytes | None] = []
    append = tokens.append
    for message in messages:
        if message is None:
            append(None)
            continue
        mac = inner_copy()
        mac.update(message)
        out = outer_copy()
        out.update(mac.digest())
        append(out.digest())
    return pa.array(tokens, pa.binary(32))
