"""Benchmark ``ansim disclose microdata`` against ARX 3.9.2's figures on the Adult data.

Usage: ``.venv/bin/python bench/disclosure/run.py [--records 10000000] [--skip-big]``
(``--tables`` for part 3 only)

Part 1 runs the 8 configurations of issue 6 as separate processes (cold start to written
result, like ARX's cold-start figure of 4–12 s quoted in the issue) and checks each optimum
against ARX's. Part 2 samples the Adult records with replacement up to ``--records`` and runs
the 6-QI configuration on them (the issue's limit: 60 s for 10 million records). Part 3
(``--tables``) protects a random 3-way table with both secondary-suppression methods.
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

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / ".." / "shared" / "data" / "arx-benchmark"
ALL = "sex,age,race,marital-status,education,native-country,workclass,occupation,salary-class"
SIX = "age,education,marital-status,occupation,sex,native-country"
ARX = {
    (ALL, 5, 0.0): [0, 4, 1, 1, 3, 2, 2, 1, 0],
    (ALL, 5, 0.05): [0, 3, 0, 0, 2, 1, 1, 2, 0],
    (ALL, 10, 0.0): [0, 4, 1, 1, 3, 2, 2, 1, 0],
    (ALL, 10, 0.05): [0, 3, 0, 1, 2, 1, 1, 2, 0],
    (SIX, 5, 0.0): [4, 1, 2, 1, 0, 2],
    (SIX, 5, 0.05): [3, 1, 0, 1, 0, 1],
    (SIX, 10, 0.0): [4, 1, 2, 1, 0, 2],
    (SIX, 10, 0.05): [3, 2, 0, 1, 0, 1],
}


def _run(data: Path, qis: str, k: int, limit: float, out: Path) -> tuple[float, dict[str, object]]:
    started = time.perf_counter()
    subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [
            sys.executable, "-c", "from ansim.cli import main; main()",
            "disclose", "microdata", "--input", str(data), "--delimiter", ";",
            "--hierarchies", str(DATA), "--qi", qis, "--k", str(k),
            "--suppression-limit", str(limit), "--metric", "loss", "--out", str(out),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    wall = time.perf_counter() - started
    return wall, json.loads((out / "report.json").read_text())


def _tables() -> None:
    """Part 3: secondary suppression on a random 3-way table, heuristic vs optimal MILP."""
    from ansim.disclosure import (  # noqa: PLC0415 - only this part needs it
        SecondaryMethod,
        ThresholdRule,
        audit_suppression,
        primary_suppression,
        secondary_suppression,
        tabulate,
    )

    rng = np.random.default_rng(1)
    n = 400
    records = pa.table({
        "a": [str(x) for x in rng.integers(0, 6, n)],
        "b": [str(x) for x in rng.integers(0, 5, n)],
        "c": [str(x) for x in rng.integers(0, 3, n)],
    })  # fmt: skip
    cells = tabulate(records, ["a", "b", "c"])
    primary = primary_suppression(cells, [ThresholdRule(5)])
    print(f"\n{cells.cells} cells (6×5×3 with all margins), {int(primary.sensitive.sum())} "
          "sensitive (threshold 5):\n")  # fmt: skip
    print("| method | suppressed | secondary value | proven optimal | audit | seconds |")
    print("|---|---|---|---|---|---|")
    for method in SecondaryMethod:
        started = time.perf_counter()
        result = secondary_suppression(cells, primary, method)
        audit = audit_suppression(cells, result.suppressed, primary)
        print(
            f"| {method.value} | {int(result.suppressed.sum())} | {result.cost:g} | "
            f"{result.proven_optimal} | {'passed' if audit.passed else 'FAILED'} | "
            f"{time.perf_counter() - started:.1f} |"
        )


def main() -> None:
    """Run both parts and print Markdown tables."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--skip-big", action="store_true")
    parser.add_argument("--skip-arx", action="store_true")
    parser.add_argument("--tables", action="store_true", help="Only part 3 (tables).")
    args = parser.parse_args()
    if args.tables:
        _tables()
        return
    with tempfile.TemporaryDirectory() as tmp:
        print("| QIs | k | limit | levels | = ARX | loss | suppressed | nodes checked | wall_s |")
        print("|---|---|---|---|---|---|---|---|---|")
        for (qis, k, limit), expected in ({} if args.skip_arx else ARX).items():
            wall, report = _run(DATA / "adult.csv", qis, k, limit, Path(tmp) / "o")
            levels = [report["levels"][a] for a in qis.split(",")]  # type: ignore[index]
            same = "yes" if levels == expected else "NO"
            print(
                f"| {len(qis.split(','))} | {k} | {limit:.0%} | {levels} | {same} | "
                f"{report['loss']:.4f} | {report['suppressed']} | {report['nodes_checked']} | "
                f"{wall:.2f} |"
            )
        if args.skip_big:
            return
        table = pacsv.read_csv(
            DATA / "adult.csv",
            parse_options=pacsv.ParseOptions(delimiter=";"),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(ALL.split(","), pa.string())
            ),
        )
        rng = np.random.default_rng(6)
        rows = rng.integers(0, table.num_rows, args.records)
        sample = table.take(rows)
        # Resampled records repeat Adult's combinations; redraw age and country independently
        # for 10 % of them so that rare combinations (and suppression) occur as in real data.
        for name in ("age", "native-country"):
            column = sample.column(name).to_numpy(zero_copy_only=False).copy()
            redraw = rng.random(args.records) < 0.1  # noqa: PLR2004
            donors = table.column(name).to_numpy(zero_copy_only=False)
            column[redraw] = donors[rng.integers(0, table.num_rows, int(redraw.sum()))]
            sample = sample.set_column(
                sample.column_names.index(name), name, pa.array(column, type=pa.string())
            )
        big = Path(tmp) / "adult_big.csv"
        pacsv.write_csv(
            sample, big, write_options=pacsv.WriteOptions(delimiter=";",
                                                                     quoting_style="none")
        )  # fmt: skip
        print(f"\n{args.records:,} records ({big.stat().st_size / 1e6:.0f} MB CSV), 6 QIs:\n")
        print("| k | limit | levels | loss | suppressed | search_s | wall_s | peak_rss_gb |")
        print("|---|---|---|---|---|---|---|---|")
        for k, limit in ((5, 0.0), (5, 0.05)):
            wall, report = _run(big, SIX, k, limit, Path(tmp) / "big")
            peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1e6
            levels = [report["levels"][a] for a in SIX.split(",")]  # type: ignore[index]
            print(
                f"| {k} | {limit:.0%} | {levels} | {report['loss']:.4f} | "
                f"{report['suppressed']:,} | {report['search_seconds']} | {wall:.1f} | "
                f"{peak:.2f} |"
            )


if __name__ == "__main__":
    main()
