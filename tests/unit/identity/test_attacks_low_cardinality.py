import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from ansim.demo._people import build_population
from ansim.identity import DEFAULT_ENCODING_SPEC, FieldEncoding, standardise_name

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
    results = run_attacks(encode_targets(*people), public_knowledge(4000, 99))
    assert _share(results, "bf_sex") == 1.0  # today's encoding: every record's sex is known
    assert _share(results, "bf_name") < 0.01
    assert _share(results, "bf_birth_date") < 0.01


def test_sex_only_inside_the_clk_cannot_be_labelled(people) -> None:
    fields = tuple(
        FieldEncoding("sex", q=1, bits=0, clk_weight=8) if f.field == "sex" else f
        for f in DEFAULT_ENCODING_SPEC.fields
    )
    spec = replace(DEFAULT_ENCODING_SPEC, fields=fields)
    results = run_attacks(encode_targets(*people, spec=spec), public_knowledge(4000, 99))
    assert not [r for r in results if r.target == "sex"]
    assert _share(results, "clk") < 0.01
