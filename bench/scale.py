"""Scale benchmark (issue 16): each heavy stage on NumPy, DuckDB and Spark local[2], side by side.

Records are demo-like: names and birth years drawn from the demo world's register
(``generate_world``), days of the year uniform, 30% of people with a second record (the true
pairs). Stages: blocking (an RRN-token pass and "equal birth date, Dice of the name filter
>= 0.7"), the candidates' comparison levels (name by Dice bands, birth date, RRN), EM's
sufficient statistics (pattern counts) and the match weights, connected components of the
found pairs, the disclosure group-by that reduces the records to their distinct
quasi-identifier combinations, and the hub's join of a content part with the link map.
Spark's start-up is measured apart.

``--extrapolate`` gives the largest blocks at 52M people from the demo world's distributions;
``--simulate`` runs the partitioned dice pass on a 1/50 sample of the birth-date blocks with
the block sizes of 52M people, on the chosen engine, and scales its cost by 50.

Run: ``PYTHONPATH=src .venv/bin/python bench/scale.py --people 1000000 --extrapolate``
(add ``--simulate spark``; ``--engines numpy duckdb spark`` is the default).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from ansim.demo import generate_world
from ansim.disclosure import Hierarchy, age_hierarchy
from ansim.disclosure._encoded import encode
from ansim.disclosure._scaled import encode_on
from ansim.engine import Engine, QueryEngine, SparkEngine
from ansim.engine._components import star_components
from ansim.hub import combine
from ansim.linkage import (
    BlockingRule,
    EncodedRecords,
    FellegiSunterModel,
    FieldComparison,
    block_pairs,
    block_pairs_on,
    comparison_levels,
    connected_components,
    pattern_counts,
    popcounts,
)
from ansim.linkage._partitioned import candidate_pairs_on, pattern_counts_of
from ansim.linkage._partitioned_scoring import levels_table_on, weights_table_on
from ansim.packages import Part

POPULATION = 52_000_000
SECOND_RECORDS = 0.3


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _register(seed: int) -> pa.Table:
    with tempfile.TemporaryDirectory() as tmp:
        world = generate_world(20_000, seed, Path(tmp))
        return pacsv.read_csv(
            world.datasets["kostat_register"],
            convert_options=pacsv.ConvertOptions(column_types={"birth_date": pa.string()}),
        )


def _distributions(register: pa.Table) -> dict[str, Any]:
    names, name_counts = np.unique(
        np.array(register["name"].to_pylist(), object), return_counts=True
    )
    shown = [str(d) for d in register["birth_date"].to_pylist() if d]
    shown = [d for d in shown if d[:4].isdigit() and 1900 <= int(d[:4]) <= 2026]  # noqa: PLR2004
    years = np.array([int(d[:4]) for d in shown])
    year_values, year_counts = np.unique(years, return_counts=True)
    _dates, date_counts = np.unique(np.array(shown, object), return_counts=True)
    return {
        "name_share": name_counts / name_counts.sum(),
        "names": len(names),
        "year_values": year_values,
        "year_share": year_counts / year_counts.sum(),
        "date_share_max": float(date_counts.max() / date_counts.sum()),
        "people": register.num_rows,
    }


def records(people: int, dist: dict[str, Any], seed: int) -> dict[str, Any]:
    """Codes and filters of demo-like records (people plus 30% second records)."""
    rng = np.random.default_rng(seed)
    name = rng.choice(len(dist["name_share"]), people, p=dist["name_share"])
    year = rng.choice(dist["year_values"], people, p=dist["year_share"])
    day = rng.integers(0, 365, people)
    birth = (year - 1900) * 400 + day
    twice = np.flatnonzero(rng.random(people) < SECOND_RECORDS)
    person = np.concatenate([np.arange(people), twice])
    n = person.size
    # one 1024-bit filter per distinct name (about half the bits set), equal names equal
    name_bits = rng.integers(0, 2**63, size=(len(dist["name_share"]), 16), dtype=np.int64)
    bits = name_bits.view(np.uint64)[name[person]]
    ones = popcounts(bits)
    return {
        "n": n,
        "codes": {
            "token_rrn": person.astype(np.int64),
            "token_birth_date": birth[person],
            "bf_name": name[person].astype(np.int64),
        },
        "filters": {"bf_name": (bits, np.ones(n, bool))},
        "popcounts": {"bf_name": ones},
        "qi": pa.table(
            {
                "age": [str(a) for a in np.clip(2026 - year[person], 0, 120)],
                "sex": rng.choice(["M", "F"], n),
                "region": rng.choice([f"r{i}" for i in range(31)], n),
            }
        ),
    }


RULES = (
    BlockingRule("token_rrn"),
    BlockingRule("bf_name", "dice", also=("token_birth_date",), threshold=0.7, max_block=5000),
)


def _timed(results: dict[str, Any], stage: str, engine: str, fn: Any, spark: Any = None) -> Any:
    before = spark.shuffle_bytes() if spark is not None else 0
    start = time.perf_counter()
    out = fn()
    row = {
        "stage": stage,
        "engine": engine,
        "seconds": round(time.perf_counter() - start, 2),
        "peak_rss_mb": round(_peak_mb()),
    }
    if spark is not None:
        row["shuffle_mb"] = round((spark.shuffle_bytes() - before) / 1e6, 1)
        jvm = spark.session.sparkContext._jvm.java.lang.Runtime.getRuntime()
        row["jvm_heap_mb"] = round((jvm.totalMemory() - jvm.freeMemory()) / 1e6)
    results.setdefault("stages", []).append(row)
    print(json.dumps(row), flush=True)
    return out


COMPARISONS = (
    FieldComparison("bf_name"),
    FieldComparison("token_birth_date"),
    FieldComparison("token_rrn"),
)
MODEL = FellegiSunterModel(
    COMPARISONS,
    m=((0.9, *[0.1 / 8] * 8), (0.95, 0.05), (0.98, 0.02)),
    u=((0.001, *[0.999 / 8] * 8), (0.01, 0.99), (0.0001, 0.9999)),
)


def _scoring_stages(  # noqa: PLR0917 - one bench step
    data: dict[str, Any],
    pairs: Any,
    engine_name: str,
    engine: QueryEngine | None,
    results: dict,
    held: Any = None,
) -> None:
    """Comparison levels, EM's sufficient statistics and the match weights of the pairs."""
    n = data["n"]
    records = EncodedRecords(
        np.zeros(n, np.int64), data["codes"], data["filters"], data["popcounts"]
    )
    first, second = pairs.first, pairs.second
    spark = engine if isinstance(engine, SparkEngine) else None
    if engine is None:
        levels = _timed(
            results, "comparison levels", engine_name,
            lambda: comparison_levels(records, COMPARISONS, first, second),
        )  # fmt: skip
        _timed(results, "EM pattern counts", engine_name, lambda: pattern_counts(levels))
        weights = _timed(
            results, "scoring", engine_name,
            lambda: MODEL.field_weights(levels, [None] * 3).sum(axis=1),
        )  # fmt: skip
        _digest(results, engine_name, levels, weights)
        return
    # the candidates stay on the engine: each stage joins the last one's table
    used = np.unique(np.concatenate([first, second])).astype(np.int64)
    table = _timed(
        results, "comparison levels", engine_name,
        lambda: levels_table_on(engine, records, COMPARISONS, held.table, used),
        spark,
    )  # fmt: skip
    _timed(
        results, "EM pattern counts", engine_name,
        lambda: pattern_counts_of(engine, table, len(COMPARISONS)),
        spark,
    )  # fmt: skip
    weights_table = _timed(
        results, "scoring", engine_name,
        lambda: weights_table_on(engine, MODEL, table, {}),
        spark,
    )  # fmt: skip
    # the one collection at the end (the link map's inputs), timed apart
    levels, weights = _timed(
        results, "levels and weights to the driver", engine_name,
        lambda: _collected(engine, table, weights_table),
        spark,
    )  # fmt: skip
    _digest(results, engine_name, levels, weights)


