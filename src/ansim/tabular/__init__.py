"""The one reader of data files, shared by the custodian (ingest) and the hub (disclose).

CSV (UTF-8, BOM, CP949; ``,``/``;``/tab), Excel (python-calamine) and Parquet all give the same
header, text rows with their line numbers, and rejected rows with reasons: an unclosed quote,
NUL bytes, control characters or invalid Unicode reject their row, never the file, and never
merge rows. Nothing here depends on the custodian's or the hub's code.
"""

from __future__ import annotations

from ansim.tabular._csv import (
    MAX_RECORD_LINES,
    ParsedCsv,
    RejectedRow,
    parse_csv,
    text_problem,
)
from ansim.tabular._encoding import DecodedText, decode_text
from ansim.tabular._read import (
    DEFAULT_MAX_BYTES,
    EXCEL_SUFFIXES,
    ReadFile,
    detect_delimiter,
    read_file,
)
from ansim.tabular._shapes import IDENTIFIER_PATTERNS, column_as_text, find_identifier_shapes

__all__ = [
    "DEFAULT_MAX_BYTES",
    "EXCEL_SUFFIXES",
    "IDENTIFIER_PATTERNS",
    "MAX_RECORD_LINES",
    "DecodedText",
    "ParsedCsv",
    "ReadFile",
    "RejectedRow",
    "column_as_text",
    "decode_text",
    "detect_delimiter",
    "find_identifier_shapes",
    "parse_csv",
    "read_file",
    "text_problem",
]
