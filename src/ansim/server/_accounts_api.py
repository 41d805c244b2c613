"""Login, logout, API tokens, the caller's own account, and the administrators' user management."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from ansim.errors import AccessDenied, InvalidSpecError
from ansim.governance import ALL_ROLES, Role
from ansim.server._auth import COOKIE, CallerDep, DeploymentDep
from ansim.server._errors import JsonResponse

__all__ = ["router"]

router = APIRouter(prefix="/api", default_response_class=JsonResponse)

UserId = Annotated[str, Field(min_length=1, max_length=63)]
Text = Annotated[str, Field(min_length=1, max_length=200)]
Secret = Annotated[str, Field(min_length=1, max_length=1024)]
_LOCAL = frozenset({"127.0.0.1", "localhost", "::1"})


class LoginRequest(BaseModel):
    """Credentials for a browser or CLI login."""

    user: UserId
    password: Secret
    totp: Annotated[str | None, Field(max_length=12)] = None


class PasswordChange(BaseModel):
    """The caller's old and new password."""

    old: Secret
    new: Secret


class TotpCode(BaseModel):
    """A code from the authenticator app."""

    code: Annotated[str, Field(min_length=6, max_length=12)]


class TokenRequest(BaseModel):
    """An API token to issue for the caller."""

    name: Annotated[str, Field(min_length=1, max_length=100)]
    role: Annotated[str, Field(max_length=40)] = ALL_ROLES
    project: Annotated[str | None, Field(max_length=63)] = None
    expires_days: Annotated[int, Field(ge=1, le=366)] = 30


class NewUser(BaseModel):
    """A person to register, with an optional first password (else a one-time one)."""

    user: UserId
    name: Text
    organisation: Annotated[str, Field(max_length=200)] = ""
    password: Annotated[str | None, Field(max_length=1024)] = None


class PasswordReset(BaseModel):
    """A new one-time password for a user (generated if absent)."""

    password: Annotated[str | None, Field(max_length=1024)] = None


class UserRef(BaseModel):
    """A user."""

    user: UserId


class GrantApproval(BaseModel):
    """A second administrator's approval of one incompatible role grant."""

    user: UserId
    role: Annotated[str, Field(max_length=40)]
    project: Annotated[str | None, Field(max_length=63)] = None


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise InvalidSpecError(f"unknown role; roles are {sorted(r.value for r in Role)}") from None


def _secure(request: Request) -> bool:
    setting: bool | None = request.app.state.secure_cookies
    if setting is not None:
        return setting
    return request.url.scheme == "https" or request.url.hostname not in _LOCAL


# -- session ---------------------------------------------------------------------------------
@router.post("/session", summary="Log in (sets the session cookie; returns the CSRF token)")
async def login(
    body: LoginRequest, request: Request, response: Response, found: DeploymentDep
) -> dict[str, Any]:
    """Log in with password (and TOTP code once enrolled); 429 after too many failures."""
    address = request.client.host if request.client else "unknown"
    issued = found.accounts.authenticate(body.user, body.password, body.totp, address=address)
    hours = found.accounts.policy.session_hours
    response.set_cookie(
        COOKIE, issued.session_id, max_age=int(hours * 3600), httponly=True, samesite="strict",
        secure=_secure(request), path="/",
    )  # fmt: skip
    session = issued.session
    return {
        "user": session.user, "csrf_token": issued.csrf_token, "expires_at": session.expires_at,
        "must_change": session.must_change, "needs_second_factor": session.needs_second_factor,
    }  # fmt: skip


@router.delete("/session", summary="Log out")
async def logout(caller: CallerDep, response: Response, found: DeploymentDep) -> dict[str, bool]:
    """End the caller's session (a token caller has none: revoke the token instead)."""
    if caller.session_id is None:
        raise InvalidSpecError("this request carries no session: revoke the API token instead")
    found.accounts.end_session(caller.session_id)
    response.delete_cookie(COOKIE, path="/")
    return {"ok": True}


@router.post("/password", summary="Change the caller's password")
async def change_password(
    body: PasswordChange, caller: CallerDep, found: DeploymentDep
) -> dict[str, bool]:
    """Replace a one-time (or any) password."""
    found.accounts.change_password(caller.user, body.old, body.new)
    return {"ok": True}


@router.post("/me/totp", summary="Start enrolling a TOTP second factor")
async def enrol_totp(caller: CallerDep, found: DeploymentDep) -> dict[str, str]:
    """A fresh secret as an ``otpauth://`` URI (shown once); confirm it with a first code."""
    if caller.session is None:
        raise AccessDenied("enrol a second factor from a login session, not with an API token")
    return {"otpauth_uri": found.accounts.enrol_totp(caller.user)}


