"""How the HTML pages are made: templates in the visitor's language, the login guard, notices.

A page authenticates its visitor from the session cookie (never a user name), a form proves its
origin with the session's CSRF token, and :func:`guarded` turns Ansim's refusals into HTML error
pages with their status (a missing login into a redirect to the form), never a traceback. Texts
are Babel message catalogues (:mod:`ansim.server.locale`): Korean by default, ``?lang=en``
switches (remembered in a cookie).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import ValidationError

from ansim.errors import AccessDenied, AnsimError, AuthenticationFailed
from ansim.governance import Role
from ansim.server._auth import PageVisitor, page_visitor
from ansim.server._deployment import Deployment
from ansim.server._errors import status_of
from ansim.server.locale import DEFAULT_LANGUAGE, LANGUAGES, language, translations

__all__ = [
    "LANG_COOKIE",
    "NOTICES",
    "N_",
    "ROLE_LABELS",
    "ROLE_PAGES",
    "guarded",
    "render",
    "seeing",
]

LANG_COOKIE = "ansim_lang"
ROLE_PAGES = {
    Role.CUSTODIAN_OFFICER: "custodian",
    Role.LINKAGE_UNIT_OPERATOR: "linkage",
    Role.HUB_OPERATOR: "hub",
    Role.ANALYST: "analyst",
    Role.OUTPUT_CHECKER: "checker",
}
"""Each project role's page: ``/projects/{project}/{page}``."""
_TEMPLATES = Path(__file__).parent / "templates"
_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def N_(message: str) -> str:  # gettext's name for a message marked, not translated
    """Mark a message for the catalogues; it is translated where it is shown.

    Example:
        >>> N_("Log in")
        'Log in'
    """
    return message


NOTICES = {
    "logged_out": N_("You are logged out."),
    "password_changed": N_("Your password was changed. Log in with the new one."),
    "decided": N_("Your decision was recorded."),
    "uploaded": N_("The sealed package was received."),
    "linked": N_("The linkage ran; the link map was sealed for the hub."),
    "combined": N_("The parts were combined into the hub's encrypted store."),
    "analysed": N_("The analysis was saved as an output with its checks."),
    "submitted": N_("The output was submitted for review."),
    "exception_requested": N_("Your request for an exception was sent to the checkers."),
    "reviewed": N_("Your review was recorded."),
    "released": N_("The output was released."),
    "user_added": N_("The user was registered."),
    "member_added": N_("The role was granted."),
    "grant_approved": N_("The grant was approved."),
    "destroyed": N_("The project was destroyed."),
    "project_created": N_("The project application was recorded."),
    "key_issued": N_("The project's data key was issued."),
    "totp_enrolled": N_("Your second factor is enrolled: logins now need its code."),
}
"""What a page says after an action redirected to it (``?notice=<key>``)."""


@functools.cache
def _environment(lang: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(_TEMPLATES),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]  # added by the i18n extension
    return env


def _language(request: Request) -> str:
    asked = request.query_params.get("lang")
    if asked is not None:
        return language(asked)
    kept = request.cookies.get(LANG_COOKIE)
    return kept if kept in LANGUAGES else DEFAULT_LANGUAGE


