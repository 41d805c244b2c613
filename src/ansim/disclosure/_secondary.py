"""Secondary suppression: withhold more cells so no sensitive cell can be recovered.

Two methods:

- ``heuristic`` (fast): first no equation may hold exactly one suppressed cell (each such
  equation gets its cheapest other cell suppressed, preferring cells large enough to cover
  the partner's lower protection); then the attacker LP is solved for the sensitive cells and,
  while one fails, the cheapest cell sharing an equation with it (or, failing that, with any
  suppressed cell) is added. It ends with every sensitive cell protected: in the worst case
  everything is suppressed, which protects every cell.
- ``optimal`` (moderate tables): the mixed-integer program of Fischetti and Salazar-González —
  one binary per cell, and per sensitive cell and direction a deviation vector that satisfies
  every equation, moves the cell by its protection level and is zero on published cells —
  minimising the total value suppressed, solved by HiGHS through ``scipy.optimize.milp``.

Both results pass :func:`audit_suppression`, which the caller should run anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

import numpy as np
import numpy.typing as npt

from ansim.disclosure._audit import audit_suppression
from ansim.disclosure._primary import PrimarySuppression
from ansim.disclosure._table import TableCells
from ansim.errors import DisclosureCheckFailed, InvalidSpecError

__all__ = ["SecondaryMethod", "SecondarySuppression", "secondary_suppression"]

_MAX_MILP_COLUMNS = 400_000
_TIME_LIMIT = 300.0  # seconds; past it the best pattern found so far is used


class SecondaryMethod(Enum):
    """How secondary cells are chosen."""

    HEURISTIC = "heuristic"
    OPTIMAL = "optimal"


@dataclass(frozen=True, eq=False)
class SecondarySuppression:
    """The cells to withhold.

    Attributes:
        suppressed: per cell, whether it is withheld (sensitive and secondary).
        primary: per cell, whether it is sensitive.
        method: how the secondary cells were chosen.
        cost: total value of the withheld non-sensitive cells.
        proven_optimal: whether the MILP solver proved the pattern optimal (within its time
            limit); always False for the heuristic.
    """

    suppressed: npt.NDArray[np.bool_]
    primary: npt.NDArray[np.bool_]
    method: SecondaryMethod
    cost: float
    proven_optimal: bool = False

    @property
    def secondary(self) -> npt.NDArray[np.bool_]:
        """Cells withheld only to protect sensitive ones."""
        return np.asarray(self.suppressed & ~self.primary)


def _cost(cells: TableCells) -> npt.NDArray[np.float64]:
    # The value withheld, plus a little per cell so that zero cells are not free.
    return np.asarray(cells.values + 1e-3 * max(1.0, float(cells.values.max(initial=0.0))))


def _singletons(cells: TableCells, suppressed: npt.NDArray[np.bool_], need: float) -> bool:
    """Suppress a partner in every equation with exactly one suppressed cell; True if changed."""
    changed = False
    cost = _cost(cells)
    for eq in cells.equations:
        members = [eq.total, *eq.parts]
        hidden = [c for c in members if suppressed[c]]
        if len(hidden) != 1:
            continue
        candidates = [c for c in members if not suppressed[c]]
        if not candidates:
            continue
        big = [c for c in candidates if cells.values[c] >= need]
        choice = min(big or candidates, key=lambda c: (cost[c], c))
        suppressed[choice] = True
        changed = True
    return changed


def _heuristic(cells: TableCells, primary: PrimarySuppression) -> npt.NDArray[np.bool_]:
    suppressed = primary.sensitive.copy()
    need = float(primary.lower.max(initial=0.0))
    while _singletons(cells, suppressed, need):
        pass
    cost = _cost(cells)
    members = [(eq.total, *eq.parts) for eq in cells.equations]
    # Withholding more cells only widens every interval, so each sensitive cell, once
    # protected, stays protected: one pass over them suffices.
    for cell in np.flatnonzero(primary.sensitive).tolist():
        only = np.array([cell])
        while not audit_suppression(cells, suppressed, primary, only=only).passed:
            near = {c for m in members if cell in m for c in m if not suppressed[c]}
            if not near:
                near = {c for m in members if any(suppressed[x] for x in m) for c in m
                        if not suppressed[c]}  # fmt: skip
            if not near:
                near = set(np.flatnonzero(~suppressed).tolist())
            if not near:
                raise DisclosureCheckFailed(
                    f"cell {cell} cannot be protected even with every cell suppressed; check "
                    "the protection levels"
                )
            room = float(primary.lower[cell])
            big = [c for c in near if cells.values[c] >= room]
            suppressed[min(big or near, key=lambda c: (cost[c], c))] = True
            while _singletons(cells, suppressed, need):
                pass
    return suppressed


def _equation_matrix(cells: TableCells) -> Any:
    from scipy.sparse import coo_matrix  # type: ignore[import-untyped]  # noqa: PLC0415

    rows, cols, data = [], [], []
    for r, eq in enumerate(cells.equations):
        rows.append(r)
        cols.append(eq.total)
        data.append(1.0)
        for p in eq.parts:
            rows.append(r)
            cols.append(p)
            data.append(-1.0)
    return coo_matrix((data, (rows, cols)), shape=(len(cells.equations), cells.cells)).tocsr()


def _optimal(cells: TableCells, primary: PrimarySuppression) -> tuple[npt.NDArray[np.bool_], bool]:
    """Solve the MILP; returns the pattern and whether HiGHS proved it optimal."""
    # SciPy takes about a second to import; only table protection needs it.
    from scipy.optimize import (  # type: ignore[import-untyped]  # noqa: PLC0415
        Bounds,
        LinearConstraint,
        milp,
    )
    from scipy.sparse import block_diag, csr_matrix, diags, hstack, vstack  # noqa: PLC0415

    n = cells.cells
    sensitive = np.flatnonzero(primary.sensitive).tolist()
    problems = [(p, float(primary.upper[p])) for p in sensitive if primary.upper[p] > 0]
    problems += [(p, -float(primary.lower[p])) for p in sensitive if primary.lower[p] > 0]
    k = len(problems)
    if n * (1 + k) > _MAX_MILP_COLUMNS:
        raise InvalidSpecError(
            f"the optimal method would need {n * (1 + k):,} variables; use the heuristic for "
            "tables this size"
        )
    if k == 0:
        return primary.sensitive.copy(), True  # nothing needs protecting
    # Variables: s (one binary per cell), then one deviation vector y_j per problem j.
    # Per problem: A·y_j = 0, y_j[cell] = shift (equalities); y_j ≤ big·s, −y_j ≤ value·s.
    big = float(cells.values.sum()) + 1.0
    a = _equation_matrix(cells)
    pins = [csr_matrix(([1.0], ([0], [cell])), shape=(1, n)) for cell, _ in problems]
    equalities = hstack(
        [csr_matrix(((a.shape[0] + 1) * k, n)), block_diag([vstack([a, pin]) for pin in pins])]
    )
    rhs = np.concatenate([np.r_[np.zeros(a.shape[0]), shift] for _, shift in problems])
    eye = diags(np.ones(n))
    links = hstack(
        [
            vstack([vstack([-big * eye, -diags(cells.values)])] * k),
            block_diag([vstack([eye, -eye])] * k),
        ]
    )
    constraints = [
        LinearConstraint(equalities.tocsr(), rhs, rhs),
        LinearConstraint(links.tocsr(), -np.inf, 0.0),
    ]
    res = milp(
        np.concatenate([_cost(cells), np.zeros(n * k)]),
        integrality=np.concatenate([np.ones(n), np.zeros(n * k)]),
        bounds=Bounds(
            np.concatenate([primary.sensitive.astype(float), np.full(n * k, -big)]),
            np.concatenate([np.ones(n), np.full(n * k, big)]),
        ),
        constraints=constraints,
        options={"time_limit": _TIME_LIMIT},
    )
    if res.x is None:
        raise DisclosureCheckFailed(
            f"the suppression MILP found no solution ({res.message}); use the heuristic"
        )
    return np.asarray(res.x[:n] > 0.5), bool(res.status == 0)  # noqa: PLR2004


def secondary_suppression(
    cells: TableCells,
    primary: PrimarySuppression,
    method: SecondaryMethod = SecondaryMethod.HEURISTIC,
) -> SecondarySuppression:
    """Choose secondary cells so that the attacker LP cannot narrow any sensitive cell too far.

    Args:
        cells: the table with its equations.
        primary: the sensitive cells and their protection levels.
        method: heuristic (fast) or optimal (MILP; moderate tables).

    Returns:
        The cells to withhold.

    Raises:
        InvalidSpecError: the optimal method was asked for a table too large for it.
        DisclosureCheckFailed: no suppression pattern protects the sensitive cells.

    Example:
        >>> import pyarrow as pa
        >>> from ansim.disclosure import ThresholdRule, primary_suppression, tabulate
        >>> t = pa.table({"si": ["A"] * 5 + ["B"] * 1 + ["C"] * 6})
        >>> cells = tabulate(t, ["si"])
        >>> primary = primary_suppression(cells, [ThresholdRule(3)])
        >>> secondary_suppression(cells, primary).suppressed.tolist()
        [True, True, False, False]
    """
    proven = False
    if method is SecondaryMethod.OPTIMAL:
        suppressed, proven = _optimal(cells, primary)
    else:
        suppressed = _heuristic(cells, primary)
    cost = float(cells.values[suppressed & ~primary.sensitive].sum())
    return SecondarySuppression(
        suppressed=suppressed,
        primary=primary.sensitive.copy(),
        method=method,
        cost=cost,
        proven_optimal=proven,
    )
