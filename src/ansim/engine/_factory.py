"""Opening an engine by kind: DuckDB (the default) or Spark."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ansim.engine._duckdb import Engine
from ansim.engine._protocol import EngineKind, QueryEngine
from ansim.errors import EngineError

__all__ = ["ENGINE_KINDS", "open_engine"]

ENGINE_KINDS: tuple[EngineKind, ...] = ("duckdb", "spark")
"""Engines that can be asked for by name (``--engine``)."""


def open_engine(
    kind: EngineKind = "duckdb", *, path: Path | None = None, **options: Any
) -> QueryEngine:
    """Open a query engine of the given kind.

    Args:
        kind: ``"duckdb"`` (one machine, the default) or ``"spark"`` (the ``spark`` extra).
        path: DuckDB only: the database file (``None``: in memory).
        **options: Passed to :class:`~ansim.engine.Engine` or :class:`~ansim.engine.SparkEngine`.

    Returns:
        The engine (a context manager: it closes on exit).

    Raises:
        EngineError: An unknown kind, a path given to Spark, or Spark's extra or Java missing
            (the message names what to install).

    Example:
        >>> with open_engine("duckdb") as engine:
        ...     engine.kind
        'duckdb'
        >>> open_engine("oracle")
        Traceback (most recent call last):
        ...
        ansim.errors.EngineError: unknown engine 'oracle': use one of duckdb, spark
    """
    if kind == "duckdb":
        return Engine(path, **options)
    if kind == "spark":
        if path is not None:
            raise EngineError("the Spark engine keeps its tables in the session: give no path")
        from ansim.engine._spark import SparkEngine  # noqa: PLC0415 - needs the spark extra

        return SparkEngine(**options)
    raise EngineError(f"unknown engine {kind!r}: use one of {', '.join(ENGINE_KINDS)}")
