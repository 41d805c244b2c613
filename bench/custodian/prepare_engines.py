"""Custodian preparation in memory, on DuckDB and on Spark local[2], side by side (issue 16).

The demo world's KOSTAT register extract is ingested once and prepared three ways with one
secret and one serial source: :func:`ansim.identity.prepare` (in memory, chunk by chunk) and
:func:`ansim.identity.prepare_on_engine` on each engine. Spark's start-up and a first run that
starts its Python workers are measured apart; the identity and content tables of the three
are checked equal.

Run: ``PYTHONPATH=src .venv/bin/python bench/custodian/prepare_engines.py --people 20000``
(``--partitions`` sets the engines' partitions).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

from ansim.demo import demo_spec, generate_world
from ansim.engine import Engine, SparkEngine
from ansim.identity import LinkageSecret, prepare, prepare_on_engine
from ansim.ingest import ingest_file, load_ingested

DATASET = "kostat_register"


def _serials(count: int) -> list[str]:
    return [f"{i:032x}" for i in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--partitions", type=int, default=2)
    parser.add_argument("--seed", type=int, default=16)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="ansim-bench-prepare-"))
    files = generate_world(args.people, args.seed, tmp / "world")
    spec = demo_spec(DATASET)
    ingested = ingest_file(spec, files.datasets[DATASET], tmp / "ingest").directory
    landed = ingested / "records.parquet"
    _, records = load_ingested(ingested)
    secret = LinkageSecret.generate()
    prepare(spec, records.slice(0, 100), secret, tmp / "warm", project="bench")  # numba's cache
    rows: list[tuple[str, float]] = []
    start = time.perf_counter()
    prepare(spec, records, secret, tmp / "memory", project="bench", serial_source=_serials)
    rows.append(("in memory", time.perf_counter() - start))
    with Engine() as duckdb:
        start = time.perf_counter()
        prepare_on_engine(
            duckdb, spec, landed, secret, tmp / "duckdb", project="bench",
            serial_source=_serials, partitions=args.partitions,
        )  # fmt: skip
        rows.append(("DuckDB engine", time.perf_counter() - start))
    start = time.perf_counter()
    spark = SparkEngine(shuffle_partitions=args.partitions)
    rows.append(("Spark start-up (excluded)", time.perf_counter() - start))
    with spark:
        for label, out in (("Spark local[2], first run", "spark0"), ("Spark local[2]", "spark")):
            start = time.perf_counter()
            prepare_on_engine(
                spark, spec, landed, secret, tmp / out, project="bench",
                serial_source=_serials, partitions=args.partitions,
            )  # fmt: skip
            rows.append((label, time.perf_counter() - start))
    equal = all(
        pq.read_table(tmp / way / part / f"{DATASET}.parquet").equals(
            pq.read_table(tmp / "memory" / part / f"{DATASET}.parquet")
        )
        for way in ("duckdb", "spark")
        for part in ("identity", "content")
    )
    print(f"{records.num_rows:,} records, {args.partitions} partitions\n")
    print("| preparation | seconds |\n|---|---:|")
    for label, seconds in rows:
        print(f"| {label} | {seconds:.1f} |")
    print(f"\nidentity and content tables equal on every path: {equal}")


if __name__ == "__main__":
    main()
