"""Release-ledger benchmark, the release service's normal case: every table vetted on release.

Run: ``.venv/bin/python bench/ledger_vetted.py`` (``--persons``, ``--tables``, ``--seed``).

The tables of ``bench/ledger.py`` (crosstabs of one or two of four attributes, 70 % over one
category of another attribute, cells under 10 withheld), but each one, before it joins the
ledger, is secondary-suppressed against everything released so far with
:func:`ansim.release.withhold_exposing` (each cell its own group), as the demo's public tables
are: so every released table passed the audit, and the ledger holds no exposure. Reported: the
time to build the ledger that way (all vetting audits), and the one audit the release service
runs at each release (everything released plus a new table) at 100 and 1,000 released tables,
each as wall-clock and as this process's CPU time (the machine is shared: under load the wall
time grows, the CPU time much less). The audits keep what earlier ones found (the numbering and
verified witnesses, :mod:`ansim.release._kept`), as a project's audits in one process do; with
``--fresh`` the audit at release starts from nothing (a new process's first audit).
Prints a Markdown table; figures go to docs/benchmarks.md by hand, with the command.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from ledger import _persons, _tables  # the same tables as bench/ledger.py

from ansim.release import ProjectLedger, ReleasedCells, _ledger, withhold_exposing

THRESHOLD = 10


def _vetted(ledger: ProjectLedger, table: ReleasedCells) -> ReleasedCells:
    groups = {name: {name: members} for name, members in table.cells.items()}
    withheld = withhold_exposing(ledger, groups, THRESHOLD)
    cells = {n: m for n, m in table.cells.items() if n not in withheld}
    return ReleasedCells(table.release, cells, THRESHOLD)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--persons", type=int, default=20_000)
    parser.add_argument("--tables", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--filtered", type=float, default=0.7)
    parser.add_argument(
        "--fresh", action="store_true", help="also time the audit at release with nothing kept"
    )
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    persons = _persons(args.persons, rng)
    candidates = _tables(persons, max(args.tables) + 1, rng, args.filtered)
    print(
        "| released tables | published cells | withheld by vetting | distinct cells | atoms | "
        "small atoms | programs | exposed | vetting all (s) | vetting CPU (s) | "
        "audit at release (s) | audit CPU (s) | fresh audit (s) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as home:
        ledger = ProjectLedger(Path(home))
        built, withheld, vetting, vetting_cpu = 0, 0, 0.0, 0.0
        for count in sorted(args.tables):
            while built < count:
                start, cpu = time.perf_counter(), time.process_time()
                table = _vetted(ledger, candidates[built])
                vetting += time.perf_counter() - start
                vetting_cpu += time.process_time() - cpu
                withheld += len(candidates[built].cells) - len(table.cells)
                ledger.record([table])
                built += 1
            start, cpu = time.perf_counter(), time.process_time()
            audit = ledger.audit([candidates[count]])  # what a release runs: all + the new one
            took, took_cpu = time.perf_counter() - start, time.process_time() - cpu
            fresh = "–"
            if args.fresh:
                kept = dict(_ledger._NUMBERINGS)
                _ledger._NUMBERINGS.clear()
                start = time.perf_counter()
                again = ledger.audit([candidates[count]])
                fresh = f"{time.perf_counter() - start:.2f} ({again.programs} programs)"
                if {e.members for e in again.exposed} != {e.members for e in audit.exposed}:
                    raise SystemExit("error: the fresh audit decided otherwise than the kept one")
                _ledger._NUMBERINGS.clear()
                _ledger._NUMBERINGS.update(kept)
            published = sum(len(t.cells) for t in ledger.released())
            print(
                f"| {count:,} | {published:,} | {withheld:,} | {audit.cells:,} | "
                f"{audit.atoms:,} | {audit.small:,} | {audit.programs:,} | "
                f"{len(audit.exposed):,} | {vetting:.1f} | {vetting_cpu:.1f} | {took:.2f} | "
                f"{took_cpu:.2f} | {fresh} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
