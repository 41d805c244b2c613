"""One reader for every command: CSV, Excel and Parquet give the same rows and errors (class 9)."""

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from ansim.cli import app
from ansim.errors import AnsimError, IngestError, OversizedInputError
from ansim.ingest import ingest_file
from ansim.schema import DatasetSpec
from ansim.tabular import read_file

runner = CliRunner()


class _Run:
    """A CLI run in process, with Ansim errors mapped as ``main()`` maps them (exit 2)."""

    def __init__(self, args: list[str]) -> None:
        result = runner.invoke(app, args)
        if isinstance(result.exception, AnsimError):
            self.exit_code, self.output = 2, f"error: {result.exception}"
        else:
            assert result.exception is None or isinstance(result.exception, SystemExit), (
                result.exception
            )
            self.exit_code, self.output = result.exit_code, result.output


SPEC = DatasetSpec.from_yaml_text("""
dataset: cases
custodian: gyeonggi
record_id: record_id
columns:
  name: {type: string, role: direct_identifier, kind: korean_name}
  age: {type: integer, role: quasi_identifier}
  note: {type: string, role: attribute}
""")
ROWS = [["r1", "김민준", "34", '=HYPERLINK("x")'], ["r2", "이서연", "41", "ok"]]


def _xlsx(path: Path, rows: list[list[object]]) -> Path:
    """A minimal .xlsx workbook (inline strings), written without a spreadsheet library."""
    import zipfile  # noqa: PLC0415
    from xml.sax.saxutils import escape  # noqa: PLC0415

    def cell(ref: str, value: object) -> str:
        if isinstance(value, int | float):
            return f'<c r="{ref}"><v>{value}</v></c>'
        return f'<c r="{ref}" t="inlineStr"><is><t>{escape(str(value))}</t></is></c>'

    body = "".join(
        f'<row r="{i + 1}">'
        + "".join(cell(f"{chr(65 + j)}{i + 1}", v) for j, v in enumerate(row))
        + "</row>"
        for i, row in enumerate(rows)
    )
    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    files = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
            'package/2006/content-types"><Default Extension="rels" ContentType="application/'
            'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType='
            '"application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName='
            '"/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.worksheet+xml"/></Types>'
        ),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
            'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="'
            f'{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{ns}" xmlns:r="{rel}">'
            '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
            'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="'
            f'{rel}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
        ),
        "xl/worksheets/sheet1.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{ns}"><sheetData>{body}'
            "</sheetData></worksheet>"
        ),
    }
    with zipfile.ZipFile(path, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    return path


def _csv(path: Path, sep: str, encoding: str, bom: bool = False) -> Path:
    lines = [sep.join(["record_id", "name", "age", "note"])] + [sep.join(r) for r in ROWS]
    data = ("\n".join(lines) + "\n").encode(encoding)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


@pytest.mark.parametrize(
    ("sep", "encoding", "bom"),
    [(",", "utf-8", False), (";", "utf-8", True), ("\t", "cp949", False), (";", "cp949", False)],
)
def test_csv_forms_read_alike_with_a_detected_delimiter(tmp_path: Path, sep, encoding, bom) -> None:
    read = read_file(_csv(tmp_path / "x.csv", sep, encoding, bom), delimiter=None)
    assert read.delimiter == sep
    assert read.parsed.header == ("record_id", "name", "age", "note")
    assert read.parsed.rows == ROWS


def test_excel_and_parquet_read_like_csv(tmp_path: Path) -> None:
    xlsx = _xlsx(tmp_path / "x.xlsx", [["record_id", "name", "age", "note"], *ROWS])
    assert read_file(xlsx).parsed.rows == ROWS
    table = pa.table(
        {h: [r[i] for r in ROWS] for i, h in enumerate(["record_id", "name", "age", "note"])}
    )
    pq.write_table(table, tmp_path / "x.parquet")
    assert read_file(tmp_path / "x.parquet").parsed.rows == ROWS
    result = ingest_file(SPEC, xlsx, tmp_path / "out")
    assert (result.rows_landed, result.rows_quarantined) == (2, 0)


def test_excel_numbers_and_control_characters(tmp_path: Path) -> None:
    xlsx = _xlsx(
        tmp_path / "x.xlsx",
        [
            ["record_id", "name", "age", "note"],
            ["r1", "김민준", 34, "a"],
            ["r2", "이\x07서연", 41, "b"],
        ],
    )
    parsed = read_file(xlsx).parsed
    assert parsed.rows == [["r1", "김민준", "34", "a"]]
    assert [(r.row_number, r.reason) for r in parsed.rejected] == [
        (3, "control character U+0007 in the text")
    ]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.mkdir() or p, "is a folder"),
        (
            lambda p: (
                p.with_suffix(".xlsx").write_bytes(b"PK not a zip") and p.with_suffix(".xlsx")
            ),
            "Excel",
        ),
        (lambda p: (p.write_bytes(b"") and p) or p, "empty"),
    ],
)
def test_unreadable_inputs_are_clear_errors(tmp_path: Path, make, message: str) -> None:
    path = make(tmp_path / "in.csv")
    with pytest.raises(IngestError, match=message):
        read_file(path)


