"""Contribution bounding in the engine: what one person can add to a DP statistic.

All of it is Ibis, run by the engine (DuckDB or Spark, with the same rows kept) next to the
data:

1. **Groups per person**: each person's distinct groups are ranked by a hash (MD5, the
   same on every engine) of ``(person, group)`` (a different, data-independent order for
   every person, no seed to keep) and only the first ``max_groups`` are kept
   (``dense_rank`` over the person).
2. **Rows per person per group**: rows are numbered within ``(person, group)`` in the order
   of a hash of the row and only the first ``max_rows`` are kept (``row_number``).
3. **Value clipping**: values are clipped to ``[lower, upper]`` and rounded to whole
   multiples of ``step`` (the noise is added to integers).

A person therefore changes any group's count by at most ``max_rows`` and at most
``max_groups`` groups at all, whatever their data: the stated sensitivities hold by
construction. Which rows are kept depends only on that person's own rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
from ibis.expr.types import StringValue, Table, Value

from ansim.errors import InvalidSpecError
from ansim.privacy._spec import DerivedColumn, DPQuery, ReleaseSpec

__all__ = ["bound_contributions", "derive_keys", "value_units"]

_GROUP_RANK = "_ansim_group_rank"
_ROW_NUMBER = "_ansim_row_number"


def derive_keys(table: Table, spec: ReleaseSpec) -> Table:
    """Add the spec's derived key columns and cast every declared key column to string.

    Example:
        >>> import datetime as dt
        >>> from ansim.engine import Engine
        >>> from ansim.privacy._spec import parse_release_spec
        >>> spec = parse_release_spec({"name": "r", "rho": 1, "derive": {
        ...     "week": {"from": "day", "kind": "week"},
        ...     "band": {"from": "age", "kind": "band", "edges": [0, 18, 65]}},
        ...     "queries": [{"name": "n", "statistic": "count"}]})
        >>> with Engine() as e:
        ...     t = ibis.memtable({"day": [dt.date(2020, 1, 23)], "age": [70]})
        ...     e.to_pyarrow(derive_keys(t, spec).select("week", "band")).to_pylist()
        [{'week': '2020-01-20', 'band': '65+'}]
    """
    columns = set(table.columns)
    derived: dict[str, Value] = {}
    for d in spec.derive:
        if d.source not in columns:
            raise InvalidSpecError(f"derived column {d.name!r}: the data has no {d.source!r}")
        derived[d.name] = _derived(table[d.source], d)
    table = table.mutate(**derived) if derived else table
    casts = {c: table[c].cast("string") for c in spec.keys if c in table.columns}
    return table.mutate(**casts) if casts else table


def _derived(column: Value, d: DerivedColumn) -> Value:
    if d.kind == "week":
        return column.cast("date").truncate("W").strftime("%Y-%m-%d")
    if d.kind == "month":
        return column.cast("date").strftime("%Y-%m")
    labels = d.labels()
    branches = [(column >= d.edges[-1], labels[-1])]
    pairs = zip(d.edges[-2::-1], labels[-2::-1], strict=True)
    branches += [(column >= low, label) for low, label in pairs]
    return ibis.cases(*branches, else_=ibis.null("string"))


def bound_contributions(
    table: Table,
    person: str | None,
    by: Sequence[str],
    *,
    max_groups: int,
    max_rows: int,
) -> Table:
    """Keep at most ``max_groups`` groups per person and ``max_rows`` rows per person and group.

    Rows with a missing group key are dropped first (they belong to no group). With
    ``person=None`` every row is its own person and nothing more is dropped.

    Args:
        table: The rows.
        person: The column naming the privacy unit.
        by: The group-by columns.
        max_groups: Groups per person.
        max_rows: Rows per person per group.

    Returns:
        The bounded rows (same columns).

    Example:
        >>> from ansim.engine import Engine
        >>> with Engine() as e:
        ...     t = ibis.memtable({"pid": [1] * 1000 + [2], "g": ["a", "b"] * 500 + ["a"]})
        ...     b = bound_contributions(t, "pid", ["g"], max_groups=1, max_rows=3)
        ...     sorted(e.to_pyarrow(b.group_by("pid").agg(n=b.count())).to_pylist(),
        ...            key=lambda r: r["pid"])
        [{'pid': 1, 'n': 3}, {'pid': 2, 'n': 1}]
    """
    if by:
        table = table.filter(*[table[c].notnull() for c in by])
    if person is None:
        return table
    if person not in table.columns:
        raise InvalidSpecError(f"the data has no person column {person!r}")
    pid = table[person].cast("string")
    parts: list[Value] = [pid, *(table[c].cast("string") for c in by)]
    group_hash = _portable_hash(ibis.literal("|").join(parts))
    columns = list(table.columns)
    if by:
        rank = ibis.dense_rank().over(group_by=pid, order_by=[group_hash, *(table[c] for c in by)])
        table = table.mutate(**{_GROUP_RANK: rank})
        table = table.filter(table[_GROUP_RANK] < max_groups)
    cells = [table[c].cast("string").fill_null("") for c in columns]
    row_hash = _portable_hash(ibis.literal("|").join(cells))
    within = [table[person], *(table[c] for c in by)]
    number = ibis.row_number().over(group_by=within, order_by=row_hash)
    table = table.mutate(**{_ROW_NUMBER: number})
    return table.filter(table[_ROW_NUMBER] < max_rows).select(*columns)


def _portable_hash(text: StringValue) -> StringValue:
    """A hash every engine computes alike (MD5's hex digest; ``hash()`` is each engine's own).

    It only orders rows (no secrecy is asked of it): the same on DuckDB and Spark, so both
    keep the same rows and their bounded aggregates are identical (tests/conformance).
    """
    return text.hexdigest("md5")


def value_units(table: Table, query: DPQuery) -> Value:
    """The query's value clipped to its bounds, in whole units of ``step`` (an integer).

    Rows with a missing value are dropped by the caller before bounding (they contribute
    nothing to the statistic of that column).
    """
    if query.column is None or query.column not in table.columns:
        raise InvalidSpecError(f"query {query.name!r}: the data has no column {query.column!r}")
    low, high = query.units
    column = table[query.column]
    if column.type().is_integer() and query.step == 1:
        return column.cast("int64").clip(low, high)  # whole numbers: no float round trip
    units = (column.cast("float64") / query.step).round().cast("int64")
    return units.clip(low, high)