@router.post("/me/totp/confirm", summary="Confirm the second factor with a first code")
async def confirm_totp(body: TotpCode, caller: CallerDep, found: DeploymentDep) -> dict[str, bool]:
    """From now on logins need a code."""
    if caller.session is None:
        raise AccessDenied("enrol a second factor from a login session, not with an API token")
    found.accounts.confirm_totp(caller.user, body.code)
    return {"ok": True}


@router.get("/me", summary="Who the caller is and which roles they hold")
async def me(caller: CallerDep, found: DeploymentDep) -> dict[str, Any]:
    """The caller's id, name, organisation and roles."""
    record = found.governance_user(caller.user)
    roles = [
        {"role": m["role"], "project": m["project"], "custodian": m["custodian"],
         "dataset": None}
        for m in found.accounts.memberships(caller.user)
    ]  # fmt: skip
    state = found.accounts.account_states().get(caller.user, {})
    return {
        "user": caller.user, "name": record["name"], "organisation": record["organisation"],
        "roles": roles, "must_change": state.get("must_change", False),
        "second_factor": state.get("second_factor", False),
        "via": "token" if caller.token else "session",
        "token": None if caller.token is None else caller.token.to_dict(),
    }  # fmt: skip


# -- tokens ----------------------------------------------------------------------------------
@router.post("/tokens", status_code=201, summary="Issue an API token (shown once)")
async def issue_token(
    body: TokenRequest, caller: CallerDep, found: DeploymentDep
) -> dict[str, Any]:
    """A token scoped to a project (or all the caller's) and a role (or ``*``)."""
    if caller.token is not None:
        raise AccessDenied("API tokens are issued from a login session, not by another token")
    issued = found.accounts.issue_token(
        caller.user, body.name, role=body.role, project=body.project,
        expires_days=body.expires_days,
    )  # fmt: skip
    return {**issued.record.to_dict(), "token": issued.token}


@router.get("/tokens", summary="The caller's API tokens (no secrets)")
async def list_tokens(caller: CallerDep, found: DeploymentDep) -> list[dict[str, Any]]:
    """Every token the caller was issued, revoked ones included."""
    return [t.to_dict() for t in found.accounts.tokens(caller.user)]


@router.delete("/tokens/{token_id}", summary="Revoke an API token")
async def revoke_token(token_id: str, caller: CallerDep, found: DeploymentDep) -> dict[str, bool]:
    """The owner (or an administrator) revokes it; others get 404."""
    found.accounts.revoke_token(caller.user, token_id)
    return {"ok": True}


# -- administration --------------------------------------------------------------------------
_ADMIN = (Role.ADMINISTRATOR,)


@router.get("/users", summary="Every user, their roles and account state (administrators)")
async def list_users(caller: CallerDep, found: DeploymentDep) -> list[dict[str, Any]]:
    """Users with roles, whether they must change their password and use a second factor."""
    caller.within(None, _ADMIN)
    if not found.is_admin(caller.user):
        raise AccessDenied(f"{caller.user!r} may not list users: it needs the role administrator")
    states = found.accounts.account_states()
    return [
        {"user": u, **state, "roles": found.accounts.memberships(u)} for u, state in states.items()
    ]


@router.post("/users", status_code=201, summary="Register a user with a one-time password")
async def register_user(body: NewUser, caller: CallerDep, found: DeploymentDep) -> dict[str, str]:
    """Register a person (no role yet) and give them a password that must be changed."""
    caller.within(None, _ADMIN)
    found.governance.register_user(caller.user, body.user, body.name, body.organisation)
    password = found.accounts.set_password(caller.user, body.user, body.password)
    return {"user": body.user, "password": password}


@router.post("/users/{user}/password", summary="Reset a user's password (one-time)")
async def reset_password(
    user: str, body: PasswordReset, caller: CallerDep, found: DeploymentDep
) -> dict[str, str]:
    """A new one-time password; the user's sessions end and their tokens are revoked."""
    caller.within(None, _ADMIN)
    password = found.accounts.set_password(caller.user, user, body.password)
    return {"user": user, "password": password}


@router.post("/administrators", status_code=201, summary="Make a user an administrator")
async def add_administrator(
    body: UserRef, caller: CallerDep, found: DeploymentDep
) -> dict[str, str]:
    """Refused for anyone holding a data role, unless a second administrator approved it."""
    caller.within(None, _ADMIN)
    found.governance.add_administrator(caller.user, body.user)
    return {"user": body.user, "role": Role.ADMINISTRATOR.value}


@router.post("/grant-approvals", status_code=201, summary="Approve one incompatible grant")
async def approve_grant(
    body: GrantApproval, caller: CallerDep, found: DeploymentDep
) -> dict[str, Any]:
    """A second administrator approves a grant another administrator then makes (audited)."""
    caller.within(body.project, _ADMIN)
    if body.project is not None:
        found.visible(caller.user, body.project)
    found.governance.approve_grant(caller.user, body.project, body.user, _role(body.role))
    return {"user": body.user, "role": body.role, "project": body.project,
            "approved_by": caller.user}  # fmt: skip
