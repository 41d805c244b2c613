import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansim.errors import InvalidSpecError
from ansim.linkage import BlockingRule, block_pairs, estimated_missed_by_blocking, pairs_in_blocks


@settings(max_examples=40, deadline=None)
@given(codes=st.lists(st.integers(-1, 5), max_size=40), max_block=st.integers(2, 8))
def test_pairs_in_blocks_are_exactly_the_pairs_sharing_a_small_block(
    codes: list[int], max_block: int
) -> None:
    array = np.array(codes, np.int64)
    first, second, skipped = pairs_in_blocks(array, max_block)
    sizes = {c: codes.count(c) for c in set(codes) if c >= 0}
    expected = {
        (i, j)
        for i in range(len(codes))
        for j in range(i + 1, len(codes))
        if codes[i] == codes[j] >= 0 and sizes[codes[i]] <= max_block
    }
    assert set(zip(first.tolist(), second.tolist(), strict=True)) == expected
    assert len(expected) == first.size
    assert skipped == sum(1 for s in sizes.values() if s > max_block)


def test_passes_are_united_and_remember_who_found_each_pair() -> None:
    codes = {
        "token_a": np.array([0, 0, 1, 1, -1]),
        "token_b": np.array([5, 6, 7, 7, 5]),
    }
    rules = [BlockingRule("token_a"), BlockingRule("token_b")]
    pairs = block_pairs(rules, codes, {})
    found = dict(
        zip(
            zip(pairs.first.tolist(), pairs.second.tolist(), strict=False),
            pairs.passes.tolist(),
            strict=False,
        )
    )
    assert found == {(0, 1): 1, (2, 3): 3, (0, 4): 2}
    assert [p.pairs for p in pairs.report] == [2, 2]


def test_lsh_finds_similar_filters_and_not_random_ones() -> None:
    rng = np.random.default_rng(1)
    base = rng.random((200, 1024)) < 0.5
    noisy = base ^ (rng.random(base.shape) < 0.03)  # 3% of bits flipped
    bits = np.packbits(np.concatenate([base, noisy]), axis=1, bitorder="little").view(np.uint64)
    valid = np.ones(400, np.bool_)
    rule = BlockingRule("clk", "lsh", bands=12, bits=20)
    pairs = block_pairs([rule], {}, {"clk": (bits, valid)})
    found = set(zip(pairs.first.tolist(), pairs.second.tolist(), strict=True))
    true_found = sum((i, i + 200) in found for i in range(200))
    assert true_found >= 190
    assert len(found) - true_found < 20


def test_rules_are_validated() -> None:
    with pytest.raises(InvalidSpecError, match="kind"):
        BlockingRule("token_a", "sorted")
    with pytest.raises(InvalidSpecError, match="encoded"):
        BlockingRule("name")
    with pytest.raises(InvalidSpecError, match="bands"):
        BlockingRule("clk", "lsh")
    with pytest.raises(InvalidSpecError, match="Bloom"):
        BlockingRule("token_a", "lsh", bands=2, bits=10)
    with pytest.raises(InvalidSpecError, match="not in every part"):
        block_pairs([BlockingRule("token_x")], {"token_a": np.zeros(2, np.int64)}, {})


def test_missed_pairs_estimate_is_chaos_estimator() -> None:
    # f1 = 2 pairs found by one pass, f2 = 2 by two: f1 (f1 - 1) / (2 (f2 + 1)) = 1/3
    passes = np.array([1, 2, 3, 3], np.uint64)
    missed = estimated_missed_by_blocking(passes, 2)
    assert missed.point == pytest.approx(1 / 3)
    assert missed.low < missed.point < missed.high
    assert estimated_missed_by_blocking(np.array([3, 3], np.uint64), 2).point == 0.0


def test_missed_pairs_estimate_grows_with_pairs_found_once() -> None:
    """Co-occurring errors leave many pairs found by one pass only: the estimate must rise."""
    rng = np.random.default_rng(3)
    easy = np.full(900, 0b1111, np.uint64)  # no error: every pass finds them
    hard = (np.uint64(1) << rng.integers(0, 4, 100).astype(np.uint64)).astype(np.uint64)
    few = estimated_missed_by_blocking(np.concatenate([easy, hard[:10]]), 4)
    many = estimated_missed_by_blocking(np.concatenate([easy, hard]), 4)
    assert many.point > 10 * max(few.point, 0.1)
    assert many.low > 0
