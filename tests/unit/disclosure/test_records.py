"""``read_records``: the rows disclosure control uses, and the ones it sets aside."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansim.disclosure import read_records
from ansim.errors import IngestError, InvalidSpecError

_DAMAGE = ['"', '""', "\n", "\r\n", ",", "\x00", "\x1b", "\ufffd", "=cmd", ""]


@settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    values=st.lists(st.tuples(st.sampled_from("MF"), st.integers(0, 99)), min_size=1, max_size=15),
    damage=st.lists(st.tuples(st.integers(0, 14), st.sampled_from(_DAMAGE)), max_size=5),
)
def test_counts_add_up_and_no_used_value_breaks_a_line(
    tmp_path: Path, values: list[tuple[str, int]], damage: list[tuple[int, str]]
) -> None:
    lines = [f"{sex},{n}" for sex, n in values]
    for row, text in damage:
        if row < len(lines):
            lines[row] += text
    path = tmp_path / "in.csv"
    path.write_text("sex,n\n" + "\n".join(lines) + "\n", encoding="utf-8", newline="")
    try:
        records = read_records(path)
    except IngestError as e:
        assert "no usable rows" in str(e)
        return
    counts = records.counts()
    assert counts["rows_read"] == counts["rows_used"] + counts["rows_quarantined"]
    physical = counts["rows_read"] + counts["blank_lines"] + counts["multiline_continuation_lines"]
    assert counts["data_lines"] == physical
    for column in records.table.columns:
        assert not any("\n" in v or "\r" in v or "\x00" in v for v in column.to_pylist())
    listed = list(csv.reader(io.StringIO(records.quarantine_csv())))
    assert listed[0] == ["row_number", "line_range", "reason"]
    assert len(listed) - 1 == records.rows_quarantined


def test_quarantine_csv_holds_no_values_and_is_safe_to_open(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("a,b\n1,2\n=HYPERLINK(x)\n3,4\x00secret\n", encoding="utf-8")
    records = read_records(path)
    text = records.quarantine_csv()
    assert "HYPERLINK" not in text and "secret" not in text
    assert [r.row_number for r in records.quarantined] == [3, 4]
    assert records.counts()["quarantine_reasons"] == {"NUL byte in the text": 1,
                                                      "wrong column count": 1}  # fmt: skip


@pytest.mark.parametrize("delimiter", ["", ";;", '"', "\n"])
def test_a_delimiter_must_be_one_plain_character(tmp_path: Path, delimiter: str) -> None:
    path = tmp_path / "in.csv"
    path.write_text("a\n1\n", encoding="utf-8")
    with pytest.raises(InvalidSpecError, match="one character"):
        read_records(path, delimiter=delimiter)


def test_missing_file_and_header_only_file_are_errors(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="does not exist"):
        read_records(tmp_path / "nope.csv")
    (tmp_path / "h.csv").write_text("a,b\n\n", encoding="utf-8")
    with pytest.raises(IngestError, match="header and no data rows"):
        read_records(tmp_path / "h.csv")
