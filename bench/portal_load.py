"""Load test of the public portal on loopback: concurrent clients on the pages and the open API.

Starts the portal (``ansim.portal.create_app`` under Uvicorn, one process, as ``ansim serve``
runs it) on a free loopback port over a home of published tables, then runs ``--clients``
concurrent clients making ``--requests`` requests each over a mix of the catalogue, table pages,
downloads and the KOSIS and data.go.kr calls. Bounded: it stops after that many requests or
``--seconds``, whichever comes first, and stops the server. Prints p50/p95/p99 latency and the
error count (any status but 200, or a failed request), as one JSON line.

Usage::

    .venv/bin/python bench/portal_load.py [--home DIR] [--clients 50] [--requests 40] [--seconds 90]
        [--limits sqlite|memory]

The rate limits count in the home's ``portal/rate-limits.sqlite`` (as ``ansim serve`` does) unless
``--limits memory``.

Without ``--home`` it publishes five tables shaped like the demo's (si/gun × age band × sex,
weekly DP cases) into a temporary home. The clients send a registered API key (``X-API-Key``),
so the per-client rate limit does not count the whole load as one anonymous address, and
``Accept-Encoding: gzip``, as browsers do.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from ansim.portal import (
    Cell,
    PublishedTable,
    TableMetadata,
    api_key_digest,
    load_published,
    publish,
)
from ansim.regions import GYEONGGI_SIGUNGU

_KEY = "bench-portal-key"
# as browsers, curl --compressed and Python's requests ask: gzip (the body is read, not unpacked)
_REQUEST = (
    "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: {key}\r\nAccept-Encoding: gzip\r\n\r\n"
)
_SERVER = """
import sys, uvicorn
from pathlib import Path
from ansim.portal import MemoryBucketStore, RateLimit, create_app
limit = RateLimit(keyed_per_minute=10_000_000, keyed_burst=1_000_000,
                  key_digests=frozenset({sys.argv[3]}))
store = MemoryBucketStore() if sys.argv[4] == "memory" else None  # None: the home's SQLite file
uvicorn.run(create_app(Path(sys.argv[1]), limit, store), host="127.0.0.1", port=int(sys.argv[2]),
            log_level="warning", access_log=False)
