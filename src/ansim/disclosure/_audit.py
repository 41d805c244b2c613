"""The attacker's LP: how closely can each suppressed cell be recovered from what is published?

For every suppressed cell the audit solves two linear programs over the suppressed cells'
unknown values — minimise and maximise the cell subject to every additivity equation (the
published cells as constants) and non-negativity — with HiGHS via ``scipy.optimize.linprog``.
A sensitive cell is protected when its feasible interval reaches its upper and lower
protection levels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ansim.disclosure._primary import PrimarySuppression
from ansim.disclosure._table import TableCells
from ansim.errors import DisclosureCheckFailed

__all__ = ["AuditResult", "audit_suppression"]

_TOLERANCE = 1e-6


@dataclass(frozen=True, eq=False)
class AuditResult:
    """Feasible intervals of the suppressed cells and which sensitive ones are protected.

    Attributes:
        cells: indices of the suppressed cells.
        lower: per suppressed cell, the smallest value the attacker cannot exclude.
        upper: per suppressed cell, the largest (``inf`` when unbounded).
        protected: per suppressed cell, whether its interval meets its protection levels
            (always true for cells that are not sensitive).
    """

    cells: npt.NDArray[np.int64]
    lower: npt.NDArray[np.float64]
    upper: npt.NDArray[np.float64]
    protected: npt.NDArray[np.bool_]

    @property
    def passed(self) -> bool:
        """Whether every sensitive suppressed cell is protected."""
        return bool(self.protected.all())

    def failing(self) -> list[int]:
        """Indices of the sensitive cells that are not protected."""
        return [int(c) for c, ok in zip(self.cells, self.protected, strict=True) if not ok]


def _system(
    cells: TableCells, suppressed: npt.NDArray[np.bool_]
) -> tuple[Any, npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Equality system over the suppressed cells: ``A z = b``."""
    from scipy.sparse import csr_matrix  # type: ignore[import-untyped]  # noqa: PLC0415

    hidden = np.flatnonzero(suppressed)
    column = np.full(cells.cells, -1)
    column[hidden] = np.arange(len(hidden))
    rows, cols, data, rhs = [], [], [], []
    row = 0
    for eq in cells.equations:
        terms = [(eq.total, 1.0), *((p, -1.0) for p in eq.parts)]
        known = sum(-coef * cells.values[c] for c, coef in terms if column[c] < 0)
        unknown = [(column[c], coef) for c, coef in terms if column[c] >= 0]
        if not unknown:
            continue
        for col, coef in unknown:
            rows.append(row)
            cols.append(col)
            data.append(coef)
        rhs.append(known)
        row += 1
    matrix = csr_matrix((data, (rows, cols)), shape=(row, len(hidden)))
    return matrix, np.array(rhs, dtype=np.float64), hidden


def audit_suppression(
    cells: TableCells,
    suppressed: npt.NDArray[np.bool_],
    primary: PrimarySuppression,
    *,
    only: npt.NDArray[np.int64] | None = None,
) -> AuditResult:
    """Solve the attacker's LP for each suppressed cell (or only the cells in ``only``).

    Args:
        cells: the table.
        suppressed: per cell, whether it is withheld.
        primary: the sensitive cells and their protection levels.
        only: restrict the audit to these suppressed cells (the others are not reported).

    Returns:
        The intervals and the verdict per cell.

    Raises:
        DisclosureCheckFailed: the solver failed (the table is not additive, or HiGHS broke).
    """
    # SciPy takes about a second to import; only table protection needs it.
    from scipy.optimize import linprog  # type: ignore[import-untyped]  # noqa: PLC0415

    matrix, rhs, hidden = _system(cells, suppressed)
    targets = hidden if only is None else np.intersect1d(hidden, only)
    position = {int(c): i for i, c in enumerate(hidden)}
    lower = np.zeros(len(targets))
    upper = np.zeros(len(targets))
    protected = np.ones(len(targets), dtype=bool)
    for i, cell in enumerate(targets.tolist()):
        objective = np.zeros(len(hidden))
        objective[position[cell]] = 1.0
        bounds = []
        for sign in (1.0, -1.0):
            res = linprog(
                sign * objective,
                A_eq=matrix if matrix.shape[0] else None,
                b_eq=rhs if matrix.shape[0] else None,
                bounds=(0, None),
                method="highs",
            )
            if res.status == 3:  # noqa: PLR2004 - HiGHS: unbounded
                bounds.append(np.inf if sign < 0 else 0.0)
            elif res.status != 0:
                raise DisclosureCheckFailed(
                    f"the attacker LP for cell {cell} failed ({res.message}); check that the "
                    "table is additive"
                )
            else:
                bounds.append(float(sign * res.fun))
        lower[i], upper[i] = bounds
        value = float(cells.values[cell])
        if primary.sensitive[cell]:
            protected[i] = bool(
                upper[i] >= value + primary.upper[cell] - _TOLERANCE
                and lower[i] <= value - primary.lower[cell] + _TOLERANCE
            )
    return AuditResult(cells=targets, lower=lower, upper=upper, protected=protected)
