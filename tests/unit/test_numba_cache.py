"""numba's cache goes to the user's cache folder, never into the installed package."""

import os
import subprocess
import sys
from pathlib import Path

from ansim._numba_cache import numba_cache_dir

SRC = Path(__file__).parents[2] / "src"
_PROBE = """
import numpy as np
import ansim.identity, ansim.linkage
from ansim.linkage import popcounts
import ansim.linkage._dice as dice
popcounts(np.zeros((2, 1), np.uint64))
print(dice._popcounts._cache._cache_path)
"""


def test_kernels_cache_in_the_user_cache_folder(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env |= {"XDG_CACHE_HOME": str(tmp_path), "PYTHONPATH": str(SRC)}
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, env=env, check=False
    )
    assert proc.returncode == 0, proc.stderr
    folder = tmp_path / "ansim" / "numba"
    assert Path(proc.stdout.strip()).is_relative_to(folder)
    assert list(folder.rglob("*.nbi")), "the compiled kernel was not cached there"
    assert not Path(proc.stdout.strip()).is_relative_to(SRC)


def test_cache_folder_follows_the_environment(tmp_path: Path) -> None:
    assert numba_cache_dir({"NUMBA_CACHE_DIR": str(tmp_path)}) == tmp_path
    assert numba_cache_dir({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "ansim" / "numba"
    assert numba_cache_dir({}) == Path.home() / ".cache" / "ansim" / "numba"


def test_an_unwritable_cache_folder_falls_back_to_the_temporary_folder(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("a file where the cache folder would be")
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env |= {"XDG_CACHE_HOME": str(blocked), "PYTHONPATH": str(SRC), "TMPDIR": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, env=env, check=False
    )
    assert proc.returncode == 0, proc.stderr
    used = Path(proc.stdout.strip())
    assert used.is_relative_to(tmp_path / f"ansim-numba-{os.getuid()}")
    assert not used.is_relative_to(SRC)
