"""AIM synthesis: priced before data, paid before reading, its rounds within the spend, utility."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

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
    AIMPlan,
    OneOffBudget,
    SynthColumn,
    SynthesisMethod,
    SynthesisSpec,
    SyntheticRelease,
    _synth_aim,
    encode_rows,
    parse_synthesis_spec,
    plan_synthesis,
    run_synthesis,
    synthesize_dp,
)
from ansim.privacy._synth_aim import fit_aim, sample_aim
from ansim.privacy._synth_mst import load_mbi
from tests.unit.governance.conftest import PROJECT, populated

UNIT = "a person of the linked project (all their rows)"
REGIONS = [f"41{i:03d}" for i in range(6)]


def _spec(rho: float = 1.0, seed: int = 7, **changes: object) -> SynthesisSpec:
    data = {
        "name": "cohort", "method": "aim", "rho": rho, "seed": seed, "iterations": 300,
        "columns": {
            "region": REGIONS, "sex": ["M", "F"], "age": {"edges": [0, 20, 40, 60, 80]},
            "insurance": {"values": ["health", "aid"], "other": "other"},
            "smoker": ["no", "yes"],
        },
        **changes,
    }  # fmt: skip
    return parse_synthesis_spec(data)


def _rows(n: int = 4000, seed: int = 1) -> pa.Table:
    """Each column depends on two others: 3-way structure that no spanning tree holds."""
    rng = np.random.default_rng(seed)
    region = rng.choice(REGIONS, n, p=[0.4, 0.2, 0.15, 0.1, 0.1, 0.05])
    sex = rng.choice(["M", "F"], n)
    age = rng.integers(0, 100, n)
    south = np.isin(region, REGIONS[:2])
    aid = (age >= 60) & (south == (sex == "M"))  # region x sex x age decide it jointly
    insurance = np.where(aid, "aid", rng.choice(["health", "private"], n, p=[0.8, 0.2]))
    smokes = (sex == "M") == (age < 40)  # sex x age
    smoker = np.where(rng.random(n) < np.where(smokes, 0.7, 0.1), "yes", "no")
    return pa.table({
        "person_id": np.arange(n), "region": region, "sex": sex, "age": age,
        "insurance": insurance, "smoker": smoker,
    })  # fmt: skip


def _run(spec: SynthesisSpec, rows: pa.Table) -> SyntheticRelease:
    with Engine() as engine:
        return run_synthesis(
            spec, OneOffBudget(spec.rho), engine, lambda: engine.create_table("r", rows)
        )


def _codes(spec: SynthesisSpec, rows: pa.Table) -> dict[str, np.ndarray]:
    with Engine() as engine:
        coded = engine.to_pyarrow(encode_rows(engine.create_table("r", rows), spec))
    return {c: np.asarray(coded[c].to_numpy(), dtype=np.int64) for c in spec.domain}


@pytest.fixture(scope="module")
def released() -> SyntheticRelease:
    return _run(_spec(), _rows())


def test_aim_fields_are_checked() -> None:
    spec = _spec(rounds=30, marginals=7, max_cells=50)
    assert (spec.method, spec.rounds, spec.marginals, spec.max_cells) == ("aim", 30, 7, 50)
    assert (_spec().rounds, _spec().marginals) == (None, None)  # 16·d, until spent
    with pytest.raises(InvalidSpecError, match="apply to method aim only"):
        parse_synthesis_spec({"name": "s", "rho": 1, "rounds": 2,
                              "columns": {"a": ["x"], "b": ["y"]}})  # fmt: skip
    with pytest.raises(InvalidSpecError, match="rounds must be between 2 and 100 per column"):
        _spec(rounds=9)  # 5 columns: the 1-way marginals would cost half of rho
    with pytest.raises(InvalidSpecError, match="marginals must be between"):
        _spec(marginals=0)
    with pytest.raises(InvalidSpecError, match="max_cells"):
        _spec(max_cells=0)
    with pytest.raises(InvalidSpecError, match="synthesis spec"):
        _spec(method="aimm")


def test_iterations_default_to_the_methods_own() -> None:
    aim = replace(_spec(), iterations=None)
    assert aim.iterations is None and aim.estimation_iterations == 300
    mst = aim.with_method(SynthesisMethod.MST)
    assert mst.estimation_iterations == 1000  # the default follows the method
    assert _spec().estimation_iterations == 300  # a stated number is kept, for either method
    assert _spec().with_method(SynthesisMethod.MST).estimation_iterations == 300
    data = {"name": "s", "rho": 1, "columns": {"a": ["x"], "b": ["y"]}}
    assert parse_synthesis_spec(data).estimation_iterations == 1000
    assert parse_synthesis_spec({**data, "method": "aim"}).estimation_iterations == 300
    assert parse_synthesis_spec({**data, "method": "aim", "iterations": 70}).iterations == 70
    with pytest.raises(InvalidSpecError, match="iterations"):
        parse_synthesis_spec({**data, "iterations": 0})


def test_an_aim_fit_runs_the_default_iterations_in_its_last_round(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[tuple[int, bool]] = []
    real = _synth_aim.round_iterations

    def spy(iterations: int, *, last: bool) -> int:
        asked.append((iterations, last))
        return real(iterations, last=last)

    monkeypatch.setattr(_synth_aim, "round_iterations", spy)
    released = _run(replace(_spec(), iterations=None), _rows(1000))
    assert asked == []  # rounds are fitted in NumPy; mbi estimates once, at 300 iterations
    assert released.metadata["estimation"]["iterations_last_round"] == 300


def test_plan_prices_every_round_without_data() -> None:
    plan = plan_synthesis(_spec(rho=0.6, max_cells=12))
    assert isinstance(plan, AIMPlan)
    assert plan.rho <= 0.6
    assert plan.rounds == 16 * 5  # AIM's T = 16 d
    # the 1-way marginals cost 0.9 d / T of rho; a first round rho / T, split 1:9
    assert plan.one_way.rho == pytest.approx(0.9 * 5 / 80 * 0.6, rel=1e-6)
    first = plan.step(0)
    assert first.rho == pytest.approx(0.6 / 80, rel=1e-6)
    assert first.selection.rho == pytest.approx(0.1 * first.rho, rel=1e-6)
    assert plan.step(2).marginal.scale == pytest.approx(first.marginal.scale / 4, rel=1e-6)
    # workload: the 2- and 3-way marginals of at most 12 cells; candidates: its closure
    assert ("region", "sex") in plan.candidates  # 12 cells
    assert ("region", "age") not in plan.candidates  # 30 cells
    assert ("sex", "insurance", "smoker") in plan.candidates  # 12 cells
    described = plan.describe()["measurements"]
    assert described["marginal"]["l2_sensitivity"] == 1.0
    assert described["selection"]["score_sensitivity"] == max(plan.candidates.values())
    assert described["rounds_T"] == 80
    assert "AIM" in plan.mechanism


@settings(max_examples=60, deadline=None)
@given(
    columns=st.integers(2, 9),
    values=st.integers(1, 30),
    rho=st.floats(1e-5, 50.0, allow_nan=False, allow_infinity=False),
    per_column=st.integers(2, 100),
    cap=st.one_of(st.none(), st.integers(1, 60)),
    anneals=st.lists(st.booleans(), min_size=0, max_size=400),
)
def test_no_plan_or_run_passes_its_rho(
    *,
    columns: int,
    values: int,
    rho: float,
    per_column: int,
    cap: int | None,
    anneals: list[bool],
) -> None:
    """Whatever the annealing decisions (data-dependent), the rounds never pass the plan's ρ."""
    spec = SynthesisSpec(
        "p", tuple(SynthColumn(f"c{i}", tuple(str(v) for v in range(values)))
                   for i in range(columns)),
        rho=rho, method=SynthesisMethod.AIM, rounds=per_column * columns, marginals=cap,
        max_cells=400,
    )  # fmt: skip
    plan = plan_synthesis(spec)
    assert isinstance(plan, AIMPlan)
    assert plan.rho <= rho
    budget = plan.budget()
    steps = []
    decisions = iter(anneals)
    while (step := budget.next_round()) is not None:
        steps.append(step)
        assert sum(budget.spent) <= plan.rho
        if next(decisions, True):
            budget.anneal()
    assert steps and steps[-1].last and not any(s.last for s in steps[:-1])
    assert sum(budget.spent) == pytest.approx(
        plan.one_way.rho + sum(s.selection.rho + s.marginal.rho for s in steps)
    )
    assert sum(budget.spent) <= plan.rho <= rho
    assert sum(budget.spent) >= 0.999 * plan.rho  # the budget is used, not wasted
    if cap is not None:
        assert len(steps) <= cap
    assert len(steps) <= plan.rounds + 1  # without annealing, T rounds at most


