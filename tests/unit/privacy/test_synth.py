"""DP synthetic microdata (MST through mbi): domains, budget order, determinism, utility, copies."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import ibis
import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ibis.expr.types import Table

from ansim.engine import Engine
from ansim.errors import BudgetExhaustedError, InvalidSpecError
from ansim.governance import PrivacyLedger
from ansim.privacy import (
    OneOffBudget,
    SynthColumn,
    SynthesisSpec,
    SyntheticRelease,
    encode_rows,
    parse_synthesis_spec,
    plan_synthesis,
    run_synthesis,
    synthesize_dp,
)
from ansim.privacy._synth_mst import fit_mst, sample_records
from tests.unit.governance.conftest import PROJECT, populated

UNIT = "a person of the linked project (all their rows)"
REGIONS = [f"41{i:03d}" for i in range(6)]


def _spec(rho: float = 1.0, seed: int = 7, **changes: object) -> SynthesisSpec:
    data = {
        "name": "cohort", "rho": rho, "seed": seed, "iterations": 300,
        "columns": {
            "region": REGIONS, "sex": ["M", "F"], "age": {"edges": [0, 20, 40, 60, 80]},
            "insurance": {"values": ["health", "aid"], "other": "other"},
        },
        **changes,
    }  # fmt: skip
    return parse_synthesis_spec(data)


def _rows(n: int = 4000, seed: int = 1) -> pa.Table:
    """Correlated columns: age drives insurance, region drives sex a little."""
    rng = np.random.default_rng(seed)
    region = rng.choice(REGIONS, n, p=[0.4, 0.2, 0.15, 0.1, 0.1, 0.05])
    sex = np.where(np.isin(region, REGIONS[:2]), rng.choice(["M", "F"], n, p=[0.7, 0.3]),
                   rng.choice(["M", "F"], n))  # fmt: skip
    age = rng.integers(-3, 105, n)  # outside the bands at both ends: clipped
    insurance = np.where(age >= 60, "aid", rng.choice(["health", "aid", "private"], n))
    return pa.table({
        "person_id": np.arange(n), "region": region, "sex": sex, "age": age,
        "insurance": insurance,
    })  # fmt: skip


def _run(
    spec: SynthesisSpec, rows: pa.Table, budget: OneOffBudget | None = None
) -> tuple[SyntheticRelease, pa.Table]:
    with Engine() as engine:
        release = run_synthesis(
            spec, budget or OneOffBudget(spec.rho), engine, lambda: engine.create_table("r", rows)
        )
    return release, release.table


@pytest.fixture(scope="module")
def released() -> SyntheticRelease:
    return _run(_spec(), _rows())[0]


def test_spec_rejects_what_it_cannot_keep() -> None:
    with pytest.raises(InvalidSpecError, match="at least two columns"):
        parse_synthesis_spec({"name": "s", "rho": 1, "columns": {"sex": ["M", "F"]}})
    with pytest.raises(InvalidSpecError, match="exactly one of rho and epsilon"):
        parse_synthesis_spec({"name": "s", "columns": {"a": ["x"], "b": ["y"]}})
    with pytest.raises(InvalidSpecError, match="either its values or its band edges"):
        SynthColumn("a", ("x",), (0, 1))
    with pytest.raises(InvalidSpecError, match="unknown fields"):
        parse_synthesis_spec({"name": "s", "rho": 1, "colums": {}})
    with pytest.raises(InvalidSpecError, match="person column"):
        parse_synthesis_spec({"name": "s", "rho": 1, "columns": {"person_id": ["1"], "b": ["y"]}})


def test_plan_prices_within_rho_without_data() -> None:
    plan = plan_synthesis(_spec(rho=0.6))
    assert plan.rho <= 0.6
    assert plan.rho == pytest.approx(0.6, rel=1e-6)
    assert plan.rounds == 3
    assert plan.describe()["measurements"]["one_way"]["l2_sensitivity"] == pytest.approx(2.0)


def test_encoding_keeps_one_row_per_person_within_the_declared_domain() -> None:
    spec = _spec()
    rows = ibis.memtable({
        "person_id": [1, 1, 1, 2, 3, 4],
        "region": ["41000", "41001", "41002", "99999", "41003", "41004"],
        "sex": ["M", "F", "M", "F", "F", "M"],
        "age": ["30", "30", "30", "200", "-10", "fifty"],
        "insurance": ["health", "aid", "aid", "private", None, "aid"],
    })  # fmt: skip
    with Engine() as engine:
        coded = engine.to_pyarrow(encode_rows(rows, spec)).to_pylist()
    # person 1 keeps one row of three; person 2 (undeclared region) and 4 (an age that is
    # not a number) are left out
    assert len(coded) == 2
    assert {r["region"] for r in coded} <= {0, 1, 2, 3}
    person3 = next(r for r in coded if r["region"] == 3)
    assert person3["age"] == 0  # -10 clipped into the first band
    assert person3["insurance"] == 2  # missing → "other"


def test_output_respects_the_declared_domain(released: SyntheticRelease) -> None:
    table = released.table
    spec = _spec()
    assert table.column_names == [c.name for c in spec.columns]
    for c in spec.columns:
        assert set(table[c.name].to_pylist()) <= set(c.labels)
    assert "private" not in set(table["insurance"].to_pylist())
    meta = released.metadata
    assert meta["rho"] <= 1.0
    assert meta["privacy_unit"].startswith("a person")
    assert meta["seed"] == 7
    assert len(meta["marginals_measured"]) == 4 + 3  # every 1-way, a tree of 2-way
    assert meta["domain"]["age"] == ["0-19", "20-39", "40-59", "60-79", "80+"]
    assert released.utility["differentially_private"] is False


def test_sampling_is_deterministic_given_the_seed() -> None:
    spec = _spec()
    plan = plan_synthesis(spec)
    with Engine() as engine:
        coded = engine.to_pyarrow(encode_rows(engine.create_table("r", _rows(1500)), spec))
    codes = {c: np.asarray(coded[c].to_numpy(), dtype=np.int64) for c in spec.domain}
    fitted = fit_mst(codes, plan)
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    first, again = sample_records(fitted, 800, 11), sample_records(fitted, 800, 11)
    other = sample_records(fitted, 800, 12)
    for c in spec.domain:
        np.testing.assert_array_equal(first[c], again[c])
    assert any(not np.array_equal(first[c], other[c]) for c in spec.domain)
    np.testing.assert_array_equal(np.random.get_state()[1], before)  # global state restored


def test_exhausted_budget_refuses_before_reading() -> None:
    opened: list[bool] = []

    def source() -> Table:
        opened.append(True)
        raise AssertionError("the data was opened")

    with Engine() as engine, pytest.raises(BudgetExhaustedError, match="one-off budget"):
        run_synthesis(_spec(rho=1.0), OneOffBudget(0.5), engine, source)
    assert not opened


def test_ledger_pays_before_reading_and_refuses_when_spent(tmp_path: Path) -> None:
    gov = populated(tmp_path / "home", f"sqlite:///{tmp_path / 'g.db'}")
    ledger = PrivacyLedger(gov)
    ledger.set_budget("admin", PROJECT, 0.5, privacy_unit=UNIT)
    rows = _rows(1500)
    opened: list[bool] = []

    def source(engine: Engine) -> Callable[[], Table]:
        def open_rows() -> Table:
            opened.append(True)
            return engine.create_table("rows", rows)

        return open_rows

    with Engine() as engine:
        release = synthesize_dp(
            gov, "analyst", PROJECT, _spec(rho=0.4), engine=engine, table=source(engine),
            out_dir=tmp_path / "out",
        )  # fmt: skip
        assert release.metadata["privacy_unit"] == UNIT
        assert release.metadata["budget"]["rho_spent"] == pytest.approx(0.4)
        with pytest.raises(BudgetExhaustedError):
            synthesize_dp(gov, "analyst", PROJECT, _spec(rho=0.4), engine=engine,
                          table=source(engine), out_dir=tmp_path / "refused")  # fmt: skip
    assert opened == [True]  # the refused synthesis never opened the data
    assert not (tmp_path / "refused").exists()  # nor wrote anything
    spends = ledger.spends(PROJECT)
    assert [s.release for s in spends] == ["cohort"]
    assert "MST" in spends[0].mechanism
    assert {p.name for p in (tmp_path / "out").iterdir()} == {
        "synthetic.parquet", "cohort.csv", "synthesis.json", "utility.json",
    }  # fmt: skip
    gov.close()


def test_utility_improves_with_rho() -> None:
    rows = _rows(4000, seed=3)
    low = _run(_spec(rho=0.0005), rows)[0].utility
    high = _run(_spec(rho=5.0), rows)[0].utility
    assert high["tvd_2way"]["average"] < 0.5 * low["tvd_2way"]["average"]
    assert high["tvd_1way"]["worst"] < low["tvd_1way"]["worst"]
    assert high["tvd_2way"]["average"] < 0.05


def test_no_real_rows_copied_beyond_chance() -> None:
    """Rare combinations (unique rows of a large domain) reappear no more than in fresh data."""
    rng = np.random.default_rng(5)
    n, names = 4000, [f"c{i}" for i in range(6)]
    labels = [str(v) for v in range(10)]

    def draw(size: int) -> dict[str, np.ndarray]:
        return {c: rng.choice(labels, size) for c in names}

    real, fresh = draw(n), draw(n)
    spec = parse_synthesis_spec({
        "name": "rare", "rho": 2.0, "seed": 1, "person": None, "iterations": 300,
        "columns": {c: labels for c in names},
    })  # fmt: skip
    synthetic = _run(spec, pa.table(real))[1]

    def combos(columns: dict[str, list[str]] | dict[str, np.ndarray]) -> list[tuple[str, ...]]:
        return list(zip(*(list(columns[c]) for c in names), strict=True))

    counts: dict[tuple[str, ...], int] = {}
    for row in combos(real):
        counts[row] = counts.get(row, 0) + 1
    unique = {row for row, k in counts.items() if k == 1}
    assert len(unique) > 0.9 * n  # 10^6 cells: nearly every real row is a rare combination
    copied = sum(row in unique for row in combos(synthetic.to_pydict()))
    by_chance = sum(row in unique for row in combos(fresh))
    assert copied <= 3 * by_chance + 10


def test_noisy_max_picks_a_dominant_score() -> None:
    plan = plan_synthesis(_spec())
    assert plan.selection.scale < 3
    assert [plan.selection.select(np.array([0, 10_000, 0])) for _ in range(20)] == [1] * 20


def test_no_noise_from_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    """NumPy's global noise samplers are never called: the measurements' noise is OpenDP's.

    (NumPy's ``Generator`` type cannot be patched; the one ``default_rng`` in the synthesis
    spreads merged values over their originals, which is sampling, not noise.)
    """

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("noise drawn from numpy.random")

    for sampler in ("normal", "laplace", "gumbel", "exponential", "standard_normal"):
        monkeypatch.setattr(np.random, sampler, refuse)
    release, table = _run(_spec(rho=0.5), _rows(800))
    assert table.num_rows > 0
    assert release.plan.rho <= 0.5


@settings(max_examples=40, deadline=None)
@given(
    columns=st.integers(2, 12),
    values=st.integers(1, 40),
    rho=st.floats(1e-5, 50.0, allow_nan=False, allow_infinity=False),
)
def test_plan_never_costs_more_than_its_rho(columns: int, values: int, rho: float) -> None:
    spec = SynthesisSpec(
        "p", tuple(SynthColumn(f"c{i}", tuple(str(v) for v in range(values)))
                   for i in range(columns)), rho=rho,
    )  # fmt: skip
    plan = plan_synthesis(spec)
    stated = plan.one_way.rho + plan.rounds * plan.selection.rho + plan.two_way.rho
    assert plan.rho == pytest.approx(stated)
    assert plan.rho <= rho
    assert plan.rho >= 0.999 * rho  # the budget is used, not wasted


def test_a_synthetic_candidate_carries_the_whole_extract_and_no_ledger_cells(
    tmp_path: Path,
) -> None:
    from ansim.errors import InvalidSpecError  # noqa: PLC0415
    from ansim.privacy import synthetic_candidate  # noqa: PLC0415
    from ansim.release import ReleaseKind  # noqa: PLC0415

    with pytest.raises(InvalidSpecError, match=r"no synthesis\.json"):
        synthetic_candidate(tmp_path, "t")
    for name in ("synthesis.json", "utility.json", "x.csv", "synthetic.parquet"):
        (tmp_path / name).write_bytes(b"{}")
    candidate = synthetic_candidate(tmp_path, "t")
    assert candidate.kind is ReleaseKind.DP_SYNTHETIC and candidate.cells == {}
    assert set(candidate.files) == {"synthesis.json", "utility.json", "x.csv", "synthetic.parquet"}
