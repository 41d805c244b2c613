import datetime as dt
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansim.errors import InvalidIdentifierError
from ansim.identity import (
    parse_date,
    standardise_name,
    standardise_phone,
    standardise_rrn,
    standardise_sex,
)

hangul_syllables = st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3)
hangul_names = st.text(hangul_syllables, min_size=1, max_size=5)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("김민준", "김민준"),
        (" 김 민준 ", "김민준"),
        ("김\u3000민준", "김민준"),  # ideographic space
        (unicodedata.normalize("NFD", "김민준"), "김민준"),
        ("남궁 민", "남궁민"),
        ("Nguyen Van-An", "nguyenvanan"),
        ("ＫＩＭ", "kim"),  # full-width Latin
        ("", None),
        ("   ", None),
        (None, None),
    ],
)
def test_standardise_name(raw: str | None, expected: str | None) -> None:
    assert standardise_name(raw) == expected


def test_name_without_letters_is_invalid() -> None:
    with pytest.raises(InvalidIdentifierError, match="no letters"):
        standardise_name("-- 123")


@given(hangul_names, st.sampled_from(["NFC", "NFD", "NFKC", "NFKD"]))
def test_name_is_invariant_to_unicode_normal_form(name: str, form: str) -> None:
    assert standardise_name(unicodedata.normalize(form, name)) == name


@given(hangul_names, st.lists(st.integers(0, 5), max_size=3))
def test_name_is_invariant_to_spaces(name: str, cuts: list[int]) -> None:
    spaced = name
    for cut in sorted(set(cuts), reverse=True):
        spaced = spaced[:cut] + " " + spaced[cut:]
    assert standardise_name(spaced) == name


@pytest.mark.parametrize(
    "raw", ["800522-1234567", "8005221234567", "800522 - 1234567", "８００５２２－１２３４５６７"]
)
def test_rrn_forms(raw: str) -> None:
    assert standardise_rrn(raw) == "8005221234567"


@pytest.mark.parametrize(
    "raw", ["800522-123456", "80052-21234567", "800522-1******", "8005221234567X", "abc"]
)
def test_malformed_rrn(raw: str) -> None:
    with pytest.raises(InvalidIdentifierError, match="malformed RRN") as info:
        standardise_rrn(raw)
    assert raw not in str(info.value)  # errors never echo identifiers


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("010-1234-5678", "01012345678"),
        ("01012345678", "01012345678"),
        ("+82 10-1234-5678", "01012345678"),
        ("+82-010-1234-5678", "01012345678"),
        ("(031) 123-4567", "0311234567"),
        ("02-123-4567", "021234567"),
    ],
)
def test_phone_forms(raw: str, expected: str) -> None:
    assert standardise_phone(raw) == expected


@pytest.mark.parametrize("raw", ["1234", "010-1234-5678-9999", "+1 212 555 0100", "공일공"])
def test_malformed_phone(raw: str) -> None:
    with pytest.raises(InvalidIdentifierError):
        standardise_phone(raw)


@pytest.mark.parametrize(
    "raw",
    ["1980-05-22", "1980-5-22", "19800522", "1980.05.22", "1980. 5. 22.", "1980/05/22",
     "1980년 5월 22일", "1980-05-22 00:00:00", "1980-05-22T13:45"],
)  # fmt: skip
def test_date_forms(raw: str) -> None:
    assert parse_date(raw) == dt.date(1980, 5, 22)


def test_two_digit_years_follow_the_century_rule() -> None:
    assert parse_date("80-05-22", reference_year=2026) == dt.date(1980, 5, 22)
    assert parse_date("260101", reference_year=2026) == dt.date(2026, 1, 1)
    assert parse_date("270101", reference_year=2026) == dt.date(1927, 1, 1)


@pytest.mark.parametrize("raw", ["2021-02-30", "80-13-22", "1980-13-01", "22/05/1980", "soon"])
def test_bad_dates(raw: str) -> None:
    with pytest.raises(InvalidIdentifierError, match="bad date"):
        parse_date(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("M", "M"), ("f", "F"), ("남", "M"), ("여자", "F"), ("1", "M"), ("2", "F"), ("", None)],
)
def test_sex_codes(raw: str, expected: str | None) -> None:
    assert standardise_sex(raw) == expected
