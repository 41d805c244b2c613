"""Accounts: passwords, sessions with CSRF tokens, API tokens, second factors, login limits.

Everything lives in the governance store and no secret is kept in the clear: passwords as
argon2id hashes (:class:`~ansim.governance.PasswordPolicy`), session ids, CSRF tokens and API
tokens as SHA-256 digests (they are 256-bit random), TOTP secrets as AES-256-GCM ciphertext
under a key derived (HKDF) from the installation's master key, and failed logins under a digest
of the name tried. An unknown user and a wrong password fail alike, in the same time (a dummy
hash is verified). Identity comes from here only: the web layer passes the authenticated user
id to :class:`~ansim.governance.Governance` as the actor.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pyotp
import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ansim.errors import (
    AccessDenied,
    AuthenticationFailed,
    IntegrityError,
    InvalidSpecError,
    NotFoundError,
    RateLimited,
)
from ansim.governance._credentials import PasswordPolicy, issue_token, token_digest, totp_secret
from ansim.governance._model import Operation, Role
from ansim.governance._rbac import PROJECT_ROLES
from ansim.governance._service import Governance
from ansim.governance._tables import (
    api_tokens,
    credentials,
    login_failures,
    memberships,
    projects,
    sessions,
    users,
)

__all__ = ["AccountPolicy", "Accounts", "ApiToken", "IssuedApiToken", "IssuedSession", "Session"]

ALL_ROLES = "*"
"""A token's role scope meaning "every role the user holds"."""
_BAD_LOGIN = "the user name, password or second-factor code is wrong"
_BAD_TOKEN = "the API token is unknown, expired or revoked"  # noqa: S105  # a message
_NONCE = 12
_TOTP_LABEL = b"ansim totp secret v1\x00"
_TOKEN_NAME = re.compile(r"^[\w .:@/-]{1,100}$")


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@functools.cache
def _dummy_hash(policy: PasswordPolicy) -> str:
    """A hash of nothing anyone knows: verified for unknown users, so they fail as slowly."""
    return policy.hash(secrets.token_urlsafe(24))


def _user_key(user: str) -> str:
    return hashlib.sha256(b"ansim login\x00" + user.strip().lower().encode()).hexdigest()


@dataclass(frozen=True)
class AccountPolicy:
    """How accounts are checked.

    Attributes:
        password: The password policy (argon2id, minimum length).
        session_hours: A session's lifetime (absolute, from login).
        max_failures_per_user: Failed logins allowed per user name within the window.
        max_failures_per_address: Failed logins allowed per client address within the window.
        window_minutes: The rate-limit window.
        second_factor_roles: Roles whose holders must enrol TOTP: until they do, their
            sessions are flagged ``needs_second_factor`` (the server then allows enrolment only).
        max_token_days: The longest API token lifetime.

    Example:
        >>> AccountPolicy().max_failures_per_user
        5
        >>> AccountPolicy(window_minutes=0)
        Traceback (most recent call last):
        ...
        ansim.errors.InvalidSpecError: every account limit must be positive
    """

    password: PasswordPolicy = field(default_factory=PasswordPolicy)
    session_hours: float = 8.0
    max_failures_per_user: int = 5
    max_failures_per_address: int = 20
    window_minutes: float = 15.0
    second_factor_roles: frozenset[Role] = frozenset()
    max_token_days: int = 366

    def __post_init__(self) -> None:
        limits = (
            self.session_hours, self.max_failures_per_user, self.max_failures_per_address,
            self.window_minutes, self.max_token_days,
        )  # fmt: skip
        if min(limits) <= 0:
            raise InvalidSpecError("every account limit must be positive")


