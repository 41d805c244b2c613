"""The automatic disclosure checks run on every output, each naming the cells it fails.

Tables are checked cell by cell from per-cell statistics computed inside the hub (contributors,
the absolute total and the two largest absolute contributions). The (n,k) and p % rules are
computed as ACRO computes them (the ratios ``top_n / total >= k`` and ``rest / x1 < p``, so a cell
exactly at k fails and one exactly at p passes, as in ACRO); the top-1 share rule reuses
:mod:`ansim.disclosure`'s dominance rule. Models are checked on their residual degrees of freedom,
and a standard deviation on its per-cell degrees of freedom (contributors - 1), as ACRO does.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from ansim.disclosure import DominanceRule, TableCells
from ansim.errors import InvalidSpecError
from ansim.workspace._policy import CheckPolicy

__all__ = ["CellStats", "CheckReport", "CheckResult", "check_model", "check_table"]

MAGNITUDE = frozenset({"sum", "mean", "std"})
EXTREMES = frozenset({"min", "max", "median", "quantile"})
STATISTICS = frozenset({"count", "histogram"}) | MAGNITUDE | EXTREMES
_PERCENT = 100
_LEGACY_FIGURE = re.compile(r"(;| \() ?this model: ([^)]*)\)$")
"""A model's figure inside a detail, as reports stored before ``measured`` had it."""


@dataclass(frozen=True)
class CheckResult:
    """One rule's verdict on one output.

    Attributes:
        rule: The rule's name (``threshold``, ``dominance``, ``top1``, ``p_percent``, …).
        passed: Whether every cell passes.
        failing: Labels of the cells that fail (empty when passed).
        detail: What the rule requires, in words.
        measured: What the rule measured on this output (a model's residual degrees of
            freedom, its largest leverage), for the output checkers: a figure of the data,
            withheld from analysts until the output is released.
    """

    rule: str
    passed: bool
    failing: tuple[str, ...]
    detail: str
    measured: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain data for reports."""
        out: dict[str, Any] = {
            "rule": self.rule,
            "passed": self.passed,
            "failing": list(self.failing),
            "detail": self.detail,
        }
        if self.measured:
            out["measured"] = self.measured
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckResult:
        """Read a result back (a detail stored with its figure inside is split from it)."""
        detail, measured = str(data["detail"]), str(data.get("measured", ""))
        legacy = _LEGACY_FIGURE.search(detail)
        if not measured and legacy:
            measured = "this model: " + legacy.group(2)
            detail = detail[: legacy.start()] + (")" if legacy.group(1) == ";" else "")
        return cls(data["rule"], data["passed"], tuple(data["failing"]), detail, measured)


@dataclass(frozen=True)
class CheckReport:
    """Every rule's verdict on an output."""

    results: tuple[CheckResult, ...]
    policy: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """Whether every rule passes."""
        return all(r.passed for r in self.results)

    @property
    def failing_cells(self) -> tuple[str, ...]:
        """Cells failing any rule, each once, in order."""
        return tuple(dict.fromkeys(c for r in self.results for c in r.failing))

    def with_result(self, result: CheckResult) -> CheckReport:
        """A copy with one more result (replacing an earlier one of the same rule)."""
        kept = tuple(r for r in self.results if r.rule != result.rule)
        return CheckReport((*kept, result), self.policy)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for reports."""
        return {
            "passed": self.passed,
            "results": [r.to_dict() for r in self.results],
            "policy": self.policy,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckReport:
        """Read a report back."""
        return cls(
            tuple(CheckResult.from_dict(r) for r in data["results"]),
            dict(data.get("policy", {})),
        )


@dataclass(frozen=True, eq=False)
class CellStats:
    """Per-cell statistics of a table output, computed from the rows inside the hub.

    Attributes:
        dimensions: The classifying variables.
        labels: Per cell, its category in each dimension.
        count: Per cell, its number of contributors (records).
        total: Per cell, the sum of absolute contributions (0 for counts).
        x1: Per cell, the largest absolute contribution.
        x2: Per cell, the second largest absolute contribution.
        distinct: Per cell, the number of distinct values (``None`` for counts).
    """

    dimensions: tuple[str, ...]
    labels: tuple[tuple[str, ...], ...]
    count: npt.NDArray[np.int64]
    total: npt.NDArray[np.float64]
    x1: npt.NDArray[np.float64]
    x2: npt.NDArray[np.float64]
    distinct: npt.NDArray[np.int64] | None = None

    def __post_init__(self) -> None:
        """Check that every array has one entry per cell."""
        n = len(self.labels)
        if not len(self.count) == len(self.total) == len(self.x1) == len(self.x2) == n:
            raise InvalidSpecError("cell statistics: arrays differ in length from the labels")
        if self.distinct is not None and len(self.distinct) != n:
            raise InvalidSpecError("cell statistics: distinct differs in length from the labels")

    def name(self, i: int) -> str:
        """A cell's printable name, such as ``income_band=Q1; vaccinated=Y``."""
        return "; ".join(f"{d}={v}" for d, v in zip(self.dimensions, self.labels[i], strict=True))

    def names(self, mask: npt.NDArray[np.bool_]) -> tuple[str, ...]:
        """Names of the cells where ``mask`` holds."""
        return tuple(self.name(int(i)) for i in np.flatnonzero(mask))


