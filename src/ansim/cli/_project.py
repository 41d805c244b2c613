"""Project commands: ``ansim project …``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ansim.cli._app import console, project_app

__all__: list[str] = []


@project_app.command("init")
def project_init(
    out: Annotated[Path, typer.Option("--out", help="Where the custodians' secret is written.")],
    name: Annotated[str, typer.Option("--name", help="Project identifier.")] = "project",
) -> None:
    """Create a project's linkage secret for its custodians (never give it to the linkage unit)."""
    from ansim.identity import LinkageSecret

    path = LinkageSecret.generate().save(out / "linkage.key")
    (out / "project.json").write_text(json.dumps({"project": name}), encoding="utf-8")
    console.print(f"linkage secret for custodians of {name!r}: {path} (mode 0600)")
