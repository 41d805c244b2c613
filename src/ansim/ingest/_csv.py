"""CSV parsing that keeps every row's line number and quarantines rows of the wrong shape."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass

from ansim.errors import IngestError

__all__ = ["ParsedCsv", "RejectedRow", "parse_csv"]


@dataclass(frozen=True)
class RejectedRow:
    """A row that cannot land, with where it was and why."""

    row_number: int
    reason: str
    fields: tuple[str, ...]


@dataclass(frozen=True)
class ParsedCsv:
    """Header, well-shaped rows with their line numbers, and the rows rejected for their shape."""

    header: tuple[str, ...]
    rows: list[list[str]]
    row_numbers: list[int]
    rejected: list[RejectedRow]
    blank_lines: int


_SURROGATE = re.compile("[\udc80-\udcff]")


def _has_invalid_bytes(fields: list[str]) -> bool:
    return any(_SURROGATE.search(field) for field in fields)


def parse_csv(
    text: str, *, delimiter: str = ",", encoding: str = "utf-8", check_bytes: bool = True
) -> ParsedCsv:
    r"""Split CSV text into rows, checking each row's field count against the header.

    Row numbers are the physical line on which a record starts (the header is line 1), so a
    reviewer can find the row in the original file.

    Args:
        text: Decoded file text.
        delimiter: Field separator.
        encoding: Encoding name, for messages about undecodable bytes.
        check_bytes: Look for undecodable bytes (kept as surrogates) in each row; callers that
            know the text decoded cleanly skip this.

    Returns:
        The parsed rows and the rejected ones.

    Raises:
        IngestError: The file has no header or its header repeats a column.

    Example:
        >>> parsed = parse_csv("id,name\n1,a\n2\n3,c\n")
        >>> parsed.row_numbers, [(r.row_number, r.reason) for r in parsed.rejected]
        ([2, 4], [(3, 'wrong column count: expected 2, found 1')])
    """
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    try:
        header_fields = next(reader)
    except StopIteration:
        raise IngestError(
            "the file is empty: expected a header row with the column names"
        ) from None
    except csv.Error as e:
        raise IngestError(f"cannot parse the header row: {e}") from e
    header = tuple(unicodedata.normalize("NFC", h.strip().lstrip("\ufeff")) for h in header_fields)
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise IngestError(f"the header names these columns more than once: {repeated}")
    rows: list[list[str]] = []
    numbers: list[int] = []
    rejected: list[RejectedRow] = []
    blank = 0
    width = len(header)
    start = reader.line_num + 1
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            rejected.append(RejectedRow(start, f"unparseable CSV: {e}", ()))
            start = reader.line_num + 1
            continue
        if not fields or (len(fields) == 1 and not fields[0].strip() and width > 1):
            blank += 1
        elif check_bytes and _has_invalid_bytes(fields):
            reason = f"bytes that are not valid {encoding}"
            rejected.append(RejectedRow(start, reason, tuple(fields)))
        elif len(fields) != width:
            reason = f"wrong column count: expected {width}, found {len(fields)}"
            rejected.append(RejectedRow(start, reason, tuple(fields)))
        else:
            rows.append(fields)
            numbers.append(start)
        start = reader.line_num + 1
    return ParsedCsv(header, rows, numbers, rejected, blank)
