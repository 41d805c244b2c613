"""The linkage unit's view of identity parts: value codes and bit matrices, nothing else."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numba
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from ansim.errors import LinkageError
from ansim.linkage._bits import bit_matrix
from ansim.linkage._blocking import BlockingRule
from ansim.linkage._comparison import (
    DEFAULT_DICE_BANDS,
    EncodedRecords,
    FieldComparison,
    diffused_bands,
    diffusion_taps,
)
from ansim.linkage._dice import popcounts
from ansim.packages import ENCODING_METADATA_KEY, Part, part_extra

__all__ = [
    "COMPOUND_PAIRS_PER_RECORD",
    "FEW_VALUES",
    "SIMILAR_DICE",
    "automatic_blocking",
    "automatic_comparisons",
    "check_parts",
    "encode_records",
    "fitted_to_field",
    "shared_columns",
]

_ENCODED_PREFIXES = ("token_", "bf_", "clk")


def check_parts(parts: Sequence[Part]) -> None:
    """Refuse inputs that cannot be linked together.

    Raises:
        LinkageError: No part, a dataset given twice, or mixed projects.
    """
    names = [p.dataset for p in parts]
    if not parts:
        raise LinkageError(
            "linkage needs identity parts from at least one dataset (one: deduplication)"
        )
    if len(set(names)) != len(names):
        raise LinkageError(f"each dataset may be given once; got {names}")
    if len({p.project for p in parts}) != 1:
        raise LinkageError("the identity parts were prepared for different projects")


def shared_columns(
    parts: Sequence[Part], names: Sequence[Sequence[str]] | None = None
) -> list[str]:
    """Encoded columns present in at least two parts (or in two of ``names``), sorted.

    A single part (deduplication: its records are linked among themselves) shares all of its
    encoded columns with itself.
    """
    listed = names if names is not None else [p.table.column_names for p in parts]
    seen: dict[str, int] = {}
    for columns in listed:
        for column in columns:
            if column.startswith(_ENCODED_PREFIXES):
                seen[column] = seen.get(column, 0) + 1
    needed = min(2, len(listed))
    return sorted(c for c, k in seen.items() if k >= needed)


ColumnLoader = Callable[[int, str], "pa.ChunkedArray | None"]
"""Loads column ``name`` of part ``index`` (``None`` if that part lacks it)."""


def _column(parts: Sequence[Part], column: str, load: ColumnLoader) -> pa.Array:
    loaded = [load(i, column) for i in range(len(parts))]
    kinds = {c.type for c in loaded if c is not None}
    if len(kinds) != 1:
        raise LinkageError(
            f"column {column} has different types in different parts: were they encoded with "
            "the same encoding spec?"
        )
    kind = kinds.pop()
    chunks = [
        pa.chunked_array([pa.nulls(p.table.num_rows, kind)]) if c is None else c
        for p, c in zip(parts, loaded, strict=True)
    ]
    combined = pa.chunked_array([piece for c in chunks for piece in c.chunks], kind)
    del loaded, chunks
    return combined.combine_chunks()


def _from_tables(parts: Sequence[Part]) -> ColumnLoader:
    def load(index: int, column: str) -> pa.ChunkedArray | None:
        table = parts[index].table
        return table[column] if column in table.column_names else None

    return load


@numba.njit(parallel=True, cache=True, nogil=True)
def _row_hashes(words: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:  # pragma: no cover
    out = np.empty(words.shape[0], np.int64)
    for i in numba.prange(words.shape[0]):
        h = np.uint64(0x9E3779B97F4A7C15)
        for t in range(words.shape[1]):
            h = (h ^ words[i, t]) * np.uint64(0xBF58476D1CE4E5B9)
            h ^= h >> np.uint64(31)
        out[i] = np.int64(h >> np.uint64(1))
    return out


def _codes(values: pa.Array) -> npt.NDArray[np.int64]:
    """Dense value codes: equal values, equal codes (``-1`` for null).

    Values are hashed to 63 bits (encoded values are keyed hashes or filters already, so
    two different values share a code with probability about ``n² / 2⁶⁴``).
    """
    width = values.type.byte_width if pa.types.is_fixed_size_binary(values.type) else 0
    if width and width % 8 == 0:
        words, valid = bit_matrix(values)
        hashes = _row_hashes(words)
    else:
        encoded = pc.dictionary_encode(values.cast(pa.binary()))
        hashes = np.asarray(encoded.indices.fill_null(0).to_numpy(zero_copy_only=False), np.int64)
        valid = np.asarray(values.is_valid().to_numpy(zero_copy_only=False), np.bool_)
    _, dense = np.unique(hashes[valid], return_inverse=True)
    codes = np.full(len(values), -1, np.int64)
    codes[valid] = dense.reshape(-1)
    return codes


def encode_records(
    parts: Sequence[Part], columns: Sequence[str], load: ColumnLoader | None = None
) -> EncodedRecords:
    """Value codes of every column and bit matrices of every filter column, in part order.

    Args:
        parts: Identity parts (their tables need only ``serial`` when ``load`` is given).
        columns: Encoded columns to load (``token_*``, ``bf_*``, ``clk``).
        load: Where columns come from (default: the parts' tables); reading one column at a
            time from files keeps a single copy of the filters in memory.

    Returns:
        The encoded records.

    Raises:
        LinkageError: A column's type differs between parts or is not an encoded column.
    """
    sizes = [p.table.num_rows for p in parts]
    source = np.repeat(np.arange(len(parts), dtype=np.int64), sizes)
    codes, filters, counts = {}, {}, {}
    for column in columns:
        if not column.startswith(_ENCODED_PREFIXES):
            raise LinkageError(f"{column} is not an encoded column: the linkage unit ignores it")
        values = _column(parts, column, load or _from_tables(parts))
        codes[column] = _codes(values)
        if not column.startswith("token_"):
            filters[column] = bit_matrix(values)
            counts[column] = popcounts(filters[column][0])
    specs = [part_extra(p.table.schema, ENCODING_METADATA_KEY) for p in parts]
    return EncodedRecords(source, codes, filters, counts, diffusion_taps(specs))


_FIELD_ORDER = ("bf_birth_date", "bf_sex", "bf_name", "bf_address", "bf_phone", "bf_rrn")


def _field_order(column: str) -> tuple[int, str]:
    """Fields others depend on come first (an RRN holds birth date and sex)."""
    rank = _FIELD_ORDER.index(column) if column in _FIELD_ORDER else len(_FIELD_ORDER)
    return rank, column


def automatic_comparisons(
    columns: Sequence[str], records: EncodedRecords | None = None
) -> tuple[FieldComparison, ...]:
    """Every field filter (``bf_*``); the tokens when no part has field filters.

    Levels follow the field: a filter with few distinct values in ``records`` (sex: two)
    is compared equal or not, since Dice between its few values takes only a few fixed
    values that say nothing about typos; other filters get the default Dice bands.

    Example:
        >>> [c.column for c in automatic_comparisons(["bf_rrn", "bf_name", "clk", "token_rrn"])]
        ['bf_name', 'bf_rrn']
    """
    filters = sorted((c for c in columns if c.startswith("bf_")), key=_field_order)
    if filters:
        return tuple(fitted_to_field(FieldComparison(c), records) for c in filters)
    return tuple(FieldComparison(c) for c in columns if c.startswith("token_"))


def fitted_to_field(comparison: FieldComparison, records: EncodedRecords | None) -> FieldComparison:
    """A comparison with the default Dice bands made equal-or-not on a few-valued field.

    The same rule for automatic comparisons and for configured ones without ``bands`` (in
    Python and in YAML alike): Dice between the few values of a field such as sex takes only
    a few fixed values, which say nothing about typos. Bands given explicitly stay.

    Example:
        >>> fitted_to_field(FieldComparison("bf_sex"), None).bands == DEFAULT_DICE_BANDS
        True
    """
    if comparison.is_token or comparison.bands != DEFAULT_DICE_BANDS:
        return comparison
    if not _few_values(records, comparison.column):
        taps = records.taps.get(comparison.column, 1) if records is not None else 1
        if taps > 1:  # diffused filters: the same similarities sit lower (docs/privacy.md)
            bands = diffused_bands(DEFAULT_DICE_BANDS, taps)
            return FieldComparison(comparison.column, bands, comparison.term_frequency)
        return comparison
    return FieldComparison(comparison.column, (1.0,), comparison.term_frequency)


FEW_VALUES = 16
"""A filter field with at most this many distinct values is compared equal or not."""


def _few_values(records: EncodedRecords | None, column: str) -> bool:
    if records is None or column not in records.codes:
        return False
    return int(records.codes[column].max(initial=-1)) + 1 <= FEW_VALUES


def automatic_blocking(
    records: EncodedRecords,
    columns: Sequence[str],
    *,
    max_block: int,
    seed: int,
    lsh: bool = False,
) -> tuple[BlockingRule, ...]:
    """Blocking passes chosen from the data: tokens, identifying filters, compound LSH.

    Every token is a pass. A field filter whose equal values make few pairs (an RRN, a phone)
    is a pass on its own. Each other field with many distinct values (name, birth date,
    address: not sex) is the equal half of compound passes, one per other many-valued field
    that must be Dice-similar, so a typo in one of them is still found. With ``lsh``, each
    many-valued field is also a Hamming-LSH pass on its own, so pairs with an error in every
    field are found too (a true pair's filters agree on most bits, so on every sampled bit of
    some band).

    Args:
        records: The encoded records.
        columns: Available encoded columns.
        max_block: Largest block kept.
        seed: Seed of LSH bit samples (used with ``lsh``).
        lsh: Add one LSH pass per many-valued field.

    Returns:
        The blocking passes.
    """
    rules = [BlockingRule(c, max_block=max_block) for c in columns if c.startswith("token_")]
    weak: list[str] = []
    many: list[str] = []
    for column in sorted((c for c in columns if c.startswith("bf_")), key=_field_order):
        codes = records.codes[column]
        present = codes[codes >= 0]
        sizes = np.bincount(present) if present.size else np.zeros(0, np.int64)
        if sizes.size < _WEAK_DISTINCT_SHARE * max(present.size, 1):
            continue  # sex, region: too few values to block on
        many.append(column)
        pairs = int((sizes * (sizes - 1) // 2).sum())
        if pairs <= _IDENTIFYING_PAIRS_PER_RECORD * max(present.size, 1):
            rules.append(BlockingRule(column, max_block=max_block))
        else:
            weak.append(column)
    rules.extend(
        BlockingRule(column, "lsh", bands=LSH_BANDS, bits=LSH_BITS, max_block=max_block, seed=seed)
        for column in (many if lsh else [])
    )
    rules.extend(
        BlockingRule(similar, "dice", max_block=max_block, also=(equal,),
                     threshold=SIMILAR_DICE, max_pairs_per_record=COMPOUND_PAIRS_PER_RECORD)
        for equal in weak for similar in many if similar != equal
    )  # fmt: skip
    return tuple(rules)


LSH_BANDS, LSH_BITS = 16, 20
"""LSH passes (``lsh_blocking``): 16 bands of 20 sampled bits. A pair with Dice 0.85 on a
half-full filter disagrees on about 15% of bits and shares some band with probability about
0.5; unrelated filters (about half their bits differ) share one with probability 16 / 2**20."""
SIMILAR_DICE = 0.7
"""Compound passes keep pairs of a block whose other filter reaches this Dice (typos and
swapped digits stay above it; unrelated values of balanced filters sit near 0.5)."""
_IDENTIFYING_PAIRS_PER_RECORD = 0.5
COMPOUND_PAIRS_PER_RECORD = 2.0
"""A compound pass making more pairs per record is dropped: its two fields depend on each
other (an RRN holds the birth date, so RRNs are similar within every birth-date block)."""
_WEAK_DISTINCT_SHARE = 0.01
