"""Re-identification risk of microdata: prosecutor, journalist, marketer; uniqueness.

Equivalence classes are the distinct combinations of the quasi-identifier values as written
(suppressed records, all ``*``, form one class). With only the sample, the journalist risk
equals the prosecutor risk (an upper bound) unless population class sizes are given; the
population-uniqueness estimate uses Zayatz's model with the sampling fraction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from ansim.errors import InvalidSpecError

__all__ = ["RiskProfile", "risk_profile", "risk_report"]


@dataclass(frozen=True)
class RiskProfile:
    """Re-identification risk measures of one release (fractions in [0, 1]).

    Attributes:
        records: records in the release.
        classes: equivalence classes.
        prosecutor_max: the highest risk of any record (1 / smallest class).
        prosecutor_average: the average record risk (classes / records).
        records_at_risk: the fraction of records whose risk exceeds ``threshold``.
        threshold: the risk threshold used for ``records_at_risk``.
        journalist_max: highest risk against the population (1 / smallest population class).
        marketer: expected fraction of records re-identified by matching everyone.
        sample_uniques: records alone in their class.
        population_uniques: estimated records unique in the population (Zayatz), or None
            without a sampling fraction.
    """

    records: int
    classes: int
    prosecutor_max: float
    prosecutor_average: float
    records_at_risk: float
    threshold: float
    journalist_max: float
    marketer: float
    sample_uniques: int
    population_uniques: float | None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        return asdict(self)


def _class_sizes(table: pa.Table, quasi_identifiers: Sequence[str]) -> np.ndarray[Any, Any]:
    for name in quasi_identifiers:
        if name not in table.column_names:
            raise InvalidSpecError(f"column {name!r} is not in the release")
    if not quasi_identifiers:
        raise InvalidSpecError("name at least one quasi-identifier")
    grouped = (
        table.select(list(quasi_identifiers))
        .group_by(list(quasi_identifiers))
        .aggregate([([], "count_all")])
    )
    return np.asarray(grouped.column("count_all").to_numpy(), dtype=np.int64)


def _zayatz(sizes: np.ndarray[Any, Any], fraction: float) -> float:
    """Zayatz: sample uniques × P(population unique | sample unique), binomial sampling."""
    counts = np.bincount(sizes)
    uniques = int(counts[1]) if len(counts) > 1 else 0
    if uniques == 0:
        return 0.0
    if fraction >= 1:
        return float(uniques)
    share = counts / counts.sum()
    i = np.arange(len(counts))
    seen_once = (share * i * fraction * (1 - fraction) ** np.maximum(i - 1, 0))[1:].sum()
    return float(uniques * share[1] * fraction / seen_once)


def risk_profile(
    table: pa.Table,
    quasi_identifiers: Sequence[str],
    *,
    threshold: float = 0.2,
    sampling_fraction: float | None = None,
    population_sizes: Mapping[tuple[str, ...], int] | None = None,
) -> RiskProfile:
    """Measure the re-identification risk of ``table`` with respect to its quasi-identifiers.

    Args:
        table: the records as released (or as held, for a "before" profile).
        quasi_identifiers: the columns an attacker could know.
        threshold: a record is at risk when its prosecutor risk exceeds this.
        sampling_fraction: the share of the population the records are, if known.
        population_sizes: the population size of each class (QI values → count), if known.

    Returns:
        The measures.

    Raises:
        InvalidSpecError: a column is missing or an argument is out of range.

    Example:
        >>> t = pa.table({"age": ["30-39", "30-39", "40-49"], "sex": ["F", "F", "M"]})
        >>> p = risk_profile(t, ["age", "sex"])
        >>> p.prosecutor_max, p.sample_uniques, round(p.prosecutor_average, 3)
        (1.0, 1, 0.667)
    """
    if not 0 < threshold <= 1:
        raise InvalidSpecError(f"the risk threshold must be in (0, 1], not {threshold}")
    if sampling_fraction is not None and not 0 < sampling_fraction <= 1:
        raise InvalidSpecError(f"the sampling fraction must be in (0, 1], not {sampling_fraction}")
    sizes = _class_sizes(table, quasi_identifiers)
    records = int(sizes.sum())
    if records == 0:
        raise InvalidSpecError("the release has no records")
    at_risk = float(sizes[1.0 / sizes > threshold].sum()) / records
    journalist = 1.0 / float(sizes.min())
    marketer = len(sizes) / records
    if population_sizes is not None:
        keys = (
            table.select(list(quasi_identifiers))
            .group_by(list(quasi_identifiers))
            .aggregate([([], "count_all")])
        )
        rows = keys.select(list(quasi_identifiers)).to_pylist()
        population = np.array(
            [
                max(population_sizes.get(tuple(r.values()), 0), int(s))
                for r, s in zip(rows, keys.column("count_all").to_pylist(), strict=True)
            ],
            dtype=np.float64,
        )
        journalist = 1.0 / float(population.min())
        marketer = float((keys.column("count_all").to_numpy() / population).sum()) / records
    elif sampling_fraction is not None:
        marketer = float((sizes / np.maximum(sizes / sampling_fraction, 1.0)).sum()) / records
    return RiskProfile(
        records=records,
        classes=len(sizes),
        prosecutor_max=1.0 / float(sizes.min()),
        prosecutor_average=len(sizes) / records,
        records_at_risk=at_risk,
        threshold=threshold,
        journalist_max=journalist,
        marketer=marketer,
        sample_uniques=int((sizes == 1).sum()),
        population_uniques=None if sampling_fraction is None else _zayatz(sizes, sampling_fraction),
    )


def risk_report(
    before: pa.Table,
    after: pa.Table,
    quasi_identifiers: Sequence[str],
    *,
    threshold: float = 0.2,
    sampling_fraction: float | None = None,
) -> dict[str, Any]:
    """Risk before and after anonymisation, for an adequacy-review (적정성 검토) record.

    Returns:
        ``{"quasi_identifiers": …, "before": {…}, "after": {…}}`` with counts and fractions only.
    """
    return {
        "quasi_identifiers": list(quasi_identifiers),
        "before": risk_profile(
            before, quasi_identifiers, threshold=threshold, sampling_fraction=sampling_fraction
        ).to_dict(),
        "after": risk_profile(
            after, quasi_identifiers, threshold=threshold, sampling_fraction=sampling_fraction
        ).to_dict(),
    }
