import codecs
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ansim.errors import IngestError, OversizedInputError
from ansim.ingest import decode_text, ingest_file, load_ingested
from ansim.schema import DatasetSpec

SPEC = DatasetSpec.from_yaml_text(
    """
dataset: gyeonggi_cases
custodian: gyeonggi
record_id: record_id
columns:
  name:         {type: string, role: direct_identifier, kind: korean_name}
  rrn:          {type: string, role: direct_identifier, kind: rrn}
  birth_date:   {type: date,   role: quasi_identifier}
  sex:          {type: category, role: quasi_identifier, values: [M, F]}
  phone:        {type: string, role: direct_identifier, kind: phone}
  sigungu_code: {type: category, role: quasi_identifier, kind: sigungu_code}
  address:      {type: string, role: direct_identifier, kind: address}
  case_date:    {type: date,   role: attribute}
"""
)
HEADER = "record_id,name,rrn,birth_date,sex,phone,sigungu_code,address,case_date"
GOOD = (
    "r{n},김민준,800522-1234567,1980-05-22,M,010-1234-5678,41110,"
    "경기도 수원시 효원로 1,2021-01-0{d}"
)


def _write(tmp_path: Path, lines: list[str], encoding: str = "utf-8") -> Path:
    path = tmp_path / "in.csv"
    path.write_bytes("\n".join(lines).encode(encoding) + b"\n")
    return path


def _quarantine(result) -> list[tuple[int, str]]:
    rows = pa.csv.read_csv(result.quarantine).to_pylist()
    return [(r["row_number"], r["reason"]) for r in rows]


import pyarrow.csv  # noqa: E402  (registers pa.csv)


def test_clean_file_lands_typed(tmp_path: Path) -> None:
    path = _write(tmp_path, [HEADER, GOOD.format(n=1, d=1), GOOD.format(n=2, d=2)])
    result = ingest_file(SPEC, path, tmp_path / "out")
    assert (result.rows_read, result.rows_landed, result.rows_quarantined) == (2, 2, 0)
    spec, records = load_ingested(result.directory)
    assert spec == SPEC
    assert records.schema.field("case_date").type == pa.date32()
    assert records["rrn"].to_pylist() == ["800522-1234567"] * 2
    summary = json.loads((result.directory / "summary.json").read_text())
    assert summary["rows_landed"] == 2
    assert "김민준" not in (result.directory / "summary.json").read_text()


@pytest.mark.parametrize(
    ("bad_row", "reason"),
    [
        (GOOD.format(n=9, d=1).replace("2021-01-01", "2021-02-30"), "case_date: bad date"),
        (GOOD.format(n=9, d=1).replace("41110", "41999"), "sigungu_code: unknown si/gun code"),
        (GOOD.format(n=9, d=1).replace("800522-1234567", "800522-12345"), "rrn: malformed RRN"),
        (GOOD.format(n=9, d=1).replace(",M,", ",X,"), "sex: not one of the allowed values"),
        (GOOD.format(n=9, d=1).replace("010-1234-5678", "010-12"), "phone: malformed phone"),
        (GOOD.format(n=1, d=3), "duplicate record id (first at row 2)"),
        ("r9,김민준,800522-1234567", "wrong column count: expected 9, found 3"),
        (GOOD.format(n=9, d=1) + ",extra", "wrong column count: expected 9, found 10"),
        (GOOD.format(n=9, d=1).replace("r9", ""), "missing record id"),
    ],
)
def test_each_bad_row_is_quarantined_with_its_row_number(tmp_path, bad_row, reason) -> None:
    path = _write(tmp_path, [HEADER, GOOD.format(n=1, d=1), bad_row, GOOD.format(n=2, d=2)])
    result = ingest_file(SPEC, path, tmp_path / "out")
    assert (result.rows_read, result.rows_landed, result.rows_quarantined) == (3, 2, 1)
    [(row_number, why)] = _quarantine(result)
    assert row_number == 3
    assert reason in why


def test_cp949_input_is_detected(tmp_path: Path) -> None:
    path = _write(tmp_path, [HEADER, GOOD.format(n=1, d=1)], encoding="cp949")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")
    result = ingest_file(SPEC, path, tmp_path / "out")
    assert result.encoding == "cp949"
    _, records = load_ingested(result.directory)
    assert records["name"].to_pylist() == ["김민준"]


def test_utf8_bom_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(codecs.BOM_UTF8 + f"{HEADER}\n{GOOD.format(n=1, d=1)}\n".encode())
    result = ingest_file(SPEC, path, tmp_path / "out")
    assert (result.encoding, result.rows_landed) == ("utf-8-sig", 1)


