"""Planning a release: every measurement calibrated, and the total cost known, before any data.

The plan is what the ledger is charged for. It depends on the spec alone (sensitivities from
the bounds, scales from the ρ shares, partition-selection thresholds from δ), so a release can
be priced, and refused, without touching the data.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import opendp.prelude as dp

from ansim.errors import InvalidSpecError
from ansim.privacy._noise import Mechanism, NoisyMeasure, calibrate, epsilon_of_rho
from ansim.privacy._spec import DPQuery, ReleaseSpec, Statistic

__all__ = ["PlannedQuery", "ReleasePlan", "SelectionMeasure", "plan_release"]

KEY_SEPARATOR = "\x1f"  # joins a cell's key values into one map key for partition selection


@dataclass(frozen=True)
class SelectionMeasure:
    """DP partition selection: noisy counts of the groups present, kept above a threshold.

    OpenDP's ``make_gaussian_threshold`` (Rogers 2023): a group appears only if its noisy
    count exceeds ``threshold``; δ bounds the chance that a group only one person is in
    appears at all.

    Attributes:
        scale: σ of the discrete Gaussian noise on the counts.
        threshold: The release threshold.
        rho: zCDP cost of the selection.
        delta: Its δ.
        measurement: The OpenDP measurement.
    """

    scale: float
    threshold: int
    rho: float
    delta: float
    measurement: Any = field(repr=False)


@dataclass(frozen=True)
class PlannedQuery:
    """One query, calibrated.

    Attributes:
        query: The query.
        max_groups: Groups per person.
        max_rows: Rows per person per group.
        cells: The public cells in output order, or ``None`` for unknown keys.
        count: Measurement of the (bounded) counts, when the statistic needs one.
        values: Measurement of the clipped values' sum (sum, mean) or bin counts (quantile).
        selection: Partition selection over unknown keys.
        rho: zCDP cost of the query.
        delta: δ of the query (partition selection only).
    """

    query: DPQuery
    max_groups: int
    max_rows: int
    cells: tuple[tuple[str, ...], ...] | None
    count: NoisyMeasure | None
    values: NoisyMeasure | None
    selection: SelectionMeasure | None
    rho: float
    delta: float


@dataclass(frozen=True)
class ReleasePlan:
    """A release, priced.

    Attributes:
        spec: The release spec.
        queries: Each query, calibrated.
        rho: Total zCDP cost (sum over the queries: zCDP composes additively).
        delta: Total δ of partition selection.
    """

    spec: ReleaseSpec
    queries: tuple[PlannedQuery, ...]
    rho: float
    delta: float

    @property
    def epsilon(self) -> float:
        """ε of the whole release at ``conversion_delta`` (plus the selection δ)."""
        return epsilon_of_rho(self.rho, self.spec.conversion_delta)

    @property
    def mechanism(self) -> str:
        """A one-line description of the mechanisms used (recorded with the spend)."""
        names = {"gaussian": "discrete Gaussian", "laplace": "discrete Laplace"}
        used = [names[self.spec.mechanism.value]]
        if any(q.selection is not None for q in self.queries):
            used.append("Gaussian-threshold partition selection")
        return " + ".join(used) + " (OpenDP 0.16)"


def plan_release(spec: ReleaseSpec) -> ReleasePlan:
    """Calibrate every measurement of a release and add up its cost (no data is read).

    Example:
        >>> from ansim.privacy._spec import parse_release_spec
        >>> spec = parse_release_spec({"name": "r", "rho": 0.5, "keys": {"sex": ["M", "F"]},
        ...     "queries": [{"name": "n", "statistic": "count", "by": ["sex"]},
        ...                 {"name": "m", "statistic": "mean", "column": "x", "lower": 0,
        ...                  "upper": 10}]})
        >>> plan = plan_release(spec)
        >>> round(plan.rho, 6), [round(q.rho, 6) for q in plan.queries]
        (0.5, [0.25, 0.25])
    """
    total_weight = sum(q.weight for q in spec.queries)
    planned = tuple(_plan_query(spec, q, spec.rho * q.weight / total_weight) for q in spec.queries)
    return ReleasePlan(spec, planned, sum(q.rho for q in planned), sum(q.delta for q in planned))


def _plan_query(spec: ReleaseSpec, q: DPQuery, rho: float) -> PlannedQuery:
    groups, rows = spec.bounds(q)
    public = spec.is_public(q)
    cells = tuple(itertools.product(*(spec.keys[c] for c in q.by))) if public else None
    length = None if cells is None else len(cells)
    count_sens = _sensitivity(spec.mechanism, groups, rows)
    selection: SelectionMeasure | None = None
    count: NoisyMeasure | None = None
    values: NoisyMeasure | None = None
    if not public:
        share = rho if q.statistic is Statistic.COUNT else rho / 2
        selection = _selection(groups, rows, share, spec.selection_delta)
        rho -= share
    if q.statistic is Statistic.COUNT:
        if public:
            count = calibrate(spec.mechanism, count_sens, rho, length)
    elif q.statistic is Statistic.SUM:
        low, high = q.units
        values = calibrate(spec.mechanism, count_sens * max(abs(low), abs(high), 1), rho)
    elif q.statistic is Statistic.MEAN:
        low, high = q.units
        # noise on Σ(2u − (low + high)): |2u − (low + high)| ≤ high − low, Tumult's centring
        if public:
            count = calibrate(spec.mechanism, count_sens, rho / 2, length)
            rho /= 2
        values = calibrate(spec.mechanism, count_sens * (high - low), rho)
    else:  # quantile: counts of equal bins between the bounds, per group
        values = calibrate(spec.mechanism, count_sens, rho)
    spent = sum(m.rho for m in (count, values, selection) if m is not None)
    return PlannedQuery(
        q, groups, rows, cells, count, values, selection, spent,
        0.0 if selection is None else selection.delta,
    )  # fmt: skip


def _sensitivity(mechanism: Mechanism, groups: int, rows: int) -> float:
    """How far one person moves a vector of per-group counts: L2 √k·r, L1 k·r."""
    if mechanism is Mechanism.gaussian:
        return math.sqrt(groups) * rows
    return float(groups * rows)


def _selection(groups: int, rows: int, rho: float, delta: float) -> SelectionMeasure:
    scale = math.sqrt(groups) * rows / math.sqrt(2 * rho)
    low, high = rows, 2**40
    if _threshold_measure(scale, high, groups, rows)[1] > delta:
        raise InvalidSpecError("selection_delta is too small for partition selection")
    while low < high:  # the smallest threshold whose δ is within the allowance
        mid = (low + high) // 2
        if _threshold_measure(scale, mid, groups, rows)[1] <= delta:
            high = mid
        else:
            low = mid + 1
    measurement, spent_delta, spent_rho = _threshold_measure(scale, low, groups, rows)
    return SelectionMeasure(scale, low, spent_rho, spent_delta, measurement)


@functools.lru_cache(maxsize=4096)
def _threshold_measure(
    scale: float, threshold: int, groups: int, rows: int
) -> tuple[Any, float, float]:
    domain = dp.map_domain(dp.atom_domain(T=dp.String), dp.atom_domain(T=dp.i64))
    metric = dp.l02inf_distance(dp.absolute_distance(T=dp.f64))
    m = dp.m.make_gaussian_threshold(domain, metric, scale=scale, threshold=threshold)
    rho, delta = m.map((groups, math.sqrt(groups) * rows, float(rows)))  # type: ignore[no-untyped-call]
    return m, float(delta), float(rho)
