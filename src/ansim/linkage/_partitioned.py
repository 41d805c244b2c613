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
from dataclasses import dataclass, field, replace
from typing import Any

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
    "Chain",
    "EngineCandidates",
    "EngineLevels",
    "block_pairs_on",
    "blocked_pairs",
    "candidate_pairs_on",
    "components",
    "counted_patterns",
    "current_chain",
    "current_engine",
    "on_engine",
    "pattern_counts_of",
    "pattern_counts_on",
    "using_engine",
]

IntArray = npt.NDArray[np.int64]
Filters = Mapping[str, tuple[npt.NDArray[np.uint64], npt.NDArray[np.bool_]]]
_ENGINE: contextvars.ContextVar[QueryEngine | None] = contextvars.ContextVar(
    "ansim_linkage_engine", default=None
)


@dataclass
class Chain:
    """What one :func:`using_engine` block keeps on its engine between the linkage stages.

    The stages are called with NumPy arrays (the in-memory path's interface); under an engine
    each stage's output also stays an engine table, remembered here against the very array
    the caller got back, so the next stage joins that table instead of uploading the array
    again: blocking's pairs, then the comparison levels, then the weights. Tables are
    dropped when the block ends.
    """

    engine: QueryEngine
    held: list[tuple[Any, Any]] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)

    def remember(self, array: Any, value: Any, *names: str) -> None:
        """Keep ``value`` (an engine-side stage output) for the caller's ``array``."""
        self.held.append((array, value))
        self.tables.extend(names)

    def find(self, array: Any) -> Any | None:
        """The engine-side value remembered for this very array (identity), or ``None``."""
        for known, value in reversed(self.held):
            if known is array:
                return value
        return None

    def close(self) -> None:
        """Drop the tables this block stored."""
        for name in self.tables:
            self.engine.drop_table(name)
        self.held.clear()
        self.tables.clear()


_CHAIN: contextvars.ContextVar[Chain | None] = contextvars.ContextVar(
    "ansim_linkage_chain", default=None
)


def table_name(table: Table) -> str:
    """A stored table's own name (without the catalog and database an engine prefixes)."""
    return str(table.get_name()).rsplit(".", 1)[-1]


def current_chain() -> Chain | None:
    """The stage outputs kept by the innermost :func:`using_engine` block with an engine."""
    return _CHAIN.get()


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
    chain = None if engine is None else Chain(engine)
    chain_token = _CHAIN.set(chain)
    try:
        yield engine
    finally:
        _CHAIN.reset(chain_token)
        _ENGINE.reset(token)
        if chain is not None:
            chain.close()


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


_PAIR_SCHEMA = pa.schema([("pair", pa.int64()), ("first", pa.int64()), ("second", pa.int64())])


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
        low, high = np.minimum(a, b), np.maximum(a, b)
        return pa.table({"pair": low * n + high, "first": low, "second": high}, schema=_PAIR_SCHEMA)

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
    # the pass's two counts in one query (one job on Spark, not two)
    too_big = sizes.filter(sizes.members > rule.max_block)
    counts = _counted(engine, {"skipped": too_big, "found": pairs})
    skipped, found = counts.get("skipped", 0), counts.get("found", 0)
    engine.drop_table(f"ansim_dice_{run}")
    limit = int(rule.max_pairs_per_record * n) if rule.max_pairs_per_record else None
    if limit is not None and found > limit:
        return None, BlockingPass(rule.name, 0, 0, True)
    flagged = pairs.select("pair", "first", "second", flag=ibis.literal(_flag(k), "int64"))
    return flagged, BlockingPass(rule.name, found, skipped)


