"""A content part never carries an identifier-shaped value (issue 10, class 2b)."""

from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansim.errors import IdentifierInContentError, InvalidSpecError
from ansim.identity import LinkageSecret, prepare, scan_content
from ansim.schema import DatasetSpec

SPEC_TEXT = """
dataset: cases
custodian: gyeonggi
record_id: record_id
columns:
  name: {type: string, role: direct_identifier, kind: korean_name}
  note: {type: string, role: attribute}
  amount: {type: integer, role: sensitive}
"""
SPEC = DatasetSpec.from_yaml_text(SPEC_TEXT)
EXEMPT = DatasetSpec.from_yaml_text(
    SPEC_TEXT.replace(
        "note: {type: string, role: attribute}",
        "note: {type: string, role: attribute, scan_exempt: 'ward codes look like phone numbers'}",
    )
)


def _records(notes: list[str | None], names: list[str] | None = None) -> pa.Table:
    n = len(notes)
    return pa.table(
        {
            "record_id": [f"r{i}" for i in range(n)],
            "name": names or ["이서연"] * n,
            "note": pa.array(notes, pa.string()),
            "amount": list(range(n)),
        }
    )


@pytest.mark.parametrize(
    "value",
    [
        "800522-1234567",
        "주민번호 8005221234567 확인",
        "010-1234-5678",
        "연락처:01012345678",
        "011 234 5678",
        "02-345-6789",
        "031)123-4567",
        "김민준 씨 동반",
        "보호자 박지호",
    ],
)
def test_identifier_shapes_stop_preparation_naming_column_and_row(value: str) -> None:
    records = _records(["ok", "fine", value], ["이서연", "김민준", "박지호"])
    with pytest.raises(IdentifierInContentError) as caught:
        scan_content(SPEC, records)
    message = str(caught.value)
    assert "'note'" in message and "row 3" in message
    assert value not in message and "김민준" not in message


@pytest.mark.parametrize(
    "value",
    ["2024-05-22", "41111", "12,500원", "격리 14일", "서울 방문", "1234567", "김치찌개", "A-0102"],
)
def test_ordinary_content_passes(value: str) -> None:
    scan_content(SPEC, _records([value, None], ["김민준", "이서연"]))


def test_merged_rows_from_an_unclosed_quote_are_caught() -> None:
    # What issue 10 found: later rows swallowed into a free-text column.
    merged = "unclosed note\nr3,김민준,800522-1234567,010-9876-5432\nr4,이서연,..."
    with pytest.raises(IdentifierInContentError, match="'note', row 1"):
        scan_content(SPEC, _records([merged], ["박지호"]))


def test_integer_columns_are_scanned_too() -> None:
    records = _records(["ok"]).set_column(3, "amount", pa.array([8005221234567]))
    with pytest.raises(IdentifierInContentError, match="'amount', row 1"):
        scan_content(SPEC, records)


def test_an_exempt_column_needs_a_reason_and_round_trips() -> None:
    scan_content(EXEMPT, _records(["010-1234-5678"]))
    assert DatasetSpec.from_yaml_text(EXEMPT.to_yaml()) == EXEMPT
    assert EXEMPT.column("note").scan_exempt == "ward codes look like phone numbers"
    for bad in ("scan_exempt: ''", "scan_exempt: true"):
        with pytest.raises(InvalidSpecError, match="'note'"):
            DatasetSpec.from_yaml_text(
                SPEC_TEXT.replace("role: attribute}", f"role: attribute, {bad}}}")
            )
    with pytest.raises(InvalidSpecError, match="'name'"):
        DatasetSpec.from_yaml_text(
            SPEC_TEXT.replace("kind: korean_name}", "kind: korean_name, scan_exempt: why}")
        )


def test_prepare_writes_nothing_when_the_scan_fails(tmp_path: Path) -> None:
    with pytest.raises(IdentifierInContentError):
        prepare(
            SPEC,
            _records(["ok", "010-1234-5678"]),
            LinkageSecret.generate(),
            tmp_path,
            project="p",
        )
    assert not any(tmp_path.rglob("*.parquet"))


_SYLLABLE = st.integers(0xC000, 0xD7A3).map(chr)  # none of the filler syllables
_NAME = st.text(_SYLLABLE, min_size=3, max_size=4)
_FILLER = st.text(st.sampled_from("abc xyz.,:;!?()가나다라 "), max_size=12)


@settings(max_examples=150, deadline=None)
@given(
    names=st.lists(_NAME, min_size=1, max_size=5, unique=True),
    filler=st.lists(_FILLER, min_size=1, max_size=8),
    planted=st.one_of(
        st.none(),
        st.tuples(st.integers(0, 7), st.sampled_from(["rrn", "mobile", "name"])),
    ),
    digits=st.text(st.sampled_from("0123456789"), min_size=8, max_size=8),
)
def test_random_files_are_caught_exactly_when_an_identifier_is_planted(
    names, filler, planted, digits
) -> None:
    notes: list[str | None] = list(filler)
    if planted is not None:
        where, what = planted
        where %= len(notes)
        value = {
            "rrn": f"9{digits[0]}0{1 + int(digits[1]) % 9}1{digits[2]}-{digits[3]}{digits[:6]}",
            "mobile": f"010-{digits[:4]}-{digits[4:]}",
            "name": names[0],
        }[what]
        notes[where] = f"{notes[where]} {value} "
    records = _records(notes, (names * len(notes))[: len(notes)])
    if planted is None:
        scan_content(SPEC, records)
    else:
        with pytest.raises(IdentifierInContentError, match=f"row {where + 1} "):
            scan_content(SPEC, records)


ADDRESS_SPEC = DatasetSpec.from_yaml_text(
    SPEC_TEXT.replace(
        "  note:", "  address: {type: string, role: direct_identifier, kind: address}\n  note:"
    )
)


def _with_addresses(notes: list[str | None], addresses: list[str]) -> pa.Table:
    return _records(notes).append_column("address", pa.array(addresses, pa.string()))


@pytest.mark.parametrize(
    "value",
    [
        "자택 정조로 123 방문",
        "정조로123 자가격리",
        "수원시 팔달구 정조로 123 101동",
        "구주소 매산로1가 12-3",
        "경기도 수원시 정조로 123",
    ],
)
def test_an_address_of_a_person_in_the_file_stops_preparation(value: str) -> None:
    addresses = ["경기도 수원시 팔달구 정조로 123", "수원시 매산로1가 12-3", "안산시 고잔로 7"]
    records = _with_addresses(["ok", "fine", value], addresses)
    with pytest.raises(IdentifierInContentError, match="an address of a person") as caught:
        scan_content(ADDRESS_SPEC, records)
    assert "row 3" in str(caught.value) and "정조로" not in str(caught.value)


@pytest.mark.parametrize(
    "value",
    [
        "정조로 124 방문",
        "정조로 1234",
        "병원으로 3일 뒤 이송",
        "고잔로 사거리",
        "수원시 정조로",
        "1",
    ],
)
def test_other_places_and_ordinary_text_pass(value: str) -> None:
    addresses = ["경기도 수원시 팔달구 정조로 123", "안산시 고잔로 7", "수원시 매산로1가 12-3"]
    scan_content(ADDRESS_SPEC, _with_addresses([value, "ok", None], addresses))
