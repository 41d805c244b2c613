"""The administrators' page, each action through the JSON API's handler.

Projects (applications, data keys, destruction), users and their roles (registration, one-time
passwords, grants, a second administrator's grant approvals) and the audit check.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ansim.errors import AccessDenied
from ansim.governance import Purpose, Role
from ansim.server import _accounts_api as accounts_api
from ansim.server import _projects_api as projects_api
from ansim.server._auth import DeploymentDep, PageVisitor
from ansim.server._deployment import Deployment
from ansim.server._html import guarded, render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
_Field = Annotated[str, Form(max_length=200)]


# -- administrator ---------------------------------------------------------------------------
def _admin(found: Deployment, visitor: PageVisitor) -> None:
    if not found.is_admin(visitor.caller.user):
        raise AccessDenied("this page is for administrators")


@router.get("/admin", response_class=HTMLResponse)
async def admin(request: Request, found: DeploymentDep) -> Response:
    """Projects, users and their roles, grant approvals, destruction and the audit check."""

    async def build(visitor: PageVisitor) -> Response:
        _admin(found, visitor)
        caller = visitor.caller
        projects = await projects_api.list_projects(caller, found)
        users = await accounts_api.list_users(caller, found)
        audit = await projects_api.verify(caller, found)
        roles = [r.value for r in Role if r is not Role.PUBLIC]
        keys = {p["id"]: found.governance.project(p["id"])["key"] for p in projects}
        return render(request, "admin.html", visitor=visitor, projects=projects, users=users,
                      audit=audit, roles=roles, keys=keys,
                      purposes=[p.value for p in Purpose])  # fmt: skip

    return await guarded(request, found, build)


def _back(notice: str) -> RedirectResponse:
    return RedirectResponse(f"/admin?notice={notice}", status_code=303)


@router.post("/admin/users")
async def admin_register_user(
    request: Request,
    found: DeploymentDep,
    user: _Field = "",
    name: _Field = "",
    organisation: _Field = "",
) -> Response:
    """Register a person with a one-time password, shown once on the page that answers."""

    async def build(visitor: PageVisitor) -> Response:
        _admin(found, visitor)
        body = accounts_api.NewUser(user=user, name=name, organisation=organisation)
        made = await accounts_api.register_user(body, visitor.caller, found)
        return render(request, "admin_password.html", visitor=visitor, made=made)

    return await guarded(request, found, build)


@router.post("/admin/users/{user}/password")
async def admin_reset_password(user: str, request: Request, found: DeploymentDep) -> Response:
    """A new one-time password for a user (the API's handler ends their sessions and tokens)."""

    async def build(visitor: PageVisitor) -> Response:
        _admin(found, visitor)
        body = accounts_api.PasswordReset()
        made = await accounts_api.reset_password(user, body, visitor.caller, found)
        return render(request, "admin_password.html", visitor=visitor, made=made)

    return await guarded(request, found, build)


@router.post("/admin/members")
async def admin_add_member(  # noqa: PLR0917  # FastAPI passes the form fields by name
    request: Request,
    found: DeploymentDep,
    project: _Field = "",
    user: _Field = "",
    role: _Field = "",
    custodian: _Field = "",
) -> Response:
    """Grant a project role (the API's members handler refuses incompatible combinations)."""

    async def build(visitor: PageVisitor) -> Response:
        _admin(found, visitor)
        body = projects_api.Member(user=user, role=role, custodian=custodian or None)
        await projects_api.add_member(project, body, visitor.caller, found)
        return _back("member_added")

    return await guarded(request, found, build)


@router.post("/admin/grant-approvals")
async def admin_approve_grant(
    request: Request,
    found: DeploymentDep,
    project: _Field = "",
    user: _Field = "",
    role: _Field = "",
) -> Response:
    """A second administrator approves one incompatible grant (the API's handler)."""

    async def build(visitor: PageVisitor) -> Response:
        _admin(found, visitor)
        body = accounts_api.GrantApproval(user=user, role=role, project=project or None)
        await accounts_api.approve_grant(body, visitor.caller, found)
        return _back("grant_approved")

    return await guarded(request, found, build)


@router.post("/admin/projects")
async def admin_create_project(  # noqa: PLR0917  # FastAPI passes the form fields by name
    request: Request,
    found: DeploymentDep,
    project: _Field = "",
    title: _Field = "",
    purpose: _Field = "",
    description: Annotated[str, Form(max_length=5000)] = "",
    datasets: Annotated[str, Form(max_length=5000)] = "",
    start: _Field = "",
    end: _Field = "",
) -> Response:
    """Record a project application (the API's handler).

    The datasets come as lines ``dataset: custodian``.
    """

    async def build(visitor: PageVisitor) -> Response:
        _admin(found, visitor)
        requested = [
            {"dataset": d.strip(), "custodian": c.strip()}
            for d, _, c in (line.partition(":") for line in datasets.splitlines() if line.strip())
        ]  # fmt: skip
        body = projects_api.NewProject.model_validate({
            "project": project, "title": title, "purpose": purpose, "description": description,
            "datasets": requested, "start": start, "end": end,
        })  # fmt: skip
        await projects_api.create_project(body, visitor.caller, found)
        return _back("project_created")

    return await guarded(request, found, build)


@router.post("/admin/projects/{project}/key")
async def admin_issue_key(project: str, request: Request, found: DeploymentDep) -> Response:
    """Issue the project's data key, wrapped under the master key (the API's handler)."""

    async def build(visitor: PageVisitor) -> Response:
        _admin(found, visitor)
        await projects_api.issue_key(project, visitor.caller, found)
        return _back("key_issued")

    return await guarded(request, found, build)


@router.post("/admin/projects/{project}/destroy")
async def admin_destroy(
    project: str, request: Request, found: DeploymentDep, reason: _Field = ""
) -> Response:
    """Crypto-shred a project (the API's destroy handler; the certificate is audited)."""

    async def build(visitor: PageVisitor) -> Response:
        _admin(found, visitor)
        body = projects_api.Destruction(reason=reason)
        await projects_api.destroy(project, body, visitor.caller, found)
        return _back("destroyed")

    return await guarded(request, found, build)