def _counted(engine: QueryEngine, tables: Mapping[str, Table]) -> dict[str, int]:
    """Row counts of several tables, in one query."""
    parts = [t.aggregate(n=t.count()).mutate(what=ibis.literal(k)) for k, t in tables.items()]
    rows = engine.to_pyarrow(parts[0] if len(parts) == 1 else ibis.union(*parts))
    return {str(r["what"]): int(r["n"]) for r in rows.to_pylist()}


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
    kept = sizes.filter((sizes.members >= 2) & (sizes.members <= sizes.most))  # noqa: PLR2004
    inside = keyed.semi_join(kept, block).select("record", "flag", *block)
    right = inside.view()
    joined = inside.join(
        right,
        [inside.k == right.k, inside.band == right.band, inside.key == right.key,
         inside.record < right.record],
    )  # fmt: skip
    made = engine.create_table(
        name,
        joined.select(
            pair=inside.record * n + right.record,
            first=inside.record,
            second=right.record,
            k=inside.k,
            flag=inside.flag,
        ),
    )
    # blocks skipped and pairs made per pass, in one query (one job on Spark)
    counts = made.group_by("k").aggregate(n=made.count()).mutate(what=ibis.literal(0, "int64"))
    big = too_big.group_by("k").aggregate(n=too_big.count()).mutate(what=ibis.literal(1, "int64"))
    for row in engine.to_pyarrow(counts.union(big)).to_pylist():
        (generated if row["what"] == 0 else skipped)[int(row["k"])] = int(row["n"])
    engine.drop_table(f"{name}_keys")
    return made


@dataclass(frozen=True)
class EngineCandidates:
    """Candidate pairs held by an engine (blocking's output, not collected).

    Attributes:
        engine: The engine holding them.
        table: Stored rows ``pair`` (``first * records + second``), ``first``, ``second``
            (``first < second``) and ``flags`` (the passes' bits, a signed 64-bit integer),
            one per distinct pair, in no order; ``None`` when no pass made a pair.
        records: Number of records (``n``).
        report: Each pass's counts, as :func:`block_pairs` reports them.
        rules: The passes.
    """

    engine: QueryEngine
    table: Table | None
    records: int
    report: tuple[BlockingPass, ...]
    rules: tuple[BlockingRule, ...]

    def collect(self) -> CandidatePairs:
        """The pairs on the driver, sorted by pair (as :func:`block_pairs` returns them)."""
        if self.table is None:
            empty = np.empty(0, np.int64)
            return CandidatePairs(empty, empty, np.empty(0, np.uint64), self.report, self.rules)
        rows = self.engine.to_pyarrow(self.table)
        pair = rows["pair"].to_numpy(zero_copy_only=False).astype(np.int64)
        order = np.argsort(pair, kind="stable")
        first = rows["first"].to_numpy(zero_copy_only=False).astype(np.int64)[order]
        second = rows["second"].to_numpy(zero_copy_only=False).astype(np.int64)[order]
        flags = rows["flags"].to_numpy(zero_copy_only=False).astype(np.int64)[order]
        return CandidatePairs(first, second, flags.view(np.uint64), self.report, self.rules)

    def drop(self) -> None:
        """Remove the stored pairs from the engine."""
        if self.table is not None:
            self.engine.drop_table(table_name(self.table))


