"""CSV parsing that accounts for every physical line and never merges rows.

Each record starts on a physical line; a record may span several lines only through a quoted
field, and only where the spec allows multi-line text in that column, within a line limit, and
when none of its continuation lines reads as a record of its own. Anything else (an unclosed
quote, a quote that swallows later rows, a field over the size limit) quarantines the line the
quote opened on, and parsing resumes on the next line, so later rows are not lost.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass

from ansim.errors import IngestError

__all__ = ["MAX_RECORD_LINES", "ParsedCsv", "RejectedRow", "parse_csv", "text_problem"]

MAX_RECORD_LINES = 50
"""Most physical lines one record may span (through quoted multi-line text)."""


@dataclass(frozen=True)
class RejectedRow:
    """A row that cannot land, with where it was and why."""

    row_number: int
    reason: str
    fields: tuple[str, ...]
    last_line: int = 0

    @property
    def line_range(self) -> str:
        """``"7"`` for a one-line row, ``"7-9"`` for one spanning lines 7 to 9."""
        last = max(self.last_line, self.row_number)
        return str(self.row_number) if last == self.row_number else f"{self.row_number}-{last}"


@dataclass(frozen=True)
class ParsedCsv:
    """Header, well-shaped rows with their line numbers, and the rows rejected for their shape.

    Attributes:
        header: Column names.
        rows: Fields of each well-shaped row.
        row_numbers: The physical line each row starts on (header = line 1).
        rejected: Rows that cannot land.
        blank_lines: Empty lines skipped.
        data_lines: Physical lines after the header.
        multiline_rows: Rows (landed or rejected) that span more than one line.
        continuation_lines: Lines beyond the first of those rows.
    """

    header: tuple[str, ...]
    rows: list[list[str]]
    row_numbers: list[int]
    rejected: list[RejectedRow]
    blank_lines: int
    data_lines: int = 0
    multiline_rows: int = 0
    continuation_lines: int = 0


# NUL and other C0/C1 controls (tab, CR, LF allowed), lone surrogates (undecodable bytes),
# noncharacters, the replacement character (text damaged upstream) and bidirectional overrides.
_BAD_TEXT = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff\ufffd\u202a-\u202e\u2066-\u2069]"
)
_REASONS = {"\x00": "NUL byte"}


def text_problem(fields: Collection[str], encoding: str = "utf-8") -> str | None:
    r"""Why a row's text cannot land (NUL, control characters, invalid Unicode), or ``None``.

    Example:
        >>> text_problem(["김\x00민준"]), text_problem(["ok"])
        ('NUL byte in the text', None)
    """
    for field in fields:
        found = _BAD_TEXT.search(field)
        if found is None:
            continue
        char = found.group()
        if char in _REASONS:
            return f"{_REASONS[char]} in the text"
        if "\udc80" <= char <= "\udcff":
            return f"bytes that are not valid {encoding}"
        if "\ud800" <= char <= "\udfff" or char in "\ufffe\uffff\ufffd":
            return "invalid Unicode in the text"
        return f"control character U+{ord(char):04X} in the text"
    return None


class _TooLong(Exception):
    """A record ran past the line limit."""


class _Lines:
    """Physical lines fed to ``csv.reader`` one at a time, with a per-record line limit."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.pos = 0
        self.stop = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self.pos >= len(self.lines):
            raise StopIteration
        if self.pos >= self.stop:
            raise _TooLong
        self.pos += 1
        return self.lines[self.pos - 1]


def _looks_like_record(line: str, delimiter: str, width: int) -> bool:
    if width < 2 or line.count(delimiter) < width - 1:  # noqa: PLR2004
        return False
    fields = next(csv.reader([line.rstrip("\r\n")], delimiter=delimiter, strict=False), [])
    return len(fields) == width and bool(fields[0].strip())


def _multiline_problem(
    fields: list[str], lines: list[str], delimiter: str, multiline: Collection[int]
) -> str | None:
    """Why a record spanning ``lines`` cannot stand as one record, or ``None``."""
    width = len(fields)
    if any(_looks_like_record(line, delimiter, width) for line in lines[1:]):
        return "a quoted field holds what reads as further rows (unclosed or stray quote)"
    broken = [i for i, f in enumerate(fields) if "\n" in f or "\r" in f]
    if any(i not in multiline for i in broken):
        return "line break inside a field of a column that does not allow multi-line text"
    return None


