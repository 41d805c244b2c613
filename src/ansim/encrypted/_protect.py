"""Decrypted aggregates through the same disclosure checks as any other table.

The hub never sees a record value, so the dominance and p% rules cannot look at the largest
contributions. They get safe upper bounds instead, from the encrypted sum of squares ``Q`` of a
cell with total ``S``: the largest contribution is at most ``min(√Q, S)`` and the two largest
together at most ``min(√(2Q), S)`` (Cauchy–Schwarz). Overstating the largest contributions
only ever marks more cells sensitive. The cells (with every margin and its additivity
equations, from :func:`ansim.disclosure.tabulate`) then go through
:func:`ansim.disclosure.protect_cells`: primary rules, secondary suppression and the audit.

:func:`plaintext_aggregates` computes the same totals from plaintext values: the reference the
encrypted path is compared with (and the CKKS error measured against).
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ansim.disclosure import (
    DominanceRule,
    PPercentRule,
    ProtectedTable,
    SuppressionRule,
    TableCells,
    ThresholdRule,
    protect_cells,
    tabulate,
)
from ansim.encrypted._aggregate import _cell_of_rows, _grid
from ansim.encrypted._ceremony import AggregateTable
from ansim.errors import InvalidSpecError

__all__ = [
    "DEFAULT_RULES",
    "PublishedTable",
    "compare_tables",
    "plaintext_aggregates",
    "protect_aggregates",
]

DEFAULT_RULES: tuple[SuppressionRule, ...] = (
    ThresholdRule(10),
    DominanceRule(2, 90.0),
    PPercentRule(10.0),
)
"""The workspace's defaults: threshold 10, (2, 90 %) dominance, p = 10 %."""


def plaintext_aggregates(
    values: pa.Table,
    groups: pa.Table,
    dimensions: Sequence[str],
    column: str,
    *,
    categories: Mapping[str, Sequence[str]] | None = None,
) -> AggregateTable:
    """The same cell totals as the encrypted path, from plaintext (the reference).

    Args:
        values: ``serial`` and ``column`` (the custodian's plaintext).
        groups: ``serial`` and the dimension columns (the hub's linked records).
        dimensions: The classifying columns.
        column: The attribute.
        categories: Per dimension, its full category list.

    Example:
        >>> v = pa.table({"serial": ["a", "b", "c"], "x": [1.0, None, 3.0]})
        >>> g = pa.table({"serial": ["a", "b", "c"], "sex": ["F", "F", "M"]})
        >>> t = plaintext_aggregates(v, g, ["sex"], "x")
        >>> t.count.tolist(), t.sum.tolist()
        ([1, 1], [1.0, 3.0])
    """
    grid = _grid(groups, dimensions, categories)
    cell_of_row = _cell_of_rows(groups, dimensions, grid)
    row = pc.index_in(values.column("serial").cast(pa.string()),
                      value_set=groups.column("serial").cast(pa.string()))  # fmt: skip
    cells = np.where(row.is_null().to_numpy(zero_copy_only=False), -1,
                     np.append(cell_of_row, -1)[row.fill_null(-1).to_numpy()])  # fmt: skip
    x = pc.cast(values.column(column), pa.float64()).to_numpy(zero_copy_only=False)
    keep = (cells >= 0) & ~np.isnan(x)
    n = len(grid)
    return AggregateTable(
        tuple(dimensions), tuple(grid), column,
        np.bincount(cells[keep], minlength=n).astype(np.int64),
        np.bincount(cells[keep], weights=x[keep], minlength=n),
        np.bincount(cells[keep], weights=x[keep] ** 2, minlength=n),
    )  # fmt: skip


def _margins(table: AggregateTable, values: np.ndarray) -> TableCells:
    leaf = pa.table({**{d: [c[i] for c in table.cells] for i, d in enumerate(table.dimensions)},
                     "v": np.maximum(values, 0.0)})  # fmt: skip
    return tabulate(leaf, table.dimensions, value="v")


def _cells(table: AggregateTable) -> TableCells:
    """The table with margins; contributors = counts, top = bounds on the largest values."""
    # Whole units: decrypted CKKS totals are not integers, and margins of non-integer floats
    # summed in another order differ by more than the suppression audit's LP tolerance.
    sums = _margins(table, np.rint(table.sum))
    counts = _margins(table, table.count.astype(np.float64))
    total = sums.values
    if table.sum_squares is None:
        top = np.column_stack([total, np.zeros_like(total)])  # nothing known: the worst case
    else:
        squares = _margins(table, table.sum_squares).values
        first = np.minimum(np.sqrt(squares), total)
        both = np.minimum(np.sqrt(2 * squares), total)
        top = np.column_stack([first, np.maximum(both - first, 0.0)])
    return dataclasses.replace(sums, contributors=np.rint(counts.values).astype(np.int64), top=top)


