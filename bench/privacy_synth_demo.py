"""MST vs AIM on the demo's own DP synthetic extract (the linked cohort, 9 columns).

Usage: PYTHONPATH=src .venv/bin/python bench/privacy_synth_demo.py DEMO_DIR [RUNS]
(DEMO_DIR from ``ansim demo --out DEMO_DIR``; RUNS per mechanism, default 2)

Each run is a fresh process that opens the demo's hub store as its analyst and synthesises the
cohort with the demo's spec (``ansim.privacy.demo_synthesis_spec``) at the demo's ρ, paid from
a one-off budget (the demo project's ledger is not touched). Runs: MST (1,000 iterations) and
AIM (its default 300). Reported per run: wall and CPU time of the synthesis (importing
JAX and mbi not timed) and average / worst TVD of the 1-, 2- and 3-way marginals; then the same
TVDs for bootstrap resamples of the real rows (the sampling floor of an extract this size).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ansim.governance import Governance
from ansim.privacy import (
    OneOffBudget,
    SynthesisMethod,
    demo_synthesis_spec,
    run_synthesis,
    utility_report,
)
from ansim.privacy._synth import _read_codes
from ansim.privacy._synth_demo import _cohort
from ansim.privacy._synth_mst import load_mbi

ANALYST, PROJECT = "analyst.snu", "gyeonggi-covid-demo"
RUNS = ("mst", "aim")


def _tvd(report: dict[str, Any]) -> str:
    return " | ".join(
        f"{k}-way {report[f'tvd_{k}way']['average']:.4f} / {report[f'tvd_{k}way']['worst']:.4f}"
        for k in (1, 2, 3)
    )


def _one(demo: Path, run: str) -> None:
    """One mechanism in this (fresh) process: prints its figures as JSON."""
    name, _, iterations = run.partition("-")
    spec = replace(
        demo_synthesis_spec(method=SynthesisMethod(name)),
        iterations=int(iterations) if iterations else None,
    )
    gov = Governance(demo / "governance")
    with gov.open_hub_store(ANALYST, PROJECT, demo / "hub" / "hub.duckdb") as engine:
        load_mbi()
        start, cpu = time.perf_counter(), time.process_time()
        release = run_synthesis(spec, OneOffBudget(spec.rho), engine, lambda: _cohort(engine))
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    gov.close()
    print(json.dumps({"wall": seconds, "cpu": cpu, "rows": release.table.num_rows,
                      "utility": release.utility}))  # fmt: skip


def _floor(demo: Path, draws: int) -> list[dict[str, Any]]:
    spec = demo_synthesis_spec()
    gov = Governance(demo / "governance")
    with gov.open_hub_store(ANALYST, PROJECT, demo / "hub" / "hub.duckdb") as engine:
        real = _read_codes(engine, _cohort(engine), spec)
    gov.close()
    n, rng = len(next(iter(real.values()))), np.random.default_rng(7)
    reports = []
    for _ in range(draws):
        idx = rng.integers(0, n, n)
        reports.append(utility_report(real, {c: v[idx] for c, v in real.items()}, spec.domain))
    return reports


def main(demo: Path, runs: int) -> None:
    print(f"the demo's extract from {demo}, rho {demo_synthesis_spec().rho}")
    for run in RUNS:
        for _ in range(runs):
            out = subprocess.run(  # noqa: S603 - this very script, with its own arguments
                [sys.executable, __file__, str(demo), "1", run],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"  {run.upper()}: {r['wall']:.1f} s wall, {r['cpu']:.1f} s CPU, "
                  f"{r['rows']:,} rows; {_tvd(r['utility'])}")  # fmt: skip
    for report in _floor(demo, 3):
        print(f"  bootstrap resample of the real rows: {_tvd(report)}")


if __name__ == "__main__":
    args = sys.argv[1:]
    if not args:
        sys.exit(__doc__)
    if len(args) > 2:  # noqa: PLR2004 - the child process of main
        _one(Path(args[0]), args[2])
    else:
        main(Path(args[0]), int(args[1]) if len(args) > 1 else 2)
