"""Linkage benchmark: Ansim (exact, fuzzy, probabilistic) vs Splink and clkhash + anonlink.

One command, same data, same run::

    .venv/bin/python bench/linkage/run.py --sizes 100000 1000000

For each size it generates the demo world and links gyeonggi_cases ↔ kostat_register:
Ansim through ``ansim link --method …`` (the whole flow: ingest, standardise, encode, link),
Splink on the plaintext identifiers (Jaro–Winkler name, date of birth, RRN and phone levels,
sex), clkhash CLKs + anonlink (birth-year ±1 blocks, greedy 1-to-1). Each runs in its own
process; time is wall-clock, memory the process's peak RSS. Quality is pairwise against the
true links, counting pairs within a source (duplicates).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).parent))
DATASETS = ("gyeonggi_cases", "kostat_register")
SPECS = ROOT / "src" / "ansim" / "demo" / "specs"
METHODS = ("ansim-exact", "ansim-fuzzy", "ansim-probabilistic", "splink", "anonlink")


def _truth(world: Path) -> pa.Table:
    truth = pacsv.read_csv(world / "truth.csv")
    return truth.filter(pc.is_in(truth["dataset"], value_set=pa.array(DATASETS)))


def _quality(predicted: pa.Table, truth: pa.Table) -> dict[str, float]:
    from ansim.linkage import pairwise_quality  # noqa: PLC0415 -- imported in the process that runs this linker

    keys = pc.binary_join_element_wise(
        truth["dataset"], pc.cast(truth["record_id"], pa.string()), "\x1f"
    )
    q = pairwise_quality(predicted, pa.table({"key": keys, "entity": truth["person_id"]}))
    return {"precision": q.precision, "recall": q.recall, "f1": q.f1}


def _ansim(world: Path, method: str, scratch: Path) -> tuple[pa.Table, float]:
    from ansim.flow import link_files  # noqa: PLC0415 -- imported in the process that runs this linker

    out = scratch / method
    start = time.perf_counter()
    link_files(
        [(SPECS / f"{d}.yaml", world / f"{d}.csv") for d in DATASETS],
        out,
        config=_config(method.removeprefix("ansim-")),
    )
    seconds = time.perf_counter() - start
    linkmap = pq.read_table(out / "linkmap.parquet")
    tables = []
    for d in DATASETS:
        serials = pq.read_table(out / "serials" / f"{d}.parquet")
        tables.append(
            serials.append_column("dataset", pa.array([d] * serials.num_rows, pa.string()))
        )
    located = pa.concat_tables(tables).join(linkmap, ["serial", "dataset"])
    keys = pc.binary_join_element_wise(
        located["dataset"], pc.cast(located["record_id"], pa.string()), "\x1f"
    )
    return pa.table({"key": keys, "cluster": located["person_id"]}), seconds


def _config(method: str) -> object:
    from ansim.linkage import LinkageConfig  # noqa: PLC0415 -- imported in the process that runs this linker

    return LinkageConfig(method=method)


def _plaintext(world: Path) -> object:
    import pandas as pd  # noqa: PLC0415 -- imported in the process that runs this linker
    from anchors import standardised  # noqa: PLC0415 -- imported in the process that runs this linker

    frames = []
    for d in DATASETS:
        raw = pacsv.read_csv(
            world / f"{d}.csv",
            read_options=pacsv.ReadOptions(encoding="cp949" if d == "kostat_register" else "utf8"),
            convert_options=pacsv.ConvertOptions(
                column_types={
                    c: pa.string()
                    for c in ("record_id", "name", "rrn", "birth_date", "sex", "phone")
                }
            ),
        ).to_pandas()
        frames.append(standardised(raw, d))
    return pd.concat(frames, ignore_index=True)


def _splink(world: Path) -> tuple[pa.Table, float]:
    import splink.comparison_library as cl  # noqa: PLC0415 -- imported in the process that runs this linker
    from anchors import splink_clusters  # noqa: PLC0415 -- imported in the process that runs this linker
    from splink import block_on  # noqa: PLC0415 -- imported in the process that runs this linker

    start = time.perf_counter()
    records = _plaintext(world)
    comparisons = [
        cl.JaroWinklerAtThresholds("name", [0.92, 0.8]).configure(term_frequency_adjustments=True),
        cl.DateOfBirthComparison("dob", input_is_string=True),
        cl.LevenshteinAtThresholds("rrn", [1, 2]),
        cl.ExactMatch("sex"),
        cl.LevenshteinAtThresholds("phone", [1, 2]),
    ]
    blocking = [block_on("rrn"), block_on("phone"), block_on("name", "dob"), block_on("dob", "sex")]
    table, _ = splink_clusters(
        records, comparisons, blocking, [block_on("rrn"), block_on("name", "dob")]
    )
    return table, time.perf_counter() - start


def _anonlink(world: Path) -> tuple[pa.Table, float]:
    from anchors import anonlink_clusters  # noqa: PLC0415 -- imported in the process that runs this linker

    start = time.perf_counter()
    records = _plaintext(world)
    features = [
        ("name", "string", {"bitsPerToken": 30}),
        ("dob", "string", {"bitsPerToken": 20}),
        ("sex", "string", {"bitsPerToken": 10}),
        ("rrn", "string", {"bitsPerToken": 15}),
        ("phone", "string", {"bitsPerToken": 10}),
    ]
    table, _ = anonlink_clusters(records, features, block_year=True, threshold=0.75)
    return table, time.perf_counter() - start


def _one(kind: str, world: Path, scratch: Path) -> dict[str, object]:
    if kind.startswith("ansim"):
        predicted, seconds = _ansim(world, kind, scratch)
    elif kind == "splink":
        predicted, seconds = _splink(world)
    else:
        predicted, seconds = _anonlink(world)
    result: dict[str, object] = {"method": kind, "seconds": round(seconds, 1)}
    result |= {k: round(v, 4) for k, v in _quality(predicted, _truth(world)).items()}
    result["peak_rss_gb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2)
    return result


def _scale_errors(factor: float) -> None:
    """Scale the demo generator's error rates (a harder world of the same kind)."""
    import dataclasses  # noqa: PLC0415 -- only for this option

    from ansim.demo import _corruption  # noqa: PLC0415 -- the generator's knobs

    rates = _corruption.RATES
    kept = {"rrn_malformed", "impossible_case_date"}  # ingest checks, not identifier errors
    _corruption.RATES = dataclasses.replace(
        rates,
        **{
            f.name: min(0.5, getattr(rates, f.name) * factor)
            for f in dataclasses.fields(rates)
            if f.name not in kept
        },
    )


