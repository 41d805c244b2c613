"""What an identifier looks like in a column of text: RRN-, phone-, name- and address-shaped values.

Shared by the custodian's content-part scan and the hub's ``disclose microdata --keep`` check,
so both refuse the same values. Patterns run over whole columns (RE2, through Arrow).
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "ADDRESS_PLACE",
    "HANGUL_RUN",
    "IDENTIFIER_PATTERNS",
    "MAX_NAME",
    "MIN_NAME",
    "address_places",
    "column_as_text",
    "find_identifier_shapes",
]

_EDGE_L, _EDGE_R = r"(?:^|[^0-9])", r"(?:[^0-9]|$)"
IDENTIFIER_PATTERNS: dict[str, str] = {
    "a resident registration number": (
        _EDGE_L + r"[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])\s*-?\s*[0-9]{7}" + _EDGE_R
    ),
    "a mobile phone number": _EDGE_L + r"01[016789][\s.\-]?[0-9]{3,4}[\s.\-]?[0-9]{4}" + _EDGE_R,
    "a landline phone number": (
        _EDGE_L + r"(?:02|0[3-6][1-5])[\s.\-)]?[0-9]{3,4}[\s.\-]?[0-9]{4}" + _EDGE_R
    ),
}
"""What each identifier shape looks like (RE2 syntax, run by Arrow over whole columns)."""
HANGUL_RUN = re.compile(r"[가-힣]{2,}")
ADDRESS_PLACE = re.compile(
    r"([가-힣][가-힣0-9]*(?:로|길|동|리|가))\s*(산\s*)?([0-9]{1,5}(?:-[0-9]{1,5})?)(?![0-9])"
)
"""A street (road name or dong/ri) followed by its building or lot number: one dwelling."""


def address_places(text: str) -> set[str]:
    """The dwellings (street + number, spaces removed) a text names.

    Example:
        >>> sorted(address_places("수원시 정조로 123, 옛 주소 매산로1가 12-3"))
        ['매산로1가12-3', '정조로123']
        >>> address_places("3일 뒤 병원으로 이송") == set()
        True
    """
    normal = unicodedata.normalize("NFKC", text)
    return {f"{street}{hill or ''}{number}".replace(" ", "") for street, hill, number in
            ADDRESS_PLACE.findall(normal)}  # fmt: skip


MIN_NAME = 2
MAX_NAME = 5


def column_as_text(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """A column as NFKC text (numbers and categories included), for the shape patterns."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_dictionary(array.type):
        array = array.cast(array.type.value_type)
    text = array.cast(pa.string())
    return pc.utf8_normalize(text, "NFKC")


def _first(mask: pa.Array) -> int | None:
    hits = np.flatnonzero(pc.fill_null(mask, False).to_numpy(zero_copy_only=False))
    return int(hits[0]) if hits.size else None


def _names_in(text: pa.Array, names: frozenset[str]) -> int | None:
    """Position of the first value holding one of ``names`` as (part of) a Hangul run."""
    if not names:
        return None
    encoded = pc.dictionary_encode(text)
    hits = []
    for code, value in enumerate(encoded.dictionary.to_pylist()):
        if value is None:
            continue
        for run in HANGUL_RUN.findall(unicodedata.normalize("NFC", value)):
            windows = {
                run[i : i + n]
                for n in range(MIN_NAME, min(MAX_NAME, len(run)) + 1)
                for i in range(len(run) - n + 1)
            }
            # Two-syllable names only count when they are the whole run (too common otherwise).
            if any(w in names and (len(w) > MIN_NAME or w == run) for w in windows):
                hits.append(code)
                break
    if not hits:
        return None
    indices = encoded.indices.to_numpy(zero_copy_only=False)
    found = np.flatnonzero(np.isin(indices, np.asarray(hits)))
    return int(found[0]) if found.size else None


def _places_in(text: pa.Array, places: frozenset[str]) -> int | None:
    """Position of the first value naming one of ``places`` (see :func:`address_places`)."""
    if not places:
        return None
    encoded = pc.dictionary_encode(text)
    hits = [
        code
        for code, value in enumerate(encoded.dictionary.to_pylist())
        if value is not None and not address_places(value).isdisjoint(places)
    ]
    if not hits:
        return None
    indices = encoded.indices.to_numpy(zero_copy_only=False)
    found = np.flatnonzero(np.isin(indices, np.asarray(hits)))
    return int(found[0]) if found.size else None


def find_identifier_shapes(
    text: pa.Array, names: frozenset[str] = frozenset(), places: frozenset[str] = frozenset()
) -> tuple[int, str] | None:
    """The first row (0-based) holding an identifier-shaped value, and what it looks like.

    Args:
        text: A column as text.
        names: Standardised names of the people in the same file.
        places: Dwellings (street + number, see :func:`address_places`) of the people in the
            same file.

    Returns:
        ``(row, description)`` of the first hit, or ``None``.

    Example:
        >>> col = pa.array(["fine", "call 010-1234-5678", None])
        >>> find_identifier_shapes(col)
        (1, 'a mobile phone number')
        >>> find_identifier_shapes(pa.array(["김민준 visited"]), frozenset({"김민준"}))
        (0, 'a name of a person in this file')
        >>> find_identifier_shapes(pa.array(["이사: 정조로 12"]), places=frozenset({"정조로12"}))
        (0, 'an address of a person in this file')
        >>> find_identifier_shapes(pa.array(["2024-05-22", "41111", "12.5"])) is None
        True
    """
    found: list[tuple[int, str]] = []
    for what, pattern in IDENTIFIER_PATTERNS.items():
        row = _first(pc.match_substring_regex(text, pattern))
        if row is not None:
            found.append((row, what))
    row = _names_in(text, names)
    if row is not None:
        found.append((row, "a name of a person in this file"))
    row = _places_in(text, places)
    if row is not None:
        found.append((row, "an address of a person in this file"))
    return min(found) if found else None
