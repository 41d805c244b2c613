"""Audit commands: ``ansim audit verify``, ``ansim audit events``; shared governance options."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ansim.cli._app import app, console

if TYPE_CHECKING:
    from ansim.governance import Governance

__all__ = ["HomeOpt", "UrlOpt", "audit_app", "open_governance"]

audit_app = typer.Typer(help="The audit chain: verify it, read it.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")

HomeOpt = Annotated[
    Path,
    typer.Option(
        "--home",
        envvar="ANSIM_HOME",
        help="Governance home: metadata store (by default), master key file, audit key.",
    ),
]
UrlOpt = Annotated[
    str | None,
    typer.Option(
        "--url", envvar="ANSIM_STORE_URL", help="Metadata store URL (default: SQLite in home)."
    ),
]
DEFAULT_HOME = Path("ansim-governance")


def open_governance(home: Path, url: str | None) -> Governance:
    """The governance service for a home directory (and optional store URL)."""
    from ansim.errors import InvalidSpecError
    from ansim.governance import EnvKeyStore, Governance

    if not home.is_dir():
        raise InvalidSpecError(
            f"no governance home at {home}: create one with 'ansim project bootstrap'"
        )
    keystore = EnvKeyStore() if os.environ.get("ANSIM_MASTER_KEY") else None
    return Governance(home, url=url, keystore=keystore)


@audit_app.command("verify")
def audit_verify(home: HomeOpt = DEFAULT_HOME, url: UrlOpt = None) -> None:
    """Verify every event, checkpoint signature and the signed head; name the first bad event."""
    gov = open_governance(home, url)
    try:
        report = gov.verify_audit()
    finally:
        gov.close()
    if report.ok:
        console.print(
            f"audit chain verified: {report.events} events, {report.checkpoints} signed checkpoints"
        )
        return
    report.raise_for_problem()


@audit_app.command("events")
def audit_events(
    home: HomeOpt = DEFAULT_HOME,
    url: UrlOpt = None,
    project: Annotated[str | None, typer.Option("--project", help="One project only.")] = None,
) -> None:
    """Print the events (JSON lines): who, in which role, did what, to which objects."""
    gov = open_governance(home, url)
    try:
        events = gov.audit.events(project)
    finally:
        gov.close()
    for e in events:
        typer.echo(json.dumps(e.__dict__ | {"objects": dict(e.objects)}, ensure_ascii=False))
