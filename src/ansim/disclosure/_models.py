"""Privacy models: which equivalence classes satisfy them.

Each model looks at the classes of one generalisation (their sizes and, for the l-diversity
and t-closeness family, the distribution of the sensitive attribute inside them) and says which
classes pass. Records of failing classes are suppressed, within the suppression limit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ansim.disclosure._encoded import Encoded, IntArray
from ansim.disclosure._hierarchy import Hierarchy
from ansim.errors import InvalidSpecError

__all__ = [
    "DistinctLDiversity",
    "EntropyLDiversity",
    "KAnonymity",
    "PrivacyModel",
    "RecursiveCLDiversity",
    "TCloseness",
]

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]


_DENSE_LIMIT = 50_000_000  # class × value cells for the dense matrix (hierarchical EMD)


def _sensitive(encoded: Encoded) -> IntArray:
    if encoded.sensitive is None:
        raise InvalidSpecError("this privacy model needs a sensitive attribute; name one")
    return encoded.sensitive


@dataclass(frozen=True, eq=False)
class _Pairs:
    """Records per present (class, sensitive value) pair, by class, largest count first."""

    cls: IntArray
    value: IntArray
    count: FloatArray
    rank: IntArray  # position of the pair within its class (0 = most frequent value)


def _pairs(encoded: Encoded, classes: IntArray) -> _Pairs:
    sensitive = _sensitive(encoded)
    width = len(encoded.sensitive_values)
    keys, inverse = np.unique(classes * width + sensitive, return_inverse=True)
    count = np.bincount(inverse.reshape(-1), weights=encoded.counts).astype(np.float64)
    cls, value = np.divmod(keys, width)
    order = np.lexsort((-count, cls))
    cls, value, count = cls[order], value[order], count[order]
    starts = np.flatnonzero(np.r_[True, cls[1:] != cls[:-1]])
    first = np.repeat(starts, np.diff(np.r_[starts, len(cls)]))
    return _Pairs(cls, value, count, np.arange(len(cls)) - first)


def _sensitive_counts(encoded: Encoded, classes: IntArray, n_classes: int) -> FloatArray:
    """Records per (class, sensitive value): a dense ``n_classes × values`` matrix."""
    width = len(encoded.sensitive_values)
    if n_classes * width > _DENSE_LIMIT:
        raise InvalidSpecError(
            "hierarchical t-closeness over this many classes and sensitive values needs too "
            "much memory; use equal-distance t-closeness or fewer sensitive values"
        )
    flat = np.bincount(
        classes * width + _sensitive(encoded), weights=encoded.counts, minlength=n_classes * width
    )
    return np.asarray(flat.reshape(n_classes, width), dtype=np.float64)


@dataclass(frozen=True)
class KAnonymity:
    """Every class holds at least ``k`` records.

    Example:
        >>> KAnonymity(5).k
        5
    """

    k: int

    def __post_init__(self) -> None:
        """Check k."""
        if self.k < 1:
            raise InvalidSpecError(f"k must be at least 1, not {self.k}")

    needs_sensitive = False

    def passing(
        self, encoded: Encoded, classes: IntArray, n_classes: int, sizes: FloatArray
    ) -> BoolArray:
        """Classes of at least k records."""
        del encoded, classes, n_classes
        return sizes >= self.k


@dataclass(frozen=True)
class DistinctLDiversity:
    """Every class holds at least ``l`` distinct sensitive values."""

    l: int  # noqa: E741 - the model's own name for it

    def __post_init__(self) -> None:
        """Check l."""
        if self.l < 1:
            raise InvalidSpecError(f"l must be at least 1, not {self.l}")

    needs_sensitive = True

    def passing(
        self, encoded: Encoded, classes: IntArray, n_classes: int, sizes: FloatArray
    ) -> BoolArray:
        """Classes with at least l distinct sensitive values."""
        del sizes
        pairs = _pairs(encoded, classes)
        return np.asarray(np.bincount(pairs.cls, minlength=n_classes) >= self.l)


@dataclass(frozen=True)
class EntropyLDiversity:
    """The entropy of every class's sensitive values is at least ``log(l)``."""

    l: float  # noqa: E741 - the model's own name for it

    def __post_init__(self) -> None:
        """Check l."""
        if not self.l >= 1:
            raise InvalidSpecError(f"l must be at least 1, not {self.l}")

    needs_sensitive = True

    def passing(
        self, encoded: Encoded, classes: IntArray, n_classes: int, sizes: FloatArray
    ) -> BoolArray:
        """Classes whose sensitive-value entropy reaches log(l)."""
        pairs = _pairs(encoded, classes)
        p = pairs.count / sizes[pairs.cls]
        entropy = np.bincount(pairs.cls, weights=-p * np.log(p), minlength=n_classes)
        # A small tolerance: l distinct equally frequent values give exactly log(l).
        return np.asarray(entropy >= math.log(self.l) - 1e-12)


