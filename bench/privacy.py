"""DP group-by (count + mean income by 31 si/gun) vs plain DuckDB + noise vs OpenDP's pipeline.

Usage: .venv/bin/python bench/privacy.py [ROWS ...]   (default 1000000; e.g. 1000000 10000000)

Same data, same run; the engine runs with a 3 GB memory limit. Ansim is timed twice: with
contributions bounded per person in the engine (one row per person kept, window functions)
and with ``person: null`` (the input declares one row per person, as plain DuckDB assumes).
OpenDP's anchor: ``make_count_by_categories`` plus,
per region, ``make_clamp`` → ``make_sum``, discrete Laplace noise (parallel composition).
Plain DuckDB and Ansim with ``person: null`` are timed as the best of 5 runs each, the bounded
run and OpenDP once. Also printed: the mean absolute error of the released mean income per
region against the true mean, for the plain noisy sum / noisy count and for each Ansim run
(its last release).
"""

from __future__ import annotations

import sys
import time

import numpy as np
import opendp.prelude as dp
import pyarrow as pa

from ansim.engine import Engine
from ansim.privacy import OneOffBudget, parse_release_spec, run_release
from ansim.regions import GYEONGGI_SIGUNGU

dp.enable_features("contrib")
CODES = np.array(sorted(GYEONGGI_SIGUNGU))
UPPER = 10_000_000
RHO = 1.0
REPEAT = 5  # the plain and the rows-are-persons runs: best of 5 (the bounded run: once)
OPENDP_MAX_ROWS = 2_000_000  # OpenDP's vector API takes Python lists: minutes beyond


def _spec(person: str | None) -> object:
    return parse_release_spec({
        "name": "bench", "rho": RHO, "person": person, "keys": {"region": "sigungu"},
        "queries": [
            {"name": "n", "statistic": "count", "by": ["region"]},
            {"name": "m", "statistic": "mean", "column": "income", "lower": 0, "upper": UPPER,
             "by": ["region"]},
        ],
    })  # fmt: skip


def _timed(fn: object, repeat: int = 1) -> tuple[float, object]:
    """The best of ``repeat`` runs (seconds) and the last run's result."""
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()  # type: ignore[operator]
        best = min(best, time.perf_counter() - start)
    return best, out


def _plain(engine: Engine) -> dict[str, float]:
    t = engine.table("people")
    rows = engine.to_pyarrow(t.group_by("region").aggregate(n=t.count(), s=t.income.sum()))
    rng = np.random.default_rng()  # the anchor: plain noise, not a vetted sampler
    n = np.asarray(rows["n"]) + rng.laplace(0, 2 / 1.0, rows.num_rows)
    s = np.asarray(rows["s"], dtype=float) + rng.laplace(0, 2 * UPPER, rows.num_rows)
    return dict(zip(rows["region"].to_pylist(), s / np.maximum(n, 1), strict=True))


def _mae(estimates: dict[str, float], truth: dict[str, float]) -> float:
    return float(np.mean([abs(estimates[k] - v) for k, v in truth.items()]))


def _means(release: object) -> dict[str, float]:
    table = next(t for t in release.tables if t.name == "m").table  # type: ignore[attr-defined]
    return dict(zip(table["region"].to_pylist(), table["estimate"].to_pylist(), strict=True))


def _opendp(region: np.ndarray, income: np.ndarray) -> list[float]:
    scale = 1 / np.sqrt(RHO)  # each of the two measurements gets rho / 2
    count = dp.t.make_count_by_categories(
        dp.vector_domain(dp.atom_domain(T=str)), dp.symmetric_distance(), categories=list(CODES)
    ) >> dp.m.then_laplace(2 * scale)
    counts = count(region.tolist())
    summ = (
        dp.t.make_clamp(dp.vector_domain(dp.atom_domain(T=dp.i64)), dp.symmetric_distance(),
                        bounds=(0, UPPER))
        >> dp.t.then_sum()
        >> dp.m.then_laplace(2 * UPPER * scale)
    )  # fmt: skip
    order = np.argsort(region, kind="stable")
    edges = np.searchsorted(region[order], CODES)
    parts = np.split(income[order], edges[1:])
    return [summ(p.tolist()) / max(c, 1) for p, c in zip(parts, counts, strict=False)]


def main(sizes: list[int]) -> None:
    print(
        "| rows | plain DuckDB + noise | Ansim, rows are persons | ratio "
        "| Ansim, bounded per person | ratio | OpenDP pipeline | ratio |"
    )
    print("|---|---|---|---|---|---|---|---|")
    errors = []
    for n in sizes:
        rng = np.random.default_rng(1)
        region = CODES[rng.integers(0, 31, n)]
        income = rng.integers(0, UPPER, n)
        truth = _truth(region, income)
        with Engine(memory_limit="3GB") as engine:
            engine.create_table("people", pa.table({
                "person_id": np.arange(n), "region": pa.array(region), "income": income,
            }))  # fmt: skip
            _plain(engine)  # warm-up
            plain, plain_means = _timed(lambda: _plain(engine), REPEAT)
            rows, rows_release = _timed(
                lambda: run_release(
                    _spec(None), OneOffBudget(RHO), engine, lambda: engine.table("people")
                ),
                REPEAT,
            )  # type: ignore[arg-type]
            bounded, bounded_release = _timed(
                lambda: run_release(
                    _spec("person_id"), OneOffBudget(RHO), engine, lambda: engine.table("people")
                )
            )  # type: ignore[arg-type]
        anchor = float("nan")
        if n <= OPENDP_MAX_ROWS:
            anchor, _ = _timed(lambda r=region, i=income: _opendp(r, i))
        errors.append(
            (
                n,
                _mae(plain_means, truth),
                _mae(_means(rows_release), truth),
                _mae(_means(bounded_release), truth),
            )
        )  # type: ignore[arg-type]
        print(
            f"| {n:,} | {plain:.2f} s | {rows:.2f} s | {rows / plain:.1f}× | {bounded:.2f} s | "
            f"{bounded / plain:.1f}× | {anchor:.2f} s | {anchor / plain:.1f}× |"
        )

    for n, plain_mae, rows_mae, bounded_mae in errors:
        print(
            f"MAE of the mean income per region at {n:,} rows: plain noisy sum/count "
            f"{plain_mae:.1f}, Ansim rows are persons {rows_mae:.1f}, bounded {bounded_mae:.1f}"
        )


def _truth(region: np.ndarray, income: np.ndarray) -> dict[str, float]:
    keys, inverse = np.unique(region, return_inverse=True)
    sums = np.bincount(inverse, weights=income.astype(float))
    counts = np.bincount(inverse)
    return {str(k): float(s / c) for k, s, c in zip(keys, sums, counts, strict=True)}


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1_000_000])
