"""Whole-column standardisation: Arrow kernels for common forms, scalar functions for the rest.

Each column is standardised in bulk with Arrow compute (no Python per value) where the value has
its common shape (Hangul names, ``YYMMDD-SNNNNNN``, ``010-1234-5678``); every other value goes
through the scalar function of :mod:`ansim.identity._standardise`, so results are the same as
calling it on each value, and invalid values are counted, not guessed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ansim.errors import InvalidIdentifierError
from ansim.identity._address import bulk_standardise_common, standardise_address
from ansim.identity._standardise import (
    standardise_name,
    standardise_phone,
    standardise_rrn,
    standardise_sex,
)
from ansim.schema import IdentifierKind

__all__ = ["StandardisedColumn", "standardise_array"]

_NAME_PUNCTUATION = r"[\s\.\,\-\_\'\"\x{00b7}\x{318d}\x{2027}\x{30fb}\(\)]+"
_SCALAR: dict[IdentifierKind, Callable[[str | None], str | None]] = {
    IdentifierKind.KOREAN_NAME: standardise_name,
    IdentifierKind.RRN: standardise_rrn,
    IdentifierKind.PHONE: standardise_phone,
    IdentifierKind.SEX: standardise_sex,
    IdentifierKind.ADDRESS: standardise_address,
}


@dataclass(frozen=True)
class StandardisedColumn:
    """A standardised column and how many of its values were invalid.

    Attributes:
        values: Standardised text (null where blank or invalid).
        invalid: Values that could not be standardised as their kind.
    """

    values: pa.Array
    invalid: int


def _blank(text: pa.Array) -> pa.Array:
    return pc.or_kleene(pc.is_null(text), pc.equal(pc.utf8_trim_whitespace(text), ""))


def _fast_name(text: pa.Array) -> pa.Array:
    out = pc.utf8_normalize(pc.utf8_normalize(text, "NFKC"), "NFC")
    out = pc.replace_substring_regex(out, _NAME_PUNCTUATION, "")
    return pc.if_else(pc.match_substring_regex(out, r"^[가-힣]+$"), out, None)


def _fast_rrn(text: pa.Array) -> pa.Array:
    out = pc.utf8_trim_whitespace(text)
    ok = pc.match_substring_regex(out, r"^[0-9]{6}-?[0-9]{7}$")
    return pc.if_else(ok, pc.replace_substring(out, "-", ""), None)


def _fast_phone(text: pa.Array) -> pa.Array:
    out = pc.replace_substring_regex(text, r"[\s\-\.]", "")
    return pc.if_else(pc.match_substring_regex(out, r"^0[0-9]{8,10}$"), out, None)


_FAST: dict[IdentifierKind, Callable[[pa.Array], pa.Array]] = {
    IdentifierKind.KOREAN_NAME: _fast_name,
    IdentifierKind.RRN: _fast_rrn,
    IdentifierKind.PHONE: _fast_phone,
    IdentifierKind.ADDRESS: bulk_standardise_common,
}


def standardise_array(
    kind: IdentifierKind, raw: pa.Array | Sequence[str | None]
) -> StandardisedColumn:
    """Standardise a whole column of one identifier kind.

    Gives exactly what the kind's scalar function gives value by value (``standardise_name``,
    ``standardise_rrn``, ``standardise_phone``, ``standardise_sex``, ``standardise_address``),
    with invalid values as null and counted.

    Args:
        kind: The identifier kind (name, RRN, phone, sex or address).
        raw: The column as recorded.

    Returns:
        The standardised column.

    Example:
        >>> col = standardise_array(IdentifierKind.RRN, ["800522-1234564", "12", None])
        >>> col.values.to_pylist(), col.invalid
        (['8005221234564', None, None], 1)
    """
    scalar = _SCALAR[kind]
    text = pa.array(raw, pa.string()) if not isinstance(raw, pa.Array) else raw.cast(pa.string())
    fast = _FAST.get(kind)
    out = fast(text) if fast is not None else pa.nulls(len(text), pa.string())
    pending = pc.and_(pc.is_null(out), pc.invert(_blank(text)))
    rows = np.flatnonzero(pending.to_numpy(zero_copy_only=False))
    if rows.size == 0:
        return StandardisedColumn(out, 0)
    todo = pc.take(text, pa.array(rows))
    encoded = pc.dictionary_encode(todo)  # each distinct remaining value standardised once
    results: list[str | None] = []
    invalid_codes: list[bool] = []
    for value in encoded.dictionary.to_pylist():
        try:
            results.append(scalar(value))
            invalid_codes.append(False)
        except InvalidIdentifierError:
            results.append(None)
            invalid_codes.append(True)
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    invalid = int(np.asarray(invalid_codes, dtype=np.bool_)[codes].sum()) if results else 0
    filled = pa.array(results, pa.string()).take(encoded.indices)
    values = _scatter(out, rows, filled)
    return StandardisedColumn(values, invalid)


def _scatter(base: pa.Array, rows: np.ndarray, values: pa.Array) -> pa.Array:
    """``base`` with ``values`` placed at ``rows``."""
    mask = np.zeros(len(base), dtype=np.bool_)
    mask[rows] = True
    return pc.replace_with_mask(base, pa.array(mask), values)
