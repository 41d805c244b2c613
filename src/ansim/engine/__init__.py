"""Query engines: the only place where Ansim opens a database connection.

Domain modules build Ibis expressions and hand them to an :class:`Engine` to execute; adding an
engine (Spark, issue "scale") touches this package only. An ``Engine`` given a data key opens an
encrypted DuckDB file (the hub's safe store). A :class:`SandboxEngine` runs analysts' read-only
SQL on a locked-down in-memory copy of a project's views.
"""

from __future__ import annotations

from ansim.engine._duckdb import Engine
from ansim.engine._encryption import HUB_CATALOG, attach_encrypted, httpfs_extension_path
from ansim.engine._sandbox import SandboxEngine

__all__ = ["HUB_CATALOG", "Engine", "SandboxEngine", "attach_encrypted", "httpfs_extension_path"]