@dataclass(frozen=True)
class Session:
    """A logged-in browser session (as resolved from its cookie).

    Attributes:
        user: The authenticated user.
        expires_at: When it ends (UTC, ISO 8601).
        second_factor: Whether the login used a TOTP code.
        must_change: The password is a one-time password that must be changed.
        needs_second_factor: The user must enrol TOTP before doing anything else.
    """

    user: str
    expires_at: str
    second_factor: bool
    must_change: bool
    needs_second_factor: bool
    csrf_digest: str = field(repr=False)

    def check_csrf(self, token: str | None) -> None:
        """Refuse a state-changing request whose CSRF token is not this session's.

        Raises:
            AccessDenied: No token, or one of another (or an ended) session.
        """
        given = token_digest(token or "")
        if not token or not hmac.compare_digest(given, self.csrf_digest):
            raise AccessDenied("missing or wrong CSRF token: send this session's X-CSRF-Token")


@dataclass(frozen=True)
class IssuedSession:
    """A new session: its id (the cookie) and CSRF token are shown once, stored as digests."""

    session_id: str = field(repr=False)
    csrf_token: str = field(repr=False)
    session: Session


@dataclass(frozen=True)
class ApiToken:
    """An API token's public record (never its secret).

    Attributes:
        id: Its public id (``tok_…``), used to list and revoke it.
        user: Whose it is.
        name: What the user called it.
        project: The project it is limited to (``None``: every project of the user).
        role: The role it acts in (``*``: every role the user holds).
        created_at: When it was issued.
        expires_at: When it stops working.
        revoked_at: When it was revoked, if it was.
    """

    id: str
    user: str
    name: str
    project: str | None
    role: str
    created_at: str
    expires_at: str
    revoked_at: str | None

    def allows(self, role: Role) -> bool:
        """Whether the token may act in ``role``."""
        return self.role in (ALL_ROLES, role.value)

    def to_dict(self) -> dict[str, str | None]:
        """Plain data (JSON)."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class IssuedApiToken:
    """A new API token: the secret is shown once, only its digest is stored."""

    token: str = field(repr=False)
    record: ApiToken


class Accounts:
    """The accounts of one installation, kept in its governance store.

    Args:
        governance: The installation's governance service (store, master key, audit log).
        policy: Limits and lifetimes.
        clock: The current time (tests pass their own).

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> from ansim.governance import PassphraseKeyFile
        >>> home = Path(tempfile.mkdtemp())
        >>> gov = Governance(home, keys=PassphraseKeyFile.create(home / "k", "a long passphrase"))
        >>> gov.bootstrap("admin", "Administrator", "KOSTAT")
        >>> accounts = Accounts(gov)
        >>> one_time = accounts.set_password("admin", "admin")
        >>> issued = accounts.authenticate("admin", one_time, address="127.0.0.1")
        >>> accounts.resolve_session(issued.session_id).must_change
        True
        >>> accounts.authenticate("nobody", one_time, address="127.0.0.1")
        Traceback (most recent call last):
        ...
        ansim.errors.AuthenticationFailed: the user name, password or second-factor code is wrong
        >>> gov.close()
    """

    def __init__(
        self,
        governance: Governance,
        *,
        policy: AccountPolicy | None = None,
        clock: Callable[[], dt.datetime] = _now,
    ) -> None:
        self.governance = governance
        self.policy = policy or AccountPolicy()
        self._clock = clock
        master = governance.keys.secret("master")
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_TOTP_LABEL)
        self._totp_aead = AESGCM(hkdf.derive(master))

    @property
    def _engine(self) -> sa.Engine:
        return self.governance.store.engine

    def _audit(
        self, connection: sa.Connection, actor: str, action: str, objects: dict[str, object]
    ) -> None:
        held = self.governance._roles(connection, actor, None)
        role = Role.ADMINISTRATOR if Role.ADMINISTRATOR in held else Role.PUBLIC
        self.governance.audit.append(
            actor=actor, role=role.value, action=action, project=None, objects=objects,
            connection=connection,
        )  # fmt: skip

    # -- passwords ---------------------------------------------------------------------------
    def set_password(self, actor: str, user: str, password: str | None = None) -> str:
        """An administrator gives ``user`` a one-time password (it must be changed).

        The user's sessions end and their API tokens are revoked.

        Args:
            actor: The administrator.
            user: The user.
            password: The password to set (default: a fresh random one).

        Returns:
            The one-time password (hand it over once; it is stored as an argon2id hash only).

        Raises:
            AccessDenied: Not an administrator.
            NotFoundError: No such user.
            InvalidSpecError: The password is too short.
        """
        one_time = password if password is not None else secrets.token_urlsafe(12)
        stored = self.policy.password.hash(one_time)
        now = _iso(self._clock())
        with self.governance._guard(actor, Operation.REGISTER_USER) as (connection, _role):
            self._require_user(connection, user)
            self._store_password(connection, user, stored, must_change=True, by=actor, at=now)
            self._end_all(connection, user, now)
            self._audit(connection, actor, "set_password", {"user": user, "one_time": True})
        return one_time

    def change_password(self, user: str, old: str, new: str) -> None:
        """The user replaces their password (a one-time one, or any) by a new one.

        Raises:
            AuthenticationFailed: ``old`` is not the user's password.
            InvalidSpecError: ``new`` is too short or equals ``old``.
        """
        if new == old:
            raise InvalidSpecError("the new password must differ from the old one")
        stored = self.policy.password.hash(new)
        with self._engine.begin() as connection:
            row = self._credential(connection, user)
            if row is None or not self.policy.password.verify(row.password_hash, old):
                raise AuthenticationFailed(_BAD_LOGIN)
            now = _iso(self._clock())
            self._store_password(connection, user, stored, must_change=False, by=user, at=now)
            self._audit(connection, user, "change_password", {"user": user})
        self.governance.audit.publish_head()

    def _store_password(  # the credential row's fields
        self, connection: sa.Connection, user: str, stored: str, *, must_change: bool, by: str,
        at: str,
    ) -> None:  # fmt: skip
        values = {"password_hash": stored, "must_change": must_change, "set_by": by, "set_at": at}
        if self._credential(connection, user) is None:
            connection.execute(
                credentials.insert().values(user_id=user, totp_confirmed=False, **values)
            )
        else:
            connection.execute(
                credentials.update().where(credentials.c.user_id == user).values(**values)
            )

    def _credential(self, connection: sa.Connection, user: str) -> Any | None:
        return connection.execute(
            sa.select(credentials).where(credentials.c.user_id == user)
        ).first()

    def _require_user(self, connection: sa.Connection, user: str) -> None:
        if connection.execute(sa.select(users.c.id).where(users.c.id == user)).first() is None:
            raise NotFoundError(f"no user {user!r}")

    # -- second factor -----------------------------------------------------------------------
    def enrol_totp(self, user: str) -> str:
        """Start TOTP enrolment: a fresh secret for the user's authenticator app.

        It is required at login once confirmed with :meth:`confirm_totp`.

        Returns:
            The ``otpauth://`` URI holding the secret (show it once, e.g. as a QR code).

        Raises:
            NotFoundError: The user has no password yet.
        """
        secret = totp_secret()
        nonce = os.urandom(_NONCE)
        sealed = nonce + self._totp_aead.encrypt(nonce, secret.encode(), user.encode())
        with self._engine.begin() as connection:
            if self._credential(connection, user) is None:
                raise NotFoundError(f"{user!r} has no password yet")
            connection.execute(
                credentials.update()
                .where(credentials.c.user_id == user)
                .values(totp_sealed=sealed, totp_confirmed=False, totp_last_step=None)
            )
        return pyotp.TOTP(secret).provisioning_uri(name=user, issuer_name="Ansim")

    def confirm_totp(self, user: str, code: str) -> None:
        """Finish enrolment with a first code from the app (from then on it is required).

        Raises:
            AuthenticationFailed: No enrolment under way, or a wrong code.
        """
        with self._engine.begin() as connection:
            row = self._credential(connection, user)
            if row is None or row.totp_sealed is None or not self._totp_ok(connection, row, code):
                raise AuthenticationFailed("the second-factor code is wrong")
            connection.execute(
                credentials.update()
                .where(credentials.c.user_id == user)
                .values(totp_confirmed=True)
            )
            self._audit(connection, user, "enrol_second_factor", {"user": user})
        self.governance.audit.publish_head()

    def _totp_ok(self, connection: sa.Connection, row: Any, code: str) -> bool:
        """Whether ``code`` is valid now and newer than the last one used (no replay)."""
        sealed, user = bytes(row.totp_sealed), str(row.user_id)
        try:
            secret = self._totp_aead.decrypt(sealed[:_NONCE], sealed[_NONCE:], user.encode())
        except InvalidTag as e:
            raise IntegrityError(f"the second-factor secret of {user!r} does not decrypt") from e
        totp = pyotp.TOTP(secret.decode())
        moment = self._clock()
        step = int(moment.timestamp()) // totp.interval
        for candidate in (step - 1, step, step + 1):  # one step of clock drift either way
            expected = totp.generate_otp(candidate)
            if hmac.compare_digest(expected, code.strip()):
                last = row.totp_last_step
                if last is not None and candidate <= int(last):
                    return False
                connection.execute(
                    credentials.update()
                    .where(credentials.c.user_id == user)
                    .values(totp_last_step=candidate)
                )
                return True
        return False

    # -- login -------------------------------------------------------------------------------
    def authenticate(
        self, user: str, password: str, totp: str | None = None, *, address: str
    ) -> IssuedSession:
        """Log in: check the password (and TOTP code, once enrolled), then open a session.

        Args:
            user: The user id.
            password: The password.
            totp: The current code of the user's authenticator app, if enrolled.
            address: The client's address (for the per-address rate limit).

        Returns:
            The session id and CSRF token (shown once) and the session.

        Raises:
            RateLimited: Too many failures for this user or address within the window.
            AuthenticationFailed: Unknown user, wrong password or code (one message for all).
        """
        now = self._clock()
        key, address = _user_key(user), address[:64]
        since = _iso(now - dt.timedelta(minutes=self.policy.window_minutes))
        with self._engine.begin() as connection:
            self._check_rate(connection, key, address, since)
        with self._engine.begin() as connection:
            row = self._credential(connection, user)
            stored = _dummy_hash(self.policy.password) if row is None else str(row.password_hash)
            ok = self.policy.password.verify(stored, password) and row is not None
            if ok and row is not None and row.totp_confirmed:
                ok = bool(totp) and self._totp_ok(connection, row, totp or "")
        if not ok or row is None:
            with self._engine.begin() as connection:
                connection.execute(
                    login_failures.insert().values(user_key=key, address=address, at=_iso(now))
                )
            raise AuthenticationFailed(_BAD_LOGIN)
        session_id, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        expires = _iso(now + dt.timedelta(hours=self.policy.session_hours))
        with self._engine.begin() as connection:
            connection.execute(sa.delete(login_failures).where(login_failures.c.user_key == key))
            connection.execute(sa.delete(sessions).where(sessions.c.expires_at < _iso(now)))
            connection.execute(
                sessions.insert().values(
                    digest=token_digest(session_id), user_id=user, csrf_digest=token_digest(csrf),
                    second_factor=bool(row.totp_confirmed), created_at=_iso(now),
                    expires_at=expires,
                )
            )  # fmt: skip
        self.governance.login(user)
        return IssuedSession(session_id, csrf, self.resolve_session(session_id))

    def _check_rate(self, connection: sa.Connection, key: str, address: str, since: str) -> None:
        def failures(where: sa.ColumnElement[bool]) -> int:
            query = sa.select(sa.func.count()).select_from(login_failures)
            query = query.where(where, login_failures.c.at >= since)
            return int(connection.execute(query).scalar() or 0)

        if failures(login_failures.c.user_key == key) >= self.policy.max_failures_per_user or (
            failures(login_failures.c.address == address) >= self.policy.max_failures_per_address
        ):
            raise RateLimited(
                f"too many failed logins: try again in {self.policy.window_minutes:g} minutes"
            )

    def resolve_session(self, session_id: str) -> Session:
        """The session behind a cookie.

        Raises:
            AuthenticationFailed: Unknown or ended session.
        """
        query = (
            sa.select(sessions, credentials.c.must_change, credentials.c.totp_confirmed)
            .join(credentials, credentials.c.user_id == sessions.c.user_id)
            .where(sessions.c.digest == token_digest(session_id))
        )
        with self._engine.connect() as connection:
            row = connection.execute(query).first()
            if row is None or row.expires_at <= _iso(self._clock()):
                raise AuthenticationFailed("no session, or it has ended: log in again")
            needs = not row.totp_confirmed and bool(
                self._held(connection, row.user_id) & self.policy.second_factor_roles
            )
        return Session(
            user=row.user_id, expires_at=row.expires_at, second_factor=bool(row.second_factor),
            must_change=bool(row.must_change), needs_second_factor=needs,
            csrf_digest=row.csrf_digest,
        )  # fmt: skip

    def end_session(self, session_id: str) -> None:
        """Log out: the session id stops working."""
        with self._engine.begin() as connection:
            connection.execute(
                sa.delete(sessions).where(sessions.c.digest == token_digest(session_id))
            )

    def _end_all(self, connection: sa.Connection, user: str, now: str) -> None:
        connection.execute(sa.delete(sessions).where(sessions.c.user_id == user))
        connection.execute(
            api_tokens.update()
            .where(api_tokens.c.user_id == user, api_tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    def _held(self, connection: sa.Connection, user: str) -> set[Role]:
        rows = connection.execute(
            sa.select(memberships.c.role).where(memberships.c.user_id == user)
        )
        return {Role(r.role) for r in rows}

    # -- API tokens --------------------------------------------------------------------------
    def issue_token(
        self,
        user: str,
        name: str,
        *,
        role: str = ALL_ROLES,
        project: str | None = None,
        expires_days: int = 30,
    ) -> IssuedApiToken:
        """Issue an API token for the (authenticated) user, limited to a project and role.

        Args:
            user: The authenticated user the token acts for.
            name: What it is for (``cli``, a script's name).
            role: A role the user holds, or ``*`` for all of them.
            project: The only project it may act in (default: all the user's projects).
            expires_days: Its lifetime in days.

        Returns:
            The token (shown once) and its record.

        Raises:
            InvalidSpecError: A bad name, role or lifetime.
            AccessDenied: The user does not hold the role (in the project).
            NotFoundError: No such project.
        """
        if not _TOKEN_NAME.match(name):
            raise InvalidSpecError("a token name is 1-100 letters, digits, spaces or .:@/-_")
        if not 1 <= expires_days <= self.policy.max_token_days:
            raise InvalidSpecError(f"expires_days must be 1 to {self.policy.max_token_days}")
        if role != ALL_ROLES and role not in {r.value for r in Role if r is not Role.PUBLIC}:
            raise InvalidSpecError(f"role must be '*' or one of {sorted(r.value for r in Role)}")
        now = self._clock()
        issued = issue_token()
        record = ApiToken(
            id="tok_" + secrets.token_hex(8), user=user, name=name, project=project, role=role,
            created_at=_iso(now), expires_at=_iso(now + dt.timedelta(days=expires_days)),
            revoked_at=None,
        )  # fmt: skip
        with self._engine.begin() as connection:
            if (
                project is not None
                and connection.execute(
                    sa.select(projects.c.id).where(projects.c.id == project)
                ).first()
                is None
            ):
                raise NotFoundError(f"no project {project!r}")
            held = self._held_in(connection, user, project)
            if role != ALL_ROLES and Role(role) not in held:
                where = f" in {project!r}" if project else ""
                raise AccessDenied(f"{user!r} does not hold the role {role}{where}")
            connection.execute(
                api_tokens.insert().values(
                    id=record.id, digest=issued.digest, user_id=user, name=name,
                    project_id=project, role=role, created_at=record.created_at,
                    expires_at=record.expires_at,
                )
            )  # fmt: skip
            self._audit(
                connection, user, "issue_token",
                {"token": record.id, "role": role, "project": project},
            )  # fmt: skip
        self.governance.audit.publish_head()
        return IssuedApiToken(issued.token, record)

    def _held_in(self, connection: sa.Connection, user: str, project: str | None) -> set[Role]:
        if project is None:
            return self._held(connection, user)
        return self.governance._roles(connection, user, project) - {Role.PUBLIC}

    def resolve_token(self, token: str) -> ApiToken:
        """The token behind an ``Authorization: Bearer`` header.

        Raises:
            AuthenticationFailed: Unknown, expired or revoked.
        """
        with self._engine.connect() as connection:
            row = connection.execute(
                sa.select(api_tokens).where(api_tokens.c.digest == token_digest(token))
            ).first()
        if row is None or row.revoked_at is not None or row.expires_at <= _iso(self._clock()):
            raise AuthenticationFailed(_BAD_TOKEN)
        return _token(row)

    def tokens(self, user: str) -> list[ApiToken]:
        """The user's tokens (without secrets), newest first."""
        with self._engine.connect() as connection:
            rows = connection.execute(
                sa.select(api_tokens)
                .where(api_tokens.c.user_id == user)
                .order_by(api_tokens.c.created_at.desc())
            ).all()
        return [_token(r) for r in rows]

    def revoke_token(self, actor: str, token_id: str) -> None:
        """Revoke a token: its owner may, and so may an administrator.

        Raises:
            NotFoundError: No such token, or not one the actor may see.
        """
        with self._engine.begin() as connection:
            row = connection.execute(
                sa.select(api_tokens).where(api_tokens.c.id == token_id)
            ).first()
            admin = Role.ADMINISTRATOR in self._held(connection, actor)
            if row is None or (row.user_id != actor and not admin):
                raise NotFoundError(f"no token {token_id!r}")
            if row.revoked_at is None:
                connection.execute(
                    api_tokens.update()
                    .where(api_tokens.c.id == token_id)
                    .values(revoked_at=_iso(self._clock()))
                )
                self._audit(
                    connection, actor, "revoke_token", {"token": token_id, "user": row.user_id}
                )
        self.governance.audit.publish_head()

    # -- listing -----------------------------------------------------------------------------
    def account_states(self) -> dict[str, dict[str, bool]]:
        """User → whether they have a password, must change it, and use a second factor."""
        query = sa.select(users.c.id, credentials).outerjoin(
            credentials, credentials.c.user_id == users.c.id
        )
        with self._engine.connect() as connection:
            return {
                r.id: {
                    "password": r.password_hash is not None,
                    "must_change": bool(r.must_change),
                    "second_factor": bool(r.totp_confirmed),
                }
                for r in connection.execute(query.order_by(users.c.id))
            }

    def memberships(self, user: str) -> list[dict[str, str | None]]:
        """The user's roles: ``{role, project, custodian}`` (``project`` ``None``: global)."""
        query = sa.select(memberships).where(memberships.c.user_id == user)
        with self._engine.connect() as connection:
            return [
                {"role": r.role, "project": r.project_id, "custodian": r.custodian}
                for r in connection.execute(query.order_by(memberships.c.id))
            ]

    def visible_projects(self, user: str) -> list[str]:
        """The projects the user may know of: all for an administrator, else their own."""
        query = sa.select(projects.c.id).order_by(projects.c.id)
        with self._engine.connect() as connection:
            if Role.ADMINISTRATOR not in self._held(connection, user):
                mine = sa.select(memberships.c.project_id).where(memberships.c.user_id == user)
                query = query.where(projects.c.id.in_(mine))
            return [r.id for r in connection.execute(query)]

    def visible_projects_public(self) -> list[str]:
        """Every project id (for the public register, which shows approved ones only)."""
        with self._engine.connect() as connection:
            query = sa.select(projects.c.id).order_by(projects.c.id)
            return [r.id for r in connection.execute(query)]

    def data_roles(self, user: str) -> set[Role]:
        """The project roles the user holds in any project."""
        with self._engine.connect() as connection:
            return self._held(connection, user) & PROJECT_ROLES


def _token(row: Any) -> ApiToken:
    m = row._mapping
    return ApiToken(
        id=m["id"], user=m["user_id"], name=m["name"], project=m["project_id"], role=m["role"],
        created_at=m["created_at"], expires_at=m["expires_at"], revoked_at=m["revoked_at"],
    )  # fmt: skip
