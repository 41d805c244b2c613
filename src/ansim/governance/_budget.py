"""The privacy budget ledger: one zCDP budget per project, every spend audited, never overspent.

A project's budget is ρ (zero-concentrated DP) plus a δ allowance for mechanisms that are only
approximately private (partition selection over unknown keys). Amounts are stored as integers
(ρ in units of 1e-12, δ in 1e-18; a charge is rounded *up*), so the comparison that guards the
budget is exact on SQLite and PostgreSQL alike.

A spend is one conditional ``UPDATE … SET spent = spent + charge WHERE spent + charge <=
total``: the database applies it atomically (PostgreSQL locks the row, SQLite the file), so
concurrent spends from many processes can never overspend; a ``CHECK`` constraint on the table
refuses an overspent row even from a faulty writer. The spend row and its audit event commit in
the same transaction as the update.
"""

from __future__ import annotations

import math
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ansim.errors import AccessDenied, BudgetExhaustedError, InvalidSpecError
from ansim.governance._audit import now_utc
from ansim.governance._model import Operation, checked_name
from ansim.governance._tables import metadata, projects

if TYPE_CHECKING:
    from ansim.governance._service import Governance

__all__ = ["BudgetBalance", "PrivacyLedger", "PrivacySpend", "privacy_budgets", "privacy_spends"]

RHO_UNIT = 1e-12
DELTA_UNIT = 1e-18
_MAX_UNITS = 2**62
_ATTEMPTS = 60  # retries of a spend that lost a race for the database lock or an audit seq

privacy_budgets = sa.Table(
    "privacy_budgets",
    metadata,
    sa.Column("project_id", sa.String(63), sa.ForeignKey("projects.id"), primary_key=True),
    sa.Column("rho_total", sa.BigInteger, nullable=False),
    sa.Column("rho_spent", sa.BigInteger, nullable=False),
    sa.Column("delta_total", sa.BigInteger, nullable=False),
    sa.Column("delta_spent", sa.BigInteger, nullable=False),
    sa.Column("conversion_delta", sa.Float, nullable=False),
    sa.Column("privacy_unit", sa.String(200), nullable=False),
    sa.Column("set_by", sa.String(63), nullable=False),
    sa.Column("set_at", sa.String(40), nullable=False),
    sa.CheckConstraint("rho_spent >= 0 AND rho_spent <= rho_total", name="rho_within"),
    sa.CheckConstraint("delta_spent >= 0 AND delta_spent <= delta_total", name="delta_within"),
)

privacy_spends = sa.Table(
    "privacy_spends",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("project_id", sa.String(63), sa.ForeignKey("projects.id"), nullable=False),
    sa.Column("release", sa.String(200), nullable=False),
    sa.Column("mechanism", sa.String(200), nullable=False),
    sa.Column("rho", sa.BigInteger, nullable=False),
    sa.Column("delta", sa.BigInteger, nullable=False),
    sa.Column("actor", sa.String(63), nullable=False),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("audit_seq", sa.Integer, nullable=False),
    sa.Index("privacy_spends_project", "project_id"),
)


def rho_units(rho: float) -> int:
    """ρ as ledger units, rounded up (a charge is never recorded smaller than it is).

    Example:
        >>> rho_units(0.5)
        500000000000
    """
    return _units(rho, RHO_UNIT, "rho")


def delta_units(delta: float) -> int:
    """δ as ledger units, rounded up.

    Example:
        >>> delta_units(1e-9)
        1000000000
    """
    return _units(delta, DELTA_UNIT, "delta")


def _units(value: float, unit: float, name: str) -> int:
    if not math.isfinite(value) or value < 0:
        raise InvalidSpecError(f"{name} must be a finite number >= 0")
    units = math.ceil(value / unit - 1e-6)  # 1e-6 of a unit absorbs the float division's error
    if units >= _MAX_UNITS:
        raise InvalidSpecError(f"{name} is too large for the ledger")
    return max(units, 0)


@dataclass(frozen=True)
class BudgetBalance:
    """A project's budget and what is left of it.

    Attributes:
        project: The project.
        rho_total: The zCDP budget ρ.
        rho_spent: ρ spent so far.
        delta_total: The δ allowance for approximately private mechanisms.
        delta_spent: δ spent so far.
        conversion_delta: The δ at which ρ is shown as (ε, δ).
        privacy_unit: What one unit of privacy protects (stated on every release).
    """

    project: str
    rho_total: float
    rho_spent: float
    delta_total: float
    delta_spent: float
    conversion_delta: float
    privacy_unit: str

    @property
    def rho_remaining(self) -> float:
        """ρ still available."""
        return max(self.rho_total - self.rho_spent, 0.0)


