"""Quasi-identifier columns encoded as integers, deduplicated, with per-level label maps.

The search works on the distinct combinations of the original values (plus the sensitive
value, when a model needs one) with their record counts: group sizes for any generalisation
are then a gather, a mixed-radix key and a sort over at most that many rows, in NumPy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from ansim.disclosure._hierarchy import Hierarchy, _shown
from ansim.errors import InvalidSpecError

__all__: list[str] = []

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class Encoded:
    """Encoded data for the search (internal).

    Attributes:
        attributes: the quasi-identifiers, in lattice order.
        heights: levels per attribute (level 0 included).
        tuples: distinct combinations, one column per QI: row index in its hierarchy.
        counts: records per distinct combination.
        inverse: for every record, its distinct combination.
        labels: ``labels[d][level]``: label id of every hierarchy row at that level.
        label_sizes: ``label_sizes[d][level]``: hierarchy rows per label id (domain share × size).
        sensitive: sensitive-value code per distinct combination, or None.
        sensitive_values: the sensitive attribute's distinct values, in code order.
    """

    attributes: tuple[str, ...]
    heights: tuple[int, ...]
    tuples: IntArray
    counts: IntArray
    inverse: IntArray
    labels: tuple[tuple[IntArray, ...], ...]
    label_sizes: tuple[tuple[IntArray, ...], ...]
    domain_sizes: tuple[int, ...]
    sensitive: IntArray | None
    sensitive_values: tuple[str, ...]
    cache: dict[tuple[int, int], IntArray] = field(default_factory=dict, repr=False)

    @property
    def records(self) -> int:
        """Number of records."""
        return int(self.counts.sum())


def _level_labels(h: Hierarchy) -> tuple[tuple[IntArray, ...], tuple[IntArray, ...]]:
    labels: list[IntArray] = []
    sizes: list[IntArray] = []
    for level in range(h.height):
        column = [row[level] for row in h.rows]
        _, ids, size = np.unique(
            np.array(column, dtype=object), return_inverse=True, return_counts=True
        )
        labels.append(ids.astype(np.int64))
        sizes.append(size.astype(np.int64))
    return tuple(labels), tuple(sizes)


def _dictionary(column: pa.ChunkedArray | pa.Array) -> tuple[list[str], IntArray]:
    """Distinct values of a string column and every record's index into them."""
    encoded = pc.dictionary_encode(column)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    values = [str(v) if v is not None else "" for v in encoded.dictionary.to_pylist()]
    indices = encoded.indices.fill_null(len(values)).to_numpy(zero_copy_only=False)
    if encoded.null_count:
        values.append("")
    return values, indices.astype(np.int64)


def _codes(column: pa.ChunkedArray | pa.Array, h: Hierarchy) -> IntArray:
    """Row index in the hierarchy for every value; a clear error for the first missing one."""
    values, indices = _dictionary(column)
    rows = np.empty(len(values), dtype=np.int64)
    # Surrounding blanks are tolerated (hierarchy cells are stripped when read).
    positions = [h.position(v) if h.position(v) is not None else h.position(v.strip())
                 for v in values]  # fmt: skip
    missing = [i for i, p in enumerate(positions) if p is None]
    if missing:
        first_record = int(np.flatnonzero(np.isin(indices, missing))[0]) + 1
        value = values[int(indices[first_record - 1])]
        raise InvalidSpecError(
            f"attribute {h.attribute!r}: value {_shown(value)} (first in record {first_record}) "
            f"is not in its hierarchy ({len(missing)} distinct value(s) missing); add a row "
            "for each to the hierarchy file"
        )
    for i, p in enumerate(positions):
        rows[i] = p or 0  # never None here: missing values raised above
    return rows[indices]


