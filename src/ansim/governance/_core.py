"""The governance service's core: the role check, the approval gate and the audit record.

Every public operation of :class:`~ansim.governance.Governance` runs inside :meth:`Core._guard`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ansim.errors import AccessDenied, IntegrityError
from ansim.governance._audit import (
    AuditEvent,
    AuditLog,
    AuditSigner,
)
from ansim.governance._keyprovider import KeyProvider, default_key_provider
from ansim.governance._keys import KeyStore, MasterKeyStore, ProjectKey
from ansim.governance._model import (
    Operation,
    Role,
)
from ansim.governance._rbac import DATA_OPERATIONS, allowed_roles
from ansim.governance._store import MetadataStore
from ansim.governance._tables import (
    approvals,
    audit_events,
    memberships,
    project_datasets,
    project_keys,
    projects,
    users,
)

__all__ = ["Core"]

SYSTEM = "system"
_CUSTODIAN_SCOPED = frozenset(
    {
        Operation.APPROVE_DATASET,
        Operation.REVOKE_DATASET,
        Operation.VIEW_DATASET,
        Operation.SUBMIT_PARTS,
    }
)


class Core:
    """State and checks shared by every governance operation (see ``Governance``).

    Args:
        home: Directory for the default SQLite store, the master key file and the audit key.
        url: Metadata store URL (default: ``sqlite:///<home>/governance.db``).
        keys: The master key and audit signing key (default: the environment's, else the
            home's passphrase key file, created only for a new installation).
        today: Clock for processing periods (tests and the demo pass their own day).

    Raises:
        InvalidSpecError: The keys are missing (never replaced by fresh ones).
        AccessDenied: The key file's passphrase is wrong.
    """

    def __init__(
        self,
        home: Path,
        *,
        url: str | None = None,
        keys: KeyProvider | None = None,
        today: dt.date | None = None,
    ) -> None:
        self.home = home
        self.store = MetadataStore(url) if url else MetadataStore.sqlite(home / "governance.db")
        try:
            if keys is None:
                keys = default_key_provider(home, new_installation=self._is_new())
            self.keys = keys
            self.keystore: KeyStore = MasterKeyStore(keys.secret("master"))
            signing = Ed25519PrivateKey.from_private_bytes(keys.secret("audit_signing"))
        except BaseException:
            self.store.close()
            raise
        self.audit = AuditLog(self.store, AuditSigner(home / "audit", signing))
        self._today = today

    def _is_new(self) -> bool:
        """Whether the store holds nothing yet (no user, no audit event)."""
        with self.store.engine.connect() as connection:
            held = connection.execute(sa.select(sa.func.count()).select_from(users)).scalar()
            logged = connection.execute(
                sa.select(sa.func.count()).select_from(audit_events)
            ).scalar()
        return not held and not logged

    def close(self) -> None:
        """Release the metadata store."""
        self.store.close()

    def today(self) -> dt.date:
        """The day processing periods are checked against."""
        return self._today or dt.datetime.now(dt.UTC).date()

    # -- the guard ---------------------------------------------------------------------------
    @contextmanager
    def _guard(
        self,
        actor: str,
        operation: Operation,
        project: str | None = None,
        *,
        dataset: str | None = None,
    ) -> Iterator[tuple[sa.Connection, Role]]:
        """Authorise, run the body in one transaction, then publish the audit head.

        A refusal is itself audited (``access_denied``) before :class:`AccessDenied` is raised.
        """
        try:
            with self.store.engine.begin() as connection:
                role = self._authorize(connection, actor, operation, project, dataset)
                yield connection, role
        except AccessDenied as e:
            self.audit.append(
                actor=actor, role=Role.PUBLIC.value, action="access_denied",
                project=project if project and self._project_row(project) else None,
                objects={"operation": operation.value, "dataset": dataset, "reason": str(e)},
            )  # fmt: skip
            raise
        self.audit.publish_head()

    def _authorize(
        self,
        connection: sa.Connection,
        actor: str,
        operation: Operation,
        project: str | None,
        dataset: str | None,
    ) -> Role:
        held = self._roles(connection, actor, project)
        usable = [r for r in Role if r in held and r in allowed_roles(operation)]
        if not usable:
            raise AccessDenied(
                f"{actor!r} may not {operation.value.replace('_', ' ')}"
                + (f" in project {project!r}" if project else "")
                + f": it needs the role {' or '.join(sorted(allowed_roles(operation)))}"
            )
        if operation in _CUSTODIAN_SCOPED:
            custodian = self._custodian_of(connection, project, dataset)
            if custodian not in self._custodians(connection, actor, project):
                raise AccessDenied(
                    f"{actor!r} is not an officer of the custodian of {dataset!r}: custodians "
                    "act on and see their own datasets only"
                )
        if operation in DATA_OPERATIONS:
            self._require_data_use(connection, project)
        return usable[0]

    def _roles(self, connection: sa.Connection, actor: str, project: str | None) -> set[Role]:
        scope: sa.ColumnElement[bool] = memberships.c.project_id.is_(None)
        if project is not None:
            scope = sa.or_(scope, memberships.c.project_id == project)
        query = sa.select(memberships.c.role, memberships.c.project_id).where(
            memberships.c.user_id == actor, scope
        )
        held = {Role.PUBLIC}
        for row in connection.execute(query):
            role = Role(row.role)
            # administrators are global; project roles count in their project only
            if (row.project_id is None) == (role is Role.ADMINISTRATOR):
                held.add(role)
        return held

    def _custodians(self, connection: sa.Connection, actor: str, project: str | None) -> set[str]:
        rows = connection.execute(
            sa.select(memberships.c.custodian).where(
                memberships.c.user_id == actor,
                memberships.c.project_id == project,
                memberships.c.role == Role.CUSTODIAN_OFFICER.value,
            )
        )
        return {r.custodian for r in rows}

    def _custodian_of(
        self, connection: sa.Connection, project: str | None, dataset: str | None
    ) -> str:
        row = connection.execute(
            sa.select(project_datasets.c.custodian).where(
                project_datasets.c.project_id == project, project_datasets.c.dataset == dataset
            )
        ).first()
        if row is None:
            raise AccessDenied(f"project {project!r} did not request dataset {dataset!r}")
        return str(row.custodian)

    def _project_row(self, project: str) -> Any:
        with self.store.engine.connect() as connection:
            return connection.execute(sa.select(projects).where(projects.c.id == project)).first()

    def _require_data_use(self, connection: sa.Connection, project: str | None) -> None:
        row = connection.execute(sa.select(projects).where(projects.c.id == project)).first()
        if row is None:
            raise AccessDenied(f"no project {project!r}")
        if row.status != "active":
            raise AccessDenied(f"project {project!r} is {row.status}: its data is gone")
        today = self.today()
        if not row.period_start <= today <= row.period_end:
            raise AccessDenied(
                f"project {project!r} may process data from {row.period_start} to "
                f"{row.period_end} only"
            )
        pending = [d for d, state in self._approval_state(connection, project).items() if state]
        if pending:
            raise AccessDenied(
                f"project {project!r} receives no data until every custodian approves: "
                f"{sorted(pending)} not approved (or revoked)"
            )

    def _approval_state(self, connection: sa.Connection, project: str | None) -> dict[str, str]:
        """Dataset → ``""`` if approved now, else ``"pending"`` or ``"revoked"``."""
        state = {
            r.dataset: "pending"
            for r in connection.execute(
                sa.select(project_datasets.c.dataset).where(
                    project_datasets.c.project_id == project
                )
            )
        }
        for r in connection.execute(
            sa.select(approvals.c.dataset, approvals.c.decision)
            .where(approvals.c.project_id == project)
            .order_by(approvals.c.id)
        ):
            state[r.dataset] = "" if r.decision == "approved" else "revoked"
        return state

    def _record(  # noqa: PLR0917  # an audit event's fields, in the order they are recorded
        self,
        connection: sa.Connection,
        actor: str,
        role: Role,
        action: str,
        project: str | None,
        objects: Mapping[str, Any],
    ) -> AuditEvent:
        purpose = None
        if project is not None:
            row = connection.execute(
                sa.select(projects.c.purpose).where(projects.c.id == project)
            ).first()
            purpose = row.purpose if row else None
        return self.audit.append(
            actor=actor, role=role.value, action=action, project=project, purpose=purpose,
            objects=objects, connection=connection,
        )  # fmt: skip

    def _data_key(self, connection: sa.Connection, project: str) -> ProjectKey:
        row = connection.execute(
            sa.select(project_keys).where(project_keys.c.project_id == project)
        ).first()
        if row is None or row.wrapped is None:
            raise AccessDenied(
                f"project {project!r} has no data key: an administrator issues one "
                "('ansim project key'), or it was destroyed"
            )
        key = self.keystore.unwrap(project, bytes(row.wrapped))
        if key.key_id != row.key_id:
            raise IntegrityError(f"the data key of project {project!r} is not the one issued")
        return key
