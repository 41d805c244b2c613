import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansim.errors import LinkageError
from ansim.linkage import dice_pairs, dice_reference, dice_top_k, popcounts


def _matrix(seed: int, rows: int, words: int, density: float = 0.5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    bits = rng.random((rows, words * 64)) < density
    return np.packbits(bits, axis=1, bitorder="little").view(np.uint64)


def _reference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.array([[dice_reference(x.tobytes(), y.tobytes()) for y in b] for x in a])


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    rows=st.integers(1, 12),
    words=st.integers(1, 17),
    density=st.floats(0.0, 1.0),
)
def test_pair_kernel_agrees_with_the_reference(
    seed: int, rows: int, words: int, density: float
) -> None:
    a = _matrix(seed, rows, words, density)
    b = _matrix(seed + 1, rows + 3, words, density)
    expected = _reference(a, b)
    ia, ib = np.meshgrid(np.arange(rows), np.arange(rows + 3), indexing="ij")
    got = dice_pairs(a, b, ia.ravel(), ib.ravel()).reshape(rows, rows + 3)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), k=st.integers(1, 5), threshold=st.floats(0.3, 0.9))
def test_top_k_kernel_keeps_the_best_scores_above_threshold(
    seed: int, k: int, threshold: float
) -> None:
    a = _matrix(seed, 6, 16, 0.3)
    b = np.concatenate([a[:3] ^ _matrix(seed + 2, 3, 16, 0.02), _matrix(seed + 1, 40, 16, 0.3)])
    index, score = dice_top_k(a, b, threshold, k)
    expected = _reference(a, b)
    for row in range(a.shape[0]):
        wanted = np.sort(expected[row][expected[row] >= threshold])[::-1][:k]
        kept = score[row][index[row] >= 0]
        np.testing.assert_allclose(kept, wanted.astype(np.float32), rtol=1e-6)
        for j, s in zip(index[row], score[row], strict=True):
            if j >= 0:
                assert s == pytest.approx(expected[row, j], rel=1e-6)


def test_known_values_and_empty_filters() -> None:
    bits = np.array([[0b1111, 0], [0b0111, 0], [0, 0]], np.uint64)
    assert popcounts(bits).tolist() == [4, 3, 0]
    got = dice_pairs(bits, bits, np.array([0, 0, 2]), np.array([1, 0, 2]))
    assert got.tolist() == pytest.approx([6 / 7, 1.0, 0.0])
    assert dice_reference(bytes(8), bytes(8)) == 0.0


def test_rejects_mismatched_widths() -> None:
    with pytest.raises(LinkageError, match="same number"):
        dice_pairs(np.zeros((2, 2), np.uint64), np.zeros((2, 3), np.uint64), [0], [1])
    with pytest.raises(LinkageError, match="as many"):
        dice_pairs(np.zeros((2, 2), np.uint64), np.zeros((2, 2), np.uint64), [0, 1], [1])
    with pytest.raises(LinkageError, match="k >= 1"):
        dice_top_k(np.zeros((2, 2), np.uint64), np.zeros((2, 2), np.uint64), 0.5, k=0)


@settings(max_examples=5, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), rows=st.integers(1, 5), words=st.integers(1, 5))
def test_top_k_kernel_across_tiles_keeps_earlier_ties_first(
    seed: int, rows: int, words: int
) -> None:
    a = _matrix(seed, rows, words, 0.5)
    b = _matrix(seed + 1, 4099, words, 0.5)  # two full tiles of 2,048 rows and a partial one
    for j in (4098, 2050, 10):  # equal partners of a's first row in every tile
        b[j] = a[0]
    index, score = dice_top_k(a, b, 0.3, k=4)
    expected = _reference(a, b)
    for row in range(rows):
        wanted = np.sort(expected[row][expected[row] >= 0.3])[::-1][:4]
        kept = index[row] >= 0
        np.testing.assert_allclose(score[row][kept], wanted.astype(np.float32), rtol=1e-6)
        np.testing.assert_allclose(
            score[row][kept], expected[row, index[row][kept]].astype(np.float32), rtol=1e-6
        )
    assert index[0][:3].tolist() == [10, 2050, 4098]
