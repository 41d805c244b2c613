"""Query engines: the only place where Ansim opens a database connection.

Domain modules build Ibis expressions and hand them to a :class:`QueryEngine` to execute. Two
implement it: :class:`Engine` (DuckDB, embedded, the default everywhere; given a data key it
opens an encrypted DuckDB file, the hub's safe store) and :class:`SparkEngine` (PySpark, the
``spark`` extra, ``local[2]`` by default); :func:`open_engine` opens either by name. A
:class:`SandboxEngine` runs analysts' read-only SQL on a locked-down in-memory copy of a
project's views. :func:`connected_components_on` labels the components of a graph held by an
engine (large-star/small-star), for link maps too large for one machine.
:func:`partition_of` is the one rule by which every engine assigns keys to partitions.
"""

from __future__ import annotations

from ansim.engine._components import connected_components_on
from ansim.engine._duckdb import Engine
from ansim.engine._encryption import HUB_CATALOG, attach_encrypted, httpfs_extension_path
from ansim.engine._factory import ENGINE_KINDS, open_engine
from ansim.engine._partitioning import partition_of, xxhash64
from ansim.engine._protocol import EngineKind, PartitionFunction, QueryEngine
from ansim.engine._sandbox import SandboxEngine
from ansim.engine._spark import SPARK_EXTRA, SparkEngine, spark_config

__all__ = [
    "ENGINE_KINDS",
    "HUB_CATALOG",
    "SPARK_EXTRA",
    "Engine",
    "EngineKind",
    "PartitionFunction",
    "QueryEngine",
    "SandboxEngine",
    "SparkEngine",
    "attach_encrypted",
    "connected_components_on",
    "httpfs_extension_path",
    "open_engine",
    "partition_of",
    "spark_config",
    "xxhash64",
]
