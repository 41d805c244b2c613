import unicodedata

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansim.errors import InvalidIdentifierError
from ansim.identity import (
    AddressForm,
    address_facts,
    bulk_sigungu_of_common,
    check_identifiers,
    decompose_jamo,
    sigungu_matches,
    split_name,
    standardise_address,
    standardise_array,
    standardise_name,
)
from ansim.schema import DatasetSpec, IdentifierKind

SYLLABLES = st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3)


@given(st.text(SYLLABLES, min_size=1, max_size=5))
def test_jamo_decomposition_round_trips(name: str) -> None:
    jamo = decompose_jamo(name)
    assert 2 * len(name) <= len(jamo) <= 3 * len(name)
    assert unicodedata.normalize("NFC", jamo) == name


@pytest.mark.parametrize(
    ("name", "surname", "given"),
    [("김민준", "김", "민준"), ("남궁민", "남궁", "민"), ("황보현우", "황보", "현우"),
     ("이서", "이", "서"), ("선우용녀", "선우", "용녀")],
)  # fmt: skip
def test_split_name(name: str, surname: str, given: str) -> None:
    parts = split_name(name)
    assert parts is not None and (parts.surname, parts.given) == (surname, given)


def test_unsplittable_names() -> None:
    assert split_name("kimminjun") is None and split_name("김") is None
    assert split_name("김민준서연이") is None


def test_latin_names_lose_case_spaces_and_diacritics() -> None:
    assert standardise_name("NGUYỄN  Văn-An") == "nguyenvanan" == standardise_name("nguyen van an")
    assert standardise_name("Müller") == "muller"


@pytest.mark.parametrize(
    ("raw", "text", "form", "code"),
    [
        ("경기도 수원시 정조로 12 101동 203호", "수원시 정조로 12 101동 203호", "road", "41110"),
        ("경기 수원시 정조로123 101-1203", "수원시 정조로 123 101동 1203호", "road", "41110"),
        ("수원시  정조로 123", "수원시 정조로 123", "road", "41110"),
        ("경기도 용인시 수지구 죽전로15번길 12", "용인시 수지구 죽전로15번길 12", "road", "41460"),
        ("경기도 광주시 오포읍 신현리 123-4번지", "광주시 오포읍 신현리 123-4번지", "lot", "41610"),
        ("경기도 성남시 분당구 정자동 178-1", "성남시 분당구 정자동 178-1", "lot", "41130"),
        ("서울특별시 중구 세종대로 110", "서울특별시 중구 세종대로 110", "road", None),
        ("어딘가 알 수 없는 곳", "어딘가 알 수 없는 곳", "unknown", None),
    ],
)  # fmt: skip
def test_address_forms_and_sigungu(raw, text, form, code) -> None:
    facts = address_facts(raw)
    assert facts is not None
    assert (facts.text, facts.form, facts.sigungu_code) == (text, AddressForm(form), code)
    assert standardise_address(raw) == text


def test_gwangju_si_is_not_gwangju_city() -> None:
    assert address_facts("광주광역시 서구 상무대로 1").sigungu_code is None  # type: ignore[union-attr]
    assert address_facts("경기 광주시 경안로 1").sigungu_code == "41610"  # type: ignore[union-attr]


def test_sigungu_agreement_accepts_gu_codes() -> None:
    facts = address_facts("수원시 정조로 1")
    assert facts is not None
    assert sigungu_matches(facts, "41115") is True
    assert sigungu_matches(facts, "41130") is False
    assert sigungu_matches(facts, None) is None


def test_address_without_letters_is_invalid() -> None:
    with pytest.raises(InvalidIdentifierError):
        address_facts("-- , --")
    with pytest.raises(InvalidIdentifierError, match="province only"):
        address_facts(" 경기 ")


def test_address_checks_count_mismatches_with_the_code_column() -> None:
    spec = DatasetSpec.from_yaml_text(
        """
dataset: d
custodian: c
record_id: id
columns:
  address: {type: string, role: direct_identifier, kind: address}
  sigungu_code: {type: category, role: quasi_identifier, kind: sigungu_code}
"""
    )
    records = pa.table({
        "id": [1, 2, 3, 4, 5, 6],
        "address": ["경기도 수원시 정조로 1", "수원시 정조로 2", "경기 성남시 판교로 3", None,
                    "경기 광주시 오포읍 신현리 12-3번지", "광주시 경안로12"],
        "sigungu_code": ["41110", "41130", "41135", "41110", "41610", "41110"],
    })  # fmt: skip
    standardised = standardise_array(IdentifierKind.ADDRESS, records["address"]).values
    checks = check_identifiers(spec, records, {IdentifierKind.ADDRESS: standardised})
    assert checks["address"]["road"] == 4 and checks["address"]["lot"] == 1
    assert checks["address"]["sigungu_mismatch"] == 2  # rows 2 and 6
    assert checks["address"]["sigungu_derived"] == 5


ROAD_ADDRESSES = st.builds(
    lambda prefix, si, gu, road, side, number, unit: " ".join(
        p for p in (prefix, si, gu, road + side, number, unit) if p
    ),
    st.sampled_from(["", "경기도", "경기", "서울특별시"]),
    st.sampled_from(["수원시", "광주시", "연천군", "고양시", "서울시"]),
    st.sampled_from(["", "장안구", "덕양구"]),
    st.sampled_from(["정조로", "경수대로", "중앙1로", "신현리", "세종"]),
    st.sampled_from(["", "15번길", "3길", "123"]),
    st.sampled_from(["12", "12-3", "7번지", ""]),
    st.sampled_from(["", "101동 1203호", "101-1203", "101동1203호"]),
)


@given(st.lists(ROAD_ADDRESSES, min_size=1, max_size=8))
def test_bulk_address_reading_agrees_with_address_facts(addresses: list[str]) -> None:
    standardised = standardise_array(IdentifierKind.ADDRESS, addresses).values
    codes = bulk_sigungu_of_common(standardised).to_pylist()
    for raw, text, code in zip(addresses, standardised.to_pylist(), codes, strict=True):
        facts = address_facts(raw)
        assert facts is not None and text == facts.text
        if code is not None:  # read in bulk: it must be what the scalar reading says
            assert (code, facts.form) == (facts.sigungu_code, AddressForm.ROAD)