def test_undecodable_row_is_quarantined_not_lost(tmp_path: Path) -> None:
    good = f"{HEADER}\n{GOOD.format(n=1, d=1)}\n".encode("cp949")
    broken = GOOD.format(n=2, d=2).encode("cp949").replace("김".encode("cp949"), b"\xff\xfe")
    path = tmp_path / "mixed.csv"
    path.write_bytes(good + broken + b"\n")
    result = ingest_file(SPEC, path, tmp_path / "out")
    assert (result.rows_landed, result.rows_quarantined) == (1, 1)
    [(row_number, why)] = _quarantine(result)
    assert (row_number, why) == (3, "bytes that are not valid cp949")


def test_decode_prefers_the_encoding_with_fewer_errors() -> None:
    data = "가나다라마바사".encode("cp949") * 20 + b"\xff"
    assert decode_text(data).encoding == "cp949"


def test_quoted_multiline_field_keeps_physical_row_numbers(tmp_path: Path) -> None:
    multi = GOOD.format(n=2, d=2).replace("경기도 수원시 효원로 1", '"경기도 수원시\n효원로 1"')
    path = _write(tmp_path, [HEADER, GOOD.format(n=1, d=1), multi, "r3,short"])
    allowed = DatasetSpec.from_yaml_text(
        SPEC.to_yaml().replace("kind: address", "kind: address\n    multiline: true")
    )
    result = ingest_file(allowed, path, tmp_path / "out")
    assert result.rows_landed == 2
    assert _quarantine(result)[0][0] == 5
    # Without multiline in the spec, the two-line row is quarantined whole, with its lines.
    refused = ingest_file(SPEC, path, tmp_path / "out2")
    assert (refused.rows_landed, refused.rows_quarantined) == (1, 2)
    rows = pa.csv.read_csv(refused.quarantine).to_pylist()
    assert [str(r["line_range"]) for r in rows] == ["3-4", "5"]


def test_missing_declared_column_refuses_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, ["record_id,name", "r1,김민준"])
    with pytest.raises(IngestError, match="lacks declared columns"):
        ingest_file(SPEC, path, tmp_path / "out")
    assert not (tmp_path / "out" / "gyeonggi_cases").exists()


def test_header_case_differences_are_tolerated(tmp_path: Path) -> None:
    path = _write(tmp_path, [HEADER.upper(), GOOD.format(n=1, d=1)])
    assert ingest_file(SPEC, path, tmp_path / "out").rows_landed == 1


def test_undeclared_columns_are_ignored_and_reported(tmp_path: Path) -> None:
    path = _write(tmp_path, [HEADER + ",note", GOOD.format(n=1, d=1) + ",hello"])
    result = ingest_file(SPEC, path, tmp_path / "out")
    assert result.ignored_columns == ("note",)
    assert "note" not in load_ingested(result.directory)[1].column_names


def test_empty_and_binary_files_are_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(IngestError, match="empty"):
        ingest_file(SPEC, empty, tmp_path / "out")
    binary = tmp_path / "x.csv"
    binary.write_bytes(b"\x00\x01\x02" * 10)
    with pytest.raises(IngestError, match="binary"):
        ingest_file(SPEC, binary, tmp_path / "out")


def test_oversized_upload_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, [HEADER, GOOD.format(n=1, d=1)])
    with pytest.raises(OversizedInputError, match="over the limit"):
        ingest_file(SPEC, path, tmp_path / "out", max_bytes=10)


def test_interrupted_ingest_leaves_previous_output_intact(tmp_path, monkeypatch) -> None:
    path = _write(tmp_path, [HEADER, GOOD.format(n=1, d=1)])
    first = ingest_file(SPEC, path, tmp_path / "out")
    before = first.records.read_bytes()

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("ansim.ingest._ingest._quarantine_csv", boom)
    path2 = _write(tmp_path, [HEADER, GOOD.format(n=1, d=1), GOOD.format(n=2, d=2)])
    with pytest.raises(KeyboardInterrupt):
        ingest_file(SPEC, path2, tmp_path / "out")
    assert first.records.read_bytes() == before
    leftovers = [p.name for p in (tmp_path / "out").iterdir()]
    assert leftovers == ["gyeonggi_cases"]


def test_parquet_input(tmp_path: Path) -> None:
    rows = [
        dict(zip(HEADER.split(","), GOOD.format(n=i, d=1).split(","), strict=True)) for i in (1, 2)
    ]
    rows[1]["sigungu_code"] = "00000"
    path = tmp_path / "in.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    result = ingest_file(SPEC, path, tmp_path / "out")
    assert (result.encoding, result.rows_landed, result.rows_quarantined) == ("parquet", 1, 1)


def test_blank_lines_are_counted_not_rows(tmp_path: Path) -> None:
    path = _write(tmp_path, [HEADER, "", GOOD.format(n=1, d=1), ""])
    result = ingest_file(SPEC, path, tmp_path / "out")
    assert (result.rows_read, result.rows_landed) == (1, 1)
