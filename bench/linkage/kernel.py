"""Dice kernel benchmark: Ansim's numba kernel vs anonlink's C++ kernel, same filters.

    .venv/bin/python bench/linkage/kernel.py

All-to-all comparisons of 1024-bit filters (about half the bits set), threshold 0.8, best 10
per row; comparisons per second on one core and on all cores.
"""

from __future__ import annotations

import time

import numba
import numpy as np
from bitarray import bitarray

from ansim.linkage import dice_top_k

ROWS_A, ROWS_B, WORDS = 1_000, 50_000, 16


def _best(run: object, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()  # type: ignore[operator]
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    """Print comparisons per second of both kernels."""
    import anonlink  # noqa: PLC0415 -- imported in the process that runs this linker

    rng = np.random.default_rng(7)
    a = rng.integers(0, 2**63, (ROWS_A, WORDS)).astype(np.uint64)
    b = rng.integers(0, 2**63, (ROWS_B, WORDS)).astype(np.uint64)
    b[: ROWS_A // 2] = a[: ROWS_A // 2]  # some rows of a have an exact partner in b
    clks = []
    for m in (a, b):
        rows = []
        for row in m:
            bits = bitarray(endian="little")
            bits.frombytes(row.tobytes())
            rows.append(bits)
        clks.append(rows)
    comparisons = ROWS_A * ROWS_B
    anon = _best(lambda: anonlink.similarities.dice_coefficient_accelerated(clks, 0.8, 10), 2)
    dice_top_k(a[:4], b[:4], 0.8, 10)  # compile
    numba.set_num_threads(1)
    one = _best(lambda: dice_top_k(a, b, 0.8, 10))
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    every = _best(lambda: dice_top_k(a, b, 0.8, 10))
    print(f"anonlink (1 core):   {comparisons / anon:.3g} comparisons/s")
    print(f"ansim (1 core):      {comparisons / one:.3g} comparisons/s  ({anon / one:.2f}x)")
    print(
        f"ansim ({numba.config.NUMBA_NUM_THREADS} cores):     {comparisons / every:.3g} "
        f"comparisons/s  ({anon / every:.2f}x)"
    )


if __name__ == "__main__":
    main()
