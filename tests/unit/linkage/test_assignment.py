import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment

from ansim.errors import InvalidSpecError
from ansim.linkage import assign_greedy, assign_optimal, select_links


@st.composite
def bipartite(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    left, right = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    edges = draw(
        st.sets(st.tuples(st.integers(0, left - 1), st.integers(0, right - 1)), max_size=20)
    )
    edges = sorted(edges)
    weights = draw(st.lists(st.floats(0.5, 50), min_size=len(edges), max_size=len(edges)))
    first = np.array([a for a, _ in edges], np.int64)
    second = np.array([left + b for _, b in edges], np.int64)
    source = np.array([0] * left + [1] * right, np.int64)
    return first, second, np.array(weights), source


def _is_one_to_one(first: np.ndarray, second: np.ndarray, keep: np.ndarray) -> bool:
    chosen = np.concatenate([first[keep], second[keep]])
    return np.unique(chosen).size == chosen.size


@settings(max_examples=60, deadline=None)
@given(bipartite())
def test_optimal_is_one_to_one_and_maximal(case: tuple) -> None:
    first, second, weight, source = case
    keep = assign_optimal(first, second, weight, source)
    assert _is_one_to_one(first, second, keep)
    if first.size:
        matrix = np.zeros((source.size, source.size))
        matrix[first, second] = weight
        rows, cols = linear_sum_assignment(-matrix)
        assert weight[keep].sum() == pytest.approx(matrix[rows, cols].sum())
    greedy = assign_greedy(first, second, weight, source)
    assert _is_one_to_one(first, second, greedy)
    assert weight[greedy].sum() <= weight[keep].sum() + 1e-9


def test_greedy_takes_the_best_pair_first_and_drops_duplicates_within_a_source() -> None:
    source = np.array([0, 0, 1, 1])
    first, second = np.array([0, 0, 1, 0]), np.array([2, 3, 2, 1])
    weight = np.array([5.0, 4.0, 9.0, 20.0])
    keep = assign_greedy(first, second, weight, source)
    assert keep.tolist() == [False, True, True, False]
    assert select_links("cluster", first, second, weight, source).all()
    with pytest.raises(InvalidSpecError, match="assignment"):
        select_links("best", first, second, weight, source)
