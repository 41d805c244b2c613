"""Linkage rates by subgroup, computed by the hub and reported back to the linkage unit.

The linkage unit sees no attributes, so it cannot tell whether linkage works worse for some
people (older, foreign-born, one si/gun). The hub can: a record of dataset A is *linked* when its
person also appears in dataset B. Only aggregates leave the hub, with small groups suppressed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import ibis
import pyarrow as pa

from ansim.engine import QueryEngine
from ansim.errors import HubError, InvalidSpecError
from ansim.hub._combine import linked_table_name

__all__ = ["linkage_rates"]


def _age_band(table: ibis.Table, reference: dt.date) -> ibis.Value:
    if "age" in table.columns:
        age = table.age
    elif "birth_date" in table.columns:
        age = (ibis.literal(reference).year() - table.birth_date.year()).cast("int64")
    else:
        raise HubError("an age band needs an 'age' or 'birth_date' column")
    low = ibis.ifelse(age >= 80, 80, (age // 10) * 10)  # noqa: PLR2004 -- top band 80+
    return ibis.ifelse(low >= 80, "80+", low.cast("string").concat("s"))  # noqa: PLR2004


def linkage_rates(
    engine: QueryEngine,
    dataset: str,
    other: str,
    by: Sequence[str] = ("age_band", "sex", "sigungu_code"),
    *,
    min_count: int = 10,
    reference: dt.date = dt.date(2021, 11, 1),
) -> pa.Table:
    """Share of ``dataset``'s records whose person is also in ``other``, by each subgroup column.

    Args:
        engine: The hub's store with the linked dataset.
        dataset: The dataset whose records are counted.
        other: The dataset a record must share its person with to count as linked.
        by: Columns of ``dataset`` to break the rate down by (``age_band`` is derived from
            ``age`` or ``birth_date``); each column gives its own one-way table.
        min_count: Groups with fewer records are reported without counts or rate.
        reference: Date at which ages are taken, for ``age_band`` from a birth date.

    Returns:
        Rows of ``column``, ``group``, ``records``, ``linked``, ``rate`` (null when suppressed).

    Raises:
        HubError: A dataset or column is missing.
        InvalidSpecError: ``min_count`` is below 1.
    """
    if min_count < 1:
        raise InvalidSpecError("min_count must be at least 1")
    stored = set(engine.list_tables())
    for name in (dataset, other):
        if linked_table_name(name) not in stored:
            raise HubError(f"the hub has no linked dataset {name!r}")
    records = engine.table(linked_table_name(dataset))
    present = engine.table(linked_table_name(other)).select("person_id").distinct()
    present = present.mutate(in_other=ibis.literal(1))
    joined = records.left_join(present, "person_id")
    joined = joined.mutate(linked=joined.in_other.fill_null(0))
    if "age_band" in by:
        joined = joined.mutate(age_band=_age_band(joined, reference))
    out: dict[str, list[object]] = {k: [] for k in ("column", "group", "records", "linked", "rate")}
    for column in by:
        if column not in joined.columns:
            raise HubError(f"{dataset!r} has no column {column!r} to break rates down by")
        grouped = joined.group_by(column).agg(records=joined.count(), linked=joined.linked.sum())
        for row in engine.to_pyarrow(grouped.order_by(column)).to_pylist():
            small = min(row["linked"], row["records"] - row["linked"]) < min_count
            out["column"].append(column)
            out["group"].append(None if row[column] is None else str(row[column]))
            out["records"].append(None if small else row["records"])
            out["linked"].append(None if small else row["linked"])
            out["rate"].append(None if small else round(row["linked"] / row["records"], 4))
    return pa.table(out)
