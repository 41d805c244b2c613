"""The linkage unit's heavy steps on a query engine, partitioned by block.

:func:`block_pairs_on` gives exactly the candidate pairs of :func:`block_pairs`, computed on an
engine (DuckDB or Spark):

- every ``equal`` and ``lsh`` pass (each LSH band) becomes rows ``(record, pass, band, key)`` of
  one table; block sizes are a group-by on ``(pass, band, key)``, blocks of 2 … ``max_block``
  records are kept and their pairs come from one self-join on the block (a shuffle by block
  on Spark);
- each ``dice`` pass ships its records with their filters, hash-partitioned by block; inside
  each partition the numba Dice kernel (:func:`similar_in_blocks`) compares the pairs of every
  block (``mapInArrow`` in Spark's executors);
- the passes' pairs are united by a group-by on the pair summing the distinct pass bits.

Per-record work (value codes, LSH band keys, compound keys) is a linear map done where the
records are encoded. :func:`pattern_counts_on` counts comparison vectors (EM's sufficient
statistics) by a group-by. :func:`using_engine` makes :func:`ansim.linkage.link` run its
blocking, its training counts and its connected components on an engine; without it they run
in NumPy (the default).
"""

from __future__ import annotations

import contextvars
import itertools
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace

import ibis
import numpy as np
import numpy.typing as npt
import pyarrow as pa
from ibis.expr.types import Table

from ansim.engine import ENGINE_KINDS, QueryEngine, connected_components_on, open_engine
from ansim.errors import EngineError, InvalidSpecError
from ansim.linkage._blocking import (
    _MAX_PASSES,
    BlockingPass,
    BlockingRule,
    CandidatePairs,
    _compound,
    _lsh_keys,
    block_pairs,
    similar_in_blocks,
)
from ansim.linkage._components import connected_components
from ansim.linkage._dice import popcounts as _popcounts
from ansim.linkage._model import pattern_counts

__all__ = [
    "block_pairs_on",
    "blocked_pairs",
    "components",
    "counted_patterns",
    "current_engine",
    "on_engine",
    "pattern_counts_on",
    "using_engine",
]

IntArray = npt.NDArray[np.int64]
Filters = Mapping[str, tuple[npt.NDArray[np.uint64], npt.NDArray[np.bool_]]]
_ENGINE: contextvars.ContextVar[QueryEngine | None] = contextvars.ContextVar(
    "ansim_linkage_engine", default=None
)
_RUNS = itertools.count()
_SIGN = 63


@contextmanager
def using_engine(engine: QueryEngine | None) -> Iterator[QueryEngine | None]:
    """Run the linkage unit's blocking, training counts and components on ``engine`` inside.

    Args:
        engine: The engine, or ``None`` for NumPy in memory (the default).

    Yields:
        The engine.

    Example:
        >>> from ansim.engine import Engine
        >>> with Engine() as engine, using_engine(engine):
        ...     current_engine() is engine
        True
        >>> current_engine() is None
        True
    """
    token = _ENGINE.set(engine)
    try:
        yield engine
    finally:
        _ENGINE.reset(token)


@contextmanager
def on_engine(kind: str) -> Iterator[QueryEngine | None]:
    """The engine behind ``--engine``: the linkage unit's partitioned steps run on it inside.

    ``duckdb`` (the default) keeps today's single-machine path: blocking, training counts and
    components in NumPy on the records in memory (on one machine that is fastest; the hub
    store is DuckDB either way). ``spark`` opens a local Spark engine for the run (the
    ``spark`` extra) and closes it after.

    Args:
        kind: ``duckdb`` or ``spark``.

    Yields:
        The engine in use, or ``None`` for the in-memory path.

    Raises:
        EngineError: An unknown kind, or Spark's extra or Java missing.

    Example:
        >>> with on_engine("duckdb") as engine:
        ...     engine is None
        True
    """
    if kind not in ENGINE_KINDS:
        raise EngineError(f"unknown engine {kind!r}: use one of {', '.join(ENGINE_KINDS)}")
    if kind == "duckdb":
        yield None
        return
    with open_engine("spark") as engine, using_engine(engine):
        yield engine


def current_engine() -> QueryEngine | None:
    """The engine set by :func:`using_engine`, or ``None``."""
    return _ENGINE.get()


