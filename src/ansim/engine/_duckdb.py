"""The embedded default engine: Ibis over DuckDB."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import duckdb
import ibis
import numpy as np
import pyarrow as pa
from ibis.expr.types import Table

from ansim._atomic import write_parquet_atomic
from ansim._closing import Closing
from ansim.engine._encryption import HUB_CATALOG, attach_encrypted
from ansim.engine._partitioning import partition_of
from ansim.engine._protocol import PartitionFunction
from ansim.errors import EngineError

__all__ = ["Engine"]

_TABLE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


def _checked_name(name: str) -> str:
    if not _TABLE_NAME.match(name):
        raise EngineError(
            f"table name {name!r} is not allowed: use lower-case letters, digits and underscores, "
            "starting with a letter"
        )
    return name


class Engine(Closing):
    """An Ibis connection to an embedded DuckDB database (in memory or in a file).

    The default :class:`ansim.engine.QueryEngine`. Every module that needs a query engine
    receives one; none opens DuckDB itself.
    With ``encryption_key`` the file is an encrypted DuckDB database (AES-GCM): it is attached
    as catalog ``hub`` to an in-memory connection and every table lives there; without the key
    the file reveals nothing. The key is passed to DuckDB as a bound parameter and not kept.

    Args:
        path: Database file, or ``None`` for a private in-memory database.
        read_only: Open an existing file read-only.
        threads: Worker threads DuckDB may use (default: all cores).
        memory_limit: DuckDB memory limit such as ``"4GB"`` (default: DuckDB's own).
        encryption_key: A 256-bit data key: the file is (or becomes) an encrypted database.

    Example:
        >>> import pyarrow as pa
        >>> with Engine() as engine:
        ...     t = engine.create_table("people", pa.table({"age": [34, 71, 34]}))
        ...     engine.to_pyarrow(t.group_by("age").agg(n=t.count()).order_by("age")).to_pylist()
        [{'age': 34, 'n': 2}, {'age': 71, 'n': 1}]
    """

    def __init__(
        self,
        path: Path | None = None,
        *,
        read_only: bool = False,
        threads: int | None = None,
        memory_limit: str | None = None,
        encryption_key: bytes | None = None,
    ) -> None:
        config: dict[str, Any] = {}
        if threads is not None:
            config["threads"] = threads
        if memory_limit is not None:
            config["memory_limit"] = memory_limit
        self.path = path
        self.encrypted = encryption_key is not None
        self._database: tuple[str, str] | None = None
        if encryption_key is not None and path is None:
            raise EngineError("an encryption key needs a database file: give a path")
        try:
            if path is None or encryption_key is not None:
                self._con = ibis.duckdb.connect(**config)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._con = ibis.duckdb.connect(str(path), read_only=read_only, **config)
        except duckdb.Error as e:
            raise EngineError(f"cannot open the DuckDB database at {path}: {e}") from e
        if encryption_key is not None and path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                attach_encrypted(self._con.con, path, encryption_key, read_only=read_only)
            except EngineError:
                self._con.disconnect()
                raise
            self._database = (HUB_CATALOG, "main")

    @property
    def kind(self) -> Literal["duckdb"]:
        """Which engine this is: ``"duckdb"``."""
        return "duckdb"

    # -- lifecycle -------------------------------------------------------------------------
    def close(self) -> None:
        """Close the connection (files are flushed)."""
        self._con.disconnect()

    # -- tables ----------------------------------------------------------------------------
    def create_table(self, name: str, data: pa.Table | Table, *, overwrite: bool = True) -> Table:
        """Store an Arrow table or an Ibis expression as a table and return it.

        Args:
            name: Table name (lower-case identifier).
            data: Rows to store.
            overwrite: Replace an existing table of that name.

        Returns:
            The stored table as an Ibis expression.
        """
        try:
            return self._con.create_table(
                _checked_name(name), data, overwrite=overwrite, database=self._database
            )
        except duckdb.Error as e:
            raise EngineError(f"cannot create table {name!r}: {e}") from e

    def table(self, name: str) -> Table:
        """Return a stored table by name."""
        return self._con.table(_checked_name(name), database=self._database)

    def list_tables(self) -> list[str]:
        """Names of the stored tables (not temporary views of in-memory data)."""
        if self._database is None:
            return list(self._con.list_tables())
        rows = self._con.con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND NOT temporary "
            "ORDER BY table_name",
            [self._database[0]],
        ).fetchall()
        return [str(r[0]) for r in rows]

    def drop_table(self, name: str) -> None:
        """Remove a stored table (no error if it is not there)."""
        try:
            self._con.drop_table(_checked_name(name), database=self._database, force=True)
        except duckdb.Error as e:
            raise EngineError(f"cannot drop table {name!r}: {e}") from e

    def read_parquet(self, path: Path) -> Table:
        """Expose a Parquet file as a table expression (read lazily by the engine)."""
        if not path.is_file():
            raise EngineError(f"no Parquet file at {path}")
        try:
            return self._con.read_parquet(str(path))
        except duckdb.Error as e:
            raise EngineError(f"cannot read Parquet file {path}: {e}") from e

    # -- execution -------------------------------------------------------------------------
    def to_pyarrow(self, expr: Table) -> pa.Table:
        """Execute an expression and return its rows as an Arrow table."""
        try:
            return self._con.to_pyarrow(expr)
        except duckdb.Error as e:
            raise EngineError(f"query failed: {e}") from e

    def count(self, expr: Table) -> int:
        """Number of rows of an expression."""
        return int(self.to_pyarrow(expr.aggregate(n=expr.count()))["n"][0].as_py())

    def write_parquet(self, expr: Table | pa.Table, path: Path) -> Path:
        """Write rows to a Parquet file atomically (temporary file, then rename).

        Args:
            expr: An expression to execute, or Arrow rows.
            path: Destination file.

        Returns:
            The destination path.
        """
        table = expr if isinstance(expr, pa.Table) else self.to_pyarrow(expr)
        return write_parquet_atomic(table, path)

    def map_partitions(
        self,
        expr: Table,
        fn: PartitionFunction,
        schema: pa.Schema,
        *,
        by: str,
        partitions: int,
    ) -> Table:
        """Run ``fn`` over partitions of ``expr`` hashed on ``by``, in process.

        A key's partition is ``pmod(xxhash64(key), partitions)``, as on Spark
        (:func:`~ansim.engine.partition_of`), so ``fn`` sees the same rows on both engines:
        every row of its keys, sorted by key. The outputs are united into an in-memory table.

        Args:
            expr: Rows to partition; ``by`` is an integer column.
            fn: Partition rows → output rows (of ``schema``).
            schema: The output schema.
            by: The partitioning key.
            partitions: Number of partitions.

        Returns:
            The united outputs.

        Example:
            >>> import pyarrow as pa, pyarrow.compute as pc
            >>> with Engine() as engine:
            ...     t = engine.create_table("t", pa.table({"k": [1, 2, 1, 3], "x": [1, 2, 3, 4]}))
            ...     s = pa.schema([("k", pa.int64()), ("n", pa.int64())])
            ...     def sizes(rows):
            ...         k, n = pc.unique(rows["k"]), pc.value_counts(rows["k"]).field(1)
            ...         return pa.table([k, pc.cast(n, pa.int64())], schema=s)
            ...     out = engine.map_partitions(t, sizes, s, by="k", partitions=2)
            ...     engine.to_pyarrow(out.order_by("k")).to_pylist()
            [{'k': 1, 'n': 2}, {'k': 2, 'n': 1}, {'k': 3, 'n': 1}]
        """
        if partitions < 1:
            raise EngineError(f"partitions must be at least 1, not {partitions}")
        rows = self.to_pyarrow(expr.order_by(by))
        part = partition_of(rows[by].to_numpy(zero_copy_only=False), partitions)
        outputs = []
        for p in range(partitions):
            index = np.flatnonzero(part == p)
            if index.size:
                outputs.append(fn(rows.take(pa.array(index))).cast(schema))
        result = pa.concat_tables(outputs) if outputs else schema.empty_table()
        return ibis.memtable(result)
