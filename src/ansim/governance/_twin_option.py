"""The dummy twin's kind: a project option, set by an administrator, on what the twin is built from.

Under the row-access policy ``none`` an analyst's free queries run on a dummy twin of each view
(see :class:`~ansim.governance.RowAccessMode`). What the twin is made of is this option:

- ``domains`` (the default): values drawn from the declared column domains only, independently
  per column; no real value is ever read;
- ``dp_synthetic``: each view's twin is MST synthetic data fitted on the real view inside the hub,
  with the stated ρ charged to the project's privacy budget ledger (once per view version,
  before the rows are read); columns MST cannot model keep the domain twin's values.

Only an administrator sets the option (audited with the old and new kind and ρ); every member
of the project can read it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ansim.errors import InvalidSpecError
from ansim.governance._budget import privacy_budgets
from ansim.governance._model import checked_name
from ansim.governance._project_option import set_project_option
from ansim.governance._tables import metadata

if TYPE_CHECKING:
    from ansim.governance._service import Governance

__all__ = ["TwinKind", "TwinOption", "TwinOptionRegister", "twin_options"]

_MIN_RHO = 1e-9  # the smallest ρ any DP release of Ansim spends (ansim.privacy's MIN_RHO)
_DEFAULT_DELTA = 1e-6

twin_options = sa.Table(
    "twin_options",
    metadata,
    sa.Column("project_id", sa.String(63), sa.ForeignKey("projects.id"), primary_key=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("rho", sa.Float, nullable=True),
    sa.Column("conversion_delta", sa.Float, nullable=True),
    sa.Column("set_by", sa.String(63), nullable=False),
    sa.Column("set_at", sa.String(40), nullable=False),
)


class TwinKind(StrEnum):
    """What a view's dummy twin is built from."""

    DOMAINS = "domains"
    """The declared column domains only (no real value read)."""
    DP_SYNTHETIC = "dp_synthetic"
    """MST synthetic data fitted on the real view, paid from the project's privacy budget."""


@dataclass(frozen=True)
class TwinOption:
    """A project's dummy-twin option.

    Attributes:
        kind: What the twin is built from.
        rho: The zCDP ρ each view's DP synthetic twin spends (``dp_synthetic`` only).
        conversion_delta: The δ at which ρ is shown as (ε, δ) (``dp_synthetic`` only).
        set_by: The administrator who set it (``None``: never set, the default).
        set_at: When (ISO 8601 UTC).

    Example:
        >>> round(TwinOption(TwinKind.DP_SYNTHETIC, 0.05, 1e-6).epsilon, 3)
        1.712
        >>> TwinOption(TwinKind.DP_SYNTHETIC)
        Traceback (most recent call last):
        ...
        ansim.errors.InvalidSpecError: a dp_synthetic twin needs its rho (or epsilon) > 0
    """

    kind: TwinKind = TwinKind.DOMAINS
    rho: float | None = None
    conversion_delta: float | None = None
    set_by: str | None = None
    set_at: str | None = None

    def __post_init__(self) -> None:
        """Check that ρ is stated exactly for a DP synthetic twin."""
        if not isinstance(self.kind, TwinKind):
            raise InvalidSpecError(f"the twin's kind is one of {[k.value for k in TwinKind]}")
        if self.kind is TwinKind.DP_SYNTHETIC:
            if self.rho is None or not math.isfinite(self.rho) or self.rho < _MIN_RHO:
                raise InvalidSpecError("a dp_synthetic twin needs its rho (or epsilon) > 0")
            delta = self.conversion_delta
            if delta is None or not 0 < delta < 1:
                raise InvalidSpecError("a dp_synthetic twin's conversion delta is in (0, 1)")
        elif self.rho is not None or self.conversion_delta is not None:
            raise InvalidSpecError("only a dp_synthetic twin states a rho or epsilon")

    @property
    def epsilon(self) -> float | None:
        """The ε of (ε, δ)-DP each view's twin spends, at :attr:`conversion_delta`."""
        if self.rho is None or self.conversion_delta is None:
            return None
        from ansim.privacy._noise import epsilon_of_rho  # noqa: PLC0415 - privacy builds on us

        return epsilon_of_rho(self.rho, self.conversion_delta)

    def to_dict(self) -> dict[str, Any]:
        """The option as plain data."""
        return {"kind": self.kind.value, "rho": self.rho, "epsilon": self.epsilon,
                "delta": self.conversion_delta, "set_by": self.set_by,
                "set_at": self.set_at}  # fmt: skip


