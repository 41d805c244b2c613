"""Controlled rounding: every cell to a multiple of a base, the table still adding up.

Each cell not already a multiple of ``base`` goes to the multiple just below or just above it
(zero-restricted: multiples, zeros included, stay as they are), chosen jointly so that every
additivity equation holds after rounding and the total absolute change is least — a small
mixed-integer program (one binary per cell) solved by HiGHS through ``scipy.optimize.milp``.
For two-dimensional tables with margins a solution always exists; for larger ones it may not,
and then the caller should fall back to suppression.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ansim.disclosure._table import TableCells
from ansim.errors import DisclosureCheckFailed, InvalidSpecError

__all__ = ["RoundedTable", "controlled_rounding"]


@dataclass(frozen=True, eq=False)
class RoundedTable:
    """A table rounded to multiples of ``base``.

    Attributes:
        cells: the original table.
        base: the rounding base.
        values: the rounded values, additive like the original.
        changed: how many cells moved.
        total_change: the sum of absolute changes.
    """

    cells: TableCells
    base: int
    values: npt.NDArray[np.float64]
    changed: int
    total_change: float


def controlled_rounding(cells: TableCells, base: int) -> RoundedTable:
    """Round every cell to a multiple of ``base`` keeping all additivity equations.

    Args:
        cells: the table (integer values).
        base: the rounding base, at least 2.

    Returns:
        The rounded table.

    Raises:
        InvalidSpecError: the base is below 2 or the values are not integers.
        DisclosureCheckFailed: no controlled rounding exists for this table.

    Example:
        >>> import pyarrow as pa
        >>> from ansim.disclosure import tabulate
        >>> t = pa.table({"si": ["A"] * 7 + ["B"] * 4 + ["C"] * 3})
        >>> controlled_rounding(tabulate(t, ["si"]), 5).values.tolist()
        [5.0, 5.0, 5.0, 15.0]
    """
    # SciPy takes about a second to import; only table protection needs it.
    from scipy.optimize import (  # type: ignore[import-untyped]  # noqa: PLC0415
        Bounds,
        LinearConstraint,
        milp,
    )
    from scipy.sparse import coo_matrix  # type: ignore[import-untyped]  # noqa: PLC0415

    if base < 2:  # noqa: PLR2004 - rounding to 1 changes nothing
        raise InvalidSpecError(f"the rounding base must be at least 2, not {base}")
    x = cells.values
    if not np.allclose(x, np.round(x)):
        raise InvalidSpecError("controlled rounding needs integer cell values")
    x = np.round(x)
    low = np.floor(x / base) * base
    free = x != low
    rows, cols, data, rhs = [], [], [], []
    for r, eq in enumerate(cells.equations):
        constant = low[eq.total] - low[list(eq.parts)].sum()
        for cell, sign in [(eq.total, 1.0), *((p, -1.0) for p in eq.parts)]:
            if free[cell]:
                rows.append(r)
                cols.append(cell)
                data.append(sign * base)
        rhs.append(-constant)
    matrix = coo_matrix((data, (rows, cols)), shape=(len(cells.equations), cells.cells)).tocsr()
    # |rounded − x| = (x − low) + r·(low + base − 2x + low): minimise the r-dependent part.
    objective = np.where(free, 2 * low + base - 2 * x, 0.0)
    result = milp(
        objective,
        integrality=np.ones(cells.cells),
        bounds=Bounds(np.zeros(cells.cells), free.astype(float)),
        constraints=[LinearConstraint(matrix, rhs, rhs)] if cells.equations else [],
    )
    if result.x is None:
        raise DisclosureCheckFailed(
            f"no controlled rounding to base {base} exists for this table ({result.message}); "
            "use cell suppression instead"
        )
    rounded = low + base * np.round(result.x)
    return RoundedTable(
        cells=cells,
        base=base,
        values=rounded,
        changed=int((rounded != x).sum()),
        total_change=float(np.abs(rounded - x).sum()),
    )