@settings(max_examples=6, deadline=None)
@given(rho=st.floats(1e-4, 10.0), seed=st.integers(0, 1000))
def test_a_fit_never_spends_more_than_the_plan(rho: float, seed: int) -> None:
    """The measurements a fit makes add up to at most the plan's ρ, whatever the data."""
    spec = _spec(rho=rho, iterations=20)
    plan = plan_synthesis(spec)
    assert isinstance(plan, AIMPlan)
    fitted = fit_aim(_codes(spec, _rows(300, seed=seed)), plan)
    assert fitted.rho_spent <= plan.rho <= rho
    assert len(fitted.spent) == 1 + 2 * len(fitted.selected)
    assert set(fitted.selected) <= set(plan.candidates)
    # annealing only lowers σ; the last round spends what is left, at most a round's worth
    assert all(b <= a * (1 + 1e-9) for a, b in zip(fitted.sigmas, fitted.sigmas[1:], strict=False))


def test_a_synthesis_records_what_it_measured_within_what_it_paid(
    released: SyntheticRelease,
) -> None:
    meta = released.metadata
    assert meta["method"] == "aim"
    assert meta["rho_measured"] <= released.plan.rho * (1 + 1e-12)
    assert released.plan.rho <= 1.0
    assert released.receipt["rho_spent"] == pytest.approx(released.plan.rho)
    rounds = meta["rounds"]
    assert len(meta["marginals_measured"]) == 5 + len(rounds)  # every 1-way, then the selections
    assert meta["estimation"]["rounds"] == len(rounds) >= 1
    sigmas = [r["sigma"] for r in rounds]
    assert all(b <= a * (1 + 1e-9) for a, b in itertools.pairwise(sigmas))
    assert meta["annealed"] >= 0
    table = released.table
    spec = _spec()
    assert table.column_names == list(spec.domain)
    for c in spec.columns:
        assert set(table[c.name].to_pylist()) <= set(c.labels)
    assert "private" not in set(table["insurance"].to_pylist())
    assert released.utility["differentially_private"] is False


