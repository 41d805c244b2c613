"""Globally optimal search over the generalisation lattice.

Every node (one level per quasi-identifier) gets a lower bound of its score computed from the
per-attribute marginals alone — for Loss and entropy, the score with nothing suppressed, which
suppression can only raise. Nodes are visited in order of that bound; the search stops as soon
as the next bound exceeds the best score found, so the result is a global optimum. Predictive
tagging: when a node satisfies every model with nothing suppressed, all its successors do too
(the models here are monotone under generalisation without suppression) and their score equals
their bound, so they are scored without grouping.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ansim.disclosure._encoded import Encoded, class_ids
from ansim.disclosure._metrics import QualityModel, Scorer
from ansim.disclosure._models import DistinctLDiversity, KAnonymity, PrivacyModel
from ansim.errors import DisclosureCheckFailed, InvalidSpecError

__all__ = ["SearchResult"]

_MAX_NODES = 5_000_000
_PROJECTION = 3


@dataclass(frozen=True)
class SearchResult:
    """The optimal node found by the search.

    Attributes:
        levels: generalisation level per quasi-identifier, in QI order.
        score: the quality-model score of that node (lower is better).
        suppressed: records suppressed.
        outlier_tuples: for each distinct combination, whether it is suppressed.
        nodes: lattice size.
        checked: nodes grouped (the rest were pruned or tagged).
    """

    levels: tuple[int, ...]
    score: float
    suppressed: int
    outlier_tuples: npt.NDArray[np.bool_]
    nodes: int
    checked: int


@dataclass(frozen=True)
class Evaluation:
    """One node's evaluation (internal)."""

    outliers: int
    outlier_tuples: npt.NDArray[np.bool_]
    classes: npt.NDArray[np.int64]
    sizes: npt.NDArray[np.float64]


def evaluate(encoded: Encoded, levels: Sequence[int], models: Sequence[PrivacyModel]) -> Evaluation:
    """Group the data under ``levels`` and find the records that fail a model."""
    classes, n_classes = class_ids(encoded, levels)
    sizes = np.bincount(classes, weights=encoded.counts, minlength=n_classes).astype(np.float64)
    passing = np.ones(n_classes, dtype=bool)
    for model in models:
        passing &= model.passing(encoded, classes, n_classes, sizes)
    outlier_tuples = ~passing[classes]
    outliers = int(encoded.counts[outlier_tuples].sum())
    return Evaluation(outliers, outlier_tuples, classes, sizes)


def max_outliers(records: int, suppression_limit: float) -> int:
    """Records that may be suppressed: ``floor(limit × n)``, as ARX counts it."""
    if not 0 <= suppression_limit <= 1:
        raise InvalidSpecError(
            f"suppression limit must be a fraction in [0, 1], not {suppression_limit}"
        )
    # The epsilon keeps 0.05 × 30162 from flooring 1508.1 − ε to 1507 on binary doubles.
    return math.floor(suppression_limit * records + 1e-9)


def _monotone(models: Sequence[PrivacyModel], allowed: int) -> bool:
    """Whether a failing node's predecessors fail too (outliers never grow when generalising)."""
    return allowed == 0 or all(isinstance(m, KAnonymity | DistinctLDiversity) for m in models)


def _tag_from_projections(
    *,
    encoded: Encoded,
    models: Sequence[PrivacyModel],
    nodes: npt.NDArray[np.int64],
    heights: npt.NDArray[np.int64],
    allowed: int,
    failing: npt.NDArray[np.bool_],
) -> int:
    """Evaluate the nodes with at most ``_PROJECTION`` attributes below their top level.

    Each is a successor of many nodes; when it fails, so do all its predecessors. Cheap (few
    attributes vary, so few classes) and it rules out most of the lattice's lower part.
    """
    below_top = (nodes < heights - 1).sum(axis=1)
    candidates = np.flatnonzero((below_top <= _PROJECTION) & (below_top > 0))
    # Highest first: a failing high node tags the most.
    candidates = candidates[np.argsort(-nodes[candidates].sum(axis=1), kind="stable")]
    checked = 0
    for index in candidates.tolist():
        if failing[index]:
            continue
        levels = nodes[index]
        checked += 1
        if evaluate(encoded, levels.tolist(), models).outliers > allowed:
            failing |= np.all(nodes <= levels, axis=1)
    return checked


