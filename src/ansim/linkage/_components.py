"""Connected components over record pairs (union-find, vectorised with NumPy)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["connected_components", "pairs_within_groups"]

IntArray = npt.NDArray[np.int64]


def pairs_within_groups(
    codes: IntArray, *, max_group: int | None = None
) -> tuple[IntArray, IntArray, int]:
    """Edges joining records that share a group code (``-1`` means no group).

    Members of a group are chained (first–second, second–third, …), which connects the group
    with ``size - 1`` edges instead of ``size²/2``.

    Args:
        codes: Group code per record, ``-1`` for none.
        max_group: Groups larger than this are skipped (a degenerate shared value).

    Returns:
        Edge endpoints ``(u, v)`` and the number of groups skipped for size.

    Example:
        >>> u, v, skipped = pairs_within_groups(np.array([0, -1, 0, 1, 0]))
        >>> u.tolist(), v.tolist(), skipped
        ([0, 2], [2, 4], 0)
    """
    present = np.flatnonzero(codes >= 0)
    skipped = 0
    if max_group is not None and present.size:
        sizes = np.bincount(codes[present])
        too_big = sizes > max_group
        skipped = int(too_big.sum())
        if skipped:
            present = present[~too_big[codes[present]]]
    order = present[np.argsort(codes[present], kind="stable")]
    same = codes[order[1:]] == codes[order[:-1]]
    return order[:-1][same].astype(np.int64), order[1:][same].astype(np.int64), skipped


def connected_components(count: int, u: IntArray, v: IntArray) -> IntArray:
    """Component label (the smallest member index) of each of ``count`` nodes.

    Args:
        count: Number of nodes.
        u: Edge start nodes.
        v: Edge end nodes.

    Returns:
        Label per node.

    Example:
        >>> connected_components(5, np.array([0, 3]), np.array([2, 2])).tolist()
        [0, 1, 0, 0, 4]
    """
    labels = np.arange(count, dtype=np.int64)
    if u.size == 0:
        return labels
    while True:
        low = np.minimum(labels[u], labels[v])
        before = labels.copy()
        np.minimum.at(labels, u, low)
        np.minimum.at(labels, v, low)
        while True:  # pointer jumping: every node points at its root
            jumped = labels[labels]
            if np.array_equal(jumped, labels):
                break
            labels = jumped
        if np.array_equal(before, labels):
            return labels
