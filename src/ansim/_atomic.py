"""Atomic file output: readers see either nothing or the whole result, never half of it."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["atomic_directory", "write_bytes_atomic", "write_parquet_atomic", "write_text_atomic"]


def _temporary_sibling(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    return Path(tmp)


def write_bytes_atomic(data: bytes, path: Path, *, mode: int | None = None) -> Path:
    """Write bytes to ``path`` via a temporary file in the same directory and a rename.

    Args:
        data: Content.
        path: Destination; its directory is created if missing.
        mode: Permission bits to set before the file becomes visible (e.g. ``0o600`` for keys).

    Returns:
        The destination path.
    """
    tmp = _temporary_sibling(path)
    try:
        with tmp.open("wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if mode is not None:
            tmp.chmod(mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_text_atomic(text: str, path: Path, *, encoding: str = "utf-8") -> Path:
    """Write text atomically (see :func:`write_bytes_atomic`)."""
    return write_bytes_atomic(text.encode(encoding), path)


def write_parquet_atomic(table: pa.Table, path: Path) -> Path:
    """Write an Arrow table as Parquet atomically.

    Args:
        table: Rows to write.
        path: Destination file; its directory is created if missing.

    Returns:
        The destination path.
    """
    tmp = _temporary_sibling(path)
    try:
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


@contextmanager
def atomic_directory(path: Path) -> Iterator[Path]:
    """Build a directory under a temporary name and move it into place when the block succeeds.

    If the block raises, the temporary directory is removed and ``path`` is left as it was. An
    existing ``path`` is replaced only after the new one is complete.

    Args:
        path: The directory to produce.

    Yields:
        The temporary directory to write into.

    Example:
        >>> import tempfile
        >>> root = Path(tempfile.mkdtemp())
        >>> with atomic_directory(root / "out") as tmp:
        ...     _ = (tmp / "a.txt").write_text("done")
        >>> (root / "out" / "a.txt").read_text()
        'done'
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old: Path | None = None
    if path.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
        old.rmdir()
        path.rename(old)
    tmp.rename(path)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
