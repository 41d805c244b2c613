"""One project's row of an option table an administrator sets: replaced whole, audited.

The row-access policy and the dummy twin's kind are such options: one row per project, set only
by an administrator (``create_project``'s role), each change an audit event naming the value it
replaced.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ansim.errors import AccessDenied
from ansim.governance._audit import now_utc
from ansim.governance._model import Operation, checked_name
from ansim.governance._tables import projects

if TYPE_CHECKING:
    from ansim.governance._service import Governance

__all__ = ["set_project_option"]


def set_project_option(  # noqa: PLR0917 - the parts of one audited change
    gov: Governance,
    actor: str,
    project: str,
    table: sa.Table,
    values: Mapping[str, Any],
    action: str,
    audited: Callable[[sa.Connection], dict[str, Any]],
) -> str:
    """Replace ``project``'s row of ``table`` with ``values`` (administrators only; audited).

    Args:
        gov: The governance service.
        actor: Who sets it (refused unless an administrator).
        project: The project.
        table: The option table (``project_id``, ``set_by``, ``set_at`` and the values).
        values: The new values.
        action: The audit event's action.
        audited: The event's objects, read in the same transaction before the row is replaced
            (so they can name the previous value).

    Returns:
        When it was set (UTC, ISO 8601).

    Raises:
        AccessDenied: The actor is not an administrator, or there is no such project.
    """
    checked_name("project", project)
    with gov._guard(actor, Operation.CREATE_PROJECT, project) as (connection, role):
        query = sa.select(projects.c.id).where(projects.c.id == project)
        if connection.execute(query).first() is None:
            raise AccessDenied(f"no project {project!r}")
        objects = audited(connection)
        now = now_utc()
        connection.execute(sa.delete(table).where(table.c.project_id == project))
        connection.execute(
            table.insert().values(project_id=project, set_by=actor, set_at=now, **values)
        )
        gov._record(connection, actor, role, action, project, objects)
    return now
