"""Differencing across releases: does a new table, set against earlier ones, expose a small group?

Each table output keeps, inside the hub, the set of person ids behind each cell. A new table is
compared with every released one (and each table also contributes its whole population, the
sum of its cells):

- **nested**: one cell's group contains another's (shifted age bands, a table minus one
  category, a narrower filter): their difference is a group of its own, published by
  subtraction; it must be empty or reach the threshold;
- **overlapping**: two groups overlap and a third released group is exactly their union (two
  overlapping filters and the total): the overlap is ``a + b − union``; same rule.

The comparison is exact on the record sets, so it finds what subtracting published numbers can
find, whatever the labels or filters were called.
"""

from __future__ import annotations

from collections.abc import Mapping

from ansim.workspace._checks import CheckResult

__all__ = ["TOTAL_CELL", "differencing_check"]

TOTAL_CELL = "(table total)"

Sets = Mapping[str, frozenset[str]]


def _with_total(cells: Sets) -> dict[str, frozenset[str]]:
    if len(cells) < 2:  # noqa: PLR2004 - a one-cell table is its own total
        return dict(cells)
    return {**cells, TOTAL_CELL: frozenset().union(*cells.values())}


def _small(size: int, threshold: int) -> bool:
    return 0 < size < threshold


def differencing_check(new: Sets, released: Mapping[str, Sets], threshold: int) -> CheckResult:
    """Compare a new table's cells with released tables' cells.

    Args:
        new: Cell name → person ids of the new table.
        released: Released output id → its cells' person ids.
        threshold: Minimum size of any group that differencing can isolate.

    Returns:
        The ``differencing`` result; each failing entry names the new cell, the released table
        and cell that expose it, and how (``minus`` or ``overlap``).

    Example:
        >>> old = {"out-0001": {"age=20-29": frozenset(map(str, range(40)))}}
        >>> new = {"age=20-30": frozenset(map(str, range(42)))}
        >>> differencing_check(new, old, 10).failing
        ('age=20-30 minus out-0001 age=20-29',)
    """
    mine = _with_total(new)
    earlier = {(o, c): s for o, cells in released.items() for c, s in _with_total(cells).items()}
    by_set: dict[frozenset[str], str] = {s: f"this table {c}" for c, s in mine.items()}
    by_set.update({s: f"{o} {c}" for (o, c), s in earlier.items()})  # name released ones
    failing: list[str] = []
    for cell, group in mine.items():
        for (other, other_cell), theirs in earlier.items():
            if group == theirs or not group or not theirs:
                continue
            where = f"{other} {other_cell}"
            if group < theirs or theirs < group:
                if _small(abs(len(theirs) - len(group)), threshold):
                    failing.append(f"{cell} minus {where}")
                continue
            overlap = len(group & theirs)
            if overlap and _small(overlap, threshold) and (group | theirs) in by_set:
                failing.append(f"{cell} overlap {where} (union: {by_set[group | theirs]})")
    names = list(new)
    for i, cell in enumerate(names):  # two of this table's own cells against a released union
        for other_cell in names[i + 1 :]:
            a, b = new[cell], new[other_cell]
            overlap = len(a & b)
            if overlap and _small(overlap, threshold) and (a | b) in by_set:
                failing.append(f"{cell} overlap this table {other_cell} (union: {by_set[a | b]})")
    detail = (
        f"no group of 1 to {threshold - 1} people is isolated by subtracting this table's cells "
        "from (or overlapping them with) released tables"
    )
    return CheckResult("differencing", not failing, tuple(dict.fromkeys(failing)), detail)
