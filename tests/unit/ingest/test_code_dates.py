"""si/gun/gu codes are checked against the day each row refers to (issue 10, class 4)."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansim.errors import InvalidSpecError
from ansim.ingest import ingest_file
from ansim.ingest._values import code_date_problems
from ansim.regions import admin_code_history, sigungu_code_problem
from ansim.schema import DatasetSpec

SPEC = """
dataset: reports
custodian: gyeonggi
record_id: record_id
columns:
  sigungu_code: {{type: string, role: quasi_identifier, kind: sigungu_code{ref}}}
  report_date:  {{type: date, role: attribute}}
"""


def _spec(ref: str = "") -> DatasetSpec:
    return DatasetSpec.from_yaml_text(SPEC.format(ref=f", reference_date: {ref}" if ref else ""))


def _ingest(tmp_path: Path, spec: DatasetSpec, rows: list[tuple[str, str]]) -> tuple[dict, dict]:
    path = tmp_path / "in.csv"
    lines = ["record_id,sigungu_code,report_date"] + [
        f"r{i},{code},{day}" for i, (code, day) in enumerate(rows)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = ingest_file(spec, path, tmp_path / "out")
    with result.quarantine.open(encoding="utf-8", newline="") as f:
        quarantined = {int(r["row_number"]): r["reason"] for r in csv.DictReader(f)}
    summary = json.loads((result.directory / "summary.json").read_text(encoding="utf-8"))
    return quarantined, summary


ROWS = [
    ("41730", "2012-05-01"),  # Yeoju-gun, before it became Yeoju-si on 2013-09-23: valid
    ("41730", "2014-01-01"),  # Yeoju-gun after it was retired
    ("41670", "2012-05-01"),  # Yeoju-si before it was created
    ("41197", "2017-05-01"),  # Bucheon's old Sosa-gu, abolished 2016-07-04
    ("41194", "2020-03-01"),  # Bucheon's Sosa-gu, restored 2024-01-01: no gu in 2020
    ("41194", "2024-03-01"),
    ("42110", "2023-06-10"),  # Chuncheon under Gangwon's old prefix, its last day
    ("42110", "2023-06-11"),  # … and the day Gangwon became 51
    ("51110", "2023-06-11"),
    ("27720", "2023-06-30"),  # Gunwi joined Daegu on 2023-07-01
    ("47720", "2023-06-30"),
    ("41591", "2026-01-31"),  # Hwaseong's gu from 2026-02-01
    ("41591", "2026-02-01"),
    ("28110", "2026-06-30"),  # Incheon's reorganisation of 2026-07-01
    ("28125", "2026-07-01"),
    ("41110", ""),  # no reference date in this row: known at any time is enough
]


def test_codes_are_checked_on_the_rows_reference_date(tmp_path: Path) -> None:
    quarantined, summary = _ingest(tmp_path, _spec("report_date"), ROWS)
    bad = {3: "41730", 4: "41670", 5: "41197", 6: "41194", 9: "42110", 11: "27720", 13: "41591"}
    assert set(quarantined) == set(bad)
    assert quarantined[4] == (
        "sigungu_code: code 41670 not valid on 2012-05-01: in use 2013-09-23 to …"
    )
    assert quarantined[3].endswith("not valid on 2014-01-01: in use … to 2013-09-22")
    assert summary["rows_landed"] == len(ROWS) - len(bad)
    assert summary["reasons"] == {"sigungu_code: code not valid on its reference date": 7}
    assert summary["code_reference_dates"] == {"sigungu_code": "report_date"}
    assert "41670" not in json.dumps(summary)  # counts only: no codes, no dates


def test_a_fixed_reference_date(tmp_path: Path) -> None:
    rows = [("41730", "2020-01-01"), ("41670", "2020-01-01"), ("41192", "")]
    quarantined, summary = _ingest(tmp_path, _spec("2012-05-01"), rows)
    assert sorted(quarantined) == [3, 4]  # Yeoju-si and Bucheon's restored gu did not exist
    assert summary["code_reference_dates"] == {"sigungu_code": "2012-05-01"}


def test_today_retires_old_codes_and_the_default_any_keeps_every_code_ever_used(
    tmp_path: Path,
) -> None:
    rows = [("41730", "2012-05-01"), ("41670", "2012-05-01"), ("41999", "2012-05-01")]
    quarantined, summary = _ingest(tmp_path, _spec("today"), rows)
    assert sorted(quarantined) == [2, 4]  # Yeoju-gun is not in use today; 41999 never was
    assert summary["code_reference_dates"] == {"sigungu_code": dt.date.today().isoformat()}
    for spec in (_spec(), _spec("any")):  # a historical file keeps the codes of its own day
        quarantined, summary = _ingest(tmp_path, spec, rows)
        assert sorted(quarantined) == [4]
        assert summary["code_reference_dates"] == {"sigungu_code": "any"}


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("nowhere", "must be a declared column of type date"),
        ("sigungu_code", "names a date column"),
        ("2012-13-01", "month must be in 1..12"),
        ('"2012-13-01"', "is not a date"),
    ],
)
def test_bad_reference_dates_are_refused_at_spec_load(ref: str, message: str) -> None:
    with pytest.raises(InvalidSpecError, match=message):
        _spec(ref)


def test_reference_date_applies_to_code_columns_only_and_round_trips() -> None:
    with pytest.raises(InvalidSpecError, match="sigungu_code only"):
        DatasetSpec.from_yaml_text(
            "dataset: d\ncustodian: c\nrecord_id: id\ncolumns:\n"
            "  day: {type: date, role: attribute, reference_date: today}\n"
        )
    spec = _spec("2012-05-01")
    assert DatasetSpec.from_yaml_text(spec.to_yaml()) == spec
    assert spec.column("sigungu_code").reference_date == "2012-05-01"


_CODES = sorted(admin_code_history())


@settings(max_examples=200, deadline=None, database=None)
@given(
    rows=st.lists(
        st.tuples(
            st.one_of(st.sampled_from(_CODES), st.none()),
            st.one_of(st.dates(dt.date(1990, 1, 1), dt.date(2040, 1, 1)), st.none()),
        ),
        max_size=40,
    )
)
def test_per_row_days_agree_with_the_scalar_rule(
    rows: list[tuple[str | None, dt.date | None]],
) -> None:
    column = _spec("report_date").column("sigungu_code")
    codes = pa.array([c for c, _ in rows], pa.string())
    days = pa.array([d for _, d in rows], pa.date32())
    found = code_date_problems(column, codes, days, dt.date.today())
    expected = {
        i: f"sigungu_code: {sigungu_code_problem(c, d)}"
        for i, (c, d) in enumerate(rows)
        if c is not None and d is not None and sigungu_code_problem(c, d) is not None
    }
    assert found == expected
