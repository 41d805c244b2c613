"""Run the privacy attacks on the demo world's KOSTAT register as the linkage unit sees it.

    PYTHONPATH=src .venv/bin/python bench/privacy_attacks/run.py --people 100000

Generates the demo world (seed 2026), ingests and standardises ``kostat_register`` as the
custodian does, encodes it with the default encoding spec under a fresh secret, builds the
attacker's public lists and prints each attack's recovered records and share as a Markdown
table. The lists are the shipped published ones (``public_lists/``, see its SOURCES.md);
``--generator-lists`` gives instead the stronger attacker who knows the demo generator's own
distributions (an independent sample, seed 99). Besides the frequency and low-cardinality
attacks it runs the surname pattern-mining attack and the graph-matching attack on ``bf_name``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).parent))
from attacks import encode_targets, public_knowledge, run_attacks
from graph_matching import graph_attack, name_grams
from pattern_mining import surname_attack, surname_recovered
from public_lists import published_knowledge, surname_shares

from ansim.demo import generate_world
from ansim.identity import standardise_columns
from ansim.ingest import ingest_file
from ansim.schema import DatasetSpec, IdentifierKind

SPECS = Path(__file__).resolve().parents[2] / "src" / "ansim" / "demo" / "specs"


def main() -> None:
    """Parse arguments, attack, print."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--public-people", type=int, default=200_000)
    parser.add_argument("--generator-lists", action="store_true")
    parser.add_argument("--graph-sample", type=int, default=1000)
    args = parser.parse_args()
    spec = DatasetSpec.from_yaml(SPECS / "kostat_register.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        world = generate_world(args.people, 2026, Path(tmp) / "world")
        ingested = ingest_file(spec, world.datasets["kostat_register"], Path(tmp) / "ingest")
        records = pq.read_table(ingested.directory / "records.parquet")
    values, _ = standardise_columns(spec, records)
    targets = encode_targets(
        values[IdentifierKind.KOREAN_NAME].to_pylist(),
        values[IdentifierKind.BIRTH_DATE].to_pylist(),
        values[IdentifierKind.SEX].to_pylist(),
    )
    lists = public_knowledge if args.generator_lists else published_knowledge
    public = lists(args.public_people, 99)
    print(f"records attacked: {records.num_rows}")
    print("| attack | column | recovered | records | share |")
    print("|---|---|---|---|---|")
    for r in run_attacks(targets, public):
        where = f"{r.column} → {r.target}"
        print(f"| {r.attack} | {where} | {r.recovered} | {r.records} | {r.share:.4f} |")
    names = targets.name
    n = len(names)
    prior = max(Counter(x[0] for x in names if x).values()) / n
    guess = surname_attack(targets.columns["bf_name"], surname_shares(), hashes=40)
    share = surname_recovered(guess, names, surname_shares())
    print(f"| pattern mining | bf_name → surname (prior {prior:.4f}) | {round(share * n)} | {n} "
          f"| {share:.4f} |")  # fmt: skip
    plain = [x or "" for x in names]
    graph = graph_attack(
        targets.columns["bf_name"], plain, lambda i: name_grams(plain[i]), sample=args.graph_sample
    )
    print(f"| graph matching, overlap 1 | bf_name → full name (sample) | {graph.recovered} "
          f"| {graph.records} | {graph.share:.4f} |")  # fmt: skip


if __name__ == "__main__":
    main()
