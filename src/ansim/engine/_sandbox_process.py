"""The child side of a sandbox worker process (see :class:`ansim.workspace.SandboxWorker`).

Kept light on purpose: the child imports DuckDB, PyArrow and the sandbox only (no analysis
libraries), since everything it maps counts against its own ``RLIMIT_AS``. It takes its limits
as plain values (a pickled workspace object would import the workspace package into it).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import resource
from collections.abc import Callable, Mapping
from multiprocessing.connection import Connection
from typing import Any

import pyarrow as pa

from ansim.engine._sandbox import SandboxEngine
from ansim.errors import AnsimError, EngineError

__all__ = ["KNOWN_ERRORS", "row_cap_message", "serve"]

_M_ARENA_MAX = -8  # glibc's mallopt parameter
_ARENAS = 2

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


def row_cap_message(cap: int) -> str:
    """The error of a result over the row cap (it names the cap, never the data).

    Example:
        >>> row_cap_message(1000)[:44]
        "the query's result has more than 1,000 rows,"
    """
    return (
        f"the query's result has more than {cap:,} rows, the workspace's row cap: aggregate, "
        "filter or select fewer rows"
    )


def _answer(sandbox: SandboxEngine, cap: int, message: tuple[Any, ...]) -> Any:
    if message[0] == "query":
        table = sandbox.query(message[1])
        if table.num_rows > cap:  # refused here: the rows never leave the worker
            raise EngineError(row_cap_message(cap))
        return table
    if message[0] == "unmatched":
        return sandbox.unmatched(*message[1:])
    raise AnsimError("unknown call")


def serve(conn: Connection, limits: Mapping[str, Any], temp: str) -> None:  # pragma: no cover
    """The worker's loop: cap the address space, load the views, answer calls until closed.

    Coverage does not follow it into the child; the workspace's worker tests exercise it.

    Args:
        conn: The pipe to the parent.
        limits: ``address_space`` (bytes), ``memory_mb``, ``threads``, ``timeout_s``,
            ``temp_mb``, ``max_rows``.
        temp: The spill directory.
    """
    with open(os.devnull, "wb") as devnull:  # DuckDB may print progress bars
        os.dup2(devnull.fileno(), 1)
    # Each thread's glibc arena reserves 64 MB or more of address space: DuckDB's threads took an
    # idle worker from 0.4 to 1.5 GB of it. Two arenas keep it near 0.7 GB.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).mallopt(_M_ARENA_MAX, _ARENAS)
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
        _reply(conn, functools.partial(_answer, sandbox, int(limits["max_rows"]), tuple(message)))
    sandbox.close()
