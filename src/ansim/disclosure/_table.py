"""Tables with margins as cells plus additivity constraints.

A table is a list of cells (leaf cells and every margin: totals and, for dimensions with a
hierarchy, each inner node of it) and the linear equations that tie them: every aggregate
cell equals the sum of its children along one dimension. Linked tables are tables that share
cells; the equations of both then hold together.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from ansim.disclosure._hierarchy import Hierarchy
from ansim.errors import InvalidSpecError

__all__ = ["TOTAL", "Additivity", "TableCells", "link_tables", "tabulate"]

TOTAL = "Total"
"""Label of a dimension's grand total when it has no hierarchy."""

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Additivity:
    """One equation: cell ``total`` equals the sum of cells ``parts``."""

    total: int
    parts: tuple[int, ...]

    def __post_init__(self) -> None:
        """Check the equation is not degenerate."""
        if not self.parts:
            raise InvalidSpecError("an additivity equation needs at least one part")
        if self.total in self.parts:
            raise InvalidSpecError("a cell cannot be a part of its own total")


@dataclass(frozen=True, eq=False)
class TableCells:
    """A table's cells and additivity equations.

    Attributes:
        dimensions: the classifying variables.
        labels: per cell, its category in each dimension (``TOTAL`` or a hierarchy label).
        values: the cell values (counts or magnitudes), non-negative.
        contributors: per cell, how many records (or contributors) it holds.
        top: per cell, its largest contributions, descending (zero-padded), shape ``cells × 2+``.
        equations: the additivity equations.
        leaf: whether the cell is a leaf (no margin in any dimension).
        members: per cell, the ids of its contributors (the contributor column's values, or
            ``row <n>`` without one), for the release ledger; empty when not known.
    """

    dimensions: tuple[str, ...]
    labels: tuple[tuple[str, ...], ...]
    values: FloatArray
    contributors: npt.NDArray[np.int64]
    top: FloatArray
    equations: tuple[Additivity, ...]
    leaf: npt.NDArray[np.bool_]
    members: tuple[frozenset[str], ...] = ()

    def __post_init__(self) -> None:
        """Check shapes, non-negativity and that every equation holds."""
        n = len(self.labels)
        if not (len(self.values) == len(self.contributors) == len(self.top) == len(self.leaf) == n):
            raise InvalidSpecError("table: labels, values, contributors and top differ in length")
        if self.members and len(self.members) != n:
            raise InvalidSpecError("table: members differ in length from the cells")
        if n and float(self.values.min()) < 0:
            raise InvalidSpecError("table: cell values must be non-negative")
        for eq in self.equations:
            cells = (eq.total, *eq.parts)
            if min(cells) < 0 or max(cells) >= n:
                raise InvalidSpecError("table: an equation refers to a cell that does not exist")
            gap = self.values[eq.total] - self.values[list(eq.parts)].sum()
            if abs(gap) > 1e-6 * max(1.0, abs(float(self.values[eq.total]))):
                raise InvalidSpecError(
                    f"table: cell {eq.total} is not the sum of its parts; make the table additive"
                )

    @property
    def cells(self) -> int:
        """Number of cells."""
        return len(self.labels)

    def index(self) -> dict[tuple[str, ...], int]:
        """Cell position by its labels."""
        return {label: i for i, label in enumerate(self.labels)}


def _tree(
    values: Sequence[str], h: Hierarchy | None, dimension: str
) -> tuple[list[list[str]], dict[str, str]]:
    """Nodes of one dimension by depth (leaves first) and each node's parent."""
    leaves = sorted(set(values))
    if h is None:
        return [leaves, [TOTAL]], dict.fromkeys(leaves, TOTAL)
    for v in leaves:
        h.label(v, 0)  # a value missing from the hierarchy raises a clear error here
    rows = [h.rows[h.position(v) or 0] for v in leaves]
    parent: dict[str, str] = {}
    levels: list[list[str]] = [leaves]
    for level in range(1, h.height):
        nodes: set[str] = set()
        for row in rows:
            child, node = row[level - 1], row[level]
            if parent.setdefault(child, node) != node or child == node:
                raise InvalidSpecError(
                    f"dimension {dimension!r}: a label appears at two levels of its hierarchy "
                    "or has two parents; give each margin a distinct label"
                )
            nodes.add(node)
        levels.append(sorted(nodes))
    if len(levels[-1]) != 1:
        levels.append([TOTAL])
        parent.update(dict.fromkeys(levels[-2], TOTAL))
    flat = [n for level in levels for n in level]
    if len(set(flat)) != len(flat):
        raise InvalidSpecError(
            f"dimension {dimension!r}: a label appears at two levels of its hierarchy; "
            "give each margin a distinct label"
        )
    return levels, parent


