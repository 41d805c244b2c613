"""Atomic file output: readers see either nothing or the whole result, never half of it.

Temporary files and folders are siblings of their destination named
``.<name>.<pid>.<random>.tmp`` (``.old`` for a replaced folder during its swap), private to the
owner (files 0600, folders 0700). A process killed mid-write leaves them behind; the next write
to the same destination removes those of processes no longer running, and if a kill fell between
the two renames of a folder swap, puts the old folder back first. So after any crash a reader
finds the old output or the new one, and nothing identifier-bearing lingers past the next run.

Several files that belong together (a custodian's identity part, content part, serial map and
report, which share one set of serials) are written as one *file set*
(:func:`atomic_file_set`): all of them first into a private staging folder, which is then
renamed to mark the set committed, and only then moved into place file by file. A kill before
the commit leaves the old set (the staging folder is removed by the next write); a kill after
it is finished by the next write or by :func:`recover_file_set` (roll forward), so readers never
combine files of two different runs.
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
    "atomic_file_set",
    "clean_stale",
    "recover_file_set",
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


def write_bytes_atomic(data: bytes | bytearray, path: Path, *, mode: int | None = None) -> Path:
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


_MANIFEST = ".manifest"


def _set_pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"^\.{re.escape(name)}\.set\.(\d+)\.[^/]*\.(tmp|commit)$")


def _roll_forward(root: Path, committed: Path) -> None:
    """Move a committed set's remaining files into place, then drop its staging folder."""
    listed = (committed / _MANIFEST).read_text(encoding="utf-8").splitlines()
    for relative in listed:
        source = committed / relative
        if source.exists():  # a file an earlier, killed roll-forward did not reach yet
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, root / relative)
    shutil.rmtree(committed, ignore_errors=True)


def recover_file_set(root: Path, name: str) -> list[Path]:
    """Finish or discard the file sets ``name`` under ``root`` that dead processes left.

    A set killed before its commit is removed (the old files stay); one killed after its
    commit is rolled forward (the new files land). Sets of running processes are left alone.

    Args:
        root: The folder the set's files land under.
        name: The set's name (see :func:`atomic_file_set`).

    Returns:
        The staging folders found (removed or rolled forward).

    Example:
        >>> import tempfile
        >>> root = Path(tempfile.mkdtemp())
        >>> _ = (root / ".d.set.999999999.x.tmp").mkdir()
        >>> [p.name for p in recover_file_set(root, "d")]
        ['.d.set.999999999.x.tmp']
        >>> sorted(root.iterdir())
        []
    """
    if not root.is_dir():
        return []
    pattern = _set_pattern(name)
    found = []
    for sibling in sorted(root.iterdir()):
        match = pattern.match(sibling.name)
        if match is None or _alive(int(match.group(1))):
            continue
        found.append(sibling)
        if match.group(2) == "commit" and (sibling / _MANIFEST).is_file():
            _roll_forward(root, sibling)
        else:
            _remove(sibling)
    return found


def _fsync(path: Path) -> None:
    with path.open("rb") as f:
        os.fsync(f.fileno())


@contextmanager
def atomic_file_set(root: Path, name: str) -> Iterator[Path]:
    """Write several files under ``root`` so that they land together or not at all.

    Write each file into the yielded staging folder at its path relative to ``root``; when the
    block succeeds the set is committed and its files replace those under ``root``. If the block
    raises, nothing under ``root`` changes. See the module docstring for what a kill leaves.

    Args:
        root: The folder the files land under.
        name: What the set is (e.g. the dataset); sets of different names are independent.

    Yields:
        The private staging folder (0700) to write into.

    Example:
        >>> import tempfile
        >>> root = Path(tempfile.mkdtemp())
        >>> with atomic_file_set(root, "d") as staging:
        ...     _ = (staging / "a").mkdir()
        ...     _ = (staging / "a" / "x.txt").write_text("1")
        ...     _ = (staging / "y.txt").write_text("2")
        >>> sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
        ['a/x.txt', 'y.txt']
    """
    root.mkdir(parents=True, exist_ok=True)
    recover_file_set(root, name)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.set.{os.getpid()}.", suffix=".tmp", dir=root))
    try:
        yield staging
        files = sorted(str(p.relative_to(staging)) for p in staging.rglob("*") if p.is_file())
        for relative in files:
            _fsync(staging / relative)
        write_text_atomic("\n".join(files), staging / _MANIFEST)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    committed = staging.with_suffix(".commit")
    staging.rename(committed)  # the commit point: from here on the new set lands
    _roll_forward(root, committed)
