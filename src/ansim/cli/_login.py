"""Login commands: ``ansim login``, ``ansim logout``, ``ansim whoami``.

``ansim login`` proves who you are to the hub's server with your password (and a TOTP code
where your role needs one), then stores only an API token. Every client command after it acts
as the token's owner: no command takes a user name as proof of identity.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ansim.cli._app import app, console

if TYPE_CHECKING:
    from ansim.client import Client

__all__: list[str] = []


def _stdin_line(what: str, *, required: bool = True) -> str | None:
    line = sys.stdin.readline().rstrip("\r\n")
    if not line and required:
        from ansim.errors import InvalidSpecError

        raise InvalidSpecError(f"no {what} on standard input")
    return line or None


@app.command("login")
def login(
    *,
    server: Annotated[
        str, typer.Option("--server", help="The hub's server, e.g. https://hub.example.org.")
    ],
    user: Annotated[str, typer.Option("--user", help="Your account on that server.")],
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin",
            help="Read the password from standard input (scripts); a one-time password's "
            "replacement, if any, on the next line.",
        ),
    ] = False,
    totp: Annotated[
        str | None, typer.Option("--totp", help="The current code of your authenticator app.")
    ] = None,
    totp_stdin: Annotated[
        bool,
        typer.Option("--totp-stdin", help="Read the TOTP code from the line after the password."),
    ] = False,
    days: Annotated[int, typer.Option("--days", help="Days the stored token stays valid.")] = 30,
) -> None:
    """Log in to the hub's server and store an API token for the other commands.

    Only the token is stored (with the server's address, mode 0600), never the password. A
    one-time password is replaced at the first login: in a terminal you are asked for a new
    one; with ``--password-stdin`` it is the line after the password (and TOTP code).
    """
    from ansim.client import Client, Credentials, credentials_path
    from ansim.errors import AccessDenied, InvalidSpecError

    if totp_stdin and not password_stdin:
        raise InvalidSpecError(
            "--totp-stdin reads the line after the password: add --password-stdin"
        )
    password = (
        _stdin_line("password") if password_stdin else typer.prompt("password", hide_input=True)
    )
    if totp_stdin:
        totp = _stdin_line("TOTP code")
    with Client(server) as client:
        session = _open_session(client, user, str(password), totp, interactive=not password_stdin)
        confirmed = str(session.get("user", user))
        changed = not session.get("must_change") or _replace_one_time_password(
            client, str(password), interactive=not password_stdin
        )
        if session.get("needs_second_factor"):
            _enrol_second_factor(client, interactive=not password_stdin)
        try:
            issued = client.issue_token(role="*", name="cli", expires_days=days)
        except AccessDenied as e:
            if changed:
                raise
            raise AccessDenied(
                f"{e}: give a new password on the line after the one-time password "
                "(--password-stdin), or log in in a terminal"
            ) from e
        client.close_session()
    token_id = issued.get("id")
    stored = Credentials(
        client.server, str(issued["token"]), None if token_id is None else str(token_id), confirmed
    )
    path = stored.save(credentials_path())
    console.print(
        f"logged in to {stored.server} as {confirmed!r}; token stored in {path} (mode 0600)",
        highlight=False,
    )


def _open_session(
    client: Client, user: str, password: str, totp: str | None, *, interactive: bool
) -> dict[str, Any]:
    """Log in; in a terminal, ask for the TOTP code if the server wants one and none was given."""
    from ansim.errors import AuthenticationFailed

    try:
        return client.open_session(user, password, totp)
    except AuthenticationFailed as e:
        if totp is not None or not interactive or "second-factor" not in str(e):
            raise
        code = typer.prompt("TOTP code (or Enter if you have none)", default="", show_default=False)
        if not code:
            raise
        return client.open_session(user, password, code)


def _replace_one_time_password(client: Client, password: str, *, interactive: bool) -> bool:
    """Change a one-time password if a new one is at hand; whether it was changed.

    In a terminal the user is asked; from standard input it is the next line, if any (a
    server that lets one-time passwords act keeps working without one).
    """
    if interactive:
        console.print("your password is a one-time password: choose a new one")
        new = typer.prompt("new password", hide_input=True, confirmation_prompt=True)
    else:
        new = _stdin_line("new password", required=False)
        if new is None:
            return False
    client.change_password(password, str(new))
    console.print("password changed")
    return True


def _enrol_second_factor(client: Client, *, interactive: bool) -> None:
    """Enrol a TOTP second factor, which the user's role requires (in a terminal only)."""
    from ansim.errors import AccessDenied

    if not interactive:
        raise AccessDenied(
            "your role needs a second factor: run 'ansim login' once in a terminal (or use the "
            "server's account page) to enrol an authenticator app"
        )
    uri = client.enrol_second_factor()
    console.print(
        "your role needs a second factor: add this to your authenticator app (shown once):\n"
        f"  {uri}",
        highlight=False,
    )
    client.confirm_second_factor(typer.prompt("first code from the app"))
    console.print("second factor enrolled: from now on log in with --totp CODE")


@app.command("logout")
def logout() -> None:
    """Revoke the stored token on the server and delete it here."""
    from ansim.client import Client, Credentials
    from ansim.errors import AccessDenied, AuthenticationFailed, ServerError

    try:
        stored = Credentials.load()
    except AccessDenied:
        console.print("not logged in")
        return
    try:
        if stored.token_id is not None:
            with Client(stored.server, stored.token) as client:
                client.revoke_token(stored.token_id)
    except AuthenticationFailed:
        pass  # already expired or revoked: nothing left to revoke
    except ServerError as e:
        Credentials.delete()
        raise ServerError(
            f"{e}; the token is deleted here but still valid on the server until it expires: "
            "revoke it on the server's account page"
        ) from e
    Credentials.delete()
    console.print(
        f"logged out of {stored.server}: the token is revoked and deleted", highlight=False
    )


@app.command("whoami")
def whoami() -> None:
    """Who the server says you are, and your roles."""
    from ansim.client import Client

    with Client.stored() as client:
        me = client.me()
    console.print(f"{me.user} ({me.name}, {me.organisation}) at {client.server}", highlight=False)
    for role, project, dataset in me.roles:
        where = f" in {project}" if project else ""
        console.print(f"  {role}{where}" + (f" for {dataset}" if dataset else ""), highlight=False)
