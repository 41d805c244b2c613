"""Disclosure control on an engine: the same levels, suppression and anonymised records."""

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ansim.disclosure import (
    DistinctLDiversity,
    Hierarchy,
    KAnonymity,
    age_hierarchy,
    anonymise,
    anonymise_on,
    outliers_on,
)
from ansim.disclosure._encoded import encode
from ansim.disclosure._search import _lattice, evaluate
from ansim.engine import QueryEngine


def _records(n: int = 3000) -> tuple[pa.Table, dict[str, Hierarchy]]:
    rng = np.random.default_rng(11)
    ages = rng.integers(0, 100, n)
    regions = rng.choice([f"r{i}" for i in range(12)], n, p=np.linspace(1, 3, 12) / 24)
    sexes = rng.choice(["M", "F"], n)
    disease = rng.choice(["a", "b", "c", "d"], n)
    region_h = Hierarchy("region", tuple((f"r{i}", f"g{i // 4}", "*") for i in range(12)))
    sex_h = Hierarchy("sex", (("M", "*"), ("F", "*")))
    table = pa.table(
        {
            "row": np.arange(n),
            "age": [str(a) for a in ages],
            "region": regions,
            "sex": sexes,
            "disease": disease,
        }
    )
    return table, {"age": age_hierarchy("age"), "region": region_h, "sex": sex_h}


def test_node_evaluation_by_group_by_counts(engine: QueryEngine) -> None:
    table, hierarchies = _records(800)
    qis = ["age", "region", "sex"]
    stored = engine.create_table("sdc_nodes", table)
    encoded = encode(table, hierarchies, qis)
    nodes = _lattice(np.array(encoded.heights))
    # a spread of nodes (every node would be slow on Spark: a job per node)
    for levels in nodes[:: max(1, len(nodes) // 3)].tolist():
        expected = evaluate(encoded, levels, [KAnonymity(5)]).outliers
        assert outliers_on(engine, stored, hierarchies, qis, levels, k=5) == expected


def test_anonymised_records_are_identical(engine: QueryEngine) -> None:
    table, hierarchies = _records()
    qis = ["age", "region", "sex"]
    models = [KAnonymity(5), DistinctLDiversity(2)]
    expected = anonymise(
        table, hierarchies, qis, models, suppression_limit=0.02, sensitive="disease"
    )
    stored = engine.create_table("sdc_records", table)
    got, _ = anonymise_on(
        engine, stored, hierarchies, qis, models, suppression_limit=0.02,
        sensitive="disease", order_by="row",
    )  # fmt: skip
    assert got.levels == expected.levels
    assert got.suppressed == expected.suppressed > 0
    assert got.score == expected.score and got.loss == expected.loss
    for name in table.column_names:
        want = pc.cast(expected.table[name], got.table.schema.field(name).type)
        assert got.table[name].to_pylist() == want.to_pylist(), name
