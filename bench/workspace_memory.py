"""Workspace memory: does a 512 MB limit bound the process that runs an analyst's query?

Run: ``.venv/bin/python bench/workspace_memory.py --rows 1500000``.
One query whose result (``rows`` strings of about 1 kB) lives outside DuckDB's buffer manager,
run (a) in the old way, an in-process ``SandboxEngine`` with ``memory_limit=512MB``, in a child
interpreter so that its peak RSS is its own, and (b) through ``SandboxWorker`` under
``ResourceLimits(memory_mb=512)`` (RLIMIT_AS 1.5 GB). Prints the outcome and the peak resident
memory of the process that asked and of the worker. Figures go to docs/benchmarks.md by hand.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa

from ansim.engine import SandboxEngine
from ansim.errors import AnsimError
from ansim.workspace import ResourceLimits, SandboxWorker

_SQL = "SELECT repeat('x', 1000) || CAST(x AS VARCHAR) AS s FROM t, range({copies}) r"
_BASE = 50_000


def _peak_mb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def _in_process(copies: int) -> None:
    tables = {"t": pa.table({"x": list(range(_BASE))})}
    start = time.perf_counter()
    with SandboxEngine(tables, memory_limit="512MB") as sandbox:
        try:
            outcome = f"{sandbox.query(_SQL.format(copies=copies)).num_rows:,} rows returned"
        except AnsimError as e:
            outcome = f"refused: {e}"
    seconds = time.perf_counter() - start
    print(f"| in-process SandboxEngine | {outcome} | {_peak_mb():,} | — | {seconds:.1f} |")


def _worker(copies: int) -> None:
    tables = {"t": pa.table({"x": list(range(_BASE))})}
    start = time.perf_counter()
    with SandboxWorker(tables, ResourceLimits(memory_mb=512, max_rows=10**8)) as worker:
        try:
            outcome = f"{worker.query(_SQL.format(copies=copies)).num_rows:,} rows returned"
        except AnsimError as e:
            outcome = f"refused: {e}"
        status = Path(f"/proc/{worker._process.pid}/status").read_text(encoding="utf-8")
        (line,) = [x for x in status.splitlines() if x.startswith("VmHWM")]
        worker_mb = int(line.split()[1]) // 1024
    seconds = time.perf_counter() - start
    print(f"| SandboxWorker | {outcome} | {_peak_mb():,} | {worker_mb:,} | {seconds:.1f} |")


def main() -> None:
    """Print one Markdown row per way of running the query."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_500_000)
    parser.add_argument("--only", choices=["in-process", "worker"])
    args = parser.parse_args()
    copies = max(1, args.rows // _BASE)
    if args.only == "in-process":
        _in_process(copies)
        return
    if args.only == "worker":
        _worker(copies)
        return
    print("| how | outcome | peak RSS of the asking process (MB) | worker peak (MB) | s |")
    print("|---|---|---|---|---|")
    for only in ("in-process", "worker"):  # each in a fresh interpreter: peaks are its own
        subprocess.run(  # noqa: S603 - this interpreter and this script
            [sys.executable, __file__, "--rows", str(args.rows), "--only", only], check=True
        )


if __name__ == "__main__":
    main()
