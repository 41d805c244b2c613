"""Measuring a planned query: bounded aggregates from the engine, noise from OpenDP, intervals.

The engine returns one row per group present in the bounded data (count, clipped sum); the
public cells are filled from it, absent cells with zero, so which cells exist never depends on
the data. Noise is then added by the plan's calibrated OpenDP measurements; every estimate
carries its interval at the release's confidence level:

- count, sum: exact for the mechanism (the discrete noise's own quantile);
- mean: conservative: the noisy count and the noisy centred sum are each within their exact
  ``1 − α/2`` intervals with probability ≥ ``1 − α``, and the interval holds every ratio in
  that box;
- quantile: approximate: the noisy cumulative histogram's normal band (post-processing of
  the noisy bin counts).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from ibis.expr.types import Table, Value
from scipy.stats import norm  # type: ignore[import-untyped]

from ansim.engine import Engine
from ansim.errors import InvalidSpecError
from ansim.privacy._bounding import bound_contributions, value_units
from ansim.privacy._noise import Mechanism, NoisyMeasure, epsilon_of_rho, half_width
from ansim.privacy._plan import KEY_SEPARATOR, PlannedQuery, ReleasePlan
from ansim.privacy._spec import Statistic

__all__ = ["DPTable", "measure_queries", "measure_query"]

_BIN = "_ansim_bin"
_N, _S = "_ansim_n", "_ansim_s"
Vector = np.ndarray[Any, np.dtype[np.float64]]


@dataclass(frozen=True)
class DPTable:
    """One released DP table.

    Attributes:
        name: The query's name (``<name>.csv``, ``<name>.json``).
        table: The cell columns, then ``estimate``, ``ci_low``, ``ci_high``.
        metadata: ρ, ε, δ, privacy unit, mechanism, bounds and interval kind.
    """

    name: str
    table: pa.Table
    metadata: dict[str, Any]


def measure_query(
    engine: Engine, keyed: Table, plan: ReleasePlan, planned: PlannedQuery
) -> DPTable:
    """Run one planned query on keyed rows (see ``derive_keys``) and add its noise.

    The caller has already paid for the plan: this reads the data.
    """
    found = engine.to_pyarrow(_aggregate(keyed, plan, planned))
    return _from_found(plan, planned, found)


def measure_queries(engine: Engine, keyed: Table, plan: ReleasePlan) -> tuple[DPTable, ...]:
    """Every planned query of a paid-for plan, in order; fused engine passes where they can be.

    When rows are persons (``person: null``, so bounding drops only rows without a group key),
    the counts, sums and means grouped by the same columns are one engine pass: a count as
    ``count(*)``, a sum's or mean's count as the count of its non-missing values, its clipped
    (centred) sum over them, exactly what their separate passes compute. Otherwise, and for
    quantiles, each query is its own pass (:func:`measure_query`).
    """
    fusable = plan.spec.person is None
    groups: dict[tuple[str, ...], list[PlannedQuery]] = {}
    for planned in plan.queries:
        if fusable and planned.query.statistic is not Statistic.QUANTILE:
            groups.setdefault(tuple(planned.query.by), []).append(planned)
    found: dict[str, pa.Table] = {}
    for by, members in groups.items():
        if len(members) > 1:
            found |= _fused(engine, keyed, list(by), members)
    return tuple(
        _from_found(plan, p, found[p.query.name])
        if p.query.name in found
        else measure_query(engine, keyed, plan, p)
        for p in plan.queries
    )


def _check_columns(keyed: Table, planned: PlannedQuery) -> None:
    q = planned.query
    missing = [c for c in [*q.by, *([q.column] if q.column else [])] if c not in keyed.columns]
    if missing:
        raise InvalidSpecError(f"query {q.name!r}: the data has no columns {missing}")


def _units(table: Table, planned: PlannedQuery) -> Value:
    """The value summed: clipped units (a sum) or centred clipped units (a mean)."""
    q = planned.query
    units = value_units(table, q)
    if q.statistic is Statistic.MEAN:
        low_u, high_u = q.units
        units = 2 * units - (low_u + high_u)
    return units


def _fused(
    engine: Engine, keyed: Table, by: list[str], members: list[PlannedQuery]
) -> dict[str, pa.Table]:
    """One group-by pass for queries sharing their grouping, rows being persons."""
    for planned in members:
        _check_columns(keyed, planned)
    rows = bound_contributions(keyed, None, by, max_groups=1, max_rows=1)
    aggregates: dict[str, Any] = {}
    for i, planned in enumerate(members):
        q = planned.query
        if q.column is None:
            aggregates[f"{_N}{i}"] = rows.count()
            continue
        aggregates[f"{_N}{i}"] = rows[q.column].count()  # its non-missing values
        if q.statistic in (Statistic.SUM, Statistic.MEAN):
            aggregates[f"{_S}{i}"] = _units(rows, planned).sum()  # missing values add nothing
    expr = rows.group_by(by).aggregate(**aggregates) if by else rows.aggregate(**aggregates)
    both = engine.to_pyarrow(expr)
    out = {}
    for i, planned in enumerate(members):
        columns = {c: both[c] for c in by}
        counts = both[f"{_N}{i}"]
        keep = pc.greater(counts, 0)  # a group with no value is absent from its pass
        columns[_N] = counts
        if f"{_S}{i}" in both.column_names:
            columns[_S] = both[f"{_S}{i}"]
        table = pa.table(columns)
        out[planned.query.name] = table.filter(keep) if planned.query.column else table
    return out


def _aggregate(keyed: Table, plan: ReleasePlan, planned: PlannedQuery) -> Table:
    """One query's engine pass: bounded rows grouped, counted and (clipped) summed."""
    q, spec = planned.query, plan.spec
    by = list(q.by)
    _check_columns(keyed, planned)
    rows = keyed if q.column is None else keyed.filter(keyed[q.column].notnull())
    bounded = bound_contributions(
        rows, spec.person, by, max_groups=planned.max_groups, max_rows=planned.max_rows
    )
    group = list(by)
    if q.statistic is Statistic.QUANTILE:
        low, high = float(q.lower or 0), float(q.upper or 0)
        x = bounded[q.column].cast("float64").clip(low, high)
        index = ((x - low) / (high - low) * q.bins).floor().cast("int64").clip(0, q.bins - 1)
        bounded = bounded.mutate(**{_BIN: index})
        group.append(_BIN)
    aggregates: dict[str, Any] = {_N: bounded.count()}
    if q.statistic in (Statistic.SUM, Statistic.MEAN):
        aggregates[_S] = _units(bounded, planned).sum()
    if group:
        return bounded.group_by(group).aggregate(**aggregates)
    return bounded.aggregate(**aggregates)


