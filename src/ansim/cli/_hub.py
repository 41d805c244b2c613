"""Hub commands: ``ansim hub combine/upload`` (``ansim release …`` is in ``_release``).

``combine`` works on a plain DuckDB file, for trials on one's own data; a
governed project's hub store lives on the hub's server and is reached only through it
(``ansim workspace …``; ``hub combine --project`` and ``hub views``, in ``_parties``).
``hub upload`` sends sealed packages to that server.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ansim.cli._app import console, hub_app

__all__: list[str] = []


@hub_app.command("combine")
def hub_combine(
    *,
    content: Annotated[
        list[Path] | None, typer.Option("--content", help="Content part (repeat).")
    ] = None,
    linkmap: Annotated[
        Path | None, typer.Option("--linkmap", help="Link map from the linkage unit.")
    ] = None,
    store: Annotated[
        Path | None, typer.Option("--store", help="A plain DuckDB file (trials).")
    ] = None,
    project: Annotated[
        str | None,
        typer.Option("--project", help="On the logged-in server: combine what waits there."),
    ] = None,
) -> None:
    """Join content parts through the link map into a linked dataset (a local trial store).

    With --project instead: the hub's server combines the sealed packages waiting for the
    project, as the logged-in hub operator.
    """
    from ansim.cli._parties import combine_on_server
    from ansim.engine import Engine
    from ansim.errors import InvalidSpecError
    from ansim.hub import combine_files

    if project is not None:
        if content or linkmap or store:
            raise InvalidSpecError("give --project (on the server) or local parts, not both")
        combine_on_server(project)
        return
    if not content or linkmap is None or store is None:
        raise InvalidSpecError("a local combination needs --content, --linkmap and --store")
    with Engine(store) as engine:
        linked = combine_files(content, linkmap, engine)
    console.print(f"{linked.persons:,} persons; tables {linked.tables} in {store}")


@hub_app.command("upload")
def hub_upload(
    package: Annotated[list[Path], typer.Argument(help="Sealed package(s) (.ansim) to send.")],
    *,
    project: Annotated[str, typer.Option("--project", help="The project they belong to.")],
) -> None:
    """Send sealed packages to the hub's server (as the logged-in custodian or linkage unit)."""
    from ansim.client import Client
    from ansim.errors import InvalidSpecError

    missing = [p for p in package if not p.is_file()]
    if missing:
        raise InvalidSpecError(f"no package at {missing[0]}")
    with Client.stored() as client:
        for path in package:
            client.custodian.send_package(project, path)
            console.print(f"sent {path.name} to {client.server} for {project!r}", highlight=False)
