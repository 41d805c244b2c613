"""The custodian's split on a query engine: the same chunk work inside the engine's partitions.

:func:`prepare_on_engine` reads the ingested records as an engine table (a Parquet file, with
a row-number column added while it is streamed to a scratch copy), and has
:meth:`~ansim.engine.QueryEngine.map_partitions` run the in-memory path's chunk function
(standardise, tokens, Bloom encodings) over partitions of it: in Spark's executors on a
Spark engine. Each partition also returns one row of its report counts. The driver then
collects the rows in record order, assigns serials (from ``serial_source`` when given, so a
trial run is reproducible) and writes the same four files as :func:`ansim.identity.prepare`
as one atomic set: for one secret and serial source the outputs are equal.

The partitions' workers receive the linkage secret with the function: on a cluster they are
the custodian's own machines, and Spark's RPC and I/O encryption
(``spark.network.crypto.enabled``, ``spark.io.encryption.enabled``) should be on. The driver
collects the identity columns, the content columns and the name and address columns (for the
content scan) to write the files: its memory bounds the file size.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ansim._atomic import (
    clean_stale,
)
from ansim.engine import QueryEngine
from ansim.errors import EngineError
from ansim.identity._bloom import FieldFill
from ansim.identity._content_scan import scan_content
from ansim.identity._encoding import DEFAULT_ENCODING_SPEC, EncodingSpec
from ansim.identity._prepare import (
    DEFAULT_CHUNK_ROWS,
    PreparedParts,
    _Accumulated,
    _prepare_chunk,
    _present_kinds,
    _write_parts,
    new_serials,
)
from ansim.identity._secret import LinkageSecret
from ansim.identity._tokens import DEFAULT_RECIPES, TokenRecipe
from ansim.schema import DatasetSpec, IdentifierKind

__all__ = ["ROW_COLUMN", "prepare_on_engine"]

ROW_COLUMN = "ansim_row"
"""The record's position in the ingested file (the partitioning key)."""
_STATS_COLUMN = "ansim_stats"
_SCANNED_KINDS = (IdentifierKind.KOREAN_NAME, IdentifierKind.ADDRESS)


def _stats_json(acc: _Accumulated, first: int) -> str:
    """A partition's report counts (no identifier: counts and fill rates only)."""
    return json.dumps(
        {
            "first": first,
            "invalid": dict(acc.invalid),
            "fills": {k: [dataclasses.asdict(f) for f in v] for k, v in acc.fills.items()},
            "checks": {k: dict(v) for k, v in acc.checks.items()},
        }
    )


def _merged_stats(texts: list[str]) -> _Accumulated:
    """The partitions' counts as one accumulation (fills in record order)."""
    acc = _Accumulated()
    for stats in sorted((json.loads(t) for t in texts), key=lambda s: int(s["first"])):
        acc.invalid.update(stats["invalid"])
        for name, fills in stats["fills"].items():
            acc.fills.setdefault(name, []).extend(FieldFill(**f) for f in fills)
        for kind, counts in stats["checks"].items():
            acc.checks.setdefault(kind, Counter()).update(counts)
    return acc


def _on_engine_type(field: pa.Field) -> pa.Field:
    """Fixed-size binary travels as binary (Spark has no fixed-size type)."""
    if pa.types.is_fixed_size_binary(field.type):
        return pa.field(field.name, pa.binary())
    return pa.field(field.name, field.type)


def _numbered_copy(records: Path, into: Path, chunk_rows: int) -> tuple[pa.Schema, int]:
    """Stream the records to a Parquet copy with their positions; the file schema and count."""
    source = pq.ParquetFile(records)
    schema = source.schema_arrow
    if ROW_COLUMN in schema.names:
        raise EngineError(f"the records may not have a column named {ROW_COLUMN!r}")
    numbered = schema.append(pa.field(ROW_COLUMN, pa.int64(), nullable=False))
    start = 0
    with pq.ParquetWriter(into, numbered) as writer:
        for batch in source.iter_batches(batch_size=chunk_rows):
            positions = pa.array(range(start, start + batch.num_rows), pa.int64())
            writer.write_batch(
                pa.RecordBatch.from_arrays([*batch.columns, positions], schema=numbered)
            )
            start += batch.num_rows
    return schema, start


