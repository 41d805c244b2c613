"""Row access: a project policy, set by an administrator, on what rows a workspace query shows.

Three modes, after OpenSAFELY's dummy-data model and the closed-room case of a data safe zone:

- ``none`` (the default): queries run on a *dummy twin* of each view (same schema, values
  drawn from declared domains, no real value); real data are reached only through checked
  outputs;
- ``preview``: a query shows at most :data:`PREVIEW_ROWS` real rows, each one counted in its
  audit event;
- ``safe_setting``: the closed room: on the one workstation the administrator names, queries
  show real rows without that cap (still audited, still under the workspace's row cap).

Only an administrator sets the policy (the change is audited with the old and new mode); every
other role, analysts included, can only read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ansim.errors import InvalidSpecError
from ansim.governance._model import checked_name
from ansim.governance._project_option import set_project_option
from ansim.governance._tables import metadata

if TYPE_CHECKING:
    from ansim.governance._service import Governance

__all__ = ["PREVIEW_ROWS", "RowAccess", "RowAccessMode", "RowAccessRegister", "row_access"]

PREVIEW_ROWS = 20
"""The most real rows one query shows under ``preview``."""

row_access = sa.Table(
    "row_access",
    metadata,
    sa.Column("project_id", sa.String(63), sa.ForeignKey("projects.id"), primary_key=True),
    sa.Column("mode", sa.String(20), nullable=False),
    sa.Column("workstation", sa.String(63), nullable=True),
    sa.Column("set_by", sa.String(63), nullable=False),
    sa.Column("set_at", sa.String(40), nullable=False),
)


class RowAccessMode(StrEnum):
    """What a workspace query may show of the real rows."""

    NONE = "none"
    PREVIEW = "preview"
    SAFE_SETTING = "safe_setting"


@dataclass(frozen=True)
class RowAccess:
    """A project's row-access policy.

    Attributes:
        mode: The mode.
        workstation: The named workstation of a ``safe_setting`` (required there, else none).
        set_by: The administrator who set it (``None``: never set, the default).
        set_at: When (ISO 8601 UTC).

    Example:
        >>> RowAccess(RowAccessMode.SAFE_SETTING, "room-2").shows_real_rows("room-2")
        True
        >>> RowAccess(RowAccessMode.SAFE_SETTING)
        Traceback (most recent call last):
        ...
        ansim.errors.InvalidSpecError: row access safe_setting needs its workstation
    """

    mode: RowAccessMode = RowAccessMode.NONE
    workstation: str | None = None
    set_by: str | None = None
    set_at: str | None = None

    def __post_init__(self) -> None:
        """Check that a workstation is named exactly for a safe setting."""
        if not isinstance(self.mode, RowAccessMode):
            raise InvalidSpecError(f"row access must be one of {[m.value for m in RowAccessMode]}")
        if self.mode is RowAccessMode.SAFE_SETTING:
            if self.workstation is None:
                raise InvalidSpecError("row access safe_setting needs its workstation")
            checked_name("workstation", self.workstation)
        elif self.workstation is not None:
            raise InvalidSpecError("only row access safe_setting names a workstation")

    def shows_real_rows(self, workstation: str | None) -> bool:
        """Whether a query served at ``workstation`` shows real rows at all."""
        if self.mode is RowAccessMode.SAFE_SETTING:
            return workstation is not None and workstation == self.workstation
        return self.mode is RowAccessMode.PREVIEW

    def to_dict(self) -> dict[str, str | None]:
        """The policy as plain data."""
        return {"mode": self.mode.value, "workstation": self.workstation,
                "set_by": self.set_by, "set_at": self.set_at}  # fmt: skip


class RowAccessRegister:
    """Each project's row-access policy, in the governance store.

    Args:
        gov: The governance service whose store holds the policies.

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
        >>> register = RowAccessRegister(gov)
        >>> register.policy("p1").mode.value
        'none'
        >>> register.set("admin", "p1", RowAccessMode.PREVIEW).mode.value
        'preview'
        >>> gov.close()
    """

    def __init__(self, gov: Governance) -> None:
        self.gov = gov

    def set(
        self, actor: str, project: str, mode: RowAccessMode, workstation: str | None = None
    ) -> RowAccess:
        """Set a project's row-access policy (administrators only; audited).

        Args:
            actor: An administrator.
            project: The project.
            mode: The new mode.
            workstation: The workstation of a ``safe_setting``.

        Returns:
            The policy now in force.

        Raises:
            AccessDenied: The actor is not an administrator, or there is no such project.
            InvalidSpecError: A workstation missing for a safe setting, or given for another mode.
        """
        wanted = RowAccess(mode, workstation)

        def audited(connection: sa.Connection) -> dict[str, Any]:
            before = _read(connection, project)
            return {"mode": mode.value, "workstation": workstation, "previous": before.mode.value}

        now = set_project_option(
            self.gov, actor, project, row_access,
            {"mode": mode.value, "workstation": workstation}, "set_row_access", audited,
        )  # fmt: skip
        return RowAccess(wanted.mode, wanted.workstation, actor, now)

    def policy(self, project: str) -> RowAccess:
        """The project's row-access policy (``none`` until an administrator sets one)."""
        with self.gov.store.engine.connect() as connection:
            return _read(connection, project)


def _read(connection: sa.Connection, project: str) -> RowAccess:
    query = sa.select(row_access).where(row_access.c.project_id == project)
    row = connection.execute(query).first()
    if row is None:
        return RowAccess()
    return RowAccess(RowAccessMode(row.mode), row.workstation, row.set_by, row.set_at)