def test_parquet_list_column_and_null_record_id(tmp_path: Path) -> None:
    pq.write_table(pa.table({"record_id": ["1"], "name": [["a"]]}), tmp_path / "list.parquet")
    with pytest.raises(IngestError, match="'name'"):
        read_file(tmp_path / "list.parquet")
    table = pa.table(
        {
            "record_id": ["r1", None],
            "name": ["김민준", "이서연"],
            "age": ["3", "4"],
            "note": ["a", "b"],
        }
    )
    pq.write_table(table, tmp_path / "null.parquet")
    result = ingest_file(SPEC, tmp_path / "null.parquet", tmp_path / "out")
    assert (result.rows_landed, result.rows_quarantined) == (1, 1)


def _microdata(tmp_path: Path, *extra: str, data: Path | None = None):
    if data is None:
        data = tmp_path / "m.csv"
        rows = ["age,sex,name,phone,note"] + [
            f"{30 + i % 3},{'MF'[i % 2]},김민준{i},010-1234-{5000 + i},=cmd{i}" for i in range(12)
        ]
        data.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    result = _Run(
        ["disclose", "microdata", "--input", str(data), "--qi", "age", "--sensitive", "sex",
         "--k", "2", "--builtin", "age=age", "--out", str(out), *extra],
    )  # fmt: skip
    return result, out


def test_microdata_writes_only_qis_sensitive_and_kept_columns(tmp_path: Path) -> None:
    result, out = _microdata(tmp_path, "--keep", "note")
    assert result.exit_code == 0, result.output
    text = (out / "anonymised.csv").read_text(encoding="utf-8")
    header, first = text.splitlines()[:2]
    assert header == "age,sex,note"
    assert first.endswith(",'=cmd0") or "'=cmd" in text
    assert "김민준" not in text and "010-" not in text
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["dropped_columns"] == ["name", "phone"]


def test_keeping_an_identifier_is_refused(tmp_path: Path) -> None:
    result, out = _microdata(tmp_path, "--keep", "phone")
    assert result.exit_code == 2 and "phone" in result.output and "010-" not in result.output
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "dataset: m\ncustodian: c\nrecord_id: rid\ncolumns:\n"
        "  note: {type: string, role: direct_identifier}\n",
        encoding="utf-8",
    )
    result, _ = _microdata(tmp_path, "--keep", "note", "--spec", str(spec))
    assert result.exit_code == 2 and "direct identifier" in result.output
    assert not (out / "anonymised.csv").exists()


