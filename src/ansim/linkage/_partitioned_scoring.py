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
from collections.abc import Mapping, Sequence
from dataclasses import replace

import ibis
import numpy as np
import numpy.typing as npt
import pyarrow as pa
from ibis.expr.types import Table

from ansim.engine import QueryEngine
from ansim.errors import InvalidSpecError
from ansim.linkage._comparison import (
    EncodedRecords,
    FieldComparison,
    comparison_levels,
    reached_levels,
)
from ansim.linkage._model import FellegiSunterModel
from ansim.linkage._partitioned import (
    EngineCandidates,
    EngineLevels,
    _binary,
    _matrix,
    current_chain,
    current_engine,
    table_name,
)

__all__ = [
    "compared_levels",
    "comparison_levels_on",
    "levels_table_on",
    "pair_weights",
    "reached",
    "score_pairs_on",
    "share_lookup",
    "weights_table_on",
]

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
    schema = _levels_schema(comparisons)

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
        for f, comparison in enumerate(comparisons):
            if comparison.term_frequency:
                out[f"code_{f}"] = codes[comparison.column][:size]
        return pa.table(out, schema=schema)

    return run


def _levels_schema(comparisons: Sequence[FieldComparison]) -> pa.Schema:
    """``pair``, ``level_f`` per field, ``code_f`` per term-frequency field."""
    levels = [(f"level_{f}", pa.int8()) for f in range(len(comparisons))]
    codes = [(f"code_{f}", pa.int64()) for f, c in enumerate(comparisons) if c.term_frequency]
    return pa.schema([("pair", pa.int64()), *levels, *codes])


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
    pairs = engine.create_table(f"ansim_compared_pairs_{run}", _pairs_rows(first, second))
    used = np.unique(np.concatenate([first, second])).astype(np.int64)
    try:
        out = levels_table_on(engine, records, comparisons, pairs, used, partitions=partitions)
        return _ordered_levels(engine.to_pyarrow(out), len(comparisons))
    finally:
        engine.drop_table(f"ansim_compared_pairs_{run}")


def levels_table_on(
    engine: QueryEngine,
    records: EncodedRecords,
    comparisons: tuple[FieldComparison, ...],
    pairs: Table,
    used: IntArray,
    *,
    partitions: int = 8,
) -> Table:
    """The comparison stage on an engine: pairs held there in, their levels held there out.

    Args:
        engine: The engine holding ``pairs``.
        records: The encoded records (their compared columns are uploaded for ``used``).
        comparisons: The fields compared.
        pairs: Rows ``pair`` (a unique number), ``first``, ``second``.
        used: The records appearing in some pair (the only ones shipped).
        partitions: Partitions of the pairs (hashed on ``pair``).

    Returns:
        Rows ``pair``, ``level_f`` per field and ``code_f`` per term-frequency field (the
        first record's value code), stored on the engine, in no order.
    """
    run = next(_RUNS)
    name = f"ansim_compared_{run}"
    stored = engine.create_table(name, _record_rows(records, comparisons, used))
    sides = [
        stored.rename({f"{s}_{c}": c for c in stored.columns if c != "record"}) for s in _SIDES
    ]
    pairs = pairs.select("pair", "first", "second")
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
        _levels_schema(comparisons),
        by="pair",
        partitions=partitions,
    )
    engine.drop_table(name)
    return out


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
    try:
        out = _weights_of(engine, model, stored, shared, partitions)
        return _ordered_weights(engine.to_pyarrow(out))
    finally:
        engine.drop_table(f"ansim_scored_{run}")


def _weights_of(
    engine: QueryEngine,
    model: FellegiSunterModel,
    rows: Table,
    shared: tuple[int, ...],
    partitions: int,
) -> Table:
    """Partitions of ``pair, level_f…, share_f…`` scored by the model: ``pair, weight``."""
    return engine.map_partitions(
        rows,
        _weights_partition(model, shared),  # type: ignore[arg-type]
        _WEIGHT_SCHEMA,
        by="pair",
        partitions=partitions,
    )


def _ordered_weights(rows: pa.Table) -> npt.NDArray[np.float32]:
    pair = rows["pair"].to_numpy(zero_copy_only=False)
    weight = rows["weight"].to_numpy(zero_copy_only=False)
    return np.asarray(weight[np.argsort(pair, kind="stable")], np.float32)


def share_lookup(records: EncodedRecords, comparison: FieldComparison) -> pa.Table:
    """``code, share``: each value's share of the records holding one (term frequencies).

    The same numbers as the in-memory path's shares (count / records with a value).
    """
    codes = records.codes[comparison.column]
    present = codes >= 0
    counts = np.bincount(codes[present]).astype(np.float64)
    share = counts / max(int(present.sum()), 1)
    held = np.flatnonzero(counts > 0)
    return pa.table({"code": held.astype(np.int64), "share": share[held]})


