"""Atomic file output: readers see either nothing or the whole result, never half of it.

Temporary files and folders are siblings of their destination named
``.<name>.<pid>.<random>.tmp`` (``.old`` for a replaced folder during its swap), private to the
owner (files 0600, folders 0700). A process killed mid-write leaves them behind; the next write
to the same destination removes those of processes no longer running, and if a kill fell between
the two renames of a folder swap, puts the old folder back first. So after any crash a reader
finds the old output or the new one, and nothing identifier-bearing lingers past the next run.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

__all__ = [
    "atomic_directory",
    "clean_stale",
    "write_bytes_atomic",
    "write_parquet_atomic",
    "write_text_atomic",
]


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's live process
    return True


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def clean_stale(path: Path) -> list[Path]:
    """Remove the temporary siblings of ``path`` left by processes that no longer run.

    If ``path`` is missing and a dead process left its old folder mid-swap, the old folder is
    put back first (the old output, not none).

    Args:
        path: A destination written by this module.

    Returns:
        What was removed.

    Example:
        >>> import tempfile
        >>> root = Path(tempfile.mkdtemp())
        >>> _ = (root / ".out.999999999.x.tmp").mkdir()
        >>> [p.name for p in clean_stale(root / "out")]
        ['.out.999999999.x.tmp']
    """
    if not path.parent.is_dir():
        return []
    pattern = re.compile(rf"^\.{re.escape(path.name)}\.(\d+)\.[^/]*\.(tmp|old)$")
    stale = []
    for sibling in path.parent.iterdir():
        found = pattern.match(sibling.name)
        if found is not None and not _alive(int(found.group(1))):
            stale.append((found.group(2), sibling))
    for kind, sibling in stale:
        if kind == "old" and not path.exists() and sibling.is_dir():
            sibling.rename(path)  # killed between the two renames of a swap: old output back
    removed = [s for _, s in stale if s.exists()]
    for sibling in removed:
        _remove(sibling)
    return removed


def _prefix(path: Path) -> str:
    return f".{path.name}.{os.getpid()}."


def _temporary_sibling(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(path)
    fd, tmp = tempfile.mkstemp(prefix=_prefix(path), suffix=".tmp", dir=path.parent)
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
    clean_stale(path)
    tmp = Path(tempfile.mkdtemp(prefix=_prefix(path), suffix=".tmp", dir=path.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old: Path | None = None
    if path.exists():
        old = Path(tempfile.mkdtemp(prefix=_prefix(path), suffix=".old", dir=path.parent))
        old.rmdir()
        path.rename(old)
    tmp.rename(path)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
