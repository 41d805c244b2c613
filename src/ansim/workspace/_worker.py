"""Analysts' queries run in a worker process whose resources are bounded by the OS.

DuckDB's ``memory_limit`` bounds its buffer manager, not the process: results, Arrow
conversions and libraries come on top (a query under a 512 MB limit took 2.4–4.4 GB). So the
sandbox (:class:`ansim.engine.SandboxEngine`) lives in a child process that first caps its own
address space (``RLIMIT_AS``): whatever allocates past it fails inside the child, which answers
with a value-free error or dies; the hub's server process is never touched. Inside, DuckDB runs
with its memory limit, a bounded spill directory (``max_temp_directory_size``), a fixed number
of threads and a per-query timeout; the parent adds a hard deadline (the child is killed when it
does not answer). Every result has a row cap: the child refuses a larger one before sending
anything back (refused, not cut).

Children are forked from a ``forkserver`` that has already imported DuckDB and PyArrow, so a
worker starts in milliseconds and never inherits the server's threads.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from ansim._closing import Closing
from ansim.engine._sandbox_process import row_cap_message, serve
from ansim.errors import AccessDenied, AnsimError, EngineError, InvalidSpecError

__all__ = ["ResourceLimits", "SandboxWorker"]

_MB = 1024 * 1024
_GRACE_S = 5.0  # the child's own timeout answers first; this is the wall behind it
_START_S = 60.0
_ERRORS: dict[str, type[AnsimError]] = {
    "AccessDenied": AccessDenied,
    "EngineError": EngineError,
    "InvalidSpecError": InvalidSpecError,
}


@dataclass(frozen=True)
class ResourceLimits:
    """What one workspace query may use.

    Attributes:
        memory_mb: DuckDB's memory limit.
        address_space_mb: The worker process's address-space limit (``RLIMIT_AS``): the
            interpreter and libraries take about 700 MB of it before any data, and thread
            stacks and allocator arenas more; default ``memory_mb + 2048``, plus twice the
            size of the views the worker is given (they are copied into it).
        temp_mb: The most DuckDB may spill to its temporary directory.
        threads: DuckDB threads.
        timeout_s: Wall-clock limit of one query.
        max_rows: The most rows one query's result may have.

    Example:
        >>> ResourceLimits(memory_mb=512).address_space
        2684354560
        >>> ResourceLimits(max_rows=0)
        Traceback (most recent call last):
        ...
        ansim.errors.InvalidSpecError: resource limits: max_rows must be at least 1
    """

    memory_mb: int = 512
    address_space_mb: int | None = None
    temp_mb: int = 1024
    threads: int = 1
    timeout_s: float = 30.0
    max_rows: int = 5_000_000

    def __post_init__(self) -> None:
        """Check every limit's range."""
        for name in ("memory_mb", "temp_mb", "threads", "max_rows"):
            if getattr(self, name) < 1:
                raise InvalidSpecError(f"resource limits: {name} must be at least 1")
        if self.timeout_s <= 0:
            raise InvalidSpecError("resource limits: timeout_s must be positive")
        if self.address_space_mb is not None and self.address_space_mb <= self.memory_mb:
            raise InvalidSpecError(
                "resource limits: address_space_mb must exceed memory_mb (the process holds "
                "DuckDB's memory and the interpreter)"
            )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ResourceLimits:
        """Read limits from plain data (a deployment's ``limits.json``); unknown keys are errors.

        Example:
            >>> ResourceLimits.from_dict({"memory_mb": 2048, "max_rows": 10_000_000}).address_space
            4294967296
        """
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise InvalidSpecError(f"resource limits: unknown settings {sorted(unknown)}")
        try:
            return cls(**data)
        except TypeError as e:
            raise InvalidSpecError("resource limits: each setting is a number") from e

    @property
    def address_space(self) -> int:
        """The ``RLIMIT_AS`` of the worker, in bytes."""
        return (self.address_space_mb or self.memory_mb + 2048) * _MB


def _context() -> Any:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["ansim.engine._sandbox_process"])  # light: see there
    return context