@dataclass(frozen=True, eq=False)
class PublishedTable:
    """A protected table of count, sum and mean per cell, as it would be published.

    Attributes:
        protected: The protection result (cells, suppression pattern, audit).
        count: Records with a value, per cell of ``protected.cells``.
        sum: Sums per cell, in whole units (as protected and published).
        unrounded: Sums per cell before rounding (the decrypted values themselves), or None.
    """

    protected: ProtectedTable
    count: np.ndarray
    sum: np.ndarray
    unrounded: np.ndarray | None = None

    def status(self) -> list[str]:
        """Per cell: ``published``, ``primary`` or ``secondary``."""
        return self.protected.status()

    def to_table(self) -> pa.Table:
        """The published rows: withheld cells have no count, sum or mean; sums in whole units."""
        cells = self.protected.cells
        status = self.status()
        shown = np.array([s == "published" for s in status])
        mean = np.where(self.count > 0, self.sum / np.maximum(self.count, 1), np.nan)
        columns: dict[str, pa.Array] = {
            d: pa.array([label[i] for label in cells.labels])
            for i, d in enumerate(cells.dimensions)
        }
        columns["count"] = pa.array(self.count, mask=~shown)
        columns["sum"] = pa.array(np.rint(self.sum).astype(np.int64), mask=~shown)
        columns["mean"] = pa.array(np.round(mean, 1), mask=~shown | np.isnan(mean))
        columns["status"] = pa.array(status)
        return pa.table(columns)

    def csv(self) -> bytes:
        """The published table as CSV (UTF-8 with BOM, as the other releases)."""
        sink = io.BytesIO()
        pacsv.write_csv(self.to_table(), sink)
        return b"\xef\xbb\xbf" + sink.getvalue()


def protect_aggregates(
    table: AggregateTable, rules: Sequence[SuppressionRule] = DEFAULT_RULES
) -> PublishedTable:
    """Protect decrypted (or plaintext reference) totals with the disclosure rules.

    Raises:
        DisclosureCheckFailed: The suppression audit fails: do not publish.

    Example:
        >>> t = AggregateTable(("sex",), (("F",), ("M",)), "x", np.array([30, 3]),
        ...                    np.array([300.0, 30.0]), np.array([3000.0, 300.0]))
        >>> protect_aggregates(t).status()
        ['secondary', 'primary', 'published']
    """
    cells = _cells(table)
    protected = protect_cells(cells, rules)
    counts = protected.cells.contributors
    unrounded = _margins(table, table.sum).values
    return PublishedTable(protected, counts, protected.cells.values, unrounded)


def compare_tables(encrypted: PublishedTable, plaintext: PublishedTable) -> dict[str, object]:
    """How the encrypted path's table differs from the plaintext path's.

    Returns:
        ``same_pattern`` (identical suppression), ``max_abs_error_sum`` and
        ``max_abs_error_mean`` (the exact CKKS error over all cells, before rounding),
        ``max_rel_error_sum`` and ``published_cells_differing`` (after rounding, as printed).

    Raises:
        InvalidSpecError: The two tables have different cells.
    """
    a, b = encrypted.protected.cells, plaintext.protected.cells
    if a.labels != b.labels:
        raise InvalidSpecError("the two tables have different cells")
    ta, tb = encrypted.to_table(), plaintext.to_table()
    differing = sum(ra != rb for ra, rb in zip(ta.to_pylist(), tb.to_pylist(), strict=True))
    sa = encrypted.sum if encrypted.unrounded is None else encrypted.unrounded
    sb = plaintext.sum if plaintext.unrounded is None else plaintext.unrounded
    ma = np.where(encrypted.count > 0, sa / np.maximum(encrypted.count, 1), 0.0)
    mb = np.where(plaintext.count > 0, sb / np.maximum(plaintext.count, 1), 0.0)
    error = np.abs(sa - sb)
    return {
        "cells": a.cells,
        "same_pattern": encrypted.status() == plaintext.status(),
        "counts_equal": bool(np.array_equal(encrypted.count, plaintext.count)),
        "max_abs_error_sum": float(error.max(initial=0.0)),
        "max_rel_error_sum": float((error / np.maximum(np.abs(sb), 1.0)).max(initial=0)),
        "max_abs_error_mean": float(np.abs(ma - mb).max(initial=0.0)),
        "published_cells_differing": int(differing),
    }
