"""Scored pairs at the linkage unit: the file, one pair's waterfall, the threshold sweep.

``pairs.parquet`` holds every candidate pair whose match probability reaches a floor, with
its serials and datasets, its match weight and probability and its comparison level on every
compared field (``level_<field>``, ``-1`` where the field is missing). It holds no token,
filter or attribute, and it stays at the linkage unit: only the link map goes to the hub.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from ansim.errors import InvalidSpecError
from ansim.linkage._comparison import FieldComparison
from ansim.linkage._model_file import LinkageModel

__all__ = [
    "PAIRS_FILE",
    "PAIRS_PART",
    "WaterfallStep",
    "level_columns",
    "pairs_table",
    "threshold_sweep",
    "waterfall",
]

PAIRS_FILE = "pairs.parquet"
PAIRS_PART = "linkage-pairs"
"""Schema metadata ``ansim.part`` of a pairs file (so it is never taken for another part)."""
_PAIR_COLUMNS = ("serial_l", "dataset_l", "serial_r", "dataset_r")


def level_columns(comparisons: Sequence[FieldComparison]) -> list[str]:
    """``level_<field>`` per compared field (the full column name where two fields clash).

    Example:
        >>> level_columns([FieldComparison("bf_name"), FieldComparison("token_rrn")])
        ['level_name', 'level_rrn']
    """
    fields = [c.field for c in comparisons]
    return [f"level_{c.field if fields.count(c.field) == 1 else c.column}" for c in comparisons]


def pairs_table(  # noqa: PLR0917 -- the columns of one table
    serials: pa.Array,
    datasets: pa.Array,
    first: npt.NDArray[np.int64],
    second: npt.NDArray[np.int64],
    match_weight: npt.NDArray[np.float32],
    probability: npt.NDArray[np.float32],
    levels: npt.NDArray[np.int8],
    comparisons: Sequence[FieldComparison],
) -> pa.Table:
    """The scored pairs as a table, best first.

    Args:
        serials: Serial of every record (part order).
        datasets: Dataset of every record.
        first: First record of each pair.
        second: Second record of each pair.
        match_weight: Match weight (log2 odds) per pair.
        probability: Match probability per pair.
        levels: Comparison levels ``(pairs, fields)``.
        comparisons: The compared fields (one level column each).

    Returns:
        Columns ``serial_l, dataset_l, serial_r, dataset_r, match_weight, match_probability``
        and ``level_<field>`` per compared field.
    """
    order = np.argsort(-match_weight, kind="stable")
    a, b = pa.array(first[order]), pa.array(second[order])
    columns: dict[str, pa.Array] = {
        "serial_l": pc.take(serials, a),
        "dataset_l": pc.take(datasets, a),
        "serial_r": pc.take(serials, b),
        "dataset_r": pc.take(datasets, b),
        "match_weight": pa.array(match_weight[order].astype(np.float64).round(4)),
        "match_probability": pa.array(probability[order].astype(np.float64).round(6)),
    }
    for f, name in enumerate(level_columns(comparisons)):
        columns[name] = pa.array(levels[order, f], pa.int8())
    return pa.table(columns)


@dataclass(frozen=True)
class WaterfallStep:
    """One bar of a match-weight waterfall.

    Attributes:
        label: ``prior``, a field with its level, or the adjustment for value frequency.
        weight: Its contribution in log2 odds.
        total: The running sum after it.
    """

    label: str
    weight: float
    total: float


def waterfall(pair: dict[str, object], model: LinkageModel) -> list[WaterfallStep]:
    """How one pair's match weight is made: prior, each field's level weight, adjustments.

    The last step (value frequency and dependence) is what the pair's own match weight adds
    beyond the level weights: term-frequency adjustment of exact levels and conditional u
    where the pair agrees on an earlier field. The running total ends at the match weight.

    Args:
        pair: One row of ``pairs.parquet``.
        model: The model that scored it.

    Returns:
        The steps, ending at the pair's match weight.

    Raises:
        InvalidSpecError: The pair's level columns do not fit the model.
    """
    comparisons = model.weights.comparisons
    kind = f"{pair['dataset_l']}~{pair['dataset_r']}"
    prior = model.prior_log2_odds.get(kind, model.prior_log2_odds.get(_flip(kind)))
    steps = []
    total = 0.0
    if prior is not None:
        total = float(prior)
        steps.append(WaterfallStep(f"prior ({kind})", total, total))
    for f, (comparison, column) in enumerate(
        zip(comparisons, level_columns(comparisons), strict=True)
    ):
        if column not in pair:
            raise InvalidSpecError(f"the pairs file has no {column}: was it scored by this model?")
        level = int(pair[column])  # type: ignore[call-overload]
        if level < -1 or level >= comparison.levels:
            raise InvalidSpecError(f"{column} holds level {level}, which the model does not have")
        weight = 0.0 if level < 0 else model.weights.level_weights(f)[level]
        name = "missing" if level < 0 else comparison.level_names[level]
        total += weight
        steps.append(WaterfallStep(f"{comparison.field}: {name}", weight, total))
    final = float(pair["match_weight"])  # type: ignore[arg-type]
    rest = final - total
    steps.append(WaterfallStep("value frequency and dependence", rest, final))
    return steps


def _flip(kind: str) -> str:
    a, b = kind.split("~")
    return f"{b}~{a}"


def threshold_sweep(
    probability: npt.NDArray[np.float32],
    missed: float,
    thresholds: Sequence[float] = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999),
) -> list[dict[str, float]]:
    """Model-expected precision and recall of the pairs at each threshold.

    Precision at ``t`` is the mean match probability of the pairs at or above ``t``; recall
    is their summed probability over the expected true pairs (all candidates' summed
    probability plus the pairs blocking is estimated to miss). It is what the model expects,
    before clustering or 1-to-1 assignment.

    Example:
        >>> sweep = threshold_sweep(np.array([0.99, 0.9, 0.6, 0.1], np.float32), 0.0, (0.5, 0.95))
        >>> [(s["threshold"], s["pairs"], round(s["precision"], 3)) for s in sweep]
        [(0.5, 3, 0.83), (0.95, 1, 0.99)]
    """
    p = probability.astype(np.float64)
    expected = float(p.sum()) + missed
    out = []
    for t in thresholds:
        above = p[p >= np.float32(t)]
        out.append(
            {
                "threshold": float(t),
                "pairs": int(above.size),
                "precision": round(float(above.mean()), 6) if above.size else 1.0,
                "recall": round(float(above.sum()) / expected, 6) if expected else 1.0,
            }
        )
    return out
