"""One engine pass per grouping: the fused aggregates are exactly the separate passes'."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansim.engine import Engine
from ansim.privacy import OneOffBudget, parse_release_spec, run_release
from ansim.privacy import _statistics as stats
from ansim.privacy._plan import plan_release
from ansim.privacy._release import derive_keys

REGIONS = ["41111", "41113", "41115"]


def _spec(person: str | None) -> object:
    return parse_release_spec({
        "name": "fused", "rho": 1.0, "person": person, "keys": {"region": "sigungu"},
        "queries": [
            {"name": "n", "statistic": "count", "by": ["region"]},
            {"name": "m", "statistic": "mean", "column": "income", "lower": 0, "upper": 100,
             "by": ["region"]},
            {"name": "s", "statistic": "sum", "column": "income", "lower": 10, "upper": 50,
             "by": ["region"]},
            {"name": "total", "statistic": "count"},
        ],
    })  # fmt: skip


def _rows(regions: list[int], incomes: list[int | None]) -> pa.Table:
    return pa.table({
        "person_id": np.arange(len(regions)),
        "region": pa.array([REGIONS[r] if r < len(REGIONS) else None for r in regions],
                           pa.string()),
        "income": pa.array(incomes, pa.int64()),
    })  # fmt: skip


def _sorted(found: pa.Table) -> list[dict[str, object]]:
    rows = found.to_pylist()
    return sorted(({k: (v or 0) for k, v in r.items()} for r in rows), key=str)


@settings(max_examples=25, deadline=None)
@given(
    data=st.lists(
        st.tuples(st.integers(0, 3), st.one_of(st.none(), st.integers(-50, 300))),
        min_size=1,
        max_size=60,
    )
)
def test_fused_pass_gives_each_query_what_its_own_pass_gives(
    data: list[tuple[int, int | None]],
) -> None:
    table = _rows([r for r, _ in data], [x for _, x in data])
    spec = _spec(None)
    plan = plan_release(spec)  # type: ignore[arg-type]
    with Engine() as engine:
        keyed = derive_keys(engine.create_table("rows", table), spec)  # type: ignore[arg-type]
        by_region = [p for p in plan.queries if p.query.by]
        fused = stats._fused(engine, keyed, ["region"], by_region)
        for planned in by_region:
            alone = engine.to_pyarrow(stats._aggregate(keyed, plan, planned))
            assert _sorted(fused[planned.query.name]) == _sorted(alone)


def test_rows_as_persons_release_takes_one_pass_per_grouping(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(2)
    table = _rows(list(rng.integers(0, 3, 500)), list(rng.integers(0, 100, 500)))
    with Engine() as engine:
        passes: list[object] = []
        real = engine.to_pyarrow

        def spy(expr: object) -> pa.Table:
            passes.append(expr)
            return real(expr)  # type: ignore[arg-type]

        monkeypatch.setattr(engine, "to_pyarrow", spy)
        release = run_release(
            _spec(None), OneOffBudget(1.0), engine,  # type: ignore[arg-type]
            lambda: engine.create_table("rows", table),
        )  # fmt: skip
        assert [t.name for t in release.tables] == ["n", "m", "s", "total"]
        assert len(passes) == 2  # by region (count, mean, sum fused), and the total
        passes.clear()
        bounded = run_release(
            _spec("person_id"), OneOffBudget(1.0), engine,  # type: ignore[arg-type]
            lambda: engine.create_table("rows2", table),
        )  # fmt: skip
        assert len(passes) == 4  # bounded per person: each query its own pass
    assert bounded.tables[1].table.num_rows == release.tables[1].table.num_rows == 31


@pytest.mark.parametrize("person", [None, "person_id"])
def test_a_value_that_is_not_a_number_is_missing_not_a_failed_release(person: str | None) -> None:
    """NaN and infinities in a float column are left out, exactly as empty cells are."""
    rng = np.random.default_rng(5)
    regions = list(rng.integers(0, 3, 300))
    incomes = [float(x) for x in rng.integers(0, 100, 300)]
    odd = [*incomes[:-3], float("nan"), float("inf"), float("-inf")]
    empty = [*incomes[:-3], None, None, None]
    spec = _spec(person)
    plan = plan_release(spec)  # type: ignore[arg-type]
    found = {}
    for name, values in (("odd", odd), ("empty", empty)):
        table = _rows(regions, [0] * 300).set_column(2, "income", pa.array(values, pa.float64()))
        with Engine() as engine:
            keyed = derive_keys(engine.create_table("rows", table), spec)  # type: ignore[arg-type]
            found[name] = [
                _sorted(engine.to_pyarrow(stats._aggregate(keyed, plan, p))) for p in plan.queries
            ]
            release = run_release(
                spec, OneOffBudget(1.0), engine,  # type: ignore[arg-type]
                lambda t=table, e=engine: e.create_table("rows2", t),
            )  # fmt: skip
            assert [t.name for t in release.tables] == ["n", "m", "s", "total"]
    assert found["odd"] == found["empty"]
