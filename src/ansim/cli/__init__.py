"""The ``ansim`` command line: a thin adapter over the same services the library offers.

Each command module registers its commands on the groups in ``_app``; importing it is enough.
"""

from __future__ import annotations

import sys

from rich.console import Console

# Importing a command module registers its commands on the groups in ``_app``.
from ansim.cli import (  # noqa: F401
    _audit,
    _custodian,
    _demo,
    _disclose,
    _hub,
    _linkage,
    _login,
    _packages,
    _parties,
    _portal,
    _privacy,
    _project,
    _release,
    _serve,
    _workspace,
)
from ansim.cli._app import app
from ansim.errors import AnsimError

__all__ = ["app", "main"]


def main() -> None:
    """Entry point: run the CLI, turning Ansim errors into a message and exit code 2."""
    try:
        app()
    except AnsimError as e:
        Console(stderr=True).print(f"[red]error:[/] {e}", highlight=False)
        sys.exit(2)
