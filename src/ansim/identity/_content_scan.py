"""The last check before a content part is written: no identifier-shaped value may travel.

A spec's roles decide which columns go to the hub, but a free-text note, a mislabelled column
or an upstream export error can still hold registration numbers, phone numbers or the names of
the people in the file. Every content column is scanned (as text) for values shaped like an RRN
(``YYMMDD-SNNNNNN``, date-plausible), a Korean mobile (``01X``) or landline (``02``, ``0[3-6]X``)
number, a Hangul run naming one of the people in the same file's name column, or a street and
building (or lot) number where one of them lives by the file's address column. The first hit
stops the preparation with the column and the row (never the value). A column may be exempted
only by ``scan_exempt: <reason>`` in its spec entry.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from ansim.errors import IdentifierInContentError
from ansim.identity._columns import standardise_array
from ansim.schema import ColumnType, DatasetSpec, IdentifierKind
from ansim.tabular._shapes import (
    HANGUL_RUN,
    IDENTIFIER_PATTERNS,
    MAX_NAME,
    MIN_NAME,
    address_places,
    column_as_text,
    find_identifier_shapes,
)

__all__ = [
    "IDENTIFIER_PATTERNS",
    "file_names",
    "file_places",
    "find_identifier_shapes",
    "scan_content",
]


def file_names(spec: DatasetSpec, records: pa.Table) -> frozenset[str]:
    """Standardised Hangul full names (two to five syllables) of the file's name columns."""
    names: set[str] = set()
    for column in spec.direct_identifiers:
        if column.effective_kind is IdentifierKind.KOREAN_NAME:
            values = standardise_array(
                IdentifierKind.KOREAN_NAME, records[column.name].combine_chunks()
            )
            names |= {
                v
                for v in pc.unique(values.values).to_pylist()
                if v and MIN_NAME <= len(v) <= MAX_NAME and HANGUL_RUN.fullmatch(v)
            }
    return frozenset(names)


def file_places(spec: DatasetSpec, records: pa.Table) -> frozenset[str]:
    """The dwellings (street + number) of the file's address columns."""
    places: set[str] = set()
    for column in spec.direct_identifiers:
        if column.effective_kind is IdentifierKind.ADDRESS:
            text = column_as_text(records[column.name])
            for value in pc.unique(text).to_pylist():
                if value:
                    places |= address_places(value)
    return frozenset(places)


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
    names = file_names(spec, records)
    places = file_places(spec, records)
    for column in spec.content_columns:
        if column.scan_exempt is not None or column.type is ColumnType.DATE:
            continue
        hit = find_identifier_shapes(column_as_text(records[column.name]), names, places)
        if hit is not None:
            row, what = hit
            raise IdentifierInContentError(
                f"dataset {spec.dataset!r}: content column {column.name!r}, row "
                f"{row + 1 + row_offset} holds a value shaped like {what}; it would reach the "
                "hub in the clear. Remove it, declare the column a direct_identifier, or exempt "
                "the column with 'scan_exempt: <reason>' in the spec"
            )
