"""m/u under the ordinal constraint: a closer level never weighs less than a farther one."""

import itertools

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from ansim.linkage import FieldComparison, estimate_m_by_em, monotone_m, monotone_u, pattern_counts

_PROBABILITY = st.floats(0.001, 1.0, allow_nan=False)
_ROWS = st.integers(2, 9).flatmap(
    lambda n: st.tuples(
        st.lists(_PROBABILITY, min_size=n, max_size=n),
        st.lists(_PROBABILITY, min_size=n, max_size=n),
    )
)


def _normal(values: list[float]) -> np.ndarray:
    array = np.asarray(values)
    return array / array.sum()


def _non_increasing(ratios: np.ndarray) -> bool:
    return all(a >= b * (1 - 1e-9) for a, b in itertools.pairwise(ratios))


@given(_ROWS)
def test_monotone_m_gives_non_increasing_weights_and_keeps_a_distribution(
    rows: tuple[list[float], list[float]],
) -> None:
    m, u = _normal(rows[0]), _normal(rows[1])
    adjusted = np.asarray(monotone_m(m, u))
    assert abs(adjusted.sum() - 1.0) < 1e-9
    assert (adjusted > 0).all()
    assert _non_increasing(adjusted / u)
    if _non_increasing(m / u):  # already ordered: left as it is
        np.testing.assert_allclose(adjusted, m, rtol=1e-9)


@given(_ROWS)
def test_monotone_u_gives_non_increasing_weights(rows: tuple[list[float], list[float]]) -> None:
    m, u = _normal(rows[0]), _normal(rows[1])
    adjusted = np.asarray(monotone_u(m, u))
    assert abs(adjusted.sum() - 1.0) < 1e-9
    assert _non_increasing(m / adjusted)


@given(st.integers(0, 2**32 - 1))
def test_em_m_weights_are_monotone_in_similarity(seed: int) -> None:
    rng = np.random.default_rng(seed)
    comparisons = (FieldComparison("bf_name", (1.0, 0.9, 0.8, 0.7)), FieldComparison("token_rrn"))
    # matches and non-matches whose middle levels are noisy, as in a sparse real sample
    m_true = (_normal(rng.random(5).tolist()), np.array([0.95, 0.05]))
    u_true = (_normal(rng.random(5).tolist()), np.array([0.001, 0.999]))
    columns = []
    for f in range(2):
        matches = rng.choice(len(m_true[f]), size=300, p=m_true[f])
        others = rng.choice(len(u_true[f]), size=3000, p=u_true[f])
        columns.append(np.concatenate([matches, others]))
    patterns, counts = pattern_counts(np.stack(columns, axis=1).astype(np.int8))
    u = tuple(tuple(r.tolist()) for r in u_true)
    m, _, _ = estimate_m_by_em(patterns, counts, comparisons, u, fields=[0, 1], iterations=20)
    for f in range(2):
        assert _non_increasing(np.asarray(m[f]) / np.asarray(u[f])), (f, m[f])
