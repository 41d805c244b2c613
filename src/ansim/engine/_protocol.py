"""What every query engine offers: the interface domain code is written against.

Domain modules hold a :class:`QueryEngine` and hand it Ibis expressions; which engine runs them
(DuckDB on one machine, Spark on a cluster) is the caller's choice. Besides tables and
execution, an engine can run a Python function over partitions of a table in which every row
of one key lands in the same partition (:meth:`QueryEngine.map_partitions`): the linkage unit's
numba kernels run that way inside Spark's executors.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Literal, Protocol, Self, runtime_checkable

import pyarrow as pa
from ibis.expr.types import Table

__all__ = ["EngineKind", "PartitionFunction", "QueryEngine"]

EngineKind = Literal["duckdb", "spark"]
"""The engines :func:`ansim.engine.open_engine` can open."""

PartitionFunction = Callable[[pa.Table], pa.Table]
"""Rows of one partition (all rows of each of its keys, sorted by key) → output rows."""


@runtime_checkable
class QueryEngine(Protocol):
    """A connection that stores tables and executes Ibis expressions.

    Implementations: :class:`ansim.engine.Engine` (DuckDB) and
    :class:`ansim.engine.SparkEngine` (PySpark, the ``spark`` extra).

    Example:
        >>> from ansim.engine import Engine
        >>> with Engine() as engine:
        ...     isinstance(engine, QueryEngine), engine.kind
        (True, 'duckdb')
    """

    @property
    def kind(self) -> EngineKind:
        """Which engine this is."""
        ...

    def create_table(self, name: str, data: pa.Table | Table, *, overwrite: bool = True) -> Table:
        """Store Arrow rows or an expression's result under ``name`` and return the table."""
        ...

    def table(self, name: str) -> Table:
        """A stored table by name."""
        ...

    def list_tables(self) -> list[str]:
        """Names of the stored tables."""
        ...

    def drop_table(self, name: str) -> None:
        """Remove a stored table (no error if it is not there)."""
        ...

    def read_parquet(self, path: Path) -> Table:
        """A Parquet file as a table expression."""
        ...

    def to_pyarrow(self, expr: Table) -> pa.Table:
        """Execute an expression; its rows as Arrow."""
        ...

    def count(self, expr: Table) -> int:
        """Number of rows of an expression."""
        ...

    def write_parquet(self, expr: Table | pa.Table, path: Path) -> Path:
        """Write rows to a Parquet file atomically."""
        ...

    def map_partitions(
        self,
        expr: Table,
        fn: PartitionFunction,
        schema: pa.Schema,
        *,
        by: str,
        partitions: int,
    ) -> Table:
        """Run ``fn`` over partitions of ``expr`` hashed on the integer column ``by``.

        A key's partition is ``pmod(xxhash64(key), partitions)`` on every engine
        (:func:`ansim.engine.partition_of`), so ``fn`` is called once per non-empty partition
        with the same rows everywhere: every row of its keys, sorted by ``by``. The results
        (rows of ``schema``) are united into a table.
        """
        ...

    def close(self) -> None:
        """Release the connection."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
