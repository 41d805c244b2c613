import numpy as np
import pytest

from ansim.errors import InvalidSpecError
from ansim.linkage import (
    FellegiSunterModel,
    FieldComparison,
    estimate_m_by_em,
    estimate_u,
    pattern_counts,
)

COMPARISONS = (
    FieldComparison("bf_name", (1.0, 0.9, 0.8, 0.7, 0.6)),
    FieldComparison("bf_birth_date", (1.0, 0.8)),
    FieldComparison("token_rrn", (1.0,)),
)
M = ((0.85, 0.06, 0.04, 0.02, 0.02, 0.01), (0.95, 0.04, 0.01), (0.97, 0.03))
U = ((0.001, 0.004, 0.015, 0.08, 0.2, 0.7), (0.003, 0.05, 0.947), (0.0005, 0.9995))


def _levels(rng: np.random.Generator, table: tuple[tuple[float, ...], ...], n: int) -> np.ndarray:
    columns = [rng.choice(len(row), size=n, p=row) for row in table]
    levels = np.stack(columns, axis=1).astype(np.int8)
    levels[rng.random(levels.shape) < 0.02] = -1  # missing values
    return levels


def test_em_recovers_m_with_u_fixed() -> None:
    rng = np.random.default_rng(3)
    levels = np.concatenate([_levels(rng, M, 20_000), _levels(rng, U, 180_000)])
    patterns, counts = pattern_counts(levels)
    m, _, share = estimate_m_by_em(patterns, counts, COMPARISONS, U, fields=[0, 1, 2])
    assert share == pytest.approx(0.1, abs=0.01)
    for got, want in zip(m, M, strict=True):
        np.testing.assert_allclose(got, want, atol=0.015)


def test_em_recovers_m_and_u_together() -> None:
    rng = np.random.default_rng(4)
    levels = np.concatenate([_levels(rng, M, 30_000), _levels(rng, U, 120_000)])
    patterns, counts = pattern_counts(levels)
    start_u = tuple(tuple(np.full(len(r), 1 / len(r)).tolist()) for r in U)
    m, u, share = estimate_m_by_em(
        patterns, counts, COMPARISONS, start_u, fields=[0, 1, 2], estimate_u_too=True
    )
    assert share == pytest.approx(0.2, abs=0.02)
    for got, want in zip(u, U, strict=True):
        np.testing.assert_allclose(got, want, atol=0.02)
    assert m[2][0] == pytest.approx(0.97, abs=0.02)


def test_u_from_random_pairs_and_weights_explain_each_field() -> None:
    rng = np.random.default_rng(5)
    u = estimate_u(_levels(rng, U, 200_000), COMPARISONS)
    np.testing.assert_allclose(u[2], U[2], atol=0.002)
    model = FellegiSunterModel(COMPARISONS, M, u)
    levels = np.array([[0, 0, 0], [5, 2, 1], [-1, 0, -1]], np.int8)
    weights = model.field_weights(levels)
    assert weights.shape == (3, 3)
    assert weights[0].sum() > 20
    assert weights[1].sum() < 0
    assert weights[2, 0] == 0 == weights[2, 2]  # a missing field is no evidence
    assert weights[2, 1] == pytest.approx(np.log2(M[1][0] / u[1][0]), rel=1e-5)


def test_term_frequency_makes_common_values_weigh_less() -> None:
    model = FellegiSunterModel(COMPARISONS, M, U)
    levels = np.array([[0, -1, -1], [0, -1, -1]], np.int8)
    share = np.array([0.01, 0.00001])  # a common and a rare name
    weights = model.field_weights(levels, [share, None, None])
    assert weights[0, 0] < weights[1, 0]
    assert weights[1, 0] == pytest.approx(np.log2(M[0][0] / 0.00001), rel=1e-5)


def test_conditional_u_applies_where_the_earlier_field_agrees() -> None:
    given = ((1, 2, (0.002, 0.998)),)
    model = FellegiSunterModel(COMPARISONS, M, U, u_given=given)  # larger u than U[2]
    levels = np.array([[-1, 0, 0], [-1, 1, 0]], np.int8)
    weights = model.field_weights(levels)
    assert weights[0, 2] == pytest.approx(np.log2(M[2][0] / 0.002), rel=1e-5)
    assert weights[1, 2] == pytest.approx(np.log2(M[2][0] / U[2][0]), rel=1e-5)


def test_model_round_trips_through_json_and_validates() -> None:
    model = FellegiSunterModel(COMPARISONS, M, U, {"sessions": []}, ((1, 2, (0.1, 0.9)),))
    again = FellegiSunterModel.from_json(model.to_json())
    assert again == model
    with pytest.raises(InvalidSpecError, match="levels"):
        FellegiSunterModel(COMPARISONS[:1], ((0.5, 0.5),), ((0.5, 0.5),))
    with pytest.raises(InvalidSpecError, match="summing"):
        FellegiSunterModel(COMPARISONS[2:], ((0.5, 0.6),), ((0.5, 0.5),))
    with pytest.raises(InvalidSpecError, match="model"):
        FellegiSunterModel.from_json("{}")
