"""A deployment home as the server sees it: governance, accounts and where the hub keeps files.

Layout (``ansim project bootstrap`` makes the first, ``ansim demo --out DIR`` the second):

- the governance home is ``DIR/governance`` if it exists, else ``DIR`` itself;
- a project's hub store is ``DIR/hub/<project>/hub.duckdb`` if it exists, else the one
  governance registered for it (``open_hub_store`` with ``write=True`` records it; the demo's
  ``DIR/hub/hub.duckdb``);
- its workspace (outputs, release ledger) is ``<store dir>/workspace``, as for the CLI;
- received packages go to ``<store dir>/inbox``, release bundles to ``DIR/release/workspace``;
- the public portal reads ``DIR/release/public``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import sqlalchemy as sa

from ansim._closing import Closing
from ansim.errors import InvalidSpecError, NotFoundError
from ansim.governance import AccountPolicy, Accounts, Governance, Role
from ansim.governance._tables import project_files, projects, users
from ansim.workspace import CheckPolicy, ColumnDomain, ResourceLimits, Review, Workspace

__all__ = ["WORKSTATION_ENV", "Deployment"]

WORKSTATION_ENV = "ANSIM_WORKSTATION"
"""The server's own workstation id (a ``safe_setting`` shows real rows only where it matches)."""


class Deployment(Closing):
    """The governance service, the accounts and the hub's files of one deployment home.

    Args:
        home: The deployment home.
        url: Metadata store URL (default: SQLite in the governance home).
        policy: Account limits.
        today: Clock for processing periods (tests pass their own day).
        workstation: The workstation this server runs at (default: ``$ANSIM_WORKSTATION`` of
            the server process; set by its operator, never by a request).

    Raises:
        InvalidSpecError: No governance home there, or its keys are missing.
    """

    def __init__(
        self,
        home: Path,
        *,
        url: str | None = None,
        policy: AccountPolicy | None = None,
        today: dt.date | None = None,
        workstation: str | None = None,
    ) -> None:
        self.home = home
        self.workstation = workstation or os.environ.get(WORKSTATION_ENV) or None
        nested = home / "governance"
        self.governance_home = nested if nested.is_dir() else home
        if url is None and not (self.governance_home / "governance.db").is_file():
            raise InvalidSpecError(
                f"no governance home at {home}: create one with 'ansim project bootstrap' "
                "or 'ansim demo --out DIR'"
            )
        self.governance = Governance(self.governance_home, url=url, today=today)
        self.accounts = Accounts(self.governance, policy=policy)

    def close(self) -> None:
        """Release the metadata store."""
        self.governance.close()

    # -- who may know of what ----------------------------------------------------------------
    def is_admin(self, user: str) -> bool:
        """Whether the user is an administrator."""
        return any(
            m["role"] == Role.ADMINISTRATOR.value and m["project"] is None
            for m in self.accounts.memberships(user)
        )

    def project_roles(self, user: str, project: str) -> set[Role]:
        """The roles the user holds in ``project``."""
        return {
            Role(str(m["role"])) for m in self.accounts.memberships(user) if m["project"] == project
        }

    def visible(self, user: str, project: str) -> None:
        """Pass if the user may know the project exists (a member, or an administrator).

        Raises:
            NotFoundError: Otherwise, exactly as if there were no such project.
        """
        exists = self._exists(project)
        if not exists or not (self.is_admin(user) or self.project_roles(user, project)):
            raise NotFoundError(f"no project {project!r}")

    def governance_user(self, user: str) -> dict[str, str]:
        """The user's registered name and organisation.

        Raises:
            NotFoundError: No such user.
        """
        with self.governance.store.engine.connect() as connection:
            row = connection.execute(sa.select(users).where(users.c.id == user)).first()
        if row is None:
            raise NotFoundError(f"no user {user!r}")
        return {"user": row.id, "name": row.name, "organisation": row.organisation}

    def _exists(self, project: str) -> bool:
        with self.governance.store.engine.connect() as connection:
            query = sa.select(projects.c.id).where(projects.c.id == project)
            return connection.execute(query).first() is not None

    # -- the hub's files ---------------------------------------------------------------------
    def hub_store(self, project: str) -> Path:
        """The project's encrypted hub store (the default path, else the registered one)."""
        default = self.home / "hub" / project / "hub.duckdb"
        if default.is_file():
            return default
        with self.governance.store.engine.connect() as connection:
            row = connection.execute(
                sa.select(project_files.c.path)
                .where(project_files.c.project_id == project, project_files.c.kind == "hub_store")
                .order_by(project_files.c.registered_at.desc())
                .limit(1)
            ).first()
        return Path(row.path) if row else default

    def workspace_dir(self, project: str) -> Path:
        """The project's workspace directory (outputs, cells, release ledger)."""
        return self.hub_store(project).parent / "workspace"

    def inbox(self, project: str) -> Path:
        """Where packages uploaded for the project are kept."""
        return self.hub_store(project).parent / "inbox"

    def release_dir(self, project: str) -> Path:
        """Where the project's release bundles are written."""
        return self.home / "release" / "workspace" / project

    def open_workspace(self, user: str, project: str) -> Workspace:
        """The user's workspace session on the project (governance checks the analyst role).

        Raises:
            AccessDenied: Not an analyst of the project, or the project may not process data.
            NotFoundError: The project has no hub store yet.
        """
        store = self.hub_store(project)
        if not store.is_file():
            raise NotFoundError(f"project {project!r} has no linked data in the hub yet")
        return Workspace(
            self.governance, user, project, store, self.workspace_dir(project),
            policies=self._policies(project), workstation=self.workstation,
            domains=self._domains(project), limits=self._limits(project),
        )  # fmt: skip

    def review(self, project: str) -> Review:
        """The output checkers' side of the project's workspace."""
        return Review(self.governance, project, self.workspace_dir(project))

    def _policies(self, project: str) -> dict[str, CheckPolicy]:
        path = self.workspace_dir(project) / "policies.json"
        if not path.is_file():
            return {}
        settings = json.loads(path.read_text(encoding="utf-8"))
        return {c: CheckPolicy.from_dict(p) for c, p in settings.items()}

    def _domains(self, project: str) -> dict[str, dict[str, ColumnDomain]]:
        """The dummy twin's declared domains (``domains.json``: view → column → domain)."""
        path = self.workspace_dir(project) / "domains.json"
        if not path.is_file():
            return {}
        settings = json.loads(path.read_text(encoding="utf-8"))
        return {
            view: {c: ColumnDomain.from_dict(d) for c, d in columns.items()}
            for view, columns in settings.items()
        }

    def _limits(self, project: str) -> ResourceLimits | None:
        """The workspace's resource limits (``limits.json``; default: ``ResourceLimits()``)."""
        path = self.workspace_dir(project) / "limits.json"
        if not path.is_file():
            return None
        return ResourceLimits.from_dict(json.loads(path.read_text(encoding="utf-8")))
