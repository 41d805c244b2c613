"""Checked analyses on rows inside the hub: tables, histograms, survival tables and models.

Each function takes the rows of a vetted query (a pandas frame that never leaves the hub) and
returns the aggregated result plus what the checks need: per-cell statistics and, for tables,
the person ids behind each cell (for the differencing ledger). Every combination of the
dimensions' observed categories is a cell, so empty cells show up as zeros and are checked.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ansim.errors import InvalidSpecError
from ansim.workspace._checks import CellStats
from ansim.workspace._persons import PERSON

__all__ = [
    "ModelResult",
    "TableResult",
    "fit_model",
    "histogram_table",
    "survival_table",
    "tabulate",
]

_AGGREGATES = frozenset({"count", "sum", "mean", "median", "quantile", "min", "max", "std"})


@dataclass(frozen=True, eq=False)
class TableResult:
    """An aggregated table, its per-cell statistics and its cells' person ids."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    stats: CellStats
    cells: dict[str, list[str]]


@dataclass(frozen=True, eq=False)
class ModelResult:
    """A fitted model's coefficient table and residual degrees of freedom."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    residual_dof: float
    terms: tuple[str, ...]
    max_leverage: float = 0.0
    exact_fit: bool = False


def _need(frame: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InvalidSpecError(f"the query's result has no columns {missing}")
    if PERSON not in frame.columns:
        raise InvalidSpecError(
            f"select {PERSON} too: tables are checked for differencing on the people in each cell"
        )


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    return value


def tabulate(
    frame: pd.DataFrame,
    dimensions: Sequence[str],
    statistic: str = "count",
    value: str | None = None,
    *,
    q: float = 0.5,
    levels: Sequence[Sequence[str]] | None = None,
) -> TableResult:
    """Aggregate rows into a table with one cell per combination of the dimensions' categories.

    Args:
        frame: The rows (with ``person_id``).
        dimensions: Classifying columns.
        statistic: ``count``, ``sum``, ``mean``, ``median``, ``quantile``, ``min``, ``max`` or
            ``std``.
        value: The column aggregated (not for ``count``).
        q: The quantile, for ``quantile``.
        levels: Each dimension's categories in order (default: those observed), so that
            empty bins are cells too.

    Returns:
        The table (dimensions then the statistic), its cell statistics and cell person ids.

    Raises:
        InvalidSpecError: Unknown statistic, missing columns or value.
    """
    if statistic not in _AGGREGATES:
        raise InvalidSpecError(f"unknown statistic {statistic!r}: use one of {sorted(_AGGREGATES)}")
    if not dimensions:
        raise InvalidSpecError("a table needs at least one dimension")
    if (statistic == "count") != (value is None):
        raise InvalidSpecError("give a value column for every statistic except count")
    if not 0 < q < 1:
        raise InvalidSpecError(f"a quantile must be in (0, 1), not {q}")
    dims = list(dimensions)
    _need(frame, [*dims, *([value] if value else [])])
    data = frame.dropna(subset=[*dims, *([value] if value else [])]).copy()
    for d in dims:
        data[d] = data[d].astype(str)
    if levels is None:
        levels = [sorted(data[d].unique()) for d in dims]
    elif len(levels) != len(dims):
        raise InvalidSpecError("give the categories of every dimension")
    groups = {(k if isinstance(k, tuple) else (k,)): g for k, g in data.groupby(dims, sort=True)}
    name = statistic if value is None else f"{statistic}_{value}"
    labels, rows, counts, totals, x1s, x2s, distinct, cells = [], [], [], [], [], [], [], {}
    for combo in itertools.product(*levels):
        group = groups.get(tuple(combo), data.iloc[0:0])
        labels.append(tuple(combo))
        persons = group[PERSON].astype(str)
        # People, not rows: a row repeated (UNION ALL, a cross join) is still one person.
        counts.append(int(persons.nunique()))
        cell = "; ".join(f"{d}={v}" for d, v in zip(dims, combo, strict=True))
        cells[cell] = sorted(persons.unique().tolist())
        if value is None:
            result: Any = int(persons.nunique())
            totals.append(0.0)
            x1s.append(0.0)
            x2s.append(0.0)
        else:
            series = group[value].astype(float)
            result = _aggregate(series, statistic, q)
            # Dominance and p % on each person's total in the cell, however many rows it has.
            per_person = series.abs().groupby(persons.to_numpy()).sum()
            top = np.sort(per_person.to_numpy())[::-1]
            distinct.append(int(series.nunique()))
            totals.append(float(top.sum()))
            x1s.append(float(top[0]) if len(top) else 0.0)
            x2s.append(float(top[1]) if len(top) > 1 else 0.0)
        rows.append((*combo, _plain(result)))
    stats = CellStats(
        tuple(dims), tuple(labels), np.array(counts, dtype=np.int64),
        np.array(totals), np.array(x1s), np.array(x2s),
        None if value is None else np.array(distinct, dtype=np.int64),
    )  # fmt: skip
    return TableResult((*dims, name), tuple(rows), stats, cells)


def _aggregate(series: pd.Series, statistic: str, q: float) -> Any:
    if series.empty:
        return None
    if statistic == "quantile":
        return series.quantile(q)
    return getattr(series, statistic)()


_NICE = (1.0, 2.0, 2.5, 5.0, 10.0)


def round_edges(low: float, high: float, bins: int) -> list[float]:
    """Platform-chosen bin edges: a nice step (1, 2, 2.5 or 5 × 10^k) over a rounded range.

    The edges are multiples of the step, so neither the data's minimum nor its maximum is
    ever an edge (unless it is itself a round number) — a histogram publishes no extreme.

    Example:
        >>> round_edges(4092.836, 5123.0, 4)
        [4000.0, 4500.0, 5000.0, 5500.0]
        >>> round_edges(7.0, 7.0, 3)
        [7.0, 8.0]
    """
    if bins < 1:
        raise InvalidSpecError(f"a histogram needs at least one bin, not {bins}")
    span = high - low
    if span <= 0:
        return [float(np.floor(low)), float(np.floor(low)) + 1.0]
    raw = span / bins
    power = 10.0 ** np.floor(np.log10(raw))
    step = next(m * power for m in _NICE if m * power >= raw)
    start, stop = np.floor(low / step) * step, np.ceil(high / step) * step
    count = round((stop - start) / step)
    return [float(round(start + i * step, 10)) for i in range(count + 1)]


def histogram_table(frame: pd.DataFrame, column: str, bins: int | Sequence[float]) -> TableResult:
    """Count rows in bins of a numeric column (each bin is a cell; empty bins are zeros).

    Args:
        frame: The rows (with ``person_id``).
        column: The numeric column.
        bins: About how many bins (the platform rounds the edges, see :func:`round_edges`),
            or the analyst's own edges.

    Returns:
        The histogram as a count table over ``<column>_bin``.
    """
    _need(frame, [column])
    data = frame.dropna(subset=[column])
    values = data[column].astype(float)
    if isinstance(bins, int):
        low, high = (float(values.min()), float(values.max())) if len(values) else (0.0, 1.0)
        bins = round_edges(low, high, bins)
    edges = [float(e) for e in bins]
    labels = [
        f"{'[' if i == 0 else '('}{a:.12g}, {b:.12g}]"  # the edges as chosen, never shifted
        for i, (a, b) in enumerate(itertools.pairwise(edges))
    ]
    binned = pd.cut(values, bins=edges, include_lowest=True, labels=labels)
    out = pd.DataFrame({f"{column}_bin": binned.astype(str), PERSON: data[PERSON].to_numpy()})
    return tabulate(out, [f"{column}_bin"], levels=[[str(c) for c in binned.cat.categories]])


def survival_table(
    frame: pd.DataFrame, duration: str, event: str, edges: Sequence[float]
) -> TableResult:
    """A life table: per interval of ``duration``, the people at risk, events and censored.

    Args:
        frame: The rows (with ``person_id``); ``event`` is 1 for an event, 0 for censoring.
        duration: Follow-up time column.
        event: Event indicator column.
        edges: Interval edges, increasing.

    Returns:
        A count table over ``interval`` × ``outcome`` (``event`` or ``censored``) whose rows
        also give the number at risk at each interval's start, cumulated from the counts.
    """
    _need(frame, [duration, event])
    data = frame.dropna(subset=[duration, event])
    interval = pd.cut(data[duration].astype(float), bins=list(edges), include_lowest=True)
    outcome = np.where(data[event].astype(int) == 1, "event", "censored")
    out = pd.DataFrame(
        {"interval": interval.astype(str), "outcome": outcome, PERSON: data[PERSON].to_numpy()}
    )
    categories = [str(c) for c in interval.cat.categories]
    return tabulate(out, ["interval", "outcome"], levels=[categories, ["censored", "event"]])


def fit_model(frame: pd.DataFrame, formula: str, kind: str) -> ModelResult:
    """Fit an OLS or logit model with statsmodels' formula interface.

    Args:
        frame: The rows.
        formula: A patsy formula such as ``"y ~ x + C(group)"``.
        kind: ``ols`` or ``logit``.

    Returns:
        The coefficient table (term, estimate, std_error, statistic, p_value, ci_low,
        ci_high) and the residual degrees of freedom.

    Raises:
        InvalidSpecError: Unknown kind, or the model cannot be fitted.
    """
    import statsmodels.formula.api as smf  # noqa: PLC0415 - heavy; only when fitting

    fitters = {"ols": smf.ols, "logit": smf.logit}
    if kind not in fitters:
        raise InvalidSpecError(f"unknown model {kind!r}: use ols or logit")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence notes surface in the check report
            model = fitters[kind](formula, data=frame)
            fitted = model.fit(disp=0) if kind == "logit" else model.fit()
    except Exception as e:
        raise InvalidSpecError(f"cannot fit the {kind} model: {type(e).__name__}") from e
    residual_dof = float(fitted.df_resid)
    used = (
        frame.loc[model.data.row_labels, PERSON]
        if model.data.row_labels is not None
        else frame[PERSON]
    ).astype(str)
    # Degrees of freedom in people, not in (repeatable) rows.
    residual_dof = min(residual_dof, float(used.nunique() - len(fitted.params)))
    # Leverage per person (a person's rows together): near 1, their values alone fix a
    # coefficient (an indicator of one person, a lone extreme x).
    q, _ = np.linalg.qr(np.asarray(model.exog, dtype=float))
    hat = pd.Series((q**2).sum(axis=1), index=used.to_numpy())
    max_leverage = float(hat.groupby(level=0).sum().max()) if len(hat) else 0.0
    exact = kind == "ols" and bool(
        np.isclose(
            float(fitted.ssr),
            0.0,
            atol=1e-9 * max(1.0, float(np.sum(np.asarray(model.endog, dtype=float) ** 2))),
        )
    )
    ci = fitted.conf_int()
    rows = tuple(
        (str(term), _plain(fitted.params[term]), _plain(fitted.bse[term]),
         _plain(fitted.tvalues[term]), _plain(fitted.pvalues[term]),
         _plain(ci.loc[term, 0]), _plain(ci.loc[term, 1]))
        for term in fitted.params.index
    )  # fmt: skip
    columns = ("term", "estimate", "std_error", "statistic", "p_value", "ci_low", "ci_high")
    terms = tuple(str(t) for t in fitted.params.index)
    return ModelResult(columns, rows, residual_dof, terms, max_leverage, exact)
