"""Who is calling: a session cookie with its CSRF token, or an API token; nothing else.

No request body or query parameter ever names the acting user: the caller resolved here is the
``actor`` every governance call receives.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from ansim.errors import AccessDenied, AuthenticationFailed
from ansim.governance import ApiToken, Role, Session
from ansim.server._deployment import Deployment

__all__ = [
    "COOKIE",
    "CSRF_COOKIE",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "Caller",
    "CallerDep",
    "DeploymentDep",
    "PageVisitor",
    "deployment",
    "page_visitor",
    "same_origin",
]

COOKIE = "ansim_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_COOKIE = "ansim_csrf"
"""The session's CSRF token for the HTML pages to put into their forms (HttpOnly, SameSite)."""
CSRF_FIELD = "csrf_token"
"""The form field every state-changing page form carries the session's CSRF token in."""
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# what a session may still do before its holder enrols the required second factor
_BEFORE_SECOND_FACTOR = frozenset({"/api/me", "/api/me/totp", "/api/me/totp/confirm",
                                   "/api/session", "/api/password"})  # fmt: skip


@dataclass(frozen=True)
class Caller:
    """The authenticated caller of one request.

    Attributes:
        user: The user id (the actor of every governance call).
        session: The browser session, if the caller used one.
        session_id: The session's cookie value (to log out).
        token: The API token, if the caller used one.
    """

    user: str
    session: Session | None = None
    session_id: str | None = None
    token: ApiToken | None = None

    def within(self, project: str | None, roles: Iterable[Role] = ()) -> None:
        """Refuse what the caller's API token is not scoped for (sessions are not scoped).

        Args:
            project: The project the request acts in (``None``: none).
            roles: The roles that could perform the request (empty: any).

        Raises:
            AccessDenied: The token is limited to another project or role.
        """
        token = self.token
        if token is None:
            return
        if token.project is not None and project != token.project:
            raise AccessDenied(f"this API token is limited to project {token.project!r}")
        wanted = list(roles)
        if wanted and not any(token.allows(r) for r in wanted):
            raise AccessDenied(f"this API token acts as {token.role} only")


async def deployment(request: Request) -> Deployment:
    """The deployment the app serves."""
    found: Deployment = request.app.state.deployment
    return found


DeploymentDep = Annotated[Deployment, Depends(deployment)]


async def caller(request: Request, found: DeploymentDep) -> Caller:
    """Resolve the caller from the bearer token, else the session cookie and its CSRF token.

    Raises:
        AuthenticationFailed: No credentials, or unknown, expired or revoked ones (401).
        AccessDenied: A state-changing request without this session's CSRF token (403).
    """
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise AuthenticationFailed("send Authorization: Bearer <API token>")
        token = found.accounts.resolve_token(value.strip())
        return Caller(token.user, token=token)
    cookie = request.cookies.get(COOKIE)
    if not cookie:
        raise AuthenticationFailed(
            "log in first: POST /api/session, or send Authorization: Bearer <API token>"
        )
    session = found.accounts.resolve_session(cookie)
    if request.method not in _SAFE_METHODS:
        session.check_csrf(request.headers.get(CSRF_HEADER))
    if session.needs_second_factor and request.url.path not in _BEFORE_SECOND_FACTOR:
        raise AccessDenied("enrol a second factor first: POST /api/me/totp")
    if (
        session.must_change
        and request.app.state.require_password_change
        and (request.url.path not in _BEFORE_SECOND_FACTOR)
    ):
        raise AccessDenied("change your one-time password first: POST /api/password")
    return Caller(session.user, session=session, session_id=cookie)


CallerDep = Annotated[Caller, Depends(caller)]


@dataclass(frozen=True)
class PageVisitor:
    """The logged-in visitor of an HTML page and the CSRF token its forms must carry.

    Attributes:
        caller: The authenticated caller (a session; pages take no API tokens).
        csrf_token: This session's CSRF token, or ``""`` when the browser holds none that
            matches (a session made through the JSON API): its forms are then refused.
    """

    caller: Caller
    csrf_token: str


def same_origin(request: Request) -> None:
    """Refuse a form posted from another site (an ``Origin`` header naming another host).

    Raises:
        AccessDenied: The request says it comes from another origin.
    """
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return
    host = request.headers.get("host", "")
    if origin.partition("://")[2] != host:
        raise AccessDenied("this form was sent from another site")


async def page_visitor(request: Request, found: Deployment) -> PageVisitor:
    """Resolve an HTML page's visitor from the session cookie; forms must carry its CSRF token.

    A state-changing request (POST) must send this session's token in the form field
    :data:`CSRF_FIELD`, checked against the digest bound to the session, as the API checks its
    header; an API token is not accepted here (programs use ``/api/``).

    Raises:
        AuthenticationFailed: No session cookie, or an unknown, expired or ended session.
        AccessDenied: A form without this session's CSRF token, or from another site.
    """
    cookie = request.cookies.get(COOKIE)
    if not cookie:
        raise AuthenticationFailed("log in first")
    session = found.accounts.resolve_session(cookie)
    if request.method not in _SAFE_METHODS:
        same_origin(request)
        form = await request.form()
        given = form.get(CSRF_FIELD)
        session.check_csrf(given if isinstance(given, str) else None)
    held = request.cookies.get(CSRF_COOKIE, "")
    try:
        session.check_csrf(held)
    except AccessDenied:
        held = ""
    return PageVisitor(Caller(session.user, session=session, session_id=cookie), held)