def test_exhausted_budget_refuses_before_reading() -> None:
    opened: list[bool] = []

    def source() -> Table:
        opened.append(True)
        raise AssertionError("the data was opened")

    with Engine() as engine, pytest.raises(BudgetExhaustedError, match="one-off budget"):
        run_synthesis(_spec(rho=1.0), OneOffBudget(0.5), engine, source)
    assert not opened


def test_ledger_records_the_spend_before_reading_and_refuses_when_spent(tmp_path: Path) -> None:
    gov = populated(tmp_path / "home", f"sqlite:///{tmp_path / 'g.db'}")
    ledger = PrivacyLedger(gov)
    ledger.set_budget("admin", PROJECT, 0.5, privacy_unit=UNIT)
    rows = _rows(1500)
    seen: list[float] = []

    def source(engine: Engine) -> Callable[[], Table]:
        def open_rows() -> Table:
            seen.append(PrivacyLedger(gov).balance(PROJECT).rho_spent)  # paid already?
            return engine.create_table("rows", rows)

        return open_rows

    spec = _spec(rho=0.4, marginals=3)
    with Engine() as engine:
        release = synthesize_dp(
            gov, "analyst", PROJECT, spec, engine=engine, table=source(engine),
            out_dir=tmp_path / "out",
        )  # fmt: skip
        assert release.metadata["privacy_unit"] == UNIT
        with pytest.raises(BudgetExhaustedError):
            synthesize_dp(gov, "analyst", PROJECT, spec, engine=engine,
                          table=source(engine), out_dir=tmp_path / "refused")  # fmt: skip
    assert seen == [pytest.approx(release.plan.rho)]  # the spend was on the ledger first
    assert not (tmp_path / "refused").exists()
    spends = ledger.spends(PROJECT)
    assert [s.release for s in spends] == ["cohort"]
    assert "AIM" in spends[0].mechanism
    assert release.metadata["rho_measured"] <= spends[0].rho * (1 + 1e-12)
    gov.close()


