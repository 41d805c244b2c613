"""Comparison and scoring of the candidate pairs on a query engine, in partitions.

:func:`comparison_levels_on` gives exactly :func:`ansim.linkage.comparison_levels`, computed on
an engine (DuckDB or Spark): the records' compared columns (value code, filter bits, set-bit
count, validity) are one engine table; the candidate pairs join it on both records (on Spark a
shuffle by record) and are hash-partitioned by pair; inside each partition the very function of
the in-memory path (its numba Dice kernel included) computes the levels of the partition's
pairs from the two records' columns it carries (``mapInArrow`` in Spark's executors).

:func:`score_pairs_on` gives exactly each pair's summed field weights
(:meth:`FellegiSunterModel.field_weights` with the term-frequency shares of the first record's
values), computed in partitions of the pairs' levels. Both run under
:func:`ansim.linkage.using_engine` for the candidate pairs of probabilistic linkage (the pairs
whose number grows with the data); training's samples (a fixed number of pairs) stay in NumPy.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from ansim.engine import QueryEngine
from ansim.errors import InvalidSpecError
from ansim.linkage._comparison import EncodedRecords, FieldComparison, comparison_levels
from ansim.linkage._model import FellegiSunterModel
from ansim.linkage._partitioned import _binary, _matrix, current_engine

__all__ = ["compared_levels", "comparison_levels_on", "pair_weights", "score_pairs_on"]

IntArray = npt.NDArray[np.int64]
LevelArray = npt.NDArray[np.int8]
FloatArray = npt.NDArray[np.float64]
_RUNS = itertools.count()
_SIDES = ("a", "b")


def _is_filter(comparison: FieldComparison) -> bool:
    return len(comparison.bands) > 1


def _record_rows(
    records: EncodedRecords, comparisons: Sequence[FieldComparison], used: IntArray
) -> pa.Table:
    """A row per used record: per compared field its code and, for a Dice field, its filter."""
    columns: dict[str, pa.Array | npt.NDArray[np.generic]] = {"record": used}
    for f, comparison in enumerate(comparisons):
        column = comparison.column
        if column not in records.codes:
            raise InvalidSpecError(f"compared column {column} is not in every part")
        columns[f"code_{f}"] = records.codes[column][used].astype(np.int64)
        if _is_filter(comparison):
            bits, valid = records.filters[column]
            columns[f"bits_{f}"] = _binary(bits[used])
            columns[f"ones_{f}"] = records.popcounts[column][used].astype(np.int32)
            columns[f"valid_{f}"] = valid[used].astype(np.bool_)
    return pa.table(columns)


def _levels_partition(
    template: EncodedRecords, comparisons: tuple[FieldComparison, ...], words: dict[int, int]
) -> object:
    """The function run on each partition of pairs (picklable for Spark).

    It rebuilds the partition's records (its pairs' first records, then their second ones)
    and calls :func:`comparison_levels` on them, so both paths share one definition of a level.
    ``template`` is the records without their per-record arrays: its other fields (the
    column-level settings) are kept.
    """
    schema = _levels_schema(len(comparisons))

    def run(rows: pa.Table) -> pa.Table:
        size = rows.num_rows

        def side(name: str) -> npt.NDArray[np.generic]:
            return np.concatenate(
                [rows[f"{s}_{name}"].to_numpy(zero_copy_only=False) for s in _SIDES]
            )

        codes = {}
        filters = {}
        counts = {}
        for f, comparison in enumerate(comparisons):
            column = comparison.column
            codes[column] = side(f"code_{f}").astype(np.int64)
            if f in words:
                bits = np.concatenate([_matrix(rows[f"{s}_bits_{f}"], words[f]) for s in _SIDES])
                filters[column] = (bits, side(f"valid_{f}").astype(np.bool_))
                counts[column] = side(f"ones_{f}").astype(np.int32)
        local = replace(
            template,
            source=np.zeros(2 * size, np.int64),
            codes=codes,
            filters=filters,
            popcounts=counts,
        )
        index = np.arange(size, dtype=np.int64)
        levels = comparison_levels(local, comparisons, index, index + size)
        out: dict[str, pa.Array | npt.NDArray[np.generic]] = {"pair": rows["pair"].combine_chunks()}
        for f in range(len(comparisons)):
            out[f"level_{f}"] = np.ascontiguousarray(levels[:, f])
        return pa.table(out, schema=schema)

    return run


def _levels_schema(fields: int) -> pa.Schema:
    return pa.schema([("pair", pa.int64()), *((f"level_{f}", pa.int8()) for f in range(fields))])


def _ordered_levels(rows: pa.Table, fields: int) -> LevelArray:
    """The levels of a partition output, in pair order (the candidates' order)."""
    pair = rows["pair"].to_numpy(zero_copy_only=False)
    order = np.argsort(pair, kind="stable")
    levels = np.empty((pair.size, fields), np.int8)
    for f in range(fields):
        levels[:, f] = rows[f"level_{f}"].to_numpy(zero_copy_only=False)[order]
    return levels


def _pairs_rows(first: IntArray, second: IntArray) -> pa.Table:
    """Pairs keyed by their position: sorting by it restores the caller's order."""
    return pa.table(
        {
            "pair": np.arange(first.size, dtype=np.int64),
            "first": first.astype(np.int64),
            "second": second.astype(np.int64),
        }
    )


def comparison_levels_on(
    engine: QueryEngine,
    records: EncodedRecords,
    comparisons: Sequence[FieldComparison],
    first: IntArray,
    second: IntArray,
    *,
    partitions: int = 8,
) -> LevelArray:
    """Exactly :func:`ansim.linkage.comparison_levels`, with the pairs compared on an engine.

    Args:
        engine: Where the pairs are joined to their records and compared.
        records: The encoded records.
        comparisons: The fields compared.
        first: First record of each pair.
        second: Second record of each pair.
        partitions: Partitions of the pairs (hashed on the pair).

    Returns:
        ``(pairs, fields)`` levels in the pairs' order, ``-1`` where a field is missing.

    Raises:
        InvalidSpecError: A compared column is not among the records' columns.

    Example:
        >>> from ansim.engine import Engine
        >>> records = EncodedRecords(np.zeros(3, np.int64), {"token_rrn": np.array([4, 4, 7])},
        ...     {}, {})
        >>> with Engine() as engine:
        ...     got = comparison_levels_on(engine, records, [FieldComparison("token_rrn")],
        ...         np.array([0, 0]), np.array([1, 2]))
        >>> got.ravel().tolist()
        [0, 1]
    """
    comparisons = tuple(comparisons)
    if first.size == 0:
        comparison_levels(records, comparisons, first, second)  # the same checks
        return np.empty((0, len(comparisons)), np.int8)
    run = next(_RUNS)
    # only the records in some pair are shipped (blocking leaves most records unpaired)
    used = np.unique(np.concatenate([first, second])).astype(np.int64)
    stored = engine.create_table(f"ansim_compared_{run}", _record_rows(records, comparisons, used))
    pairs = engine.create_table(f"ansim_compared_pairs_{run}", _pairs_rows(first, second))
    sides = [
        stored.rename({f"{s}_{c}": c for c in stored.columns if c != "record"}) for s in _SIDES
    ]
    joined = pairs.join(sides[0], pairs.first == sides[0].record).drop("record")
    joined = joined.join(sides[1], joined.second == sides[1].record).drop("record")
    empty = np.empty(0, np.int64)
    template = replace(records, source=empty, codes={}, filters={}, popcounts={})
    words = {
        f: records.filters[c.column][0].shape[1] for f, c in enumerate(comparisons) if _is_filter(c)
    }
    out = engine.map_partitions(
        joined.drop("first", "second"),
        _levels_partition(template, comparisons, words),  # type: ignore[arg-type]
        _levels_schema(len(comparisons)),
        by="pair",
        partitions=partitions,
    )
    levels = _ordered_levels(engine.to_pyarrow(out), len(comparisons))
    engine.drop_table(f"ansim_compared_{run}")
    engine.drop_table(f"ansim_compared_pairs_{run}")
    return levels


def _weights_partition(model: FellegiSunterModel, shared: tuple[int, ...]) -> object:
    """The function scoring each partition of levels (picklable for Spark)."""
    fields = len(model.comparisons)

    def run(rows: pa.Table) -> pa.Table:
        levels = np.empty((rows.num_rows, fields), np.int8)
        for f in range(fields):
            levels[:, f] = rows[f"level_{f}"].to_numpy(zero_copy_only=False)
        shares: list[FloatArray | None] = [
            rows[f"share_{f}"].to_numpy(zero_copy_only=False) if f in shared else None
            for f in range(fields)
        ]
        weight = model.field_weights(levels, shares).sum(axis=1)
        return pa.table(
            {"pair": rows["pair"].combine_chunks(), "weight": weight.astype(np.float32)},
            schema=_WEIGHT_SCHEMA,
        )

    return run


_WEIGHT_SCHEMA = pa.schema([("pair", pa.int64()), ("weight", pa.float32())])


def score_pairs_on(
    engine: QueryEngine,
    model: FellegiSunterModel,
    levels: LevelArray,
    exact_share: Sequence[FloatArray | None],
    *,
    partitions: int = 8,
) -> npt.NDArray[np.float32]:
    """Each pair's summed field weights, exactly as in memory, computed on an engine.

    Args:
        engine: Where the pairs are scored.
        model: The trained (or saved) Fellegi–Sunter model.
        levels: Comparison levels ``(pairs, fields)``.
        exact_share: Per field, the share of records holding the pair's value, or ``None``
            (as :meth:`FellegiSunterModel.field_weights` takes it).
        partitions: Partitions of the pairs.

    Returns:
        ``model.field_weights(levels, exact_share).sum(axis=1)``, in the pairs' order.

    Example:
        >>> from ansim.engine import Engine
        >>> model = FellegiSunterModel((FieldComparison("token_rrn", (1.0,)),),
        ...     m=((0.99, 0.01),), u=((0.001, 0.999),))
        >>> with Engine() as engine:
        ...     w = score_pairs_on(engine, model, np.array([[0], [1], [-1]], np.int8), [None])
        >>> [round(float(x), 2) for x in w]
        [9.95, -6.64, 0.0]
    """
    fields = len(model.comparisons)
    if levels.shape[0] == 0:
        return np.empty(0, np.float32)
    shared = tuple(f for f, share in enumerate(exact_share) if share is not None)
    columns: dict[str, npt.NDArray[np.generic]] = {
        "pair": np.arange(levels.shape[0], dtype=np.int64)
    }
    for f in range(fields):
        columns[f"level_{f}"] = np.ascontiguousarray(levels[:, f])
        share = exact_share[f]
        if share is not None:
            columns[f"share_{f}"] = np.asarray(share, np.float64)
    run = next(_RUNS)
    stored = engine.create_table(f"ansim_scored_{run}", pa.table(columns))
    out = engine.map_partitions(
        stored,
        _weights_partition(model, shared),  # type: ignore[arg-type]
        _WEIGHT_SCHEMA,
        by="pair",
        partitions=partitions,
    )
    rows = engine.to_pyarrow(out)
    engine.drop_table(f"ansim_scored_{run}")
    pair = rows["pair"].to_numpy(zero_copy_only=False)
    weight = rows["weight"].to_numpy(zero_copy_only=False)
    return np.asarray(weight[np.argsort(pair, kind="stable")], np.float32)


def compared_levels(
    records: EncodedRecords,
    comparisons: Sequence[FieldComparison],
    first: IntArray,
    second: IntArray,
) -> LevelArray:
    """:func:`comparison_levels_on` the engine of :func:`using_engine`, else in NumPy."""
    engine = current_engine()
    if engine is None:
        return comparison_levels(records, comparisons, first, second)
    return comparison_levels_on(engine, records, comparisons, first, second)


def pair_weights(
    model: FellegiSunterModel, levels: LevelArray, exact_share: Sequence[FloatArray | None]
) -> npt.NDArray[np.float32]:
    """:func:`score_pairs_on` the engine of :func:`using_engine`, else in NumPy."""
    engine = current_engine()
    if engine is None:
        return np.asarray(model.field_weights(levels, exact_share).sum(axis=1), np.float32)
    return score_pairs_on(engine, model, levels, exact_share)
