"""Combining content parts into the hub's linked dataset."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import ibis
import pyarrow as pa

from ansim.engine import QueryEngine
from ansim.errors import HubError
from ansim.packages import Part

__all__ = ["LinkedDataset", "combine", "linked_table_name"]


def linked_table_name(dataset: str) -> str:
    """Name of a dataset's table in the hub store.

    Example:
        >>> linked_table_name("kostat_register")
        'linked_kostat_register'
    """
    return f"linked_{dataset}"


@dataclass(frozen=True)
class LinkedDataset:
    """The hub's linked dataset: one table per source, keyed by project person id.

    Attributes:
        tables: Rows per stored table.
        persons: Distinct persons across all tables.
    """

    tables: dict[str, int]
    persons: int


def combine(content_parts: Sequence[Part], linkmap: pa.Table, engine: QueryEngine) -> LinkedDataset:
    """Join each content part with the link map and store it as ``linked_<dataset>``.

    Every serial of a content part must be in the link map; otherwise the parts and the map
    belong to different runs and nothing is stored.

    Args:
        content_parts: Content parts received from custodians.
        linkmap: Columns ``serial``, ``dataset``, ``person_id``.
        engine: The hub's engine (its store).

    Returns:
        Row counts of the stored tables.

    Raises:
        HubError: Repeated datasets, or serials missing from the link map.
    """
    names = [p.dataset for p in content_parts]
    if len(set(names)) != len(names):
        raise HubError(f"each dataset may be combined once; got {names}")
    links = ibis.memtable(linkmap.select(["serial", "dataset", "person_id"]))
    plans = {}
    for part in content_parts:
        content = ibis.memtable(part.table)
        mine = links.filter(links.dataset == part.dataset).select("serial", "person_id")
        joined = content.left_join(mine, "serial")
        unmatched = engine.count(joined.filter(joined.person_id.isnull()))
        if unmatched:
            raise HubError(
                f"{unmatched} serials of {part.dataset!r} are not in the link map: "
                "the content part and the link map come from different runs"
            )
        columns = [c for c in part.table.column_names if c != "serial"]
        plans[part.dataset] = joined.select("person_id", *columns)
    tables = {}
    for dataset, plan in plans.items():
        stored = engine.create_table(linked_table_name(dataset), plan)
        tables[linked_table_name(dataset)] = engine.count(stored)
    union = ibis.union(*(engine.table(t).select("person_id") for t in tables), distinct=True)
    return LinkedDataset(tables, engine.count(union))
