"""Primary suppression rules and the protection each sensitive cell needs.

Each rule marks sensitive cells and gives their upper and lower protection levels: how far
above and below its true value the attacker's feasible interval must reach for the cell to
count as protected (τ-ARGUS's UPL and LPL).

- Threshold ``n``: a cell with ``0 < contributors < n`` is sensitive. Its interval must reach
  up to ``n`` contributors' worth (``UPL = n − v`` for counts) and down by as much, never below 0.
- (n,k) dominance: the ``n`` largest contributions exceed ``k`` % of the cell. ``UPL = LPL =
  (100/k) · top_n − T``: how much the total must change before the rule no longer holds.
- p %: ``T − x1 − x2 < (p/100) · x1`` (the second largest contributor could estimate the
  largest within p %). ``UPL = LPL = (p/100) · x1 − (T − x1 − x2)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ansim.disclosure._table import TableCells
from ansim.errors import InvalidSpecError

__all__ = [
    "DominanceRule",
    "PPercentRule",
    "PrimarySuppression",
    "SuppressionRule",
    "ThresholdRule",
    "primary_rules",
    "primary_suppression",
]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class ThresholdRule:
    """Cells with fewer than ``n`` contributors (and at least one) are sensitive."""

    n: int

    def __post_init__(self) -> None:
        """Check n."""
        if self.n < 1:
            raise InvalidSpecError(f"threshold must be at least 1, not {self.n}")

    def protection(self, cells: TableCells) -> tuple[npt.NDArray[np.bool_], FloatArray]:
        """Sensitive cells and their protection level."""
        counts = cells.contributors
        sensitive = (counts > 0) & (counts < self.n)
        per_contributor = np.where(counts > 0, cells.values / np.maximum(counts, 1), 0.0)
        level = (self.n - counts) * per_contributor
        return sensitive, np.where(sensitive, level, 0.0)


@dataclass(frozen=True)
class DominanceRule:
    """(n,k) dominance: the ``n`` largest contributions exceed ``k`` % of the cell total."""

    n: int
    k: float

    def __post_init__(self) -> None:
        """Check n and k."""
        if self.n not in (1, 2):
            raise InvalidSpecError(f"dominance n must be 1 or 2, not {self.n}")
        if not 0 < self.k < 100:  # noqa: PLR2004 - a percentage
            raise InvalidSpecError(f"dominance k must be a percentage in (0, 100), not {self.k}")

    def protection(self, cells: TableCells) -> tuple[npt.NDArray[np.bool_], FloatArray]:
        """Sensitive cells and their protection level."""
        top = cells.top[:, : self.n].sum(axis=1)
        sensitive = (cells.values > 0) & (top > self.k / 100 * cells.values)
        level = 100 / self.k * top - cells.values
        return sensitive, np.where(sensitive, level, 0.0)


@dataclass(frozen=True)
class PPercentRule:
    """p %: the second largest contributor can estimate the largest within ``p`` %."""

    p: float

    def __post_init__(self) -> None:
        """Check p."""
        if not self.p > 0:
            raise InvalidSpecError(f"p must be a positive percentage, not {self.p}")

    def protection(self, cells: TableCells) -> tuple[npt.NDArray[np.bool_], FloatArray]:
        """Sensitive cells and their protection level."""
        x1, x2 = cells.top[:, 0], cells.top[:, 1]
        remainder = cells.values - x1 - x2
        level = self.p / 100 * x1 - remainder
        sensitive = (cells.values > 0) & (level > 0)
        return sensitive, np.where(sensitive, level, 0.0)


SuppressionRule = ThresholdRule | DominanceRule | PPercentRule


@dataclass(frozen=True, eq=False)
class PrimarySuppression:
    """Sensitive cells and the protection each needs.

    Attributes:
        sensitive: per cell, whether a rule marks it.
        upper: upper protection level (how far above its value the interval must reach).
        lower: lower protection level (how far below; at most the value itself).
    """

    sensitive: npt.NDArray[np.bool_]
    upper: FloatArray
    lower: FloatArray


def primary_rules(
    threshold: int | None, dominance: tuple[int, float] | None, p_percent: float | None
) -> list[SuppressionRule]:
    """The primary suppression rules a protected table names (locally or on the server).

    Example:
        >>> [type(r).__name__ for r in primary_rules(10, (1, 80.0), None)]
        ['ThresholdRule', 'DominanceRule']
    """
    rules: list[SuppressionRule] = []
    if threshold:
        rules.append(ThresholdRule(threshold))
    if dominance is not None:
        rules.append(DominanceRule(*dominance))
    if p_percent is not None:
        rules.append(PPercentRule(p_percent))
    return rules


def primary_suppression(cells: TableCells, rules: Sequence[SuppressionRule]) -> PrimarySuppression:
    """Apply the rules: a cell is sensitive when any rule says so; it needs the largest level.

    Example:
        >>> import pyarrow as pa
        >>> from ansim.disclosure import tabulate
        >>> t = pa.table({"si": ["A", "A", "A", "B"]})
        >>> primary_suppression(tabulate(t, ["si"]), [ThresholdRule(3)]).sensitive.tolist()
        [False, True, False]
    """
    if not rules:
        raise InvalidSpecError("no primary suppression rule given")
    sensitive = np.zeros(cells.cells, dtype=bool)
    level = np.zeros(cells.cells)
    for rule in rules:
        marks, needed = rule.protection(cells)
        sensitive |= marks
        level = np.maximum(level, needed)
    return PrimarySuppression(
        sensitive=sensitive, upper=level.copy(), lower=np.minimum(level, cells.values)
    )
