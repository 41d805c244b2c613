"""Inference from low-cardinality encodings and the hub's by-sex feedback.

The attack code is the bench's (bench/privacy_attacks/attacks.py): a two-valued column splits the
records in two, and the hub's per-sex record counts name the halves. The old field-level spec's
``bf_sex`` is labelled for every record (the attack is real); the default encoding keeps sex only
inside the CLK, so nothing is left to label (the prepared parts are checked in
``test_attack_hardened_quality.py``).
"""

import sys
from pathlib import Path

import numpy as np
import pytest

from ansim.demo._people import build_population
from ansim.identity import LEGACY_FIELD_LEVEL_SPEC, standardise_name

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench" / "privacy_attacks"))
from attacks import encode_targets, public_knowledge, run_attacks


@pytest.fixture(scope="module")
def people() -> tuple[list[str | None], list[str | None], list[str | None]]:
    pop = build_population(np.random.default_rng(5), 3000)
    names = [standardise_name(n) for n in pop.name.to_pylist()]
    births = [str(d) for d in pop.birth.astype("datetime64[D]")]
    return names, births, ["M" if s == 0 else "F" for s in pop.sex.tolist()]


def _share(results: list, column: str) -> float:
    return next(r.share for r in results if r.column == column)


def test_field_level_sex_filter_is_labelled_by_hub_feedback(people) -> None:
    targets = encode_targets(*people, spec=LEGACY_FIELD_LEVEL_SPEC)
    results = run_attacks(targets, public_knowledge(4000, 99))
    assert _share(results, "bf_sex") == 1.0  # every record's sex is known
    assert _share(results, "bf_name") < 0.01
    assert _share(results, "bf_birth_date") < 0.01


def test_default_encoding_leaves_no_column_to_label(people) -> None:
    results = run_attacks(encode_targets(*people), public_knowledge(4000, 99))  # the default
    assert not [r for r in results if r.target == "sex"]  # no two-valued column
    assert {r.column for r in results} == {"bf_name", "bf_birth_date", "clk"}
    for column in ("bf_name", "bf_birth_date", "clk"):  # frequency alignment: full values
        assert _share(results, column) < 0.01
