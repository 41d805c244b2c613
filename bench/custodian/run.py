"""Custodian benchmarks: HMAC linkage tokens and Bloom-filter encodings, against clkhash.

Run: ``.venv/bin/python bench/custodian/run.py`` (defaults: 1,000,000 people, KOSTAT's register
extract; clkhash compared on the same records, all of them unless ``--clkhash-records N``).
Needs the ``bench`` extra (``pip install clkhash``). Everything but the last row runs on one
core: Arrow's thread pool and numba are set to one thread and clkhash is called in-process
(``hash_chunk``), so the figures are per core.

Prints a Markdown table; figures go to docs/benchmarks.md by hand, with the command.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numba
import numpy as np
import pyarrow as pa
from clkhash import clk, schema  # the bench extra: pip install clkhash
from clkhash.key_derivation import generate_key_lists

from ansim.demo import demo_spec, generate_world
from ansim.identity import (
    DEFAULT_ENCODING_SPEC,
    DEFAULT_RECIPES,
    BloomEncoding,
    EncodingSpec,
    FieldEncoding,
    Hardening,
    LinkageSecret,
    encode_bloom,
    encode_bloom_detailed,
    make_tokens,
    prepare,
    standardise_columns,
)
from ansim.ingest import ingest_file, load_ingested
from ansim.schema import DatasetSpec
from ansim.schema import IdentifierKind as K

TOKEN_KINDS = {K.KOREAN_NAME, K.RRN, K.PHONE, K.SEX, K.BIRTH_DATE}
FIELDS = ("name", "birth_date", "sex", "phone", "rrn", "address")


def timed(call: Callable[[], Any]) -> tuple[Any, float, float]:
    """Result, wall seconds and CPU seconds of this process."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = call()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def clk_only_spec() -> EncodingSpec:
    """The default CLK as clkhash can make it: same fields, q, bit weights and size, no jamo,
    no field-level filters, no hardening."""
    fields = tuple(
        FieldEncoding(f.field, q=f.q, bits=0, hashes=1, clk_weight=f.clk_weight)
        for f in DEFAULT_ENCODING_SPEC.fields
    )
    return EncodingSpec("clk-only", 1, fields, clk_bits=1024, hardening=Hardening.NONE)


def clkhash_schema(spec: EncodingSpec) -> dict[str, Any]:
    """The same CLK as a clkhash v3 schema (double hashing, n-grams, bitsPerToken)."""
    features = [
        {
            "identifier": f.field,
            "format": {"type": "string", "encoding": "utf-8"},
            "hashing": {
                "comparison": {"type": "ngram", "n": f.q},
                "strategy": {"bitsPerToken": f.clk_weight},
                "hash": {"type": "doubleHash"},
                "missingValue": {"sentinel": ""},
            },
        }
        for f in spec.fields
    ]
    return {
        "version": 3,
        "clkConfig": {
            "l": spec.clk_bits,
            "kdf": {"type": "HKDF", "hash": "SHA256", "keySize": 64},
        },
        "features": features,
    }


def run_clkhash(spec: EncodingSpec, rows: list[list[str]], secret: bytes) -> list[Any]:
    parsed = schema.from_json_dict(clkhash_schema(spec))
    keys = generate_key_lists(secret, len(parsed.fields), key_size=64)
    return clk.hash_chunk(rows, keys, parsed, validate_data=False)[0]


def _row(step: str, records: int, tool: str, wall: float, cpu: float) -> dict[str, Any]:
    return {"step": step, "records": records, "tool": tool, "wall_s": wall, "cpu_s": cpu}


