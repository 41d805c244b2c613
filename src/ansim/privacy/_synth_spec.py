"""Synthesis specs: which columns a DP synthetic extract has, over which declared domains.

A spec is data (YAML or JSON), so a synthesis is reproducible from its file::

    name: cohort_synthetic
    method: mst                    # MST (McKenna, Miklau, Sheldon 2021) or aim, through mbi
    rho: 0.5                       # or epsilon: 1.0 (converted at conversion_delta)
    person: person_id              # one row per person is kept (the privacy unit)
    privacy_unit: a person of the linked project
    rows: 10000                    # synthetic rows (default: the model's noisy total)
    seed: 2026                     # seeds the sampling of records from the fitted model
    columns:                       # declared domains: never read from the data
      sigungu_code: sigungu        # Gyeonggi's 31 si/gun
      sex: [M, F]
      age: {edges: [0, 20, 40, 60, 80]}       # bands 0-19 … 80+; values outside are clipped
      insurance: {values: [health, aid], other: other}   # undeclared values → other

``iterations`` (mbi's mirror-descent steps) defaults to the method's own: 1,000 for MST, 300 for
AIM, whose one mbi estimation starts from the potentials its rounds fitted (docs/benchmarks.md).

AIM (``method: aim``) takes three more fields: ``rounds`` (AIM's T: each round starts at ρ/T
and the 1-way marginals cost 0.9·d/T of ρ; default 16·d, the paper's), ``marginals`` (the most
marginals it selects; default: until the budget is spent, as the paper) and ``max_cells`` (the
largest 2- or 3-way marginal it may select, default 10,000 cells).

A value outside a categorical column's declared values goes to its ``other`` label when one is
declared; otherwise that person's row is left out of the synthesis (so no undeclared value can
appear in, or shape, the output). Numbers below the first band edge fall in the first band.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from ansim.errors import InvalidSpecError
from ansim.privacy._noise import rho_of_epsilon
from ansim.privacy._spec import DEFAULT_UNIT, MIN_RHO, DerivedColumn
from ansim.regions import GYEONGGI_SIGUNGU

__all__ = ["SynthColumn", "SynthesisMethod", "SynthesisSpec", "parse_synthesis_spec"]

_MAX_VALUES = 1000  # per column: larger domains need bucketing first
_MAX_PAIR_CELLS = 1_000_000  # a 2-way marginal (measured as one noisy vector)
_MAX_ROWS = 50_000_000
_AIM_FIELDS = ("rounds", "marginals", "max_cells")
_MAX_ITERATIONS = 100_000


class SynthesisMethod(StrEnum):
    """The synthesis mechanism."""

    MST = "mst"
    """Maximum spanning tree of 2-way marginals (McKenna, Miklau and Sheldon 2021)."""
    AIM = "aim"
    """Adaptive and iterative selection of 2- and 3-way marginals (McKenna et al. 2022)."""

    @property
    def default_iterations(self) -> int:
        """The mirror-descent iterations of mbi's estimation when the spec names none.

        Example:
            >>> SynthesisMethod.MST.default_iterations, SynthesisMethod.AIM.default_iterations
            (1000, 300)
        """
        return _DEFAULT_ITERATIONS[self]


_DEFAULT_ITERATIONS = {SynthesisMethod.MST: 1000, SynthesisMethod.AIM: 300}


@dataclass(frozen=True)
class SynthColumn:
    """One column of the synthetic extract with its declared domain.

    Attributes:
        name: The column (in the input and the output).
        values: Declared categorical values (empty for a banded numeric column).
        edges: Band edges of a numeric column (increasing; empty for a categorical one).
        other: Label of undeclared categorical values (``None``: such rows are left out).

    Example:
        >>> SynthColumn("age", edges=(0, 40, 80)).labels
        ('0-39', '40-79', '80+')
        >>> SynthColumn("sex", values=("M", "F"), other="unknown").labels
        ('M', 'F', 'unknown')
    """

    name: str
    values: tuple[str, ...] = ()
    edges: tuple[float, ...] = ()
    other: str | None = None

    def __post_init__(self) -> None:
        where = f"column {self.name!r}"
        if not self.name or not self.name.isidentifier():
            raise InvalidSpecError(f"{where}: a column name is letters, digits and '_'")
        if bool(self.values) == bool(self.edges):
            raise InvalidSpecError(f"{where}: declare either its values or its band edges")
        if self.edges:
            if self.other is not None:
                raise InvalidSpecError(f"{where}: a banded column has no 'other' label")
            DerivedColumn(self.name, self.name, "band", self.edges)  # checks the edges
        if len(set(self.values)) != len(self.values):
            raise InvalidSpecError(f"{where}: its values must be distinct")
        if len(self.labels) > _MAX_VALUES:
            raise InvalidSpecError(f"{where}: more than {_MAX_VALUES} values; bucket it first")

    @property
    def labels(self) -> tuple[str, ...]:
        """The column's domain, in code order."""
        if self.edges:
            return DerivedColumn(self.name, self.name, "band", self.edges).labels()
        if self.other is None or self.other in self.values:
            return self.values
        return (*self.values, self.other)

    @property
    def banded(self) -> bool:
        """Whether the column is numeric, bucketed into bands."""
        return bool(self.edges)


