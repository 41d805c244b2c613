"""Release specs: which DP statistics to release, over which keys, with which bounds and budget.

A spec is data (YAML or JSON), so a release is reproducible from its file::

    name: confirmed_cases
    person: person_id              # the column naming the privacy unit
    privacy_unit: a person of the linked project
    mechanism: gaussian            # or laplace
    rho: 0.5                       # or epsilon: 1.0 (converted at conversion_delta)
    max_groups: 1                  # groups one person may contribute to (per query)
    max_rows: 1                    # rows one person may contribute to one group
    derive:
      week: {from: case_date, kind: week}
      month: {from: case_date, kind: month}   # YYYY-MM
      age_band: {from: age, kind: band, edges: [0, 20, 40, 60, 80]}
    keys:                          # public keys: declared, never read from the data
      sigungu_code: sigungu        # Gyeonggi's 31 si/gun
      week: {from: 2020-01-20, to: 2022-12-31}
      month: {from: 2020-01-01, to: 2022-12-31}   # every month, as week: every week
      sex: [M, F]
    queries:
      - {name: cases_by_sigungu_week, statistic: count, by: [sigungu_code, week]}
      - {name: mean_income, statistic: mean, column: income, lower: 0, upper: 1000000,
         by: [sigungu_code]}

A ``by`` column without declared keys is grouped over *unknown* keys: DP partition selection
(a noisy threshold) decides which groups appear, spending δ from ``selection_delta``.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from ansim.errors import InvalidSpecError
from ansim.privacy._noise import Mechanism, rho_of_epsilon
from ansim.regions import GYEONGGI_SIGUNGU

__all__ = [
    "DEFAULT_UNIT",
    "MIN_RHO",
    "DPQuery",
    "DerivedColumn",
    "ReleaseSpec",
    "Statistic",
    "parse_release_spec",
]

MIN_RHO = 1e-9
"""The smallest ρ a release may spend: below it the integer noise's scale passes what a
64-bit count can hold (at ρ = 1e-300 the sampler's output overflowed), and nothing useful is
left in any number."""
DEFAULT_UNIT = "a person of the linked project (all their rows in every custodian's data)"
_MAX_CELLS = 1_000_000
_MAX_BINS = 4096
_MIN_CONFIDENCE = 0.5


class Statistic(StrEnum):
    """What a query releases per group."""

    COUNT = "count"
    SUM = "sum"
    MEAN = "mean"
    QUANTILE = "quantile"


@dataclass(frozen=True)
class DerivedColumn:
    """A key column computed in the engine from a data column.

    Attributes:
        name: The new column.
        source: The data column it is computed from.
        kind: ``"week"`` (the Monday of a date's ISO week, as ``YYYY-MM-DD``), ``"month"``
            (a date's month, as ``YYYY-MM``) or ``"band"`` (numeric bands ``lo-hi`` between
            ``edges``, the last one open: ``80+``).
        edges: Band edges, increasing (``band`` only).

    Example:
        >>> DerivedColumn("age_band", "age", "band", (0, 40, 80)).labels()
        ('0-39', '40-79', '80+')
    """

    name: str
    source: str
    kind: str
    edges: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in ("week", "month", "band"):
            raise InvalidSpecError(
                f"derived column {self.name!r}: kind must be week, month or band"
            )
        if self.kind == "band" and (
            len(self.edges) < 2  # noqa: PLR2004 - a band has a lower and an upper edge
            or any(b <= a for a, b in itertools.pairwise(self.edges))
        ):
            raise InvalidSpecError(
                f"derived column {self.name!r}: band needs at least two increasing edges"
            )

    def labels(self) -> tuple[str, ...]:
        """The band labels (the public keys of a band column)."""
        e = [_number(x) for x in self.edges]
        integral = all(float(x).is_integer() for x in self.edges)
        inner = [
            f"{a}-{_number(float(b) - 1) if integral else b}"
            for a, b in zip(e, self.edges[1:], strict=False)
        ]
        return (*inner, f"{e[-1]}+")


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


@dataclass(frozen=True)
class DPQuery:
    """One DP statistic over groups.

    Attributes:
        name: Output name (``<name>.csv``, ``<name>.json``).
        statistic: count, sum, mean or quantile.
        by: Group-by columns (data or derived); empty for one overall value.
        column: The value column (sum, mean, quantile).
        lower: Clipping lower bound of the value.
        upper: Clipping upper bound of the value.
        step: Resolution of the value: values are rounded to multiples of it (noise is added
            to integers), 1 for whole numbers.
        quantile: Which quantile (quantile only), e.g. 0.5 for the median.
        bins: Number of equal bins between the bounds for a quantile.
        weight: Share of the release's ρ, relative to the other queries.
        max_groups: Groups per person (default: the release's).
        max_rows: Rows per person per group (default: the release's).
    """

    name: str
    statistic: Statistic
    by: tuple[str, ...] = ()
    column: str | None = None
    lower: float | None = None
    upper: float | None = None
    step: float = 1.0
    quantile: float = 0.5
    bins: int = 64
    weight: float = 1.0
    max_groups: int | None = None
    max_rows: int | None = None

    def __post_init__(self) -> None:
        where = f"query {self.name!r}"
        _check_name(self.name, "query")
        if self.statistic is not Statistic.COUNT:
            if self.column is None or self.lower is None or self.upper is None:
                raise InvalidSpecError(f"{where}: {self.statistic} needs column, lower and upper")
            if not self.step > 0 or not self.upper - self.lower >= self.step:
                raise InvalidSpecError(f"{where}: needs step > 0 and upper - lower >= step")
        if not 0 < self.quantile < 1 or not 1 < self.bins <= _MAX_BINS:
            raise InvalidSpecError(f"{where}: quantile must be in (0, 1) and 2 <= bins <= 4096")
        if not self.weight > 0:
            raise InvalidSpecError(f"{where}: weight must be > 0")
        for n in (self.max_groups, self.max_rows):
            if n is not None and n < 1:
                raise InvalidSpecError(f"{where}: max_groups and max_rows must be >= 1")
        if len(set(self.by)) != len(self.by):
            raise InvalidSpecError(f"{where}: a column appears twice in by")

    @property
    def units(self) -> tuple[int, int]:
        """The clipping bounds in units of ``step`` (inner multiples)."""
        lower, upper = float(self.lower or 0), float(self.upper or 0)
        return math.ceil(lower / self.step - 1e-9), math.floor(upper / self.step + 1e-9)


@dataclass(frozen=True)
class ReleaseSpec:
    """A DP release: its queries, bounds, keys and budget.

    Attributes:
        name: The release (named on the ledger spend).
        queries: The statistics.
        rho: zCDP budget of the whole release, split between the queries by weight.
        person: The column identifying the privacy unit; ``None`` means each row is a
            different person (the caller vouches for it: no bounding of rows per person).
        privacy_unit: The privacy unit, stated on every release.
        mechanism: The noise distribution.
        max_groups: Default groups per person.
        max_rows: Default rows per person per group.
        keys: Public keys per column (``None`` values are not allowed: undeclared columns are
            unknown keys).
        derive: Key columns computed from data columns.
        conversion_delta: δ at which ρ is shown as (ε, δ).
        selection_delta: δ for partition selection over unknown keys (per query using it).
        confidence: Confidence level of the intervals.

    Example:
        >>> spec = ReleaseSpec("r", (DPQuery("n", Statistic.COUNT),), rho=0.5)
        >>> spec.with_rho(0.25).rho
        0.25
    """

    name: str
    queries: tuple[DPQuery, ...]
    rho: float
    person: str | None = "person_id"
    privacy_unit: str = DEFAULT_UNIT
    mechanism: Mechanism = Mechanism.gaussian
    max_groups: int = 1
    max_rows: int = 1
    keys: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    derive: tuple[DerivedColumn, ...] = ()
    conversion_delta: float = 1e-6
    selection_delta: float = 0.0
    confidence: float = 0.95

    def __post_init__(self) -> None:
        _check_name(self.name, "release")
        if not self.queries:
            raise InvalidSpecError(f"release {self.name!r} has no queries")
        if not self.rho >= MIN_RHO or not math.isfinite(self.rho):
            raise InvalidSpecError(
                f"release {self.name!r}: rho must be a finite number of at least {MIN_RHO:g} "
                "(below it the noise would be too large to represent)"
            )
        if self.max_groups < 1 or self.max_rows < 1:
            raise InvalidSpecError(f"release {self.name!r}: max_groups and max_rows must be >= 1")
        if not 0 < self.conversion_delta < 1 or not 0 <= self.selection_delta < 1:
            raise InvalidSpecError(f"release {self.name!r}: deltas must be in [0, 1)")
        if not _MIN_CONFIDENCE <= self.confidence < 1:
            raise InvalidSpecError(f"release {self.name!r}: confidence must be in [0.5, 1)")
        names = [q.name for q in self.queries]
        if len(set(names)) != len(names):
            raise InvalidSpecError(f"release {self.name!r}: two queries share a name")
        for q in self.queries:
            unknown = [c for c in q.by if c not in self.keys]
            if unknown and not self.selection_delta > 0:
                raise InvalidSpecError(
                    f"query {q.name!r}: no public keys declared for {unknown}: declare them "
                    "under keys, or set selection_delta > 0 for DP partition selection"
                )
            cells = math.prod(len(self.keys[c]) for c in q.by if c in self.keys)
            if cells > _MAX_CELLS:
                raise InvalidSpecError(f"query {q.name!r}: more than {_MAX_CELLS} cells")
        for column, values in self.keys.items():
            if not values or len(set(values)) != len(values):
                raise InvalidSpecError(f"keys of {column!r} must be distinct and not empty")

    def with_rho(self, rho: float) -> ReleaseSpec:
        """The same release with another total ρ."""
        return replace(self, rho=rho)

    def bounds(self, query: DPQuery) -> tuple[int, int]:
        """``(max_groups, max_rows)`` of a query."""
        return query.max_groups or self.max_groups, query.max_rows or self.max_rows

    def is_public(self, query: DPQuery) -> bool:
        """Whether every group-by column of the query has declared keys."""
        return all(c in self.keys for c in query.by)


def _check_name(name: str, what: str) -> None:
    if not name or not all(ch.isalnum() or ch in "_-" for ch in name) or not name.isascii():
        raise InvalidSpecError(f"{what} name {name!r}: use letters, digits, '_' and '-' only")


def parse_release_spec(data: Any, *, rho: float | None = None) -> ReleaseSpec:
    """A release spec from parsed YAML/JSON (``rho`` overrides the file's budget).

    Example:
        >>> spec = parse_release_spec({
        ...     "name": "cases", "epsilon": 1.0,
        ...     "keys": {"sex": ["M", "F"], "week": {"from": "2020-01-20", "to": "2020-02-02"}},
        ...     "derive": {"week": {"from": "case_date", "kind": "week"}},
        ...     "queries": [{"name": "by_sex", "statistic": "count", "by": ["sex", "week"]}],
        ... })
        >>> round(spec.rho, 5), spec.keys["week"]
        (0.01747, ('2020-01-20', '2020-01-27'))
    """
    if not isinstance(data, dict):
        raise InvalidSpecError("a release spec is a mapping with name, queries and rho/epsilon")
    known = {
        "name", "queries", "rho", "epsilon", "person", "privacy_unit", "mechanism",
        "max_groups", "max_rows", "keys", "derive", "conversion_delta", "selection_delta",
        "confidence",
    }  # fmt: skip
    extra = sorted(set(data) - known)
    if extra:
        raise InvalidSpecError(f"release spec: unknown fields {extra}")
    delta = float(data.get("conversion_delta", 1e-6))
    if rho is None:
        if ("rho" in data) == ("epsilon" in data):
            raise InvalidSpecError("release spec: give exactly one of rho and epsilon")
        rho = float(data["rho"]) if "rho" in data else rho_of_epsilon(float(data["epsilon"]), delta)
    person = data.get("person", "person_id")
    try:
        derive = tuple(
            DerivedColumn(
                name,
                str(d["from"]),
                str(d.get("kind", "")),
                tuple(float(e) for e in d.get("edges", ())),
            )
            for name, d in (data.get("derive") or {}).items()
        )
        keys = {str(c): _keys(str(c), v, derive) for c, v in (data.get("keys") or {}).items()}
        queries = tuple(_query(q) for q in data.get("queries") or ())
        return ReleaseSpec(
            name=str(data.get("name", "")), queries=queries, rho=rho,
            person=None if person is None else str(person),
            privacy_unit=str(data.get("privacy_unit", DEFAULT_UNIT)),
            mechanism=Mechanism(data.get("mechanism", "gaussian")),
            max_groups=int(data.get("max_groups", 1)), max_rows=int(data.get("max_rows", 1)),
            keys=keys, derive=derive, conversion_delta=delta,
            selection_delta=float(data.get("selection_delta", 0.0)),
            confidence=float(data.get("confidence", 0.95)),
        )  # fmt: skip
    except (KeyError, TypeError, ValueError) as e:
        if isinstance(e, InvalidSpecError):
            raise
        raise InvalidSpecError(f"release spec: {e!s}") from e


def _query(q: Any) -> DPQuery:
    if not isinstance(q, dict):
        raise InvalidSpecError("each query is a mapping with name and statistic")
    known = {f for f in DPQuery.__dataclass_fields__}
    extra = sorted(set(q) - known)
    if extra:
        raise InvalidSpecError(f"query {q.get('name')!r}: unknown fields {extra}")
    opt = {k: q[k] for k in ("lower", "upper", "step", "quantile", "weight") if k in q}
    ints = {k: int(q[k]) for k in ("bins", "max_groups", "max_rows") if k in q}
    return DPQuery(
        name=str(q.get("name", "")), statistic=Statistic(q.get("statistic", "")),
        by=tuple(str(c) for c in q.get("by") or ()),
        column=None if q.get("column") is None else str(q["column"]),
        **{k: float(v) for k, v in opt.items()}, **ints,  # type: ignore[arg-type]
    )  # fmt: skip


def _keys(column: str, value: Any, derive: tuple[DerivedColumn, ...]) -> tuple[str, ...]:
    if value == "sigungu":
        return tuple(sorted(GYEONGGI_SIGUNGU))
    if value == "bands":
        band = next((d for d in derive if d.name == column and d.kind == "band"), None)
        if band is None:
            raise InvalidSpecError(f"keys of {column!r}: 'bands' needs a derived band column")
        return band.labels()
    if isinstance(value, dict):
        start, end = (dt.date.fromisoformat(str(value[k])) for k in ("from", "to"))
        if any(d.name == column and d.kind == "month" for d in derive):
            return _months(column, start, end)
        monday = start - dt.timedelta(days=start.weekday())
        weeks = (end - monday).days // 7 + 1
        if weeks < 1:
            raise InvalidSpecError(f"keys of {column!r}: 'to' is before 'from'")
        return tuple((monday + dt.timedelta(weeks=i)).isoformat() for i in range(weeks))
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    raise InvalidSpecError(
        f"keys of {column!r}: give a list, 'sigungu', 'bands' or a week or month range {{from, to}}"
    )


def _months(column: str, start: dt.date, end: dt.date) -> tuple[str, ...]:
    """Every month (``YYYY-MM``) from ``start``'s to ``end``'s, both included.

    Example:
        >>> _months("m", dt.date(2020, 11, 20), dt.date(2021, 2, 1))
        ('2020-11', '2020-12', '2021-01', '2021-02')
    """
    months = (end.year - start.year) * 12 + end.month - start.month + 1
    if end < start:
        raise InvalidSpecError(f"keys of {column!r}: 'to' is before 'from'")
    first = start.year * 12 + start.month - 1
    return tuple(f"{(first + i) // 12:04d}-{(first + i) % 12 + 1:02d}" for i in range(months))