def _from_found(plan: ReleasePlan, planned: PlannedQuery, found: pa.Table) -> DPTable:
    cells, n, s, selected = _cells(planned, found, list(planned.query.by))
    return _estimate(plan, planned, cells=cells, n=n, s=s, selected=selected)


def _column(found: pa.Table, name: str, rows: int) -> np.ndarray[Any, Any]:
    if name not in found.column_names:
        return np.zeros(rows, dtype=np.int64)
    return np.asarray(found[name].fill_null(0).to_numpy(zero_copy_only=False), dtype=np.int64)


def _cells(
    planned: PlannedQuery, found: pa.Table, by: list[str]
) -> tuple[
    list[tuple[str, ...]],
    np.ndarray[Any, Any],
    np.ndarray[Any, Any],
    dict[tuple[str, ...], int] | None,
]:
    """Align the engine's groups to the public cells (zero where absent), or select groups."""
    q = planned.query
    if by:
        keys = list(zip(*(found[c].to_pylist() for c in by), strict=True))
    else:
        keys = [()] * found.num_rows
    n_found, s_found = _column(found, _N, len(keys)), _column(found, _S, len(keys))
    bin_found = _column(found, _BIN, len(keys))
    bins = q.bins if q.statistic is Statistic.QUANTILE else 1
    selected: dict[tuple[str, ...], int] | None = None
    if planned.cells is not None:
        cells = list(planned.cells)
    else:
        selected = _select(planned, keys, n_found)
        cells = sorted(selected)
    index = {c: i for i, c in enumerate(cells)}
    n = np.zeros((len(cells), bins), dtype=np.int64)
    s = np.zeros(len(cells), dtype=np.int64)
    for key, count, total, b in zip(keys, n_found, s_found, bin_found, strict=True):
        i = index.get(key)
        if i is not None:  # groups outside the declared keys are not released
            n[i, b] += count
            s[i] += total
    return cells, n, s, selected