"""


def _demo_like(home: Path) -> None:
    sigungu = {code: s.name_ko for code, s in GYEONGGI_SIGUNGU.items()}
    ages = {f"{a}": f"{a}-{a + 9}세" for a in range(0, 90, 10)}
    meta = TableMetadata(("gyeonggi", "kostat"), "bench", "load test", "2021", "threshold 10",
                         "2026-12-04", ("checker",))  # fmt: skip
    for n in range(4):
        cells = tuple(
            Cell((g, a, s), "rate", None, "suppressed") if (i + j) % 7 == 0
            else Cell((g, a, s), "rate", float(10 * i + j + n), "rounded")
            for i, g in enumerate(sigungu) for j, a in enumerate(ages) for s in ("M", "F")
        )  # fmt: skip
        publish(PublishedTable(f"cases-{n}", f"확진자 {n}", f"Cases {n}", "941", f"DT_B_{n}",
                               "covid", "2021", "Y", "명", ("sigungu", "age_band", "sex"),
                               (sigungu, ages, {"M": "남", "F": "여"}), {"rate": "10만 명당"},
                               cells, meta), home)  # fmt: skip
    weeks = {f"2021-W{w:02d}": f"{w}주" for w in range(1, 27)}
    cells = tuple(Cell((w, g), "n", 20.0 + i, "dp", 15.0 + i, 25.0 + i)
                  for w in weeks for i, g in enumerate(sigungu))  # fmt: skip
    publish(PublishedTable("weekly", "주별 확진자", "Weekly cases", "941", "DT_B_W", "covid",
                           "2021", "W", "명", ("week", "sigungu"), (weeks, sigungu),
                           {"n": "확진자 수"}, cells, meta), home)  # fmt: skip


def _paths(home: Path) -> list[str]:
    paths = ["/public/tables", "/public", "/public?topic=covid&lang=en"]
    for table in load_published(home).values():
        paths += [
            f"/public/tables/{table.id}",
            f"/public/tables/{table.id}/data?format=csv",
            f"/openapi/statisticsData.do?method=getList&orgId={table.org_id}"
            f"&tblId={table.tbl_id}&format=json&jsonVD=Y",
            f"/openapi/tables/{table.id}/items?pageNo=1&numOfRows=100&type=json",
        ]
    return paths


def _cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process (Linux ``/proc``), to tell its work from waiting."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _get(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str) -> int:
    """One GET on a kept-alive connection; the status (the body is read and dropped)."""
    writer.write(_REQUEST.format(path=path, key=_KEY).encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = next(
        (int(line.split(b":", 1)[1]) for line in head.lower().split(b"\r\n")
         if line.startswith(b"content-length:")),
        0,
    )  # fmt: skip
    await reader.readexactly(length)
    return status


async def _client(
    port: int, paths: list[str], start: int, *, count: int, deadline: float, out: list[float]
) -> int:
    """A client on its own kept-alive connection (a small raw HTTP/1.1 client, so the load
    generator's own cost stays small next to the server's)."""
    errors = 0
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for i in range(count):
            if time.monotonic() > deadline:
                break
            began = time.perf_counter()
            try:
                status = await asyncio.wait_for(
                    _get(reader, writer, paths[(start + i) % len(paths)]), 10
                )
                errors += status != 200  # noqa: PLR2004 - only 200 is a success
            except (OSError, TimeoutError, ValueError, asyncio.IncompleteReadError):
                errors += 1
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            out.append(time.perf_counter() - began)
    finally:
        writer.close()
    return errors


async def _load(
    port: int, paths: list[str], clients: int, requests: int, seconds: float
) -> dict[str, float]:
    latencies: list[float] = []
    deadline = time.monotonic() + seconds
    began = time.perf_counter()
    errors = await asyncio.gather(
        *(
            _client(port, paths, c * 7, count=requests, deadline=deadline, out=latencies)
            for c in range(clients)
        )
    )
    wall = time.perf_counter() - began
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "clients": clients, "requests": len(latencies), "errors": sum(errors),
        "p50_ms": round(1000 * cuts[49], 1), "p95_ms": round(1000 * cuts[94], 1),
        "p99_ms": round(1000 * cuts[98], 1), "max_ms": round(1000 * max(latencies), 1),
        "throughput_rps": round(len(latencies) / wall, 1), "wall_s": round(wall, 2),
    }  # fmt: skip


def main() -> None:
    """Run the load test and print its figures as one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="a home with published tables")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=40, help="requests per client")
    parser.add_argument("--seconds", type=float, default=90.0, help="stop after this long")
    parser.add_argument(
        "--limits", choices=("sqlite", "memory"), default="sqlite",
        help="where the rate limits count: the home's SQLite file (as ansim serve) or in memory",
    )  # fmt: skip
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ansim-portal-load-") as scratch:
        home = args.home or Path(scratch)
        if args.home is None:
            _demo_like(home)
        port = _free_port()
        server = subprocess.Popen(  # noqa: S603 - this interpreter, our own script
            [
                sys.executable,
                "-c",
                _SERVER,
                str(home),
                str(port),
                api_key_digest(_KEY),
                args.limits,
            ],
            env=os.environ.copy(),
        )
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(300):  # wait for the server, at most 30 s
                try:
                    httpx.get(base + "/public/tables", headers={"X-API-Key": _KEY}, timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            paths = _paths(home)
            for path in paths:  # warm the renderings once, as the first visitor would
                httpx.get(base + path, headers={"X-API-Key": _KEY}, timeout=30)
            cpu_before = _cpu_seconds(server.pid)
            result = asyncio.run(_load(port, paths, args.clients, args.requests, args.seconds))
            result["server_cpu_s"] = round(_cpu_seconds(server.pid) - cpu_before, 2)
        finally:
            server.terminate()
            server.wait(timeout=10)
    print(json.dumps({"paths": len(paths), "limits": args.limits, **result}))


if __name__ == "__main__":
    main()
