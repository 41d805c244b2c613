"""DP statistics end to end: public keys filled, bounding, budgets paid before any data is read."""

from __future__ import annotations

import json
from pathlib import Path

import ibis
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from ansim.engine import Engine
from ansim.errors import BudgetExhaustedError, InvalidSpecError
from ansim.governance import PrivacyLedger
from ansim.privacy import (
    Mechanism,
    OneOffBudget,
    parse_release_spec,
    plan_release,
    release_dp,
    release_file,
    run_release,
)
from tests.unit.governance.conftest import PROJECT, populated

UNIT = "a person of the linked project (all their rows)"


def _people(n: int, seed: int = 3) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table({
        "person_id": np.arange(n),
        "region": rng.choice(["41110", "41130", "41150"], n),
        "income": rng.uniform(0, 1000, n).round(),
    })  # fmt: skip


def _spec(rho: float = 1.0, **extra: object) -> dict[str, object]:
    return {
        "name": "t", "rho": rho, "keys": {"region": ["41110", "41130", "41150", "41170"]},
        "queries": [
            {"name": "n", "statistic": "count", "by": ["region"]},
            {"name": "m", "statistic": "mean", "column": "income", "lower": 0, "upper": 1000,
             "by": ["region"]},
            {"name": "med", "statistic": "quantile", "column": "income", "lower": 0,
             "upper": 1000, "bins": 50},
            {"name": "s", "statistic": "sum", "column": "income", "lower": 0, "upper": 1000},
        ],
        **extra,
    }  # fmt: skip


def test_public_keys_are_all_released_absent_cells_as_zero_noise(tmp_path: Path) -> None:
    data = _people(3000)
    spec = parse_release_spec(_spec(rho=4.0))
    with Engine() as engine:
        release = run_release(spec, OneOffBudget(4.0), engine, lambda: ibis.memtable(data))
    counts = release.tables[0].table
    assert counts.column_names == ["region", "estimate", "ci_low", "ci_high"]
    assert counts["region"].to_pylist() == ["41110", "41130", "41150", "41170"]
    truth = {r: int(np.sum(np.asarray(data["region"]) == r)) for r in ("41110", "41130", "41150")}
    rows = counts.to_pylist()
    for row in rows[:3]:  # at rho 1 per query the discrete Gaussian sigma is 0.7
        assert abs(row["estimate"] - truth[row["region"]]) <= 5
        assert row["ci_low"] < row["estimate"] < row["ci_high"]
    assert abs(rows[3]["estimate"]) <= 5  # 41170 has nobody: a noisy zero, not a missing row
    mean = release.tables[1].table.to_pylist()
    assert all(0 <= r["ci_low"] <= r["estimate"] <= r["ci_high"] <= 1000 for r in mean[:3])
    assert abs(mean[0]["estimate"] - 500) < 40
    median = release.tables[2].table.to_pylist()[0]
    assert median["ci_low"] <= median["estimate"] <= median["ci_high"]
    assert abs(median["estimate"] - 500) < 60
    assert release.receipt["rho_spent"] == pytest.approx(4.0)


def test_bounding_limits_one_persons_rows() -> None:
    """A person with 1,000 rows counts max_rows times, not 1,000."""
    rows = pa.table({"person_id": [7] * 1000 + list(range(100)), "region": ["41110"] * 1100})
    query = {"name": "n", "statistic": "count", "by": ["region"]}
    spec = parse_release_spec({**_spec(rho=50.0), "max_rows": 2, "queries": [query]})
    with Engine() as engine:
        release = run_release(spec, OneOffBudget(50.0), engine, lambda: ibis.memtable(rows))
    estimate = release.tables[0].table.to_pylist()[0]["estimate"]
    assert abs(estimate - 102) <= 2  # 100 people once, person 7 twice (sigma 0.2)


def test_exhausted_one_off_budget_reads_nothing() -> None:
    opened: list[bool] = []

    def source() -> ibis.Table:
        opened.append(True)
        return ibis.memtable(_people(10))

    spec = parse_release_spec(_spec(rho=1.0))
    with Engine() as engine, pytest.raises(BudgetExhaustedError):
        run_release(spec, OneOffBudget(0.5), engine, source)
    assert opened == []