def test_the_held_joint_is_the_model_mbi_fitted() -> None:
    spec = _spec(marginals=3)
    plan = plan_synthesis(spec)
    assert isinstance(plan, AIMPlan)
    fitted = fit_aim(_codes(spec, _rows(1500)), plan)
    assert fitted.joint is not None
    names = list(spec.domain)
    for cl in (("region", "sex"), ("sex", "age", "smoker"), ("insurance",)):
        other = tuple(i for i, c in enumerate(names) if c not in cl)
        ours = fitted.joint.sum(axis=other).ravel()
        theirs = np.asarray(fitted.model.project(cl).datavector())
        np.testing.assert_allclose(ours, theirs / theirs.sum(), atol=1e-9)


def test_sampling_is_deterministic_given_the_seed_on_both_paths(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spec = _spec(marginals=2, columns={"sex": ["M", "F"], "smoker": ["no", "yes"],
                                                 "age": {"edges": [0, 40]}})  # fmt: skip
    plan = plan_synthesis(spec)
    assert isinstance(plan, AIMPlan)
    codes = _codes(spec, _rows(1000))
    dense = fit_aim(codes, plan)
    monkeypatch.setattr(_synth_aim, "_DENSE_CELLS", 0)  # mbi's inference and sampler instead
    sparse = fit_aim(codes, plan)
    assert dense.joint is not None and sparse.joint is None
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    for fitted in (dense, sparse):
        first, again = sample_aim(fitted, 700, 11), sample_aim(fitted, 700, 11)
        other = sample_aim(fitted, 700, 12)
        for c in spec.domain:
            np.testing.assert_array_equal(first[c], again[c])
            assert first[c].size == 700
        assert any(not np.array_equal(first[c], other[c]) for c in spec.domain)
    np.testing.assert_array_equal(np.random.get_state()[1], before)  # global state restored


def test_dense_sampling_rounds_every_cell_to_within_one_record() -> None:
    spec = _spec(marginals=2)
    plan = plan_synthesis(spec)
    assert isinstance(plan, AIMPlan)
    fitted = fit_aim(_codes(spec, _rows(1000)), plan)
    assert fitted.joint is not None
    records = sample_aim(fitted, 5000, 3)
    flat = np.ravel_multi_index(tuple(records[c] for c in spec.domain), fitted.joint.shape)
    counts = np.bincount(flat, minlength=fitted.joint.size)
    assert counts.sum() == 5000
    assert np.abs(counts - 5000 * fitted.joint.ravel()).max() < 1


def test_utility_within_the_range_mst_reaches_on_the_same_data() -> None:
    """On data with 3-way structure, AIM's marginals are no worse than MST's at the same ρ.

    MST is Ansim's MST (mbi's MST algorithm: the same steps and budget split as mbi's
    reference ``mechanisms/mst.py``, with OpenDP's noise).
    """
    rows = _rows(6000, seed=4)
    aim = _run(_spec(rho=0.5), rows).utility
    mst = _run(_spec(rho=0.5).with_method(SynthesisMethod.MST), rows).utility
    assert aim["tvd_3way"]["average"] <= mst["tvd_3way"]["average"]
    # The noise is OpenDP's (not seedable): over repeated runs AIM's worst 2-way marginal was
    # 0.009-0.052 against MST's 0.027-0.039 (AIM's six marginals once missed a pair), its
    # average 3-way 0.026-0.037 against MST's 0.091-0.095.
    assert aim["tvd_2way"]["worst"] <= 2 * mst["tvd_2way"]["worst"]
    assert aim["tvd_1way"]["worst"] < 0.05


def test_proportional_fitting_meets_consistent_marginals() -> None:
    """The rounds' NumPy model: fitted to exact marginals, the joint reproduces them, and it is
    the normalised exponential of its potentials (the warm start handed to mbi)."""
    from types import SimpleNamespace  # noqa: PLC0415

    rng = np.random.default_rng(3)
    sizes = {"a": 3, "b": 4, "c": 2}
    truth = rng.dirichlet(np.ones(24)).reshape(3, 4, 2) * 1000
    log = [
        SimpleNamespace(clique=("a", "b"), noisy_measurement=truth.sum(axis=2).ravel(), stddev=1),
        SimpleNamespace(clique=("b", "c"), noisy_measurement=truth.sum(axis=0).ravel(), stddev=1),
        SimpleNamespace(clique=("a",), noisy_measurement=truth.sum(axis=(1, 2)), stddev=1),
    ]
    fit = _synth_aim._Proportional(sizes, log[2:])
    for m in log[:2]:
        fit.add(m)
    fit.sweep(30)
    assert fit.joint.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(fit.joint.sum(axis=2), truth.sum(axis=2) / 1000, atol=1e-6)
    np.testing.assert_allclose(fit.joint.sum(axis=0), truth.sum(axis=0) / 1000, atol=1e-6)
    log_p = (fit.log_potentials[("a", "b")][:, :, None] + fit.log_potentials[("b", "c")][None]
             + fit.log_potentials[("a",)][:, None, None])  # fmt: skip
    p = np.exp(log_p - log_p.max())
    np.testing.assert_allclose(p / p.sum(), fit.joint, atol=1e-9)
    mbi = load_mbi()
    domain = mbi.Domain(list(sizes), list(sizes.values()))
    warm = fit.potentials(mbi, domain, [("a", "b"), ("b", "c"), ("a",)])
    assert set(warm.cliques) == {("a", "b"), ("b", "c")}  # the maximal cliques
    summed = (np.asarray(warm[("a", "b")].values)[:, :, None]
              + np.asarray(warm[("b", "c")].values)[None])  # fmt: skip
    np.testing.assert_allclose(summed - summed.max(), log_p - log_p.max(), atol=1e-9)


def test_repeated_measurements_merge_into_one_at_their_combined_sigma() -> None:
    mbi = load_mbi()
    a = mbi.LinearMeasurement(np.array([10.0, 20.0]), ("x",), stddev=1.0)
    b = mbi.LinearMeasurement(np.array([13.0, 26.0]), ("x",), stddev=2.0)
    c = mbi.LinearMeasurement(np.array([1.0, 2.0, 3.0]), ("y",), stddev=3.0)
    merged = _synth_aim._merged(mbi, [a, c, b])
    assert [m.clique for m in merged] == [("x",), ("y",)]
    np.testing.assert_allclose(merged[0].noisy_measurement, [10.6, 21.2])  # weights 1 and 1/4
    assert merged[0].stddev == pytest.approx((1 + 0.25) ** -0.5)
    assert merged[1] is c