def _partition_function(
    spec: DatasetSpec,
    schema: pa.Schema,
    secret: LinkageSecret,
    plan: tuple[Sequence[TokenRecipe], EncodingSpec | None],
    chunk_rows: int,
) -> tuple[dict[str, pa.DataType], pa.Schema, Callable[[pa.Table], pa.Table]]:
    """The identity columns' types, the partitions' output schema and the partition function.

    The function returns a partition's identity columns with each record's position, and one
    more row (position null) holding the partition's report counts as JSON.
    """
    probe = _Accumulated()
    _prepare_chunk(spec, schema.empty_table(), secret, plan, probe)
    columns = {n: parts[0].type for n, parts in probe.columns.items()}
    returned = pa.schema(
        [_on_engine_type(pa.field(n, t)) for n, t in columns.items()]
        + [pa.field(ROW_COLUMN, pa.int64()), pa.field(_STATS_COLUMN, pa.string())]
    )
    numbered = schema.append(pa.field(ROW_COLUMN, pa.int64()))

    def chunk_function(rows: pa.Table) -> pa.Table:
        rows = rows.select(numbered.names).cast(numbered)
        acc = _Accumulated()
        for start in range(0, max(rows.num_rows, 1), chunk_rows):
            _prepare_chunk(spec, rows.slice(start, chunk_rows), secret, plan, acc)
        body = {n: pa.chunked_array(acc.columns[n], t) for n, t in columns.items()}
        body[ROW_COLUMN] = rows[ROW_COLUMN]
        first = int(pc.min(rows[ROW_COLUMN]).as_py()) if rows.num_rows else -1
        stats = {n: pa.nulls(1, t) for n, t in columns.items()}
        stats |= {
            ROW_COLUMN: pa.nulls(1, pa.int64()),
            _STATS_COLUMN: pa.array([_stats_json(acc, first)]),
        }
        data = pa.table(body).append_column(_STATS_COLUMN, pa.nulls(rows.num_rows, pa.string()))
        return pa.concat_tables([data, pa.table(stats)]).cast(returned)

    return columns, returned, chunk_function


def _split_output(result: pa.Table, total: int) -> tuple[pa.Table, list[str]]:
    """The prepared rows in record order, and the partitions' report counts."""
    is_stats = pc.is_null(result[ROW_COLUMN])
    texts = [t for t in pc.filter(result[_STATS_COLUMN], is_stats).to_pylist() if t is not None]
    rows = pc.filter(result, pc.invert(is_stats))
    rows = rows.take(pc.sort_indices(rows[ROW_COLUMN]))
    expected = pa.array(range(total), pa.int64())
    if rows.num_rows != total or not rows[ROW_COLUMN].combine_chunks().equals(expected):
        raise EngineError(f"the engine returned {rows.num_rows} prepared records of {total}")
    return rows, texts


