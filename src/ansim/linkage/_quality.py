"""Linkage quality against known true links (pairwise precision, recall and F1)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["PairwiseQuality", "pairwise_quality", "quality_against_truth"]


@dataclass(frozen=True)
class PairwiseQuality:
    """Pairwise linkage quality: every pair of records put in one person counts once.

    Pairs within one source (duplicates) count as well as pairs across sources.
    """

    true_pairs: int
    predicted_pairs: int
    true_positives: int

    @property
    def precision(self) -> float:
        """Share of predicted pairs that are true."""
        return self.true_positives / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        """Share of true pairs that were predicted."""
        return self.true_positives / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def _pairs(table: pa.Table, keys: list[str]) -> int:
    counts = table.group_by(keys).aggregate([([], "count_all")])["count_all"].to_numpy()
    return int((counts * (counts - 1) // 2).sum())


def pairwise_quality(predicted: pa.Table, truth: pa.Table) -> PairwiseQuality:
    """Compare a predicted clustering with the true one.

    Args:
        predicted: Columns ``key`` (record) and ``cluster``.
        truth: Columns ``key`` and ``entity``. Records missing from ``predicted`` (for example
            quarantined at ingest) count as unlinked.

    Returns:
        Pair counts, from which precision, recall and F1 follow.

    Example:
        >>> pred = pa.table({"key": ["a", "b", "c"], "cluster": [1, 1, 2]})
        >>> true = pa.table({"key": ["a", "b", "c"], "entity": [7, 8, 8]})
        >>> q = pairwise_quality(pred, true)
        >>> (q.true_pairs, q.predicted_pairs, q.true_positives)
        (1, 1, 0)
    """
    joined = truth.join(predicted, "key", join_type="left outer")
    missing = pc.is_null(joined["cluster"])
    # An unpredicted record is its own cluster: give it a cluster no other record has.
    own = pc.binary_join_element_wise(pa.scalar("\x00missing:"), joined["key"], "")
    cluster = pc.if_else(missing, own, pc.cast(joined["cluster"], pa.string()))
    joined = pa.table({"entity": joined["entity"], "cluster": cluster})
    return PairwiseQuality(
        true_pairs=_pairs(joined, ["entity"]),
        predicted_pairs=_pairs(joined, ["cluster"]),
        true_positives=_pairs(joined, ["entity", "cluster"]),
    )


def _keys(dataset: pa.Array, record_id: pa.Array) -> pa.Array:
    return pc.binary_join_element_wise(dataset, record_id, "\x1f")


def quality_against_truth(
    linkmap: pa.Table, serial_maps: Mapping[str, pa.Table], truth: pa.Table
) -> PairwiseQuality:
    """Evaluate a link map with the custodians' serial maps and the true links.

    Only an evaluator who holds all three can do this (the demo world, a benchmark); no party
    of a real deployment does.

    Args:
        linkmap: Columns ``serial``, ``dataset``, ``person_id``.
        serial_maps: Per dataset, columns ``record_id``, ``serial``.
        truth: Columns ``dataset``, ``record_id``, ``person_id``.

    Returns:
        Pairwise quality over every record in ``truth``.
    """
    located = pa.concat_tables(
        [
            m.select(["record_id", "serial"]).append_column(
                "dataset", pa.array([name] * m.num_rows, pa.string())
            )
            for name, m in serial_maps.items()
        ]
    ).join(linkmap.select(["serial", "dataset", "person_id"]), ["serial", "dataset"])
    predicted = pa.table(
        {
            "key": _keys(located["dataset"], located["record_id"]),
            "cluster": located["person_id"],
        }
    )
    true = pa.table(
        {
            "key": _keys(truth["dataset"], pc.cast(truth["record_id"], pa.string())),
            "entity": truth["person_id"],
        }
    )
    return pairwise_quality(predicted, true)
