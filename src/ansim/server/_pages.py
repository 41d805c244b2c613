"""Server-rendered pages (Jinja2, plain HTML without JavaScript; Korean, with an English switch).

The public transparency register, the login and logout forms, the password change and each
visitor's home page live here; every role's own page is in :mod:`ansim.server._role_pages`.
Pages are thin: every action calls the JSON API's handler for it (so the same governance
checks, audit events and errors apply); a page adds only how the answer looks
(:mod:`ansim.server._html`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from ansim.errors import AccessDenied, AnsimError, AuthenticationFailed, RateLimited
from ansim.governance import Role
from ansim.portal import PublishedTable, load_published
from ansim.server import _accounts_api as accounts_api
from ansim.server._admin_pages import router as admin_router
from ansim.server._auth import CSRF_COOKIE, DeploymentDep, PageVisitor, same_origin
from ansim.server._errors import status_of
from ansim.server._html import ROLE_PAGES, guarded, render
from ansim.server._role_pages import router as role_router

__all__ = ["router"]

router = APIRouter()
"""The public register (in the OpenAPI document) and, included, every form and role page."""
_forms = APIRouter(include_in_schema=False)
_RELEASES = frozenset({"release_output"})


def _next(target: str | None) -> str:
    """Where to go after logging in: a local path only (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/home"


# -- login, logout, password ----------------------------------------------------------------
@_forms.get("/login", response_class=HTMLResponse)
async def login_form(
    request: Request, next_: Annotated[str | None, Query(alias="next", max_length=200)] = None
) -> HTMLResponse:
    """The login form (public)."""
    return render(request, "login.html", next=_next(next_))


@_forms.post("/login")
async def login(  # noqa: PLR0917  # FastAPI passes the form fields by name
    request: Request,
    found: DeploymentDep,
    user: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=2000)] = "",
    totp: Annotated[str, Form(max_length=20)] = "",
    next_: Annotated[str, Form(alias="next", max_length=200)] = "/home",
) -> Response:
    """Log in through the API's login (argon2id, rate limits, the same session cookie)."""
    target = _next(next_)
    try:
        same_origin(request)
        body = accounts_api.LoginRequest(user=user, password=password, totp=totp or None)
        redirect = RedirectResponse(target, status_code=303)
        issued = await accounts_api.login(body, request, redirect, found)
    except (AuthenticationFailed, RateLimited, AccessDenied, ValidationError) as error:
        status = status_of(error) if isinstance(error, AnsimError) else 401
        return render(request, "login.html", status=status, next=target, failed=True)
    if issued["must_change"] and request.app.state.require_password_change:
        redirect.headers["location"] = "/password"
    redirect.set_cookie(
        CSRF_COOKIE, issued["csrf_token"], httponly=True, samesite="strict",
        secure=accounts_api._secure(request), path="/",
        max_age=int(found.accounts.policy.session_hours * 3600),
    )  # fmt: skip
    return redirect


@_forms.post("/logout")
async def logout(request: Request, found: DeploymentDep) -> Response:
    """End the session (the form carries its CSRF token) and forget both cookies."""

    async def build(visitor: PageVisitor) -> Response:
        redirect = RedirectResponse("/login?notice=logged_out", status_code=303)
        await accounts_api.logout(visitor.caller, redirect, found)
        redirect.delete_cookie(CSRF_COOKIE, path="/")
        return redirect

    return await guarded(request, found, build)


@_forms.get("/password", response_class=HTMLResponse)
async def password_form(request: Request, found: DeploymentDep) -> Response:
    """The form to replace a (one-time) password."""

    async def build(visitor: PageVisitor) -> Response:
        return render(request, "password.html", visitor=visitor)

    return await guarded(request, found, build)


