"""Per-field diffusion taps: validated, written only when set, and they change the stored filter."""

from dataclasses import replace

import numpy as np
import pytest

from ansim.errors import InvalidSpecError
from ansim.identity import (
    DEFAULT_ENCODING_SPEC,
    HARDENED_ENCODING_SPEC,
    LEGACY_FIELD_LEVEL_SPEC,
    EncodingSpec,
    FieldEncoding,
    Hardening,
    LinkageSecret,
    encode_bloom,
)
from ansim.schema import IdentifierKind

SECRET = LinkageSecret(bytes(range(32)))
DATES = {IdentifierKind.BIRTH_DATE: ["1985-03-02", "1985-03-12", "1962-11-30", None]}


def _dates(taps: int | None, spec_taps: int = 4) -> list[bytes | None]:
    field = FieldEncoding("birth_date", bits=512, hashes=36, clk_weight=0, taps=taps)
    spec = replace(
        DEFAULT_ENCODING_SPEC,
        fields=(field,),
        clk_bits=0,
        hardening=Hardening.DIFFUSION,
        taps=spec_taps,
    )
    return encode_bloom(spec, DATES, SECRET)["bf_birth_date"].to_pylist()


def test_a_field_without_taps_takes_the_specs() -> None:
    assert _dates(None, spec_taps=6) == _dates(6, spec_taps=2)
    assert _dates(6) != _dates(4)


def test_more_taps_push_similar_values_towards_one_half() -> None:
    def dice(values: list[bytes | None]) -> float:
        a, b = (np.unpackbits(np.frombuffer(v or b"", np.uint8)) for v in values[:2])
        return 2 * float((a & b).sum()) / float(a.sum() + b.sum())

    # one day digit apart: fairly similar at 2 taps, close to unrelated at 12
    assert dice(_dates(2)) > dice(_dates(12)) + 0.1
    assert abs(dice(_dates(12)) - 0.5) < 0.08


def test_taps_round_trip_and_are_written_only_when_set() -> None:
    text = HARDENED_ENCODING_SPEC.to_yaml()
    assert EncodingSpec.from_yaml_text(text) == HARDENED_ENCODING_SPEC
    assert "taps: 6" in text
    assert "taps" not in FieldEncoding("name").to_dict()
    assert "taps" not in LEGACY_FIELD_LEVEL_SPEC.to_yaml()


def test_hardened_spec_sets_taps_per_filter() -> None:
    h = HARDENED_ENCODING_SPEC
    assert [h.taps_of(h.field(f)) for f in ("name", "birth_date", "phone", "rrn", "address")] == [
        6,
        6,
        6,
        6,
        4,
    ]
    assert h.taps_of(None) == 8  # the CLK


@pytest.mark.parametrize("taps", [0, 17])
def test_field_taps_out_of_range_are_refused(taps: int) -> None:
    with pytest.raises(InvalidSpecError, match="taps"):
        FieldEncoding("name", taps=taps)


def test_field_taps_without_diffusion_are_refused() -> None:
    with pytest.raises(InvalidSpecError, match="diffusion"):
        replace(LEGACY_FIELD_LEVEL_SPEC, fields=(FieldEncoding("name", taps=4),))
    with pytest.raises(InvalidSpecError, match="diffusion"):
        EncodingSpec.from_yaml_text(
            "name: x\nversion: 1\nclk_bits: 0\nfields:\n- {field: name, taps: 4}\n"
        )
