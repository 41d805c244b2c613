"""The child side of a sandbox worker process (see :class:`ansim.workspace.SandboxWorker`).

Kept light on purpose: the child imports DuckDB, PyArrow and the sandbox only (no analysis
libraries), since everything it maps counts against its own ``RLIMIT_AS``. It takes its limits
as plain values (a pickled workspace object would import the workspace package into it).
"""

from __future__ import annotations

import functools
import os
import resource
from collections.abc import Callable, Mapping
from multiprocessing.connection import Connection
from typing import Any

import pyarrow as pa

from ansim.engine._sandbox import SandboxEngine
from ansim.errors import AnsimError

__all__ = ["KNOWN_ERRORS", "serve"]

KNOWN_ERRORS = ("AccessDenied", "EngineError", "InvalidSpecError")
"""Error classes whose (value-free) message the child passes on; others become EngineError."""


def _reply(conn: Connection, call: Callable[[], Any]) -> None:
    try:
        conn.send(("ok", call()))
    except AnsimError as e:
        name = type(e).__name__
        conn.send(("error", name if name in KNOWN_ERRORS else "EngineError", str(e)))
    except MemoryError:
        conn.send(("error", "EngineError", "memory"))
    except Exception:  # noqa: BLE001 - a third-party message may hold a value: never sent
        conn.send(("error", "EngineError", ""))


def _answer(sandbox: SandboxEngine, message: tuple[Any, ...]) -> Any:
    if message[0] == "query":
        return sandbox.query(message[1])
    if message[0] == "unmatched":
        return sandbox.unmatched(*message[1:])
    raise AnsimError("unknown call")


def serve(conn: Connection, limits: Mapping[str, Any], temp: str) -> None:  # pragma: no cover
    """The worker's loop: cap the address space, load the views, answer calls until closed.

    Coverage does not follow it into the child; the workspace's worker tests exercise it.

    Args:
        conn: The pipe to the parent.
        limits: ``address_space`` (bytes), ``memory_mb``, ``threads``, ``timeout_s``,
            ``temp_mb``.
        temp: The spill directory.
    """
    with open(os.devnull, "wb") as devnull:  # DuckDB may print progress bars
        os.dup2(devnull.fileno(), 1)
    cap = int(limits["address_space"])
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    try:
        tables: Mapping[str, pa.Table] = conn.recv()
        sandbox = SandboxEngine(
            tables, memory_limit=f"{limits['memory_mb']}MB", threads=int(limits["threads"]),
            timeout_s=float(limits["timeout_s"]), temp_directory=temp,
            max_temp_size=f"{limits['temp_mb']}MB",
        )  # fmt: skip
    except MemoryError:
        conn.send(("error", "EngineError", "memory"))
        return
    except AnsimError as e:
        conn.send(("error", "EngineError", str(e)))
        return
    del tables
    conn.send(("ok", None))
    while True:
        try:
            message = conn.recv()
        except EOFError:
            break
        if message[0] == "close":
            break
        _reply(conn, functools.partial(_answer, sandbox, tuple(message)))
    sandbox.close()