@_forms.post("/password")
async def change_password(
    request: Request,
    found: DeploymentDep,
    old: Annotated[str, Form(max_length=2000)] = "",
    new: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Change the visitor's password through the API's handler, then log in again."""

    async def build(visitor: PageVisitor) -> Response:
        body = accounts_api.PasswordChange(old=old, new=new)
        await accounts_api.change_password(body, visitor.caller, found)
        redirect = RedirectResponse("/login?notice=password_changed", status_code=303)
        await accounts_api.logout(visitor.caller, redirect, found)
        redirect.delete_cookie(CSRF_COOKIE, path="/")
        return redirect

    return await guarded(request, found, build)


@_forms.get("/totp", response_class=HTMLResponse)
async def totp_form(request: Request, found: DeploymentDep) -> Response:
    """Start enrolling an authenticator app (required for some roles before anything else)."""

    async def build(visitor: PageVisitor) -> Response:
        return render(request, "totp.html", visitor=visitor)

    return await guarded(request, found, build)


@_forms.post("/totp", response_class=HTMLResponse)
async def totp_enrol(request: Request, found: DeploymentDep) -> Response:
    """A fresh secret (the API's enrolment), shown once, with the form for a first code."""

    async def build(visitor: PageVisitor) -> Response:
        uri = (await accounts_api.enrol_totp(visitor.caller, found))["otpauth_uri"]
        secret = parse_qs(urlsplit(uri).query).get("secret", [""])[0]
        return render(request, "totp.html", visitor=visitor, uri=uri, secret=secret)

    return await guarded(request, found, build)


@_forms.post("/totp/confirm")
async def totp_confirm(
    request: Request, found: DeploymentDep, code: Annotated[str, Form(max_length=12)] = ""
) -> Response:
    """Confirm the enrolment with a first code (the API's handler); from then on it is needed."""

    async def build(visitor: PageVisitor) -> Response:
        await accounts_api.confirm_totp(accounts_api.TotpCode(code=code), visitor.caller, found)
        return RedirectResponse("/home?notice=totp_enrolled", status_code=303)

    return await guarded(request, found, build)


# -- home ------------------------------------------------------------------------------------
@_forms.get("/home", response_class=HTMLResponse)
async def home(request: Request, found: DeploymentDep) -> Response:
    """The visitor's roles, each with a link to its page."""

    async def build(visitor: PageVisitor) -> Response:
        me = await accounts_api.me(visitor.caller, found)
        roles = []
        for held in me["roles"]:
            role = Role(str(held["role"]))
            page = ROLE_PAGES.get(role)
            link = f"/projects/{held['project']}/{page}" if page and held["project"] else None
            if role is Role.ADMINISTRATOR:
                link = "/admin"
            roles.append({**held, "link": link})
        return render(request, "home.html", visitor=visitor, me=me, roles=roles)

    return await guarded(request, found, build)


# -- public ----------------------------------------------------------------------------------
@router.get("/register", response_class=HTMLResponse, summary="The transparency register")
async def register(
    request: Request,
    found: DeploymentDep,
    lang: Annotated[str, Query(pattern="^(ko|en)$")] = "ko",
) -> HTMLResponse:
    """Approved projects and every release, public (no login)."""
    gov = found.governance
    events = gov.audit.events()
    shown = []
    for project in found.accounts.visible_projects_public():
        record = gov.project(project)
        if all(state == "approved" for state in record["approvals"].values()):
            shown.append({**record, "custodians": sorted({d["custodian"] for d in
                                                           record["datasets"]})})  # fmt: skip
    releases = [
        {"at": e.at[:19].replace("T", " "), "project": e.project,
         "what": e.objects.get("outputs") or e.objects.get("output", ""), "by": e.actor}
        for e in events if e.action in _RELEASES
    ]  # fmt: skip
    head = gov.audit.signer.read_head() or {}
    del lang  # validated; render() reads it from the query
    return render(
        request, "register.html", projects=shown, releases=releases,
        tables=released_tables(found.home, {p["id"]: p["title"] for p in shown}),
        head=f"{head.get('seq', '-')} {head.get('hash', '')}",
    )  # fmt: skip


router.add_api_route(  # HEAD answers like GET (the server sends no body); not in the schema
    "/register", register, methods=["HEAD"], include_in_schema=False,
    response_class=HTMLResponse, name="register_head",
)  # fmt: skip


def released_tables(home: Path, titles: Mapping[str, str]) -> list[dict[str, Any]]:
    """The portal's released tables of ``home``, grouped under their project for the register.

    Args:
        home: The deployment home (its tables are in ``release/public``).
        titles: Project id → title, for the projects the register shows.

    Returns:
        One entry per project (by id): its ``project``, ``title`` (the id when the register
        does not show the project) and ``tables`` (``id``, ``title_ko``, ``title_en``,
        ``release_date``, ``url``), tables by release date then id.

    Example:
        >>> import tempfile
        >>> released_tables(Path(tempfile.mkdtemp()), {"covid": "COVID support"})
        []
    """
    by_project: dict[str, list[PublishedTable]] = {}
    for table in load_published(home).values():
        by_project.setdefault(table.metadata.project, []).append(table)
    return [
        {"project": project, "title": titles.get(project, project),
         "tables": [{"id": t.id, "title_ko": t.title_ko, "title_en": t.title_en,
                     "release_date": t.metadata.release_date, "url": f"/public/tables/{t.id}"}
                    for t in sorted(tables, key=lambda t: (t.metadata.release_date, t.id))]}
        for project, tables in sorted(by_project.items())
    ]  # fmt: skip


router.include_router(_forms)
router.include_router(role_router)
router.include_router(admin_router)
