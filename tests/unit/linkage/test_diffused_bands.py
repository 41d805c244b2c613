"""Dice bands for diffused filters: the balanced bands mapped through the diffusion layer."""

import itertools
import json

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from ansim.identity import HARDENED_ENCODING_SPEC
from ansim.linkage import FieldComparison
from ansim.linkage._comparison import (
    DEFAULT_DICE_BANDS,
    DIFFUSED_NOISE,
    EncodedRecords,
    diffused_bands,
    diffusion_taps,
)
from ansim.linkage._encoded import fitted_to_field


@given(st.integers(1, 16))
def test_bands_start_exact_decrease_and_stay_above_noise(taps: int) -> None:
    bands = diffused_bands(DEFAULT_DICE_BANDS, taps)
    assert bands[0] == 1.0
    assert all(a > b + 0.01 - 1e-9 for a, b in itertools.pairwise(bands))
    assert all(b >= DIFFUSED_NOISE for b in bands[1:])
    FieldComparison("bf_name", bands)  # a valid comparison


def test_one_tap_keeps_the_bands_and_more_taps_lower_them() -> None:
    assert diffused_bands(DEFAULT_DICE_BANDS, 1) == DEFAULT_DICE_BANDS
    four = diffused_bands(DEFAULT_DICE_BANDS, 4)
    assert four[1] < 0.95
    assert len(diffused_bands(DEFAULT_DICE_BANDS, 10)) < len(four)


def test_bands_match_the_dice_of_diffused_random_filters() -> None:
    # balanced filters differing in a share 1 - d of their bits, then XOR-ed in 4 taps
    rng = np.random.default_rng(0)
    bits, taps, d = 4096, 4, 0.9
    a = rng.random(bits) < 0.5
    b = a ^ (rng.random(bits) < 1 - d)
    tap = rng.integers(0, bits, (bits, taps))
    da, db = np.logical_xor.reduce(a[tap], axis=1), np.logical_xor.reduce(b[tap], axis=1)
    dice = 2 * (da & db).sum() / (da.sum() + db.sum())
    assert abs(dice - diffused_bands((1.0, d), taps)[1]) < 0.02


def test_taps_come_from_the_specs_all_parts_agree_on() -> None:
    spec = HARDENED_ENCODING_SPEC.to_json()
    taps = diffusion_taps([spec, spec])
    assert taps == {
        "bf_name": 6,
        "bf_birth_date": 6,
        "bf_phone": 6,
        "bf_rrn": 6,
        "bf_address": 4,
        "clk": 8,
    }
    other = json.loads(spec)
    other["fields"][0]["taps"] = 3
    assert "bf_name" not in diffusion_taps([spec, json.dumps(other)])
    assert diffusion_taps([spec, None]) == {}
    plain = json.dumps({"hardening": "balance", "fields": [{"field": "name"}]})
    assert diffusion_taps([plain, plain]) == {}


def test_default_comparisons_of_diffused_filters_get_the_mapped_bands() -> None:
    records = EncodedRecords(
        source=np.zeros(20, np.int64),
        codes={"bf_name": np.arange(20, dtype=np.int64)},
        filters={},
        popcounts={},
        taps={"bf_name": 4},
    )
    fitted = fitted_to_field(FieldComparison("bf_name"), records)
    assert fitted.bands == diffused_bands(DEFAULT_DICE_BANDS, 4)
    given_bands = FieldComparison("bf_name", (1.0, 0.9))
    assert fitted_to_field(given_bands, records) == given_bands  # explicit bands stay
    plain = EncodedRecords(records.source, records.codes, {}, {})
    assert fitted_to_field(FieldComparison("bf_name"), plain).bands == DEFAULT_DICE_BANDS
