"""Dice similarity of Bloom filters: numba kernels and a plain reference implementation.

Filters are rows of ``uint64`` words (see :func:`ansim.linkage.bit_matrix`). The kernels use
the CPU's population-count instruction through LLVM's ``ctpop`` intrinsic and run rows in
parallel on every core numba is allowed to use.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import numba
import numpy as np
import numpy.typing as npt
from llvmlite import ir  # type: ignore[import-untyped]
from numba import types
from numba.extending import intrinsic

from ansim.errors import LinkageError

__all__ = ["dice_pairs", "dice_reference", "dice_top_k", "popcounts"]

FloatArray = npt.NDArray[np.float32]
IndexArray = npt.NDArray[np.int64]
Bits = npt.NDArray[np.uint64]


def _ctpop_intrinsic(typingctx: object, x: types.Type) -> tuple[object, object]:  # pragma: no cover
    """LLVM's population count of one 64-bit word (one ``popcnt`` instruction)."""
    signature = types.int64(types.uint64)  # a count: signed, so sums stay integers

    def codegen(
        context: object, builder: ir.IRBuilder, sig: object, args: list[ir.Value]
    ) -> object:
        function = builder.module.declare_intrinsic("llvm.ctpop", [ir.IntType(64)])
        return builder.call(function, args)

    return signature, codegen


# Called as ``_ctpop(word)`` inside compiled kernels (numba supplies the typing context).
_ctpop = cast("Callable[[Any], Any]", intrinsic(_ctpop_intrinsic))


@numba.njit(parallel=True, cache=True, nogil=True)
def _popcounts(bits: Bits) -> npt.NDArray[np.int32]:  # pragma: no cover - compiled
    n, w = bits.shape
    out = np.empty(n, np.int32)
    for i in numba.prange(n):
        c = 0
        for k in range(w):
            c += _ctpop(bits[i, k])
        out[i] = c
    return out


@numba.njit(parallel=True, cache=True, nogil=True)
def _dice_pairs(  # noqa: PLR0917 # pragma: no cover - a compiled kernel
    a: Bits,
    b: Bits,
    ca: npt.NDArray[np.int32],
    cb: npt.NDArray[np.int32],
    ia: IndexArray,
    ib: IndexArray,
) -> FloatArray:
    w = a.shape[1]
    out = np.empty(ia.size, np.float32)
    for p in numba.prange(ia.size):
        i, j = ia[p], ib[p]
        total = ca[i] + cb[j]
        if total == 0:
            out[p] = 0.0
            continue
        common = 0
        for k in range(w):
            common += _ctpop(a[i, k] & b[j, k])
        out[p] = 2.0 * common / total
    return out


_TILE = 2048  # rows of b compared while they sit in cache (2048 x 128 bytes = 256 KiB)


@numba.njit(cache=True, nogil=True)
def _insert(  # pragma: no cover - compiled
    best_index: npt.NDArray[np.int64], best_score: FloatArray, i: int, j: int, score: float
) -> None:
    """Insert a candidate into row ``i``'s top-k (sorted best first, ties: earlier first)."""
    k = best_index.shape[1]
    slot = k - 1
    if best_index[i, slot] >= 0 and best_score[i, slot] >= score:
        return
    while slot > 0 and (best_index[i, slot - 1] < 0 or best_score[i, slot - 1] < score):
        best_score[i, slot] = best_score[i, slot - 1]
        best_index[i, slot] = best_index[i, slot - 1]
        slot -= 1
    best_score[i, slot] = score
    best_index[i, slot] = j


@numba.njit(cache=True, nogil=True, inline="always")
def _keep(  # noqa: PLR0917 # pragma: no cover - a compiled kernel
    best_index: npt.NDArray[np.int64],
    best_score: FloatArray,
    i: int,
    j: int,
    common: int,
    total: int,
    threshold: float,
) -> None:
    """Offer pair ``(i, j)`` to row ``i``'s top-k if its Dice reaches the threshold."""
    if total > 0 and 2.0 * common >= threshold * total:
        _insert(best_index, best_score, i, j, 2.0 * common / total)


@numba.njit(cache=True, nogil=True, inline="always")
def _offer_tile(  # noqa: PLR0917 # pragma: no cover - a compiled kernel
    best_index: npt.NDArray[np.int64],
    best_score: FloatArray,
    i: int,
    start: int,
    common: npt.NDArray[np.int64],
    count_a: int,
    cb: npt.NDArray[np.int64],
    threshold: float,
) -> None:
    """Offer row ``i``'s pairs with a tile of b starting at ``start`` (in order)."""
    for j in range(common.size):
        _keep(best_index, best_score, i, start + j, common[j], count_a + cb[start + j], threshold)


