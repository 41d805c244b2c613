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
``--fresh`` the audit at release starts from nothing (in this process, what is kept cleared).
With ``--new-process`` the audit at release also runs in a new Python process against the
ledger folder on disk, twice: with the ledger's kept witnesses file (``witnesses.json``, as the
last vetting audit left it) and without it (from nothing); each reports the time to read the
ledger and the audit's time (wall and CPU), and must decide as the in-process audit or the run
stops. ``--home DIR`` keeps the ledger folder there (default: a temporary one).
Prints a Markdown table; figures go to docs/benchmarks.md by hand, with the command.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from ledger import _persons, _tables  # the same tables as bench/ledger.py

from ansim.release import LedgerAudit, ProjectLedger, ReleasedCells, _ledger, withhold_exposing

THRESHOLD = 10


def _vetted(ledger: ProjectLedger, table: ReleasedCells) -> ReleasedCells:
    groups = {name: {name: members} for name, members in table.cells.items()}
    withheld = withhold_exposing(ledger, groups, THRESHOLD)
    cells = {n: m for n, m in table.cells.items() if n not in withheld}
    return ReleasedCells(table.release, cells, THRESHOLD)


def _verdict(exposed: list[frozenset[str]]) -> str:
    """A digest of the exposed groups (to compare two audits without printing ids)."""
    return hashlib.sha256(json.dumps(sorted(sorted(m) for m in exposed)).encode()).hexdigest()


def _audit_only(args: argparse.Namespace) -> None:
    """Audit the candidate after ``--audit-only`` tables against the folder, print JSON."""
    rng = np.random.default_rng(args.seed)
    persons = _persons(args.persons, rng)
    candidate = _tables(persons, max(args.tables) + 1, rng, args.filtered)[args.audit_only]
    ledger = ProjectLedger(args.home)
    start, cpu = time.perf_counter(), time.process_time()
    ledger.released()
    read, read_cpu = time.perf_counter() - start, time.process_time() - cpu
    start, cpu = time.perf_counter(), time.process_time()
    audit = ledger.audit([candidate])
    took, took_cpu = time.perf_counter() - start, time.process_time() - cpu
    print(json.dumps({
        "read": read, "read_cpu": read_cpu, "audit": took, "audit_cpu": took_cpu,
        "programs": audit.programs, "verdict": _verdict([e.members for e in audit.exposed]),
    }))  # fmt: skip


def _new_process(args: argparse.Namespace, home: Path, count: int, keep: bool) -> dict[str, float]:
    """Run :func:`_audit_only` in a new process, with or without the witnesses file."""
    kept = home / "releases" / "witnesses.json"
    saved = home / "witnesses.saved"
    if kept.exists():
        shutil.copy2(kept, saved)
        if not keep:
            kept.unlink()
    command = [sys.executable, __file__, "--audit-only", str(count), "--home", str(home),
               "--persons", str(args.persons), "--seed", str(args.seed),
               "--filtered", str(args.filtered), "--tables", *map(str, args.tables)]  # fmt: skip
    try:
        out = subprocess.run(  # noqa: S603 - this script, arguments of our own
            command, check=True, capture_output=True, text=True
        ).stdout
    finally:
        if saved.exists():  # the next step starts from the file as the vetting left it
            shutil.move(saved, kept)
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


def _fresh(ledger: ProjectLedger, home: Path, candidate: ReleasedCells, audit: LedgerAudit) -> str:
    """The audit at release again in this process with nothing kept (nor the file)."""
    kept = dict(_ledger._NUMBERINGS)
    _ledger._NUMBERINGS.clear()
    stored = home / "releases" / "witnesses.json"
    hidden = home / "witnesses.hidden"
    if stored.exists():  # from nothing: not from the file either
        stored.rename(hidden)
    start = time.perf_counter()
    again = ledger.audit([candidate])
    fresh = f"{time.perf_counter() - start:.2f} ({again.programs} programs)"
    if hidden.exists():
        hidden.replace(stored)
    if {e.members for e in again.exposed} != {e.members for e in audit.exposed}:
        raise SystemExit("error: the fresh audit decided otherwise than the kept one")
    _ledger._NUMBERINGS.clear()
    _ledger._NUMBERINGS.update(kept)
    return fresh


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--persons", type=int, default=20_000)
    parser.add_argument("--tables", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--filtered", type=float, default=0.7)
    parser.add_argument(
        "--fresh", action="store_true", help="also time the audit at release with nothing kept"
    )
    parser.add_argument(
        "--new-process", action="store_true",
        help="also time the audit at release in a new process, with and without the file",
    )  # fmt: skip
    parser.add_argument("--home", type=Path, help="keep the ledger folder here")
    parser.add_argument("--audit-only", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.audit_only is not None:
        _audit_only(args)
        return
    rng = np.random.default_rng(args.seed)
    persons = _persons(args.persons, rng)
    candidates = _tables(persons, max(args.tables) + 1, rng, args.filtered)
    print(
        "| released tables | published cells | withheld by vetting | distinct cells | atoms | "
        "small atoms | programs | exposed | vetting all (s) | vetting CPU (s) | "
        "audit at release (s) | audit CPU (s) | fresh audit (s) | "
        "new process, file: read + audit (s) | CPU (s) | "
        "new process, no file: read + audit (s) | CPU (s) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as temporary:
        home = args.home or Path(temporary)
        ledger = ProjectLedger(home)
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
            runs: list[str] = []
            verdicts: set[str] = set()
            for keep in (True, False) if args.new_process else ():
                run = _new_process(args, home, count, keep)
                runs.append(
                    f"{run['read']:.2f} + {run['audit']:.2f} ({run['programs']} programs) | "
                    f"{run['read_cpu']:.2f} + {run['audit_cpu']:.2f}"
                )
                verdicts.add(str(run["verdict"]))
            start, cpu = time.perf_counter(), time.process_time()
            audit = ledger.audit([candidates[count]])  # what a release runs: all + the new one
            took, took_cpu = time.perf_counter() - start, time.process_time() - cpu
            fresh = _fresh(ledger, home, candidates[count], audit) if args.fresh else "–"
            if runs and verdicts != {_verdict([e.members for e in audit.exposed])}:
                raise SystemExit("error: a new process decided otherwise than the kept audit")
            published = sum(len(t.cells) for t in ledger.released())
            print(
                f"| {count:,} | {published:,} | {withheld:,} | {audit.cells:,} | "
                f"{audit.atoms:,} | {audit.small:,} | {audit.programs:,} | "
                f"{len(audit.exposed):,} | {vetting:.1f} | {vetting_cpu:.1f} | {took:.2f} | "
                f"{took_cpu:.2f} | {fresh} | {' | '.join(runs) or '– | – | – | –'} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