def _result(rule: str, stats: CellStats, mask: npt.NDArray[np.bool_], detail: str) -> CheckResult:
    failing = stats.names(mask)
    return CheckResult(rule, not failing, failing, detail)


def _magnitude(stats: CellStats, policy: CheckPolicy) -> list[CheckResult]:
    cells = TableCells(
        dimensions=stats.dimensions,
        labels=stats.labels,
        values=stats.total.astype(np.float64),
        contributors=stats.count.astype(np.int64),
        top=np.column_stack([stats.x1, stats.x2]).astype(np.float64),
        equations=(),
        leaf=np.ones(len(stats.labels), dtype=bool),
    )
    top1, _ = DominanceRule(1, policy.top1_share).protection(cells)
    total, x1 = stats.total.astype(np.float64), stats.x1.astype(np.float64)
    top_n = x1 + stats.x2 if policy.dominance_n == 2 else x1  # noqa: PLR2004 - n is 1 or 2
    # As ACRO: the share as one division, so integer data exactly at k (e.g. 45 + 45 of 100)
    # fails and exactly at p (a rest of 3 beside 30) passes, with no rounding in between.
    share = np.divide(top_n, total, out=np.zeros_like(total), where=total > 0)
    nk = (total > 0) & (share >= policy.dominance_k / _PERCENT)
    rest = np.divide(total - x1 - stats.x2, x1, out=np.ones_like(total), where=x1 > 0)
    pp = (x1 > 0) & (rest < policy.p_percent / _PERCENT)
    return [
        _result(
            "dominance", stats, nk,
            f"the {policy.dominance_n} largest contributions hold under "
            f"{policy.dominance_k:g} % of a cell",
        ),
        _result("top1", stats, top1, f"no one contribution holds over {policy.top1_share:g} %"),
        _result(
            "p_percent", stats, pp,
            f"the rest of a cell hides its largest contribution to {policy.p_percent:g} %",
        ),
    ]  # fmt: skip


def _class_disclosure(stats: CellStats) -> npt.NDArray[np.bool_]:
    """Cells of groups (all dimensions but the last) whose members share one category."""
    groups: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for i, label in enumerate(stats.labels):
        groups[label[:-1]].append(i)
    mask = np.zeros(len(stats.labels), dtype=bool)
    for members in groups.values():
        counts = stats.count[members]
        if len(members) > 1 and counts.sum() > 0 and int((counts > 0).sum()) == 1:
            mask[members] = True
    return mask


