"""The last check before a content part is written: no identifier-shaped value may travel.

A spec's roles decide which columns go to the hub, but a free-text note, a mislabelled column
or an upstream export error can still hold registration numbers, phone numbers or the names of
the people in the file. Every content column is scanned (as text) for values shaped like an RRN
(``YYMMDD-SNNNNNN``, date-plausible), a Korean mobile (``01X``) or landline (``02``, ``0[3-6]X``)
number, or a Hangul run naming one of the people in the same file's name column. The first hit
stops the preparation with the column and the row (never the value). A column may be exempted
only by ``scan_exempt: <reason>`` in its spec entry.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ansim.errors import IdentifierInContentError
from ansim.identity._columns import standardise_array
from ansim.schema import ColumnType, DatasetSpec, IdentifierKind

__all__ = ["IDENTIFIER_PATTERNS", "find_identifier_shapes", "scan_content"]

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
_HANGUL_RUN = re.compile(r"[가-힣]{2,}")
_MIN_NAME = 2
_MAX_NAME = 5


def _as_text(column: pa.ChunkedArray | pa.Array) -> pa.Array:
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
        for run in _HANGUL_RUN.findall(unicodedata.normalize("NFC", value)):
            windows = {
                run[i : i + n]
                for n in range(_MIN_NAME, min(_MAX_NAME, len(run)) + 1)
                for i in range(len(run) - n + 1)
            }
            # Two-syllable names only count when they are the whole run (too common otherwise).
            if any(w in names and (len(w) > _MIN_NAME or w == run) for w in windows):
                hits.append(code)
                break
    if not hits:
        return None
    indices = encoded.indices.to_numpy(zero_copy_only=False)
    found = np.flatnonzero(np.isin(indices, np.asarray(hits)))
    return int(found[0]) if found.size else None


def find_identifier_shapes(
    text: pa.Array, names: frozenset[str] = frozenset()
) -> tuple[int, str] | None:
    """The first row (0-based) holding an identifier-shaped value, and what it looks like.

    Args:
        text: A column as text.
        names: Standardised names of the people in the same file.

    Returns:
        ``(row, description)`` of the first hit, or ``None``.

    Example:
        >>> col = pa.array(["fine", "call 010-1234-5678", None])
        >>> find_identifier_shapes(col)
        (1, 'a mobile phone number')
        >>> find_identifier_shapes(pa.array(["김민준 visited"]), frozenset({"김민준"}))
        (0, 'a name of a person in this file')
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
    return min(found) if found else None


def _file_names(spec: DatasetSpec, records: pa.Table) -> frozenset[str]:
    names: set[str] = set()
    for column in spec.direct_identifiers:
        if column.effective_kind is IdentifierKind.KOREAN_NAME:
            values = standardise_array(
                IdentifierKind.KOREAN_NAME, records[column.name].combine_chunks()
            )
            names |= {
                v
                for v in pc.unique(values.values).to_pylist()
                if v and _MIN_NAME <= len(v) <= _MAX_NAME and _HANGUL_RUN.fullmatch(v)
            }
    return frozenset(names)


def scan_content(spec: DatasetSpec, records: pa.Table, *, row_offset: int = 0) -> None:
    """Refuse a content part that would carry an identifier-shaped value.

    Args:
        spec: The dataset spec; columns with ``scan_exempt`` are skipped.
        records: The ingested rows about to be split.
        row_offset: Added to row numbers in the message (rows are numbered from 1).

    Raises:
        IdentifierInContentError: A content column holds an RRN-, phone- or name-shaped value;
            the message names the column and the row, never the value.

    Example:
        >>> spec = DatasetSpec.from_yaml_text('''
        ... dataset: d
        ... custodian: c
        ... record_id: id
        ... columns:
        ...   note: {type: string, role: attribute}
        ... ''')
        >>> scan_content(spec, pa.table({"id": ["1"], "note": ["ok"]}))
        >>> scan_content(
        ...     spec, pa.table({"id": ["1", "2"], "note": ["ok", "800522-1234567"]})
        ... )  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ansim.errors.IdentifierInContentError: dataset 'd': content column 'note', row 2 holds ...
    """
    names = _file_names(spec, records)
    for column in spec.content_columns:
        if column.scan_exempt is not None or column.type is ColumnType.DATE:
            continue
        hit = find_identifier_shapes(_as_text(records[column.name]), names)
        if hit is not None:
            row, what = hit
            raise IdentifierInContentError(
                f"dataset {spec.dataset!r}: content column {column.name!r}, row "
                f"{row + 1 + row_offset} holds a value shaped like {what}; it would reach the "
                "hub in the clear. Remove it, declare the column a direct_identifier, or exempt "
                "the column with 'scan_exempt: <reason>' in the spec"
            )