@dataclass(frozen=True)
class PrivacySpend:
    """One recorded spend.

    Attributes:
        id: The spend's id (cited by the release it paid for).
        project: The project.
        release: The release (table or synthetic extract) it paid for.
        mechanism: The mechanism(s) it paid for.
        rho: ρ charged.
        delta: δ charged.
        actor: Who spent it.
        at: When (ISO 8601 UTC).
        audit_seq: The audit event recording it.
    """

    id: str
    project: str
    release: str
    mechanism: str
    rho: float
    delta: float
    actor: str
    at: str
    audit_seq: int


class PrivacyLedger:
    """The per-project privacy budgets of one governance installation.

    Setting a budget is an administrator's act; spending needs the analyst role and the same
    conditions as any data use (approvals, processing period). Both are audited.

    Args:
        gov: The governance service whose store holds the ledger.
    """

    def __init__(self, gov: Governance) -> None:
        self.gov = gov

    def set_budget(
        self,
        actor: str,
        project: str,
        rho: float,
        *,
        delta: float = 0.0,
        conversion_delta: float = 1e-6,
        privacy_unit: str,
    ) -> BudgetBalance:
        """Set (or raise) a project's budget; it can never drop below what is already spent.

        Args:
            actor: An administrator.
            project: The project.
            rho: Total zCDP budget ρ (> 0).
            delta: δ allowance for partition selection over unknown keys (0 forbids it).
            conversion_delta: The δ at which ρ is shown as (ε, δ).
            privacy_unit: What a unit of privacy is, e.g. "a person of the linked project".

        Returns:
            The new balance.

        Raises:
            AccessDenied: The actor is not an administrator, or the project does not exist.
            InvalidSpecError: A value is out of range, or below what is already spent.
        """
        checked_name("project", project)
        if not rho > 0 or not 0 < conversion_delta < 1 or not 0 <= delta < 1:
            raise InvalidSpecError(
                "a budget needs rho > 0, 0 <= delta < 1, 0 < conversion delta < 1"
            )
        total, allowance = rho_units(rho), delta_units(delta)
        with self.gov._guard(actor, Operation.CREATE_PROJECT, project) as (connection, role):
            if (
                connection.execute(sa.select(projects.c.id).where(projects.c.id == project)).first()
                is None
            ):
                raise AccessDenied(f"no project {project!r}")
            row = _budget_row(connection, project, lock=True)
            values = {
                "rho_total": total, "delta_total": allowance, "conversion_delta": conversion_delta,
                "privacy_unit": privacy_unit, "set_by": actor, "set_at": now_utc(),
            }  # fmt: skip
            if row is None:
                connection.execute(
                    privacy_budgets.insert().values(
                        project_id=project, rho_spent=0, delta_spent=0, **values
                    )
                )
            elif row.rho_spent > total or row.delta_spent > allowance:
                raise InvalidSpecError(
                    f"project {project!r} has already spent more than that budget: a budget "
                    "can be raised, never lowered below what was spent"
                )
            else:
                connection.execute(
                    privacy_budgets.update()
                    .where(privacy_budgets.c.project_id == project)
                    .values(**values)
                )
            self.gov._record(connection, actor, role, "privacy_budget_set", project, {
                "rho": rho, "delta": delta, "conversion_delta": conversion_delta,
                "privacy_unit": privacy_unit,
            })  # fmt: skip
        return self.balance(project)

    def balance(self, project: str) -> BudgetBalance:
        """The project's budget and what is spent.

        Raises:
            BudgetExhaustedError: The project has no budget (nothing may be released under DP).
        """
        with self.gov.store.engine.connect() as connection:
            row = _budget_row(connection, project)
        if row is None:
            raise BudgetExhaustedError(
                f"project {project!r} has no privacy budget: an administrator sets one "
                "('ansim privacy budget --set-rho …')"
            )
        return _balance(row)

    def spend(
        self,
        actor: str,
        project: str,
        *,
        rho: float,
        delta: float = 0.0,
        release: str,
        mechanism: str,
    ) -> PrivacySpend:
        """Record a spend, or refuse it if it would overspend (before any data is read).

        Args:
            actor: An analyst of the project.
            project: The project.
            rho: ρ to charge (> 0).
            delta: δ to charge (from the project's δ allowance).
            release: Name of the release it pays for.
            mechanism: The mechanism(s) it pays for.

        Returns:
            The recorded spend.

        Raises:
            BudgetExhaustedError: The charge exceeds what is left (the refusal is audited).
            AccessDenied: The actor may not use the project's data.
        """
        if not rho > 0:
            raise InvalidSpecError("a spend needs rho > 0")
        charge, charge_delta = rho_units(rho), delta_units(delta)
        attempt = 0
        while True:
            try:
                return self._try_spend(
                    actor, project, charge, charge_delta, release=release, mechanism=mechanism
                )
            except (sa.exc.OperationalError, sa.exc.IntegrityError):
                # lost a race for SQLite's write lock or for the next audit sequence number:
                # the transaction rolled back whole, so trying again charges nothing twice
                attempt += 1
                if attempt >= _ATTEMPTS:
                    raise
                time.sleep(0.01 * (1 + attempt % 10))

    def _try_spend(
        self, actor: str, project: str, charge: int, charge_delta: int, *, release: str,
        mechanism: str,
    ) -> PrivacySpend:  # fmt: skip
        refused: BudgetExhaustedError | None = None
        with self.gov._guard(actor, Operation.QUERY, project) as (connection, role):
            b = privacy_budgets.c
            updated = connection.execute(
                privacy_budgets.update()
                .where(
                    b.project_id == project,
                    b.rho_spent + charge <= b.rho_total,
                    b.delta_spent + charge_delta <= b.delta_total,
                )
                .values(rho_spent=b.rho_spent + charge, delta_spent=b.delta_spent + charge_delta)
            )
            if updated.rowcount != 1:
                refused = _refusal(connection, project, charge, charge_delta)
            else:
                spend_id, at = secrets.token_hex(16), now_utc()
                event = self.gov._record(connection, actor, role, "privacy_spend", project, {
                    "spend": spend_id, "release": release, "mechanism": mechanism,
                    "rho": charge * RHO_UNIT, "delta": charge_delta * DELTA_UNIT,
                })  # fmt: skip
                connection.execute(
                    privacy_spends.insert().values(
                        id=spend_id, project_id=project, release=release, mechanism=mechanism,
                        rho=charge, delta=charge_delta, actor=actor, at=at, audit_seq=event.seq,
                    )
                )  # fmt: skip
        if refused is not None:
            self.gov.audit.append(
                actor=actor, role=role.value, action="privacy_spend_refused", project=project,
                objects={"release": release, "rho": charge * RHO_UNIT, "reason": str(refused)},
            )  # fmt: skip
            raise refused
        return PrivacySpend(
            spend_id, project, release, mechanism, charge * RHO_UNIT, charge_delta * DELTA_UNIT,
            actor, at, event.seq,
        )  # fmt: skip

    def spends(self, project: str) -> list[PrivacySpend]:
        """Every spend of the project, oldest first."""
        s = privacy_spends.c
        with self.gov.store.engine.connect() as connection:
            rows = connection.execute(
                sa.select(privacy_spends).where(s.project_id == project).order_by(s.audit_seq)
            ).all()
        return [_spend(r) for r in rows]