def _select(
    planned: PlannedQuery, keys: list[tuple[str, ...]], n: np.ndarray[Any, Any]
) -> dict[tuple[str, ...], int]:
    """DP partition selection over unknown keys: the kept groups and their noisy counts."""
    selection = planned.selection
    if selection is None:  # pragma: no cover - the plan has one whenever keys are unknown
        raise InvalidSpecError(f"query {planned.query.name!r} has no partition selection")
    totals: dict[str, int] = {}
    for key, count in zip(keys, n, strict=True):
        joined = KEY_SEPARATOR.join(key)
        totals[joined] = totals.get(joined, 0) + int(count)
    kept = selection.measurement(totals)
    return {tuple(k.split(KEY_SEPARATOR)): int(v) for k, v in kept.items()}


def _estimate(
    plan: ReleasePlan,
    planned: PlannedQuery,
    *,
    cells: list[tuple[str, ...]],
    n: np.ndarray[Any, Any],
    s: np.ndarray[Any, Any],
    selected: dict[tuple[str, ...], int] | None,
) -> DPTable:
    q, spec = planned.query, plan.spec
    alpha = 1 - spec.confidence
    interval = "exact"
    if q.statistic is Statistic.QUANTILE:
        estimate, low, high = _quantiles(planned, n, alpha)
        interval = "approximate"
    elif q.statistic is Statistic.SUM:
        values = _measure(planned.values)
        noisy = values.release(s).astype(np.float64)
        half = values.half_width(alpha)
        estimate, low, high = q.step * noisy, q.step * (noisy - half), q.step * (noisy + half)
    else:
        count_alpha = alpha if q.statistic is Statistic.COUNT else alpha / 2
        if selected is not None:
            counts = np.array([selected[c] for c in cells], dtype=np.float64)
            scale = planned.selection.scale if planned.selection else 1.0
            count_half = float(_gaussian_half(scale, count_alpha))
        else:
            count_measure = _measure(planned.count)
            counts = count_measure.release(n[:, 0]).astype(np.float64)
            count_half = float(count_measure.half_width(count_alpha))
        if q.statistic is Statistic.COUNT:
            estimate, low, high = counts, counts - count_half, counts + count_half
        else:
            estimate, low, high = _means(planned, counts, count_half, s, alpha / 2)
            interval = "conservative"
    columns: dict[str, Any] = {c: [cell[i] for cell in cells] for i, c in enumerate(q.by)}
    integral = q.statistic is Statistic.COUNT or (
        q.statistic is Statistic.SUM and float(q.step).is_integer()
    )
    for name, vector in (("estimate", estimate), ("ci_low", low), ("ci_high", high)):
        if integral:
            columns[name] = pa.array(np.round(vector).astype(np.int64), type=pa.int64())
        else:
            columns[name] = pa.array(vector, type=pa.float64())
    return DPTable(q.name, pa.table(columns), _metadata(plan, planned, interval))


def _measure(measure: NoisyMeasure | None) -> NoisyMeasure:
    if measure is None:  # pragma: no cover - the plan has one for every statistic needing it
        raise InvalidSpecError("the plan lacks a measurement for this statistic")
    return measure


