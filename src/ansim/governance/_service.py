"""The governance service: every operation checks the actor's project roles, then is audited.

The CLI, the web app and the demo call these methods; none of them checks roles itself.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ansim._atomic import write_text_atomic
from ansim.engine import Engine
from ansim.errors import AccessDenied, IntegrityError, InvalidSpecError
from ansim.governance._audit import (
    AuditLog,
    AuditReport,
    AuditSigner,
    now_utc,
    object_hash,
)
from ansim.governance._core import SYSTEM, Core
from ansim.governance._exports import five_safes_summary, write_processing_record
from ansim.governance._keys import ProjectKey
from ansim.governance._model import (
    DatasetRequest,
    Operation,
    ProjectApplication,
    Purpose,
    Role,
    checked_name,
)
from ansim.governance._rbac import role_conflicts
from ansim.governance._retention import DestructionCertificate, remove_files, retention_end
from ansim.governance._tables import (
    approvals,
    grant_approvals,
    memberships,
    outputs,
    project_datasets,
    project_files,
    project_keys,
    projects,
    users,
)

__all__ = ["Governance"]


class Governance(Core):
    """Projects, roles, approvals, keys, destruction and the audit chain of one installation.

    Every method checks the actor's project roles (and separation of duties) first and appends
    an audit event in the same transaction; the CLI, the web app and the demo call these
    methods and check nothing themselves.

    Args:
        home: Directory for the default SQLite store, the master key file and the audit key.
        url: Metadata store URL (default: ``sqlite:///<home>/governance.db``).
        keys: The master key and audit signing key (default: the environment's, else the
            home's passphrase key file, created only for a new installation).
        today: Clock for processing periods (tests and the demo pass their own day).

    Example:
        >>> import tempfile
        >>> from ansim.governance import PassphraseKeyFile
        >>> home = Path(tempfile.mkdtemp())
        >>> keys = PassphraseKeyFile.create(home / "keys.ansim", "a long passphrase")
        >>> gov = Governance(home, keys=keys)
        >>> gov.bootstrap("admin", "Administrator", "KOSTAT")
        >>> gov.register_user("admin", "kim", "Kim", "KOSTAT")
        >>> gov.register_user("kim", "lee", "Lee", "SNU")
        Traceback (most recent call last):
        ...
        ansim.errors.AccessDenied: 'kim' may not register user: it needs the role administrator
        >>> gov.verify_audit().ok
        True
        >>> gov.close()
    """

    # -- users and projects ------------------------------------------------------------------
    def bootstrap(self, administrator: str, name: str, organisation: str) -> None:
        """Create the first administrator of an empty installation.

        Raises:
            AccessDenied: The installation already has users.
        """
        checked_name("user", administrator)
        with self.store.engine.begin() as connection:
            if connection.execute(sa.select(sa.func.count()).select_from(users)).scalar():
                raise AccessDenied("this installation already has users: ask an administrator")
            now = now_utc()
            connection.execute(
                users.insert().values(
                    id=administrator, name=name, organisation=organisation, created_at=now
                )
            )
            connection.execute(
                memberships.insert().values(
                    user_id=administrator, role=Role.ADMINISTRATOR.value, granted_at=now
                )
            )
            self._record(
                connection, SYSTEM, Role.ADMINISTRATOR, "bootstrap", None,
                {"administrator": administrator},
            )  # fmt: skip
        self.audit.publish_head()

    def register_user(self, actor: str, user: str, name: str, organisation: str) -> None:
        """Register a person (no role yet)."""
        checked_name("user", user)
        with self._guard(actor, Operation.REGISTER_USER) as (connection, role):
            if connection.execute(sa.select(users.c.id).where(users.c.id == user)).first():
                raise InvalidSpecError(f"user {user!r} is already registered")
            connection.execute(
                users.insert().values(
                    id=user, name=name, organisation=organisation, created_at=now_utc()
                )
            )
            self._record(connection, actor, role, "register_user", None, {"user": user})

    def create_project(self, actor: str, application: ProjectApplication) -> None:
        """Record a project application; it receives no data until every custodian approves."""
        with self._guard(actor, Operation.CREATE_PROJECT) as (connection, role):
            a = application
            if connection.execute(
                sa.select(projects.c.id).where(projects.c.id == a.project)
            ).first():
                raise InvalidSpecError(f"project {a.project!r} already exists")
            connection.execute(
                projects.insert().values(
                    id=a.project, title=a.title, purpose=a.purpose.value,
                    legal_basis=a.purpose.legal_basis, description=a.description,
                    period_start=a.period_start, period_end=a.period_end, status="active",
                    created_by=actor, created_at=now_utc(),
                )
            )  # fmt: skip
            for request in a.datasets:
                connection.execute(
                    project_datasets.insert().values(
                        project_id=a.project, dataset=request.dataset, custodian=request.custodian
                    )
                )
            self._record(
                connection, actor, role, "create_project", a.project,
                {
                    "datasets": {d.dataset: d.custodian for d in a.datasets},
                    "period": f"{a.period_start}/{a.period_end}",
                },
            )  # fmt: skip

    def add_member(
        self, actor: str, project: str, user: str, role: Role, *, custodian: str | None = None
    ) -> None:
        """Give ``user`` a role in ``project`` (``custodian`` names whom an officer acts for).

        A grant that would combine incompatible roles (administrator with any project role,
        output checker with analyst, linkage unit with hub; see ``INCOMPATIBLE_ROLES``) is
        refused unless another administrator approved exactly this grant first
        (:meth:`approve_grant`); the grant then records who approved it.

        Raises:
            AccessDenied: Not an administrator, or the grant breaks separation of duties.
            InvalidSpecError: A role that cannot be granted per project, or a missing custodian.
        """
        if role in (Role.ADMINISTRATOR, Role.PUBLIC):
            raise InvalidSpecError(f"{role.value} is not a project role")
        if (role is Role.CUSTODIAN_OFFICER) != (custodian is not None):
            raise InvalidSpecError("a custodian officer, and only one, names the custodian")
        with self._guard(actor, Operation.ADD_MEMBER, project) as (connection, admin):
            self._require_project(connection, project)
            self._require_user(connection, user)
            held = frozenset(self._roles(connection, user, project))
            approved_by = self._consume_exception(connection, actor, project, user, role, held)
            connection.execute(
                memberships.insert().values(
                    user_id=user, project_id=project, role=role.value, custodian=custodian,
                    granted_at=now_utc(),
                )
            )  # fmt: skip
            self._record(
                connection, actor, admin, "add_member", project,
                {"user": user, "role": role.value, "custodian": custodian}
                | ({"approved_by": approved_by} if approved_by else {}),
            )  # fmt: skip

    def add_administrator(self, actor: str, user: str) -> None:
        """Make ``user`` an administrator too.

        Never someone holding a project role, unless a second administrator approved it with
        :meth:`approve_grant`.

        Raises:
            AccessDenied: Not an administrator, or the user holds a data role.
        """
        with self._guard(actor, Operation.REGISTER_USER) as (connection, admin):
            self._require_user(connection, user)
            held = frozenset(
                Role(r.role)
                for r in connection.execute(
                    sa.select(memberships.c.role).where(memberships.c.user_id == user)
                )
            )
            if Role.ADMINISTRATOR in held:
                raise InvalidSpecError(f"{user!r} is already an administrator")
            approved_by = self._consume_exception(
                connection, actor, None, user, Role.ADMINISTRATOR, held
            )
            connection.execute(
                memberships.insert().values(
                    user_id=user, role=Role.ADMINISTRATOR.value, granted_at=now_utc()
                )
            )
            self._record(
                connection, actor, admin, "add_administrator", None,
                {"user": user} | ({"approved_by": approved_by} if approved_by else {}),
            )  # fmt: skip

    def approve_grant(self, actor: str, project: str | None, user: str, role: Role) -> None:
        """A second administrator approves one grant that combines incompatible roles.

        The approval is used once, by :meth:`add_member` (or :meth:`add_administrator` with
        ``project=None``) run by a *different* administrator; both steps are audited.

        Raises:
            AccessDenied: Not an administrator.
            InvalidSpecError: The user or project does not exist.
        """
        with self._guard(actor, Operation.ADD_MEMBER, project) as (connection, admin):
            self._require_user(connection, user)
            if project is not None:
                self._require_project(connection, project)
            connection.execute(
                grant_approvals.insert().values(
                    project_id=project, user_id=user, role=role.value, approved_by=actor,
                    approved_at=now_utc(),
                )
            )  # fmt: skip
            self._record(
                connection, actor, admin, "approve_grant", project,
                {"user": user, "role": role.value},
            )  # fmt: skip

    def _project_exists(self, connection: sa.Connection, project: str) -> bool:
        query = sa.select(projects.c.id).where(projects.c.id == project)
        return connection.execute(query).first() is not None

    def _require_project(self, connection: sa.Connection, project: str) -> None:
        if not self._project_exists(connection, project):
            raise InvalidSpecError(f"no project {project!r}")

    def _require_user(self, connection: sa.Connection, user: str) -> None:
        if connection.execute(sa.select(users.c.id).where(users.c.id == user)).first() is None:
            raise InvalidSpecError(f"no user {user!r}: register them first")

    def _consume_exception(  # noqa: PLR0917  # the grant's fields
        self,
        connection: sa.Connection,
        actor: str,
        project: str | None,
        user: str,
        role: Role,
        held: frozenset[Role],
    ) -> str | None:
        """``None`` if the grant is compatible, else the approving administrator (used up)."""
        conflicts = role_conflicts(held, role)
        if not conflicts:
            return None
        scope = (
            grant_approvals.c.project_id.is_(None)
            if project is None
            else grant_approvals.c.project_id == project
        )
        row = connection.execute(
            sa.select(grant_approvals.c.id, grant_approvals.c.approved_by)
            .where(
                scope, grant_approvals.c.user_id == user, grant_approvals.c.role == role.value,
                grant_approvals.c.approved_by != actor, grant_approvals.c.used_at.is_(None),
            )
            .order_by(grant_approvals.c.id)
            .limit(1)
        ).first()  # fmt: skip
        if row is None:
            where = f" in {project!r}" if project else ""
            raise AccessDenied(
                f"separation of duties: {user!r} already holds "
                f"{sorted(r.value for r in held if r is not Role.PUBLIC)}{where}; "
                f"{'; '.join(conflicts)} (a second administrator may approve this grant)"
            )
        connection.execute(
            grant_approvals.update()
            .where(grant_approvals.c.id == row.id)
            .values(used_by=actor, used_at=now_utc())
        )
        return str(row.approved_by)

    # -- approvals -----------------------------------------------------------------------------
    def approve(self, actor: str, project: str, dataset: str) -> None:
        """A custodian officer approves the project's use of their dataset."""
        self._decide(actor, project, dataset, Operation.APPROVE_DATASET, "approved")

    def revoke(self, actor: str, project: str, dataset: str) -> None:
        """A custodian officer withdraws approval: every further use of the project's data stops."""
        self._decide(actor, project, dataset, Operation.REVOKE_DATASET, "revoked")

    def _decide(
        self, actor: str, project: str, dataset: str, operation: Operation, decision: str
    ) -> None:
        with self._guard(actor, operation, project, dataset=dataset) as (connection, role):
            custodian = self._custodian_of(connection, project, dataset)
            connection.execute(
                approvals.insert().values(
                    project_id=project, dataset=dataset, custodian=custodian, officer=actor,
                    decision=decision, at=now_utc(),
                )
            )  # fmt: skip
            self._record(
                connection, actor, role, operation.value, project,
                {"dataset": dataset, "custodian": custodian},
            )  # fmt: skip

    def approval_state(self, project: str) -> dict[str, str]:
        """Dataset → ``approved``, ``pending`` or ``revoked``."""
        with self.store.engine.connect() as connection:
            state = self._approval_state(connection, project)
        return {d: s or "approved" for d, s in state.items()}

    # -- keys and the hub store ----------------------------------------------------------------
    def issue_key(self, actor: str, project: str) -> str:
        """Create the project's data key, wrapped by the master key; returns its fingerprint.

        Raises:
            AccessDenied: Not an administrator, or the project already has a key.
        """
        with self._guard(actor, Operation.ISSUE_KEY, project) as (connection, role):
            if connection.execute(
                sa.select(project_keys.c.key_id).where(project_keys.c.project_id == project)
            ).first():
                raise AccessDenied(f"project {project!r} already has a data key")
            key = ProjectKey.generate()
            connection.execute(
                project_keys.insert().values(
                    project_id=project, key_id=key.key_id,
                    master_key_id=self.keystore.master_key_id,
                    wrapped=self.keystore.wrap(project, key), created_at=now_utc(),
                )
            )  # fmt: skip
            self._record(
                connection, actor, role, "issue_key", project,
                {"key_id": key.key_id, "master_key_id": self.keystore.master_key_id},
            )  # fmt: skip
            return key.key_id

    def authorize(
        self,
        actor: str,
        project: str,
        operation: Operation,
        *,
        dataset: str | None = None,
        objects: Mapping[str, Any] | None = None,
    ) -> Role:
        """Check and record one operation that happens outside the store (e.g. a linkage run).

        Args:
            actor: Who acts.
            project: In which project.
            operation: What they do.
            dataset: The dataset, for custodian-scoped operations.
            objects: Object names → hashes or counts, for the audit event.

        Returns:
            The role the actor acts in.

        Raises:
            AccessDenied: The actor's roles, the approvals or the processing period forbid it.
        """
        with self._guard(actor, operation, project, dataset=dataset) as (connection, role):
            body = dict(objects or {})
            if dataset is not None:
                body["dataset"] = dataset
            self._record(connection, actor, role, operation.value, project, body)
            return role

    def project_key(self, actor: str, project: str, *, write: bool = False) -> ProjectKey:
        """The project's data key, for a hub operator (write) or an analyst (read).

        The key is unwrapped only after the role, approval and period checks pass; each use is
        audited (``key_use``). Prefer :meth:`open_hub_store`, which never hands the key out.

        Raises:
            AccessDenied: See :meth:`authorize`, or the key was never issued or is destroyed.
        """
        operation = Operation.COMBINE if write else Operation.QUERY
        with self._guard(actor, operation, project) as (connection, role):
            key = self._data_key(connection, project)
            self._record(
                connection, actor, role, "key_use", project,
                {"key_id": key.key_id, "mode": "write" if write else "read"},
            )  # fmt: skip
            return key

    def open_hub_store(
        self, actor: str, project: str, path: Path, *, write: bool = False
    ) -> Engine:
        """Open the project's encrypted hub store: hub operators write, analysts query.

        Opening for writing registers the file for removal at destruction. The caller closes
        the returned engine.

        Raises:
            AccessDenied: See :meth:`authorize`.
        """
        operation = Operation.COMBINE if write else Operation.QUERY
        with self._guard(actor, operation, project) as (connection, role):
            key = self._data_key(connection, project)
            if write:
                resolved = str(path.resolve())
                connection.execute(
                    sa.delete(project_files).where(
                        project_files.c.project_id == project, project_files.c.path == resolved
                    )
                )
                connection.execute(
                    project_files.insert().values(
                        project_id=project, path=resolved, kind="hub_store",
                        registered_at=now_utc(),
                    )
                )  # fmt: skip
            self._record(
                connection, actor, role, "key_use", project,
                {"key_id": key.key_id, "store": path.name, "mode": "write" if write else "read"},
            )  # fmt: skip
            return Engine(path, read_only=not write, encryption_key=key.key)

    def receive_files(
        self,
        actor: str,
        project: str,
        paths: list[Path],
        *,
        operation: Operation = Operation.COMBINE,
    ) -> None:
        """Authorise a step and record the files it received; they are removed at destruction.

        Args:
            actor: The receiving operator.
            project: The project.
            paths: The received files.
            operation: The step they are received for (``COMBINE`` at the hub,
                ``RUN_LINKAGE`` at the linkage unit).

        Raises:
            AccessDenied: See :meth:`authorize`.
        """
        with self._guard(actor, operation, project) as (connection, role):
            hashes = {}
            for path in paths:
                resolved = str(path.resolve())
                connection.execute(
                    sa.delete(project_files).where(
                        project_files.c.project_id == project, project_files.c.path == resolved
                    )
                )
                connection.execute(
                    project_files.insert().values(
                        project_id=project, path=resolved, kind=f"received:{operation.value}",
                        registered_at=now_utc(),
                    )
                )  # fmt: skip
                hashes[path.name] = object_hash(path.read_bytes())
            self._record(connection, actor, role, operation.value, project, {"received": hashes})

    def login(self, actor: str) -> None:
        """Record that a registered user signed in (authentication itself is the web layer's).

        Raises:
            AccessDenied: The user is not registered.
        """
        with self.store.engine.begin() as connection:
            if connection.execute(sa.select(users.c.id).where(users.c.id == actor)).first() is None:
                raise AccessDenied(f"{actor!r} is not a registered user")
            held = self._roles(connection, actor, None)
            role = Role.ADMINISTRATOR if Role.ADMINISTRATOR in held else Role.PUBLIC
            self._record(connection, actor, role, "login", None, {})
        self.audit.publish_head()

    # -- outputs -----------------------------------------------------------------------------
    def submit_output(self, actor: str, project: str, output: str, content: bytes) -> None:
        """An analyst submits an output for checking (held until reviewed)."""
        checked_name("output", output)
        with self._guard(actor, Operation.SUBMIT_OUTPUT, project) as (connection, role):
            digest = object_hash(content)
            connection.execute(
                outputs.insert().values(
                    id=output, project_id=project, author=actor, content_hash=digest,
                    status="submitted", submitted_at=now_utc(),
                )
            )  # fmt: skip
            self._record(
                connection, actor, role, "submit_output", project,
                {"output": output, "sha256": digest},
            )  # fmt: skip

    def review_output(self, actor: str, project: str, output: str, *, approve: bool) -> None:
        """An output checker approves or rejects an output; never their own.

        Raises:
            AccessDenied: Not an output checker, or the reviewer is the output's author.
        """
        with self._guard(actor, Operation.REVIEW_OUTPUT, project) as (connection, role):
            row = self._output(connection, project, output)
            if row.author == actor:
                raise AccessDenied("separation of duties: nobody approves their own output")
            if row.status != "submitted":
                raise AccessDenied(f"output {output!r} is {row.status}, not awaiting review")
            status = "approved" if approve else "rejected"
            connection.execute(
                outputs.update()
                .where(outputs.c.id == output)
                .values(status=status, reviewer=actor, reviewed_at=now_utc())
            )
            self._record(
                connection, actor, role, "review_output", project,
                {"output": output, "decision": status, "sha256": row.content_hash},
            )  # fmt: skip

    def release_output(self, actor: str, project: str, output: str) -> None:
        """Release an approved output (not by its author)."""
        with self._guard(actor, Operation.RELEASE_OUTPUT, project) as (connection, role):
            row = self._output(connection, project, output)
            if row.author == actor:
                raise AccessDenied("separation of duties: nobody releases their own output")
            if row.status != "approved":
                raise AccessDenied(f"output {output!r} is {row.status}: only approved ones go out")
            connection.execute(
                outputs.update().where(outputs.c.id == output).values(status="released")
            )
            self._record(
                connection, actor, role, "release_output", project,
                {"output": output, "sha256": row.content_hash},
            )  # fmt: skip

    def _output(self, connection: sa.Connection, project: str, output: str) -> Any:
        row = connection.execute(
            sa.select(outputs).where(outputs.c.id == output, outputs.c.project_id == project)
        ).first()
        if row is None:
            raise InvalidSpecError(f"project {project!r} has no output {output!r}")
        return row

    # -- destruction -----------------------------------------------------------------------
    def destroy(self, actor: str, project: str, reason: str) -> DestructionCertificate:
        """Crypto-shred the project: destroy its data key, remove its files, certify it.

        The processing record (the project, its approvals and its audit events) is kept for
        three years. The certificate is written to ``<home>/certificates/<project>.json``.

        Raises:
            AccessDenied: Not an administrator, or the project is already destroyed.
        """
        with self._guard(actor, Operation.DESTROY_PROJECT, project) as (connection, role):
            row = connection.execute(sa.select(projects).where(projects.c.id == project)).first()
            if row is None or row.status != "active":
                raise AccessDenied(f"project {project!r} is not an active project")
            now = now_utc()
            keys = connection.execute(
                sa.select(project_keys.c.key_id).where(project_keys.c.project_id == project)
            ).all()
            # crypto-shredding: the only copy of the wrapped data key is overwritten
            connection.execute(
                project_keys.update()
                .where(project_keys.c.project_id == project)
                .values(wrapped=None, destroyed_at=now)
            )
            paths = [
                Path(r.path)
                for r in connection.execute(
                    sa.select(project_files.c.path).where(project_files.c.project_id == project)
                )
            ]
            removed = remove_files(paths)
            keep_until = retention_end(self.today())
            connection.execute(
                projects.update()
                .where(projects.c.id == project)
                .values(status="destroyed", destroyed_at=now, retain_record_until=keep_until)
            )
            key_ids = tuple(k.key_id for k in keys)
            objects = {"reason": reason, "key_ids": list(key_ids), "files": removed}
            event = self._record(connection, actor, role, "destroy_project", project, objects)
            certificate = DestructionCertificate(
                project, reason, now, actor, key_ids, tuple(removed), keep_until.isoformat(),
                event.hash,
            )  # fmt: skip
        self.store.flush()
        signature = self.audit.signer.sign_bytes(certificate.signed_bytes())
        signed = dataclasses.replace(certificate, signature=signature)
        signed.write(self.home / "certificates" / f"{project}.json")
        return signed

    def destroy_expired(self, actor: str) -> list[DestructionCertificate]:
        """Destroy every active project whose processing period has ended."""
        with self.store.engine.connect() as connection:
            due = [
                r.id
                for r in connection.execute(
                    sa.select(projects.c.id).where(
                        projects.c.status == "active", projects.c.period_end < self.today()
                    )
                )
            ]
        return [self.destroy(actor, p, "end of processing period") for p in due]

    # -- records -----------------------------------------------------------------------------
    def export_records(self, actor: str, project: str, out: Path) -> list[Path]:
        """Write the processing record (CSV, JSON) and the Five Safes summary of a project.

        The record stays available after destruction (it is kept at least three years).

        Returns:
            The files written.
        """
        with self._guard(actor, Operation.EXPORT_RECORDS, project) as (connection, role):
            self._record(connection, actor, role, "export_records", project, {})
        record = self.project(project)
        events = self.audit.events(project)
        csv_path, json_path = write_processing_record(record, events, out)
        summary = five_safes_summary(record, events, self.audit.verify())
        five = write_text_atomic(
            json.dumps(summary, ensure_ascii=False, indent=2, default=str),
            out / f"{project}_five_safes.json",
        )
        return [csv_path, json_path, five]

    # -- audit ---------------------------------------------------------------------------
    def verify_audit(
        self,
        *,
        pinned: Ed25519PublicKey | None = None,
        head: Mapping[str, Any] | None = None,
    ) -> AuditReport:
        """Verify the whole audit chain (anyone may: the log is the transparency record).

        Args:
            pinned: The audit public key to trust (its fingerprint is published); without it,
                the key beside the log is trusted, which a rewrite can replace.
            head: A signed head handed out earlier: the log must still extend it.
        """
        log = self.audit
        if pinned is not None:
            log = AuditLog(self.store, AuditSigner.verifier(self.audit.signer.directory, pinned))
        return log.verify(head)

    def export_head(self, out: Path) -> Path:
        """Write the current signed head to ``out`` (for custodians and the public register).

        Whoever keeps it can later prove, with ``ansim audit verify --head FILE``, that the
        log still extends it (no rollback).

        Raises:
            IntegrityError: The log has no signed head yet.
        """
        self.audit.publish_head()
        head = self.audit.signer.read_head()
        if head is None:
            raise IntegrityError("the audit log has no events yet: there is no head to hand out")
        return write_text_atomic(json.dumps(head, indent=2), out)

    def project(self, project: str) -> dict[str, Any]:
        """The project's record: application, status, datasets, members and approvals."""
        with self.store.engine.connect() as connection:
            row = connection.execute(sa.select(projects).where(projects.c.id == project)).first()
            if row is None:
                raise InvalidSpecError(f"no project {project!r}")
            record = dict(row._mapping)
            record["datasets"] = [
                DatasetRequest(r.dataset, r.custodian).__dict__
                for r in connection.execute(
                    sa.select(project_datasets).where(project_datasets.c.project_id == project)
                )
            ]
            record["members"] = [
                {"user": r.user_id, "role": r.role, "custodian": r.custodian}
                for r in connection.execute(
                    sa.select(memberships).where(memberships.c.project_id == project)
                )
            ]
            record["approvals"] = {
                d: s or "approved" for d, s in self._approval_state(connection, project).items()
            }
            key = connection.execute(
                sa.select(project_keys).where(project_keys.c.project_id == project)
            ).first()
            record["key"] = (
                None
                if key is None
                else {"key_id": key.key_id, "master_key_id": key.master_key_id,
                      "created_at": key.created_at, "destroyed_at": key.destroyed_at}
            )  # fmt: skip
            record["outputs"] = [
                {"output": r.id, "status": r.status, "author": r.author, "reviewer": r.reviewer}
                for r in connection.execute(
                    sa.select(outputs).where(outputs.c.project_id == project)
                )
            ]
        record["purpose_legal_basis"] = Purpose(record["purpose"]).legal_basis
        return record