def prepare_on_engine(
    engine: QueryEngine,
    spec: DatasetSpec,
    records: Path,
    secret: LinkageSecret,
    out: Path,
    *,
    project: str,
    recipes: Sequence[TokenRecipe] = DEFAULT_RECIPES,
    encoding: EncodingSpec | None = DEFAULT_ENCODING_SPEC,
    progress: Callable[[int, int], None] | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    serial_source: Callable[[int], list[str]] | None = None,
    partitions: int = 4,
    scratch: Path | None = None,
) -> PreparedParts:
    """Prepare a custodian's records on a query engine (see :func:`ansim.identity.prepare`).

    Args:
        engine: The engine whose partitions do the work (DuckDB in process, Spark's executors).
        spec: The dataset spec.
        records: The ingested records' Parquet file (``records.parquet`` of an ingest).
        secret: The project's linkage secret (sent to the partitions' workers).
        out: The custodian's output directory.
        project: Project identifier recorded in the parts' metadata.
        recipes: Which tokens to make.
        encoding: Bloom-filter encoding spec (``None``: tokens only).
        progress: Called with (records done, records in all) when the partitions are done.
        chunk_rows: Records standardised and encoded at a time inside a partition.
        serial_source: Makes ``count`` serials (default: random ones).
        partitions: Partitions of the records.
        scratch: Where the numbered copy of the records is written for the engine to read, and
            removed after (default: ``out``; on a cluster, a directory every executor can
            read). The copy is a private hidden folder that the next run removes if a kill
            left it behind.

    Returns:
        Where the parts are (the same four files as :func:`~ansim.identity.prepare`).

    Raises:
        IdentifierInContentError: A content column holds an identifier-shaped value.
        EngineError: The engine failed, or the records have a column named ``ansim_row``.

    Example:
        >>> import tempfile
        >>> from ansim.engine import Engine
        >>> from ansim.identity import prepare
        >>> spec = DatasetSpec.from_yaml_text('''
        ... dataset: d
        ... custodian: c
        ... record_id: id
        ... columns:
        ...   id: {type: string, role: record_id}
        ...   name: {type: string, role: direct_identifier, kind: korean_name}
        ...   age: {type: integer, role: attribute}
        ... ''')
        >>> rows = pa.table({"id": ["1", "2"], "name": ["김민준", "이서연"], "age": [40, 31]})
        >>> secret, serials = LinkageSecret.generate(), lambda n: [f"s{i}" for i in range(n)]
        >>> with tempfile.TemporaryDirectory() as tmp, Engine() as engine:
        ...     pq.write_table(rows, f"{tmp}/records.parquet")
        ...     a = prepare_on_engine(engine, spec, Path(tmp, "records.parquet"), secret,
        ...                           Path(tmp, "a"), project="p", serial_source=serials)
        ...     b = prepare(spec, rows, secret, Path(tmp, "b"), project="p",
        ...                 serial_source=serials)
        ...     pq.read_table(a.identity).equals(pq.read_table(b.identity))
        True
    """
    kinds = _present_kinds(spec)
    usable = [r for r in recipes if all(k in kinds for k in r.kinds)]
    used = None if encoding is None else encoding.for_kinds(kinds)
    plan = (usable, used)
    # A private (0700) hidden folder named for its writer: a kill leaves it to the next run's
    # clean_stale, so no identifier-bearing copy outlives the next preparation.
    base = (scratch or out) / f"{spec.dataset}.scratch"
    base.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(base)
    work = Path(
        tempfile.mkdtemp(prefix=f".{base.name}.{os.getpid()}.", suffix=".tmp", dir=base.parent)
    )
    try:
        numbered = work / "records.parquet"
        schema, total = _numbered_copy(records, numbered, chunk_rows)
        table = engine.read_parquet(numbered)
        # the driver's share: the columns the content scan, the content part and the serial map need
        scanned = {c.name for c in spec.direct_identifiers if c.effective_kind in _SCANNED_KINDS}
        wanted = [n for n in schema.names if n == spec.record_id or n in scanned]
        wanted += [c.name for c in spec.content_columns if c.name not in wanted]
        driver = engine.to_pyarrow(table.select(*wanted, ROW_COLUMN))  # ordered here, no shuffle
        driver = driver.take(pc.sort_indices(driver[ROW_COLUMN])).select(wanted)
        driver = driver.cast(pa.schema([schema.field(n) for n in wanted]))
        scan_content(spec, driver)
        # the partitions get the identifier columns only (the chunk work reads no other)
        kinded = {c.name for c in (spec.find_kind(k) for k in IdentifierKind) if c is not None}
        inputs = pa.schema([f for f in schema if f.name in kinded])
        columns, returned, chunk_function = _partition_function(
            spec, inputs, secret, plan, chunk_rows
        )
        output = engine.map_partitions(
            table.select(*inputs.names, ROW_COLUMN),
            chunk_function,
            returned,
            by=ROW_COLUMN,
            partitions=partitions,
        )
        result = engine.to_pyarrow(output)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    rows, texts = _split_output(result, total)
    if texts:
        acc = _merged_stats(texts)
    else:  # no records: the report of an empty chunk, as in memory
        acc = _Accumulated()
        _prepare_chunk(spec, schema.empty_table(), secret, plan, acc)
    if progress is not None:
        progress(total, total)
    serials = pa.array((serial_source or new_serials)(total), pa.string())
    identity: dict[str, pa.Array | pa.ChunkedArray] = {"serial": serials}
    identity |= {n: rows[n].cast(t) for n, t in columns.items()}
    content = {"serial": serials} | {c.name: driver[c.name] for c in spec.content_columns}
    return _write_parts(
        spec,
        out,
        project,
        (recipes, usable, used),
        acc,
        identity,
        content,
        driver[spec.record_id],
        total,
    )
