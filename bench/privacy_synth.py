"""DP synthetic microdata: MST and AIM (OpenDP measurements, mbi estimation) on ROWS x 8 columns.

Usage: PYTHONPATH=src .venv/bin/python bench/privacy_synth.py [ROWS] [EPSILON] [DATA]
(default 100000 1.0 both; DATA is tree, loopy or both)

The data: 8 categorical columns (31 si/gun, sex, 10 age bands, 8 income bands, 3 insurance
kinds, 5 diagnoses, 6 visit counts, smoker), one row per person, from one of two generators:
``tree`` (each column depends on one other: the structure MST fits) and ``loopy`` (columns
depend on pairs of others, so the 3-way marginals carry structure no tree holds). Each
mechanism runs on the same rows in a fresh process of its own (so each pays JAX's first
compilations; importing JAX and mbi is not timed): MST and AIM at their default
mirror-descent iterations (1,000 and 300; ``aim-N`` runs AIM at N). Reported per run: wall
time of the whole synthesis (plan, pay, bound and encode in DuckDB, measure, fit, sample) and
its CPU time (all threads: less sensitive to a loaded machine);
average and worst TVD of the 1-, 2- and 3-way marginals; the same for independent columns
drawn from OpenDP-noised 1-way marginals at the same rho (a baseline) and for a fresh sample
of the generator (the sampling floor).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

import numpy as np
import pyarrow as pa

from ansim.engine import Engine
from ansim.privacy import (
    Mechanism,
    OneOffBudget,
    SynthesisSpec,
    calibrate,
    encode_rows,
    parse_synthesis_spec,
    run_synthesis,
    utility_report,
)
from ansim.privacy._synth_mst import load_mbi
from ansim.regions import GYEONGGI_SIGUNGU

REGIONS = sorted(GYEONGGI_SIGUNGU)
LOW_INCOME = 2  # income bands below it: medical aid
VETERANS = 0.1  # share of the others insured as veterans
OLD = 6  # age band from which men are often veterans (loopy data)


def _people(n: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    weights = np.random.default_rng(0).dirichlet(np.ones(len(REGIONS)))  # same in every sample
    region = rng.choice(len(REGIONS), n, p=weights)
    sex = rng.integers(0, 2, n)
    age = np.clip(rng.normal(4.5 + (region % 3) * 0.5, 2.2, n).round(), 0, 9).astype(int)
    income = np.clip((age * 0.7 + rng.normal(0, 1.5, n)).round(), 0, 7).astype(int)
    insurance = np.where(income < LOW_INCOME, 1, np.where(rng.random(n) < VETERANS, 2, 0))
    diagnosis = np.clip((age / 2 + rng.normal(0, 1, n)).round(), 0, 4).astype(int)
    visits = np.clip(diagnosis + rng.poisson(0.7, n), 0, 5)
    smoker = (rng.random(n) < np.where(sex == 0, 0.35, 0.08)).astype(int)
    return {
        "region": np.array(REGIONS)[region], "sex": np.array(["M", "F"])[sex],
        "age": age * 10, "income": income, "insurance": np.array(["nhis", "aid", "vet"])[insurance],
        "diagnosis": np.array(list("ABCDE"))[diagnosis], "visits": visits,
        "smoker": np.array(["no", "yes"])[smoker],
    }  # fmt: skip


SPEC = {
    "name": "bench_synth", "person": None, "seed": 1,
    "columns": {
        "region": "sigungu", "sex": ["M", "F"],
        "age": {"edges": [0, 10, 20, 30, 40, 50, 60, 70, 80, 90]},
        "income": {"edges": [0, 1, 2, 3, 4, 5, 6, 7]}, "insurance": ["nhis", "aid", "vet"],
        "diagnosis": list("ABCDE"), "visits": {"edges": [0, 1, 2, 3, 4, 5]},
        "smoker": ["no", "yes"],
    },
}  # fmt: skip


def _loopy(n: int, seed: int) -> dict[str, np.ndarray]:
    """Columns that depend on two others each: 3-way structure a spanning tree cannot hold."""
    rng = np.random.default_rng(seed)
    weights = np.random.default_rng(0).dirichlet(np.ones(len(REGIONS)))
    region = rng.choice(len(REGIONS), n, p=weights)
    sex = rng.integers(0, 2, n)
    age = np.clip(rng.normal(4.5, 2.4, n).round(), 0, 9).astype(int)
    income = np.clip((age * 0.6 + sex * 1.5 + rng.normal(0, 1.2, n)).round(), 0, 7).astype(int)
    poor_area = region % 4 == 0
    aid = (income < LOW_INCOME) | (poor_area & (income < 2 * LOW_INCOME))
    veteran = rng.random(n) < np.where((sex == 0) & (age >= OLD), 0.4, 0.03)
    insurance = np.where(aid, 1, np.where(veteran, 2, 0))
    smoker = (rng.random(n) < np.where(sex == 0, 0.1 + 0.05 * age, 0.05)).astype(int)
    diagnosis = np.clip((age / 3 + 1.5 * smoker + rng.normal(0, 0.8, n)).round(), 0, 4)
    visits = np.clip(
        diagnosis * (insurance != 1) + 2 * (insurance == 1) + rng.poisson(0.5, n), 0, 5
    )
    return {
        "region": np.array(REGIONS)[region], "sex": np.array(["M", "F"])[sex],
        "age": age * 10, "income": income, "insurance": np.array(["nhis", "aid", "vet"])[insurance],
        "diagnosis": np.array(list("ABCDE"))[diagnosis.astype(int)], "visits": visits,
        "smoker": np.array(["no", "yes"])[smoker],
    }  # fmt: skip


GENERATORS = {"tree": _people, "loopy": _loopy}


def _codes(engine: Engine, table: pa.Table, spec: SynthesisSpec) -> dict[str, np.ndarray]:
    coded = engine.to_pyarrow(encode_rows(engine.create_table("c", table), spec))
    return {c: coded[c].to_numpy().astype(np.int64) for c in coded.column_names}


def _independent(codes: dict[str, np.ndarray], spec: SynthesisSpec) -> dict[str, np.ndarray]:
    """Baseline at the same rho: every 1-way marginal noised by OpenDP, columns drawn alone."""
    sizes = spec.domain
    measure = calibrate(Mechanism.gaussian, len(sizes) ** 0.5, spec.rho, sum(sizes.values()))
    counts = np.concatenate([np.bincount(codes[c], minlength=sizes[c]) for c in sizes])
    noisy = np.clip(measure.release(counts), 0, None).astype(float)
    rng, out, start = np.random.default_rng(1), {}, 0
    n = len(next(iter(codes.values())))
    for c, size in sizes.items():
        p = noisy[start : start + size] + 1e-12
        out[c], start = rng.choice(size, n, p=p / p.sum()), start + size
    return out


def _one(rows: int, epsilon: float, data: str, method: str) -> None:
    """One mechanism on one data set, in this (fresh) process: prints its figures as JSON."""
    name, _, iterations = method.partition("-")  # "aim-1000": AIM with 1,000 iterations
    spec = parse_synthesis_spec({
        **SPEC, "epsilon": epsilon, "method": name,
        **({"iterations": int(iterations)} if iterations else {}),
    })  # fmt: skip
    real = pa.table(GENERATORS[data](rows, 1))
    with Engine() as engine:
        load_mbi()  # importing JAX and mbi is not timed (the same for both mechanisms)
        start, cpu = time.perf_counter(), time.process_time()
        release = run_synthesis(
            spec, OneOffBudget(spec.rho), engine, lambda: engine.create_table("rows", real)
        )
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(json.dumps({
        "wall": seconds, "cpu": cpu, "rows": release.table.num_rows, "rho": release.plan.rho,
        "utility": release.utility, "measured": release.metadata["marginals_measured"],
    }))  # fmt: skip


def _fresh(rows: int, epsilon: float, data: str, method: str) -> dict[str, Any]:
    """Run :func:`_one` in a new process, so each mechanism pays JAX's first compilations."""
    out = subprocess.run(  # noqa: S603 - this very script, with its own arguments
        [sys.executable, __file__, str(rows), str(epsilon), data, method],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main(rows: int, epsilon: float, data: str) -> None:
    spec = parse_synthesis_spec({**SPEC, "epsilon": epsilon})
    print(f"rows {rows:,} x {len(spec.columns)} columns, epsilon {epsilon} (rho {spec.rho:.5f})")
    for name in GENERATORS if data == "both" else [data]:
        runs = {m: _fresh(rows, epsilon, name, m) for m in ("mst", "aim")}
        generate = GENERATORS[name]
        real, fresh = pa.table(generate(rows, 1)), pa.table(generate(rows, 2))
        with Engine() as engine:
            real_codes = _codes(engine, real, spec)
            floor = utility_report(real_codes, _codes(engine, fresh, spec), spec.domain)
            alone = utility_report(real_codes, _independent(real_codes, spec), spec.domain)
        print(f"data {name}:")
        for method, run in runs.items():
            print(f"  {method.upper()}: {run['wall']:.1f} s wall, {run['cpu']:.1f} s CPU (all "
                  f"threads), {run['rows']:,} rows, rho {run['rho']:.5f}; "
                  f"{_tvd(run['utility'])}")  # fmt: skip
        print(f"  independent columns: {_tvd(alone)}")
        print(f"  fresh sample (floor): {_tvd(floor)}")


def _tvd(report: dict[str, Any]) -> str:
    """Average / worst TVD of the 1-, 2- and 3-way marginals."""
    return " | ".join(
        f"{k}-way {report[f'tvd_{k}way']['average']:.4f} / {report[f'tvd_{k}way']['worst']:.4f}"
        for k in (1, 2, 3)
    )


if __name__ == "__main__":
    args = sys.argv[1:]
    size = int(args[0]) if args else 100_000
    eps = float(args[1]) if len(args) > 1 else 1.0
    which = args[2] if len(args) > 2 else "both"  # noqa: PLR2004
    if len(args) > 3:  # noqa: PLR2004 - the child process of _fresh
        _one(size, eps, which, args[3])
    else:
        main(size, eps, which)