def _header(reader_lines: _Lines, delimiter: str) -> tuple[str, ...]:
    reader_lines.stop = MAX_RECORD_LINES
    try:
        header_fields = next(csv.reader(reader_lines, delimiter=delimiter, strict=False))
    except StopIteration:
        raise IngestError(
            "the file is empty: expected a header row with the column names"
        ) from None
    except (csv.Error, _TooLong) as e:
        raise IngestError(f"cannot parse the header row: {e or 'too long'}") from e
    if reader_lines.pos != 1 or text_problem(header_fields):
        raise IngestError(
            "the header row holds line breaks, NUL bytes, control characters or binary bytes that "
            "are not text: is this a CSV file in UTF-8 or CP949?"
        )
    header = tuple(unicodedata.normalize("NFC", h.strip().lstrip("\ufeff")) for h in header_fields)
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise IngestError(f"the header names these columns more than once: {repeated}")
    return header


def parse_csv(
    text: str,
    *,
    delimiter: str = ",",
    encoding: str = "utf-8",
    check_bytes: bool = True,
    multiline: Collection[int] = (),
    max_record_lines: int = MAX_RECORD_LINES,
) -> ParsedCsv:
    r"""Split CSV text into rows, accounting for every physical line.

    Row numbers are the physical line on which a record starts (the header is line 1), so a
    reviewer can find the row in the original file. ``data_lines`` equals the lines of landed
    and rejected rows plus blank lines.

    Args:
        text: Decoded file text.
        delimiter: Field separator.
        encoding: Encoding name, for messages about undecodable bytes.
        check_bytes: Also quarantine rows holding NUL, control characters or invalid Unicode.
        multiline: Positions of the columns whose text may span lines.
        max_record_lines: Most lines one record may span.

    Returns:
        The parsed rows and the rejected ones.

    Raises:
        IngestError: The file has no header, a damaged header, or repeats a column.

    Example:
        >>> parsed = parse_csv('id,name\n1,a\n2\n3,"c\n4,d\n')
        >>> parsed.row_numbers, [(r.row_number, r.reason[:18]) for r in parsed.rejected]
        ([2, 5], [(3, 'wrong column count'), (4, 'a quoted field hol')])
    """
    lines = list(io.StringIO(text, newline=""))
    feed = _Lines(lines)
    header = _header(feed, delimiter)
    width = len(header)
    rows: list[list[str]] = []
    numbers: list[int] = []
    rejected: list[RejectedRow] = []
    blank = multi = extra = 0
    reader = csv.reader(feed, delimiter=delimiter, strict=False)
    while feed.pos < len(lines):
        start = feed.pos
        feed.stop = start + max(1, max_record_lines)
        reason: str | None = None
        try:
            fields = next(reader)
        except StopIteration:
            break
        except (csv.Error, _TooLong) as e:
            fields = []
            reason = (
                f"a quoted field runs past {max_record_lines} lines (unclosed quote?)"
                if isinstance(e, _TooLong)
                else f"unparseable CSV: {e}"
            )
        end = feed.pos
        if reason is None and end - start == 1 and any("\n" in f or "\r" in f for f in fields):
            # an unclosed quote on the last line: the reader hands back its line break as text
            reason = "a quoted field is not closed before the end of the file (unclosed quote)"
        if reason is None and end - start > 1:
            reason = (
                f"wrong column count: expected {width}, found {len(fields)} (unclosed quote?)"
                if len(fields) != width
                else _multiline_problem(fields, lines[start:end], delimiter, multiline)
            )
            if reason is not None and "further rows" not in reason and len(fields) == width:
                multi += 1  # a real multi-line row, quarantined whole
                extra += end - start - 1
                rejected.append(RejectedRow(start + 1, reason, tuple(fields), end))
                continue
        if reason is not None:
            # Quarantine the line the damage starts on and read on from the next line.
            rejected.append(RejectedRow(start + 1, reason, (lines[start].rstrip("\r\n"),)))
            feed.pos = start + 1
            reader = csv.reader(feed, delimiter=delimiter, strict=False)
            continue
        if end - start > 1:
            multi += 1
            extra += end - start - 1
        if not fields or (len(fields) == 1 and not fields[0].strip() and width > 1):
            blank += 1
        elif check_bytes and (problem := text_problem(fields, encoding)) is not None:
            rejected.append(RejectedRow(start + 1, problem, tuple(fields), end))
        elif len(fields) != width:
            reason = f"wrong column count: expected {width}, found {len(fields)}"
            rejected.append(RejectedRow(start + 1, reason, tuple(fields), end))
        else:
            rows.append(fields)
            numbers.append(start + 1)
    return ParsedCsv(header, rows, numbers, rejected, blank, len(lines) - 1, multi, extra)
