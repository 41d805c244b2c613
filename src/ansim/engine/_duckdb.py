"""The embedded default engine: Ibis over DuckDB."""

from __future__ import annotations

import re
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import duckdb
import ibis
import pyarrow as pa
from ibis.expr.types import Table

from ansim._atomic import write_parquet_atomic
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


class Engine:
    """An Ibis connection to an embedded DuckDB database (in memory or in a file).

    Every module that needs a query engine receives an ``Engine``; none opens DuckDB itself.

    Args:
        path: Database file, or ``None`` for a private in-memory database.
        read_only: Open an existing file read-only.
        threads: Worker threads DuckDB may use (default: all cores).
        memory_limit: DuckDB memory limit such as ``"4GB"`` (default: DuckDB's own).

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
    ) -> None:
        config: dict[str, Any] = {}
        if threads is not None:
            config["threads"] = threads
        if memory_limit is not None:
            config["memory_limit"] = memory_limit
        self.path = path
        try:
            if path is None:
                self._con = ibis.duckdb.connect(**config)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._con = ibis.duckdb.connect(str(path), read_only=read_only, **config)
        except duckdb.Error as e:
            raise EngineError(f"cannot open the DuckDB database at {path}: {e}") from e

    # -- lifecycle -------------------------------------------------------------------------
    def close(self) -> None:
        """Close the connection (files are flushed)."""
        self._con.disconnect()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

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
            return self._con.create_table(_checked_name(name), data, overwrite=overwrite)
        except duckdb.Error as e:
            raise EngineError(f"cannot create table {name!r}: {e}") from e

    def table(self, name: str) -> Table:
        """Return a stored table by name."""
        return self._con.table(_checked_name(name))

    def list_tables(self) -> list[str]:
        """Names of the stored tables."""
        return list(self._con.list_tables())

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
