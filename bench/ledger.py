"""Release-ledger benchmark: the attacker-LP audit over 100 and 1,000 released tables.

Run: ``.venv/bin/python bench/ledger.py`` (``--persons``, ``--tables``, ``--seed``).

One synthetic project: persons with four categorical attributes (31 si/gun, 9 age bands, sex,
vaccinated). Each released table is a crosstab of one or two attributes, over everyone or
over one category of another attribute (a filter, for ``--filtered`` of them); cells under
the threshold (10) are withheld, as a checked output would be. The tables are not vetted one by
one as the service would (that would refuse most): the figures are for an audit that finds
many exposures, its slow case. The audit is the one the release service runs before each
release: every table released so far plus the new one.
Prints a Markdown table; figures go to docs/benchmarks.md by hand, with the command.
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np

from ansim.release import ReleasedCells, audit_ledger

ATTRIBUTES = {"region": 31, "age_band": 9, "sex": 2, "vaccinated": 2}
THRESHOLD = 10


def _persons(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    columns = {}
    for name, k in ATTRIBUTES.items():
        weights = rng.dirichlet(np.full(k, 2.0))  # uneven categories, as real ones are
        columns[name] = rng.choice(k, size=n, p=weights)
    return columns


def _tables(
    persons: dict[str, np.ndarray], count: int, rng: np.random.Generator, filtered: float
) -> list[ReleasedCells]:
    ids = np.array([f"p{i}" for i in range(len(next(iter(persons.values()))))])
    names = list(ATTRIBUTES)
    tables = []
    for t in range(count):
        dims = list(rng.choice(names, size=int(rng.integers(1, 3)), replace=False))
        rest = [n for n in names if n not in dims]
        keep = np.ones(len(ids), dtype=bool)
        label = ""
        if rng.random() < filtered:
            f = str(rng.choice(rest))
            value = int(rng.integers(ATTRIBUTES[f]))
            keep = persons[f] == value
            label = f"{f}={value} "
        cells = {}
        for combo in itertools.product(*(range(ATTRIBUTES[d]) for d in dims)):
            inside = keep.copy()
            for d, v in zip(dims, combo, strict=True):
                inside &= persons[d] == v
            size = int(inside.sum())
            if size >= THRESHOLD:  # withheld cells publish nothing
                cells[label + ",".join(f"{d}={v}" for d, v in zip(dims, combo, strict=True))] = (
                    frozenset(ids[inside].tolist())
                )
        tables.append(ReleasedCells(f"t{t:04d}", cells, THRESHOLD))
    return tables


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--persons", type=int, default=20_000)
    parser.add_argument("--tables", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--filtered", type=float, default=0.7, help="share of tables over a subpopulation"
    )
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    persons = _persons(args.persons, rng)
    released = _tables(persons, max(args.tables), rng, args.filtered)
    print(
        "| released tables | published cells | distinct cells | atoms | small atoms | "
        "programs | exposed | audit (s) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for count in args.tables:
        tables = released[:count]
        start = time.perf_counter()
        audit = audit_ledger(tables)
        took = time.perf_counter() - start
        published = sum(len(t.cells) for t in tables)
        print(
            f"| {count:,} | {published:,} | {audit.cells:,} | {audit.atoms:,} | "
            f"{audit.small:,} | {audit.programs:,} | {len(audit.exposed):,} | {took:.2f} |"
        )


if __name__ == "__main__":
    main()