class TwinOptionRegister:
    """Each project's dummy-twin option, in the governance store.

    Args:
        gov: The governance service whose store holds the options.

    Example:
        >>> import datetime as dt, tempfile
        >>> from pathlib import Path
        >>> from ansim.governance import Governance, PassphraseKeyFile, DatasetRequest
        >>> from ansim.governance import ProjectApplication, Purpose
        >>> home = Path(tempfile.mkdtemp())
        >>> gov = Governance(home, keys=PassphraseKeyFile.create(home / "k.ansim", "a passphrase"))
        >>> gov.bootstrap("admin", "Administrator", "KOSTAT")
        >>> gov.create_project("admin", ProjectApplication("p1", "t", Purpose.STATISTICS, "d",
        ...     (DatasetRequest("a", "x"),), dt.date(2026, 1, 1), dt.date(2026, 12, 31)))
        >>> register = TwinOptionRegister(gov)
        >>> register.option("p1").kind.value
        'domains'
        >>> register.set("admin", "p1", TwinKind.DP_SYNTHETIC, rho=0.05).rho
        0.05
        >>> gov.close()
    """

    def __init__(self, gov: Governance) -> None:
        self.gov = gov

    def set(
        self,
        actor: str,
        project: str,
        kind: TwinKind,
        *,
        rho: float | None = None,
        epsilon: float | None = None,
    ) -> TwinOption:
        """Set a project's dummy-twin option (administrators only; audited).

        Args:
            actor: An administrator.
            project: The project.
            kind: What the twin is built from.
            rho: What each view's DP synthetic twin spends (zCDP ρ).
            epsilon: Or its ε, converted to ρ at the δ of the project's privacy budget
                (10⁻⁶ if it has none yet).

        Returns:
            The option now in force.

        Raises:
            AccessDenied: The actor is not an administrator, or there is no such project.
            InvalidSpecError: ρ and ε both given, neither for ``dp_synthetic``, or one given
                for ``domains``.
        """
        checked_name("project", project)
        if rho is not None and epsilon is not None:
            raise InvalidSpecError("state the twin's budget as rho or as epsilon, not both")
        delta = None
        if kind is TwinKind.DP_SYNTHETIC:
            delta = self._conversion_delta(project)
            if epsilon is not None:
                rho = _rho_of(epsilon, delta)
        elif epsilon is not None:
            raise InvalidSpecError("only a dp_synthetic twin states a rho or epsilon")
        wanted = TwinOption(kind, rho, delta)

        def audited(connection: sa.Connection) -> dict[str, Any]:
            before = _read(connection, project)
            return {"kind": kind.value, "rho": rho, "epsilon": wanted.epsilon,
                    "previous": before.kind.value, "previous_rho": before.rho}  # fmt: skip

        now = set_project_option(
            self.gov, actor, project, twin_options,
            {"kind": kind.value, "rho": rho, "conversion_delta": delta}, "set_twin_kind", audited,
        )  # fmt: skip
        return TwinOption(wanted.kind, wanted.rho, wanted.conversion_delta, actor, now)

    def option(self, project: str) -> TwinOption:
        """The project's dummy-twin option (``domains`` until an administrator sets one)."""
        with self.gov.store.engine.connect() as connection:
            return _read(connection, project)

    def _conversion_delta(self, project: str) -> float:
        query = sa.select(privacy_budgets.c.conversion_delta).where(
            privacy_budgets.c.project_id == project
        )
        with self.gov.store.engine.connect() as connection:
            found = connection.execute(query).scalar()
        return _DEFAULT_DELTA if found is None else float(found)


def _rho_of(epsilon: float, delta: float) -> float:
    if not math.isfinite(epsilon) or epsilon <= 0:
        raise InvalidSpecError("a dp_synthetic twin needs its rho (or epsilon) > 0")
    from ansim.privacy._noise import rho_of_epsilon  # noqa: PLC0415 - privacy builds on us

    return rho_of_epsilon(epsilon, delta)


def _read(connection: sa.Connection, project: str) -> TwinOption:
    query = sa.select(twin_options).where(twin_options.c.project_id == project)
    row = connection.execute(query).first()
    if row is None:
        return TwinOption()
    return TwinOption(TwinKind(row.kind), row.rho, row.conversion_delta, row.set_by, row.set_at)
