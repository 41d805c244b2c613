"""No command of the CLI accepts a user name as proof of identity (issue 12).

Walks every command of the real Typer application: no option ``--as``/``--actor``, no parameter
called ``actor``, no ``ANSIM_USER`` variable; ``--user`` only where a password proves it
(``ansim login``). The source tree must not mention ``ANSIM_USER`` at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer

from ansim.cli import app

SRC = Path(__file__).parents[3] / "src" / "ansim"
# where a name is given with something that proves it, or names an account being created
PROVEN = {("login", "--user")}


def _walk(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    yield " ".join(path), command
    for name, sub in getattr(command, "commands", {}).items():  # a group (Typer vendors click)
        yield from _walk(sub, (*path, name))


COMMANDS = dict(_walk(typer.main.get_command(app)))


def test_the_walk_sees_the_governed_commands() -> None:
    for expected in ("login", "whoami", "project create", "project member", "project approve",
                     "workspace query", "workspace review", "workspace release", "audit events",
                     "hub combine"):  # fmt: skip
        assert expected in COMMANDS


def test_no_command_takes_a_user_name_as_identity() -> None:
    offending = []
    for where, command in COMMANDS.items():
        for param in command.params:
            envvars = param.envvar if isinstance(param.envvar, list | tuple) else [param.envvar]
            names = [o for o in param.opts if o.startswith("--")]
            if param.name == "actor" or "ANSIM_USER" in envvars:
                offending.append(f"{where}: {param.name}")
            offending += [
                f"{where}: {option}"
                for option in names
                if option in {"--as", "--actor", "--user"} and (where, option) not in PROVEN
            ]
    assert offending == []


def test_ansim_user_appears_nowhere_in_the_source() -> None:
    mentions = [
        str(p.relative_to(SRC)) for p in SRC.rglob("*.py") if "ANSIM_USER" in p.read_text("utf-8")
    ]
    assert mentions == []


def test_login_takes_the_password_from_stdin_or_a_hidden_prompt_never_an_option() -> None:
    options = {o for p in COMMANDS["login"].params for o in p.opts}
    assert {"--server", "--user", "--password-stdin"} <= options
    assert "--password" not in options
