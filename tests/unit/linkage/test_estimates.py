"""Label-free false-link estimates at the cluster level."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansim.linkage import (
    ACROSS_SOURCES,
    ACROSS_SOURCES_POINT,
    OVERCONFIDENCE,
    WITHIN_SOURCE,
    BlockingPass,
    CandidatePairs,
    ScoredPairs,
    cluster_doubt,
    estimated_missed_by_blocking,
    false_links,
    quality_estimates,
    source_doubt,
    within_source_factor,
)


def test_a_cluster_is_judged_by_its_least_likely_pair_inside_it() -> None:
    # records 0, 1, 2 form one cluster by links 0-1 and 1-2; 0-2 was scored low (twins)
    labels = np.array([0, 0, 0, 1, 1, 2])
    first, second = np.array([0, 1, 0, 3, 2]), np.array([1, 2, 2, 4, 5])
    p = np.array([0.99, 0.98, 0.2, 0.999, 0.1])
    doubt = cluster_doubt(labels, first, second, p)
    np.testing.assert_allclose(doubt, [0.8, 0.001, 0.0])  # the 2-5 pair joins no cluster


def test_no_doubt_is_no_false_link() -> None:
    estimate = false_links(np.zeros(5))
    assert (estimate.point, estimate.low, estimate.high) == (0.0, 0.0, 0.0)


def test_interval_holds_the_point_and_grows_with_doubt() -> None:
    small = false_links(np.full(1000, 0.001))
    large = false_links(np.full(1000, 0.01))
    for estimate in (small, large):
        assert estimate.low <= estimate.point <= estimate.high
    assert large.point > small.point and large.high > small.high
    assert large.high <= 1000  # never more false links than doubtful clusters


def test_interval_covers_worlds_with_any_factor_in_the_stated_ranges() -> None:
    """Simulated worlds: a cluster is false with probability k x its doubt, k per kind."""
    rng = np.random.default_rng(15)
    for k_within, k_across in [(WITHIN_SOURCE[0], ACROSS_SOURCES[0]),
                               (WITHIN_SOURCE[1], ACROSS_SOURCES[1]),
                               (WITHIN_SOURCE[0], ACROSS_SOURCES[1]),
                               (WITHIN_SOURCE[1], ACROSS_SOURCES[0])]:  # fmt: skip
        covered = 0
        for _ in range(200):
            across = rng.beta(0.2, 60.0, size=3000)  # most clusters nearly sure, a few not
            within = np.where(rng.random(3000) < 0.05, rng.beta(0.2, 20.0, size=3000), 0.0)
            chance = np.minimum(1.0, np.maximum(k_within * within, k_across * across))
            false = int((rng.random(chance.size) < chance).sum())
            estimate = false_links(within, across)
            covered += estimate.low <= false <= estimate.high
        assert covered >= 0.9 * 200, (k_within, k_across, covered)


def test_pairs_within_one_source_weigh_more_than_pairs_across() -> None:
    # cluster 0: records 0 (source 0), 1 and 2 (source 1); the 1-2 pair within source 1
    labels, source = np.array([0, 0, 0, 1, 1]), np.array([0, 1, 1, 0, 1])
    first, second = np.array([0, 0, 1, 3]), np.array([1, 2, 2, 4])
    within, across = source_doubt(labels, first, second, np.array([0.99, 0.98, 0.9, 0.9]), source)
    np.testing.assert_allclose(within, [0.1, 0.0])
    np.testing.assert_allclose(across, [0.02, 0.1])
    split = false_links(within, across)
    judged_across = false_links(np.maximum(within, across))  # sources unknown
    k_within = np.sqrt(np.prod(WITHIN_SOURCE))
    assert split.point == pytest.approx(min(1.0, k_within * 0.1) + ACROSS_SOURCES_POINT * 0.1)
    assert split.point > judged_across.point


def test_a_pair_joined_through_a_third_record_is_not_missed() -> None:
    # 0-1 and 1-2 are links; 0-2 scored 0.4 is joined through 1; 3-4 scored 0.6 stays apart
    first, second = np.array([0, 1, 0, 3]), np.array([1, 2, 2, 4])
    p = np.array([0.99, 0.99, 0.4, 0.6], np.float32)
    candidates = CandidatePairs(
        first, second, np.full(4, 3, np.uint64), (BlockingPass("a", 4, 0), BlockingPass("b", 4, 0))
    )
    scored = ScoredPairs(candidates, np.zeros(4, np.float32), p >= 0.9, p)
    labels = np.array([0, 0, 0, 1, 2])
    source = np.array([0, 1, 0, 0, 1])  # records 0 and 2 of one dataset
    estimates = quality_estimates(
        scored, np.array([True, True]), np.array([0, 1]), labels, source=source
    )
    missed = estimates["missed_links"]
    scale = np.sqrt(np.prod(OVERCONFIDENCE))
    assert missed["point"] == round(0.6 * scale, 1)  # only the 3-4 pair, not the 0-2 pair
    assert missed["low"] <= missed["point"] <= missed["high"]
    false = estimates["false_links"]
    # the cluster {0, 1, 2} is doubted by its implied pair scored 0.4 (within one source, so
    # by the within-source factor of a run of 5 records), not by its links (0.99)
    assert false["point"] == round(min(1.0, 0.6 * within_source_factor(5)), 1)
    assert estimates["false_links_within_source"]["point"] == false["point"]
    assert estimates["model_expected_false_links"] == 0.02


def test_blocking_interval_holds_pairs_lost_when_errors_co_occur() -> None:
    """Pairs differ in how easily each pass finds them; Chao's lower bound alone says 0."""
    rng = np.random.default_rng(7)
    passes, covered, chao_covered = 12, 0, 0
    for _ in range(100):
        ease = rng.beta(2.0, 0.4, size=3000)  # most pairs found by nearly every pass
        hits = rng.random((3000, passes)) < ease[:, None]
        bits = (hits * (np.uint64(1) << np.arange(passes, dtype=np.uint64))).sum(axis=1)
        found = bits[hits.any(axis=1)].astype(np.uint64)
        lost = int((~hits.any(axis=1)).sum())
        estimate = estimated_missed_by_blocking(found, passes)
        covered += estimate.low <= lost <= estimate.high
        chao_covered += lost <= estimate.point * 2
    assert covered >= 90, covered
    assert chao_covered < covered  # the point stays a lower bound: the upper end does the work


