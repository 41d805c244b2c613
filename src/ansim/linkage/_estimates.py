"""Linkage quality without labels: what the model itself says about its links."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from ansim.linkage._probabilistic import ScoredPairs

__all__ = ["estimated_missed_by_blocking", "quality_estimates"]

_HISTOGRAM_EDGES = tuple(range(-40, 52, 4))


def estimated_missed_by_blocking(passes: npt.NDArray[np.uint64], count: int) -> float:
    """Estimated true pairs that no blocking pass generated.

    Among the accepted pairs, the share each pass did not generate estimates how often that
    pass misses a true pair; assuming passes miss independently, a true pair is missed by
    all of them with the product of those shares. Passes that share fields are not
    independent, so read this as an order of magnitude.

    Args:
        passes: For each accepted pair, the bit set of the passes that generated it.
        count: Number of blocking passes.

    Returns:
        The estimated number of true pairs missed.

    Example:
        >>> round(estimated_missed_by_blocking(np.array([1, 2, 3, 3], np.uint64), 2), 3)
        0.267
    """
    if passes.size == 0 or count == 0:
        return 0.0
    miss = 1.0
    for k in range(count):
        found = (passes >> np.uint64(k)) & np.uint64(1)
        miss *= 1.0 - float(found.mean())
    return passes.size * miss / (1.0 - miss) if miss < 1.0 else float("inf")


def quality_estimates(
    scored: ScoredPairs, keep: npt.NDArray[np.bool_], accepted: npt.NDArray[np.int64]
) -> dict[str, object]:
    """Estimated precision and recall of the links, the blocking report and weight histogram.

    Precision is the mean match probability of the links; recall is their summed probability
    over the expected number of true pairs (summed probability of every candidate pair plus
    the pairs blocking is estimated to have missed). Fuzzy linkage has no probabilities, so
    only counts and the score distribution are given.

    Args:
        scored: Scored candidate pairs.
        keep: Among accepted pairs, those kept as links.
        accepted: Indices of accepted pairs among the candidates.

    Returns:
        A counts-only dictionary (key ``blocking`` holds the blocking report).
    """
    candidates = scored.candidates
    links = accepted[keep]
    missed = estimated_missed_by_blocking(candidates.passes[links], len(candidates.report))
    blocking = {
        "passes": [
            {
                "rule": p.rule,
                "pairs": p.pairs,
                "skipped_blocks": p.skipped_blocks,
                "over_budget": p.over_budget,
            }
            for p in candidates.report
        ],
        "candidate_pairs": candidates.size,
        "estimated_true_pairs_missed": round(missed, 1),
    }
    out: dict[str, object] = {"blocking": blocking, "links": int(links.size)}
    if scored.probability is not None:
        p = scored.probability.astype(np.float64)
        expected = float(p.sum()) + missed
        out["estimated_precision"] = round(float(p[links].mean()), 6) if links.size else 1.0
        out["estimated_recall"] = round(float(p[links].sum()) / expected, 6) if expected else 1.0
        edges = np.asarray(_HISTOGRAM_EDGES, np.float64)
        clipped = np.clip(scored.match_weight, edges[0], edges[-1] - 1e-3)
        counts, _ = np.histogram(clipped, edges)
        out["match_weight_histogram"] = {
            f"[{lo},{hi})": int(c)
            for lo, hi, c in zip(edges[:-1].astype(int), edges[1:].astype(int), counts, strict=True)
        }
    else:
        counts, edges = np.histogram(scored.match_weight, np.linspace(0, 1, 11))
        out["dice_histogram"] = {
            f"[{lo:.1f},{hi:.1f})": int(c)
            for lo, hi, c in zip(edges[:-1], edges[1:], counts, strict=True)
        }
    return out
