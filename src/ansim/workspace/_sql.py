"""Vetting analysts' SQL: one read-only query over the project's views, nothing else.

This is the first wall (the locked-down :class:`ansim.engine.SandboxEngine` is the second): the
text is parsed with sqlglot; only a single ``SELECT`` (with ``WITH``, ``UNION`` and subqueries)
passes, every table it reads must be one of the project's views or its own CTEs, and table
functions and functions that reach outside the data (file readers, ``glob``, ``getenv``,
DuckDB's catalog functions) are refused. The query that runs is sqlglot's rendering of the
parsed tree, so what was vetted is what executes.
"""

from __future__ import annotations

import logging
from collections.abc import Collection

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from ansim.errors import AccessDenied, InvalidSpecError

__all__ = ["tables_read", "vet_sql"]

_REFUSED_PREFIXES = ("read_", "duckdb_", "pragma_", "parquet_", "sqlite_", "json_execute")
_REFUSED_FUNCTIONS = frozenset(
    {"glob", "getenv", "query", "query_table", "current_setting", "sniff_csv", "load", "install"}
)


def _function_name(node: exp.Func) -> str:
    name = node.name if isinstance(node, exp.Anonymous) else node.sql_name()
    return str(name).lower()


def vet_sql(sql: str, views: Collection[str]) -> str:
    """Check one analyst query and return the SQL to run.

    Args:
        sql: The analyst's query.
        views: Names of the project's views (the only tables it may read).

    Returns:
        The vetted query, rendered from its parse tree (DuckDB dialect).

    Raises:
        InvalidSpecError: The text is not valid SQL.
        AccessDenied: It is not a single read-only query over the project's views.

    Example:
        >>> vet_sql("select count(*) from people", ["people"])
        'SELECT COUNT(*) FROM people'
        >>> vet_sql("copy people to 'out.csv'", ["people"])
        Traceback (most recent call last):
        ...
        ansim.errors.AccessDenied: the workspace runs read-only SELECT queries only, not COPY
    """
    logging.getLogger("sqlglot").setLevel(logging.ERROR)  # unsupported syntax is refused below
    try:
        statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    except SqlglotError as e:
        raise InvalidSpecError(f"the query is not valid SQL: {str(e).splitlines()[0]}") from e
    if len(statements) != 1:
        raise AccessDenied("the workspace runs exactly one statement per query")
    statement = statements[0]
    if not isinstance(statement, exp.Query):
        raise AccessDenied(
            f"the workspace runs read-only SELECT queries only, not {statement.key.upper()}"
        )
    ctes = {cte.alias_or_name for cte in statement.find_all(exp.CTE)}
    for table in statement.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            raise AccessDenied(
                "the workspace refuses table functions (file and catalog readers): read the "
                "project's views by name"
            )
        if table.args.get("db") or table.args.get("catalog"):
            raise AccessDenied("name the project's views without a schema or catalog")
        if table.name not in views and table.name not in ctes:
            raise AccessDenied(
                f"{table.name!r} is not one of this project's views; available: {sorted(views)}"
            )
    for node in statement.find_all(exp.Func):
        name = _function_name(node)
        if name in _REFUSED_FUNCTIONS or name.startswith(_REFUSED_PREFIXES):
            raise AccessDenied(f"the workspace refuses the function {name}()")
    return statement.sql(dialect="duckdb")


def tables_read(sql: str, views: Collection[str]) -> set[str]:
    """The project's views a (vetted) query reads.

    Example:
        >>> sorted(tables_read("select * from a join b using (person_id)", ["a", "b", "c"]))
        ['a', 'b']
    """
    statement = sqlglot.parse_one(sql, read="duckdb")
    return {t.name for t in statement.find_all(exp.Table) if t.name in views}
