"""DP aggregates on an engine: the exact parts (bounded counts and sums before noise) agree.

``measure_query`` bounds each person's contribution (groups per person, rows per person and
group, clipped values) and aggregates on the engine; OpenDP then adds the noise. Everything
before the noise is exact, so it must be the same on every engine, row for row.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis
import numpy as np
import pyarrow as pa
import pytest

from ansim.engine import Engine, QueryEngine
from ansim.privacy import _statistics as statistics
from ansim.privacy import derive_keys, parse_release_spec, plan_release

SPEC: dict[str, object] = {
    "name": "conformance",
    "rho": 2.0,
    "person": "person_id",
    "keys": {
        "region": ["41110", "41130", "41150", "41170"],
        "band": ["0-17", "18-39", "40-64", "65+"],
        "week": [str(dt.date(2024, 1, 1) + dt.timedelta(weeks=w)) for w in range(9)],
    },
    "derive": {
        "band": {"from": "age", "kind": "band", "edges": [0, 18, 40, 65]},
        "week": {"from": "day", "kind": "week"},
    },
    "queries": [
        {"name": "n", "statistic": "count", "by": ["region", "band"], "max_groups": 2,
         "max_rows": 2},
        {"name": "s", "statistic": "sum", "column": "income", "lower": 0, "upper": 600,
         "by": ["region"], "max_groups": 1, "max_rows": 3},
        {"name": "m", "statistic": "mean", "column": "income", "lower": 0, "upper": 800,
         "by": ["region"], "max_groups": 2, "max_rows": 1},
        {"name": "q", "statistic": "quantile", "column": "income", "lower": 0, "upper": 1000,
         "bins": 20, "max_rows": 2},
        {"name": "w", "statistic": "count", "by": ["week"], "max_groups": 1, "max_rows": 1},
    ],
}  # fmt: skip


def _rows(n: int = 3000, seed: int = 11) -> pa.Table:
    """Rows of people with several rows each (so bounding has something to drop)."""
    rng = np.random.default_rng(seed)
    person = rng.integers(0, n // 6, n)
    day = dt.date(2024, 1, 1)
    income = rng.uniform(-50, 1200, n).round()
    return pa.table({
        "person_id": person,
        "region": rng.choice(["41110", "41130", "41150", "41170", "11110"], n),
        "age": rng.integers(0, 95, n),
        "day": [day + dt.timedelta(days=int(d)) for d in rng.integers(0, 60, n)],
        "income": pa.array(income, mask=rng.random(n) < 0.05),
    })  # fmt: skip


def _exact_parts(engine: QueryEngine, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Each query's cells, bounded counts and clipped sums as the engine computed them."""
    spec = parse_release_spec(SPEC)
    plan = plan_release(spec)
    seen: dict[str, Any] = {}

    def capture(plan: Any, planned: Any, *, cells: Any, n: Any, s: Any, selected: Any) -> Any:
        seen[planned.query.name] = (list(cells), n.tolist(), s.tolist(), selected is None)
        return None

    monkeypatch.setattr(statistics, "_estimate", capture)
    table = engine.create_table("ansim_dp_rows", _rows())
    keyed = derive_keys(table, spec)
    for planned in plan.queries:
        statistics.measure_query(engine, keyed, plan, planned)  # type: ignore[arg-type]
    engine.drop_table("ansim_dp_rows")
    return seen


def test_bounded_aggregates_are_identical(
    engine: QueryEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    got = _exact_parts(engine, monkeypatch)
    with Engine() as duckdb_engine:
        expected = _exact_parts(duckdb_engine, monkeypatch)
    assert got == expected
    # bounding did drop rows: the count of each region/band cell is below the raw count
    rows = _rows()
    raw = len(rows)
    assert sum(map(sum, got["q"][1])) < raw
    assert sum(c[0] for c in got["n"][1]) < raw
    assert all(complete for *_, complete in got.values())


def test_bounding_keeps_a_persons_rows_whatever_the_others(engine: QueryEngine) -> None:
    """Which of a person's rows are kept depends on their rows only (the engines agree too)."""
    from ansim.privacy import bound_contributions  # noqa: PLC0415 - the function under test

    rows = _rows(600, seed=5)
    alone = rows.filter(pa.compute.equal(rows["person_id"], 7))
    kept = []
    for data in (rows, alone):
        t = engine.create_table("ansim_dp_one", data)
        b = bound_contributions(t, "person_id", ["region"], max_groups=2, max_rows=2)
        b = b.filter(b.person_id == 7).order_by(["region", "age", "day"])
        kept.append(engine.to_pyarrow(b.select("region", "age", "day")).to_pylist())
        engine.drop_table("ansim_dp_one")
    assert kept[0] == kept[1]
    assert 0 < len(kept[0]) <= 4
    with Engine() as duckdb_engine:
        t = ibis.memtable(alone)
        b = bound_contributions(t, "person_id", ["region"], max_groups=2, max_rows=2)
        rows_duckdb = duckdb_engine.to_pyarrow(b.order_by(["region", "age", "day"]))
    assert rows_duckdb.select(["region", "age", "day"]).to_pylist() == kept[0]