@dataclass(frozen=True)
class RecursiveCLDiversity:
    """Recursive (c,l)-diversity: ``r1 < c · (r_l + … + r_m)`` with ``r`` sorted descending."""

    c: float
    l: int  # noqa: E741 - the model's own name for it

    def __post_init__(self) -> None:
        """Check c and l."""
        if not self.c > 0:
            raise InvalidSpecError(f"c must be positive, not {self.c}")
        if self.l < 2:  # noqa: PLR2004 - the definition needs a second value
            raise InvalidSpecError(f"l must be at least 2 for recursive diversity, not {self.l}")

    needs_sensitive = True

    def passing(
        self, encoded: Encoded, classes: IntArray, n_classes: int, sizes: FloatArray
    ) -> BoolArray:
        """Classes meeting the recursive (c,l) condition."""
        del sizes
        pairs = _pairs(encoded, classes)
        largest = np.bincount(
            pairs.cls, weights=np.where(pairs.rank == 0, pairs.count, 0.0), minlength=n_classes
        )
        tail = np.bincount(
            pairs.cls,
            weights=np.where(pairs.rank >= self.l - 1, pairs.count, 0.0),
            minlength=n_classes,
        )
        distinct = np.bincount(pairs.cls, minlength=n_classes)
        return np.asarray((distinct >= self.l) & (largest < self.c * tail))


@dataclass(frozen=True)
class TCloseness:
    """t-closeness: each class's sensitive values are within EMD ``t`` of the whole table's.

    The ground distance is equal (all values 1 apart) or, when ``hierarchy`` is given,
    hierarchical (Li et al.: a value pair costs the height of its lowest common ancestor).
    """

    t: float
    hierarchy: Hierarchy | None = None

    def __post_init__(self) -> None:
        """Check t."""
        if not 0 <= self.t <= 1:
            raise InvalidSpecError(f"t must be in [0, 1], not {self.t}")

    def __repr__(self) -> str:
        """Short form for reports: the distance named, the hierarchy's values left out."""
        distance = "equal" if self.hierarchy is None else "hierarchical"
        return f"TCloseness(t={self.t}, distance={distance})"

    needs_sensitive = True

    def distances(self, encoded: Encoded, classes: IntArray, n_classes: int) -> FloatArray:
        """The earth mover's distance of every class."""
        width = len(encoded.sensitive_values)
        overall = np.bincount(_sensitive(encoded), weights=encoded.counts, minlength=width)
        q = overall / overall.sum()
        if self.hierarchy is None:
            # 0.5 · Σ|p − q| = 0.5 · (1 + Σ over present values of (|p − q| − q)).
            pairs = _pairs(encoded, classes)
            sizes = np.bincount(pairs.cls, weights=pairs.count, minlength=n_classes)
            p = pairs.count / sizes[pairs.cls]
            qv = q[pairs.value]
            present = np.bincount(pairs.cls, weights=np.abs(p - qv) - qv, minlength=n_classes)
            return np.asarray(0.5 * (1.0 + present))
        counts = _sensitive_counts(encoded, classes, n_classes)
        p = counts / np.maximum(counts.sum(axis=1), 1.0)[:, None]
        return _hierarchical_emd(p - q, encoded.sensitive_values, self.hierarchy)

    def passing(
        self, encoded: Encoded, classes: IntArray, n_classes: int, sizes: FloatArray
    ) -> BoolArray:
        """Classes within distance t."""
        del sizes
        return np.asarray(self.distances(encoded, classes, n_classes) <= self.t + 1e-12)


def _hierarchical_emd(diff: FloatArray, values: Sequence[str], h: Hierarchy) -> FloatArray:
    """Li et al.'s hierarchical EMD: per inner node, min(positive, negative extra) × height."""
    top = h.height - 1
    if top < 1:
        return np.zeros(diff.shape[0])
    rows = []
    for value in values:
        position = h.position(value)
        if position is None:
            h.label(value, 0)  # raises the clear error
        rows.append(h.rows[position or 0])
    cost = np.zeros(diff.shape[0])
    for level in range(1, top + 1):
        child_labels = sorted({r[level - 1] for r in rows})
        parent_labels = sorted({r[level] for r in rows})
        if level > 1:
            child_of_value = [child_labels.index(r[level - 1]) for r in rows]
        else:
            child_of_value = list(range(len(rows)))
            child_labels = list(values)
        child_extra = np.zeros((diff.shape[0], len(child_labels)))
        np.add.at(child_extra.T, np.array(child_of_value), diff.T)
        parent_of_child = {}
        for r, c in zip(rows, child_of_value, strict=True):
            parent_of_child[c] = parent_labels.index(r[level])
        parents = np.array([parent_of_child[c] for c in range(len(child_labels))])
        positive = np.zeros((diff.shape[0], len(parent_labels)))
        negative = np.zeros_like(positive)
        np.add.at(positive.T, parents, np.maximum(child_extra, 0).T)
        np.add.at(negative.T, parents, np.maximum(-child_extra, 0).T)
        cost += (np.minimum(positive, negative) * (level / top)).sum(axis=1)
    return cost


PrivacyModel = (
    KAnonymity | DistinctLDiversity | EntropyLDiversity | RecursiveCLDiversity | TCloseness
)
