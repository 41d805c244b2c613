import datetime as dt
import json

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansim.errors import InvalidIdentifierError
from ansim.identity import (
    CheckDigit,
    LinkageSecret,
    RegistrationKind,
    check_identifiers,
    prepare,
    rrn_check_digit,
    rrn_facts,
    standardise_array,
)
from ansim.ingest import ingest_file, load_ingested
from ansim.schema import DatasetSpec, IdentifierKind


def _number(born: dt.date, seventh: int, middle: str = "12345", foreign: bool = False) -> str:
    first12 = f"{born:%y%m%d}{seventh}{middle}"
    kind = RegistrationKind.FOREIGN if foreign else RegistrationKind.RESIDENT
    return first12 + str(rrn_check_digit(first12, kind))


@pytest.mark.parametrize(
    ("seventh", "century", "sex", "kind"),
    [
        (9, 1800, "M", "resident"), (0, 1800, "F", "resident"),
        (1, 1900, "M", "resident"), (2, 1900, "F", "resident"),
        (3, 2000, "M", "resident"), (4, 2000, "F", "resident"),
        (5, 1900, "M", "foreign"), (6, 1900, "F", "foreign"),
        (7, 2000, "M", "foreign"), (8, 2000, "F", "foreign"),
    ],
)  # fmt: skip
def test_seventh_digit_gives_century_sex_and_kind(seventh, century, sex, kind) -> None:
    born = dt.date(century + 15, 3, 9)
    facts = rrn_facts(_number(born, seventh, foreign=kind == "foreign"))
    assert facts is not None
    assert (facts.century, facts.sex, facts.kind.value) == (century, sex, kind)
    assert facts.birth_date == born and facts.check is CheckDigit.VALID


def test_bad_check_digit_is_reported_not_rejected() -> None:
    good = _number(dt.date(1980, 5, 22), 1)
    bad = good[:12] + str((int(good[12]) + 1) % 10)
    assert rrn_facts(bad).check is CheckDigit.INVALID  # type: ignore[union-attr]
    # standardisation (and so ingest) accepts it: the check digit is a report, not a filter
    assert standardise_array(IdentifierKind.RRN, [bad]).values.to_pylist() == [bad]


@given(st.dates(dt.date(2020, 10, 1), dt.date(2029, 12, 31)), st.sampled_from([3, 4, 7, 8]),
       st.integers(0, 999_999))  # fmt: skip
def test_numbers_from_october_2020_have_no_check_digit(born, seventh, tail) -> None:
    number = f"{born:%y%m%d}{seventh}{tail:06d}"
    facts = rrn_facts(number)
    assert facts is not None and facts.check is CheckDigit.ABSENT and facts.birth_date == born


def test_impossible_birth_date_and_malformed() -> None:
    facts = rrn_facts("8013221234567")
    assert facts is not None and facts.birth_date is None
    with pytest.raises(InvalidIdentifierError, match="malformed RRN"):
        rrn_facts("80-0522-1234567")
    assert rrn_facts("  ") is None


SPEC = DatasetSpec.from_yaml_text(
    """
dataset: d
custodian: c
record_id: id
columns:
  rrn: {type: string, role: direct_identifier, kind: rrn}
  birth_date: {type: date, role: quasi_identifier}
  sex: {type: category, role: quasi_identifier, values: [M, F]}
"""
)


@given(st.lists(st.tuples(st.dates(dt.date(1850, 1, 1), dt.date(2029, 12, 31)), st.booleans(),
                          st.booleans(), st.integers(0, 3)), min_size=1, max_size=30))  # fmt: skip
def test_bulk_checks_agree_with_rrn_facts(rows) -> None:
    numbers, births, sexes = [], [], []
    for born, male, alien, twist in rows:
        century = born.year // 100 * 100
        foreign = alien and century != 1800  # no foreign numbers for the 1800s
        seventh = {1800: (9, 0), 1900: (1, 2), 2000: (3, 4)}[century][0 if male else 1]
        seventh += 4 if foreign else 0
        number = _number(born, seventh, foreign=foreign)
        if twist == 1:
            number = number[:12] + str((int(number[12]) + 3) % 10)
        numbers.append(number)
        births.append(born if twist != 2 else born + dt.timedelta(days=1))
        sexes.append(("M" if male else "F") if twist != 3 else ("F" if male else "M"))
    records = pa.table({"id": list(range(len(rows))), "rrn": numbers,
                        "birth_date": pa.array(births, pa.date32()), "sex": sexes})  # fmt: skip
    values = {IdentifierKind.RRN: pa.array(numbers), IdentifierKind.SEX: pa.array(sexes)}
    got = check_identifiers(SPEC, records, values)["rrn"]
    facts = [rrn_facts(n) for n in numbers]
    assert got["foreign"] == sum(f.kind is RegistrationKind.FOREIGN for f in facts)
    for verdict in CheckDigit:
        assert got[f"check_digit_{verdict.value}"] == sum(f.check is verdict for f in facts)
    assert got["birth_date_mismatch"] == sum(
        f.birth_date != b for f, b in zip(facts, births, strict=True)
    )
    assert got["sex_mismatch"] == sum(f.sex != s for f, s in zip(facts, sexes, strict=True))


def test_ingest_lands_a_bad_check_digit_and_prepare_reports_it(tmp_path) -> None:
    good = _number(dt.date(1980, 5, 22), 1)
    bad = good[:12] + str((int(good[12]) + 1) % 10)
    data = tmp_path / "d.csv"
    data.write_text(f"id,rrn,birth_date,sex\n1,{good},1980-05-22,M\n2,{bad},1980-05-22,F\n")
    result = ingest_file(SPEC, data, tmp_path / "ingest")
    assert result.rows_landed == 2 and result.rows_quarantined == 0
    _, records = load_ingested(result.directory)
    parts = prepare(SPEC, records, LinkageSecret.generate(), tmp_path / "out", project="p")
    report = json.loads(parts.report.read_text())
    checks = report["identifier_checks"]["rrn"]
    assert checks["check_digit_valid"] == 1 and checks["check_digit_invalid"] == 1
    assert checks["sex_mismatch"] == 1  # row 2: a man's number, sex column F
    assert bad not in parts.report.read_text()
