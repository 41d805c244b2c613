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


def histogram_table(frame: pd.DataFrame, column: str, bins: int | Sequence[float]) -> TableResult:
    """Count rows in bins of a numeric column (each bin is a cell; empty bins are zeros).

    Args:
        frame: The rows (with ``person_id``).
        column: The numeric column.
        bins: Number of equal-width bins, or the bin edges.

    Returns:
        The histogram as a count table over ``<column>_bin``.
    """
    _need(frame, [column])
    data = frame.dropna(subset=[column])
    binned = pd.cut(data[column].astype(float), bins=bins, include_lowest=True)
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
    if PERSON in frame.columns:  # degrees of freedom in people, not in (repeatable) rows
        used = (
            frame.loc[model.data.row_labels, PERSON]
            if model.data.row_labels is not None
            else frame[PERSON]
        )
        residual_dof = min(residual_dof, float(used.astype(str).nunique() - len(fitted.params)))
    ci = fitted.conf_int()
    rows = tuple(
        (str(term), _plain(fitted.params[term]), _plain(fitted.bse[term]),
         _plain(fitted.tvalues[term]), _plain(fitted.pvalues[term]),
         _plain(ci.loc[term, 0]), _plain(ci.loc[term, 1]))
        for term in fitted.params.index
    )  # fmt: skip
    columns = ("term", "estimate", "std_error", "statistic", "p_value", "ci_low", "ci_high")
    return ModelResult(columns, rows, residual_dof, tuple(str(t) for t in fitted.params.index))
