"""The ``ansim`` Typer application and its command groups (commands live in sibling modules)."""

from __future__ import annotations

import typer
from rich.console import Console

__all__ = [
    "app",
    "console",
    "custodian_app",
    "demo_app",
    "hub_app",
    "linkage_app",
    "project_app",
    "release_app",
]

app = typer.Typer(
    name="ansim",
    help="Ansim (안심): link, analyse and release person-level data without anyone seeing what "
    "they should not.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
demo_app = typer.Typer(help="The Gyeonggi demo world.")
project_app = typer.Typer(help="Projects and their keys.", no_args_is_help=True)
custodian_app = typer.Typer(
    help="Custodian side: prepare identity and content parts.", no_args_is_help=True
)
linkage_app = typer.Typer(help="Linkage unit: link identity parts.", no_args_is_help=True)
hub_app = typer.Typer(
    help="Hub: combine content parts into the linked dataset.", no_args_is_help=True
)
release_app = typer.Typer(help="Release protected statistics.", no_args_is_help=True)
app.add_typer(demo_app, name="demo")
app.add_typer(project_app, name="project")
app.add_typer(custodian_app, name="custodian")
app.add_typer(linkage_app, name="linkage")
app.add_typer(hub_app, name="hub")
app.add_typer(release_app, name="release")

console = Console()
