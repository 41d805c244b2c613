"""The release service: what an analyst submits to a project's one release path, in the hub.

:class:`Release` makes the candidates the CLI's ``release table``, ``privacy release --project``
and ``disclose table --project`` ask for — the rate table from the hub store, the DP tables
paid from the project's privacy budget, a protected table from a records file uploaded to the
server — and submits each to the project's :class:`~ansim.release.ReleaseService`, which
reviews (two checkers, never the author), audits against the ledger and releases. The acting
user is always the caller's authenticated one; governance authorises and audits every step.
The server's routes and ``ansim demo`` call these methods; nothing else submits.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ansim.errors import InvalidSpecError, NotFoundError
from ansim.governance import Governance

if TYPE_CHECKING:
    import pyarrow as pa

    from ansim.disclosure import ProtectedTable, SuppressionRule
    from ansim.privacy import DPRelease, ReleaseSpec
    from ansim.release import RateTableSpec, ReleasedTable, ReleaseService, Submission

__all__ = ["DPSubmission", "Release", "TableRequest"]

_METHODS = ("heuristic", "optimal")


@dataclass(frozen=True)
class TableRequest:
    """A protected table to make from records: its dimensions, rules and contributor unit.

    Args:
        tables: The classifying columns of each linked table (one tuple per ``--by``).
        contributor: The column of the persons' or firms' ids the ledger audits.
        value: A magnitude column to sum (``None``: counts).
        threshold: Smallest publishable contributor count (``None``: no threshold rule).
        dominance: The ``(n, k)`` dominance rule, if any.
        p_percent: The p% rule's p, if any.
        method: Secondary suppression: ``heuristic`` or ``optimal``.
        title: A description for the checkers.

    Example:
        >>> TableRequest((), "person")
        Traceback (most recent call last):
        ...
        ansim.errors.InvalidSpecError: a protected table needs at least one classifying column
    """

    tables: tuple[tuple[str, ...], ...]
    contributor: str
    value: str | None = None
    threshold: int | None = 10
    dominance: tuple[int, float] | None = None
    p_percent: float | None = None
    method: str = "heuristic"
    title: str = ""

    def __post_init__(self) -> None:
        """Check the dimensions, the contributor column and the method."""
        if not self.tables or not all(self.tables):
            raise InvalidSpecError("a protected table needs at least one classifying column")
        if not self.contributor:
            raise InvalidSpecError(
                "a submitted table names its contributor column (the ids the ledger audits)"
            )
        if self.method not in _METHODS:
            raise InvalidSpecError(f"method must be heuristic or optimal, not {self.method!r}")
        if self.threshold is not None and self.threshold < 1:
            raise InvalidSpecError(f"threshold must be at least 1, got {self.threshold}")

    def rules(self) -> list[SuppressionRule]:
        """The primary suppression rules it names."""
        from ansim.disclosure import primary_rules  # noqa: PLC0415

        return primary_rules(self.threshold, self.dominance, self.p_percent)


@dataclass(frozen=True)
class DPSubmission:
    """A DP release paid from the project's budget and submitted for review.

    Attributes:
        release: The measured release (its plan: ρ, ε, the privacy unit).
        submissions: One submission per DP table.
        rho_remaining: What is left of the project's budget.
    """

    release: DPRelease
    submissions: tuple[Submission, ...]
    rho_remaining: float


@dataclass(frozen=True)
class Release:
    """A project's submissions to its one release path, made inside the hub.

    Args:
        governance: The installation's governance.
        project: The project.
        store: The project's hub store (its release ledger is beside it, in ``workspace``).
        portal_home: The deployment home whose portal shows released ``portal.json`` tables
            (``None``: a candidate may not carry one).

    Example:
        >>> Release(None, "p", Path("hub/hub.duckdb")).workspace  # type: ignore[arg-type]
        PosixPath('hub/workspace')
    """

    governance: Governance
    project: str
    store: Path
    portal_home: Path | None = None

    @property
    def workspace(self) -> Path:
        """The project's workspace directory (outputs, the release ledger)."""
        return self.store.parent / "workspace"

    def _store(self) -> Path:
        if not self.store.is_file():
            raise NotFoundError(f"project {self.project!r} has no linked data in the hub yet")
        return self.store

    def path(self) -> ReleaseService:
        """The project's review-and-release path."""
        from ansim.release import ReleaseService  # noqa: PLC0415

        return ReleaseService(
            self.governance, self.project, self.workspace, portal_home=self.portal_home
        )

    def submit_rate_table(
        self, actor: str, spec: RateTableSpec
    ) -> tuple[ReleasedTable, Submission]:
        """Make the rate table in the hub store (as the analyst) and submit it for review.

        Cells under the threshold, and those the ledger would refuse given everything the
        project released, are withheld (``x``).

        Raises:
            AccessDenied: The actor may not query or submit in this project.
            HubError: The hub holds no such linked datasets or columns.
        """
        from ansim.release import Candidate, rate_table, vet_rate_table  # noqa: PLC0415

        path = self.path()
        with self.governance.open_hub_store(actor, self.project, self._store()) as engine:
            released = vet_rate_table(rate_table(engine, spec), path.ledger)
        return released, path.submit(actor, Candidate.rate_table(released))

    def submit_dp_tables(self, actor: str, spec: ReleaseSpec, table: str) -> DPSubmission:
        """Charge the project's privacy budget once and submit each DP table for review.

        Raises:
            AccessDenied: The actor may not query or submit in this project.
            BudgetExhaustedError: The budget cannot pay; nothing is read or submitted.
            InvalidSpecError: A check before payment failed (nothing is charged).
        """
        from ansim.governance import PrivacyLedger  # noqa: PLC0415
        from ansim.privacy import release_for_review  # noqa: PLC0415

        path = self.path()
        with self.governance.open_hub_store(actor, self.project, self._store()) as engine:
            release, submitted = release_for_review(path, actor, spec, engine=engine, table=table)
        left = PrivacyLedger(self.governance).balance(self.project).rho_remaining
        return DPSubmission(release, submitted, left)

    def submit_protected_table(
        self,
        actor: str,
        records: pa.Table,
        request: TableRequest,
        *,
        extra: dict[str, Any] | None = None,
    ) -> tuple[ProtectedTable, Submission]:
        """Tabulate records with all margins, protect the table, submit it for review.

        Raises:
            AccessDenied: The actor may not submit outputs in this project.
            InvalidSpecError: A column is missing, or the rules are not valid.
        """
        from ansim.disclosure import (  # noqa: PLC0415 - SciPy on import
            SecondaryMethod,
            link_tables,
            protect_cells,
            tabulate,
        )
        from ansim.release import Candidate  # noqa: PLC0415

        path = self.path()
        cells = link_tables(
            *(tabulate(records, list(t), value=request.value, contributor=request.contributor)
              for t in request.tables)
        )  # fmt: skip
        protected = protect_cells(cells, request.rules(), method=SecondaryMethod(request.method))
        candidate = Candidate.protected_table(
            protected, threshold=request.threshold or 1, unit=request.contributor,
            title=request.title, extra=extra,
        )  # fmt: skip
        return protected, path.submit(actor, candidate)
