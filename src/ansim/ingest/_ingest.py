"""Ingest one file against its dataset spec."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ansim._atomic import atomic_directory, write_parquet_atomic
from ansim._safecsv import safe_csv_text
from ansim.errors import IngestError
from ansim.identity import identifier_quality
from ansim.ingest._values import code_date_problems, validate_column
from ansim.schema import DatasetSpec, IdentifierKind
from ansim.tabular import DEFAULT_MAX_BYTES, ParsedCsv, RejectedRow, read_file

__all__ = ["DEFAULT_MAX_BYTES", "IngestResult", "ingest_file", "load_ingested"]

RECORDS_FILE = "records.parquet"
QUARANTINE_FILE = "quarantine.csv"
SUMMARY_FILE = "summary.json"
QUALITY_FILE = "quality.csv"
SPEC_FILE = "spec.yaml"


@dataclass(frozen=True)
class IngestResult:
    """What an ingest produced.

    Attributes:
        dataset: Dataset name from the spec.
        directory: Output directory holding records, quarantine, summary and spec.
        encoding: Text encoding detected or declared (``parquet`` for Parquet input).
        rows_read: Data rows found in the file (blank lines excluded).
        rows_landed: Rows validated and written to ``records.parquet``.
        rows_quarantined: Rows written to ``quarantine.csv`` with their reasons.
        reasons: How often each reason occurred (a row may have several).
        ignored_columns: Columns in the file that the spec does not declare (not ingested).
    """

    dataset: str
    directory: Path
    encoding: str
    rows_read: int
    rows_landed: int
    rows_quarantined: int
    reasons: Mapping[str, int]
    ignored_columns: tuple[str, ...] = ()

    @property
    def records(self) -> Path:
        """The landed rows (Parquet)."""
        return self.directory / RECORDS_FILE

    @property
    def quarantine(self) -> Path:
        """The quarantined rows with row numbers and reasons (CSV)."""
        return self.directory / QUARANTINE_FILE


def _read(spec: DatasetSpec, path: Path, max_bytes: int) -> tuple[ParsedCsv, str, str]:
    # NUL bytes, control characters and invalid Unicode quarantine their rows wherever they
    # are; a header holding them refuses the file (not text).
    read = read_file(
        path,
        delimiter=spec.delimiter,
        encoding=spec.encoding,
        multiline=[c.name for c in spec.columns if c.multiline],
        max_bytes=max_bytes,
    )
    return read.parsed, read.encoding, read.digest


def _column_positions(spec: DatasetSpec, header: tuple[str, ...]) -> tuple[list[int], list[str]]:
    """Where each declared column is in the header (exact name first, then ignoring case)."""
    folded = [h.casefold() for h in header]
    positions: list[int] = []
    missing: list[str] = []
    for name in spec.column_names:
        if name in header:
            positions.append(header.index(name))
        elif folded.count(name.casefold()) == 1:
            positions.append(folded.index(name.casefold()))
        else:
            missing.append(name)
    if missing:
        raise IngestError(
            f"dataset {spec.dataset!r}: the file lacks declared columns {missing}; "
            f"its header has {list(header)}"
        )
    ignored = [h for i, h in enumerate(header) if i not in positions]
    return positions, ignored


def _record_id_problems(ids: list[str], numbers: list[int]) -> dict[int, str]:
    problems: dict[int, str] = {}
    first_seen: dict[str, int] = {}
    for index, record_id in enumerate(ids):
        if not record_id:
            problems[index] = "missing record id"
            continue
        first = first_seen.setdefault(record_id, numbers[index])
        if first != numbers[index]:
            problems[index] = f"duplicate record id (first at row {first})"
    return problems


_CODE_ON_DAY = re.compile(r": code \S+ not valid on .*$")


def _reason_key(part: str) -> str:
    """A reason as counted in ``summary.json``: no row numbers, codes or dates."""
    part = part.split(" (first at row", maxsplit=1)[0]
    return _CODE_ON_DAY.sub(": code not valid on its reference date", part)


def _dated_codes(spec: DatasetSpec) -> list[tuple[str, str]]:
    """The si/gun/gu code columns checked on a date, and what that date is."""
    return [
        (c.name, c.reference_date or "any")
        for c in spec.columns
        if c.effective_kind is IdentifierKind.SIGUNGU_CODE and c.values is None
    ]


def _quarantine_csv(rejected: list[RejectedRow], delimiter: str) -> bytes:
    rows = []
    for row in sorted(rejected, key=lambda r: r.row_number):
        raw = io.StringIO()
        csv.writer(raw, delimiter=delimiter, lineterminator="").writerow(row.fields)
        rows.append([row.row_number, row.line_range, row.reason, raw.getvalue()])
    # People open this: cells a spreadsheet would run as formulas are neutralised (OWASP).
    text = safe_csv_text(["row_number", "line_range", "reason", "raw"], rows)
    return text.encode("utf-8", errors="backslashreplace")


def ingest_file(
    spec: DatasetSpec, path: Path, out: Path, *, max_bytes: int = DEFAULT_MAX_BYTES
) -> IngestResult:
    """Ingest a CSV (UTF-8, UTF-8 with BOM or CP949), Excel or Parquet file against ``spec``.

    Writes ``out/<dataset>/`` atomically: ``records.parquet`` (typed rows that passed),
    ``quarantine.csv`` (row number, reason and raw fields of every row that did not),
    ``quality.csv`` (row number, column and reason of every landed RRN or phone number that
    fails its checks, no values; it stays with the custodian),
    ``summary.json`` (counts, no values) and ``spec.yaml``.

    Args:
        spec: The dataset spec.
        path: Input file.
        out: Parent directory of the dataset's output directory.
        max_bytes: Refuse files larger than this.

    Returns:
        Counts and locations.

    Raises:
        IngestError: The file as a whole cannot be ingested (unreadable, oversized, empty, or
            its header lacks declared columns); nothing is written then.
    """
    parsed, encoding, digest = _read(spec, path, max_bytes)
    positions, ignored = _column_positions(spec, parsed.header)
    rows, numbers = parsed.rows, parsed.row_numbers
    ids = [row[positions[0]].strip() for row in rows]
    problems: dict[int, list[str]] = {}
    for index, reason in _record_id_problems(ids, numbers).items():
        problems.setdefault(index, []).append(reason)
    arrays: dict[str, pa.Array] = {spec.record_id: pa.array(ids, type=pa.string())}
    for column, position in zip(spec.columns, positions[1:], strict=True):
        validated = validate_column(column, [row[position] for row in rows])
        arrays[column.name] = validated.values
        for index, reason in validated.problems.items():
            problems.setdefault(index, []).append(reason)
    today = dt.date.today()
    for name, _ in _dated_codes(spec):
        column = spec.column(name)
        days = arrays.get(column.reference_column or "")
        for index, reason in code_date_problems(column, arrays[name], days, today).items():
            problems.setdefault(index, []).append(reason)
    keep = pa.array([i not in problems for i in range(len(rows))], type=pa.bool_())
    landed = pa.table(arrays).filter(keep)
    landed_numbers = [n for i, n in enumerate(numbers) if i not in problems]
    quality = [
        [landed_numbers[p.row], p.column, p.reason] for p in identifier_quality(spec, landed)
    ]
    rejected = list(parsed.rejected)
    rejected += [RejectedRow(numbers[i], "; ".join(r), tuple(rows[i])) for i, r in problems.items()]
    reasons = Counter(_reason_key(part) for row in rejected for part in row.reason.split("; "))
    result = IngestResult(
        dataset=spec.dataset,
        directory=out / spec.dataset,
        encoding=encoding,
        rows_read=len(rows) + len(parsed.rejected),
        rows_landed=landed.num_rows,
        rows_quarantined=len(rejected),
        reasons=dict(sorted(reasons.items())),
        ignored_columns=tuple(ignored),
    )
    summary = {
        "dataset": spec.dataset,
        "custodian": spec.custodian,
        "source": path.name,
        "source_sha256": digest,
        "encoding": encoding,
        "rows_read": result.rows_read,
        "rows_landed": result.rows_landed,
        "rows_quarantined": result.rows_quarantined,
        "blank_lines": parsed.blank_lines,
        # Every physical line after the header is accounted for: data_lines = rows_read +
        # multiline_continuation_lines + blank_lines.
        "data_lines": parsed.data_lines,
        "multiline_rows": parsed.multiline_rows,
        "multiline_continuation_lines": parsed.continuation_lines,
        "reasons": result.reasons,
        "ignored_columns": list(ignored),
        # The day each si/gun/gu code column was checked on: a date column, a date, or 'any'.
        "code_reference_dates": {
            name: today.isoformat() if ref == "today" else ref for name, ref in _dated_codes(spec)
        },
        # Landed rows whose RRN or phone number fails a check (quality.csv says which).
        "rows_with_identifier_problems": len({q[0] for q in quality}),
    }
    with atomic_directory(result.directory) as tmp:
        write_parquet_atomic(landed, tmp / RECORDS_FILE)
        (tmp / QUARANTINE_FILE).write_bytes(_quarantine_csv(rejected, spec.delimiter))
        (tmp / QUALITY_FILE).write_text(
            safe_csv_text(["row_number", "column", "reason"], quality), encoding="utf-8"
        )
        (tmp / SPEC_FILE).write_text(spec.to_yaml(), encoding="utf-8")
        (tmp / SUMMARY_FILE).write_text(
            json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8"
        )
    return result


def load_ingested(directory: Path) -> tuple[DatasetSpec, pa.Table]:
    """Read back an ingest output directory: its spec and landed rows.

    Args:
        directory: A directory written by :func:`ingest_file`.

    Returns:
        The spec and the landed rows.

    Raises:
        IngestError: The directory is not a complete ingest output.
    """
    spec, records = locate_ingested(directory)
    return spec, pq.read_table(records)


def locate_ingested(directory: Path) -> tuple[DatasetSpec, Path]:
    """An ingest output directory's spec and the path of its landed rows (not read).

    For work that reads the rows itself (an engine, in partitions).

    Args:
        directory: A directory written by :func:`ingest_file`.

    Returns:
        The spec and the landed rows' Parquet file.

    Raises:
        IngestError: The directory is not a complete ingest output.

    Example:
        >>> locate_ingested(Path("nowhere"))
        Traceback (most recent call last):
        ...
        ansim.errors.IngestError: nowhere is not an ingest output: run 'ansim ingest' first
    """
    spec_path, records = directory / SPEC_FILE, directory / RECORDS_FILE
    if not spec_path.is_file() or not records.is_file():
        raise IngestError(f"{directory} is not an ingest output: run 'ansim ingest' first")
    return DatasetSpec.from_yaml(spec_path), records