def candidate_pairs_on(
    engine: QueryEngine,
    rules: Sequence[BlockingRule],
    codes: Mapping[str, IntArray],
    filters: Filters,
    popcounts: Mapping[str, npt.NDArray[np.int32]] | None = None,
    *,
    partitions: int = 8,
) -> EngineCandidates:
    """:func:`ansim.linkage.block_pairs`'s candidate pairs, made and kept on an engine.

    Only counts (pairs and skipped blocks per pass) come back to the caller; the pairs stay
    an engine table for the next stage (comparison) to join.

    Args:
        engine: Where blocks are joined, compared and united.
        rules: The passes (at most 64).
        codes: For ``equal`` rules, each column's value code per record (``-1`` for null).
        filters: For ``lsh`` and ``dice`` rules, each filter column's bit matrix and validity.
        popcounts: For ``dice`` rules, each filter column's set bits per record.
        partitions: Partitions of a dice pass (its records hashed by block).

    Returns:
        The pairs on the engine, with the passes' report.

    Raises:
        InvalidSpecError: Too many passes, or a rule's column is missing.
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
        flagged.append(made.select("pair", "first", "second", "flag"))
    report = tuple(
        dice[k] if k in dice else BlockingPass(rule.name, generated.get(k, 0), skipped.get(k, 0))
        for k, rule in enumerate(rules)
    )
    if not flagged:
        return EngineCandidates(engine, None, n, report, tuple(rules))
    # each pass's bit is a distinct power of two: over distinct (pair, bit) rows the sum is
    # the bitwise OR (engines lack a portable bit_or aggregate; bit 63 is the sign bit)
    union = flagged[0].distinct() if len(flagged) == 1 else ibis.union(*flagged, distinct=True)
    united = union.group_by(["pair", "first", "second"]).aggregate(flags=union.flag.sum())
    stored = engine.create_table(f"ansim_candidates_{run}", united)
    engine.drop_table(f"ansim_pairs_{run}")
    return EngineCandidates(engine, stored, n, report, tuple(rules))


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

    :func:`candidate_pairs_on`, collected (and the engine's table dropped).

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
    held = candidate_pairs_on(engine, rules, codes, filters, popcounts, partitions=partitions)
    try:
        return held.collect()
    finally:
        held.drop()


def blocked_pairs(
    rules: Sequence[BlockingRule],
    codes: Mapping[str, IntArray],
    filters: Filters,
    popcounts: Mapping[str, npt.NDArray[np.int32]] | None = None,
) -> CandidatePairs:
    """:func:`candidate_pairs_on` the engine of :func:`using_engine`, else :func:`block_pairs`.

    On an engine the pairs stay stored there for the comparison stage
    (:func:`~ansim.linkage._partitioned_scoring.compared_levels` finds them by the returned
    ``first`` array); the caller gets them collected once.
    """
    engine, chain = current_engine(), current_chain()
    if engine is None or chain is None:
        return block_pairs(rules, codes, filters, popcounts)
    held = candidate_pairs_on(engine, rules, codes, filters, popcounts)
    pairs = replace(held.collect(), rules=tuple(rules))
    if held.table is not None:
        chain.remember(pairs.first, held, table_name(held.table))
    return pairs


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
    try:
        return pattern_counts_of(engine, table, levels.shape[1])
    finally:
        engine.drop_table(f"ansim_levels_{run}")


def pattern_counts_of(
    engine: QueryEngine, levels: Table, fields: int
) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.int64]]:
    """EM's sufficient statistics of levels held by an engine (columns ``level_0 …``).

    One group-by; only the distinct patterns and their counts come back.
    """
    names = [f"level_{f}" for f in range(fields)]
    counted = levels.group_by(names).aggregate(pairs=levels.count()).order_by(names)
    rows = engine.to_pyarrow(counted)
    if rows.num_rows == 0:
        return np.empty((0, fields), np.int8), np.empty(0, np.int64)
    patterns = np.stack([rows[name].to_numpy(zero_copy_only=False) for name in names], axis=1)
    return patterns.astype(np.int8), rows["pairs"].to_numpy(zero_copy_only=False).astype(np.int64)


@dataclass(frozen=True)
class EngineLevels:
    """Comparison levels held by an engine: the comparison stage's output.

    Attributes:
        table: Rows ``pair`` (the candidates' pair number), ``level_0 …`` (int8) and, per
            term-frequency field ``f``, ``code_f`` (the first record's value code).
        fields: Number of fields.
        shares: Per term-frequency field, its value shares (``code``, ``share``) on the
            engine, for scoring.
    """

    table: Table
    fields: int
    shares: Mapping[int, Table] = field(default_factory=dict)


def counted_patterns(
    levels: npt.NDArray[np.int8],
) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.int64]]:
    """:func:`pattern_counts_on` the engine of :func:`using_engine`, else in NumPy.

    Levels that the comparison stage left on the engine are counted there (not uploaded).
    """
    engine, chain = current_engine(), current_chain()
    if engine is None:
        return pattern_counts(levels)
    held = chain.find(levels) if chain is not None else None
    if isinstance(held, EngineLevels) and held.fields == levels.shape[1]:
        return pattern_counts_of(engine, held.table, held.fields)
    return pattern_counts_on(engine, levels)


def components(count: int, u: IntArray, v: IntArray) -> IntArray:
    """Connected components on the engine of :func:`using_engine`, else in NumPy."""
    engine = current_engine()
    if engine is None:
        return connected_components(count, u, v)
    return connected_components_on(engine, count, u, v)