def _collected(engine: QueryEngine, levels: Any, weights: Any) -> tuple[Any, Any]:
    """Levels and weights in pair order (the candidates' order)."""
    names = [f"level_{f}" for f in range(len(COMPARISONS))]
    rows = engine.to_pyarrow(levels.select("pair", *names))
    order = np.argsort(rows["pair"].to_numpy(), kind="stable")
    out = np.stack([rows[c].to_numpy()[order] for c in names], axis=1).astype(np.int8)
    w = engine.to_pyarrow(weights)
    return out, w["weight"].to_numpy()[np.argsort(w["pair"].to_numpy(), kind="stable")]


def _digest(results: dict, engine_name: str, levels: Any, weights: Any) -> None:
    """A digest of the levels and weights: equal digests, identical results on every engine."""
    digest = hashlib.sha256(levels.tobytes() + weights.astype(np.float32).tobytes()).hexdigest()
    results.setdefault("scores_sha256", {})[engine_name] = digest[:16]


def _hierarchies() -> dict[str, Hierarchy]:
    return {
        "age": age_hierarchy("age"),
        "sex": Hierarchy("sex", (("M", "*"), ("F", "*"))),
        "region": Hierarchy("region", tuple((f"r{i}", "*") for i in range(31))),
    }


def run_stages(
    data: dict[str, Any], engine_name: str, engine: QueryEngine | None, results: dict[str, Any]
) -> None:
    codes, filters, counts, n = data["codes"], data["filters"], data["popcounts"], data["n"]
    spark = engine if isinstance(engine, SparkEngine) else None
    if engine is None:
        pairs = _timed(
            results, "blocking", engine_name, lambda: block_pairs(RULES, codes, filters, counts)
        )
        _timed(
            results,
            "components",
            engine_name,
            lambda: connected_components(n, pairs.first, pairs.second),
        )
        _timed(
            results,
            "disclosure group-by",
            engine_name,
            lambda: encode(data["qi"], _hierarchies(), ["age", "sex", "region"]),
        )
        _scoring_stages(data, pairs, engine_name, None, results)
    else:
        held = _timed(
            results,
            "blocking",
            engine_name,
            lambda: candidate_pairs_on(engine, RULES, codes, filters, counts, partitions=8),
            spark,
        )
        pairs = _timed(results, "pairs to the driver", engine_name, held.collect, spark)
        _scoring_stages(data, pairs, engine_name, engine, results, held)
        edges = held.table.select(u=held.table.first, v=held.table.second)
        _timed(
            results,
            "components",
            engine_name,
            lambda: star_components(engine, edges, "bench_labels"),
            spark,
        )
        stored = engine.create_table("qi", data["qi"])
        _timed(
            results,
            "disclosure group-by",
            engine_name,
            lambda: encode_on(engine, stored, _hierarchies(), ["age", "sex", "region"]),
            spark,
        )
        serial = pa.array([f"s{i}" for i in range(n)])
        content = Part(
            "cases", "content", "bench", pa.table({"serial": serial, "age": data["qi"]["age"]})
        )
        linkmap = pa.table(
            {
                "serial": serial,
                "dataset": pa.array(["cases"] * n),
                "person_id": data["codes"]["token_rrn"],
            }
        )
        _timed(
            results, "hub combine", engine_name, lambda: combine([content], linkmap, engine), spark
        )
    results.setdefault("pairs", {})[engine_name] = pairs.size


