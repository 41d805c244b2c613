"""Query engines: the only place where Ansim opens a database connection.

Domain modules build Ibis expressions and hand them to an :class:`Engine` to execute; adding an
engine (Spark, issue "scale") touches this package only.
"""

from __future__ import annotations

from ansim.engine._duckdb import Engine

__all__ = ["Engine"]