_doubts = st.lists(st.floats(0.0, 1.0), min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(_doubts, _doubts)
def test_false_link_interval_is_ordered_and_bounded_by_doubtful_clusters(
    within: list[float], across: list[float]
) -> None:
    size = min(len(within), len(across))
    w, a = np.array(within[:size]), np.array(across[:size])
    estimate = false_links(w, a)
    assert 0.0 <= estimate.low <= estimate.point <= estimate.high
    assert estimate.high <= int(((w > 0) | (a > 0)).sum())
    more = false_links(np.minimum(1.0, w * 2), a)  # more doubt never lowers the point
    assert more.point >= estimate.point - 1e-9


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_the_two_doubts_split_the_cluster_doubt(seed: int) -> None:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 6, size=20)
    source = rng.integers(0, 3, size=20)
    first, second = rng.integers(0, 20, size=30), rng.integers(0, 20, size=30)
    p = rng.random(30)
    within, across = source_doubt(labels, first, second, p, source)
    np.testing.assert_allclose(np.maximum(within, across), cluster_doubt(labels, first, second, p))


def test_the_within_source_point_factor_falls_with_the_run_size() -> None:
    """The same doubt weighs more in a small run, whose prior is larger (docs/benchmarks.md)."""
    within, across = np.array([0.01, 0.0]), np.array([0.0, 0.001])
    small, large = (false_links(within, across, records=n) for n in (5_000, 500_000))
    assert small.point > large.point
    assert within_source_factor(10) == WITHIN_SOURCE[1]  # kept inside the interval's range
    assert within_source_factor(10**7) == WITHIN_SOURCE[0]
    for estimate in (small, large):  # the interval does not depend on the size
        assert (estimate.low, estimate.high) == (small.low, small.high)


def test_one_dataset_judges_its_pairs_alike() -> None:
    """Deduplicating one dataset: its duplicates are not false merges beside another source."""
    first, second = np.array([0, 2]), np.array([1, 3])
    p = np.array([0.95, 0.95], np.float32)
    candidates = CandidatePairs(
        first, second, np.full(2, 3, np.uint64), (BlockingPass("a", 2, 0), BlockingPass("b", 2, 0))
    )
    scored = ScoredPairs(candidates, np.zeros(2, np.float32), p >= 0.9, p)
    labels, keep, accepted = np.array([0, 0, 1, 1]), np.array([True, True]), np.array([0, 1])
    one = quality_estimates(scored, keep, accepted, labels, source=np.zeros(4, np.int64))
    assert one["false_links"]["point"] == round(2 * 0.05 * ACROSS_SOURCES_POINT, 1)
    assert one["false_links_within_source"]["point"] == 0.0
    two = quality_estimates(scored, keep, accepted, labels, source=np.array([0, 0, 1, 1]))
    assert two["false_links"]["point"] > one["false_links"]["point"]