def _lattice(heights: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Every node of the lattice, one row of levels each."""
    total = int(np.prod(heights))
    if total > _MAX_NODES:
        raise InvalidSpecError(
            f"the generalisation lattice has {total:,} nodes (limit {_MAX_NODES:,}); use fewer "
            "quasi-identifiers or shorter hierarchies"
        )
    index = np.arange(total, dtype=np.int64)
    return np.stack(np.unravel_index(index, tuple(heights)), axis=1).astype(np.int64)


@dataclass
class _Walk:
    """State of one search (internal): tags, the best node so far, the work done."""

    nodes: npt.NDArray[np.int64]
    exact: npt.NDArray[np.bool_]  # satisfies the models with nothing suppressed
    failing: npt.NDArray[np.bool_]  # cannot satisfy them within the limit
    best: tuple[float, int, Evaluation | None] | None = None
    checked: int = 0

    def offer(self, score: float, index: int, evaluation: Evaluation | None) -> None:
        """Keep the node if it beats the best so far (ties keep the earlier node)."""
        if self.best is None or score < self.best[0]:
            self.best = (score, index, evaluation)


def _visit(  # noqa: PLR0917 - internal, called once
    walk: _Walk,
    order: npt.NDArray[np.int64],
    bounds: npt.NDArray[np.float64],
    encoded: Encoded,
    models: Sequence[PrivacyModel],
    scorer: Scorer,
    allowed: int,
) -> None:
    """Visit nodes by increasing bound until the bound exceeds the best score."""
    for index in order.tolist():
        bound = float(bounds[index])
        if walk.best is not None and bound > walk.best[0]:
            return
        if walk.failing[index]:
            continue
        if walk.exact[index] and scorer.additive:
            walk.offer(bound, index, None)
            continue
        levels = walk.nodes[index]
        result = evaluate(encoded, levels.tolist(), models)
        walk.checked += 1
        if result.outliers > allowed:
            continue
        if result.outliers == 0:
            walk.exact |= np.all(walk.nodes >= levels, axis=1)
        score = scorer.score(levels.tolist(), result.sizes, result.classes, result.outlier_tuples)
        walk.offer(score, index, result)


def optimal_search(
    encoded: Encoded,
    models: Sequence[PrivacyModel],
    suppression_limit: float,
    quality: QualityModel = QualityModel.LOSS,
) -> SearchResult:
    """Find the node of least score whose failing records fit the suppression limit.

    Raises:
        InvalidSpecError: the lattice is too large to enumerate.
        DisclosureCheckFailed: no node satisfies the models, not even full generalisation.
    """
    heights = np.array(encoded.heights, dtype=np.int64)
    nodes = _lattice(heights)
    scorer = Scorer(encoded, quality)
    bounds = scorer.bounds(nodes)
    # Among equal bounds, prefer less generalisation, then the lexicographically smaller node.
    order = np.lexsort((np.arange(len(nodes)), nodes.sum(axis=1), bounds))
    allowed = max_outliers(encoded.records, suppression_limit)
    walk = _Walk(nodes, np.zeros(len(nodes), dtype=bool), np.zeros(len(nodes), dtype=bool))
    if _monotone(models, allowed):
        walk.checked += _tag_from_projections(
            encoded=encoded,
            models=models,
            nodes=nodes,
            heights=heights,
            allowed=allowed,
            failing=walk.failing,
        )
    _visit(walk, order, bounds, encoded, models, scorer, allowed)
    if walk.best is None:
        raise DisclosureCheckFailed(
            "no generalisation satisfies the privacy models within the suppression limit; "
            "raise the limit or relax the models"
        )
    score, index, evaluation = walk.best
    outlier_tuples = (
        np.zeros(len(encoded.counts), dtype=bool) if evaluation is None
        else evaluation.outlier_tuples
    )  # fmt: skip
    return SearchResult(
        levels=tuple(int(v) for v in nodes[index]),
        score=score,
        suppressed=int(encoded.counts[outlier_tuples].sum()),
        outlier_tuples=outlier_tuples,
        nodes=len(nodes),
        checked=walk.checked,
    )