def _means(
    planned: PlannedQuery, counts: Vector, count_half: float, s: np.ndarray[Any, Any], alpha: float
) -> tuple[Vector, Vector, Vector]:
    """Mean = midpoint + Σ(x − midpoint) / count, from the two noisy measurements."""
    q = planned.query
    values = _measure(planned.values)
    noisy = values.release(s).astype(np.float64)
    s_half = float(values.half_width(alpha))
    low_u, high_u = q.units
    mid = (low_u + high_u) / 2
    n_hat = np.maximum(counts, 1.0)
    estimate = np.clip(mid + noisy / (2 * n_hat), low_u, high_u)
    n_box = (np.maximum(counts - count_half, 1.0), np.maximum(counts + count_half, 1.0))
    s_box = (noisy - s_half, noisy + s_half)
    corners = np.stack([sb / (2 * nb) for sb in s_box for nb in n_box])
    low = np.clip(mid + corners.min(axis=0), low_u, high_u)
    high = np.clip(mid + corners.max(axis=0), low_u, high_u)
    return q.step * estimate, q.step * low, q.step * high


def _quantiles(
    planned: PlannedQuery, n: np.ndarray[Any, Any], alpha: float
) -> tuple[Vector, Vector, Vector]:
    """Quantiles from the noisy histogram's cumulative counts (post-processing)."""
    q = planned.query
    values = _measure(planned.values)
    lower, upper = float(q.lower or 0), float(q.upper or 0)
    width = (upper - lower) / q.bins
    noisy = values.release(n.ravel()).reshape(n.shape).astype(np.float64)
    cumulative = np.maximum(noisy, 0).cumsum(axis=1)
    z = float(norm.isf(alpha / 2))
    band = z * math.sqrt(values.variance) * np.sqrt(np.arange(1, q.bins + 1))
    estimate = np.full(len(n), lower + q.quantile * (upper - lower))
    low, high = np.full(len(n), lower), np.full(len(n), upper)
    for i, cdf in enumerate(cumulative):
        target = q.quantile * cdf[-1]
        if cdf[-1] <= 0:
            continue  # nothing measured: the whole range, its point at the quantile
        j = int(np.argmax(cdf >= target))
        before = cdf[j - 1] if j else 0.0
        inside = max(noisy[i, j], 0.0)
        frac = (target - before) / inside if inside > 0 else 0.5
        estimate[i] = lower + (j + min(max(frac, 0.0), 1.0)) * width
        reach = np.flatnonzero(cdf + band >= target)
        sure = np.flatnonzero(cdf - band >= target)
        low[i] = lower + (reach[0] if reach.size else 0) * width
        high[i] = lower + (sure[0] + 1) * width if sure.size else upper
    return estimate, low, high


def _gaussian_half(scale: float, alpha: float) -> int:
    return half_width(Mechanism.gaussian, scale, alpha)


def _metadata(plan: ReleasePlan, planned: PlannedQuery, interval: str) -> dict[str, Any]:
    q, spec = planned.query, plan.spec
    names = {"gaussian": "discrete Gaussian", "laplace": "discrete Laplace"}
    noise = {
        part: {"scale": m.scale, "sensitivity": m.sensitivity, "rho": m.rho, "variance": m.variance}
        for part, m in (("count", planned.count), ("values", planned.values))
        if m is not None
    }
    if planned.selection is not None:
        sel = planned.selection
        noise["selection"] = {
            "scale": sel.scale, "threshold": sel.threshold, "rho": sel.rho, "delta": sel.delta,
        }  # fmt: skip
    return {
        "release": spec.name,
        "name": q.name,
        "statistic": q.statistic.value,
        "by": list(q.by),
        "column": q.column,
        "bounds": {
            "max_groups": planned.max_groups,
            "max_rows": planned.max_rows,
            "lower": q.lower,
            "upper": q.upper,
            "step": q.step,
        },
        "rho": planned.rho,
        "epsilon": epsilon_of_rho(planned.rho, spec.conversion_delta),
        "delta": spec.conversion_delta + planned.delta,
        "privacy_unit": spec.privacy_unit,
        "mechanism": f"{names[spec.mechanism.value]} noise on integers (OpenDP 0.16"
        f" make_{spec.mechanism.value})"
        + ("; Gaussian-threshold partition selection" if planned.selection else ""),
        "noise": noise,
        "keys": "public (declared)" if planned.cells is not None else "DP partition selection",
        "confidence": spec.confidence,
        "interval": interval,
        "quantile": q.quantile if q.statistic is Statistic.QUANTILE else None,
    }