def _amounts(table: pa.Table, value: str | None) -> FloatArray:
    if value is None:
        return np.ones(table.num_rows)
    try:
        amounts = pc.cast(table.column(value), pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
        raise InvalidSpecError(f"column {value!r} is not numeric") from e
    if np.isnan(amounts).any() or (amounts < 0).any():
        raise InvalidSpecError(f"column {value!r} has missing or negative values")
    return np.asarray(amounts, dtype=np.float64)


def _chains(leaves: Sequence[str], parent: Mapping[str, str]) -> dict[str, list[str]]:
    """Each leaf's path to the root: the cells of this dimension it contributes to."""
    chains: dict[str, list[str]] = {}
    for leaf in leaves:
        chain = [leaf]
        while chain[-1] in parent:
            chain.append(parent[chain[-1]])
        chains[leaf] = chain
    return chains


def _equations(
    parents: Sequence[Mapping[str, str]],
    labels: Sequence[tuple[str, ...]],
    position: Mapping[tuple[str, ...], int],
) -> list[Additivity]:
    """Along each dimension, every inner node equals the sum of its children."""
    equations: list[Additivity] = []
    for d, parent in enumerate(parents):
        children: dict[str, list[str]] = {}
        for child, par in parent.items():
            children.setdefault(par, []).append(child)
        for label in labels:
            if label[d] in children:
                parts = tuple(
                    position[(*label[:d], child, *label[d + 1 :])] for child in children[label[d]]
                )
                equations.append(Additivity(position[label], parts))
    return equations


def tabulate(
    table: pa.Table,
    dimensions: Sequence[str],
    *,
    value: str | None = None,
    hierarchies: Mapping[str, Hierarchy] | None = None,
    contributor: str | None = None,
) -> TableCells:
    """Tabulate records into a table with all its margins and additivity equations.

    Args:
        table: the records (dimension columns as text; ``value`` numeric or numeric text).
        dimensions: the classifying columns.
        value: the magnitude to sum; None counts records.
        hierarchies: per dimension, a hierarchy giving nested margins (its labels must be
            distinct across levels); without one a dimension gets a single ``Total``.
        contributor: a column identifying contributors (their values are summed per cell,
            margins included, before the threshold, dominance and p% rules count them or look
            at the largest ones); None means one per record.

    Returns:
        The cells and equations.

    Raises:
        InvalidSpecError: a column is missing, values are negative or not numeric, or a
            hierarchy's labels are ambiguous.

    Example:
        >>> t = pa.table({"sex": ["F", "M", "M"], "si": ["A", "A", "B"]})
        >>> cells = tabulate(t, ["sex", "si"])
        >>> cells.cells, float(cells.values[cells.index()[("Total", "Total")]])
        (9, 3.0)
    """
    hierarchies = hierarchies or {}
    if not dimensions:
        raise InvalidSpecError("a table needs at least one dimension")
    for name in [*dimensions, *(c for c in (value, contributor) if c)]:
        if name not in table.column_names:
            raise InvalidSpecError(f"column {name!r} is not in the input")
    keys = [[str(v) for v in table.column(d).to_pylist()] for d in dimensions]
    amounts = _amounts(table, value)
    owners: list[object] = (
        [str(v) for v in table.column(contributor).to_pylist()]
        if contributor
        else [f"row {i + 1}" for i in range(table.num_rows)]
    )
    trees = [_tree(k, hierarchies.get(d), d) for k, d in zip(keys, dimensions, strict=True)]
    ancestors = [_chains(levels[0], parent) for levels, parent in trees]
    # Aggregate per (leaf cell, contributor), then spread to every cell containing it.
    per_owner: dict[tuple[tuple[str, ...], object], float] = {}
    for i in range(table.num_rows):
        key = (tuple(k[i] for k in keys), owners[i])
        per_owner[key] = per_owner.get(key, 0.0) + float(amounts[i])
    nodes_per_dim = [[n for level in levels for n in level] for levels, _ in trees]
    labels = list(itertools.product(*nodes_per_dim))
    position = {label: i for i, label in enumerate(labels)}
    # Each contributor is totalled per cell, margins included, before the rules look at it: a
    # firm in three leaf cells is one contributor of their margin, holding its summed value.
    per_cell: list[dict[object, float]] = [{} for _ in labels]
    for (leaf, owner), amount in per_owner.items():
        for cell in itertools.product(*(a[v] for a, v in zip(ancestors, leaf, strict=True))):
            owned = per_cell[position[cell]]
            owned[owner] = owned.get(owner, 0.0) + amount
    contributions = [list(owned.values()) for owned in per_cell]
    values = np.array([sum(c) for c in contributions], dtype=np.float64)
    counts = np.array([len(c) for c in contributions], dtype=np.int64)
    top = np.zeros((len(labels), 2))
    for i, c in enumerate(contributions):
        best = sorted(c, reverse=True)[:2]
        top[i, : len(best)] = best
    equations = _equations([parent for _, parent in trees], labels, position)
    leaf_mask = np.array(
        [all(lab in a for lab, a in zip(label, ancestors, strict=True)) for label in labels]
    )
    return TableCells(
        dimensions=tuple(dimensions),
        labels=tuple(labels),
        values=values,
        contributors=counts,
        top=top,
        equations=tuple(equations),
        leaf=leaf_mask,
        members=tuple(frozenset(str(o) for o in owned) for owned in per_cell),
    )


def link_tables(*tables: TableCells) -> TableCells:
    """Join tables that share cells (same labels on their common dimensions, totals elsewhere).

    A cell is identified by its non-total labels: ``(si=A, sex=Total)`` of a si × sex table and
    ``(si=A, age=Total)`` of a si × age table are the same published number, so protecting the
    tables separately can leave a suppressed cell recoverable through the other table. The
    linked table holds every distinct cell once, all equations of all tables, and labels over
    the union of the dimensions (``TOTAL`` where a table lacks one).

    Raises:
        InvalidSpecError: no tables, or two tables disagree on a shared cell's value.

    Example:
        >>> import pyarrow as pa
        >>> t = pa.table({"si": ["A", "A", "B"], "sex": ["F", "M", "F"], "age": ["1", "2", "2"]})
        >>> linked = link_tables(tabulate(t, ["si", "sex"]), tabulate(t, ["si", "age"]))
        >>> linked.cells  # 9 + 9 cells, of which 3 (si=A, si=B, grand total) are shared
        15
    """
    if not tables:
        raise InvalidSpecError("link_tables needs at least one table")
    dimensions = tuple(dict.fromkeys(d for t in tables for d in t.dimensions))
    position: dict[frozenset[tuple[str, str]], int] = {}
    labels: list[tuple[str, ...]] = []
    values: list[float] = []
    contributors: list[int] = []
    top: list[FloatArray] = []
    leaf: list[bool] = []
    members: list[frozenset[str]] = []
    equations: list[Additivity] = []
    for t in tables:
        local: list[int] = []
        for i, label in enumerate(t.labels):
            named = dict(zip(t.dimensions, label, strict=True))
            key = frozenset((d, v) for d, v in named.items() if v != TOTAL)
            if key in position:
                j = position[key]
                if abs(values[j] - float(t.values[i])) > 1e-9 * max(1.0, abs(values[j])):
                    raise InvalidSpecError(
                        "linked tables disagree on a shared cell; tabulate them from the same data"
                    )
                leaf[j] = leaf[j] and bool(t.leaf[i])
            else:
                j = position[key] = len(labels)
                labels.append(tuple(named.get(d, TOTAL) for d in dimensions))
                values.append(float(t.values[i]))
                contributors.append(int(t.contributors[i]))
                top.append(t.top[i])
                leaf.append(bool(t.leaf[i]))
                members.append(t.members[i] if t.members else frozenset())
            local.append(j)
        equations += [
            Additivity(local[eq.total], tuple(local[p] for p in eq.parts)) for eq in t.equations
        ]
    return TableCells(
        dimensions=dimensions,
        labels=tuple(labels),
        values=np.array(values),
        contributors=np.array(contributors, dtype=np.int64),
        top=np.array(top).reshape(len(labels), -1),
        equations=tuple(dict.fromkeys(equations)),
        leaf=np.array(leaf),
        members=tuple(members) if all(t.members for t in tables) else (),
    )
