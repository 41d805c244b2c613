"""``ansim portal``: the open statistics portal's API keys (the portal runs in ``ansim serve``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ansim.cli._app import app, console

__all__: list[str] = []

portal_app = typer.Typer(help="The open statistics portal: API keys.", no_args_is_help=True)
app.add_typer(portal_app, name="portal")


@portal_app.command("issue-key")
def issue_key(
    *,
    home: Annotated[
        Path,
        typer.Option("--home", envvar="ANSIM_HOME", help="The deployment home (or demo output)."),
    ],
) -> None:
    """Issue an API key with the higher rate limits; it is printed once and stored as a digest.

    Clients send it in the X-API-Key header. A running server reads new keys when it restarts.
    """
    from ansim.errors import InvalidSpecError
    from ansim.portal import issue_api_key

    if not home.is_dir():
        raise InvalidSpecError(f"{home}: no such home; give the folder `ansim serve --home` uses")
    key = issue_api_key(home)
    console.print("API key (shown only now; send it as X-API-Key):", highlight=False)
    console.print(key, highlight=False, soft_wrap=True)
