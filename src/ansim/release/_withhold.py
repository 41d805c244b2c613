"""Secondary suppression against the project's ledger: withhold what the attacker LP refuses.

A table about to be submitted is a set of *groups* (a row of a table: its counts, published or
withheld together), each a few published counts with their members. :func:`withhold_exposing`
asks the project's ledger (:class:`~ansim.release.ProjectLedger`) which groups must be withheld
so that the table, together with everything the project has already released, lets no atom of
fewer than the threshold be bounded too tightly: the same audit the release will run, so a
table built this way passes it (unless another release comes first).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import pyarrow as pa

from ansim.release._ledger import AtomExposure, ReleasedCells
from ansim.release._path import ProjectLedger
from ansim.release._rates import ReleasedTable, cell_name

__all__ = ["vet_rate_table", "withhold_exposing"]

_CANDIDATE = "candidate"


def _published(
    groups: Mapping[str, Mapping[str, frozenset[str]]], withheld: set[str]
) -> dict[str, frozenset[str]]:
    return {
        name: members
        for group, cells in groups.items()
        if group not in withheld
        for name, members in cells.items()
    }


def _culprits(
    exposure: AtomExposure,
    groups: Mapping[str, Mapping[str, frozenset[str]]],
    withheld: set[str],
    repeated: set[str],
) -> set[str]:
    """The groups to withhold for one exposed atom: those holding it, else those naming it.

    Groups in ``repeated`` only publish counts the ledger already holds (the same member
    sets): they add no equation, so withholding them changes nothing and they are never
    culprits.
    """
    left = [g for g in groups if g not in withheld and g not in repeated]
    holding = {g for g in left if any(exposure.members & m for m in groups[g].values())}
    if holding:
        return holding
    named = {c.removeprefix(f"{_CANDIDATE}: ") for c in exposure.cells}
    by_cell = {g for g in left if named & set(groups[g])}
    return by_cell or set(left)  # nothing to pin it on: publish nothing of this table


def withhold_exposing(
    ledger: ProjectLedger,
    groups: Mapping[str, Mapping[str, frozenset[str]]],
    threshold: int,
    *,
    unit: str = "person",
) -> set[str]:
    """The groups to withhold so that the ledger's attacker LP accepts the rest.

    Args:
        ledger: The project's :class:`~ansim.release.ProjectLedger`.
        groups: Group name → its published counts (name → member ids).
        threshold: The table's threshold.
        unit: What the ids identify.

    Returns:
        The names of the groups to withhold (publish as ``x``).

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> from ansim.release import ProjectLedger
        >>> ledger = ProjectLedger(Path(tempfile.mkdtemp()))
        >>> ledger.record([ReleasedCells("r1", {"all": frozenset(map(str, range(40)))}, 10)])
        >>> groups = {"a": {"a": frozenset(map(str, range(38)))}, "b": {"b": frozenset("xyz")}}
        >>> sorted(withhold_exposing(ledger, groups, 10))
        ['a', 'b']
    """
    known = [e.members for e in ledger.audit([], bounds=False).exposed]
    held = {m for r in ledger.released() if r.unit == unit for m in r.cells.values()}
    repeated = {g for g, cells in groups.items() if all(m in held for m in cells.values())}
    withheld: set[str] = set()
    while len(withheld) < len(groups):
        cells = _published(groups, withheld)
        audit = ledger.audit([ReleasedCells(_CANDIDATE, cells, threshold, unit)], bounds=False)
        fresh = [e for e in audit.exposed if not any(e.members <= k for k in known)]
        if not fresh:
            break
        before = len(withheld)
        for exposure in fresh:
            withheld |= _culprits(exposure, groups, withheld, repeated)
        if len(withheld) == before:  # only repeated counts are left to blame (a higher
            withheld = set(groups)  # threshold than the ledger's): publish nothing
    return withheld


def vet_rate_table(released: ReleasedTable, ledger: ProjectLedger) -> ReleasedTable:
    """The rate table with the cells withheld that the project's ledger would refuse.

    Each cell (its population, cases and rate) is one group: published or ``x`` together.

    Args:
        released: The rate table (:func:`~ansim.release.rate_table`).
        ledger: The project's ledger.

    Returns:
        The table with those cells' counts and rate withheld and its summary updated.
    """
    groups: dict[str, dict[str, frozenset[str]]] = {}
    for name, ids in released.members.items():
        groups.setdefault(name.split(" ", 1)[1], {})[name] = ids
    threshold = int(released.summary["spec"]["threshold"])
    cells = withhold_exposing(ledger, groups, threshold)
    table = released.table.to_pylist()
    for row in table:
        if cell_name(row["sigungu_code"], row["age_band"], row["sex"]) in cells:
            row |= {"population": None, "cases": None, "rate_per_100k": None,
                    "status": "suppressed"}  # fmt: skip
    suppressed = sum(r["status"] != "published" for r in table)
    members = {k: v for k, v in released.members.items() if k.split(" ", 1)[1] not in cells}
    return replace(
        released, table=pa.Table.from_pylist(table, schema=released.table.schema),
        summary=released.summary | {"cells_suppressed": suppressed}, members=members,
    )  # fmt: skip