@dataclass(frozen=True)
class SynthesisSpec:
    """A DP synthetic extract: its columns and domains, budget and sampling seed.

    Attributes:
        name: The extract (named on the ledger spend).
        columns: The columns with their declared domains.
        rho: zCDP budget of the whole synthesis.
        method: The mechanism.
        person: The column naming the privacy unit; ``None`` means each row is a different
            person (the caller vouches for it: no bounding of rows per person).
        privacy_unit: The privacy unit, stated on the release.
        rows: Synthetic rows to sample (``None``: the fitted model's noisy total).
        seed: Seed of the sampling of records from the fitted model (never of the noise).
        iterations: Mirror-descent iterations of mbi's estimation (the last round's, for AIM);
            ``None``: the method's default (see :attr:`estimation_iterations`).
        conversion_delta: δ at which ρ is shown as (ε, δ).
        rounds: AIM: T, the rounds the budget is first split into (``None``: 16 per column).
        marginals: AIM: the most marginals selected (``None``: until the budget is spent).
        max_cells: AIM: the largest candidate marginal (cells).

    Example:
        >>> spec = SynthesisSpec("s", (SynthColumn("sex", ("M", "F")),
        ...                            SynthColumn("age", edges=(0, 50))), rho=0.5)
        >>> spec.domain
        {'sex': 2, 'age': 2}
    """

    name: str
    columns: tuple[SynthColumn, ...]
    rho: float
    method: SynthesisMethod = SynthesisMethod.MST
    person: str | None = "person_id"
    privacy_unit: str = DEFAULT_UNIT
    rows: int | None = None
    seed: int = 0
    iterations: int | None = None
    conversion_delta: float = 1e-6
    rounds: int | None = None
    marginals: int | None = None
    max_cells: int = 10_000

    def __post_init__(self) -> None:
        where = f"synthesis {self.name!r}"
        if not self.name or not all(c.isalnum() or c in "_-" for c in self.name):
            raise InvalidSpecError(f"synthesis name {self.name!r}: letters, digits, '_', '-'")
        if len(self.columns) < 2:  # noqa: PLR2004 - a tree of 2-way marginals needs two
            raise InvalidSpecError(f"{where}: declare at least two columns")
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            raise InvalidSpecError(f"{where}: two columns share a name")
        if self.person is not None and self.person in names:
            raise InvalidSpecError(f"{where}: the person column cannot be synthesised")
        if not self.rho >= MIN_RHO or not math.isfinite(self.rho):
            raise InvalidSpecError(f"{where}: rho must be a finite number of at least {MIN_RHO:g}")
        if self.rows is not None and not 1 <= self.rows <= _MAX_ROWS:
            raise InvalidSpecError(f"{where}: rows must be between 1 and {_MAX_ROWS}")
        if self.iterations is not None and not 1 <= self.iterations <= _MAX_ITERATIONS:
            raise InvalidSpecError(f"{where}: iterations must be between 1 and {_MAX_ITERATIONS}")
        if not 0 < self.conversion_delta < 1:
            raise InvalidSpecError(f"{where}: conversion_delta must be in (0, 1)")
        if self.seed < 0:
            raise InvalidSpecError(f"{where}: seed must be >= 0")
        self._check_aim(where)
        sizes = [len(c.labels) for c in self.columns]
        if max(a * b for a, b in itertools.combinations(sizes, 2)) > _MAX_PAIR_CELLS:
            raise InvalidSpecError(
                f"{where}: a pair of columns has more than {_MAX_PAIR_CELLS} cells; bucket them"
            )

    def _check_aim(self, where: str) -> None:
        d = len(self.columns)
        if self.rounds is not None and not 2 * d <= self.rounds <= 100 * d:
            raise InvalidSpecError(f"{where}: rounds must be between 2 and 100 per column")
        if self.marginals is not None and not 1 <= self.marginals <= 1000:  # noqa: PLR2004
            raise InvalidSpecError(f"{where}: marginals must be between 1 and 1000")
        if not 1 <= self.max_cells <= _MAX_PAIR_CELLS:
            raise InvalidSpecError(f"{where}: max_cells must be between 1 and {_MAX_PAIR_CELLS}")

    @property
    def estimation_iterations(self) -> int:
        """The mirror-descent iterations used: the spec's, else the method's default.

        Example:
            >>> cols = (SynthColumn("sex", ("M", "F")), SynthColumn("age", edges=(0, 50)))
            >>> spec = SynthesisSpec("s", cols, rho=0.5)
            >>> aim = spec.with_method(SynthesisMethod.AIM)
            >>> spec.estimation_iterations, aim.estimation_iterations
            (1000, 300)
        """
        return self.method.default_iterations if self.iterations is None else self.iterations

    @property
    def domain(self) -> dict[str, int]:
        """Number of values per column, in column order."""
        return {c.name: len(c.labels) for c in self.columns}

    def with_rho(self, rho: float) -> SynthesisSpec:
        """The same synthesis with another total ρ."""
        return replace(self, rho=rho)

    def with_seed(self, seed: int) -> SynthesisSpec:
        """The same synthesis with another sampling seed."""
        return replace(self, seed=seed)

    def with_method(self, method: SynthesisMethod) -> SynthesisSpec:
        """The same synthesis with another mechanism."""
        return replace(self, method=method)


