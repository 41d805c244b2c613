"""Fellegi–Sunter model on comparison levels: m by EM, u from random pairs, match weights.

The match weight of a pair is ``log2`` of its Bayes factor, summed over fields:
``Σ_f log2(m_f[level] / u_f[level])`` (missing fields add 0). Where a field matches exactly
and term-frequency adjustment is on, ``u`` is scaled by how common the value is, so a common
name counts for less than a rare one. Identifiers are not independent among non-matches (an
RRN holds the birth date, twins share a birth date and similar RRNs), so where a pair agrees
exactly on an earlier field ``g``, field ``f`` uses ``u`` estimated among pairs agreeing on
``g`` if that is larger (the chain rule ``u(g, f) = u(g) · u(f | g)``, taken conservatively).
Adding the prior log-odds of the
pair's kind (which datasets it joins) gives the log-odds that the pair is a match.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from ansim.errors import InvalidSpecError
from ansim.linkage._comparison import FieldComparison

__all__ = [
    "FellegiSunterModel",
    "estimate_m_by_em",
    "estimate_u",
    "monotone_m",
    "monotone_u",
    "pattern_counts",
]

LevelArray = npt.NDArray[np.int8]
FloatArray = npt.NDArray[np.float64]
_FLOOR = 1e-9  # smallest probability a level is given (log of zero is no evidence)


def _normalised(values: npt.ArrayLike) -> tuple[float, ...]:
    array = np.maximum(np.asarray(values, np.float64), _FLOOR)
    return tuple((array / array.sum()).tolist())


@dataclass(frozen=True)
class FellegiSunterModel:
    """m and u probabilities of every comparison level, and how they were estimated.

    Attributes:
        comparisons: The fields compared.
        m: Per field, the probability of each level among true matches.
        u: Per field, the probability of each level among non-matches.
        training: How the parameters were estimated (counts and sessions, no values).
        u_given: ``(g, f, u)``: u of field ``f`` among non-matches agreeing exactly on an
            earlier field ``g``; where a pair agrees on such fields, ``f`` uses the largest of
            their u and its own.

    Example:
        >>> model = FellegiSunterModel((FieldComparison("token_rrn", (1.0,)),),
        ...     m=((0.99, 0.01),), u=((0.001, 0.999),))
        >>> [round(w, 2) for w in model.level_weights(0)]
        [9.95, -6.64]
    """

    comparisons: tuple[FieldComparison, ...]
    m: tuple[tuple[float, ...], ...]
    u: tuple[tuple[float, ...], ...]
    training: dict[str, object] = field(default_factory=dict)
    u_given: tuple[tuple[int, int, tuple[float, ...]], ...] = ()

    def __post_init__(self) -> None:
        for name, table in (("m", self.m), ("u", self.u)):
            if len(table) != len(self.comparisons):
                raise InvalidSpecError(f"{name} needs one row per compared field")
            for comparison, row in zip(self.comparisons, table, strict=True):
                if len(row) != comparison.levels:
                    raise InvalidSpecError(
                        f"{name} of {comparison.column} needs {comparison.levels} levels"
                    )
                if any(not 0.0 < p <= 1.0 for p in row) or abs(sum(row) - 1.0) > 1e-6:  # noqa: PLR2004
                    raise InvalidSpecError(
                        f"{name} of {comparison.column} must be probabilities summing to 1"
                    )

        for g, f, row in self.u_given:
            if not 0 <= g < f < len(self.comparisons) or len(row) != self.comparisons[f].levels:
                raise InvalidSpecError("u_given needs an earlier field g, a later f and f's levels")

    def level_weights(self, f: int, u: Sequence[float] | None = None) -> list[float]:
        """``log2(m/u)`` of each level of field ``f`` (``u``: a conditional u to use)."""
        row = self.u[f] if u is None else u
        return [float(np.log2(m / v)) for m, v in zip(self.m[f], row, strict=True)]

    def field_weights(
        self, levels: LevelArray, exact_share: Sequence[FloatArray | None] | None = None
    ) -> npt.NDArray[np.float32]:
        """Each pair's weight from each field: ``(pairs, fields)``, 0 where missing.

        Args:
            levels: Comparison levels ``(pairs, fields)``.
            exact_share: Per field, for term-frequency adjustment, the share of records
                holding the pair's value (used where the level is exact), or ``None``.

        Returns:
            Per-field weights, whose row sums are the match weights.
        """
        out = np.zeros(levels.shape, np.float32)
        for f in range(len(self.comparisons)):
            level = levels[:, f]
            present = level >= 0
            u = np.asarray(self.u[f])[np.maximum(level, 0)]
            for g, child, row in self.u_given:
                if child == f:
                    # where the pair agrees on earlier fields, the largest u among theirs:
                    # dependent evidence is counted once, never stacked
                    given = levels[:, g] == 0
                    u[given] = np.maximum(u[given], np.asarray(row)[np.maximum(level[given], 0)])
            share = None if exact_share is None else exact_share[f]
            if share is not None and self.comparisons[f].term_frequency:
                exact = level == 0
                # u of agreeing on this very value: its share of records, scaled as above
                u[exact] = share[exact] * (u[exact] / self.u[f][0])
            m = np.asarray(self.m[f])[np.maximum(level, 0)]
            weight = np.log2(m / np.clip(u, _FLOOR, 1.0))
            out[:, f] = np.where(present, weight, 0.0).astype(np.float32)
        return out

    def to_json(self) -> str:
        """The model as JSON (round-trips through :meth:`from_json`)."""
        data = {
            "comparisons": [
                {"column": c.column, "bands": list(c.bands), "term_frequency": c.term_frequency}
                for c in self.comparisons
            ],
            "m": [list(r) for r in self.m],
            "u": [list(r) for r in self.u],
            "training": self.training,
            "u_given": [[g, f, list(row)] for g, f, row in self.u_given],
        }
        return json.dumps(data, indent=2)

    @classmethod
    def from_json(cls, text: str) -> FellegiSunterModel:
        """A model from :meth:`to_json` output.

        Raises:
            InvalidSpecError: The JSON does not describe a model.
        """
        try:
            data = json.loads(text)
            comparisons = tuple(
                FieldComparison(c["column"], tuple(c["bands"]), bool(c["term_frequency"]))
                for c in data["comparisons"]
            )
            return cls(
                comparisons,
                tuple(tuple(float(p) for p in r) for r in data["m"]),
                tuple(tuple(float(p) for p in r) for r in data["u"]),
                dict(data.get("training", {})),
                tuple(
                    (int(g), int(f), tuple(float(p) for p in row))
                    for g, f, row in data.get("u_given", [])
                ),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise InvalidSpecError(f"not a Fellegi–Sunter model: {e}") from e


def _violator_blocks(m: FloatArray, u: FloatArray) -> list[tuple[int, int]]:
    """Pool adjacent violators: blocks of levels whose pooled ratios ``Σm / Σu`` descend."""
    blocks: list[tuple[int, int, float, float]] = []  # start, end, Σm, Σu
    for k in range(m.size):
        blocks.append((k, k + 1, float(m[k]), float(u[k])))
        # merge while an earlier block's ratio is below a later one's (cross-multiplied)
        while len(blocks) > 1 and blocks[-2][2] * blocks[-1][3] < blocks[-1][2] * blocks[-2][3]:
            last, before = blocks.pop(), blocks.pop()
            blocks.append((before[0], last[1], before[2] + last[2], before[3] + last[3]))
    return [(int(b[0]), int(b[1])) for b in blocks]


def monotone_m(m: Sequence[float], u: Sequence[float]) -> tuple[float, ...]:
    """M adjusted so ``m/u`` never rises from a level to the next (less similar) one.

    Levels are ordinal: a closer Dice band must never weigh less than a farther one. Where
    the estimate says otherwise (sampling noise, a sparse level), adjacent levels are pooled
    (the pool-adjacent-violators algorithm): inside a pool ``m`` is proportional to ``u``,
    so every pooled level gets the pool's weight, and the pool keeps its total ``m``.

    Example:
        >>> [round(p, 3) for p in monotone_m([0.5, 0.1, 0.3, 0.1], [0.01, 0.01, 0.01, 0.97])]
        [0.5, 0.2, 0.2, 0.1]
    """
    mm, uu = np.asarray(m, np.float64), np.asarray(u, np.float64)
    out = mm.copy()
    for start, end in _violator_blocks(mm, uu):
        if end - start > 1:
            out[start:end] = mm[start:end].sum() * uu[start:end] / uu[start:end].sum()
    return _normalised(out)


def monotone_u(m: Sequence[float], u: Sequence[float]) -> tuple[float, ...]:
    """U adjusted (pooled like :func:`monotone_m`) so ``m/u`` never rises with the level.

    Used for a conditional u, whose m is shared with the unconditional one.

    Example:
        >>> [round(p, 3) for p in monotone_u([0.5, 0.2, 0.2, 0.1], [0.01, 0.02, 0.01, 0.96])]
        [0.01, 0.015, 0.015, 0.96]
    """
    mm, uu = np.asarray(m, np.float64), np.asarray(u, np.float64)
    out = uu.copy()
    for start, end in _violator_blocks(mm, uu):
        if end - start > 1:
            out[start:end] = uu[start:end].sum() * mm[start:end] / mm[start:end].sum()
    return _normalised(out)


def estimate_u(
    levels: LevelArray, comparisons: Sequence[FieldComparison]
) -> tuple[tuple[float, ...], ...]:
    """U probabilities from the levels of random record pairs (nearly all non-matches).

    Args:
        levels: Levels of random pairs ``(pairs, fields)``.
        comparisons: The fields compared.

    Returns:
        Per field, the share of each level among pairs where the field is present.

    Example:
        >>> c = (FieldComparison("token_rrn", (1.0,)),)
        >>> estimate_u(np.array([[1], [1], [1], [1], [1], [0], [-1]], np.int8), c)
        ((0.25, 0.75),)
    """
    rows = []
    for f, comparison in enumerate(comparisons):
        column = levels[:, f]
        counts = np.bincount(column[column >= 0], minlength=comparison.levels).astype(np.float64)
        # one pseudo-pair per level: a level no random pair reached is rare, not impossible
        rows.append(_normalised(counts + 1.0))
    return tuple(rows)


def pattern_counts(levels: LevelArray) -> tuple[LevelArray, npt.NDArray[np.int64]]:
    """Distinct comparison vectors and how many pairs have each (EM runs on these).

    Example:
        >>> patterns, counts = pattern_counts(np.array([[0, 1], [0, 1], [1, -1]], np.int8))
        >>> patterns.tolist(), counts.tolist()
        ([[0, 1], [1, -1]], [2, 1])
    """
    if levels.shape[0] == 0:
        return levels, np.empty(0, np.int64)
    # one integer per comparison vector (mixed radix over levels + 1 for missing)
    radix = (levels.max(axis=0).astype(np.int64) + 2).clip(min=1)
    code = np.zeros(levels.shape[0], np.int64)
    for f in range(levels.shape[1]):
        code = code * radix[f] + (levels[:, f].astype(np.int64) + 1)
    unique, first, counts = np.unique(code, return_index=True, return_counts=True)
    del unique
    return levels[first].astype(np.int8), counts.astype(np.int64)


def _log_likelihood(
    patterns: LevelArray, table: Sequence[Sequence[float]], used: Sequence[int]
) -> FloatArray:
    out = np.zeros(patterns.shape[0])
    for f in used:
        logs = np.log(np.asarray([*table[f], 1.0]))  # missing (-1) → log 1 = 0
        out += logs[patterns[:, f]]
    return out


def estimate_m_by_em(
    patterns: LevelArray,
    counts: npt.NDArray[np.int64],
    comparisons: Sequence[FieldComparison],
    u: Sequence[Sequence[float]],
    *,
    fields: Sequence[int],
    m_start: Sequence[Sequence[float]] | None = None,
    estimate_u_too: bool = False,
    iterations: int = 50,
    tolerance: float = 1e-6,
) -> tuple[list[tuple[float, ...]], list[tuple[float, ...]], float]:
    """Expectation–maximisation of m (and optionally u) over comparison patterns.

    Args:
        patterns: Distinct comparison vectors.
        counts: Pairs per pattern.
        comparisons: The fields compared.
        u: Starting (or fixed) u per field.
        fields: Fields taking part (a blocking field is left out of its own session).
        m_start: Starting m per field (default: most mass on the exact level).
        estimate_u_too: Re-estimate u as well (else u stays as given).
        iterations: Most iterations.
        tolerance: Stop when no probability moves more than this.

    Returns:
        m per field, u per field, and the share of matches among the pairs.
    """
    m = [list(r) for r in (m_start or [_default_m(c) for c in comparisons])]
    uu = [list(r) for r in u]
    weights = counts.astype(np.float64)
    share = 0.1
    for _ in range(iterations):
        log_m = _log_likelihood(patterns, m, fields) + np.log(share)
        log_u = _log_likelihood(patterns, uu, fields) + np.log1p(-share)
        top = np.maximum(log_m, log_u)
        r = np.exp(log_m - top) / (np.exp(log_m - top) + np.exp(log_u - top))
        matched = weights * r
        share = float(np.clip(matched.sum() / weights.sum(), 1e-9, 1 - 1e-9))
        change = 0.0
        for f in fields:
            column = patterns[:, f]
            present = column >= 0
            new_m = np.bincount(column[present], matched[present], comparisons[f].levels)
            # one pseudo-pair per level: a level never seen among matches is rare, not impossible
            new = _normalised(new_m + 1.0) if new_m.sum() > 0 else tuple(m[f])
            if estimate_u_too:
                unmatched = weights - matched
                new_u = np.bincount(column[present], unmatched[present], comparisons[f].levels)
                if new_u.sum() > 0:
                    uu[f] = list(_normalised(new_u + 1.0))
            # the constrained M-step: weights non-increasing over the ordinal levels
            new = monotone_m(new, uu[f])
            change = max(change, float(np.abs(np.subtract(new, m[f])).max()))
            m[f] = list(new)
        if change < tolerance:
            break
    return [tuple(r) for r in m], [tuple(r) for r in uu], share


def _default_m(comparison: FieldComparison) -> tuple[float, ...]:
    rest = comparison.levels - 1
    return _normalised([0.9] + [0.1 / rest] * rest)
