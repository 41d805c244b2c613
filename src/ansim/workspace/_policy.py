"""Output-checking thresholds: one policy per custodian, the strictest of those involved applies."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from ansim.errors import InvalidSpecError

__all__ = ["CheckPolicy", "strictest"]

_PERCENT = 100


@dataclass(frozen=True)
class CheckPolicy:
    """Thresholds of the automatic output checks (defaults follow ACRO, plus a top-1 rule).

    Attributes:
        threshold: A cell needs at least this many contributors (ACRO: 10).
        zeros_disclosive: A zero count is disclosive too (it says "nobody here").
        dominance_n: (n,k) dominance: the ``n`` largest contributions …
        dominance_k: … may hold at most ``k`` % of the cell total (ACRO: n=2, k=90).
        top1_share: The largest single contribution may hold at most this % of the total;
            ACRO's (2, 90) passes a cell where one person holds ~75 %.
        p_percent: p % rule: the rest of the cell must hide the largest contribution to ``p`` %.
        min_residual_dof: Residual degrees of freedom a model needs (ACRO: 10).
        extremes_min_contributors: Contributors a min, max, median or quantile cell needs.
        class_disclosure: Flag a group whose members all fall in one category.
        extremes_held: Hold every min, max and tail quantile for review (SDAP: unsafe class).
        max_leverage: A model is held when one person's leverage reaches this (0 < x <= 1).
        approvals: Independent output-checker approvals a release needs.
    """

    threshold: int = 10
    zeros_disclosive: bool = True
    dominance_n: int = 2
    dominance_k: float = 90.0
    top1_share: float = 50.0
    p_percent: float = 10.0
    min_residual_dof: int = 10
    extremes_min_contributors: int = 10
    class_disclosure: bool = True
    approvals: int = 2
    extremes_held: bool = True
    max_leverage: float = 0.5

    def __post_init__(self) -> None:
        """Check every threshold's range."""
        for name in ("threshold", "min_residual_dof", "extremes_min_contributors", "approvals"):
            if getattr(self, name) < 1:
                raise InvalidSpecError(f"check policy: {name} must be at least 1")
        if self.dominance_n not in (1, 2):
            raise InvalidSpecError("check policy: dominance_n must be 1 or 2")
        for name in ("dominance_k", "top1_share"):
            if not 0 < getattr(self, name) < _PERCENT:
                raise InvalidSpecError(f"check policy: {name} must be a percentage in (0, 100)")
        if not 0 < self.max_leverage <= 1:
            raise InvalidSpecError("check policy: max_leverage must be in (0, 1]")
        if self.p_percent <= 0:
            raise InvalidSpecError("check policy: p_percent must be positive")

    def to_dict(self) -> dict[str, Any]:
        """The policy as plain data (for reports and the results file)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CheckPolicy:
        """Read a policy from plain data; unknown keys are an error.

        Example:
            >>> CheckPolicy.from_dict({"threshold": 20}).threshold
            20
        """
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise InvalidSpecError(f"check policy: unknown settings {sorted(unknown)}")
        return cls(**data)

    @classmethod
    def from_json(cls, text: str) -> CheckPolicy:
        """Read a policy from JSON."""
        return cls.from_dict(json.loads(text))


def strictest(policies: Iterable[CheckPolicy]) -> CheckPolicy:
    """Combine custodians' policies: every threshold at its strictest.

    Args:
        policies: The policies of the custodians whose data an output uses.

    Returns:
        The combined policy (the default policy when none is given).

    Example:
        >>> strictest([CheckPolicy(threshold=5), CheckPolicy(threshold=20, p_percent=5)]).threshold
        20
    """
    items = list(policies)
    if not items:
        return CheckPolicy()
    return CheckPolicy(
        threshold=max(p.threshold for p in items),
        zeros_disclosive=any(p.zeros_disclosive for p in items),
        dominance_n=max(p.dominance_n for p in items),
        dominance_k=min(p.dominance_k for p in items),
        top1_share=min(p.top1_share for p in items),
        p_percent=max(p.p_percent for p in items),
        min_residual_dof=max(p.min_residual_dof for p in items),
        extremes_min_contributors=max(p.extremes_min_contributors for p in items),
        class_disclosure=any(p.class_disclosure for p in items),
        approvals=max(p.approvals for p in items),
        extremes_held=any(p.extremes_held for p in items),
        max_leverage=min(p.max_leverage for p in items),
    )
