"""The release service's reading of uploaded records: every row used or quarantined, no value."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansim.errors import IngestError, InvalidSpecError
from ansim.services import TableRequest, records_table
from ansim.tabular import ReadFile, read_file

_ROW = st.tuples(
    st.booleans(),  # a damaged row (one field short) or a good one
    st.text(alphabet="abcxyz0189", min_size=1, max_size=6),
    st.sampled_from(["M", "F"]),
)


def _read(lines: list[str]) -> ReadFile:
    folder = Path(tempfile.mkdtemp())
    path = folder / "records.csv"
    path.write_text("\n".join(["person,sex", *lines]) + "\n", encoding="utf-8")
    return read_file(path)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(_ROW, min_size=1, max_size=60))
def test_every_row_is_used_or_quarantined_and_no_value_is_kept(
    rows: list[tuple[bool, str, str]],
) -> None:
    lines = [f"{v}" if bad else f"{v},{s}" for bad, v, s in rows]
    good = [i for i, (bad, _, _) in enumerate(rows) if not bad]
    read = _read(lines)
    if not good:
        with pytest.raises(IngestError, match="no row"):
            records_table(read)
        return
    table, quarantine = records_table(read)
    assert quarantine.rows_read == len(rows)
    assert quarantine.rows_used == table.num_rows == len(good)
    assert quarantine.rows_quarantined == len(rows) - len(good)
    bad_lines = [i + 2 for i, (bad, _, _) in enumerate(rows) if bad]  # header is line 1
    assert [p["row_number"] for p in quarantine.problems] == bad_lines[:100]
    assert all(set(p) == {"row_number", "lines", "reason"} for p in quarantine.problems)
    assert table.column("person").to_pylist() == [rows[i][1] for i in good]


def test_a_table_request_says_what_is_wrong() -> None:
    with pytest.raises(InvalidSpecError, match="contributor"):
        TableRequest((("sex",),), "")
    with pytest.raises(InvalidSpecError, match="heuristic or optimal"):
        TableRequest((("sex",),), "person", method="fast")
    with pytest.raises(InvalidSpecError, match="at least 1"):
        TableRequest((("sex",),), "person", threshold=0)
    rules = TableRequest((("sex",),), "person", dominance=(1, 80.0), p_percent=10).rules()
    assert [type(r).__name__ for r in rules] == ["ThresholdRule", "DominanceRule", "PPercentRule"]
