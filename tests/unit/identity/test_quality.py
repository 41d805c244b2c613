"""Row-level identifier checks land in quality.csv; a failing RRN makes no exact token (class 3)."""

import csv
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from ansim.identity import (
    LinkageSecret,
    RegistrationKind,
    identifier_quality,
    prepare,
    rrn_check_digit,
    usable_rrn,
    valid_kr_phone,
)
from ansim.ingest import ingest_file
from ansim.schema import DatasetSpec

SPEC = DatasetSpec.from_yaml_text("""
dataset: cases
custodian: gyeonggi
record_id: record_id
columns:
  name: {type: string, role: direct_identifier, kind: korean_name}
  rrn: {type: string, role: direct_identifier, kind: rrn}
  phone: {type: string, role: direct_identifier, kind: phone}
  sex: {type: category, role: quasi_identifier, values: [M, F]}
""")


def _valid(first12: str, kind: RegistrationKind = RegistrationKind.RESIDENT) -> str:
    return first12 + str(rrn_check_digit(first12, kind))


def test_quality_csv_records_each_problem_by_row_without_values(tmp_path: Path) -> None:
    good = _valid("800522123456")
    foreign = _valid(
        "800522512345", RegistrationKind.FOREIGN
    )  # a foreigner's number, its own check rule
    recent = "2103153987654"  # issued after October 2020: no check digit
    bad_check = good[:12] + str((int(good[12]) + 1) % 10)
    rows = [
        f"r1,김민준,{good},010-1234-5678,M",
        f"r2,이서연,{bad_check},010-2345-6789,F",
        "r3,박지호,801322-1234567,010-3456-7890,M",  # month 13
        "r4,최수아,800230-2234567,02-123-4567,F",  # 30 February
        f"r5,정우진,{foreign},000-123-4567,M",  # not a Korean number
        f"r6,강하은,{recent},031-123-4567,F",
    ]
    path = tmp_path / "in.csv"
    path.write_text("record_id,name,rrn,phone,sex\n" + "\n".join(rows) + "\n", encoding="utf-8")
    result = ingest_file(SPEC, path, tmp_path / "out")
    assert result.rows_landed == 6
    text = (result.directory / "quality.csv").read_text(encoding="utf-8")
    found = [(int(r["row_number"]), r["column"]) for r in csv.DictReader(text.splitlines())]
    assert found == [(3, "rrn"), (4, "rrn"), (5, "rrn"), (6, "phone")]  # header is line 1
    assert "check digit" in text and "calendar day" in text
    for value in (bad_check, "801322", "000-123"):
        assert value not in text
    summary = json.loads((result.directory / "summary.json").read_text(encoding="utf-8"))
    assert summary["rows_with_identifier_problems"] == 4


def test_an_invalid_rrn_makes_no_exact_token(tmp_path: Path) -> None:
    good = _valid("800522123456")
    bad = good[:12] + str((int(good[12]) + 1) % 10)
    records = pa.table(
        {
            "record_id": ["1", "2", "3"],
            "name": ["김민준", "이서연", "박지호"],
            "rrn": [good, bad, "801322-1234567"],
            "phone": ["010-1234-5678"] * 3,
            "sex": ["M", "F", "M"],
        }
    )
    parts = prepare(SPEC, records, LinkageSecret.generate(), tmp_path, project="p")
    import pyarrow.parquet as pq  # noqa: PLC0415

    identity = pq.read_table(parts.identity)
    assert identity.column("token_rrn").to_pylist()[1:] == [None, None]
    assert identity.column("token_rrn").to_pylist()[0] is not None
    assert pc.sum(pc.is_valid(identity.column("clk"))).as_py() == 3  # fuzzy encodings kept


@settings(max_examples=200, deadline=None)
@given(st.text(st.sampled_from("0123456789"), min_size=12, max_size=12), st.integers(0, 9))
def test_usable_rrn_keeps_exactly_the_numbers_that_pass(first12: str, last: int) -> None:
    number = first12 + str(last)
    records = pa.table(
        {"record_id": ["1"], "name": ["김"], "rrn": [number], "phone": [None], "sex": [None]}
    )
    kept = usable_rrn(pa.array([number])).to_pylist()[0] is not None
    flagged = bool(identifier_quality(SPEC, records))
    assert kept != flagged


@settings(max_examples=3000)
@given(st.from_regex(r"01[0-9]{8,9}", fullmatch=True))
def test_the_mobile_fast_path_gives_parses_verdict(digits: str) -> None:
    import phonenumbers  # noqa: PLC0415

    parsed = phonenumbers.is_valid_number(phonenumbers.parse(digits, "KR"))
    assert valid_kr_phone(digits) is bool(parsed)