def render(
    request: Request,
    name: str,
    *,
    visitor: PageVisitor | None = None,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A page from its template, in the visitor's language, with the security headers.

    Args:
        request: The request (its ``?lang=`` or language cookie choose the language).
        name: The template.
        visitor: The logged-in visitor (their forms get the CSRF token).
        status: The HTTP status.
        **context: The template's values.

    Returns:
        The HTML response (it remembers a language chosen with ``?lang=``).
    """
    lang = _language(request)
    notice = NOTICES.get(request.query_params.get("notice", ""))
    page = _environment(lang).get_template(name).render(
        lang=lang, path=request.url.path if request.method == "GET" else "/home",
        visitor=visitor, notice=notice,
        user=None if visitor is None else visitor.caller.user,
        csrf=None if visitor is None else visitor.csrf_token, **context,
    )  # fmt: skip
    response = HTMLResponse(page, status_code=status, headers=_SECURITY_HEADERS)
    if "lang" in request.query_params:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", path="/")
    return response


# what a session may still do before it changes its one-time password / enrols its second factor
_FIRST_STEPS = {
    "/password": frozenset({"/password", "/logout"}),
    "/totp": frozenset({"/totp", "/totp/confirm", "/password", "/logout"}),
}


def _first_step(request: Request, visitor: PageVisitor) -> str | None:
    """The page a session must go to before any other, if any (as the API requires)."""
    session = visitor.caller.session
    if session is None:
        return None
    if session.must_change and request.app.state.require_password_change:
        return "/password"
    if session.needs_second_factor:
        return "/totp"
    return None


def _error_page(request: Request, error: Exception, visitor: PageVisitor | None) -> Response:
    if isinstance(error, ValidationError):
        fields = sorted({str(e["loc"][0]) for e in error.errors() if e.get("loc")})
        status, message = 422, "invalid form: " + ", ".join(fields)
    elif isinstance(error, AnsimError):
        status, message = status_of(error), str(error)
    else:  # pragma: no cover - guarded() passes only the two kinds above
        raise error
    return render(request, "error.html", visitor=visitor, status=status, message=message)


def seeing(found: Deployment, visitor: PageVisitor, project: str, role: Role) -> None:
    """Pass if the visitor holds ``role`` in ``project`` (404 if they may not know of it).

    Raises:
        NotFoundError: The project does not exist or the visitor is no part of it.
        AccessDenied: The visitor holds another role there.
    """
    user = visitor.caller.user
    found.visible(user, project)
    if role not in found.project_roles(user, project):
        raise AccessDenied(f"this page is for the role {role.value} of project {project!r}")


async def guarded(
    request: Request,
    found: Deployment,
    build: Callable[[PageVisitor], Awaitable[Response]],
) -> Response:
    """Run a page for its logged-in visitor; errors become HTML pages, never a traceback.

    No session (or an ended one): a GET is sent to the login form, a POST is refused with 401.
    A session that must change its one-time password (when the server requires it) is sent to
    the password form, one that must enrol its second factor to the enrolment form. Ansim's
    refusals become an error page with their status (403, 404 …).

    Args:
        request: The request.
        found: The deployment.
        build: Makes the page (or performs the form's action) for the visitor.

    Returns:
        The page, a redirect, or an error page.
    """
    visitor: PageVisitor | None = None
    try:
        visitor = await page_visitor(request, found)
        first = _first_step(request, visitor)
        if first is not None and request.url.path not in _FIRST_STEPS[first]:
            return RedirectResponse(first, status_code=303)
        return await build(visitor)
    except AuthenticationFailed as error:
        if request.method == "GET":
            target = quote(request.url.path, safe="/")
            return RedirectResponse(f"/login?next={target}", status_code=303)
        return _error_page(request, error, None)
    except (AnsimError, ValidationError) as error:
        return _error_page(request, error, visitor)


ROLE_LABELS = {
    "custodian_officer": N_("custodian_officer"),
    "linkage_unit_operator": N_("linkage_unit_operator"),
    "hub_operator": N_("hub_operator"),
    "analyst": N_("analyst"),
    "output_checker": N_("output_checker"),
    "administrator": N_("administrator"),
    "approved": N_("approved"),
    "pending": N_("pending"),
    "revoked": N_("revoked"),
    "draft": N_("draft"),
    "held": N_("held"),
    "submitted": N_("submitted"),
    "rejected": N_("rejected"),
    "released": N_("released"),
    "active": N_("active"),
    "destroyed": N_("destroyed"),
}
"""Roles, approval, output and project states as the pages name them (translated)."""
