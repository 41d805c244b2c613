"""A locked-down DuckDB connection for analysts' read-only SQL (the hub workspace).

The connection is in memory and holds only the tables it is given (a project's views). It is
opened with file-system and network access off and extension auto-install/auto-load off; after
the tables are loaded its configuration is locked, so no statement can turn access back on or
raise the memory limit. Each query runs under a wall-clock timeout (the connection is
interrupted) and the memory limit. Parsing and allow-listing the SQL is the caller's job
(``ansim.workspace``); this is the second wall.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence

import duckdb
import pyarrow as pa

from ansim._closing import Closing
from ansim.engine._duckdb import _checked_name
from ansim.errors import AccessDenied, EngineError

__all__ = ["SandboxEngine", "sanitised"]

_QUOTED = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"")
_NUMBER = re.compile(r"(?<![A-Za-z_])[-+]?\d+(?:[.:/-]\d+)*")


def sanitised(error: BaseException) -> str:
    """A DuckDB error's first line with every quoted string and number replaced by ``…``.

    DuckDB quotes the offending value ("Could not convert string '414601998-07-04' to DATE");
    an error must never show a value from the data.

    Example:
        >>> sanitised(ValueError("Could not convert string '414601998-07-04' to DATE"))
        'Could not convert string … to DATE'
    """
    first = str(error).splitlines()[0] if str(error) else type(error).__name__
    return _NUMBER.sub("…", _QUOTED.sub("…", first))


class SandboxEngine(Closing):
    """An in-memory DuckDB holding only the given tables, with external access off and locked.

    Args:
        tables: Table name → rows (the project's views).
        memory_limit: DuckDB memory limit, such as ``"512MB"``.
        threads: Worker threads.
        timeout_s: Wall-clock limit of one query, in seconds.
        temp_directory: Where DuckDB may spill (``None``: DuckDB's default).
        max_temp_size: The most it may spill there, such as ``"1GB"`` (``None``: DuckDB's
            default, 90 % of the free disk).

    Example:
        >>> import pyarrow as pa
        >>> with SandboxEngine({"people": pa.table({"age": [34, 71, 34]})}) as sandbox:
        ...     sandbox.query("SELECT count(*) AS n FROM people").to_pylist()
        [{'n': 3}]
    """

    def __init__(
        self,
        tables: Mapping[str, pa.Table],
        *,
        memory_limit: str = "512MB",
        threads: int = 1,
        timeout_s: float = 30.0,
        temp_directory: str | None = None,
        max_temp_size: str | None = None,
    ) -> None:
        if timeout_s <= 0:
            raise EngineError(f"a query timeout must be positive, not {timeout_s}")
        self.timeout_s = timeout_s
        config: dict[str, str | bool | int | float | list[str]] = {
            "enable_external_access": False,
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "allow_community_extensions": False,
            "memory_limit": memory_limit,
            "threads": threads,
        }
        if temp_directory is not None:
            config["temp_directory"] = temp_directory
        if max_temp_size is not None:
            config["max_temp_directory_size"] = max_temp_size
        try:
            self._con = duckdb.connect(":memory:", config=config)
            for name, rows in tables.items():
                self._con.register("_ansim_source", rows)
                self._con.execute(f'CREATE TABLE "{_checked_name(name)}" AS FROM _ansim_source')
                self._con.unregister("_ansim_source")
            self._con.execute("SET enable_progress_bar = false")  # not a global option
            self._con.execute("SET lock_configuration = true")
        except duckdb.Error as e:
            raise EngineError(f"cannot open the analysis sandbox: {e}") from e
        self.tables = tuple(tables)

    def query(self, sql: str) -> pa.Table:
        """Run one (already vetted) statement under the timeout and memory limit.

        Args:
            sql: The statement.

        Returns:
            Its rows.

        Raises:
            EngineError: The query ran out of time or memory, or failed.
            AccessDenied: DuckDB refused a file, network or configuration access.
        """
        timer = threading.Timer(self.timeout_s, self._con.interrupt)
        timer.start()
        try:
            return self._con.execute(sql).to_arrow_table()
        except duckdb.InterruptException as e:
            raise EngineError(
                f"query stopped after the {self.timeout_s:g} s limit: narrow it (filters, "
                "fewer joins) or aggregate first"
            ) from e
        except duckdb.OutOfMemoryException as e:
            raise EngineError(
                "query stopped at the workspace memory limit: aggregate first or select fewer "
                "columns"
            ) from e
        except duckdb.PermissionException as e:
            raise AccessDenied(
                "the workspace allows no file, network or extension access: query the "
                "project's views only"
            ) from e
        except duckdb.Error as e:
            raise EngineError(f"query failed: {sanitised(e)}") from e
        finally:
            timer.cancel()

    def unmatched(
        self,
        person: str,
        ids: pa.ChunkedArray,
        views: Sequence[str],
        column: str | None = None,
        values: pa.ChunkedArray | None = None,
    ) -> int:
        """Count an output's person ids, or (person, value) pairs, that no given view holds.

        The platform's semi-join of a query result against the views it read: without a
        column, the person ids that are in none of ``views``; with one, the distinct
        (person, value) pairs that no view holds for that person in that column. Values are
        compared as text, so a cast that keeps the value still matches.

        Args:
            person: The person id column of the views.
            ids: The output's person ids.
            views: The views to check against.
            column: The view column whose values must be each person's own.
            values: The output's values of that column (row by row with ``ids``).

        Returns:
            How many ids or pairs are unmatched (0 when every one is the views' own).

        Raises:
            EngineError: The check could not run.

        Example:
            >>> people = pa.table({"person_id": [1, 2], "sex": ["F", "M"]})
            >>> with SandboxEngine({"people": people}) as sandbox:
            ...     ids, sex = pa.chunked_array([[1, 2]]), pa.chunked_array([["F", "F"]])
            ...     sandbox.unmatched("person_id", ids, ["people"], "sex", sex)
            1
        """
        # Only checked identifiers are interpolated: every value stays in the registered table.
        p = _checked_name(person)
        c = _checked_name(column) if column is not None else None
        misses = " AND ".join(
            f'NOT EXISTS (SELECT 1 FROM "{_checked_name(v)}" t '  # noqa: S608 - identifiers
            f'WHERE CAST(t."{p}" AS VARCHAR) = o.p'
            + (f' AND CAST(t."{c}" AS VARCHAR) = o.v' if c else "")
            + ")"
            for v in views
        )
        pairs = c is not None and values is not None
        rows = pa.table({"p": ids, "v": values} if pairs else {"p": ids})
        value = ", CAST(v AS VARCHAR) AS v" if pairs else ""
        present = " AND v IS NOT NULL" if pairs else ""
        sql = (
            f"SELECT count(*) FROM (SELECT DISTINCT CAST(p AS VARCHAR) AS p{value} "  # noqa: S608
            f"FROM _ansim_result WHERE p IS NOT NULL{present}) o WHERE {misses or 'true'}"
        )
        self._con.register("_ansim_result", rows)
        try:
            row = self._con.execute(sql).fetchone()
        except duckdb.Error as e:
            raise EngineError("cannot check the output's person ids against the views") from e
        finally:
            self._con.unregister("_ansim_result")
        return int(row[0]) if row else 0

    def close(self) -> None:
        """Close the connection (its tables vanish with it)."""
        self._con.close()
