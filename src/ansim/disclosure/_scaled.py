"""Microdata anonymisation with the records on a query engine (DuckDB or Spark).

The records never come to the driver: the engine reduces them to their distinct
quasi-identifier combinations with counts (one group-by; 10 million records with 6 QIs make
about 25 thousand), the lattice search runs on those counts exactly as in memory (so the
levels, scores and suppressed combinations are the same), and the engine writes the
generalised records by joining them to the small table of combination → labels. A node can
also be evaluated on the engine by group-by counts (:func:`outliers_on`): the k-anonymity
check of the search, for checking one node on data of any size.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import replace

import ibis
import numpy as np
import pyarrow as pa
from ibis.expr.types import Table

from ansim.disclosure._encoded import Encoded, encode
from ansim.disclosure._hierarchy import Hierarchy
from ansim.disclosure._metrics import QualityModel
from ansim.disclosure._microdata import (
    SUPPRESSED,
    Anonymisation,
    _in_hierarchy,
    anonymisation_result,
    check_models,
)
from ansim.disclosure._models import PrivacyModel
from ansim.disclosure._search import optimal_search
from ansim.engine import QueryEngine
from ansim.errors import InvalidSpecError

__all__ = ["anonymise_on", "encode_on", "outliers_on"]

_COUNT = "ansim_records"


def _grouped(records: Table, columns: Sequence[str]) -> Table:
    missing = [c for c in columns if c not in records.columns]
    if missing:
        raise InvalidSpecError(
            f"column {missing[0]!r} is not in the input (columns: {', '.join(records.columns)})"
        )
    return records.group_by(list(columns)).aggregate(**{_COUNT: records.count()})


def encode_on(
    engine: QueryEngine,
    records: Table,
    hierarchies: Mapping[str, Hierarchy],
    attributes: Sequence[str],
    sensitive: str | None = None,
) -> tuple[Encoded, pa.Table]:
    """Encode for the search from the engine's group-by counts of the distinct combinations.

    Args:
        engine: The engine holding ``records``.
        records: The records (QI columns as text).
        hierarchies: One hierarchy per quasi-identifier.
        attributes: The quasi-identifiers, in lattice order.
        sensitive: The sensitive attribute, when a model needs one.

    Returns:
        The encoding (the same tuples and counts as :func:`encode` of all records; its
        ``inverse`` maps the distinct rows returned) and those distinct rows.
    """
    columns = [*attributes, *([sensitive] if sensitive else [])]
    distinct = engine.to_pyarrow(_grouped(records, columns))
    if distinct.num_rows == 0:
        raise InvalidSpecError("the input has no records")
    encoded = encode(distinct, hierarchies, attributes, sensitive)
    weights = distinct[_COUNT].to_numpy(zero_copy_only=False).astype(np.int64)
    counts = np.bincount(encoded.inverse, weights=weights, minlength=len(encoded.counts))
    return replace(encoded, counts=counts.astype(np.int64), cache={}), distinct


def outliers_on(
    engine: QueryEngine,
    records: Table,
    hierarchies: Mapping[str, Hierarchy],
    attributes: Sequence[str],
    levels: Sequence[int],
    *,
    k: int,
) -> int:
    """Records in classes smaller than ``k`` when generalised to ``levels`` (by group-by).

    Example:
        >>> from ansim.engine import Engine
        >>> h = Hierarchy("age", (("31", "30-39"), ("32", "30-39"), ("41", "40-49")))
        >>> with Engine() as engine:
        ...     t = engine.create_table("t", pa.table({"age": ["31", "32", "41", "41"]}))
        ...     [outliers_on(engine, t, {"age": h}, ["age"], [level], k=2) for level in (0, 1)]
        [2, 0]
    """
    generalised = records
    labels = []
    for attribute, level in zip(attributes, levels, strict=True):
        h = hierarchies[attribute]
        mapping = ibis.memtable(
            pa.table(
                {
                    f"{attribute}__value": [row[0] for row in h.rows],
                    f"{attribute}__label": [row[level] for row in h.rows],
                }
            )
        )
        generalised = generalised.join(
            mapping, generalised[attribute] == mapping[f"{attribute}__value"]
        )
        labels.append(f"{attribute}__label")
    classes = generalised.group_by(labels).aggregate(size=generalised.count())
    small = classes.filter(classes.size < k)
    total = engine.to_pyarrow(small.aggregate(n=small.size.sum()))["n"][0].as_py()
    return int(total or 0)


def anonymise_on(
    engine: QueryEngine,
    records: Table,
    hierarchies: Mapping[str, Hierarchy],
    quasi_identifiers: Sequence[str],
    models: Sequence[PrivacyModel],
    *,
    suppression_limit: float = 0.0,
    quality: QualityModel = QualityModel.LOSS,
    sensitive: str | None = None,
    order_by: str | None = None,
) -> tuple[Anonymisation, Table]:
    """:func:`ansim.disclosure.anonymise` with the records on an engine.

    Args:
        engine: The engine holding ``records``.
        records: The records, QI columns as text matching the hierarchies' level-0 values.
        hierarchies: One hierarchy per quasi-identifier.
        quasi_identifiers: The QIs, in lattice order.
        models: Privacy models every class must satisfy.
        suppression_limit: Fraction of records that may be suppressed.
        quality: The quality model to minimise.
        sensitive: The sensitive attribute (l-diversity, t-closeness).
        order_by: A column giving the records' order (the output keeps it).

    Returns:
        The result (its ``table`` collected from the engine, columns as text) and the
        anonymised records as an expression on the engine (to write where they are).

    Example:
        >>> from ansim.disclosure import KAnonymity
        >>> from ansim.engine import Engine
        >>> h = Hierarchy("age", (("31", "30-39", "*"), ("32", "30-39", "*"),
        ...                       ("33", "30-39", "*"), ("41", "40-49", "*")))
        >>> rows = pa.table({"row": [0, 1, 2, 3], "age": ["31", "32", "33", "41"]})
        >>> with Engine() as engine:
        ...     t = engine.create_table("t", rows)
        ...     r, _ = anonymise_on(engine, t, {"age": h}, ["age"], [KAnonymity(2)],
        ...                         suppression_limit=0.25, order_by="row")
        >>> r.levels, r.suppressed, r.table.column("age").to_pylist()
        ({'age': 1}, 1, ['30-39', '30-39', '30-39', '*'])
    """
    started = time.perf_counter()
    check_models(models, sensitive)
    encoded, distinct = encode_on(engine, records, hierarchies, quasi_identifiers, sensitive)
    found = optimal_search(encoded, models, suppression_limit, quality)
    suppressed_rows = found.outlier_tuples[encoded.inverse]
    keys = [*quasi_identifiers, *([sensitive] if sensitive else [])]
    mapping: dict[str, pa.Array] = {f"{c}__key": distinct[c] for c in keys}
    for name, level in zip(quasi_identifiers, found.levels, strict=True):
        h = hierarchies[name]
        values = distinct[name].to_pylist()
        mapping[f"{name}__out"] = pa.array(
            [SUPPRESSED if gone else h.label(_in_hierarchy(h, str(v)), level)
             for v, gone in zip(values, suppressed_rows.tolist(), strict=True)],
            pa.string(),
        )  # fmt: skip
    labels = ibis.memtable(pa.table(mapping))
    joined = records.join(labels, [records[c] == labels[f"{c}__key"] for c in keys])
    out = joined.select(
        **{
            c: (labels[f"{c}__out"] if c in quasi_identifiers else records[c])
            for c in records.columns
        }
    )
    collected = engine.to_pyarrow(out.order_by(order_by) if order_by else out)
    result = anonymisation_result(
        collected, encoded, found, quasi_identifiers, models, quality=quality,
        suppression_limit=suppression_limit, started=started, extra={"engine": engine.kind},
    )  # fmt: skip
    return result, out