def bench_tokens_and_bloom(
    spec: DatasetSpec, records: pa.Table, secret: LinkageSecret, clkhash_records: int
) -> tuple[list[dict[str, Any]], BloomEncoding]:
    """Single-core timings: tokens, standardisation, Bloom (default and clkhash's CLK)."""
    n = records.num_rows
    rows = []

    def tokens() -> list[pa.Array]:
        values, _ = standardise_columns(spec, records, kinds=TOKEN_KINDS)
        return [make_tokens(r, values, secret) for r in DEFAULT_RECIPES]

    _, wall, cpu = timed(tokens)
    rows.append(_row(f"tokens ({len(DEFAULT_RECIPES)} recipes) incl. standardisation", n,
                     "ansim", wall, cpu))  # fmt: skip
    values, wall, cpu = timed(lambda: standardise_columns(spec, records)[0])
    rows.append(_row("standardise all identifiers (incl. address)", n, "ansim", wall, cpu))
    encode_bloom(DEFAULT_ENCODING_SPEC, {k: v[:10] for k, v in values.items()}, secret)  # JIT
    encoded, wall, cpu = timed(lambda: encode_bloom_detailed(DEFAULT_ENCODING_SPEC, values, secret))
    rows.append(_row("Bloom: default spec (6 field filters + CLK, jamo, balanced)", n, "ansim",
                     wall, cpu))  # fmt: skip
    m = min(clkhash_records, n)
    subset = {k: v[:m] for k, v in values.items()}
    clk_spec = clk_only_spec()
    _, wall, cpu = timed(lambda: encode_bloom(clk_spec, subset, secret))
    rows.append(_row("Bloom: CLK only, clkhash's settings", m, "ansim", wall, cpu))
    _, wall, cpu = timed(lambda: encode_bloom(DEFAULT_ENCODING_SPEC, subset, secret))
    rows.append(_row("Bloom: default spec", m, "ansim", wall, cpu))
    columns = [subset[f.kind].to_pylist() for f in clk_spec.fields]
    text_rows = [[v or "" for v in row] for row in zip(*columns, strict=True)]
    _, wall, cpu = timed(lambda: run_clkhash(clk_spec, text_rows, secret.derive("bloom")))
    rows.append(_row("Bloom: CLK only (same fields, q, weights, size)", m, "clkhash", wall, cpu))
    return rows, encoded


def print_rows(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        row["records_per_s_per_core"] = round(row["records"] / row["cpu_s"])
        row["wall_s"], row["cpu_s"] = round(row["wall_s"], 2), round(row["cpu_s"], 2)
    print("| " + " | ".join(rows[0]) + " |")
    print("|" + "---|" * len(rows[0]))
    for row in rows:
        cells = (f"{v:,}" if isinstance(v, int) else str(v) for v in row.values())
        print("| " + " | ".join(cells) + " |")
    clk_ansim = next(r for r in rows if r["step"].startswith("Bloom: CLK only, clk"))
    default_m = next(r for r in rows if r["step"] == "Bloom: default spec")
    clk_ref = next(r for r in rows if r["tool"] == "clkhash")
    print(f"\nclkhash ÷ ansim, same CLK: {clk_ref['cpu_s'] / clk_ansim['cpu_s']:.1f}×; "
          f"clkhash (CLK only) ÷ ansim (default: 6 filters + CLK): "
          f"{clk_ref['cpu_s'] / default_m['cpu_s']:.1f}×")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--dataset", default="kostat_register")
    parser.add_argument(
        "--clkhash-records", type=int, default=None, help="clkhash on the first N (default: all)"
    )
    parser.add_argument("--seed", type=int, default=20211101)
    args = parser.parse_args()
    pa.set_cpu_count(1)
    numba.set_num_threads(1)  # Ansim's Bloom kernels spread over the cores; measure one
    spec = demo_spec(args.dataset)
    secret = LinkageSecret.generate()
    with tempfile.TemporaryDirectory(prefix="ansim-bench-custodian-") as tmp:
        world = generate_world(args.people, args.seed, Path(tmp) / "world")
        result = ingest_file(spec, world.datasets[args.dataset], Path(tmp) / "ingest")
        _, records = load_ingested(result.directory)
    compared = args.clkhash_records or records.num_rows
    rows, encoded = bench_tokens_and_bloom(spec, records, secret, compared)
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)  # now everything, as deployed
    pa.set_cpu_count(os.cpu_count() or 1)
    with tempfile.TemporaryDirectory(prefix="ansim-bench-prepare-") as tmp:
        _, wall, cpu = timed(lambda: prepare(spec, records, secret, Path(tmp), project="bench"))
    rows.append(_row("prepare: all of it, parts written (all cores)", records.num_rows, "ansim",
                     wall, cpu))  # fmt: skip
    print_rows(rows)
    fill = {c: round(f.fill, 3) for c, f in encoded.fill.items()}
    print(f"fill before hardening, default spec, {records.num_rows:,} records: {json.dumps(fill)}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(f"peak RSS {peak:.2f} GB; numpy {np.__version__}")


if __name__ == "__main__":
    main()