def _flag(k: int) -> int:
    """Pass ``k``'s bit as a signed 64-bit integer (bit 63 is the sign bit)."""
    return -(1 << _SIGN) if k == _SIGN else 1 << k


def _key_rows(k: int, rule: BlockingRule, band: int, keys: IntArray) -> pa.Table:
    index = np.flatnonzero(keys >= 0)
    return pa.table(
        {
            "record": index.astype(np.int64),
            "k": np.full(index.size, k, np.int64),
            "flag": np.full(index.size, _flag(k), np.int64),
            "band": np.full(index.size, band, np.int64),
            "key": keys[index].astype(np.int64),
            "max_block": np.full(index.size, rule.max_block, np.int64),
        }
    )


def _binary(bits: npt.NDArray[np.uint64]) -> pa.Array:
    """A bit matrix as one binary value per row (its words, little-endian)."""
    rows, words = bits.shape
    width = words * 8
    data = pa.py_buffer(np.ascontiguousarray(bits).tobytes())
    offsets = pa.py_buffer((np.arange(rows + 1, dtype=np.int32) * width).tobytes())
    return pa.Array.from_buffers(pa.binary(), rows, [None, offsets, data])


def _matrix(column: pa.ChunkedArray | pa.Array, words: int) -> npt.NDArray[np.uint64]:
    """The inverse of :func:`_binary` (binary or large binary, any chunking)."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if len(array) == 0:
        return np.empty((0, words), np.uint64)
    wide = pa.types.is_large_binary(array.type)
    offsets = np.frombuffer(array.buffers()[1], np.int64 if wide else np.int32)
    offsets = offsets[array.offset : array.offset + len(array) + 1]
    data = np.frombuffer(array.buffers()[2], np.uint8)[int(offsets[0]) : int(offsets[-1])]
    return data.view(np.uint64).reshape(len(array), words)


_PAIR_SCHEMA = pa.schema([("pair", pa.int64())])


def _dice_partition(n: int, words: int, threshold: float) -> object:
    """The function run on each partition of a dice pass (picklable for Spark)."""

    def run(rows: pa.Table) -> pa.Table:
        keys = rows["key"].to_numpy(zero_copy_only=False).astype(np.int64)
        counts = rows["ones"].to_numpy(zero_copy_only=False).astype(np.int32)
        bits = _matrix(rows["bits"], words)
        first, second, _ = similar_in_blocks(
            keys, bits, counts, counts >= 0, threshold=threshold, max_block=keys.size + 2
        )
        records = rows["record"].to_numpy(zero_copy_only=False).astype(np.int64)
        a, b = records[first], records[second]
        pair = np.minimum(a, b) * n + np.maximum(a, b)
        return pa.table({"pair": pair}, schema=_PAIR_SCHEMA)

    return run


def _dice_pass(  # noqa: PLR0917 - internal, one pass
    engine: QueryEngine,
    k: int,
    rule: BlockingRule,
    codes: Mapping[str, IntArray],
    filters: Filters,
    popcounts: Mapping[str, npt.NDArray[np.int32]] | None,
    n: int,
    partitions: int,
) -> tuple[Table | None, BlockingPass]:
    also = [codes[c] for c in rule.also]
    keys = _compound(also[0], also[1:])
    bits, valid = filters[rule.column]
    count = (popcounts or {}).get(rule.column)
    count = _popcounts(bits) if count is None else count
    index = np.flatnonzero(keys >= 0)
    rows = pa.table(
        {
            "record": index.astype(np.int64),
            "key": keys[index].astype(np.int64),
            "ones": np.where(valid, count, -1).astype(np.int32)[index],
            "bits": _binary(bits[index]),
        }
    )
    run = next(_RUNS)
    stored = engine.create_table(f"ansim_dice_{run}", rows)
    sizes = stored.group_by("key").aggregate(members=stored.count())
    skipped = engine.count(sizes.filter(sizes.members > rule.max_block))
    kept = sizes.filter((sizes.members >= 2) & (sizes.members <= rule.max_block))  # noqa: PLR2004
    inside = stored.semi_join(kept, "key")
    function = _dice_partition(n, bits.shape[1], float(rule.threshold))
    pairs = engine.map_partitions(
        inside,
        function,  # type: ignore[arg-type]
        _PAIR_SCHEMA,
        by="key",
        partitions=partitions,
    )
    found = engine.count(pairs)
    engine.drop_table(f"ansim_dice_{run}")
    limit = int(rule.max_pairs_per_record * n) if rule.max_pairs_per_record else None
    if limit is not None and found > limit:
        return None, BlockingPass(rule.name, 0, 0, True)
    flagged = pairs.select(pair=pairs.pair, flag=ibis.literal(_flag(k), "int64"))
    return flagged, BlockingPass(rule.name, found, skipped)


def _keyed_pairs(  # noqa: PLR0917 - internal
    engine: QueryEngine,
    name: str,
    key_rows: list[pa.Table],
    n: int,
    generated: dict[int, int],
    skipped: dict[int, int],
) -> Table:
    """Pairs of every block of the ``equal`` and ``lsh`` passes, stored as ``name``.

    Fills ``generated`` (pairs per pass, bands counted separately) and ``skipped`` (blocks
    over ``max_block`` per pass).
    """
    keyed = engine.create_table(f"{name}_keys", pa.concat_tables(key_rows))
    block = ["k", "band", "key"]
    sizes = keyed.group_by(block).aggregate(members=keyed.count(), most=keyed.max_block.max())
    too_big = sizes.filter(sizes.members > sizes.most)
    for row in engine.to_pyarrow(too_big.group_by("k").aggregate(n=too_big.count())).to_pylist():
        skipped[int(row["k"])] = int(row["n"])
    kept = sizes.filter((sizes.members >= 2) & (sizes.members <= sizes.most))  # noqa: PLR2004
    inside = keyed.semi_join(kept, block).select("record", "flag", *block)
    right = inside.view()
    joined = inside.join(
        right,
        [inside.k == right.k, inside.band == right.band, inside.key == right.key,
         inside.record < right.record],
    )  # fmt: skip
    made = engine.create_table(
        name, joined.select(pair=inside.record * n + right.record, k=inside.k, flag=inside.flag)
    )
    engine.drop_table(f"{name}_keys")
    counts = made.group_by("k").aggregate(n=made.count())
    for row in engine.to_pyarrow(counts).to_pylist():
        generated[int(row["k"])] = int(row["n"])
    return made


def block_pairs_on(
    engine: QueryEngine,
    rules: Sequence[BlockingRule],
    codes: Mapping[str, IntArray],
    filters: Filters,
    popcounts: Mapping[str, npt.NDArray[np.int32]] | None = None,
    *,
    partitions: int = 8,
) -> CandidatePairs:
    """Exactly :func:`ansim.linkage.block_pairs`, with the pairs made on an engine.

    Args:
        engine: Where blocks are joined, compared and united.
        rules: The passes (at most 64).
        codes: For ``equal`` rules, each column's value code per record (``-1`` for null).
        filters: For ``lsh`` and ``dice`` rules, each filter column's bit matrix and validity.
        popcounts: For ``dice`` rules, each filter column's set bits per record.
        partitions: Partitions of a dice pass (its records hashed by block).

    Returns:
        The united candidate pairs with the passes that produced each, as ``block_pairs``.

    Raises:
        InvalidSpecError: Too many passes, or a rule's column is missing.

    Example:
        >>> from ansim.engine import Engine
        >>> codes = {"token_rrn": np.array([0, 1, 0, -1, 0])}
        >>> with Engine() as engine:
        ...     got = block_pairs_on(engine, [BlockingRule("token_rrn")], codes, {})
        >>> list(zip(got.first.tolist(), got.second.tolist()))
        [(0, 2), (0, 4), (2, 4)]
    """
    if not 1 <= len(rules) <= _MAX_PASSES:
        raise InvalidSpecError(f"give 1 to {_MAX_PASSES} blocking passes, not {len(rules)}")
    n = next(iter(codes.values())).size if codes else next(iter(filters.values()))[0].shape[0]
    key_rows: list[pa.Table] = []
    flagged: list[Table] = []
    dice: dict[int, BlockingPass] = {}
    for k, rule in enumerate(rules):
        missing = [c for c in (rule.column, *rule.also) if c not in codes and c not in filters]
        if missing or (rule.kind != "equal" and rule.column not in filters):
            raise InvalidSpecError(f"blocking column {rule.column} is not in every part")
        if rule.kind == "dice":
            pairs, summary = _dice_pass(engine, k, rule, codes, filters, popcounts, n, partitions)
            dice[k] = summary
            if pairs is not None:
                flagged.append(pairs)
            continue
        also = [codes[c] for c in rule.also]
        if rule.kind == "equal":
            bands = [codes[rule.column]]
        else:
            bits, valid = filters[rule.column]
            bands = [_lsh_keys(bits, valid, rule, b) for b in range(rule.bands)]
        for b, band in enumerate(bands):
            key_rows.append(_key_rows(k, rule, b, _compound(band, also) if also else band))
    run = next(_RUNS)
    generated: dict[int, int] = {}
    skipped: dict[int, int] = {}
    if key_rows:
        made = _keyed_pairs(engine, f"ansim_pairs_{run}", key_rows, n, generated, skipped)
        flagged.append(made.select("pair", "flag"))
    report = tuple(
        dice[k] if k in dice else BlockingPass(rule.name, generated.get(k, 0), skipped.get(k, 0))
        for k, rule in enumerate(rules)
    )
    if not flagged:
        empty = np.empty(0, np.int64)
        return CandidatePairs(empty, empty, np.empty(0, np.uint64), report, tuple(rules))
    # each pass's bit is a distinct power of two: over distinct (pair, bit) rows the sum is
    # the bitwise OR (engines lack a portable bit_or aggregate; bit 63 is the sign bit)
    union = ibis.union(*flagged, distinct=True)
    united = union.group_by("pair").aggregate(flags=union.flag.sum())
    rows = engine.to_pyarrow(united)
    engine.drop_table(f"ansim_pairs_{run}")
    pair = rows["pair"].to_numpy(zero_copy_only=False).astype(np.int64)
    passes = rows["flags"].to_numpy(zero_copy_only=False).astype(np.int64).view(np.uint64)
    order = np.argsort(pair, kind="stable")
    pair, passes = pair[order], passes[order]
    return CandidatePairs(pair // n, pair % n, passes, report, tuple(rules))


def blocked_pairs(
    rules: Sequence[BlockingRule],
    codes: Mapping[str, IntArray],
    filters: Filters,
    popcounts: Mapping[str, npt.NDArray[np.int32]] | None = None,
) -> CandidatePairs:
    """:func:`block_pairs_on` the engine of :func:`using_engine`, else :func:`block_pairs`."""
    engine = current_engine()
    if engine is None:
        return block_pairs(rules, codes, filters, popcounts)
    return replace(block_pairs_on(engine, rules, codes, filters, popcounts), rules=tuple(rules))


def pattern_counts_on(
    engine: QueryEngine, levels: npt.NDArray[np.int8]
) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.int64]]:
    """Exactly :func:`ansim.linkage.pattern_counts` (EM's sufficient statistics), by a group-by.

    Example:
        >>> from ansim.engine import Engine
        >>> with Engine() as engine:
        ...     p, c = pattern_counts_on(engine, np.array([[0, 1], [0, 1], [1, -1]], np.int8))
        >>> p.tolist(), c.tolist()
        ([[0, 1], [1, -1]], [2, 1])
    """
    if levels.shape[0] == 0:
        return levels, np.empty(0, np.int64)
    names = [f"level_{f}" for f in range(levels.shape[1])]
    run = next(_RUNS)
    table = engine.create_table(
        f"ansim_levels_{run}",
        pa.table({name: levels[:, f].astype(np.int8) for f, name in enumerate(names)}),
    )
    counted = table.group_by(names).aggregate(pairs=table.count()).order_by(names)
    rows = engine.to_pyarrow(counted)
    engine.drop_table(f"ansim_levels_{run}")
    patterns = np.stack([rows[name].to_numpy(zero_copy_only=False) for name in names], axis=1)
    return patterns.astype(np.int8), rows["pairs"].to_numpy(zero_copy_only=False).astype(np.int64)


def counted_patterns(
    levels: npt.NDArray[np.int8],
) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.int64]]:
    """:func:`pattern_counts_on` the engine of :func:`using_engine`, else in NumPy."""
    engine = current_engine()
    return pattern_counts(levels) if engine is None else pattern_counts_on(engine, levels)


def components(count: int, u: IntArray, v: IntArray) -> IntArray:
    """Connected components on the engine of :func:`using_engine`, else in NumPy."""
    engine = current_engine()
    if engine is None:
        return connected_components(count, u, v)
    return connected_components_on(engine, count, u, v)
