"""Consistency post-processing for hierarchical DP tables (in the spirit of Census TopDown).

A province total and its si/gun counts are measured separately (each with its own noise and
its own spend). Publishing both raw would show si/gun that do not add up to the province, and
negative counts. This module makes them consistent **by post-processing only**: it reads
nothing but the released noisy values and their public noise variances, so it costs no
privacy budget (post-processing never weakens differential privacy).

For each parent cell:

1. weighted least squares: the children ``x`` minimising
   ``Σ (x_i − y_i)² / v_c + (Σ x_i − y_p)² / v_p`` (closed form: the discrepancy is shared
   equally, weighted by the variances), which also estimates the parent better than either;
2. non-negativity with the total kept: the Euclidean projection onto
   ``{x ≥ 0, Σ x = T}``, ``T`` the rounded non-negative WLS total;
3. integers with the total kept: floors, then the remaining units to the largest fractions.

The published parent is ``T``, the children sum to it exactly. The intervals of the
post-processed values are approximate (normal, from the WLS variance), not the mechanism's.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pyarrow as pa
from scipy.stats import norm  # type: ignore[import-untyped]

from ansim.errors import InvalidSpecError
from ansim.privacy._noise import epsilon_of_rho
from ansim.privacy._statistics import DPTable

__all__ = ["consistent_children", "make_consistent"]

Ints = np.ndarray[Any, np.dtype[np.int64]]


def consistent_children(
    parent: float, parent_variance: float, children: Any, child_variance: float
) -> tuple[int, Ints]:
    """Non-negative integer children summing to a consistent parent total.

    Args:
        parent: The noisy parent total.
        parent_variance: Its noise variance.
        children: The noisy children.
        child_variance: Their noise variance (each).

    Returns:
        ``(total, children)``: the consistent total and the children adding up to it.

    Example:
        >>> consistent_children(100.0, 4.0, [60.0, 45.0, -3.0], 4.0)
        (100, array([58, 42,  0]))
    """
    y = np.asarray(children, dtype=np.float64)
    if y.ndim != 1 or y.size == 0 or not parent_variance > 0 or not child_variance > 0:
        raise InvalidSpecError("consistency needs children and positive variances")
    n = y.size
    share = child_variance / (n * child_variance + parent_variance)
    x = y + (parent - y.sum()) * share
    total = max(round(float(x.sum())), 0)
    return total, _round_keeping_total(_project_simplex(x, float(total)), total)


def _project_simplex(x: np.ndarray[Any, Any], total: float) -> np.ndarray[Any, Any]:
    """Euclidean projection onto {z ≥ 0, Σ z = total} (Duchi et al. 2008)."""
    if total == 0:
        return np.zeros_like(x)
    u = np.sort(x)[::-1]
    cumulative = np.cumsum(u) - total
    k = np.arange(1, x.size + 1)
    last = int(np.flatnonzero(u - cumulative / k > 0)[-1])
    theta = cumulative[last] / (last + 1)
    projected: np.ndarray[Any, Any] = np.maximum(x - theta, 0.0)
    return projected


def _round_keeping_total(x: np.ndarray[Any, Any], total: int) -> Ints:
    floors = np.floor(x + 1e-9).astype(np.int64)
    missing = total - int(floors.sum())
    if missing > 0:
        order = np.argsort(-(x - floors), kind="stable")
        floors[order[:missing]] += 1
    elif missing < 0:  # float error only: take back from the largest cells
        order = np.argsort(-x, kind="stable")
        floors[order[:-missing]] -= 1
    return floors


def make_consistent(child: DPTable, parent: DPTable, *, child_key: str) -> DPTable:
    """The child count table made consistent with the parent table (post-processing).

    ``child`` is grouped by the parent's columns plus ``child_key`` (e.g. parent by week,
    child by si/gun × week). Returns the child table with consistent non-negative integer
    estimates and approximate intervals, and metadata saying what was done; the parent's
    consistent totals are in the children's sums.

    Raises:
        InvalidSpecError: The tables are not counts or not nested.
    """
    by = list(parent.metadata["by"])
    if child.metadata["statistic"] != "count" or parent.metadata["statistic"] != "count":
        raise InvalidSpecError("consistency applies to count tables")
    if child_key in by or set(child.metadata["by"]) != {*by, child_key}:
        raise InvalidSpecError(
            f"{child.name!r} must be grouped by {parent.name!r}'s columns and {child_key!r}"
        )
    v_child = float(child.metadata["noise"]["count"]["variance"])
    v_parent = float(parent.metadata["noise"]["count"]["variance"])
    rows = child.table.to_pylist()
    parents = {tuple(r[c] for c in by): float(r["estimate"]) for r in parent.table.to_pylist()}
    groups: dict[tuple[Any, ...], list[int]] = {}
    for i, r in enumerate(rows):
        groups.setdefault(tuple(r[c] for c in by), []).append(i)
    estimate = np.zeros(len(rows), dtype=np.int64)
    for key, members in groups.items():
        if key not in parents:
            raise InvalidSpecError(f"{parent.name!r} has no cell for a group of {child.name!r}")
        y = [float(rows[i]["estimate"]) for i in members]
        _, x = consistent_children(parents[key], v_parent, y, v_child)
        estimate[members] = x
    z = float(norm.isf((1 - float(child.metadata["confidence"])) / 2))
    n = max(len(m) for m in groups.values())
    half = math.ceil(z * math.sqrt(v_child * (1 - v_child / (n * v_child + v_parent))))
    cells = [c for c in child.table.column_names if c not in ("estimate", "ci_low", "ci_high")]
    columns = {c: child.table[c] for c in cells}
    table = pa.table({
        **columns, "estimate": estimate,
        "ci_low": np.maximum(estimate - half, 0), "ci_high": estimate + half,
    })  # fmt: skip
    rho = float(child.metadata["rho"]) + float(parent.metadata["rho"])  # it uses both
    metadata = {
        **child.metadata,
        "post_processing": (
            f"consistent with {parent.name!r} (weighted least squares, projection onto "
            "non-negative values, integer rounding keeping each total); no extra budget"
        ),
        "interval": "approximate (normal, after post-processing)",
        "rho": rho,
        "epsilon": epsilon_of_rho(rho, float(child.metadata["delta"])),
    }
    name = f"{child.name}_consistent"
    return dataclasses.replace(child, name=name, table=table, metadata=metadata)
