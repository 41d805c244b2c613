"""Does salting by birth year stop the surname pattern miner? (name + birth date, balanced.)

    PYTHONPATH=src .venv/bin/python bench/privacy_attacks/salting.py --people 10000

Encodes the names and birth dates of a demo population (seed 5) with a name + birth-date spec,
unsalted and salted with the birth year, under a fixed key, and runs the surname pattern-mining
attack on ``bf_name`` and on the CLK; prints the recovered share beside the prior (김's share).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from pattern_mining import surname_attack, surname_recovered
from public_lists import surname_shares

from ansim.demo._people import build_population
from ansim.identity import (
    LEGACY_FIELD_LEVEL_SPEC,
    Alphabet,
    FieldEncoding,
    LinkageSecret,
    encode_bloom,
    standardise_name,
)
from ansim.schema import IdentifierKind


def main() -> None:
    """Parse arguments, encode twice, attack, print."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=10_000)
    args = parser.parse_args()
    pop = build_population(np.random.default_rng(5), args.people)
    names = [standardise_name(x) or "" for x in pop.name.to_pylist()]
    births = [str(d) for d in pop.birth.astype("datetime64[D]")]
    prior = Counter(x[0] for x in names if x).most_common(1)[0][1] / len(names)
    fields = (
        FieldEncoding("name", q=2, alphabet=Alphabet.JAMO, hashes=40, clk_weight=20),
        FieldEncoding("birth_date", q=2, hashes=36, clk_weight=12),
    )
    print(f"prior {prior:.4f}")
    for salt in (None, "birth_year"):
        spec = replace(LEGACY_FIELD_LEVEL_SPEC, fields=fields, salt=salt)
        values = {IdentifierKind.KOREAN_NAME: names, IdentifierKind.BIRTH_DATE: births}
        cols = encode_bloom(spec, values, LinkageSecret(bytes(range(32))))
        for column, hashes in (("bf_name", 40), ("clk", 20)):
            guess = surname_attack(cols[column], surname_shares(), hashes=hashes)
            share = surname_recovered(guess, names, surname_shares())
            print(f"salt {salt}: {column} surnames {share:.4f}")


if __name__ == "__main__":
    main()
