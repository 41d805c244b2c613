"""Quality models for the lattice search: ARX's Loss, non-uniform entropy, discernibility, AECS.

**Loss** is defined exactly as ARX 3.9 (``MetricMDNMLoss`` with its defaults: generalisation /
suppression factor 0.5, geometric mean): for attribute ``d`` at level ``λ``, a record whose
value generalises to label ``g`` costs ``share(g) = |leaves of g| / |hierarchy rows|`` (the
domain share in the hierarchy, not in the data); a suppressed record costs 1 in every attribute.
The per-attribute sum ``S_d`` is normalised as ``(S_d − n/D_d) / (n − n/D_d)`` (``D_d`` the
hierarchy's row count, clamped at 0), and the attributes are aggregated by the shifted geometric
mean ``Π(1 + v_d)^(1/m) − 1``.

**Non-uniform entropy** charges a record ``−log2(f(value) / f(label))`` per attribute, the
frequencies counted in the input; a suppressed record costs as at the top level; summed.
**Discernibility** charges each record the size of its class, a suppressed record the table
size. **AECS** is the average class size, suppressed records forming one class.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

import numpy as np
import numpy.typing as npt

from ansim.disclosure._encoded import Encoded

__all__ = ["QualityModel"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


class QualityModel(Enum):
    """Which quality (utility) model the search minimises."""

    LOSS = "loss"
    ENTROPY = "entropy"
    DISCERNIBILITY = "discernibility"
    AECS = "aecs"


@dataclass(frozen=True, eq=False)
class _Costs:
    """Per-record additive costs ``per_level[d][level][row]`` and their totals per level."""

    per_level: tuple[tuple[FloatArray, ...], ...]
    totals: tuple[FloatArray, ...]  # totals[d][level]: cost of all records, none suppressed


def _costs(encoded: Encoded, model: QualityModel) -> _Costs:
    per_level: list[tuple[FloatArray, ...]] = []
    totals: list[FloatArray] = []
    for d in range(len(encoded.attributes)):
        column = encoded.tuples[:, d]
        levels: list[FloatArray] = []
        if model is QualityModel.LOSS:
            size = float(encoded.domain_sizes[d])
            for lv in range(encoded.heights[d]):
                share = encoded.label_sizes[d][lv] / size
                levels.append(share[encoded.labels[d][lv]])
        else:
            value_freq = np.bincount(
                column, weights=encoded.counts, minlength=encoded.domain_sizes[d]
            )
            for lv in range(encoded.heights[d]):
                ids = encoded.labels[d][lv]
                label_freq = np.bincount(ids, weights=value_freq)
                with np.errstate(divide="ignore", invalid="ignore"):
                    cost = np.where(value_freq > 0, -np.log2(value_freq / label_freq[ids]), 0.0)
                levels.append(cost)
        per_level.append(tuple(levels))
        totals.append(np.array([float(encoded.counts @ c[column]) for c in levels]))
    return _Costs(tuple(per_level), tuple(totals))


class Scorer:
    """Scores nodes of the lattice under one quality model (internal)."""

    def __init__(self, encoded: Encoded, model: QualityModel) -> None:
        """Precompute per-level costs."""
        self.encoded = encoded
        self.model = model
        self.n = float(encoded.records)
        self.additive = model in (QualityModel.LOSS, QualityModel.ENTROPY)
        self.costs = _costs(encoded, model) if self.additive else None

    def _normalise(self, totals: FloatArray, d: int) -> FloatArray:
        if self.model is not QualityModel.LOSS:
            return totals
        low = self.n / self.encoded.domain_sizes[d]
        if self.n - low <= 0:
            return np.zeros_like(totals)
        return np.maximum((totals - low) / (self.n - low), 0.0)

    def aggregate(self, values: Sequence[FloatArray]) -> FloatArray:
        """Combine per-attribute values: ARX's shifted geometric mean for Loss, else a sum."""
        if self.model is QualityModel.LOSS:
            m = len(values)
            out = np.ones_like(values[0])
            for v in values:
                out = out * np.power(v + 1.0, 1.0 / m)
            return np.asarray(out - 1.0)
        return np.asarray(np.sum(values, axis=0))

    def bounds(self, nodes: npt.NDArray[np.int64]) -> FloatArray:
        """A lower bound of the score of every node (exact when nothing is suppressed)."""
        if self.costs is None:
            return np.zeros(len(nodes))
        per_dim = [
            self._normalise(self.costs.totals[d][nodes[:, d]], d) for d in range(nodes.shape[1])
        ]
        return self.aggregate(per_dim)

    def _per_dim(self, levels: Sequence[int], outlier_tuples: BoolArray) -> list[float]:
        """Normalised per-attribute totals with the outlier combinations suppressed."""
        enc = self.encoded
        costs = self.costs
        if costs is None:
            return []
        weights = enc.counts[outlier_tuples]
        suppressed = float(weights.sum())
        out = []
        for d, lv in enumerate(levels):
            column = enc.tuples[outlier_tuples, d]
            removed = float(weights @ costs.per_level[d][lv][column])
            # Loss: a suppressed record costs 1; entropy: it costs as at the top level.
            added = (
                suppressed
                if self.model is QualityModel.LOSS
                else float(weights @ costs.per_level[d][-1][column])
            )
            total = costs.totals[d][lv] - removed + added
            out.append(float(self._normalise(np.array([total]), d)[0]))
        return out

    def score(
        self,
        levels: Sequence[int],
        sizes: FloatArray,
        classes: npt.NDArray[np.int64],
        outlier_tuples: BoolArray,
    ) -> float:
        """The exact score of a node given its classes and which combinations are suppressed."""
        if self.costs is None:
            suppressed = float(self.encoded.counts[outlier_tuples].sum())
            kept = sizes[np.bincount(classes[~outlier_tuples], minlength=len(sizes)) > 0]
            if self.model is QualityModel.DISCERNIBILITY:
                return float((kept**2).sum() + suppressed * self.n)
            n_classes = len(kept) + (1 if suppressed > 0 else 0)
            return self.n / max(n_classes, 1)
        per_dim = [np.array([v]) for v in self._per_dim(levels, outlier_tuples)]
        return float(self.aggregate(per_dim)[0])

    def per_attribute(self, levels: Sequence[int], outlier_tuples: BoolArray) -> list[float]:
        """Per-attribute normalised loss (Loss and entropy models), for the report."""
        return self._per_dim(levels, outlier_tuples)
