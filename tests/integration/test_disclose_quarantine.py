"""``ansim disclose table|microdata|risk`` quarantine unreadable rows and use the rest.

Each command gets the same damaged file: a wrong column count, an unclosed quote that would
swallow later rows, a line break in a one-line column (a two-line record), a NUL byte, a control
character and bytes that are not UTF-8. Every row is either used or listed in the quarantine
with its line and reason, the counts add up, and no value of a damaged row is written anywhere.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from ansim.cli import app
from ansim.errors import AnsimError

runner = CliRunner()
MARKER = "김비밀"  # a name only in damaged rows: must never reach an output
GOOD = [f"{30 + i % 3},{'MF'[i % 2]},{i}" for i in range(12)]
# line: 1 header, 2-7 good, 8 short, 9 unclosed quote, 10-11 good, 12-13 a two-line record,
# 14 NUL, 15 control char, 16 non-UTF-8 bytes, 17 blank, 18-21 good
DAMAGED = [
    *GOOD[:6],
    f"31,{MARKER}",
    f'32,M,"{MARKER}',
    *GOOD[6:8],
    f'30,F,"{MARKER}',
    f'{MARKER}"',
    f"31,M,{MARKER}\x00",
    f"32,F,{MARKER}\x1b",
    "30,M,\udcff" + MARKER,
    "",
    *GOOD[8:],
]
EXPECTED = {
    8: ("8", "wrong column count"),
    9: ("9", "further rows"),
    12: ("12-13", "line break"),
    14: ("14", "NUL byte"),
    15: ("15", "control character U+001B"),
    16: ("16", "not valid utf-8"),
}


def _write(tmp_path: Path) -> Path:
    path = tmp_path / "damaged.csv"
    text = "age,sex,n\n" + "\n".join(DAMAGED) + "\n"
    path.write_bytes(text.encode("utf-8", errors="surrogateescape"))
    return path


def _run(args: list[str]) -> tuple[int, str]:
    result = runner.invoke(app, args)
    if isinstance(result.exception, AnsimError):
        return 2, str(result.exception)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def _check_quarantine(path: Path, report: dict[str, object]) -> None:
    text = path.read_text(encoding="utf-8")
    assert MARKER not in text
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["row_number", "line_range", "reason"]
    found = {int(r["row_number"]): (r["line_range"], r["reason"]) for r in rows}
    assert set(found) == set(EXPECTED)
    for number, (lines, reason) in EXPECTED.items():
        assert found[number][0] == lines
        assert reason in found[number][1]
    assert report["rows_read"] == 18
    assert report["rows_used"] == 12
    assert report["rows_quarantined"] == 6
    # every physical line after the header: rows + blank lines + continuation lines
    assert report["data_lines"] == 18 + 1 + 1
    assert report["blank_lines"] == 1
    assert report["multiline_continuation_lines"] == 1


def test_table_uses_readable_rows_and_lists_the_rest(tmp_path: Path) -> None:
    out = tmp_path / "t"
    code, output = _run(["disclose", "table", "--input", str(_write(tmp_path)), "--by", "sex",
                         "--threshold", "1", "--out", str(out)])  # fmt: skip
    assert code == 0, output
    assert "6 of 18 rows could not be read" in output.replace("\n", " ")
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    _check_quarantine(out / "quarantine.csv", report)
    table = (out / "table.csv").read_text(encoding="utf-8")
    assert MARKER not in table and '"Total","12"' in table  # nothing lost: 12 used, 6 listed


def test_rounded_table_counts_too(tmp_path: Path) -> None:
    out = tmp_path / "r"
    code, output = _run(["disclose", "table", "--input", str(_write(tmp_path)), "--by", "age",
                         "--round", "3", "--out", str(out)])  # fmt: skip
    assert code == 0, output
    _check_quarantine(out / "quarantine.csv", json.loads((out / "report.json").read_text()))


def test_microdata_uses_readable_rows_and_lists_the_rest(tmp_path: Path) -> None:
    out = tmp_path / "m"
    code, output = _run(["disclose", "microdata", "--input", str(_write(tmp_path)), "--qi",
                         "age", "--k", "2", "--builtin", "age=age", "--keep", "n",
                         "--out", str(out)])  # fmt: skip
    assert code == 0, output
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    _check_quarantine(out / "quarantine.csv", report)
    anonymised = (out / "anonymised.csv").read_text(encoding="utf-8").splitlines()
    assert len(anonymised) == 1 + report["rows_used"]
    assert sorted(int(line.split(",")[1]) for line in anonymised[1:]) == list(range(12))


def test_risk_lists_the_quarantine_beside_its_json(tmp_path: Path) -> None:
    out = tmp_path / "risk.json"
    code, output = _run(["disclose", "risk", "--input", str(_write(tmp_path)), "--qi", "age,sex",
                         "--out", str(out)])  # fmt: skip
    assert code == 0, output
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["quarantine_file"] == "risk.quarantine.csv"
    _check_quarantine(tmp_path / "risk.quarantine.csv", report)


def test_clean_file_writes_an_empty_quarantine(tmp_path: Path) -> None:
    path = tmp_path / "clean.csv"
    path.write_text("age,sex,n\n" + "\n".join(GOOD) + "\n", encoding="utf-8")
    out = tmp_path / "t"
    (out).mkdir()
    (out / "quarantine.csv").write_text("stale\n", encoding="utf-8")
    code, output = _run(["disclose", "table", "--input", str(path), "--by", "sex",
                         "--threshold", "1", "--out", str(out)])  # fmt: skip
    assert code == 0, output
    assert (out / "quarantine.csv").read_text(encoding="utf-8") == "row_number,line_range,reason\n"
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert (report["rows_read"], report["rows_used"], report["rows_quarantined"]) == (12, 12, 0)


@pytest.mark.parametrize("command", ["table", "microdata", "risk"])
@pytest.mark.parametrize("content", ["age,sex,n\n", f"age,sex,n\n31,{MARKER}\n32\n"])
def test_no_usable_rows_is_an_error_and_leaves_no_output(
    tmp_path: Path, command: str, content: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    out = tmp_path / "out"
    target = ["--out", str(out / "risk.json")] if command == "risk" else ["--out", str(out)]
    extra = {"table": ["--by", "sex"], "microdata": ["--qi", "age", "--builtin", "age=age"],
             "risk": ["--qi", "age"]}[command]  # fmt: skip
    code, message = _run(["disclose", command, "--input", str(path), *extra, *target])
    assert code == 2
    assert "no usable rows" in message and MARKER not in message
    assert not out.exists()


def test_parquet_rows_with_nul_or_control_characters_are_quarantined(tmp_path: Path) -> None:
    path = tmp_path / "in.parquet"
    sexes = ["M", "F"] * 5 + [f"M{MARKER}\x00", "F\x07"]
    pq.write_table(pa.table({"sex": sexes, "n": list(range(12))}), path)
    out = tmp_path / "t"
    code, output = _run(["disclose", "table", "--input", str(path), "--by", "sex",
                         "--threshold", "1", "--out", str(out)])  # fmt: skip
    assert code == 0, output
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert (report["rows_read"], report["rows_used"], report["rows_quarantined"]) == (12, 10, 2)
    listed = (out / "quarantine.csv").read_text(encoding="utf-8")
    assert MARKER not in listed
    assert [line.split(",")[0] for line in listed.splitlines()[1:]] == [
        "11",
        "12",
    ]  # Parquet rows count from 1
