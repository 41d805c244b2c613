"""From scored record pairs to persons: clustering, or 1-to-1 assignment between sources."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment  # type: ignore[import-untyped]
from scipy.sparse import coo_matrix  # type: ignore[import-untyped]
from scipy.sparse.csgraph import (  # type: ignore[import-untyped]
    connected_components as sparse_components,
)

from ansim.errors import InvalidSpecError

__all__ = ["ASSIGNMENTS", "assign_greedy", "assign_optimal", "select_links"]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
ASSIGNMENTS = ("cluster", "greedy", "optimal")
"""``cluster``: every accepted pair links (duplicates within a source join their person);
``greedy`` / ``optimal``: at most one link per record and other source (1-to-1)."""


def assign_greedy(
    first: IntArray, second: IntArray, weight: npt.NDArray[np.floating], source: IntArray
) -> BoolArray:
    """Best pairs first: keep a pair unless a record already has a link to the other source.

    Pairs within one source are never kept (1-to-1 means no duplicates).

    Args:
        first: First record of each accepted pair.
        second: Second record.
        weight: Match weight (higher is better).
        source: Dataset index of every record.

    Returns:
        Which pairs are kept.

    Example:
        >>> keep = assign_greedy(np.array([0, 0, 1]), np.array([2, 3, 2]),
        ...     np.array([5.0, 4.0, 9.0]), np.array([0, 0, 1, 1]))
        >>> keep.tolist()
        [False, True, True]
    """
    sources = int(source.max()) + 1 if source.size else 0
    taken = np.zeros((source.size, max(sources, 1)), np.bool_)
    keep = np.zeros(first.size, np.bool_)
    for p in np.argsort(-weight, kind="stable").tolist():
        a, b = int(first[p]), int(second[p])
        sa, sb = int(source[a]), int(source[b])
        if sa == sb or taken[a, sb] or taken[b, sa]:
            continue
        taken[a, sb] = taken[b, sa] = True
        keep[p] = True
    return keep


def assign_optimal(
    first: IntArray, second: IntArray, weight: npt.NDArray[np.floating], source: IntArray
) -> BoolArray:
    """Maximum-weight 1-to-1 matching, solved exactly per source pair and connected component.

    Args:
        first: First record of each accepted pair.
        second: Second record.
        weight: Match weight (positive: the pairs were accepted).
        source: Dataset index of every record.

    Returns:
        Which pairs are kept.

    Example:
        >>> keep = assign_optimal(np.array([0, 0, 1]), np.array([2, 3, 2]),
        ...     np.array([5.0, 4.0, 6.0]), np.array([0, 0, 1, 1]))
        >>> keep.tolist()
        [False, True, True]
    """
    keep = np.zeros(first.size, np.bool_)
    cross = source[first] != source[second]
    n = source.size
    idx = np.flatnonzero(cross)
    if idx.size == 0:
        return keep
    kinds = np.minimum(source[first[idx]], source[second[idx]]) * n + np.maximum(
        source[first[idx]], source[second[idx]]
    )
    for kind in np.unique(kinds).tolist():
        pairs = idx[kinds == kind]
        _optimal_in_components(first, second, weight, pairs, n, keep)
    return keep


def _optimal_in_components(  # noqa: PLR0917 -- a private step of assign_optimal
    first: IntArray,
    second: IntArray,
    weight: npt.NDArray[np.floating],
    pairs: IntArray,
    n: int,
    keep: BoolArray,
) -> None:
    u, v = first[pairs], second[pairs]
    graph = coo_matrix((np.ones(pairs.size), (u, v)), shape=(n, n))
    _, label = sparse_components(graph, directed=False)
    component = label[u]
    per_component = np.bincount(component)
    single = per_component[component] == 1
    keep[pairs[single]] = weight[pairs[single]] > 0  # one pair: nothing to choose
    u, v, pairs, component = u[~single], v[~single], pairs[~single], component[~single]
    if pairs.size == 0:
        return
    order = np.argsort(component, kind="stable")
    bounds = np.flatnonzero(np.r_[True, component[order][1:] != component[order][:-1], True])
    for start, stop in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        members = order[start:stop]
        rows, row_of = np.unique(u[members], return_inverse=True)
        cols, col_of = np.unique(v[members], return_inverse=True)
        cost = np.zeros((rows.size, cols.size))
        # Maximise the total weight of chosen pairs; a cell with no pair costs 0 and is
        # dropped below, so a pair of weight <= 0 is never worth choosing.
        cost[row_of, col_of] = -np.asarray(weight[pairs[members]], np.float64)
        chosen_r, chosen_c = linear_sum_assignment(cost)
        lookup = {(int(r), int(c)): int(m) for r, c, m in zip(row_of, col_of, members, strict=True)}
        for r, c in zip(chosen_r.tolist(), chosen_c.tolist(), strict=True):
            member = lookup.get((r, c))
            if member is not None and weight[pairs[member]] > 0:
                keep[pairs[member]] = True


def select_links(
    assignment: str,
    first: IntArray,
    second: IntArray,
    weight: npt.NDArray[np.floating],
    source: IntArray,
) -> BoolArray:
    """Which accepted pairs become links under an assignment rule (see :data:`ASSIGNMENTS`).

    Raises:
        InvalidSpecError: An unknown assignment rule.
    """
    if assignment == "cluster":
        return np.ones(first.size, np.bool_)
    if assignment == "greedy":
        return assign_greedy(first, second, weight, source)
    if assignment == "optimal":
        return assign_optimal(first, second, weight, source)
    raise InvalidSpecError(f"assignment must be one of {ASSIGNMENTS}, not {assignment!r}")