@pytest.mark.parametrize("command", ["microdata", "table"])
def test_disclose_reads_cp949_excel_and_quarantines_bad_rows(tmp_path: Path, command: str) -> None:
    rows = [["age", "sex", "n"], *[[30 + i % 3, "MF"[i % 2], i] for i in range(12)]]
    xlsx = _xlsx(tmp_path / "m.xlsx", rows)
    bad = tmp_path / "bad.csv"
    good = "".join(f"{30 + i % 3},{'MF'[i % 2]},가\n" for i in range(12))
    bad.write_bytes(f"age,sex,나이\n{good}31\n".encode("cp949"))
    hopeless = tmp_path / "hopeless.csv"
    hopeless.write_bytes("age,sex,나이\n31\n32,M\n".encode("cp949"))
    if command == "microdata":
        ok, _ = _microdata(tmp_path, data=xlsx)
        wrong, out = _microdata(tmp_path, data=bad)
        none, _ = _microdata(tmp_path, "--out", str(tmp_path / "none"), data=hopeless)
    else:
        out = tmp_path / "t"
        args = ["disclose", "table", "--by", "age", "--threshold", "1"]
        ok = _Run([*args, "--input", str(xlsx), "--out", str(out)])
        wrong = _Run([*args, "--input", str(bad), "--out", str(out)])
        none = _Run([*args, "--input", str(hopeless), "--out", str(tmp_path / "none")])
    assert ok.exit_code == 0, ok.output
    assert wrong.exit_code == 0, wrong.output
    assert (out / "quarantine.csv").read_text(encoding="utf-8").splitlines()[1:] == [
        '14,14,"wrong column count: expected 3, found 1"'
    ]
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert (report["rows_read"], report["rows_used"], report["rows_quarantined"]) == (13, 12, 1)
    assert none.exit_code == 2 and "no usable rows" in none.output
    assert not (tmp_path / "none").exists()
    folder = _Run(
        [
            "disclose",
            "microdata",
            "--input",
            str(tmp_path),
            "--qi",
            "age",
            "--out",
            str(tmp_path / "o2"),
        ],
    )
    assert folder.exit_code == 2 and "folder" in folder.output


def _bombs(folder: Path) -> dict[str, Path]:
    """Small Parquet files that stand for far more than their bytes, one per expansion route."""
    rows = 2_000_000
    files = {
        # one long value in a dictionary, repeated on every row: tiny pages, ~2 GB of text
        "dictionary": pa.table(
            {
                "v": pa.DictionaryArray.from_arrays(
                    pa.array([0] * rows, pa.int32()), pa.array(["x" * 1000])
                )
            }
        ),
        # run-length encoded nulls and constants: many cells from nothing
        "cells": pa.table({f"c{i}": pa.array([1] * rows, pa.int8()) for i in range(4)}),
        # plain values compressed away: the pages themselves decompress past the limit
        "pages": pa.table({"v": pa.array(["y" * 100_000] * 200)}),
    }
    paths = {}
    for kind, table in files.items():
        paths[kind] = folder / f"{kind}.parquet"
        pq.write_table(table, paths[kind], compression="zstd", use_dictionary=kind == "dictionary")
    return paths


@pytest.mark.parametrize("kind", ["dictionary", "cells", "pages"])
def test_parquet_that_expands_past_the_limit_is_refused_before_it_is_expanded(
    tmp_path: Path, kind: str
) -> None:
    path = _bombs(tmp_path)[kind]
    limit = 4 * 1024**2
    assert path.stat().st_size < limit // 4, "a bomb: much smaller than what it stands for"
    with pytest.raises(OversizedInputError, match="limit of 4,194,304"):
        read_file(path, max_bytes=limit)


def test_parquet_within_the_limit_reads_with_dictionaries_written_out(tmp_path: Path) -> None:
    values = pa.DictionaryArray.from_arrays(
        pa.array([0, 1, 0, None], pa.int32()), pa.array(["a", "b"])
    )
    pq.write_table(pa.table({"id": ["1", "2", "3", "4"], "v": values}), tmp_path / "d.parquet")
    read = read_file(tmp_path / "d.parquet", max_bytes=1024**2)
    assert read.parsed.rows == [["1", "a"], ["2", "b"], ["3", "a"], ["4", ""]]