@numba.njit(parallel=True, cache=True, nogil=True)
def _dice_top_k(  # pragma: no cover - compiled
    a: Bits, b: Bits, threshold: float, k: int
) -> tuple[npt.NDArray[np.int64], FloatArray]:
    n, w = a.shape
    m = b.shape[0]
    ca = np.empty(n, np.int64)
    for i in range(n):
        ca[i] = 0
        for t in range(w):
            ca[i] += _ctpop(a[i, t])
    cb = np.empty(m, np.int64)
    for j in range(m):
        cb[j] = 0
        for t in range(w):
            cb[j] += _ctpop(b[j, t])
    best_index = np.full((n, k), -1, np.int64)
    best_score = np.zeros((n, k), np.float32)
    # b is walked in tiles that stay in cache while every row of a meets them: streaming all
    # of b once per row of a would make the kernel wait on memory, not on popcounts. Each tile
    # is transposed (word t of consecutive rows side by side), so the innermost loop runs over
    # rows of b and LLVM vectorises it (vector popcounts where the CPU has them, no horizontal
    # sums); two rows of a meet each loaded word of b at once.
    bt = np.empty((w, min(m, _TILE)), np.uint64)
    for start in range(0, m, _TILE):
        stop = min(m, start + _TILE)
        size = stop - start
        for t in range(w):
            for j in range(size):
                bt[t, j] = b[start + j, t]
        for h in numba.prange((n + 1) // 2):
            i0 = 2 * h
            i1 = min(i0 + 1, n - 1)  # odd n: the last row pairs with itself, counted once
            c0 = np.zeros(size, np.int64)
            c1 = np.zeros(size, np.int64)
            for t in range(w):
                x = a[i0, t]
                y = a[i1, t]
                row = bt[t]
                for j in range(size):
                    v = row[j]
                    c0[j] += _ctpop(x & v)
                    c1[j] += _ctpop(y & v)
            _offer_tile(best_index, best_score, i0, start, c0, ca[i0], cb, threshold)
            if i1 != i0:
                _offer_tile(best_index, best_score, i1, start, c1, ca[i1], cb, threshold)
    return best_index, best_score


def popcounts(bits: Bits) -> npt.NDArray[np.int32]:
    """Number of set bits in each filter.

    Example:
        >>> popcounts(np.array([[3, 1], [0, 0]], np.uint64)).tolist()
        [3, 0]
    """
    return _popcounts(np.ascontiguousarray(bits, np.uint64))


def _check(a: Bits, b: Bits) -> tuple[Bits, Bits]:
    a = np.ascontiguousarray(a, np.uint64)
    b = np.ascontiguousarray(b, np.uint64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:  # noqa: PLR2004
        raise LinkageError("Dice needs two bit matrices with the same number of 64-bit words")
    return a, b


def dice_pairs(
    a: Bits,
    b: Bits,
    ia: IndexArray,
    ib: IndexArray,
    *,
    counts: tuple[npt.NDArray[np.int32], npt.NDArray[np.int32]] | None = None,
) -> FloatArray:
    """Dice similarity of filter ``a[ia[p]]`` with ``b[ib[p]]`` for every candidate pair ``p``.

    Args:
        a: Bit matrix of the first records.
        b: Bit matrix of the second records (may be ``a`` itself).
        ia: Row in ``a`` of each pair.
        ib: Row in ``b`` of each pair.
        counts: Precomputed :func:`popcounts` of ``a`` and ``b``.

    Returns:
        ``2|x∧y| / (|x|+|y|)`` per pair (0 where both filters are empty).

    Raises:
        LinkageError: The matrices differ in width or the index arrays in length.

    Example:
        >>> bits = np.array([[0b1111], [0b0111], [0]], np.uint64)
        >>> scores = dice_pairs(bits, bits, np.array([0, 0, 2]), np.array([1, 0, 2]))
        >>> scores.astype(float).round(3).tolist()
        [0.857, 1.0, 0.0]
    """
    a, b = _check(a, b)
    if len(ia) != len(ib):
        raise LinkageError("candidate pairs need as many first as second rows")
    ca, cb = counts if counts is not None else (popcounts(a), popcounts(b))
    ia = np.asarray(ia, np.int64)
    ib = np.asarray(ib, np.int64)
    return _dice_pairs(a, b, ca, cb, ia, ib)


def dice_top_k(
    a: Bits, b: Bits, threshold: float, k: int = 4
) -> tuple[npt.NDArray[np.int64], FloatArray]:
    """Compare every filter of ``a`` with every filter of ``b``; keep each row's best ``k``.

    This is the all-to-all kernel (anonlink's candidate generation): ``len(a) * len(b)``
    comparisons, rows spread over the cores.

    Args:
        a: Bit matrix of the first records.
        b: Bit matrix of the second records.
        threshold: Smallest Dice kept.
        k: Candidates kept per row of ``a``.

    Returns:
        Per row of ``a``, the indices into ``b`` (``-1`` where fewer than ``k`` reach the
        threshold) and their Dice scores, best first.

    Raises:
        LinkageError: The matrices differ in width, or ``k`` is not positive.

    Example:
        >>> bits = np.array([[0b1111], [0b0111], [0b1000]], np.uint64)
        >>> index, score = dice_top_k(bits[:1], bits, 0.5, k=2)
        >>> index.tolist(), score.astype(float).round(3).tolist()
        ([[0, 1]], [[1.0, 0.857]])
    """
    a, b = _check(a, b)
    if k < 1:
        raise LinkageError("keep at least one candidate per record (k >= 1)")
    return _dice_top_k(a, b, float(threshold), int(k))


def dice_reference(x: bytes, y: bytes) -> float:
    r"""Dice similarity of two equal-length filters, the plain way (a test oracle).

    Example:
        >>> dice_reference(bytes([0b1111]), bytes([0b0111]))
        0.8571428571428571
    """
    if len(x) != len(y):
        raise LinkageError("Dice needs two filters of the same length")
    a, b = int.from_bytes(x, "little"), int.from_bytes(y, "little")
    total = a.bit_count() + b.bit_count()
    return 2 * (a & b).bit_count() / total if total else 0.0
