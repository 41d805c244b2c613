"""The attacker's public knowledge, built from the published lists in ``public_lists/``.

See ``public_lists/SOURCES.md`` for where each list comes from. Nothing here reads the demo
world or any attacked file: the attacker samples a public population from the published
distributions (full name = surname × first syllable × second syllable, independent; birth year
by the 2020 population pyramid, day uniform within the year; sex 50/50).
"""

from __future__ import annotations

import csv
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import numpy as np
from attacks import PublicKnowledge, record_key

LISTS = Path(__file__).resolve().parent / "public_lists"
REFERENCE_YEAR = 2020

__all__ = [
    "LISTS",
    "birth_year_shares",
    "given_syllable_shares",
    "published_knowledge",
    "sigungu_shares",
    "surname_shares",
]


def _rows(name: str) -> list[dict[str, str]]:
    with (LISTS / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _normalised(pairs: list[tuple[str, float]]) -> dict[str, float]:
    total = sum(v for _, v in pairs)
    return {k: v / total for k, v in pairs}


def surname_shares() -> dict[str, float]:
    """Share of each surname among the listed surnames (2015 census)."""
    return _normalised([(r["surname"], float(r["population"])) for r in _rows("surnames_2015.csv")])


def given_syllable_shares() -> tuple[dict[str, float], dict[str, float]]:
    """Shares of given-name syllables in first and in second position."""
    rows = _rows("given_syllables.csv")
    first = _normalised([(r["syllable"], float(r["first_percent"])) for r in rows])
    second = _normalised([(r["syllable"], float(r["second_percent"])) for r in rows])
    return first, second


def birth_year_shares() -> dict[int, float]:
    """Share of each birth year (2020 pyramid, each 5-year band spread evenly over its years)."""
    pairs: list[tuple[str, float]] = []
    for r in _rows("birth_cohorts_2020.csv"):
        low, high = int(r["age_from"]), int(r["age_to"])
        per_year = float(r["population"]) / (high - low + 1)
        pairs += [(str(REFERENCE_YEAR - age), per_year) for age in range(low, high + 1)]
    return {int(k): v for k, v in _normalised(pairs).items()}


def sigungu_shares() -> dict[str, float]:
    """Share of Gyeonggi's residents living in each si/gun (MOIS code → share)."""
    rows = _rows("sigungu_gyeonggi_2020.csv")
    return _normalised([(r["code"], float(r["population_thousands_approx"])) for r in rows])


def _draw(rng: np.random.Generator, shares: dict[str, float], size: int) -> list[str]:
    keys = list(shares)
    picks = rng.choice(len(keys), size=size, p=np.array([shares[k] for k in keys]))
    return [keys[i] for i in picks]


def published_knowledge(people: int, seed: int) -> PublicKnowledge:
    """A public population sampled from the published lists, as the attacker's frequency lists.

    Example:
        >>> k = published_knowledge(5000, 1)
        >>> [s for s, _ in k.surname.most_common(3)]
        ['김', '이', '박']
    """
    rng = np.random.default_rng(seed)
    first, second = given_syllable_shares()
    names = [
        s + a + b
        for s, a, b in zip(
            _draw(rng, surname_shares(), people),
            _draw(rng, first, people),
            _draw(rng, second, people),
            strict=True,
        )
    ]
    years = _draw(rng, {str(y): p for y, p in birth_year_shares().items()}, people)
    births = []
    for year, day in zip(years, rng.integers(0, 365, people).tolist(), strict=True):
        births.append((date(int(year), 1, 1) + timedelta(days=day)).isoformat())
    sexes = ["M" if s else "F" for s in (rng.random(people) < 0.5).tolist()]  # noqa: PLR2004
    return PublicKnowledge(
        full_name=Counter(names),
        surname=Counter(n[0] for n in names),
        birth_date=Counter(births),
        sex=Counter(sexes),
        record=Counter(record_key(*r) for r in zip(names, births, sexes, strict=True)),
    )