def _spend(r: sa.Row[Any]) -> PrivacySpend:
    return PrivacySpend(
        r.id, r.project_id, r.release, r.mechanism, r.rho * RHO_UNIT, r.delta * DELTA_UNIT,
        r.actor, r.at, r.audit_seq,
    )  # fmt: skip


def _budget_row(
    connection: sa.Connection, project: str, *, lock: bool = False
) -> sa.Row[Any] | None:
    query = sa.select(privacy_budgets).where(privacy_budgets.c.project_id == project)
    if lock:
        query = query.with_for_update()
    return connection.execute(query).first()


def _balance(row: sa.Row[Any]) -> BudgetBalance:
    r = row._mapping
    return BudgetBalance(
        str(r["project_id"]), r["rho_total"] * RHO_UNIT, r["rho_spent"] * RHO_UNIT,
        r["delta_total"] * DELTA_UNIT, r["delta_spent"] * DELTA_UNIT,
        float(r["conversion_delta"]), str(r["privacy_unit"]),
    )  # fmt: skip


def _refusal(
    connection: sa.Connection, project: str, charge: int, charge_delta: int
) -> BudgetExhaustedError:
    row = _budget_row(connection, project)
    if row is None:
        return BudgetExhaustedError(
            f"project {project!r} has no privacy budget: an administrator sets one "
            "('ansim privacy budget --set-rho …')"
        )
    balance = _balance(row)
    if charge * RHO_UNIT > balance.rho_remaining + RHO_UNIT:
        what = f"rho {charge * RHO_UNIT:.6g} but {balance.rho_remaining:.6g} is left"
    else:
        what = f"delta {charge_delta * DELTA_UNIT:.3g} beyond the project's delta allowance"
    return BudgetExhaustedError(
        f"the privacy budget of project {project!r} cannot pay for this release ({what}): "
        "spend less (a larger scale, fewer queries) or ask an administrator to raise it"
    )
