"""Encrypted DuckDB files: the OpenSSL crypto module and the ``ATTACH … (ENCRYPTION_KEY …)`` call.

DuckDB refuses to *write* an encrypted database with its built-in, read-only crypto module; the
``httpfs`` extension brings OpenSSL. Extensions cannot be downloaded on every machine, so the one
shipped on PyPI as ``duckdb-extension-httpfs`` (same version as DuckDB) is loaded from its path.
The key travels as a bound parameter only: it never appears in SQL text, errors or logs.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import duckdb
from sqlglot import expressions as sge

from ansim.errors import EngineError

__all__ = ["HUB_CATALOG", "attach_encrypted", "httpfs_extension_path"]

HUB_CATALOG = "hub"
_KEY_BYTES = 32


def httpfs_extension_path() -> Path:
    """Path of the ``httpfs`` extension shipped for the installed DuckDB version.

    Returns:
        The ``httpfs.duckdb_extension`` file inside the ``duckdb-extension-httpfs`` package.

    Raises:
        EngineError: The package is missing or built for another DuckDB version.

    Example:
        >>> httpfs_extension_path().name
        'httpfs.duckdb_extension'
    """
    try:
        root = resources.files("duckdb_extension_httpfs")
    except ModuleNotFoundError as e:
        raise EngineError(
            "encrypted stores need the 'duckdb-extension-httpfs' package: reinstall Ansim"
        ) from e
    path = Path(str(root)) / "extensions" / f"v{duckdb.__version__}" / "httpfs.duckdb_extension"
    if not path.is_file():
        raise EngineError(
            f"no httpfs extension for DuckDB {duckdb.__version__}: install "
            f"duckdb-extension-httpfs=={duckdb.__version__}"
        )
    return path


def _literal(text: str) -> str:
    """A DuckDB string literal, quoted by sqlglot (paths only, never keys)."""
    return sge.Literal.string(text).sql("duckdb")


def attach_encrypted(
    con: duckdb.DuckDBPyConnection, path: Path, key: bytes, *, read_only: bool
) -> None:
    """Attach the encrypted database at ``path`` as catalog ``hub`` on an open connection.

    Args:
        con: A DuckDB connection (in memory).
        path: The encrypted database file (created if missing, unless ``read_only``).
        key: The 256-bit data key.
        read_only: Attach read-only.

    Raises:
        EngineError: The key has the wrong length, the file is missing, or it will not open
            with this key. The message never contains the key.
    """
    if len(key) != _KEY_BYTES:
        raise EngineError(f"a store key must be {_KEY_BYTES} bytes long")
    if read_only and not path.is_file():
        raise EngineError(f"no encrypted store at {path}")
    options = "ENCRYPTION_KEY ?, READ_ONLY" if read_only else "ENCRYPTION_KEY ?"
    try:
        con.execute(f"LOAD {_literal(str(httpfs_extension_path()))}")
        # spilled intermediate results must not reach the disk in plaintext either
        con.execute("SET temp_file_encryption = true")
        con.execute(
            f"ATTACH {_literal(str(path))} AS {HUB_CATALOG} ({options})",
            [key.hex()],
        )
    except duckdb.Error as e:
        # DuckDB's messages name the file and the failure, never the bound key
        raise EngineError(
            f"cannot open the encrypted store at {path} ({type(e).__name__}): it needs the "
            "project's data key; a destroyed project's store cannot be opened again"
        ) from e
