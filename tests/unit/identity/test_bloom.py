import hmac
import unicodedata

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansim.errors import InvalidSpecError
from ansim.identity import (
    DEFAULT_ENCODING_SPEC,
    LEGACY_FIELD_LEVEL_SPEC,
    Alphabet,
    EncodingSpec,
    FieldEncoding,
    Hardening,
    LinkageSecret,
    encode_bloom,
    encode_bloom_detailed,
)
from ansim.schema import IdentifierKind as K

SECRET = LinkageSecret(bytes(range(32)))
NAMES = st.text(st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3), min_size=2, max_size=4)


def _bits(value: bytes) -> np.ndarray:
    return np.unpackbits(np.frombuffer(value, np.uint8), bitorder="little")


def _dice(a: bytes, b: bytes) -> float:
    x, y = _bits(a), _bits(b)
    return 2 * int((x & y).sum()) / int(x.sum() + y.sum())


def _spec(hardening: Hardening, **kw: object) -> EncodingSpec:
    fields = (
        FieldEncoding("name", alphabet=Alphabet.JAMO, bits=256, hashes=12, clk_weight=6),
        FieldEncoding("birth_date", bits=256, hashes=12, clk_weight=4),
    )
    return EncodingSpec("t", 1, fields, clk_bits=512, hardening=hardening, **kw)  # type: ignore[arg-type]


def _reference(
    spec: EncodingSpec, field: FieldEncoding, text: str, secret: LinkageSecret
) -> set[int]:
    """Bit positions of a plain keyed Bloom filter, written the slow, obvious way."""
    if field.alphabet is Alphabet.JAMO:
        text = unicodedata.normalize("NFD", text)
    padded = "\x02" * (field.q - 1) + text + "\x03" * (field.q - 1)
    key = secret.derive("bloom")
    out = set()
    for i in range(len(padded) - field.q + 1):
        gram = padded[i : i + field.q]
        msg = f"{field.field}\x1f{field.q}\x1f{field.alphabet}\x1f\x1f{gram}".encode()
        digest = hmac.new(key, msg, "sha256").digest()
        h1 = int.from_bytes(digest[0:8], "little")
        h2 = int.from_bytes(digest[8:16], "little") | 1
        out |= {(h1 + j * h2) % 2**64 % field.bits for j in range(field.hashes)}
    return out


@settings(max_examples=30, deadline=None)
@given(NAMES)
def test_unhardened_filter_matches_reference(name: str) -> None:
    spec = _spec(Hardening.NONE)
    column = encode_bloom(spec, {K.KOREAN_NAME: [name]}, SECRET)["bf_name"]
    got = set(np.flatnonzero(_bits(column[0].as_py())).tolist())
    assert got == _reference(spec, spec.field("name"), name, SECRET)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.one_of(st.none(), NAMES), min_size=1, max_size=20))
def test_shapes_nulls_and_balance(names: list[str | None]) -> None:
    spec = _spec(Hardening.BALANCE)
    cols = encode_bloom(spec, {K.KOREAN_NAME: names}, SECRET)
    assert cols["bf_name"].type == pa.binary(64) and cols["clk"].type == pa.binary(128)
    for value, bf, clk in zip(
        names, cols["bf_name"].to_pylist(), cols["clk"].to_pylist(), strict=True
    ):
        assert (bf is None) == (value is None) == (clk is None)
        if bf is not None:
            assert _bits(bf).sum() == 256 and _bits(clk).sum() == 512  # exactly half set


def test_xor_fold_halves_and_similar_names_stay_similar() -> None:
    names = ["김민준", "김민중", "박서연"]
    for hardening, width in (
        (Hardening.XOR_FOLD, 16),
        (Hardening.BALANCE, 64),
        (Hardening.NONE, 32),
    ):
        cols = encode_bloom(_spec(hardening), {K.KOREAN_NAME: names}, SECRET)
        a, b, c = cols["bf_name"].to_pylist()
        assert len(a) == width
        assert _dice(a, b) > _dice(a, c)


def test_jamo_q_grams_tolerate_a_one_jamo_typo_better() -> None:
    names = {K.KOREAN_NAME: ["김민준", "김민준".replace("준", "순")]}
    syllable = EncodingSpec("s", 1, (FieldEncoding("name", bits=256, hashes=12, clk_weight=0),), 0)
    jamo = EncodingSpec(
        "j",
        1,
        (FieldEncoding("name", alphabet=Alphabet.JAMO, bits=256, hashes=12, clk_weight=0),),
        0,
    )
    d_syl = _dice(*encode_bloom(syllable, names, SECRET)["bf_name"].to_pylist())
    d_jamo = _dice(*encode_bloom(jamo, names, SECRET)["bf_name"].to_pylist())
    assert d_jamo > d_syl