def weights_table_on(
    engine: QueryEngine,
    model: FellegiSunterModel,
    levels: Table,
    shares: Mapping[int, Table],
    *,
    partitions: int = 8,
) -> Table:
    """The scoring stage on an engine: levels held there in, ``pair, weight`` held there out.

    Args:
        engine: The engine holding ``levels``.
        model: The Fellegi–Sunter model.
        levels: The comparison stage's rows (``pair``, ``level_f``, ``code_f``).
        shares: Per term-frequency field, its :func:`share_lookup` table on the engine.
        partitions: Partitions of the pairs.

    Returns:
        Each pair's summed field weights, as :func:`score_pairs_on` computes them.
    """
    fields = len(model.comparisons)
    rows = levels.select(
        "pair", *(f"level_{f}" for f in range(fields)), *(f"code_{f}" for f in shares)
    )
    for f, lookup in shares.items():
        named = lookup.rename({f"share_{f}": "share", f"lookup_{f}": "code"})
        rows = rows.left_join(named, rows[f"code_{f}"] == named[f"lookup_{f}"])
        rows = rows.mutate(**{f"share_{f}": rows[f"share_{f}"].fill_null(1.0)}).drop(
            f"code_{f}", f"lookup_{f}"
        )
    return _weights_of(engine, model, rows, tuple(sorted(shares)), partitions)


def compared_levels(
    records: EncodedRecords,
    comparisons: Sequence[FieldComparison],
    first: IntArray,
    second: IntArray,
) -> LevelArray:
    """:func:`comparison_levels_on` the engine of :func:`using_engine`, else in NumPy.

    When ``first`` is the array blocking returned on that engine, its pairs are joined where
    they are (not uploaded again) and the levels stay stored there for training's counts
    and for scoring; the caller gets them collected once.
    """
    engine, chain = current_engine(), current_chain()
    if engine is None:
        return comparison_levels(records, comparisons, first, second)
    held = chain.find(first) if chain is not None else None
    if chain is None or not isinstance(held, EngineCandidates) or held.table is None:
        return comparison_levels_on(engine, records, comparisons, first, second)
    comparisons = tuple(comparisons)
    used = np.unique(np.concatenate([first, second])).astype(np.int64)
    out = levels_table_on(engine, records, comparisons, held.table, used)
    levels = _ordered_levels(engine.to_pyarrow(out.select("pair", *_level_names(comparisons))),
                             len(comparisons))  # fmt: skip
    shares = {}
    for f, comparison in enumerate(comparisons):
        if comparison.term_frequency:
            run = next(_RUNS)
            shares[f] = engine.create_table(
                f"ansim_shares_{run}", share_lookup(records, comparison)
            )
            chain.tables.append(f"ansim_shares_{run}")
    name = table_name(out)
    names = [name] if name.startswith("ansim_") else []
    chain.remember(levels, EngineLevels(out, len(comparisons), shares), *names)
    return levels


def _level_names(comparisons: Sequence[FieldComparison]) -> list[str]:
    return [f"level_{f}" for f in range(len(comparisons))]


def reached(
    comparisons: Sequence[FieldComparison], levels: LevelArray
) -> tuple[tuple[FieldComparison, ...], LevelArray]:
    """:func:`reached_levels`, with the levels an engine holds renumbered the same way there.

    The renumbering of each field (old level → new level) is read off the two arrays (a few
    levels), and applied on the engine as a ``CASE``; the result stays remembered for the
    scoring stage.
    """
    pruned, renumbered = reached_levels(comparisons, levels)
    chain = current_chain()
    held = chain.find(levels) if chain is not None else None
    if chain is None or not isinstance(held, EngineLevels):
        return pruned, renumbered
    table = held.table
    changes = {}
    for f in range(levels.shape[1]):
        old, new = levels[:, f], renumbered[:, f]
        if np.array_equal(old, new):
            continue
        values, index = np.unique(old, return_index=True)
        mapped = {int(v): int(new[i]) for v, i in zip(values, index, strict=True)}
        column = table[f"level_{f}"]
        branches = [(column == k, ibis.literal(v, "int8")) for k, v in mapped.items() if k != v]
        changes[f"level_{f}"] = ibis.cases(*branches, else_=column).cast("int8")
    if changes:
        table = table.mutate(**changes)
    chain.remember(renumbered, EngineLevels(table, held.fields, held.shares))
    return pruned, renumbered


def pair_weights(
    model: FellegiSunterModel, levels: LevelArray, exact_share: Sequence[FloatArray | None]
) -> npt.NDArray[np.float32]:
    """:func:`score_pairs_on` the engine of :func:`using_engine`, else in NumPy.

    Levels the comparison stage left on that engine are scored where they are, with the
    term-frequency shares joined there (the same numbers as ``exact_share``).
    """
    engine, chain = current_engine(), current_chain()
    if engine is None:
        return np.asarray(model.field_weights(levels, exact_share).sum(axis=1), np.float32)
    held = chain.find(levels) if chain is not None else None
    shared = {f for f, share in enumerate(exact_share) if share is not None}
    if (
        not isinstance(held, EngineLevels)
        or held.fields != len(model.comparisons)
        or shared != set(held.shares)
        or levels.shape[0] == 0
    ):
        return score_pairs_on(engine, model, levels, exact_share)
    out = weights_table_on(engine, model, held.table, held.shares)
    return _ordered_weights(engine.to_pyarrow(out))