def check_table(
    stats: CellStats, statistic: str, policy: CheckPolicy, *, q: float = 0.5
) -> CheckReport:
    """Run every rule that applies to a table of ``statistic`` over its cells.

    Args:
        stats: The table's per-cell statistics.
        statistic: ``count``, ``histogram``, ``sum``, ``mean``, ``std``, ``median``,
            ``quantile``, ``min`` or ``max``.
        policy: The thresholds.
        q: The quantile, for ``quantile`` (below 0.1 or above 0.9 is a tail, held like a max).

    Returns:
        The report: threshold always; dominance, top-1 and p % for sums, means and standard
        deviations; degrees of freedom (contributors - 1) for standard deviations; all values
        the same for every statistic of a value; minimum contributors for min, max, median and
        quantiles; class disclosure for counts over two or more
        dimensions.

    Raises:
        InvalidSpecError: An unknown statistic.

    Example:
        >>> import numpy as np
        >>> stats = CellStats(("band",), (("Q1",), ("Q2",)), np.array([12, 3]),
        ...                   np.zeros(2), np.zeros(2), np.zeros(2))
        >>> check_table(stats, "count", CheckPolicy()).failing_cells
        ('band=Q2',)
    """
    if statistic not in STATISTICS:
        raise InvalidSpecError(f"unknown statistic {statistic!r}: use one of {sorted(STATISTICS)}")
    low = stats.count < policy.threshold
    if not policy.zeros_disclosive:
        low &= stats.count > 0
    zeros = "including zeros" if policy.zeros_disclosive else "zeros allowed"
    results = [
        _result(
            "threshold", stats, low,
            f"every cell has at least {policy.threshold} contributors ({zeros})",
        )
    ]  # fmt: skip
    if statistic in MAGNITUDE:
        results += _magnitude(stats, policy)
    if statistic in MAGNITUDE | EXTREMES and stats.distinct is not None:
        same = (stats.count > 0) & (stats.distinct == 1)
        results.append(
            _result(
                "same_values", stats, same,
                "a cell's contributors do not all have the same value (it would reveal each)",
            )
        )  # fmt: skip
    if statistic == "std":  # ACRO's MinimumDoFCheck for a standard deviation
        dof = stats.count - 1
        results.append(
            _result(
                "std_dof", stats, dof < policy.min_residual_dof,
                f"a standard deviation needs {policy.min_residual_dof} degrees of freedom "
                "(contributors - 1) per cell",
            )
        )  # fmt: skip
    if statistic in EXTREMES:
        few = stats.count < policy.extremes_min_contributors
        results.append(
            _result(
                "extremes", stats, few,
                f"a {statistic} needs {policy.extremes_min_contributors} contributors per cell",
            )
        )  # fmt: skip
    if policy.extremes_held and (
        statistic in {"min", "max"} or (statistic == "quantile" and not 0.1 <= q <= 0.9)  # noqa: PLR2004
    ):
        results.append(
            _result(
                "extreme_value", stats, stats.count > 0,
                f"a {statistic} at the tail shows one person's own value: held for review by "
                "default (an output checker may release it with the author's exception)",
            )
        )  # fmt: skip
    if statistic == "count" and policy.class_disclosure and len(stats.dimensions) > 1:
        results.append(
            _result(
                "class_disclosure", stats, _class_disclosure(stats),
                "no group has all its members in one category",
            )
        )  # fmt: skip
    return CheckReport(tuple(results), policy.to_dict())


def check_model(
    residual_dof: float,
    policy: CheckPolicy,
    terms: Sequence[str] = (),
    *,
    max_leverage: float = 0.0,
    exact_fit: bool = False,
) -> CheckReport:
    """Check a fitted model: enough residual dof in persons, no one person fixing it, no exact fit.

    Args:
        residual_dof: The model's residual degrees of freedom (in persons).
        policy: The thresholds.
        terms: The model's terms (named as the failing cells when it fails).
        max_leverage: The largest leverage of one person (their rows' hat values summed).
        exact_fit: The model fits exactly (zero residual), so it restates the data.

    Returns:
        The report.

    Example:
        >>> check_model(4, CheckPolicy()).passed
        False
        >>> check_model(40, CheckPolicy(), max_leverage=1.0).failing_cells
        ('model',)
    """
    cells = tuple(terms) or ("model",)
    passed = residual_dof >= policy.min_residual_dof
    results = [
        CheckResult(
            "residual_dof", passed, () if passed else cells,
            f"residual degrees of freedom, in persons, at least {policy.min_residual_dof}",
            f"this model: {residual_dof:g}",
        ),
        CheckResult(
            "leverage", max_leverage < policy.max_leverage, ()
            if max_leverage < policy.max_leverage else ("model",),
            f"no one person's leverage reaches {policy.max_leverage:g} (their values alone "
            "would fix a coefficient)",
            f"this model: {max_leverage:.3g}",
        ),
        CheckResult(
            "exact_fit", not exact_fit, ("model",) if exact_fit else (),
            "the model does not fit exactly (a zero residual restates the data): held for review",
        ),
    ]  # fmt: skip
    return CheckReport(tuple(results), policy.to_dict())