def parse_synthesis_spec(data: Any, *, rho: float | None = None) -> SynthesisSpec:
    """A synthesis spec from parsed YAML/JSON (``rho`` overrides the file's budget).

    Example:
        >>> spec = parse_synthesis_spec({"name": "s", "epsilon": 1.0, "seed": 3, "columns": {
        ...     "region": "sigungu", "sex": ["M", "F"], "age": {"edges": [0, 65]}}})
        >>> spec.domain, round(spec.rho, 5), spec.seed
        ({'region': 31, 'sex': 2, 'age': 2}, 0.01747, 3)
    """
    if not isinstance(data, dict):
        raise InvalidSpecError("a synthesis spec is a mapping with name, columns and rho/epsilon")
    known = {
        "name", "method", "rho", "epsilon", "person", "privacy_unit", "rows", "seed",
        "iterations", "conversion_delta", "columns", *_AIM_FIELDS,
    }  # fmt: skip
    extra = sorted(set(data) - known)
    if extra:
        raise InvalidSpecError(f"synthesis spec: unknown fields {extra}")
    try:
        delta = float(data.get("conversion_delta", 1e-6))
        if rho is None:
            if ("rho" in data) == ("epsilon" in data):
                raise InvalidSpecError("synthesis spec: give exactly one of rho and epsilon")
            rho = (
                float(data["rho"])
                if "rho" in data
                else rho_of_epsilon(float(data["epsilon"]), delta)
            )
        columns = data.get("columns")
        if not isinstance(columns, dict):
            raise InvalidSpecError("synthesis spec: columns is a mapping of column → domain")
        person = data.get("person", "person_id")
        rows = data.get("rows")
        method = SynthesisMethod(data.get("method", "mst"))
        aim = {k: data[k] for k in _AIM_FIELDS if k in data}
        if aim and method is not SynthesisMethod.AIM:
            raise InvalidSpecError(f"synthesis spec: {sorted(aim)} apply to method aim only")
        return SynthesisSpec(
            name=str(data.get("name", "")),
            columns=tuple(_column(str(n), v) for n, v in columns.items()),
            rho=rho, method=method,
            person=None if person is None else str(person),
            privacy_unit=str(data.get("privacy_unit", DEFAULT_UNIT)),
            rows=None if rows is None else int(rows), seed=int(data.get("seed", 0)),
            iterations=None if data.get("iterations") is None else int(data["iterations"]),
            conversion_delta=delta,
            rounds=_optional_int(aim.get("rounds")),
            marginals=_optional_int(aim.get("marginals")),
            max_cells=int(aim.get("max_cells", 10_000)),
        )  # fmt: skip
    except (KeyError, TypeError, ValueError) as e:
        if isinstance(e, InvalidSpecError):
            raise
        raise InvalidSpecError(f"synthesis spec: {e!s}") from e


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _column(name: str, value: Any) -> SynthColumn:
    if value == "sigungu":
        return SynthColumn(name, tuple(sorted(GYEONGGI_SIGUNGU)))
    if isinstance(value, list):
        return SynthColumn(name, tuple(str(v) for v in value))
    if isinstance(value, dict):
        extra = sorted(set(value) - {"values", "edges", "other"})
        if extra:
            raise InvalidSpecError(f"column {name!r}: unknown fields {extra}")
        values = value.get("values") or ()
        if values == "sigungu":
            values = sorted(GYEONGGI_SIGUNGU)
        other = value.get("other")
        return SynthColumn(
            name,
            tuple(str(v) for v in values),
            tuple(float(e) for e in value.get("edges") or ()),
            None if other is None else str(other),
        )
    raise InvalidSpecError(
        f"column {name!r}: give a list of values, 'sigungu', {{values, other}} or {{edges}}"
    )
