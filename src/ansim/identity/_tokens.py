"""Linkage tokens (결합키): keyed HMAC-SHA256 over standardised identifier combinations."""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ansim.errors import InvalidSpecError
from ansim.identity._secret import LinkageSecret
from ansim.schema import IdentifierKind

__all__ = ["DEFAULT_RECIPES", "TokenRecipe", "make_tokens"]

_SEPARATOR = "\x1f"  # ASCII unit separator: cannot occur in a standardised value


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
    standardised: Mapping[IdentifierKind, Sequence[str | None]],
    secret: LinkageSecret,
) -> list[bytes | None]:
    """HMAC-SHA256 tokens for one recipe; a record missing any part gets no token (``None``).

    The recipe name is hashed too, so equal values under different recipes give unrelated
    tokens; a different project secret gives unlinkable tokens.

    Args:
        recipe: Which identifier kinds to combine.
        standardised: Standardised values by kind, one per record.
        secret: The project's linkage secret.

    Returns:
        32-byte tokens, one per record.

    Example:
        >>> secret = LinkageSecret(bytes(32))
        >>> recipe = TokenRecipe("rrn", (IdentifierKind.RRN,))
        >>> tokens = make_tokens(recipe, {IdentifierKind.RRN: ["8005221234567", None]}, secret)
        >>> len(tokens[0]), tokens[1]
        (32, None)
    """
    columns = [standardised[kind] for kind in recipe.kinds]
    base = hmac.new(secret.key, (recipe.name + _SEPARATOR).encode(), "sha256")
    tokens: list[bytes | None] = []
    append = tokens.append
    for parts in zip(*columns, strict=True):
        if None in parts:
            append(None)
            continue
        mac = base.copy()
        mac.update(_SEPARATOR.join(parts).encode())
        append(mac.digest())
    return tokens
