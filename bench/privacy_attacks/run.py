"""Run the privacy attacks on the demo world's KOSTAT register as the linkage unit sees it.

    PYTHONPATH=src .venv/bin/python bench/privacy_attacks/run.py --people 100000

Generates the demo world (seed 2026), ingests and standardises ``kostat_register`` as the
custodian does, encodes it with the default encoding spec under a fresh secret, builds the
attacker's public lists from an independent sample (seed 99, 200,000 people) and prints each
attack's recovered records and share as a Markdown table.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).parent))
from attacks import encode_targets, public_knowledge, run_attacks

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
    public = public_knowledge(args.public_people, 99)
    print(f"records attacked: {records.num_rows}")
    print("| attack | column | recovered | records | share |")
    print("|---|---|---|---|---|")
    for r in run_attacks(targets, public):
        where = f"{r.column} → {r.target}"
        print(f"| {r.attack} | {where} | {r.recovered} | {r.records} | {r.share:.4f} |")


if __name__ == "__main__":
    main()
