"""The project's one release path over HTTP: its submissions, their reviews and their release.

Rate tables, protected tables and portal tables submitted to a project's
:class:`~ansim.release.ReleaseService` (workspace outputs have their own routes, which delegate
to the same service) are listed, approved or rejected and released here, the caller always the
actor: the service checks roles, separation of duties and the ledger's attacker LP, and
audits. A released ``portal.json`` is published on this deployment's portal.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from ansim.errors import AccessDenied
from ansim.governance import Operation, Role
from ansim.governance import allowed_roles as allowed
from ansim.release import ReleaseService
from ansim.server._auth import Caller, CallerDep, DeploymentDep
from ansim.server._deployment import Deployment
from ansim.server._errors import JsonResponse
from ansim.server._submissions_api import shown_submission

__all__ = ["router"]

router = APIRouter(prefix="/api", default_response_class=JsonResponse)

ReleaseId = Annotated[str, Path(pattern=r"^rel-[0-9]{4,9}$")]
_READERS = (Role.ANALYST, Role.OUTPUT_CHECKER)


class Decision(BaseModel):
    """An output checker's decision on a submission."""

    decision: Literal["approve", "reject"]
    comment: Annotated[str, Field(max_length=5000)] = ""


def _service(found: Deployment, caller: Caller, project: str, *roles: Role) -> ReleaseService:
    """404 unless the caller may know the project; 403 unless they are one of its readers."""
    found.visible(caller.user, project)
    caller.within(project, roles or _READERS)
    if not found.project_roles(caller.user, project) & set(_READERS):
        raise AccessDenied(
            f"{caller.user!r} may not read releases of project {project!r}: it needs the role "
            "analyst or output_checker"
        )
    return ReleaseService(
        found.governance, project, found.workspace_dir(project), portal_home=found.home
    )


@router.get("/projects/{project}/releases", summary="The project's release submissions")
async def list_releases(
    project: str, caller: CallerDep, found: DeploymentDep, queue: bool = False
) -> list[dict[str, Any]]:
    """Every submission (or only those awaiting review), oldest first."""
    service = _service(found, caller, project)
    return [
        shown_submission(found, caller, project, s)
        for s in (service.queue() if queue else service.all())
    ]


@router.post("/projects/{project}/releases/{release}/reviews", summary="Review a submission")
async def review_release(
    project: str, release: ReleaseId, body: Decision, caller: CallerDep, found: DeploymentDep
) -> dict[str, Any]:
    """An output checker approves or rejects: never their own, never twice."""
    roles = tuple(sorted(allowed(Operation.REVIEW_OUTPUT)))
    service = _service(found, caller, project, *roles)
    if body.decision == "approve":
        return shown_submission(
            found, caller, project, service.approve(caller.user, release, body.comment)
        )
    return shown_submission(
        found, caller, project, service.reject(caller.user, release, body.comment)
    )


@router.post("/projects/{project}/releases/{release}/release", summary="Release a submission")
async def release_release(
    project: str, release: ReleaseId, caller: CallerDep, found: DeploymentDep
) -> dict[str, Any]:
    """Writes its files (and publishes its portal table) if the ledger's attacker LP allows."""
    roles = tuple(sorted(allowed(Operation.RELEASE_OUTPUT)))
    service = _service(found, caller, project, *roles)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    directory = found.release_dir(project) / f"{release}-{stamp}-{secrets.token_hex(3)}"
    published = service.release(caller.user, release, directory)
    return {
        "project": project, "release": release, "released_by": caller.user,
        "bundle": directory.name, "checksums": published.checksums,
        "portal": [p.stem for p in published.portal], "audit": published.audit.summary(),
    }  # fmt: skip
