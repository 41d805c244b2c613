"""Ingest: read a custodian's file against its dataset spec; land valid rows, quarantine the rest.

Every row either lands validated and typed, or goes to the quarantine file with its row number
and the reason. Output appears atomically: an interrupted ingest leaves nothing half-written.
"""

from __future__ import annotations

from ansim.ingest._ingest import (
    DEFAULT_MAX_BYTES,
    IngestResult,
    ingest_file,
    load_ingested,
    locate_ingested,
)
from ansim.tabular import DecodedText, decode_text

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DecodedText",
    "IngestResult",
    "decode_text",
    "ingest_file",
    "load_ingested",
    "locate_ingested",
]