def test_ledger_pays_before_reading_and_refuses_when_exhausted(
    tmp_path: Path, store_url: str
) -> None:
    gov = populated(tmp_path / "home", store_url)
    PrivacyLedger(gov).set_budget("admin", PROJECT, 1.5, privacy_unit=UNIT)
    spec = parse_release_spec(_spec(rho=1.0))
    opened: list[bool] = []

    def source() -> ibis.Table:
        opened.append(True)
        return ibis.memtable(_people(500))

    with Engine() as engine:
        release = release_dp(gov, "analyst", PROJECT, spec, engine=engine, table=source,
                             out_dir=tmp_path / "out")  # fmt: skip
        assert opened == [True]
        spends = PrivacyLedger(gov).spends(PROJECT)
        assert [s.id for s in spends] == [release.receipt["spend"]]
        assert spends[0].rho == pytest.approx(1.0, rel=1e-6)
        with pytest.raises(BudgetExhaustedError):
            release_dp(gov, "analyst", PROJECT, spec, engine=engine, table=source)
    assert opened == [True]  # the refused release never opened the data
    meta = json.loads((tmp_path / "out" / "n.json").read_text())
    assert meta["privacy_unit"] == UNIT
    assert {"rho", "epsilon", "delta", "mechanism"} <= set(meta)
    assert meta["paid_by"]["spend"] == release.receipt["spend"]
    gov.close()


def test_unknown_keys_go_through_partition_selection() -> None:
    rng = np.random.default_rng(5)
    n = 4000
    kinds = np.concatenate([rng.choice(["a", "b"], n), ["rare"]])  # one person alone in 'rare'
    rows = pa.table({"person_id": np.arange(n + 1), "kind": kinds})
    spec = parse_release_spec({
        "name": "u", "rho": 0.5, "selection_delta": 1e-7,
        "queries": [{"name": "k", "statistic": "count", "by": ["kind"]}],
    })  # fmt: skip
    with Engine() as engine:
        release = run_release(spec, OneOffBudget(0.5), engine, lambda: ibis.memtable(rows))
    assert release.tables[0].table["kind"].to_pylist() == ["a", "b"]
    assert release.plan.delta <= 1e-7
    assert release.tables[0].metadata["keys"] == "DP partition selection"


def test_release_file_writes_the_stable_form(tmp_path: Path) -> None:
    pacsv.write_csv(_people(300), tmp_path / "in.csv")
    spec = parse_release_spec(_spec(rho=1.0, mechanism="laplace"))
    release_file(spec, tmp_path / "in.csv", tmp_path / "out")
    header = (tmp_path / "out" / "m.csv").read_text().splitlines()[0]
    assert header == '"region","estimate","ci_low","ci_high"'
    report = json.loads((tmp_path / "out" / "release.json").read_text())
    assert report["budget"]["budget"].startswith("one-off")
    assert report["rho"] <= 1.0
    assert "discrete Laplace" in json.loads((tmp_path / "out" / "n.json").read_text())["mechanism"]
    assert report["trial"] == "not reviewed, not for publication"
    assert "TRIAL" in (tmp_path / "out" / "NOT-FOR-PUBLICATION.txt").read_text()


def test_plan_prices_without_data_and_splits_by_weight() -> None:
    spec = parse_release_spec({**_spec(rho=1.0), "queries": [
        {"name": "a", "statistic": "count", "weight": 3},
        {"name": "b", "statistic": "count", "weight": 1},
    ]})  # fmt: skip
    plan = plan_release(spec)
    assert [round(q.rho, 6) for q in plan.queries] == [0.75, 0.25]
    assert plan.queries[0].count is not None
    assert plan.queries[0].count.mechanism is Mechanism.gaussian


@pytest.mark.parametrize(
    "change",
    [
        {"rho": 0},
        {"queries": []},
        {"queries": [{"name": "m", "statistic": "mean", "column": "x"}]},
        {"queries": [{"name": "c", "statistic": "count", "by": ["nokeys"]}]},
        {"keys": {"region": "nonsense"}},
        {"surprise": 1},
    ],
)
def test_invalid_specs_are_refused(change: dict[str, object]) -> None:
    with pytest.raises(InvalidSpecError):
        parse_release_spec({**_spec(), **change})
