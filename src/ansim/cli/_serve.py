"""``ansim serve``: the hub's server (API, login, pages) over a deployment home."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ansim.cli._app import app, console

__all__: list[str] = []


@app.command("serve")
def serve(
    *,
    home: Annotated[
        Path,
        typer.Option("--home", envvar="ANSIM_HOME", help="The deployment home (or demo output)."),
    ],
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
    url: Annotated[
        str | None,
        typer.Option("--url", envvar="ANSIM_STORE_URL", help="Metadata store URL."),
    ] = None,
    max_upload_mb: Annotated[
        int, typer.Option("--max-upload-mb", help="Largest package upload accepted (MiB).")
    ] = 512,
    second_factor: Annotated[
        bool,
        typer.Option(
            "--require-second-factor",
            help="Administrators and output checkers must enrol TOTP before anything else.",
        ),
    ] = False,
    password_change: Annotated[
        bool,
        typer.Option(
            "--require-password-change",
            help="Sessions with a one-time password may only change it.",
        ),
    ] = False,
) -> None:
    """Serve the hub: the JSON API under /api/ (login needed), the public pages elsewhere."""
    import uvicorn

    from ansim.errors import InvalidSpecError
    from ansim.governance import AccountPolicy, Role
    from ansim.server import create_app

    if not 0 < port < 65536:  # noqa: PLR2004  # the TCP port range
        raise InvalidSpecError("--port must be 1 to 65535")
    if max_upload_mb < 1:
        raise InvalidSpecError("--max-upload-mb must be at least 1")
    roles = frozenset({Role.ADMINISTRATOR, Role.OUTPUT_CHECKER}) if second_factor else frozenset()
    application = create_app(
        home, url=url, policy=AccountPolicy(second_factor_roles=roles),
        max_upload_bytes=max_upload_mb * 1024 * 1024, require_password_change=password_change,
    )  # fmt: skip
    local = host in {"127.0.0.1", "localhost", "::1"}
    console.print(
        f"serving {home} on http://{host}:{port}/ (API docs at /docs)"
        + ("" if local else " — put TLS in front: session cookies are Secure"),
        highlight=False,
    )
    uvicorn.run(application, host=host, port=port, log_level="warning")
