"""Records for disclosure control, read through the one reader, with unreadable rows quarantined.

``disclose table|microdata|risk`` (and the hub's server, which imports nothing of the
custodian's) read a data file here: rows the shared reader (:mod:`ansim.tabular`) cannot take
(wrong column count, an unclosed quote, NUL or control characters, invalid Unicode, a line break
in a value) are set aside with their line and reason, the rest is used, and the counts say so.
The quarantine list holds row numbers, line ranges and reasons only, never values: the file a
hub protects may hold anything.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from ansim._atomic import write_text_atomic
from ansim._safecsv import safe_csv_text
from ansim.errors import IngestError, InvalidSpecError
from ansim.tabular import DEFAULT_MAX_BYTES, ReadFile, RejectedRow, read_file

__all__ = ["QUARANTINE_FILE", "Records", "read_records"]

QUARANTINE_FILE = "quarantine.csv"
"""The name of the quarantine list written beside a disclosure output."""


@dataclass(frozen=True)
class Records:
    """The usable rows of a data file, and the rows set aside.

    Attributes:
        table: The usable rows, every column as text (empty fields stay empty strings).
        quarantined: The rows that could not be read, with their line and reason (their
            fields are kept in memory only; :meth:`quarantine_csv` writes no values).
        rows_read: Data rows found (blank lines excluded): ``rows_used + rows_quarantined``.
        data_lines: Physical lines after the header (CSV), or sheet / Parquet rows.
        blank_lines: Empty lines skipped.
        continuation_lines: Lines beyond the first of rows spanning several lines.
        encoding: Text encoding used, or ``excel`` / ``parquet``.
    """

    table: pa.Table
    quarantined: tuple[RejectedRow, ...] = field(default=())
    rows_read: int = 0
    data_lines: int = 0
    blank_lines: int = 0
    continuation_lines: int = 0
    encoding: str = "utf-8"

    @property
    def rows_used(self) -> int:
        """Rows used for disclosure control."""
        return int(self.table.num_rows)

    @property
    def rows_quarantined(self) -> int:
        """Rows set aside."""
        return len(self.quarantined)

    def counts(self) -> dict[str, Any]:
        """The figures ``report.json`` carries (no values).

        ``data_lines = rows_read + blank_lines + continuation_lines``.

        Example:
            >>> Records(pa.table({"a": ["1"]}), rows_read=1, data_lines=1).counts()["rows_used"]
            1
        """
        reasons = Counter(_reason_class(r.reason) for r in self.quarantined)
        return {
            "rows_read": self.rows_read,
            "rows_used": self.rows_used,
            "rows_quarantined": self.rows_quarantined,
            "data_lines": self.data_lines,
            "blank_lines": self.blank_lines,
            "multiline_continuation_lines": self.continuation_lines,
            "quarantine_reasons": dict(sorted(reasons.items())),
        }

    def quarantine_csv(self) -> str:
        r"""The quarantine list: ``row_number``, ``line_range``, ``reason``; no values.

        Example:
            >>> rows = (RejectedRow(3, "wrong column count: expected 2, found 1", ("x",)),)
            >>> print(Records(pa.table({}), rows).quarantine_csv(), end="")
            row_number,line_range,reason
            3,3,"wrong column count: expected 2, found 1"
        """
        rows = [[r.row_number, r.line_range, r.reason]
                for r in sorted(self.quarantined, key=lambda r: r.row_number)]  # fmt: skip
        return safe_csv_text(["row_number", "line_range", "reason"], rows)

    def write_quarantine(self, path: Path) -> Path:
        """Write :meth:`quarantine_csv` atomically to ``path`` (header only when none)."""
        return write_text_atomic(self.quarantine_csv(), path)


def _reason_class(reason: str) -> str:
    """A reason without its per-row details (``wrong column count: expected 3, found 2``)."""
    return reason.split(":", maxsplit=1)[0].split(" (", maxsplit=1)[0]


def read_records(
    path: Path,
    *,
    delimiter: str = ",",
    encoding: str | None = None,
    multiline: tuple[str, ...] = (),
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Records:
    r"""Read a data file for disclosure control; quarantine the rows that cannot be read.

    CSV (UTF-8, UTF-8 with BOM or CP949 unless ``encoding`` names one), Excel or Parquet, read by
    :func:`ansim.tabular.read_file` with the same rules as ingest.

    Args:
        path: The file.
        delimiter: The one-character CSV field separator.
        encoding: A declared encoding, or ``None`` to detect.
        multiline: Columns whose text may span lines (none by default).
        max_bytes: Refuse a larger file, or one that would expand past it once read (a
            compressed Parquet file; the server passes its upload limit).

    Returns:
        The usable rows and the quarantined ones.

    Raises:
        IngestError: The file cannot be read as a whole (missing, a folder, empty, damaged
            header, a Parquet column of no single value per row), or none of its rows can be
            used.
        InvalidSpecError: The delimiter is not one character.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "t.csv"
        >>> _ = p.write_text('si,sex\nA,F\nB\nC,"M\nD,F\n', encoding="utf-8")
        >>> r = read_records(p)
        >>> r.table.column("si").to_pylist(), [q.row_number for q in r.quarantined], r.rows_read
        (['A', 'D'], [3, 4], 4)
    """
    read = read_rows(
        path, delimiter=delimiter, encoding=encoding, multiline=multiline, max_bytes=max_bytes
    )
    parsed = read.parsed
    rejected = tuple(parsed.rejected)
    if not parsed.rows:
        first = min(rejected, key=lambda r: r.row_number) if rejected else None
        detail = (
            f": all {len(rejected):,} row(s) are unreadable, the first at line "
            f"{first.line_range} ({first.reason})"
            if first is not None
            else ": it holds a header and no data rows"
        )
        raise IngestError(f"{path.name} has no usable rows{detail}; fix the file and run again")
    table = text_table(parsed.header, parsed.rows)
    return Records(
        table,
        rejected,
        rows_read=len(parsed.rows) + len(rejected),
        data_lines=parsed.data_lines,
        blank_lines=parsed.blank_lines,
        continuation_lines=parsed.continuation_lines,
        encoding=read.encoding,
    )


def read_rows(
    path: Path,
    *,
    delimiter: str,
    encoding: str | None,
    multiline: tuple[str, ...] = (),
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> ReadFile:
    """The file read by the one reader, after the checks every disclosure reader makes.

    Raises:
        IngestError: The file does not exist or cannot be read as a whole.
        InvalidSpecError: The delimiter is not one character.
    """
    if len(delimiter) != 1 or delimiter in '"\r\n':
        raise InvalidSpecError("the delimiter must be one character, such as ',' ';' or a tab")
    if not path.exists():
        raise IngestError(f"input file {path} does not exist")
    return read_file(
        path, delimiter=delimiter, encoding=encoding, multiline=multiline, max_bytes=max_bytes
    )


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> pa.Table:
    """Rows of text as a table, every column a string (a header alone gives no rows).

    Example:
        >>> text_table(["a", "b"], [("1", "x"), ("2", "")]).column("b").to_pylist()
        ['x', '']
    """
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(header)
    return pa.table(
        {name: pa.array(list(col), pa.string()) for name, col in zip(header, columns, strict=True)}
    )