def encode(
    table: pa.Table,
    hierarchies: Mapping[str, Hierarchy],
    attributes: Sequence[str],
    sensitive: str | None = None,
) -> Encoded:
    """Encode the QI columns (and optionally one sensitive column) for the search.

    Raises:
        InvalidSpecError: no QIs, no records, a column or hierarchy missing, or a value
            missing from its hierarchy.
    """
    if not attributes:
        raise InvalidSpecError("no quasi-identifiers given; name at least one")
    if len(set(attributes)) != len(attributes):
        raise InvalidSpecError("a quasi-identifier is named twice; name each once")
    if table.num_rows == 0:
        raise InvalidSpecError("the input has no records")
    for name in [*attributes, *([sensitive] if sensitive else [])]:
        if name not in table.column_names:
            raise InvalidSpecError(
                f"column {name!r} is not in the input (columns: {', '.join(table.column_names)})"
            )
    if sensitive is not None and sensitive in attributes:
        raise InvalidSpecError(f"{sensitive!r} cannot be both quasi-identifier and sensitive")
    code_columns: list[IntArray] = []
    widths: list[int] = []
    all_labels = []
    all_sizes = []
    for attribute in attributes:
        if attribute not in hierarchies:
            raise InvalidSpecError(f"no hierarchy for quasi-identifier {attribute!r}")
        h = hierarchies[attribute]
        code_columns.append(_codes(table.column(attribute), h))
        widths.append(h.domain_size)
        labels, sizes = _level_labels(h)
        all_labels.append(labels)
        all_sizes.append(sizes)
    sensitive_values: tuple[str, ...] = ()
    if sensitive is not None:
        s_values, s_codes = _dictionary(table.column(sensitive))
        order = np.argsort(np.array(s_values, dtype=object))
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        sensitive_values = tuple(s_values[i] for i in order.tolist())
        code_columns.append(rank[s_codes])
        widths.append(len(s_values))
    distinct, inverse, counts = _distinct(code_columns, widths)
    m = len(attributes)
    return Encoded(
        attributes=tuple(attributes),
        heights=tuple(hierarchies[a].height for a in attributes),
        tuples=np.ascontiguousarray(distinct[:, :m]),
        counts=counts,
        inverse=inverse,
        labels=tuple(all_labels),
        label_sizes=tuple(all_sizes),
        domain_sizes=tuple(hierarchies[a].domain_size for a in attributes),
        sensitive=np.ascontiguousarray(distinct[:, m]) if sensitive is not None else None,
        sensitive_values=sensitive_values,
    )


def _distinct(
    columns: Sequence[IntArray], widths: Sequence[int]
) -> tuple[IntArray, IntArray, IntArray]:
    """Distinct rows of integer columns, each record's row, and the row counts."""
    if float(np.prod([float(w) for w in widths])) < 2.0**62:
        key = np.zeros(len(columns[0]), dtype=np.int64)
        for column, width in zip(columns, widths, strict=True):
            key = key * width + column
        unique, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
        distinct = np.empty((len(unique), len(columns)), dtype=np.int64)
        rest = unique
        for j in range(len(columns) - 1, -1, -1):
            rest, distinct[:, j] = np.divmod(rest, widths[j])
    else:
        matrix = np.stack(columns, axis=1)
        distinct, inverse, counts = np.unique(
            matrix, axis=0, return_inverse=True, return_counts=True
        )
    return distinct.astype(np.int64), inverse.reshape(-1).astype(np.int64), counts.astype(np.int64)


_CACHE_LIMIT = 50_000_000  # cached generalised codes, in array elements


def _generalised(encoded: Encoded, d: int, level: int) -> IntArray:
    """Label id of every distinct combination's value ``d`` at ``level`` (cached if small)."""
    key = (d, level)
    cached = encoded.cache.get(key)
    if cached is not None:
        return cached
    ids = encoded.labels[d][level][encoded.tuples[:, d]]
    if len(encoded.cache) * len(encoded.counts) < _CACHE_LIMIT:
        encoded.cache[key] = ids
    return ids


def class_ids(encoded: Encoded, levels: Sequence[int]) -> tuple[IntArray, int]:
    """Equivalence class of every distinct combination under ``levels``, and the class count."""
    rows = len(encoded.counts)
    key = np.zeros(rows, dtype=np.int64)
    radix = 1
    for d, level in enumerate(levels):
        width = len(encoded.label_sizes[d][level])
        if radix > (2**62) // max(width, 1):
            break
        key += _generalised(encoded, d, level) * radix
        radix *= width
    else:
        if radix <= 8 * rows + 1024:
            # Dense keys: compact them through a lookup table instead of sorting.
            present = np.zeros(radix, dtype=bool)
            present[key] = True
            lookup = np.cumsum(present) - 1
            return lookup[key], int(lookup[-1]) + 1
        _, inverse = np.unique(key, return_inverse=True)
        return inverse.reshape(-1).astype(np.int64), int(inverse.max()) + 1
    stacked = np.stack([_generalised(encoded, d, lv) for d, lv in enumerate(levels)], axis=1)
    _, inverse = np.unique(stacked, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    return inverse.astype(np.int64), int(inverse.max()) + 1
