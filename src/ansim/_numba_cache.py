"""Where numba keeps its compiled kernels: the user's cache folder, never the package.

numba's ``cache=True`` writes beside the source file by default, that is inside the
installed package (read-only in a system install, shared between users, and rebuilt by
every wheel). Ansim points it at ``$XDG_CACHE_HOME/ansim/numba`` (``~/.cache/ansim/numba``)
before any kernel is defined, unless ``NUMBA_CACHE_DIR`` is already set by the user. The
cache survives between runs, so only the first run on a machine pays the compilation.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

__all__ = ["numba_cache_dir", "use_user_cache"]


def numba_cache_dir(environ: dict[str, str] | None = None) -> Path:
    """The folder numba's cache goes to (the environment decides, nothing is created).

    Args:
        environ: The environment to read (default: the process's).

    Returns:
        ``NUMBA_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/ansim/numba``, else
        ``~/.cache/ansim/numba``.

    Example:
        >>> numba_cache_dir({"XDG_CACHE_HOME": "/var/cache/me"}).as_posix()
        '/var/cache/me/ansim/numba'
        >>> numba_cache_dir({"NUMBA_CACHE_DIR": "/tmp/nb"}).as_posix()
        '/tmp/nb'
    """
    env = os.environ if environ is None else environ
    if env.get("NUMBA_CACHE_DIR"):
        return Path(env["NUMBA_CACHE_DIR"])
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ansim" / "numba"


def _writable(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(folder, os.W_OK)


def use_user_cache() -> Path:
    """Point numba's cache at :func:`numba_cache_dir` (call before any kernel is defined).

    Where that folder cannot be written (no home directory, a read-only one), a folder of
    the user's own in the temporary directory is used: numba's fallback would be the
    package's folder.

    Returns:
        The cache folder in use.
    """
    folder = numba_cache_dir()
    if not _writable(folder):
        user = getattr(os, "getuid", lambda: "user")()
        folder = Path(tempfile.gettempdir()) / f"ansim-numba-{user}"
    os.environ["NUMBA_CACHE_DIR"] = str(folder)
    numba = sys.modules.get("numba")
    if numba is not None:  # numba already imported: its config read the variable too early
        numba.config.CACHE_DIR = str(folder)
    return folder
