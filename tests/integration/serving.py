"""A real server for the CLI's integration tests: uvicorn in a thread on a free loopback port."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn
from typer.testing import CliRunner, Result

from ansim.cli import app
from ansim.server import create_app

runner = CliRunner()


@contextmanager
def serving(home: Path, **options: Any) -> Iterator[str]:
    """Serve ``create_app(home, **options)`` on 127.0.0.1 until the block ends; its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(home, **options), log_level="warning", ws="none", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def cli(config: Path, *args: str, stdin: str | None = None) -> Result:
    """Run one ``ansim`` command with its credentials under ``config`` (one person's machine)."""
    return runner.invoke(app, list(args), input=stdin, env={"ANSIM_CONFIG_DIR": str(config)})


def ok(config: Path, *args: str, stdin: str | None = None) -> str:
    """Run a command that must succeed; its output."""
    result = cli(config, *args, stdin=stdin)
    assert result.exit_code == 0, (args, result.output, result.exception)
    return result.output


def one_time_password(output: str) -> str:
    """The one-time password a command printed (its last word on the line that names it)."""
    (line,) = [line for line in output.splitlines() if "one-time password" in line]
    return line.rsplit(maxsplit=1)[-1]


def login(config: Path, url: str, user: str, password: str) -> None:
    """``ansim login`` with the password on standard input, as a script would."""
    ok(config, "login", "--server", url, "--user", user, "--password-stdin", stdin=f"{password}\n")