def main() -> None:
    """Generate each size once, run every linker on it in its own process, print a table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--error-scale",
        type=float,
        default=1.0,
        help="multiply the demo world's identifier error rates (robustness check)",
    )
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--world", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        with tempfile.TemporaryDirectory() as scratch:
            print(json.dumps(_one(args.one, args.world, Path(scratch))), flush=True)
        return
    from ansim.demo import generate_world  # noqa: PLC0415 -- imported in the process that runs this linker

    if args.error_scale != 1.0:
        _scale_errors(args.error_scale)

    print("| people | method | precision | recall | f1 | seconds | peak_rss_gb |")
    print("|---|---|---|---|---|---|---|", flush=True)
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            world = generate_world(size, args.seed, Path(tmp) / "world").directory
            for kind in args.methods:
                run = subprocess.run(  # noqa: S603 -- this script, fixed arguments
                    [sys.executable, __file__, "--one", kind, "--world", str(world)],
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if run.returncode:
                    print(f"| {size:,} | {kind} | failed: {run.stderr.strip()[-300:]} |")
                    continue
                r = json.loads(run.stdout.strip().splitlines()[-1])
                print(
                    f"| {size:,} | {kind} | {r['precision']:.4f} | {r['recall']:.4f} | "
                    f"{r['f1']:.4f} | {r['seconds']} | {r['peak_rss_gb']} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