def test_keyed_different_secrets_and_salts_give_unrelated_filters() -> None:
    values = {K.KOREAN_NAME: ["김민준", "김민준"], K.BIRTH_DATE: ["1980-05-22", "1981-05-22"]}
    spec = _spec(Hardening.NONE)
    a = encode_bloom(spec, values, SECRET)["bf_name"].to_pylist()
    b = encode_bloom(spec, values, LinkageSecret.generate())["bf_name"].to_pylist()
    assert a[0] == a[1] and _dice(a[0], b[0]) < 0.7
    salted = encode_bloom(_spec(Hardening.NONE, salt="birth_year"), values, SECRET)
    s = salted["bf_name"].to_pylist()
    assert s[0] != s[1] and _dice(s[0], s[1]) < 0.7  # same name, other birth year
    with pytest.raises(InvalidSpecError, match="salted with birth_year"):
        encode_bloom(_spec(Hardening.NONE, salt="birth_year"), {K.KOREAN_NAME: ["김"]}, SECRET)


@settings(max_examples=20, deadline=None)
@given(st.lists(NAMES, min_size=1, max_size=5))
def test_an_encoding_never_contains_a_raw_value(names: list[str]) -> None:
    cols = encode_bloom(DEFAULT_ENCODING_SPEC, {K.KOREAN_NAME: names}, SECRET)
    blob = b"".join(v for col in cols.values() for v in col.to_pylist() if v)
    for name in names:
        for form in (name.encode(), name.encode("utf-16-le"), name.encode("cp949", "ignore")):
            assert len(form) < 4 or form not in blob


def test_fill_statistics_near_half_for_the_default_spec() -> None:
    rng = np.random.default_rng(1)
    n = 500
    values = {
        K.KOREAN_NAME: [
            "".join(chr(0xAC00 + int(c)) for c in rng.integers(0, 11172, 3)) for _ in range(n)
        ],
        K.BIRTH_DATE: [
            f"19{rng.integers(30, 99)}-0{rng.integers(1, 9)}-1{rng.integers(0, 9)}"
            for _ in range(n)
        ],
        K.PHONE: [f"010{rng.integers(10**7, 10**8)}" for _ in range(n)],
    }
    result = encode_bloom_detailed(DEFAULT_ENCODING_SPEC, values, SECRET)
    balanced = encode_bloom_detailed(LEGACY_FIELD_LEVEL_SPEC, values, SECRET)
    for column in ("bf_name", "bf_birth_date", "bf_phone"):
        fill = result.fill[column]
        assert fill.encoded == n and 0.35 < fill.fill < 0.6
        assert abs(fill.stored_fill - 0.5) < 0.02  # diffused: XORs of balanced bits
        assert balanced.fill[column].stored_fill == 0.5  # balanced: exactly half
    assert 0.3 < result.fill["clk"].fill < 0.6


def test_spec_round_trips_and_validates(tmp_path) -> None:
    path = tmp_path / "encoding.yaml"
    path.write_text(DEFAULT_ENCODING_SPEC.to_yaml(), encoding="utf-8")
    assert EncodingSpec.from_yaml(path) == DEFAULT_ENCODING_SPEC
    assert EncodingSpec.from_yaml_text(DEFAULT_ENCODING_SPEC.to_json()) == DEFAULT_ENCODING_SPEC
    with pytest.raises(InvalidSpecError, match="multiple of 128"):
        FieldEncoding("name", bits=100)
    with pytest.raises(InvalidSpecError, match="not one of"):
        FieldEncoding("shoe_size")
    with pytest.raises(InvalidSpecError, match="format 9"):
        EncodingSpec.from_dict(DEFAULT_ENCODING_SPEC.to_dict() | {"format": 9})
    with pytest.raises(InvalidSpecError, match="unknown keys"):
        EncodingSpec.from_dict(DEFAULT_ENCODING_SPEC.to_dict() | {"secret": "x"})
    with pytest.raises(InvalidSpecError, match="salt"):
        EncodingSpec("x", 1, DEFAULT_ENCODING_SPEC.fields, salt="rrn")