def extrapolate(dist: dict[str, Any]) -> dict[str, Any]:
    """Largest blocks at 52M people from the demo world's shares."""
    top_name = float(dist["name_share"].max())
    # a birth date: the commonest birth year's share spread over 365 days
    top_date = float(dist["year_share"].max()) / 365
    return {
        "sample_people": dist["people"],
        "distinct_names_in_sample": dist["names"],
        "largest_name_block_52m": round(top_name * POPULATION),
        "largest_birth_date_block_52m": round(top_date * POPULATION),
        "mean_birth_date_block_52m": round(POPULATION / (len(dist["year_values"]) * 365)),
        "largest_name_and_birth_date_block_52m": round(top_name * top_date * POPULATION, 1),
    }


def simulate(dist: dict[str, Any], engine: QueryEngine, seed: int, fraction: int = 50) -> dict:
    """The dice pass on 1/``fraction`` of the birth-date blocks, each of its 52M size."""
    rng = np.random.default_rng(seed)
    days = len(dist["year_values"]) * 365
    sample_blocks = days // fraction
    # every day of every birth year is one block: a uniform sample of days is uniform in years
    year = rng.integers(0, len(dist["year_values"]), sample_blocks)
    # block size at 52M: the year's people spread over its days (Poisson around the mean)
    mean = dist["year_share"][year] * POPULATION / 365
    sizes = rng.poisson(mean)
    n = int(sizes.sum())
    key = np.repeat(np.arange(sample_blocks), sizes).astype(np.int64)
    name = rng.choice(len(dist["name_share"]), n, p=dist["name_share"])
    name_bits = rng.integers(0, 2**63, size=(len(dist["name_share"]), 16), dtype=np.int64)
    bits = name_bits.view(np.uint64)[name]
    ones = popcounts(bits)
    rule = BlockingRule(
        "bf_name", "dice", also=("token_birth_date",), threshold=0.7, max_block=int(sizes.max()) + 1
    )
    spark = engine if isinstance(engine, SparkEngine) else None
    before = spark.shuffle_bytes() if spark else 0
    start = time.perf_counter()
    pairs = block_pairs_on(
        engine,
        [rule],
        {"token_birth_date": key},
        {"bf_name": (bits, np.ones(n, bool))},
        {"bf_name": ones},
        partitions=16,
    )
    seconds = time.perf_counter() - start
    comparisons = float((sizes * (sizes - 1) / 2).sum())
    return {
        "engine": engine.kind,
        "fraction": f"1/{fraction}",
        "records": n,
        "blocks": int(sample_blocks),
        "largest_block": int(sizes.max()),
        "mean_block": round(float(sizes.mean()), 1),
        "dice_comparisons": comparisons,
        "pairs_found": pairs.size,
        "seconds": round(seconds, 1),
        "shuffle_mb": round(((spark.shuffle_bytes() if spark else 0) - before) / 1e6, 1),
        "partition_mb_largest_block": round(int(sizes.max()) * (128 + 24) / 1e6, 3),
        "core_seconds_at_52m": round(seconds * 2 * fraction),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, nargs="*", default=[1_000_000])
    parser.add_argument("--engines", nargs="*", default=["numpy", "duckdb", "spark"])
    parser.add_argument("--seed", type=int, default=20211101)
    parser.add_argument("--extrapolate", action="store_true")
    parser.add_argument("--simulate", choices=["duckdb", "spark"])
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--driver-memory", default="3g", help="Spark driver heap (local mode)")
    args = parser.parse_args()
    dist = _distributions(_register(args.seed))
    results: dict[str, Any] = {}
    if args.extrapolate:
        results["extrapolation"] = extrapolate(dist)
        print(json.dumps(results["extrapolation"]), flush=True)
    spark: SparkEngine | None = None
    if "spark" in args.engines or args.simulate == "spark":
        start = time.perf_counter()
        spark = SparkEngine(shuffle_partitions=8, driver_memory=args.driver_memory)
        results["spark_start_seconds"] = round(time.perf_counter() - start, 1)
        print(json.dumps({"spark_start_seconds": results["spark_start_seconds"]}), flush=True)
    for people in args.people:
        data = records(people, dist, args.seed)
        results.setdefault("records", {})[people] = data["n"]
        for name in args.engines:
            if name == "numpy":
                run_stages(data, name, None, results)
            elif name == "duckdb":
                with Engine() as duck:
                    run_stages(data, name, duck, results)
            elif spark is not None:
                run_stages(data, name, spark, results)
    if args.simulate:
        if args.simulate == "spark" and spark is not None:
            results["simulation"] = simulate(dist, spark, args.seed)
        else:
            with Engine() as duck:
                results["simulation"] = simulate(dist, duck, args.seed)
        print(json.dumps(results["simulation"]), flush=True)
    if spark is not None:
        spark.close()
    if args.out:
        args.out.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
