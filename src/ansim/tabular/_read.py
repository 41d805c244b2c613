"""Read a data file of any supported format into header, text rows and rejected rows.

CSV (UTF-8, UTF-8 with BOM or CP949; ``,``, ``;`` or tab, declared or detected), Excel
(``.xlsx``/``.xlsm``/``.xls`` via python-calamine, first sheet) and Parquet (one value per cell:
nested and binary columns are refused). Every format gives the same result: the header, rows of
text with the physical line (or sheet row) each starts on, and the rows that cannot be read
with their reason, so every command that reads a data file applies the same rules.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import python_calamine

from ansim.errors import IngestError, OversizedInputError
from ansim.tabular._csv import ParsedCsv, RejectedRow, parse_csv, text_problem
from ansim.tabular._encoding import decode_text

__all__ = ["DEFAULT_MAX_BYTES", "EXCEL_SUFFIXES", "ReadFile", "detect_delimiter", "read_file"]

DEFAULT_MAX_BYTES = 4 * 1024**3
"""Largest input file accepted unless the caller sets another limit (4 GiB)."""
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods")
_DELIMITERS = (",", ";", "\t")


@dataclass(frozen=True)
class ReadFile:
    """A data file read as text.

    Attributes:
        parsed: Header, rows, row numbers, rejected rows and line counts.
        encoding: Text encoding used, or ``parquet`` / ``excel``.
        digest: SHA-256 of the file's bytes (hex).
        delimiter: Field separator of a CSV file (``,`` otherwise).
    """

    parsed: ParsedCsv
    encoding: str
    digest: str
    delimiter: str = ","


def detect_delimiter(text: str) -> str:
    r"""The separator of a CSV text: whichever of ``,``, ``;`` and tab its header holds most.

    Example:
        >>> detect_delimiter("a;b;c\n1;2;3\n"), detect_delimiter("a\tb\n"), detect_delimiter("a\n")
        (';', '\t', ',')
    """
    header = text.split("\n", 1)[0]
    counts = [header.count(d) for d in _DELIMITERS]
    return _DELIMITERS[counts.index(max(counts))] if max(counts) else ","


def _from_rows(
    rows: list[list[str]], multiline: Collection[str], start: int
) -> tuple[list[list[str]], list[int], list[RejectedRow], int]:
    """Rows of a sheet or Parquet file checked like CSV rows (text, line breaks, width)."""
    header, *data = rows
    allowed = {i for i, h in enumerate(header) if h.casefold() in multiline}
    checked: list[list[str]] = []
    numbers: list[int] = []
    rejected: list[RejectedRow] = []
    blank = 0
    for number, row in enumerate(data, start=start):
        if not any(cell.strip() for cell in row):
            blank += 1
            continue
        problem = text_problem(row)
        broken = [i for i, f in enumerate(row) if "\n" in f or "\r" in f]
        if problem is None and any(i not in allowed for i in broken):
            problem = "line break inside a value of a column that does not allow multi-line text"
        if problem is None and len(row) != len(header):
            problem = f"wrong column count: expected {len(header)}, found {len(row)}"
        if problem is None:
            checked.append(row)
            numbers.append(number)
        else:
            rejected.append(RejectedRow(number, problem, tuple(row)))
    return checked, numbers, rejected, blank


def _header(names: list[str]) -> tuple[str, ...]:
    if text_problem(names) or any("\n" in n or "\r" in n for n in names):
        raise IngestError("the header row holds line breaks, NUL bytes or control characters")
    header = tuple(unicodedata.normalize("NFC", n.strip().lstrip("\ufeff")) for n in names)
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise IngestError(f"the header names these columns more than once: {repeated}")
    return header


def _parquet_limits(path: Path, max_bytes: int) -> pq.ParquetFile:
    """Open a Parquet file once its footer shows it cannot expand past ``max_bytes``.

    A Parquet file can be a decompression "bomb": compressed pages, run-length and delta
    encodings and dictionaries let a small file stand for billions of cells. The footer states
    the decompressed size of every column chunk and the number of rows, so both are bounded
    before any page is read: the pages' decompressed bytes by ``max_bytes``, and the cells by
    half of it (a delimited text file of ``max_bytes`` holds no more: each cell takes a byte
    and a separator). Dictionary-encoded text, whose values repeat without taking room in
    the pages, is bounded after reading (:func:`_expanded_text_bytes`).
    """
    try:
        opened = pq.ParquetFile(path)
        meta = opened.metadata
        pages = sum(
            meta.row_group(g).column(c).total_uncompressed_size
            for g in range(meta.num_row_groups)
            for c in range(meta.num_columns)
        )
    except (pa.ArrowInvalid, OSError) as e:
        raise IngestError(f"cannot read Parquet file {path.name}: {e}") from e
    cells = meta.num_rows * max(meta.num_columns, 1)
    if pages > max_bytes or cells > max_bytes // 2:
        raise OversizedInputError(
            f"{path.name} would expand to {max(pages, 2 * cells):,} bytes or more once read, "
            f"over the limit of {max_bytes:,}: split the file or raise the limit (--max-bytes)"
        )
    return opened


def _expanded_text_bytes(table: pa.Table) -> int:
    """Bytes the text columns take once every dictionary-encoded value is written out."""
    total = 0
    for col in table.columns:
        for chunk in col.chunks:
            if isinstance(chunk, pa.DictionaryArray) and pa.types.is_string(chunk.dictionary.type):
                lengths = pc.take(pc.binary_length(chunk.dictionary), chunk.indices)
                total += int(pc.sum(lengths).as_py() or 0)
            elif pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type):
                total += int(pc.sum(pc.binary_length(chunk)).as_py() or 0)
    return total


def _read_parquet(path: Path, multiline: Collection[str], max_bytes: int) -> ParsedCsv:
    opened = _parquet_limits(path, max_bytes)
    texts = [
        f.name
        for f in opened.schema_arrow
        if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
    ]
    try:
        table = pq.read_table(path, read_dictionary=texts)
    except (pa.ArrowInvalid, OSError) as e:
        raise IngestError(f"cannot read Parquet file {path.name}: {e}") from e
    expanded = _expanded_text_bytes(table)
    if expanded > max_bytes:
        raise OversizedInputError(
            f"{path.name} holds {expanded:,} bytes of text once its repeated values are written "
            f"out, over the limit of {max_bytes:,}: split the file or raise the limit (--max-bytes)"
        )
    columns = []
    for name, col in zip(table.column_names, table.columns, strict=True):
        kind = col.type
        if pa.types.is_dictionary(kind):
            kind = kind.value_type
        if pa.types.is_nested(kind) or pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
            raise IngestError(
                f"Parquet column {name!r} has type {col.type}, which holds no single value per "
                "row: store it as text, a number or a date"
            )
        try:
            text = pc.cast(col, pa.string())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
            raise IngestError(f"Parquet column {name!r} of type {col.type} cannot be read") from e
        columns.append(pc.fill_null(text, "").to_pylist())
    header = _header(list(table.column_names))
    rows = [list(r) for r in zip(*columns, strict=True)] if columns else []
    checked, numbers, rejected, blank = _from_rows([list(header), *rows], multiline, 1)
    return ParsedCsv(header, checked, numbers, rejected, blank, len(rows))


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _read_excel(path: Path, multiline: Collection[str]) -> ParsedCsv:
    try:
        workbook = python_calamine.CalamineWorkbook.from_path(str(path))
        raw = workbook.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except (python_calamine.CalamineError, OSError, ValueError, IndexError) as e:
        raise IngestError(
            f"cannot read {path.name} as an Excel workbook ({type(e).__name__}): is it a "
            "saved, unencrypted .xlsx file?"
        ) from e
    rows = [[_cell(v) for v in row] for row in raw]
    while rows and not any(c.strip() for c in rows[0]):
        rows.pop(0)  # leading empty rows
    if not rows:
        raise IngestError(f"{path.name}: the first sheet is empty; expected a header row")
    header = _header(rows[0])
    while header and not header[-1]:
        header = header[:-1]  # empty trailing columns of the sheet's used area
    width = len(header)
    body = [r[:width] if not any(c.strip() for c in r[width:]) else r for r in rows[1:]]
    checked, numbers, rejected, blank = _from_rows([list(header), *body], multiline, 2)
    return ParsedCsv(header, checked, numbers, rejected, blank, len(body))


def read_file(
    path: Path,
    *,
    delimiter: str | None = ",",
    encoding: str | None = None,
    multiline: Collection[str] = (),
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> ReadFile:
    r"""Read a CSV, Excel or Parquet file into text rows, accounting for every line.

    Args:
        path: The file.
        delimiter: CSV field separator, or ``None`` to detect ``,``, ``;`` or tab.
        encoding: Declared CSV encoding, or ``None`` to detect UTF-8, UTF-8 with BOM or CP949.
        multiline: Names of the columns whose text may span lines.
        max_bytes: Refuse larger files.

    Returns:
        The rows and the rejected rows.

    Raises:
        IngestError: The path is a folder, missing, empty, oversized, not a readable file of
            its kind, or its header is damaged or repeats a column.

    Example:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "x.csv"
        >>> _ = path.write_text("id;v\n1;a\n2\n")
        >>> read = read_file(path, delimiter=None)
        >>> read.delimiter, read.parsed.rows, [r.row_number for r in read.parsed.rejected]
        (';', [['1', 'a']], [3])
    """
    if path.is_dir():
        raise IngestError(f"{path} is a folder: name the data file inside it")
    try:
        size = path.stat().st_size
    except OSError as e:
        raise IngestError(f"cannot read input file {path}: {e.strerror}") from e
    if size > max_bytes:
        raise OversizedInputError(
            f"{path.name} is {size:,} bytes, over the limit of {max_bytes:,}: split the file or "
            "raise the limit (--max-bytes)"
        )
    if size == 0:
        raise IngestError(f"{path.name} is empty: expected a header row and data rows")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise IngestError(f"cannot read input file {path}: {e.strerror}") from e
    digest = hashlib.sha256(data).hexdigest()
    folded = {m.casefold() for m in multiline}
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return ReadFile(_read_parquet(path, folded, max_bytes), "parquet", digest)
    if suffix in EXCEL_SUFFIXES:
        return ReadFile(_read_excel(path, folded), "excel", digest)
    decoded = decode_text(data, encoding)
    sep = detect_delimiter(decoded.text) if delimiter is None else delimiter
    first = next(csv.reader(io.StringIO(decoded.text, newline=""), delimiter=sep), [])
    names = [unicodedata.normalize("NFC", h.strip().lstrip("\ufeff")).casefold() for h in first]
    parsed = parse_csv(
        decoded.text,
        delimiter=sep,
        encoding=decoded.encoding,
        multiline={i for i, n in enumerate(names) if n in folded},
    )
    return ReadFile(parsed, decoded.encoding, digest, sep)
