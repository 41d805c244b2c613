"""Utility of a synthetic extract: total variation distance of its marginals from the real data.

The report compares every 1-, 2- and 3-way marginal of the synthetic records with the same
marginal of the real rows the synthesis used (one row per person, within the declared domain),
and gives the average and the worst total variation distance per order.

It is computed **at the hub, on the real data, and is not differentially private**: it is
released only as these few aggregate figures (never a marginal), through the release path's
output checking, like any other output computed from the data.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["UTILITY_NOTE", "marginal_tvd", "utility_report"]

IntArray = np.ndarray[Any, np.dtype[np.int64]]

UTILITY_NOTE = (
    "computed at the hub on the real rows the synthesis used (one per person, within the "
    "declared domain); not differentially private: released only as these aggregate figures"
)


def marginal_tvd(
    real: Mapping[str, IntArray],
    synthetic: Mapping[str, IntArray],
    sizes: Mapping[str, int],
    columns: tuple[str, ...],
) -> float:
    """Total variation distance between the real and synthetic marginal over ``columns``.

    Example:
        >>> real = {"a": np.array([0, 0, 1, 1])}
        >>> marginal_tvd(real, {"a": np.array([0, 0, 0, 1])}, {"a": 2}, ("a",))
        0.25
    """
    p = _distribution(real, sizes, columns)
    q = _distribution(synthetic, sizes, columns)
    return float(0.5 * np.abs(p - q).sum())


def _distribution(
    codes: Mapping[str, IntArray], sizes: Mapping[str, int], columns: tuple[str, ...]
) -> np.ndarray[Any, np.dtype[np.float64]]:
    cells = int(np.prod([sizes[c] for c in columns]))
    flat = np.zeros(len(codes[columns[0]]), dtype=np.int64)
    for c in columns:
        flat = flat * sizes[c] + codes[c]
    counts = np.bincount(flat, minlength=cells).astype(np.float64)
    total = counts.sum()
    return counts / total if total > 0 else counts


def utility_report(
    real: Mapping[str, IntArray], synthetic: Mapping[str, IntArray], sizes: Mapping[str, int]
) -> dict[str, Any]:
    """Average and worst TVD of all 1-, 2- and 3-way marginals (``utility.json``).

    Example:
        >>> real = {"a": np.array([0, 1]), "b": np.array([1, 1])}
        >>> report = utility_report(real, real, {"a": 2, "b": 2})
        >>> report["tvd_2way"]
        {'average': 0.0, 'worst': 0.0, 'marginals': 1}
    """
    names = list(sizes)
    report: dict[str, Any] = {}
    for order in (1, 2, 3):
        tvds = [
            marginal_tvd(real, synthetic, sizes, cols)
            for cols in itertools.combinations(names, order)
        ]
        report[f"tvd_{order}way"] = {
            "average": round(float(np.mean(tvds)), 6) if tvds else None,
            "worst": round(float(np.max(tvds)), 6) if tvds else None,
            "marginals": len(tvds),
        }
    report["note"] = UTILITY_NOTE
    report["differentially_private"] = False
    return report