class SandboxWorker(Closing):
    """A :class:`~ansim.engine.SandboxEngine` in a child process under :class:`ResourceLimits`.

    Same calls as the sandbox (``query``, ``unmatched``); a result with more than
    ``limits.max_rows`` rows is refused. A query that reaches the memory limit, or a worker
    that dies, fails with an error; the next call starts a fresh worker on the same views (an
    allocator that hit ``RLIMIT_AS`` keeps its address space, so the old one is not reused).

    Args:
        tables: View name → rows (copied into the child).
        limits: The limits.

    Raises:
        EngineError: The worker could not start or load the views within its limits.

    Example:
        >>> with SandboxWorker({"people": pa.table({"age": [34, 71, 34]})}) as worker:
        ...     worker.query("SELECT count(*) AS n FROM people").to_pylist()
        [{'n': 3}]
    """

    def __init__(self, tables: Mapping[str, pa.Table], limits: ResourceLimits | None = None):
        self.limits = limits or ResourceLimits()
        self._tables = dict(tables)  # the same Arrow buffers, not a copy: to restart a worker
        self._temp = tempfile.mkdtemp(prefix="ansim-worker-")
        self._broken = False
        try:
            self._start()
        except BaseException:
            self.close()
            raise

    def _start(self) -> None:
        ours, theirs = multiprocessing.Pipe()
        self._conn = ours
        space = self.limits.address_space
        if (
            self.limits.address_space_mb is None
        ):  # the views' copy is the platform's, not the query's
            space += 2 * sum(t.nbytes for t in self._tables.values())
        limits = {"address_space": space, "memory_mb": self.limits.memory_mb,
                  "threads": self.limits.threads, "timeout_s": self.limits.timeout_s,
                  "temp_mb": self.limits.temp_mb, "max_rows": self.limits.max_rows}  # fmt: skip
        self._process = _context().Process(
            target=serve, args=(theirs, limits, self._temp), daemon=True
        )
        try:
            self._process.start()
            theirs.close()
            ours.send(self._tables)
        except (OSError, RuntimeError) as e:
            # multiprocessing re-imports an unguarded main script in the child, which fails
            raise EngineError(
                "the workspace's worker process could not start: a script that opens a "
                "workspace must run its code under if __name__ == '__main__'"
            ) from e
        self._call_answer(_START_S, "the workspace could not load the project's views")
        self._broken = False

    # -- calls -------------------------------------------------------------------------------
    def query(self, sql: str) -> pa.Table:
        """Run one vetted query in the worker.

        Raises:
            EngineError: It ran out of time, memory or rows, or failed (no value is shown).
            AccessDenied: DuckDB refused a file, network or configuration access.
        """
        table: pa.Table = self._call(("query", sql))
        if table.num_rows > self.limits.max_rows:  # the child refuses first; never trusted alone
            raise EngineError(row_cap_message(self.limits.max_rows))
        return table

    def unmatched(
        self,
        person: str,
        ids: pa.ChunkedArray,
        views: Sequence[str],
        column: str | None = None,
        values: pa.ChunkedArray | None = None,
    ) -> int:
        """See :meth:`ansim.engine.SandboxEngine.unmatched` (run in the worker)."""
        found: int = self._call(("unmatched", person, ids, list(views), column, values))
        return found

    def _call(self, message: tuple[Any, ...]) -> Any:
        if self._broken or not self._process.is_alive():
            self._stop()
            self._conn.close()
            self._start()
        try:
            self._conn.send(message)
        except (OSError, ValueError):
            self._broken = True
            raise EngineError("the workspace process has stopped: run the query again") from None
        return self._call_answer(self.limits.timeout_s + _GRACE_S, "query failed")

    def _call_answer(self, wait_s: float, failed: str) -> Any:
        try:
            ready = self._conn.poll(wait_s)
            answer = self._conn.recv() if ready else None
        except (EOFError, OSError):
            self._broken = True
            raise EngineError(
                "query stopped: the workspace process ended (out of memory under its "
                "operating-system limit, or stopped): aggregate first or select fewer columns"
            ) from None
        if answer is None:
            self._broken = True
            self._stop()  # the hard wall: a child that does not answer is killed now
            raise EngineError(
                f"query stopped after the {self.limits.timeout_s:g} s limit: narrow it "
                "(filters, fewer joins) or aggregate first"
            )
        status, *rest = answer
        if status == "ok":
            return rest[0]
        kind, text = rest
        if text == "memory" or "memory limit" in text:
            self._broken = True
        if text == "memory":
            text = (
                "query stopped at the workspace memory limit: aggregate first or select fewer "
                "columns"
            )
        raise _ERRORS[kind](text or failed)

    # -- lifecycle ---------------------------------------------------------------------------
    def _stop(self) -> None:
        if self._process.pid is None:  # never started
            return
        if self._process.is_alive():
            self._process.kill()
        self._process.join(timeout=_GRACE_S)

    def close(self) -> None:
        """Stop the worker (its views vanish with it) and remove its spill directory."""
        with contextlib.suppress(OSError, ValueError):
            if self._process.pid is not None and self._process.is_alive():
                self._conn.send(("close",))
                self._process.join(timeout=_GRACE_S)
        self._stop()
        self._conn.close()
        shutil.rmtree(self._temp, ignore_errors=True)
