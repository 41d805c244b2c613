"""Login commands: ``ansim login``, ``ansim logout``, ``ansim whoami``.

``ansim login`` proves who you are to the hub's server with your password (and a TOTP code
where your role needs one), then stores only an API token. Every client command after it acts
as the token's owner: no command takes a user name as proof of identity.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from ansim.cli._app import app, console

__all__: list[str] = []


def _stdin_line(what: str) -> str:
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        from ansim.errors import InvalidSpecError

        raise InvalidSpecError(f"no {what} on standard input")
    return line


@app.command("login")
def login(
    *,
    server: Annotated[
        str, typer.Option("--server", help="The hub's server, e.g. https://hub.example.org.")
    ],
    user: Annotated[str, typer.Option("--user", help="Your account on that server.")],
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="Read the password from standard input (scripts)."),
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
    """Log in to the hub's server and store an API token for the other commands."""
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
        try:
            confirmed = client.open_session(user, password, totp)
        except AccessDenied as e:
            second_factor = "totp" in str(e).lower() or "second factor" in str(e).lower()
            if totp is not None or not second_factor or not sys.stdin.isatty():
                raise
            totp = typer.prompt("TOTP code", hide_input=True)
            confirmed = client.open_session(user, password, totp)
        issued = client.issue_token(role="*", name="cli", expires_days=days)
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
